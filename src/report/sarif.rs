//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning (and any SARIF consumer).
//!
//! One run; `tool.driver.rules` describes every code that appears (title from
//! [`CODES`](crate::check::finding::CODES), class, help = the README's finding-code table row);
//! one result per finding with `ruleId` = the code, `level`, `message.text` (message, why, fix)
//! and a `physicalLocation` (the `-----BEGIN` line of the certificate concerned when
//! [`Report::locate_certificates`] found it, else line 1). A file inside `base` (the working directory) gets a relative URI
//! with `uriBaseId` `SRCROOT`, which code scanning resolves against the repository root; a file
//! outside it gets an absolute `file://` URI. Nothing depends on the clock or on hash order: the
//! same findings at the same `--at` from the same directory give the same bytes.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use super::data::Report;
use crate::check::finding::{CODES, Class, Finding, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const BASE_ID: &str = "SRCROOT";
const README: &str = include_str!("../../README.md");

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    invocations: [Invocation; 1],
    original_uri_base_ids: BTreeMap<&'static str, ArtifactLocation>,
    results: Vec<SResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct RuleProperties {
    class: Class,
    tags: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    working_directory: ArtifactLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    class: Class,
    group: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    why: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    fix: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties<'a> {
    evaluated_at: &'a str,
    summary: BTreeMap<&'static str, usize>,
}

/// A README finding-code table row: (codes it covers, class cell, meaning cell, the row).
struct ReadmeRow<'r> {
    codes: Vec<&'r str>,
    class: String,
    meaning: String,
    row: &'r str,
}

/// The rows of the README's "Finding codes" table.
fn readme_rows() -> Vec<ReadmeRow<'static>> {
    README
        .lines()
        .filter(|l| l.starts_with("| `PKI-"))
        .filter_map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
            let [code, class, meaning] = cells.as_slice() else {
                return None;
            };
            let codes = code
                .split('`')
                .filter(|c| c.starts_with("PKI-"))
                .collect::<Vec<_>>();
            Some(ReadmeRow {
                codes,
                class: class.replace('`', ""),
                meaning: meaning.replace('`', ""),
                row,
            })
        })
        .collect()
}

fn rule_for(code: &str, rows: &[ReadmeRow<'_>]) -> Rule {
    let (class, title) = CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, class, title)| (*class, (*title).to_string()))
        .unwrap_or((crate::check::finding::class_of(code), code.to_string()));
    let class_name = serde_json::to_value(class)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let (text, markdown, meaning) = match rows.iter().find(|r| r.codes.contains(&code)) {
        Some(r) => (
            format!(
                "{} ({}): {}. See \"Finding codes\" in the pkitool README.",
                r.codes.join(" / "),
                r.class,
                r.meaning
            ),
            format!("| Code | Class | Meaning |\n|---|---|---|\n{}", r.row),
            r.meaning.clone(),
        ),
        None => (
            format!("{code} ({class_name}): {title}. See \"Finding codes\" in the pkitool README."),
            format!("`{code}` (`{class_name}`): {title}"),
            title.clone(),
        ),
    };
    Rule {
        id: code.to_string(),
        short_description: Text { text: title },
        full_description: Text { text: meaning },
        help: Help { text, markdown },
        properties: RuleProperties {
            class,
            tags: vec!["pki".into(), "tls".into(), class_name],
        },
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// Lexically normalises an absolute path (`.` dropped, `..` pops), without touching the disk.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Percent-encodes a path for a URI (RFC 3986 unreserved characters and `/` are kept).
fn encode(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut s = String::new();
    for &b in p.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The artifact location of `path`: relative to `base` (with [`BASE_ID`]) when inside it, else
/// an absolute `file://` URI.
fn artifact(path: &Path, base: &Path) -> ArtifactLocation {
    let abs = normalise(&base.join(path));
    let base = normalise(base);
    match abs.strip_prefix(&base) {
        Ok(rel) if !rel.as_os_str().is_empty() => ArtifactLocation {
            uri: encode(rel),
            uri_base_id: Some(BASE_ID),
        },
        _ => ArtifactLocation {
            uri: format!("file://{}", encode(&abs)),
            uri_base_id: None,
        },
    }
}

fn dir_uri(base: &Path) -> String {
    let mut u = format!("file://{}", encode(&normalise(base)));
    if !u.ends_with('/') {
        u.push('/');
    }
    u
}

fn message(f: &Finding) -> String {
    let mut m = f.message.clone();
    if !f.why.is_empty() {
        m.push_str("\nWhy: ");
        m.push_str(&f.why);
    }
    if !f.fix.is_empty() {
        m.push_str("\nFix: ");
        m.push_str(&f.fix);
    }
    m
}

/// Renders the report as one SARIF 2.1.0 log (pretty-printed, trailing newline). `base` is the
/// directory relative URIs are relative to (the working directory, an absolute path).
pub fn render(report: &Report<'_>, base: &Path) -> String {
    let rows = readme_rows();
    // The codes that appear, in the order of the code table (unknown codes last, sorted).
    let mut codes: Vec<&str> = Vec::new();
    for g in &report.groups {
        for f in g.findings {
            if !codes.contains(&f.code) {
                codes.push(f.code);
            }
        }
    }
    let rank = |c: &str| {
        CODES
            .iter()
            .position(|(k, _, _)| *k == c)
            .unwrap_or(CODES.len())
    };
    codes.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    let rules: Vec<Rule> = codes.iter().map(|c| rule_for(c, &rows)).collect();
    let mut results = Vec::new();
    for g in &report.groups {
        for (i, f) in g.findings.iter().enumerate() {
            let at = f.path.as_deref().or(g.dir.as_deref());
            let start_line = match g.start_lines.get(i) {
                Some(&n) if n > 0 => u32::try_from(n).unwrap_or(1),
                _ => 1,
            };
            results.push(SResult {
                rule_id: f.code,
                rule_index: codes.iter().position(|c| *c == f.code).unwrap_or(0),
                level: level(f.severity),
                message: Text { text: message(f) },
                locations: at
                    .map(|p| Location {
                        physical_location: PhysicalLocation {
                            artifact_location: artifact(p, base),
                            region: Region { start_line },
                        },
                    })
                    .into_iter()
                    .collect(),
                properties: ResultProperties {
                    class: f.class,
                    group: &g.name,
                    role: f.role.map(|r| r.as_str()),
                    subject: f.subject.as_deref(),
                    why: &f.why,
                    fix: &f.fix,
                },
            });
        }
    }
    let c = report.counts();
    let mut summary: BTreeMap<&'static str, usize> = report.totals.iter().copied().collect();
    summary.insert("errors", c.errors);
    summary.insert("warnings", c.warnings);
    summary.insert("notes", c.notes);
    let version = env!("CARGO_PKG_VERSION");
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "pkitool",
                    version,
                    semantic_version: version,
                    rules,
                },
            },
            invocations: [Invocation {
                execution_successful: true,
                working_directory: ArtifactLocation {
                    uri: dir_uri(base),
                    uri_base_id: None,
                },
            }],
            original_uri_base_ids: [(
                BASE_ID,
                ArtifactLocation {
                    uri: dir_uri(base),
                    uri_base_id: None,
                },
            )]
            .into_iter()
            .collect(),
            results,
            properties: RunProperties {
                evaluated_at: &report.evaluated_at,
                summary,
            },
        }],
    };
    let mut s = serde_json::to_string_pretty(&log)
        .unwrap_or_else(|e| format!("{{\"version\":\"2.1.0\",\"runs\":[],\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_readme_row() {
        let rows = readme_rows();
        for (code, _, _) in CODES {
            assert!(
                rows.iter().any(|r| r.codes.contains(code)),
                "{code} has no row in the README's finding-code table"
            );
        }
        let r = rule_for("PKI-T02", &rows);
        assert_eq!(
            r.short_description.text,
            "a leaf certificate is not yet valid"
        );
        assert_eq!(
            r.full_description.text,
            "leaf certificate expired / not yet valid"
        );
        assert!(
            r.help
                .text
                .starts_with("PKI-T01 / PKI-T02 (expired / not_yet_valid): ")
        );
        assert!(r.help.markdown.ends_with("| `PKI-T01` / `PKI-T02` | `expired` / `not_yet_valid` | leaf certificate expired / not yet valid |"));
    }

    #[test]
    fn a_finding_without_a_file_is_located_at_its_group_dir_and_unknown_codes_get_a_rule() {
        use crate::report::data::{Group, Report};
        let findings = vec![
            Finding::new("PKI-D02", Severity::Error, "empty allow-list"),
            Finding::new("PKI-Z99", Severity::Note, "a code from a newer table"),
        ];
        let report = Report {
            tool: "pkitool 0.1.0".into(),
            evaluated_at: "2027-01-01T00:00:00Z".into(),
            groups: vec![Group {
                name: "g".into(),
                dir: Some(PathBuf::from("/work/repo/pki")),
                targets: Vec::new(),
                findings: &findings,
                start_lines: Vec::new(),
            }],
            totals: Vec::new(),
        };
        let doc: serde_json::Value =
            serde_json::from_str(&render(&report, Path::new("/work/repo"))).unwrap();
        let loc = &doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "pki");
        assert_eq!(loc["region"]["startLine"], 1);
        let rules = doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1]["id"], "PKI-Z99");
        assert_eq!(rules[1]["shortDescription"]["text"], "PKI-Z99");
        assert_eq!(doc["runs"][0]["results"][1]["ruleIndex"], 1);
    }

    #[test]
    fn uris_are_relative_inside_the_base_and_absolute_outside() {
        let base = Path::new("/work/repo");
        let a = artifact(Path::new("pki/server cert.pem"), base);
        assert_eq!(
            (a.uri.as_str(), a.uri_base_id),
            ("pki/server%20cert.pem", Some(BASE_ID))
        );
        let a = artifact(Path::new("/work/repo/./x/../pki/ca.pem"), base);
        assert_eq!(
            (a.uri.as_str(), a.uri_base_id),
            ("pki/ca.pem", Some(BASE_ID))
        );
        let a = artifact(Path::new("../other/ca.pem"), base);
        assert_eq!(
            (a.uri.as_str(), a.uri_base_id),
            ("file:///work/other/ca.pem", None)
        );
        let a = artifact(Path::new("/etc/pki/CA/cacert.pem"), base);
        assert_eq!(a.uri, "file:///etc/pki/CA/cacert.pem");
        let a = artifact(Path::new("/work/repository/x.pem"), base);
        assert_eq!(
            a.uri, "file:///work/repository/x.pem",
            "a sibling with a common prefix is outside"
        );
        assert_eq!(dir_uri(base), "file:///work/repo/");
    }
}
