//! `pkitool init-ca`: flags to a [`CaRequest`], create the CA, print what was written.

use crate::ca::provision::{self, CaInput, CaRequest};
use crate::cli::InitCaArgs;
use crate::layout::libvirt;
use crate::x509::keys::KeyType;
use crate::{Error, prompt};

/// Runs `init-ca`.
pub fn run(args: &InitCaArgs) -> Result<u8, Error> {
    let t = provision::load_template(args.template.as_deref())?;
    let input = CaInput {
        cn: args.cn.clone(),
        org: args.org.clone(),
        days: args.days,
    };
    let mut spec = provision::ca_spec(&input, t.as_ref())?;
    if let Some(n) = args.path_len {
        if args.parent.is_some() && n != 0 {
            return Err(Error::Usage(format!(
                "--path-len {n} conflicts with --parent: an intermediate CA has pathLen 0 (it signs leaves only)"
            )));
        }
        spec.profile = crate::x509::build::Profile::Ca { path_len: Some(n) };
    }
    let password = if args.encrypt_key {
        Some(prompt::password(
            args.password_file.as_deref(),
            "the new CA key",
            true,
        )?)
    } else {
        if args.password_file.is_some() {
            return Err(Error::Usage(
                "--password-file is only used with --encrypt-key".into(),
            ));
        }
        None
    };
    let mut req = CaRequest {
        dir: args.dir.clone(),
        spec,
        key_type: args.key_type.map(KeyType::from).unwrap_or_default(),
        password,
        force: args.force,
    };
    let mut outcome = match &args.parent {
        Some(parent) => {
            if let Some(n) = t
                .as_ref()
                .and_then(|t| t.path_len)
                .filter(|n| *n != Some(0))
            {
                let n = n.map_or("-1 (no limit)".to_string(), |n| n.to_string());
                return Err(Error::Usage(format!(
                    "the template's path_len {n} conflicts with --parent: an intermediate CA has pathLen 0"
                )));
            }
            // Without an explicit lifetime the intermediate ends with its parent at the latest.
            req.spec.clamp_to_ca = args.days.is_none()
                && t.as_ref()
                    .is_none_or(|t| t.expiration_days.is_none() && t.expiration_date.is_none());
            let parent_cert = parent.join(libvirt::CA_CERT);
            let ppw = args.parent_password_file.clone();
            let parent_key = parent.join("cakey.pem");
            super::recover_ca(&parent_cert, &parent_key)?;
            let ca = provision::load_ca(&parent_cert, &parent_key, || {
                prompt::password(ppw.as_deref(), "the parent CA key", false)
            })?;
            crate::ca::sign::create_intermediate(&req, &ca, &parent_cert)?
        }
        None => provision::create_ca(&req)?,
    };
    if let Some(t) = &t {
        outcome.warnings.extend(t.warnings.iter().cloned());
    }
    let status = super::print_provisioned(&outcome)?;
    if args.parent.is_some() {
        use std::io::Write;
        writeln!(
            anstream::stdout().lock(),
            "{} holds the intermediate followed by its parent: deploy it whole as the CA file (issue copies it as it is).",
            args.dir.join(libvirt::CA_CERT).display()
        )
        .map_err(|e| Error::Environment(format!("cannot write to stdout: {e}")))?;
    }
    Ok(status)
}
