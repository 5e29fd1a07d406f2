//! One module per subcommand: clap arguments in, a plain request to the domain, render, exit
//! status. clap and its generators are used only here, in `cli.rs` and in `main.rs`.

pub mod completions;
pub mod man;
