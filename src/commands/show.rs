//! `pkitool show`: describe every object of every file; text or JSON.

use std::io::Write;

use crate::cli::{Format, ShowArgs};
use crate::inspect::{FileReport, ObjectInfo, ShowReport, describe_file};
use crate::{Error, Result};

/// `pkitool show`.
pub fn run(args: &ShowArgs) -> Result<u8> {
    let now = time::OffsetDateTime::now_utc();
    let files: Vec<FileReport> = args
        .files
        .iter()
        .map(|p| describe_file(p, now, &args.consumers))
        .collect();
    let mut failed = false;
    let mut stderr = anstream::stderr();
    for f in &files {
        if let Some(e) = &f.error {
            failed = true;
            let _ = crate::report::print_error(&mut stderr, &Error::Failed(e.clone()));
        }
        for o in &f.objects {
            if let ObjectInfo::Invalid { claimed, error } = &o.info {
                failed = true;
                let _ = crate::report::print_error(
                    &mut stderr,
                    &Error::Failed(format!(
                        "{}: line {}: the {claimed} does not parse: {error}",
                        f.path, o.line
                    )),
                );
            }
        }
    }
    let text = match args.format {
        Format::Json => {
            let report = ShowReport { version: 1, files };
            let mut s = serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Failed(format!("cannot encode JSON: {e}")))?;
            s.push('\n');
            s
        }
        Format::Text => crate::report::show::render_text(&files),
    };
    let mut out = anstream::stdout();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::Failed(format!("cannot write to stdout: {e}")))?;
    Ok(u8::from(failed))
}
