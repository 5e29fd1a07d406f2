//! The write half of [`crate::fsio`]: atomic, permission-safe, all-or-nothing writes done
//! relative to directory handles.
//!
//! pkitool runs as root and writes into trees other users may be able to write (a build user's
//! staging directory given as `--root` or `--out`). Every path is therefore resolved component
//! by component with `openat(O_DIRECTORY | O_NOFOLLOW)` from `/` (or the working directory): a
//! symbolic link anywhere on the path is refused with a message naming it, and once a directory
//! is open every later step (existence checks, temporary files, backups, renames, removal on
//! failure, fsync) is relative to its handle, so swapping a component for a symlink afterwards
//! redirects nothing. Missing directories are made with `mkdirat`, opened without following
//! links, checked to be owned by pkitool's user (`fstat`), and only then given their exact mode
//! with `fchmod` on the handle: no mode is ever set through a path.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, RenameFlags};
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::UnlinkatFlags;

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
    /// A component of a directory path is not a directory.
    #[error("{}: is a {kind}, not a directory", path.display())]
    NotDirectory {
        /// The path up to the offending component.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// A component of a directory path is a symbolic link.
    #[error(
        "{}: is a symbolic link; pkitool does not follow symbolic links in the directories it writes to (name the real directory instead, e.g. \"$(realpath PATH)\")",
        path.display()
    )]
    Symlink {
        /// The path up to the symbolic link.
        path: PathBuf,
    },
    /// A path component changed between two looks at it.
    #[error(
        "{}: changed while pkitool was opening it (a symbolic link or another file was there a moment before); refusing to continue",
        path.display()
    )]
    Swapped {
        /// The path up to the component.
        path: PathBuf,
    },
    /// A directory pkitool just created is owned by someone else: it was swapped.
    #[error(
        "{}: the directory pkitool just created is owned by uid {uid}, not by uid {expected}: it was replaced while pkitool worked; refusing to use it",
        path.display()
    )]
    Replaced {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        uid: u32,
        /// pkitool's effective uid.
        expected: u32,
    },
    /// The directory receiving a file is writable by other users.
    #[error(
        "{}: the directory is writable by {who} (mode {mode:04o}), who could replace the files pkitool writes; remove the write bit (chmod go-w) or write elsewhere",
        path.display()
    )]
    SharedDirectory {
        /// The directory.
        path: PathBuf,
        /// Its mode.
        mode: u32,
        /// "its group" / "everyone".
        who: &'static str,
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
    /// Leave an existing regular file with identical contents alone (no `--force` needed).
    pub keep_identical: bool,
    /// Group to give the file (before any byte is written); `None` keeps the creator's.
    pub gid: Option<u32>,
    /// Owner and group to give the file before it is renamed into place (`renew` keeps those
    /// of the file it replaces); `None` = the writing process's.
    pub owner: Option<(u32, u32)>,
}

impl PlannedFile {
    /// A file with the given mode.
    pub fn new(path: impl Into<PathBuf>, mode: u32, contents: impl Into<Vec<u8>>) -> Self {
        PlannedFile {
            path: path.into(),
            mode,
            contents: zeroize::Zeroizing::new(contents.into()),
            keep_identical: false,
            gid: None,
            owner: None,
        }
    }

    /// The same file, owned by `uid:gid` (set on the temporary file, before any byte and before
    /// the rename).
    pub fn with_owner(mut self, uid: u32, gid: u32) -> Self {
        self.owner = Some((uid, gid));
        self
    }

    /// The same file, owned by group `gid` from its first byte (a key QEMU's group reads).
    pub fn with_group(mut self, gid: u32) -> Self {
        self.gid = Some(gid);
        self
    }

    /// Leave the file as it is when it already holds exactly these contents.
    pub fn keep_if_identical(mut self) -> Self {
        self.keep_identical = true;
        self
    }
}

fn io_err(path: &Path, what: &'static str) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io { path, what, source }
}

fn errno_err(path: &Path, what: &'static str) -> impl FnOnce(Errno) -> WriteError {
    let path = path.to_path_buf();
    move |e| WriteError::Io {
        path,
        what,
        source: io::Error::from(e),
    }
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

/// The kind of a stat result, as [`super::file_kind`] names it.
fn stat_kind(mode: u32) -> &'static str {
    match SFlag::from_bits_truncate(mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFDIR => "directory",
        SFlag::S_IFIFO => "FIFO",
        SFlag::S_IFSOCK => "socket",
        SFlag::S_IFBLK => "block device",
        SFlag::S_IFCHR => "character device",
        SFlag::S_IFLNK => "symbolic link",
        _ => "regular file",
    }
}

// The widths of stat fields differ between architectures.
#[allow(clippy::unnecessary_cast)]
fn st_mode(st: &nix::sys::stat::FileStat) -> u32 {
    st.st_mode as u32
}

#[allow(clippy::unnecessary_cast)]
fn st_id(st: &nix::sys::stat::FileStat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

#[allow(clippy::unnecessary_cast)]
fn st_size(st: &nix::sys::stat::FileStat) -> u64 {
    st.st_size as u64
}

fn is_kind(mode: u32, kind: SFlag) -> bool {
    mode & SFlag::S_IFMT.bits() == kind.bits()
}

/// A directory pkitool created (for removal when the operation fails).
struct Created {
    parent: File,
    parent_path: PathBuf,
    name: OsString,
    id: Option<(u64, u64)>,
}

fn remove_created(created: &[Created]) {
    for c in created.iter().rev() {
        let Some((dev, ino)) = c.id else { continue };
        // Only the directory we made, and only while empty.
        if let Ok(st) =
            nix::sys::stat::fstatat(&c.parent, c.name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
            && st_id(&st) == (dev, ino)
        {
            let _ = nix::unistd::unlinkat(&c.parent, c.name.as_os_str(), UnlinkatFlags::RemoveDir);
        }
    }
}

/// Explains a failed `openat(O_DIRECTORY | O_NOFOLLOW)` of `name` in `parent`.
fn open_failure(parent: &File, name: &OsStr, path: &Path, e: Errno) -> WriteError {
    if matches!(e, Errno::ELOOP | Errno::ENOTDIR)
        && let Ok(st) = nix::sys::stat::fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW)
    {
        let mode = st_mode(&st);
        if is_kind(mode, SFlag::S_IFLNK) {
            return WriteError::Symlink {
                path: path.to_path_buf(),
            };
        }
        if !is_kind(mode, SFlag::S_IFDIR) {
            return WriteError::NotDirectory {
                path: path.to_path_buf(),
                kind: stat_kind(mode),
            };
        }
        // A directory now, but not when it was opened: someone is swapping it.
        return WriteError::Swapped {
            path: path.to_path_buf(),
        };
    }
    errno_err(path, "cannot open the directory")(e)
}

fn open_at(parent: &File, name: &OsStr, path: &Path) -> Result<File, WriteError> {
    nix::fcntl::openat(parent, name, DIR_FLAGS, Mode::empty())
        .map(File::from)
        .map_err(|e| open_failure(parent, name, path, e))
}

/// Opens `path` as a directory without following any symbolic link on the way, creating the
/// missing components with exactly `create` (when given).
fn open_dir(
    path: &Path,
    create: Option<u32>,
    created: &mut Vec<Created>,
) -> Result<File, WriteError> {
    let start = if path.is_absolute() { "/" } else { "." };
    let mut cur = nix::fcntl::openat(AT_FDCWD, start, DIR_FLAGS, Mode::empty())
        .map(File::from)
        .map_err(errno_err(Path::new(start), "cannot open the directory"))?;
    let mut so_far = PathBuf::new();
    for comp in path.components() {
        let name: &OsStr = match comp {
            Component::RootDir => {
                so_far.push("/");
                continue;
            }
            Component::CurDir => continue,
            Component::ParentDir => OsStr::new(".."),
            Component::Normal(n) => n,
            Component::Prefix(p) => {
                return Err(WriteError::NotDirectory {
                    path: PathBuf::from(p.as_os_str()),
                    kind: "path prefix",
                });
            }
        };
        so_far.push(name);
        cur = step(&cur, name, &so_far, create, created)?;
    }
    Ok(cur)
}

fn step(
    parent: &File,
    name: &OsStr,
    path: &Path,
    create: Option<u32>,
    created: &mut Vec<Created>,
) -> Result<File, WriteError> {
    let mode = match (
        nix::fcntl::openat(parent, name, DIR_FLAGS, Mode::empty()),
        create,
    ) {
        (Ok(fd), _) => return Ok(File::from(fd)),
        (Err(Errno::ENOENT), Some(mode)) => mode,
        (Err(e), _) => return Err(open_failure(parent, name, path, e)),
    };
    match nix::sys::stat::mkdirat(parent, name, Mode::from_bits_truncate(mode & 0o7777)) {
        Ok(()) => {}
        // Made by someone else in the meantime: an existing directory (never re-moded).
        Err(Errno::EEXIST) => return open_at(parent, name, path),
        Err(e) => return Err(errno_err(path, "cannot create the directory")(e)),
    }
    created.push(Created {
        parent: parent
            .try_clone()
            .map_err(io_err(path, "cannot duplicate a directory handle"))?,
        parent_path: parent_of(path).to_path_buf(),
        name: name.to_os_string(),
        id: None,
    });
    let dir = open_at(parent, name, path)?;
    let meta = dir
        .metadata()
        .map_err(io_err(path, "cannot stat the new directory"))?;
    if let Some(c) = created.last_mut() {
        c.id = Some((meta.dev(), meta.ino()));
    }
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(WriteError::Replaced {
            path: path.to_path_buf(),
            uid: meta.uid(),
            expected: euid,
        });
    }
    // The umask may have removed bits: set the documented mode exactly, on the handle.
    nix::sys::stat::fchmod(&dir, Mode::from_bits_truncate(mode & 0o7777))
        .map_err(errno_err(path, "cannot set the directory mode"))?;
    Ok(dir)
}

/// Creates `dir` and its missing parents with `mode` (exactly, whatever the umask), without
/// following symbolic links. Existing directories are left as they are.
pub fn create_dir_all_mode(dir: &Path, mode: u32) -> Result<(), WriteError> {
    let mut created = Vec::new();
    open_dir(dir, Some(mode), &mut created)?;
    // Durable: each new directory's entry in its parent (the directory itself is fsynced by
    // the write that fills it).
    let parents: Vec<(&File, &Path, &'static str)> = created
        .iter()
        .map(|c| {
            (
                &c.parent,
                c.parent_path.as_path(),
                "cannot fsync the directory",
            )
        })
        .collect();
    sync_together(&parents)
}

/// Writes every file or none. See [`write_tree`].
pub fn write_all_or_nothing(files: &[PlannedFile], force: bool) -> Result<(), WriteError> {
    write_tree(&[], files, force).map(drop)
}

/// Creates the missing `dirs` (with their exact modes) and writes every file or none. Returns,
/// per file, whether it was left alone because it already held identical contents
/// ([`PlannedFile::keep_if_identical`]).
///
/// Each file goes to a temporary file with a random name in its target directory, created with
/// `O_EXCL | O_NOFOLLOW` and its final mode (0600 keys are never readable by others, not even
/// for an instant; the umask cannot change it), written and fsynced. Only when every temporary
/// file is complete are they renamed into place: without `force` with `RENAME_NOREPLACE` (an
/// existing file is never replaced), with `force` atomically over the old file (a symlink or
/// hard link at the final name is replaced, its target never touched). If a rename fails, the
/// files already renamed are removed again and any file they replaced is restored, so a failure
/// leaves neither a partial file nor a half-set, and the directories created are removed. The
/// directories are fsynced at the end. Directories writable by group or others are refused as
/// destinations.
pub fn write_tree(
    dirs: &[(PathBuf, u32)],
    files: &[PlannedFile],
    force: bool,
) -> Result<Vec<bool>, WriteError> {
    write_with_hook(dirs, files, force, |_| {})
}

/// [`write_tree`] that also keeps the interrupted-set journal ([`crate::journal`]) in
/// `journal_dir` during the renames of a set of two or more files, so a run killed between two
/// renames is completed by the next one ([`crate::journal::recover`]). `after_renames` runs once
/// every file is in place, before the renames are made durable, and the files it returns are
/// made durable in the same step (the ledger line of the certificate just written: one durable
/// point for both instead of two). A run has two durable points in all: the temporary files with
/// the journal, then the directories (and the parents of created ones) with `after_renames`'s
/// files.
pub fn write_tree_journaled_then(
    dirs: &[(PathBuf, u32)],
    files: &[PlannedFile],
    force: bool,
    journal_dir: &Path,
    after_renames: impl FnOnce() -> Vec<(File, PathBuf)>,
) -> Result<Vec<bool>, WriteError> {
    let mut created = Vec::new();
    let res = write_inner(
        dirs,
        files,
        force,
        |_| {},
        &mut created,
        Some(journal_dir),
        after_renames,
    );
    if res.is_err() {
        remove_created(&created);
    }
    res
}

/// Whether two handles are the same file (device and inode).
fn same_file(a: &File, b: &File) -> bool {
    match (a.metadata(), b.metadata()) {
        (Ok(x), Ok(y)) => (x.dev(), x.ino()) == (y.dev(), y.ino()),
        _ => false,
    }
}

/// fsyncs `files` concurrently (one on this thread, the others on scoped threads): the
/// filesystem commits them together instead of one after another. The first failure is
/// returned, naming its file.
fn sync_together(files: &[(&File, &Path, &'static str)]) -> Result<(), WriteError> {
    let Some(((first, first_path, first_what), rest)) = files.split_first() else {
        return Ok(());
    };
    let results: Vec<io::Result<()>> = std::thread::scope(|s| {
        let spawned: Vec<_> = rest
            .iter()
            .map(|(f, _, _)| s.spawn(move || f.sync_all()))
            .collect();
        let mine = first.sync_all();
        std::iter::once(mine)
            .chain(spawned.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("fsync thread panicked")))
            }))
            .collect()
    });
    let paths =
        std::iter::once((*first_path, *first_what)).chain(rest.iter().map(|(_, p, w)| (*p, *w)));
    for (res, (path, what)) in results.into_iter().zip(paths) {
        res.map_err(io_err(path, what))?;
    }
    Ok(())
}

/// The journal's lines (see [`crate::journal`]) for the temporary files of a set: absolute
/// paths, one `final<TAB>temporary<TAB>backup` line per file. A file whose paths cannot be
/// written so (a tab or newline in them) is left out (not recoverable after a kill).
fn journal_text(
    files: &[PlannedFile],
    temps: &[Temp<'_>],
    backups: &[(usize, OsString)],
) -> String {
    temps
        .iter()
        .filter_map(|t| {
            let path = &files[t.target].path;
            let parent = parent_of(path);
            let parent = std::fs::canonicalize(parent).ok()?;
            let target = parent.join(path.file_name()?);
            let temp = parent.join(t.name.as_ref()?);
            let backup = backups
                .iter()
                .find(|(bi, _)| *bi == t.target)
                .map(|(_, b)| parent.join(b))
                .unwrap_or_default();
            let line = format!(
                "{}\t{}\t{}\n",
                target.to_str()?,
                temp.to_str()?,
                backup.to_str()?
            );
            (line.matches('\t').count() == 2 && line.matches('\n').count() == 1).then_some(line)
        })
        .collect()
}

/// A temporary file not yet renamed into place (removed on drop).
struct Temp<'a> {
    dir: &'a File,
    name: Option<OsString>,
    file: File,
    target: usize,
}

impl Drop for Temp<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.name.take() {
            let _ = nix::unistd::unlinkat(self.dir, n.as_os_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}

fn random_name(kind: &str) -> Result<OsString, WriteError> {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 12];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| WriteError::Io {
            path: PathBuf::from("/dev/urandom"),
            what: "no random bytes for a temporary name",
            source: io::Error::other("the system random generator failed"),
        })?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let suffix = if kind == "new" { ".tmp" } else { "" };
    Ok(OsString::from(format!(".pkitool-{kind}-{hex}{suffix}")))
}

/// Reads the regular file `name` in `dir` if it has exactly `want`'s length; true when its
/// contents equal `want`. Never follows a symlink, never blocks on a FIFO, never reads more
/// than `want.len() + 1` bytes.
fn holds_exactly(dir: &File, name: &OsStr, want: &[u8]) -> bool {
    let Ok(st) = nix::sys::stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) else {
        return false;
    };
    if !is_kind(st_mode(&st), SFlag::S_IFREG) || st_size(&st) != want.len() as u64 {
        return false;
    }
    let flags = OFlag::O_RDONLY
        | OFlag::O_NOFOLLOW
        | OFlag::O_NONBLOCK
        | OFlag::O_NOCTTY
        | OFlag::O_CLOEXEC;
    let Ok(fd) = nix::fcntl::openat(dir, name, flags, Mode::empty()) else {
        return false;
    };
    let f = File::from(fd);
    match f.metadata() {
        Ok(m) if m.is_file() && (m.dev(), m.ino()) == st_id(&st) => {}
        _ => return false,
    }
    let mut buf = Vec::with_capacity(want.len() + 1);
    if f.take(want.len() as u64 + 1).read_to_end(&mut buf).is_err() {
        return false;
    }
    buf == want
}

fn check_destination(dir: &File, path: &Path) -> Result<(), WriteError> {
    let meta = dir
        .metadata()
        .map_err(io_err(path, "cannot stat the directory"))?;
    let mode = meta.mode() & 0o7777;
    let who = if mode & 0o002 != 0 {
        "everyone"
    } else if mode & 0o020 != 0 {
        "its group"
    } else {
        return Ok(());
    };
    Err(WriteError::SharedDirectory {
        path: path.to_path_buf(),
        mode,
        who,
    })
}

/// [`write_tree`] with a hook run before each rename (tests use it to make a rename fail
/// half-way).
fn write_with_hook(
    dirs: &[(PathBuf, u32)],
    files: &[PlannedFile],
    force: bool,
    before_rename: impl Fn(usize),
) -> Result<Vec<bool>, WriteError> {
    let mut created = Vec::new();
    let res = write_inner(
        dirs,
        files,
        force,
        before_rename,
        &mut created,
        None,
        Vec::new,
    );
    if res.is_err() {
        remove_created(&created);
    }
    res
}

fn write_inner(
    dirs: &[(PathBuf, u32)],
    files: &[PlannedFile],
    force: bool,
    before_rename: impl Fn(usize),
    created: &mut Vec<Created>,
    journal_dir: Option<&Path>,
    after_renames: impl FnOnce() -> Vec<(File, PathBuf)>,
) -> Result<Vec<bool>, WriteError> {
    // 0. Directory handles: the directories to create, then every file's directory.
    let mut handles: Vec<(PathBuf, File)> = Vec::new();
    for (d, mode) in dirs {
        let h = open_dir(d, Some(*mode), created)?;
        handles.push((d.clone(), h));
    }
    let mut targets: Vec<(usize, &OsStr)> = Vec::with_capacity(files.len());
    for f in files {
        let name = match f.path.file_name() {
            Some(n) => n,
            None => {
                return Err(WriteError::NotRegular {
                    path: f.path.clone(),
                    kind: "directory",
                });
            }
        };
        let parent = parent_of(&f.path);
        let idx = match handles.iter().position(|(p, _)| p == parent) {
            Some(i) => i,
            None => {
                let h = open_dir(parent, None, created)?;
                handles.push((parent.to_path_buf(), h));
                handles.len() - 1
            }
        };
        targets.push((idx, name));
    }
    let mut used: Vec<usize> = targets.iter().map(|(i, _)| *i).collect();
    used.sort_unstable();
    used.dedup();
    for &i in &used {
        check_destination(&handles[i].1, &handles[i].0)?;
    }

    // 1. Refuse early, before creating anything; find the files already in place.
    let mut unchanged = vec![false; files.len()];
    for (i, (f, &(d, name))) in files.iter().zip(&targets).enumerate() {
        let dir = &handles[d].1;
        match nix::sys::stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if is_kind(st_mode(&st), SFlag::S_IFDIR) => {
                return Err(WriteError::NotRegular {
                    path: f.path.clone(),
                    kind: "directory",
                });
            }
            Ok(_) if f.keep_identical && holds_exactly(dir, name, &f.contents) => {
                unchanged[i] = true;
            }
            Ok(_) if !force => {
                return Err(WriteError::AlreadyExists {
                    path: f.path.clone(),
                });
            }
            Ok(_) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(errno_err(&f.path, "cannot stat")(e)),
        }
    }

    // 2. Temporary files, complete and durable.
    let mut temps: Vec<Temp<'_>> = Vec::with_capacity(files.len());
    for (i, (f, &(d, _))) in files.iter().zip(&targets).enumerate() {
        if unchanged[i] {
            continue;
        }
        let dir = &handles[d].1;
        let tmp_name = random_name("new")?;
        let fd = nix::fcntl::openat(
            dir,
            tmp_name.as_os_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(f.mode & 0o777),
        )
        .map_err(errno_err(
            parent_of(&f.path),
            "cannot create a temporary file",
        ))?;
        let mut t = Temp {
            dir,
            name: Some(tmp_name),
            file: File::from(fd),
            target: i,
        };
        // The umask can only have removed bits; make the mode exact before writing anything.
        nix::sys::stat::fchmod(t.file.as_fd(), Mode::from_bits_truncate(f.mode & 0o7777))
            .map_err(errno_err(&f.path, "cannot set the mode"))?;
        if let Some((uid, gid)) = f.owner {
            std::os::unix::fs::fchown(&t.file, Some(uid), Some(gid))
                .map_err(io_err(&f.path, "cannot set the owner"))?;
        }
        if let Some(gid) = f.gid {
            std::os::unix::fs::fchown(&t.file, None, Some(gid))
                .map_err(io_err(&f.path, "cannot set the group"))?;
        } else if force
            && let Ok(st) = nix::sys::stat::fstatat(dir, targets[i].1, AtFlags::AT_SYMLINK_NOFOLLOW)
            && is_kind(st_mode(&st), SFlag::S_IFREG)
        {
            // --force keeps the owner, group and mode of the file it replaces (an operator's
            // root:qemu 0640 key stays so), still before any byte is written.
            let me = nix::unistd::geteuid().as_raw();
            let uid = (st.st_uid != me).then_some(st.st_uid);
            std::os::unix::fs::fchown(&t.file, uid, Some(st.st_gid))
                .map_err(io_err(&f.path, "cannot keep the replaced file's owner"))?;
            // A key's mode is kept only while it stays private to owner and group (no group
            // write, nothing for others): --force never carries a 0644 key (or a planted hard
            // link's mode) over to a new key.
            let old = st_mode(&st) & 0o7777;
            let keep = f.mode & 0o077 != 0 || old & 0o027 == 0;
            let m = if keep { old } else { f.mode & 0o7777 };
            nix::sys::stat::fchmod(t.file.as_fd(), Mode::from_bits_truncate(m))
                .map_err(errno_err(&f.path, "cannot keep the replaced file's mode"))?;
        }
        t.file
            .write_all(&f.contents)
            .map_err(io_err(&f.path, "cannot write"))?;
        temps.push(t);
    }
    // 3. Keep the files --force replaces (hard links to the entry itself, symlinks included),
    // to restore them if a later rename fails.
    let mut backups: Vec<(usize, OsString)> = Vec::new();
    let cleanup_backups = |backups: &[(usize, OsString)]| {
        for (i, b) in backups {
            let dir = &handles[targets[*i].0].1;
            let _ = nix::unistd::unlinkat(dir, b.as_os_str(), UnlinkatFlags::NoRemoveDir);
        }
    };
    if force {
        for t in &temps {
            let (d, name) = targets[t.target];
            let dir = &handles[d].1;
            if nix::sys::stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).is_err() {
                continue;
            }
            let backup = random_name("backup")?;
            if let Err(e) =
                nix::unistd::linkat(dir, name, dir, backup.as_os_str(), AtFlags::empty())
            {
                cleanup_backups(&backups);
                return Err(errno_err(
                    &files[t.target].path,
                    "cannot keep a backup of the file to replace",
                )(e));
            }
            backups.push((t.target, backup));
        }
    }

    // The journal of a set of two or more renames: from here a killed run is completed by the
    // next one. Written under a temporary name through the first file's directory handle (never
    // by path: a directory swapped for a symlink cannot redirect it), made durable together with
    // the temporary files it names, and renamed into place before the first rename.
    let journal_temp: Option<Temp<'_>> = match journal_dir {
        Some(_) if temps.len() > 1 => {
            let text = journal_text(files, &temps, &backups);
            let dir = &handles[targets[temps[0].target].0].1;
            let jpath = parent_of(&files[temps[0].target].path).join(crate::journal::JOURNAL);
            let res = (|| -> Result<Temp<'_>, Errno> {
                let name = random_name("journal").map_err(|_| Errno::EIO)?;
                let fd = nix::fcntl::openat(
                    dir,
                    name.as_os_str(),
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )?;
                let mut t = Temp {
                    dir,
                    name: Some(name),
                    file: File::from(fd),
                    target: usize::MAX,
                };
                t.file.write_all(text.as_bytes()).map_err(|_| Errno::EIO)?;
                Ok(t)
            })();
            match res {
                Ok(t) => Some(t),
                Err(e) => {
                    cleanup_backups(&backups);
                    return Err(errno_err(&jpath, "cannot write the journal")(e));
                }
            }
        }
        _ => None,
    };

    // One durable point before any rename: the temporary files and the journal, fsynced
    // together (concurrently, so the filesystem commits them at once).
    let mut to_sync: Vec<(&File, &Path, &'static str)> = temps
        .iter()
        .map(|t| (&t.file, files[t.target].path.as_path(), "cannot fsync"))
        .collect();
    let jpath = journal_temp
        .as_ref()
        .map(|_| parent_of(&files[temps[0].target].path).join(crate::journal::JOURNAL));
    if let (Some(j), Some(p)) = (&journal_temp, &jpath) {
        to_sync.push((&j.file, p.as_path(), "cannot fsync the journal"));
    }
    if let Err(e) = sync_together(&to_sync) {
        cleanup_backups(&backups);
        return Err(e);
    }
    drop(to_sync);
    let journaled: Option<&File> = match journal_temp {
        Some(mut j) => {
            let dir = j.dir;
            let Some(name) = j.name.take() else {
                cleanup_backups(&backups);
                return Err(WriteError::Io {
                    path: jpath.clone().unwrap_or_default(),
                    what: "cannot write the journal",
                    source: io::Error::other("the journal's temporary file has no name"),
                });
            };
            if let Err(e) =
                nix::fcntl::renameat(dir, name.as_os_str(), dir, crate::journal::JOURNAL)
            {
                j.name = Some(name);
                cleanup_backups(&backups);
                return Err(errno_err(
                    jpath
                        .as_deref()
                        .unwrap_or(Path::new(crate::journal::JOURNAL)),
                    "cannot write the journal",
                )(e));
            }
            Some(dir)
        }
        None => None,
    };

    // 4. Rename into place; undo on the first failure.
    let mut renamed: Vec<usize> = Vec::new();
    for mut t in temps {
        let i = t.target;
        let (d, name) = targets[i];
        let dir = &handles[d].1;
        before_rename(i);
        let Some(tmp_name) = t.name.take() else {
            continue;
        };
        let flags = if force {
            RenameFlags::empty()
        } else {
            RenameFlags::RENAME_NOREPLACE
        };
        let res = nix::fcntl::renameat2(dir, tmp_name.as_os_str(), dir, name, flags);
        if let Err(e) = res {
            t.name = Some(tmp_name);
            for &done in &renamed {
                let (dd, dn) = targets[done];
                let _ = nix::unistd::unlinkat(&handles[dd].1, dn, UnlinkatFlags::NoRemoveDir);
            }
            for (bi, backup) in &backups {
                let (bd, bn) = targets[*bi];
                let _ =
                    nix::fcntl::renameat(&handles[bd].1, backup.as_os_str(), &handles[bd].1, bn);
            }
            if let Some(jd) = journaled {
                let _ =
                    nix::unistd::unlinkat(jd, crate::journal::JOURNAL, UnlinkatFlags::NoRemoveDir);
            }
            return Err(if e == Errno::EEXIST {
                WriteError::AlreadyExists {
                    path: files[i].path.clone(),
                }
            } else {
                errno_err(&files[i].path, "cannot rename into place")(e)
            });
        }
        renamed.push(i);
    }
    cleanup_backups(&backups);

    // 5. Make the renames durable, together with what the caller wrote after them (the
    // ledger line): a second and last durable point.
    let extra = after_renames();
    let mut to_sync: Vec<(&File, &Path, &'static str)> = used
        .iter()
        .map(|&i| {
            (
                &handles[i].1,
                handles[i].0.as_path(),
                "cannot fsync the directory",
            )
        })
        .collect();
    for (f, p) in &extra {
        to_sync.push((f, p.as_path(), "cannot fsync"));
    }
    // A directory this run created is durable only once its parent's entry is: the parents
    // of created directories, each once.
    for c in created.iter() {
        if !to_sync.iter().any(|(g, _, _)| same_file(g, &c.parent)) {
            to_sync.push((
                &c.parent,
                c.parent_path.as_path(),
                "cannot fsync the directory",
            ));
        }
    }
    sync_together(&to_sync)?;
    if let Some(jd) = journaled {
        let _ = nix::unistd::unlinkat(jd, crate::journal::JOURNAL, UnlinkatFlags::NoRemoveDir);
    }
    Ok(unchanged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

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
        let err = write_with_hook(&[], &files, false, |i| {
            if i == 1 {
                std::fs::write(&cert, b"RACE").unwrap();
            }
        })
        .unwrap_err();
        assert!(matches!(err, WriteError::AlreadyExists { .. }), "{err}");
        assert!(!key.exists(), "the key renamed first must be removed again");
        assert_eq!(std::fs::read(&cert).unwrap(), b"RACE");
        std::fs::remove_file(&cert).unwrap();
        // With --force: old files exist; the second rename fails (a non-empty directory took
        // its place); the first file is restored to its old contents.
        std::fs::write(&key, b"OLDKEY").unwrap();
        std::fs::write(&cert, b"OLDCERT").unwrap();
        let err = write_with_hook(&[], &files, true, |i| {
            if i == 1 {
                std::fs::remove_file(&cert).unwrap();
                std::fs::create_dir(&cert).unwrap();
                std::fs::write(cert.join("x"), b"x").unwrap();
            }
        })
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
    fn creates_directories_with_exact_modes_and_removes_them_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("etc/pki/libvirt/private");
        let key = deep.join("serverkey.pem");
        let files = [PlannedFile::new(&key, KEY_MODE, b"K".to_vec())];
        write_tree(&[(deep.clone(), 0o755)], &files, false).unwrap();
        assert_eq!(mode(&deep), 0o755);
        assert_eq!(mode(&dir.path().join("etc")), 0o755);
        assert_eq!(mode(&key), 0o600);
        // A failure (the file exists, no --force) removes the directories made for it.
        let other = dir.path().join("new/sub");
        let files = [
            PlannedFile::new(other.join("a.pem"), CERT_MODE, b"A".to_vec()),
            PlannedFile::new(&key, KEY_MODE, b"K2".to_vec()),
        ];
        let err = write_tree(&[(other.clone(), 0o700)], &files, false).unwrap_err();
        assert!(matches!(err, WriteError::AlreadyExists { .. }), "{err}");
        assert!(!dir.path().join("new").exists());
    }

    #[test]
    fn refuses_symlinked_components_and_never_follows_them() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("cacert.pem"), b"HOST CA").unwrap();
        let stage = dir.path().join("stage");
        std::fs::create_dir_all(stage.join("etc/pki")).unwrap();
        symlink(&real, stage.join("etc/pki/CA")).unwrap();
        let target = stage.join("etc/pki/CA/cacert.pem");
        let files = [PlannedFile::new(&target, CERT_MODE, b"EVIL".to_vec())];
        let err = write_tree(&[(stage.join("etc/pki/CA"), 0o755)], &files, true).unwrap_err();
        assert!(matches!(err, WriteError::Symlink { .. }), "{err}");
        assert!(err.to_string().contains("stage/etc/pki/CA:"), "{err}");
        let err = write_all_or_nothing(&files, true).unwrap_err();
        assert!(matches!(err, WriteError::Symlink { .. }), "{err}");
        assert_eq!(std::fs::read(real.join("cacert.pem")).unwrap(), b"HOST CA");
        // A file where a directory belongs.
        std::fs::write(stage.join("etc/file"), b"x").unwrap();
        let files = [PlannedFile::new(
            stage.join("etc/file/x.pem"),
            CERT_MODE,
            b"X".to_vec(),
        )];
        let err = write_all_or_nothing(&files, true).unwrap_err();
        assert!(matches!(err, WriteError::NotDirectory { .. }), "{err}");
    }

    #[test]
    fn force_replaces_a_planted_link_not_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"VICTIM").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        symlink(&victim, out.join("cert.pem")).unwrap();
        std::fs::hard_link(&victim, out.join("key.pem")).unwrap();
        let files = [
            PlannedFile::new(out.join("cert.pem"), CERT_MODE, b"C".to_vec()),
            PlannedFile::new(out.join("key.pem"), KEY_MODE, b"K".to_vec()),
        ];
        let err = write_all_or_nothing(&files, false).unwrap_err();
        assert!(matches!(err, WriteError::AlreadyExists { .. }), "{err}");
        write_all_or_nothing(&files, true).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM");
        assert_eq!(mode(&victim), 0o644);
        assert!(
            !std::fs::symlink_metadata(out.join("cert.pem"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(out.join("key.pem")).unwrap(), b"K");
        assert_eq!(mode(&out.join("key.pem")), 0o600);
    }

    #[test]
    fn keeps_identical_files_and_never_reads_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, b"CA").unwrap();
        let files = [PlannedFile::new(&ca, CERT_MODE, b"CA".to_vec()).keep_if_identical()];
        assert_eq!(write_all_or_nothing_report(&files, false), vec![true]);
        let fifo = dir.path().join("fifo.pem");
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
        let files = [PlannedFile::new(&fifo, CERT_MODE, b"CA".to_vec()).keep_if_identical()];
        // Not read (a FIFO would block); without --force refused, with --force replaced.
        let err = write_all_or_nothing(&files, false).unwrap_err();
        assert!(matches!(err, WriteError::AlreadyExists { .. }), "{err}");
        assert_eq!(write_all_or_nothing_report(&files, true), vec![false]);
        assert_eq!(std::fs::read(&fifo).unwrap(), b"CA");
    }

    fn write_all_or_nothing_report(files: &[PlannedFile], force: bool) -> Vec<bool> {
        write_tree(&[], files, force).unwrap()
    }

    #[test]
    fn refuses_shared_destination_directories() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for m in [0o777, 0o1777, 0o775] {
            let d = dir.path().join(format!("d{m:o}"));
            std::fs::create_dir(&d).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(m)).unwrap();
            let files = [PlannedFile::new(d.join("k.pem"), KEY_MODE, b"K".to_vec())];
            let err = write_all_or_nothing(&files, false).unwrap_err();
            assert!(
                matches!(err, WriteError::SharedDirectory { .. }),
                "{m:o}: {err}"
            );
            assert!(!d.join("k.pem").exists());
        }
    }

    #[test]
    fn exact_modes_under_any_umask() {
        // The umask is process-wide: run it in a child so other tests are not affected.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        let script = format!(
            "umask 0777; exec {} --exact fsio::dirs::tests::umask_child --ignored --quiet",
            std::env::current_exe().unwrap().display()
        );
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("PKITOOL_UMASK_OUT", &out)
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(mode(&out), 0o755);
        assert_eq!(mode(&dir.path().join("a")), 0o755);
        assert_eq!(mode(&out.join("key.pem")), 0o600);
        assert_eq!(mode(&out.join("cert.pem")), 0o644);
    }

    #[test]
    #[ignore = "run by exact_modes_under_any_umask in a child with umask 0777"]
    fn umask_child() {
        let Some(out) = std::env::var_os("PKITOOL_UMASK_OUT") else {
            return;
        };
        let out = PathBuf::from(out);
        let files = [
            PlannedFile::new(out.join("key.pem"), KEY_MODE, b"K".to_vec()),
            PlannedFile::new(out.join("cert.pem"), CERT_MODE, b"C".to_vec()),
        ];
        write_tree(&[(out, 0o755)], &files, false).unwrap();
    }

    #[test]
    fn stat_kinds_are_named_like_file_kind() {
        for (kind, name) in [
            (SFlag::S_IFDIR, "directory"),
            (SFlag::S_IFIFO, "FIFO"),
            (SFlag::S_IFSOCK, "socket"),
            (SFlag::S_IFBLK, "block device"),
            (SFlag::S_IFCHR, "character device"),
            (SFlag::S_IFLNK, "symbolic link"),
            (SFlag::S_IFREG, "regular file"),
        ] {
            assert_eq!(stat_kind(kind.bits() | 0o755), name);
        }
    }

    #[test]
    fn a_bare_name_lives_in_the_working_directory() {
        assert_eq!(parent_of(Path::new("key.pem")), Path::new("."));
        assert_eq!(parent_of(Path::new("/a/key.pem")), Path::new("/a"));
    }

    #[test]
    fn same_file_compares_device_and_inode() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let fa = File::open(a.path()).unwrap();
        assert!(same_file(&fa, &File::open(a.path()).unwrap()));
        assert!(!same_file(&fa, &File::open(b.path()).unwrap()));
    }

    #[test]
    fn only_a_regular_file_of_exactly_these_bytes_holds_them() {
        let d = tempfile::tempdir().unwrap();
        let dir = File::open(d.path()).unwrap();
        std::fs::write(d.path().join("f"), b"CERT").unwrap();
        assert!(holds_exactly(&dir, OsStr::new("f"), b"CERT"));
        assert!(!holds_exactly(&dir, OsStr::new("f"), b"CERX"));
        assert!(!holds_exactly(&dir, OsStr::new("f"), b"CERT2"));
        assert!(!holds_exactly(&dir, OsStr::new("missing"), b"CERT"));
        // A link to it, and a directory: never.
        symlink(d.path().join("f"), d.path().join("l")).unwrap();
        assert!(!holds_exactly(&dir, OsStr::new("l"), b"CERT"));
        std::fs::create_dir(d.path().join("sub")).unwrap();
        let dir_len = std::fs::metadata(d.path().join("sub")).unwrap().len() as usize;
        assert!(!holds_exactly(&dir, OsStr::new("sub"), &vec![0u8; dir_len]));
    }

    #[test]
    fn created_directories_get_exactly_their_mode() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("a/b");
        create_dir_all_mode(&deep, 0o750).unwrap();
        assert_eq!(mode(&d.path().join("a")), 0o750);
        assert_eq!(mode(&deep), 0o750);
    }

    #[test]
    fn the_journal_lists_the_set_while_its_files_are_renamed() {
        let d = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(d.path()).unwrap();
        let key = dir.join("key.pem");
        let cert = dir.join("cert.pem");
        std::fs::write(&cert, "old").unwrap();
        let files = [
            PlannedFile::new(&key, KEY_MODE, b"KEY".to_vec()),
            PlannedFile::new(&cert, CERT_MODE, b"CERT".to_vec()),
        ];
        let seen = std::cell::RefCell::new(String::new());
        write_tree_journaled_then(&[], &files, true, &dir, || {
            *seen.borrow_mut() =
                std::fs::read_to_string(dir.join(crate::journal::JOURNAL)).unwrap();
            Vec::new()
        })
        .unwrap();
        let text = seen.into_inner();
        let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0][0], key.to_str().unwrap());
        assert!(
            lines[0][1].starts_with(dir.join(".pkitool-new-").to_str().unwrap()),
            "{text}"
        );
        assert_eq!(lines[0][2], "", "{text}");
        assert_eq!(lines[1][0], cert.to_str().unwrap());
        assert!(
            lines[1][2].starts_with(dir.join(".pkitool-").to_str().unwrap()),
            "{text}"
        );
        assert!(text.ends_with('\n'));
        // Once durable, the journal is gone and the set is in place.
        assert!(!dir.join(crate::journal::JOURNAL).exists());
        assert_eq!(std::fs::read(&cert).unwrap(), b"CERT");
    }

    #[test]
    fn a_file_whose_path_a_journal_line_cannot_hold_is_left_out_of_the_journal() {
        let d = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(d.path()).unwrap();
        let files = [
            PlannedFile::new(dir.join("key.pem"), KEY_MODE, b"KEY".to_vec()),
            PlannedFile::new(dir.join("c\tert.pem"), CERT_MODE, b"CERT".to_vec()),
        ];
        let seen = std::cell::RefCell::new(String::new());
        write_tree_journaled_then(&[], &files, false, &dir, || {
            *seen.borrow_mut() =
                std::fs::read_to_string(dir.join(crate::journal::JOURNAL)).unwrap_or_default();
            Vec::new()
        })
        .unwrap();
        let text = seen.into_inner();
        assert_eq!(text.lines().count(), 1, "{text:?}");
        assert!(
            text.starts_with(dir.join("key.pem").to_str().unwrap()),
            "{text:?}"
        );
        assert_eq!(std::fs::read(dir.join("c\tert.pem")).unwrap(), b"CERT");
    }

    #[test]
    fn force_keeps_a_private_keys_mode_but_never_an_open_one() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        for (old, want) in [
            (0o640, 0o640),
            (0o600, 0o600),
            (0o644, 0o600),
            (0o660, 0o600),
        ] {
            let key = d.path().join(format!("key-{old:o}.pem"));
            std::fs::write(&key, b"OLD").unwrap();
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(old)).unwrap();
            write_all_or_nothing(&[PlannedFile::new(&key, KEY_MODE, b"NEW".to_vec())], true)
                .unwrap();
            assert_eq!(std::fs::read(&key).unwrap(), b"NEW");
            assert_eq!(mode(&key), want, "a {old:o} key replaced with --force");
        }
    }
}
