//! `pkitool probe`: flags to [`ProbeOptions`], probe and judge, print the report, exit status
//! (0 no errors, 1 errors, a failed endpoint or `--strict` warnings, 2 usage).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{ProbeArgs, ReportFormat, ServiceArg};
use crate::layout::libvirt;
use crate::probe::{self, ClientFiles, ProbeOptions, Service};
use crate::{Error, Result};

fn service(a: ServiceArg) -> Service {
    match a {
        ServiceArg::Libvirt => Service::Libvirt,
        ServiceArg::Nbd => Service::Nbd,
        ServiceArg::Vnc => Service::Vnc,
        ServiceArg::Tls => Service::Tls,
    }
}

/// The longest `--timeout` accepted (one hour).
const MAX_TIMEOUT: f64 = 3600.0;

/// The client files a libvirt pkipath directory holds: clientcert.pem, and clientkey.pem there
/// or (the system layout, /etc/pki/libvirt) in private/.
fn pkipath_client(dir: &Path) -> Result<ClientFiles> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "--pkipath {}: not a directory",
            dir.display()
        )));
    }
    let cert = dir.join(libvirt::CLIENT_CERT);
    let flat = dir.join(libvirt::CLIENT_KEY);
    let private: PathBuf = dir.join("private").join(libvirt::CLIENT_KEY);
    let key = if flat.exists() || !private.exists() {
        flat
    } else {
        private
    };
    for p in [&cert, &key] {
        if !p.exists() {
            return Err(Error::Usage(format!(
                "--pkipath {}: {} is missing",
                dir.display(),
                p.display()
            )));
        }
    }
    Ok(ClientFiles { cert, key })
}

/// The plain options `probe` runs with.
pub fn options(args: &ProbeArgs) -> Result<ProbeOptions> {
    let svc = args.service.map(service);
    let targets = args
        .targets
        .iter()
        .map(|t| probe::parse_target(t, svc).map_err(Error::Usage))
        .collect::<Result<Vec<_>>>()?;
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= MAX_TIMEOUT) {
        return Err(Error::Usage(format!(
            "--timeout {}: give a number of seconds above 0 and at most {MAX_TIMEOUT}",
            args.timeout
        )));
    }
    if let Some(h) = &args.hostname
        && (h.is_empty() || h.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(Error::Usage(format!("--hostname {h:?}: not a host name")));
    }
    let client = match (&args.client_cert, &args.client_key, &args.pkipath) {
        (Some(cert), Some(key), _) => Some(ClientFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        (_, _, Some(dir)) => Some(pkipath_client(dir)?),
        _ => None,
    };
    let at = match &args.at {
        Some(s) => crate::check::validate::parse_at(s)?,
        None => {
            let now = time::OffsetDateTime::now_utc();
            now.replace_nanosecond(0).unwrap_or(now)
        }
    };
    Ok(ProbeOptions {
        targets,
        ca: args.ca.clone(),
        hostname: args.hostname.clone(),
        client,
        pkipath: args.pkipath.clone(),
        timeout: Duration::from_secs_f64(args.timeout),
        at: at.unix_timestamp(),
        warn_within_days: args.warn_within,
        consumers: args.consumers,
    })
}

/// Runs `probe`: prints the report and returns the exit status.
pub fn run(args: &ProbeArgs) -> Result<u8> {
    if args.quiet && args.format != ReportFormat::Text {
        return Err(Error::Usage(
            "--quiet applies to --format text only (json, sarif and junit are complete reports)"
                .into(),
        ));
    }
    let outcome = probe::evaluate(&options(args)?)?;
    let mut stdout = anstream::stdout();
    let written = {
        use std::io::Write;
        match args.format {
            ReportFormat::Json => stdout.write_all(crate::report::probe::json(&outcome).as_bytes()),
            ReportFormat::Sarif => {
                let base = std::env::current_dir().map_err(|e| {
                    Error::Environment(format!(
                        "--format sarif: cannot read the working directory: {e}"
                    ))
                })?;
                let report = crate::report::probe::data(&outcome);
                stdout.write_all(crate::report::sarif::render(&report, &base).as_bytes())
            }
            ReportFormat::Junit => {
                let report = crate::report::probe::data(&outcome);
                stdout.write_all(crate::report::junit::render(&report, args.strict).as_bytes())
            }
            ReportFormat::Text if args.quiet => {
                crate::report::probe::text_quiet(&mut stdout, &outcome)
            }
            ReportFormat::Text => crate::report::probe::text(&mut stdout, &outcome),
        }
    };
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(Error::Environment(format!("cannot write the report: {e}")));
    }
    Ok(outcome.exit_code(args.strict))
}
