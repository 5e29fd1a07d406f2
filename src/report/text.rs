//! Human-readable validation report: grouped by layout and by file (role), errors first, a
//! summary line; colour only on a terminal (the caller passes an anstream stream).

use std::io::Write;

use anstyle::{AnsiColor, Style};

use super::show_path;
use crate::check::finding::{Counts, FRole, Finding, Severity};
use crate::check::validate::Outcome;

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
        writeln!(w, "{bold}{}{bold:#}", l.layout.name)?;
        // Group by (role, path), in order of first appearance within each role.
        let mut groups: Vec<(Option<FRole>, Option<&std::path::Path>, Vec<&Finding>)> = Vec::new();
        for f in &l.findings {
            let key = (f.role, f.path.as_deref());
            match groups.iter_mut().find(|g| (g.0, g.1) == key) {
                Some(g) => g.2.push(f),
                None => groups.push((f.role, f.path.as_deref(), vec![f])),
            }
        }
        groups.sort_by_key(|g| role_rank(g.0));
        for (role, path, mut fs) in groups {
            fs.sort_by_key(|f| std::cmp::Reverse(f.severity));
            let role = role.map(FRole::as_str).unwrap_or("-");
            let path = path.map(show_path).unwrap_or_default();
            writeln!(w, "  {role:<6} {path}")?;
            for f in fs {
                let st = sev_style(f.severity);
                writeln!(
                    w,
                    "    {st}{:<7}{st:#} {dim}{}{dim:#}  {}",
                    f.severity.as_str(),
                    f.code,
                    f.message
                )?;
                if let Some(s) = &f.subject {
                    writeln!(w, "            {dim}subject{dim:#} {s}")?;
                }
                if !f.why.is_empty() {
                    writeln!(w, "            {dim}why{dim:#}     {}", f.why)?;
                }
                if !f.fix.is_empty() {
                    writeln!(w, "            {dim}fix{dim:#}     {}", f.fix)?;
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
            writeln!(
                w,
                "{st}{}{st:#} {dim}{}{dim:#} {path}: {}",
                f.severity.as_str(),
                f.code,
                f.message
            )?;
            if !f.fix.is_empty() {
                writeln!(w, "  {dim}fix{dim:#} {}", f.fix)?;
            }
        }
    }
    summary(w, o)
}
