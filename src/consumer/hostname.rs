//! Host names as libvirt's and QEMU's clients match them: GnuTLS's rules
//! (`gnutls_x509_crt_check_hostname`, GnuTLS >= 3.6):
//!
//! - an IPv4 dotted quad, or a name with `:` that parses as IPv6, is compared only with
//!   iPAddress SANs (binary compare), never with DNS SANs or the CN;
//! - otherwise the name is compared, ASCII case-insensitively, with every dNSName SAN;
//! - the CN is used only when there is no dNSName and no iPAddress SAN, exactly one CN, and the
//!   certificate allows the TLS server purpose (no EKU, serverAuth or anyExtendedKeyUsage);
//! - wildcards: only a leading `*`, followed by at least two more labels (`*.com` never
//!   matches); `*` matches within the first label only, possibly empty (`*oo.bar.net` matches
//!   `foo.bar.net` and `oo.bar.net`); `f*.x.org` is literal.

use std::net::IpAddr;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

/// The names a certificate presents.
#[derive(Debug, Default)]
pub struct Names {
    /// dNSName SANs.
    pub dns: Vec<String>,
    /// iPAddress SANs.
    pub ips: Vec<IpAddr>,
    /// Common names.
    pub cns: Vec<String>,
}

/// Extracts the SANs and CNs.
pub fn names(cert: &X509Certificate<'_>) -> Names {
    let mut n = Names::default();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for g in &san.value.general_names {
            match g {
                GeneralName::DNSName(s) => n.dns.push((*s).to_string()),
                GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        n.ips.push(IpAddr::from(a));
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        n.ips.push(IpAddr::from(a));
                    }
                }
                _ => {}
            }
        }
    }
    n.cns = cert
        .subject()
        .iter_common_name()
        .filter_map(|a| a.as_str().ok().map(str::to_string))
        .collect();
    n
}

/// Does the certificate allow the TLS WWW server purpose (GnuTLS's CN-fallback condition)?
fn server_purpose(cert: &X509Certificate<'_>) -> bool {
    match cert.extended_key_usage() {
        Ok(Some(e)) => e.value.server_auth || e.value.any,
        _ => true,
    }
}

/// Parses a host name the way GnuTLS decides it is an IP address.
pub fn as_ip(host: &str) -> Option<IpAddr> {
    if host.contains(':') {
        host.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// ASCII case-insensitive equality, as GnuTLS compares names.
pub fn eq_ascii(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .all(|(x, y)| x.eq_ignore_ascii_case(&y))
}

/// Would GnuTLS accept this wildcard at all?
pub fn wildcard_usable(pattern: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(rest) => !rest.contains('*') && rest.matches('.').count() >= 2 && !rest.ends_with('.'),
        None => true,
    }
}

/// `_gnutls_hostname_compare`.
pub fn name_matches(pattern: &str, host: &str) -> bool {
    if pattern.bytes().any(|b| !(0x20..0x7f).contains(&b)) {
        return false;
    }
    let Some(rest) = pattern.strip_prefix('*') else {
        return eq_ascii(pattern, host);
    };
    if !wildcard_usable(pattern) {
        return false;
    }
    let mut h = host;
    loop {
        if eq_ascii(rest, h) {
            return true;
        }
        let mut rest = h.chars();
        match rest.next() {
            None | Some('.') => return false,
            Some(_) => h = rest.as_str(),
        }
    }
}

/// `gnutls_x509_crt_check_hostname`.
pub fn matches(cert: &X509Certificate<'_>, n: &Names, host: &str) -> bool {
    if let Some(ip) = as_ip(host) {
        return n.ips.contains(&ip);
    }
    // GnuTLS maps an internationalised name to its ASCII form first.
    let Ok(mapped) = crate::consumer::gnutls::host_for_matching(host) else {
        return false;
    };
    let host = mapped.as_str();
    if n.dns.iter().any(|d| name_matches(d, host)) {
        return true;
    }
    n.dns.is_empty()
        && n.ips.is_empty()
        && n.cns.len() == 1
        && server_purpose(cert)
        && n.cns.first().is_some_and(|cn| name_matches(cn, host))
}
