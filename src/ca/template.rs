//! certtool `.info` templates, read with certtool's semantics (GnuTLS >= 3.7.3 parser), but
//! stopping with an error naming the line wherever certtool would silently do something the
//! author did not mean:
//!
//! | certtool's silent behaviour | pkitool |
//! |---|---|
//! | a mis-cased key (`CN = x`) is ignored without a warning | error, "write `cn`" |
//! | an unknown key is skipped with a warning | error |
//! | a line that cannot start a key (`[section]`, `1x = y`) ends parsing, the rest is ignored | error |
//! | `#` after an unquoted value is part of the value | error, "quote the value or move the comment" |
//! | CRLF line ends put `\r` into values | error, "convert with dos2unix" |
//! | booleans are presence-only: `ca = no` / `false` / `0` *enable* the flag | error |
//! | `dns_name =` (empty) aborts certtool with an obscure message | error naming the line |
//! | `expiration_days = abc` silently means 365 | error |
//!
//! Otherwise the semantics are certtool's: `key = value`, `key: value` or `key value`; quoted
//! values with `\"` escapes; a repeated single-valued key keeps the first value (with a warning);
//! repeated multi-valued keys (`dns_name`, `ip_address`, `organization`, `unit`, `dc`, `email`)
//! keep every value in file order; `o`/`ou` are aliases ignored when `organization`/`unit` is
//! present; the subject is encoded in certtool's fixed order whatever the file order.

use std::path::{Path, PathBuf};

use crate::x509::build::{self, San, SubjectFields};

/// A template error: file, line, what, and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}{}", path.display(), hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
pub struct TemplateError {
    /// The template file.
    pub path: PathBuf,
    /// 1-based line number (0 for the whole file).
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// How a key's value is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Single,
    Multi,
    Bool,
    Int,
    Date,
}

/// The keys pkitool understands (the ones the libvirt and QEMU docs use, plus their neighbours).
const KEYS: &[(&str, Kind)] = &[
    ("cn", Kind::Single),
    ("organization", Kind::Multi),
    ("o", Kind::Multi),
    ("unit", Kind::Multi),
    ("ou", Kind::Multi),
    ("locality", Kind::Single),
    ("state", Kind::Single),
    ("country", Kind::Single),
    ("dc", Kind::Multi),
    ("uid", Kind::Single),
    ("dn", Kind::Single),
    ("pkcs9_email", Kind::Single),
    ("email", Kind::Multi),
    ("dns_name", Kind::Multi),
    ("ip_address", Kind::Multi),
    ("uri", Kind::Multi),
    ("expiration_days", Kind::Int),
    ("activation_date", Kind::Date),
    ("expiration_date", Kind::Date),
    ("serial", Kind::Single),
    ("ca", Kind::Bool),
    ("path_len", Kind::Int),
    ("cert_signing_key", Kind::Bool),
    ("crl_signing_key", Kind::Bool),
    ("signing_key", Kind::Bool),
    ("encryption_key", Kind::Bool),
    ("tls_www_server", Kind::Bool),
    ("tls_www_client", Kind::Bool),
];

/// certtool keys pkitool deliberately does not implement (they exist in certtool, so the error
/// says so rather than "unknown").
const CERTTOOL_ONLY: &[&str] = &[
    "dn_oid",
    "challenge_password",
    "krb5_principal",
    "other_name",
    "other_name_utf8",
    "other_name_octet",
    "xmpp_name",
    "key_agreement",
    "data_encipherment",
    "non_repudiation",
    "code_signing_key",
    "email_protection_key",
    "time_stamping_key",
    "ocsp_signing_key",
    "ipsec_ike_key",
    "key_purpose_oid",
    "nc_permit_dns",
    "nc_exclude_dns",
    "nc_permit_email",
    "nc_exclude_email",
    "nc_permit_ip",
    "nc_exclude_ip",
    "crl_dist_points",
    "ocsp_uri",
    "ca_issuers_uri",
    "inhibit_anypolicy_skip_certs",
    "tls_feature",
    "add_extension",
    "add_critical_extension",
    "subject_unique_id",
    "issuer_unique_id",
    "honor_crq_extensions",
    "honor_crq_ext",
    "proxy_policy_language",
    "crl_next_update",
    "crl_number",
    "crl_this_update_date",
    "crl_next_update_date",
    "crl_revocation_date",
    "password",
    "pkcs12_key_name",
];

/// A parsed template.
#[derive(Debug, Clone, Default)]
pub struct Template {
    /// Where it came from.
    pub path: PathBuf,
    /// Subject fields.
    pub subject: SubjectFields,
    /// SANs in certtool's order: dNSName, then rfc822Name, then iPAddress, then URI... (here:
    /// file order within each kind, kinds in certtool's order).
    pub sans: Vec<San>,
    /// `expiration_days`.
    pub expiration_days: Option<i64>,
    /// `activation_date`.
    pub activation_date: Option<time::OffsetDateTime>,
    /// `expiration_date`.
    pub expiration_date: Option<time::OffsetDateTime>,
    /// `serial` (magnitude bytes).
    pub serial: Option<Vec<u8>>,
    /// `ca`.
    pub ca: bool,
    /// `path_len`: `Some(None)` for a negative value (certtool's "no limit"), `None` when absent.
    pub path_len: Option<Option<u32>>,
    /// `tls_www_server`.
    pub tls_www_server: bool,
    /// `tls_www_client`.
    pub tls_www_client: bool,
    /// `cert_signing_key`.
    pub cert_signing_key: bool,
    /// Warnings (repeated single-valued keys, dropped values) to show the user.
    pub warnings: Vec<String>,
}

/// One `key value` record.
#[derive(Debug, Clone)]
struct Record {
    key: String,
    value: String,
    line: usize,
}

fn is_key_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '^' | '-')
}

/// Reads and parses a template file.
pub fn load(path: &Path) -> Result<Template, crate::Error> {
    let bytes = crate::fsio::read_limited(path, 1024 * 1024)?;
    let text = String::from_utf8(bytes).map_err(|_| TemplateError {
        path: path.to_path_buf(),
        line: 0,
        message: "not UTF-8 text".into(),
        hint: Some("certtool templates are UTF-8 text files".into()),
    })?;
    Ok(parse(path, &text)?)
}

/// Parses template text (`path` is used in messages).
pub fn parse(path: &Path, text: &str) -> Result<Template, TemplateError> {
    tokenize(path, text)
        .and_then(|records| build(path, records))
        .map_err(|e| redact_unrecognised(text, e))
}

/// Errors quote the file (a key, a value) only once it has shown itself to be a certtool
/// template: some line up to the failing one starts with a known key. Pointed at another file
/// (a password file, a key), the message names the line but shows none of its text.
fn redact_unrecognised(text: &str, mut e: TemplateError) -> TemplateError {
    let known_by = text.lines().take(e.line.max(1)).any(|l| {
        let l = l.trim_start();
        let key = l
            .split(|c: char| c == '=' || c.is_whitespace())
            .next()
            .unwrap_or("");
        let key = key.to_ascii_lowercase().replace('-', "_");
        KEYS.iter().any(|(k, _)| *k == key)
    });
    if !known_by && e.line > 0 {
        e.message = "not a certtool template line (its text is not shown: no line up to here starts with a template key, so this may not be a template at all)".into();
        e.hint = Some(
            "certtool templates are `key = value` lines, e.g. cn = \"host1.example.org\"".into(),
        );
    }
    e
}

fn err(path: &Path, line: usize, message: impl Into<String>, hint: Option<&str>) -> TemplateError {
    TemplateError {
        path: path.to_path_buf(),
        line,
        message: message.into(),
        hint: hint.map(str::to_string),
    }
}

fn tokenize(path: &Path, text: &str) -> Result<Vec<Record>, TemplateError> {
    if let Some(pos) = text.find('\r') {
        let line = text.get(..pos).unwrap_or("").matches('\n').count() + 1;
        return Err(err(
            path,
            line,
            "carriage return (CRLF line ends)",
            Some(
                "certtool keeps the \\r in the value (CN=name\\r); convert the file with dos2unix or sed -i 's/\\r$//'",
            ),
        ));
    }
    let mut records = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0usize;
    let mut line = 1usize;
    let n = chars.len();
    let at = |i: usize| chars.get(i).copied();
    while i < n {
        // Skip blanks (and blank lines).
        match at(i) {
            Some(' ') | Some('\t') => {
                i += 1;
                continue;
            }
            Some('\n') => {
                line += 1;
                i += 1;
                continue;
            }
            Some('#') => {
                while i < n && at(i) != Some('\n') {
                    i += 1;
                }
                continue;
            }
            Some(c) if !is_key_start(c) => {
                let rest: String = chars.iter().skip(i).take_while(|c| **c != '\n').collect();
                return Err(err(
                    path,
                    line,
                    format!("{:?} cannot start a key", rest.trim_end()),
                    Some(
                        "certtool silently stops reading the template at this line and ignores everything after it (e.g. a [section] header); remove the line",
                    ),
                ));
            }
            _ => {}
        }
        // Key.
        let start = i;
        while i < n && at(i).is_some_and(is_key_char) {
            i += 1;
        }
        let mut key: String = chars.iter().skip(start).take(i - start).collect();
        if key.ends_with(':') {
            key.pop();
        }
        let key_line = line;
        // Separator.
        while matches!(at(i), Some(' ') | Some('\t')) {
            i += 1;
        }
        if matches!(at(i), Some('=') | Some(':')) {
            i += 1;
            while matches!(at(i), Some(' ') | Some('\t')) {
                i += 1;
            }
        }
        // Value.
        let mut value = String::new();
        match at(i) {
            Some(q @ ('"' | '\'')) => {
                i += 1;
                let mut closed = false;
                while i < n {
                    let Some(c) = at(i) else { break };
                    if c == q {
                        closed = true;
                        i += 1;
                        break;
                    }
                    if c == '\\' {
                        match at(i + 1) {
                            Some('\n') => {
                                value.push(' ');
                                line += 1;
                            }
                            Some(d) if d == q => value.push(d),
                            _ => {}
                        }
                        i += 2;
                        continue;
                    }
                    if c == '\n' {
                        line += 1;
                    }
                    value.push(c);
                    i += 1;
                }
                if !closed {
                    return Err(err(
                        path,
                        key_line,
                        format!("unterminated quote in the value of {key:?}"),
                        Some(
                            "certtool would swallow the rest of the file into this value; close the quote",
                        ),
                    ));
                }
                // After a closing quote: only blanks or a comment.
                while matches!(at(i), Some(' ') | Some('\t')) {
                    i += 1;
                }
                match at(i) {
                    None | Some('\n') => {}
                    Some('#') => {
                        while i < n && at(i) != Some('\n') {
                            i += 1;
                        }
                    }
                    Some(_) => {
                        return Err(err(
                            path,
                            key_line,
                            format!("text after the quoted value of {key:?}"),
                            None,
                        ));
                    }
                }
            }
            _ => {
                while i < n && at(i) != Some('\n') {
                    let Some(c) = at(i) else { break };
                    if c == '\\' {
                        if at(i + 1) == Some('\n') {
                            value.push('\n');
                            line += 1;
                        }
                        i += 2;
                        continue;
                    }
                    value.push(c);
                    i += 1;
                }
                if let Some(pos) = value.find('#') {
                    return Err(err(
                        path,
                        key_line,
                        format!(
                            "'#' inside the unquoted value of {key:?}: certtool would use {:?} as the value",
                            value
                        ),
                        Some(&format!(
                            "quote the value ({key} = \"{}\") and put the comment after the quote, or on its own line",
                            value.get(..pos).unwrap_or("").trim_end()
                        )),
                    ));
                }
                if value.ends_with([' ', '\t']) {
                    return Err(err(
                        path,
                        key_line,
                        format!(
                            "trailing whitespace in the value of {key:?}: certtool keeps it ({value:?})"
                        ),
                        Some("remove the trailing spaces, or quote the value if they are meant"),
                    ));
                }
            }
        }
        if let Some(c) = value
            .chars()
            .find(|&c| crate::quoting::terminal::is_control(c))
        {
            return Err(err(
                path,
                key_line,
                format!(
                    "the value of {key:?} holds the control character {}",
                    crate::quoting::terminal::escape(&c.to_string())
                ),
                Some(
                    "control characters (newline, ESC, ...) are not allowed in certificate fields",
                ),
            ));
        }
        records.push(Record {
            key,
            value,
            line: key_line,
        });
    }
    Ok(records)
}

fn kind_of(key: &str) -> Option<Kind> {
    KEYS.iter().find(|(k, _)| *k == key).map(|(_, kind)| *kind)
}

fn build(path: &Path, records: Vec<Record>) -> Result<Template, TemplateError> {
    let mut t = Template {
        path: path.to_path_buf(),
        ..Default::default()
    };
    let mut seen_single: Vec<(String, usize)> = Vec::new();
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    let mut emails = Vec::new();
    let mut uris = Vec::new();
    let mut o_alias = Vec::new();
    let mut ou_alias = Vec::new();
    for r in records {
        let Some(kind) = kind_of(&r.key) else {
            let lower = r.key.to_ascii_lowercase();
            if kind_of(&lower).is_some() || CERTTOOL_ONLY.contains(&lower.as_str()) {
                if lower != r.key {
                    return Err(err(
                        path,
                        r.line,
                        format!("key {:?} is not lower-case", r.key),
                        Some(&format!(
                            "certtool ignores mis-cased keys without any warning (the value would be lost); write `{lower}`"
                        )),
                    ));
                }
                return Err(err(
                    path,
                    r.line,
                    format!("certtool key {:?} is not supported by pkitool", r.key),
                    Some(
                        "supported: cn, organization, unit, locality, state, country, dc, uid, dn, pkcs9_email, email, dns_name, ip_address, uri, expiration_days, activation_date, expiration_date, serial, ca, path_len, cert_signing_key, crl_signing_key, signing_key, encryption_key, tls_www_server, tls_www_client",
                    ),
                ));
            }
            let suggestion = KEYS
                .iter()
                .find(|(k, _)| k.replace('_', "") == lower.replace(['-', '_'], ""))
                .map(|(k, _)| format!("did you mean `{k}`? "))
                .unwrap_or_default();
            return Err(err(
                path,
                r.line,
                format!("unknown key {:?}", r.key),
                Some(&format!(
                    "{suggestion}certtool skips unknown keys with only a warning"
                )),
            ));
        };
        let v = r.value.clone();
        match kind {
            Kind::Single | Kind::Int | Kind::Date => {
                if let Some((_, first)) = seen_single.iter().find(|(k, _)| *k == r.key) {
                    t.warnings.push(format!(
                        "{}:{}: {:?} repeats line {first}; like certtool, only the first value is used",
                        path.display(),
                        r.line,
                        r.key
                    ));
                    continue;
                }
                seen_single.push((r.key.clone(), r.line));
            }
            Kind::Bool => {
                let lv = v.to_ascii_lowercase();
                if !(lv.is_empty() || lv == "yes" || lv == "true" || lv == "1") {
                    return Err(err(
                        path,
                        r.line,
                        format!(
                            "{} = {v}: certtool ignores the value and turns {} ON",
                            r.key, r.key
                        ),
                        Some(&format!(
                            "booleans are presence-only in certtool templates; delete the line to turn {} off, or write `{}` alone",
                            r.key, r.key
                        )),
                    ));
                }
            }
            Kind::Multi => {}
        }
        // email, uri and pkcs9_email are IA5String: ASCII only (controls are refused earlier).
        let ia5 = |v: &str, what: &str| -> Result<(), TemplateError> {
            if v.is_ascii() {
                Ok(())
            } else {
                Err(err(
                    path,
                    r.line,
                    format!(
                        "the value of {:?} is not ASCII, but a {what} is an IA5String (ASCII only)",
                        r.key
                    ),
                    Some(
                        "write the address or URI in ASCII (punycode for host names, %-escapes in URIs)",
                    ),
                ))
            }
        };
        let need_value = |what: &str| -> Result<(), TemplateError> {
            if v.is_empty() {
                Err(err(
                    path,
                    r.line,
                    format!("{} has an empty value", r.key),
                    Some(&format!(
                        "give {what} or delete the line (certtool fails or writes an empty attribute)"
                    )),
                ))
            } else {
                Ok(())
            }
        };
        match r.key.as_str() {
            "cn" => {
                need_value("a name")?;
                t.subject.cn = Some(v);
            }
            "organization" => {
                need_value("a name")?;
                t.subject.organization.push(v);
            }
            "o" => {
                need_value("a name")?;
                o_alias.push(v);
            }
            "unit" => {
                need_value("a name")?;
                t.subject.unit.push(v);
            }
            "ou" => {
                need_value("a name")?;
                ou_alias.push(v);
            }
            "locality" => {
                need_value("a name")?;
                t.subject.locality = Some(v);
            }
            "state" => {
                need_value("a name")?;
                t.subject.state = Some(v);
            }
            "country" => {
                need_value("a two-letter code")?;
                if v.len() != 2 || !v.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(err(
                        path,
                        r.line,
                        format!("country {v:?} is not a two-letter code"),
                        Some("use an ISO 3166 code such as GB"),
                    ));
                }
                t.subject.country = Some(v);
            }
            "dc" => {
                need_value("a domain component")?;
                t.subject.dc.push(v);
            }
            "uid" => {
                need_value("a user id")?;
                t.subject.uid = Some(v);
            }
            "pkcs9_email" => {
                need_value("an address")?;
                ia5(&v, "emailAddress")?;
                t.subject.email = Some(v);
            }
            "dn" => {
                need_value("a DN")?;
                // certtool's `dn` is an RFC 4514 string: last RDN first.
                let mut attrs = build::parse_dn(&v).map_err(|e| {
                    err(
                        path,
                        r.line,
                        e.to_string(),
                        Some("dn is written RFC 4514 style, e.g. \"cn=x,O=Org,C=GB\""),
                    )
                })?;
                attrs.reverse();
                t.subject.dn = attrs;
            }
            "email" => {
                need_value("an address")?;
                ia5(&v, "rfc822Name")?;
                emails.push(San::Email(v));
            }
            "dns_name" => {
                need_value("a host name")?;
                // certtool converts internationalised names to A-labels (libidn2).
                let a = crate::x509::idn::to_a_label(&v)
                    .map_err(|e| err(path, r.line, e.to_string(), None))?;
                dns.push(San::Dns(a));
            }
            "ip_address" => {
                need_value("an address")?;
                let ip = v.parse().map_err(|_| {
                    err(
                        path,
                        r.line,
                        format!("{v:?} is not an IPv4 or IPv6 address"),
                        Some("certtool accepts no CIDR suffix and no %zone"),
                    )
                })?;
                ips.push(San::Ip(ip));
            }
            "uri" => {
                need_value("a URI")?;
                ia5(&v, "uniformResourceIdentifier")?;
                uris.push(San::Uri(v));
            }
            "expiration_days" => {
                let days: i64 = v.trim().parse().map_err(|_| {
                    err(
                        path,
                        r.line,
                        format!("expiration_days {v:?} is not a number"),
                        Some("certtool would silently use 365 days"),
                    )
                })?;
                if days == -1 {
                    return Err(err(
                        path,
                        r.line,
                        "expiration_days = -1 (no expiry) is not supported",
                        Some("give a number of days"),
                    ));
                }
                if days <= 0 {
                    return Err(err(
                        path,
                        r.line,
                        format!("expiration_days {days} must be positive"),
                        Some("certtool would silently use 365 days"),
                    ));
                }
                if build::checked_days(days)
                    .and_then(|d| build::now().checked_add(d))
                    .is_none_or(|end| end.year() > 9999)
                {
                    return Err(err(
                        path,
                        r.line,
                        format!("expiration_days {days} is too far in the future"),
                        Some("X.509 dates end in the year 9999"),
                    ));
                }
                t.expiration_days = Some(days);
            }
            "path_len" => {
                let n: i64 = v.trim().parse().map_err(|_| {
                    err(
                        path,
                        r.line,
                        format!("path_len {v:?} is not a number"),
                        None,
                    )
                })?;
                t.path_len = Some(if n < 0 {
                    None
                } else {
                    Some(u32::try_from(n).unwrap_or(u32::MAX))
                });
            }
            "activation_date" => {
                t.activation_date = Some(parse_date(&v).ok_or_else(|| {
                    err(
                        path,
                        r.line,
                        format!("cannot parse the date {v:?}"),
                        Some(DATE_HINT),
                    )
                })?);
            }
            "expiration_date" => {
                t.expiration_date = Some(parse_date(&v).ok_or_else(|| {
                    err(
                        path,
                        r.line,
                        format!("cannot parse the date {v:?}"),
                        Some(DATE_HINT),
                    )
                })?);
            }
            "serial" => {
                t.warnings.push(format!(
                    "{}:{}: a fixed serial: every certificate issued from this template gets serial {} under its CA, and revoking one revokes them all; remove the line to get 20 random bytes",
                    path.display(),
                    r.line,
                    crate::quoting::terminal::excerpt(v.trim(), 44)
                ));
                t.serial = Some(parse_serial(&v).ok_or_else(|| {
                    err(path, r.line, format!("serial {v:?} is not a positive decimal or 0x-hex number of at most 20 octets"), None)
                })?);
            }
            "ca" => t.ca = true,
            "tls_www_server" => t.tls_www_server = true,
            "tls_www_client" => t.tls_www_client = true,
            "cert_signing_key" => t.cert_signing_key = true,
            // pkitool always sets digitalSignature + keyEncipherment on leaves and
            // keyCertSign + cRLSign on CAs.
            "crl_signing_key" | "signing_key" | "encryption_key" => {}
            _ => {}
        }
    }
    if t.subject.organization.is_empty() {
        t.subject.organization = o_alias;
    }
    if t.subject.unit.is_empty() {
        t.subject.unit = ou_alias;
    }
    if t.tls_www_server && !emails.is_empty() {
        t.warnings.push(format!(
            "{}: `email` is ignored with tls_www_server, as certtool does",
            path.display()
        ));
        emails.clear();
    }
    // certtool writes the SANs in this order: dNSName, rfc822Name, URI, iPAddress.
    t.sans = dns;
    t.sans.extend(emails);
    t.sans.extend(uris);
    t.sans.extend(ips);
    Ok(t)
}

const DATE_HINT: &str =
    "use \"2030-06-30 12:00:00 UTC\", \"2030-06-30\", or a relative \"+90 days\"";

/// Parses certtool-style dates: `YYYY-MM-DD[ HH:MM[:SS]][ UTC]`, or `+N days|hours|...`.
pub fn parse_date(s: &str) -> Option<time::OffsetDateTime> {
    let s = s.trim();
    if let Some(rel) = s.strip_prefix('+').or_else(|| s.strip_prefix("now +")) {
        let mut it = rel.split_whitespace();
        let n: i64 = it.next()?.parse().ok()?;
        let unit = it.next().unwrap_or("days").trim_end_matches('s');
        let seconds_per_unit: i64 = match unit {
            "day" => 86_400,
            "hour" => 3_600,
            "minute" | "min" => 60,
            "week" => 7 * 86_400,
            "year" => 365 * 86_400,
            _ => return None,
        };
        // Checked: a huge count must be an error, not an overflow panic.
        let d = time::Duration::seconds(n.checked_mul(seconds_per_unit)?);
        return build::now().checked_add(d);
    }
    let s = s.strip_suffix("UTC").unwrap_or(s).trim();
    let (date, time_part) = match s.split_once(' ') {
        Some((d, t)) => (d, t.trim()),
        None => (s, "00:00:00"),
    };
    let date = time::Date::parse(
        date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let tm = time::Time::parse(
        time_part,
        time::macros::format_description!("[hour]:[minute]:[second]"),
    )
    .or_else(|_| {
        time::Time::parse(
            time_part,
            time::macros::format_description!("[hour]:[minute]"),
        )
    })
    .ok()?;
    Some(time::PrimitiveDateTime::new(date, tm).assume_utc())
}

/// Parses a serial: decimal (1 .. 2^63-1) or `0x` hex of at most 20 octets with the MSB clear.
pub fn parse_serial(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let bytes = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let hex = if hex.len() % 2 == 1 {
            format!("0{hex}")
        } else {
            hex.to_string()
        };
        let mut out = Vec::new();
        for i in (0..hex.len()).step_by(2) {
            out.push(u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()?);
        }
        out
    } else {
        let n: u64 = s.parse().ok()?;
        n.to_be_bytes().to_vec()
    };
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let first = *trimmed.first()?;
    if trimmed.len() > 20 || (trimmed.len() == 20 && first & 0x80 != 0) {
        return None;
    }
    Some(trimmed)
}

/// The templates pkitool ships (`pkitool template show`), matching the libvirt docs' examples.
pub mod shipped {
    /// templates/ca.info
    pub const CA: &str = include_str!("../../templates/ca.info");
    /// templates/server.info
    pub const SERVER: &str = include_str!("../../templates/server.info");
    /// templates/client.info
    pub const CLIENT: &str = include_str!("../../templates/client.info");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Template, TemplateError> {
        parse(Path::new("t.info"), text)
    }

    #[test]
    fn huge_relative_dates_are_refused_not_panics() {
        assert!(parse_date("+90 days").is_some());
        assert!(parse_date("now +399999999997300").is_none());
        assert!(parse_date("+9223372036854775807 years").is_none());
        assert!(parse_date("+-9223372036854775808 weeks").is_none());
        assert!(crate::x509::build::checked_days(i64::MAX).is_none());
    }

    #[test]
    fn libvirt_server_template() {
        let t = p("organization = Name of your organization\ncn = compute1.libvirt.org\ndns_name = compute1\ndns_name = compute1.libvirt.org\nip_address = 10.0.0.74\nip_address = 192.168.1.24\nip_address = 2001:cafe::74\nip_address = fe20::24\ntls_www_server\nencryption_key\nsigning_key\n").unwrap();
        assert_eq!(t.subject.cn.as_deref(), Some("compute1.libvirt.org"));
        assert_eq!(t.sans.len(), 6);
        assert_eq!(t.sans[0], San::Dns("compute1".into()));
        assert!(t.tls_www_server && !t.ca);
    }

    #[test]
    fn separators_quotes_and_first_wins() {
        let t = p("cn: a\ncn = b\n  organization \"Quoted # not a comment\" # comment\nunit   x\nou = y\nstate='It\\'s'\n").unwrap();
        assert_eq!(t.subject.cn.as_deref(), Some("a"));
        assert_eq!(t.warnings.len(), 1);
        assert_eq!(
            t.subject.organization,
            vec!["Quoted # not a comment".to_string()]
        );
        assert_eq!(t.subject.unit, vec!["x".to_string()]);
        assert_eq!(t.subject.state.as_deref(), Some("It's"));
    }

    #[test]
    fn silent_traps_are_errors_with_line_numbers() {
        let cases: &[(&str, usize, &str)] = &[
            ("cn = a\nCN = b\n", 2, "lower-case"),
            ("cn = a\ndns-name = x\n", 2, "unknown key"),
            ("cn = a\n[server]\ndns_name = x\n", 2, "cannot start a key"),
            ("dns_name = a.example # note\n", 1, "'#' inside"),
            ("cn = a\r\n", 1, "carriage return"),
            ("ca = no\n", 1, "turns ca ON"),
            ("ca = false\n", 1, "turns ca ON"),
            ("cert_signing_key = 0\n", 1, "ON"),
            ("cn = x\n\ndns_name =\n", 3, "empty value"),
            ("expiration_days = abc\n", 1, "not a number"),
            ("cn = \"open\n", 1, "unterminated"),
            ("ip_address = 10.0.0.0/8\n", 1, "IPv4"),
            ("cn = trailing \n", 1, "trailing whitespace"),
        ];
        for (text, line, needle) in cases {
            let e = p(text).unwrap_err();
            assert_eq!(e.line, *line, "{text:?}: {e}");
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
            assert!(
                e.to_string().starts_with(&format!("t.info:{line}: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn aliases_dates_and_serials() {
        let t = p("o = Alias\norganization = Long\nou = U\nserial = 0x01ff\nactivation_date = \"2030-06-30 12:00:00 UTC\"\nexpiration_date = 2031-01-01\n").unwrap();
        assert_eq!(t.subject.organization, vec!["Long".to_string()]);
        assert_eq!(t.subject.unit, vec!["U".to_string()]);
        assert_eq!(t.serial, Some(vec![1, 0xff]));
        assert_eq!(t.activation_date.unwrap().year(), 2030);
        assert_eq!(t.expiration_date.unwrap().year(), 2031);
        assert_eq!(parse_serial("0"), None);
        assert_eq!(parse_serial("-5"), None);
        assert_eq!(parse_serial("300"), Some(vec![1, 44]));
        assert!(parse_date("+90 days").is_some());
        assert!(parse_date("tomorrow-ish").is_none());
    }

    #[test]
    fn shipped_templates_parse() {
        for (text, ca) in [
            (shipped::CA, true),
            (shipped::SERVER, false),
            (shipped::CLIENT, false),
        ] {
            let t = p(text).unwrap();
            assert_eq!(t.ca, ca);
            assert!(t.subject.cn.is_some());
        }
    }
}
