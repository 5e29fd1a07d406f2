//! libvirt `tls_allowed_dn_list` / QEMU `authz-list` glob matching, and explanations for the
//! near misses people actually make when they copy a DN into an allow-list.
//!
//! Matching is GLib's `g_pattern_match_simple` (libvirt ≥ 6.x, QEMU `format: glob`): `*` matches
//! any run of characters **including `,`**, `?` matches exactly one UTF-8 character, there are no
//! bracket classes and no escapes (a `\` in a pattern is a literal backslash, which is what the
//! `\,` escapes GnuTLS prints need), and the comparison is case-sensitive. `wildmatch` agrees
//! with GLib on all of this (see the unit tests below).
//!
//! [`explain`] finds the nearest reason a pattern misses: it tries the fixes for the usual
//! mistakes (RFC 4514 reversed order, spaces after commas, QEMU's doubled commas, an unescaped
//! comma, OpenSSL attribute names or slashes, quotes left around the pattern, letter case), alone
//! and combined, then single-attribute edits (a missing, extra or different attribute), and
//! reports the smallest set of fixes that makes the pattern match, with the corrected pattern.

use wildmatch::WildMatch;

/// True when `pattern` matches `dn` the way libvirt and QEMU's glob rules decide.
pub fn matches(pattern: &str, dn: &str) -> bool {
    WildMatch::new(pattern).matches(dn)
}

/// A DN a CA could sign for an ordinary-looking client that `pattern` admits because one of
/// its `*` swallows an escaped separator: GnuTLS prints a `,` or `+` inside a value as `\,`
/// `\+`, and a GLib `*` matches the backslash and the separator like any other character. So
/// `*,CN=admin` admits `CN=mallory\,CN=admin` (one CN whose value is `mallory,CN=admin`), and
/// `C=GB,O=Example,CN=*` admits `C=GB,O=Example,CN=mallory\,CN=admin`. `None` for patterns
/// without a `*` (or none of whose `*` gives a well-formed DN that way).
pub fn swallowing_forgery(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let stars: Vec<usize> = (0..chars.len())
        .filter(|&i| chars.get(i) == Some(&'*'))
        .collect();
    // What a swallowing `*` may stand for: the end of an attribute with a trailing escape (the
    // pattern's separator completes it), a value holding an escaped separator and a forged
    // attribute, or the completion of an escape the pattern started with a backslash.
    const AT_NAME: &[&str] = &["CN=mallory\\", "CN=mallory\\,CN=admin"];
    const IN_VALUE: &[&str] = &["mallory\\", "mallory\\,CN=admin", ",CN=admin", "+CN=admin"];
    for &swallower in &stars {
        let at_name = swallower == 0
            || matches!(chars.get(swallower - 1), Some(',' | '+'))
                && !(swallower >= 2 && chars.get(swallower - 2) == Some(&'\\'));
        let texts = if at_name { AT_NAME } else { IN_VALUE };
        for text in texts {
            for filler in ["x", "CN=x"] {
                let forged: String = chars
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| match c {
                        '*' if i == swallower => (*text).to_string(),
                        '*' => filler.to_string(),
                        c => c.to_string(),
                    })
                    .collect();
                // A DN exactly as GnuTLS prints it, with a separator inside a value.
                let Ok(dn) = crate::x509::dn::parse(&forged) else {
                    continue;
                };
                let swallowed = dn.rdns.iter().flatten().any(|a| {
                    matches!(&a.value, crate::x509::dn::AttributeValue::Text(v) if v.contains([',', '+']))
                });
                if swallowed
                    && dn.to_gnutls_string().is_ok_and(|s| s == forged)
                    && matches(pattern, &forged)
                {
                    return Some(forged);
                }
            }
        }
    }
    None
}

/// Why a pattern does not match, and a pattern that does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// One sentence per problem found, most important first.
    pub reasons: Vec<String>,
    /// A corrected pattern that matches the DN (the pattern with the fixes applied, or the DN
    /// itself when no near fix was found; a DN always matches itself as a pattern).
    pub suggestion: String,
}

/// The nearest reason `pattern` does not match `dn`, with the corrected pattern, as one message.
/// `None` when it matches.
pub fn explain(pattern: &str, dn: &str) -> Option<String> {
    let m = diagnose(pattern, dn)?;
    Some(format!(
        "{}; use \"{}\"",
        m.reasons.join("; "),
        m.suggestion
    ))
}

/// Like [`explain`], as data. `None` when the pattern matches.
pub fn diagnose(pattern: &str, dn: &str) -> Option<Mismatch> {
    if matches(pattern, dn) {
        return None;
    }
    if pattern.trim().is_empty() {
        return Some(Mismatch {
            reasons: vec!["the pattern is empty".into()],
            suggestion: dn.to_string(),
        });
    }
    let variants = variants(pattern, dn);
    // 1. Only normalising fixes, fewest first.
    for v in &variants {
        if matches(&v.pattern, dn) {
            return Some(v.mismatch(v.pattern.clone(), None));
        }
    }
    // 2. The same, plus letter case.
    for v in &variants {
        if WildMatch::new_case_insensitive(&v.pattern).matches(dn) {
            let fixed = fix_case(&v.pattern, dn);
            return Some(v.mismatch(
                fixed,
                Some("letters differ in case (libvirt and QEMU compare case-sensitively)".into()),
            ));
        }
    }
    // 3. One attribute missing, extra, different, or a multi-valued RDN split/joined.
    for v in &variants {
        if let Some((fixed, why)) = single_edit(&v.pattern, dn) {
            return Some(v.mismatch(fixed, Some(why)));
        }
    }
    // 4. Nothing near: say what differs, suggest the DN itself.
    Some(Mismatch {
        reasons: vec![far_reason(pattern, dn)],
        suggestion: dn.to_string(),
    })
}

/// One normalising fix for a common mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fix {
    Unwrap,
    DoubledCommas,
    Slashes,
    EscapeStray,
    Spaces,
    AttrNames,
    Reverse,
}

const FIXES: [Fix; 7] = [
    Fix::Unwrap,
    Fix::DoubledCommas,
    Fix::Slashes,
    Fix::EscapeStray,
    Fix::Spaces,
    Fix::AttrNames,
    Fix::Reverse,
];

impl Fix {
    fn apply(self, p: &str, dn: &str) -> String {
        match self {
            Fix::Unwrap => unwrap(p),
            Fix::DoubledCommas => p.replace(",,", ","),
            Fix::Slashes => slashes_to_commas(p),
            Fix::EscapeStray => escape_stray(p),
            Fix::Spaces => strip_spaces(p),
            Fix::AttrNames => rename_attrs(p, dn),
            Fix::Reverse => join_rdns(split_rdns(p).into_iter().rev()),
        }
    }

    fn reason(self, original: &str, dn: &str) -> String {
        match self {
            Fix::Unwrap => {
                "the pattern still carries its quoting or QEMU's `identity=` prefix; the value \
                 compared is only what is inside"
                    .into()
            }
            Fix::DoubledCommas => {
                "the pattern has QEMU command-line doubled commas (`,,`): QEMU's option parser \
                 turns them into single commas, but libvirtd.conf, QMP JSON and authz-list rules \
                 take the DN as written, with single commas"
                    .into()
            }
            Fix::Slashes => {
                "the pattern is in OpenSSL's legacy `/C=../CN=..` form; libvirt and QEMU compare \
                 the comma-separated GnuTLS form"
                    .into()
            }
            Fix::EscapeStray => {
                "a `,` or `+` inside a value must be escaped as `\\,` or `\\+`, as GnuTLS prints \
                 it (an unescaped one reads as a new attribute)"
                    .into()
            }
            Fix::Spaces => {
                "the pattern has spaces after commas or around `=`; GnuTLS prints none (`C=GB,O=Org`, \
                 not `C=GB, O=Org` or `C = GB`)"
                    .into()
            }
            Fix::AttrNames => {
                let renamed = renamed_attrs(original, dn);
                format!(
                    "GnuTLS spells the attribute names differently ({})",
                    renamed
                        .iter()
                        .map(|(from, to)| format!("`{to}`, not `{from}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            Fix::Reverse => {
                "the RDNs are in reverse (RFC 4514) order, CN first, as `openssl -nameopt RFC2253` \
                 and `certtool -i` print them; libvirt and QEMU compare GnuTLS's certificate \
                 order, which normally starts with C="
                    .into()
            }
        }
    }
}

/// A pattern after some fixes.
#[derive(Debug, Clone)]
struct Variant {
    pattern: String,
    reasons: Vec<String>,
}

impl Variant {
    fn mismatch(&self, suggestion: String, extra: Option<String>) -> Mismatch {
        let mut reasons = self.reasons.clone();
        reasons.extend(extra);
        Mismatch {
            reasons,
            suggestion,
        }
    }
}

/// The original pattern and every combination of fixes that changes it, fewest fixes first,
/// without duplicates.
fn variants(pattern: &str, dn: &str) -> Vec<Variant> {
    let n = FIXES.len();
    let mut subsets: Vec<u32> = (0..(1u32 << n)).collect();
    subsets.sort_by_key(|s| (s.count_ones(), *s));
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    'subsets: for set in subsets {
        let mut p = pattern.to_string();
        let mut reasons = Vec::new();
        for (i, fix) in FIXES.iter().enumerate() {
            if set & (1 << i) == 0 {
                continue;
            }
            let next = fix.apply(&p, dn);
            if next == p {
                continue 'subsets; // this fix does nothing here: a smaller set covers it
            }
            reasons.push(fix.reason(&p, dn));
            p = next;
        }
        if seen.insert(p.clone()) {
            out.push(Variant {
                pattern: p,
                reasons,
            });
        }
    }
    out
}

/// One character of a pattern or DN, with whether a backslash escapes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tok {
    c: char,
    esc: bool,
}

fn tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n) => out.push(Tok { c: n, esc: true }),
                None => out.push(Tok { c, esc: false }),
            }
        } else {
            out.push(Tok { c, esc: false });
        }
    }
    out
}

fn render(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        if t.esc {
            s.push('\\');
        }
        s.push(t.c);
    }
    s
}

/// Splits at unescaped `sep`.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = vec![Vec::new()];
    for t in tokens(s) {
        if !t.esc && t.c == sep {
            parts.push(Vec::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(t);
        }
    }
    parts.iter().map(|p| render(p)).collect()
}

fn split_rdns(s: &str) -> Vec<String> {
    split_unescaped(s, ',')
}

fn join_rdns<I: IntoIterator<Item = String>>(parts: I) -> String {
    parts.into_iter().collect::<Vec<_>>().join(",")
}

fn has_wildcard(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

fn unwrap(p: &str) -> String {
    let mut s = p.trim();
    loop {
        let before = s;
        for q in ['"', '\''] {
            if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
                s = inner;
            }
        }
        for prefix in ["identity=", "--object "] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest;
            }
        }
        s = s.trim();
        if s == before {
            return s.to_string();
        }
    }
}

fn slashes_to_commas(p: &str) -> String {
    if !p.starts_with('/') || !p.contains('=') {
        return p.to_string();
    }
    let parts: Vec<String> = split_unescaped(p, '/')
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    parts.join(",")
}

/// True when the text starts like `NAME=` (an attribute type), a wildcard, or nothing.
fn starts_like_attribute(rest: &[Tok]) -> bool {
    let mut i = rest
        .iter()
        .position(|t| !t.c.is_whitespace() || t.esc)
        .unwrap_or(rest.len());
    let Some(first) = rest.get(i) else {
        return true; // trailing separator: leave it alone
    };
    if !first.esc && matches!(first.c, '*' | '?' | ',') {
        return true;
    }
    if !(first.c.is_ascii_alphanumeric()) || first.esc {
        return false;
    }
    while let Some(t) = rest.get(i) {
        if t.esc {
            return false;
        }
        if t.c.is_ascii_alphanumeric() || t.c == '-' || t.c == '.' {
            i += 1;
        } else {
            break;
        }
    }
    while rest.get(i).is_some_and(|t| t.c == ' ' && !t.esc) {
        i += 1;
    }
    rest.get(i).is_some_and(|t| t.c == '=' && !t.esc)
}

fn escape_stray(p: &str) -> String {
    let mut toks = tokens(p);
    for i in 0..toks.len() {
        let Some(t) = toks.get(i).copied() else {
            break;
        };
        if t.esc || !(t.c == ',' || t.c == '+') {
            continue;
        }
        let rest = toks.get(i + 1..).unwrap_or(&[]);
        if !starts_like_attribute(rest)
            && let Some(t) = toks.get_mut(i)
        {
            t.esc = true;
        }
    }
    render(&toks)
}

fn trim_toks(mut t: &[Tok]) -> &[Tok] {
    while let Some((first, rest)) = t.split_first() {
        if first.c.is_whitespace() && !first.esc {
            t = rest;
        } else {
            break;
        }
    }
    while let Some((last, rest)) = t.split_last() {
        if last.c.is_whitespace() && !last.esc {
            t = rest;
        } else {
            break;
        }
    }
    t
}

/// Removes unescaped whitespace around `,` and `+` separators and around each attribute's `=`.
fn strip_spaces(p: &str) -> String {
    let rdns: Vec<String> = split_rdns(p)
        .iter()
        .map(|rdn| {
            let avas: Vec<String> = split_unescaped(rdn, '+')
                .iter()
                .map(|ava| {
                    let toks = tokens(ava);
                    let toks = trim_toks(&toks);
                    match toks.iter().position(|t| t.c == '=' && !t.esc) {
                        Some(eq) => {
                            let (name, value) = toks.split_at(eq);
                            let value = value.get(1..).unwrap_or(&[]);
                            format!("{}={}", render(trim_toks(name)), render(trim_toks(value)))
                        }
                        None => render(toks),
                    }
                })
                .collect();
            avas.join("+")
        })
        .collect();
    rdns.join(",")
}

/// Attribute names that mean the same attribute (GnuTLS's spelling first).
const ALIASES: &[&[&str]] = &[
    &["C", "countryName", "2.5.4.6"],
    &["ST", "S", "stateOrProvinceName", "2.5.4.8"],
    &["L", "localityName", "2.5.4.7"],
    &["O", "organizationName", "2.5.4.10"],
    &["OU", "organizationalUnitName", "2.5.4.11"],
    &["CN", "commonName", "2.5.4.3"],
    &["DC", "domainComponent", "0.9.2342.19200300.100.1.25"],
    &["UID", "userId", "0.9.2342.19200300.100.1.1"],
    &["EMAIL", "emailAddress", "E", "1.2.840.113549.1.9.1"],
    &["serialNumber", "2.5.4.5"],
    &["title", "2.5.4.12"],
    &["givenName", "GN", "G", "2.5.4.42"],
    &["surName", "SN", "2.5.4.4"],
    &["initials", "2.5.4.43"],
    &["generationQualifier", "2.5.4.44"],
    &["pseudonym", "2.5.4.65"],
    &["street", "streetAddress", "2.5.4.9"],
    &["postalCode", "2.5.4.17"],
    &["name", "2.5.4.41"],
    &["dnQualifier", "2.5.4.46"],
];

fn same_attribute(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    ALIASES.iter().any(|group| {
        group.iter().any(|n| n.eq_ignore_ascii_case(a))
            && group.iter().any(|n| n.eq_ignore_ascii_case(b))
    })
}

/// The attribute names used in a DN or pattern, in order.
fn attr_names(s: &str) -> Vec<String> {
    split_rdns(s)
        .iter()
        .flat_map(|rdn| split_unescaped(rdn, '+'))
        .filter_map(|ava| {
            let toks = tokens(&ava);
            let eq = toks.iter().position(|t| t.c == '=' && !t.esc)?;
            let name = render(trim_toks(toks.get(..eq)?));
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// (pattern's name, DN's name) pairs that differ only in spelling.
fn renamed_attrs(p: &str, dn: &str) -> Vec<(String, String)> {
    let dn_names = attr_names(dn);
    let mut out: Vec<(String, String)> = Vec::new();
    for name in attr_names(p) {
        if dn_names.contains(&name) {
            continue;
        }
        if let Some(to) = dn_names.iter().find(|d| same_attribute(&name, d))
            && !out.iter().any(|(f, _)| f == &name)
        {
            out.push((name, to.clone()));
        }
    }
    out
}

fn rename_attrs(p: &str, dn: &str) -> String {
    let renames = renamed_attrs(p, dn);
    if renames.is_empty() {
        return p.to_string();
    }
    let rdns: Vec<String> = split_rdns(p)
        .iter()
        .map(|rdn| {
            split_unescaped(rdn, '+')
                .iter()
                .map(|ava| {
                    let toks = tokens(ava);
                    let Some(eq) = toks.iter().position(|t| t.c == '=' && !t.esc) else {
                        return ava.clone();
                    };
                    let (name, rest) = toks.split_at(eq);
                    let name_s = render(trim_toks(name));
                    match renames.iter().find(|(f, _)| f == &name_s) {
                        Some((_, to)) => format!("{to}{}", render(rest)),
                        None => ava.clone(),
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.join(",")
}

/// A case-corrected pattern: the DN when the pattern has no wildcards, otherwise the pattern with
/// each wildcard-free RDN replaced by the DN's spelling.
fn fix_case(p: &str, dn: &str) -> String {
    if !has_wildcard(p) {
        return dn.to_string();
    }
    let prdns = split_rdns(p);
    let drdns = split_rdns(dn);
    if prdns.len() == drdns.len() {
        let fixed = join_rdns(prdns.iter().zip(&drdns).map(|(a, b)| {
            if !has_wildcard(a) && a.to_lowercase() == b.to_lowercase() {
                b.clone()
            } else {
                a.clone()
            }
        }));
        if matches(&fixed, dn) {
            return fixed;
        }
    }
    dn.to_string()
}

/// The attribute type of an RDN (`CN` of `CN=x`), trimmed.
fn attr_type(rdn: &str) -> String {
    rdn.split('=').next().unwrap_or_default().trim().to_string()
}

fn at(v: &[String], i: usize) -> String {
    v.get(i).cloned().unwrap_or_default()
}

/// One RDN removed, added, replaced, or split/joined as a multi-valued RDN.
fn single_edit(p: &str, dn: &str) -> Option<(String, String)> {
    let prdns = split_rdns(p);
    let drdns = split_rdns(dn);
    // Multi-valued RDN written as two RDNs, or the reverse.
    for i in 0..prdns.len().saturating_sub(1) {
        let mut v = prdns.clone();
        let joined = format!("{}+{}", at(&v, i), at(&v, i + 1));
        v.splice(i..i + 2, [joined.clone()]);
        let cand = join_rdns(v);
        if matches(&cand, dn) {
            return Some((
                cand,
                format!(
                    "`{joined}` is one multi-valued RDN in the certificate: join its parts with `+`, not `,`"
                ),
            ));
        }
    }
    for (i, rdn) in prdns.iter().enumerate() {
        let parts = split_unescaped(rdn, '+');
        if parts.len() > 1 {
            let mut v = prdns.clone();
            v.splice(i..i + 1, parts.iter().cloned());
            let cand = join_rdns(v);
            if matches(&cand, dn) {
                return Some((
                    cand,
                    format!(
                        "`{rdn}` is not one multi-valued RDN in the certificate: separate its parts with `,`"
                    ),
                ));
            }
        }
    }
    // Different RDN: same attribute type first, then the same position, then any.
    for (i, prdn) in prdns.iter().enumerate() {
        let ptype = attr_type(prdn);
        let mut order: Vec<&String> = drdns.iter().filter(|d| attr_type(d) == ptype).collect();
        order.extend(drdns.get(i));
        order.extend(drdns.iter());
        for d in order {
            let mut v = prdns.clone();
            if let Some(slot) = v.get_mut(i) {
                *slot = d.clone();
            }
            let cand = join_rdns(v);
            if matches(&cand, dn) {
                return Some((
                    cand,
                    format!("the pattern has `{prdn}` where the certificate has `{d}`"),
                ));
            }
        }
    }
    // Missing RDN.
    for d in &drdns {
        for pos in 0..=prdns.len() {
            let mut v = prdns.clone();
            v.insert(pos, d.clone());
            let cand = join_rdns(v);
            if matches(&cand, dn) {
                let place = match pos.checked_sub(1).and_then(|k| prdns.get(k)) {
                    Some(prev) => format!("after `{prev}`"),
                    None => "at the start".into(),
                };
                return Some((
                    cand,
                    format!("the pattern lacks the certificate's `{d}` ({place})"),
                ));
            }
        }
    }
    // Extra RDN in the pattern (last: removing a literal next to a `*` only widens the pattern).
    for i in 0..prdns.len() {
        let mut v = prdns.clone();
        let removed = v.remove(i);
        let cand = join_rdns(v);
        if !cand.is_empty() && matches(&cand, dn) {
            return Some((
                cand,
                format!("the certificate's DN has no `{removed}`: remove it from the pattern"),
            ));
        }
    }
    None
}

fn far_reason(p: &str, dn: &str) -> String {
    let prdns: Vec<String> = split_rdns(&strip_spaces(p));
    let drdns = split_rdns(dn);
    let missing: Vec<&String> = drdns
        .iter()
        .filter(|d| !prdns.iter().any(|x| has_wildcard(x) || x == *d))
        .collect();
    let extra: Vec<&String> = prdns
        .iter()
        .filter(|x| !x.is_empty() && !has_wildcard(x) && !drdns.contains(x))
        .collect();
    let mut parts = Vec::new();
    if !extra.is_empty() {
        parts.push(format!(
            "the certificate has no {}",
            extra
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !missing.is_empty() {
        parts.push(format!(
            "the pattern does not cover {}",
            missing
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if parts.is_empty() {
        "the pattern is far from the certificate's DN".into()
    } else {
        format!(
            "the pattern is far from the certificate's DN: {}",
            parts.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DN: &str = "C=GB,ST=London,L=London,O=Example Org,OU=Virt Team,CN=client1";

    #[test]
    fn glib_semantics() {
        // `*` spans commas, `?` is one character, case-sensitive.
        assert!(matches("C=GB,*,CN=client?", DN));
        assert!(matches("*", DN));
        assert!(matches("*CN=client1", DN));
        assert!(!matches("C=GB,*,CN=client", DN));
        assert!(!matches("c=gb,*", DN));
        assert!(matches("", ""));
        assert!(!matches("", DN));
        // `?` matches one UTF-8 character, not one byte.
        assert!(matches("O=Soci?t? G?n?rale", "O=Société Générale"));
        assert!(!matches("O=Soci??t? G?n?rale", "O=Société Générale"));
        // No bracket classes: `[` is literal.
        assert!(!matches("CN=client[12]", "CN=client1"));
        assert!(matches("CN=client[12]", "CN=client[12]"));
        // No escapes: a backslash is a literal backslash, as in GnuTLS's `\,`.
        assert!(matches("O=Example\\, Inc.", "O=Example\\, Inc."));
        assert!(!matches("O=Example\\, Inc.", "O=Example, Inc."));
        assert!(matches("O=Example\\*", "O=Example\\anything"));
        // `**` is the same as `*`; `*` matches the empty string.
        assert!(matches("C=GB**CN=client1", "C=GBCN=client1"));
    }

    #[test]
    fn explains_reversed_order() {
        let m = diagnose(
            "CN=client1,OU=Virt Team,O=Example Org,L=London,ST=London,C=GB",
            DN,
        )
        .unwrap();
        assert_eq!(m.suggestion, DN);
        assert_eq!(m.reasons.len(), 1, "{m:?}");
        assert!(m.reasons[0].contains("reverse"), "{m:?}");
        assert!(
            explain("CN=client?,*,C=GB", DN)
                .unwrap()
                .contains("C=GB,*,CN=client?")
        );
    }

    #[test]
    fn explains_spaces_and_reversal_together() {
        let m = diagnose(
            "CN = client1, OU = Virt Team, O = Example Org, L=London, ST=London, C=GB",
            DN,
        )
        .unwrap();
        assert_eq!(m.suggestion, DN);
        assert_eq!(m.reasons.len(), 2, "{m:?}");
        assert!(m.reasons.iter().any(|r| r.contains("spaces")));
        assert!(m.reasons.iter().any(|r| r.contains("reverse")));
    }

    #[test]
    fn explains_qemu_doubled_commas_and_identity_prefix() {
        let m = diagnose(
            "C=GB,,ST=London,,L=London,,O=Example Org,,OU=Virt Team,,CN=client1",
            DN,
        )
        .unwrap();
        assert_eq!(m.suggestion, DN);
        assert!(m.reasons[0].contains("doubled commas"), "{m:?}");
        let m = diagnose(
            "identity=C=GB,,ST=London,,L=London,,O=Example Org,,OU=Virt Team,,CN=client1",
            DN,
        )
        .unwrap();
        assert_eq!(m.suggestion, DN);
        assert_eq!(m.reasons.len(), 2, "{m:?}");
        let m = diagnose(&format!("\"{DN}\""), DN).unwrap();
        assert_eq!(m.suggestion, DN);
        assert!(m.reasons[0].contains("quoting"), "{m:?}");
    }

    #[test]
    fn explains_case() {
        let m = diagnose(&DN.to_lowercase(), DN).unwrap();
        assert_eq!(m.suggestion, DN);
        assert!(m.reasons.iter().any(|r| r.contains("case")), "{m:?}");
        // With a wildcard: the literal RDNs get the certificate's spelling.
        let m = diagnose("C=GB,*,cn=Client?", DN).unwrap();
        assert!(matches(&m.suggestion, DN), "{m:?}");
        let m = diagnose(
            "C=GB,ST=London,L=London,O=example org,OU=Virt Team,CN=client*",
            DN,
        )
        .unwrap();
        assert_eq!(
            m.suggestion,
            "C=GB,ST=London,L=London,O=Example Org,OU=Virt Team,CN=client*"
        );
    }

    #[test]
    fn explains_missing_extra_and_different_attributes() {
        let m = diagnose("C=GB,ST=London,L=London,O=Example Org,CN=client1", DN).unwrap();
        assert_eq!(m.suggestion, DN);
        assert!(
            m.reasons[0].contains("lacks") && m.reasons[0].contains("OU=Virt Team"),
            "{m:?}"
        );
        let m = diagnose(
            "C=GB,ST=London,L=London,O=Example Org,OU=Virt Team,OU=Other,CN=client1",
            DN,
        )
        .unwrap();
        assert_eq!(m.suggestion, DN);
        assert!(m.reasons[0].contains("no `OU=Other`"), "{m:?}");
        let m = diagnose(
            "C=GB,ST=London,L=London,O=Example Org,OU=Virt Team,CN=client2",
            DN,
        )
        .unwrap();
        assert_eq!(m.suggestion, DN);
        assert!(m.reasons[0].contains("`CN=client2` where the certificate has `CN=client1`"));
        // With a wildcard, the specific fix wins over dropping the literal next to `*`.
        let m = diagnose("C=GB,*,CN=client2", DN).unwrap();
        assert_eq!(m.suggestion, "C=GB,*,CN=client1");
    }

    #[test]
    fn explains_unescaped_comma_and_plus() {
        let dn = "O=Example\\, Inc.,OU=R&D \\+ Ops,CN=client #2 = weird";
        let m = diagnose("O=Example, Inc.,OU=R&D + Ops,CN=client #2 = weird", dn).unwrap();
        assert_eq!(m.suggestion, dn);
        assert!(m.reasons[0].contains("escaped"), "{m:?}");
    }

    #[test]
    fn explains_openssl_names_and_slashes() {
        let dn = "C=GB,O=Example Org,CN=client1,EMAIL=a@example.com";
        let m = diagnose(
            "/C=GB/O=Example Org/CN=client1/emailAddress=a@example.com",
            dn,
        )
        .unwrap();
        assert_eq!(m.suggestion, dn);
        assert_eq!(m.reasons.len(), 2, "{m:?}");
        assert!(
            m.reasons[1].contains("`EMAIL`, not `emailAddress`"),
            "{m:?}"
        );
    }

    #[test]
    fn explains_multi_valued_rdn() {
        let dn = "C=GB,CN=client1+UID=jdoe";
        let m = diagnose("C=GB,CN=client1,UID=jdoe", dn).unwrap();
        assert_eq!(m.suggestion, dn);
        assert!(m.reasons[0].contains("multi-valued"), "{m:?}");
        let m = diagnose("C=GB+CN=client1", "C=GB,CN=client1").unwrap();
        assert_eq!(m.suggestion, "C=GB,CN=client1");
    }

    #[test]
    fn far_patterns_suggest_the_dn() {
        let m = diagnose("O=Nothing,CN=alike", DN).unwrap();
        assert_eq!(m.suggestion, DN);
        assert!(m.reasons[0].contains("far"), "{m:?}");
        assert!(diagnose("", DN).unwrap().reasons[0].contains("empty"));
        assert_eq!(explain(DN, DN), None);
        assert_eq!(explain("C=GB,*", DN), None);
    }

    #[test]
    fn every_suggestion_matches() {
        let patterns = [
            "CN=client1,OU=Virt Team,O=Example Org,L=London,ST=London,C=GB",
            "c=gb, st=london, *",
            "C=GB,,ST=London,,*",
            "'CN=client1, C=GB'",
            "/CN=client1/OU=Virt Team/O=Example Org/L=London/ST=London/C=GB",
            "x",
            "*,CN=client",
            "C=GB,*,CN=client1,*,OU=x",
        ];
        for p in patterns {
            let m = diagnose(p, DN).unwrap();
            assert!(matches(&m.suggestion, DN), "{p}: {m:?}");
        }
    }

    #[test]
    fn glib_pattern_semantics() {
        let dn = "C=GB,ST=London,L=London,O=Example Org,CN=client1";
        assert!(matches("C=GB,*,CN=client?", dn));
        assert!(matches("*", dn));
        assert!(!matches("CN=client1,*", dn));
        assert!(!matches("c=gb,*", dn));
        assert!(!matches(
            "C=GB,ST=London,L=London,O=Example Org,CN=client[1]",
            dn
        ));
    }

    #[test]
    fn stars_that_swallow_an_escaped_separator_are_named_with_a_forged_dn() {
        for (pattern, forged) in [
            ("*,CN=admin", "CN=mallory\\,CN=admin"),
            (
                "C=GB,O=Example,CN=*",
                "C=GB,O=Example,CN=mallory\\,CN=admin",
            ),
            ("CN=client*", "CN=clientmallory\\,CN=admin"),
            ("O=Ex,*,CN=a", "O=Ex,CN=mallory\\,CN=a"),
            ("*+UID=root", "CN=mallory\\+UID=root"),
        ] {
            assert_eq!(
                swallowing_forgery(pattern).as_deref(),
                Some(forged),
                "{pattern}"
            );
            assert!(matches(pattern, forged), "{pattern}");
        }
        // GLib has no escapes: the `*` after a backslash is a wildcard too.
        assert_eq!(
            swallowing_forgery("CN=star\\*").as_deref(),
            Some("CN=star\\,CN=admin")
        );
        for exact in ["C=GB,O=Example,CN=client1", "CN=a?c"] {
            assert_eq!(swallowing_forgery(exact), None, "{exact}");
        }
    }
}

/// Tests for survivors of the cargo-mutants run over this file (benches/mutants.sh dn).
#[cfg(test)]
mod mutants_tests {
    use super::*;

    const DN: &str = "C=GB,ST=London,L=London,O=Libvirt Project,CN=client1";

    #[test]
    fn two_mistakes_at_once_are_both_named_and_fixed() {
        // The README's example: spaces after the commas and the RDNs in reverse order. Only the
        // combination of two fixes matches, so each reason must be there (not the "far" one).
        let m = diagnose(
            "CN=client1, O=Libvirt Project, L=London, ST=London, C=GB",
            DN,
        )
        .unwrap();
        assert_eq!(m.suggestion, DN);
        assert_eq!(m.reasons.len(), 2, "{m:?}");
        assert!(m.reasons[0].contains("spaces after commas"), "{m:?}");
        assert!(m.reasons[1].contains("reverse (RFC 4514) order"), "{m:?}");
    }

    #[test]
    fn the_nearest_fix_is_the_one_with_fewest_changes() {
        // One attribute value differs: that single edit is the suggestion, not a reordering
        // plus an edit ("C=GB,*" with a reverse-order reason).
        let m = diagnose("*,CN=client", DN).unwrap();
        assert_eq!(m.suggestion, "*,CN=client1", "{m:?}");
        assert_eq!(m.reasons.len(), 1, "{m:?}");
        assert!(!m.reasons[0].contains("reverse"), "{m:?}");
        // Spaces and case only: no attribute renaming is claimed.
        let m = diagnose("c=gb, st=london, *", DN).unwrap();
        assert_eq!(m.reasons.len(), 2, "{m:?}");
        assert!(!m.reasons.iter().any(|r| r.contains("spells")), "{m:?}");
    }

    #[test]
    fn every_misspelt_attribute_is_renamed_once() {
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            renamed_attrs("c=GB,st=London,*", DN),
            vec![pair("c", "C"), pair("st", "ST")]
        );
        assert_eq!(renamed_attrs("c=GB,c=XX,*", DN), vec![pair("c", "C")]);
        assert_eq!(renamed_attrs("C=GB,*", DN), vec![]);
    }

    #[test]
    fn a_different_value_is_replaced_by_the_same_attribute_first() {
        // `*,ST=London,*` would match too; the certificate's L is the nearer fix for `L=Paris`.
        let m = diagnose("*,L=Paris,*", DN).unwrap();
        assert_eq!(m.suggestion, "*,L=London,*", "{m:?}");
        assert!(m.reasons[0].contains("`L=London`"), "{m:?}");
    }

    #[test]
    fn a_multi_valued_rdn_the_certificate_does_not_have_is_split() {
        let dn = "C=GB,O=A,OU=B,CN=x";
        let m = diagnose("C=GB,O=A+OU=B,CN=x", dn).unwrap();
        assert_eq!(m.suggestion, dn, "{m:?}");
        assert!(
            m.reasons[0].contains("is not one multi-valued RDN"),
            "{m:?}"
        );
    }

    #[test]
    fn an_extra_rdn_in_the_pattern_is_named_for_removal() {
        let m = diagnose(
            "C=GB,ST=London,L=London,O=Libvirt Project,OU=x,CN=client1",
            DN,
        )
        .unwrap();
        assert_eq!(m.suggestion, DN, "{m:?}");
        assert_eq!(
            m.reasons,
            vec!["the certificate's DN has no `OU=x`: remove it from the pattern".to_string()]
        );
    }

    #[test]
    fn a_far_pattern_says_what_is_extra_and_what_is_not_covered() {
        assert_eq!(
            far_reason("O=Nothing, CN=alike", DN),
            "the pattern is far from the certificate's DN: the certificate has no `O=Nothing`, \
             `CN=alike`; the pattern does not cover `C=GB`, `ST=London`, `L=London`, \
             `O=Libvirt Project`, `CN=client1`"
        );
        // A wildcard covers every RDN; an empty RDN is not "extra".
        assert_eq!(
            far_reason("C=GB,*,,CN=nobody,OU=x", DN),
            "the pattern is far from the certificate's DN: the certificate has no `CN=nobody`, \
             `OU=x`"
        );
        // RDNs the pattern has literally are covered.
        assert_eq!(
            far_reason("C=GB,ST=London,X=1", DN),
            "the pattern is far from the certificate's DN: the certificate has no `X=1`; the \
             pattern does not cover `L=London`, `O=Libvirt Project`, `CN=client1`"
        );
        assert_eq!(
            far_reason(DN, DN),
            "the pattern is far from the certificate's DN"
        );
    }

    #[test]
    fn only_an_openssl_slash_form_is_split_on_slashes() {
        // A comma-separated DN with a `/` inside a value is left alone (it does not start with
        // `/`); so is a slash-led text without any `=` (not a DN).
        assert_eq!(slashes_to_commas("C=GB,O=A/B,CN=x"), "C=GB,O=A/B,CN=x");
        assert_eq!(slashes_to_commas("/just/a/path"), "/just/a/path");
        assert_eq!(slashes_to_commas("/C=GB/O=A/CN=x"), "C=GB,O=A,CN=x");
    }

    #[test]
    fn a_separator_is_left_alone_only_before_an_attribute_or_a_wildcard() {
        // Before a wildcard, another comma or nothing: a separator.
        assert_eq!(escape_stray("C=GB,*"), "C=GB,*");
        assert_eq!(escape_stray("C=GB,?N=x"), "C=GB,?N=x");
        assert_eq!(escape_stray("C=GB,"), "C=GB,");
        // Before an attribute type, including a dotted OID as GnuTLS prints unknown types.
        assert_eq!(escape_stray("C=GB,CN=x"), "C=GB,CN=x");
        assert_eq!(escape_stray("C=GB,2.5.4.45=#0101"), "C=GB,2.5.4.45=#0101");
        assert_eq!(escape_stray("C=GB,x-y = 1"), "C=GB,x-y = 1");
        // Inside a value: escaped, as GnuTLS prints it.
        assert_eq!(
            escape_stray("O=Example, Inc.,CN=x"),
            "O=Example\\, Inc.,CN=x"
        );
        assert_eq!(escape_stray("O=a,=b"), "O=a\\,=b");
        assert_eq!(escape_stray("O=a,-b=c"), "O=a\\,-b=c");
        // An escaped `*` is a literal star in a value, not a wildcard.
        assert_eq!(escape_stray("O=a,\\*b"), "O=a\\,\\*b");
    }

    #[test]
    fn unwrap_peels_nested_quoting_and_stops() {
        assert_eq!(unwrap("  'identity=\"C=GB,CN=x\"'  "), "C=GB,CN=x");
        assert_eq!(unwrap("C=GB,CN=x"), "C=GB,CN=x");
        assert_eq!(unwrap("\"\""), "");
    }
}
