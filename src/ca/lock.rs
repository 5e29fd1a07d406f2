//! One pkitool at a time per output tree: an exclusive `flock` on the tree's top directory
//! (created first if needed, so two runs into one fresh `--root` lock the same directory). Held
//! while the files are compared and written, so a concurrent `issue server` and `issue client`
//! see each other's identical CA certificate instead of racing to create it. The lock leaves no
//! file behind and dies with the process.

use std::fs::File;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::{Error, fsio};

/// A held lock; released on drop.
#[derive(Debug)]
pub struct TreeLock {
    _lock: Option<Flock<File>>,
}

/// Like [`lock_tree`], but a no-op when `dir` is the directory `held` (the same inode), whose
/// lock this process already holds through the CA ledger: a second `flock` on another open
/// file of the same directory would wait for ourselves.
pub fn lock_tree_unless_held(dir: &Path, mode: u32, held: &Path) -> Result<TreeLock, Error> {
    use std::os::unix::fs::MetadataExt;
    fsio::create_dir_all_mode(dir, mode)?;
    let same = match (std::fs::metadata(dir), std::fs::metadata(held)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    if same {
        return Ok(TreeLock { _lock: None });
    }
    lock_tree(dir, mode)
}

/// Creates `dir` (missing parts with `mode`) and locks it exclusively, waiting for another
/// pkitool holding it.
pub fn lock_tree(dir: &Path, mode: u32) -> Result<TreeLock, Error> {
    fsio::create_dir_all_mode(dir, mode)?;
    let f = File::open(dir).map_err(|e| {
        Error::Environment(format!(
            "{}: cannot open the directory to lock it: {e}",
            dir.display()
        ))
    })?;
    let lock = Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| {
        Error::Environment(format!("{}: cannot lock the directory: {e}", dir.display()))
    })?;
    Ok(TreeLock { _lock: Some(lock) })
}
