//! Human-readable validation report: grouped by layout and by file (role), errors first, a
//! summary line; colour only on a terminal (the caller passes an anstream stream).

use std::io::Write;

use anstyle::{AnsiColor, Style};

use super::show_path;
use crate::check::finding::{Counts, FRole, Finding, Severity};
use crate::check::validate::Outcome;
use crate::quoting::terminal::escape as esc;

fn sev_style(s: Severity) -> Style {
    match s {
        Severity::Error => Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
        Severity::Warning => Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())),
        Severity::Note => Style::new().fg_color(Some(AnsiColor::Blue.into())),
    }
}

fn role_rank(r: Option<FRole>) -> u8 {
    match r {
        Some(FRole::Ca) => 0,
        Some(FRole::Server) => 1,
        Some(FRole::Client) => 2,
        None => 3,
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Writes the report.
pub fn render(w: &mut impl Write, o: &Outcome) -> std::io::Result<()> {
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
    for l in &o.layouts {
        let c = Counts::of(&l.findings);
        writeln!(w, "{bold}{}{bold:#}", esc(&l.layout.name))?;
        // Group by (role, path), in order of first appearance within each role.
        // A map from (role, path) to the group's index: one lookup per finding, not a scan.
        let mut groups: Vec<(Option<FRole>, Option<&std::path::Path>, Vec<&Finding>)> = Vec::new();
        let mut index: std::collections::HashMap<(Option<FRole>, Option<&std::path::Path>), usize> =
            std::collections::HashMap::new();
        for f in &l.findings {
            let key = (f.role, f.path.as_deref());
            match index.get(&key) {
                Some(&i) => groups[i].2.push(f),
                None => {
                    index.insert(key, groups.len());
                    groups.push((f.role, f.path.as_deref(), vec![f]));
                }
            }
        }
        groups.sort_by_key(|g| role_rank(g.0));
        for (role, path, mut fs) in groups {
            fs.sort_by_key(|f| std::cmp::Reverse(f.severity));
            let role = role.map(FRole::as_str).unwrap_or("-");
            let path = path.map(show_path).unwrap_or_default();
            let path = esc(&path);
            writeln!(w, "  {role:<6} {path}")?;
            for f in fs {
                let st = sev_style(f.severity);
                writeln!(
                    w,
                    "    {st}{:<7}{st:#} {dim}{}{dim:#}  {}",
                    f.severity.as_str(),
                    f.code,
                    esc(&f.message)
                )?;
                if let Some(s) = &f.subject {
                    writeln!(w, "            {dim}subject{dim:#} {}", esc(s))?;
                }
                if !f.why.is_empty() {
                    writeln!(w, "            {dim}why{dim:#}     {}", esc(&f.why))?;
                }
                if !f.fix.is_empty() {
                    writeln!(w, "            {dim}fix{dim:#}     {}", esc(&f.fix))?;
                }
            }
        }
        if c.errors == 0 && c.warnings == 0 {
            writeln!(
                w,
                "  {green}ok{green:#}: {}, {} checked, no errors or warnings",
                plural(l.files, "file"),
                plural(l.certificates, "certificate")
            )?;
        }
    }
    summary(w, o)
}

/// Writes the summary line.
fn summary(w: &mut impl Write, o: &Outcome) -> std::io::Result<()> {
    let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let all = Counts::of(o.layouts.iter().flat_map(|l| l.findings.iter()));
    let files: usize = o.layouts.iter().map(|l| l.files).sum();
    let certs: usize = o.layouts.iter().map(|l| l.certificates).sum();
    let st = if all.errors > 0 {
        sev_style(Severity::Error)
    } else if all.warnings > 0 {
        sev_style(Severity::Warning)
    } else {
        green
    };
    writeln!(
        w,
        "{st}summary{st:#}: {}, {}, {} in {}, {}, {} (at {})",
        plural(all.errors, "error"),
        plural(all.warnings, "warning"),
        plural(all.notes, "note"),
        plural(o.layouts.len(), "layout"),
        plural(files, "file"),
        plural(certs, "certificate"),
        o.evaluated_at
    )
}

/// `--quiet`: one line per error and warning (with its fix on the next line), then the summary
/// line. Notes and clean layouts print nothing, so a clean run prints exactly one line.
pub fn render_quiet(w: &mut impl Write, o: &Outcome) -> std::io::Result<()> {
    let dim = Style::new().dimmed();
    for l in &o.layouts {
        let mut fs: Vec<&Finding> = l
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .collect();
        fs.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in fs {
            let st = sev_style(f.severity);
            let path = f
                .path
                .as_deref()
                .map(show_path)
                .unwrap_or_else(|| l.layout.name.clone());
            let path = esc(&path);
            writeln!(
                w,
                "{st}{}{st:#} {dim}{}{dim:#} {path}: {}",
                f.severity.as_str(),
                f.code,
                esc(&f.message)
            )?;
            if !f.fix.is_empty() {
                writeln!(w, "  {dim}fix{dim:#} {}", esc(&f.fix))?;
            }
        }
    }
    summary(w, o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::LayoutReport;
    use crate::layout::discover::{LayoutKind, empty};
    use std::path::{Path, PathBuf};

    #[test]
    fn findings_are_grouped_by_role_and_path_in_first_appearance_order() {
        // 20,000 files with two findings each, interleaved: grouping must be linear (a map),
        // and each file's findings printed under one header, errors first.
        let n = 20_000;
        let mut findings = Vec::new();
        for round in 0..2 {
            for i in 0..n {
                let sev = if round == 0 {
                    Severity::Note
                } else {
                    Severity::Error
                };
                findings.push(
                    Finding::new("PKI-T01", sev, format!("finding {round} of file {i}"))
                        .path(Path::new(&format!("certs/{i}.pem")))
                        .role(FRole::Client),
                );
            }
        }
        findings.push(Finding::new("PKI-C01", Severity::Warning, "the CA").role(FRole::Ca));
        let o = Outcome {
            tool: "pkitool test".into(),
            evaluated_at: "2026-01-01T00:00:00Z".into(),
            layouts: vec![LayoutReport {
                layout: empty(LayoutKind::Fleet, "fleet".into(), PathBuf::from("certs")),
                findings,
                files: n,
                certificates: n,
            }],
        };
        let mut buf = Vec::new();
        render(&mut buf, &o).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let headers: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
            .collect();
        assert_eq!(headers.len(), n + 1);
        assert!(headers[0].starts_with("  ca "), "{}", headers[0]);
        assert!(headers[1].ends_with("certs/0.pem"), "{}", headers[1]);
        assert!(headers[n].ends_with(&format!("certs/{}.pem", n - 1)));
        let first = text.find("certs/0.pem").unwrap();
        let block: Vec<&str> = text[first..].lines().skip(1).take(2).collect();
        assert!(
            block[0].contains("error") && block[0].contains("finding 1 of file 0"),
            "{block:?}"
        );
        assert!(
            block[1].contains("note") && block[1].contains("finding 0 of file 0"),
            "{block:?}"
        );
    }
}
