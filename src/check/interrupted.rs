//! PKI-F18: an interrupted pkitool write ([`crate::journal`]) left in or above a layout's
//! directory. Its files may be half old, half new (the key and certificate checks report what
//! that breaks); the next pkitool run writing there completes the set.

use std::path::{Path, PathBuf};

use crate::check::finding::{Finding, Severity};
use crate::journal;
use crate::layout::discover::Layout;

/// Reports each journal found in the layout's directory, its parent (the locked top of a system
/// tree, `etc/pki`) and the CA's directory.
pub fn check(layout: &Layout, out: &mut Vec<Finding>) {
    let mut dirs: Vec<PathBuf> = vec![layout.dir.clone()];
    if let Some(p) = layout.dir.parent() {
        dirs.push(p.to_path_buf());
    }
    dirs.push(layout.dir.join("private"));
    if let Some(ca_dir) = layout.ca.as_deref().and_then(Path::parent) {
        dirs.push(ca_dir.to_path_buf());
    }
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        let Some(entries) = journal::find(&d) else {
            continue;
        };
        let pending: Vec<String> = entries
            .iter()
            .filter(|e| e.temp.exists())
            .map(|e| e.target.display().to_string())
            .collect();
        let path = d.join(journal::JOURNAL);
        out.push(
            Finding::new(
                "PKI-F18",
                Severity::Note,
                if pending.is_empty() {
                    format!(
                        "an interrupted pkitool write of {} file(s): every file is in place, only the journal remains",
                        entries.len()
                    )
                } else {
                    format!(
                        "an interrupted pkitool write: {} of {} file(s) not yet in place: {}",
                        pending.len(),
                        entries.len(),
                        pending.join(", ")
                    )
                },
            )
            .path(&path)
            .why("a pkitool run was killed between the renames of one set of files, so a key and its certificate may come from different runs (the key-pair checks report a mismatch)")
            .fix(format!(
                "the next pkitool issue or init-ca writing into {} completes the set first (the complete temporary files are kept)",
                d.display()
            )),
        );
    }
}
