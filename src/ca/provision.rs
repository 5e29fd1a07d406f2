//! Provisioning: create a CA ([`create_ca`]), load one ([`load_ca`]) and issue server and
//! client certificates ([`issue`]) from plain requests ([`CaRequest`], [`LeafRequest`]; built
//! from flags and templates by [`ca_spec`] and [`leaf_spec`]). Writing is all-or-nothing
//! ([`crate::fsio::write_all_or_nothing`]); the [`Outcome`] says what was written, and
//! [`crate::report::provision`] prints it.

use std::path::{Path, PathBuf};

use rcgen::KeyPair;

use crate::ca::template::{self, Template};
use crate::fsio::{self, CERT_MODE, KEY_MODE, PlannedFile};
use crate::layout::{self, libvirt, qemu};
use crate::x509::build::{self, CertSpec, Profile, San, Signer, SubjectFields};
use crate::x509::keys::{self, KeyType};
use crate::{Error, prompt, x509::load};

/// Default CA validity (days).
pub const CA_DAYS: i64 = 3650;
/// Default leaf validity (days).
pub const LEAF_DAYS: i64 = 365;
/// Mode of directories pkitool creates for a CA or a flat (pkipath) layout: private to the user,
/// as libvirt's virt-pki-validate expects of a custom PKI directory.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of the system directories (`etc/pki`, `etc/pki/CA`, `etc/pki/libvirt`,
/// `etc/pki/libvirt/private`) and of QEMU directories: 0755, exactly what libvirt's
/// virt-pki-validate requires (it checks for equality, so 0750/0700 would fail its check; the
/// key files themselves are 0600).
pub const SYSTEM_DIR_MODE: u32 = 0o755;

/// The naming scheme of issued files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// libvirt pkipath names in one directory.
    Flat,
    /// QEMU tls-creds-x509 names in one directory.
    Qemu,
    /// The libvirt system tree under a root prefix.
    Libvirt,
}

/// A request for a new CA.
#[derive(Clone)]
pub struct CaRequest {
    /// Directory receiving cacert.pem and cakey.pem.
    pub dir: PathBuf,
    /// What goes into the certificate.
    pub spec: CertSpec,
    /// Key algorithm.
    pub key_type: KeyType,
    /// Encrypt cakey.pem with this password.
    pub password: Option<zeroize::Zeroizing<Vec<u8>>>,
    /// Replace existing files.
    pub force: bool,
}

/// A request for a server or client certificate.
#[derive(Clone)]
pub struct LeafRequest {
    /// CA certificate file.
    pub ca_cert: PathBuf,
    /// CA key file.
    pub ca_key: PathBuf,
    /// Password of an encrypted CA key.
    pub ca_password: Option<zeroize::Zeroizing<Vec<u8>>>,
    /// What goes into the certificate (profile Server or Client).
    pub spec: CertSpec,
    /// Key algorithm of the new key.
    pub key_type: KeyType,
    /// Output directory (flat and qemu layouts).
    pub out: PathBuf,
    /// The CA's directory (to decide whether the CA certificate is copied in the flat layout).
    pub dir: PathBuf,
    /// Naming scheme.
    pub layout: Layout,
    /// Root prefix (libvirt layout).
    pub root: PathBuf,
    /// Replace existing files.
    pub force: bool,
}

/// How a password field is shown by `Debug`: never its bytes.
fn redacted(p: &Option<zeroize::Zeroizing<Vec<u8>>>) -> &'static str {
    if p.is_some() {
        "Some(<redacted>)"
    } else {
        "None"
    }
}

impl std::fmt::Debug for CaRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaRequest")
            .field("dir", &self.dir)
            .field("spec", &self.spec)
            .field("key_type", &self.key_type)
            .field("password", &format_args!("{}", redacted(&self.password)))
            .field("force", &self.force)
            .finish()
    }
}

impl std::fmt::Debug for LeafRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafRequest")
            .field("ca_cert", &self.ca_cert)
            .field("ca_key", &self.ca_key)
            .field(
                "ca_password",
                &format_args!("{}", redacted(&self.ca_password)),
            )
            .field("spec", &self.spec)
            .field("key_type", &self.key_type)
            .field("out", &self.out)
            .field("dir", &self.dir)
            .field("layout", &self.layout)
            .field("root", &self.root)
            .field("force", &self.force)
            .finish()
    }
}

/// One file written.
#[derive(Debug, Clone)]
pub struct Written {
    /// Where.
    pub path: PathBuf,
    /// Its mode.
    pub mode: u32,
    /// What it is.
    pub what: WrittenKind,
    /// Whether it was already there with identical contents (not rewritten).
    pub unchanged: bool,
}

/// What a written file holds.
#[derive(Debug, Clone)]
pub enum WrittenKind {
    /// A certificate (DER kept for the summary).
    Cert(Vec<u8>),
    /// A private key (description only).
    Key(String),
}

/// The outcome of an operation.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Files, in the order written.
    pub files: Vec<Written>,
    /// The role of the new certificate.
    pub role: layout::Role,
    /// Warnings to show.
    pub warnings: Vec<String>,
}

pub(crate) fn key_pem(
    key: &KeyPair,
    password: Option<&[u8]>,
) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    let text = match password {
        Some(pw) => {
            zeroize::Zeroizing::new(keys::to_encrypted_pem(key, pw).map_err(|e| Error::Key {
                context: "new key".into(),
                source: e,
            })?)
        }
        None => keys::to_pem(key),
    };
    Ok(zeroize::Zeroizing::new(text.as_bytes().to_vec()))
}

/// Reads a certificate pkitool is about to write back through its own strict loader (PEM
/// framing, DER structure, X.509 parse, GnuTLS-style DN): a certificate that cannot be loaded
/// is never renamed into place.
fn strict_reload(pem: &str, what: &str) -> Result<(), Error> {
    let fail = |why: String| {
        Error::Failed(format!(
            "internal check: the new {what} certificate {why}; nothing was written"
        ))
    };
    let contents = load::parse(pem.as_bytes()).map_err(|e| fail(format!("does not load: {e}")))?;
    let certs: Vec<_> = contents.certificates().collect();
    if certs.len() != 1 || contents.objects.len() != 1 {
        return Err(fail("is not exactly one certificate".into()));
    }
    let (rest, c) = x509_parser::parse_x509_certificate(&certs[0].der)
        .map_err(|e| fail(format!("does not parse: {e}")))?;
    if !rest.is_empty() {
        return Err(fail("has trailing bytes".into()));
    }
    let _ = crate::x509::dn::format_gnutls(c.subject());
    Ok(())
}

/// Creates a CA: a new key and a self-signed certificate, written to `dir/cacert.pem` (0644)
/// and `dir/cakey.pem` (0600), both or neither.
pub fn create_ca(req: &CaRequest) -> Result<Outcome, Error> {
    let key = keys::generate(req.key_type).map_err(|e| Error::Key {
        context: "new CA key".into(),
        source: e,
    })?;
    let cert = build::self_signed_ca(&req.spec, &key)?;
    strict_reload(&cert.pem(), "CA")?;
    let cert_path = req.dir.join(libvirt::CA_CERT);
    let key_path = req.dir.join("cakey.pem");
    guard(&cert, layout::Role::Ca, &cert_path)?;
    let files = vec![
        PlannedFile::new(
            &key_path,
            KEY_MODE,
            key_pem(&key, req.password.as_deref().map(|v| v.as_slice()))?.to_vec(),
        ),
        PlannedFile::new(&cert_path, CERT_MODE, cert.pem().into_bytes()),
    ];
    fsio::write_tree(&[(req.dir.clone(), PRIVATE_DIR_MODE)], &files, req.force)?;
    let mut warnings = Vec::new();
    crate::ca::ledger::record_new_ca(&req.dir, &cert.der, &cert_path, &key_path, &mut warnings)?;
    let mut desc = keys::describe(&key);
    if req.password.is_some() {
        desc.push_str(", encrypted PKCS#8 (PBKDF2-SHA256, AES-256-CBC)");
    }
    Ok(Outcome {
        files: vec![
            Written {
                path: cert_path,
                mode: CERT_MODE,
                what: WrittenKind::Cert(cert.der),
                unchanged: false,
            },
            Written {
                path: key_path,
                mode: KEY_MODE,
                what: WrittenKind::Key(desc),
                unchanged: false,
            },
        ],
        role: layout::Role::Ca,
        warnings,
    })
}

/// The CA's certificate (DER) and key, loaded from files.
pub struct LoadedCa {
    /// Certificate DER.
    pub cert_der: Vec<u8>,
    /// The certificate file's certificates, re-encoded as PEM (what is copied to the hosts).
    pub cert_file: Vec<u8>,
    /// The key (zeroized on drop).
    pub key: keys::SecretKeyPair,
}

/// The certificates of a parsed CA file as PEM, re-encoded from their DER (an OpenSSL
/// `TRUSTED CERTIFICATE` loses its trust settings), with LF line ends.
fn ca_certificate_pem(contents: &load::Contents) -> Vec<u8> {
    let mut out = String::new();
    for c in contents.certificates() {
        use x509_parser::prelude::FromDer;
        let der = match x509_parser::certificate::X509Certificate::from_der(&c.der) {
            Ok((rest, _)) => &c.der[..c.der.len() - rest.len()],
            Err(_) => &c.der[..],
        };
        out.push_str(&crate::x509::der::pem_lf("CERTIFICATE", der.to_vec()));
    }
    out.into_bytes()
}

/// Loads a CA certificate and key (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8 with `password`).
pub fn load_ca(
    cert_path: &Path,
    key_path: &Path,
    password: impl FnOnce() -> Result<zeroize::Zeroizing<Vec<u8>>, Error>,
) -> Result<LoadedCa, Error> {
    let cert_file = fsio::read_input(cert_path)?;
    let contents = load::parse(&cert_file).map_err(|e| Error::Parse {
        path: cert_path.to_path_buf(),
        source: e,
    })?;
    let Some(cert) = contents.certificates().next() else {
        let found = contents
            .objects
            .first()
            .map(|o| o.kind.describe())
            .unwrap_or_else(|| "nothing".into());
        return Err(Error::Failed(format!(
            "{}: no certificate found (found {found}); --ca-cert must be the CA certificate",
            cert_path.display()
        )));
    };
    let cert_der = cert.der.to_vec();
    // The certificate file is copied to every host: never with a private key in it. Only the
    // certificate blocks are written, re-encoded from the parsed DER (no text, no other block).
    if let Some(k) = contents.objects.iter().find(|o| o.kind.is_private_key()) {
        return Err(Error::Failed(format!(
            "{}: holds a {} (line {}) besides the certificate; refusing it as --ca-cert, because the CA certificate is copied to every host (keep the key in its own 0600 file and pass that as --ca-key)",
            cert_path.display(),
            k.kind.describe(),
            k.line
        )));
    }
    let cert_file = ca_certificate_pem(&contents);
    let (key_bytes, key_meta) = fsio::read_limited_meta(key_path, fsio::MAX_INPUT_BYTES)?;
    let key_bytes = zeroize::Zeroizing::new(key_bytes);
    // Whoever can write the CA key (or owns it) can swap in their own CA.
    if let Some(why) = fsio::untrusted_secret(&key_meta, 0) {
        return Err(Error::Failed(format!(
            "{}: refusing to use this CA key: {why}",
            key_path.display()
        )));
    }
    let key_contents = load::parse(&key_bytes).map_err(|e| Error::Parse {
        path: key_path.to_path_buf(),
        source: e,
    })?;
    let Some(obj) = key_contents.private_key() else {
        let found = key_contents
            .objects
            .first()
            .map(|o| o.kind.describe())
            .unwrap_or_else(|| "nothing".into());
        return Err(Error::Failed(format!(
            "{}: no private key found (found {found}); --ca-key must be the CA's private key",
            key_path.display()
        )));
    };
    let pw = if keys::needs_password(obj) {
        Some(password()?)
    } else {
        None
    };
    let key = keys::load_private_key(obj, pw.as_deref().map(|v| v.as_slice())).map_err(|e| {
        Error::Key {
            context: key_path.display().to_string(),
            source: e,
        }
    })?;
    // Name both files here: deeper down the mismatch can only be reported without them.
    let cert_spki = x509_parser::parse_x509_certificate(&cert_der)
        .map(|(_, c)| c.public_key().raw.to_vec())
        .map_err(|e| {
            Error::Failed(format!(
                "{}: the CA certificate cannot be parsed: {e}",
                cert_path.display()
            ))
        })?;
    if cert_spki != keys::public_key_spki(&key) {
        return Err(Error::Failed(format!(
            "{}: this private key does not belong to the CA certificate {} (their public keys differ)",
            key_path.display(),
            cert_path.display()
        )));
    }
    Ok(LoadedCa {
        cert_der,
        cert_file,
        key,
    })
}

/// The file names of an issued certificate in a layout.
#[derive(Debug, Clone)]
pub struct LeafPaths {
    /// Where the CA certificate is copied (if it is).
    pub ca: Option<PathBuf>,
    /// The certificate.
    pub cert: PathBuf,
    /// The key.
    pub key: PathBuf,
    /// Directories to create, with their modes.
    pub dirs: Vec<(PathBuf, u32)>,
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Where a server or client certificate goes in `layout`.
pub fn leaf_paths(
    role: layout::Role,
    layout: Layout,
    out: &Path,
    ca_dir: &Path,
    root: &Path,
) -> LeafPaths {
    let server = role == layout::Role::Server;
    match layout {
        Layout::Flat => LeafPaths {
            ca: (!same_dir(out, ca_dir)).then(|| out.join(libvirt::CA_CERT)),
            cert: out.join(if server {
                libvirt::SERVER_CERT
            } else {
                libvirt::CLIENT_CERT
            }),
            key: out.join(if server {
                libvirt::SERVER_KEY
            } else {
                libvirt::CLIENT_KEY
            }),
            dirs: vec![(out.to_path_buf(), PRIVATE_DIR_MODE)],
        },
        Layout::Qemu => LeafPaths {
            ca: Some(out.join(qemu::CA_CERT)),
            cert: out.join(if server {
                qemu::SERVER_CERT
            } else {
                qemu::CLIENT_CERT
            }),
            key: out.join(if server {
                qemu::SERVER_KEY
            } else {
                qemu::CLIENT_KEY
            }),
            dirs: vec![(out.to_path_buf(), SYSTEM_DIR_MODE)],
        },
        Layout::Libvirt => {
            let ca_dir = layout::under_root(root, libvirt::SYSTEM_CA_DIR);
            let cert_dir = layout::under_root(root, libvirt::SYSTEM_CERT_DIR);
            let key_dir = layout::under_root(root, libvirt::SYSTEM_KEY_DIR);
            LeafPaths {
                ca: Some(ca_dir.join(libvirt::CA_CERT)),
                cert: cert_dir.join(if server {
                    libvirt::SERVER_CERT
                } else {
                    libvirt::CLIENT_CERT
                }),
                key: key_dir.join(if server {
                    libvirt::SERVER_KEY
                } else {
                    libvirt::CLIENT_KEY
                }),
                dirs: vec![
                    (ca_dir, SYSTEM_DIR_MODE),
                    (cert_dir, SYSTEM_DIR_MODE),
                    (key_dir, SYSTEM_DIR_MODE),
                ],
            }
        }
    }
}

/// Refuses to write a certificate that pkitool's own `validate` would call an error
/// ([`crate::check::guard`]): exit 1 naming the file and each reason.
pub(crate) fn guard(cert: &build::Issued, role: layout::Role, path: &Path) -> Result<(), Error> {
    let reasons = crate::check::guard::refusals(&cert.der, cert.pem().len(), role, path);
    if reasons.is_empty() {
        return Ok(());
    }
    Err(Error::Failed(format!(
        "{}: not written: pkitool validate would report it as an error (libvirt or QEMU refuse it, or never use it):\n  {}",
        path.display(),
        reasons.join("\n  ")
    )))
}

/// Issues a server or client certificate with a new key and writes the files of its layout
/// (certificate, key, and the CA certificate where the layout needs it), all or nothing.
pub fn issue(req: &LeafRequest, ca: &LoadedCa) -> Result<Outcome, Error> {
    let role = match req.spec.profile {
        Profile::Server => layout::Role::Server,
        Profile::Client => layout::Role::Client,
        Profile::Ca { .. } => {
            return Err(Error::Usage("use init-ca to make a CA".into()));
        }
    };
    let key = keys::generate(req.key_type).map_err(|e| Error::Key {
        context: "new key".into(),
        source: e,
    })?;
    let signer = Signer {
        cert_der: &ca.cert_der,
        key: &ca.key,
    };
    let cert = build::issue_leaf(&req.spec, &key, &signer)?;
    strict_reload(&cert.pem(), "leaf")?;
    let paths = leaf_paths(role, req.layout, &req.out, &req.dir, &req.root);
    guard(&cert, role, &paths.cert)?;

    let mut planned = Vec::new();
    let mut written = Vec::new();
    if let Some(ca_path) = &paths.ca {
        // An identical CA certificate already there is left alone (no --force needed).
        planned
            .push(PlannedFile::new(ca_path, CERT_MODE, ca.cert_file.clone()).keep_if_identical());
        written.push(Written {
            path: ca_path.clone(),
            mode: CERT_MODE,
            what: WrittenKind::Cert(ca.cert_der.clone()),
            unchanged: false,
        });
    }
    planned.push(PlannedFile::new(
        &paths.key,
        KEY_MODE,
        key_pem(&key, None)?.to_vec(),
    ));
    planned.push(PlannedFile::new(
        &paths.cert,
        CERT_MODE,
        cert.pem().into_bytes(),
    ));
    written.push(Written {
        path: paths.cert.clone(),
        mode: CERT_MODE,
        what: WrittenKind::Cert(cert.der.clone()),
        unchanged: false,
    });
    written.push(Written {
        path: paths.key.clone(),
        mode: KEY_MODE,
        what: WrittenKind::Key(keys::describe(&key)),
        unchanged: false,
    });

    // The ledger is locked before the files are written and recorded after.
    let mut ledger = crate::ca::ledger::Ledger::open_append(&req.dir)?;
    let unchanged = fsio::write_tree(&paths.dirs, &planned, req.force)?;
    let mut warnings = if role == layout::Role::Client {
        separator_warnings(&req.spec.subject)
    } else {
        Vec::new()
    };
    if paths.ca.is_some()
        && let (Some(w), Some(&u)) = (written.first_mut(), unchanged.first())
    {
        w.unchanged = u;
    }
    crate::ca::ledger::record_issued(
        &mut ledger,
        &cert.der,
        role,
        &paths.cert,
        &paths.key,
        &mut warnings,
    )?;
    Ok(Outcome {
        files: written,
        role,
        warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// Requests from flags and templates.
// ---------------------------------------------------------------------------------------------

/// The subject and validity of a new CA, as `init-ca`'s flags give them (a template, when
/// given, fills what they leave out).
#[derive(Debug, Clone, Default)]
pub struct CaInput {
    /// `--cn`.
    pub cn: Option<String>,
    /// `--org`.
    pub org: Option<String>,
    /// `--days`.
    pub days: Option<i64>,
}

/// The subject, names and validity of a new leaf, as `issue`'s flags give them.
#[derive(Debug, Clone, Default)]
pub struct LeafInput {
    /// A server certificate (else a client one).
    pub server: bool,
    /// `--cn`.
    pub cn: Option<String>,
    /// `--san`, as given.
    pub sans: Vec<String>,
    /// `--dn`.
    pub dn: Option<String>,
    /// `--org`.
    pub org: Option<String>,
    /// `--days`.
    pub days: Option<i64>,
    /// `--clamp-to-ca`.
    pub clamp_to_ca: bool,
}

/// Reads the template at `path`, if any.
pub fn load_template(path: Option<&Path>) -> Result<Option<Template>, Error> {
    path.map(template::load).transpose()
}

pub(crate) fn validity(
    spec: &mut CertSpec,
    days_flag: Option<i64>,
    t: Option<&Template>,
) -> Result<(), Error> {
    if let Some(start) = t.and_then(|t| t.activation_date) {
        spec.not_before = start;
    }
    let days = days_flag.or(t.and_then(|t| t.expiration_days));
    match (days, t.and_then(|t| t.expiration_date)) {
        (Some(d), _) if days_flag.is_some() || t.and_then(|t| t.expiration_date).is_none() => {
            if d <= 0 {
                return Err(Error::Usage(format!("--days must be positive, got {d}")));
            }
            spec.not_after = build::checked_days(d)
                .and_then(|dur| spec.not_before.checked_add(dur))
                .filter(|t| t.year() <= 9999)
                .ok_or_else(|| Error::Usage(format!("--days {d} is too far in the future")))?;
        }
        (_, Some(end)) => spec.not_after = end,
        _ => {
            let span = spec.not_after - build::now();
            spec.not_after = spec.not_before + span;
        }
    }
    Ok(())
}

/// Refuses a flag value holding a control character (C0, DEL, C1): it would be signed into the
/// certificate and printed raw by every other tool that shows it.
fn refuse_controls(flag: &str, value: &str) -> Result<(), Error> {
    use crate::quoting::terminal;
    if terminal::has_control(value) {
        return Err(Error::Usage(format!(
            "{flag} {}: control characters (newline, ESC, ...) are not allowed in certificate fields",
            terminal::escape(value)
        )));
    }
    Ok(())
}

/// The text values of a subject (a `#hex` value as the bytes it holds).
fn subject_values(subject: &SubjectFields) -> Vec<String> {
    use crate::x509::dn::AttributeValue;
    subject
        .to_dn()
        .rdns
        .iter()
        .flatten()
        .map(|a| match &a.value {
            AttributeValue::Text(t) => t.clone(),
            AttributeValue::Der(d) => String::from_utf8_lossy(d).into_owned(),
        })
        .collect()
}

/// A client's DN is matched by libvirt's `tls_allowed_dn_list` with GLib globs, which cannot
/// escape `*` or `?`: the allow-list line printed for a client whose DN holds one would admit
/// other clients too (a CN of `*` admits every client of the CA). Such values are refused.
fn refuse_glob_characters(subject: &SubjectFields) -> Result<(), Error> {
    for v in subject_values(subject) {
        if let Some(c) = v.chars().find(|c| matches!(c, '*' | '?')) {
            return Err(Error::Usage(format!(
                "client DN value {:?}: '{c}' is a wildcard in libvirt's tls_allowed_dn_list, which cannot escape it, so the allow-list line for this client would admit others too; leave it out",
                crate::quoting::terminal::escape(&v)
            )));
        }
    }
    Ok(())
}

/// Warnings for a client DN whose values hold DN separators: they are escaped in the DN string
/// (`\,`), but a pattern such as `*,CN=admin` can still match across the escape.
fn separator_warnings(subject: &SubjectFields) -> Vec<String> {
    subject_values(subject)
        .into_iter()
        .filter(|v| v.contains([',', '+', '=']))
        .map(|v| {
            format!(
                "client DN value {:?} contains ',', '+' or '=': allow-list patterns with '*' can match across its escaped separator; prefer values without them",
                crate::quoting::terminal::escape(&v)
            )
        })
        .collect()
}

/// Builds the CA [`CertSpec`] from `init-ca` flags and an optional template; asks for the CN on
/// a terminal when neither gives one.
pub fn ca_spec(args: &CaInput, t: Option<&Template>) -> Result<CertSpec, Error> {
    for (flag, v) in [("--cn", &args.cn), ("--org", &args.org)] {
        if let Some(v) = v {
            refuse_controls(flag, v)?;
        }
    }
    let mut subject = t.map(|t| t.subject.clone()).unwrap_or_default();
    if let Some(cn) = &args.cn {
        subject.cn = Some(cn.clone());
    }
    if let Some(org) = &args.org {
        subject.organization = vec![org.clone()];
    }
    if subject.common_name().is_none() {
        subject.cn = Some(prompt::require_value("--cn", "Common name (CN) of the CA")?);
    }
    let mut spec = CertSpec::new(
        Profile::Ca {
            path_len: t.and_then(|t| t.path_len),
        },
        subject,
        CA_DAYS,
    )?;
    validity(&mut spec, args.days, t)?;
    spec.serial = t.and_then(|t| t.serial.clone());
    Ok(spec)
}

/// Builds the leaf [`CertSpec`] from `issue` flags and an optional template.
pub fn leaf_spec(args: &LeafInput, t: Option<&Template>) -> Result<CertSpec, Error> {
    for (flag, v) in [("--cn", &args.cn), ("--org", &args.org), ("--dn", &args.dn)] {
        if let Some(v) = v {
            refuse_controls(flag, v)?;
        }
    }
    for v in &args.sans {
        refuse_controls("--san", v)?;
    }
    let server = args.server;
    if let Some(t) = t
        && t.ca
    {
        return Err(Error::Usage(format!(
            "{}: the template has a `ca` line and would make a CA; use pkitool init-ca --template, or remove the line",
            t.path.display()
        )));
    }
    let mut subject = match &args.dn {
        Some(dn) => SubjectFields {
            dn: build::parse_dn(dn).map_err(|e| Error::Usage(format!("--dn: {e}")))?,
            ..Default::default()
        },
        None => t.map(|t| t.subject.clone()).unwrap_or_default(),
    };
    if let Some(cn) = &args.cn {
        subject.cn = Some(cn.clone());
    }
    if let Some(org) = &args.org {
        subject.organization = vec![org.clone()];
    }
    let mut sans = if args.sans.is_empty() {
        t.map(|t| t.sans.clone()).unwrap_or_default()
    } else {
        args.sans
            .iter()
            .map(|s| San::parse(s).map_err(|e| Error::Usage(format!("--san: {e}"))))
            .collect::<Result<Vec<_>, _>>()?
    };
    if subject.common_name().is_none() {
        let from_san = sans.iter().find_map(|s| match s {
            San::Dns(d) if server => Some(d.clone()),
            _ => None,
        });
        subject.cn = Some(match from_san {
            Some(d) => d,
            None => prompt::require_value(
                "--cn",
                if server {
                    "Host name clients use to reach the server (CN)"
                } else {
                    "Client name (CN)"
                },
            )?,
        });
    }
    if server {
        let cn = subject.common_name().unwrap_or_default().to_string();
        if cn.parse::<std::net::IpAddr>().is_ok() {
            return Err(Error::Usage(format!(
                "--cn {cn}: an IP address cannot be the server's CN; give the host name as --cn and the address as --san {cn}"
            )));
        }
        // The libvirt guide: "the hostname listed in the CN must also be duplicated as a
        // DNSname entry".
        if build::check_dns_name(&cn).is_ok() && !sans.contains(&San::Dns(cn.clone())) {
            sans.insert(0, San::Dns(cn));
        }
    }
    let profile = if server {
        Profile::Server
    } else {
        refuse_glob_characters(&subject)?;
        Profile::Client
    };
    let mut spec = CertSpec::new(profile, subject, LEAF_DAYS)?;
    validity(&mut spec, args.days, t)?;
    spec.sans = sans;
    spec.serial = t.and_then(|t| t.serial.clone());
    spec.clamp_to_ca = args.clamp_to_ca;
    let (tls_server, tls_client) =
        t.map_or((false, false), |t| (t.tls_www_server, t.tls_www_client));
    let mut ekus = Vec::new();
    if server || tls_server {
        ekus.push(build::eku::SERVER_AUTH.to_vec());
    }
    if !server || tls_client {
        ekus.push(build::eku::CLIENT_AUTH.to_vec());
    }
    spec.eku = Some(ekus);
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_requests_never_shows_the_password() {
        let subject = SubjectFields {
            cn: Some("Debug CA".into()),
            ..Default::default()
        };
        let spec = CertSpec::new(Profile::Ca { path_len: None }, subject, 10).unwrap();
        let pw = zeroize::Zeroizing::new(b"hunter2-secret".to_vec());
        let ca = CaRequest {
            dir: PathBuf::from("ca"),
            spec: spec.clone(),
            key_type: KeyType::default(),
            password: Some(pw.clone()),
            force: false,
        };
        let leaf = LeafRequest {
            ca_cert: PathBuf::from("ca/cacert.pem"),
            ca_key: PathBuf::from("ca/cakey.pem"),
            ca_password: Some(pw),
            spec,
            key_type: KeyType::default(),
            out: PathBuf::from("out"),
            dir: PathBuf::from("ca"),
            layout: Layout::Flat,
            root: PathBuf::from("/"),
            force: false,
        };
        for text in [format!("{ca:?}"), format!("{leaf:?}"), format!("{ca:#?}")] {
            assert!(text.contains("<redacted>"), "{text}");
            assert!(!text.contains("hunter2"), "{text}");
            // Neither as bytes: 104 = 'h', 117 = 'u' ...
            assert!(!text.contains("104, 117, 110"), "{text}");
            assert!(
                text.contains("Debug CA") || text.contains("cacert.pem"),
                "{text}"
            );
        }
    }
}
