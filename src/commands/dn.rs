//! `pkitool dn`: the subject DN exactly as libvirt and QEMU compare it, or ready
//! libvirtd.conf / QEMU lines for it. Several files give one DN per line, or one
//! `tls_allowed_dn_list` line admitting all of them (a fleet's allow-list).

use std::io::Write;

use crate::cli::DnArgs;
use crate::inspect::subject_dn;
use crate::quoting::terminal::escape as esc;
use crate::quoting::{DnForms, tls_allowed_dn_list};
use crate::{Error, Result};

/// `pkitool dn`.
pub fn run(args: &DnArgs) -> Result<u8> {
    if args.qemu && args.files.len() > 1 {
        return Err(Error::Usage(format!(
            "--qemu prints one authz-simple identity, and {} FILEs were given; run it once per \
             certificate (or use --libvirtd for one tls_allowed_dn_list line of them all)",
            args.files.len()
        )));
    }
    // Every file is read before anything is printed: a bad file prints nothing but its error.
    let dns = args
        .files
        .iter()
        .map(|f| subject_dn(f))
        .collect::<Result<Vec<String>>>()?;
    if args.libvirtd || args.qemu {
        for (f, d) in args.files.iter().zip(&dns) {
            if crate::x509::dn::has_raw_bytes(d) {
                return Err(Error::Failed(format!(
                    "{}: the DN holds bytes that are not UTF-8 (shown as \\xHH): libvirtd and QEMU compare those bytes, and no line pkitool could print would match them; issue the certificate again with a UTF-8 subject",
                    crate::quoting::terminal::path(f)
                )));
            }
        }
    }
    let text = if args.libvirtd {
        let refs: Vec<&str> = dns.iter().map(String::as_str).collect();
        let (line, note) = tls_allowed_dn_list(&refs);
        if let Some(note) = note {
            eprintln!("pkitool: note: {note}");
        }
        format!("{}\n", esc(&line))
    } else if args.qemu {
        let first = dns
            .first()
            .ok_or_else(|| Error::Usage("give a certificate FILE".into()))?;
        let forms = DnForms::of(first);
        format!("{}\n{}\n", esc(&forms.qemu_object), esc(&forms.qmp))
    } else {
        dns.iter().map(|d| format!("{}\n", esc(d))).collect()
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::Failed(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}
