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
    /// Give the new key this group (mode 0640) so QEMU can read it.
    pub key_group: Option<KeyGroup>,
    /// Append this CA to an existing CA file that does not hold it.
    pub add_ca: bool,
    /// Encrypt the new key with this password (QEMU layouts: `issue --encrypt-key`).
    pub key_password: Option<zeroize::Zeroizing<Vec<u8>>>,
}

/// The group a new key is given, and why.
#[derive(Debug, Clone)]
pub struct KeyGroup {
    /// Group name.
    pub name: String,
    /// Its id.
    pub gid: u32,
    /// Why this group ("--group", "`group` in stage/etc/libvirt/qemu.conf", ...).
    pub source: String,
}

/// Mode of a key whose group may read it (QEMU's group).
pub const GROUP_KEY_MODE: u32 = 0o640;

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
            .field(
                "key_password",
                &format_args!("{}", redacted(&self.key_password)),
            )
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
    /// `user:group` when it is not the creator's (a `--group` key, or ownership kept from the
    /// file `--force` replaced).
    pub owner: Option<String>,
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
    /// What was done beyond writing (the key's group and why, a CA appended to a bundle).
    pub notes: Vec<String>,
    /// The QEMU group that exists on this machine, for the destination hint (never a group the
    /// machine does not have).
    pub qemu_group_hint: Option<String>,
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
    let lock = crate::ca::lock::lock_tree(&req.dir, PRIVATE_DIR_MODE)?;
    let notes = recover_note(&req.dir, std::slice::from_ref(&req.dir))?;
    let mut warnings = Vec::new();
    let mut ledger_result = Ok(());
    let mut lock = Some(lock);
    fsio::write_tree_journaled_then(
        &[(req.dir.clone(), PRIVATE_DIR_MODE)],
        &files,
        req.force,
        &req.dir,
        || {
            // The tree lock is on the CA directory, which the ledger locks too: release it
            // first. The ledger line is made durable with the renames.
            drop(lock.take());
            let mut pending = Vec::new();
            ledger_result = crate::ca::ledger::record_new_ca(
                &req.dir,
                &cert.der,
                &cert_path,
                &key_path,
                &mut warnings,
                Some(&mut pending),
            );
            pending
        },
    )?;
    drop(lock);
    ledger_result?;
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
        notes,
        qemu_group_hint: None,
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

/// Completes an interrupted set in the directories of the CA files, under the lock `init-ca`
/// takes, when a journal is there (nothing is locked or created otherwise): an `init-ca` killed
/// between its renames leaves one, and reading the CA then would see half a set (a new
/// certificate next to the old key). Commands call it before they read the CA or open the
/// ledger (which takes the same lock). Returns what was completed.
pub fn recover_ca_dirs(cert_path: &Path, key_path: &Path) -> Result<Vec<String>, Error> {
    let dir_of = |p: &Path| match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut dirs = vec![dir_of(cert_path), dir_of(key_path)];
    dirs.dedup();
    let mut notes = Vec::new();
    for d in dirs {
        if std::fs::symlink_metadata(d.join(crate::journal::JOURNAL)).is_err() {
            continue;
        }
        let _lock = crate::ca::lock::lock_tree(&d, PRIVATE_DIR_MODE)?;
        notes.extend(recover_note(&d, std::slice::from_ref(&d))?);
    }
    Ok(notes)
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
    if req.add_ca && paths.ca.is_none() {
        return Err(Error::Usage(format!(
            "--add-ca has nothing to do: the flat layout copies no CA certificate when --out is the CA's directory ({})",
            req.dir.display()
        )));
    }

    // One pkitool at a time in this tree: compare and write under the lock.
    let top = lock_dir_of(req.layout, &paths, &req.root);
    // The ledger is locked first (it holds the CA directory until the certificate is recorded),
    // then the output tree, unless that is the CA directory itself.
    let mut ledger = crate::ca::ledger::Ledger::open_append(&req.dir)?;
    if req.spec.serial.is_some() {
        ledger.refuse_recorded_serial(&cert.der)?;
    }
    let lock = crate::ca::lock::lock_tree_unless_held(&top, paths.dirs[0].1, &req.dir)?;
    let write_dirs: Vec<PathBuf> = paths.dirs.iter().map(|(d, _)| d.clone()).collect();
    let mut notes = recover_note(&top, &write_dirs)?;

    let mut planned = Vec::new();
    let mut written = Vec::new();
    let mut replace = req.force;
    if let Some(ca_path) = &paths.ca {
        match ca_file_plan(ca_path, ca, req)? {
            CaFilePlan::Keep => {}
            CaFilePlan::Write(contents) => {
                planned.push(PlannedFile::new(ca_path, CERT_MODE, contents));
            }
            CaFilePlan::Append(contents, n) => {
                notes.push(format!(
                    "{}: this CA appended to the {n} certificate(s) already there (--add-ca)",
                    ca_path.display()
                ));
                planned.push(PlannedFile::new(ca_path, CERT_MODE, contents));
                // Replacing the bundle is the choice --add-ca made; the leaf files still need
                // --force (checked below, under the lock).
                for p in [&paths.cert, &paths.key] {
                    if !req.force && std::fs::symlink_metadata(p).is_ok() {
                        return Err(fsio::WriteError::AlreadyExists { path: p.clone() }.into());
                    }
                }
                replace = true;
            }
        }
        written.push(Written {
            path: ca_path.clone(),
            mode: CERT_MODE,
            what: WrittenKind::Cert(ca.cert_der.clone()),
            unchanged: planned.is_empty(),
            owner: None,
        });
    }
    let gid = req.key_group.as_ref().map(|g| g.gid);
    let key_mode = if gid.is_some() {
        GROUP_KEY_MODE
    } else {
        KEY_MODE
    };
    let key_password = req.key_password.as_deref().map(|v| v.as_slice());
    let key_bytes = key_pem(&key, key_password)?.to_vec();
    planned.push(match gid {
        Some(g) => PlannedFile::new(&paths.key, key_mode, key_bytes).with_group(g),
        None => PlannedFile::new(&paths.key, key_mode, key_bytes),
    });
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
        owner: None,
    });
    written.push(Written {
        path: paths.key.clone(),
        mode: key_mode,
        what: WrittenKind::Key(if key_password.is_some() {
            format!(
                "{}, encrypted PKCS#8 (PBKDF2-SHA256, AES-256-CBC)",
                keys::describe(&key)
            )
        } else {
            keys::describe(&key)
        }),
        unchanged: false,
        owner: None,
    });

    let mut warnings = if role == layout::Role::Client {
        separator_warnings(&req.spec.subject)
    } else {
        Vec::new()
    };
    // The ledger line is made durable together with the renames (one durable point).
    let mut ledger_result = Ok(());
    fsio::write_tree_journaled_then(&paths.dirs, &planned, replace, &top, || {
        let mut pending = Vec::new();
        ledger_result = crate::ca::ledger::record_issued(
            &mut ledger,
            &cert.der,
            role,
            &paths.cert,
            &paths.key,
            &mut warnings,
            Some(&mut pending),
        );
        pending
    })?;
    drop(lock);
    ledger_result?;
    for w in &mut written {
        stat_written(w);
    }
    if let Some(g) = &req.key_group {
        notes.push(format!(
            "{}: root:{} {:04o} so QEMU running as group {} can read it (group from {})",
            paths.key.display(),
            g.name,
            GROUP_KEY_MODE,
            g.name,
            g.source
        ));
    }
    Ok(Outcome {
        files: written,
        role,
        warnings,
        notes,
        // Only a server's destinations name the QEMU group.
        qemu_group_hint: (role == layout::Role::Server)
            .then(crate::consumer::qemu_user::hint_group)
            .flatten(),
    })
}

/// Completes a set of files an interrupted run left in `dir` ([`crate::journal::recover`]; the
/// lock is held) and says so.
fn recover_note(dir: &Path, write_dirs: &[PathBuf]) -> Result<Vec<String>, Error> {
    let done = crate::journal::recover(dir, write_dirs).map_err(|e| {
        Error::Environment(format!(
            "{}: cannot complete the interrupted write its {} records: {e}",
            dir.display(),
            crate::journal::JOURNAL
        ))
    })?;
    Ok(if done.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "completed an earlier run's interrupted write first: {}",
            done.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )]
    })
}

/// The directory locked for one `issue`: the top of what it writes.
fn lock_dir_of(layout: Layout, paths: &LeafPaths, root: &Path) -> PathBuf {
    match layout {
        Layout::Libvirt => layout::under_root(root, libvirt::SYSTEM_PKI_DIR),
        Layout::Flat | Layout::Qemu => paths.dirs[0].0.clone(),
    }
}

/// The mode and owner a file really has after writing (`--force` keeps the replaced file's).
fn stat_written(w: &mut Written) {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(&w.path) else {
        return;
    };
    w.mode = m.mode() & 0o7777;
    let (uid, gid) = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    if m.uid() != uid || m.gid() != gid {
        let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(m.uid()))
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| m.uid().to_string());
        let group =
            crate::consumer::qemu_user::group_name(m.gid()).unwrap_or_else(|| m.gid().to_string());
        w.owner = Some(format!("{user}:{group}"));
    }
}

/// What to do with the CA certificate file of a layout.
enum CaFilePlan {
    /// It already holds this CA (alone, or in a bundle): left exactly as it is.
    Keep,
    /// Write it (new, or `--force` over a single other certificate or an unreadable file).
    Write(Vec<u8>),
    /// Append this CA to the bundle (`--add-ca`); the count of certificates already there.
    Append(Vec<u8>, usize),
}

/// Decides, under the tree lock, what happens to an existing CA file: a file holding this CA
/// (identical, or a rollover/mixed bundle containing it) is never a conflict and never flattened;
/// a bundle without it needs `--add-ca`.
fn ca_file_plan(ca_path: &Path, ca: &LoadedCa, req: &LeafRequest) -> Result<CaFilePlan, Error> {
    let existing = match std::fs::symlink_metadata(ca_path) {
        Err(_) => return Ok(CaFilePlan::Write(ca.cert_file.clone())),
        // A FIFO, device or symlink there is never read: --force replaces the entry itself.
        Ok(m) if !m.file_type().is_file() => {
            if req.force {
                return Ok(CaFilePlan::Write(ca.cert_file.clone()));
            }
            return Err(fsio::WriteError::AlreadyExists {
                path: ca_path.to_path_buf(),
            }
            .into());
        }
        Ok(_) => fsio::read_input(ca_path)?,
    };
    if existing == ca.cert_file {
        return Ok(CaFilePlan::Keep);
    }
    let certs: Vec<Vec<u8>> = load::parse(&existing)
        .map(|c| c.certificates().map(|o| o.der.to_vec()).collect())
        .unwrap_or_default();
    if certs.contains(&ca.cert_der) {
        return Ok(CaFilePlan::Keep);
    }
    let pem_block = pem::encode(&pem::Pem::new("CERTIFICATE", ca.cert_der.clone()));
    if req.add_ca {
        if certs.is_empty() {
            return Err(Error::Failed(format!(
                "{}: holds no certificate pkitool can read; --add-ca appends to a CA bundle, pass --force to replace the file instead",
                ca_path.display()
            )));
        }
        let mut contents = existing.clone();
        if !contents.ends_with(b"\n") {
            contents.push(b'\n');
        }
        contents.extend_from_slice(pem_block.as_bytes());
        return Ok(CaFilePlan::Append(contents, certs.len()));
    }
    if req.force && certs.len() <= 1 {
        return Ok(CaFilePlan::Write(ca.cert_file.clone()));
    }
    let what = match certs.len() {
        0 => "a file that is not a certificate".to_string(),
        1 => "another CA's certificate".to_string(),
        n => format!("a bundle of {n} certificates, none of them this CA"),
    };
    Err(Error::Usage(format!(
        "{}: holds {what}; pass --add-ca to append this CA to it (keeping the others){}",
        ca_path.display(),
        if certs.len() <= 1 {
            ", or --force to replace it"
        } else {
            " (--force never flattens a bundle)"
        }
    )))
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
            // A new root signs leaves only unless asked (init-ca --path-len, path_len).
            path_len: t.and_then(|t| t.path_len).unwrap_or(Some(0)),
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
    refuse_contradictions(args, &subject)?;
    // Where the CN comes from, to name it in messages.
    let mut cn_source = match (&args.cn, &args.dn, t) {
        (Some(_), _, _) => "--cn".to_string(),
        (None, Some(_), _) => "--dn".to_string(),
        (None, None, Some(t)) => format!("{}: cn", t.path.display()),
        (None, None, None) => "--cn".to_string(),
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
            .map(|s| San::parse(s).map_err(|e| Error::Usage(format!("--san {s}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?
    };
    if let Some(t) = t {
        refuse_foreign_template_sans(args, &subject, t)?;
    }
    if subject.common_name().is_none() {
        let from_san = sans.iter().find_map(|s| match s {
            San::Dns(d) if server => Some(d.clone()),
            _ => None,
        });
        subject.cn = Some(match from_san {
            Some(d) => {
                cn_source = "--san".into();
                d
            }
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
            let fix = if cn_source == "--cn" {
                format!("give the host name as --cn and the address as --san {cn}")
            } else {
                format!(
                    "give the host name as the CN and the address as a SAN (--san {cn} or ip_address)"
                )
            };
            return Err(Error::Usage(format!(
                "{cn_source}: the CN {cn} is an IP address, which cannot be the server's CN; {fix}"
            )));
        }
        // The libvirt guide: "the hostname listed in the CN must also be duplicated as a
        // DNSname entry". A CN that cannot be a DNS name would give a server certificate
        // clients never match by its CN: refused. Internationalised names become A-labels.
        let dns = crate::x509::idn::to_a_label(&cn).map_err(|e| {
            Error::Usage(format!(
                "{cn_source}: a server's CN is also its DNS name: {e}"
            ))
        })?;
        if !sans.contains(&San::Dns(dns.clone())) {
            sans.insert(0, San::Dns(dns));
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

/// `--cn`/`--org` that contradict `--dn` (which gives the whole subject): exit 2 naming both.
fn refuse_contradictions(args: &LeafInput, from_dn: &SubjectFields) -> Result<(), Error> {
    let Some(dn) = &args.dn else {
        return Ok(());
    };
    let has = |oid: &str| {
        from_dn
            .dn
            .iter()
            .flatten()
            .find(|a| a.oid == oid)
            .map(|a| match &a.value {
                crate::x509::dn::AttributeValue::Text(t) => t.clone(),
                _ => String::from("(binary)"),
            })
    };
    if let (Some(cn), Some(in_dn)) = (&args.cn, has(build::attr::CN)) {
        return Err(Error::Usage(format!(
            "--cn {cn} and --dn {dn} both give the CN (the certificate would have two, CN={in_dn} and CN={cn}); put the CN in one of them"
        )));
    }
    if let (Some(org), Some(in_dn)) = (&args.org, has(build::attr::O)) {
        return Err(Error::Usage(format!(
            "--org {org} and --dn {dn} both give the organization (the certificate would have O={in_dn} and O={org}); put it in one of them"
        )));
    }
    Ok(())
}

/// A template's SANs name the host its `cn` names: reusing the template for another host with
/// `--cn` (or `--dn`) would give that host a certificate valid for the template's names.
/// Refused unless `--san` replaces them (or the template has none).
fn refuse_foreign_template_sans(
    args: &LeafInput,
    subject: &SubjectFields,
    t: &Template,
) -> Result<(), Error> {
    if !args.sans.is_empty() || t.sans.is_empty() {
        return Ok(());
    }
    let Some(tcn) = t.subject.common_name() else {
        return Ok(());
    };
    let cn = subject.common_name().unwrap_or_default();
    if cn == tcn {
        return Ok(());
    }
    let flag = if args.cn.is_some() { "--cn" } else { "--dn" };
    let names: Vec<String> = t.sans.iter().map(|s| s.to_string()).collect();
    Err(Error::Usage(format!(
        "{flag} gives the CN {cn}, but {} names the host {tcn} and its SANs ({}) would be kept: the certificate would be valid for {tcn}'s names. Give this host's names with --san (they replace the template's), or remove the template's dns_name/ip_address lines",
        t.path.display(),
        names.join(", ")
    )))
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
            key_group: None,
            add_ca: false,
            key_password: Some(zeroize::Zeroizing::new(b"hunter2-secret".to_vec())),
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
