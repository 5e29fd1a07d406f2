//! `pkitool crl`.

use std::io::Write;
use std::path::PathBuf;

use crate::ca::provision::load_ca;
use crate::ca::revoke::{CrlRequest, write_crl};
use crate::cli::{CrlArgs, CrlLayoutArg};
use crate::layout::{self, libvirt, qemu};
use crate::x509::build;
use crate::{Result, prompt};

use super::out_err;

/// Runs `crl`.
pub fn run(args: &CrlArgs) -> Result<u8> {
    let mut outputs: Vec<PathBuf> = args.out.clone();
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    match args.layout {
        Some(CrlLayoutArg::Libvirt) => {
            outputs.push(layout::under_root(&root, libvirt::SYSTEM_CA_DIR).join(libvirt::CA_CRL))
        }
        Some(CrlLayoutArg::Qemu) => {
            outputs.push(layout::under_root(&root, qemu::SYSTEM_DIR).join(qemu::CA_CRL))
        }
        None => {}
    }
    if outputs.is_empty() {
        outputs.push(args.dir.join(libvirt::CA_CRL));
    }
    let ca_cert = args.dir.join(libvirt::CA_CERT);
    let ca_key = args.dir.join("cakey.pem");
    super::recover_ca(&ca_cert, &ca_key)?;
    let pw = args.password_file.clone();
    let outcome = write_crl(
        &CrlRequest {
            ca_dir: args.dir.clone(),
            days: args.days,
            outputs,
        },
        || {
            load_ca(&ca_cert, &ca_key, || {
                prompt::password(pw.as_deref(), "the CA key", false)
            })
        },
    )?;
    for n in &outcome.notes {
        eprintln!("note: {n}");
    }
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    let mut o = anstream::stdout().lock();
    writeln!(
        o,
        "Wrote CRL number {} ({} revoked serial{}; next update {}):",
        outcome.number,
        outcome.revoked,
        if outcome.revoked == 1 { "" } else { "s" },
        build::fmt_time(outcome.next_update)
    )
    .map_err(out_err)?;
    for p in &outcome.outputs {
        writeln!(o, "  {}", p.display()).map_err(out_err)?;
    }
    if outcome.expired_dropped > 0 {
        writeln!(
            o,
            "({} revoked certificate{} already expired and left out)",
            outcome.expired_dropped,
            if outcome.expired_dropped == 1 {
                " has"
            } else {
                "s have"
            }
        )
        .map_err(out_err)?;
    }
    writeln!(o).map_err(out_err)?;
    writeln!(o, "Deploy it and reload the consumers:").map_err(out_err)?;
    writeln!(
        o,
        "  libvirtd: as /etc/pki/CA/cacrl.pem (crl_file), then: virt-admin server-update-tls libvirtd\n            (it re-reads only the /etc/pki system paths; a libvirtd.conf naming other files needs a restart)"
    )
    .map_err(out_err)?;
    writeln!(
        o,
        "  QEMU:     as ca-crl.pem in each server tls-creds-x509 directory (e.g. /etc/pki/qemu); read when the TLS object is created: the next migration, QMP display-reload for VNC, a restart for qemu-nbd"
    )
    .map_err(out_err)?;
    writeln!(
        o,
        "Write it again before {} (nextUpdate), e.g. daily from cron.",
        build::fmt_time(outcome.next_update)
    )
    .map_err(out_err)?;
    Ok(0)
}
