//! `issue --encrypt-key`: which keys may be encrypted, and the steps that give QEMU the password.
//!
//! QEMU decrypts a PKCS#8 key when its `tls-creds-x509` object has `passwordid=ID`, the id of a
//! `secret` object holding the password (`--object secret,id=ID,file=F,format=raw`). A secret
//! file is read as it is, byte for byte: a trailing newline is part of the password (observed
//! with qemu-img 10.0.2: "Decryption has failed."), so the steps write the password without one.
//! libvirt passes such a secret when qemu.conf gives the directory a `*_tls_x509_secret_uuid`
//! naming a libvirt secret (usage type `tls`), one secret for every key in the directory.
//! libvirtd and virsh cannot load encrypted keys at all (`virNetTLSContextLoadCredentials` calls
//! `gnutls_certificate_set_x509_key_file` without a password), so encrypted keys are for QEMU
//! layouts only.

use std::path::Path;

use crate::layout::Role;
use crate::quoting::shell_quote;

/// Where the key's password came from: the steps read it from the same place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// A regular file (its first line).
    File(std::path::PathBuf),
    /// Standard input or the terminal: the step reads standard input again.
    Stdin,
}

/// Passwords the printed steps reproduce exactly: no control characters (the steps keep the
/// first line and drop `\r`/`\n`, as pkitool's password reader does).
pub fn check_password(pw: &[u8]) -> Result<(), String> {
    if pw.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(
            "the key's password contains a control character; QEMU's secret file and virsh secret-set-value take it byte for byte, so use printable characters only".into(),
        );
    }
    Ok(())
}

/// A random (version 4) UUID for the libvirt secret.
pub fn new_uuid() -> Result<String, crate::Error> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b)
        .map_err(|_| crate::Error::Environment("no randomness for the secret's UUID".into()))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// A QEMU option value: a comma is written as two.
fn qemu_value(s: &str) -> String {
    s.replace(',', ",,")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

/// What the steps need to know.
#[derive(Debug, Clone)]
pub struct StepsInput<'a> {
    /// The encrypted key.
    pub key: &'a Path,
    /// server or client.
    pub role: Role,
    /// Where the password came from.
    pub source: &'a PasswordSource,
    /// The libvirt secret's UUID.
    pub uuid: &'a str,
    /// The qemu.conf lines that give the directory this secret (`KEY = "VALUE"`).
    pub qemu_conf_lines: Vec<String>,
    /// The qemu.conf they go into.
    pub qemu_conf: &'a Path,
}

/// The qemu.conf settings for a key's directory: `--service S` writes S's own directory
/// (`S_tls_x509_secret_uuid`); the system default directory takes
/// `default_tls_x509_secret_uuid`; any other directory must also be named as
/// `default_tls_x509_cert_dir` (libvirt gives the default secret only to services without a
/// directory of their own).
pub fn qemu_conf_lines(
    service: Option<&str>,
    system_default_dir: bool,
    dir_in_target: &str,
    uuid: &str,
) -> Vec<String> {
    match service {
        Some(s) => vec![format!("{s}_tls_x509_secret_uuid = \"{uuid}\"")],
        None if system_default_dir => vec![format!("default_tls_x509_secret_uuid = \"{uuid}\"")],
        None => vec![
            format!("default_tls_x509_cert_dir = \"{dir_in_target}\""),
            format!("default_tls_x509_secret_uuid = \"{uuid}\""),
        ],
    }
}

/// The printed steps: one line each; commands are indented by four spaces and run verbatim.
pub fn steps(inp: &StepsInput<'_>) -> Vec<String> {
    let key = inp.key.display().to_string();
    let dir = inp
        .key
        .parent()
        .map(|d| d.display().to_string())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| ".".into());
    let secret = format!("{key}.secret");
    let xml_file = format!("{key}.secret.xml");
    let endpoint = if inp.role == Role::Client {
        "client"
    } else {
        "server"
    };
    let read = match inp.source {
        PasswordSource::File(p) => format!("head -n 1 {}", shell_quote(&p.display().to_string())),
        PasswordSource::Stdin => "head -n 1".to_string(),
    };
    let xml = format!(
        "<secret ephemeral='no' private='yes'><description>pkitool: password of {}</description><uuid>{}</uuid><usage type='tls'><name>{}</name></usage></secret>",
        xml_escape(&key),
        inp.uuid,
        xml_escape(&key)
    );
    let mut out = vec![
        format!(
            "{key} is encrypted: QEMU loads it only with its password in a secret object (tls-creds-x509 passwordid); libvirtd and virsh cannot load encrypted keys."
        ),
        format!(
            "1. The password as QEMU reads it (the file's bytes exactly, no newline), readable by root only{}:",
            if inp.source == &PasswordSource::Stdin {
                " (give it on standard input again)"
            } else {
                ""
            }
        ),
        format!(
            "    (umask 077 && {read} | tr -d '\\r\\n' > {})",
            shell_quote(&secret)
        ),
        "2. QEMU started by hand (qemu-nbd, qemu-img, qemu-system-*): these arguments".to_string(),
        format!(
            "    --object {} --object {}",
            shell_quote(&format!(
                "secret,id=sec0,file={},format=raw",
                qemu_value(&secret)
            )),
            shell_quote(&format!(
                "tls-creds-x509,id=tls0,dir={},endpoint={endpoint},passwordid=sec0",
                qemu_value(&dir)
            ))
        ),
        "3. QEMU started by libvirt: a libvirt secret holding the password, named in qemu.conf"
            .to_string(),
        format!(
            "    printf '%s\\n' {} > {}",
            shell_quote(&xml),
            shell_quote(&xml_file)
        ),
        format!("    virsh secret-define {}", shell_quote(&xml_file)),
        format!(
            "    virsh secret-set-value --secret {} --file {} --plain",
            inp.uuid,
            shell_quote(&secret)
        ),
        format!("   and in {}:", inp.qemu_conf.display()),
    ];
    out.extend(inp.qemu_conf_lines.iter().map(|l| format!("    {l}")));
    out.push(format!(
        "   libvirt gives QEMU this one secret for every key in {dir}: encrypt the other key there with the same password. Delete {secret} and {xml_file} once QEMU no longer needs the file."
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_differ() {
        let a = new_uuid().unwrap();
        let b = new_uuid().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(check_password(b"s3cret pass!").is_ok());
        assert!(check_password(b"a\rb").is_err());
        assert!(check_password(b"a\tb").is_err());
        assert!(check_password(b"a\x7fb").is_err());
    }

    #[test]
    fn qemu_conf_lines_follow_libvirts_resolution() {
        assert_eq!(
            qemu_conf_lines(Some("migrate"), false, "/etc/pki/libvirt-migrate", "U"),
            vec!["migrate_tls_x509_secret_uuid = \"U\""]
        );
        assert_eq!(
            qemu_conf_lines(None, true, "/etc/pki/qemu", "U"),
            vec!["default_tls_x509_secret_uuid = \"U\""]
        );
        assert_eq!(qemu_conf_lines(None, false, "/srv/q", "U").len(), 2);
    }

    #[test]
    fn steps_quote_commas_and_read_stdin_again() {
        let src = PasswordSource::Stdin;
        let s = steps(&StepsInput {
            key: Path::new("/srv/a,b/server-key.pem"),
            role: Role::Server,
            source: &src,
            uuid: "U",
            qemu_conf_lines: vec!["x = \"U\"".into()],
            qemu_conf: Path::new("/etc/libvirt/qemu.conf"),
        });
        let all = s.join("\n");
        assert!(
            all.contains("dir=/srv/a,,b,endpoint=server,passwordid=sec0"),
            "{all}"
        );
        assert!(all.contains("(umask 077 && head -n 1 | tr -d"), "{all}");
        assert!(all.contains("<usage type='\\''tls'\\''>"), "{all}");
    }
}
