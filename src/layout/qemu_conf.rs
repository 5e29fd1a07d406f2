//! qemu.conf's `user` and `group` (libvirt's QEMU driver runs QEMU as them). A minimal reader of
//! just those two keys, in libvirt's virConf syntax: `key = "value"` (double or single quotes),
//! `#` comments, blank lines; other keys are skipped. libvirt accepts `+N` for a numeric id.
//!
//! (The full qemu.conf reader of `validate` is due in this file; this is the part provisioning
//! needs.)

use std::path::{Path, PathBuf};

use crate::fsio;

/// Where qemu.conf lives, relative to the root.
pub const QEMU_CONF: &str = "etc/libvirt/qemu.conf";

/// `user` and `group` as written in qemu.conf (unset when absent or commented out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QemuUser {
    /// The file read.
    pub path: PathBuf,
    /// `user = "..."`.
    pub user: Option<String>,
    /// `group = "..."`.
    pub group: Option<String>,
}

/// Why qemu.conf could not be used.
#[derive(Debug, thiserror::Error)]
pub enum QemuConfError {
    /// Unreadable (not "absent": absent is `Ok(None)`).
    #[error(transparent)]
    Read(#[from] fsio::ReadError),
    /// A `user`/`group` line libvirt would refuse.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Reads `user` and `group` from `root/etc/libvirt/qemu.conf`; `Ok(None)` when the file does not
/// exist.
pub fn read_under(root: &Path) -> Result<Option<QemuUser>, QemuConfError> {
    let path = super::under_root(root, QEMU_CONF);
    match fsio::read_input(&path) {
        Ok(bytes) => parse(&path, &String::from_utf8_lossy(&bytes)).map(Some),
        Err(fsio::ReadError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Parses the `user` and `group` settings of qemu.conf text. The last setting of a key wins, as
/// in virConf.
pub fn parse(path: &Path, text: &str) -> Result<QemuUser, QemuConfError> {
    let mut out = QemuUser {
        path: path.to_path_buf(),
        ..Default::default()
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(line.len());
        let key = &line[..key_end];
        if key != "user" && key != "group" {
            continue;
        }
        let rest = line[key_end..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let err = |message: String| QemuConfError::Syntax {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
        let Some(q) = quote else {
            return Err(err(format!(
                "{key} must be a quoted string, e.g. {key} = \"libvirt-qemu\""
            )));
        };
        let body = &rest[1..];
        let Some(end) = body.find(q) else {
            return Err(err(format!("{key}: unterminated string")));
        };
        let value = body[..end].to_string();
        let after = body[end + 1..].trim_start();
        if !(after.is_empty() || after.starts_with('#')) {
            return Err(err(format!("{key}: unexpected text after the value")));
        }
        if key == "user" {
            out.user = Some(value);
        } else {
            out.group = Some(value);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_group_skipping_comments() {
        let t = "# user = \"nobody\"\n#group = \"x\"\nuser = \"libvirt-qemu\"\n  group='kvm' # note\nvnc_tls = 1\n";
        let q = parse(Path::new("q"), t).unwrap();
        assert_eq!(q.user.as_deref(), Some("libvirt-qemu"));
        assert_eq!(q.group.as_deref(), Some("kvm"));
        let q = parse(Path::new("q"), "#user = \"a\"\n").unwrap();
        assert_eq!((q.user, q.group), (None, None));
        let q = parse(Path::new("q"), "group = \"a\"\ngroup = \"b\"\n").unwrap();
        assert_eq!(q.group.as_deref(), Some("b"));
    }

    #[test]
    fn refuses_unquoted_and_unterminated_values() {
        let e = parse(Path::new("q"), "\ngroup = kvm\n").unwrap_err();
        assert!(
            e.to_string().contains("q:2: group must be a quoted string"),
            "{e}"
        );
        let e = parse(Path::new("q"), "user = \"kvm\n").unwrap_err();
        assert!(e.to_string().contains("unterminated"), "{e}");
    }
}
