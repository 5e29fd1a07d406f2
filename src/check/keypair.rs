//! Private keys: encrypted (libvirt cannot load one; QEMU needs a passwordid secret), parsable,
//! matching the certificate; and certificate key strength and type.

use std::path::Path;

use x509_parser::certificate::X509Certificate;
use x509_parser::public_key::PublicKey;

use super::{CertRef, KeyAlg, key_alg, rsa_bits};
use crate::check::finding::{FRole, Finding, Severity};
use crate::x509::load::{Contents, ObjectKind};

/// What a private key's public half is, as far as it can be derived.
#[derive(Debug, PartialEq, Eq)]
enum PublicHalf {
    /// The raw subjectPublicKey bits (EC point, Ed25519 key, PKCS#1 RSAPublicKey).
    Raw(Vec<u8>),
    /// Only an RSA modulus (without leading zeros).
    RsaModulus(Vec<u8>),
    /// Could not be derived.
    Unknown,
}

/// One DER TLV: (tag, content, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let content = input.get(hdr..hdr.checked_add(len)?)?;
    let rest = input.get(hdr + len..)?;
    Some((tag, content, rest))
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(i..).unwrap_or_default().to_vec()
}

/// PKCS#1 RSAPrivateKey → modulus.
fn pkcs1_modulus(der: &[u8]) -> Option<Vec<u8>> {
    let (_, seq, _) = tlv(der)?;
    let (_, _version, rest) = tlv(seq)?;
    let (tag, n, _) = tlv(rest)?;
    (tag == 0x02).then(|| strip_zeros(n))
}

/// SEC1 ECPrivateKey → public point (when present).
fn sec1_point(der: &[u8]) -> Option<Vec<u8>> {
    let (_, seq, _) = tlv(der)?;
    let (_, _version, mut rest) = tlv(seq)?;
    while !rest.is_empty() {
        let (tag, content, r) = tlv(rest)?;
        rest = r;
        if tag == 0xa1 {
            let (t, bits, _) = tlv(content)?;
            if t == 0x03 {
                return bits.get(1..).map(<[u8]>::to_vec);
            }
        }
    }
    None
}

/// PKCS#8 PrivateKeyInfo → (algorithm OID bytes, inner private key).
fn pkcs8_inner(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (_, seq, _) = tlv(der)?;
    let (_, _version, rest) = tlv(seq)?;
    let (_, alg, rest) = tlv(rest)?;
    let (_, oid, _) = tlv(alg)?;
    let (tag, key, _) = tlv(rest)?;
    (tag == 0x04).then(|| (oid.to_vec(), key.to_vec()))
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

fn public_half(obj: &crate::x509::load::Object) -> PublicHalf {
    if let Ok(kp) = crate::x509::keys::load_private_key(obj, None) {
        return PublicHalf::Raw(crate::x509::keys::public_key_bits(&kp).to_vec());
    }
    // aws-lc refuses RSA keys under 2048 bits; GnuTLS loads them, so compare the modulus.
    let der = obj.der.as_slice();
    let fallback = match &obj.kind {
        ObjectKind::PrivateKey(crate::x509::load::KeyFormat::Pkcs1) => {
            pkcs1_modulus(der).map(PublicHalf::RsaModulus)
        }
        ObjectKind::PrivateKey(crate::x509::load::KeyFormat::Sec1) => {
            sec1_point(der).map(PublicHalf::Raw)
        }
        _ => pkcs8_inner(der).and_then(|(oid, inner)| {
            if oid == OID_RSA {
                pkcs1_modulus(&inner).map(PublicHalf::RsaModulus)
            } else if oid == OID_EC {
                sec1_point(&inner).map(PublicHalf::Raw)
            } else {
                None
            }
        }),
    };
    fallback.unwrap_or(PublicHalf::Unknown)
}

fn matches(half: &PublicHalf, cert: &X509Certificate<'_>) -> Option<bool> {
    match half {
        PublicHalf::Raw(raw) => {
            Some(raw.as_slice() == cert.public_key().subject_public_key.data.as_ref())
        }
        PublicHalf::RsaModulus(n) => match cert.public_key().parsed() {
            Ok(PublicKey::RSA(rsa)) => Some(strip_zeros(rsa.modulus) == *n),
            Ok(_) => Some(false),
            Err(_) => None,
        },
        PublicHalf::Unknown => None,
    }
}

/// Size in bits of the prime of PKCS#3 DH parameters (`SEQUENCE { p INTEGER, g INTEGER }`).
pub fn dh_prime_bits(der: &[u8]) -> Option<usize> {
    let (_, seq, _) = tlv(der)?;
    let (tag, p, _) = tlv(seq)?;
    if tag != 0x02 {
        return None;
    }
    let p = strip_zeros(p);
    let first = *p.first()?;
    Some((p.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

/// Is `obj` the private key of `cert`? None when that cannot be told (encrypted, unparsable).
pub fn is_key_of(obj: &crate::x509::load::Object, cert: &X509Certificate<'_>) -> Option<bool> {
    if !matches!(obj.kind, ObjectKind::PrivateKey(_)) {
        return None;
    }
    matches(&public_half(obj), cert)
}

/// Checks a loaded key file against its certificate (when there is one).
pub fn check_key(
    path: &Path,
    contents: &Contents,
    role: FRole,
    cert: Option<(&X509Certificate<'_>, &str, &Path)>,
    out: &mut Vec<Finding>,
) {
    let p = path.display();
    let keys: Vec<_> = contents
        .objects
        .iter()
        .filter(|o| o.kind.is_private_key())
        .collect();
    let Some(key) = keys.first() else {
        return;
    };
    let f = |code, sev, msg: String| {
        Finding::new(code, sev, msg)
            .path(path)
            .role(role)
            .subject(cert.map(|c| c.1))
    };
    if keys.len() > 1 {
        out.push(
            f(
                "PKI-F13",
                Severity::Note,
                format!(
                    "{} private keys in one file; GnuTLS uses the first",
                    keys.len()
                ),
            )
            .why("the others are ignored")
            .fix(format!(
                "keep only the key that belongs to the certificate in {p}"
            )),
        );
    }
    match &key.kind {
        ObjectKind::EncryptedPrivateKey | ObjectKind::LegacyEncryptedKey => {
            let legacy = key.kind == ObjectKind::LegacyEncryptedKey;
            out.push(
                f(
                    "PKI-P02",
                    Severity::Error,
                    if legacy {
                        "the private key is encrypted (legacy OpenSSL Proc-Type encryption)".to_string()
                    } else {
                        "the private key is encrypted (PKCS#8)".to_string()
                    },
                )
                .why({
                    use crate::consumer::{rules::encrypted_key, version::Consumer};
                    format!(
                        "libvirt cannot load an encrypted key: \"{}\"; QEMU needs a passwordid secret (qemu.conf *_tls_x509_secret_uuid), without it: \"{}\"",
                        encrypted_key(Consumer::Libvirt).message,
                        encrypted_key(Consumer::Qemu).message
                    )
                })
                .fix(format!("decrypt it in place, keeping mode 0600: (umask 077; openssl pkey -in {p} -out {p}.new) && mv {p}.new {p}   (or, for QEMU, configure the key's password as a secret)")),
            );
            return;
        }
        ObjectKind::PrivateKey(_) => {}
        _ => return,
    }
    let half = public_half(key);
    if half == PublicHalf::Unknown {
        // Could not even parse the structure we need.
        if pkcs8_inner(&key.der).is_none()
            && pkcs1_modulus(&key.der).is_none()
            && sec1_point(&key.der).is_none()
        {
            out.push(
                f("PKI-P05", Severity::Error, format!("the {} cannot be parsed", key.kind.describe()))
                    .why("QEMU: \"Cannot load certificate ... & key ...: The requested data were not available.\"; libvirt: \"Unable to set x509 key and certificate\"")
                    .fix(format!("replace {p} with the key the certificate was issued for")),
            );
            return;
        }
    }
    let Some((cert, _, cert_path)) = cert else {
        return;
    };
    if matches(&half, cert) == Some(false) {
        out.push(
            f("PKI-P01", Severity::Error, format!("does not match the certificate {}", cert_path.display()))
                .why(format!("libvirt: \"Unable to set x509 key and certificate: {p}, {}: The certificate and the given key do not match.\"; QEMU: \"Cannot load certificate ... & key ...: The certificate and the given key do not match.\"", cert_path.display()))
                .fix(format!("find the key this certificate was issued for, or make a new pair: {}", mismatch_fix(cert, cert_path, path, role))),
        );
    }
}

/// A new key and certificate for a mismatched pair: `pkitool renew --rekey` when the key is
/// where renew writes it (libvirt and QEMU names), else a re-issue.
fn mismatch_fix(cert: &X509Certificate<'_>, cert_path: &Path, key: &Path, role: FRole) -> String {
    let c = CertRef::new(cert, cert_path, role, 0);
    if c.renewable() && crate::ca::renew::key_path_for(cert_path).as_deref() == Some(key) {
        c.renew_cmd(&["--rekey".to_string()])
    } else {
        c.renew_fix()
    }
}

/// Key strength and type of a certificate's public key.
pub fn strength(c: &CertRef<'_, '_>, is_ca: bool, out: &mut Vec<Finding>) {
    let alg = key_alg(c.cert);
    let fix = || {
        if is_ca {
            "re-create the CA with a stronger key: pkitool init-ca --dir DIR --cn NAME --key-type ecdsa-p256".to_string()
        } else {
            format!("{} --key-type ecdsa-p256", c.renew_fix())
        }
    };
    match alg {
        KeyAlg::Rsa => {
            if let Some(bits) = rsa_bits(c.cert)
                && bits < 2048
            {
                out.push(
                        c.f("PKI-P03", Severity::Warning, format!("RSA key of {bits} bits"))
                            .why("libvirt and QEMU accept it, but keys under 2048 bits are breakable and refused by current OpenSSL security levels and browsers")
                            .fix(fix()),
                    );
            }
        }
        KeyAlg::Ec => {
            let curve = c
                .cert
                .public_key()
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            let name = match curve.as_str() {
                "1.2.840.10045.3.1.7" | "1.3.132.0.34" | "1.3.132.0.35" => None,
                other => Some(other.to_string()),
            };
            if let Some(curve) = name {
                out.push(
                    c.f("PKI-P04", Severity::Warning, format!("ECDSA key on an unusual curve ({curve})"))
                        .why("GnuTLS, OpenSSL and browsers support P-256, P-384 and P-521; other curves fail handshakes")
                        .fix(fix()),
                );
            }
        }
        KeyAlg::Ed => {}
        KeyAlg::Other => {
            let oid = c.cert.public_key().algorithm.algorithm.to_id_string();
            let what = if oid == "1.2.840.10040.4.1" {
                "DSA".to_string()
            } else {
                format!("algorithm {oid}")
            };
            out.push(
                c.f("PKI-P04", Severity::Warning, format!("{what} key"))
                    .why("TLS 1.3 has no DSA or unknown key types; GnuTLS and OpenSSL refuse such certificates in modern priorities")
                    .fix(fix()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{self, Made, codes, only};
    use crate::x509::keys::KeyType;
    use crate::x509::load::{Encoding, Object};

    fn key_object(kind: ObjectKind, der: Vec<u8>) -> Object {
        Object {
            kind,
            label: None,
            der: zeroize::Zeroizing::new(der),
            line: 1,
        }
    }

    fn of(objects: Vec<Object>) -> Contents {
        Contents {
            encoding: Encoding::Pem,
            objects,
            text_before: false,
            crlf: false,
        }
    }

    /// The key-strength findings of a client certificate.
    fn strength_of(cert: &X509Certificate<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        strength(
            &CertRef::new(cert, Path::new("c.pem"), FRole::Client, 0),
            false,
            &mut out,
        );
        out
    }

    fn pkcs8(m: &Made) -> Object {
        key_object(
            ObjectKind::PrivateKey(crate::x509::load::KeyFormat::Pkcs8),
            m.key.serialize_der(),
        )
    }

    fn run(key_path: &Path, c: &Contents, cert: &Made, cert_path: &Path) -> Vec<Finding> {
        let x = cert.cert();
        let subject = crate::x509::dn::subject_of(&x);
        let mut out = Vec::new();
        check_key(
            key_path,
            c,
            FRole::Server,
            Some((&x, &subject, cert_path)),
            &mut out,
        );
        out
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_with_both_consumers_words() {
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        for kt in [KeyType::EcdsaP256, KeyType::Ed25519, KeyType::Rsa2048] {
            let spec = testkit::spec(
                crate::x509::build::Profile::Server,
                testkit::cn("vm"),
                &["vm"],
                30,
            );
            let mine = testkit::signed(&spec, kt, &ca);
            let other = testkit::signed(&spec, kt, &ca);
            let kp = Path::new("/nonexistent/serverkey.pem");
            let cp = Path::new("/nonexistent/servercert.pem");
            assert!(
                run(kp, &of(vec![pkcs8(&mine)]), &mine, cp).is_empty(),
                "{kt:?}"
            );
            let f = run(kp, &of(vec![pkcs8(&other)]), &mine, cp);
            assert_eq!(codes(&f), [("PKI-P01", Severity::Error)], "{kt:?}");
            assert_eq!(
                f[0].message,
                "does not match the certificate /nonexistent/servercert.pem"
            );
            assert!(f[0].why.starts_with("libvirt: \"Unable to set x509 key and certificate: /nonexistent/serverkey.pem, /nonexistent/servercert.pem: The certificate and the given key do not match.\"; QEMU: "), "{}", f[0].why);
            // The modulus (or point) alone tells too, as for keys aws-lc will not load.
            let half = public_half(&pkcs8(&other));
            assert_eq!(matches(&half, &mine.cert()), Some(false), "{kt:?}");
            assert_eq!(
                matches(&public_half(&pkcs8(&mine)), &mine.cert()),
                Some(true),
                "{kt:?}"
            );
        }
    }

    #[test]
    fn a_pair_on_disk_under_layout_names_is_fixed_by_renew_rekey() {
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let mine = testkit::server("vm", &[], &ca);
        let other = testkit::server("vm", &[], &ca);
        let (dir, cp) = testkit::on_disk("servercert.pem", &mine.der);
        let kp = dir.path().join("serverkey.pem");
        let f = run(&kp, &of(vec![pkcs8(&other)]), &mine, &cp);
        assert!(
            only(&f, "PKI-P01")
                .fix
                .ends_with(&format!("pkitool renew {} --rekey", cp.display())),
            "{}",
            f[0].fix
        );
        // A key under another name: a re-issue, since renew would not write that file.
        let f = run(
            &dir.path().join("k.pem"),
            &of(vec![pkcs8(&other)]),
            &mine,
            &cp,
        );
        assert!(
            only(&f, "PKI-P01")
                .fix
                .contains("pkitool issue server --dn CN=vm"),
            "{}",
            f[0].fix
        );
    }

    #[test]
    fn encrypted_unparsable_and_extra_keys_are_each_named() {
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let mine = testkit::server("vm", &[], &ca);
        let kp = Path::new("/nonexistent/serverkey.pem");
        let cp = Path::new("/nonexistent/servercert.pem");
        let encrypted = |kind| run(kp, &of(vec![key_object(kind, vec![0x30, 0x00])]), &mine, cp);
        let f = encrypted(ObjectKind::EncryptedPrivateKey);
        assert_eq!(codes(&f), [("PKI-P02", Severity::Error)]);
        assert_eq!(f[0].message, "the private key is encrypted (PKCS#8)");
        let f = encrypted(ObjectKind::LegacyEncryptedKey);
        assert_eq!(
            f[0].message,
            "the private key is encrypted (legacy OpenSSL Proc-Type encryption)"
        );
        let garbage = key_object(
            ObjectKind::PrivateKey(crate::x509::load::KeyFormat::Pkcs8),
            vec![0x04, 0x01, 0x00],
        );
        let f = run(kp, &of(vec![garbage]), &mine, cp);
        assert_eq!(codes(&f), [("PKI-P05", Severity::Error)]);
        assert_eq!(f[0].message, "the private key cannot be parsed");
        let f = run(kp, &of(vec![pkcs8(&mine), pkcs8(&ca)]), &mine, cp);
        assert_eq!(codes(&f), [("PKI-F13", Severity::Note)]);
        assert_eq!(
            f[0].message,
            "2 private keys in one file; GnuTLS uses the first"
        );
        // The second key does not belong, but GnuTLS uses the first: no mismatch.
        let f = run(kp, &of(vec![pkcs8(&ca), pkcs8(&mine)]), &mine, cp);
        assert_eq!(
            codes(&f),
            [("PKI-F13", Severity::Note), ("PKI-P01", Severity::Error)]
        );
        assert!(run(kp, &of(vec![]), &mine, cp).is_empty());
    }

    #[test]
    fn key_strength_accepts_the_common_keys() {
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        for kt in [
            KeyType::EcdsaP256,
            KeyType::EcdsaP384,
            KeyType::Ed25519,
            KeyType::Rsa2048,
        ] {
            let spec = testkit::spec(
                crate::x509::build::Profile::Client,
                testkit::cn("c"),
                &[],
                30,
            );
            let m = testkit::signed(&spec, kt, &ca);
            let cert = m.cert();
            let out = strength_of(&cert);
            assert!(out.is_empty(), "{kt:?}");
        }
    }

    #[test]
    fn long_form_lengths_are_read_as_der_writes_them() {
        // A 2048-bit prime: the INTEGER and the SEQUENCE both have two-byte long-form lengths.
        let mut p = vec![0x00, 0x80];
        p.extend(std::iter::repeat_n(0x11, 255));
        let mut int = vec![0x02, 0x82, 0x01, 0x01];
        int.extend(&p);
        let mut der = vec![0x30, 0x82, 0x01, 0x08];
        der.extend(&int);
        der.extend([0x02, 0x01, 0x02]);
        assert_eq!(der.len(), 4 + 0x108);
        assert_eq!(dh_prime_bits(&der), Some(2048));
        // One length byte (0x81) and five (refused: over 4 GiB cannot be a key).
        assert_eq!(
            tlv(&[0x04, 0x81, 0x01, 0xaa]),
            Some((0x04, &[0xaa][..], &[][..]))
        );
        assert_eq!(tlv(&[0x04, 0x85, 0, 0, 0, 0, 1, 0xaa]), None);
        assert_eq!(tlv(&[0x04, 0x80]), None);
    }

    #[test]
    fn the_traditional_key_forms_give_the_certificates_public_half() {
        // The inner key of PKCS#8 is PKCS#1 (RSA) or SEC1 (EC): the fallback used for keys
        // aws-lc refuses (RSA under 2048 bits, which GnuTLS loads) must find the same key.
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        for kt in [KeyType::Rsa2048, KeyType::EcdsaP256] {
            let spec = testkit::spec(
                crate::x509::build::Profile::Client,
                testkit::cn("c"),
                &[],
                30,
            );
            let m = testkit::signed(&spec, kt, &ca);
            let p8 = m.key.serialize_der();
            let (oid, inner) = pkcs8_inner(&p8).unwrap();
            let cert = m.cert();
            if kt == KeyType::Rsa2048 {
                assert_eq!(oid, OID_RSA);
                let half = PublicHalf::RsaModulus(pkcs1_modulus(&inner).unwrap());
                assert_eq!(matches(&half, &cert), Some(true));
                let other = testkit::signed(&spec, kt, &ca);
                assert_eq!(matches(&half, &other.cert()), Some(false));
                // An RSA modulus against an EC certificate: no match.
                assert_eq!(matches(&half, &ca.cert()), Some(false));
            } else {
                assert_eq!(oid, OID_EC);
                assert_eq!(
                    sec1_point(&inner).as_deref(),
                    Some(cert.public_key().subject_public_key.data.as_ref())
                );
            }
        }
    }

    #[test]
    fn keys_aws_lc_refuses_are_matched_by_their_public_half() {
        use crate::x509::der;
        use crate::x509::load::KeyFormat;
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let rsa = testkit::signed(
            &testkit::spec(
                crate::x509::build::Profile::Client,
                testkit::cn("r"),
                &[],
                30,
            ),
            KeyType::Rsa2048,
            &ca,
        );
        let ec = testkit::client("e", &ca);
        // PKCS#1 with the certificate's modulus and nonsense private parts (aws-lc refuses it
        // as it refuses RSA under 2048 bits; GnuTLS would check the modulus).
        let rc = rsa.cert();
        let n = match rc.public_key().parsed() {
            Ok(PublicKey::RSA(k)) => strip_zeros(k.modulus),
            _ => unreachable!(),
        };
        let one = der::integer_u64(1);
        let pkcs1 = der::sequence(&[
            &der::integer_u64(0),
            &der::integer_unsigned(&n),
            &der::integer_u64(65537),
            &one,
            &one,
            &one,
            &one,
            &one,
            &one,
        ]);
        // SEC1 with a zero scalar and the certificate's point.
        let ecc = ec.cert();
        let point = ecc.public_key().subject_public_key.data.to_vec();
        let sec1 = der::sequence(&[
            &der::integer_u64(1),
            &der::octet_string(&[0u8; 32]),
            &der::context(1, true, &der::bit_string(&point)),
        ]);
        let p8 = |alg: Vec<u8>, inner: &[u8]| {
            der::sequence(&[&der::integer_u64(0), &alg, &der::octet_string(inner)])
        };
        let rsa_alg = der::sequence(&[
            &der::oid(&[1, 2, 840, 113549, 1, 1, 1]),
            &der::tlv(0x05, &[]),
        ]);
        let ec_alg = der::sequence(&[
            &der::oid(&[1, 2, 840, 10045, 2, 1]),
            &der::oid(&[1, 2, 840, 10045, 3, 1, 7]),
        ]);
        let cases = [
            (ObjectKind::PrivateKey(KeyFormat::Pkcs1), pkcs1.clone(), &rc),
            (ObjectKind::PrivateKey(KeyFormat::Sec1), sec1.clone(), &ecc),
            (
                ObjectKind::PrivateKey(KeyFormat::Pkcs8),
                p8(rsa_alg, &pkcs1),
                &rc,
            ),
            (
                ObjectKind::PrivateKey(KeyFormat::Pkcs8),
                p8(ec_alg, &sec1),
                &ecc,
            ),
        ];
        // A PKCS#8 key of an algorithm pkitool cannot derive (DSA): nothing can be told, and
        // it is no parse error either.
        let dsa = key_object(
            ObjectKind::PrivateKey(KeyFormat::Pkcs8),
            p8(
                der::sequence(&[&der::oid(&[1, 2, 840, 10040, 4, 1])]),
                &der::integer_u64(7),
            ),
        );
        assert_eq!(is_key_of(&dsa, &rc), None);
        let mut out = Vec::new();
        check_key(
            Path::new("k.pem"),
            &of(vec![dsa]),
            FRole::Client,
            Some((&rc, "CN=r", Path::new("c.pem"))),
            &mut out,
        );
        assert!(out.is_empty(), "{:?}", codes(&out));
        for (i, (kind, der_bytes, cert)) in cases.into_iter().enumerate() {
            let obj = key_object(kind, der_bytes);
            assert!(
                crate::x509::keys::load_private_key(&obj, None).is_err(),
                "case {i}"
            );
            assert_eq!(is_key_of(&obj, cert), Some(true), "case {i}");
            // And not the other certificate's key.
            let other = if i % 2 == 0 { &ecc } else { &rc };
            assert_eq!(is_key_of(&obj, other), Some(false), "case {i}");
        }
    }

    #[test]
    fn key_strength_warns_about_unknown_key_types_by_their_oid() {
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let spec = testkit::spec(
            crate::x509::build::Profile::Client,
            testkit::cn("c"),
            &[],
            30,
        );
        let ed = testkit::signed(&spec, KeyType::Ed25519, &ca);
        // The SPKI's id-Ed25519 (1.3.101.112) claimed as the unassigned 1.3.101.114.
        let from = [0x06, 0x03, 0x2b, 0x65, 0x70];
        let at = ed.der.windows(5).position(|w| w == from).unwrap();
        let mut der = ed.der.clone();
        der[at + 4] = 0x72;
        let cert = testkit::parse(&der);
        let out = strength_of(&cert);
        assert_eq!(codes(&out), [("PKI-P04", Severity::Warning)]);
        assert_eq!(out[0].message, "algorithm 1.3.101.114 key");
        // An RSA key over 2048 bits: nothing.
        let rsa = testkit::signed(&spec, KeyType::Rsa3072, &ca);
        let cert = rsa.cert();
        let out = strength_of(&cert);
        assert!(out.is_empty());
    }

    #[test]
    fn dh_parameters_report_the_prime_size() {
        // SEQUENCE { INTEGER 0x000101 (9 bits), INTEGER 2 }; then 0x8000 (16 bits)
        assert_eq!(
            dh_prime_bits(&[0x30, 0x08, 0x02, 0x03, 0x00, 0x01, 0x01, 0x02, 0x01, 0x02]),
            Some(9)
        );
        assert_eq!(
            dh_prime_bits(&[0x30, 0x07, 0x02, 0x02, 0x80, 0x00, 0x02, 0x01, 0x02]),
            Some(16)
        );
        assert_eq!(dh_prime_bits(&[0x30, 0x03, 0x04, 0x01, 0x01]), None);
    }

    #[test]
    fn der_walker_is_bounded() {
        assert_eq!(tlv(&[]), None);
        assert_eq!(tlv(&[0x30, 0x05, 0x01]), None);
        assert_eq!(tlv(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(
            pkcs1_modulus(&[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x07]),
            Some(vec![7])
        );
        assert_eq!(sec1_point(&[0x30, 0x03, 0x02, 0x01, 0x01]), None);
    }
}
