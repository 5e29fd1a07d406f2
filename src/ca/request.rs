//! `pkitool request` on a host: a new private key written straight to its final place (0600, or
//! 0640 with a group, from the first byte) and a PKCS#10 request for it. The key never leaves
//! the host; only the request goes to the CA machine (`pkitool sign`).

use std::path::PathBuf;

use crate::Error;
use crate::fsio::{self, CERT_MODE, KEY_MODE, PlannedFile};
use crate::layout;
use crate::x509::build::San;
use crate::x509::csr::{self, Csr};
use crate::x509::keys::{self, KeyType};

/// Mode of a key a group may read (QEMU runs as its own user and reads its key through the
/// group).
pub const GROUP_KEY_MODE: u32 = 0o640;

/// What to make and where.
#[derive(Debug, Clone)]
pub struct KeyRequest {
    /// Server or client (decides nothing in the request itself; kept for the report).
    pub role: layout::Role,
    /// The subject Name DER, copied into the request as it is.
    pub subject_der: Vec<u8>,
    /// SANs for the extensionRequest.
    pub sans: Vec<San>,
    /// Key algorithm.
    pub key_type: KeyType,
    /// Where the key goes.
    pub key_path: PathBuf,
    /// Where the request goes.
    pub csr_path: PathBuf,
    /// Directories to create, with their modes.
    pub dirs: Vec<(PathBuf, u32)>,
    /// Group (name, gid) that may read the key.
    pub group: Option<(String, u32)>,
    /// Replace existing files.
    pub force: bool,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Requested {
    /// The key file.
    pub key_path: PathBuf,
    /// Its mode.
    pub key_mode: u32,
    /// "ECDSA P-256", ...
    pub key_desc: String,
    /// The group that may read it.
    pub group: Option<String>,
    /// The request file.
    pub csr_path: PathBuf,
    /// The request, read back.
    pub csr: Csr,
}

/// Generates the key, builds the request, writes both (all or nothing).
pub fn request(req: &KeyRequest) -> Result<Requested, Error> {
    let key = keys::generate(req.key_type).map_err(|e| Error::Key {
        context: "new key".into(),
        source: e,
    })?;
    let der =
        csr::build(&req.subject_der, &req.sans, &key).map_err(|e| Error::Failed(e.to_string()))?;
    let parsed = csr::parse_der(&der).map_err(|e| Error::Failed(e.to_string()))?;
    let key_mode = if req.group.is_some() {
        GROUP_KEY_MODE
    } else {
        KEY_MODE
    };
    let mut key_file = PlannedFile::new(&req.key_path, key_mode, keys::to_pem(&key).as_bytes());
    if let Some((_, gid)) = &req.group {
        key_file = key_file.with_group(*gid);
    }
    let files = vec![
        key_file,
        PlannedFile::new(&req.csr_path, CERT_MODE, csr::pem(&der).into_bytes()),
    ];
    fsio::write_tree(&req.dirs, &files, req.force)?;
    Ok(Requested {
        key_path: req.key_path.clone(),
        key_mode,
        key_desc: keys::describe(&key),
        group: req.group.as_ref().map(|(n, _)| n.clone()),
        csr_path: req.csr_path.clone(),
        csr: parsed,
    })
}
