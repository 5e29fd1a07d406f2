//! Internationalised DNS names: a name with non-ASCII characters becomes its A-label form
//! (`bücher.example` -> `xn--bcher-kva.example`), as certtool does through libidn2 (UTS #46,
//! non-transitional, STD3 rules), with the maintained `idna` crate. Certificates carry only the
//! A-label; [`to_unicode`] gives the form to print beside it.

use super::build::{IssueError, check_dns_name};

/// A DNS name as a certificate carries it: ASCII names are checked as they are
/// ([`check_dns_name`]), internationalised ones converted to A-labels first; `xn--` labels must be
/// valid Punycode. A leading `*.` is kept.
pub fn to_a_label(s: &str) -> Result<String, IssueError> {
    let (wild, body) = match s.strip_prefix("*.") {
        Some(b) => ("*.", b),
        None => ("", s),
    };
    let ascii = if body.is_ascii() {
        body.to_string()
    } else {
        idna::domain_to_ascii_strict(body).map_err(|_| {
            IssueError::Subject(format!(
                "{s:?} is neither an IP address nor a valid DNS name: it is not a valid internationalised domain name (IDNA, UTS #46)"
            ))
        })?
    };
    let name = format!("{wild}{ascii}");
    check_dns_name(&name)?;
    if name
        .split('.')
        .any(|l| l.len() >= 4 && l[..4].eq_ignore_ascii_case("xn--"))
        && idna::domain_to_unicode(&ascii).1.is_err()
    {
        return Err(IssueError::Subject(format!(
            "{s:?} is not a valid DNS name: an xn-- label is not valid Punycode (IDNA)"
        )));
    }
    Ok(name)
}

/// The Unicode form of a name with A-labels (`xn--bcher-kva.example` -> `bücher.example`); `None`
/// when it has none or they do not decode.
pub fn to_unicode(name: &str) -> Option<String> {
    if !name
        .split('.')
        .any(|l| l.len() >= 4 && l[..4].eq_ignore_ascii_case("xn--"))
    {
        return None;
    }
    let (u, res) = idna::domain_to_unicode(name);
    (res.is_ok() && u != name).then_some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_like_certtool_and_refuses_non_names() {
        assert_eq!(
            to_a_label("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            to_a_label("Bücher.Example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            to_a_label("*.bücher.example").unwrap(),
            "*.xn--bcher-kva.example"
        );
        assert_eq!(to_a_label("host.example").unwrap(), "host.example");
        assert_eq!(
            to_a_label("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
        for bad in [
            "has space",
            "host.",
            "bü cher.example",
            "xn--zz-.example",
            "a..b",
            "☃..x",
        ] {
            assert!(to_a_label(bad).is_err(), "{bad}");
        }
        assert_eq!(
            to_unicode("xn--bcher-kva.example").as_deref(),
            Some("bücher.example")
        );
        assert_eq!(to_unicode("plain.example"), None);
    }
}
