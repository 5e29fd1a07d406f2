//! The TLS settings of a libvirtd.conf: `key_file`, `cert_file`, `ca_file`, `crl_file` and
//! `tls_allowed_dn_list`.
//!
//! The syntax is libvirt's config format (`src/util/virconf.c`): `name = value` per line, where a
//! value is a `"string"` (or `'string'`), a number, or a list `[ "a", "b" ]` that may span lines;
//! `#` starts a comment outside strings. Unknown settings are ignored; a syntax error in a line we
//! need is reported with its line number.

use std::collections::HashMap;

/// A parsed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A quoted string.
    Str(String),
    /// A number (kept as text).
    Num(String),
    /// A list of strings.
    List(Vec<String>),
}

/// The settings pkitool reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConf {
    /// `key_file`.
    pub key_file: Option<String>,
    /// `cert_file`.
    pub cert_file: Option<String>,
    /// `ca_file`.
    pub ca_file: Option<String>,
    /// `crl_file`.
    pub crl_file: Option<String>,
    /// `tls_allowed_dn_list` (None when not set; Some(empty) denies everyone).
    pub tls_allowed_dn_list: Option<Vec<String>>,
    /// `tls_no_sanity_certificate = 1` (libvirtd skips its own-certificate checks).
    pub tls_no_sanity_certificate: bool,
    /// `tls_no_verify_certificate = 1` (libvirtd admits clients without checking them).
    pub tls_no_verify_certificate: bool,
    /// `listen_tls`, when set.
    pub listen_tls: Option<bool>,
}

impl TlsConf {
    /// Does this file configure libvirtd's TLS (a TLS file, an allow-list or `listen_tls = 1`)?
    pub fn configures_tls(&self) -> bool {
        self.key_file.is_some()
            || self.cert_file.is_some()
            || self.ca_file.is_some()
            || self.crl_file.is_some()
            || self.tls_allowed_dn_list.is_some()
            || self.listen_tls == Some(true)
    }

    /// Does it move any of libvirtd's TLS files?
    pub fn moves_files(&self) -> bool {
        self.key_file.is_some()
            || self.cert_file.is_some()
            || self.ca_file.is_some()
            || self.crl_file.is_some()
    }
}

/// A syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ConfError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A value and the line its setting starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// 1-based line of the setting's name.
    pub line: usize,
    /// The value.
    pub value: Value,
}

/// Parses the whole file into name → setting (a repeated name: the last one wins, as in libvirt).
pub fn parse(text: &str) -> Result<HashMap<String, Setting>, ConfError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
    };
    let mut out = HashMap::new();
    loop {
        p.skip_ws_and_comments(true);
        if p.at_end() {
            break;
        }
        let line = p.line;
        let name = p.ident().ok_or_else(|| p.err("expected a setting name"))?;
        p.skip_ws_and_comments(false);
        if !p.eat('=') {
            // Only quote the file once it has shown itself to be a configuration file: pointed
            // at a secret, the first word would be the secret.
            let message = if out.is_empty() {
                "expected NAME = VALUE (the text is not shown: nothing before it was a setting, so this may not be a libvirtd.conf at all)".to_string()
            } else {
                format!(
                    "expected '=' after \"{}\"",
                    crate::quoting::terminal::excerpt(&name, 40)
                )
            };
            return Err(ConfError { line, message });
        }
        p.skip_ws_and_comments(false);
        let value = p.value()?;
        p.skip_ws_and_comments(false);
        // A statement ends at a newline, a ';' or the end of the file.
        if !(p.at_end() || p.eat(';') || p.peek() == Some('\n')) {
            return Err(p.err("unexpected text after the value"));
        }
        out.insert(name, Setting { line, value });
    }
    Ok(out)
}

/// Extracts the TLS settings.
pub fn tls_conf(text: &str) -> Result<TlsConf, ConfError> {
    let map = parse(text)?;
    let string = |k: &str| -> Result<Option<String>, ConfError> {
        match map.get(k) {
            None => Ok(None),
            Some(Setting {
                value: Value::Str(s),
                ..
            }) => Ok(Some(s.clone())),
            Some(Setting { line, .. }) => Err(ConfError {
                line: *line,
                message: format!("{k} must be a string"),
            }),
        }
    };
    let dn_list = match map.get("tls_allowed_dn_list") {
        None => None,
        Some(Setting { value, line }) => match value {
            Value::List(l) => Some(l.clone()),
            Value::Str(s) => Some(vec![s.clone()]),
            Value::Num(_) => {
                return Err(ConfError {
                    line: *line,
                    message: "tls_allowed_dn_list must be a list of strings".into(),
                });
            }
        },
    };
    Ok(TlsConf {
        key_file: string("key_file")?,
        cert_file: string("cert_file")?,
        ca_file: string("ca_file")?,
        crl_file: string("crl_file")?,
        tls_allowed_dn_list: dn_list,
        tls_no_sanity_certificate: matches!(
            map.get("tls_no_sanity_certificate"),
            Some(Setting { value: Value::Num(n), .. }) if n != "0"
        ),
        tls_no_verify_certificate: matches!(
            map.get("tls_no_verify_certificate"),
            Some(Setting { value: Value::Num(n), .. }) if n != "0"
        ),
        listen_tls: match map.get("listen_tls") {
            Some(Setting {
                value: Value::Num(n),
                ..
            }) => Some(n != "0"),
            _ => None,
        },
    })
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Parser {
    fn text(&self, start: usize) -> String {
        self.chars
            .get(start..self.pos)
            .map(|s| s.iter().collect())
            .unwrap_or_default()
    }
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn err(&self, message: &str) -> ConfError {
        ConfError {
            line: self.line,
            message: message.into(),
        }
    }
    fn skip_ws_and_comments(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            if c == '#' {
                while let Some(c) = self.peek() {
                    if c == '\n' {
                        break;
                    }
                    self.bump();
                }
            } else if c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n') {
                self.bump();
            } else {
                break;
            }
        }
    }
    fn ident(&mut self) -> Option<String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' {
                self.bump();
            } else {
                break;
            }
        }
        (self.pos > start).then(|| self.text(start))
    }
    fn string(&mut self) -> Result<String, ConfError> {
        let line = self.line;
        let quote = self.bump().ok_or_else(|| self.err("expected a string"))?;
        let mut s = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(ConfError {
                        line,
                        message: "unterminated string".into(),
                    });
                }
                Some('\n') => {
                    return Err(ConfError {
                        line,
                        message: "unterminated string".into(),
                    });
                }
                Some(c) if c == quote => return Ok(s),
                Some(c) => s.push(c),
            }
        }
    }
    fn value(&mut self) -> Result<Value, ConfError> {
        match self.peek() {
            Some('"') | Some('\'') => Ok(Value::Str(self.string()?)),
            Some('[') => {
                self.bump();
                let mut items = Vec::new();
                loop {
                    self.skip_ws_and_comments(true);
                    match self.peek() {
                        Some(']') => {
                            self.bump();
                            return Ok(Value::List(items));
                        }
                        Some('"') | Some('\'') => items.push(self.string()?),
                        _ => return Err(self.err("expected a string or ']' in a list")),
                    }
                    self.skip_ws_and_comments(true);
                    if self.eat(',') {
                        continue;
                    }
                    if self.peek() != Some(']') {
                        return Err(self.err("expected ',' or ']' in a list"));
                    }
                }
            }
            Some(c) if c.is_ascii_digit() || c == '-' => {
                let start = self.pos;
                self.bump();
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
                Ok(Value::Num(self.text(start)))
            }
            _ => Err(self.err("expected a value (\"string\", number or [list])")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_multiline_lists_and_comments() {
        let text = r#"
# libvirtd.conf
listen_tls = 1   # comment
key_file = "/etc/pki/libvirt/private/serverkey.pem"
cert_file = '/etc/pki/libvirt/servercert.pem'
#ca_file = "/nope"
tls_allowed_dn_list = [ "C=GB,ST=London,*",
      # a comment inside
      "C=GB,O=Example Org,CN=client1" ,
]
crl_file = "/etc/pki/CA/crl.pem"
"#;
        let c = tls_conf(text).unwrap();
        assert_eq!(
            c.key_file.as_deref(),
            Some("/etc/pki/libvirt/private/serverkey.pem")
        );
        assert_eq!(
            c.cert_file.as_deref(),
            Some("/etc/pki/libvirt/servercert.pem")
        );
        assert_eq!(c.ca_file, None);
        assert_eq!(c.crl_file.as_deref(), Some("/etc/pki/CA/crl.pem"));
        assert_eq!(
            c.tls_allowed_dn_list.unwrap(),
            vec!["C=GB,ST=London,*", "C=GB,O=Example Org,CN=client1"]
        );
    }

    #[test]
    fn empty_list_and_errors() {
        let c = tls_conf("tls_allowed_dn_list = []\n").unwrap();
        assert_eq!(c.tls_allowed_dn_list, Some(vec![]));
        let e = tls_conf("a = 1\nkey_file = \"unterminated\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = tls_conf("key_file \"x\"\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(tls_conf("tls_allowed_dn_list = [ \"a\" \"b\" ]").is_err());
        assert!(tls_conf("ca_file = 3").is_err());
        // Type errors name the setting's line.
        assert_eq!(tls_conf("# c\n\nca_file = 3\n").unwrap_err().line, 3);
        assert_eq!(tls_conf("\ntls_allowed_dn_list = 1\n").unwrap_err().line, 2);
    }
}
