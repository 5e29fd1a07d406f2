//! Text for a terminal: every control character a value could carry is made visible.
//!
//! Certificate subjects, SANs, file names and error details come from files an attacker may
//! have written. Printed raw, an ESC starts a terminal escape sequence (window-title or line
//! rewrites), a CR returns to the start of the line and overwrites it, and a newline forges a
//! line of the report (a CN ending in `\nlibvirtd.conf on the server:` would print a fake
//! allow-list block). Every text renderer passes such values through [`escape`]: C0 controls
//! (U+0000-U+001F), DEL (U+007F) and the C1 controls (U+0080-U+009F) become `\xHH` / `\u{HH}`.
//! A backslash is left alone: GnuTLS's DN escapes (`\,`) must stay readable and comparable.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for C0, DEL and C1 control characters.
pub fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// True when `s` holds any control character ([`is_control`]).
pub fn has_control(s: &str) -> bool {
    s.chars().any(is_control)
}

/// `s` with every control character written as `\xHH` (C0, DEL) or `\u{HH}` (C1).
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_with(s, |_| false)
}

/// Like [`escape`], but line ends are kept (for text that is multi-line by design).
pub fn escape_keep_newlines(s: &str) -> Cow<'_, str> {
    escape_with(s, |c| c == '\n')
}

fn escape_with(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_control(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_control(c) || keep(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02X}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:02X}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// At most `max` characters of `s`, controls escaped, with `...` when cut: for quoting a piece
/// of an input file in a message.
pub fn excerpt(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().nth(max).is_some() {
        out.push_str("...");
    }
    escape(&out).into_owned()
}

/// A path for a terminal: lossy UTF-8, controls escaped.
pub fn path(p: &std::path::Path) -> String {
    escape(&p.to_string_lossy()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_c0_del_c1_and_nothing_else() {
        assert_eq!(escape("CN=a\u{1b}]0;pwned\u{7}"), "CN=a\\x1B]0;pwned\\x07");
        assert_eq!(escape("x\r\ny\t\u{7f}"), "x\\x0D\\x0Ay\\x09\\x7F");
        assert_eq!(escape("\u{9b}31m\u{85}"), "\\u{9B}31m\\u{85}");
        assert_eq!(
            escape("O=Example\\, Inc.,CN=é ü 日本"),
            "O=Example\\, Inc.,CN=é ü 日本"
        );
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape_keep_newlines("a\nb\u{1b}"), "a\nb\\x1B");
        assert!(has_control("a\u{0}") && !has_control("a\u{a0}"));
    }
}
