//! qemu.conf's `*_tls_x509_verify` for a QEMU directory (PKI-Q03, PKI-Q04): whether QEMU's TLS
//! server for a service demands a client certificate (`tls-creds-x509,verify-peer=yes`).
//!
//! - verify on, migration: the destination QEMU verifies the source QEMU's client certificate,
//!   which libvirt loads from the same directory (`client-cert.pem`/`client-key.pem`); a
//!   source without one is refused ("Verify failed: No certificate was found."): an error
//!   where migration is set up to use the directory (`migrate_tls_x509_cert_dir`, an existing
//!   `/etc/pki/libvirt-migrate`) or always uses TLS (`migrate_tls_force = 1`), a note when the
//!   directory is only the shared default.
//!   Whether it chains is checked with the directory's client identity.
//! - verify off: QEMU admits every client that completes the handshake; a missing client
//!   certificate is no problem, but anyone who reaches the port can connect: a warning, when
//!   the service uses TLS (`vnc_tls`/`chardev_tls` = 1; migration and backup use TLS when asked
//!   and verify by default, so a 0 there is always a choice someone made).

use super::issue_target;
use crate::check::finding::{FRole, Finding, Severity};
use crate::layout::discover::{Layout, LayoutKind};
use crate::layout::qemu_conf::Service;

/// Does the service use TLS at all? (`vnc_tls`, `chardev_tls` default off.)
fn uses_tls(s: &Service) -> bool {
    match s.name {
        "vnc" | "chardev" => s.tls == Some(true),
        _ => true,
    }
}

/// The setting's name and value as written, for messages.
fn setting(s: &Service, on: bool) -> String {
    if s.verify_source == "libvirt's default" {
        format!(
            "{}_tls_x509_verify unset: libvirt's default {}",
            s.name,
            u8::from(on)
        )
    } else {
        format!("{} = {}", s.verify_source, u8::from(on))
    }
}

/// Checks the layout's services against its files; findings replaced here (the S04 note for a
/// client identity that the migration needs) are dropped from `out`.
pub fn check(layout: &Layout, out: &mut Vec<Finding>) {
    if layout.kind != LayoutKind::Qemu {
        return;
    }
    let client = layout
        .identities
        .iter()
        .find(|i| i.role == crate::layout::Role::Client && i.index.is_none());
    for s in &layout.verify {
        let Some(on) = s.verify else { continue };
        if on && s.name == "migrate" {
            let Some(id) = client else { continue };
            if super::files::exists(&id.cert) || super::files::exists(&id.key) {
                // Present: the identity checks judge it (chain, key, dates, ...).
                continue;
            }
            out.retain(|f| !(f.code == "PKI-S04" && f.path.as_deref() == Some(id.cert.as_path())));
            let cn = server_cn(layout).unwrap_or_else(|| "NAME".into());
            // An error where migration is set up to use this directory (its own
            // migrate_tls_x509_cert_dir or /etc/pki/libvirt-migrate) or always uses TLS
            // (migrate_tls_force); the shared default directory may never migrate with TLS.
            let meant = s.explicit || s.source.starts_with("the existing") || s.tls == Some(true);
            let why = "libvirt gives the source QEMU this directory's client-cert.pem/client-key.pem and the destination QEMU verify-peer=yes; without a client certificate the destination refuses the migration: \"Verify failed: No certificate was found.\"";
            out.push(
                Finding::new(
                    "PKI-Q03",
                    if meant { Severity::Error } else { Severity::Note },
                    format!(
                        "migration verifies client certificates ({}), and there is no client certificate: {} is missing",
                        setting(s, on),
                        id.cert.display()
                    ),
                )
                .path(&id.cert)
                .role(FRole::Client)
                .why(if meant {
                    why.to_string()
                } else {
                    format!("{why}. A note: migration uses this directory only as qemu.conf's default ({}), so only TLS migrations from this host (virsh migrate --tls) fail", s.source)
                })
                .fix(format!(
                    "pkitool issue client --cn {} {}",
                    crate::quoting::shell_quote(&cn),
                    issue_target(&id.cert)
                )),
            );
        } else if !on && uses_tls(s) {
            out.push(
                Finding::new(
                    "PKI-Q04",
                    Severity::Warning,
                    format!(
                        "{}: QEMU's TLS server does not ask for client certificates ({})",
                        s.name,
                        setting(s, on)
                    ),
                )
                .path(&layout.dir)
                .why(match s.name {
                    "vnc" => "QEMU runs verify-peer=no: anyone who reaches the VNC port completes the TLS handshake, and only VNC's own authentication (password, SASL), if any, stands in the way",
                    "migrate" => "QEMU runs verify-peer=no: anyone who reaches a destination's migration port can send it a migration stream",
                    _ => "QEMU runs verify-peer=no: anyone who reaches the port completes the TLS handshake and can connect",
                })
                .fix(format!(
                    "set {}_tls_x509_verify = 1 in qemu.conf (its clients then need a client certificate from this CA)",
                    s.name
                )),
            );
        }
    }
}

/// The CN of the directory's server certificate (the same host's name for its client
/// certificate), when it can be read.
fn server_cn(layout: &Layout) -> Option<String> {
    let id = layout
        .identities
        .iter()
        .find(|i| i.role == crate::layout::Role::Server && i.index.is_none())?;
    let bytes = std::fs::read(&id.cert).ok()?;
    let contents = crate::x509::load::parse(&bytes).ok()?;
    let der = contents.certificates().next()?.der.clone();
    let (_, c) = x509_parser::parse_x509_certificate(&der).ok()?;
    c.subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &'static str, verify: bool, tls: Option<bool>, src: &'static str) -> Service {
        Service {
            name,
            dir: "/etc/pki/qemu".into(),
            source: "libvirt's default".into(),
            explicit: false,
            verify: Some(verify),
            secret: None,
            tls,
            verify_source: src,
        }
    }

    #[test]
    fn verify_off_warns_only_where_tls_is_used() {
        let t = tempfile::tempdir().unwrap();
        let mut l = crate::layout::discover::qemu_dir(t.path(), true);
        l.verify = vec![
            svc("vnc", false, None, "libvirt's default"),
            svc("chardev", false, Some(true), "chardev_tls_x509_verify"),
            svc("backup", false, None, "default_tls_x509_verify"),
        ];
        let mut out = Vec::new();
        check(&l, &mut out);
        let msgs: Vec<&str> = out.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(out.len(), 2, "{msgs:?}");
        assert!(msgs[0].starts_with("chardev:") && msgs[0].contains("chardev_tls_x509_verify = 0"));
        assert!(msgs[1].starts_with("backup:") && msgs[1].contains("default_tls_x509_verify = 0"));
        assert!(
            out.iter()
                .all(|f| f.code == "PKI-Q04" && f.severity == Severity::Warning)
        );
    }

    #[test]
    fn migration_with_verify_needs_the_client_certificate() {
        let t = tempfile::tempdir().unwrap();
        let mut l = crate::layout::discover::qemu_dir(t.path(), true);
        l.verify = vec![svc("migrate", true, None, "libvirt's default")];
        let mut out = Vec::new();
        check(&l, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code, "PKI-Q03");
        assert_eq!(out[0].severity, Severity::Note);
        l.verify[0].explicit = true;
        let mut out = Vec::new();
        check(&l, &mut out);
        assert_eq!(out[0].severity, Severity::Error);
        l.verify[0].explicit = false;
        l.verify[0].tls = Some(true);
        let mut out = Vec::new();
        check(&l, &mut out);
        assert_eq!(out[0].severity, Severity::Error);
        assert!(
            out[0]
                .message
                .contains("migrate_tls_x509_verify unset: libvirt's default 1")
        );
        std::fs::write(t.path().join("client-cert.pem"), "x").unwrap();
        let mut out = Vec::new();
        check(&l, &mut out);
        assert!(out.is_empty());
    }
}
