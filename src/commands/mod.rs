//! The command-line layer: one module per subcommand. Each takes its clap arguments
//! ([`crate::cli`]), builds the plain request the domain takes, calls it, renders the result and
//! returns the exit status. Nothing below this layer knows clap.

pub mod completions;
pub mod crl;
pub mod dn;
pub mod init_ca;
pub mod issue;
pub mod list;
pub mod man;
pub mod match_dn;
pub mod probe;
pub mod renew;
pub mod request;
pub mod revoke;
pub mod show;
pub mod sign;
pub mod template;
pub mod validate;

use crate::ca::provision::Outcome;
use crate::cli::{Cli, Command, KeyTypeArg};
use crate::x509::keys::KeyType;
use crate::{Error, Result};

/// Runs one command. Returns the exit status on success (0, or 1 when `validate` found
/// problems).
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::InitCa(args) => init_ca::run(&args),
        Command::Issue(args) => issue::run(&args),
        Command::Request(args) => request::run(&args),
        Command::Sign(args) => sign::run(&args),
        Command::Template(cmd) => template::run(&cmd),
        Command::Validate(args) => validate::run(&args),
        Command::Dn(args) => dn::run(&args),
        Command::Show(args) => show::run(&args),
        Command::MatchDn(args) => match_dn::run(&args),
        Command::List(args) => list::run(&args),
        Command::Renew(args) => renew::run(&args),
        Command::Revoke(args) => revoke::run(&args),
        Command::Crl(args) => crl::run(&args),
        Command::Probe(args) => probe::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
    }
}

/// Maps a stdout write error.
pub(crate) fn out_err(e: std::io::Error) -> Error {
    Error::Environment(format!("cannot write to stdout: {e}"))
}

impl From<KeyTypeArg> for KeyType {
    fn from(arg: KeyTypeArg) -> Self {
        match arg {
            KeyTypeArg::EcdsaP256 => KeyType::EcdsaP256,
            KeyTypeArg::EcdsaP384 => KeyType::EcdsaP384,
            KeyTypeArg::Ed25519 => KeyType::Ed25519,
            KeyTypeArg::Rsa2048 => KeyType::Rsa2048,
            KeyTypeArg::Rsa3072 => KeyType::Rsa3072,
            KeyTypeArg::Rsa4096 => KeyType::Rsa4096,
        }
    }
}

/// Prints a provisioning outcome on stdout; exit status 0.
/// Completes an interrupted `init-ca` in the directory of the CA files before they are read
/// ([`crate::ca::provision::recover_ca_dirs`]), saying so on stderr.
fn recover_ca(cert: &std::path::Path, key: &std::path::Path) -> Result<()> {
    for n in crate::ca::provision::recover_ca_dirs(cert, key)? {
        eprintln!("note: {n}");
    }
    Ok(())
}

fn print_provisioned(outcome: &Outcome) -> Result<u8> {
    crate::report::provision::print_outcome(&mut anstream::stdout().lock(), outcome)
        .map_err(|e| Error::Environment(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}

/// The naming scheme `--layout` names.
fn layout_of(a: crate::cli::LayoutArg) -> crate::ca::provision::Layout {
    use crate::ca::provision::Layout;
    match a {
        crate::cli::LayoutArg::Flat => Layout::Flat,
        crate::cli::LayoutArg::Qemu => Layout::Qemu,
        crate::cli::LayoutArg::Libvirt => Layout::Libvirt,
    }
}
