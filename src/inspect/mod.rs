//! What is in a file: the first certificate and its subject DN exactly as libvirt and QEMU
//! compare it (`gnutls_x509_crt_get_dn`, byte for byte what `virt-pki-query-dn` prints), and a
//! description of every object of every file (certificates, keys without any secret, CRLs),
//! including the roles a certificate can serve as the consumer model judges them. The `dn`,
//! `show` and `match-dn` commands print these; this module never prints.

use std::path::{Path, PathBuf};

use serde::Serialize;
use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::ber::{BerObject, BerObjectContent};
use x509_parser::der_parser::der::parse_der;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::consumer::rules::{self, Facts};
use crate::consumer::{Consumer, Consumers};
use crate::layout::Role;
use crate::x509::load::{Contents, Encoding, KeyFormat, Object, ObjectKind};
use crate::{Error, Result, fsio, x509::dn, x509::load};

/// Why `dn` / `match-dn` could not get a DN from a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// A DER file: libvirt, QEMU and virt-pki-query-dn only read PEM.
    #[error(
        "{}: is a DER (binary) {what}; libvirt, QEMU and virt-pki-query-dn read PEM only \
         (convert it: openssl x509 -inform der -in {} -out {}.pem)",
        path.display(), path.display(), path.display()
    )]
    Der {
        /// The file.
        path: PathBuf,
        /// What the DER object is.
        what: String,
    },
    /// No certificate in the file (a key, a CRL, ...).
    #[error("{}: holds no certificate, only {found}{hint}", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// What it holds instead.
        found: String,
        /// A hint when it is a key.
        hint: &'static str,
    },
    /// GnuTLS cannot print the certificate's subject DN.
    #[error("{}: line {line}: {reason}", path.display())]
    NoDn {
        /// The file.
        path: PathBuf,
        /// Line of the certificate's BEGIN line.
        line: usize,
        /// Why.
        reason: String,
    },
    /// The certificate block does not parse as X.509.
    #[error("{}: line {line}: the certificate is not valid X.509 DER (the base64 decodes, but: {reason})", path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// Line of the BEGIN line.
        line: usize,
        /// The parser's reason.
        reason: String,
    },
}

// ---------------------------------------------------------------------------------------------
// dn

/// Reads the first certificate of a PEM file (its DER and BEGIN line), as virt-pki-query-dn does.
pub fn first_certificate(path: &Path) -> Result<Object> {
    let bytes = fsio::read_input(path)?;
    let contents = load::parse(&bytes).map_err(|source| Error::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    if contents.encoding == Encoding::Der {
        let what = contents
            .objects
            .first()
            .map(|o| o.kind.describe())
            .unwrap_or_else(|| "object".into());
        return Err(InspectError::Der {
            path: path.to_path_buf(),
            what,
        }
        .into());
    }
    if let Some(cert) = contents.certificates().next() {
        return Ok(cert.clone());
    }
    Err(no_certificate(path, &contents).into())
}

fn no_certificate(path: &Path, contents: &Contents) -> InspectError {
    let mut kinds: Vec<String> = Vec::new();
    for o in &contents.objects {
        let d = o.kind.describe();
        if !kinds.contains(&d) {
            kinds.push(d);
        }
    }
    let found = if kinds.is_empty() {
        "text without PEM blocks".to_string()
    } else {
        kinds.join(", ")
    };
    let hint = if contents.objects.iter().any(|o| o.kind.is_private_key()) {
        " (is this the key file? the certificate is usually the *cert.pem beside it)"
    } else {
        ""
    };
    InspectError::NoCertificate {
        path: path.to_path_buf(),
        found,
        hint,
    }
}

/// The subject DN of the first certificate in a PEM file, as `gnutls_x509_crt_get_dn` prints it.
pub fn subject_dn(path: &Path) -> Result<String> {
    let obj = first_certificate(path)?;
    let (_, cert) =
        X509Certificate::from_der(&obj.der).map_err(|e| InspectError::BadCertificate {
            path: path.to_path_buf(),
            line: obj.line,
            reason: e.to_string(),
        })?;
    dn::try_subject_of(&cert).map_err(|e| {
        crate::Error::from(InspectError::NoDn {
            path: path.to_path_buf(),
            line: obj.line,
            reason: format!(
                "the subject has {}: GnuTLS cannot print the DN ({}), so libvirt and QEMU's authz refuse the certificate",
                e.what, e.gnutls
            ),
        })
    })
}

// ---------------------------------------------------------------------------------------------
// show: the data model (also the JSON schema, version 1)

/// `pkitool show --format json` output.
#[derive(Debug, Serialize)]
pub struct ShowReport {
    /// Schema version.
    pub version: u32,
    /// One entry per file argument, in order.
    pub files: Vec<FileReport>,
}

/// One file.
#[derive(Debug, Serialize)]
pub struct FileReport {
    /// The path as given.
    pub path: String,
    /// "pem" or "der"; null when the file could not be read or parsed.
    pub encoding: Option<&'static str>,
    /// Why the file could not be read or parsed (then `objects` is empty).
    pub error: Option<String>,
    /// The objects, in file order.
    pub objects: Vec<ObjectEntry>,
}

/// One object of a file.
#[derive(Debug, Serialize)]
pub struct ObjectEntry {
    /// 1-based position in the file.
    pub index: usize,
    /// Line of the BEGIN line (1 for DER).
    pub line: usize,
    /// What it is, with its details.
    #[serde(flatten)]
    pub info: ObjectInfo,
}

/// The details of an object, tagged by `kind`.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ObjectInfo {
    /// An X.509 certificate.
    Certificate(Box<CertInfo>),
    /// A private key (never any secret material).
    PrivateKey(KeyInfo),
    /// A public key.
    PublicKey {
        /// Algorithm and size.
        key: KeyDesc,
    },
    /// A certificate revocation list.
    Crl(CrlInfo),
    /// A certificate signing request.
    Csr {
        /// The requested subject (GnuTLS order).
        subject: String,
        /// Algorithm and size.
        key: KeyDesc,
    },
    /// Diffie-Hellman parameters.
    DhParams {
        /// Size of the prime.
        bits: Option<usize>,
    },
    /// Another PEM block.
    Other {
        /// Its PEM label.
        label: String,
    },
    /// An object that does not parse.
    Invalid {
        /// What it claims to be.
        claimed: String,
        /// Why it does not parse.
        error: String,
    },
}

/// A key algorithm and size.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyDesc {
    /// "RSA", "ECDSA", "Ed25519", "Ed448", "X25519", "X448", "DSA", or the OID.
    pub algorithm: String,
    /// "P-256", "P-384", "P-521" for ECDSA.
    pub curve: Option<String>,
    /// Size in bits (modulus for RSA, field for ECDSA).
    pub bits: Option<usize>,
}

impl std::fmt::Display for KeyDesc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.algorithm)?;
        if let Some(c) = &self.curve {
            write!(f, " {c}")?;
        }
        if let Some(b) = self.bits {
            write!(f, " ({b} bits)")?;
        }
        Ok(())
    }
}

/// A private key.
#[derive(Debug, Serialize)]
pub struct KeyInfo {
    /// "pkcs8", "pkcs1", "sec1", "legacy-pem".
    pub format: &'static str,
    /// Whether the key is encrypted.
    pub encrypted: bool,
    /// Algorithm and size (null for an encrypted key: known only after decryption, except
    /// the legacy PEM label's algorithm).
    pub key: Option<KeyDesc>,
    /// The encryption scheme of an encrypted key, e.g. "PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC)".
    pub encryption: Option<String>,
}

/// A certificate.
#[derive(Debug, Serialize)]
pub struct CertInfo {
    /// Subject in GnuTLS/libvirt/QEMU order (what `pkitool dn` prints).
    pub subject: String,
    /// Issuer in the same order.
    pub issuer: String,
    /// X.509 version (1 or 3).
    pub x509_version: u32,
    /// Serial number, lower-case hex without separators.
    pub serial: String,
    /// Start of validity (RFC 3339, UTC).
    pub not_before: String,
    /// End of validity (RFC 3339, UTC).
    pub not_after: String,
    /// "valid", "expired" or "not_yet_valid" now.
    pub status: &'static str,
    /// Whole days until not_after (negative once expired).
    pub days_left: i64,
    /// The subject public key.
    pub key: KeyDesc,
    /// The signature algorithm name (or OID).
    pub signature_algorithm: String,
    /// Self-signed (subject == issuer).
    pub self_signed: bool,
    /// Basic constraints, when present.
    pub basic_constraints: Option<BasicConstraintsInfo>,
    /// Key usage, when present.
    pub key_usage: Option<UsageInfo>,
    /// Extended key usage, when present.
    pub extended_key_usage: Option<UsageInfo>,
    /// Subject alternative names, e.g. "DNS:localhost", "IP:127.0.0.1".
    pub subject_alt_names: Vec<String>,
    /// Subject key identifier, colon-separated hex.
    pub subject_key_id: Option<String>,
    /// Authority key identifier, colon-separated hex.
    pub authority_key_id: Option<String>,
    /// SHA-256 fingerprint of the DER, colon-separated upper-case hex.
    pub sha256: String,
    /// What the certificate can be used for, by libvirt's and QEMU's sanity checks.
    pub roles: RolesByConsumer,
}

/// Basic constraints.
#[derive(Debug, Serialize)]
pub struct BasicConstraintsInfo {
    /// cA.
    pub ca: bool,
    /// pathLenConstraint.
    pub path_len: Option<u32>,
    /// Whether the extension is critical.
    pub critical: bool,
}

/// Key usage or extended key usage.
#[derive(Debug, Serialize)]
pub struct UsageInfo {
    /// Names (digitalSignature, keyCertSign, ...; serverAuth, clientAuth, ... or OIDs).
    pub usages: Vec<String>,
    /// Whether the extension is critical.
    pub critical: bool,
}

/// Roles for libvirt and for QEMU, at the versions judged (`--consumers`), from the consumer
/// model ([`crate::consumer::rules`]) that `validate` asks too.
#[derive(Debug, Serialize)]
pub struct RolesByConsumer {
    /// libvirt (`virNetTLSCertSanityCheck`), 9.0.0 by default.
    pub libvirt: Roles,
    /// QEMU (`qcrypto_tls_creds_check_cert*`), 10.0.2 by default.
    pub qemu: Roles,
}

fn roles(f: &Facts, c: Consumer, at: &Consumers) -> Roles {
    let verdict = |role| {
        let (ok, notes) = rules::role_notes(f, role, c, at.version(c));
        RoleVerdict { ok, notes }
    };
    Roles {
        ca: verdict(Role::Ca),
        server: verdict(Role::Server),
        client: verdict(Role::Client),
    }
}

/// Whether a certificate passes the checks for each role.
#[derive(Debug, Serialize)]
pub struct Roles {
    /// As a CA in cacert.pem / ca-cert.pem.
    pub ca: RoleVerdict,
    /// As a TLS server certificate.
    pub server: RoleVerdict,
    /// As a TLS client certificate.
    pub client: RoleVerdict,
}

/// One role's verdict.
#[derive(Debug, Serialize)]
pub struct RoleVerdict {
    /// True when the usage rules accept it (validity dates are reported separately).
    pub ok: bool,
    /// Why not, or warnings when accepted.
    pub notes: Vec<String>,
}

/// A CRL.
#[derive(Debug, Serialize)]
pub struct CrlInfo {
    /// Issuer in GnuTLS order.
    pub issuer: String,
    /// thisUpdate (RFC 3339).
    pub this_update: String,
    /// nextUpdate (RFC 3339), if any.
    pub next_update: Option<String>,
    /// Whether nextUpdate has passed.
    pub stale: bool,
    /// CRL number, decimal.
    pub crl_number: Option<String>,
    /// Revoked certificates.
    pub revoked: Vec<RevokedInfo>,
}

/// One revoked certificate.
#[derive(Debug, Serialize)]
pub struct RevokedInfo {
    /// Serial, lower-case hex.
    pub serial: String,
    /// Revocation date (RFC 3339).
    pub date: String,
    /// Reason code name, if given.
    pub reason: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// show: building the model

/// Describes one file; never fails (problems are in `error` / `Invalid` objects).
pub fn describe_file(path: &Path, now: time::OffsetDateTime, consumers: &Consumers) -> FileReport {
    let display = path.display().to_string();
    let bytes = match fsio::read_input(path) {
        Ok(b) => b,
        Err(e) => {
            return FileReport {
                path: display,
                encoding: None,
                error: Some(e.to_string()),
                objects: Vec::new(),
            };
        }
    };
    let contents = match load::parse(&bytes) {
        Ok(c) => c,
        Err(e) => {
            return FileReport {
                path: display.clone(),
                encoding: None,
                error: Some(format!("{display}: {e}")),
                objects: Vec::new(),
            };
        }
    };
    let objects = contents
        .objects
        .iter()
        .enumerate()
        .map(|(i, o)| ObjectEntry {
            index: i + 1,
            line: o.line,
            info: describe_object(o, now, consumers),
        })
        .collect();
    FileReport {
        path: display,
        encoding: Some(match contents.encoding {
            Encoding::Pem => "pem",
            Encoding::Der => "der",
        }),
        error: None,
        objects,
    }
}

fn describe_object(o: &Object, now: time::OffsetDateTime, consumers: &Consumers) -> ObjectInfo {
    let invalid = |error: String| ObjectInfo::Invalid {
        claimed: o.kind.describe(),
        error,
    };
    match &o.kind {
        ObjectKind::Certificate => match X509Certificate::from_der(&o.der) {
            Ok((_, cert)) => {
                ObjectInfo::Certificate(Box::new(describe_cert(&cert, &o.der, now, consumers)))
            }
            Err(e) => invalid(e.to_string()),
        },
        ObjectKind::PrivateKey(fmt) => match describe_plain_key(*fmt, &o.der) {
            Ok(key) => ObjectInfo::PrivateKey(KeyInfo {
                format: match fmt {
                    KeyFormat::Pkcs8 => "pkcs8",
                    KeyFormat::Pkcs1 => "pkcs1",
                    KeyFormat::Sec1 => "sec1",
                },
                encrypted: false,
                key: Some(key),
                encryption: None,
            }),
            Err(e) => invalid(e),
        },
        ObjectKind::EncryptedPrivateKey => match describe_encryption(&o.der) {
            Ok(scheme) => ObjectInfo::PrivateKey(KeyInfo {
                format: "pkcs8",
                encrypted: true,
                key: None,
                encryption: Some(scheme),
            }),
            Err(e) => invalid(e),
        },
        ObjectKind::LegacyEncryptedKey => ObjectInfo::PrivateKey(KeyInfo {
            format: "legacy-pem",
            encrypted: true,
            key: o.label.as_deref().and_then(|l| {
                let alg = l.strip_suffix(" PRIVATE KEY")?;
                Some(KeyDesc {
                    algorithm: if alg == "EC" {
                        "ECDSA".into()
                    } else {
                        alg.into()
                    },
                    curve: None,
                    bits: None,
                })
            }),
            encryption: Some("OpenSSL legacy PEM encryption (Proc-Type/DEK-Info)".into()),
        }),
        ObjectKind::PublicKey => match x509_parser::x509::SubjectPublicKeyInfo::from_der(&o.der) {
            Ok((_, spki)) => ObjectInfo::PublicKey {
                key: describe_spki(&spki),
            },
            Err(e) => invalid(e.to_string()),
        },
        ObjectKind::Crl => {
            match x509_parser::revocation_list::CertificateRevocationList::from_der(&o.der) {
                Ok((_, crl)) => ObjectInfo::Crl(describe_crl(&crl, now)),
                Err(e) => invalid(e.to_string()),
            }
        }
        ObjectKind::Csr => {
            match x509_parser::certification_request::X509CertificationRequest::from_der(&o.der) {
                Ok((_, csr)) => ObjectInfo::Csr {
                    subject: dn::format_gnutls(&csr.certification_request_info.subject),
                    key: describe_spki(&csr.certification_request_info.subject_pki),
                },
                Err(e) => invalid(e.to_string()),
            }
        }
        ObjectKind::DhParams => ObjectInfo::DhParams {
            bits: parse_der(&o.der)
                .ok()
                .and_then(|(_, seq)| seq_item(&seq, 0).and_then(|p| p.as_slice().ok()))
                .map(int_bits),
        },
        ObjectKind::Other(label) => ObjectInfo::Other {
            label: label.clone(),
        },
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn colon_hex(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect::<Vec<_>>()
        .join(":")
}

/// Bit length of a big-endian unsigned integer (leading zero bytes ignored).
fn int_bits(bytes: &[u8]) -> usize {
    let mut it = bytes.iter().skip_while(|b| **b == 0);
    match it.next() {
        Some(first) => (8 - first.leading_zeros() as usize) + 8 * it.count(),
        None => 0,
    }
}

fn curve_name(oid: &str) -> Option<(&'static str, usize)> {
    match oid {
        "1.2.840.10045.3.1.7" => Some(("P-256", 256)),
        "1.3.132.0.34" => Some(("P-384", 384)),
        "1.3.132.0.35" => Some(("P-521", 521)),
        "1.3.132.0.10" => Some(("secp256k1", 256)),
        _ => None,
    }
}

fn key_from_oid(alg: &str, params_oid: Option<String>, rsa_modulus: Option<&[u8]>) -> KeyDesc {
    match alg {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => KeyDesc {
            algorithm: if alg.ends_with(".10") {
                "RSA-PSS".into()
            } else {
                "RSA".into()
            },
            curve: None,
            bits: rsa_modulus.map(int_bits),
        },
        "1.2.840.10045.2.1" => {
            let c = params_oid.as_deref().and_then(curve_name);
            KeyDesc {
                algorithm: "ECDSA".into(),
                curve: Some(
                    c.map(|(n, _)| n.to_string())
                        .or(params_oid)
                        .unwrap_or_else(|| "unknown curve".into()),
                ),
                bits: c.map(|(_, b)| b),
            }
        }
        "1.3.101.112" => fixed("Ed25519", 256),
        "1.3.101.113" => fixed("Ed448", 456),
        "1.3.101.110" => fixed("X25519", 256),
        "1.3.101.111" => fixed("X448", 448),
        "1.2.840.10040.4.1" => KeyDesc {
            algorithm: "DSA".into(),
            curve: None,
            bits: None,
        },
        other => KeyDesc {
            algorithm: other.to_string(),
            curve: None,
            bits: None,
        },
    }
}

fn fixed(name: &str, bits: usize) -> KeyDesc {
    KeyDesc {
        algorithm: name.into(),
        curve: None,
        bits: Some(bits),
    }
}

fn describe_spki(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> KeyDesc {
    let alg = spki.algorithm.algorithm.to_id_string();
    let params_oid = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.clone().oid().ok())
        .map(|o| o.to_id_string());
    let modulus = match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => Some(rsa.modulus),
        _ => None,
    };
    let mut k = key_from_oid(&alg, params_oid, modulus);
    if k.algorithm == "DSA"
        && let Ok(x509_parser::public_key::PublicKey::DSA(_)) = spki.parsed()
    {
        // DSA size is the size of p in the parameters.
        k.bits = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| parse_der(p.as_bytes()).ok())
            .and_then(|(_, seq)| seq_item(&seq, 0).and_then(|p| p.as_slice().ok()))
            .map(int_bits);
    }
    k
}

fn seq_item<'a, 'b>(obj: &'b BerObject<'a>, i: usize) -> Option<&'b BerObject<'a>> {
    obj.as_sequence().ok()?.get(i)
}

fn oid_of(obj: &BerObject<'_>) -> Option<String> {
    obj.as_oid().ok().map(|o| o.to_id_string())
}

/// Type and size of an unencrypted key. Reads only the algorithm identifiers and, for RSA, the
/// (public) modulus; nothing secret is kept or returned.
fn describe_plain_key(fmt: KeyFormat, der: &[u8]) -> std::result::Result<KeyDesc, String> {
    let bad = |what: &str| format!("not a valid {what} private key");
    let (_, top) = parse_der(der).map_err(|_| bad("DER"))?;
    match fmt {
        KeyFormat::Pkcs1 => {
            let modulus = seq_item(&top, 1)
                .and_then(|m| m.as_slice().ok())
                .ok_or_else(|| bad("PKCS#1 RSA"))?;
            Ok(key_from_oid("1.2.840.113549.1.1.1", None, Some(modulus)))
        }
        KeyFormat::Sec1 => {
            let items = top.as_sequence().map_err(|_| bad("SEC1 EC"))?;
            let curve = items.iter().skip(2).find_map(tagged_oid);
            if curve.is_none() {
                // Curve given only by the private scalar length.
                let len = items
                    .get(1)
                    .and_then(|o| o.as_slice().ok())
                    .map(|s| s.len());
                let guess = match len {
                    Some(32) => Some("1.2.840.10045.3.1.7"),
                    Some(48) => Some("1.3.132.0.34"),
                    Some(66) => Some("1.3.132.0.35"),
                    _ => None,
                };
                return Ok(key_from_oid(
                    "1.2.840.10045.2.1",
                    guess.map(String::from),
                    None,
                ));
            }
            Ok(key_from_oid("1.2.840.10045.2.1", curve, None))
        }
        KeyFormat::Pkcs8 => {
            let alg = seq_item(&top, 1).ok_or_else(|| bad("PKCS#8"))?;
            let alg_oid = seq_item(alg, 0)
                .and_then(oid_of)
                .ok_or_else(|| bad("PKCS#8"))?;
            let params = seq_item(alg, 1).and_then(oid_of);
            let inner = seq_item(&top, 2).and_then(|o| o.as_slice().ok());
            let modulus = if alg_oid.starts_with("1.2.840.113549.1.1.") {
                inner.and_then(|i| parse_der(i).ok()).and_then(|(_, rsa)| {
                    seq_item(&rsa, 1).and_then(|m| m.as_slice().ok().map(<[u8]>::to_vec))
                })
            } else {
                None
            };
            let mut params = params;
            if alg_oid == "1.2.840.10045.2.1" && params.is_none() {
                // EC parameters may be inside the SEC1 structure instead.
                params = inner.and_then(|i| parse_der(i).ok()).and_then(|(_, ec)| {
                    ec.as_sequence()
                        .ok()
                        .and_then(|v| v.iter().skip(2).find_map(tagged_oid))
                });
            }
            Ok(key_from_oid(&alg_oid, params, modulus.as_deref()))
        }
    }
}

/// The OID inside an explicit `[0]` tag (SEC1 parameters).
fn tagged_oid(obj: &BerObject<'_>) -> Option<String> {
    if obj.header.tag().0 != 0 {
        return None;
    }
    match &obj.content {
        BerObjectContent::Tagged(_, _, inner) => oid_of(inner),
        BerObjectContent::Unknown(any) => parse_der(any.data).ok().and_then(|(_, o)| oid_of(&o)),
        _ => None,
    }
}

fn oid_name(oid: &str) -> String {
    let name = match oid {
        "1.2.840.113549.1.5.13" => "PBES2",
        "1.2.840.113549.1.5.12" => "PBKDF2",
        "1.3.6.1.4.1.11591.4.11" => "scrypt",
        "1.2.840.113549.2.7" => "HMAC-SHA1",
        "1.2.840.113549.2.9" => "HMAC-SHA256",
        "1.2.840.113549.2.10" => "HMAC-SHA384",
        "1.2.840.113549.2.11" => "HMAC-SHA512",
        "2.16.840.1.101.3.4.1.2" => "AES-128-CBC",
        "2.16.840.1.101.3.4.1.22" => "AES-192-CBC",
        "2.16.840.1.101.3.4.1.42" => "AES-256-CBC",
        "1.2.840.113549.3.7" => "DES-EDE3-CBC",
        "1.2.840.113549.1.12.1.3" => "PBE-SHA1-3DES",
        "1.2.840.113549.1.12.1.6" => "PBE-SHA1-RC2-40",
        "1.2.840.113549.1.5.3" => "PBE-MD5-DES",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.3.6.1.5.5.7.3.1" => "serverAuth",
        "1.3.6.1.5.5.7.3.2" => "clientAuth",
        "1.3.6.1.5.5.7.3.3" => "codeSigning",
        "1.3.6.1.5.5.7.3.4" => "emailProtection",
        "1.3.6.1.5.5.7.3.8" => "timeStamping",
        "1.3.6.1.5.5.7.3.9" => "OCSPSigning",
        "2.5.29.37.0" => "anyExtendedKeyUsage",
        other => return other.to_string(),
    };
    name.to_string()
}

/// "PBES2 (PBKDF2-HMAC-SHA256, 600000 iterations, AES-256-CBC)" from an EncryptedPrivateKeyInfo.
fn describe_encryption(der: &[u8]) -> std::result::Result<String, String> {
    let bad = || "not a valid PKCS#8 encrypted private key".to_string();
    let (_, top) = parse_der(der).map_err(|_| bad())?;
    let alg = seq_item(&top, 0).ok_or_else(bad)?;
    let scheme = seq_item(alg, 0).and_then(oid_of).ok_or_else(bad)?;
    if scheme != "1.2.840.113549.1.5.13" {
        return Ok(oid_name(&scheme));
    }
    let params = seq_item(alg, 1);
    let kdf = params.and_then(|p| seq_item(p, 0));
    let kdf_oid = kdf.and_then(|k| seq_item(k, 0)).and_then(oid_of);
    let kdf_params = kdf.and_then(|k| seq_item(k, 1));
    let mut kdf_desc = kdf_oid
        .as_deref()
        .map(oid_name)
        .unwrap_or_else(|| "?".into());
    if kdf_oid.as_deref() == Some("1.2.840.113549.1.5.12") {
        let items = kdf_params.and_then(|p| p.as_sequence().ok());
        let iterations = items.and_then(|v| v.get(1)).and_then(|i| i.as_u64().ok());
        let prf = items
            .and_then(|v| {
                v.iter()
                    .skip(2)
                    .find_map(|o| seq_item(o, 0).and_then(oid_of))
            })
            .map(|o| oid_name(&o))
            .unwrap_or_else(|| "HMAC-SHA1".into());
        kdf_desc = format!("PBKDF2-{prf}");
        if let Some(n) = iterations {
            kdf_desc.push_str(&format!(", {n} iterations"));
        }
    }
    let cipher = params
        .and_then(|p| seq_item(p, 1))
        .and_then(|c| seq_item(c, 0))
        .and_then(oid_of)
        .map(|o| oid_name(&o))
        .unwrap_or_else(|| "?".into());
    Ok(format!("PBES2 ({kdf_desc}, {cipher})"))
}

fn describe_cert(
    cert: &X509Certificate<'_>,
    der: &[u8],
    now: time::OffsetDateTime,
    consumers: &Consumers,
) -> CertInfo {
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    let status = if now < not_before {
        "not_yet_valid"
    } else if now > not_after {
        "expired"
    } else {
        "valid"
    };
    let days_left = (not_after - now).whole_days();
    let bc = cert.basic_constraints().ok().flatten();
    let ku = cert.key_usage().ok().flatten();
    let eku = cert.extended_key_usage().ok().flatten();
    let basic_constraints = bc.as_ref().map(|b| BasicConstraintsInfo {
        ca: b.value.ca,
        path_len: b.value.path_len_constraint,
        critical: b.critical,
    });
    let key_usage = ku.as_ref().map(|k| {
        let v = k.value;
        let names = [
            (v.digital_signature(), "digitalSignature"),
            (v.non_repudiation(), "nonRepudiation"),
            (v.key_encipherment(), "keyEncipherment"),
            (v.data_encipherment(), "dataEncipherment"),
            (v.key_agreement(), "keyAgreement"),
            (v.key_cert_sign(), "keyCertSign"),
            (v.crl_sign(), "cRLSign"),
            (v.encipher_only(), "encipherOnly"),
            (v.decipher_only(), "decipherOnly"),
        ];
        UsageInfo {
            usages: names
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, n)| n.to_string())
                .collect(),
            critical: k.critical,
        }
    });
    let extended_key_usage = eku.as_ref().map(|e| {
        let v = e.value;
        let mut usages = Vec::new();
        for (on, oid) in [
            (v.server_auth, "1.3.6.1.5.5.7.3.1"),
            (v.client_auth, "1.3.6.1.5.5.7.3.2"),
            (v.code_signing, "1.3.6.1.5.5.7.3.3"),
            (v.email_protection, "1.3.6.1.5.5.7.3.4"),
            (v.time_stamping, "1.3.6.1.5.5.7.3.8"),
            (v.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
            (v.any, "2.5.29.37.0"),
        ] {
            if on {
                usages.push(oid_name(oid));
            }
        }
        usages.extend(v.other.iter().map(|o| oid_name(&o.to_id_string())));
        UsageInfo {
            usages,
            critical: e.critical,
        }
    });
    let mut sans = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for gn in &san.value.general_names {
            sans.push(general_name(gn));
        }
    }
    let mut ski = None;
    let mut aki = None;
    for ext in cert.iter_extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(colon_hex(k.0, false)),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| colon_hex(k.0, false))
            }
            _ => {}
        }
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    let key = describe_spki(cert.public_key());
    let facts = Facts::of(cert);
    let subject = dn::subject_of(cert);
    let issuer = dn::format_gnutls(cert.issuer());
    CertInfo {
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        subject,
        issuer,
        x509_version: cert.version().0 + 1,
        serial: hex(cert.raw_serial()),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        status,
        days_left,
        key,
        signature_algorithm: oid_name(&cert.signature_algorithm.algorithm.to_id_string()),
        basic_constraints,
        key_usage,
        extended_key_usage,
        subject_alt_names: sans,
        subject_key_id: ski,
        authority_key_id: aki,
        sha256: colon_hex(digest.as_ref(), true),
        roles: RolesByConsumer {
            libvirt: roles(&facts, Consumer::Libvirt, consumers),
            qemu: roles(&facts, Consumer::Qemu, consumers),
        },
    }
}

fn general_name(gn: &GeneralName<'_>) -> String {
    match gn {
        GeneralName::DNSName(s) => format!("DNS:{s}"),
        GeneralName::RFC822Name(s) => format!("email:{s}"),
        GeneralName::URI(s) => format!("URI:{s}"),
        GeneralName::IPAddress(b) => {
            if let Ok(a) = <[u8; 4]>::try_from(*b) {
                format!("IP:{}", std::net::Ipv4Addr::from(a))
            } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                format!("IP:{}", std::net::Ipv6Addr::from(a))
            } else {
                format!("IP:(invalid, {} bytes)", b.len())
            }
        }
        GeneralName::DirectoryName(n) => format!("DirName:{}", dn::format_gnutls(n)),
        GeneralName::RegisteredID(o) => format!("RID:{}", o.to_id_string()),
        GeneralName::OtherName(o, _) => format!("otherName:{}", o.to_id_string()),
        GeneralName::X400Address(_) => "X400Address".into(),
        GeneralName::EDIPartyName(_) => "EDIPartyName".into(),
        GeneralName::Invalid(_, _) => "(invalid name)".into(),
    }
}

fn describe_crl(
    crl: &x509_parser::revocation_list::CertificateRevocationList<'_>,
    now: time::OffsetDateTime,
) -> CrlInfo {
    let next = crl.next_update().map(|t| t.to_datetime());
    CrlInfo {
        issuer: dn::format_gnutls(crl.issuer()),
        this_update: rfc3339(crl.last_update().to_datetime()),
        next_update: next.map(rfc3339),
        stale: next.is_some_and(|n| n < now),
        crl_number: crl.crl_number().map(|n| n.to_string()),
        revoked: crl
            .iter_revoked_certificates()
            .map(|r| RevokedInfo {
                serial: hex(r.raw_serial()),
                date: rfc3339(r.revocation_date.to_datetime()),
                reason: r.reason_code().map(|(_, rc)| rc.to_string()),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(int_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(int_bits(&[0x01]), 1);
        assert_eq!(int_bits(&[]), 0);
    }
}
