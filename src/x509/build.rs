//! Building and signing certificates: CA (self-signed) and server/client leaves.
//!
//! The TBSCertificate is written by hand (see [`crate::x509::der`]) so that:
//! - the issuer field is the CA certificate's subject copied byte for byte (a certtool CA with two
//!   OUs or DCs, or a multi-valued RDN, still chains);
//! - the subject is encoded in certtool's order and string types (a template gives the same
//!   subject DER as certtool gives from it), with the country as PrintableString;
//! - the serial is 20 random bytes, positive, never derived from the key.
//!
//! Signing uses rcgen's `KeyPair` (ECDSA P-256/P-384/P-521, Ed25519, RSA PKCS#1 v1.5). Every
//! certificate is parsed back, its signature verified with the issuer's key, and its issuer
//! compared with the CA's subject before it is returned.
//!
//! Leaf key usage is digitalSignature **and** keyEncipherment, critical, for every key type:
//! libvirt 9.x and QEMU up to 10.0.6 refuse a leaf whose critical key usage lacks
//! keyEncipherment (libvirt for RSA and Ed25519; QEMU for every algorithm, ECDSA included) with
//! "Certificate does not support key encipherment". The bit is meaningless for ECDSA/Ed25519 keys
//! but harmless: GnuTLS, OpenSSL and newer QEMU accept it.

use std::net::IpAddr;

use ::time::OffsetDateTime;
use rcgen::{KeyPair, PublicKeyData, SigningKey};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::x509::der::{self, tag};
use crate::x509::dn;
use crate::x509::keys;

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The CA certificate cannot be parsed.
    #[error("the CA certificate cannot be parsed: {0}")]
    BadCaCert(String),
    /// The CA certificate is not a CA.
    #[error("the CA certificate is not a CA ({0}); it cannot sign certificates")]
    NotACa(String),
    /// The CA key does not belong to the CA certificate.
    #[error("the CA private key does not match the CA certificate (different public keys)")]
    KeyMismatch,
    /// The leaf would outlive its CA.
    #[error(
        "the certificate would expire {leaf} but the CA expires {ca}; shorten --days, or pass \
         --clamp-to-ca to end it with the CA"
    )]
    OutlivesCa {
        /// Leaf notAfter.
        leaf: String,
        /// CA notAfter.
        ca: String,
    },
    /// The leaf would start before its CA.
    #[error(
        "the certificate would start {leaf} but the CA only starts {ca}; move activation_date later, or pass --clamp-to-ca to start it with the CA"
    )]
    StartsBeforeCa {
        /// Leaf notBefore.
        leaf: String,
        /// CA notBefore.
        ca: String,
    },
    /// The CA has expired or is not yet valid.
    #[error("the CA certificate is not valid now (valid {from} to {to})")]
    CaNotValid {
        /// notBefore.
        from: String,
        /// notAfter.
        to: String,
    },
    /// Bad validity request.
    #[error("invalid validity: {0}")]
    Validity(String),
    /// A subject attribute cannot be encoded.
    #[error("invalid subject: {0}")]
    Subject(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
    /// The self-check after signing failed (should never happen; nothing is written).
    #[error("internal check of the issued certificate failed: {0}")]
    SelfCheck(String),
    /// Key error.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
}

/// Attribute OIDs (dotted) pkitool writes in subjects.
pub mod attr {
    /// countryName
    pub const C: &str = "2.5.4.6";
    /// stateOrProvinceName
    pub const ST: &str = "2.5.4.8";
    /// localityName
    pub const L: &str = "2.5.4.7";
    /// organizationName
    pub const O: &str = "2.5.4.10";
    /// organizationalUnitName
    pub const OU: &str = "2.5.4.11";
    /// commonName
    pub const CN: &str = "2.5.4.3";
    /// userId (LDAP UID)
    pub const UID: &str = "0.9.2342.19200300.100.1.1";
    /// domainComponent
    pub const DC: &str = "0.9.2342.19200300.100.1.25";
    /// emailAddress (PKCS#9)
    pub const EMAIL: &str = "1.2.840.113549.1.9.1";
}

fn text_attr(oid: &str, value: &str) -> Vec<dn::Attribute> {
    vec![dn::Attribute {
        oid: oid.to_string(),
        value: dn::AttributeValue::Text(value.to_string()),
    }]
}

/// The subject fields certtool templates and pkitool flags set, encoded in certtool's fixed
/// order: C, ST, L, O..., OU..., CN, UID, DC..., emailAddress (after any `dn`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectFields {
    /// RDNs from a whole DN (`--dn`, template `dn`), encoded first, in the given order.
    pub dn: Vec<Vec<dn::Attribute>>,
    /// country (C)
    pub country: Option<String>,
    /// state (ST)
    pub state: Option<String>,
    /// locality (L)
    pub locality: Option<String>,
    /// organization (O), repeatable
    pub organization: Vec<String>,
    /// unit (OU), repeatable
    pub unit: Vec<String>,
    /// cn (CN)
    pub cn: Option<String>,
    /// uid (UID)
    pub uid: Option<String>,
    /// dc (DC), repeatable
    pub dc: Vec<String>,
    /// pkcs9_email (emailAddress)
    pub email: Option<String>,
}

impl SubjectFields {
    /// The subject as a [`dn::Dn`], RDNs in encoding order.
    pub fn to_dn(&self) -> dn::Dn {
        let mut rdns = self.dn.clone();
        let mut one = |oid: &str, v: &Option<String>| {
            if let Some(v) = v {
                rdns.push(text_attr(oid, v));
            }
        };
        one(attr::C, &self.country);
        one(attr::ST, &self.state);
        one(attr::L, &self.locality);
        for v in &self.organization {
            rdns.push(text_attr(attr::O, v));
        }
        for v in &self.unit {
            rdns.push(text_attr(attr::OU, v));
        }
        if let Some(v) = &self.cn {
            rdns.push(text_attr(attr::CN, v));
        }
        if let Some(v) = &self.uid {
            rdns.push(text_attr(attr::UID, v));
        }
        for v in &self.dc {
            rdns.push(text_attr(attr::DC, v));
        }
        if let Some(v) = &self.email {
            rdns.push(text_attr(attr::EMAIL, v));
        }
        dn::Dn { rdns }
    }

    /// True when no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.to_dn().rdns.is_empty()
    }

    /// The CN, from `cn` or the last CN of `dn`.
    pub fn common_name(&self) -> Option<&str> {
        self.cn.as_deref().or_else(|| {
            self.dn.iter().flatten().rev().find_map(|a| match &a.value {
                dn::AttributeValue::Text(t) if a.oid == attr::CN => Some(t.as_str()),
                _ => None,
            })
        })
    }

    /// The encoded Name (certtool's string types, country as PrintableString).
    pub fn to_der(&self) -> Result<Vec<u8>, IssueError> {
        self.to_dn()
            .to_der()
            .map_err(|e| IssueError::Subject(e.to_string()))
    }
}

/// Parses a DN written in libvirt's order (`C=GB,ST=London,O=Example Org,CN=client1`, `\,`
/// escapes) into RDNs in that (encoding) order.
pub fn parse_dn(s: &str) -> Result<Vec<Vec<dn::Attribute>>, IssueError> {
    let parsed = dn::parse(s).map_err(|e| IssueError::Subject(e.to_string()))?;
    // Encode it now, so a value that cannot be encoded (C=GBR, a non-ASCII EMAIL) is reported
    // against the flag rather than later.
    parsed
        .to_der()
        .map_err(|e| IssueError::Subject(e.to_string()))?;
    Ok(parsed.rdns)
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    /// dNSName
    Dns(String),
    /// iPAddress
    Ip(IpAddr),
    /// rfc822Name
    Email(String),
    /// uniformResourceIdentifier
    Uri(String),
}

impl San {
    /// A `--san` value: an IPv4/IPv6 address becomes iPAddress, anything else a dNSName.
    pub fn parse(s: &str) -> Result<San, IssueError> {
        let s = s.trim();
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(San::Ip(ip));
        }
        let bracketed = s.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
        if let Some(ip) = bracketed.and_then(|b| b.parse::<IpAddr>().ok()) {
            return Ok(San::Ip(ip));
        }
        Ok(San::Dns(super::idn::to_a_label(s)?))
    }

    /// The GeneralName DER.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            San::Dns(d) => der::context(2, false, d.as_bytes()),
            San::Email(e) => der::context(1, false, e.as_bytes()),
            San::Uri(u) => der::context(6, false, u.as_bytes()),
            San::Ip(IpAddr::V4(v4)) => der::context(7, false, &v4.octets()),
            San::Ip(IpAddr::V6(v6)) => der::context(7, false, &v6.octets()),
        }
    }
}

impl std::fmt::Display for San {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            San::Dns(d) => write!(f, "DNS:{d}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
            San::Email(e) => write!(f, "email:{e}"),
            San::Uri(u) => write!(f, "URI:{u}"),
        }
    }
}

/// Checks a DNS name: non-empty, ASCII letters/digits/hyphens/dots, an optional leading `*.`.
pub fn check_dns_name(s: &str) -> Result<(), IssueError> {
    let bad = |why: &str| {
        Err(IssueError::Subject(format!(
            "{s:?} is neither an IP address nor a valid DNS name: {why}"
        )))
    };
    let body = s.strip_prefix("*.").unwrap_or(s);
    if body.is_empty() || body.len() > 253 {
        return bad("a name has 1 to 253 characters");
    }
    if body.ends_with('.') {
        return bad("drop the trailing dot (GnuTLS never matches a name ending in a dot)");
    }
    if !body.is_ascii() {
        return bad("write an internationalised name in its xn-- (A-label) form");
    }
    for label in body.split('.') {
        if label.is_empty() || label.len() > 63 {
            return bad("each dot-separated label has 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return bad("only letters, digits, '-' and '_' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a label cannot start or end with '-'");
        }
    }
    // An all-numeric last label is never a host name (RFC 3696): "300.1.2.3" is a mistyped
    // address, "host.123" a typo; clients would never match it.
    if body
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return bad("the last label is all digits (a mistyped IP address?)");
    }
    Ok(())
}

/// What kind of certificate to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A CA: basicConstraints CA:TRUE (critical), keyUsage keyCertSign + cRLSign (critical).
    Ca {
        /// pathLenConstraint, if any.
        path_len: Option<u32>,
    },
    /// A TLS server leaf (EKU serverAuth).
    Server,
    /// A TLS client leaf (EKU clientAuth).
    Client,
}

/// extendedKeyUsage OIDs.
pub mod eku {
    /// serverAuth
    pub const SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];
    /// clientAuth
    pub const CLIENT_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 2];
}

/// Everything that describes the certificate to make (no clap types: tests and benches use it).
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// CA, server or client.
    pub profile: Profile,
    /// Subject (see [`SubjectFields::to_der`]).
    pub subject: SubjectFields,
    /// Subject alternative names, in order.
    pub sans: Vec<San>,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// Serial magnitude (big-endian); `None` = 20 random bytes.
    pub serial: Option<Vec<u8>>,
    /// Extended key usages; `None` = the profile's (serverAuth / clientAuth / none for a CA).
    pub eku: Option<Vec<Vec<u64>>>,
    /// Shorten a leaf's validity to the CA's instead of failing.
    pub clamp_to_ca: bool,
}

/// `n` days as a duration, or `None` when it does not fit (`time::Duration::days` panics on
/// overflow, and `--days` or a template's `expiration_days` can be any integer).
pub fn checked_days(n: i64) -> Option<time::Duration> {
    n.checked_mul(86_400).map(time::Duration::seconds)
}

impl CertSpec {
    /// A spec valid from now for `days` days.
    pub fn new(profile: Profile, subject: SubjectFields, days: i64) -> Result<Self, IssueError> {
        let now = now();
        if days <= 0 {
            return Err(IssueError::Validity(format!(
                "--days must be positive, got {days}"
            )));
        }
        let not_after = checked_days(days)
            .and_then(|d| now.checked_add(d))
            .filter(|t| t.year() <= 9999)
            .ok_or_else(|| IssueError::Validity(format!("{days} days is too far in the future")))?;
        Ok(CertSpec {
            profile,
            subject,
            sans: Vec::new(),
            not_before: now,
            not_after,
            serial: None,
            eku: None,
            clamp_to_ca: false,
        })
    }
}

/// The current time, whole seconds, UTC.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// A CA that signs: its certificate DER and private key.
pub struct Signer<'a> {
    /// The CA certificate (DER).
    pub cert_der: &'a [u8],
    /// The CA private key.
    pub key: &'a KeyPair,
}

/// An issued certificate.
#[derive(Debug, Clone)]
pub struct Issued {
    /// DER.
    pub der: Vec<u8>,
}

impl Issued {
    /// PEM text.
    pub fn pem(&self) -> String {
        der::pem_lf("CERTIFICATE", self.der.clone())
    }
}

/// Makes a self-signed CA certificate for `key`.
pub fn self_signed_ca(spec: &CertSpec, key: &KeyPair) -> Result<Issued, IssueError> {
    let subject = spec.subject.to_der()?;
    let spki = keys::public_key_spki(key);
    let tbs = TbsParts {
        subject: &subject,
        subject_empty: spec.subject.is_empty(),
        spki: &spki,
        key_bits: key.der_bytes(),
    };
    let der = build_and_sign(spec, &tbs, key, &subject, None)?;
    self_check(&der, &spki, &subject)?;
    Ok(Issued { der })
}

/// Checks that a CA can sign: it parses, is a CA (basicConstraints CA:TRUE, keyCertSign when key
/// usage is present), is valid now, and `key` is its key.
pub fn check_signer(signer: &Signer<'_>) -> Result<(), IssueError> {
    let (_, ca) = X509Certificate::from_der(signer.cert_der)
        .map_err(|e| IssueError::BadCaCert(e.to_string()))?;
    match ca.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {}
        Ok(Some(_)) => return Err(IssueError::NotACa("basicConstraints CA:FALSE".into())),
        Ok(None) => return Err(IssueError::NotACa("no basicConstraints extension".into())),
        Err(e) => return Err(IssueError::BadCaCert(e.to_string())),
    }
    if let Ok(Some(ku)) = ca.key_usage()
        && !ku.value.key_cert_sign()
    {
        return Err(IssueError::NotACa("its key usage lacks keyCertSign".into()));
    }
    if ca.public_key().raw != keys::public_key_spki(signer.key).as_slice() {
        return Err(IssueError::KeyMismatch);
    }
    let v = ca.validity();
    if !v.is_valid() {
        return Err(IssueError::CaNotValid {
            from: v.not_before.to_string(),
            to: v.not_after.to_string(),
        });
    }
    Ok(())
}

/// The CA's notAfter.
pub fn ca_not_after(ca_der: &[u8]) -> Result<OffsetDateTime, IssueError> {
    let (_, ca) =
        X509Certificate::from_der(ca_der).map_err(|e| IssueError::BadCaCert(e.to_string()))?;
    Ok(ca.validity().not_after.to_datetime())
}

/// Issues a leaf for `subject_key`, signed by `signer`. The spec's notAfter is checked against
/// the CA's (error, or clamped with `clamp_to_ca`).
pub fn issue_leaf(
    spec: &CertSpec,
    subject_key: &KeyPair,
    signer: &Signer<'_>,
) -> Result<Issued, IssueError> {
    let subject = spec.subject.to_der()?;
    issue_for_public_key(spec, &subject, &keys::public_key_spki(subject_key), signer)
}

/// Issues a certificate (a leaf, or an intermediate CA with `Profile::Ca`) for a public key
/// given as its SubjectPublicKeyInfo DER, with `subject` (a DER Name) copied byte for byte:
/// what signing a CSR needs. `spec.subject` is not used. The spec's notAfter is checked against
/// the CA's (error, or clamped with `clamp_to_ca`).
pub fn issue_for_public_key(
    spec: &CertSpec,
    subject: &[u8],
    spki: &[u8],
    signer: &Signer<'_>,
) -> Result<Issued, IssueError> {
    check_signer(signer)?;
    let (_, ca) = X509Certificate::from_der(signer.cert_der)
        .map_err(|e| IssueError::BadCaCert(e.to_string()))?;
    let (_, parsed_spki) = SubjectPublicKeyInfo::from_der(spki)
        .map_err(|e| IssueError::Sign(format!("the public key cannot be parsed: {e}")))?;
    let mut spec = spec.clone();
    let ca_start = ca.validity().not_before.to_datetime();
    if spec.not_before < ca_start {
        if spec.clamp_to_ca {
            spec.not_before = ca_start;
        } else {
            return Err(IssueError::StartsBeforeCa {
                leaf: fmt_time(spec.not_before),
                ca: fmt_time(ca_start),
            });
        }
    }
    let ca_end = ca.validity().not_after.to_datetime();
    if spec.not_after > ca_end {
        if spec.clamp_to_ca {
            spec.not_after = ca_end;
        } else {
            return Err(IssueError::OutlivesCa {
                leaf: fmt_time(spec.not_after),
                ca: fmt_time(ca_end),
            });
        }
    }
    let issuer_raw = ca.subject().as_raw();
    let ca_ski = ca
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        });
    let aki = ca_ski.unwrap_or_else(|| key_id(ca.public_key().subject_public_key.data.as_ref()));
    // An empty Name is SEQUENCE {} (30 00).
    let tbs = TbsParts {
        subject,
        subject_empty: subject.len() <= 2,
        spki,
        key_bits: parsed_spki.subject_public_key.data.as_ref(),
    };
    let der = build_and_sign(&spec, &tbs, signer.key, issuer_raw, Some(&aki))?;
    self_check(&der, ca.public_key().raw, issuer_raw)?;
    Ok(Issued { der })
}

/// Formats a time as `2026-01-31 12:00:00 UTC`.
pub fn fmt_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.format(&f).unwrap_or_else(|_| t.to_string())
}

/// Key identifier: SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 method 1, as certtool
/// and OpenSSL do).
pub fn key_id(public_key_bits: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        public_key_bits,
    )
    .as_ref()
    .to_vec()
}

/// The signature AlgorithmIdentifier for a signing key.
pub(crate) fn sig_alg_id(key: &KeyPair) -> Result<Vec<u8>, IssueError> {
    let alg = key.algorithm();
    let (oid, null): (&[u64], bool) = if alg == &rcgen::PKCS_RSA_SHA256 {
        (&[1, 2, 840, 113549, 1, 1, 11], true)
    } else if alg == &rcgen::PKCS_RSA_SHA384 {
        (&[1, 2, 840, 113549, 1, 1, 12], true)
    } else if alg == &rcgen::PKCS_RSA_SHA512 {
        (&[1, 2, 840, 113549, 1, 1, 13], true)
    } else if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
        (&[1, 2, 840, 10045, 4, 3, 2], false)
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        (&[1, 2, 840, 10045, 4, 3, 3], false)
    } else if alg == &rcgen::PKCS_ECDSA_P521_SHA512 {
        (&[1, 2, 840, 10045, 4, 3, 4], false)
    } else if alg == &rcgen::PKCS_ED25519 {
        (&[1, 3, 101, 112], false)
    } else {
        return Err(IssueError::Sign(format!(
            "unsupported signing key algorithm {alg:?}"
        )));
    };
    let o = der::oid(oid);
    Ok(if null {
        der::sequence(&[&o, &der::tlv(tag::NULL, &[])])
    } else {
        der::sequence(&[&o])
    })
}

/// 20 random bytes, top bit clear and first byte non-zero: a positive INTEGER of exactly 20
/// octets (RFC 5280's maximum), as certtool does.
pub fn random_serial() -> Result<Vec<u8>, IssueError> {
    let mut s = [0u8; 20];
    aws_lc_rs::rand::fill(&mut s).map_err(|_| IssueError::Sign("no randomness".into()))?;
    s[0] &= 0x7f;
    if s[0] == 0 {
        s[0] = 0x01;
    }
    Ok(s.to_vec())
}

/// One Extension: extnID, critical (only when true, as DER requires), extnValue.
pub(crate) fn extension(oid: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    if critical {
        der::sequence(&[
            &der::oid(oid),
            &der::boolean(true),
            &der::octet_string(value),
        ])
    } else {
        der::sequence(&[&der::oid(oid), &der::octet_string(value)])
    }
}

const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
const SUBJECT_KEY_ID: &[u64] = &[2, 5, 29, 14];
const AUTHORITY_KEY_ID: &[u64] = &[2, 5, 29, 35];

/// The subject side of a TBSCertificate.
struct TbsParts<'a> {
    /// The subject Name DER, copied as it is.
    subject: &'a [u8],
    /// The subject is empty (the SAN extension is then critical, RFC 5280).
    subject_empty: bool,
    /// The SubjectPublicKeyInfo DER.
    spki: &'a [u8],
    /// The subjectPublicKey bits (hashed for the SKI).
    key_bits: &'a [u8],
}

fn build_and_sign(
    spec: &CertSpec,
    parts: &TbsParts<'_>,
    signing_key: &KeyPair,
    issuer: &[u8],
    aki: Option<&[u8]>,
) -> Result<Vec<u8>, IssueError> {
    if spec.not_after <= spec.not_before {
        return Err(IssueError::Validity(format!(
            "notAfter {} is not after notBefore {}",
            fmt_time(spec.not_after),
            fmt_time(spec.not_before)
        )));
    }
    let serial = match &spec.serial {
        Some(s) => s.clone(),
        None => random_serial()?,
    };
    let alg = sig_alg_id(signing_key)?;

    let mut exts: Vec<Vec<u8>> = Vec::new();
    match spec.profile {
        Profile::Ca { path_len } => {
            let mut bc = vec![der::boolean(true)];
            if let Some(n) = path_len {
                bc.push(der::integer_u64(u64::from(n)));
            }
            exts.push(extension(
                BASIC_CONSTRAINTS,
                true,
                &der::tlv(tag::SEQUENCE, &bc.concat()),
            ));
            // keyCertSign (5) + cRLSign (6)
            exts.push(extension(KEY_USAGE, true, &der::named_bits(&[5, 6])));
        }
        Profile::Server | Profile::Client => {
            exts.push(extension(BASIC_CONSTRAINTS, true, &der::sequence(&[])));
            // digitalSignature (0) + keyEncipherment (2) for every key type: see the module docs.
            exts.push(extension(KEY_USAGE, true, &der::named_bits(&[0, 2])));
        }
    }
    let ekus: Vec<Vec<u64>> = match (&spec.eku, spec.profile) {
        (Some(list), _) => list.clone(),
        (None, Profile::Server) => vec![eku::SERVER_AUTH.to_vec()],
        (None, Profile::Client) => vec![eku::CLIENT_AUTH.to_vec()],
        (None, Profile::Ca { .. }) => Vec::new(),
    };
    if !ekus.is_empty() {
        let body: Vec<u8> = ekus.iter().flat_map(|o| der::oid(o)).collect();
        exts.push(extension(
            EXT_KEY_USAGE,
            false,
            &der::tlv(tag::SEQUENCE, &body),
        ));
    }
    if !spec.sans.is_empty() {
        let body: Vec<u8> = spec.sans.iter().flat_map(San::encode).collect();
        // RFC 5280: critical when the subject is empty.
        let critical = parts.subject_empty;
        exts.push(extension(
            SUBJECT_ALT_NAME,
            critical,
            &der::tlv(tag::SEQUENCE, &body),
        ));
    }
    exts.push(extension(
        SUBJECT_KEY_ID,
        false,
        &der::octet_string(&key_id(parts.key_bits)),
    ));
    if let Some(aki) = aki {
        exts.push(extension(
            AUTHORITY_KEY_ID,
            false,
            &der::sequence(&[&der::context(0, false, aki)]),
        ));
    }

    let version = der::context(0, true, &der::integer_u64(2));
    let validity = der::sequence(&[&der::time(spec.not_before), &der::time(spec.not_after)]);
    let extensions = der::context(3, true, &der::tlv(tag::SEQUENCE, &exts.concat()));
    let tbs = der::sequence(&[
        &version,
        &der::integer_unsigned(&serial),
        &alg,
        issuer,
        &validity,
        parts.subject,
        parts.spki,
        &extensions,
    ]);
    let sig = signing_key
        .sign(&tbs)
        .map_err(|e| IssueError::Sign(e.to_string()))?;
    Ok(der::sequence(&[&tbs, &alg, &der::bit_string(&sig)]))
}

/// Parses what was just signed, verifies its signature with the issuer's SPKI and compares its
/// issuer with the expected bytes.
pub(crate) fn self_check(
    der: &[u8],
    issuer_spki: &[u8],
    issuer_raw: &[u8],
) -> Result<(), IssueError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| IssueError::SelfCheck(e.to_string()))?;
    if !rest.is_empty() {
        return Err(IssueError::SelfCheck("trailing bytes".into()));
    }
    let (_, spki) = SubjectPublicKeyInfo::from_der(issuer_spki)
        .map_err(|e| IssueError::SelfCheck(e.to_string()))?;
    cert.verify_signature(Some(&spki))
        .map_err(|e| IssueError::SelfCheck(format!("signature does not verify: {e}")))?;
    if cert.issuer().as_raw() != issuer_raw {
        return Err(IssueError::SelfCheck(
            "issuer is not byte-identical to the CA's subject".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::keys::{self, KeyType};

    fn subject(cn: &str) -> SubjectFields {
        SubjectFields {
            cn: Some(cn.into()),
            ..Default::default()
        }
    }

    #[test]
    fn dns_names_follow_host_name_rules() {
        for ok in [
            "localhost",
            "compute1.libvirt.org",
            "*.example.org",
            "a-b.c9",
            "xn--bcher-kva.de",
            "_svc.example.org",
        ] {
            assert!(check_dns_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "not a host!",
            "300.1.2.3",
            "host.123",
            "-lead.example",
            "trail-.example",
            "a..b",
            "host.",
            "bücher.de",
            &"a".repeat(64),
        ] {
            assert!(check_dns_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ca_and_leaf_chain_for_every_key_type() {
        for kt in [
            KeyType::EcdsaP256,
            KeyType::EcdsaP384,
            KeyType::Ed25519,
            KeyType::Rsa2048,
        ] {
            let ca_key = keys::generate(kt).unwrap();
            let mut fields = subject("Test CA");
            fields.unit = vec!["A".into(), "B".into()];
            fields.dc = vec!["example".into(), "org".into()];
            let ca = self_signed_ca(
                &CertSpec::new(Profile::Ca { path_len: None }, fields, 3650).unwrap(),
                &ca_key,
            )
            .unwrap();
            let leaf_key = keys::generate(kt).unwrap();
            let mut spec = CertSpec::new(Profile::Server, subject("localhost"), 365).unwrap();
            spec.sans = vec![
                San::parse("localhost").unwrap(),
                San::parse("127.0.0.1").unwrap(),
            ];
            let signer = Signer {
                cert_der: &ca.der,
                key: &ca_key,
            };
            let leaf = issue_leaf(&spec, &leaf_key, &signer).unwrap();
            let (_, c) = X509Certificate::from_der(&leaf.der).unwrap();
            let (_, cac) = X509Certificate::from_der(&ca.der).unwrap();
            assert_eq!(c.issuer().as_raw(), cac.subject().as_raw());
            assert_eq!(c.raw_serial().len(), 20);
            let ku = c.key_usage().unwrap().unwrap();
            assert!(ku.critical && ku.value.digital_signature() && ku.value.key_encipherment());
            assert!(!c.is_ca());
            assert_eq!(cac.subject().iter_organizational_unit().count(), 2);
        }
    }

    #[test]
    fn refuses_outliving_the_ca_unless_clamped() {
        let ca_key = keys::generate(KeyType::EcdsaP256).unwrap();
        let ca = self_signed_ca(
            &CertSpec::new(Profile::Ca { path_len: None }, subject("CA"), 30).unwrap(),
            &ca_key,
        )
        .unwrap();
        let signer = Signer {
            cert_der: &ca.der,
            key: &ca_key,
        };
        let leaf_key = keys::generate(KeyType::EcdsaP256).unwrap();
        let mut spec = CertSpec::new(Profile::Client, subject("c"), 365).unwrap();
        let err = issue_leaf(&spec, &leaf_key, &signer).unwrap_err();
        assert!(matches!(err, IssueError::OutlivesCa { .. }), "{err}");
        spec.clamp_to_ca = true;
        let leaf = issue_leaf(&spec, &leaf_key, &signer).unwrap();
        let (_, c) = X509Certificate::from_der(&leaf.der).unwrap();
        assert_eq!(
            c.validity().not_after,
            X509Certificate::from_der(&ca.der)
                .unwrap()
                .1
                .validity()
                .not_after
        );
    }

    #[test]
    fn refuses_wrong_key_and_non_ca() {
        let ca_key = keys::generate(KeyType::EcdsaP256).unwrap();
        let other = keys::generate(KeyType::EcdsaP256).unwrap();
        let ca = self_signed_ca(
            &CertSpec::new(Profile::Ca { path_len: None }, subject("CA"), 30).unwrap(),
            &ca_key,
        )
        .unwrap();
        let spec = CertSpec::new(Profile::Client, subject("c"), 10).unwrap();
        let err = issue_leaf(
            &spec,
            &other,
            &Signer {
                cert_der: &ca.der,
                key: &other,
            },
        )
        .unwrap_err();
        assert!(matches!(err, IssueError::KeyMismatch));
        let leaf = issue_leaf(
            &spec,
            &other,
            &Signer {
                cert_der: &ca.der,
                key: &ca_key,
            },
        )
        .unwrap();
        let err = issue_leaf(
            &spec,
            &other,
            &Signer {
                cert_der: &leaf.der,
                key: &other,
            },
        )
        .unwrap_err();
        assert!(matches!(err, IssueError::NotACa(_)), "{err}");
    }

    #[test]
    fn dn_parsing_and_sans() {
        let a = parse_dn("C=GB,ST=London,O=Example\\, Org,CN=client1").unwrap();
        assert_eq!(a.len(), 4);
        assert_eq!(
            a[2][0].value,
            dn::AttributeValue::Text("Example, Org".into())
        );
        assert!(parse_dn("XX=a").is_err());
        assert_eq!(San::parse("::1").unwrap(), San::Ip("::1".parse().unwrap()));
        assert_eq!(
            San::parse("[fe80::1]").unwrap(),
            San::Ip("fe80::1".parse().unwrap())
        );
        assert!(San::parse("bad name").is_err());
        assert!(San::parse("").is_err());
        let fields = SubjectFields {
            country: Some("GBR".into()),
            ..Default::default()
        };
        assert!(fields.to_der().is_err());
    }

    #[test]
    fn serial_is_positive_twenty_octets() {
        for _ in 0..64 {
            let s = random_serial().unwrap();
            assert_eq!(s.len(), 20);
            assert!(s[0] != 0 && s[0] & 0x80 == 0);
            assert_eq!(der::integer_unsigned(&s).len(), 22);
        }
    }
}
