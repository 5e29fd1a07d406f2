//! PKCS#10 certificate signing requests (RFC 2986): building one (`pkitool request`) and reading
//! one (`pkitool sign`).
//!
//! The CertificationRequestInfo is written by hand with [`crate::x509::der`], as
//! [`crate::x509::build`] writes a TBSCertificate, so the subject DER is exactly the one asked
//! for (certtool's order and string types, `--dn` in the order given). The SANs travel in a
//! PKCS#9 extensionRequest attribute, where certtool and `openssl req` put them.
//!
//! Reading accepts what pkitool, `certtool --generate-request` and `openssl req -new` write, PEM
//! or DER. A request is refused, with a message saying why, when its signature does not verify
//! with the public key it carries, when that key is RSA under 2048 bits or an algorithm
//! libvirt/QEMU peers and pkitool cannot use, when it asks to be a CA (basicConstraints CA:TRUE
//! or keyUsage keyCertSign/cRLSign), or when a SAN is not a valid DNS name or IP address.
//! Everything else it asks for (key usage, extended key usage, other extensions) is reported
//! and replaced by pkitool's own profile when signing.

use rcgen::{KeyPair, SigningKey};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::signature_algorithm::RsaSsaPssParams;

use aws_lc_rs::signature;

use crate::x509::build::{self, San};
use crate::x509::der::{self, tag};
use crate::x509::load::{self, ObjectKind};

/// The largest request file `pkitool sign` reads. A request with a 16384-bit RSA key and a
/// hundred SANs stays under 8 KiB; anything near this is not a CSR.
pub const MAX_CSR_BYTES: u64 = 64 * 1024;

/// PKCS#9 extensionRequest.
const EXTENSION_REQUEST: &[u64] = &[1, 2, 840, 113549, 1, 9, 14];
/// subjectAltName.
const SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];

/// The smallest RSA modulus `pkitool sign` accepts.
pub const MIN_RSA_BITS: usize = 2048;

/// Why a request cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrError {
    /// The file does not parse as PEM/DER at all.
    #[error("{0}")]
    File(#[from] load::ParseError),
    /// The file holds something else.
    #[error(
        "this is a {found}, not a certificate request (PKCS#10); make one with pkitool request, certtool --generate-request or openssl req -new"
    )]
    NotACsr {
        /// What the file holds.
        found: String,
    },
    /// More than one request in the file.
    #[error("the file holds {0} certificate requests; give one request per file")]
    Several(usize),
    /// The PKCS#10 structure is malformed.
    #[error("the certificate request is malformed: {0}")]
    Malformed(String),
    /// The self-signature does not verify.
    #[error(
        "bad signature: the request's signature does not verify with the public key it carries ({0}); the file was altered or damaged, make the request again"
    )]
    BadSignature(String),
    /// RSA key too small.
    #[error(
        "weak key: RSA {bits} bits; pkitool signs RSA keys of at least {MIN_RSA_BITS} bits: make a new key of 2048 bits or more (or ECDSA) and request again"
    )]
    WeakKey {
        /// Modulus size.
        bits: usize,
    },
    /// A signature algorithm pkitool cannot verify.
    #[error(
        "unsupported signature: {0}; pkitool verifies what openssl req and certtool write by default: RSA PKCS#1 v1.5, ECDSA and Ed25519 signatures, and RSA-PSS with a salt as long as the hash"
    )]
    UnsupportedSignature(String),
    /// A key algorithm pkitool does not sign.
    #[error(
        "unsupported key: {0}; pkitool signs RSA (2048 bits or more), ECDSA P-256/P-384/P-521 and Ed25519 keys"
    )]
    UnsupportedKey(String),
    /// The request asks for a CA certificate.
    #[error(
        "the request asks for a CA certificate ({0}); pkitool sign issues server and client certificates only (an intermediate CA is made with pkitool init-ca --parent ROOTDIR)"
    )]
    RequestsCa(String),
    /// A requested SAN is not acceptable.
    #[error("requested subject alternative name: {0}")]
    BadSan(String),
    /// An extension in the request cannot be parsed.
    #[error("requested extension {oid} cannot be parsed: {why}")]
    BadExtension {
        /// Its OID.
        oid: String,
        /// Why.
        why: String,
    },
    /// No subject.
    #[error(
        "the request has an empty subject; libvirt and QEMU identify peers by their DN, give the request a CN (pkitool request --cn NAME)"
    )]
    EmptySubject,
    /// Building a request failed.
    #[error("cannot build the request: {0}")]
    Build(String),
}

/// A request that parsed and whose signature verified.
#[derive(Debug, Clone)]
pub struct Csr {
    /// The whole request (DER).
    pub der: Vec<u8>,
    /// The subject Name DER, exactly as in the request.
    pub subject_der: Vec<u8>,
    /// The subject as GnuTLS prints it (what libvirt and QEMU compare).
    pub subject: String,
    /// The first CN, if any.
    pub common_name: Option<String>,
    /// The SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
    /// "ECDSA P-256", "RSA 3072 bits", "Ed25519".
    pub key: String,
    /// The SANs from the extensionRequest, in order.
    pub sans: Vec<San>,
    /// Other requested extensions, described, which signing does not copy.
    pub ignored: Vec<String>,
}

/// The key of a request, as far as signing and verifying care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa(usize),
    P256,
    P384,
    P521,
    Ed25519,
}

impl KeyKind {
    fn describe(self) -> String {
        match self {
            KeyKind::Rsa(bits) => format!("RSA {bits} bits"),
            KeyKind::P256 => "ECDSA P-256".into(),
            KeyKind::P384 => "ECDSA P-384".into(),
            KeyKind::P521 => "ECDSA P-521".into(),
            KeyKind::Ed25519 => "Ed25519".into(),
        }
    }
}

/// The largest RSA modulus pkitool can verify (aws-lc's limit).
const MAX_RSA_BITS: usize = 8192;

/// The key of a SubjectPublicKeyInfo, or why it is refused.
fn check_key(req: &X509CertificationRequest<'_>) -> Result<KeyKind, CsrError> {
    let spki = &req.certification_request_info.subject_pki;
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" => match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => {
                let m = rsa.modulus;
                let bits = m
                    .iter()
                    .position(|&b| b != 0)
                    .and_then(|i| {
                        let first = *m.get(i)?;
                        Some((m.len() - i - 1) * 8 + (8 - first.leading_zeros() as usize))
                    })
                    .unwrap_or(0);
                if bits < MIN_RSA_BITS {
                    Err(CsrError::WeakKey { bits })
                } else if bits > MAX_RSA_BITS {
                    Err(CsrError::UnsupportedKey(format!(
                        "RSA {bits} bits (at most {MAX_RSA_BITS})"
                    )))
                } else {
                    Ok(KeyKind::Rsa(bits))
                }
            }
            _ => Err(CsrError::Malformed(
                "the RSA public key cannot be parsed".into(),
            )),
        },
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            match curve.as_str() {
                "1.2.840.10045.3.1.7" => Ok(KeyKind::P256),
                "1.3.132.0.34" => Ok(KeyKind::P384),
                "1.3.132.0.35" => Ok(KeyKind::P521),
                "" => Err(CsrError::UnsupportedKey(
                    "ECDSA without a named curve".into(),
                )),
                other => Err(CsrError::UnsupportedKey(format!("ECDSA on curve {other}"))),
            }
        }
        "1.3.101.112" => Ok(KeyKind::Ed25519),
        "1.3.101.113" => Err(CsrError::UnsupportedKey("Ed448".into())),
        "1.2.840.113549.1.1.10" => Err(CsrError::UnsupportedKey("RSA-PSS".into())),
        "1.2.840.10040.4.1" => Err(CsrError::UnsupportedKey("DSA".into())),
        other => Err(CsrError::UnsupportedKey(format!("algorithm {other}"))),
    }
}

/// The hash of an RSA-PSS AlgorithmIdentifier, if aws-lc can verify it: the hash SHA-256/384/512,
/// MGF1 with the same hash, a salt as long as the hash (what openssl writes with
/// `-sigopt rsa_pss_saltlen:digest`, and GnuTLS by default).
fn pss_alg(
    req: &X509CertificationRequest<'_>,
) -> Result<&'static dyn signature::VerificationAlgorithm, CsrError> {
    let unsupported = |why: String| CsrError::UnsupportedSignature(format!("RSA-PSS {why}"));
    let params = req
        .signature_algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| unsupported("without parameters".into()))?;
    let params = RsaSsaPssParams::try_from(params.clone())
        .map_err(|e| unsupported(format!("with unreadable parameters ({e})")))?;
    let hash = params.hash_algorithm_oid().to_id_string();
    let (alg, len): (&'static dyn signature::VerificationAlgorithm, u32) = match hash.as_str() {
        "2.16.840.1.101.3.4.2.1" => (&signature::RSA_PSS_2048_8192_SHA256, 32),
        "2.16.840.1.101.3.4.2.2" => (&signature::RSA_PSS_2048_8192_SHA384, 48),
        "2.16.840.1.101.3.4.2.3" => (&signature::RSA_PSS_2048_8192_SHA512, 64),
        other => return Err(unsupported(format!("with hash {other}"))),
    };
    let mgf_hash = params
        .mask_gen_algorithm()
        .map(|m| m.mgf.to_id_string() + "/" + &m.hash.to_id_string())
        .unwrap_or_default();
    if mgf_hash != format!("1.2.840.113549.1.1.8/{hash}") {
        return Err(unsupported(format!(
            "with a mask generation function other than MGF1 with the same hash ({mgf_hash})"
        )));
    }
    if params.salt_length() != len {
        return Err(unsupported(format!(
            "with a {}-byte salt (pkitool verifies salts as long as the hash, {len} bytes; openssl makes those with the option -sigopt rsa_pss_saltlen:digest)",
            params.salt_length()
        )));
    }
    Ok(alg)
}

/// Verifies the request's self-signature with the key it carries. An algorithm pkitool cannot
/// verify is "unsupported", not "bad".
fn verify(req: &X509CertificationRequest<'_>, key: KeyKind) -> Result<(), CsrError> {
    let sig_oid = req.signature_algorithm.algorithm.to_id_string();
    let mismatch = || {
        CsrError::BadSignature(format!(
            "the signature algorithm {sig_oid} does not fit the request's key ({})",
            key.describe()
        ))
    };
    let unsupported = || {
        CsrError::UnsupportedSignature(format!(
            "algorithm {sig_oid} with the request's key ({})",
            key.describe()
        ))
    };
    let alg: &'static dyn signature::VerificationAlgorithm = match (sig_oid.as_str(), key) {
        ("1.2.840.113549.1.1.5" | "1.3.14.3.2.29", KeyKind::Rsa(_)) => {
            &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        ("1.2.840.113549.1.1.11", KeyKind::Rsa(_)) => &signature::RSA_PKCS1_2048_8192_SHA256,
        ("1.2.840.113549.1.1.12", KeyKind::Rsa(_)) => &signature::RSA_PKCS1_2048_8192_SHA384,
        ("1.2.840.113549.1.1.13", KeyKind::Rsa(_)) => &signature::RSA_PKCS1_2048_8192_SHA512,
        ("1.2.840.113549.1.1.10", KeyKind::Rsa(_)) => pss_alg(req)?,
        ("1.2.840.10045.4.1", KeyKind::P256) => &signature::ECDSA_P256_SHA1_ASN1,
        ("1.2.840.10045.4.3.2", KeyKind::P256) => &signature::ECDSA_P256_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", KeyKind::P256) => &signature::ECDSA_P256_SHA384_ASN1,
        ("1.2.840.10045.4.3.4", KeyKind::P256) => &signature::ECDSA_P256_SHA512_ASN1,
        ("1.2.840.10045.4.3.2", KeyKind::P384) => &signature::ECDSA_P384_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", KeyKind::P384) => &signature::ECDSA_P384_SHA384_ASN1,
        ("1.2.840.10045.4.3.4", KeyKind::P384) => &signature::ECDSA_P384_SHA512_ASN1,
        ("1.2.840.10045.4.1", KeyKind::P521) => &signature::ECDSA_P521_SHA1_ASN1,
        ("1.2.840.10045.4.3.1", KeyKind::P521) => &signature::ECDSA_P521_SHA224_ASN1,
        ("1.2.840.10045.4.3.2", KeyKind::P521) => &signature::ECDSA_P521_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", KeyKind::P521) => &signature::ECDSA_P521_SHA384_ASN1,
        ("1.2.840.10045.4.3.4", KeyKind::P521) => &signature::ECDSA_P521_SHA512_ASN1,
        ("1.3.101.112", KeyKind::Ed25519) => &signature::ED25519,
        (
            "1.2.840.113549.1.1.5"
            | "1.3.14.3.2.29"
            | "1.2.840.113549.1.1.11"
            | "1.2.840.113549.1.1.12"
            | "1.2.840.113549.1.1.13"
            | "1.2.840.113549.1.1.10",
            _,
        )
        | ("1.3.101.112", _) => return Err(mismatch()),
        (o, KeyKind::Rsa(_) | KeyKind::Ed25519) if o.starts_with("1.2.840.10045.4") => {
            return Err(mismatch());
        }
        _ => return Err(unsupported()),
    };
    let info = &req.certification_request_info;
    if req.signature_value.unused_bits != 0 {
        return Err(CsrError::BadSignature(
            "the signature BIT STRING has unused bits".into(),
        ));
    }
    signature::UnparsedPublicKey::new(alg, info.subject_pki.subject_public_key.data.as_ref())
        .verify(info.raw, req.signature_value.data.as_ref())
        .map_err(|_| CsrError::BadSignature("signature verification failed".into()))
}

fn general_name_to_san(g: &GeneralName<'_>) -> Result<San, CsrError> {
    match g {
        GeneralName::DNSName(d) => {
            build::check_dns_name(d).map_err(|e| CsrError::BadSan(e.to_string()))?;
            Ok(San::Dns((*d).to_string()))
        }
        GeneralName::IPAddress(b) => {
            if let Ok(a) = <[u8; 4]>::try_from(*b) {
                Ok(San::Ip(std::net::IpAddr::from(a)))
            } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                Ok(San::Ip(std::net::IpAddr::from(a)))
            } else {
                Err(CsrError::BadSan(format!(
                    "an IP address of {} bytes (4 or 16 expected)",
                    b.len()
                )))
            }
        }
        other => {
            let shown = match other {
                GeneralName::RFC822Name(e) => format!("email:{e}"),
                GeneralName::URI(u) => format!("URI:{u}"),
                GeneralName::DirectoryName(n) => format!("DirName:{n}"),
                GeneralName::OtherName(oid, _) => format!("otherName {oid}"),
                GeneralName::RegisteredID(oid) => format!("registeredID {oid}"),
                _ => "an X.400 or EDI party name".to_string(),
            };
            Err(CsrError::BadSan(format!(
                "{shown} is neither a DNS name nor an IP address (the only names libvirt and QEMU check); request again without it"
            )))
        }
    }
}

/// Parses a request file's bytes (PEM or DER), verifies its signature and checks what it asks
/// for. See the module documentation for what is refused.
pub fn parse(bytes: &[u8]) -> Result<Csr, CsrError> {
    let contents = load::parse(bytes)?;
    let csrs: Vec<&load::Object> = contents.of_kind(&ObjectKind::Csr).collect();
    let obj = match csrs.as_slice() {
        [one] => *one,
        [] => {
            let found = contents
                .objects
                .first()
                .map(|o| o.kind.describe())
                .unwrap_or_else(|| "file without PEM blocks".into());
            return Err(CsrError::NotACsr { found });
        }
        many => return Err(CsrError::Several(many.len())),
    };
    parse_der(&obj.der)
}

/// [`parse`] for one DER request.
pub fn parse_der(der: &[u8]) -> Result<Csr, CsrError> {
    load::check_der(der, &ObjectKind::Csr).map_err(|e| CsrError::Malformed(e.to_string()))?;
    let (rest, req) =
        X509CertificationRequest::from_der(der).map_err(|e| CsrError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CsrError::Malformed(format!(
            "{} bytes follow the request",
            rest.len()
        )));
    }
    let info = &req.certification_request_info;
    if info.version.0 != 0 {
        return Err(CsrError::Malformed(format!(
            "version {} (PKCS#10 requests are version 1, encoded 0)",
            info.version.0
        )));
    }
    // The key first: aws-lc refuses to verify RSA signatures under 2048 bits, and the user must
    // hear "weak key", not "bad signature".
    let key = check_key(&req)?;
    verify(&req, key)?;
    let key = key.describe();

    let mut sans = Vec::new();
    let mut ignored = Vec::new();
    let mut requests_ca = Vec::new();
    for attr in info.iter_attributes() {
        let ParsedCriAttribute::ExtensionRequest(er) = attr.parsed_attribute() else {
            continue;
        };
        for ext in &er.extensions {
            let oid = ext.oid.to_id_string();
            match ext.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    for g in &san.general_names {
                        let s = general_name_to_san(g)?;
                        if !sans.contains(&s) {
                            sans.push(s);
                        }
                    }
                }
                ParsedExtension::BasicConstraints(bc) => {
                    if bc.ca {
                        requests_ca.push("basicConstraints CA:TRUE");
                    }
                }
                ParsedExtension::KeyUsage(ku) => {
                    if ku.key_cert_sign() {
                        requests_ca.push("keyUsage keyCertSign");
                    }
                    if ku.crl_sign() {
                        requests_ca.push("keyUsage cRLSign");
                    }
                    ignored.push(format!("keyUsage {ku}"));
                }
                ParsedExtension::ExtendedKeyUsage(_) => {
                    ignored.push("extendedKeyUsage".to_string());
                }
                ParsedExtension::ParseError { error } => {
                    return Err(CsrError::BadExtension {
                        oid,
                        why: error.to_string(),
                    });
                }
                ParsedExtension::SubjectKeyIdentifier(_) => {
                    ignored.push("subjectKeyIdentifier (pkitool computes its own)".to_string())
                }
                _ => ignored.push(format!("extension {oid}")),
            }
        }
    }
    if !requests_ca.is_empty() {
        return Err(CsrError::RequestsCa(requests_ca.join(", ")));
    }
    if info.subject.iter_rdn().next().is_none() {
        return Err(CsrError::EmptySubject);
    }
    Ok(Csr {
        der: der.to_vec(),
        subject_der: info.subject.as_raw().to_vec(),
        subject: crate::x509::dn::format_gnutls(&info.subject),
        common_name: info
            .subject
            .iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .map(str::to_string),
        spki_der: info.subject_pki.raw.to_vec(),
        key,
        sans,
        ignored,
    })
}

/// Builds and signs a request for `key` with `subject` (a DER Name, copied as it is) and `sans`
/// in an extensionRequest (no attribute when there are none). The result is parsed back and its
/// signature verified before it is returned.
pub fn build(subject: &[u8], sans: &[San], key: &KeyPair) -> Result<Vec<u8>, CsrError> {
    let spki = crate::x509::keys::public_key_spki(key);
    let attributes = if sans.is_empty() {
        Vec::new()
    } else {
        let names: Vec<u8> = sans.iter().flat_map(San::encode).collect();
        let ext = der::sequence(&[
            &der::oid(SUBJECT_ALT_NAME),
            &der::octet_string(&der::tlv(tag::SEQUENCE, &names)),
        ]);
        let extensions = der::sequence(&[&ext]);
        der::sequence(&[
            &der::oid(EXTENSION_REQUEST),
            &der::tlv(tag::SET, &extensions),
        ])
    };
    let info = der::sequence(&[
        &der::integer_u64(0),
        subject,
        &spki,
        &der::context(0, true, &attributes),
    ]);
    let alg = build::sig_alg_id(key).map_err(|e| CsrError::Build(e.to_string()))?;
    let sig = key
        .sign(&info)
        .map_err(|e| CsrError::Build(e.to_string()))?;
    let out = der::sequence(&[&info, &alg, &der::bit_string(&sig)]);
    let back = parse_der(&out).map_err(|e| CsrError::Build(format!("self-check: {e}")))?;
    if back.subject_der != subject || back.sans != sans {
        return Err(CsrError::Build(
            "self-check: the request does not read back as written".into(),
        ));
    }
    Ok(out)
}

/// PEM text of a request (`CERTIFICATE REQUEST`, as openssl and certtool write it).
pub fn pem(der: &[u8]) -> String {
    der::pem_lf("CERTIFICATE REQUEST", der.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::build::SubjectFields;
    use crate::x509::keys::{self, KeyType};

    fn subject() -> Vec<u8> {
        SubjectFields {
            dn: build::parse_dn("C=GB,O=Example Org,OU=B,OU=A,CN=host1").unwrap(),
            ..Default::default()
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn builds_requests_that_read_back_for_every_key_type() {
        for kt in [
            KeyType::EcdsaP256,
            KeyType::EcdsaP384,
            KeyType::Ed25519,
            KeyType::Rsa2048,
        ] {
            let key = keys::generate(kt).unwrap();
            let sans = vec![
                San::parse("host1.example.org").unwrap(),
                San::parse("192.0.2.1").unwrap(),
                San::parse("2001:db8::1").unwrap(),
            ];
            let der = build(&subject(), &sans, &key).unwrap();
            let csr = parse(pem(&der).as_bytes()).unwrap();
            assert_eq!(csr.subject_der, subject());
            assert_eq!(csr.subject, "C=GB,O=Example Org,OU=B,OU=A,CN=host1");
            assert_eq!(csr.sans, sans);
            assert_eq!(csr.spki_der, keys::public_key_spki(&key));
            assert_eq!(csr.key, keys::describe(&key));
            assert!(csr.ignored.is_empty());
            // DER in, too.
            assert_eq!(parse(&der).unwrap().subject_der, subject());
        }
    }

    #[test]
    fn no_sans_means_no_attribute() {
        let key = keys::generate(KeyType::EcdsaP256).unwrap();
        let der = build(&subject(), &[], &key).unwrap();
        let csr = parse_der(&der).unwrap();
        assert!(csr.sans.is_empty());
    }

    #[test]
    fn a_flipped_signature_bit_is_a_bad_signature() {
        let key = keys::generate(KeyType::EcdsaP256).unwrap();
        let mut der = build(&subject(), &[], &key).unwrap();
        let last = der.len() - 1;
        der[last] ^= 0x01;
        let e = parse_der(&der).unwrap_err();
        assert!(matches!(e, CsrError::BadSignature(_)), "{e}");
        assert!(e.to_string().starts_with("bad signature"), "{e}");
    }

    #[test]
    fn a_changed_subject_is_a_bad_signature() {
        let key = keys::generate(KeyType::Ed25519).unwrap();
        let der = build(&subject(), &[], &key).unwrap();
        // "host1" -> "host2" inside the signed info.
        let pos = der.windows(5).position(|w| w == b"host1").unwrap();
        let mut bad = der.clone();
        bad[pos + 4] = b'2';
        assert!(matches!(
            parse_der(&bad).unwrap_err(),
            CsrError::BadSignature(_)
        ));
    }

    #[test]
    fn refuses_non_requests_and_garbage() {
        assert!(matches!(parse(b""), Err(CsrError::File(_))));
        assert!(matches!(parse(b"hello world\n"), Err(CsrError::File(_))));
        let key = keys::generate(KeyType::EcdsaP256).unwrap();
        let text = keys::to_pem(&key);
        let e = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            CsrError::NotACsr {
                found: "private key".into()
            }
        );
        let der = build(&subject(), &[], &key).unwrap();
        let two = format!("{}{}", pem(&der), pem(&der));
        assert_eq!(parse(two.as_bytes()).unwrap_err(), CsrError::Several(2));
        // Truncated DER.
        assert!(parse(&der[..der.len() - 10]).is_err());
        // Truncated PEM.
        let p = pem(&der);
        assert!(matches!(
            parse(&p.as_bytes()[..p.len() / 2]),
            Err(CsrError::File(load::ParseError::Truncated { .. }))
        ));
    }
}
