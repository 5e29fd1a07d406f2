//! `pkitool sign server|client CSR`: on the CA machine, a certificate for a request.

use std::io::Write;

use crate::Error;
use crate::ca::provision::{self, LEAF_DAYS};
use crate::ca::sign::{self, SignRequest, Signed};
use crate::ca::template;
use crate::cli::{LeafKind, SignArgs};
use crate::layout::libvirt;
use crate::prompt;
use crate::x509::build::{self, CertSpec, Profile, San, SubjectFields};

/// `pkitool sign`.
pub fn run(args: &SignArgs) -> Result<u8, Error> {
    let t = args.template.as_deref().map(template::load).transpose()?;
    let mut notes = Vec::new();
    if let Some(t) = &t {
        if t.ca {
            return Err(Error::Usage(format!(
                "{}: the template has a `ca` line; pkitool sign issues server and client certificates only (an intermediate CA: pkitool init-ca --parent ROOTDIR)",
                t.path.display()
            )));
        }
        if !t.subject.is_empty() {
            notes.push(format!(
                "{}: its subject fields are not used: the subject is the request's, byte for byte",
                t.path.display()
            ));
        }
        notes.extend(t.warnings.iter().cloned());
    }
    let server = args.kind == LeafKind::Server;
    let profile = if server {
        Profile::Server
    } else {
        Profile::Client
    };
    let mut spec = CertSpec::new(profile, SubjectFields::default(), LEAF_DAYS)?;
    provision::validity(&mut spec, args.days, t.as_ref())?;
    spec.serial = t.as_ref().and_then(|t| t.serial.clone());
    spec.clamp_to_ca = args.clamp_to_ca;
    let mut extra: Vec<San> = t.as_ref().map(|t| t.sans.clone()).unwrap_or_default();
    for s in &args.sans {
        extra.push(San::parse(s).map_err(|e| Error::Usage(format!("--san: {e}")))?);
    }
    if let Some(bad) = extra
        .iter()
        .find(|s| !matches!(s, San::Dns(_) | San::Ip(_)))
    {
        return Err(Error::Usage(format!(
            "SAN {bad}: pkitool sign adds DNS names and IP addresses only"
        )));
    }
    spec.sans = extra;
    let (tls_server, tls_client) = t
        .as_ref()
        .map_or((false, false), |t| (t.tls_www_server, t.tls_www_client));
    let mut ekus = Vec::new();
    if server || tls_server {
        ekus.push(build::eku::SERVER_AUTH.to_vec());
    }
    if !server || tls_client {
        ekus.push(build::eku::CLIENT_AUTH.to_vec());
    }
    spec.eku = Some(ekus);

    let ca_cert = args
        .ca_cert
        .clone()
        .unwrap_or_else(|| args.dir.join(libvirt::CA_CERT));
    let ca_key = args
        .ca_key
        .clone()
        .unwrap_or_else(|| args.dir.join("cakey.pem"));
    let password_file = args.password_file.clone();
    super::recover_ca(&ca_cert, &ca_key)?;
    let ca = provision::load_ca(&ca_cert, &ca_key, || {
        prompt::password(password_file.as_deref(), "the CA key", false)
    })?;
    let req = SignRequest {
        csr_path: args.csr.clone(),
        spec,
        ca_cert_path: ca_cert.clone(),
        ca_key_path: Some(ca_key.clone()),
        ca_dir: match &args.ca_cert {
            Some(p) => match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            },
            None => args.dir.clone(),
        },
        out: args.out.clone(),
        force: args.force,
    };
    let mut signed = sign::sign(&req, &ca)?;
    signed.outcome.warnings.extend(notes);
    print(&mut anstream::stdout().lock(), &signed, &args.csr, &ca_cert)
        .map_err(|e| Error::Environment(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}

fn print(
    out: &mut impl Write,
    s: &Signed,
    csr_path: &std::path::Path,
    ca_cert: &std::path::Path,
) -> std::io::Result<()> {
    writeln!(
        out,
        "Request {}: signature verified, key {}; the subject is copied byte for byte.",
        csr_path.display(),
        s.csr.key
    )?;
    if !s.added_sans.is_empty() {
        let added: Vec<String> = s.added_sans.iter().map(ToString::to_string).collect();
        writeln!(out, "Added SANs: {}", added.join(", "))?;
    }
    if !s.csr.ignored.is_empty() {
        writeln!(
            out,
            "Not copied from the request (pkitool's profile applies): {}",
            s.csr.ignored.join(", ")
        )?;
    }
    crate::report::provision::print_outcome(out, &s.outcome)?;
    if s.ca_file_certs > 1 {
        writeln!(out)?;
        writeln!(
            out,
            "The CA file {} holds {} certificates (intermediate and root): deploy it whole as the CA file.",
            ca_cert.display(),
            s.ca_file_certs
        )?;
    }
    Ok(())
}
