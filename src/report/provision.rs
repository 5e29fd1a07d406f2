//! What `init-ca` and `issue` print: each file written (path, mode, subject, SANs, validity,
//! SHA-256 fingerprint), where it goes on the hosts, and for a client the DN in every form
//! libvirt and QEMU are configured with ([`DnForms`]).

use std::io::Write;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::ca::provision::{Outcome, WrittenKind};
use crate::layout;
use crate::quoting::DnForms;
use crate::quoting::terminal::{escape as esc, path as term_path};
use crate::x509::idn;

/// SHA-256 fingerprint as `AB:CD:...`.
pub fn fingerprint(der: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Facts about a certificate for printing.
#[derive(Debug, Clone)]
pub struct CertFacts {
    /// Subject as GnuTLS prints it (libvirt/QEMU's order).
    pub subject: String,
    /// Issuer, same format.
    pub issuer: String,
    /// SANs.
    pub sans: Vec<String>,
    /// notBefore.
    pub not_before: String,
    /// notAfter.
    pub not_after: String,
    /// SHA-256 fingerprint.
    pub sha256: String,
}

/// Extracts [`CertFacts`] from DER.
pub fn cert_facts(der: &[u8]) -> Option<CertFacts> {
    let (_, c) = X509Certificate::from_der(der).ok()?;
    let mut sans = Vec::new();
    for ext in c.iter_extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            for n in &san.general_names {
                sans.push(match n {
                    GeneralName::DNSName(d) => format!("DNS:{d}"),
                    GeneralName::IPAddress(b) => match b.len() {
                        4 => format!(
                            "IP:{}",
                            std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).ok()?)
                        ),
                        16 => format!(
                            "IP:{}",
                            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).ok()?)
                        ),
                        _ => "IP:?".into(),
                    },
                    GeneralName::RFC822Name(e) => format!("email:{e}"),
                    GeneralName::URI(u) => format!("URI:{u}"),
                    other => format!("{other}"),
                });
            }
        }
    }
    let v = c.validity();
    Some(CertFacts {
        subject: crate::x509::dn::format_gnutls(c.subject()),
        issuer: crate::x509::dn::format_gnutls(c.issuer()),
        sans,
        not_before: crate::x509::build::fmt_time(v.not_before.to_datetime()),
        not_after: crate::x509::build::fmt_time(v.not_after.to_datetime()),
        sha256: fingerprint(der),
    })
}

/// Prints what was written and where it goes.
pub fn print_outcome(out: &mut impl Write, o: &Outcome) -> std::io::Result<()> {
    for w in &o.warnings {
        writeln!(out, "warning: {}", esc(w))?;
    }
    let leaf_dn = print_files(out, o)?;
    for n in &o.notes {
        writeln!(out, "  {n}")?;
    }
    writeln!(out)?;
    print_destinations(out, o.role, o.qemu_group_hint.as_deref())?;
    if o.role == layout::Role::Client
        && let Some(dn) = leaf_dn
    {
        print_dn_forms(out, &dn)?;
    }
    Ok(())
}

/// Each file written: path, mode, and what it holds. Returns the subject of the leaf
/// certificate written, if any.
fn print_files(out: &mut impl Write, o: &Outcome) -> std::io::Result<Option<String>> {
    let role = match o.role {
        layout::Role::Ca => "CA",
        layout::Role::Server => "server",
        layout::Role::Client => "client",
    };
    writeln!(out, "Wrote the {role} files:")?;
    let mut leaf_dn = None;
    for f in &o.files {
        let state = if f.unchanged {
            " (already there, identical)"
        } else {
            ""
        };
        let owner = f
            .owner
            .as_deref()
            .map(|o| format!(" {}", esc(o)))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}  mode {:04o}{owner}{state}",
            term_path(&f.path),
            f.mode
        )?;
        match &f.what {
            WrittenKind::Key(desc) => writeln!(out, "    private key: {desc}")?,
            WrittenKind::Cert(der) => {
                let Some(facts) = cert_facts(der) else {
                    continue;
                };
                writeln!(out, "    subject:  {}", esc(&facts.subject))?;
                if facts.issuer != facts.subject {
                    writeln!(out, "    issuer:   {}", esc(&facts.issuer))?;
                }
                if !facts.sans.is_empty() {
                    let sans: Vec<String> = facts
                        .sans
                        .iter()
                        .map(|s| match s.strip_prefix("DNS:").and_then(idn::to_unicode) {
                            Some(u) => format!("{s} ({u})"),
                            None => s.clone(),
                        })
                        .collect();
                    writeln!(out, "    SANs:     {}", esc(&sans.join(", ")))?;
                }
                writeln!(
                    out,
                    "    valid:    {} to {}",
                    facts.not_before, facts.not_after
                )?;
                writeln!(out, "    SHA-256:  {}", facts.sha256)?;
                let is_leaf_cert = X509Certificate::from_der(der).is_ok_and(|(_, c)| !c.is_ca());
                if is_leaf_cert {
                    leaf_dn = Some(facts.subject);
                }
            }
        }
    }
    Ok(leaf_dn)
}

/// Where the files of this role go on the hosts.
fn print_destinations(
    out: &mut impl Write,
    role: layout::Role,
    qemu_group: Option<&str>,
) -> std::io::Result<()> {
    // A hint never names a group this machine does not have.
    let key_hint = match qemu_group {
        Some(g) => format!(
            "           (QEMU runs unprivileged: its key must be root:{g} 0640, pkitool issue ... --group {g})"
        ),
        None => "           (QEMU runs unprivileged: its key must be readable by qemu.conf's `group`, pkitool issue ... --group GROUP)".to_string(),
    };
    let lines: &[&str] = match role {
        layout::Role::Ca => &[
            "Install the CA certificate on every server and client:",
            "  libvirt: /etc/pki/CA/cacert.pem (0644), or ~/.pki/libvirt/cacert.pem",
            "  QEMU:    /etc/pki/qemu/ca-cert.pem (0644), or ca-cert.pem in the tls-creds-x509 dir",
            "Keep cakey.pem on this machine only.",
        ],
        layout::Role::Server => &[
            "On the server host:",
            "  libvirt: /etc/pki/CA/cacert.pem (0644), /etc/pki/libvirt/servercert.pem (0644),",
            "           /etc/pki/libvirt/private/serverkey.pem (0600)",
            "  QEMU:    /etc/pki/qemu/ca-cert.pem, server-cert.pem, server-key.pem",
            &key_hint,
        ],
        layout::Role::Client => &[
            "On the client host:",
            "  libvirt: /etc/pki/CA/cacert.pem, /etc/pki/libvirt/clientcert.pem,",
            "           /etc/pki/libvirt/private/clientkey.pem; or ~/.pki/libvirt/{cacert,clientcert,clientkey}.pem;",
            "           or one directory named by ?pkipath=DIR in the URI",
            "  QEMU:    ca-cert.pem, client-cert.pem, client-key.pem in the tls-creds-x509 dir (endpoint=client)",
        ],
    };
    for l in lines {
        writeln!(out, "{l}")?;
    }
    Ok(())
}

/// The client DN and the lines that admit it, from the one renderer ([`DnForms`]).
fn print_dn_forms(out: &mut impl Write, dn: &str) -> std::io::Result<()> {
    let forms = DnForms::of(dn);
    writeln!(out)?;
    writeln!(out, "Client DN, exactly as libvirt and QEMU compare it:")?;
    writeln!(out, "  {}", esc(&forms.dn))?;
    writeln!(out, "libvirtd.conf on the server:")?;
    writeln!(out, "  {}", esc(&forms.libvirtd_conf))?;
    if let Some(note) = &forms.libvirtd_note {
        writeln!(out, "  (note: {note})")?;
    }
    writeln!(
        out,
        "QEMU authorization (server side), command line and QMP:"
    )?;
    writeln!(out, "  {}", esc(&forms.qemu_object))?;
    writeln!(out, "  {}", esc(&forms.qmp))?;
    Ok(())
}
