//! Certificates made in memory for the checks' unit tests: a CA, intermediates and leaves in a
//! few lines each, so a test states the one property it is about. The expectations of those
//! tests come from the consumers' documented behaviour (`validation-anchors.md`), never from
//! pkitool's own output; the third-party fixtures (certtool, openssl, cfssl, ...) are judged by
//! the integration tests against the live consumers.

use rcgen::KeyPair;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::check::finding::{Finding, Severity};
use crate::x509::build::{
    CertSpec, Profile, San, Signer, SubjectFields, issue_leaf, self_signed_ca,
};
use crate::x509::keys::{self, KeyType};

/// A certificate with its key.
pub struct Made {
    /// DER.
    pub der: Vec<u8>,
    /// Its private key.
    pub key: keys::SecretKeyPair,
}

impl Made {
    /// The parsed certificate.
    pub fn cert(&self) -> X509Certificate<'_> {
        parse(&self.der)
    }

    /// This certificate as the signer of others.
    pub fn signer(&self) -> Signer<'_> {
        Signer {
            cert_der: &self.der,
            key: &self.key,
        }
    }
}

/// Parses DER (panics on a broken fixture).
pub fn parse(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der).expect("fixture parses").1
}

/// A subject with only a CN.
pub fn cn(name: &str) -> SubjectFields {
    SubjectFields {
        cn: Some(name.into()),
        ..Default::default()
    }
}

/// A spec valid for `days` from now.
pub fn spec(profile: Profile, subject: SubjectFields, sans: &[&str], days: i64) -> CertSpec {
    let mut s = CertSpec::new(profile, subject, days).expect("spec");
    s.sans = sans.iter().map(|n| San::parse(n).expect("san")).collect();
    s
}

/// A self-signed root CA named `name`.
pub fn root(name: &str, kt: KeyType) -> Made {
    let key = keys::generate(kt).expect("key");
    let der = self_signed_ca(
        &spec(Profile::Ca { path_len: None }, cn(name), &[], 3650),
        &key,
    )
    .expect("root")
    .der;
    Made { der, key }
}

/// A certificate made from `spec` with a fresh key of `kt`, signed by `issuer`.
pub fn signed(spec: &CertSpec, kt: KeyType, issuer: &Made) -> Made {
    let key = keys::generate(kt).expect("key");
    let der = issue_leaf(spec, &key, &issuer.signer()).expect("issue").der;
    Made { der, key }
}

/// An intermediate CA named `name` under `issuer`.
pub fn intermediate(name: &str, kt: KeyType, issuer: &Made) -> Made {
    signed(
        &spec(Profile::Ca { path_len: None }, cn(name), &[], 1800),
        kt,
        issuer,
    )
}

/// A server certificate for `name` (also its DNS SAN) and `sans`, under `issuer`.
pub fn server(name: &str, sans: &[&str], issuer: &Made) -> Made {
    signed(
        &spec(Profile::Server, cn(name), sans, 365),
        KeyType::EcdsaP256,
        issuer,
    )
}

/// A client certificate for `name` under `issuer`.
pub fn client(name: &str, issuer: &Made) -> Made {
    signed(
        &spec(Profile::Client, cn(name), &[], 365),
        KeyType::EcdsaP256,
        issuer,
    )
}

/// `issuer`'s key, made to sign with another algorithm of its family (rcgen's RSA keys sign
/// with SHA-256 unless told otherwise).
pub fn signing_with(issuer: &Made, alg: &'static rcgen::SignatureAlgorithm) -> Made {
    let key = KeyPair::from_pem_and_sign_algo(&issuer.key.serialize_pem(), alg).expect("re-key");
    Made {
        der: issuer.der.clone(),
        key: zeroize::Zeroizing::new(key),
    }
}

/// `der` with the OID of its outer signatureAlgorithm ending in `to` instead of `from` (the
/// last content byte of the OID, which keeps every length): a certificate that claims another
/// signature algorithm, for checks that read only the claim.
pub fn with_outer_sig_oid_last_byte(der: &[u8], from: u8, to: u8) -> Vec<u8> {
    let cert = parse(der);
    let oid = cert.signature_algorithm.algorithm.as_bytes().to_vec();
    assert_eq!(oid.last(), Some(&from), "fixture's signature OID");
    // The outer AlgorithmIdentifier follows the TBS: search after it.
    let tbs: &[u8] = cert.tbs_certificate.as_ref();
    let tbs_end = tbs.as_ptr() as usize - der.as_ptr() as usize + tbs.len();
    let mut out = der.to_vec();
    let at = out[tbs_end..]
        .windows(oid.len())
        .position(|w| w == oid.as_slice())
        .expect("outer signature OID")
        + tbs_end
        + oid.len()
        - 1;
    out[at] = to;
    out
}

/// Each finding's code and severity, in order.
pub fn codes(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
    findings.iter().map(|f| (f.code, f.severity)).collect()
}

/// The one finding with `code` (panics, listing them all, when there is not exactly one).
pub fn only<'f>(findings: &'f [Finding], code: &str) -> &'f Finding {
    let hits: Vec<&Finding> = findings.iter().filter(|f| f.code == code).collect();
    assert_eq!(hits.len(), 1, "{code} in {:?}", codes(findings));
    hits[0]
}

/// A certificate from raw rcgen parameters (for the odd extensions pkitool itself never
/// writes), with a fresh key of `kt`: self-signed without `issuer`.
pub fn raw(params: rcgen::CertificateParams, kt: KeyType, issuer: Option<&Made>) -> Made {
    let key = keys::generate(kt).expect("key");
    let der = match issuer {
        None => params.self_signed(&*key),
        Some(ca) => {
            let ca_der = rustls_pki_types::CertificateDer::from(ca.der.as_slice());
            let iss = rcgen::Issuer::from_ca_cert_der(&ca_der, &*ca.key).expect("issuer");
            params.signed_by(&*key, &iss)
        }
    }
    .expect("sign")
    .der()
    .to_vec();
    Made { der, key }
}

/// rcgen parameters with a CN and no extensions at all (rcgen adds none unless asked).
pub fn bare(name: &str) -> rcgen::CertificateParams {
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    p
}

/// A raw extension.
pub fn ext(oid: &[u64], critical: bool, content: Vec<u8>) -> rcgen::CustomExtension {
    let mut e = rcgen::CustomExtension::from_oid_content(oid, content);
    e.set_criticality(critical);
    e
}

/// keyUsage with the bits of its first byte (0x80 digitalSignature, 0x20 keyEncipherment,
/// 0x04 keyCertSign, 0x02 cRLSign).
pub fn key_usage(critical: bool, bits: u8) -> rcgen::CustomExtension {
    let unused = if bits == 0 {
        0
    } else {
        bits.trailing_zeros() as u8
    };
    ext(&[2, 5, 29, 15], critical, vec![0x03, 0x02, unused, bits])
}

/// extendedKeyUsage with these purposes (last arc of 1.3.6.1.5.5.7.3: 1 serverAuth,
/// 2 clientAuth, 3 codeSigning; 0 for anyExtendedKeyUsage 2.5.29.37.0).
pub fn ext_key_usage(critical: bool, purposes: &[u8]) -> rcgen::CustomExtension {
    let mut seq = Vec::new();
    for &p in purposes {
        if p == 0 {
            seq.extend([0x06, 0x04, 0x55, 0x1d, 0x25, 0x00]);
        } else {
            seq.extend([0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, p]);
        }
    }
    let mut content = vec![0x30, seq.len() as u8];
    content.extend(seq);
    ext(&[2, 5, 29, 37], critical, content)
}

/// basicConstraints (critical), CA:TRUE or CA:FALSE.
pub fn basic_constraints(ca: bool) -> rcgen::CustomExtension {
    let content = if ca {
        vec![0x30, 0x03, 0x01, 0x01, 0xff]
    } else {
        vec![0x30, 0x00]
    };
    ext(&[2, 5, 29, 19], true, content)
}

/// Validation options at `at` (Unix seconds), warning 30 days ahead, the default consumers.
pub fn options(at: i64) -> crate::check::Options {
    crate::check::Options {
        at,
        warn_within_days: 30,
        hostnames: Vec::new(),
        allowed_dn: Vec::new(),
        allowed_dn_source: "--allowed-dn".into(),
        consumers: Default::default(),
        conf_allowed_dn: Vec::new(),
        conf_allowed_dn_source: String::new(),
        root: "/".into(),
    }
}

/// `der` (a certificate) as PEM in a fresh file of a fresh directory (kept alive by the
/// returned guard): for checks that look at the file (fixes that renew it in place).
pub fn on_disk(name: &str, der: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(
        &path,
        pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec())),
    )
    .expect("write");
    (dir, path)
}
