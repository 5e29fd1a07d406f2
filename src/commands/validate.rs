//! `pkitool validate`: flags to [`ValidateOptions`], evaluate, print the report, exit status
//! (0 no errors, 1 errors or `--strict` warnings, 2 usage/environment).

use crate::check::validate::{self, ValidateOptions};
use crate::cli::{ReportFormat, ValidateArgs};
use crate::{Error, Result};

/// The plain options `validate` evaluates.
pub fn options(args: &ValidateArgs) -> Result<ValidateOptions> {
    Ok(ValidateOptions {
        paths: args.paths.clone(),
        user: args.user,
        root: args.root.clone(),
        libvirtd_conf: args.libvirtd_conf.clone(),
        qemu_conf: args.qemu_conf.clone(),
        ca: args.ca.clone(),
        ca_dir: args.ca_dir.clone(),
        hostnames: args
            .hostnames
            .iter()
            .map(|h| check_hostname_arg(h))
            .collect::<Result<_>>()?,
        allowed_dns: args.allowed_dns.clone(),
        at: args.at.as_deref().map(validate::parse_at).transpose()?,
        warn_within: args.warn_within,
        consumers: args.consumers,
    })
}

/// `--hostname` takes a bare DNS name or IP address: an empty name, `host:port` or a URL is a
/// usage error naming the flag (GnuTLS would compare it verbatim and never match).
fn check_hostname_arg(h: &str) -> Result<String> {
    let bad = |why: &str| Err(Error::Usage(format!("--hostname {h:?}: {why}")));
    if h.trim().is_empty() {
        return bad("empty; give the DNS name or IP address clients connect to");
    }
    if h.contains("://") || h.contains('/') {
        return bad("a URL; give only its host part (e.g. --hostname vm.example.com)");
    }
    if h.contains(':') && h.parse::<std::net::Ipv6Addr>().is_err() {
        return bad(if h.starts_with('[') {
            "a bracketed address; give the IPv6 address without brackets or port (e.g. --hostname ::1)"
        } else {
            "host:port; give the host without the port (e.g. --hostname vm.example.com)"
        });
    }
    if h.chars().any(char::is_whitespace) {
        return bad("contains white space");
    }
    Ok(h.to_string())
}

/// Runs `validate`: prints the report and returns the exit status (the same for every format).
pub fn run(args: &ValidateArgs) -> Result<u8> {
    if args.quiet && args.format != ReportFormat::Text {
        return Err(Error::Usage(
            "--quiet applies to --format text only (json, sarif and junit are complete reports)"
                .into(),
        ));
    }
    let outcome = validate::evaluate(&options(args)?)?;
    let mut stdout = anstream::stdout();
    let written = {
        use std::io::Write;
        match args.format {
            ReportFormat::Json => {
                stdout.write_all(crate::report::json::render(&outcome).as_bytes())
            }
            ReportFormat::Sarif => {
                let base = std::env::current_dir().map_err(|e| {
                    Error::Environment(format!(
                        "--format sarif: cannot read the working directory: {e}"
                    ))
                })?;
                let report =
                    crate::report::data::Report::from_outcome(&outcome).locate_certificates();
                stdout.write_all(crate::report::sarif::render(&report, &base).as_bytes())
            }
            ReportFormat::Junit => {
                let report = crate::report::data::Report::from_outcome(&outcome);
                stdout.write_all(crate::report::junit::render(&report, args.strict).as_bytes())
            }
            ReportFormat::Text if args.quiet => {
                crate::report::text::render_quiet(&mut stdout, &outcome)
            }
            ReportFormat::Text => crate::report::text::render(&mut stdout, &outcome),
        }
    };
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(Error::Environment(format!("cannot write the report: {e}")));
    }
    Ok(outcome.exit_code(args.strict))
}
