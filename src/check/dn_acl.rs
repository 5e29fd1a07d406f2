//! The client DN allow-list: libvirt's `tls_allowed_dn_list` (and QEMU authz-list glob rules)
//! match GLib `g_pattern_match_simple` patterns against the DN in GnuTLS "compat" order
//! (`C=GB,ST=London,...,CN=client1`). A DN that matches no pattern is refused at handshake.

use super::CertRef;
use crate::check::finding::{Finding, Severity};

/// PKI-D04: a leaf whose subject GnuTLS cannot print (an empty subject; the loader refuses the
/// other unprintable names).
pub fn unprintable(c: &CertRef<'_, '_>, out: &mut Vec<Finding>) {
    if let Err(e) = crate::x509::dn::try_subject_of(c.cert) {
        out.push(
            c.f(
                "PKI-D04",
                Severity::Error,
                format!("the subject has {}: GnuTLS cannot print the DN ({})", e.what, e.gnutls),
            )
            .why("libvirt reads the DN of the peer's certificate on every TLS connection and refuses the connection when it cannot (\"Failed to get certificate ... distinguished name\"); QEMU's tls-authz needs it too")
            .fix("issue the certificate again with a subject (pkitool issue and sign always give it a CN)"),
        );
    }
}

/// PKI-D03: patterns whose `*` can swallow an escaped separator, each with a DN it admits.
pub fn swallowing(
    patterns: &[String],
    source: &str,
    dir: &std::path::Path,
    out: &mut Vec<Finding>,
) {
    for p in patterns {
        let Some(forged) = crate::consumer::allowlist::swallowing_forgery(p) else {
            continue;
        };
        out.push(
            Finding::new(
                "PKI-D03",
                Severity::Warning,
                format!("allow-list pattern \"{p}\" of {source} admits \"{forged}\": its `*` swallows an escaped separator"),
            )
            .path(dir)
            .why("GnuTLS prints a ',' or '+' inside a value as '\\,' or '\\+', and a `*` in tls_allowed_dn_list matches them like any character: a client whose certificate carries that value (one attribute, signed by your CA) is admitted by libvirtd")
            .fix("list exact DNs instead of patterns with `*` (pkitool dn clientcert.pem --libvirtd prints the line), and issue no client values containing ',' or '+'"),
        );
    }
}

/// Checks one client certificate against the allow-list.
pub fn check(c: &CertRef<'_, '_>, patterns: &[String], source: &str, out: &mut Vec<Finding>) {
    if patterns
        .iter()
        .any(|p| crate::consumer::allowlist::matches(p, &c.subject))
    {
        return;
    }
    let explained: Vec<String> = patterns
        .iter()
        .filter_map(|p| {
            crate::consumer::allowlist::explain(p, &c.subject).map(|why| format!("\"{p}\": {why}"))
        })
        .collect();
    let dn = &c.subject;
    out.push(
        c.f(
            "PKI-D01",
            Severity::Error,
            format!("client DN \"{dn}\" matches no pattern of {source}"),
        )
        .why(format!(
            "libvirtd refuses the client at handshake: \"Client's Distinguished Name is not on the list of allowed clients (tls_allowed_dn_list)\"; QEMU authz: \"TLS x509 authz check for {dn} is denied\"{}",
            if explained.is_empty() { String::new() } else { format!(". Near miss: {}", explained.join("; ")) }
        ))
        .fix(format!(
            "add the exact DN to the list: {}   (pkitool dn {} --libvirtd prints it)",
            crate::quoting::DnForms::of(dn).libvirtd_conf,
            crate::quoting::shell_quote(&c.path.display().to_string())
        )),
    );
}
