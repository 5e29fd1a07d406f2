//! `pkitool request server|client`: on the host, a new key in its final place and a CSR.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::ca::provision::{self, LeafInput};
use crate::ca::request::{self, KeyRequest, Requested};
use crate::ca::template;
use crate::cli::{LayoutArg, LeafKind, RequestArgs};
use crate::layout;
use crate::quoting::shell_quote;
use crate::x509::build::San;
use crate::x509::keys::KeyType;

/// Resolves `--group` to its gid; the group must exist (exit 2 otherwise).
fn group_id(name: &str) -> Result<u32, Error> {
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(Error::Usage(format!(
            "--group {name}: no such group on this machine"
        ))),
        Err(e) => Err(Error::Environment(format!(
            "--group {name}: cannot look the group up: {e}"
        ))),
    }
}

/// The request file next to the certificate's future path: `servercert.pem` -> `servercert.csr`.
fn default_csr_path(cert: &Path) -> PathBuf {
    cert.with_extension("csr")
}

/// `pkitool request`.
pub fn run(args: &RequestArgs) -> Result<u8, Error> {
    let layout_arg = args.layout.unwrap_or_default();
    match (layout_arg, &args.out, &args.root) {
        (LayoutArg::Libvirt, Some(_), _) => {
            return Err(Error::Usage(
                "--out and --layout libvirt conflict: the libvirt layout writes under --root PREFIX (default /)".into(),
            ));
        }
        (LayoutArg::Qemu, Some(_), Some(_)) => {
            return Err(Error::Usage(
                "--out and --root conflict: --layout qemu writes to --out DIR, or to PREFIX/etc/pki/qemu with --root PREFIX".into(),
            ));
        }
        (LayoutArg::Flat, _, Some(_)) => {
            return Err(Error::Usage(
                "--root is only used with --layout libvirt or qemu; the flat layout writes to --out DIR".into(),
            ));
        }
        _ => {}
    }
    let gid = args
        .group
        .as_deref()
        .map(|g| group_id(g).map(|id| (g.to_string(), id)))
        .transpose()?;
    let t = args.template.as_deref().map(template::load).transpose()?;
    if let Some(t) = &t
        && (t.expiration_days.is_some()
            || t.expiration_date.is_some()
            || t.activation_date.is_some()
            || t.serial.is_some())
    {
        return Err(Error::Usage(format!(
            "{}: validity and serial are decided when the request is signed; give this template to pkitool sign --template, and keep only the subject and SANs here",
            t.path.display()
        )));
    }
    // The subject and SAN rules are exactly issue's.
    let input = LeafInput {
        server: args.kind == LeafKind::Server,
        cn: args.cn.clone(),
        sans: args.sans.clone(),
        dn: args.dn.clone(),
        org: args.org.clone(),
        days: None,
        clamp_to_ca: false,
    };
    let spec = provision::leaf_spec(&input, t.as_ref())?;
    if let Some(bad) = spec
        .sans
        .iter()
        .find(|s| !matches!(s, San::Dns(_) | San::Ip(_)))
    {
        return Err(Error::Usage(format!(
            "SAN {bad}: a request carries DNS names and IP addresses only (what libvirt and QEMU check)"
        )));
    }
    let role = match args.kind {
        LeafKind::Server => layout::Role::Server,
        LeafKind::Client => layout::Role::Client,
    };
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let out = match (&args.out, layout_arg) {
        (Some(o), _) => o.clone(),
        // On the host the QEMU directory is the system one (qemu.conf's default).
        (None, LayoutArg::Qemu) => layout::under_root(&root, layout::qemu::SYSTEM_DIR),
        (None, _) => PathBuf::from("."),
    };
    let paths = provision::leaf_paths(role, super::layout_of(layout_arg), &out, &out, &root);
    let csr_path = args
        .csr
        .clone()
        .unwrap_or_else(|| default_csr_path(&paths.cert));
    if csr_path == paths.key {
        return Err(Error::Usage(format!(
            "--csr {}: that is where the key goes; give the request another name",
            csr_path.display()
        )));
    }
    let mut dirs = paths.dirs.clone();
    if let Some(parent) = csr_path.parent().filter(|p| !p.as_os_str().is_empty())
        && !dirs.iter().any(|(d, _)| d == parent)
    {
        dirs.push((parent.to_path_buf(), provision::PRIVATE_DIR_MODE));
    }
    let req = KeyRequest {
        role,
        subject_der: spec.subject.to_der()?,
        sans: spec.sans.clone(),
        key_type: args.key_type.map(KeyType::from).unwrap_or_default(),
        key_path: paths.key.clone(),
        csr_path,
        dirs,
        group: gid,
        force: args.force,
    };
    let done = request::request(&req)?;
    print(
        &mut anstream::stdout().lock(),
        args.kind,
        &done,
        &paths.cert,
        &paths
            .ca
            .clone()
            .unwrap_or_else(|| out.join(layout::libvirt::CA_CERT)),
    )
    .map_err(|e| Error::Environment(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}

fn print(
    out: &mut impl Write,
    kind: LeafKind,
    r: &Requested,
    cert: &Path,
    ca: &Path,
) -> std::io::Result<()> {
    let role = match kind {
        LeafKind::Server => "server",
        LeafKind::Client => "client",
    };
    writeln!(out, "Wrote the {role} key and certificate request:")?;
    let owner = r
        .group
        .as_deref()
        .map(|g| format!(", group {g}"))
        .unwrap_or_default();
    writeln!(
        out,
        "  {}  mode {:04o}{owner}",
        r.key_path.display(),
        r.key_mode
    )?;
    writeln!(
        out,
        "    private key: {} (keep it on this host)",
        r.key_desc
    )?;
    writeln!(out, "  {}  mode 0644", r.csr_path.display())?;
    writeln!(out, "    subject:  {}", r.csr.subject)?;
    if !r.csr.sans.is_empty() {
        let sans: Vec<String> = r.csr.sans.iter().map(ToString::to_string).collect();
        writeln!(out, "    SANs:     {}", sans.join(", "))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Sign it on the CA machine, in the CA's directory (or add --dir CADIR):"
    )?;
    writeln!(
        out,
        "  pkitool sign {role} {} --out {}",
        shell_quote(&r.csr_path.display().to_string()),
        shell_quote(&cert.display().to_string())
    )?;
    writeln!(
        out,
        "then put the certificate at {} and the CA's cacert.pem at {} on this host.",
        cert.display(),
        ca.display()
    )?;
    Ok(())
}
