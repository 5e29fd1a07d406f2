//! Chain rules: each leaf signed by a CA in the CA file (which GnuTLS treats as trust anchors,
//! intermediates included), intermediates appended to the leaf file (refused by libvirt and QEMU
//! up to 10.1), the CA-bundle rules, and insecure signature algorithms.

use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;

use super::{CertRef, rsa_bits};
use crate::check::finding::{Finding, Severity};
use crate::consumer::rules::ca_bundle_limit;
use crate::consumer::{Consumer, Consumers};

/// Signature algorithms GnuTLS refuses ("The certificate uses an insecure algorithm").
const INSECURE_SIG: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.5", "SHA-1"),
    ("1.3.14.3.2.29", "SHA-1"),
    ("1.2.840.10045.4.1", "SHA-1"),
    ("1.2.840.10040.4.3", "SHA-1"),
    ("1.2.840.113549.1.1.4", "MD5"),
    ("1.3.14.3.2.25", "MD5"),
    ("1.2.840.113549.1.1.2", "MD2"),
];

/// The insecure hash a certificate is signed with, if any.
pub fn insecure_hash(cert: &X509Certificate<'_>) -> Option<&'static str> {
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    INSECURE_SIG
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, h)| *h)
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

/// Bundle hygiene: more than 16 certificates (libvirt and QEMU up to 10.1 check only the
/// first 16) and duplicates.
pub fn bundle(path: &std::path::Path, ders: &[&[u8]], out: &mut Vec<Finding>) {
    let p = path.display();
    if ders.len() > 16 {
        out.push(
            Finding::new(
                "PKI-C05",
                Severity::Warning,
                format!("{} certificates in the CA file; only the first 16 are sanity-checked", ders.len()),
            )
            .path(path)
            .role(crate::check::finding::FRole::Ca)
            .why("libvirt and QEMU up to 10.1 import at most 16 CA certificates for their checks: problems in the rest go unnoticed until a handshake fails")
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
