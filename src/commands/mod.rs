//! One file per subcommand: clap arguments in, a plain domain request, the domain call, the
//! rendering, the exit status.

pub mod crl;
pub mod list;
pub mod renew;
pub mod revoke;

use crate::Error;

/// Maps a stdout write error.
pub(crate) fn out_err(e: std::io::Error) -> Error {
    Error::Environment(format!("cannot write to stdout: {e}"))
}
