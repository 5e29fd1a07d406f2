//! `pkitool man [--out DIR]`: writes the man pages, rendered by clap_mangen from the clap
//! definitions: `pkitool.1` plus one page per subcommand (`pkitool-init-ca.1`, ...). These are
//! exactly the pages committed under `man/` (`tests/it/man.rs` compares them byte for byte) and
//! shipped by the .deb, so `cargo install` users get them too.

use std::collections::BTreeMap;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::fsio::{self, PlannedFile};
use crate::{Error, Result};

/// Every page: file name → roff bytes, in file-name order.
pub fn pages() -> Result<BTreeMap<String, Vec<u8>>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = BTreeMap::new();
    let mut render = |c: clap::Command| -> Result<()> {
        let man = clap_mangen::Man::new(c).source(concat!("pkitool ", env!("CARGO_PKG_VERSION")));
        let mut buf = Vec::new();
        man.render(&mut buf)
            .map_err(|e| Error::Failed(format!("cannot render a man page: {e}")))?;
        pages.insert(man.get_filename(), buf);
        Ok(())
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render(sub.clone())?;
    }
    render(cmd)?;
    Ok(pages)
}

/// Writes the pages into `dir` (created 0755 when missing). Pages already there with the same
/// bytes are left alone; a page with other content is replaced only with `force` (atomically,
/// 0644). Returns every page's path and whether it was written.
pub fn write_pages(dir: &Path, force: bool) -> Result<Vec<(std::path::PathBuf, bool)>> {
    let pages = pages()?;
    // Identical pages are detected by fsio (bounded read of regular files only, relative to
    // the directory handle), not by reading whatever sits at the path.
    let plan: Vec<PlannedFile> = pages
        .into_iter()
        .map(|(name, body)| {
            PlannedFile::new(dir.join(&name), fsio::CERT_MODE, body).keep_if_identical()
        })
        .collect();
    let unchanged = fsio::write_tree(&[(dir.to_path_buf(), 0o755)], &plan, force)?;
    Ok(plan
        .iter()
        .zip(unchanged)
        .map(|(p, same)| (p.path.clone(), !same))
        .collect())
}

/// `pkitool man`: writes the pages and lists them on stdout ("wrote" or "unchanged").
pub fn run(args: &ManArgs) -> Result<u8> {
    let written = write_pages(&args.out, args.force).map_err(|e| match e {
        Error::Write(w) => Error::Failed(format!("--out {}: {w}", args.out.display())),
        other => other,
    })?;
    let mut out = String::new();
    for (path, wrote) in written {
        let what = if wrote { "wrote" } else { "unchanged" };
        out.push_str(&format!("{what} {}\n", path.display()));
    }
    use std::io::Write;
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Environment(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(0),
    }
}
