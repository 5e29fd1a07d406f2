//! `pkitool issue server|client`: flags to a [`LeafRequest`], sign with the CA, print what was
//! written and where it goes.

use std::path::PathBuf;

use crate::ca::provision::{self, LeafInput, LeafRequest};
use crate::cli::{IssueArgs, LeafKind};
use crate::layout::libvirt;
use crate::x509::keys::KeyType;
use crate::{Error, prompt};

/// The plain subject/validity input of `issue`'s flags.
pub fn leaf_input(args: &IssueArgs) -> LeafInput {
    LeafInput {
        server: args.kind == LeafKind::Server,
        cn: args.cn.clone(),
        sans: args.sans.clone(),
        dn: args.dn.clone(),
        org: args.org.clone(),
        days: args.days,
        clamp_to_ca: args.clamp_to_ca,
    }
}

/// Runs `issue`.
pub fn run(args: &IssueArgs) -> Result<u8, Error> {
    let t = provision::load_template(args.template.as_deref())?;
    let spec = provision::leaf_spec(&leaf_input(args), t.as_ref())?;
    let ca_cert = args
        .ca_cert
        .clone()
        .unwrap_or_else(|| args.dir.join(libvirt::CA_CERT));
    let ca_key = args
        .ca_key
        .clone()
        .unwrap_or_else(|| args.dir.join("cakey.pem"));
    let password_file = args.password_file.clone();
    let ca = provision::load_ca(&ca_cert, &ca_key, || {
        prompt::password(password_file.as_deref(), "the CA key", false)
    })?;
    let ca_dir = match &args.ca_cert {
        Some(p) => match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        },
        None => args.dir.clone(),
    };
    let req = LeafRequest {
        ca_cert,
        ca_key,
        ca_password: None,
        spec,
        key_type: args.key_type.map(KeyType::from).unwrap_or_default(),
        out: args.out.clone().unwrap_or_else(|| args.dir.clone()),
        dir: ca_dir,
        layout: super::layout_of(args.layout),
        root: args.root.clone(),
        force: args.force,
    };
    let mut outcome = provision::issue(&req, &ca)?;
    if let Some(t) = &t {
        outcome.warnings.extend(t.warnings.iter().cloned());
    }
    super::print_provisioned(&outcome)
}
