//! `pkitool dn`: the subject DN exactly as libvirt and QEMU compare it, or ready
//! libvirtd.conf / QEMU lines for it.

use std::io::Write;

use crate::cli::DnArgs;
use crate::inspect::subject_dn;
use crate::quoting::DnForms;
use crate::quoting::terminal::escape as esc;
use crate::{Error, Result};

/// `pkitool dn`.
pub fn run(args: &DnArgs) -> Result<u8> {
    let dn = subject_dn(&args.file)?;
    let forms = DnForms::of(&dn);
    let mut out = std::io::stdout().lock();
    let text = if args.libvirtd {
        if let Some(note) = &forms.libvirtd_note {
            eprintln!("pkitool: note: {note}");
        }
        format!("{}\n", esc(&forms.libvirtd_conf))
    } else if args.qemu {
        format!("{}\n{}\n", esc(&forms.qemu_object), esc(&forms.qmp))
    } else {
        format!("{}\n", esc(&dn))
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::Failed(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}
