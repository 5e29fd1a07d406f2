//! `pkitool validate --format json`: a versioned contract (schema in the README).
//!
//! ```text
//! {"version":1,"tool":"pkitool 0.1.0","evaluated_at":"2026-11-22T10:00:00Z",
//!  "layouts":[{"name","kind","dir","ca","crl","identities":[{"role","cert","key","index"}],
//!              "fleet_files","files","certificates","errors","warnings","notes"}],
//!  "summary":{"errors":N,"warnings":N,"notes":N,"files":N,"certificates":N},
//!  "findings":[{"code","severity","class","path","role","subject","message","why","fix"}]}
//! ```

use serde::Serialize;

use super::show_path;
use crate::check::finding::{Class, Counts, FRole, Finding, Severity};
use crate::check::validate::Outcome;

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    tool: &'a str,
    evaluated_at: &'a str,
    layouts: Vec<JLayout>,
    summary: Summary,
    findings: Vec<JFinding<'a>>,
}

#[derive(Serialize)]
struct JIdentity {
    role: &'static str,
    cert: String,
    key: String,
    index: Option<u8>,
}

#[derive(Serialize)]
struct JLayout {
    name: String,
    kind: crate::layout::discover::LayoutKind,
    dir: String,
    ca: Option<String>,
    crl: Option<String>,
    identities: Vec<JIdentity>,
    fleet_files: usize,
    files: usize,
    certificates: usize,
    errors: usize,
    warnings: usize,
    notes: usize,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    notes: usize,
    files: usize,
    certificates: usize,
}

#[derive(Serialize)]
struct JFinding<'a> {
    code: &'a str,
    severity: Severity,
    class: Class,
    path: Option<String>,
    role: Option<FRole>,
    subject: Option<&'a str>,
    message: &'a str,
    why: &'a str,
    fix: &'a str,
}

impl<'a> From<&'a Finding> for JFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        JFinding {
            code: f.code,
            severity: f.severity,
            class: f.class,
            path: f.path.as_deref().map(show_path),
            role: f.role,
            subject: f.subject.as_deref(),
            message: &f.message,
            why: &f.why,
            fix: &f.fix,
        }
    }
}

/// Renders the outcome as one JSON document (with a trailing newline).
pub fn render(o: &Outcome) -> String {
    let all: Vec<&Finding> = o.layouts.iter().flat_map(|l| l.findings.iter()).collect();
    let c = Counts::of(all.iter().copied());
    let doc = Doc {
        version: 1,
        tool: &o.tool,
        evaluated_at: &o.evaluated_at,
        layouts: o
            .layouts
            .iter()
            .map(|l| {
                let lc = Counts::of(&l.findings);
                JLayout {
                    name: l.layout.name.clone(),
                    kind: l.layout.kind,
                    dir: show_path(&l.layout.dir),
                    ca: l.layout.ca.as_deref().map(show_path),
                    // null when there is no CRL file.
                    crl: l
                        .layout
                        .crl
                        .as_deref()
                        .filter(|p| std::fs::symlink_metadata(p).is_ok())
                        .map(show_path),
                    identities: l
                        .layout
                        .identities
                        .iter()
                        .map(|i| JIdentity {
                            role: i.role.as_str(),
                            cert: show_path(&i.cert),
                            key: show_path(&i.key),
                            index: i.index,
                        })
                        .collect(),
                    fleet_files: l.layout.fleet.len(),
                    files: l.files,
                    certificates: l.certificates,
                    errors: lc.errors,
                    warnings: lc.warnings,
                    notes: lc.notes,
                }
            })
            .collect(),
        summary: Summary {
            errors: c.errors,
            warnings: c.warnings,
            notes: c.notes,
            files: o.layouts.iter().map(|l| l.files).sum(),
            certificates: o.layouts.iter().map(|l| l.certificates).sum(),
        },
        findings: all.into_iter().map(JFinding::from).collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
        format!("{{\"version\":1,\"error\":\"cannot serialise the report: {e}\"}}")
    });
    s.push('\n');
    s
}
