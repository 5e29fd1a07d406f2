//! Signing on the CA machine: certificate requests (`pkitool sign`) and intermediate CAs
//! (`pkitool init-ca --parent ROOTDIR`).
//!
//! A signed request gets the request's subject DER byte for byte (so `tls_allowed_dn_list` and
//! QEMU authz entries written from the request keep matching) and pkitool's own leaf profile,
//! whatever the request asks for: CA:FALSE, critical digitalSignature + keyEncipherment, the
//! role's EKU, SANs from the request plus `--san`. Before anything is written the certificate
//! is checked as GnuTLS parses it and as `pkitool validate` judges it, against the CA file it
//! will be deployed with; a certificate `validate` would call an error is never written.
//!
//! An intermediate CA is basicConstraints CA:TRUE pathLen 0 with keyCertSign + cRLSign, its
//! issuer copied byte for byte from the root's subject and its AKI from the root's SKI. Its
//! `cacert.pem` holds the intermediate followed by the root: that file is the CA file leaves
//! issued from it are deployed with (`issue` copies it as it is), which is what QEMU and libvirt
//! accept (each certificate in it is a trust anchor). A leaf file with the intermediate appended
//! and a root-only CA file is refused by both.

use std::path::{Path, PathBuf};

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::Error;
use crate::ca::ledger::{self, Entry, Ledger};
use crate::ca::provision::{CaRequest, LoadedCa, Outcome, Written, WrittenKind};
use crate::check::finding::{FRole, Severity};
use crate::fsio::{self, CERT_MODE, KEY_MODE, PlannedFile};
use crate::layout::{self, libvirt};
use crate::x509::build::{self, CertSpec, Profile, San, Signer};
use crate::x509::csr::{self, Csr};
use crate::x509::der;
use crate::x509::keys;
use crate::x509::load::{self, ObjectKind};

/// A request to sign a CSR.
#[derive(Debug, Clone)]
pub struct SignRequest {
    /// The CSR file (PEM or DER).
    pub csr_path: PathBuf,
    /// Profile (Server or Client), validity, serial and EKU; `sans` are added to the request's.
    pub spec: CertSpec,
    /// The CA certificate file (the CA file the leaf is deployed with).
    pub ca_cert_path: PathBuf,
    /// The CA key file (never overwritten by `out`).
    pub ca_key_path: Option<PathBuf>,
    /// The CA's directory, whose ledger records the certificate.
    pub ca_dir: PathBuf,
    /// Where the certificate goes.
    pub out: PathBuf,
    /// Replace an existing `out`.
    pub force: bool,
}

/// What signing did.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The certificate written.
    pub outcome: Outcome,
    /// The request, as read.
    pub csr: Csr,
    /// SANs added to the request's (the server CN, `--san`, the template's).
    pub added_sans: Vec<San>,
    /// How many certificates the CA file holds (2 or more: deploy it whole).
    pub ca_file_certs: usize,
}

/// The certificates of a CA file, in order (DER).
fn ca_file_ders(ca: &LoadedCa) -> Vec<Vec<u8>> {
    load::parse(&ca.cert_file)
        .map(|c| c.certificates().map(|o| o.der.to_vec()).collect())
        .unwrap_or_else(|_| vec![ca.cert_der.clone()])
}

/// Refuses a certificate GnuTLS would not import, or that `validate` would call an error in
/// the layout it is deployed in (the chain to the CA file, dates, key strength: what the
/// consumer guard of [`crate::ca::provision::guard`] does not look at), naming every problem.
fn refuse_errors(
    der: &[u8],
    role: FRole,
    out: &Path,
    ca_ders: &[Vec<u8>],
    ca_path: &Path,
) -> Result<(), Error> {
    load::check_der(der, &ObjectKind::Certificate).map_err(|e| {
        Error::Failed(format!(
            "the certificate would not be readable by GnuTLS ({e}); nothing was written"
        ))
    })?;
    let errors: Vec<String> = crate::check::check_issued(der, role, out, ca_ders, ca_path)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{} {}", f.code, f.message))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "pkitool validate would refuse this certificate, so it was not written: {}",
            errors.join("; ")
        )))
    }
}

/// Reads, verifies and signs a CSR with pkitool's leaf profile, and writes the certificate.
pub fn sign(req: &SignRequest, ca: &LoadedCa) -> Result<Signed, Error> {
    let role = match req.spec.profile {
        Profile::Server => layout::Role::Server,
        Profile::Client => layout::Role::Client,
        Profile::Ca { .. } => {
            return Err(Error::Usage(
                "pkitool sign makes server and client certificates; use init-ca --parent for a CA"
                    .into(),
            ));
        }
    };
    let p = req.csr_path.display();
    let same = |a: &Path, b: &Path| {
        a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    };
    if same(&req.out, &req.ca_cert_path)
        || req
            .ca_key_path
            .as_deref()
            .is_some_and(|k| same(&req.out, k))
    {
        return Err(Error::Usage(format!(
            "--out {}: that is the CA's own file; give the certificate another name",
            req.out.display()
        )));
    }
    let bytes = fsio::read_limited(&req.csr_path, csr::MAX_CSR_BYTES)?;
    let csr = csr::parse(&bytes).map_err(|e| Error::Failed(format!("{p}: {e}")))?;

    // SANs: the request's, then the server CN (the libvirt guide: "the hostname listed in the
    // CN must also be duplicated as a DNSname entry"), then --san / the template's.
    let mut sans = csr.sans.clone();
    let mut added = Vec::new();
    let mut add = |s: San, sans: &mut Vec<San>| {
        if !sans.contains(&s) {
            sans.push(s.clone());
            added.push(s);
        }
    };
    if role == layout::Role::Server
        && let Some(cn) = &csr.common_name
    {
        if cn.parse::<std::net::IpAddr>().is_ok() {
            return Err(Error::Failed(format!(
                "{p}: the request's CN is the IP address {cn}; a server's CN is its host name (request again with --cn HOSTNAME --san {cn})"
            )));
        }
        if build::check_dns_name(cn).is_ok() {
            add(San::Dns(cn.clone()), &mut sans);
        }
    }
    for s in &req.spec.sans {
        add(s.clone(), &mut sans);
    }
    if role == layout::Role::Server && sans.is_empty() {
        return Err(Error::Failed(format!(
            "{p}: the request names no host: no DNS or IP SAN and no CN that is a host name; clients could never match it (add --san NAME)"
        )));
    }

    let mut spec = req.spec.clone();
    spec.sans = sans;
    let signer = Signer {
        cert_der: &ca.cert_der,
        key: &ca.key,
    };
    let cert = build::issue_for_public_key(&spec, &csr.subject_der, &csr.spki_der, &signer)?;
    crate::ca::provision::guard(&cert, role, &req.out)?;
    let ca_ders = ca_file_ders(ca);
    refuse_errors(
        &cert.der,
        FRole::from(role),
        &req.out,
        &ca_ders,
        &req.ca_cert_path,
    )?;
    // The ledger's lock is taken before the certificate is written.
    let mut ledger = Ledger::open_append(&req.ca_dir)?;
    fsio::write_all_or_nothing(
        &[PlannedFile::new(
            &req.out,
            CERT_MODE,
            cert.pem().into_bytes(),
        )],
        req.force,
    )?;
    let mut warnings = Vec::new();
    record_signed(&mut ledger, &cert.der, role, &req.out, &mut warnings)?;
    Ok(Signed {
        outcome: Outcome {
            files: vec![Written {
                path: req.out.clone(),
                mode: CERT_MODE,
                what: WrittenKind::Cert(cert.der),
                unchanged: false,
                owner: None,
            }],
            role,
            warnings,
            notes: Vec::new(),
            qemu_group_hint: None,
        },
        csr,
        added_sans: added,
        ca_file_certs: ca_ders.len(),
    })
}

/// Records a signed certificate in the CA's ledger. Its key stays on the host, so the entry has
/// no key path. A CA directory that is not writable (a CA used read-only through `--ca-cert`) is
/// not an error: the certificate is written and a warning says it is not recorded, as `issue`
/// does.
fn record_signed(
    ledger: &mut Ledger,
    der: &[u8],
    role: layout::Role,
    cert_path: &Path,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    if nix::unistd::access(ledger.dir(), nix::unistd::AccessFlags::W_OK).is_err() {
        warnings.push(format!(
            "{}: not writable, so this certificate is not recorded in its ledger ({}); renew and revoke it by path",
            ledger.dir().display(),
            ledger::FILE_NAME
        ));
        return Ok(());
    }
    let entry = Entry::from_der(der, role, vec![cert_path.to_path_buf()], Vec::new())?;
    ledger.append_entry(&entry)?;
    Ok(())
}

/// The pathLenConstraint of a CA certificate (`None` = unlimited).
fn path_len(cert_der: &[u8]) -> Result<Option<u32>, Error> {
    let (_, c) = X509Certificate::from_der(cert_der)
        .map_err(|e| Error::Failed(format!("the parent CA certificate cannot be parsed: {e}")))?;
    Ok(match c.basic_constraints() {
        Ok(Some(bc)) => bc.value.path_len_constraint,
        _ => None,
    })
}

/// Creates an intermediate CA in `req.dir`, signed by `parent` (loaded from `parent_cert`):
/// `cakey.pem` (0600, encrypted with `req.password` if given) and `cacert.pem` (0644) holding
/// the intermediate followed by the parent's certificates. `req.spec.profile` must be
/// `Profile::Ca`; its `path_len` is forced to 0.
pub fn create_intermediate(
    req: &CaRequest,
    parent: &LoadedCa,
    parent_cert: &Path,
) -> Result<Outcome, Error> {
    let pc = parent_cert.display();
    if path_len(&parent.cert_der)? == Some(0) {
        return Err(Error::Failed(format!(
            "{pc}: this CA has pathLenConstraint 0: it may sign leaves only, not another CA (give --parent the root CA's directory)"
        )));
    }
    let target = req.dir.join(libvirt::CA_CERT);
    if target.canonicalize().ok().is_some_and(|t| {
        parent_cert
            .canonicalize()
            .is_ok_and(|parent_canon| parent_canon == t)
    }) {
        return Err(Error::Usage(
            "--dir is the parent CA's directory; give the intermediate its own directory".into(),
        ));
    }
    let mut spec = req.spec.clone();
    spec.profile = Profile::Ca { path_len: Some(0) };
    let key = keys::generate(req.key_type).map_err(|e| Error::Key {
        context: "new CA key".into(),
        source: e,
    })?;
    let subject = spec.subject.to_der()?;
    let signer = Signer {
        cert_der: &parent.cert_der,
        key: &parent.key,
    };
    let cert = build::issue_for_public_key(&spec, &subject, &keys::public_key_spki(&key), &signer)
        .map_err(|e| match e {
            build::IssueError::OutlivesCa { leaf, ca } => Error::Failed(format!(
                "the intermediate CA would expire {leaf} but its parent {pc} expires {ca}; shorten --days (without --days it ends with the parent)"
            )),
            other => other.into(),
        })?;
    crate::ca::provision::guard(&cert, layout::Role::Ca, &target)?;
    let mut bundle = cert.pem();
    for d in ca_file_ders(parent) {
        bundle.push_str(&der::pem_lf("CERTIFICATE", d));
    }
    let key_text =
        crate::ca::provision::key_pem(&key, req.password.as_deref().map(|v| v.as_slice()))?;
    let key_path = req.dir.join("cakey.pem");
    let files = vec![
        PlannedFile::new(&key_path, KEY_MODE, key_text.to_vec()),
        PlannedFile::new(&target, CERT_MODE, bundle.into_bytes()),
    ];
    // The parent records what it signed; its lock is taken before anything is written.
    let parent_dir = match parent_cert.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut parent_ledger = Ledger::open_append(&parent_dir)?;
    fsio::write_tree(
        &[(req.dir.clone(), crate::ca::provision::PRIVATE_DIR_MODE)],
        &files,
        req.force,
    )?;
    let mut warnings = Vec::new();
    ledger::record_issued(
        &mut parent_ledger,
        &cert.der,
        layout::Role::Ca,
        &target,
        &key_path,
        &mut warnings,
        None,
    )?;
    drop(parent_ledger);
    // The intermediate starts its own ledger with itself, as init-ca does.
    ledger::record_new_ca(&req.dir, &cert.der, &target, &key_path, &mut warnings, None)?;
    let mut desc = keys::describe(&key);
    if req.password.is_some() {
        desc.push_str(", encrypted PKCS#8 (PBKDF2-SHA256, AES-256-CBC)");
    }
    Ok(Outcome {
        files: vec![
            Written {
                path: target,
                mode: CERT_MODE,
                what: WrittenKind::Cert(cert.der),
                unchanged: false,
                owner: None,
            },
            Written {
                path: key_path,
                mode: KEY_MODE,
                what: WrittenKind::Key(desc),
                unchanged: false,
                owner: None,
            },
        ],
        role: layout::Role::Ca,
        warnings,
        notes: Vec::new(),
        qemu_group_hint: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::build::SubjectFields;
    use crate::x509::keys::KeyType;

    fn subject(cn: &str) -> SubjectFields {
        SubjectFields {
            cn: Some(cn.into()),
            ..Default::default()
        }
    }

    fn make_root(dir: &Path) -> LoadedCa {
        let req = CaRequest {
            dir: dir.to_path_buf(),
            spec: CertSpec::new(Profile::Ca { path_len: None }, subject("Root"), 3650).unwrap(),
            key_type: KeyType::EcdsaP256,
            password: None,
            force: false,
        };
        crate::ca::provision::create_ca(&req).unwrap();
        crate::ca::provision::load_ca(
            &dir.join("cacert.pem"),
            &dir.join("cakey.pem"),
            || unreachable!(),
        )
        .unwrap()
    }

    fn csr_file(dir: &Path, dn: &str, sans: &[San]) -> PathBuf {
        let key = keys::generate(KeyType::Ed25519).unwrap();
        let subject = SubjectFields {
            dn: build::parse_dn(dn).unwrap(),
            ..Default::default()
        }
        .to_der()
        .unwrap();
        let der = csr::build(&subject, sans, &key).unwrap();
        let p = dir.join("req.csr");
        std::fs::write(&p, csr::pem(&der)).unwrap();
        p
    }

    fn sign_req(dir: &Path, csr_path: PathBuf, profile: Profile, sans: Vec<San>) -> SignRequest {
        let mut spec = CertSpec::new(profile, SubjectFields::default(), 30).unwrap();
        spec.sans = sans;
        SignRequest {
            csr_path,
            spec,
            ca_cert_path: dir.join("ca/cacert.pem"),
            ca_key_path: Some(dir.join("ca/cakey.pem")),
            ca_dir: dir.join("ca"),
            out: dir.join("out.pem"),
            force: false,
        }
    }

    #[test]
    fn signs_with_the_request_subject_and_pkitool_profile() {
        let t = tempfile::tempdir().unwrap();
        let ca = make_root(&t.path().join("ca"));
        let csr_path = csr_file(
            t.path(),
            "O=B,O=A,CN=host1.example.org",
            &[San::parse("10.0.0.1").unwrap()],
        );
        let req = sign_req(
            t.path(),
            csr_path.clone(),
            Profile::Server,
            vec![San::parse("alias.example.org").unwrap()],
        );
        let signed = sign(&req, &ca).unwrap();
        // The CN first, then --san; the request's own SAN is not "added".
        assert_eq!(
            signed.added_sans,
            vec![
                San::Dns("host1.example.org".into()),
                San::Dns("alias.example.org".into())
            ]
        );
        let pem_text = std::fs::read(&req.out).unwrap();
        let block = pem::parse(&pem_text).unwrap();
        let (_, c) = X509Certificate::from_der(block.contents()).unwrap();
        assert_eq!(c.subject().as_raw(), signed.csr.subject_der.as_slice());
        assert!(!c.is_ca());
        let ku = c.key_usage().unwrap().unwrap();
        assert!(ku.critical && ku.value.digital_signature() && ku.value.key_encipherment());
        assert!(c.extended_key_usage().unwrap().unwrap().value.server_auth);
        assert_eq!(
            c.public_key().raw,
            signed.csr.spki_der.as_slice(),
            "the request's key is certified"
        );
        // Not replaced without force.
        assert!(matches!(sign(&req, &ca), Err(Error::Write(_))));
    }

    #[test]
    fn a_server_request_naming_no_host_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let ca = make_root(&t.path().join("ca"));
        let csr_path = csr_file(t.path(), "O=Example,CN=not a host name", &[]);
        let req = sign_req(t.path(), csr_path.clone(), Profile::Server, Vec::new());
        let e = sign(&req, &ca).unwrap_err().to_string();
        assert!(e.contains("names no host"), "{e}");
        assert!(!req.out.exists());
        // As a client it is fine.
        let req = sign_req(t.path(), csr_path, Profile::Client, Vec::new());
        sign(&req, &ca).unwrap();
    }

    #[test]
    fn the_validate_self_check_refuses_a_certificate_the_ca_file_cannot_verify() {
        let t = tempfile::tempdir().unwrap();
        let ca = make_root(&t.path().join("ca"));
        let other = make_root(&t.path().join("other"));
        let key = keys::generate(KeyType::EcdsaP256).unwrap();
        let spec = CertSpec::new(Profile::Client, subject("c"), 10).unwrap();
        let cert = build::issue_leaf(
            &spec,
            &key,
            &Signer {
                cert_der: &other.cert_der,
                key: &other.key,
            },
        )
        .unwrap();
        let e = refuse_errors(
            &cert.der,
            FRole::Client,
            &t.path().join("c.pem"),
            std::slice::from_ref(&ca.cert_der),
            &t.path().join("ca/cacert.pem"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("PKI-C01"), "{e}");
        refuse_errors(
            &cert.der,
            FRole::Client,
            &t.path().join("c.pem"),
            std::slice::from_ref(&other.cert_der),
            &t.path().join("other/cacert.pem"),
        )
        .unwrap();
    }

    #[test]
    fn intermediates_have_path_len_zero_and_cannot_be_parents() {
        let t = tempfile::tempdir().unwrap();
        let root = make_root(&t.path().join("root"));
        let mut spec =
            CertSpec::new(Profile::Ca { path_len: None }, subject("Inter"), 3650).unwrap();
        spec.clamp_to_ca = true;
        let req = CaRequest {
            dir: t.path().join("inter"),
            spec,
            key_type: KeyType::EcdsaP256,
            password: None,
            force: false,
        };
        let root_cert = t.path().join("root/cacert.pem");
        create_intermediate(&req, &root, &root_cert).unwrap();
        let inter = crate::ca::provision::load_ca(
            &t.path().join("inter/cacert.pem"),
            &t.path().join("inter/cakey.pem"),
            || unreachable!(),
        )
        .unwrap();
        assert_eq!(path_len(&inter.cert_der).unwrap(), Some(0));
        let (_, ic) = X509Certificate::from_der(&inter.cert_der).unwrap();
        let (_, rc) = X509Certificate::from_der(&root.cert_der).unwrap();
        assert_eq!(ic.issuer().as_raw(), rc.subject().as_raw());
        assert!(ic.validity().not_after <= rc.validity().not_after);
        // The bundle: intermediate, then root.
        assert_eq!(
            ca_file_ders(&inter),
            vec![inter.cert_der.clone(), root.cert_der.clone()]
        );
        let sub = CaRequest {
            dir: t.path().join("sub"),
            ..req.clone()
        };
        let e = create_intermediate(&sub, &inter, &t.path().join("inter/cacert.pem"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("pathLenConstraint 0"), "{e}");
        assert!(!t.path().join("sub").exists());
        // Without clamping, a lifetime past the root's is refused, naming the parent.
        let mut long = req.clone();
        long.dir = t.path().join("long");
        long.spec.clamp_to_ca = false;
        long.spec.not_after += ::time::Duration::days(1);
        let e = create_intermediate(&long, &root, &root_cert)
            .unwrap_err()
            .to_string();
        assert!(e.contains("shorten --days"), "{e}");
    }
}
