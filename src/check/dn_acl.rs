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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::finding::FRole;
    use crate::check::testkit::{self, codes};
    use crate::x509::keys::KeyType;
    use std::path::Path;

    fn client_with(dn: &[(rcgen::DnType, &str)]) -> testkit::Made {
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        for (t, v) in dn {
            // GnuTLS prints a country that is not a PrintableString as #hex, as certtool writes it.
            if *t == rcgen::DnType::CountryName {
                let c = rcgen::DnValue::PrintableString((*v).try_into().unwrap());
                p.distinguished_name.push(t.clone(), c);
            } else {
                p.distinguished_name.push(t.clone(), *v);
            }
        }
        testkit::raw(p, KeyType::EcdsaP256, None)
    }

    fn run(m: &testkit::Made, patterns: &[&str]) -> Vec<Finding> {
        let cert = m.cert();
        let c = CertRef::new(
            &cert,
            Path::new("/etc/pki/libvirt/clientcert.pem"),
            FRole::Client,
            0,
        );
        let pats: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        let mut out = Vec::new();
        check(&c, &pats, "tls_allowed_dn_list", &mut out);
        out
    }

    #[test]
    fn a_dn_on_no_pattern_is_refused_with_libvirtds_message_and_the_exact_line() {
        use rcgen::DnType::*;
        let m = client_with(&[
            (CountryName, "GB"),
            (OrganizationName, "Acme"),
            (CommonName, "client1"),
        ]);
        assert!(run(&m, &["C=GB,O=Acme,CN=client1"]).is_empty());
        assert!(run(&m, &["C=GB,O=Other,CN=*", "C=GB,O=Acme,CN=client*"]).is_empty());
        // No implicit trailing `*`: a prefix is not a match.
        let f = run(&m, &["C=GB,O=Acme,CN=client"]);
        assert_eq!(codes(&f), [("PKI-D01", Severity::Error)]);
        assert_eq!(
            f[0].message,
            "client DN \"C=GB,O=Acme,CN=client1\" matches no pattern of tls_allowed_dn_list"
        );
        assert!(f[0].why.starts_with("libvirtd refuses the client at handshake: \"Client's Distinguished Name is not on the list of allowed clients (tls_allowed_dn_list)\"; QEMU authz: \"TLS x509 authz check for C=GB,O=Acme,CN=client1 is denied\". Near miss: \"C=GB,O=Acme,CN=client\": "), "{}", f[0].why);
        assert_eq!(
            f[0].fix,
            "add the exact DN to the list: tls_allowed_dn_list = [\"C=GB,O=Acme,CN=client1\"]   (pkitool dn /etc/pki/libvirt/clientcert.pem --libvirtd prints it)"
        );
        // Far from it: said so, with the exact DN to use.
        let f = run(&m, &["DC=org"]);
        assert!(f[0].why.ends_with("Near miss: \"DC=org\": the pattern is far from the certificate's DN: the certificate has no `DC=org`; the pattern does not cover `C=GB`, `O=Acme`, `CN=client1`; use \"C=GB,O=Acme,CN=client1\""), "{}", f[0].why);
    }

    #[test]
    fn a_star_that_swallows_an_escaped_comma_is_a_warning_with_the_forged_dn() {
        let mut out = Vec::new();
        swallowing(
            &[
                "C=GB,O=Acme,CN=*".to_string(),
                "C=GB,O=Acme,CN=admin".to_string(),
            ],
            "tls_allowed_dn_list",
            Path::new("/etc/libvirt/libvirtd.conf"),
            &mut out,
        );
        assert_eq!(codes(&out), [("PKI-D03", Severity::Warning)]);
        assert!(
            out[0].message.starts_with(
                "allow-list pattern \"C=GB,O=Acme,CN=*\" of tls_allowed_dn_list admits \""
            ),
            "{}",
            out[0].message
        );
        assert!(out[0].message.contains("\\,"), "{}", out[0].message);
    }

    #[test]
    fn an_empty_subject_is_unprintable_for_gnutls() {
        let empty = client_with(&[]);
        let cert = empty.cert();
        let mut out = Vec::new();
        unprintable(
            &CertRef::new(&cert, Path::new("c.pem"), FRole::Client, 0),
            &mut out,
        );
        assert_eq!(codes(&out), [("PKI-D04", Severity::Error)]);
        assert!(
            out[0]
                .why
                .contains("\"Failed to get certificate ... distinguished name\"")
        );
        let named = client_with(&[(rcgen::DnType::CommonName, "c")]);
        let cert = named.cert();
        let mut out = Vec::new();
        unprintable(
            &CertRef::new(&cert, Path::new("c.pem"), FRole::Client, 0),
            &mut out,
        );
        assert!(out.is_empty());
    }
}
