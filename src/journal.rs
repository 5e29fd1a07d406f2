//! The interrupted-set journal: one command's files are renamed into place one after another,
//! so a SIGKILL between two renames would leave half a set (a new key next to the old
//! certificate). Before the first rename, [`crate::fsio::write_tree_journaled_then`] writes
//! `.pkitool-journal` (fsynced, renamed into place) in the directory the command locks, listing
//! every file of the set with its complete, fsynced temporary file and the hard-link backup of the
//! file it replaces; it removes the journal once every rename is durable.
//!
//! The next pkitool run that locks that directory calls [`recover`] first: every temporary file
//! still there is renamed into place (they were complete before the journal existed), backups
//! are removed, and the set is whole: the interrupted command is completed. `validate` reports a
//! journal it finds ([`find`], PKI-F18).
//!
//! Format: one line per file, `final<TAB>temporary<TAB>backup` (absolute paths; the backup
//! field empty when nothing was replaced). Paths with a tab or newline are not journaled (the
//! write is still all-or-nothing, just not recoverable after a kill).

use std::io::Write;
use std::path::{Path, PathBuf};

/// The journal's file name.
pub const JOURNAL: &str = ".pkitool-journal";

/// One file of a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Where it goes.
    pub target: PathBuf,
    /// The complete temporary file.
    pub temp: PathBuf,
    /// The hard link keeping the file it replaces, if any.
    pub backup: Option<PathBuf>,
}

fn abs(p: &Path) -> std::io::Result<PathBuf> {
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = p
        .file_name()
        .ok_or_else(|| std::io::Error::other("no file name"))?;
    Ok(std::fs::canonicalize(parent)?.join(name))
}

fn encode(entries: &[Entry]) -> Option<String> {
    let mut s = String::new();
    for e in entries {
        let fields = [
            abs(&e.target).ok()?,
            abs(&e.temp).ok()?,
            match &e.backup {
                Some(b) => abs(b).ok()?,
                None => PathBuf::new(),
            },
        ];
        let strs: Vec<&str> = fields
            .iter()
            .map(|p| p.to_str())
            .collect::<Option<Vec<_>>>()?;
        if strs.iter().any(|f| f.contains(['\t', '\n'])) {
            return None;
        }
        s.push_str(&strs.join("\t"));
        s.push('\n');
    }
    Some(s)
}

fn decode(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let target = PathBuf::from(f.next()?);
            let temp = PathBuf::from(f.next()?);
            let backup = f.next().filter(|b| !b.is_empty()).map(PathBuf::from);
            Some(Entry {
                target,
                temp,
                backup,
            })
        })
        .collect()
}

/// Writes the journal's temporary file (not yet fsynced: the caller fsyncs it together with the
/// set's files, then [`commit`]s it). `Ok(None)` when the paths cannot be journaled (see the
/// module notes).
pub fn prepare(dir: &Path, entries: &[Entry]) -> std::io::Result<Option<tempfile::NamedTempFile>> {
    let Some(text) = encode(entries) else {
        return Ok(None);
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".pkitool-journal-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    Ok(Some(tmp))
}

/// Puts a prepared, fsynced journal in place (before the set's first rename).
pub fn commit(tmp: tempfile::NamedTempFile, dir: &Path) -> std::io::Result<()> {
    tmp.persist(dir.join(JOURNAL))
        .map(|_| ())
        .map_err(|e| e.error)
}

/// Writes the journal durably in one step (prepare, fsync, commit). `Ok(false)` when the paths
/// cannot be journaled.
pub fn begin(dir: &Path, entries: &[Entry]) -> std::io::Result<bool> {
    let Some(tmp) = prepare(dir, entries)? else {
        return Ok(false);
    };
    tmp.as_file().sync_all()?;
    commit(tmp, dir)?;
    Ok(true)
}

/// Removes the journal once the set is in place and durable.
pub fn end(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(JOURNAL));
}

/// The entries of a journal left in `dir`, if there is one.
pub fn find(dir: &Path) -> Option<Vec<Entry>> {
    let bytes = crate::fsio::read_limited(&dir.join(JOURNAL), 1024 * 1024).ok()?;
    Some(decode(&String::from_utf8_lossy(&bytes)))
}

/// Removes what a run killed before its journal existed left in `dirs` (temporary files, the
/// journal's own temporary file, backups): with the tree's lock held no live pkitool owns them.
pub fn sweep(dirs: &[PathBuf]) {
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let ours = name.starts_with(".pkitool-") && name != JOURNAL;
            if ours && e.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Completes a set an interrupted run left in `dir` (call with the directory's lock held):
/// renames the temporary files still there into place, removes the backups and the journal,
/// then [`sweep`]s `dirs`. Returns the files completed (empty when there was nothing to
/// complete).
pub fn recover(dir: &Path, dirs: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut done = complete(dir)?;
    for d in dirs {
        if d != dir {
            done.extend(complete(d)?);
        }
    }
    sweep(dirs);
    Ok(done)
}

fn complete(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let Some(entries) = find(dir) else {
        return Ok(Vec::new());
    };
    let mut done = Vec::new();
    let mut dirs = Vec::new();
    for e in &entries {
        if std::fs::symlink_metadata(&e.temp).is_ok_and(|m| m.file_type().is_file()) {
            std::fs::rename(&e.temp, &e.target)?;
            done.push(e.target.clone());
            if let Some(d) = e.target.parent() {
                dirs.push(d.to_path_buf());
            }
        }
    }
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        std::fs::File::open(&d)?.sync_all()?;
    }
    for e in &entries {
        if let Some(b) = &e.backup {
            let _ = std::fs::remove_file(b);
        }
    }
    end(dir);
    Ok(done)
}

#[cfg(test)]
mod tests {
    /// A bare file name is made absolute against the working directory.
    #[test]
    fn a_bare_name_is_made_absolute_in_the_working_directory() {
        let cwd = std::fs::canonicalize(".").unwrap();
        assert_eq!(
            super::abs(std::path::Path::new("x.pem")).unwrap(),
            cwd.join("x.pem")
        );
    }

    use super::*;

    #[test]
    fn recover_completes_the_renames_left_and_removes_backups() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::write(p.join("key.pem"), "old key").unwrap();
        std::fs::write(p.join("cert.pem"), "old cert").unwrap();
        std::fs::hard_link(p.join("cert.pem"), p.join(".bk")).unwrap();
        // The key was renamed already; the certificate's temporary file is still there.
        std::fs::write(p.join("key.pem"), "new key").unwrap();
        std::fs::write(p.join(".t2"), "new cert").unwrap();
        let entries = vec![
            Entry {
                target: p.join("key.pem"),
                temp: p.join(".t1"),
                backup: None,
            },
            Entry {
                target: p.join("cert.pem"),
                temp: p.join(".t2"),
                backup: Some(p.join(".bk")),
            },
        ];
        assert!(begin(p, &entries).unwrap());
        assert_eq!(find(p).unwrap().len(), 2);
        let done = recover(p, &[p.to_path_buf()]).unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(
            std::fs::read_to_string(p.join("cert.pem")).unwrap(),
            "new cert"
        );
        assert_eq!(
            std::fs::read_to_string(p.join("key.pem")).unwrap(),
            "new key"
        );
        assert!(!p.join(".bk").exists() && !p.join(JOURNAL).exists() && !p.join(".t2").exists());
        assert!(recover(p, &[]).unwrap().is_empty());
        std::fs::write(p.join(".pkitool-abc.tmp"), "k").unwrap();
        std::fs::write(p.join(".pkitool-backup-1-0"), "k").unwrap();
        std::fs::write(p.join("other.pem"), "k").unwrap();
        recover(p, &[p.to_path_buf()]).unwrap();
        assert!(!p.join(".pkitool-abc.tmp").exists() && !p.join(".pkitool-backup-1-0").exists());
        assert!(p.join("other.pem").exists());
    }

    #[test]
    fn a_journal_in_another_locked_directory_is_completed_too() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(b.path().join(".t"), "new").unwrap();
        let e = [Entry {
            target: b.path().join("k.pem"),
            temp: b.path().join(".t"),
            backup: None,
        }];
        assert!(begin(b.path(), &e).unwrap());
        let done = recover(a.path(), &[a.path().to_path_buf(), b.path().to_path_buf()]).unwrap();
        assert_eq!(
            done,
            [std::fs::canonicalize(b.path()).unwrap().join("k.pem")]
        );
        assert_eq!(
            std::fs::read_to_string(b.path().join("k.pem")).unwrap(),
            "new"
        );
        assert!(!b.path().join(JOURNAL).exists());
    }

    #[test]
    fn a_journal_of_many_long_paths_is_still_found() {
        // Far over a few KiB: every file of a large set must be recoverable.
        let d = tempfile::tempdir().unwrap();
        let long = "x".repeat(200);
        let entries: Vec<Entry> = (0..40)
            .map(|i| Entry {
                target: d.path().join(format!("{long}-{i}.pem")),
                temp: d.path().join(format!(".pkitool-new-{long}-{i}.tmp")),
                backup: Some(d.path().join(format!(".pkitool-backup-{long}-{i}"))),
            })
            .collect();
        assert!(begin(d.path(), &entries).unwrap());
        let len = std::fs::metadata(d.path().join(JOURNAL)).unwrap().len();
        assert!(len > 20_000, "{len}");
        let found = find(d.path()).unwrap();
        assert_eq!(found.len(), 40);
        assert_eq!(
            found[39]
                .backup
                .as_ref()
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap(),
            format!(".pkitool-backup-{long}-39")
        );
    }

    #[test]
    fn paths_a_line_cannot_hold_are_not_journaled() {
        let d = tempfile::tempdir().unwrap();
        let e = [Entry {
            target: d.path().join("a\tb.pem"),
            temp: d.path().join(".t"),
            backup: None,
        }];
        assert!(!begin(d.path(), &e).unwrap());
        assert!(!d.path().join(JOURNAL).exists());
    }
}
