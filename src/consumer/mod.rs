//! What libvirt and QEMU accept: the one model every command asks.
//!
//! - [`version`]: the consumers and the versions judged ([`Consumers`], `--consumers`).
//! - [`rules`]: what a CA, server or client certificate must satisfy per consumer and version,
//!   with each consumer's own message ([`rules::judge`]); bundle and file-size limits.
//! - [`gnutls`]: what GnuTLS itself refuses before libvirt's and QEMU's rules (SAN import
//!   checks) and how it maps host names (IDNA).
//! - [`hostname`]: host-name matching as GnuTLS does it for libvirt's and QEMU's clients.
//! - [`allowlist`]: libvirt's `tls_allowed_dn_list` glob (and QEMU authz) against a DN, with the
//!   near-miss explanations.

pub mod allowlist;
pub mod gnutls;
pub mod hostname;
pub mod qemu_user;
pub mod rules;
pub mod version;

pub use version::{Consumer, Consumers, Version};
