//! `pkitool validate`: flags to [`ValidateOptions`], evaluate, print the report, exit status
//! (0 no errors, 1 errors or `--strict` warnings, 2 usage/environment).

use crate::check::validate::{self, ValidateOptions};
use crate::cli::{Format, ValidateArgs};
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

/// Runs `validate`: prints the report and returns the exit status.
pub fn run(args: &ValidateArgs) -> Result<u8> {
    let outcome = validate::evaluate(&options(args)?)?;
    let mut stdout = anstream::stdout();
    let written = match args.format {
        Format::Json => {
            use std::io::Write;
            stdout.write_all(crate::report::json::render(&outcome).as_bytes())
        }
        Format::Text => crate::report::text::render(&mut stdout, &outcome),
    };
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(Error::Environment(format!("cannot write the report: {e}")));
    }
    Ok(outcome.exit_code(args.strict))
}
