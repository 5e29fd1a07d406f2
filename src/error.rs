//! The library's top-level error: what made a command fail, and which exit status that means.
//!
//! Exit statuses are a contract: 0 success (or no errors found), 1 the operation failed on its
//! input (or `validate` found problems), 2 usage or environment error.

use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line is wrong or incomplete (exit 2). The message names the flag.
    #[error("{0}")]
    Usage(String),
    /// The environment does not allow the operation (no terminal for a prompt, ...) (exit 2).
    #[error("{0}")]
    Environment(String),
    /// An input file could not be read or understood (exit 1).
    #[error(transparent)]
    Read(#[from] crate::fsio::ReadError),
    /// A file's contents are not what was expected (exit 1).
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: crate::x509::load::ParseError,
    },
    /// The operation failed on its input (exit 1).
    #[error("{0}")]
    Failed(String),
    /// A certtool template is wrong (exit 1).
    #[error(transparent)]
    Template(#[from] crate::ca::template::TemplateError),
    /// A private key could not be generated, loaded or written (exit 1).
    #[error("{context}: {source}")]
    Key {
        /// Which key (a file name, or "new key").
        context: String,
        /// Why.
        source: crate::x509::keys::KeyError,
    },
    /// A certificate could not be issued (exit 1).
    #[error(transparent)]
    Issue(#[from] crate::x509::build::IssueError),
    /// Files could not be written (exit 1); nothing partial is left behind.
    #[error("{0} (nothing was written)")]
    Write(#[from] crate::fsio::WriteError),
    /// The CA directory's ledger cannot be used (exit 1).
    #[error(transparent)]
    Ledger(#[from] crate::ca::ledger::LedgerError),
    /// `dn` / `match-dn` found no usable certificate in the file (exit 1).
    #[error(transparent)]
    Inspect(#[from] crate::inspect::InspectError),
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Environment(_) => 2,
            _ => 1,
        }
    }
}

/// Result alias for commands.
pub type Result<T, E = Error> = std::result::Result<T, E>;
