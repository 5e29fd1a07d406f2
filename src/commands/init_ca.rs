//! `pkitool init-ca`: flags to a [`CaRequest`], create the CA, print what was written.

use crate::ca::provision::{self, CaInput, CaRequest};
use crate::cli::InitCaArgs;
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
    let spec = provision::ca_spec(&input, t.as_ref())?;
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
    let req = CaRequest {
        dir: args.dir.clone(),
        spec,
        key_type: args.key_type.map(KeyType::from).unwrap_or_default(),
        password,
        force: args.force,
    };
    let mut outcome = provision::create_ca(&req)?;
    if let Some(t) = &t {
        outcome.warnings.extend(t.warnings.iter().cloned());
    }
    super::print_provisioned(&outcome)
}
