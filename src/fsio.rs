//! File I/O with the guarantees pkitool promises: bounded reads that never block on a FIFO or
//! load a huge file into memory, and (in the write half) atomic, permission-safe writes.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest file pkitool reads. libvirt itself refuses files over 64 KiB; QEMU has no limit,
/// and a system CA bundle is a few hundred KiB, so 4 MiB leaves room while refusing absurd inputs
/// before reading them.
pub const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// No such file.
    #[error("{}: no such file", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// Permission denied.
    #[error("{}: permission denied", path.display())]
    PermissionDenied {
        /// The file.
        path: PathBuf,
    },
    /// A symlink loop (ELOOP).
    #[error("{}: too many levels of symbolic links (a symlink loop)", path.display())]
    SymlinkLoop {
        /// The file.
        path: PathBuf,
    },
    /// A directory, FIFO, socket or device where a regular file belongs.
    #[error("{}: is a {kind}, not a regular file", path.display())]
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is instead ("directory", "FIFO", ...).
        kind: &'static str,
    },
    /// Larger than [`MAX_INPUT_BYTES`] (or the caller's limit).
    #[error("{}: {size} bytes is larger than the {limit}-byte limit; refusing to read it", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Any other I/O error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl ReadError {
    /// The file concerned.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::NotFound { path }
            | ReadError::PermissionDenied { path }
            | ReadError::SymlinkLoop { path }
            | ReadError::NotRegular { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::Io { path, .. } => path,
        }
    }

    fn from_io(path: &Path, err: io::Error) -> Self {
        let path = path.to_path_buf();
        match err.kind() {
            io::ErrorKind::NotFound => ReadError::NotFound { path },
            io::ErrorKind::PermissionDenied => ReadError::PermissionDenied { path },
            _ if err.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => {
                ReadError::SymlinkLoop { path }
            }
            _ => ReadError::Io { path, source: err },
        }
    }
}

/// Describes a non-regular file type.
pub fn file_kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_symlink() {
        "symbolic link"
    } else {
        "regular file"
    }
}

/// Reads a whole regular file of at most `limit` bytes.
///
/// The file is opened non-blocking (a FIFO never blocks the open), checked to be a regular file
/// through the open descriptor (no race with a swap between check and read), and refused by its
/// size before any content is read. A file that grows while being read is still cut at the limit.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| ReadError::from_io(path, e))?;
    let meta = file.metadata().map_err(|e| ReadError::from_io(path, e))?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            kind: file_kind(&meta.file_type()),
        });
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            limit,
        });
    }
    // meta.len() <= limit <= MAX_INPUT_BYTES here, so the capacity is bounded.
    read_to_end_bounded(file, path, limit, meta.len())
}

/// Reads a whole regular file of at most [`MAX_INPUT_BYTES`].
pub fn read_input(path: &Path) -> Result<Vec<u8>, ReadError> {
    read_limited(path, MAX_INPUT_BYTES)
}

fn read_to_end_bounded(
    file: File,
    path: &Path,
    limit: u64,
    expected: u64,
) -> Result<Vec<u8>, ReadError> {
    // One read for the whole file (plus one to see the end) instead of a growing buffer.
    let mut buf = Vec::with_capacity(usize::try_from(expected.saturating_add(1)).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| ReadError::from_io(path, e))?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: buf.len() as u64,
            limit,
        });
    }
    Ok(buf)
}

// ---------------------------------------------------------------------------------------------
// Write half: atomic, permission-safe, all-or-nothing writes.
// ---------------------------------------------------------------------------------------------

/// Mode of private keys: 0600 from the first byte.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificates.
pub const CERT_MODE: u32 = 0o644;

/// Why files could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The target exists and `--force` was not given.
    #[error("{}: already exists; pass --force to replace it (atomically)", path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// The target is a directory or another non-regular file.
    #[error("{}: is a {kind}; refusing to replace it", path.display())]
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// An I/O error while writing.
    #[error("{}: {what}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The step that failed.
        what: &'static str,
        /// The underlying error.
        source: io::Error,
    },
}

/// One file of an all-or-nothing write.
pub struct PlannedFile {
    /// Final path.
    pub path: PathBuf,
    /// Exact mode (0600 for keys, 0644 for certificates).
    pub mode: u32,
    /// Contents (zeroized on drop: may be a private key).
    pub contents: zeroize::Zeroizing<Vec<u8>>,
    /// Group to give the file (set on the temporary file before any byte is written; root
    /// stays the owner). `None`: the creator's group, or the replaced file's with `--force`.
    pub group: Option<u32>,
}

impl PlannedFile {
    /// A file with the given mode.
    pub fn new(path: impl Into<PathBuf>, mode: u32, contents: impl Into<Vec<u8>>) -> Self {
        PlannedFile {
            path: path.into(),
            mode,
            contents: zeroize::Zeroizing::new(contents.into()),
            group: None,
        }
    }

    /// The same file, given group `gid` (its mode stays the planned one, e.g. 0640).
    pub fn with_group(mut self, gid: Option<u32>) -> Self {
        self.group = gid;
        self
    }
}

/// Gives a temporary file, before anything is written to it, the owner, group and mode its
/// target will have: with `force`, those of the file it replaces (an operator's `root:qemu 0640`
/// survives a re-issue); the planned group and mode when [`PlannedFile::group`] is set (it wins
/// over the replaced file's group and mode); otherwise the planned mode.
pub fn set_owner_before_write(
    file: &File,
    planned: &PlannedFile,
    force: bool,
) -> Result<(), WriteError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let existing = if force {
        std::fs::symlink_metadata(&planned.path)
            .ok()
            .filter(|m| m.file_type().is_file())
    } else {
        None
    };
    let (mut uid, mut gid, mut mode) = match &existing {
        Some(m) => (Some(m.uid()), Some(m.gid()), m.mode() & 0o7777),
        None => (None, None, planned.mode),
    };
    if let Some(g) = planned.group {
        gid = Some(g);
        mode = planned.mode;
    }
    let me = nix::unistd::geteuid().as_raw();
    if uid == Some(me) {
        uid = None;
    }
    if uid.is_some() || gid.is_some() {
        nix::unistd::fchown(
            file,
            uid.map(nix::unistd::Uid::from_raw),
            gid.map(nix::unistd::Gid::from_raw),
        )
        .map_err(|e| WriteError::Io {
            path: planned.path.clone(),
            what: "cannot give the file its owner and group",
            source: io::Error::from(e),
        })?;
    }
    // chown clears set-id bits and the mode may differ: set it exactly, still before any byte.
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(io_err(&planned.path, "cannot set the mode"))
}

fn io_err(path: &Path, what: &'static str) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io { path, what, source }
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates `dir` and its missing parents with `mode` (exactly, whatever the umask). Existing
/// directories are left as they are. Returns the directories created, outermost first, so a
/// failed operation can remove them again ([`remove_created_dirs`]).
pub fn create_dir_all_mode(dir: &Path, mode: u32) -> Result<Vec<PathBuf>, WriteError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    missing.reverse();
    let mut created = Vec::new();
    for d in missing {
        let res = std::fs::DirBuilder::new().mode(mode).create(&d);
        match res {
            Ok(()) => {
                created.push(d.clone());
                // The umask may have removed bits: set the documented mode exactly.
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode))
                    .map_err(io_err(&d, "cannot set the directory mode"))?;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => {
                remove_created_dirs(&created);
                return Err(io_err(&d, "cannot create directory")(e));
            }
        }
    }
    Ok(created)
}

/// Removes directories made by [`create_dir_all_mode`] (innermost first; only empty ones).
pub fn remove_created_dirs(created: &[PathBuf]) {
    for d in created.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
}

/// Writes every file or none.
///
/// Each file goes to a temporary file in its target directory, created with its final mode
/// (0600 keys are never readable by others, not even for an instant), written and fsynced. Only
/// when every temporary file is complete are they renamed into place: without `force` with a
/// no-clobber rename (an existing file is never replaced), with `force` atomically over the old
/// file. If a rename fails, the files already renamed are removed again and any file they
/// replaced is restored, so a failure leaves neither a partial file nor a half-set. The
/// directories are fsynced at the end.
pub fn write_all_or_nothing(files: &[PlannedFile], force: bool) -> Result<(), WriteError> {
    write_with_hook(files, force, |_| {}, None)
}

/// [`write_all_or_nothing`] that also keeps the interrupted-set journal ([`crate::journal`]) in
/// `journal_dir` during the renames, so a run killed between two renames is completed by the next
/// one ([`crate::journal::recover`]).
pub fn write_all_or_nothing_journaled(
    files: &[PlannedFile],
    force: bool,
    journal_dir: &Path,
) -> Result<(), WriteError> {
    write_with_hook(files, force, |_| {}, Some(journal_dir))
}

/// [`write_all_or_nothing`] with a hook run before each rename (tests use it to make a rename
/// fail half-way).
fn write_with_hook(
    files: &[PlannedFile],
    force: bool,
    before_rename: impl Fn(usize),
    journal_dir: Option<&Path>,
) -> Result<(), WriteError> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    // Refuse early, before creating anything.
    for f in files {
        match std::fs::symlink_metadata(&f.path) {
            Ok(meta) if meta.is_dir() => {
                return Err(WriteError::NotRegular {
                    path: f.path.clone(),
                    kind: file_kind(&meta.file_type()),
                });
            }
            Ok(_) if !force => {
                return Err(WriteError::AlreadyExists {
                    path: f.path.clone(),
                });
            }
            _ => {}
        }
    }

    // 1. Temporary files, complete and durable.
    let mut temps = Vec::with_capacity(files.len());
    for f in files {
        let dir = parent_of(&f.path);
        let mut tmp = tempfile::Builder::new()
            .prefix(".pkitool-")
            .suffix(".tmp")
            .permissions(std::fs::Permissions::from_mode(f.mode))
            .tempfile_in(dir)
            // tempfile's error names its random file name; report the directory only.
            .map_err(|e| {
                let e = e
                    .raw_os_error()
                    .map(io::Error::from_raw_os_error)
                    .unwrap_or(e);
                io_err(dir, "cannot create a temporary file")(e)
            })?;
        // The umask can only have removed bits; make the mode exact before writing anything.
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(f.mode))
            .map_err(io_err(&f.path, "cannot set the mode"))?;
        set_owner_before_write(tmp.as_file(), f, force)?;
        tmp.write_all(&f.contents)
            .map_err(io_err(&f.path, "cannot write"))?;
        temps.push(tmp);
    }
    // 2. (Before the fsyncs: links are metadata only.) Keep the files --force replaces (hard links), to restore them if a later rename fails.
    let mut backups: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup_backups = |backups: &[(PathBuf, PathBuf)]| {
        for (_, b) in backups {
            let _ = std::fs::remove_file(b);
        }
    };
    if force {
        for f in files {
            if f.path.exists() {
                let backup = parent_of(&f.path).join(format!(
                    ".pkitool-backup-{}-{}",
                    std::process::id(),
                    backups.len()
                ));
                let _ = std::fs::remove_file(&backup);
                if let Err(e) = std::fs::hard_link(&f.path, &backup) {
                    cleanup_backups(&backups);
                    return Err(io_err(
                        &f.path,
                        "cannot keep a backup of the file to replace",
                    )(e));
                }
                backups.push((f.path.clone(), backup));
            }
        }
    }

    // The journal of a set of two or more renames ([`crate::journal`]), prepared now so that it
    // is fsynced together with the files; put in place before the first rename.
    let journal = match journal_dir {
        Some(jd) if files.len() > 1 => {
            let entries: Vec<crate::journal::Entry> = temps
                .iter()
                .zip(files)
                .map(|(t, f)| crate::journal::Entry {
                    target: f.path.clone(),
                    temp: t.path().to_path_buf(),
                    backup: backups
                        .iter()
                        .find(|(o, _)| o == &f.path)
                        .map(|(_, b)| b.clone()),
                })
                .collect();
            match crate::journal::prepare(jd, &entries) {
                Ok(j) => j.map(|t| (t, jd)),
                Err(e) => {
                    cleanup_backups(&backups);
                    return Err(io_err(jd, "cannot write the journal")(e));
                }
            }
        }
        _ => None,
    };

    // fsync the temporary files (and the journal) concurrently: their journal commits overlap.
    // The calling thread fsyncs the first file itself: one thread fewer to start.
    let to_sync: Vec<&File> = temps
        .iter()
        .map(|t| t.as_file())
        .chain(journal.as_ref().map(|(j, _)| j.as_file()))
        .collect();
    let synced: Vec<io::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = to_sync
            .iter()
            .skip(1)
            .map(|f| s.spawn(move || f.sync_all()))
            .collect();
        let first = to_sync.first().map_or(Ok(()), |f| f.sync_all());
        std::iter::once(first)
            .chain(handles.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("fsync thread panicked")))
            }))
            .collect()
    });
    let paths = files
        .iter()
        .map(|f| f.path.as_path())
        .chain(journal.as_ref().map(|(_, d)| *d));
    for (res, p) in synced.into_iter().zip(paths) {
        if let Err(e) = res {
            cleanup_backups(&backups);
            return Err(io_err(p, "cannot fsync")(e));
        }
    }
    let journaled = match journal {
        Some((tmp, jd)) => match crate::journal::commit(tmp, jd) {
            Ok(()) => Some(jd),
            Err(e) => {
                cleanup_backups(&backups);
                return Err(io_err(jd, "cannot write the journal")(e));
            }
        },
        None => None,
    };

    // 3. Rename into place; undo on the first failure.
    let mut renamed: Vec<&Path> = Vec::new();
    for (i, (tmp, f)) in temps.into_iter().zip(files).enumerate() {
        before_rename(i);
        let res = if force {
            tmp.persist(&f.path).map(|_| ())
        } else {
            tmp.persist_noclobber(&f.path).map(|_| ())
        };
        if let Err(e) = res {
            for done in &renamed {
                let _ = std::fs::remove_file(done);
            }
            for (orig, backup) in &backups {
                let _ = std::fs::rename(backup, orig);
            }
            if let Some(jd) = journaled {
                crate::journal::end(jd);
            }
            let err = if e.error.kind() == io::ErrorKind::AlreadyExists {
                WriteError::AlreadyExists {
                    path: f.path.clone(),
                }
            } else {
                io_err(&f.path, "cannot rename into place")(e.error)
            };
            return Err(err);
        }
        renamed.push(&f.path);
    }
    cleanup_backups(&backups);

    // 4. Make the renames durable.
    let mut dirs: Vec<&Path> = files.iter().map(|f| parent_of(&f.path)).collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        File::open(d)
            .and_then(|h| h.sync_all())
            .map_err(io_err(d, "cannot fsync the directory"))?;
    }
    if let Some(jd) = journaled {
        crate::journal::end(jd);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn refuses_directories_and_fifos_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_input(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::NotRegular {
                    kind: "directory",
                    ..
                }
            ),
            "{err}"
        );
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let err = read_input(&fifo).unwrap_err();
        assert!(
            matches!(err, ReadError::NotRegular { kind: "FIFO", .. }),
            "{err}"
        );
    }

    #[test]
    fn reports_symlink_loops_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        symlink(&b, &a).unwrap();
        symlink(&a, &b).unwrap();
        assert!(matches!(
            read_input(&a).unwrap_err(),
            ReadError::SymlinkLoop { .. }
        ));
        let missing = dir.path().join("missing.pem");
        let err = read_input(&missing).unwrap_err();
        assert!(matches!(err, ReadError::NotFound { .. }));
        assert!(err.to_string().contains("missing.pem"));
    }

    #[test]
    fn refuses_large_files_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        let f = File::create(&big).unwrap();
        f.set_len(MAX_INPUT_BYTES + 1).unwrap();
        let err = read_input(&big).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { .. }), "{err}");
        let ok = dir.path().join("ok");
        std::fs::write(&ok, b"hello").unwrap();
        assert_eq!(read_limited(&ok, 5).unwrap(), b"hello");
        assert!(matches!(
            read_limited(&ok, 4).unwrap_err(),
            ReadError::TooLarge { .. }
        ));
    }

    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn writes_with_exact_modes_and_refuses_to_clobber() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        let files = [
            PlannedFile::new(&key, KEY_MODE, b"KEY".to_vec()),
            PlannedFile::new(&cert, CERT_MODE, b"CERT".to_vec()),
        ];
        write_all_or_nothing(&files, false).unwrap();
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&cert), 0o644);
        let again = [PlannedFile::new(&cert, CERT_MODE, b"NEW".to_vec())];
        let err = write_all_or_nothing(&again, false).unwrap_err();
        assert!(matches!(err, WriteError::AlreadyExists { .. }), "{err}");
        assert_eq!(std::fs::read(&cert).unwrap(), b"CERT");
        write_all_or_nothing(&again, true).unwrap();
        assert_eq!(std::fs::read(&cert).unwrap(), b"NEW");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".pkitool-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn failed_second_rename_leaves_nothing_and_restores_replaced_files() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        std::fs::write(&key, b"OLD").unwrap();
        // The second target is a directory that appears only at rename time is hard to stage;
        // a target inside a missing directory fails at temp-file creation instead, before any
        // rename: nothing may change.
        let files = [
            PlannedFile::new(&key, KEY_MODE, b"NEWKEY".to_vec()),
            PlannedFile::new(
                dir.path().join("missing/cert.pem"),
                CERT_MODE,
                b"C".to_vec(),
            ),
        ];
        assert!(write_all_or_nothing(&files, true).is_err());
        assert_eq!(std::fs::read(&key).unwrap(), b"OLD");
        // A directory where the second file belongs: refused before anything is written.
        let sub = dir.path().join("cert.pem");
        std::fs::create_dir(&sub).unwrap();
        let files = [
            PlannedFile::new(dir.path().join("new-key.pem"), KEY_MODE, b"K".to_vec()),
            PlannedFile::new(&sub, CERT_MODE, b"C".to_vec()),
        ];
        let err = write_all_or_nothing(&files, true).unwrap_err();
        assert!(matches!(err, WriteError::NotRegular { .. }), "{err}");
        assert!(!dir.path().join("new-key.pem").exists());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(".pkitool-")),
            "{names:?}"
        );
    }

    #[test]
    fn rename_failing_half_way_undoes_the_first_rename() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        let files = [
            PlannedFile::new(&key, KEY_MODE, b"K".to_vec()),
            PlannedFile::new(&cert, CERT_MODE, b"C".to_vec()),
        ];
        // Without --force: the second target appears just before its rename.
        let err = write_with_hook(
            &files,
            false,
            |i| {
                if i == 1 {
                    std::fs::write(&cert, b"RACE").unwrap();
                }
            },
            None,
        )
        .unwrap_err();
        assert!(matches!(err, WriteError::AlreadyExists { .. }), "{err}");
        assert!(!key.exists(), "the key renamed first must be removed again");
        assert_eq!(std::fs::read(&cert).unwrap(), b"RACE");
        std::fs::remove_file(&cert).unwrap();
        // With --force: old files exist; the second rename fails (a non-empty directory took
        // its place); the first file is restored to its old contents.
        std::fs::write(&key, b"OLDKEY").unwrap();
        std::fs::write(&cert, b"OLDCERT").unwrap();
        let err = write_with_hook(
            &files,
            true,
            |i| {
                if i == 1 {
                    std::fs::remove_file(&cert).unwrap();
                    std::fs::create_dir(&cert).unwrap();
                    std::fs::write(cert.join("x"), b"x").unwrap();
                }
            },
            None,
        )
        .unwrap_err();
        assert!(matches!(err, WriteError::Io { .. }), "{err}");
        assert_eq!(std::fs::read(&key).unwrap(), b"OLDKEY");
        // No temporary file is left; the old cert's backup is kept because its path was taken
        // by someone else (it is the only copy left).
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn creates_directories_with_exact_modes() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("etc/pki/libvirt/private");
        let created = create_dir_all_mode(&deep, 0o755).unwrap();
        assert_eq!(created.len(), 4);
        assert_eq!(mode(&deep), 0o755);
        remove_created_dirs(&created);
        assert!(!dir.path().join("etc").exists());
    }
}
