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
/// The path is `stat`ed first and anything but a regular file (directory, FIFO, socket, device)
/// is refused before it is opened: opening a device can have effects (`/dev/watchdog` arms on
/// open, a tty becomes the controlling terminal). It is then opened with `O_NONBLOCK |
/// O_NOCTTY` (a FIFO swapped in after the check still cannot block the open), checked through
/// the descriptor to be the very file that was `stat`ed (same device and inode, still regular:
/// no race with a swap between check and read), and refused by its size before any content is
/// read. A file that grows while being read is still cut at the limit.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_limited_meta(path, limit).map(|(bytes, _)| bytes)
}

/// [`read_limited`], also returning the file's metadata from the descriptor it was read through
/// (for mode and owner checks on exactly the file read).
pub fn read_limited_meta(
    path: &Path,
    limit: u64,
) -> Result<(Vec<u8>, std::fs::Metadata), ReadError> {
    use std::os::unix::fs::MetadataExt;
    let before = std::fs::metadata(path).map_err(|e| ReadError::from_io(path, e))?;
    if !before.file_type().is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            kind: file_kind(&before.file_type()),
        });
    }
    let flags = nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOCTTY;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)
        .map_err(|e| ReadError::from_io(path, e))?;
    let meta = file.metadata().map_err(|e| ReadError::from_io(path, e))?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            kind: file_kind(&meta.file_type()),
        });
    }
    if (meta.dev(), meta.ino()) != (before.dev(), before.ino()) {
        return Err(ReadError::Io {
            path: path.to_path_buf(),
            source: io::Error::other("the file was replaced while it was being opened"),
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
    let len = meta.len();
    read_to_end_bounded(file, path, limit, len).map(|b| (b, meta))
}

/// Why a secret input (a CA key, a password file) is not trustworthy: writable by group or
/// others, readable by others (`deny_read`), or owned by someone other than root or the caller.
/// `None` when it is fine.
pub fn untrusted_secret(meta: &std::fs::Metadata, deny_read: u32) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    untrusted_owner_or_mode(
        meta.mode(),
        meta.uid(),
        nix::unistd::geteuid().as_raw(),
        deny_read,
    )
}

/// [`untrusted_secret`] for a file of `mode` owned by `uid`, read by the user `me`.
fn untrusted_owner_or_mode(mode: u32, uid: u32, me: u32, deny_read: u32) -> Option<String> {
    let mode = mode & 0o7777;
    if mode & 0o022 != 0 {
        return Some(format!(
            "it is writable by {} (mode {mode:04o}): chmod go-w it",
            if mode & 0o002 != 0 {
                "everyone"
            } else {
                "its group"
            }
        ));
    }
    if mode & deny_read != 0 {
        return Some(format!(
            "it is readable by others (mode {mode:04o}): chmod {:o} it",
            mode & !deny_read & 0o777
        ));
    }
    if uid != 0 && uid != me {
        return Some(format!(
            "it is owned by uid {uid}, not by root or the user running pkitool (uid {me}): chown it"
        ));
    }
    None
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
// Write half: atomic, permission-safe, all-or-nothing writes, relative to directory handles
// (src/fsio/dirs.rs).
// ---------------------------------------------------------------------------------------------

mod dirs;

pub use dirs::{
    CERT_MODE, KEY_MODE, PlannedFile, WriteError, create_dir_all_mode, write_all_or_nothing,
    write_tree, write_tree_journaled_then,
};

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

    /// The README's "at most 4 MiB is read": a file of exactly 4 MiB is read, one byte more is
    /// refused by its size.
    #[test]
    fn reads_exactly_four_mib_and_no_more() {
        assert_eq!(MAX_INPUT_BYTES, 4_194_304);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        File::create(&f).unwrap().set_len(4 << 20).unwrap();
        assert_eq!(read_input(&f).unwrap().len(), 4 << 20);
        File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_len((4 << 20) + 1)
            .unwrap();
        assert!(matches!(
            read_input(&f).unwrap_err(),
            ReadError::TooLarge { .. }
        ));
    }

    #[test]
    fn io_errors_keep_their_kind() {
        let p = Path::new("x.pem");
        let e =
            |n: nix::errno::Errno| ReadError::from_io(p, io::Error::from_raw_os_error(n as i32));
        assert!(matches!(
            e(nix::errno::Errno::ENOENT),
            ReadError::NotFound { .. }
        ));
        assert!(matches!(
            e(nix::errno::Errno::EACCES),
            ReadError::PermissionDenied { .. }
        ));
        assert!(matches!(
            e(nix::errno::Errno::ELOOP),
            ReadError::SymlinkLoop { .. }
        ));
        assert!(matches!(e(nix::errno::Errno::EIO), ReadError::Io { .. }));
        // And what the user reads, naming the file.
        assert_eq!(
            e(nix::errno::Errno::ENOENT).to_string(),
            "x.pem: no such file"
        );
        assert_eq!(
            e(nix::errno::Errno::EACCES).to_string(),
            "x.pem: permission denied"
        );
    }

    /// A secret (CA key, password file) owned by another user is untrusted; root's and the
    /// caller's own are not (needs root to chown).
    #[test]
    fn secrets_owned_by_others_are_untrusted() {
        use std::os::unix::fs::PermissionsExt;
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key.pem");
        std::fs::write(&f, b"k").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            untrusted_secret(&std::fs::metadata(&f).unwrap(), 0o004),
            None
        );
        std::os::unix::fs::chown(&f, Some(65534), None).unwrap();
        let why = untrusted_secret(&std::fs::metadata(&f).unwrap(), 0o004).unwrap();
        assert!(why.contains("owned by uid 65534"), "{why}");
        std::os::unix::fs::chown(&f, Some(0), None).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(
            untrusted_secret(&std::fs::metadata(&f).unwrap(), 0o004),
            None
        );
        let why = untrusted_secret(&std::fs::metadata(&f).unwrap(), 0o044).unwrap();
        assert!(
            why.contains("readable by others (mode 0640): chmod 600"),
            "{why}"
        );
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

    #[test]
    fn a_secret_is_trusted_when_root_or_the_caller_owns_it() {
        // Run by uid 1000: root's and its own files are trusted, another user's are not.
        assert_eq!(untrusted_owner_or_mode(0o100600, 0, 1000, 0o004), None);
        assert_eq!(untrusted_owner_or_mode(0o100600, 1000, 1000, 0o004), None);
        assert_eq!(
            untrusted_owner_or_mode(0o100600, 1001, 1000, 0o004).as_deref(),
            Some(
                "it is owned by uid 1001, not by root or the user running pkitool (uid 1000): chown it"
            )
        );
        assert_eq!(
            untrusted_owner_or_mode(0o100620, 0, 0, 0o004).as_deref(),
            Some("it is writable by its group (mode 0620): chmod go-w it")
        );
        assert_eq!(
            untrusted_owner_or_mode(0o100602, 0, 0, 0o004).as_deref(),
            Some("it is writable by everyone (mode 0602): chmod go-w it")
        );
        assert_eq!(
            untrusted_owner_or_mode(0o100644, 0, 0, 0o004).as_deref(),
            Some("it is readable by others (mode 0644): chmod 640 it")
        );
        assert_eq!(untrusted_owner_or_mode(0o100644, 0, 0, 0), None);
    }
}
