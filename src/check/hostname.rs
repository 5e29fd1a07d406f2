//! Server certificate name checks (PKI-H01 to H06) and every `--hostname` against the
//! certificate, with GnuTLS's matching rules from the consumer model
//! ([`crate::consumer::hostname`]).

use std::net::IpAddr;

use super::CertRef;
use crate::check::finding::{Finding, Severity};
use crate::consumer::hostname::eq_ascii;
pub use crate::consumer::hostname::{Names, as_ip, matches, name_matches, names, wildcard_usable};

/// Server certificate name checks, and every `--hostname` against it.
pub fn check(c: &CertRef<'_, '_>, hostnames: &[String], out: &mut Vec<Finding>) {
    let n = names(c.cert);
    let cn = n.cns.first().cloned().unwrap_or_default();
    let mut sans_suggest: Vec<String> = n.dns.clone();
    sans_suggest.extend(n.ips.iter().map(IpAddr::to_string));
    for h in hostnames {
        // A SAN holds the ASCII (punycode) form of an internationalised name.
        let h = crate::consumer::gnutls::host_for_matching(h).unwrap_or_else(|_| h.clone());
        if !sans_suggest.iter().any(|s| s.eq_ignore_ascii_case(&h)) {
            sans_suggest.push(h);
        }
    }
    if !cn.is_empty()
        && as_ip(&cn).is_none()
        && !sans_suggest.iter().any(|s| s.eq_ignore_ascii_case(&cn))
    {
        sans_suggest.insert(0, cn.clone());
    }
    let fix_cn = if cn.is_empty() || as_ip(&cn).is_some() {
        sans_suggest
            .iter()
            .find(|s| as_ip(s).is_none())
            .cloned()
            .unwrap_or_else(|| "NAME".into())
    } else {
        cn.clone()
    };
    // The re-issued certificate drops the wildcards GnuTLS never matches (PKI-H05).
    sans_suggest.retain(|s| !s.contains('*') || (s.starts_with('*') && wildcard_usable(s)));
    // `pkitool renew` adds the missing names and drops the unusable wildcards, keeping the
    // subject, key, paths, owner and mode; the re-issue is for when there is nothing to edit.
    let present: Vec<String> = n
        .dns
        .iter()
        .cloned()
        .chain(n.ips.iter().map(IpAddr::to_string))
        .collect();
    let mut edits: Vec<String> = sans_suggest
        .iter()
        .filter(|s| !present.iter().any(|p| p.eq_ignore_ascii_case(s)))
        .map(|s| format!("--add-san {}", crate::quoting::shell_quote(s)))
        .collect();
    edits.extend(
        n.dns
            .iter()
            .filter(|d| d.contains('*') && !(d.starts_with('*') && wildcard_usable(d)))
            .map(|d| format!("--remove-san {}", crate::quoting::shell_quote(d))),
    );
    let reissue = || {
        if edits.is_empty() || !c.renewable() {
            c.issue_server(&fix_cn, &sans_suggest)
        } else {
            c.renew_cmd(&edits)
        }
    };
    if n.dns.is_empty() && n.ips.is_empty() {
        out.push(
            c.f("PKI-H02", Severity::Warning, format!("no DNS or IP subject alternative name; only the CN \"{cn}\" names the server"))
                .why("GnuTLS (libvirt, QEMU) and `openssl verify -verify_hostname` still fall back to the CN, but never for an IP address; Go's crypto/tls (since Go 1.15), rustls/webpki and browsers ignore the CN and refuse the certificate; libvirt's docs require the CN duplicated as a DNS SAN")
                .fix(reissue()),
        );
    } else if !cn.is_empty() && as_ip(&cn).is_none() && !n.dns.iter().any(|d| eq_ascii(d, &cn)) {
        // When every name clients use matches a SAN, no TLS stack refuses this: a note.
        let all_match = !hostnames.is_empty() && hostnames.iter().all(|h| matches(c.cert, &n, h));
        let (sev, why) = if all_match {
            (
                Severity::Note,
                format!(
                    "every --hostname matches a SAN, so no TLS stack refuses it; only a client that connects as \"{cn}\" would fail, because with SANs present the CN is ignored"
                ),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "with SANs present GnuTLS ignores the CN: clients connecting to \"{cn}\" fail with \"Certificate owner does not match the hostname {cn}\""
                ),
            )
        };
        out.push(
            c.f(
                "PKI-H03",
                sev,
                format!("the CN \"{cn}\" is not among the DNS SANs"),
            )
            .why(why)
            .fix(reissue()),
        );
    }
    let ip_like: Vec<&String> = n
        .dns
        .iter()
        .chain(n.cns.iter())
        // An IP SAN for the same address makes connecting by IP work: nothing to report.
        .filter(|s| as_ip(s).is_some_and(|ip| !n.ips.contains(&ip)))
        .collect();
    for s in ip_like {
        out.push(
            c.f("PKI-H04", Severity::Warning, format!("IP address {s} written as a DNS name or CN"))
                .why(format!("GnuTLS compares IP addresses only with iPAddress SANs (since 3.6): connecting to {s} fails with \"Certificate does not match the hostname {s}\""))
                .fix(reissue()),
        );
    }
    for d in n
        .dns
        .iter()
        .filter(|d| d.contains('*') && !(d.starts_with('*') && wildcard_usable(d)))
    {
        out.push(
            c.f("PKI-H05", Severity::Warning, format!("wildcard \"{d}\" is never matched by GnuTLS"))
                .why("GnuTLS accepts a '*' only as the first character, followed by at least two labels (no \"*.com\", no \"f*.example.org\")")
                .fix(reissue()),
        );
    }
    for h in hostnames {
        if matches(c.cert, &n, h) {
            continue;
        }
        let hint = if as_ip(h).is_some() {
            if n.dns.iter().chain(n.cns.iter()).any(|s| s == h) {
                format!(
                    " ({h} is present, but as a DNS name or CN, which GnuTLS never compares with an IP)"
                )
            } else {
                " (an IP address matches only an iPAddress SAN)".to_string()
            }
        } else if crate::consumer::gnutls::host_for_matching(h).is_err() {
            " (not a valid internationalised name, so GnuTLS matches nothing)".to_string()
        } else if h.ends_with('.') {
            " (a trailing dot never matches)".to_string()
        } else if !n.dns.is_empty() && n.cns.iter().any(|c| eq_ascii(c, h)) {
            " (it is the CN, but GnuTLS ignores the CN when DNS or IP SANs are present)".to_string()
        } else {
            String::new()
        };
        let presented: Vec<String> = n
            .dns
            .iter()
            .map(|d| format!("DNS:{d}"))
            .chain(n.ips.iter().map(|i| format!("IP:{i}")))
            .collect();
        out.push(
            c.f(
                "PKI-H01",
                Severity::Error,
                format!(
                    "does not match the host name {h}{hint}; the certificate names {}",
                    if presented.is_empty() { format!("only CN={cn}") } else { presented.join(", ") }
                ),
            )
            .why(format!("clients reaching the server as {h} refuse the handshake: libvirt \"Certificate [session] owner does not match the hostname {h}\", QEMU \"Certificate does not match the hostname {h}\""))
            .fix(reissue()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnutls_wildcard_rules() {
        assert!(name_matches("*.example.com", "a.example.com"));
        assert!(name_matches("*.example.com", "A.EXAMPLE.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.com", "example.com"));
        assert!(name_matches("*oo.bar.net", "foo.bar.net"));
        assert!(name_matches("*oo.bar.net", "oo.bar.net"));
        assert!(!name_matches("f*.test.org", "foo.test.org"));
        assert!(name_matches("f*.test.org", "f*.test.org"));
        assert!(!name_matches("vm", "vm."));
        assert!(!wildcard_usable("*.com"));
        assert!(wildcard_usable("*.example.com"));
    }

    #[test]
    fn ip_detection() {
        assert!(as_ip("10.0.0.1").is_some());
        assert!(as_ip("::1").is_some());
        assert_eq!(as_ip("2001:DB8:0:0:0:0:0:1"), as_ip("2001:db8::1"));
        assert!(as_ip("[::1]").is_none());
        assert!(as_ip("vm.example.com").is_none());
    }
}
