//! One file per subcommand: clap arguments in, a plain domain request out, the domain call, the
//! rendering and the exit status.

pub mod request;
pub mod sign;
