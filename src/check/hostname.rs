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
    // The CN becomes a SAN of the re-issued certificate: a DNS name, or an iPAddress SAN when
    // it is an IP (GnuTLS never compares an IP with the CN, so that is what connecting by
    // that address needs).
    if !cn.is_empty() && !sans_suggest.iter().any(|s| s.eq_ignore_ascii_case(&cn)) {
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

    use crate::check::finding::FRole;
    use crate::check::testkit::{self, Made, codes, only};
    use crate::x509::keys::KeyType;
    use std::path::Path;

    fn server(cn: &str, dns: &[&str], ips: &[&str]) -> Made {
        let mut p = testkit::bare(cn);
        for d in dns {
            p.subject_alt_names
                .push(rcgen::SanType::DnsName((*d).try_into().unwrap()));
        }
        for i in ips {
            p.subject_alt_names
                .push(rcgen::SanType::IpAddress(i.parse().unwrap()));
        }
        testkit::raw(p, KeyType::EcdsaP256, None)
    }

    fn run_at(m: &Made, path: &Path, hosts: &[&str]) -> Vec<Finding> {
        let cert = m.cert();
        let c = CertRef::new(&cert, path, FRole::Server, 0);
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let mut out = Vec::new();
        check(&c, &hosts, &mut out);
        out
    }

    fn run(m: &Made, hosts: &[&str]) -> Vec<Finding> {
        run_at(m, Path::new("/nonexistent/servercert.pem"), hosts)
    }

    #[test]
    fn a_certificate_named_only_by_its_cn_warns_and_is_reissued_with_the_cn_as_san() {
        let m = server("vm.example.org", &[], &[]);
        let f = run(&m, &[]);
        assert_eq!(codes(&f), [("PKI-H02", Severity::Warning)]);
        assert_eq!(
            f[0].message,
            "no DNS or IP subject alternative name; only the CN \"vm.example.org\" names the server"
        );
        assert!(f[0].fix.starts_with("pkitool issue server --dn CN=vm.example.org --san vm.example.org --key-type ecdsa-p256"), "{}", f[0].fix);
        // The CN still matches (GnuTLS falls back to it without SANs); an IP never does.
        assert!(
            run(&m, &["vm.example.org"])
                .iter()
                .all(|f| f.code != "PKI-H01")
        );
        let f = run(&m, &["vm.example.org", "10.0.0.1"]);
        let h01 = only(&f, "PKI-H01");
        assert_eq!(
            h01.message,
            "does not match the host name 10.0.0.1 (an IP address matches only an iPAddress SAN); the certificate names only CN=vm.example.org"
        );
        assert!(
            h01.why
                .contains("QEMU \"Certificate does not match the hostname 10.0.0.1\"")
        );
    }

    #[test]
    fn a_cn_outside_the_sans_warns_unless_every_host_name_matches() {
        let m = server(
            "vm.example.org",
            &["vm", "other.example.org"],
            &["10.0.0.7"],
        );
        let f = run(&m, &[]);
        assert_eq!(codes(&f), [("PKI-H03", Severity::Warning)]);
        assert!(
            f[0].why
                .contains("\"Certificate owner does not match the hostname vm.example.org\"")
        );
        let f = run(&m, &["vm", "10.0.0.7"]);
        assert_eq!(codes(&f), [("PKI-H03", Severity::Note)]);
        // Connecting as the CN fails: a warning, and the host-name error with its hint.
        let f = run(&m, &["vm", "vm.example.org"]);
        assert_eq!(
            codes(&f),
            [("PKI-H03", Severity::Warning), ("PKI-H01", Severity::Error)]
        );
        assert_eq!(
            f[1].message,
            "does not match the host name vm.example.org (it is the CN, but GnuTLS ignores the CN when DNS or IP SANs are present); the certificate names DNS:vm, DNS:other.example.org, IP:10.0.0.7"
        );
        // The CN among the SANs (in another case): nothing.
        let m = server("VM.example.org", &["vm.example.org"], &[]);
        assert!(run(&m, &["vm.example.org"]).is_empty());
    }

    #[test]
    fn an_ip_written_as_a_dns_name_or_cn_warns_only_without_its_ip_san() {
        let m = server("10.0.0.2", &["vm.example.org", "10.0.0.1"], &[]);
        let f = run(&m, &[]);
        assert_eq!(
            codes(&f),
            [
                ("PKI-H04", Severity::Warning),
                ("PKI-H04", Severity::Warning)
            ]
        );
        assert_eq!(
            f[0].message,
            "IP address 10.0.0.1 written as a DNS name or CN"
        );
        assert_eq!(
            f[1].message,
            "IP address 10.0.0.2 written as a DNS name or CN"
        );
        // The same text as a DNS SAN does not match an IP host name (certtool agrees).
        let f = run(&m, &["10.0.0.1"]);
        let h01 = only(&f, "PKI-H01");
        assert!(h01.message.starts_with("does not match the host name 10.0.0.1 (10.0.0.1 is present, but as a DNS name or CN, which GnuTLS never compares with an IP)"), "{}", h01.message);
        // With iPAddress SANs for both: nothing to say, and the IP matches.
        let m = server(
            "10.0.0.2",
            &["vm.example.org", "10.0.0.1"],
            &["10.0.0.1", "10.0.0.2"],
        );
        assert!(run(&m, &["10.0.0.1", "10.0.0.2"]).is_empty());
    }

    #[test]
    fn an_ip_cn_becomes_an_ip_san_in_the_fix() {
        let m = server("10.0.0.2", &["vm.example.org"], &[]);
        // Renewed in place: the CN's address is added as an iPAddress SAN.
        let (_dir, path) = testkit::on_disk("servercert.pem", &m.der);
        let f = run_at(&m, &path, &[]);
        assert_eq!(
            only(&f, "PKI-H04").fix,
            format!("pkitool renew {} --add-san 10.0.0.2", path.display())
        );
        // Re-issued (no file to renew): the CN is a DNS name, the address an IP SAN.
        let f = run(&m, &[]);
        assert!(
            only(&f, "PKI-H04").fix.starts_with(
                "pkitool issue server --dn CN=vm.example.org --san 10.0.0.2 --san vm.example.org --key-type ecdsa-p256"
            ),
            "{}",
            f[0].fix
        );
        // Only the IP names it: no host name to make the CN (issue refuses an IP as the CN), so
        // the re-issue says which argument to fill in; renew (above) keeps the subject.
        let m = server("10.0.0.2", &[], &[]);
        let f = run(&m, &[]);
        assert!(
            only(&f, "PKI-H02")
                .fix
                .starts_with("pkitool issue server --dn CN=NAME --san 10.0.0.2 --key-type"),
            "{}",
            f[0].fix
        );
    }

    #[test]
    fn a_certificate_without_a_cn_gets_no_empty_name_in_its_fix() {
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, "Acme");
        p.subject_alt_names.push(rcgen::SanType::DnsName(
            "vm.example.org".try_into().unwrap(),
        ));
        let m = testkit::raw(p, KeyType::EcdsaP256, None);
        let (_dir, path) = testkit::on_disk("servercert.pem", &m.der);
        let f = run_at(&m, &path, &["other.example.org"]);
        assert_eq!(
            only(&f, "PKI-H01").fix,
            format!(
                "pkitool renew {} --add-san other.example.org",
                path.display()
            )
        );
    }

    #[test]
    fn only_leading_wildcards_over_two_labels_are_usable() {
        let m = server(
            "a.example.org",
            &["a.example.org", "*.com", "f*.example.org", "*.example.org"],
            &[],
        );
        let f = run(&m, &[]);
        assert_eq!(
            codes(&f),
            [
                ("PKI-H05", Severity::Warning),
                ("PKI-H05", Severity::Warning)
            ]
        );
        assert_eq!(
            f[0].message,
            "wildcard \"*.com\" is never matched by GnuTLS"
        );
        assert_eq!(
            f[1].message,
            "wildcard \"f*.example.org\" is never matched by GnuTLS"
        );
        assert!(
            run(&m, &["b.example.org"])
                .iter()
                .all(|f| f.code != "PKI-H01")
        );
    }

    #[test]
    fn host_name_hints_name_the_reason() {
        let m = server("vm.example.org", &["vm.example.org"], &[]);
        let f = run(&m, &["vm.example.org."]);
        assert_eq!(
            only(&f, "PKI-H01").message,
            "does not match the host name vm.example.org. (a trailing dot never matches); the certificate names DNS:vm.example.org"
        );
        let f = run(&m, &["other.example.org"]);
        assert_eq!(
            only(&f, "PKI-H01").message,
            "does not match the host name other.example.org; the certificate names DNS:vm.example.org"
        );
        assert!(only(&f, "PKI-H01").why.contains(
            "libvirt \"Certificate [session] owner does not match the hostname other.example.org\""
        ));
        // An internationalised host name matches its A-label SAN, as GnuTLS does.
        let m = server("xn--bcher-kva.example", &["xn--bcher-kva.example"], &[]);
        assert!(run(&m, &["bücher.example"]).is_empty());
        let f = run(&m, &["b\u{fffd}cher.example"]);
        assert!(
            only(&f, "PKI-H01")
                .message
                .contains("(not a valid internationalised name, so GnuTLS matches nothing)"),
            "{:?}",
            f[0].message
        );
    }

    #[test]
    fn the_fix_of_a_certificate_on_disk_renews_it_with_the_names_it_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("servercert.pem");
        let m = server("vm.example.org", &["vm.example.org", "*.com"], &[]);
        std::fs::write(
            &path,
            pem::encode(&pem::Pem::new("CERTIFICATE", m.der.clone())),
        )
        .unwrap();
        let f = run_at(&m, &path, &["10.0.0.9", "vm.example.org"]);
        let h01 = only(&f, "PKI-H01");
        let want = format!(
            "pkitool renew {} --add-san 10.0.0.9 --remove-san '*.com'",
            path.display()
        );
        assert_eq!(h01.fix, want);
        assert_eq!(only(&f, "PKI-H05").fix, want);
        // Only the CN names it: renew adds the CN as a DNS SAN.
        let m = server("vm.example.org", &[], &[]);
        let f = run_at(&m, &path, &[]);
        assert_eq!(
            only(&f, "PKI-H02").fix,
            format!("pkitool renew {} --add-san vm.example.org", path.display())
        );
    }
}
