//! Validation findings: data, never early returns.
//!
//! Every finding has a stable code `PKI-<domain><NN>`. The domain letter says which part of the
//! setup it is about; the number never changes meaning once released (new checks get new
//! numbers):
//!
//! | Letter | Domain |
//! |---|---|
//! | `F` | files: existence, type, size, encoding, wrong object, permissions, stray CA keys |
//! | `T` | time: expired, not yet valid, expiring soon |
//! | `B` | basic constraints |
//! | `K` | key usage |
//! | `E` | extended key usage (purpose) |
//! | `C` | chain, signatures and CA-bundle rules |
//! | `P` | private keys: match, encryption, strength, type |
//! | `H` | host names |
//! | `D` | the DN allow-list (`tls_allowed_dn_list`, QEMU authz) |
//! | `R` | CRLs and revocation |
//! | `S` | configuration (libvirtd.conf, layout-level notes) |
//! | `N` | a probed endpoint (`pkitool probe`): connection, protocol, handshake, client admission |
//!
//! [`CODES`] lists every code with its class and a title; the README renders it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing fails.
    Note,
    /// QEMU and libvirt tolerate it, but other TLS stacks refuse it or it weakens security.
    Warning,
    /// QEMU or libvirt refuse the setup (at load or at handshake), or a private key is exposed.
    Error,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about (the fixed list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Class {
    MissingFile,
    Unreadable,
    Permissions,
    BadPem,
    CaBundle,
    Expired,
    NotYetValid,
    ExpiringSoon,
    BasicConstraints,
    KeyUsage,
    Eku,
    WrongIssuer,
    Chain,
    KeyMismatch,
    EncryptedKey,
    WeakKey,
    WeakSignature,
    KeyType,
    Hostname,
    DnAcl,
    Revoked,
    Crl,
    Config,
    Endpoint,
    ClientAuth,
}

/// The role of the file a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FRole {
    /// The CA bundle, the CRL, or a CA key.
    Ca,
    /// A server identity.
    Server,
    /// A client identity.
    Client,
}

impl From<crate::layout::Role> for FRole {
    fn from(r: crate::layout::Role) -> Self {
        match r {
            crate::layout::Role::Ca => FRole::Ca,
            crate::layout::Role::Server => FRole::Server,
            crate::layout::Role::Client => FRole::Client,
        }
    }
}

impl FRole {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FRole::Ca => "ca",
            FRole::Server => "server",
            FRole::Client => "client",
        }
    }
}

/// One problem (or remark) about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code, e.g. `PKI-T01`.
    pub code: &'static str,
    /// error, warning or note.
    pub severity: Severity,
    /// The class (fixed list).
    pub class: Class,
    /// The file concerned.
    pub path: Option<PathBuf>,
    /// The role of that file.
    pub role: Option<FRole>,
    /// The certificate's subject DN (GnuTLS order), when the finding is about a certificate.
    pub subject: Option<String>,
    /// One line: what is wrong.
    pub message: String,
    /// Why it matters: who refuses it and what they print.
    pub why: String,
    /// The fix, as a concrete command where possible.
    pub fix: String,
}

impl Finding {
    /// Builds a finding; the class comes from the code table.
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity,
            class: class_of(code),
            path: None,
            role: None,
            subject: None,
            message: message.into(),
            why: String::new(),
            fix: String::new(),
        }
    }
    /// Sets the file.
    pub fn path(mut self, p: &Path) -> Self {
        self.path = Some(p.to_path_buf());
        self
    }
    /// Sets the role.
    pub fn role(mut self, r: FRole) -> Self {
        self.role = Some(r);
        self
    }
    /// Sets the subject.
    pub fn subject(mut self, s: Option<&str>) -> Self {
        self.subject = s.map(str::to_string);
        self
    }
    /// Sets why.
    pub fn why(mut self, s: impl Into<String>) -> Self {
        self.why = s.into();
        self
    }
    /// Sets the fix.
    pub fn fix(mut self, s: impl Into<String>) -> Self {
        self.fix = s.into();
        self
    }
}

/// Every finding code: (code, class, title).
pub const CODES: &[(&str, Class, &str)] = &[
    ("PKI-F01", Class::MissingFile, "a required file is missing"),
    (
        "PKI-F02",
        Class::MissingFile,
        "half a pair: a certificate without its key or a key without its certificate",
    ),
    (
        "PKI-F03",
        Class::Unreadable,
        "the file cannot be read (permission, symlink loop, not a regular file)",
    ),
    (
        "PKI-F04",
        Class::Unreadable,
        "the file is larger than the 64 KiB libvirt reads",
    ),
    (
        "PKI-F05",
        Class::BadPem,
        "not PEM: garbage, empty, truncated or bad base64",
    ),
    ("PKI-F06", Class::BadPem, "DER where PEM is required"),
    (
        "PKI-F07",
        Class::BadPem,
        "the wrong object (a key where a certificate belongs, ...)",
    ),
    (
        "PKI-F08",
        Class::Permissions,
        "a private key is readable or writable by group or others",
    ),
    (
        "PKI-F09",
        Class::Permissions,
        "a certificate, CA or CRL is not readable by the processes that load it",
    ),
    (
        "PKI-F10",
        Class::Permissions,
        "a directory holding keys is writable by group or others",
    ),
    (
        "PKI-F11",
        Class::Permissions,
        "a private key is owned by an unexpected user",
    ),
    (
        "PKI-F12",
        Class::Permissions,
        "a CA private key lies in a deployment directory",
    ),
    (
        "PKI-F13",
        Class::BadPem,
        "a PEM file carries extra objects that are ignored",
    ),
    ("PKI-F14", Class::BadPem, "unusable DH parameters file"),
    (
        "PKI-F15",
        Class::Permissions,
        "a CA certificate, certificate or CRL is writable by group or others",
    ),
    (
        "PKI-F16",
        Class::Permissions,
        "a CA certificate, certificate or CRL is owned by a user other than root or the caller",
    ),
    (
        "PKI-F17",
        Class::Permissions,
        "a directory on the path to the credentials is writable by group or others, or foreign-owned",
    ),
    (
        "PKI-F18",
        Class::MissingFile,
        "an interrupted pkitool write (journal left by a killed run)",
    ),
    ("PKI-T01", Class::Expired, "a leaf certificate has expired"),
    (
        "PKI-T02",
        Class::NotYetValid,
        "a leaf certificate is not yet valid",
    ),
    ("PKI-T03", Class::Expired, "a CA certificate has expired"),
    (
        "PKI-T04",
        Class::NotYetValid,
        "a CA certificate is not yet valid",
    ),
    (
        "PKI-T05",
        Class::ExpiringSoon,
        "a certificate expires within --warn-within days",
    ),
    (
        "PKI-B01",
        Class::BasicConstraints,
        "a leaf certificate says CA:TRUE",
    ),
    (
        "PKI-B02",
        Class::BasicConstraints,
        "a CA certificate has no basic constraints (or is X.509 v1)",
    ),
    (
        "PKI-B03",
        Class::BasicConstraints,
        "a certificate in the CA file is not a CA (CA:FALSE)",
    ),
    (
        "PKI-B04",
        Class::BasicConstraints,
        "a path length constraint is exceeded",
    ),
    (
        "PKI-K01",
        Class::KeyUsage,
        "a CA's key usage does not permit certificate signing",
    ),
    (
        "PKI-K02",
        Class::KeyUsage,
        "a leaf's key usage does not permit digital signature",
    ),
    (
        "PKI-K03",
        Class::KeyUsage,
        "a leaf's key usage does not permit key encipherment",
    ),
    (
        "PKI-E01",
        Class::Eku,
        "a server certificate's purpose does not allow TLS server use",
    ),
    (
        "PKI-E02",
        Class::Eku,
        "a client certificate's purpose does not allow TLS client use",
    ),
    (
        "PKI-E03",
        Class::Eku,
        "anyExtendedKeyUsage alone: libvirt grants no TLS purpose",
    ),
    (
        "PKI-E04",
        Class::Eku,
        "only unrelated purposes: QEMU grants no TLS purpose",
    ),
    (
        "PKI-C01",
        Class::WrongIssuer,
        "a certificate is not signed by any CA in the CA file",
    ),
    (
        "PKI-C02",
        Class::Chain,
        "the issuing intermediate is only in the certificate file",
    ),
    (
        "PKI-C03",
        Class::Chain,
        "extra certificates in the certificate file are ignored",
    ),
    (
        "PKI-C04",
        Class::WeakSignature,
        "a certificate is signed with SHA-1 or MD5",
    ),
    (
        "PKI-C05",
        Class::CaBundle,
        "the CA file holds more than 16 certificates",
    ),
    (
        "PKI-C06",
        Class::CaBundle,
        "the CA file holds the same certificate twice",
    ),
    (
        "PKI-C07",
        Class::Chain,
        "a signature could not be checked (unsupported algorithm)",
    ),
    (
        "PKI-P01",
        Class::KeyMismatch,
        "the private key does not match the certificate",
    ),
    (
        "PKI-P02",
        Class::EncryptedKey,
        "the private key is encrypted",
    ),
    (
        "PKI-P03",
        Class::WeakKey,
        "an RSA key (or DH group) shorter than 2048 bits",
    ),
    (
        "PKI-P04",
        Class::KeyType,
        "an unusual or unsupported key type",
    ),
    ("PKI-P05", Class::BadPem, "the private key cannot be parsed"),
    (
        "PKI-H01",
        Class::Hostname,
        "a --hostname does not match the server certificate",
    ),
    (
        "PKI-H02",
        Class::Hostname,
        "the server certificate has no DNS or IP SAN (CN only)",
    ),
    (
        "PKI-H03",
        Class::Hostname,
        "the CN is not repeated as a DNS SAN",
    ),
    (
        "PKI-H04",
        Class::Hostname,
        "an IP address in the CN or in a DNS SAN (never matched)",
    ),
    (
        "PKI-H05",
        Class::Hostname,
        "a wildcard GnuTLS never matches",
    ),
    (
        "PKI-D01",
        Class::DnAcl,
        "the client DN matches no allow-list pattern",
    ),
    (
        "PKI-D02",
        Class::DnAcl,
        "the allow-list is empty: every client is refused",
    ),
    ("PKI-R01", Class::Crl, "the CRL cannot be parsed"),
    ("PKI-R02", Class::Crl, "the CRL is not signed by the CA"),
    (
        "PKI-R03",
        Class::Crl,
        "the CRL is stale (nextUpdate passed) or not yet valid",
    ),
    (
        "PKI-R04",
        Class::Revoked,
        "a certificate is revoked by the CRL",
    ),
    (
        "PKI-R05",
        Class::Crl,
        "a CRL named crl.pem where libvirt loads cacrl.pem",
    ),
    (
        "PKI-C08",
        Class::Chain,
        "the issuing CA is past the 16 certificates libvirt and QEMU import from the CA file",
    ),
    (
        "PKI-C09",
        Class::Chain,
        "the CA file holds the issuing intermediate but not its root",
    ),
    (
        "PKI-H06",
        Class::Hostname,
        "a subject alternative name GnuTLS refuses to import (empty name)",
    ),
    (
        "PKI-Q01",
        Class::Permissions,
        "a file QEMU loads (or a directory above it) that QEMU's user cannot read",
    ),
    (
        "PKI-Q02",
        Class::EncryptedKey,
        "an encrypted key QEMU decrypts with the qemu.conf secret",
    ),
    (
        "PKI-Q03",
        Class::Config,
        "migration verifies client certificates (migrate_tls_x509_verify) and the directory has none",
    ),
    (
        "PKI-Q04",
        Class::Config,
        "a QEMU TLS server that does not ask for client certificates (*_tls_x509_verify = 0)",
    ),
    ("PKI-S01", Class::Config, "libvirtd.conf problem"),
    (
        "PKI-S02",
        Class::Config,
        "an identity is never loaded (QEMU stops at the first missing index)",
    ),
    (
        "PKI-S03",
        Class::Config,
        "DH parameters file present (deprecated in QEMU 10.2)",
    ),
    (
        "PKI-S04",
        Class::Config,
        "a role is not set up (no certificate and no key)",
    ),
    (
        "PKI-S05",
        Class::Config,
        "a qemu.conf problem (syntax, a configured directory that does not exist)",
    ),
    (
        "PKI-S06",
        Class::Config,
        "libvirtd admits clients without checking their certificate (tls_no_verify_certificate)",
    ),
    (
        "PKI-S07",
        Class::Unreadable,
        "not checked: pkitool may not read it (running unprivileged)",
    ),
    (
        "PKI-N01",
        Class::Endpoint,
        "cannot connect to the endpoint (refused, unreachable, unknown host)",
    ),
    (
        "PKI-N02",
        Class::Endpoint,
        "the endpoint timed out (connect, prelude, handshake or answer)",
    ),
    (
        "PKI-N03",
        Class::Endpoint,
        "the endpoint closed the connection",
    ),
    (
        "PKI-N04",
        Class::Endpoint,
        "not the expected protocol (plain text, HTTP, not NBD/RFB/TLS)",
    ),
    (
        "PKI-N05",
        Class::Endpoint,
        "the endpoint does not offer TLS with a certificate (NBD_REP_ERR_POLICY, no VeNCrypt)",
    ),
    ("PKI-N06", Class::Endpoint, "the TLS handshake failed"),
    (
        "PKI-N07",
        Class::ClientAuth,
        "the server requires a client certificate and none was given",
    ),
    (
        "PKI-N08",
        Class::ClientAuth,
        "the server refused the client certificate (allow-list, authz, untrusted)",
    ),
    (
        "PKI-N09",
        Class::ClientAuth,
        "the server does not ask for a client certificate",
    ),
    (
        "PKI-N10",
        Class::ClientAuth,
        "the server asked for a client certificate but admitted a client without one",
    ),
    (
        "PKI-N11",
        Class::ClientAuth,
        "the server accepted the client certificate",
    ),
    (
        "PKI-N12",
        Class::Chain,
        "the presented chain was not checked against a CA (none given or found)",
    ),
];

/// The class of a code (from [`CODES`]); `config` for an unknown code.
pub fn class_of(code: &str) -> Class {
    CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, class, _)| *class)
        .unwrap_or(Class::Config)
}

/// Counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Notes.
    pub notes: usize,
}

impl Counts {
    /// Counts a list of findings.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut c = Counts::default();
        for f in findings {
            match f.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Note => c.notes += 1,
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for (code, _, title) in CODES {
            assert!(seen.insert(*code), "duplicate {code}");
            assert!(code.starts_with("PKI-") && code.len() == 7, "{code}");
            assert!(!title.is_empty());
        }
    }

    #[test]
    fn every_code_the_checks_emit_is_in_the_table() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("files.rs"),
            include_str!("time.rs"),
            include_str!("constraints.rs"),
            include_str!("chain.rs"),
            include_str!("keypair.rs"),
            include_str!("hostname.rs"),
            include_str!("dn_acl.rs"),
            include_str!("crl.rs"),
            include_str!("validate.rs"),
            include_str!("interrupted.rs"),
            include_str!("access.rs"),
            include_str!("verify.rs"),
            include_str!("../probe/mod.rs"),
            include_str!("../probe/judge.rs"),
        ];
        let mut emitted = std::collections::BTreeSet::new();
        for src in sources {
            for (i, _) in src.match_indices("\"PKI-") {
                if let Some(code) = src.get(i + 1..i + 8) {
                    emitted.insert(code.to_string());
                }
            }
        }
        let table: std::collections::BTreeSet<String> =
            CODES.iter().map(|(c, _, _)| c.to_string()).collect();
        let missing: Vec<_> = emitted.difference(&table).collect();
        assert!(
            missing.is_empty(),
            "codes emitted but not in CODES: {missing:?}"
        );
        let unused: Vec<_> = table.difference(&emitted).collect();
        assert!(
            unused.is_empty(),
            "codes in CODES never emitted: {unused:?}"
        );
    }

    #[test]
    fn class_comes_from_the_table_and_serialises_snake_case() {
        let f = Finding::new("PKI-T03", Severity::Error, "x");
        assert_eq!(f.class, Class::Expired);
        let j = serde_json::to_value(&f).unwrap();
        assert_eq!(j["class"], "expired");
        assert_eq!(j["severity"], "error");
        assert_eq!(
            serde_json::to_value(Class::NotYetValid).unwrap(),
            "not_yet_valid"
        );
        assert_eq!(serde_json::to_value(Class::DnAcl).unwrap(), "dn_acl");
    }
}
