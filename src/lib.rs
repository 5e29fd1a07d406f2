//! pkitool: provision and validate the TLS certificates libvirt and QEMU use.
//!
//! The binary (`src/main.rs`) parses the command line with [`cli`] and hands it to
//! [`commands::run`]. Each command translates its flags into a plain request of the domain,
//! calls it, and renders the result; only `cli`, `commands` and `main.rs` know clap. The domain
//! is layered: a module uses the ones below it, never one above.
//!
//! | layer | module | what lives there |
//! |---|---|---|
//! | command line | [`cli`] | the clap definitions: every flag, once (the man pages come from here) |
//! | | [`commands`] | one file per subcommand: flags in, domain call, output, exit status |
//! | output | [`report`] | findings as text and JSON, `show`'s text, provisioning summaries, `probe`'s report |
//! | operations | [`check`] | every check of `validate`, findings with stable codes ([`check::finding`]), [`check::validate`] |
//! | | [`ca`] | create and load CAs, issue leaves, certtool `.info` templates |
//! | | [`inspect`] | what a file holds, described (`show`, `dn`) |
//! | | [`probe`] | `probe`: reach a live endpoint's TLS handshake (NBD STARTTLS, VeNCrypt, libvirt), capture the chain, judge it with [`check`] |
//! | consumers | [`consumer`] | what libvirt and QEMU accept, per version: [`consumer::rules`], allow-list matching |
//! | | [`layout`] | where libvirt and QEMU look: file names, discovery, libvirtd.conf |
//! | objects | [`x509`] | DER, DNs, loading files, keys, the certificate builder |
//! | base | [`quoting`] | shell, libvirtd.conf, QEMU option and QMP quoting |
//! | | [`fsio`], [`prompt`], [`error`] | bounded reads and atomic writes, TTY prompts, errors |
//! | | [`journal`] | the interrupted-set journal: a killed write is completed by the next run |

#![forbid(unsafe_code)]

pub mod ca;
pub mod check;
pub mod cli;
pub mod commands;
pub mod consumer;
pub mod error;
pub mod fsio;
pub mod hardening;
pub mod inspect;
pub mod journal;
pub mod layout;
pub mod probe;
pub mod prompt;
pub mod quoting;
pub mod report;
pub mod x509;

pub use commands::run;
pub use error::{Error, Result};
