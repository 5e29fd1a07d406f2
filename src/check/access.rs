//! Access as the consumer's own account: the files QEMU loads from a directory qemu.conf names
//! must be readable by the user and group QEMU runs as (qemu.conf `user`/`group`), and every
//! directory above them searchable. QEMU opens them itself, unprivileged: a key only root can
//! read fails at load ("Unable to access credentials ...: Permission denied" in QEMU 10.2,
//! "Cannot load certificate ... & key ...: Error while reading file." before).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::check::finding::{FRole, Finding, Severity};
use crate::layout::discover::{Layout, LayoutKind};
use crate::layout::qemu_conf::Account;
use crate::quoting::shell_quote;

/// The files of a QEMU layout QEMU opens (those that exist), with their roles and whether
/// each is a private key.
fn loaded_files(l: &Layout) -> Vec<(PathBuf, FRole, bool)> {
    let mut v: Vec<(PathBuf, FRole, bool)> = Vec::new();
    for p in l.ca.iter().chain(l.crl.iter()) {
        v.push((p.clone(), FRole::Ca, false));
    }
    for id in &l.identities {
        v.push((id.cert.clone(), FRole::from(id.role), false));
        v.push((id.key.clone(), FRole::from(id.role), true));
    }
    if let Some(dh) = &l.dh_params {
        v.push((dh.clone(), FRole::Server, false));
    }
    v.retain(|(p, _, _)| std::fs::symlink_metadata(p).is_ok());
    v
}

/// PKI-Q01 for every file QEMU's account cannot open, and every directory above them (up to
/// `root`) it cannot search.
pub fn qemu_account(l: &Layout, out: &mut Vec<Finding>) {
    let (Some(a), LayoutKind::Qemu, Some(root)) = (&l.qemu_account, l.kind, l.root.as_deref())
    else {
        return;
    };
    if a.uid == 0 {
        return;
    }
    let files = loaded_files(l);
    if files.is_empty() {
        return;
    }
    // Directories first: one finding per directory, however many files are below it.
    let mut blocked = false;
    let mut dirs: Vec<PathBuf> = l.dir.ancestors().map(Path::to_path_buf).collect();
    dirs.retain(|d| d.starts_with(root) && d.as_path() != root);
    dirs.reverse();
    for d in dirs {
        let Ok(m) = std::fs::metadata(&d) else {
            continue;
        };
        if !a.may(m.uid(), m.gid(), m.permissions().mode(), 1) {
            out.push(finding(a, &d, None, &m, true));
            blocked = true;
        }
    }
    if blocked {
        return;
    }
    for (p, role, key) in files {
        let Ok(m) = std::fs::metadata(&p) else {
            continue;
        };
        if !a.may(m.uid(), m.gid(), m.permissions().mode(), 4) {
            out.push(finding(a, &p, Some((role, key)), &m, false).role(role));
        }
    }
}

fn finding(
    a: &Account,
    p: &Path,
    file: Option<(FRole, bool)>,
    m: &std::fs::Metadata,
    dir: bool,
) -> Finding {
    let q = shell_quote(&p.display().to_string());
    let g = shell_quote(&a.group);
    let mode = m.permissions().mode() & 0o7777;
    let fix = match file {
        _ if dir => format!("chgrp {g} {q} && chmod g+rx {q}"),
        Some((_, true)) => format!("chgrp {g} {q} && chmod 640 {q}"),
        _ => format!("chmod a+r {q}"),
    };
    let what = if dir {
        "directory QEMU must search".to_string()
    } else if file.is_some_and(|(_, k)| k) {
        "private key".to_string()
    } else {
        "file".to_string()
    };
    Finding::new(
        "PKI-Q01",
        Severity::Error,
        format!(
            "QEMU runs as {} (uid {}, group {}) and cannot {} this {what} (mode {mode:04o}, owner uid {} gid {})",
            a.user,
            a.uid,
            a.group,
            if dir { "enter" } else { "read" },
            m.uid(),
            m.gid()
        ),
    )
    .path(p)
    .why(format!(
        "{}; QEMU opens the credentials itself and refuses to start the TLS endpoint: \"Unable to access credentials {}: Permission denied\" (QEMU 10.2) or \"Cannot load certificate ...: Error while reading file.\" (before)",
        a.source,
        p.display()
    ))
    .fix(fix)
}
