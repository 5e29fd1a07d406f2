//! File-level checks: existence, type, readability, size (libvirt's 64 KiB), PEM vs DER vs
//! garbage vs the wrong object, and permissions judged as "at most".

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::check::finding::{FRole, Finding, Severity};
use crate::fsio::{self, ReadError};
use crate::x509::load::{self, Contents, Encoding, ObjectKind};

/// The most libvirt reads of a credential file (`virFileReadAll(..., 1 << 16)`), from the
/// consumer model.
pub const LIBVIRT_MAX: usize =
    match crate::consumer::rules::max_file_size(crate::consumer::Consumer::Libvirt) {
        Some(n) => n,
        None => usize::MAX,
    };

/// What a file is supposed to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Certificates (a leaf, or the CA bundle).
    Certificate,
    /// A private key.
    PrivateKey,
    /// A CRL.
    Crl,
    /// DH parameters.
    DhParams,
}

impl Expect {
    fn what(self) -> &'static str {
        match self {
            Expect::Certificate => "certificate",
            Expect::PrivateKey => "private key",
            Expect::Crl => "CRL",
            Expect::DhParams => "DH parameters",
        }
    }
}

/// How the consumer treats files of this layout.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// libvirt loads it (64 KiB limit, PEM only).
    pub libvirt: bool,
    /// QEMU loads it (a non-root qemu process reads it).
    pub qemu: bool,
    /// System layout (root-owned, unprivileged clients read the CA).
    pub system: bool,
    /// The group QEMU runs with (qemu.conf), whose read access to keys is intended.
    pub service_gid: Option<u32>,
}

/// Groups whose members are the QEMU/libvirt service (a key readable by them is intended).
const SERVICE_GROUPS: &[&str] = &["qemu", "libvirt-qemu", "kvm", "libvirt"];

fn group_name(gid: u32) -> Option<String> {
    nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
        .ok()
        .flatten()
        .map(|g| g.name)
}

fn user_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

fn base(code: &'static str, sev: Severity, path: &Path, role: FRole, msg: String) -> Finding {
    Finding::new(code, sev, msg).path(path).role(role)
}

/// Does the file exist (following symlinks; a dangling link or a loop counts as existing so
/// that it is reported)?
pub fn exists(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(_) => true,
        // A directory we may not search (running unprivileged): it may well be there, and the
        // read reports what could not be checked.
        Err(e) => e.kind() == std::io::ErrorKind::PermissionDenied,
    }
}

/// Loads and checks one file. Returns its contents when they are usable for the next checks
/// (even when a finding was raised about them, e.g. permissions).
pub fn load(
    path: &Path,
    expect: Expect,
    role: FRole,
    policy: Policy,
    out: &mut Vec<Finding>,
) -> Option<Contents> {
    load_read(path, fsio::read_input(path), expect, role, policy, out)
}

/// Like [`load`], with the file already read (fleet mode reads each file once).
pub fn load_read(
    path: &Path,
    read: Result<Vec<u8>, ReadError>,
    expect: Expect,
    role: FRole,
    policy: Policy,
    out: &mut Vec<Finding>,
) -> Option<Contents> {
    let bytes = match read {
        Ok(b) => b,
        Err(e) => {
            out.push(match unprivileged_denial(&e, path) {
                Some(f) => f.role(role),
                None => read_error(&e, path, role, expect),
            });
            // The mode can still be judged when the file can be stat'ed.
            if matches!(e, ReadError::PermissionDenied { .. })
                && let Ok(meta) = std::fs::metadata(path)
            {
                permissions(path, &meta, expect, role, policy, out);
            }
            return None;
        }
    };
    if let Ok(meta) = std::fs::metadata(path) {
        permissions(path, &meta, expect, role, policy, out);
    }
    if policy.libvirt && bytes.len() > LIBVIRT_MAX {
        let code = "PKI-F04";
        let mut f = base(
            code,
            Severity::Error,
            path,
            role,
            format!(
                "{} bytes: libvirt reads at most 65536 bytes of a credential file",
                bytes.len()
            ),
        )
        .why(format!(
            "libvirt refuses to start TLS: \"Failed to read file '{}': Value too large for defined data type\". QEMU has no such limit.",
            path.display()
        ))
        .fix(match expect {
            Expect::Certificate if role == FRole::Ca => format!(
                "keep only the CA certificates this PKI uses in {} (not a system-wide bundle)",
                path.display()
            ),
            _ => format!("rewrite {} with only the objects it needs", path.display()),
        });
        if role == FRole::Ca && expect == Expect::Certificate {
            f.class = crate::check::finding::Class::CaBundle;
        }
        out.push(f);
    }
    let contents = match load::parse(&bytes) {
        Ok(c) => c,
        Err(e) => {
            out.push(parse_error(&e, path, role, expect));
            return None;
        }
    };
    if contents.encoding == Encoding::Der {
        let code = match expect {
            Expect::Crl => "PKI-R01",
            Expect::DhParams => "PKI-F14",
            _ => "PKI-F06",
        };
        let what = contents
            .objects
            .first()
            .map(|o| o.kind.describe())
            .unwrap_or_default();
        out.push(
            base(
                code,
                Severity::Error,
                path,
                role,
                format!("DER-encoded {what}, but libvirt and QEMU read only PEM"),
            )
            .why("GnuTLS is asked for PEM: libvirt prints \"Unable to import ... certificate\", QEMU \"Base64 unexpected header error.\"")
            .fix(der_fix(path, expect)),
        );
        return None;
    }
    let wanted = contents
        .objects
        .iter()
        .any(|o| matches_expect(&o.kind, expect));
    if !wanted {
        let found: Vec<String> = contents.objects.iter().map(|o| o.kind.describe()).collect();
        let found = if found.is_empty() {
            "nothing usable".to_string()
        } else {
            found.join(", ")
        };
        let code = match expect {
            Expect::Crl => "PKI-R01",
            Expect::DhParams => "PKI-F14",
            _ => "PKI-F07",
        };
        out.push(
            base(
                code,
                Severity::Error,
                path,
                role,
                format!("holds {found} where a {} belongs", expect.what()),
            )
            .why(format!(
                "libvirt and QEMU find no {} in it and refuse to load the credentials",
                expect.what()
            ))
            .fix(format!(
                "put the {} in {} (check which file went where)",
                expect.what(),
                path.display()
            )),
        );
        // A key in a certificate file is still worth the permission check below.
    }
    if expect != Expect::PrivateKey
        && contents.private_key().is_some()
        && let Ok(meta) = std::fs::metadata(path)
    {
        let mode = meta.permissions().mode();
        if mode & 0o044 != 0 {
            out.push(
                    base(
                        "PKI-F08",
                        Severity::Error,
                        path,
                        role,
                        format!(
                            "a private key sits in this {} file, which is readable by others (mode {:04o})",
                            expect.what(),
                            mode & 0o7777
                        ),
                    )
                    .why("anyone who can read the file has the private key")
                    .fix(format!(
                        "move the key out of {}, then replace the key and certificate (the key is compromised)",
                        path.display()
                    )),
                );
        }
    }
    if !wanted {
        return None;
    }
    Some(contents)
}

fn matches_expect(kind: &ObjectKind, expect: Expect) -> bool {
    match expect {
        Expect::Certificate => *kind == ObjectKind::Certificate,
        Expect::PrivateKey => kind.is_private_key(),
        Expect::Crl => *kind == ObjectKind::Crl,
        Expect::DhParams => *kind == ObjectKind::DhParams,
    }
}

/// A path as a shell word, for fix commands that are pasted into a shell.
fn sq(path: &Path) -> String {
    crate::quoting::shell_quote(&path.to_string_lossy())
}

fn der_fix(path: &Path, expect: Expect) -> String {
    let p = sq(path);
    let tmp = {
        let mut t = path.as_os_str().to_os_string();
        t.push(".pem");
        sq(Path::new(&t))
    };
    match expect {
        Expect::Certificate => {
            format!("openssl x509 -inform DER -in {p} -out {tmp} && mv {tmp} {p}")
        }
        Expect::PrivateKey => {
            format!("(umask 077 && openssl pkey -inform DER -in {p} -out {tmp}) && mv {tmp} {p}")
        }
        Expect::Crl => format!("openssl crl -inform DER -in {p} -out {tmp} && mv {tmp} {p}"),
        Expect::DhParams => {
            format!("openssl dhparam -inform DER -in {p} -out {tmp} && mv {tmp} {p}")
        }
    }
}

/// PKI-S07: running as a user other than root, a file (or a directory above it) that the
/// consumer's own user may well read is closed to pkitool: say what could not be checked
/// instead of calling it an error. `None` when pkitool runs as root (a denial is then real).
fn unprivileged_denial(e: &ReadError, path: &Path) -> Option<Finding> {
    if !matches!(e, ReadError::PermissionDenied { .. }) {
        return None;
    }
    let me = nix::unistd::geteuid().as_raw();
    if me == 0 {
        return None;
    }
    let (what, owner) = match std::fs::metadata(path) {
        Ok(m) => (
            format!(
                "mode {:04o}, owner uid {}",
                m.permissions().mode() & 0o7777,
                m.uid()
            ),
            m.uid(),
        ),
        Err(_) => (
            "a directory above it cannot be searched".to_string(),
            u32::MAX,
        ),
    };
    if owner == me {
        return None;
    }
    Some(
        Finding::new(
            "PKI-S07",
            Severity::Warning,
            format!("not checked: pkitool runs as uid {me} and may not read it ({what})"),
        )
        .path(path)
        .why("its contents (parsing, key match, dates, chain) could not be checked; the user libvirt or QEMU loads it as may still read it, so this is no verdict on the file")
        .fix("run the validation as root (or as the user that loads the file): sudo pkitool validate ..."),
    )
}

fn read_error(e: &ReadError, path: &Path, role: FRole, expect: Expect) -> Finding {
    let (code, msg) = match e {
        ReadError::NotFound { .. } => ("PKI-F01", "missing (or a dangling symlink)".to_string()),
        ReadError::PermissionDenied { .. } => {
            ("PKI-F03", "cannot be read: permission denied".to_string())
        }
        ReadError::SymlinkLoop { .. } => ("PKI-F03", "a symlink loop".to_string()),
        ReadError::NotRegular { kind, .. } => {
            ("PKI-F03", format!("is a {kind}, not a regular file"))
        }
        ReadError::TooLarge { size, .. } => (
            "PKI-F04",
            format!("{size} bytes: far larger than any credential file"),
        ),
        _ => ("PKI-F03", e.to_string()),
    };
    base(code, Severity::Error, path, role, msg)
        .why(if role == FRole::Ca && expect == Expect::Certificate {
            format!(
                "libvirt: \"CA certificate '{0}' does not exist\" / \"Cannot read CA certificate '{0}'\"; QEMU: \"Unable to access credentials {0}\"",
                path.display()
            )
        } else {
            format!(
                "libvirt: \"Cannot read {} '{}'\"; QEMU: \"Unable to access credentials {}\"",
                expect.what(),
                path.display(),
                path.display()
            )
        })
        .fix(match e {
            ReadError::PermissionDenied { .. } => format!(
                "run pkitool as the user that loads it, or fix the mode: chmod {} {}",
                if expect == Expect::PrivateKey {
                    "600"
                } else {
                    "644"
                },
                sq(path)
            ),
            _ if role == FRole::Ca && expect == Expect::Certificate => format!(
                "copy the CA certificate to {} (or create a CA: pkitool init-ca --dir DIR --cn NAME)",
                path.display()
            ),
            _ => format!("put the {} at {}", expect.what(), path.display()),
        })
}

fn parse_error(e: &load::ParseError, path: &Path, role: FRole, expect: Expect) -> Finding {
    let code = match expect {
        Expect::Crl => "PKI-R01",
        Expect::DhParams => "PKI-F14",
        _ => "PKI-F05",
    };
    let why = match expect {
        Expect::Certificate if role == FRole::Ca => format!(
            "libvirt: \"Unable to import CA certificate list {0}\"; QEMU: \"Unable to import CA certificate list {0}\"",
            path.display()
        ),
        Expect::Certificate => format!(
            "libvirt and QEMU: \"Unable to import {} certificate {}: Base64 unexpected header error.\"",
            role.as_str(),
            path.display()
        ),
        Expect::PrivateKey => "QEMU: \"Cannot load certificate ... & key ...: The requested data were not available.\"; libvirt: \"Unable to set x509 key and certificate\"".into(),
        Expect::Crl => format!(
            "libvirt: \"Unable to set x509 certificate revocation list: {0}: Base64 decoding error.\"; QEMU server: \"Cannot load CRL '{0}'\"",
            path.display()
        ),
        Expect::DhParams => format!("QEMU server: \"Unable to load DH parameters from {}\"", path.display()),
    };
    base(
        code,
        Severity::Error,
        path,
        role,
        format!("unusable {}: {e}", expect.what()),
    )
    .why(why)
    .fix(format!(
        "replace {} with a complete PEM {} (e.g. re-issue with pkitool)",
        path.display(),
        expect.what()
    ))
}

/// Permission rules ("at most"):
/// - private key: no access for others, no group write, group read only for a QEMU/libvirt
///   service group (QEMU runs unprivileged);
/// - CA certificate in a system layout and every QEMU-read certificate: readable by others;
/// - owners of keys in system layouts: root, the running user or a service user.
fn permissions(
    path: &Path,
    meta: &std::fs::Metadata,
    expect: Expect,
    role: FRole,
    policy: Policy,
    out: &mut Vec<Finding>,
) {
    let mode = meta.permissions().mode() & 0o7777;
    let p = sq(path);
    if expect == Expect::PrivateKey {
        let group_ok = policy.qemu
            && (policy.service_gid == Some(meta.gid())
                || group_name(meta.gid()).is_some_and(|g| SERVICE_GROUPS.contains(&g.as_str())));
        let exposed = mode & 0o007 != 0 || mode & 0o020 != 0 || (mode & 0o040 != 0 && !group_ok);
        if exposed {
            let who = if mode & 0o007 != 0 {
                "others"
            } else {
                "its group"
            };
            out.push(
                base(
                    "PKI-F08",
                    Severity::Error,
                    path,
                    role,
                    format!("private key mode {mode:04o}: readable or writable by {who}"),
                )
                .why("anyone who can read the key can impersonate this host; one who can write it can replace it. libvirt and QEMU load it anyway.")
                .fix(if policy.qemu {
                    // Never name a group this machine does not have.
                    match crate::consumer::qemu_user::hint_group() {
                        Some(g) => format!("chmod 600 {p}   (or chmod 640 {p} && chgrp {g} {p} when QEMU runs unprivileged)"),
                        None => format!("chmod 600 {p}   (or chmod 640 and chgrp to qemu.conf's `group` when QEMU runs unprivileged)"),
                    }
                } else {
                    format!("chmod 600 {p}")
                }),
            );
        }
        if policy.system {
            let uid = meta.uid();
            let me = nix::unistd::geteuid().as_raw();
            let name = user_name(uid);
            let fine = uid == 0
                || uid == me
                || name
                    .as_deref()
                    .is_some_and(|n| matches!(n, "qemu" | "libvirt-qemu"));
            if !fine {
                out.push(
                    base(
                        "PKI-F11",
                        Severity::Warning,
                        path,
                        role,
                        format!(
                            "private key owned by {} (uid {uid}), not root",
                            name.as_deref().unwrap_or("an unknown user")
                        ),
                    )
                    .why("the owner can read and replace the key whatever its mode")
                    .fix(format!("chown root:root {p}")),
                );
            }
        }
    } else {
        anchor_permissions(path, meta, expect, role, policy, out);
        let needs_world = (policy.system && role == FRole::Ca) || policy.qemu;
        let group_ok = policy.qemu
            && mode & 0o040 != 0
            && group_name(meta.gid()).is_some_and(|g| SERVICE_GROUPS.contains(&g.as_str()));
        if needs_world && policy.system && mode & 0o004 == 0 && !group_ok {
            out.push(
                base(
                    "PKI-F09",
                    Severity::Warning,
                    path,
                    role,
                    format!("mode {mode:04o}: not readable by others"),
                )
                .why(if policy.qemu {
                    "QEMU runs as an unprivileged user and cannot open it: \"Unable to access credentials ...: Permission denied\""
                } else {
                    "unprivileged clients (virsh as a normal user) cannot read the CA: \"Cannot read CA certificate\""
                })
                .fix(format!("chmod 644 {p}")),
            );
        }
    }
}

/// Who may own a trusted file or directory: root, the user running pkitool, and (outside the
/// system layouts) the owner of the layout's own directory (`~/.pki/libvirt` belongs to its
/// user).
fn trusted_owner(uid: u32, policy: Policy, dir_owner: Option<u32>) -> bool {
    uid == 0 || uid == nix::unistd::geteuid().as_raw() || (!policy.system && dir_owner == Some(uid))
}

fn owner_desc(uid: u32) -> String {
    match user_name(uid) {
        Some(n) => format!("{n} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

fn dir_owner_of(path: &Path) -> Option<u32> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty())?;
    std::fs::metadata(parent).ok().map(|m| m.uid())
}

/// A certificate, CA bundle or CRL that others can write or that a foreign user owns: whoever
/// can change a trust anchor (or the certificate a peer is shown) owns every TLS connection.
fn anchor_permissions(
    path: &Path,
    meta: &std::fs::Metadata,
    expect: Expect,
    role: FRole,
    policy: Policy,
    out: &mut Vec<Finding>,
) {
    let mode = meta.permissions().mode() & 0o7777;
    let p = sq(path);
    let what = if role == FRole::Ca && expect == Expect::Certificate {
        "CA certificate (a trust anchor)".to_string()
    } else {
        expect.what().to_string()
    };
    if mode & 0o022 != 0 {
        let who = if mode & 0o002 != 0 {
            "everyone"
        } else {
            "its group"
        };
        out.push(
            base(
                "PKI-F15",
                Severity::Error,
                path,
                role,
                format!("{what} writable by {who} (mode {mode:04o})"),
            )
            .why("whoever can write a trust anchor, certificate or CRL can make libvirt and QEMU trust their own CA, present their certificate, or revoke everyone; libvirt and QEMU load it anyway")
            .fix(format!("chmod go-w {p}")),
        );
    }
    let uid = meta.uid();
    if !trusted_owner(uid, policy, dir_owner_of(path)) {
        out.push(
            base(
                "PKI-F16",
                Severity::Error,
                path,
                role,
                format!("{what} owned by {}, not root", owner_desc(uid)),
            )
            .why("the owner can replace the file whatever its mode")
            .fix(format!("chown root:root {p}")),
        );
    }
}

/// The directories above a credential file, up to `/` (or `root`, inclusive, when the file is
/// under it): each must be writable by no one but root or the running user, and owned by them.
/// The directory holding the file gets no sticky-bit exemption (in a 1777 directory anyone can
/// plant the optional files, a CRL or a missing certificate). Above it, a sticky directory such
/// as `/tmp` only lets its users replace the entries they own, so there the sticky bit counts
/// and a foreign-owned entry below it is reported as such.
pub fn path_permissions(file: &Path, root: Option<&Path>, policy: Policy, out: &mut Vec<Finding>) {
    let Ok(real) = std::fs::canonicalize(file) else {
        return;
    };
    let root = root.and_then(|r| std::fs::canonicalize(r).ok());
    let stop = root.as_deref().filter(|r| real.starts_with(r));
    let holder_owner = real
        .parent()
        .and_then(|d| std::fs::metadata(d).ok())
        .map(|m| m.uid());
    let mut first = true;
    let mut cur = real.parent();
    while let Some(dir) = cur {
        let Ok(meta) = std::fs::metadata(dir) else {
            break;
        };
        let mode = meta.permissions().mode() & 0o7777;
        let sticky = mode & 0o1000 != 0;
        let shown = sq(dir);
        if mode & 0o022 != 0 && (first || !sticky) {
            let who = if mode & 0o002 != 0 {
                "everyone"
            } else {
                "its group"
            };
            out.push(
                Finding::new(
                    "PKI-F17",
                    Severity::Error,
                    format!(
                        "directory {} on the path to {} is writable by {who} (mode {mode:04o}){}",
                        dir.display(),
                        file.display(),
                        if sticky { "; the sticky bit does not protect the files it may still receive" } else { "" }
                    ),
                )
                .path(dir)
                .why("whoever can write a directory above a trust anchor can rename it away and put their own CA (or key, certificate, CRL) in its place; libvirt and QEMU load whatever they find")
                .fix(format!("chmod go-w {shown}")),
            );
        }
        if !trusted_owner(meta.uid(), policy, holder_owner) {
            out.push(
                Finding::new(
                    "PKI-F17",
                    Severity::Error,
                    format!(
                        "directory {} on the path to {} is owned by {}",
                        dir.display(),
                        file.display(),
                        owner_desc(meta.uid())
                    ),
                )
                .path(dir)
                .why(
                    "the owner of a directory above a trust anchor can replace everything below it",
                )
                .fix(format!("chown root:root {shown}")),
            );
        }
        if stop == Some(dir) {
            break;
        }
        first = false;
        cur = dir.parent();
    }
}

/// Flags directories holding keys that are writable by group or others. The sticky bit is no
/// exemption: in a 1777 directory anyone can still plant the files that are missing.
pub fn dir_permissions(dir: &Path, out: &mut Vec<Finding>) {
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        out.push(
            Finding::new(
                "PKI-F10",
                Severity::Warning,
                format!("directory mode {mode:04o}: writable by group or others"),
            )
            .path(dir)
            .why("whoever can write the directory can replace the keys and certificates in it")
            .fix(format!("chmod go-w {}", sq(dir))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn pol() -> Policy {
        Policy {
            libvirt: true,
            qemu: false,
            system: false,
            service_gid: None,
        }
    }

    #[test]
    fn garbage_der_wrong_object_and_modes() {
        let d = tempfile::tempdir().unwrap();
        let g = d.path().join("g.pem");
        std::fs::write(&g, "hello\n").unwrap();
        let mut out = Vec::new();
        assert!(load(&g, Expect::Certificate, FRole::Server, pol(), &mut out).is_none());
        assert_eq!(out[0].code, "PKI-F05");

        let k = d.path().join("k.pem");
        std::fs::write(
            &k,
            "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut out = Vec::new();
        assert!(load(&k, Expect::Certificate, FRole::Server, pol(), &mut out).is_none());
        let codes: Vec<_> = out.iter().map(|f| f.code).collect();
        assert_eq!(codes, vec!["PKI-F07", "PKI-F08"]);

        let mut out = Vec::new();
        assert!(load(&k, Expect::PrivateKey, FRole::Server, pol(), &mut out).is_some());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code, "PKI-F08");
        std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut out = Vec::new();
        load(&k, Expect::PrivateKey, FRole::Server, pol(), &mut out);
        assert!(out.is_empty(), "{out:?}");

        let mut out = Vec::new();
        load(
            &d.path().join("nope"),
            Expect::Crl,
            FRole::Ca,
            pol(),
            &mut out,
        );
        assert_eq!(out[0].code, "PKI-F01");
        let mut out = Vec::new();
        load(d.path(), Expect::Certificate, FRole::Ca, pol(), &mut out);
        assert_eq!(out[0].code, "PKI-F03");
    }
}
