//! Chain rules: each leaf signed by a CA in the CA file (which GnuTLS treats as trust anchors,
//! intermediates included), intermediates appended to the leaf file (refused by libvirt and QEMU
//! up to 10.1), the CA-bundle rules, and insecure signature algorithms.

use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;

use super::{CertRef, rsa_bits};
use crate::check::finding::{Finding, Severity};
use crate::consumer::rules::ca_bundle_limit;
use crate::consumer::{Consumer, Consumers};

/// The insecure hash a certificate is signed with, if any ([`crate::consumer::gnutls`]).
pub fn insecure_hash(cert: &X509Certificate<'_>) -> Option<&'static str> {
    crate::consumer::gnutls::insecure_signature_hash(
        &cert.signature_algorithm.algorithm.to_id_string(),
    )
}

/// True when the certificate names itself as issuer.
pub fn self_issued(cert: &X509Certificate<'_>) -> bool {
    cert.subject().as_raw() == cert.issuer().as_raw()
}

/// SHA-1/MD5 signatures: an error on a leaf (GnuTLS refuses it during verification); on a CA
/// GnuTLS never checks an anchor's own signature, so a self-signed root is a note and an
/// intermediate anchor a warning.
pub fn weak_signature(c: &CertRef<'_, '_>, is_ca: bool, out: &mut Vec<Finding>) {
    let Some(hash) = insecure_hash(c.cert) else {
        return;
    };
    let p = c.path.display();
    let (sev, why) = if !is_ca {
        (
            Severity::Error,
            format!(
                "GnuTLS refuses {hash} signatures: libvirt and QEMU print \"Our own certificate {p} failed validation against ...: The certificate uses an insecure algorithm\""
            ),
        )
    } else if self_issued(c.cert) {
        (
            Severity::Note,
            "GnuTLS does not check a trust anchor's own signature, so libvirt and QEMU accept it; some audit tools flag it".to_string(),
        )
    } else {
        (
            Severity::Warning,
            "libvirt and QEMU use it as a trust anchor without checking its signature, but stacks that build the chain to the root (OpenSSL with the root only) refuse it".to_string(),
        )
    };
    out.push(
        c.f("PKI-C04", sev, format!("signed with {hash}"))
            .why(why)
            .fix(if is_ca {
                "re-create the CA with SHA-256: pkitool init-ca --dir DIR --cn NAME".to_string()
            } else {
                // renew signs with the CA key's own algorithm (SHA-256 or better).
                c.renew_in_place()
            }),
    );
}

/// The aws-lc algorithm for the common signature algorithms (the same mapping x509-parser's
/// verifier uses); None for anything else, which then goes through x509-parser.
fn fast_algorithm(
    cert: &X509Certificate<'_>,
    ca: &X509Certificate<'_>,
) -> Option<&'static dyn aws_lc_rs::signature::VerificationAlgorithm> {
    use aws_lc_rs::signature as sig;
    let curve = || {
        ca.public_key()
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string())
    };
    Some(
        match cert.signature_algorithm.algorithm.to_id_string().as_str() {
            "1.2.840.113549.1.1.11" => &sig::RSA_PKCS1_2048_8192_SHA256,
            "1.2.840.113549.1.1.12" => &sig::RSA_PKCS1_2048_8192_SHA384,
            "1.2.840.113549.1.1.13" => &sig::RSA_PKCS1_2048_8192_SHA512,
            "1.2.840.10045.4.3.2" => match curve()?.as_str() {
                "1.2.840.10045.3.1.7" => &sig::ECDSA_P256_SHA256_ASN1,
                "1.3.132.0.34" => &sig::ECDSA_P384_SHA256_ASN1,
                _ => return None,
            },
            "1.2.840.10045.4.3.3" => match curve()?.as_str() {
                "1.2.840.10045.3.1.7" => &sig::ECDSA_P256_SHA384_ASN1,
                "1.3.132.0.34" => &sig::ECDSA_P384_SHA384_ASN1,
                _ => return None,
            },
            "1.3.101.112" => &sig::ED25519,
            _ => return None,
        },
    )
}

/// One cached issuer key: its SubjectPublicKeyInfo, the signature algorithm OID, the parsed key
/// (None when aws-lc refuses it for that algorithm).
type ParsedKey = (
    Vec<u8>,
    String,
    Option<aws_lc_rs::signature::ParsedPublicKey>,
);

thread_local! {
    /// Parsed issuer keys (by SubjectPublicKeyInfo and signature algorithm): fleet mode checks
    /// thousands of leaves against one CA, and parsing its key once per thread instead of once
    /// per leaf saves the point decoding and validation each time.
    static PARSED_KEYS: std::cell::RefCell<Vec<ParsedKey>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Verifies `cert`'s signature with `ca`'s key through a cached parsed key. `None` when this
/// path does not apply (the caller then asks x509-parser).
fn fast_verify(cert: &X509Certificate<'_>, ca: &X509Certificate<'_>) -> Option<bool> {
    let alg = fast_algorithm(cert, ca)?;
    let spki = ca.public_key().raw;
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    PARSED_KEYS.with(|cell| {
        let mut keys = cell.borrow_mut();
        let i = match keys
            .iter()
            .position(|(k, o, _)| k.as_slice() == spki && *o == oid)
        {
            Some(i) => i,
            None => {
                let parsed = aws_lc_rs::signature::ParsedPublicKey::new(
                    alg,
                    ca.public_key().subject_public_key.data.as_ref(),
                )
                .ok();
                // A handful of CAs at most; keep the cache bounded all the same.
                if keys.len() >= 64 {
                    keys.clear();
                }
                keys.push((spki.to_vec(), oid, parsed));
                keys.len() - 1
            }
        };
        // A key aws-lc will not parse for this algorithm (RSA under 2048 bits): x509-parser's
        // path decides, as before.
        let key = keys.get(i)?.2.as_ref()?;
        let tbs: &[u8] = cert.tbs_certificate.as_ref();
        Some(key.verify_sig(tbs, &cert.signature_value.data).is_ok())
    })
}

/// The key family a signature algorithm needs (None when unknown).
fn signature_family(cert: &X509Certificate<'_>) -> Option<super::KeyAlg> {
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    if oid.starts_with("1.2.840.10045.4.") {
        Some(super::KeyAlg::Ec)
    } else if oid.starts_with("1.2.840.113549.1.1.") {
        Some(super::KeyAlg::Rsa)
    } else if oid == "1.3.101.112" || oid == "1.3.101.113" {
        Some(super::KeyAlg::Ed)
    } else {
        None
    }
}

/// How a certificate relates to a candidate issuer set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    /// Signed by `cas[i]`.
    Found(usize),
    /// `cas[i]` has the right name but its signature could not be checked here (an algorithm or
    /// key size the verifier does not support); GnuTLS may still accept it.
    Unchecked(usize),
    /// A CA with the issuer's name exists but did not sign it (a different key).
    WrongKey(usize),
    /// No CA with the issuer's name.
    None,
}

/// Finds the issuer of `cert` among `cas`.
pub fn find_issuer(cert: &X509Certificate<'_>, cas: &[X509Certificate<'_>]) -> Issuer {
    let issuer = cert.issuer().as_raw();
    let mut result = Issuer::None;
    for (i, ca) in cas.iter().enumerate() {
        if ca.subject().as_raw() != issuer {
            continue;
        }
        let verified = match fast_verify(cert, ca) {
            Some(true) => Ok(()),
            Some(false) => Err(X509Error::SignatureVerificationError),
            None => cert.verify_signature(Some(ca.public_key())),
        };
        match verified {
            Ok(()) => return Issuer::Found(i),
            // A signature of one family (ECDSA) under a key of another (RSA) is no signature
            // of that CA, whatever the verifier supports: a different key with the same name.
            Err(X509Error::SignatureUnsupportedAlgorithm)
                if signature_family(cert).is_some_and(|f| f != super::key_alg(ca)) =>
            {
                if result == Issuer::None {
                    result = Issuer::WrongKey(i);
                }
            }
            Err(X509Error::SignatureUnsupportedAlgorithm) => result = Issuer::Unchecked(i),
            Err(_) => {
                // x509-parser (aws-lc) refuses RSA keys under 2048 bits with a plain
                // verification error; GnuTLS accepts them. Do not call that a wrong key.
                if rsa_bits(ca).is_some_and(|b| b < 2048) {
                    result = Issuer::Unchecked(i);
                } else if result == Issuer::None {
                    result = Issuer::WrongKey(i);
                }
            }
        }
    }
    result
}

/// Chain of one leaf. `extras` are the certificates after the leaf in its own file. Returns the
/// index of the issuing CA in `cas`.
pub fn leaf_chain(
    c: &CertRef<'_, '_>,
    extras: &[X509Certificate<'_>],
    cas: &[X509Certificate<'_>],
    ca_path: &std::path::Path,
    consumers: &Consumers,
    out: &mut Vec<Finding>,
) -> Option<usize> {
    let p = c.path.display();
    let ca = ca_path.display();
    match find_issuer(c.cert, cas) {
        Issuer::Found(i) => {
            beyond_import_limit(c, i, ca_path, consumers, out);
            missing_root(c, i, cas, ca_path, out);
            if !extras.is_empty() {
                out.push(
                    c.f(
                        "PKI-C03",
                        Severity::Note,
                        format!("{} more certificate(s) after the leaf; the CA file already holds its issuer", extras.len()),
                    )
                    .why("libvirt's and QEMU's checks read only the first certificate of this file; GnuTLS sends the rest to peers, which is harmless")
                    .fix(format!("optional: keep only the leaf in {p}")),
                );
            }
            Some(i)
        }
        Issuer::Unchecked(i) => {
            beyond_import_limit(c, i, ca_path, consumers, out);
            out.push(
                c.f("PKI-C07", Severity::Note, "the issuer's signature could not be verified here (algorithm or key size unsupported by pkitool's verifier)")
                    .why("GnuTLS may still accept it; the issuer name matches a CA in the CA file")
                    .fix(format!("cross-check: certtool --verify --load-ca-certificate {ca} --infile {p}")),
            );
            Some(i)
        }
        other => {
            // Can the extras complete the chain?
            let via_extra = match find_issuer(c.cert, extras) {
                Issuer::Found(j) | Issuer::Unchecked(j) => extras.get(j).map(|x| {
                    matches!(find_issuer(x, cas), Issuer::Found(_) | Issuer::Unchecked(_))
                }),
                _ => None,
            };
            let issuer_dn = crate::x509::dn::format_gnutls(c.cert.issuer());
            if via_extra == Some(true) {
                out.push(
                    c.f(
                        "PKI-C02",
                        Severity::Error,
                        "the issuing intermediate CA is only in the certificate file, not in the CA file",
                    )
                    .why(format!("libvirt and QEMU up to 10.1 read only the first certificate of {p}: \"Our own certificate {p} failed validation against {ca}: The certificate hasn't got a known issuer\". QEMU 10.2 accepts chains in the certificate file"))
                    .fix(format!("move the intermediate CA certificate(s) from {p} to the end of {ca}, and keep only the leaf in {p}")),
                );
            } else {
                let why_extra = match other {
                    Issuer::WrongKey(_) => format!(
                        "a CA named \"{issuer_dn}\" is in {ca}, but its key did not sign this certificate (a re-created CA with the same name?)"
                    ),
                    _ => format!("no CA named \"{issuer_dn}\" is in {ca}"),
                };
                out.push(
                    c.f(
                        "PKI-C01",
                        Severity::Error,
                        format!("not signed by any CA in {ca}"),
                    )
                    .why(format!("{why_extra}. libvirt and QEMU refuse it: \"Our own certificate {p} failed validation against {ca}: The certificate hasn't got a known issuer\"; peers reject it the same way"))
                    .fix(format!("put the issuing CA in {ca}, or re-issue from this CA: {}", c.renew_fix())),
                );
            }
            None
        }
    }
}

/// Bundle hygiene: more certificates than some judged consumer checks (libvirt, and QEMU up to
/// 10.1, check only the first 16: [`crate::consumer::rules::ca_bundle_checked_by_all`]) and
/// duplicates.
pub fn bundle(path: &std::path::Path, ders: &[&[u8]], at: &Consumers, out: &mut Vec<Finding>) {
    let p = path.display();
    if let Some(limit) = crate::consumer::rules::ca_bundle_checked_by_all(at)
        && ders.len() > limit
    {
        out.push(
            Finding::new(
                "PKI-C05",
                Severity::Warning,
                format!("{} certificates in the CA file; only the first {limit} are sanity-checked", ders.len()),
            )
            .path(path)
            .role(crate::check::finding::FRole::Ca)
            .why(format!("libvirt and QEMU up to 10.1 import at most {limit} CA certificates for their checks: problems in the rest go unnoticed until a handshake fails"))
            .fix(format!("keep only the CAs this PKI uses in {p}")),
        );
    }
    for (i, d) in ders.iter().enumerate() {
        if let Some(j) = ders.iter().take(i).position(|e| e == d) {
            out.push(
                Finding::new(
                    "PKI-C06",
                    Severity::Note,
                    format!("certificate #{} is a duplicate of #{}", i + 1, j + 1),
                )
                .path(path)
                .role(crate::check::finding::FRole::Ca)
                .why("harmless, but it counts towards the 16 certificates libvirt and QEMU check")
                .fix(format!("remove the duplicate from {p}")),
            );
        }
    }
}

/// PKI-C08: the issuing CA sits after the certificates a consumer imports from the CA file
/// (libvirt and QEMU up to 10.1 read at most 16): for that consumer the leaf has no issuer.
fn beyond_import_limit(
    c: &CertRef<'_, '_>,
    i: usize,
    ca_path: &std::path::Path,
    consumers: &Consumers,
    out: &mut Vec<Finding>,
) {
    let refusing: Vec<String> = Consumer::ALL
        .iter()
        .filter_map(|&k| {
            let v = consumers.version(k);
            ca_bundle_limit(k, v)
                .filter(|limit| i >= *limit)
                .map(|limit| format!("{} {v} (reads the first {limit})", k.name()))
        })
        .collect();
    if refusing.is_empty() {
        return;
    }
    let p = c.path.display();
    let ca = ca_path.display();
    out.push(
        c.f(
            "PKI-C08",
            Severity::Error,
            format!("the issuing CA is certificate #{} of {ca}, past the ones libvirt and QEMU import", i + 1),
        )
        .why(format!(
            "{} never see(s) it and refuse(s) to start: \"Our own certificate {p} failed validation against {ca}: The certificate hasn't got a known issuer\"; QEMU 10.2+ imports the whole file",
            refusing.join(" and ")
        ))
        .fix(format!(
            "move the issuing CA to the front of {ca}, or keep only the CAs this PKI uses in it"
        )),
    );
}

/// PKI-C09: the CA file holds the issuing intermediate but not the root above it. GnuTLS uses
/// any certificate of the CA file as a trust anchor, so libvirt and QEMU accept it; OpenSSL-based
/// peers build the chain to a self-signed root and refuse it without `-partial_chain`.
fn missing_root(
    c: &CertRef<'_, '_>,
    i: usize,
    cas: &[X509Certificate<'_>],
    ca_path: &std::path::Path,
    out: &mut Vec<Finding>,
) {
    let mut at = i;
    for _ in 0..=cas.len() {
        let Some(cur) = cas.get(at) else { return };
        if self_issued(cur) {
            return;
        }
        match cas
            .iter()
            .enumerate()
            .find(|(j, up)| *j != at && up.subject().as_raw() == cur.issuer().as_raw())
        {
            Some((j, _)) => at = j,
            None => {
                let top = crate::x509::dn::format_gnutls(cur.issuer());
                let ca = ca_path.display();
                out.push(
                    c.f(
                        "PKI-C09",
                        Severity::Warning,
                        format!("{ca} holds the issuing intermediate CA but not the root \"{top}\" above it"),
                    )
                    .why(format!(
                        "GnuTLS trusts any certificate of the CA file as an anchor, so libvirt and QEMU accept it; OpenSSL-based peers refuse it (\"openssl verify -CAfile {ca}\": \"unable to get issuer certificate\") unless they pass -partial_chain"
                    ))
                    .fix(format!("append the root CA certificate \"{top}\" to {ca}")),
                );
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::finding::FRole;
    use crate::check::testkit::{self, Made, codes, only};
    use crate::x509::keys::KeyType;
    use std::path::Path;

    const CA_FILE: &str = "/etc/pki/CA/cacert.pem";

    fn chain_of(leaf: &Made, extras: &[&Made], cas: &[&Made]) -> (Option<usize>, Vec<Finding>) {
        let cert = leaf.cert();
        let path = Path::new("/etc/pki/libvirt/servercert.pem");
        let c = CertRef::new(&cert, path, FRole::Server, 0);
        let extras: Vec<_> = extras.iter().map(|m| m.cert()).collect();
        let cas: Vec<_> = cas.iter().map(|m| m.cert()).collect();
        let mut out = Vec::new();
        let i = leaf_chain(
            &c,
            &extras,
            &cas,
            Path::new(CA_FILE),
            &Consumers::default(),
            &mut out,
        );
        (i, out)
    }

    #[test]
    fn sha1_and_md5_signatures_are_named_and_judged_by_role() {
        // sha256WithRSAEncryption (…1.1.11) claimed as sha1WithRSA (…1.1.5) or md5WithRSA (…1.1.4).
        let root = testkit::root("Root", KeyType::Rsa2048);
        let inter = testkit::intermediate("Inter", KeyType::Rsa2048, &root);
        let leaf = testkit::signed(
            &testkit::spec(
                crate::x509::build::Profile::Client,
                testkit::cn("c"),
                &[],
                30,
            ),
            KeyType::Rsa2048,
            &root,
        );
        let sha1 = |m: &Made| testkit::with_outer_sig_oid_last_byte(&m.der, 11, 5);
        let (root1, inter1, leaf1) = (sha1(&root), sha1(&inter), sha1(&leaf));
        let md5 = testkit::with_outer_sig_oid_last_byte(&leaf.der, 11, 4);
        assert_eq!(insecure_hash(&testkit::parse(&leaf1)), Some("SHA-1"));
        assert_eq!(insecure_hash(&testkit::parse(&md5)), Some("MD5"));
        assert_eq!(insecure_hash(&leaf.cert()), None);

        let judge = |der: &[u8], is_ca: bool| {
            let cert = testkit::parse(der);
            let c = CertRef::new(&cert, Path::new("x.pem"), FRole::Client, 0);
            let mut out = Vec::new();
            weak_signature(&c, is_ca, &mut out);
            out
        };
        // A leaf: GnuTLS refuses it during verification.
        let f = judge(&leaf1, false);
        assert_eq!(codes(&f), [("PKI-C04", Severity::Error)]);
        assert_eq!(f[0].message, "signed with SHA-1");
        assert!(
            f[0].why
                .contains("The certificate uses an insecure algorithm")
        );
        // A self-signed anchor's own signature is never checked: a note.
        assert_eq!(codes(&judge(&root1, true)), [("PKI-C04", Severity::Note)]);
        // An intermediate used as an anchor: a warning (OpenSSL with the root only refuses).
        assert_eq!(
            codes(&judge(&inter1, true)),
            [("PKI-C04", Severity::Warning)]
        );
        assert!(judge(&leaf.der, false).is_empty());
    }

    #[test]
    fn self_issued_compares_subject_and_issuer() {
        let root = testkit::root("Root", KeyType::EcdsaP256);
        assert!(self_issued(&root.cert()));
        assert!(!self_issued(
            &testkit::intermediate("Inter", KeyType::EcdsaP256, &root).cert()
        ));
    }

    #[test]
    fn every_common_algorithm_takes_the_cached_aws_lc_path() {
        use crate::x509::build::Profile;
        for (kt, alg) in [
            (KeyType::EcdsaP256, None),
            (KeyType::EcdsaP384, None),
            (KeyType::Ed25519, None),
            (KeyType::Rsa2048, None),
            (KeyType::Rsa2048, Some(&rcgen::PKCS_RSA_SHA384)),
            (KeyType::Rsa2048, Some(&rcgen::PKCS_RSA_SHA512)),
        ] {
            let ca = testkit::root("CA", kt);
            let ca = match alg {
                Some(a) => testkit::signing_with(&ca, a),
                None => ca,
            };
            let leaf = testkit::signed(
                &testkit::spec(Profile::Client, testkit::cn("c"), &[], 30),
                KeyType::EcdsaP256,
                &ca,
            );
            let what = format!("{kt:?} {}", leaf.cert().signature_algorithm.algorithm);
            assert!(fast_algorithm(&leaf.cert(), &ca.cert()).is_some(), "{what}");
            assert_eq!(fast_verify(&leaf.cert(), &ca.cert()), Some(true), "{what}");
            assert_eq!(
                find_issuer(&leaf.cert(), &[ca.cert()]),
                Issuer::Found(0),
                "{what}"
            );
        }
    }

    #[test]
    fn each_ecdsa_hash_and_curve_pair_has_its_own_aws_lc_algorithm() {
        use aws_lc_rs::signature as sig;
        // aws-lc's algorithms are constants (no address to compare): their Debug form names
        // the curve and the digest.
        let same = |a: Option<&'static dyn sig::VerificationAlgorithm>,
                    b: &'static dyn sig::VerificationAlgorithm| {
            a.is_some_and(|a| format!("{a:?}") == format!("{b:?}"))
        };
        // P-256 signs with SHA-256, P-384 with SHA-384; the other two pairs are claimed by
        // editing the last byte of ecdsa-with-SHA256 (…4.3.2) / -SHA384 (…4.3.3).
        let p256 = testkit::root("P256", KeyType::EcdsaP256);
        let p384 = testkit::root("P384", KeyType::EcdsaP384);
        let rsa = testkit::root("RSA", KeyType::Rsa2048);
        let sha384_by_p256 = testkit::with_outer_sig_oid_last_byte(&p256.der, 2, 3);
        let sha256_by_p384 = testkit::with_outer_sig_oid_last_byte(&p384.der, 3, 2);
        let cases: [(&[u8], &Made, &'static dyn sig::VerificationAlgorithm); 7] = [
            (&p256.der, &p256, &sig::ECDSA_P256_SHA256_ASN1),
            (&sha384_by_p256, &p256, &sig::ECDSA_P256_SHA384_ASN1),
            (&p384.der, &p384, &sig::ECDSA_P384_SHA384_ASN1),
            (&sha256_by_p384, &p384, &sig::ECDSA_P384_SHA256_ASN1),
            (&rsa.der, &rsa, &sig::RSA_PKCS1_2048_8192_SHA256),
            (
                &testkit::with_outer_sig_oid_last_byte(&rsa.der, 11, 12),
                &rsa,
                &sig::RSA_PKCS1_2048_8192_SHA384,
            ),
            (
                &testkit::with_outer_sig_oid_last_byte(&rsa.der, 11, 13),
                &rsa,
                &sig::RSA_PKCS1_2048_8192_SHA512,
            ),
        ];
        for (i, (der, ca, want)) in cases.iter().enumerate() {
            assert!(
                same(fast_algorithm(&testkit::parse(der), &ca.cert()), *want),
                "case {i}"
            );
        }
        // An ECDSA signature under an RSA key: no aws-lc algorithm (x509-parser decides).
        let ec_leaf = testkit::client("c", &p256);
        assert!(fast_algorithm(&ec_leaf.cert(), &rsa.cert()).is_none());
    }

    #[test]
    fn the_parsed_key_cache_is_keyed_by_issuer_key_and_algorithm() {
        use crate::x509::build::Profile;
        // One RSA CA key signing with SHA-256 and then SHA-384: the second must not reuse the
        // key parsed for the first algorithm.
        let ca = testkit::root("CA", KeyType::Rsa2048);
        let ca384 = testkit::signing_with(&ca, &rcgen::PKCS_RSA_SHA384);
        // And a second CA with another key and the same algorithm. Both CAs exist before the
        // leaves' spec, which starts now: a spec older than its CA is refused.
        let other = testkit::root("Other", KeyType::Rsa2048);
        let spec = testkit::spec(Profile::Client, testkit::cn("c"), &[], 30);
        let a = testkit::signed(&spec, KeyType::EcdsaP256, &ca);
        let b = testkit::signed(&spec, KeyType::EcdsaP256, &ca384);
        let c = testkit::signed(&spec, KeyType::EcdsaP256, &other);
        for _ in 0..2 {
            assert_eq!(fast_verify(&a.cert(), &ca.cert()), Some(true));
            assert_eq!(fast_verify(&b.cert(), &ca.cert()), Some(true));
            assert_eq!(fast_verify(&c.cert(), &other.cert()), Some(true));
            assert_eq!(fast_verify(&c.cert(), &ca.cert()), Some(false));
        }
        // More CAs than the cache holds: every answer stays right.
        let many: Vec<Made> = (0..70)
            .map(|i| testkit::root(&format!("CA{i}"), KeyType::EcdsaP256))
            .collect();
        for m in &many {
            let leaf = testkit::client("c", m);
            assert_eq!(fast_verify(&leaf.cert(), &m.cert()), Some(true));
        }
        assert_eq!(fast_verify(&a.cert(), &ca.cert()), Some(true));
    }

    #[test]
    fn signature_families_follow_the_oid_arcs() {
        let ec = testkit::root("EC", KeyType::EcdsaP256);
        let rsa = testkit::root("RSA", KeyType::Rsa2048);
        let ed = testkit::root("Ed", KeyType::Ed25519);
        assert_eq!(signature_family(&ec.cert()), Some(crate::check::KeyAlg::Ec));
        assert_eq!(
            signature_family(&rsa.cert()),
            Some(crate::check::KeyAlg::Rsa)
        );
        assert_eq!(signature_family(&ed.cert()), Some(crate::check::KeyAlg::Ed));
    }

    #[test]
    fn eddsa_claims_are_their_own_family_and_unknown_oids_none() {
        // id-Ed25519 is 1.3.101.112: claimed as Ed448 (…113) or as the unassigned …114.
        let ed = testkit::root("Ed", KeyType::Ed25519);
        let ed448 = testkit::with_outer_sig_oid_last_byte(&ed.der, 0x70, 0x71);
        let unknown = testkit::with_outer_sig_oid_last_byte(&ed.der, 0x70, 0x72);
        assert_eq!(
            signature_family(&testkit::parse(&ed448)),
            Some(crate::check::KeyAlg::Ed)
        );
        assert_eq!(signature_family(&testkit::parse(&unknown)), None);
    }

    #[test]
    fn an_unverifiable_signature_of_the_ca_keys_family_is_unchecked_not_a_wrong_key() {
        // A leaf claiming Ed448 under an Ed25519 CA of its issuer's name: no verifier here
        // supports it, and the family matches the CA's key, so GnuTLS may still accept it.
        let ca = testkit::root("CA", KeyType::Ed25519);
        let leaf = testkit::client("c", &ca);
        let ed448 = testkit::with_outer_sig_oid_last_byte(&leaf.der, 0x70, 0x71);
        assert_eq!(
            find_issuer(&testkit::parse(&ed448), &[ca.cert()]),
            Issuer::Unchecked(0)
        );
    }

    #[test]
    fn an_rsa_2048_ca_of_the_same_name_that_did_not_sign_is_a_wrong_key() {
        let ca = testkit::root("CA", KeyType::Rsa2048);
        let recreated = testkit::root("CA", KeyType::Rsa2048);
        let leaf = testkit::client("c", &ca);
        assert_eq!(
            find_issuer(&leaf.cert(), &[recreated.cert()]),
            Issuer::WrongKey(0)
        );
        assert_eq!(
            find_issuer(&leaf.cert(), &[recreated.cert(), ca.cert()]),
            Issuer::Found(1)
        );
    }

    #[test]
    fn issuers_are_found_by_name_and_then_by_key() {
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let same_name = testkit::root("CA", KeyType::EcdsaP256);
        let rsa_same_name = testkit::root("CA", KeyType::Rsa2048);
        let other = testkit::root("Other", KeyType::EcdsaP256);
        let leaf = testkit::client("c", &ca);
        let l = leaf.cert();
        assert_eq!(find_issuer(&l, &[ca.cert()]), Issuer::Found(0));
        assert_eq!(
            find_issuer(&l, &[other.cert(), ca.cert()]),
            Issuer::Found(1)
        );
        assert_eq!(
            find_issuer(&l, &[same_name.cert(), ca.cert()]),
            Issuer::Found(1)
        );
        assert_eq!(find_issuer(&l, &[other.cert()]), Issuer::None);
        assert_eq!(find_issuer(&l, &[]), Issuer::None);
        // The same name with another key: the first such CA is named.
        assert_eq!(
            find_issuer(&l, &[other.cert(), same_name.cert(), same_name.cert()]),
            Issuer::WrongKey(1)
        );
        // An ECDSA signature and an RSA CA of that name: another key, not "unchecked".
        assert_eq!(
            find_issuer(&l, &[rsa_same_name.cert()]),
            Issuer::WrongKey(0)
        );
        assert_eq!(
            find_issuer(&l, &[rsa_same_name.cert(), same_name.cert()]),
            Issuer::WrongKey(0)
        );
    }

    #[test]
    fn a_leaf_signed_by_the_ca_file_chains_and_extras_are_a_note() {
        let root = testkit::root("Root", KeyType::EcdsaP256);
        let leaf = testkit::server("vm.example.org", &[], &root);
        let (i, f) = chain_of(&leaf, &[], &[&root]);
        assert_eq!((i, codes(&f)), (Some(0), vec![]));
        let (i, f) = chain_of(&leaf, &[&root], &[&root]);
        assert_eq!(i, Some(0));
        assert_eq!(codes(&f), [("PKI-C03", Severity::Note)]);
        assert!(
            f[0].message
                .starts_with("1 more certificate(s) after the leaf")
        );
        // Issued by the second CA of the file.
        let other = testkit::root("Other", KeyType::EcdsaP256);
        assert_eq!(chain_of(&leaf, &[], &[&other, &root]).0, Some(1));
    }

    #[test]
    fn an_intermediate_only_in_the_leaf_file_is_an_error_libvirt_names() {
        let root = testkit::root("Root", KeyType::EcdsaP256);
        let inter = testkit::intermediate("Inter", KeyType::EcdsaP256, &root);
        let leaf = testkit::server("vm.example.org", &[], &inter);
        let (i, f) = chain_of(&leaf, &[&inter], &[&root]);
        assert_eq!(i, None);
        let c02 = only(&f, "PKI-C02");
        assert_eq!(c02.severity, Severity::Error);
        assert!(
            c02.why
                .contains("The certificate hasn't got a known issuer")
        );
        assert_eq!(codes(&f).len(), 1);
        // The intermediate in the leaf file but signed by a CA that is not in the CA file.
        let stranger = testkit::root("Root", KeyType::EcdsaP256);
        let (_, f) = chain_of(&leaf, &[&inter], &[&stranger]);
        assert_eq!(codes(&f), [("PKI-C01", Severity::Error)]);
    }

    #[test]
    fn a_leaf_nobody_in_the_ca_file_signed_says_whether_the_name_or_the_key_differs() {
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let leaf = testkit::server("vm.example.org", &[], &ca);
        let recreated = testkit::root("CA", KeyType::EcdsaP256);
        let (i, f) = chain_of(&leaf, &[], &[&recreated]);
        assert_eq!(i, None);
        let c01 = only(&f, "PKI-C01");
        assert_eq!(c01.severity, Severity::Error);
        assert_eq!(c01.message, format!("not signed by any CA in {CA_FILE}"));
        assert!(
            c01.why.contains("its key did not sign this certificate"),
            "{}",
            c01.why
        );
        let other = testkit::root("Other", KeyType::EcdsaP256);
        let (_, f) = chain_of(&leaf, &[], &[&other]);
        let c01 = only(&f, "PKI-C01");
        assert!(c01.why.starts_with("no CA named \"CN=CA\""), "{}", c01.why);
        assert!(
            c01.why
                .contains("The certificate hasn't got a known issuer")
        );
    }

    #[test]
    fn more_than_sixteen_ca_certificates_warn_and_duplicates_are_noted() {
        let cas: Vec<Made> = (0..17)
            .map(|i| testkit::root(&format!("CA{i}"), KeyType::Ed25519))
            .collect();
        let ders: Vec<&[u8]> = cas.iter().map(|m| m.der.as_slice()).collect();
        let run = |d: &[&[u8]]| {
            let mut out = Vec::new();
            bundle(Path::new(CA_FILE), d, &Consumers::default(), &mut out);
            out
        };
        assert!(run(&ders[..16]).is_empty());
        let f = run(&ders);
        assert_eq!(codes(&f), [("PKI-C05", Severity::Warning)]);
        assert_eq!(
            f[0].message,
            "17 certificates in the CA file; only the first 16 are sanity-checked"
        );
        // QEMU 10.2 imports the whole file, libvirt still checks 16: the warning stays.
        let newer = Consumers {
            qemu: crate::consumer::Version::new(10, 2, 0),
            ..Consumers::default()
        };
        let mut out = Vec::new();
        bundle(Path::new(CA_FILE), &ders, &newer, &mut out);
        assert_eq!(codes(&out), [("PKI-C05", Severity::Warning)]);
        let dup = [ders[0], ders[1], ders[0]];
        let f = run(&dup);
        assert_eq!(codes(&f), [("PKI-C06", Severity::Note)]);
        assert_eq!(f[0].message, "certificate #3 is a duplicate of #1");
    }

    #[test]
    fn the_issuing_ca_past_the_sixteenth_is_an_error() {
        let cas: Vec<Made> = (0..17)
            .map(|i| testkit::root(&format!("CA{i}"), KeyType::Ed25519))
            .collect();
        let refs: Vec<&Made> = cas.iter().collect();
        // Issued by the 16th: imported by both.
        let (i, f) = chain_of(&testkit::server("vm", &[], &cas[15]), &[], &refs);
        assert_eq!((i, codes(&f)), (Some(15), vec![]));
        // Issued by the 17th: libvirt 9.0 and QEMU 10.0 import only the first 16.
        let (i, f) = chain_of(&testkit::server("vm", &[], &cas[16]), &[], &refs);
        assert_eq!(i, Some(16));
        let c08 = only(&f, "PKI-C08");
        assert_eq!(c08.severity, Severity::Error);
        assert!(
            c08.why.contains("libvirt 9.0.0 (reads the first 16)"),
            "{}",
            c08.why
        );
        assert!(
            c08.why.contains("QEMU 10.0.2 (reads the first 16)"),
            "{}",
            c08.why
        );
    }

    #[test]
    fn an_intermediate_without_its_root_in_the_ca_file_warns_for_openssl() {
        let root = testkit::root("Root", KeyType::EcdsaP256);
        let inter = testkit::intermediate("Inter", KeyType::EcdsaP256, &root);
        let inter2 = testkit::intermediate("Inter2", KeyType::EcdsaP256, &inter);
        let leaf = testkit::server("vm", &[], &inter2);
        let (i, f) = chain_of(&leaf, &[], &[&inter2, &inter]);
        assert_eq!(i, Some(0));
        let c09 = only(&f, "PKI-C09");
        assert_eq!(c09.severity, Severity::Warning);
        assert!(
            c09.message.contains("not the root \"CN=Root\""),
            "{}",
            c09.message
        );
        // With the root, in any order: nothing.
        assert!(chain_of(&leaf, &[], &[&inter2, &root, &inter]).1.is_empty());
        assert!(chain_of(&leaf, &[], &[&root, &inter, &inter2]).1.is_empty());
    }
}
