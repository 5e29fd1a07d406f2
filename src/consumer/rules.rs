//! What libvirt and QEMU require of a CA, server or client certificate, per consumer and
//! version, with each consumer's own message. `validate` (check/constraints.rs), `show`'s role
//! verdicts, the guard before `issue` writes a certificate, and `probe` all ask [`judge`].
//!
//! Sources: libvirt `virNetTLSCertCheck*` (`virnettlscert.c`, before 2024 `virnettlscontext.c`)
//! and QEMU `qcrypto_tls_creds_check_cert_*` (`crypto/tlscredsx509.c`); see
//! `validation-anchors.md` §2.2 and §4.2. libvirt 9.0 and QEMU 10.0.2 are verified by the
//! interop tests; the later ranges follow the upstream changes named in [`super::Consumer::ranges`].

use x509_parser::certificate::X509Certificate;

use super::version::{Consumer, Consumers, Version, range_label};
use crate::layout::Role;

/// The key algorithm family of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    /// RSA.
    Rsa,
    /// ECDSA.
    Ec,
    /// Ed25519 / Ed448.
    Ed,
    /// DSA or anything else.
    Other,
}

impl KeyAlg {
    /// Display name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlg::Rsa => "RSA",
            KeyAlg::Ec => "ECDSA",
            KeyAlg::Ed => "EdDSA",
            KeyAlg::Other => "other",
        }
    }

    /// The family of a SubjectPublicKeyInfo algorithm OID.
    pub fn of_oid(oid: &str) -> KeyAlg {
        match oid {
            "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => KeyAlg::Rsa,
            "1.2.840.10045.2.1" => KeyAlg::Ec,
            "1.3.101.112" | "1.3.101.113" => KeyAlg::Ed,
            _ => KeyAlg::Other,
        }
    }
}

/// The key usage extension, as the consumers read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUsage {
    /// Marked critical.
    pub critical: bool,
    /// keyCertSign.
    pub cert_sign: bool,
    /// digitalSignature.
    pub digital_signature: bool,
    /// keyEncipherment.
    pub key_encipherment: bool,
}

/// The extended key usage extension, as the consumers read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtKeyUsage {
    /// Marked critical.
    pub critical: bool,
    /// serverAuth.
    pub server: bool,
    /// clientAuth.
    pub client: bool,
    /// anyExtendedKeyUsage.
    pub any: bool,
    /// Any other purpose (codeSigning, emailProtection, ...).
    pub other: bool,
}

/// What the rules look at in a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// An X.509 v1 certificate (no extensions at all).
    pub v1: bool,
    /// Basic constraints cA, when the extension is present.
    pub ca: Option<bool>,
    /// Key usage, when present.
    pub key_usage: Option<KeyUsage>,
    /// Extended key usage, when present.
    pub eku: Option<ExtKeyUsage>,
    /// Key algorithm.
    pub key: KeyAlg,
}

impl Facts {
    /// Reads the facts from a parsed certificate. An extension that does not parse counts as
    /// absent here (the loader reports it).
    pub fn of(cert: &X509Certificate<'_>) -> Facts {
        let key_usage = cert.key_usage().ok().flatten().map(|ku| KeyUsage {
            critical: ku.critical,
            cert_sign: ku.value.key_cert_sign(),
            digital_signature: ku.value.digital_signature(),
            key_encipherment: ku.value.key_encipherment(),
        });
        let eku = cert.extended_key_usage().ok().flatten().map(|e| {
            let v = e.value;
            ExtKeyUsage {
                critical: e.critical,
                server: v.server_auth,
                client: v.client_auth,
                any: v.any,
                other: v.code_signing
                    || v.email_protection
                    || v.time_stamping
                    || v.ocsp_signing
                    || !v.other.is_empty(),
            }
        });
        Facts {
            v1: cert.version().0 == 0,
            ca: cert
                .basic_constraints()
                .ok()
                .flatten()
                .map(|bc| bc.value.ca),
            key_usage,
            eku,
            key: KeyAlg::of_oid(&cert.public_key().algorithm.algorithm.to_id_string()),
        }
    }
}

/// One requirement a consumer makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A CA certificate needs the basic constraints extension (a v1 certificate has none).
    CaBasicConstraints,
    /// A CA certificate must say CA:TRUE.
    CaIsCa,
    /// A CA's key usage, when present, must include keyCertSign.
    CaCertSign,
    /// A server or client certificate must not say CA:TRUE.
    LeafNotCa,
    /// A leaf's key usage, when present, must include digitalSignature.
    LeafDigitalSignature,
    /// A leaf's key usage, when present, must include keyEncipherment (versions and key types
    /// vary).
    LeafKeyEncipherment,
    /// A leaf's extended key usage, when present, must grant the role's purpose.
    LeafPurpose,
}

/// What a consumer does about a rule a certificate breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stance {
    /// Accepts it without a word.
    Silent,
    /// Logs a warning and goes on.
    Warns,
    /// Refuses to load the credentials (or the handshake).
    Refuses,
}

/// One consumer's verdict on one broken rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// The rule broken.
    pub rule: Rule,
    /// Who judges.
    pub consumer: Consumer,
    /// At which version.
    pub version: Version,
    /// What it does.
    pub stance: Stance,
    /// The consumer's message, `%s` standing for the file.
    pub text: &'static str,
}

impl Judgement {
    /// The consumer's message for the file `path`.
    pub fn message(&self, path: &str) -> String {
        self.text.replacen("%s", path, 1)
    }
}

fn leaf_word(role: Role) -> &'static str {
    if role == Role::Client {
        "client"
    } else {
        "server"
    }
}

/// Does this consumer at this version require keyEncipherment of a leaf with this key?
fn requires_key_encipherment(c: Consumer, v: Version, key: KeyAlg) -> bool {
    match c {
        // libvirt 9.x requires it of every key; the 2024 rework exempts ECDSA (RFC 8813), not
        // EdDSA.
        Consumer::Libvirt => v < Version::new(11, 0, 0) || key != KeyAlg::Ec,
        // QEMU dropped the check in 10.0.7 (stable) and 10.2; 10.1 still has it.
        Consumer::Qemu => {
            v < Version::new(10, 0, 7)
                || (v >= Version::new(10, 1, 0) && v < Version::new(10, 2, 0))
        }
    }
}

/// Every rule `f` breaks for `role`, as consumer `c` at version `v` judges it (an empty list:
/// this consumer accepts the certificate in that role without a word).
pub fn judge(f: &Facts, role: Role, c: Consumer, v: Version) -> Vec<Judgement> {
    let mut out = Vec::new();
    let mut push = |rule, stance, text| {
        out.push(Judgement {
            rule,
            consumer: c,
            version: v,
            stance,
            text,
        })
    };
    // libvirt logs a warning for a non-critical failure, QEMU says nothing.
    let soft = match c {
        Consumer::Libvirt => Stance::Warns,
        Consumer::Qemu => Stance::Silent,
    };
    if role == Role::Ca {
        match f.ca {
            None => push(
                Rule::CaBasicConstraints,
                Stance::Refuses,
                "The certificate %s is missing basic constraints for a CA",
            ),
            Some(false) => push(
                Rule::CaIsCa,
                Stance::Refuses,
                "The certificate %s basic constraints do not show a CA",
            ),
            Some(true) => {}
        }
        if let Some(ku) = f.key_usage
            && !ku.cert_sign
        {
            push(
                Rule::CaCertSign,
                if ku.critical { Stance::Refuses } else { soft },
                "Certificate %s usage does not permit certificate signing",
            );
        }
        return out;
    }
    if f.ca == Some(true) {
        push(
            Rule::LeafNotCa,
            Stance::Refuses,
            if role == Role::Client {
                "The certificate %s basic constraints show a CA, but we need one for a client"
            } else {
                "The certificate %s basic constraints show a CA, but we need one for a server"
            },
        );
    }
    if let Some(ku) = f.key_usage {
        let stance = if ku.critical { Stance::Refuses } else { soft };
        if !ku.digital_signature {
            push(
                Rule::LeafDigitalSignature,
                stance,
                "Certificate %s usage does not permit digital signature",
            );
        }
        if !ku.key_encipherment && requires_key_encipherment(c, v, f.key) {
            push(
                Rule::LeafKeyEncipherment,
                stance,
                "Certificate %s usage does not permit key encipherment",
            );
        }
    }
    if let Some(e) = f.eku {
        let wanted = if role == Role::Client {
            e.client
        } else {
            e.server
        };
        // libvirt: any OID other than serverAuth/clientAuth/anyExtendedKeyUsage grants both
        // roles, and anyExtendedKeyUsage grants nothing (its inverted test). QEMU compares
        // serverAuth/clientAuth/anyExtendedKeyUsage and nothing else.
        let granted = match c {
            Consumer::Libvirt => wanted || e.other,
            Consumer::Qemu => wanted || e.any,
        };
        if !granted {
            let text = match (c, leaf_word(role)) {
                (Consumer::Libvirt, "client") => {
                    "Certificate %s purpose does not allow use for with a TLS client"
                }
                (Consumer::Libvirt, _) => {
                    "Certificate %s purpose does not allow use for with a TLS server"
                }
                (Consumer::Qemu, "client") => {
                    "Certificate %s purpose does not allow use with a TLS client"
                }
                (Consumer::Qemu, _) => {
                    "Certificate %s purpose does not allow use with a TLS server"
                }
            };
            push(
                Rule::LeafPurpose,
                if e.critical { Stance::Refuses } else { soft },
                text,
            );
        }
    }
    out
}

/// [`judge`] for every consumer at the versions in `at`.
pub fn judge_all(f: &Facts, role: Role, at: &Consumers) -> Vec<Judgement> {
    Consumer::ALL
        .iter()
        .flat_map(|&c| judge(f, role, c, at.version(c)))
        .collect()
}

/// The version ranges of `c` that do **not** refuse `rule` for this certificate (labels from
/// [`Consumer::ranges`]), so a report can say "QEMU 10.0.7+ (10.0 stable) and QEMU 10.2+ accept
/// it".
pub fn ranges_accepting(f: &Facts, role: Role, rule: Rule, c: Consumer) -> Vec<&'static str> {
    c.ranges()
        .iter()
        .filter(|(start, _)| {
            !judge(f, role, c, *start)
                .iter()
                .any(|j| j.rule == rule && j.stance == Stance::Refuses)
        })
        .map(|(start, _)| range_label(c, *start))
        .collect()
}

/// Can GnuTLS (libvirt's and QEMU's chain verification) build a chain through this CA? A key
/// usage without keyCertSign, critical or not, makes every certificate it signed "not trusted".
pub fn can_sign_chain(f: &Facts) -> bool {
    f.key_usage.is_none_or(|ku| ku.cert_sign)
}

/// What other TLS stacks (OpenSSL, Go, browsers) do about a rule that libvirt and QEMU may
/// tolerate, when they refuse it whatever the criticality.
pub fn other_stacks_refuse(rule: Rule) -> Option<&'static str> {
    match rule {
        Rule::LeafPurpose => Some(
            "OpenSSL-based peers, Go and browsers refuse a certificate whose extended key usage lacks the purpose, critical or not",
        ),
        Rule::LeafDigitalSignature => {
            Some("TLS 1.3 and ECDHE need signatures, so other stacks refuse the handshake")
        }
        _ => None,
    }
}

/// How many certificates of a CA file any of the judged consumers imports and checks (`None`:
/// all of them).
pub fn ca_bundle_checked(at: &Consumers) -> Option<usize> {
    Consumer::ALL
        .iter()
        .map(|&c| ca_bundle_limit(c, at.version(c)))
        .try_fold(0, |acc, l| l.map(|n| acc.max(n)))
}

/// After how many certificates of a CA file some judged consumer stops checking them (`None`:
/// every judged consumer checks them all): what a bundle larger than that leaves unchecked.
pub fn ca_bundle_checked_by_all(at: &Consumers) -> Option<usize> {
    Consumer::ALL
        .iter()
        .filter_map(|&c| ca_bundle_limit(c, at.version(c)))
        .min()
}

/// How many certificates of a CA file the consumer imports (`None`: all of them).
pub fn ca_bundle_limit(c: Consumer, v: Version) -> Option<usize> {
    match c {
        // gnutls_x509_crt_list_import with a fixed array of 16.
        Consumer::Libvirt => Some(16),
        // The same up to 10.1; 10.2 imports the whole list (gnutls_x509_crt_list_import2).
        Consumer::Qemu => (v < Version::new(10, 2, 0)).then_some(16),
    }
}

/// What a consumer does with an encrypted private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptedKey {
    /// It can decrypt one (QEMU, given the password as a `secret` object: tls-creds-x509
    /// `passwordid`; libvirt passes qemu.conf's `*_tls_x509_secret_uuid`).
    pub decrypts: bool,
    /// Its message when it cannot load the key (libvirt: always; QEMU: without the password).
    pub message: &'static str,
}

/// Encrypted keys per consumer: libvirt loads keys with gnutls_certificate_set_x509_key_file,
/// without a password; QEMU decrypts PKCS#8 with its passwordid secret (verified with virsh and
/// qemu-nbd/qemu-img 10.0.2: tests/it/validate.rs).
pub const fn encrypted_key(c: Consumer) -> EncryptedKey {
    match c {
        Consumer::Libvirt => EncryptedKey {
            decrypts: false,
            message: "Unable to set x509 key and certificate",
        },
        Consumer::Qemu => EncryptedKey {
            decrypts: true,
            message: "Cannot load certificate ... & key ...: Decryption has failed.",
        },
    }
}

/// The largest credential file the consumer reads (`None`: no limit of its own).
pub const fn max_file_size(c: Consumer) -> Option<usize> {
    match c {
        // virFileReadAll(path, 1 << 16, ...).
        Consumer::Libvirt => Some(1 << 16),
        Consumer::Qemu => None,
    }
}

/// A short verdict per consumer for `show`: whether it accepts the certificate in `role`, and
/// one line per rule it breaks (the consumer's message, and whether it refuses or warns).
pub fn role_notes(f: &Facts, role: Role, c: Consumer, v: Version) -> (bool, Vec<String>) {
    let js = judge(f, role, c, v);
    let mut ok = role != Role::Ca || can_sign_chain(f);
    let mut notes = Vec::new();
    for j in &js {
        let what = j.message("(file)");
        let what = what
            .trim_start_matches("The certificate (file) ")
            .trim_start_matches("Certificate (file) ");
        match j.stance {
            Stance::Refuses => {
                ok = false;
                notes.push(format!("refused: \"{what}\""));
            }
            Stance::Warns => notes.push(format!("accepted with a warning: \"{what}\"")),
            Stance::Silent => {}
        }
    }
    if role == Role::Ca && !can_sign_chain(f) && !js.iter().any(|j| j.stance == Stance::Refuses) {
        notes.push(
            "key usage lacks keyCertSign: GnuTLS refuses every certificate it signed (\"not trusted\")"
                .into(),
        );
    }
    (ok, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `judge_all` is `judge` for QEMU and libvirt at the given versions, in that order of
    /// consumers, nothing left out; libvirt's file limit is virFileReadAll's 64 KiB, QEMU has
    /// none of its own.
    #[test]
    fn judge_all_joins_each_consumers_judgements_and_file_limits() {
        // A CA certificate without basic constraints: both consumers have a rule about it.
        let f = Facts {
            v1: true,
            ca: None,
            key_usage: None,
            eku: None,
            key: KeyAlg::Ec,
        };
        let at = Consumers::default();
        let all = judge_all(&f, Role::Ca, &at);
        let mut want = Vec::new();
        for c in Consumer::ALL {
            want.extend(judge(&f, Role::Ca, c, at.version(c)));
        }
        assert!(!want.is_empty());
        assert_eq!(all, want);
        assert_eq!(max_file_size(Consumer::Libvirt), Some(65_536));
        assert_eq!(max_file_size(Consumer::Qemu), None);
    }

    /// Only QEMU decrypts keys; each consumer's message is the one its tests observe.
    #[test]
    fn only_qemu_decrypts_keys() {
        assert!(!encrypted_key(Consumer::Libvirt).decrypts);
        assert!(encrypted_key(Consumer::Qemu).decrypts);
        assert!(
            encrypted_key(Consumer::Libvirt)
                .message
                .starts_with("Unable to set x509 key")
        );
        assert!(
            encrypted_key(Consumer::Qemu)
                .message
                .ends_with("Decryption has failed.")
        );
    }

    /// `Facts::of` on real certificates (rcgen, self-signed): each EKU purpose other than
    /// serverAuth/clientAuth/any sets `other` on its own; a v3 certificate is not v1.
    #[test]
    fn facts_of_reads_each_other_eku_purpose_and_the_version() {
        use rcgen::ExtendedKeyUsagePurpose as P;
        let key = rcgen::KeyPair::generate().unwrap();
        let facts_with = |ekus: Vec<P>| {
            let mut params = rcgen::CertificateParams::new(vec!["h.example".into()]).unwrap();
            params.extended_key_usages = ekus;
            let cert = params.self_signed(&key).unwrap();
            let der = cert.der().to_vec();
            let (_, c) = x509_parser::parse_x509_certificate(&der).unwrap();
            Facts::of(&c)
        };
        for (purpose, name) in [
            (P::CodeSigning, "codeSigning"),
            (P::EmailProtection, "emailProtection"),
            (P::TimeStamping, "timeStamping"),
            (P::OcspSigning, "OCSPSigning"),
            (P::Other(vec![1, 3, 6, 1, 4, 1, 99999, 1]), "a private OID"),
        ] {
            let f = facts_with(vec![P::ServerAuth, purpose]);
            let e = f.eku.unwrap();
            assert!(e.other, "{name} is another purpose");
            assert!(e.server && !e.client && !e.any, "{name}");
            assert!(!f.v1, "rcgen writes v3");
        }
        let e = facts_with(vec![P::ServerAuth, P::ClientAuth]).eku.unwrap();
        assert!(e.server && e.client && !e.other && !e.any);
        let e = facts_with(vec![P::Any]).eku.unwrap();
        assert!(e.any && !e.other && !e.server);
        assert!(facts_with(vec![]).eku.is_none());
    }

    fn facts(
        ca: Option<bool>,
        ku: Option<(bool, bool, bool, bool)>,
        eku: Option<ExtKeyUsage>,
        key: KeyAlg,
    ) -> Facts {
        Facts {
            v1: false,
            ca,
            key_usage: ku.map(
                |(cert_sign, digital_signature, key_encipherment, critical)| KeyUsage {
                    critical,
                    cert_sign,
                    digital_signature,
                    key_encipherment,
                },
            ),
            eku,
            key,
        }
    }

    fn refuses(f: &Facts, role: Role, c: Consumer, v: Version) -> bool {
        judge(f, role, c, v)
            .iter()
            .any(|j| j.stance == Stance::Refuses)
    }

    const LV9: Version = Version::new(9, 0, 0);
    const LV11: Version = Version::new(11, 0, 0);

    #[test]
    fn key_encipherment_by_version_and_key_type() {
        // ECDSA leaf, critical KU = digitalSignature only.
        let ec = facts(
            Some(false),
            Some((false, true, false, true)),
            None,
            KeyAlg::Ec,
        );
        assert!(refuses(
            &ec,
            Role::Server,
            Consumer::Qemu,
            Version::new(10, 0, 2)
        ));
        assert!(refuses(
            &ec,
            Role::Server,
            Consumer::Qemu,
            Version::new(10, 0, 6)
        ));
        assert!(!refuses(
            &ec,
            Role::Server,
            Consumer::Qemu,
            Version::new(10, 0, 7)
        ));
        assert!(refuses(
            &ec,
            Role::Server,
            Consumer::Qemu,
            Version::new(10, 1, 0)
        ));
        assert!(!refuses(
            &ec,
            Role::Server,
            Consumer::Qemu,
            Version::new(10, 2, 0)
        ));
        assert!(refuses(&ec, Role::Client, Consumer::Libvirt, LV9));
        assert!(!refuses(&ec, Role::Client, Consumer::Libvirt, LV11));
        // EdDSA is not exempted by libvirt, RSA never.
        let ed = Facts {
            key: KeyAlg::Ed,
            ..ec
        };
        assert!(refuses(&ed, Role::Server, Consumer::Libvirt, LV11));
        let rsa = Facts {
            key: KeyAlg::Rsa,
            ..ec
        };
        assert!(refuses(&rsa, Role::Server, Consumer::Libvirt, LV11));
        assert!(!refuses(
            &rsa,
            Role::Server,
            Consumer::Qemu,
            Version::new(10, 2, 0)
        ));
        // Non-critical: libvirt warns, QEMU is silent.
        let soft = facts(None, Some((false, true, false, false)), None, KeyAlg::Rsa);
        let l = judge(&soft, Role::Server, Consumer::Libvirt, LV9);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].stance, Stance::Warns);
        assert_eq!(
            l[0].message("/x"),
            "Certificate /x usage does not permit key encipherment"
        );
        assert_eq!(
            judge(&soft, Role::Server, Consumer::Qemu, Version::new(10, 0, 2))[0].stance,
            Stance::Silent
        );
        assert_eq!(
            ranges_accepting(&ec, Role::Server, Rule::LeafKeyEncipherment, Consumer::Qemu),
            vec!["QEMU 10.0.7+ (10.0 stable)", "QEMU 10.2+"]
        );
    }

    #[test]
    fn purposes_follow_each_consumer() {
        let any = ExtKeyUsage {
            critical: true,
            server: false,
            client: false,
            any: true,
            other: false,
        };
        let f = facts(None, None, Some(any), KeyAlg::Ec);
        assert!(refuses(&f, Role::Server, Consumer::Libvirt, LV9));
        assert!(!refuses(
            &f,
            Role::Server,
            Consumer::Qemu,
            Version::new(10, 0, 2)
        ));
        let other = ExtKeyUsage {
            any: false,
            other: true,
            ..any
        };
        let f = facts(None, None, Some(other), KeyAlg::Ec);
        assert!(!refuses(&f, Role::Client, Consumer::Libvirt, LV9));
        let q = judge(&f, Role::Client, Consumer::Qemu, Version::new(10, 0, 2));
        assert_eq!(
            q[0].message("c.pem"),
            "Certificate c.pem purpose does not allow use with a TLS client"
        );
        let l = judge(
            &facts(
                None,
                None,
                Some(ExtKeyUsage {
                    other: false,
                    ..other
                }),
                KeyAlg::Ec,
            ),
            Role::Server,
            Consumer::Libvirt,
            LV9,
        );
        assert_eq!(
            l[0].message("s.pem"),
            "Certificate s.pem purpose does not allow use for with a TLS server"
        );
    }

    #[test]
    fn key_families_and_their_names() {
        assert_eq!(KeyAlg::of_oid("1.2.840.113549.1.1.1"), KeyAlg::Rsa);
        assert_eq!(KeyAlg::of_oid("1.2.840.113549.1.1.10"), KeyAlg::Rsa);
        assert_eq!(KeyAlg::of_oid("1.2.840.10045.2.1"), KeyAlg::Ec);
        assert_eq!(KeyAlg::of_oid("1.3.101.112"), KeyAlg::Ed);
        assert_eq!(KeyAlg::of_oid("1.3.101.113"), KeyAlg::Ed);
        assert_eq!(KeyAlg::of_oid("1.2.840.10040.4.1"), KeyAlg::Other);
        let names: Vec<&str> = [KeyAlg::Rsa, KeyAlg::Ec, KeyAlg::Ed, KeyAlg::Other]
            .iter()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(names, ["RSA", "ECDSA", "EdDSA", "other"]);
    }

    #[test]
    fn other_stacks_and_leaf_messages_name_the_role() {
        assert!(other_stacks_refuse(Rule::LeafPurpose).is_some_and(|t| t.contains("OpenSSL")));
        assert!(
            other_stacks_refuse(Rule::LeafDigitalSignature).is_some_and(|t| t.contains("TLS 1.3"))
        );
        for r in [
            Rule::CaBasicConstraints,
            Rule::CaIsCa,
            Rule::CaCertSign,
            Rule::LeafNotCa,
            Rule::LeafKeyEncipherment,
        ] {
            assert_eq!(other_stacks_refuse(r), None, "{r:?}");
        }
        let ca_leaf = facts(Some(true), None, None, KeyAlg::Ec);
        let m =
            |role| judge(&ca_leaf, role, Consumer::Qemu, Version::new(10, 0, 2))[0].message("x");
        assert!(m(Role::Client).ends_with("we need one for a client"));
        assert!(m(Role::Server).ends_with("we need one for a server"));
        // The purpose a role needs: a client-only EKU is refused for a server, not for a client.
        let client_only = ExtKeyUsage {
            critical: true,
            server: false,
            client: true,
            any: false,
            other: false,
        };
        let f = facts(None, None, Some(client_only), KeyAlg::Ec);
        assert!(refuses(
            &f,
            Role::Server,
            Consumer::Qemu,
            Version::new(10, 0, 2)
        ));
        assert!(!refuses(
            &f,
            Role::Client,
            Consumer::Qemu,
            Version::new(10, 0, 2)
        ));
        // Ranges: only the rule asked about counts.
        let both = facts(
            Some(true),
            Some((false, true, false, true)),
            None,
            KeyAlg::Ec,
        );
        assert_eq!(
            ranges_accepting(&both, Role::Server, Rule::LeafNotCa, Consumer::Qemu),
            Vec::<&str>::new()
        );
        assert_eq!(
            ranges_accepting(
                &both,
                Role::Server,
                Rule::LeafKeyEncipherment,
                Consumer::Qemu
            ),
            vec!["QEMU 10.0.7+ (10.0 stable)", "QEMU 10.2+"]
        );
    }

    #[test]
    fn show_notes_for_a_ca_that_cannot_sign_a_chain() {
        let v = Version::new(10, 0, 2);
        // Non-critical KU without keyCertSign: accepted at load, but no chain through it.
        let soft = facts(
            Some(true),
            Some((false, true, true, false)),
            None,
            KeyAlg::Ec,
        );
        let (ok, notes) = role_notes(&soft, Role::Ca, Consumer::Qemu, v);
        assert!(!ok);
        assert_eq!(notes.len(), 1, "{notes:?}");
        // Critical: refused at load; the refusal is the note, not the chain remark.
        let hard = facts(
            Some(true),
            Some((false, true, true, true)),
            None,
            KeyAlg::Ec,
        );
        let (ok, notes) = role_notes(&hard, Role::Ca, Consumer::Qemu, v);
        assert!(!ok);
        assert!(
            notes.iter().all(|n| !n.contains("not trusted")),
            "{notes:?}"
        );
        // A leaf's role never gets the CA remark.
        let leaf = facts(
            Some(false),
            Some((false, true, true, false)),
            None,
            KeyAlg::Ec,
        );
        let (ok, notes) = role_notes(&leaf, Role::Server, Consumer::Qemu, v);
        assert!(ok && notes.is_empty(), "{notes:?}");
        // A CA without a key usage extension can sign.
        let (ok, notes) = role_notes(
            &facts(Some(true), None, None, KeyAlg::Ec),
            Role::Ca,
            Consumer::Qemu,
            v,
        );
        assert!(ok && notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn ca_rules_and_bundle_limits() {
        assert_eq!(
            judge(
                &facts(None, None, None, KeyAlg::Ec),
                Role::Ca,
                Consumer::Qemu,
                Version::new(10, 0, 2)
            )[0]
            .rule,
            Rule::CaBasicConstraints
        );
        assert_eq!(
            judge(
                &facts(Some(false), None, None, KeyAlg::Ec),
                Role::Ca,
                Consumer::Libvirt,
                LV9
            )[0]
            .rule,
            Rule::CaIsCa
        );
        assert!(
            judge(
                &facts(Some(true), None, None, KeyAlg::Ec),
                Role::Ca,
                Consumer::Libvirt,
                LV9
            )
            .is_empty()
        );
        let soft = facts(
            Some(true),
            Some((false, true, true, false)),
            None,
            KeyAlg::Ec,
        );
        assert_eq!(
            judge(&soft, Role::Ca, Consumer::Libvirt, LV9)[0].stance,
            Stance::Warns
        );
        assert!(!can_sign_chain(&soft));
        let (ok, notes) = role_notes(&soft, Role::Ca, Consumer::Qemu, Version::new(10, 0, 2));
        assert!(!ok && notes[0].contains("not trusted"));
        assert!(refuses(
            &facts(Some(true), None, None, KeyAlg::Ec),
            Role::Client,
            Consumer::Qemu,
            Version::new(10, 2, 0)
        ));
        assert_eq!(
            ca_bundle_limit(Consumer::Qemu, Version::new(10, 1, 0)),
            Some(16)
        );
        assert_eq!(
            ca_bundle_limit(Consumer::Qemu, Version::new(10, 2, 0)),
            None
        );
        assert_eq!(ca_bundle_limit(Consumer::Libvirt, LV11), Some(16));
        assert_eq!(ca_bundle_checked(&Consumers::default()), Some(16));
        let newer = Consumers::parse("qemu=10.2").unwrap();
        assert_eq!(ca_bundle_checked(&newer), None);
        // libvirt still checks only 16 when QEMU 10.2 reads the whole file.
        assert_eq!(ca_bundle_checked_by_all(&Consumers::default()), Some(16));
        assert_eq!(ca_bundle_checked_by_all(&newer), Some(16));
    }
}
