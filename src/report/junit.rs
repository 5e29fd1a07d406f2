//! `--format junit`: JUnit XML as GitLab (`artifacts:reports:junit`) and Jenkins read it.
//!
//! One `testsuite` per group (a layout), one `testcase` per check target (a file in a role):
//! `classname` = the group's name (GitLab shows it as the suite), `name` = "ROLE FILE" (unique
//! within the group, as GitLab keeps only the first of duplicate names), `file` = the file. Each
//! error is a `failure` (each warning too with `strict`) with `type` = the code and the why and
//! fix in its body; the other findings go to the test case's `system-out`. A clean layout gives
//! passing test cases, never an empty report. No wall-clock times: the same findings give the
//! same bytes.

use std::fmt::Write as _;

use super::data::Report;
use crate::check::finding::{Finding, Severity};

/// Escapes text for XML 1.0 content and attribute values. Characters XML 1.0 cannot carry
/// (control characters other than tab, newline and carriage return) become U+FFFD.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// Escapes an attribute value: like [`esc`], with line breaks and tabs as character references
/// so that parsers keep them (attribute normalisation turns them into spaces otherwise).
fn attr(s: &str) -> String {
    esc(s)
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

fn body(f: &Finding) -> String {
    let mut b = format!("{} {}: {}", f.severity.as_str(), f.code, f.message);
    if let Some(p) = &f.path {
        let _ = write!(b, "\nfile: {}", super::show_path(p));
    }
    if let Some(s) = &f.subject {
        let _ = write!(b, "\nsubject: {s}");
    }
    if !f.why.is_empty() {
        let _ = write!(b, "\nwhy: {}", f.why);
    }
    if !f.fix.is_empty() {
        let _ = write!(b, "\nfix: {}", f.fix);
    }
    b
}

fn fails(f: &Finding, strict: bool) -> bool {
    f.severity == Severity::Error || (strict && f.severity == Severity::Warning)
}

/// Renders the report as a JUnit XML document (trailing newline). With `strict`, warnings are
/// failures too (as `--strict` makes them fail the exit status).
pub fn render(report: &Report<'_>, strict: bool) -> String {
    let mut suites = String::new();
    let (mut all_tests, mut all_failures) = (0usize, 0usize);
    for g in &report.groups {
        let cases = g.assign();
        let tests = cases.len();
        let failures = cases
            .iter()
            .filter(|(_, fs)| fs.iter().any(|f| fails(f, strict)))
            .count();
        all_tests += tests;
        all_failures += failures;
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" timestamp=\"{}\">",
            attr(&g.name),
            attr(report.evaluated_at.trim_end_matches('Z'))
        );
        for (t, fs) in cases {
            let file = t
                .path
                .as_deref()
                .map(|p| format!(" file=\"{}\"", attr(&super::show_path(p))))
                .unwrap_or_default();
            let _ = write!(
                suites,
                "    <testcase classname=\"{}\" name=\"{}\"{file}",
                attr(&g.name),
                attr(&t.name)
            );
            if fs.is_empty() {
                suites.push_str("/>\n");
                continue;
            }
            suites.push_str(">\n");
            let mut out = String::new();
            for f in &fs {
                if fails(f, strict) {
                    let _ = writeln!(
                        suites,
                        "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                        attr(f.code),
                        attr(&format!(
                            "{} {}: {}",
                            f.severity.as_str(),
                            f.code,
                            f.message
                        )),
                        esc(&body(f))
                    );
                } else {
                    out.push_str(&body(f));
                    out.push('\n');
                }
            }
            if !out.is_empty() {
                let _ = writeln!(suites, "      <system-out>{}</system-out>", esc(&out));
            }
            suites.push_str("    </testcase>\n");
        }
        suites.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"0\">\n{suites}</testsuites>\n",
        attr(&report.tool)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_characters_xml_cannot_carry() {
        assert_eq!(
            esc("a<b>&\"c'\u{1}\t"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}\t"
        );
        assert_eq!(attr("x\ny"), "x&#10;y");
    }
}
