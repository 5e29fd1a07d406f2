//! Basic constraints, key usage and extended key usage, exactly as libvirt
//! (`virNetTLSCertCheck*`) and QEMU (`qcrypto_tls_creds_check_cert_*`) judge them.

use super::{CertRef, KeyAlg};
use crate::check::finding::{FRole, Finding, Severity};

/// A leaf must not be a CA (a leaf without the extension is fine).
pub fn leaf_basic_constraints(c: &CertRef<'_, '_>, out: &mut Vec<Finding>) {
    if let Ok(Some(bc)) = c.cert.basic_constraints()
        && bc.value.ca
    {
        out.push(
                c.f(
                    "PKI-B01",
                    Severity::Error,
                    format!("basic constraints say CA:TRUE on a {} certificate", c.role.as_str()),
                )
                .why(format!(
                    "libvirt and QEMU refuse it: \"The certificate {} basic constraints show a CA, but we need one for a {}\"",
                    c.path.display(),
                    c.role.as_str()
                ))
                .fix(c.renew_fix()),
            );
    }
}

/// A CA must have basic constraints with CA:TRUE (a v1 certificate has none).
pub fn ca_basic_constraints(c: &CertRef<'_, '_>, out: &mut Vec<Finding>) {
    let p = c.path.display();
    match c.cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {}
        Ok(Some(_)) => out.push(
            c.f(
                "PKI-B03",
                Severity::Error,
                "a certificate in the CA file is not a CA (CA:FALSE)",
            )
            .why(format!(
                "libvirt and QEMU check every certificate in the CA file and refuse: \"The certificate {p} basic constraints do not show a CA\""
            ))
            .fix(format!(
                "remove that certificate from {p} (a leaf does not belong in the CA file), or re-create the CA: pkitool init-ca --dir DIR --cn NAME"
            )),
        ),
        _ => {
            let v1 = c.cert.version().0 == 0;
            out.push(
                c.f(
                    "PKI-B02",
                    Severity::Error,
                    if v1 {
                        "X.509 v1 CA certificate: no extensions, so no basic constraints".to_string()
                    } else {
                        "CA certificate without the basic constraints extension".to_string()
                    },
                )
                .why(format!(
                    "libvirt and QEMU refuse it: \"The certificate {p} is missing basic constraints for a CA\""
                ))
                .fix("re-create the CA with CA:TRUE: pkitool init-ca --dir DIR --cn NAME (or certtool with `ca` in the template), then re-issue the leaves".to_string()),
            );
        }
    }
}

/// A CA needs keyCertSign. A critical KU without it is refused by libvirt and QEMU at load; a
/// non-critical one only draws a libvirt warning, but GnuTLS chain verification then refuses
/// every certificate it issued (`issues` tells whether it issued one here).
pub fn ca_key_usage(c: &CertRef<'_, '_>, issues: bool, out: &mut Vec<Finding>) {
    let Ok(Some(ku)) = c.cert.key_usage() else {
        return;
    };
    if ku.value.key_cert_sign() {
        return;
    }
    let p = c.path.display();
    let (sev, why) = if ku.critical {
        (
            Severity::Error,
            format!(
                "libvirt and QEMU refuse it: \"Certificate {p} usage does not permit certificate signing\""
            ),
        )
    } else if issues {
        (
            Severity::Error,
            format!(
                "libvirt only warns (\"usage does not permit certificate signing\"), but GnuTLS then refuses what it signed: \"Our own certificate ... failed validation against {p}: The certificate is not trusted\""
            ),
        )
    } else {
        (
            Severity::Warning,
            "libvirt warns \"usage does not permit certificate signing\"; it signed nothing here, so nothing fails yet".to_string(),
        )
    };
    out.push(
        c.f(
            "PKI-K01",
            sev,
            format!(
                "CA key usage{} lacks keyCertSign",
                if ku.critical { " (critical)" } else { "" }
            ),
        )
        .why(why)
        .fix("re-create the CA with keyCertSign (certtool template: cert_signing_key): pkitool init-ca --dir DIR --cn NAME".to_string()),
    );
}

/// A leaf needs digitalSignature and (libvirt; QEMU up to 10.0.6/10.1) keyEncipherment.
pub fn leaf_key_usage(c: &CertRef<'_, '_>, alg: KeyAlg, out: &mut Vec<Finding>) {
    let Ok(Some(ku)) = c.cert.key_usage() else {
        return;
    };
    let p = c.path.display();
    let crit = ku.critical;
    if !ku.value.digital_signature() {
        out.push(
            c.f(
                "PKI-K02",
                if crit { Severity::Error } else { Severity::Warning },
                format!(
                    "key usage{} lacks digitalSignature",
                    if crit { " (critical)" } else { "" }
                ),
            )
            .why(if crit {
                format!("libvirt and QEMU refuse it: \"Certificate {p} usage does not permit digital signature\"")
            } else {
                format!("libvirt warns \"Certificate {p} usage does not permit digital signature\"; TLS 1.3 and ECDHE need signatures, so other stacks refuse the handshake")
            })
            .fix(c.renew_fix()),
        );
    }
    if !ku.value.key_encipherment() {
        let (sev, why) = match (alg, crit) {
            (KeyAlg::Rsa, true) => (
                Severity::Error,
                format!(
                    "libvirt (all versions) and QEMU up to 10.0.6/10.1 refuse it: \"Certificate {p} usage does not permit key encipherment\"; QEMU 10.0.7+/10.2 accept it"
                ),
            ),
            (KeyAlg::Ec, true) => (
                Severity::Error,
                format!(
                    "QEMU up to 10.0.6/10.1 and libvirt before its RFC 8813 exemption (9.x and earlier) refuse it even for ECDSA: \"Certificate {p} usage does not permit key encipherment\"; QEMU 10.0.7+/10.2 and newer libvirt accept it"
                ),
            ),
            (KeyAlg::Ed, true) => (
                Severity::Error,
                format!(
                    "libvirt (every version: EdDSA is not exempted) and QEMU up to 10.0.6/10.1 refuse it: \"Certificate {p} usage does not permit key encipherment\"; QEMU 10.0.7+/10.2 accept it"
                ),
            ),
            (_, false) => (
                Severity::Warning,
                format!(
                    "libvirt logs a warning \"Certificate {p} usage does not permit key encipherment\" (libvirt 9.x for every key type); QEMU is silent"
                ),
            ),
            (KeyAlg::Other, true) => (
                Severity::Error,
                format!(
                    "libvirt and QEMU up to 10.1 refuse it: \"Certificate {p} usage does not permit key encipherment\""
                ),
            ),
        };
        out.push(
            c.f(
                "PKI-K03",
                sev,
                format!(
                    "key usage{} lacks keyEncipherment ({} key)",
                    if crit { " (critical)" } else { "" },
                    alg.as_str()
                ),
            )
            .why(why)
            .fix(format!(
                "re-issue with digitalSignature and keyEncipherment (certtool: signing_key + encryption_key): {}",
                c.renew_fix()
            )),
        );
    }
}

/// Extended key usage for the certificate's role.
pub fn eku(c: &CertRef<'_, '_>, out: &mut Vec<Finding>) {
    let Ok(Some(e)) = c.cert.extended_key_usage() else {
        return;
    };
    let v = e.value;
    let (role_flag, purpose, code) = match c.role {
        FRole::Client => (v.client_auth, "TLS client", "PKI-E02"),
        _ => (v.server_auth, "TLS server", "PKI-E01"),
    };
    let others = v.code_signing
        || v.email_protection
        || v.time_stamping
        || v.ocsp_signing
        || !v.other.is_empty();
    // QEMU: g_str_equal on serverAuth/clientAuth/anyExtendedKeyUsage.
    let qemu_ok = role_flag || v.any;
    // libvirt: serverAuth/clientAuth as expected, any OTHER oid except anyEKU grants both.
    let libvirt_ok = role_flag || others;
    if qemu_ok && libvirt_ok {
        return;
    }
    let crit = e.critical;
    let sev = if crit {
        Severity::Error
    } else {
        Severity::Warning
    };
    let p = c.path.display();
    let crit_s = if crit { "critical " } else { "" };
    let (code, msg, why) = if !qemu_ok && !libvirt_ok {
        (
            code,
            format!("{crit_s}extended key usage does not include the {purpose} purpose"),
            if crit {
                format!(
                    "libvirt: \"Certificate {p} purpose does not allow use for with a {purpose}\"; QEMU: \"Certificate {p} purpose does not allow use with a {purpose}\""
                )
            } else {
                format!(
                    "libvirt warns \"Certificate {p} purpose does not allow use for with a {purpose}\" and QEMU accepts it, but OpenSSL-based peers and browsers refuse it"
                )
            },
        )
    } else if qemu_ok {
        (
            "PKI-E03",
            format!("{crit_s}extended key usage is anyExtendedKeyUsage only"),
            if crit {
                format!(
                    "QEMU accepts it, but libvirt's purpose check grants nothing for anyExtendedKeyUsage and refuses: \"Certificate {p} purpose does not allow use for with a {purpose}\""
                )
            } else {
                format!(
                    "QEMU accepts it; libvirt grants nothing for anyExtendedKeyUsage and warns \"purpose does not allow use for with a {purpose}\""
                )
            },
        )
    } else {
        (
            "PKI-E04",
            format!("{crit_s}extended key usage lists only purposes unrelated to TLS"),
            if crit {
                format!(
                    "libvirt accepts it (it treats any other purpose as both), but QEMU refuses: \"Certificate {p} purpose does not allow use with a {purpose}\""
                )
            } else {
                "libvirt accepts it and QEMU is silent, but RFC 5280 says the certificate may not be used for TLS; OpenSSL-based peers refuse it".to_string()
            },
        )
    };
    out.push(c.f(code, sev, msg).why(why).fix(format!(
        "re-issue with the {purpose} purpose ({}): {}",
        if c.role == FRole::Client {
            "tls_www_client"
        } else {
            "tls_www_server"
        },
        c.renew_fix()
    )));
}
