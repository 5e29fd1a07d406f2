//! Building and signing a CRL (RFC 5280 section 5), written by hand like certificates
//! ([`crate::x509::build`]), which avoids two traps of rcgen's CRL writer:
//!
//! - the authorityKeyIdentifier is the CA certificate's own subjectKeyIdentifier, copied (rcgen
//!   derives one from the key, which does not match a certtool-made CA's SKI);
//! - a CA without cRLSign in its key usage still gets a CRL (rcgen refuses to sign it). GnuTLS,
//!   and so QEMU and libvirt, apply a CRL by issuer name and serial only; OpenSSL and
//!   `certtool --verify-crl` reject its signature, and [`build_crl`] says so in
//!   [`BuiltCrl::warnings`].
//!
//! The CRL is v2 with a CRL Number and an AKI; each entry carries a reasonCode unless the
//! reason is unspecified (RFC 5280 5.3.1: the extension should then be absent). The issuer is
//! the CA certificate's subject, byte for byte. The result is parsed back and its signature
//! verified with the CA's public key before it is returned.

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::x509::build::{self, IssueError, Signer};
use crate::x509::der::{self, tag};

const CRL_NUMBER: &[u64] = &[2, 5, 29, 20];
const REASON_CODE: &[u64] = &[2, 5, 29, 21];
const AUTHORITY_KEY_ID: &[u64] = &[2, 5, 29, 35];

/// One revoked certificate.
#[derive(Debug, Clone)]
pub struct Revoked {
    /// Serial magnitude, big-endian.
    pub serial: Vec<u8>,
    /// revocationDate.
    pub date: OffsetDateTime,
    /// CRLReason code (0 = unspecified: no extension).
    pub reason: u8,
}

/// What goes into the CRL.
#[derive(Debug, Clone)]
pub struct CrlSpec {
    /// CRL Number.
    pub number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// The revoked certificates.
    pub revoked: Vec<Revoked>,
}

/// A signed CRL.
#[derive(Debug, Clone)]
pub struct BuiltCrl {
    /// DER.
    pub der: Vec<u8>,
    /// Things the operator must know (a CA without cRLSign).
    pub warnings: Vec<String>,
}

impl BuiltCrl {
    /// PEM (`X509 CRL`, LF line ends).
    pub fn pem(&self) -> String {
        der::pem_lf("X509 CRL", self.der.clone())
    }
}

/// Builds and signs the CRL with the CA (`signer`).
pub fn build_crl(spec: &CrlSpec, signer: &Signer<'_>) -> Result<BuiltCrl, IssueError> {
    let (_, ca) = X509Certificate::from_der(signer.cert_der)
        .map_err(|e| IssueError::BadCaCert(e.to_string()))?;
    if ca.public_key().raw != crate::x509::keys::public_key_spki(signer.key).as_slice() {
        return Err(IssueError::KeyMismatch);
    }
    if spec.next_update <= spec.this_update {
        return Err(IssueError::Validity(
            "nextUpdate must be after thisUpdate".into(),
        ));
    }
    let mut warnings = Vec::new();
    match ca.key_usage() {
        Ok(Some(ku)) if !ku.value.crl_sign() => warnings.push(
            "the CA certificate's key usage lacks cRLSign: QEMU and libvirt still enforce this CRL \
             (GnuTLS matches the issuer name and the serial only), but OpenSSL, certtool --verify-crl \
             and other verifiers reject its signature. A CA made by pkitool init-ca has cRLSign."
                .to_string(),
        ),
        _ => {}
    }
    let ski = ca
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .unwrap_or_else(|| build::key_id(ca.public_key().subject_public_key.data.as_ref()));
    let alg = build::sig_alg_id(signer.key)?;

    let mut entries = Vec::with_capacity(spec.revoked.len() * 48);
    for r in &spec.revoked {
        let serial = der::integer_unsigned(&r.serial);
        let date = der::time(r.date);
        if r.reason == 0 {
            entries.extend(der::sequence(&[&serial, &date]));
        } else {
            let reason = build::extension(REASON_CODE, false, &der::tlv(0x0a, &[r.reason]));
            entries.extend(der::sequence(&[
                &serial,
                &date,
                &der::tlv(tag::SEQUENCE, &reason),
            ]));
        }
    }
    let exts = [
        build::extension(
            AUTHORITY_KEY_ID,
            false,
            &der::sequence(&[&der::context(0, false, &ski)]),
        ),
        build::extension(CRL_NUMBER, false, &der::integer_u64(spec.number)),
    ]
    .concat();
    let mut parts: Vec<Vec<u8>> = vec![
        der::integer_u64(1),
        alg.clone(),
        ca.subject().as_raw().to_vec(),
        der::time(spec.this_update),
        der::time(spec.next_update),
    ];
    if !spec.revoked.is_empty() {
        // An empty revokedCertificates must be omitted, not written empty (RFC 5280 5.1.2.6).
        parts.push(der::tlv(tag::SEQUENCE, &entries));
    }
    parts.push(der::context(0, true, &der::tlv(tag::SEQUENCE, &exts)));
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let tbs = der::sequence(&refs);
    let sig =
        rcgen::SigningKey::sign(signer.key, &tbs).map_err(|e| IssueError::Sign(e.to_string()))?;
    let crl = der::sequence(&[&tbs, &alg, &der::bit_string(&sig)]);

    // Parse back and verify before anyone sees it.
    let (rest, parsed) = CertificateRevocationList::from_der(&crl)
        .map_err(|e| IssueError::SelfCheck(e.to_string()))?;
    if !rest.is_empty() {
        return Err(IssueError::SelfCheck("trailing bytes".into()));
    }
    let (_, spki) = SubjectPublicKeyInfo::from_der(ca.public_key().raw)
        .map_err(|e| IssueError::SelfCheck(e.to_string()))?;
    parsed
        .verify_signature(&spki)
        .map_err(|e| IssueError::SelfCheck(format!("CRL signature does not verify: {e}")))?;
    if parsed.iter_revoked_certificates().count() != spec.revoked.len() {
        return Err(IssueError::SelfCheck("revoked entries lost".into()));
    }
    Ok(BuiltCrl { der: crl, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::build::{CertSpec, Profile, SubjectFields};
    use crate::x509::keys::{self, KeyType};

    #[test]
    fn crl_has_number_aki_reasons_and_verifies() {
        for kt in [KeyType::EcdsaP256, KeyType::Ed25519, KeyType::Rsa2048] {
            let key = keys::generate(kt).unwrap();
            let subject = SubjectFields {
                cn: Some("Test CA".into()),
                ..Default::default()
            };
            let ca = build::self_signed_ca(
                &CertSpec::new(Profile::Ca { path_len: None }, subject, 30).unwrap(),
                &key,
            )
            .unwrap();
            let now = build::now();
            let spec = CrlSpec {
                number: 42,
                this_update: now,
                next_update: now + time::Duration::days(30),
                revoked: vec![
                    Revoked {
                        serial: vec![0x80, 1],
                        date: now,
                        reason: 1,
                    },
                    Revoked {
                        serial: vec![5],
                        date: now,
                        reason: 0,
                    },
                ],
            };
            let signer = Signer {
                cert_der: &ca.der,
                key: &key,
            };
            let crl = build_crl(&spec, &signer).unwrap();
            assert!(crl.warnings.is_empty());
            let (_, p) = CertificateRevocationList::from_der(&crl.der).unwrap();
            assert_eq!(p.crl_number().map(|n| n.to_string()), Some("42".into()));
            let revoked: Vec<_> = p.iter_revoked_certificates().collect();
            assert_eq!(revoked[0].raw_serial(), &[0, 0x80, 1]);
            assert_eq!(revoked[0].reason_code().map(|r| r.1.0), Some(1));
            assert!(revoked[1].reason_code().is_none());
            let (_, cac) = X509Certificate::from_der(&ca.der).unwrap();
            assert_eq!(p.issuer().as_raw(), cac.subject().as_raw());
            let aki = p
                .extensions()
                .iter()
                .find_map(|e| match e.parsed_extension() {
                    ParsedExtension::AuthorityKeyIdentifier(a) => {
                        a.key_identifier.as_ref().map(|k| k.0.to_vec())
                    }
                    _ => None,
                });
            let ski = cac
                .iter_extensions()
                .find_map(|e| match e.parsed_extension() {
                    ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                    _ => None,
                });
            assert_eq!(aki, ski);
            // Empty CRL: no revokedCertificates field at all.
            let empty = build_crl(
                &CrlSpec {
                    revoked: vec![],
                    ..spec.clone()
                },
                &signer,
            )
            .unwrap();
            let (_, p) = CertificateRevocationList::from_der(&empty.der).unwrap();
            assert_eq!(p.iter_revoked_certificates().count(), 0);
        }
    }

    #[test]
    fn refuses_a_foreign_key() {
        let key = keys::generate(KeyType::EcdsaP256).unwrap();
        let other = keys::generate(KeyType::EcdsaP256).unwrap();
        let subject = SubjectFields {
            cn: Some("CA".into()),
            ..Default::default()
        };
        let ca = build::self_signed_ca(
            &CertSpec::new(Profile::Ca { path_len: None }, subject, 30).unwrap(),
            &key,
        )
        .unwrap();
        let now = build::now();
        let e = build_crl(
            &CrlSpec {
                number: 1,
                this_update: now,
                next_update: now + time::Duration::days(1),
                revoked: vec![],
            },
            &Signer {
                cert_der: &ca.der,
                key: &other,
            },
        )
        .unwrap_err();
        assert!(matches!(e, IssueError::KeyMismatch));
    }
}
