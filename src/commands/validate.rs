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
        ca: args.ca.clone(),
        hostnames: args.hostnames.clone(),
        allowed_dns: args.allowed_dns.clone(),
        at: args.at.as_deref().map(validate::parse_at).transpose()?,
        warn_within: args.warn_within,
        consumers: args.consumers,
    })
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
