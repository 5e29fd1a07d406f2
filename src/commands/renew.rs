//! `pkitool renew`.

use std::io::Write;
use std::path::PathBuf;

use crate::ca::provision::load_ca;
use crate::ca::renew::{RenewReport, RenewRequest, renew};
use crate::cli::{Format, RenewArgs};
use crate::layout::libvirt;
use crate::quoting::shell_quote;
use crate::x509::build::San;
use crate::{Error, Result, prompt};

use super::out_err;

fn sans(flag: &str, values: &[String]) -> Result<Vec<San>> {
    values
        .iter()
        .map(|s| San::parse(s).map_err(|e| Error::Usage(format!("{flag}: {e}"))))
        .collect()
}

/// `--remove-san` values: names as `--san` takes them, or else the dNSName exactly as the
/// certificate holds it (a wildcard GnuTLS never matches, `f*.example.org`, is what needs
/// removing); a name the certificate does not have is refused by renew.
fn removed_sans(values: &[String]) -> Result<Vec<San>> {
    values
        .iter()
        .map(|s| match San::parse(s) {
            Ok(san) => Ok(san),
            Err(_) if !s.is_empty() && s.is_ascii() && !s.chars().any(|c| c.is_ascii_control()) => {
                Ok(San::Dns(s.clone()))
            }
            Err(e) => Err(Error::Usage(format!("--remove-san: {e}"))),
        })
        .collect()
}

/// Runs `renew`.
pub fn run(args: &RenewArgs) -> Result<u8> {
    let ca_cert = args
        .ca_cert
        .clone()
        .unwrap_or_else(|| args.dir.join(libvirt::CA_CERT));
    let ca_key = args
        .ca_key
        .clone()
        .unwrap_or_else(|| args.dir.join("cakey.pem"));
    let ca_dir = match &args.ca_cert {
        Some(p) => match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        },
        None => args.dir.clone(),
    };
    let req = RenewRequest {
        ca_dir: ca_dir.clone(),
        ca_cert: ca_cert.clone(),
        certs: args.certs.clone(),
        within_days: args.within,
        rekey: args.rekey,
        days: args.days,
        add_sans: sans("--add-san", &args.add_sans)?,
        remove_sans: removed_sans(&args.remove_sans)?,
    };
    let pw = args.password_file.clone();
    super::recover_ca(&ca_cert, &ca_key)?;
    let report = renew(&req, || {
        load_ca(&ca_cert, &ca_key, || {
            prompt::password(pw.as_deref(), "the CA key", false)
        })
    })?;
    let mut o = anstream::stdout().lock();
    match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "version": 1,
                "renewed": report.renewed,
                "not_due": report.not_due,
                "failed": report.failed,
                "reload": report.reload,
                "notes": report.notes,
            });
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| Error::Failed(format!("JSON: {e}")))?;
            writeln!(o, "{text}").map_err(out_err)?;
        }
        Format::Text => print_text(&mut o, &report, &ca_dir).map_err(out_err)?,
    }
    Ok(report.exit_code())
}

fn print_text(
    o: &mut impl Write,
    r: &RenewReport,
    ca_dir: &std::path::Path,
) -> std::io::Result<()> {
    for n in &r.notes {
        writeln!(o, "note: {n}")?;
    }
    for x in &r.renewed {
        writeln!(
            o,
            "Renewed {} certificate {}: serial {} -> {}{}",
            x.role.as_str(),
            x.subject,
            x.old_serial,
            x.new_serial,
            if x.rekeyed {
                " (new key)"
            } else {
                " (same key)"
            }
        )?;
        writeln!(o, "  valid {} to {}", x.not_before, x.not_after)?;
        for p in x.paths.iter().chain(&x.key_paths) {
            writeln!(o, "  wrote {}", p.display())?;
        }
    }
    for x in &r.not_due {
        let paths: Vec<String> = x.paths.iter().map(|p| p.display().to_string()).collect();
        writeln!(
            o,
            "Not due: {} (serial {}, expires {}, {} days left); unchanged",
            paths.join(", "),
            x.serial,
            x.not_after,
            x.days_left
        )?;
    }
    for x in &r.failed {
        writeln!(o, "FAILED: {}", x.error)?;
    }
    if !r.renewed.is_empty() {
        writeln!(o)?;
        writeln!(o, "Reload:")?;
        for s in &r.reload {
            match &s.command {
                Some(c) => {
                    writeln!(o, "  {}: {c}", s.consumer)?;
                    writeln!(o, "    ({})", s.action)?;
                }
                None => writeln!(o, "  {}: {}", s.consumer, s.action)?,
            }
        }
        let leaves: Vec<&str> = r
            .renewed
            .iter()
            .filter(|x| x.role != crate::layout::Role::Ca)
            .map(|x| x.old_serial.as_str())
            .collect();
        if !leaves.is_empty() {
            writeln!(o)?;
            writeln!(
                o,
                "The old certificates stay valid until they expire. Once the new ones are deployed everywhere, revoke them:"
            )?;
            writeln!(
                o,
                "  pkitool revoke --dir {} --reason superseded {}",
                shell_quote(&ca_dir.to_string_lossy()),
                leaves.join(" ")
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_sans_take_names_as_the_certificate_holds_them() {
        let r =
            removed_sans(&["f*.example.org".into(), "*.com".into(), "10.0.0.1".into()]).unwrap();
        assert_eq!(r[0], San::Dns("f*.example.org".into()));
        assert_eq!(r[1], San::Dns("*.com".into()));
        assert!(matches!(r[2], San::Ip(_)));
        assert!(removed_sans(&["a\u{7}b".into()]).is_err());
        assert!(removed_sans(&[String::new()]).is_err());
    }
}
