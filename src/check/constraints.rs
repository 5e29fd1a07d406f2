//! Basic constraints, key usage and extended key usage: findings from the consumer model
//! ([`crate::consumer::rules`]), which states what libvirt (`virNetTLSCertCheck*`) and QEMU
//! (`qcrypto_tls_creds_check_cert_*`) require at the versions judged.
//!
//! Severity: an error when a judged consumer refuses; a warning when one warns, or when other
//! TLS stacks refuse what libvirt and QEMU tolerate; nothing when every consumer is silent.

use super::CertRef;
use crate::check::finding::{FRole, Finding, Severity};
use crate::consumer::rules::{self, Facts, Judgement, Rule, Stance};
use crate::consumer::{Consumer, Consumers};
use crate::layout::Role;

fn role_of(r: FRole) -> Role {
    match r {
        FRole::Ca => Role::Ca,
        FRole::Client => Role::Client,
        FRole::Server => Role::Server,
    }
}

/// "libvirt 9.0.0 and QEMU 10.0.2 refuse it: "…"; QEMU 10.0.7+ (10.0 stable) and QEMU 10.2+
/// accept it": who does what, in the consumers' own words, and where other versions differ.
fn why(js: &[&Judgement], at: &Consumers, f: &Facts, role: Role, rule: Rule, path: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (stance, verb_one, verb_many) in [
        (Stance::Refuses, "refuses it", "refuse it"),
        (
            Stance::Warns,
            "accepts it with a warning",
            "accept it with a warning",
        ),
    ] {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for j in js.iter().filter(|j| j.stance == stance) {
            let who = format!("{} {}", j.consumer.name(), j.version);
            let msg = j.message(path);
            match groups.iter_mut().find(|(m, _)| *m == msg) {
                Some((_, w)) => w.push(who),
                None => groups.push((msg, vec![who])),
            }
        }
        for (msg, who) in groups {
            let verb = if who.len() > 1 { verb_many } else { verb_one };
            parts.push(format!("{} {verb}: \"{msg}\"", who.join(" and ")));
        }
    }
    let mut accept: Vec<&str> = Vec::new();
    for c in Consumer::ALL {
        if js
            .iter()
            .any(|j| j.consumer == c && j.stance == Stance::Refuses)
        {
            accept.extend(rules::ranges_accepting(f, role, rule, c));
        }
    }
    if !accept.is_empty() {
        parts.push(format!("{} accept it", accept.join(" and ")));
    }
    for c in Consumer::ALL {
        if !js
            .iter()
            .any(|j| j.consumer == c && j.stance != Stance::Silent)
        {
            parts.push(format!("{} {} accepts it", c.name(), at.version(c)));
        }
    }
    if let Some(other) = rules::other_stacks_refuse(rule) {
        parts.push(other.to_string());
    }
    parts.join("; ")
}

fn severity(js: &[&Judgement], rule: Rule) -> Option<Severity> {
    let worst = js.iter().map(|j| j.stance).max()?;
    match worst {
        Stance::Refuses => Some(Severity::Error),
        Stance::Warns => Some(Severity::Warning),
        Stance::Silent => rules::other_stacks_refuse(rule).map(|_| Severity::Warning),
    }
}

/// Every constraint finding for this certificate in its role. `issues`: for a CA, whether it
/// signed a certificate checked here (a non-critical key usage without keyCertSign then fails
/// GnuTLS chain verification).
pub fn check(c: &CertRef<'_, '_>, at: &Consumers, issues: bool, out: &mut Vec<Finding>) {
    let f = Facts::of(c.cert);
    let role = role_of(c.role);
    let all = rules::judge_all(&f, role, at);
    let p = c.path.display().to_string();
    let of = |rule: Rule| -> Vec<&Judgement> { all.iter().filter(|j| j.rule == rule).collect() };
    let crit = |critical: bool| if critical { " (critical)" } else { "" };
    if role == Role::Ca {
        let bc = of(Rule::CaBasicConstraints);
        if let Some(sev) = severity(&bc, Rule::CaBasicConstraints) {
            let msg = if f.v1 {
                "X.509 v1 CA certificate: no extensions, so no basic constraints"
            } else {
                "CA certificate without the basic constraints extension"
            };
            out.push(
                c.f("PKI-B02", sev, msg)
                    .why(why(&bc, at, &f, role, Rule::CaBasicConstraints, &p))
                    .fix("re-create the CA with CA:TRUE: pkitool init-ca --dir DIR --cn NAME (or certtool with `ca` in the template), then re-issue the leaves".to_string()),
            );
            return;
        }
        let not_ca = of(Rule::CaIsCa);
        if let Some(sev) = severity(&not_ca, Rule::CaIsCa) {
            out.push(
                c.f("PKI-B03", sev, "a certificate in the CA file is not a CA (CA:FALSE)")
                    .why(format!(
                        "libvirt and QEMU check every certificate in the CA file: {}",
                        why(&not_ca, at, &f, role, Rule::CaIsCa, &p)
                    ))
                    .fix(format!(
                        "remove that certificate from {p} (a leaf does not belong in the CA file), or re-create the CA: pkitool init-ca --dir DIR --cn NAME"
                    )),
            );
            // libvirt and QEMU stop at the first failed check of a CA.
            return;
        }
        let sign = of(Rule::CaCertSign);
        if let Some(mut sev) = severity(&sign, Rule::CaCertSign) {
            let ku_critical = f.key_usage.is_some_and(|k| k.critical);
            let mut text = why(&sign, at, &f, role, Rule::CaCertSign, &p);
            if sev != Severity::Error {
                if issues {
                    sev = Severity::Error;
                    text.push_str(&format!(
                        "; but GnuTLS then refuses what it signed: \"Our own certificate ... failed validation against {p}: The certificate is not trusted\""
                    ));
                } else {
                    text.push_str("; it signed nothing here, so nothing fails yet");
                }
            }
            out.push(
                c.f("PKI-K01", sev, format!("CA key usage{} lacks keyCertSign", crit(ku_critical)))
                    .why(text)
                    .fix("re-create the CA with keyCertSign (certtool template: cert_signing_key): pkitool init-ca --dir DIR --cn NAME".to_string()),
            );
        }
        return;
    }
    let bc = of(Rule::LeafNotCa);
    if let Some(sev) = severity(&bc, Rule::LeafNotCa) {
        out.push(
            c.f(
                "PKI-B01",
                sev,
                format!(
                    "basic constraints say CA:TRUE on a {} certificate",
                    c.role.as_str()
                ),
            )
            .why(why(&bc, at, &f, role, Rule::LeafNotCa, &p))
            .fix(c.renew_fix()),
        );
    }
    let ku_critical = f.key_usage.is_some_and(|k| k.critical);
    let ds = of(Rule::LeafDigitalSignature);
    if let Some(sev) = severity(&ds, Rule::LeafDigitalSignature) {
        out.push(
            c.f(
                "PKI-K02",
                sev,
                format!("key usage{} lacks digitalSignature", crit(ku_critical)),
            )
            .why(why(&ds, at, &f, role, Rule::LeafDigitalSignature, &p))
            .fix(c.renew_fix()),
        );
    }
    let ke = of(Rule::LeafKeyEncipherment);
    if let Some(sev) = severity(&ke, Rule::LeafKeyEncipherment) {
        out.push(
            c.f(
                "PKI-K03",
                sev,
                format!(
                    "key usage{} lacks keyEncipherment ({} key)",
                    crit(ku_critical),
                    f.key.as_str()
                ),
            )
            .why(why(&ke, at, &f, role, Rule::LeafKeyEncipherment, &p))
            .fix(format!(
                "re-issue with digitalSignature and keyEncipherment (certtool: signing_key + encryption_key): {}",
                c.renew_fix()
            )),
        );
    }
    let purpose = of(Rule::LeafPurpose);
    if let Some(sev) = severity(&purpose, Rule::LeafPurpose) {
        let by = |c: Consumer| purpose.iter().any(|j| j.consumer == c);
        let (name, flag) = if c.role == FRole::Client {
            ("TLS client", "tls_www_client")
        } else {
            ("TLS server", "tls_www_server")
        };
        let crit_s = if f.eku.is_some_and(|e| e.critical) {
            "critical "
        } else {
            ""
        };
        let (code, msg) = match (by(Consumer::Libvirt), by(Consumer::Qemu)) {
            (true, false) => (
                "PKI-E03",
                format!("{crit_s}extended key usage is anyExtendedKeyUsage only"),
            ),
            (false, true) => (
                "PKI-E04",
                format!("{crit_s}extended key usage lists only purposes unrelated to TLS"),
            ),
            _ => (
                if c.role == FRole::Client {
                    "PKI-E02"
                } else {
                    "PKI-E01"
                },
                format!("{crit_s}extended key usage does not include the {name} purpose"),
            ),
        };
        out.push(
            c.f(code, sev, msg)
                .why(why(&purpose, at, &f, role, Rule::LeafPurpose, &p))
                .fix(format!(
                    "re-issue with the {name} purpose ({flag}): {}",
                    c.renew_fix()
                )),
        );
    }
}

/// PKI-H06: subject alternative names GnuTLS refuses at import ([`crate::consumer::gnutls`]):
/// libvirt and QEMU cannot load the certificate at all, and neither can a peer receiving it.
pub fn san_import(c: &CertRef<'_, '_>, out: &mut Vec<Finding>) {
    let bad = crate::consumer::gnutls::san_import_problems(c.cert);
    if bad.is_empty() {
        return;
    }
    let p = c.path.display();
    let what = if c.role == FRole::Ca {
        "CA certificate list".to_string()
    } else {
        format!("{} certificate", c.role.as_str())
    };
    out.push(
        c.f(
            "PKI-H06",
            Severity::Error,
            format!("subject alternative name GnuTLS cannot import: {}", bad.join(", ")),
        )
        .why(format!(
            "GnuTLS refuses to import the certificate (\"{}\"): libvirt \"Unable to import {what} {p}\", QEMU the same, and qemu-img or virsh fail loading it as their own certificate (cfssl writes an empty name for \"hosts\": [\"\"])",
            crate::consumer::gnutls::UNKNOWN_SAN
        ))
        .fix(if c.role == FRole::Ca {
            "re-create the CA without empty names: pkitool init-ca --dir DIR --cn NAME".to_string()
        } else {
            c.renew_fix()
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{self, Made, basic_constraints, codes, ext_key_usage, key_usage};
    use crate::x509::keys::KeyType;
    use std::path::Path;

    const CA_FILE: &str = "/etc/pki/CA/cacert.pem";
    const LEAF: &str = "/etc/pki/libvirt/servercert.pem";

    fn made(exts: Vec<rcgen::CustomExtension>, kt: KeyType) -> Made {
        let mut p = testkit::bare("x");
        p.custom_extensions = exts;
        testkit::raw(p, kt, None)
    }

    fn judge(m: &Made, role: FRole, issues: bool) -> Vec<Finding> {
        let cert = m.cert();
        let path = if role == FRole::Ca { CA_FILE } else { LEAF };
        let c = CertRef::new(&cert, Path::new(path), role, 0);
        let mut out = Vec::new();
        check(&c, &Consumers::default(), issues, &mut out);
        out
    }

    #[test]
    fn a_ca_without_basic_constraints_is_refused_and_nothing_else_is_said() {
        let m = made(vec![key_usage(true, 0x80)], KeyType::EcdsaP256);
        let f = judge(&m, FRole::Ca, true);
        assert_eq!(codes(&f), [("PKI-B02", Severity::Error)]);
        assert_eq!(
            f[0].message,
            "CA certificate without the basic constraints extension"
        );
        assert_eq!(
            f[0].why,
            format!(
                "libvirt 9.0.0 and QEMU 10.0.2 refuse it: \"The certificate {CA_FILE} is missing basic constraints for a CA\""
            )
        );
    }

    #[test]
    fn a_leaf_in_the_ca_file_is_refused_before_its_key_usage_is_looked_at() {
        let m = made(
            vec![basic_constraints(false), key_usage(true, 0x80)],
            KeyType::EcdsaP256,
        );
        let f = judge(&m, FRole::Ca, true);
        assert_eq!(codes(&f), [("PKI-B03", Severity::Error)]);
        assert!(f[0].why.ends_with("refuse it: \"The certificate /etc/pki/CA/cacert.pem basic constraints do not show a CA\""), "{}", f[0].why);
    }

    #[test]
    fn a_ca_key_usage_without_cert_sign_depends_on_criticality_and_on_what_it_signed() {
        let critical = made(
            vec![basic_constraints(true), key_usage(true, 0x02)],
            KeyType::EcdsaP256,
        );
        let f = judge(&critical, FRole::Ca, false);
        assert_eq!(codes(&f), [("PKI-K01", Severity::Error)]);
        assert_eq!(f[0].message, "CA key usage (critical) lacks keyCertSign");
        assert_eq!(
            f[0].why,
            format!(
                "libvirt 9.0.0 and QEMU 10.0.2 refuse it: \"Certificate {CA_FILE} usage does not permit certificate signing\""
            )
        );
        // Not critical: libvirt warns, QEMU is silent; GnuTLS refuses what it signs.
        let soft = made(
            vec![basic_constraints(true), key_usage(false, 0x02)],
            KeyType::EcdsaP256,
        );
        let f = judge(&soft, FRole::Ca, false);
        assert_eq!(codes(&f), [("PKI-K01", Severity::Warning)]);
        assert_eq!(f[0].message, "CA key usage lacks keyCertSign");
        assert_eq!(
            f[0].why,
            format!(
                "libvirt 9.0.0 accepts it with a warning: \"Certificate {CA_FILE} usage does not permit certificate signing\"; QEMU 10.0.2 accepts it; it signed nothing here, so nothing fails yet"
            )
        );
        let f = judge(&soft, FRole::Ca, true);
        assert_eq!(codes(&f), [("PKI-K01", Severity::Error)]);
        assert!(
            f[0].why.ends_with("The certificate is not trusted\""),
            "{}",
            f[0].why
        );
        // With keyCertSign: nothing.
        let good = made(
            vec![basic_constraints(true), key_usage(true, 0x06)],
            KeyType::EcdsaP256,
        );
        assert!(judge(&good, FRole::Ca, true).is_empty());
    }

    #[test]
    fn a_leaf_that_is_a_ca_is_refused_in_its_role() {
        let m = made(
            vec![basic_constraints(true), key_usage(true, 0xa0)],
            KeyType::EcdsaP256,
        );
        let f = judge(&m, FRole::Server, false);
        assert_eq!(codes(&f), [("PKI-B01", Severity::Error)]);
        assert_eq!(
            f[0].message,
            "basic constraints say CA:TRUE on a server certificate"
        );
        assert!(
            f[0].why
                .contains("basic constraints show a CA, but we need one for a server")
        );
        let f = judge(&m, FRole::Client, false);
        assert_eq!(
            f[0].message,
            "basic constraints say CA:TRUE on a client certificate"
        );
        assert!(f[0].why.contains("but we need one for a client"));
    }

    #[test]
    fn leaf_key_usage_bits_are_errors_when_critical_and_warnings_when_not() {
        // Without digitalSignature.
        let m = made(vec![key_usage(true, 0x20)], KeyType::EcdsaP256);
        let f = judge(&m, FRole::Server, false);
        assert_eq!(codes(&f), [("PKI-K02", Severity::Error)]);
        assert_eq!(f[0].message, "key usage (critical) lacks digitalSignature");
        let m = made(vec![key_usage(false, 0x20)], KeyType::EcdsaP256);
        let f = judge(&m, FRole::Server, false);
        assert_eq!(codes(&f), [("PKI-K02", Severity::Warning)]);
        assert_eq!(
            f[0].why,
            format!(
                "libvirt 9.0.0 accepts it with a warning: \"Certificate {LEAF} usage does not permit digital signature\"; QEMU 10.0.2 accepts it; TLS 1.3 and ECDHE need signatures, so other stacks refuse the handshake"
            )
        );
        // An RSA key without keyEncipherment: refused by libvirt 9.0 and QEMU 10.0.2, accepted
        // by later QEMU releases.
        let rsa = made(vec![key_usage(true, 0x80)], KeyType::Rsa2048);
        let f = judge(&rsa, FRole::Client, false);
        assert_eq!(codes(&f), [("PKI-K03", Severity::Error)]);
        assert_eq!(
            f[0].message,
            "key usage (critical) lacks keyEncipherment (RSA key)"
        );
        assert!(
            f[0].why.starts_with(&format!("libvirt 9.0.0 and QEMU 10.0.2 refuse it: \"Certificate {LEAF} usage does not permit key encipherment\"; ")),
            "{}",
            f[0].why
        );
        assert!(f[0].why.contains(" accept it"), "{}", f[0].why);
        // Both bits: nothing.
        let good = made(vec![key_usage(true, 0xa0)], KeyType::Rsa2048);
        assert!(judge(&good, FRole::Client, false).is_empty());
    }

    #[test]
    fn each_purpose_mismatch_has_its_code() {
        let eku = |critical, p: &[u8]| made(vec![ext_key_usage(critical, p)], KeyType::EcdsaP256);
        // A server with clientAuth only: both refuse when critical.
        let f = judge(&eku(true, &[2]), FRole::Server, false);
        assert_eq!(codes(&f), [("PKI-E01", Severity::Error)]);
        assert_eq!(
            f[0].message,
            "critical extended key usage does not include the TLS server purpose"
        );
        assert!(f[0].why.contains("libvirt 9.0.0 refuses it: \"Certificate /etc/pki/libvirt/servercert.pem purpose does not allow use for with a TLS server\""), "{}", f[0].why);
        assert!(f[0].why.contains("QEMU 10.0.2 refuses it: \"Certificate /etc/pki/libvirt/servercert.pem purpose does not allow use with a TLS server\""), "{}", f[0].why);
        // Not critical: libvirt warns, QEMU silent, other stacks refuse: a warning.
        let f = judge(&eku(false, &[2]), FRole::Server, false);
        assert_eq!(codes(&f), [("PKI-E01", Severity::Warning)]);
        assert_eq!(
            f[0].message,
            "extended key usage does not include the TLS server purpose"
        );
        let f = judge(&eku(true, &[1]), FRole::Client, false);
        assert_eq!(codes(&f), [("PKI-E02", Severity::Error)]);
        assert!(
            f[0].fix
                .starts_with("re-issue with the TLS client purpose (tls_www_client)")
        );
        // anyExtendedKeyUsage alone: libvirt refuses it, QEMU accepts it.
        let f = judge(&eku(true, &[0]), FRole::Server, false);
        assert_eq!(codes(&f), [("PKI-E03", Severity::Error)]);
        assert_eq!(
            f[0].message,
            "critical extended key usage is anyExtendedKeyUsage only"
        );
        assert_eq!(
            f[0].why,
            "libvirt 9.0.0 refuses it: \"Certificate /etc/pki/libvirt/servercert.pem purpose does not allow use for with a TLS server\"; QEMU 10.0.2 accepts it; OpenSSL-based peers, Go and browsers refuse a certificate whose extended key usage lacks the purpose, critical or not"
        );
        // codeSigning alone: QEMU refuses it, libvirt accepts it.
        let f = judge(&eku(true, &[3]), FRole::Server, false);
        assert_eq!(codes(&f), [("PKI-E04", Severity::Error)]);
        assert_eq!(
            f[0].message,
            "critical extended key usage lists only purposes unrelated to TLS"
        );
        // Both purposes: nothing.
        assert!(judge(&eku(true, &[1, 2]), FRole::Server, false).is_empty());
        assert!(judge(&eku(true, &[1, 2]), FRole::Client, false).is_empty());
    }

    #[test]
    fn an_empty_dns_name_cannot_be_imported_by_gnutls() {
        let san = testkit::ext(&[2, 5, 29, 17], false, vec![0x30, 0x02, 0x82, 0x00]);
        let m = made(vec![san], KeyType::EcdsaP256);
        let run = |role: FRole, path: &str| {
            let cert = m.cert();
            let c = CertRef::new(&cert, Path::new(path), role, 0);
            let mut out = Vec::new();
            san_import(&c, &mut out);
            out
        };
        let f = run(FRole::Server, LEAF);
        assert_eq!(codes(&f), [("PKI-H06", Severity::Error)]);
        assert!(
            f[0].why.contains(&format!(
                "libvirt \"Unable to import server certificate {LEAF}\""
            )),
            "{}",
            f[0].why
        );
        let f = run(FRole::Ca, CA_FILE);
        assert!(
            f[0].why.contains(&format!(
                "libvirt \"Unable to import CA certificate list {CA_FILE}\""
            )),
            "{}",
            f[0].why
        );
        assert!(f[0].fix.starts_with("re-create the CA"));
        let good = made(vec![], KeyType::EcdsaP256);
        let cert = good.cert();
        let mut out = Vec::new();
        san_import(
            &CertRef::new(&cert, Path::new(LEAF), FRole::Server, 0),
            &mut out,
        );
        assert!(out.is_empty());
    }
}
