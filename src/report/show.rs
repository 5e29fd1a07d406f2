//! `pkitool show`'s text form (the JSON form is the serialised [`crate::inspect::ShowReport`]).

use crate::inspect::{CertInfo, FileReport, ObjectEntry, ObjectInfo, RoleVerdict, RolesByConsumer};
use crate::quoting::terminal::escape as esc;

fn human_date(rfc: &str) -> String {
    // 2026-11-22T10:16:19Z -> 2026-11-22 10:16:19 UTC
    match rfc.strip_suffix('Z') {
        Some(s) => format!("{} UTC", s.replacen('T', " ", 1)),
        None => rfc.to_string(),
    }
}

fn time_left(c: &CertInfo) -> String {
    match c.status {
        "expired" => {
            let ago = -c.days_left;
            if ago == 0 {
                "expired today".into()
            } else {
                format!("expired {ago} day{} ago", plural(ago))
            }
        }
        "not_yet_valid" => "not valid yet".into(),
        _ => {
            if c.days_left == 0 {
                "expires within a day".into()
            } else {
                format!("{} day{} left", c.days_left, plural(c.days_left))
            }
        }
    }
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn crit(critical: bool) -> &'static str {
    if critical { "critical" } else { "not critical" }
}

fn verdict(v: &RoleVerdict) -> String {
    match (v.ok, v.notes.is_empty()) {
        (true, true) => "yes".to_string(),
        (true, false) => format!("yes, but {}", v.notes.join("; ")),
        (false, true) => "no".to_string(),
        (false, false) => format!("no: {}", v.notes.join("; ")),
    }
}

/// One line per role; libvirt and QEMU on one line when they agree.
fn render_roles(s: &mut String, r: &RolesByConsumer) {
    for (name, l, q) in [
        ("as CA", &r.libvirt.ca, &r.qemu.ca),
        ("as TLS server", &r.libvirt.server, &r.qemu.server),
        ("as TLS client", &r.libvirt.client, &r.qemu.client),
    ] {
        let (lv, qv) = (verdict(l), verdict(q));
        if lv == qv {
            field(s, name, &format!("{lv} (libvirt, QEMU)"));
        } else {
            field(s, name, &format!("libvirt {lv}"));
            field(s, "", &format!("QEMU {qv}"));
        }
    }
}

pub fn render_text(files: &[FileReport]) -> String {
    let bold = anstyle::Style::new().bold();
    let mut s = String::new();
    for (fi, f) in files.iter().enumerate() {
        if fi > 0 {
            s.push('\n');
        }
        if f.error.is_some() {
            // Reported once, on stderr, by the command.
            continue;
        }
        let n = f.objects.len();
        s.push_str(&format!(
            "{bold}{}{bold:#}: {} ({n} object{})\n",
            esc(&f.path),
            f.encoding.unwrap_or("?").to_uppercase(),
            if n == 1 { "" } else { "s" }
        ));
        for o in &f.objects {
            render_object(&mut s, o, f.encoding == Some("der"));
        }
    }
    s
}

fn field(s: &mut String, name: &str, value: &str) {
    let label = if name.is_empty() {
        String::new()
    } else {
        format!("{name}:")
    };
    s.push_str(&format!("    {label:<20} {}\n", esc(value)));
}

fn render_object(s: &mut String, o: &ObjectEntry, der: bool) {
    // A DER file holds one object and has no lines.
    let head = |what: &str| {
        if der {
            format!("  #{} {}\n", o.index, esc(what))
        } else {
            format!("  #{} {} (line {})\n", o.index, esc(what), o.line)
        }
    };
    match &o.info {
        ObjectInfo::Certificate(c) => {
            s.push_str(&head("certificate"));
            field(s, "subject", &c.subject);
            field(
                s,
                "issuer",
                &if c.self_signed {
                    format!("{} (self-signed)", c.issuer)
                } else {
                    c.issuer.clone()
                },
            );
            field(s, "serial", &c.serial);
            field(
                s,
                "validity",
                &format!(
                    "{} to {} ({})",
                    human_date(&c.not_before),
                    human_date(&c.not_after),
                    time_left(c)
                ),
            );
            field(s, "key", &c.key.to_string());
            field(s, "signature", &c.signature_algorithm);
            if c.x509_version != 3 {
                field(s, "version", &format!("X.509 v{}", c.x509_version));
            }
            field(
                s,
                "basic constraints",
                &match &c.basic_constraints {
                    None => "absent".into(),
                    Some(b) => format!(
                        "CA:{}{} ({})",
                        if b.ca { "TRUE" } else { "FALSE" },
                        b.path_len
                            .map(|p| format!(", pathlen:{p}"))
                            .unwrap_or_default(),
                        crit(b.critical)
                    ),
                },
            );
            for (name, u) in [
                ("key usage", &c.key_usage),
                ("extended key usage", &c.extended_key_usage),
            ] {
                field(
                    s,
                    name,
                    &match u {
                        None => "absent".into(),
                        Some(u) => format!("{} ({})", u.usages.join(", "), crit(u.critical)),
                    },
                );
            }
            if !c.subject_alt_names.is_empty() {
                field(s, "alt names", &c.subject_alt_names.join(", "));
            }
            if let Some(k) = &c.subject_key_id {
                field(s, "subject key id", k);
            }
            if let Some(k) = &c.authority_key_id {
                field(s, "authority key id", k);
            }
            field(s, "SHA-256", &c.sha256);
            render_roles(s, &c.roles);
        }
        ObjectInfo::PrivateKey(k) => {
            let what = if k.encrypted {
                "private key, encrypted"
            } else {
                "private key, not encrypted"
            };
            s.push_str(&head(what));
            field(
                s,
                "format",
                &k.format.to_uppercase().replace("PKCS", "PKCS#"),
            );
            field(
                s,
                "key",
                &k.key
                    .as_ref()
                    .map(|k| k.to_string())
                    .unwrap_or_else(|| "(known after decryption)".into()),
            );
            if let Some(e) = &k.encryption {
                field(s, "encryption", e);
            }
        }
        ObjectInfo::PublicKey { key } => {
            s.push_str(&head("public key"));
            field(s, "key", &key.to_string());
        }
        ObjectInfo::Crl(c) => {
            s.push_str(&head("certificate revocation list"));
            field(s, "issuer", &c.issuer);
            field(s, "this update", &human_date(&c.this_update));
            field(
                s,
                "next update",
                &match &c.next_update {
                    None => "none".into(),
                    Some(n) if c.stale => format!("{} (passed: the CRL is stale)", human_date(n)),
                    Some(n) => human_date(n),
                },
            );
            if let Some(n) = &c.crl_number {
                field(s, "CRL number", n);
            }
            if c.revoked.is_empty() {
                field(s, "revoked", "none");
            } else {
                for (i, r) in c.revoked.iter().enumerate() {
                    field(
                        s,
                        if i == 0 { "revoked" } else { "" },
                        &format!(
                            "{} on {}{}",
                            r.serial,
                            human_date(&r.date),
                            r.reason
                                .as_ref()
                                .map(|x| format!(" ({x})"))
                                .unwrap_or_default()
                        ),
                    );
                }
            }
        }
        ObjectInfo::Csr { subject, key } => {
            s.push_str(&head("certificate request"));
            field(s, "subject", subject);
            field(s, "key", &key.to_string());
        }
        ObjectInfo::DhParams { bits } => {
            s.push_str(&head("DH parameters"));
            if let Some(b) = bits {
                field(s, "prime", &format!("{b} bits"));
            }
        }
        ObjectInfo::Other { label } => {
            s.push_str(&head(&format!(
                "PEM block \"{label}\" (not used by libvirt or QEMU)"
            )));
        }
        ObjectInfo::Invalid { claimed, error } => {
            s.push_str(&head(&format!("{claimed}: does not parse: {error}")));
        }
    }
}
