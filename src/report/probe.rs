//! `pkitool probe` reports. Text like `validate`'s (one block per endpoint, findings errors
//! first, a summary line); JSON with the same contract as `validate --format json` (version,
//! tool, evaluated_at, summary, findings) plus an `endpoints` array:
//!
//! ```text
//! {"version":1,"tool","evaluated_at",
//!  "endpoints":[{"target","host","port","service","address","status":"ok"|"failed","reason",
//!                "elapsed_ms","tls":{"version","cipher_suite"}|null,"vnc_subtype",
//!                "chain":[{"subject","issuer","not_before","not_after","sha256"}],
//!                "ca","client_certificate":{"requested","given","sent","subject","verdict",
//!                "detail"},"errors","warnings","notes"}],
//!  "summary":{"errors","warnings","notes","endpoints","failed","certificates"},
//!  "findings":[{"code","severity","class","endpoint","path","role","subject","message","why","fix"}]}
//! ```

use crate::quoting::terminal::escape as esc;
use std::io::Write;

use anstyle::{AnsiColor, Style};
use serde::Serialize;
use x509_parser::prelude::FromDer;

use crate::check::finding::{Class, Counts, FRole, Finding, Severity};
use crate::probe::{ClientVerdict, EndpointReport, Outcome, Session, TlsInfo};

/// One presented certificate, described.
#[derive(Debug, Clone, Serialize)]
pub struct CertSummary {
    /// Subject DN (GnuTLS order).
    pub subject: String,
    /// Issuer DN (GnuTLS order).
    pub issuer: String,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// SHA-256 of the DER, upper-case hex with colons (as `openssl x509 -fingerprint -sha256`).
    pub sha256: String,
}

fn rfc3339(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ts.to_string())
}

/// SHA-256 fingerprint of DER bytes.
pub fn sha256(der: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    d.as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Describes each certificate of a chain (an unparsable one keeps only its fingerprint).
pub fn summarize(chain: &[Vec<u8>]) -> Vec<CertSummary> {
    chain
        .iter()
        .map(
            |der| match x509_parser::certificate::X509Certificate::from_der(der) {
                Ok((_, c)) => CertSummary {
                    subject: crate::x509::dn::format_gnutls(c.subject()),
                    issuer: crate::x509::dn::format_gnutls(c.issuer()),
                    not_before: rfc3339(c.validity().not_before.timestamp()),
                    not_after: rfc3339(c.validity().not_after.timestamp()),
                    sha256: sha256(der),
                },
                Err(e) => CertSummary {
                    subject: format!("(unparsable: {e})"),
                    issuer: String::new(),
                    not_before: String::new(),
                    not_after: String::new(),
                    sha256: sha256(der),
                },
            },
        )
        .collect()
}

fn verdict(s: &Session) -> (&'static str, String) {
    match &s.client {
        ClientVerdict::NotReached => ("not_reached", String::new()),
        ClientVerdict::NotRequested => ("not_requested", String::new()),
        ClientVerdict::Accepted => ("accepted", String::new()),
        ClientVerdict::Refused(r) => ("refused", r.clone()),
        ClientVerdict::Unknown(r) => ("unknown", r.clone()),
    }
}

fn sev_style(s: Severity) -> Style {
    match s {
        Severity::Error => Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
        Severity::Warning => Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())),
        Severity::Note => Style::new().fg_color(Some(AnsiColor::Blue.into())),
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn client_line(e: &EndpointReport, o: &Outcome) -> String {
    let s = &e.session;
    let asked = if s.client_requested {
        "requested"
    } else if s.handshake_done {
        "not requested"
    } else {
        "requested: unknown"
    };
    let given = match &o.client {
        Some(c) if s.client_sent => format!("; sent {}", c.subject),
        Some(_) if s.client_requested => {
            "; given but not sent (no signature scheme in common)".into()
        }
        Some(_) => "; given, not used".into(),
        None => "; none given".into(),
    };
    let (v, detail) = verdict(s);
    let v = match v {
        "not_reached" | "not_requested" => String::new(),
        "accepted" => ": admitted".into(),
        other => format!(": {other} ({detail})"),
    };
    format!("{asked}{given}{v}")
}

/// Writes the text report.
pub fn text(w: &mut impl Write, o: &Outcome) -> std::io::Result<()> {
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let red = sev_style(Severity::Error);
    for e in &o.endpoints {
        let s = &e.session;
        writeln!(
            w,
            "{bold}{} {}{bold:#} {dim}({} ms){dim:#}",
            s.target.service.as_str(),
            s.target.label(),
            s.elapsed.as_millis()
        )?;
        if let Some(f) = &s.failure {
            writeln!(w, "  {red}failed{red:#}  {}", esc(&f.reason))?;
        }
        if let Some(TlsInfo {
            version,
            cipher_suite,
        }) = &s.tls
        {
            let sub = s
                .vnc_subtype
                .map(|v| format!(" (VeNCrypt {v})"))
                .unwrap_or_default();
            writeln!(w, "  tls     {version}, {cipher_suite}{sub}")?;
        }
        if s.tls.is_some() || !s.chain.is_empty() {
            writeln!(w, "  client  {}", client_line(e, o))?;
        }
        for (i, c) in summarize(&s.chain).iter().enumerate() {
            writeln!(
                w,
                "  {}#{} {}",
                if i == 0 { "chain   " } else { "        " },
                i + 1,
                esc(&c.subject)
            )?;
            writeln!(w, "             {dim}issuer{dim:#}  {}", esc(&c.issuer))?;
            writeln!(
                w,
                "             {dim}valid{dim:#}   {} to {}",
                c.not_before, c.not_after
            )?;
            writeln!(w, "             {dim}sha256{dim:#}  {}", c.sha256)?;
        }
        if let Some(ca) = &e.ca {
            writeln!(w, "  ca      {}", ca.display())?;
        }
        let mut fs: Vec<&Finding> = e.findings.iter().collect();
        fs.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in fs {
            let st = sev_style(f.severity);
            writeln!(
                w,
                "    {st}{:<7}{st:#} {dim}{}{dim:#}  {}",
                f.severity.as_str(),
                f.code,
                esc(&f.message)
            )?;
            if let Some(sub) = &f.subject {
                writeln!(w, "            {dim}subject{dim:#} {}", esc(sub))?;
            }
            if !f.why.is_empty() {
                writeln!(w, "            {dim}why{dim:#}     {}", esc(&f.why))?;
            }
            if !f.fix.is_empty() {
                writeln!(w, "            {dim}fix{dim:#}     {}", esc(&f.fix))?;
            }
        }
        let c = Counts::of(&e.findings);
        if c.errors == 0 && c.warnings == 0 {
            writeln!(
                w,
                "  {green}ok{green:#}: {} presented and checked, no errors or warnings",
                plural(s.chain.len(), "certificate")
            )?;
        }
    }
    summary(w, o)
}

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    tool: &'a str,
    evaluated_at: &'a str,
    endpoints: Vec<JEndpoint<'a>>,
    summary: Summary,
    findings: Vec<JFinding<'a>>,
}

#[derive(Serialize)]
struct JClient<'a> {
    requested: bool,
    given: bool,
    sent: bool,
    subject: Option<&'a str>,
    verdict: &'static str,
    detail: String,
}

#[derive(Serialize)]
struct JEndpoint<'a> {
    target: String,
    host: &'a str,
    port: u16,
    service: crate::probe::Service,
    address: Option<String>,
    status: &'static str,
    reason: Option<&'a str>,
    failure: Option<crate::probe::FailKind>,
    elapsed_ms: u128,
    tls: Option<&'a TlsInfo>,
    vnc_subtype: Option<&'static str>,
    chain: Vec<CertSummary>,
    ca: Option<String>,
    client_certificate: JClient<'a>,
    errors: usize,
    warnings: usize,
    notes: usize,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    notes: usize,
    endpoints: usize,
    failed: usize,
    certificates: usize,
}

#[derive(Serialize)]
struct JFinding<'a> {
    code: &'a str,
    severity: Severity,
    class: Class,
    endpoint: String,
    path: Option<String>,
    role: Option<FRole>,
    subject: Option<&'a str>,
    message: &'a str,
    why: &'a str,
    fix: &'a str,
}

/// Renders the JSON document (with a trailing newline).
pub fn json(o: &Outcome) -> String {
    let mut findings = Vec::new();
    let mut endpoints = Vec::new();
    for e in &o.endpoints {
        let s = &e.session;
        let label = s.target.label();
        for f in &e.findings {
            findings.push(JFinding {
                code: f.code,
                severity: f.severity,
                class: f.class,
                endpoint: label.clone(),
                path: f.path.as_deref().map(super::show_path),
                role: f.role,
                subject: f.subject.as_deref(),
                message: &f.message,
                why: &f.why,
                fix: &f.fix,
            });
        }
        let c = Counts::of(&e.findings);
        let (verdict, detail) = verdict(s);
        endpoints.push(JEndpoint {
            target: label,
            host: &s.target.host,
            port: s.target.port,
            service: s.target.service,
            address: s.addr.map(|a| a.to_string()),
            status: if s.failure.is_some() { "failed" } else { "ok" },
            reason: s.failure.as_ref().map(|f| f.reason.as_str()),
            failure: s.failure.as_ref().map(|f| f.kind),
            elapsed_ms: s.elapsed.as_millis(),
            tls: s.tls.as_ref(),
            vnc_subtype: s.vnc_subtype,
            chain: summarize(&s.chain),
            ca: e.ca.as_deref().map(super::show_path),
            client_certificate: JClient {
                requested: s.client_requested,
                given: o.client.is_some(),
                sent: s.client_sent,
                subject: o.client.as_ref().map(|c| c.subject.as_str()),
                verdict,
                detail,
            },
            errors: c.errors,
            warnings: c.warnings,
            notes: c.notes,
        });
    }
    let all = o.counts();
    let doc = Doc {
        version: 1,
        tool: &o.tool,
        evaluated_at: &o.evaluated_at,
        summary: Summary {
            errors: all.errors,
            warnings: all.warnings,
            notes: all.notes,
            endpoints: o.endpoints.len(),
            failed: o
                .endpoints
                .iter()
                .filter(|e| e.session.failure.is_some())
                .count(),
            certificates: o.endpoints.iter().map(|e| e.session.chain.len()).sum(),
        },
        endpoints,
        findings,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
        format!("{{\"version\":1,\"error\":\"cannot serialise the report: {e}\"}}")
    });
    s.push('\n');
    s
}

/// The summary line: counts of findings, endpoints (and how many failed) and certificates.
fn summary(w: &mut impl Write, o: &Outcome) -> std::io::Result<()> {
    let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
    let certs: usize = o.endpoints.iter().map(|e| e.session.chain.len()).sum();
    let all = o.counts();
    let failed = o
        .endpoints
        .iter()
        .filter(|e| e.session.failure.is_some())
        .count();
    let st = if all.errors > 0 {
        sev_style(Severity::Error)
    } else if all.warnings > 0 {
        sev_style(Severity::Warning)
    } else {
        green
    };
    writeln!(
        w,
        "{st}summary{st:#}: {}, {}, {} in {} ({} failed), {} (at {})",
        plural(all.errors, "error"),
        plural(all.warnings, "warning"),
        plural(all.notes, "note"),
        plural(o.endpoints.len(), "endpoint"),
        failed,
        plural(certs, "certificate"),
        o.evaluated_at
    )
}

/// `probe --quiet`: one line per error and warning (its endpoint, code and message, then its
/// fix), and the summary line; a clean run prints only the summary.
pub fn text_quiet(w: &mut impl Write, o: &Outcome) -> std::io::Result<()> {
    let dim = Style::new().dimmed();
    for e in &o.endpoints {
        let label = e.session.target.label();
        let mut fs: Vec<&Finding> = e
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .collect();
        fs.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in fs {
            let st = sev_style(f.severity);
            writeln!(
                w,
                "{st}{}{st:#} {dim}{}{dim:#} {} {label}: {}",
                f.severity.as_str(),
                f.code,
                e.session.target.service.as_str(),
                esc(&f.message)
            )?;
            if !f.fix.is_empty() {
                writeln!(w, "  {dim}fix{dim:#} {}", esc(&f.fix))?;
            }
        }
    }
    summary(w, o)
}

/// The generic report data of a probe run, for `--format sarif` and `--format junit`: one group
/// per endpoint, whose targets are the server it presented and, when one was offered, the
/// client certificate it judged.
pub fn data(o: &Outcome) -> crate::report::data::Report<'_> {
    use crate::report::data::{Group, Report, Target};
    let groups = o
        .endpoints
        .iter()
        .map(|e| {
            let label = e.session.target.label();
            let mut targets = vec![Target::new(
                Some(FRole::Server),
                None,
                format!("server {label}"),
            )];
            if o.client.is_some() {
                targets.push(Target::new(
                    Some(FRole::Client),
                    None,
                    format!("client certificate at {label}"),
                ));
            }
            Group {
                name: format!("endpoint {label}"),
                dir: None,
                targets,
                findings: &e.findings,
                start_lines: Vec::new(),
            }
        })
        .collect();
    Report {
        tool: o.tool.clone(),
        evaluated_at: o.evaluated_at.clone(),
        groups,
        totals: vec![("endpoints", o.endpoints.len())],
    }
}
