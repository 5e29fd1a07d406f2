//! pkitool: provision and validate the TLS certificates libvirt and QEMU use.
//!
//! The binary (`src/main.rs`) only parses the command line and calls [`run`]. Modules are named
//! by domain:
//!
//! - [`cli`]: the clap definitions (the command-line contract).
//! - [`fsio`]: bounded, safe reads and atomic, permission-safe writes.
//! - [`load`]: what a file holds (PEM/DER sniffing, object classification).
//! - [`dn`]: distinguished names as GnuTLS, libvirt and QEMU print and compare them.
//! - [`layout`]: the file names and directories libvirt and QEMU read.
//! - [`report`]: terminal output helpers shared by the commands.

#![forbid(unsafe_code)]

pub mod ca;
pub mod check;
pub mod cli;
pub mod commands;
pub mod consumer;
pub mod error;
pub mod fsio;
pub mod inspect;
pub mod layout;
pub mod prompt;
pub mod report;
pub mod validate;
pub mod x509;

pub use error::{Error, Result};

use cli::{Cli, Command};

/// Run one command. Returns the exit status on success (0, or 1 when `validate` found problems).
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::InitCa(args) => ca::provision::cmd_init_ca(&args),
        Command::Issue(args) => ca::provision::cmd_issue(&args),
        Command::Request(args) => commands::request::run(&args),
        Command::Sign(args) => commands::sign::run(&args),
        Command::Template(cmd) => ca::provision::cmd_template(&cmd),
        Command::Validate(args) => validate::run(&args),
        Command::Dn(args) => inspect::run_dn(&args),
        Command::Show(args) => inspect::run_show(&args),
        Command::MatchDn(args) => inspect::run_match_dn(&args),
    }
}
