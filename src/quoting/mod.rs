//! How a string is written for each place pkitool's output is pasted into: a POSIX shell
//! command line, a libvirtd.conf string, a QEMU `-object` option value, a QMP JSON command.
//! Below every other layer: checks, reports and commands all quote through here.

pub mod terminal;

/// A client DN in every form pkitool prints it: each is what libvirt and QEMU read back as
/// exactly this DN. `issue client`, `dn --libvirtd`/`--qemu` and validate's fixes all use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnForms {
    /// The DN as GnuTLS prints it (libvirt's and QEMU's comparison string).
    pub dn: String,
    /// `tls_allowed_dn_list = [...]` for libvirtd.conf.
    pub libvirtd_conf: String,
    /// Set when the libvirtd.conf form had to write a quote as the glob `?`.
    pub libvirtd_note: Option<String>,
    /// `--object authz-simple,id=auth0,identity=...`, shell-quoted, for a QEMU command line.
    pub qemu_object: String,
    /// The QMP `object-add` command for the same authz-simple object.
    pub qmp: String,
    /// `--dn VALUE`, shell-quoted, for `pkitool issue client`.
    pub flag: String,
}

impl DnForms {
    /// Every form of `dn`.
    pub fn of(dn: &str) -> DnForms {
        let (libvirtd_conf, libvirtd_note) = tls_allowed_dn_list(&[dn]);
        DnForms {
            dn: dn.to_string(),
            libvirtd_conf,
            libvirtd_note,
            qemu_object: qemu_object_arg(dn),
            qmp: qmp_object_add(dn),
            flag: format!("--dn {}", shell_quote(dn)),
        }
    }
}

/// The libvirtd.conf line `tls_allowed_dn_list = [...]` admitting exactly `dns` (each once, in
/// the order given), every DN quoted with [`libvirt_conf_string`]. The note is set when a DN had
/// to write a quote as the glob `?`.
pub fn tls_allowed_dn_list(dns: &[&str]) -> (String, Option<String>) {
    let mut seen: Vec<&str> = Vec::with_capacity(dns.len());
    let mut items = Vec::with_capacity(dns.len());
    let mut note = None;
    for dn in dns {
        if seen.contains(dn) {
            continue;
        }
        seen.push(dn);
        let (quoted, n) = libvirt_conf_string(dn);
        items.push(quoted);
        if note.is_none() {
            note = n;
        }
    }
    (
        format!("tls_allowed_dn_list = [{}]", items.join(", ")),
        note,
    )
}

/// Quotes a string for libvirtd.conf (`virconf.c`). That parser has **no escapes**: a `"..."`
/// string runs to the next `"`, a `'...'` string to the next `'`, a `"""..."""` string to the
/// next `"""`, and a backslash is a literal backslash (which the glob needs: GnuTLS's `\,` must
/// reach `g_pattern_match_simple` as two characters). So the right quote is chosen instead of
/// escaping; in the one impossible case (both quote kinds and a trailing `"`), each `"` becomes
/// the glob `?` and a note says so.
pub fn libvirt_conf_string(s: &str) -> (String, Option<String>) {
    let eol = s.contains('\n') || s.contains('\r');
    if !s.contains('"') && !eol {
        return (format!("\"{s}\""), None);
    }
    if !s.contains('\'') && !eol {
        return (format!("'{s}'"), None);
    }
    if !s.contains("\"\"\"") && !s.ends_with('"') {
        return (format!("\"\"\"{s}\"\"\""), None);
    }
    let pattern: String = s
        .chars()
        .map(|c| {
            if matches!(c, '"' | '\n' | '\r') {
                '?'
            } else {
                c
            }
        })
        .collect();
    (
        format!("\"{pattern}\""),
        Some(
            "libvirtd.conf strings have no escapes and this DN contains both quote characters: \
             each `\"` (and line break) is written as the glob `?`, which matches it"
                .into(),
        ),
    )
}

/// `--object authz-simple,id=auth0,identity=...` with QEMU's doubled commas, shell-quoted.
pub fn qemu_object_arg(dn: &str) -> String {
    let value = format!("authz-simple,id=auth0,identity={}", dn.replace(',', ",,"));
    format!("--object {}", shell_quote(&value))
}

/// The QMP `object-add` command for the same authz-simple object.
pub fn qmp_object_add(dn: &str) -> String {
    // Written by hand to keep QMP's usual key order; the value is escaped by serde_json.
    let identity = serde_json::Value::String(dn.to_string());
    format!(
        "{{\"execute\":\"object-add\",\"arguments\":{{\"qom-type\":\"authz-simple\",\"id\":\"auth0\",\"identity\":{identity}}}}}"
    )
}

/// POSIX shell quoting: bare when safe, otherwise single quotes (`'` as `'\''`).
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '@' | '%' | '+' | '=' | ':' | ',' | '.' | '/' | '-')
        });
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::allowlist;

    #[test]
    fn libvirt_quoting_has_no_escapes() {
        assert_eq!(
            libvirt_conf_string("C=GB,O=Example\\, Inc.,CN=a").0,
            "\"C=GB,O=Example\\, Inc.,CN=a\""
        );
        assert_eq!(
            libvirt_conf_string("CN=say \\\"hi\\\"").0,
            "'CN=say \\\"hi\\\"'"
        );
        assert_eq!(
            libvirt_conf_string("CN=it's \\\"x\\\" y").0,
            "\"\"\"CN=it's \\\"x\\\" y\"\"\""
        );
        let (q, note) = libvirt_conf_string("CN=it's \\\"x\\\"");
        assert_eq!(q, "\"CN=it's \\?x\\?\"");
        assert!(note.is_some());
        assert!(allowlist::matches("CN=it's \\?x\\?", "CN=it's \\\"x\\\""));
    }

    #[test]
    fn allow_list_of_several_dns_quotes_each_and_drops_repeats() {
        let (line, note) = tls_allowed_dn_list(&[
            "C=GB,O=Org,CN=a",
            "C=GB,O=Example\\, Inc.,CN=b",
            "C=GB,O=Org,CN=a",
            "CN=say \\\"hi\\\"",
        ]);
        assert_eq!(
            line,
            "tls_allowed_dn_list = [\"C=GB,O=Org,CN=a\", \"C=GB,O=Example\\, Inc.,CN=b\", 'CN=say \\\"hi\\\"']"
        );
        assert!(note.is_none());
        assert_eq!(
            tls_allowed_dn_list(&["C=GB,CN=x"]).0,
            DnForms::of("C=GB,CN=x").libvirtd_conf
        );
        let (_, note) = tls_allowed_dn_list(&["CN=a", "CN=it's \\\"x\\\""]);
        assert!(note.is_some());
    }

    #[test]
    fn qemu_forms() {
        let dn = "C=GB,O=Example Org,CN=it's";
        assert_eq!(
            qemu_object_arg(dn),
            "--object 'authz-simple,id=auth0,identity=C=GB,,O=Example Org,,CN=it'\\''s'"
        );
        assert_eq!(
            qemu_object_arg("C=GB,CN=x"),
            "--object authz-simple,id=auth0,identity=C=GB,,CN=x"
        );
        let v: serde_json::Value = serde_json::from_str(&qmp_object_add("CN=a\\\"b\\\\")).unwrap();
        assert_eq!(v["arguments"]["identity"], "CN=a\\\"b\\\\");
        assert_eq!(v["execute"], "object-add");
    }
}

/// Tests for survivors of the cargo-mutants run over this file (benches/mutants.sh dn).
#[cfg(test)]
mod mutants_tests {
    use super::*;

    #[test]
    fn a_carriage_return_alone_needs_the_triple_quoted_form() {
        // virconf.c ends a "..." or '...' string at either end-of-line character (IS_EOL is
        // '\n' or '\r'), so a lone CR must go in """...""" just as a newline does.
        assert_eq!(libvirt_conf_string("a\rb").0, "\"\"\"a\rb\"\"\"");
        assert_eq!(libvirt_conf_string("a\nb").0, "\"\"\"a\nb\"\"\"");
        assert_eq!(libvirt_conf_string("ab").0, "\"ab\"");
    }
}
