//! The ledger: every certificate a CA directory issues, and every revocation and CRL it makes.
//!
//! One file, `pkitool-ledger.jsonl`, in the CA directory: one JSON object per line, appended
//! and fsynced, never rewritten. Every line carries `"v": 1` (the format version) and a
//! `"type"`:
//!
//! - `"cert"`: a certificate was issued ([`Entry`]: serial, role, subject, SANs, key type,
//!   validity, the files written, and the serial it supersedes when it is a renewal);
//! - `"revoke"`: a certificate was revoked ([`Revocation`]: serial, reason, date);
//! - `"crl"`: a CRL was written ([`CrlRecord`]: its CRL number, so numbers only grow).
//!
//! The current status of a certificate (valid, expiring, expired, revoked, superseded) is
//! computed from the lines ([`Ledger::status`]), never stored by rewriting.
//!
//! Concurrency: writers hold an exclusive `flock` on the CA directory for the whole
//! operation (a renew holds it from reading the certificate to appending its line), readers a
//! shared one. Crash safety: a line is written with one `write` and fsynced; a torn last line
//! (no newline, or only NUL bytes, left by a process killed mid-append or a crash) is skipped
//! with a note, and the next writer cuts it off before appending. Any other unreadable line
//! is corruption, and a line with a newer `"v"` comes from a newer pkitool: both are refused
//! with the file and line number, because guessing would drop revocations from the next CRL.
//!
//! Other helpers call it like this:
//!
//! ```no_run
//! # fn f(dir: &std::path::Path, der: &[u8]) -> Result<(), pkitool::ca::ledger::LedgerError> {
//! use pkitool::ca::ledger::{Entry, Ledger};
//! use pkitool::layout::Role;
//! let mut ledger = Ledger::open(dir)?; // exclusive lock, waits up to 10 s
//! let entry = Entry::from_der(der, Role::Server, vec![dir.join("servercert.pem")], vec![])?;
//! ledger.append_entry(&entry)?;
//! for e in ledger.entries() {
//!     println!("{} {}", e.serial, e.subject);
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::layout::Role;

/// The ledger's file name in the CA directory.
pub const FILE_NAME: &str = "pkitool-ledger.jsonl";
/// The format version this pkitool writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The largest ledger read (about a million certificates).
pub const MAX_LEDGER_BYTES: u64 = 1 << 30;
/// How long [`Ledger::open`] waits for another writer.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Why the ledger cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// Another pkitool holds the lock.
    #[error(
        "{}: another pkitool (issue, renew, revoke or crl) is writing to this CA directory; nothing was changed, try again when it has finished",
        dir.display()
    )]
    Busy {
        /// The CA directory.
        dir: PathBuf,
    },
    /// A line in the middle of the ledger is not a ledger record.
    #[error(
        "{}: line {line} is corrupt ({why}); the ledger was not changed. Restore it from a backup, or remove that line by hand if you know what it held",
        path.display()
    )]
    Corrupt {
        /// The ledger.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// A line was written by a newer pkitool.
    #[error(
        "{}: line {line} has format version {version}, but this pkitool reads version {FORMAT_VERSION}; use the newer pkitool that wrote it",
        path.display()
    )]
    FromTheFuture {
        /// The ledger.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Its version.
        version: u64,
    },
    /// The certificate to record cannot be parsed.
    #[error("cannot record the certificate: {0}")]
    BadCertificate(String),
    /// An I/O error.
    #[error("{}: {what}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The step that failed.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

/// The status of a certificate, as `list` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Valid, and not expiring within the window.
    Valid,
    /// Valid, but expiring within the window.
    Expiring,
    /// notAfter has passed.
    Expired,
    /// Revoked (takes precedence over everything else).
    Revoked,
    /// A renewal of it was issued (and it is not revoked).
    Superseded,
}

impl Status {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Expiring => "expiring",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
            Status::Superseded => "superseded",
        }
    }
}

/// A revocation reason (RFC 5280 CRLReason; the codes pkitool writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reason {
    /// 0 (no reasonCode extension is written for it, as RFC 5280 5.3.1 asks).
    Unspecified,
    /// 1
    KeyCompromise,
    /// 2
    #[serde(rename = "cACompromise")]
    CaCompromise,
    /// 3
    AffiliationChanged,
    /// 4
    Superseded,
    /// 5
    CessationOfOperation,
}

impl Reason {
    /// The CRLReason code.
    pub fn code(self) -> u8 {
        match self {
            Reason::Unspecified => 0,
            Reason::KeyCompromise => 1,
            Reason::CaCompromise => 2,
            Reason::AffiliationChanged => 3,
            Reason::Superseded => 4,
            Reason::CessationOfOperation => 5,
        }
    }

    /// The RFC 5280 name (the `--reason` spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "keyCompromise",
            Reason::CaCompromise => "cACompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
        }
    }
}

/// A certificate the CA issued (a `"type":"cert"` line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Serial number: upper-case hex of the INTEGER's magnitude, even length, no separators
    /// (what `openssl x509 -serial` prints).
    pub serial: String,
    /// ca, server or client.
    pub role: Role,
    /// Subject as GnuTLS prints it (the string libvirt's `tls_allowed_dn_list` and QEMU's authz
    /// compare).
    pub subject: String,
    /// The subject Name's DER, base64 (standard alphabet, padded).
    pub subject_der: String,
    /// Subject alternative names: `DNS:name`, `IP:addr`, `email:x`, `URI:x`, in order.
    pub sans: Vec<String>,
    /// Key type: ecdsa-p256, ecdsa-p384, ecdsa-p521, ed25519, rsa-BITS, or unknown.
    pub key_type: String,
    /// notBefore, RFC 3339 UTC.
    pub not_before: String,
    /// notAfter, RFC 3339 UTC.
    pub not_after: String,
    /// The certificate files written (absolute when known).
    pub paths: Vec<PathBuf>,
    /// The private key files written with it (empty when the key was kept or is elsewhere).
    #[serde(default)]
    pub key_paths: Vec<PathBuf>,
    /// The status when recorded (always `valid`); [`Ledger::status`] gives the current one.
    pub status: Status,
    /// The serial this certificate renews, if it is a renewal.
    pub supersedes: Option<String>,
    /// SHA-256 of the certificate DER, upper-case hex.
    pub sha256: String,
    /// When the line was written, RFC 3339 UTC.
    pub recorded_at: String,
}

/// A revocation (a `"type":"revoke"` line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Serial (same form as [`Entry::serial`]).
    pub serial: String,
    /// Reason.
    pub reason: Reason,
    /// Revocation date, RFC 3339 UTC (the CRL's revocationDate).
    pub revoked_at: String,
    /// The certificate's notAfter when known (the CRL drops it after that); `None` keeps it in
    /// every CRL.
    pub not_after: Option<String>,
    /// The subject when known.
    pub subject: Option<String>,
    /// The file it was revoked by, when revoked by path.
    pub path: Option<PathBuf>,
}

/// A CRL written (a `"type":"crl"` line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrlRecord {
    /// Its CRL number.
    pub number: u64,
    /// thisUpdate, RFC 3339.
    pub this_update: String,
    /// nextUpdate, RFC 3339.
    pub next_update: String,
    /// How many serials it lists.
    pub revoked: usize,
    /// Where it was written.
    pub paths: Vec<PathBuf>,
}

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record {
    /// A certificate.
    Cert(Entry),
    /// A revocation.
    Revoke(Revocation),
    /// A CRL.
    Crl(CrlRecord),
}

#[derive(Serialize)]
struct Line<'a> {
    v: u32,
    #[serde(flatten)]
    record: &'a Record,
}

/// Normalises a serial as given by a user or a tool: `0x`, colons, spaces and case are
/// ignored, leading zero octets dropped. `None` when it is not hex.
pub fn normalize_serial(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let hex: String = s
        .chars()
        .filter(|c| *c != ':' && *c != ' ')
        .collect::<String>()
        .to_ascii_uppercase();
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut hex = if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex
    };
    while hex.len() > 2 && hex.starts_with("00") {
        hex.drain(..2);
    }
    Some(hex)
}

/// The serial of a certificate in ledger form.
pub fn serial_hex(raw_serial: &[u8]) -> String {
    let i = raw_serial
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw_serial.len().saturating_sub(1));
    let hex: String = raw_serial
        .get(i..)
        .unwrap_or_default()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    if hex.is_empty() { "00".into() } else { hex }
}

/// RFC 3339 of a time (UTC, whole seconds).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Parses an RFC 3339 time written by [`rfc3339`].
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// The key type of a certificate's public key, in `--key-type` spelling.
pub fn key_type_of(cert: &X509Certificate<'_>) -> String {
    use x509_parser::public_key::PublicKey;
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("rsa-{}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            match curve.as_str() {
                "1.2.840.10045.3.1.7" => "ecdsa-p256".into(),
                "1.3.132.0.34" => "ecdsa-p384".into(),
                "1.3.132.0.35" => "ecdsa-p521".into(),
                _ => "ecdsa".into(),
            }
        }
        _ if alg == "1.3.101.112" => "ed25519".into(),
        _ if alg == "1.3.101.113" => "ed448".into(),
        _ => "unknown".into(),
    }
}

impl Entry {
    /// The entry for a certificate that was just written to `paths` (and keys to `key_paths`).
    pub fn from_der(
        der: &[u8],
        role: Role,
        paths: Vec<PathBuf>,
        key_paths: Vec<PathBuf>,
    ) -> Result<Entry, LedgerError> {
        use base64::Engine;
        let (_, c) = X509Certificate::from_der(der)
            .map_err(|e| LedgerError::BadCertificate(e.to_string()))?;
        let facts = crate::report::provision::cert_facts(der)
            .ok_or_else(|| LedgerError::BadCertificate("cannot read its fields".into()))?;
        let v = c.validity();
        Ok(Entry {
            serial: serial_hex(c.raw_serial()),
            role,
            subject: facts.subject,
            subject_der: base64::engine::general_purpose::STANDARD.encode(c.subject().as_raw()),
            sans: facts.sans,
            key_type: key_type_of(&c),
            not_before: rfc3339(v.not_before.to_datetime()),
            not_after: rfc3339(v.not_after.to_datetime()),
            paths: paths.into_iter().map(absolute).collect(),
            key_paths: key_paths.into_iter().map(absolute).collect(),
            status: Status::Valid,
            supersedes: None,
            sha256: crate::report::provision::fingerprint(der).replace(':', ""),
            recorded_at: rfc3339(OffsetDateTime::now_utc()),
        })
    }

    /// notAfter as a time (`None` if the line holds something unparsable).
    pub fn not_after_time(&self) -> Option<OffsetDateTime> {
        parse_time(&self.not_after)
    }
}

/// `path` made absolute against the current directory (lexically; the file may not exist).
pub fn absolute(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        path
    } else {
        std::env::current_dir()
            .map(|d| d.join(&path))
            .unwrap_or(path)
    }
}

fn io(path: &Path, what: &'static str) -> impl FnOnce(std::io::Error) -> LedgerError {
    let path = path.to_path_buf();
    move |source| LedgerError::Io { path, what, source }
}

/// An open ledger: its records, and a lock on the CA directory (exclusive for [`Ledger::open`]
/// and [`Ledger::try_open`], shared for [`Ledger::read`]).
pub struct Ledger {
    dir: PathBuf,
    path: PathBuf,
    _lock: Flock<File>,
    exclusive: bool,
    records: Vec<Record>,
    /// Byte length of the well-formed part (where the next line goes).
    good_len: u64,
    /// Bytes after it: a torn last line.
    torn: u64,
    notes: Vec<String>,
    by_serial: HashMap<String, usize>,
    revoked: HashMap<String, usize>,
    superseded_by: HashMap<String, String>,
    max_crl: u64,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("records", &self.records.len())
            .finish()
    }
}

fn lock_dir(dir: &Path, arg: FlockArg, wait: Duration) -> Result<Flock<File>, LedgerError> {
    let deadline = Instant::now() + wait;
    loop {
        let f = File::open(dir).map_err(io(dir, "cannot open the CA directory"))?;
        match Flock::lock(f, arg) {
            Ok(l) => return Ok(l),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                return Err(LedgerError::Busy {
                    dir: dir.to_path_buf(),
                });
            }
            Err((_, e)) => {
                return Err(LedgerError::Io {
                    path: dir.to_path_buf(),
                    what: "cannot lock the CA directory",
                    source: std::io::Error::from(e),
                });
            }
        }
    }
}

impl Ledger {
    /// Opens the ledger of `ca_dir` for writing: takes the exclusive lock (waiting up to
    /// [`LOCK_WAIT`] for another writer) and reads every record. A missing ledger is empty; the
    /// file is created by the first append.
    pub fn open(ca_dir: &Path) -> Result<Ledger, LedgerError> {
        Self::load(ca_dir, FlockArg::LockExclusiveNonblock, LOCK_WAIT, true)
    }

    /// [`Ledger::open`] without waiting: [`LedgerError::Busy`] at once when another pkitool
    /// writes (what `renew` uses, so a second renew never runs behind the first).
    pub fn try_open(ca_dir: &Path) -> Result<Ledger, LedgerError> {
        Self::load(
            ca_dir,
            FlockArg::LockExclusiveNonblock,
            Duration::ZERO,
            true,
        )
    }

    /// Opens the ledger only to append (what `issue` and `sign` use): the exclusive lock, and
    /// the end of the file checked for a torn last line, without reading the rest, so that an
    /// append costs the same with a million entries as with one. [`Ledger::records`] and
    /// [`Ledger::entries`] are empty on such a handle.
    pub fn open_append(ca_dir: &Path) -> Result<Ledger, LedgerError> {
        const TAIL: u64 = 64 * 1024;
        let mut ledger = Self::load_nothing(ca_dir)?;
        let path = ledger.path.clone();
        let mut f = match File::open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ledger),
            Err(e) => return Err(io(&path, "cannot read the ledger")(e)),
            Ok(f) => f,
        };
        let len = f
            .metadata()
            .map_err(io(&path, "cannot read the ledger"))?
            .len();
        let start = len.saturating_sub(TAIL);
        let mut chunk = Vec::with_capacity(usize::try_from(len - start).unwrap_or(0));
        f.seek(SeekFrom::Start(start))
            .and_then(|_| f.take(TAIL).read_to_end(&mut chunk))
            .map_err(io(&path, "cannot read the ledger"))?;
        let (good, tail) = match chunk.iter().rposition(|b| *b == b'\n') {
            Some(i) => (start + i as u64 + 1, chunk.get(i + 1..).unwrap_or_default()),
            None if start == 0 => (0, chunk.as_slice()),
            None => {
                // A last line longer than the window: read everything.
                drop(ledger);
                return Self::open(ca_dir);
            }
        };
        ledger.good_len = good;
        if tail.iter().all(|b| b.is_ascii_whitespace()) {
            ledger.good_len = len;
        } else if !tail.iter().all(|b| *b == 0) && parse_line(tail).is_ok() {
            // A complete record without its newline: the append adds it.
            ledger.good_len = len;
        } else {
            ledger.torn = tail.len() as u64;
            ledger.notes.push(format!(
                "{}: the last line is torn ({} bytes, an interrupted write); it is removed before this write",
                path.display(),
                ledger.torn
            ));
        }
        Ok(ledger)
    }

    fn load_nothing(ca_dir: &Path) -> Result<Ledger, LedgerError> {
        let lock = lock_dir(ca_dir, FlockArg::LockExclusiveNonblock, LOCK_WAIT)?;
        Ok(Ledger {
            dir: ca_dir.to_path_buf(),
            path: ca_dir.join(FILE_NAME),
            _lock: lock,
            exclusive: true,
            records: Vec::new(),
            good_len: 0,
            torn: 0,
            notes: Vec::new(),
            by_serial: HashMap::new(),
            revoked: HashMap::new(),
            superseded_by: HashMap::new(),
            max_crl: 0,
        })
    }

    /// Opens the ledger read-only (shared lock; waits up to [`LOCK_WAIT`]).
    pub fn read(ca_dir: &Path) -> Result<Ledger, LedgerError> {
        Self::load(ca_dir, FlockArg::LockSharedNonblock, LOCK_WAIT, false)
    }

    fn load(
        ca_dir: &Path,
        arg: FlockArg,
        wait: Duration,
        exclusive: bool,
    ) -> Result<Ledger, LedgerError> {
        let lock = lock_dir(ca_dir, arg, wait)?;
        let path = ca_dir.join(FILE_NAME);
        let mut ledger = Ledger {
            dir: ca_dir.to_path_buf(),
            path: path.clone(),
            _lock: lock,
            exclusive,
            records: Vec::new(),
            good_len: 0,
            torn: 0,
            notes: Vec::new(),
            by_serial: HashMap::new(),
            revoked: HashMap::new(),
            superseded_by: HashMap::new(),
            max_crl: 0,
        };
        let bytes = match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ledger),
            Err(e) => return Err(io(&path, "cannot read the ledger")(e)),
            Ok(m) if !m.is_file() => {
                return Err(LedgerError::Corrupt {
                    path,
                    line: 0,
                    why: format!(
                        "it is a {}, not a regular file",
                        crate::fsio::file_kind(&m.file_type())
                    ),
                });
            }
            Ok(m) if m.len() > MAX_LEDGER_BYTES => {
                return Err(LedgerError::Corrupt {
                    path,
                    line: 0,
                    why: format!(
                        "{} bytes is larger than the {MAX_LEDGER_BYTES}-byte limit",
                        m.len()
                    ),
                });
            }
            Ok(m) => {
                let mut buf = Vec::with_capacity(usize::try_from(m.len()).unwrap_or(0));
                File::open(&path)
                    .and_then(|f| f.take(MAX_LEDGER_BYTES).read_to_end(&mut buf))
                    .map_err(io(&path, "cannot read the ledger"))?;
                buf
            }
        };
        ledger.parse(&bytes)?;
        Ok(ledger)
    }

    fn parse(&mut self, bytes: &[u8]) -> Result<(), LedgerError> {
        let mut offset = 0usize;
        let mut line_no = 0usize;
        while offset < bytes.len() {
            line_no += 1;
            let rest = bytes.get(offset..).unwrap_or_default();
            let (line, complete) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (rest.get(..i).unwrap_or_default(), true),
                None => (rest, false),
            };
            let next = offset + line.len() + usize::from(complete);
            let last = next >= bytes.len();
            let torn = last && (!complete || line.iter().all(|b| *b == 0));
            if torn && !line.iter().all(|b| b.is_ascii_whitespace()) {
                match parse_line(line) {
                    // A complete record that merely lacks its newline: keep it.
                    Ok(rec) if !complete => {
                        self.push(rec);
                        self.good_len = bytes.len() as u64;
                        self.torn = 0;
                        self.notes.push(format!(
                            "{}: the last line has no newline; the next write adds it",
                            self.path.display()
                        ));
                        return Ok(());
                    }
                    _ => {
                        self.torn = (bytes.len() - offset) as u64;
                        self.notes.push(format!(
                            "{}: line {line_no} is torn ({} bytes, an interrupted write) and was skipped; the next write removes it",
                            self.path.display(),
                            self.torn
                        ));
                        return Ok(());
                    }
                }
            }
            if !line.iter().all(|b| b.is_ascii_whitespace()) {
                let rec = parse_line(line).map_err(|e| match e {
                    LineError::Future(version) => LedgerError::FromTheFuture {
                        path: self.path.clone(),
                        line: line_no,
                        version,
                    },
                    LineError::Bad(why) => LedgerError::Corrupt {
                        path: self.path.clone(),
                        line: line_no,
                        why,
                    },
                })?;
                self.push(rec);
            }
            offset = next;
            self.good_len = offset as u64;
        }
        Ok(())
    }

    fn push(&mut self, rec: Record) {
        let i = self.records.len();
        match &rec {
            Record::Cert(e) => {
                self.by_serial.insert(e.serial.clone(), i);
                if let Some(old) = &e.supersedes {
                    self.superseded_by.insert(old.clone(), e.serial.clone());
                }
            }
            Record::Revoke(r) => {
                self.revoked.entry(r.serial.clone()).or_insert(i);
            }
            Record::Crl(c) => self.max_crl = self.max_crl.max(c.number),
        }
        self.records.push(rec);
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The CA directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Notes about the file (a torn last line skipped).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Every record, in file order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Every certificate entry, in file order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.records.iter().filter_map(|r| match r {
            Record::Cert(e) => Some(e),
            _ => None,
        })
    }

    /// Every revocation (the first per serial), in file order.
    pub fn revocations(&self) -> impl Iterator<Item = &Revocation> {
        self.records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r {
                Record::Revoke(rv) if self.revoked.get(&rv.serial) == Some(&i) => Some(rv),
                _ => None,
            })
    }

    /// The entry of a serial (any form [`normalize_serial`] accepts).
    pub fn entry(&self, serial: &str) -> Option<&Entry> {
        let s = normalize_serial(serial)?;
        match self.records.get(*self.by_serial.get(&s)?) {
            Some(Record::Cert(e)) => Some(e),
            _ => None,
        }
    }

    /// The revocation of a serial, if any.
    pub fn revocation(&self, serial: &str) -> Option<&Revocation> {
        let s = normalize_serial(serial)?;
        match self.records.get(*self.revoked.get(&s)?) {
            Some(Record::Revoke(r)) => Some(r),
            _ => None,
        }
    }

    /// The serial that renews `serial`, if any.
    pub fn superseded_by(&self, serial: &str) -> Option<&str> {
        self.superseded_by
            .get(&normalize_serial(serial)?)
            .map(String::as_str)
    }

    /// The highest CRL number written so far (0 when none).
    pub fn last_crl_number(&self) -> u64 {
        self.max_crl
    }

    /// The status of an entry at `now`, with `expiring_within` days as the warning window.
    /// Revoked wins over superseded, superseded over expired, expired over expiring.
    pub fn status(&self, e: &Entry, now: OffsetDateTime, expiring_within: i64) -> Status {
        if self.revoked.contains_key(&e.serial) {
            return Status::Revoked;
        }
        if self.superseded_by.contains_key(&e.serial) {
            return Status::Superseded;
        }
        match e.not_after_time() {
            Some(t) if t <= now => Status::Expired,
            Some(t) if t <= now + time::Duration::days(expiring_within) => Status::Expiring,
            _ => Status::Valid,
        }
    }

    /// Appends a certificate entry.
    pub fn append_entry(&mut self, e: &Entry) -> Result<(), LedgerError> {
        self.append(&Record::Cert(e.clone()))
    }

    /// Appends one record: one `write` of the line, then fsync (and of the directory when the
    /// file was created). A torn last line is cut off first.
    pub fn append(&mut self, rec: &Record) -> Result<(), LedgerError> {
        self.append_many(std::slice::from_ref(rec))
    }

    /// Appends several records with one `write` and one fsync (`revoke` of many certificates).
    /// A failed write is cut back to where it started; a crash mid-write can leave the first
    /// lines complete and the last torn (skipped and cut off as usual).
    pub fn append_many(&mut self, recs: &[Record]) -> Result<(), LedgerError> {
        self.append_many_then_sync(recs, None)
    }

    /// [`Ledger::append_many`] whose fsync (of the file, and of the directory when the file was
    /// created) is left to the caller when `pending` is given: the handles are pushed there, to
    /// be made durable together with the files of the same command
    /// ([`crate::fsio::write_tree_journaled_then`]).
    pub fn append_many_then_sync(
        &mut self,
        recs: &[Record],
        pending: Option<&mut Vec<(File, PathBuf)>>,
    ) -> Result<(), LedgerError> {
        if recs.is_empty() {
            return Ok(());
        }
        if !self.exclusive {
            return Err(LedgerError::Io {
                path: self.path.clone(),
                what: "cannot append",
                source: std::io::Error::other("the ledger was opened read-only"),
            });
        }
        let mut line = Vec::new();
        for rec in recs {
            serde_json::to_writer(
                &mut line,
                &Line {
                    v: FORMAT_VERSION,
                    record: rec,
                },
            )
            .map_err(|e| LedgerError::BadCertificate(e.to_string()))?;
            line.push(b'\n');
        }
        let created = !self.path.exists();
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            // A symlink planted at the ledger's name is refused, never followed.
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(&self.path)
            .map_err(io(&self.path, "cannot open the ledger for writing"))?;
        if created {
            // The umask may have removed bits: 0600 exactly, set on the handle.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io(&self.path, "cannot set the ledger's mode"))?;
        }
        let len = f
            .metadata()
            .map_err(io(&self.path, "cannot read the ledger"))?
            .len();
        if self.torn > 0 && len == self.good_len + self.torn {
            f.set_len(self.good_len)
                .map_err(io(&self.path, "cannot remove the torn last line"))?;
            self.torn = 0;
        }
        let end = f
            .seek(SeekFrom::End(0))
            .map_err(io(&self.path, "cannot seek"))?;
        if end > 0 {
            // A last line without its newline gets it now.
            let mut last = [0u8; 1];
            f.seek(SeekFrom::End(-1))
                .and_then(|_| f.read_exact(&mut last))
                .map_err(io(&self.path, "cannot read the ledger"))?;
            if last[0] != b'\n' {
                line.insert(0, b'\n');
            }
        }
        f.seek(SeekFrom::End(0))
            .map_err(io(&self.path, "cannot seek"))?;
        if let Some(pending) = pending {
            if let Err(e) = f.write_all(&line) {
                let _ = f.set_len(end);
                return Err(io(&self.path, "cannot append to the ledger")(e));
            }
            if created {
                let d =
                    File::open(&self.dir).map_err(io(&self.dir, "cannot open the CA directory"))?;
                pending.push((d, self.dir.clone()));
            }
            pending.push((f, self.path.clone()));
            self.good_len = end + line.len() as u64;
            for rec in recs {
                self.push(rec.clone());
            }
            return Ok(());
        }
        if let Err(e) = f.write_all(&line).and_then(|_| f.sync_data()) {
            // Never leave half a line: cut back to where this write started.
            let _ = f.set_len(end);
            let _ = f.sync_data();
            return Err(io(&self.path, "cannot append to the ledger")(e));
        }
        if created {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io(&self.dir, "cannot fsync the CA directory"))?;
        }
        self.good_len = end + line.len() as u64;
        for rec in recs {
            self.push(rec.clone());
        }
        Ok(())
    }
}

fn dir_writable(dir: &Path) -> bool {
    nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
}

/// Records a certificate `issue` (or `sign`) just wrote (its fsync left to the caller when
/// `pending` is given, see [`Ledger::append_many_then_sync`]). A CA directory that is not writable
/// (a CA used read-only through `--ca-cert`) is not an error: the certificate is written and a
/// warning says it is not recorded.
pub fn record_issued(
    ledger: &mut Ledger,
    der: &[u8],
    role: Role,
    cert_path: &Path,
    key_path: &Path,
    warnings: &mut Vec<String>,
    pending: Option<&mut Vec<(File, PathBuf)>>,
) -> Result<(), LedgerError> {
    if !dir_writable(ledger.dir()) {
        warnings.push(format!(
            "{}: not writable, so this certificate is not recorded in its ledger ({FILE_NAME}); renew and revoke it by path",
            ledger.dir().display()
        ));
        return Ok(());
    }
    let e = Entry::from_der(
        der,
        role,
        vec![cert_path.to_path_buf()],
        vec![key_path.to_path_buf()],
    )?;
    ledger.append_many_then_sync(&[Record::Cert(e)], pending)
}

/// Starts the ledger of a CA `init-ca` just created. A ledger already there belonged to the CA
/// this one replaces (`--force`): it is kept beside as `pkitool-ledger.jsonl.replaced-TIME`.
pub fn record_new_ca(
    dir: &Path,
    der: &[u8],
    cert_path: &Path,
    key_path: &Path,
    warnings: &mut Vec<String>,
    pending: Option<&mut Vec<(File, PathBuf)>>,
) -> Result<(), LedgerError> {
    let mut ledger = Ledger::open(dir)?;
    if ledger.path().exists() {
        let stamp = OffsetDateTime::now_utc().unix_timestamp();
        let aside = dir.join(format!("{FILE_NAME}.replaced-{stamp}"));
        std::fs::rename(ledger.path(), &aside)
            .map_err(io(ledger.path(), "cannot set the old CA's ledger aside"))?;
        warnings.push(format!(
            "the ledger of the CA this one replaces was kept as {}",
            aside.display()
        ));
        drop(ledger);
        ledger = Ledger::open(dir)?;
    }
    let e = Entry::from_der(
        der,
        Role::Ca,
        vec![cert_path.to_path_buf()],
        vec![key_path.to_path_buf()],
    )?;
    ledger.append_many_then_sync(&[Record::Cert(e)], pending)
}

enum LineError {
    Future(u64),
    Bad(String),
}

fn parse_line(line: &[u8]) -> Result<Record, LineError> {
    let v: serde_json::Value = serde_json::from_slice(line).map_err(|e| {
        LineError::Bad(if line.contains(&0) {
            "NUL bytes".into()
        } else {
            format!("not JSON: {e}")
        })
    })?;
    let version = v
        .get("v")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| LineError::Bad("no format version \"v\"".into()))?;
    if version > u64::from(FORMAT_VERSION) {
        return Err(LineError::Future(version));
    }
    if version == 0 {
        return Err(LineError::Bad("format version 0".into()));
    }
    serde_json::from_value::<Record>(v).map_err(|e| LineError::Bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(serial: &str, supersedes: Option<&str>, not_after: OffsetDateTime) -> Entry {
        Entry {
            serial: serial.into(),
            role: Role::Client,
            subject: "CN=c".into(),
            subject_der: String::new(),
            sans: vec![],
            key_type: "ecdsa-p256".into(),
            not_before: rfc3339(OffsetDateTime::now_utc()),
            not_after: rfc3339(not_after),
            paths: vec![],
            key_paths: vec![],
            status: Status::Valid,
            supersedes: supersedes.map(str::to_string),
            sha256: String::new(),
            recorded_at: String::new(),
        }
    }

    #[test]
    fn serials_normalise() {
        assert_eq!(normalize_serial("0x0a:bc").as_deref(), Some("0ABC"));
        assert_eq!(normalize_serial("00:00:1f").as_deref(), Some("1F"));
        assert_eq!(normalize_serial("abc").as_deref(), Some("0ABC"));
        assert_eq!(normalize_serial("xyz"), None);
        assert_eq!(normalize_serial(""), None);
        assert_eq!(serial_hex(&[0, 0x80, 1]), "8001");
        assert_eq!(serial_hex(&[0]), "00");
    }

    #[test]
    fn appends_reads_and_computes_status() {
        let d = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        {
            let mut l = Ledger::open(d.path()).unwrap();
            l.append_entry(&entry("01", None, now + time::Duration::days(5)))
                .unwrap();
            l.append_entry(&entry("02", Some("01"), now + time::Duration::days(365)))
                .unwrap();
            l.append_entry(&entry("03", None, now - time::Duration::days(1)))
                .unwrap();
            l.append(&Record::Revoke(Revocation {
                serial: "02".into(),
                reason: Reason::KeyCompromise,
                revoked_at: rfc3339(now),
                not_after: None,
                subject: None,
                path: None,
            }))
            .unwrap();
            l.append(&Record::Crl(CrlRecord {
                number: 7,
                this_update: rfc3339(now),
                next_update: rfc3339(now),
                revoked: 1,
                paths: vec![],
            }))
            .unwrap();
        }
        let l = Ledger::read(d.path()).unwrap();
        assert_eq!(l.entries().count(), 3);
        let st = |s: &str| l.status(l.entry(s).unwrap(), now, 30);
        assert_eq!(st("01"), Status::Superseded);
        assert_eq!(st("02"), Status::Revoked);
        assert_eq!(st("03"), Status::Expired);
        assert_eq!(l.last_crl_number(), 7);
        assert_eq!(l.superseded_by("0x01"), Some("02"));
        let text = std::fs::read_to_string(l.path()).unwrap();
        assert!(text.lines().all(|line| line.starts_with("{\"v\":1,")));
    }

    #[test]
    fn torn_last_line_is_skipped_then_cut_off() {
        let d = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let mut l = Ledger::open(d.path()).unwrap();
        l.append_entry(&entry("01", None, now)).unwrap();
        drop(l);
        let p = d.path().join(FILE_NAME);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"v\":1,\"type\":\"cert\",\"ser").unwrap();
        drop(f);
        let mut l = Ledger::open(d.path()).unwrap();
        assert_eq!(l.entries().count(), 1);
        assert!(l.notes()[0].contains("line 2 is torn"), "{:?}", l.notes());
        l.append_entry(&entry("02", None, now)).unwrap();
        drop(l);
        let l = Ledger::read(d.path()).unwrap();
        assert_eq!(l.entries().count(), 2);
        assert!(l.notes().is_empty());
        // NUL bytes at the end (a crash after the size grew) are torn too.
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[0u8; 64]).unwrap();
        drop(f);
        let l = Ledger::read(d.path()).unwrap();
        assert_eq!(l.entries().count(), 2);
        assert_eq!(l.notes().len(), 1);
    }

    #[test]
    fn append_only_handle_cuts_a_torn_tail_without_reading_everything() {
        let d = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let mut l = Ledger::open(d.path()).unwrap();
        for i in 0..3 {
            l.append_entry(&entry(&format!("0{i}"), None, now)).unwrap();
        }
        drop(l);
        let p = d.path().join(FILE_NAME);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"v\":1,\"ty").unwrap();
        drop(f);
        let mut a = Ledger::open_append(d.path()).unwrap();
        assert_eq!(a.entries().count(), 0);
        assert!(a.notes()[0].contains("torn"), "{:?}", a.notes());
        a.append_entry(&entry("09", None, now)).unwrap();
        drop(a);
        let l = Ledger::read(d.path()).unwrap();
        assert_eq!(l.entries().count(), 4);
        assert!(l.notes().is_empty());
        drop(l);
        // A last record without its newline is kept, and the newline added.
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.trim_end()).unwrap();
        let mut a = Ledger::open_append(d.path()).unwrap();
        assert!(a.notes().is_empty());
        a.append_entry(&entry("0A", None, now)).unwrap();
        drop(a);
        assert_eq!(Ledger::read(d.path()).unwrap().entries().count(), 5);
    }

    #[test]
    fn corrupt_middle_and_future_lines_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(FILE_NAME);
        std::fs::write(&p, "garbage\n{\"v\":1,\"type\":\"crl\",\"number\":1,\"this_update\":\"\",\"next_update\":\"\",\"revoked\":0,\"paths\":[]}\n").unwrap();
        let e = Ledger::read(d.path()).unwrap_err();
        assert!(matches!(e, LedgerError::Corrupt { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("line 1 is corrupt"), "{e}");
        std::fs::write(&p, "{\"v\":2,\"type\":\"cert\"}\n").unwrap();
        let e = Ledger::read(d.path()).unwrap_err();
        assert!(
            matches!(e, LedgerError::FromTheFuture { version: 2, .. }),
            "{e}"
        );
        std::fs::write(&p, "{\"v\":1,\"type\":\"nonsense\"}\n").unwrap();
        assert!(matches!(
            Ledger::read(d.path()).unwrap_err(),
            LedgerError::Corrupt { .. }
        ));
    }

    #[test]
    fn second_writer_is_busy() {
        let d = tempfile::tempdir().unwrap();
        let _a = Ledger::open(d.path()).unwrap();
        let e = Ledger::try_open(d.path()).unwrap_err();
        assert!(matches!(e, LedgerError::Busy { .. }), "{e}");
        assert!(e.to_string().contains("nothing was changed"));
    }
}
