//! `pkitool revoke`.

use std::io::Write;

use crate::Result;
use crate::ca::ledger::Reason;
use crate::ca::revoke::{RevokeRequest, revoke};
use crate::cli::{ReasonArg, RevokeArgs};
use crate::quoting::shell_quote;

use super::out_err;

/// The domain reason of a `--reason` value.
pub fn reason(r: ReasonArg) -> Reason {
    match r {
        ReasonArg::Unspecified => Reason::Unspecified,
        ReasonArg::KeyCompromise => Reason::KeyCompromise,
        ReasonArg::CaCompromise => Reason::CaCompromise,
        ReasonArg::AffiliationChanged => Reason::AffiliationChanged,
        ReasonArg::Superseded => Reason::Superseded,
        ReasonArg::CessationOfOperation => Reason::CessationOfOperation,
    }
}

/// Runs `revoke`.
pub fn run(args: &RevokeArgs) -> Result<u8> {
    let out = revoke(&RevokeRequest {
        ca_dir: args.dir.clone(),
        targets: args.targets.clone(),
        reason: reason(args.reason),
        unlisted: args.unlisted,
    })?;
    for n in &out.notes {
        eprintln!("note: {n}");
    }
    let mut o = anstream::stdout().lock();
    for r in &out.revoked {
        writeln!(
            o,
            "Revoked serial {} ({}), reason {}, at {}",
            r.serial,
            r.subject.as_deref().unwrap_or("subject unknown"),
            r.reason.as_str(),
            r.revoked_at
        )
        .map_err(out_err)?;
    }
    for r in &out.already {
        writeln!(
            o,
            "Already revoked: serial {} (reason {}, at {}); nothing recorded",
            r.serial,
            r.reason.as_str(),
            r.revoked_at
        )
        .map_err(out_err)?;
    }
    writeln!(o).map_err(out_err)?;
    writeln!(
        o,
        "Revocation takes effect when the peers load a new CRL. Write it:"
    )
    .map_err(out_err)?;
    writeln!(
        o,
        "  pkitool crl --dir {}",
        shell_quote(&args.dir.to_string_lossy())
    )
    .map_err(out_err)?;
    Ok(0)
}
