//! The file names and directories libvirt and QEMU read their TLS credentials from.
//!
//! Sources: libvirt `src/rpc/virnettlsconfig.c` (system, user and pkipath layouts) and QEMU
//! `crypto/tlscredsx509.h` (the names inside a `tls-creds-x509` `dir`).

pub mod discover;
pub mod libvirtd_conf;
pub mod qemu_conf;

use std::path::{Path, PathBuf};

/// libvirt pkipath / system names.
pub mod libvirt {
    /// CA certificate bundle.
    pub const CA_CERT: &str = "cacert.pem";
    /// CA revocation list.
    pub const CA_CRL: &str = "cacrl.pem";
    /// Server certificate.
    pub const SERVER_CERT: &str = "servercert.pem";
    /// Server private key.
    pub const SERVER_KEY: &str = "serverkey.pem";
    /// Client certificate.
    pub const CLIENT_CERT: &str = "clientcert.pem";
    /// Client private key.
    pub const CLIENT_KEY: &str = "clientkey.pem";
    /// The system PKI base, relative to the root.
    pub const SYSTEM_PKI_DIR: &str = "etc/pki";
    /// The system CA directory, relative to the root.
    pub const SYSTEM_CA_DIR: &str = "etc/pki/CA";
    /// The system certificate directory, relative to the root.
    pub const SYSTEM_CERT_DIR: &str = "etc/pki/libvirt";
    /// The system private key directory, relative to the root.
    pub const SYSTEM_KEY_DIR: &str = "etc/pki/libvirt/private";
    /// The per-user directory, relative to `$HOME`.
    pub const USER_DIR: &str = ".pki/libvirt";
}

/// QEMU `tls-creds-x509` names.
pub mod qemu {
    /// CA certificate bundle.
    pub const CA_CERT: &str = "ca-cert.pem";
    /// CA revocation list (loaded by server endpoints only).
    pub const CA_CRL: &str = "ca-crl.pem";
    /// Server certificate.
    pub const SERVER_CERT: &str = "server-cert.pem";
    /// Server private key.
    pub const SERVER_KEY: &str = "server-key.pem";
    /// Client certificate.
    pub const CLIENT_CERT: &str = "client-cert.pem";
    /// Client private key.
    pub const CLIENT_KEY: &str = "client-key.pem";
    /// Diffie-Hellman parameters (optional, deprecated in QEMU 10.2).
    pub const DH_PARAMS: &str = "dh-params.pem";
    /// The default QEMU directory, relative to the root.
    pub const SYSTEM_DIR: &str = "etc/pki/qemu";
    /// Per-service directories libvirt falls back to when they exist, relative to the root.
    pub const SERVICE_DIRS: &[&str] = &[
        "etc/pki/libvirt-vnc",
        "etc/pki/libvirt-spice",
        "etc/pki/libvirt-chardev",
        "etc/pki/libvirt-migrate",
        "etc/pki/libvirt-backup",
        "etc/pki/libvirt-nbd",
    ];
}

/// Which end of a TLS connection a certificate serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A certificate authority.
    Ca,
    /// A TLS server.
    Server,
    /// A TLS client.
    Client,
}

impl Role {
    /// Lower-case name, as used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ca => "ca",
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

/// Joins a path that is absolute in the target system (`etc/pki/CA`) onto a root prefix.
pub fn under_root(root: &Path, rel: &str) -> PathBuf {
    root.join(rel.trim_start_matches('/'))
}
