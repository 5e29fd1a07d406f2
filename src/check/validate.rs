//! Validation as a whole: find the layouts a [`ValidateOptions`] names, run every check on each,
//! and collect the [`Outcome`] the reports render. The exit-status rule lives here too
//! ([`Outcome::exit_code`]); the `validate` command only translates flags and prints.

use std::path::{Path, PathBuf};

use crate::check::finding::{Counts, Finding, Severity};
use crate::check::{self, LayoutReport, Options};
use crate::layout::discover::{self, Discovered, LayoutKind};
use crate::{Error, Result};

/// What to validate and how: the plain form of `pkitool validate`'s flags.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Directories or certificate files; empty means the system layout.
    pub paths: Vec<PathBuf>,
    /// Check the per-user layout ($HOME/.pki/libvirt).
    pub user: bool,
    /// Apply the system layout to a staged tree.
    pub root: Option<PathBuf>,
    /// A libvirtd.conf to read the TLS settings from.
    pub libvirtd_conf: Option<PathBuf>,
    /// CA certificate for fleet mode.
    pub ca: Option<PathBuf>,
    /// Names clients use to reach the server.
    pub hostnames: Vec<String>,
    /// tls_allowed_dn_list patterns client certificates must match.
    pub allowed_dns: Vec<String>,
    /// Evaluation time (None: now, to the second).
    pub at: Option<time::OffsetDateTime>,
    /// Warn about certificates expiring within this many days.
    pub warn_within: u32,
    /// The consumer versions judged.
    pub consumers: crate::consumer::Consumers,
}

/// Everything a report needs.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// "pkitool VERSION".
    pub tool: String,
    /// RFC 3339 evaluation time.
    pub evaluated_at: String,
    /// One report per layout.
    pub layouts: Vec<LayoutReport>,
}

impl Outcome {
    /// Counts over every layout.
    pub fn counts(&self) -> Counts {
        Counts::of(self.layouts.iter().flat_map(|l| l.findings.iter()))
    }

    /// The exit status: 1 on errors (or warnings with `strict`), else 0.
    pub fn exit_code(&self, strict: bool) -> u8 {
        let c = self.counts();
        u8::from(c.errors > 0 || (strict && c.warnings > 0))
    }
}

/// Parses `--at`: RFC 3339, or a plain date (midnight UTC).
pub fn parse_at(s: &str) -> Result<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    if let Ok(t) = time::OffsetDateTime::parse(&full, &Rfc3339) {
        return Ok(t);
    }
    // A date and time without an offset is taken as UTC.
    let local = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(s, &local)
        .map(|t| t.assume_utc())
        .map_err(|_| {
            Error::Usage(format!(
                "--at {s}: expected a date (2027-01-31), a UTC date and time (2027-01-31T00:00:00, 2027-01-31T00:00:00Z) or one with an offset (2027-01-31T02:00:00+02:00)"
            ))
        })
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Builds the layouts the arguments ask for.
pub fn layouts(args: &ValidateOptions) -> Result<(Vec<discover::Layout>, Vec<Finding>)> {
    let mut out = Vec::new();
    let mut extra = Vec::new();
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    if let Some(r) = &args.root
        && !r.is_dir()
    {
        return Err(Error::Usage(format!(
            "--root {}: not a directory",
            r.display()
        )));
    }
    let mut fleet_files: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for p in &args.paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(Error::Usage(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
        match discover::classify(p) {
            Discovered::Layouts(ls) => out.extend(ls),
            Discovered::Fleet(files) => fleet_files.push((p.clone(), files)),
        }
    }
    if !fleet_files.is_empty() {
        let Some(ca) = &args.ca else {
            let names: Vec<String> = fleet_files
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect();
            return Err(Error::Usage(format!(
                "{}: not a libvirt or QEMU layout, so its certificates are checked in fleet mode, which needs --ca FILE (the CA certificate they must chain to)",
                names.join(", ")
            )));
        };
        for (p, files) in fleet_files {
            let dir = if p.is_dir() {
                p.clone()
            } else {
                p.parent().map(Path::to_path_buf).unwrap_or_default()
            };
            out.push(discover::fleet(
                format!(
                    "fleet {} ({} file{}) against {}",
                    p.display(),
                    files.len(),
                    if files.len() == 1 { "" } else { "s" },
                    ca.display()
                ),
                dir,
                ca,
                files,
            ));
        }
    }
    if args.user {
        let home = std::env::var_os("HOME")
            .ok_or_else(|| Error::Environment("--user: HOME is not set".into()))?;
        let dir = PathBuf::from(home).join(crate::layout::libvirt::USER_DIR);
        out.push(discover::libvirt_flat(&dir, LayoutKind::LibvirtUser));
    }
    if let Some(conf) = &args.libvirtd_conf {
        match crate::fsio::read_input(conf) {
            Err(e) => {
                return Err(Error::Usage(format!("--libvirtd-conf: {e}")));
            }
            Ok(bytes) => {
                match crate::layout::libvirtd_conf::tls_conf(&String::from_utf8_lossy(&bytes)) {
                    Ok(c) => {
                        if c.tls_no_sanity_certificate {
                            extra.push(
                            Finding::new("PKI-S01", Severity::Note, "tls_no_sanity_certificate = 1: libvirtd skips its own-certificate checks")
                                .path(conf)
                                .why("libvirtd starts even with the problems below, and fails later at handshake instead")
                                .fix(format!("remove tls_no_sanity_certificate from {}", conf.display())),
                        );
                        }
                        out.push(discover::from_libvirtd_conf(conf, &c, &root));
                    }
                    Err(e) => {
                        extra.push(
                            Finding::new(
                                "PKI-S01",
                                Severity::Error,
                                format!("libvirtd.conf syntax error: {e}"),
                            )
                            .path(conf)
                            .why("libvirtd refuses to start with an unparsable configuration file")
                            .fix(format!(
                                "fix line {} of {}",
                                e.line,
                                conf.display()
                            )),
                        );
                        out.push(discover::empty(
                            LayoutKind::LibvirtdConf,
                            format!("libvirtd configuration {}", conf.display()),
                            conf.parent().map(Path::to_path_buf).unwrap_or_default(),
                        ));
                    }
                }
            }
        }
    }
    if (args.paths.is_empty() && !args.user && args.libvirtd_conf.is_none()) || args.root.is_some()
    {
        out.extend(discover::system(&root));
    }
    Ok((out, extra))
}

/// Runs the checks.
pub fn evaluate(args: &ValidateOptions) -> Result<Outcome> {
    let at = match args.at {
        Some(t) => t,
        None => {
            let now = time::OffsetDateTime::now_utc();
            now.replace_nanosecond(0).unwrap_or(now)
        }
    };
    let (layouts, extra) = layouts(args)?;
    let mut allowed = args.allowed_dns.clone();
    let mut sources = Vec::new();
    if !args.allowed_dns.is_empty() {
        sources.push("--allowed-dn".to_string());
    }
    for l in &layouts {
        if let Some(list) = &l.allowed_dn {
            allowed.extend(list.iter().cloned());
            sources.push(format!("tls_allowed_dn_list in {}", l.name));
        }
    }
    let opts = Options {
        at: at.unix_timestamp(),
        warn_within_days: args.warn_within,
        hostnames: args.hostnames.clone(),
        allowed_dn: allowed,
        allowed_dn_source: sources.join(" and "),
        consumers: args.consumers,
    };
    let mut reports: Vec<LayoutReport> = layouts
        .iter()
        .map(|l| check::check_layout(l, &opts))
        .collect();
    if !extra.is_empty() {
        if let Some(r) = reports
            .iter_mut()
            .find(|r| r.layout.kind == LayoutKind::LibvirtdConf)
        {
            r.findings.splice(0..0, extra);
        } else if let Some(first) = reports.first_mut() {
            first.findings.splice(0..0, extra);
        }
    }
    Ok(Outcome {
        tool: format!("pkitool {}", env!("CARGO_PKG_VERSION")),
        evaluated_at: rfc3339(at),
        layouts: reports,
    })
}
