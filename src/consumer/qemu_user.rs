//! Which group QEMU runs as when libvirt starts it, so a key QEMU must read can be given that
//! group (`root:GROUP 0640`).
//!
//! libvirt's QEMU driver (system instance) runs QEMU as qemu.conf's `user` and `group`. An unset
//! `group` is not the user's primary group: it is the group the distribution built libvirt with
//! (`-Dqemu_group=`), so the default below is per distribution:
//!
//! | distribution (os-release `ID`/`ID_LIKE`) | user | group |
//! |---|---|---|
//! | debian, ubuntu | libvirt-qemu | libvirt-qemu (Debian 12's libvirt 9.0 driver names only `libvirt-qemu`) |
//! | fedora, rhel, centos, rocky, almalinux | qemu | qemu |
//!
//! Anything else has no known default: the caller must name `--group`.

use std::path::{Path, PathBuf};

use crate::fsio;
use crate::layout::{self, qemu_conf};

/// The QEMU user and group a distribution's libvirt is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DistroDefault {
    /// The distribution family (`debian`, `fedora`).
    pub family: &'static str,
    /// qemu.conf's default `user`.
    pub user: &'static str,
    /// qemu.conf's default `group`.
    pub group: &'static str,
}

const DEBIAN: DistroDefault = DistroDefault {
    family: "debian",
    user: "libvirt-qemu",
    group: "libvirt-qemu",
};
const FEDORA: DistroDefault = DistroDefault {
    family: "fedora",
    user: "qemu",
    group: "qemu",
};

/// Every distribution default pkitool knows, most common first.
pub const KNOWN_DEFAULTS: [DistroDefault; 2] = [DEBIAN, FEDORA];

/// The os-release file under `root` and the distribution default it names, if any.
fn os_release_default(root: &Path) -> (Option<PathBuf>, Option<DistroDefault>) {
    let os_release = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .map(|p| layout::under_root(root, p))
        .find(|p| p.exists());
    let found = os_release.as_ref().and_then(|p| {
        let text = fsio::read_limited(p, 64 * 1024).ok()?;
        distro_default(&String::from_utf8_lossy(&text))
    });
    (os_release, found)
}

/// The users QEMU may run as when qemu.conf sets no `user`, to look up in that order: the
/// default of the distribution under `root` when its os-release names one, then every known
/// default.
pub fn default_users(root: &Path) -> Vec<&'static str> {
    let mut users: Vec<&'static str> = os_release_default(root)
        .1
        .map(|d| d.user)
        .into_iter()
        .collect();
    for d in KNOWN_DEFAULTS {
        if !users.contains(&d.user) {
            users.push(d.user);
        }
    }
    users
}

/// The default for an os-release file's `ID` and `ID_LIKE` words.
pub fn distro_default(os_release: &str) -> Option<DistroDefault> {
    let mut words = Vec::new();
    for line in os_release.lines() {
        for key in ["ID=", "ID_LIKE="] {
            if let Some(v) = line.strip_prefix(key) {
                let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                words.extend(v.split_whitespace().map(str::to_ascii_lowercase));
            }
        }
    }
    words.iter().find_map(|w| match w.as_str() {
        "debian" | "ubuntu" => Some(DEBIAN),
        "fedora" | "rhel" | "centos" | "rocky" | "almalinux" => Some(FEDORA),
        _ => None,
    })
}

/// Where the QEMU group came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupSource {
    /// qemu.conf's `group` setting.
    QemuConf(PathBuf),
    /// The distribution's default (qemu.conf sets no `group`, or does not exist).
    Distribution {
        /// The os-release file read.
        os_release: PathBuf,
        /// The family matched.
        family: &'static str,
    },
}

impl std::fmt::Display for GroupSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroupSource::QemuConf(p) => write!(f, "`group` in {}", p.display()),
            GroupSource::Distribution { os_release, family } => write!(
                f,
                "the {family} default ({}), qemu.conf setting no `group`",
                os_release.display(),
            ),
        }
    }
}

/// Where qemu.conf lives, relative to the root.
pub const QEMU_CONF: &str = "etc/libvirt/qemu.conf";

/// `root/etc/libvirt/qemu.conf`, read with validate's parser ([`qemu_conf::parse`]):
/// `Ok(None)` when it does not exist.
fn read_conf(root: &Path) -> Result<Option<(PathBuf, qemu_conf::QemuConf)>, String> {
    let path = layout::under_root(root, QEMU_CONF);
    let text = match fsio::read_input(&path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(fsio::ReadError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let conf = qemu_conf::parse(&text)
        .map_err(|e| format!("{}:{}: {}", path.display(), e.line, e.message))?;
    Ok(Some((path, conf)))
}

/// The group QEMU runs as on the system under `root`, and where that came from; an error message
/// naming `--group` when it cannot be known.
pub fn qemu_group(root: &Path) -> Result<(String, GroupSource), String> {
    let conf = read_conf(root)?;
    if let Some((path, q)) = &conf
        && let Some(g) = &q.group
    {
        return Ok((g.clone(), GroupSource::QemuConf(path.clone())));
    }
    let (os_release, default) = os_release_default(root);
    let found = os_release.clone().zip(default);
    let distro = match &os_release {
        Some(p) => format!(
            "{} names no distribution whose default pkitool knows",
            p.display()
        ),
        None => format!(
            "there is no {} to tell the distribution",
            layout::under_root(root, "etc/os-release").display()
        ),
    };
    match found {
        Some((os_release, d)) => Ok((
            d.group.to_string(),
            GroupSource::Distribution {
                os_release,
                family: d.family,
            },
        )),
        None => Err(format!(
            "cannot tell which group QEMU runs as under {}: {} and {distro} (Debian/Ubuntu: libvirt-qemu, Fedora/RHEL: qemu); pass --group GROUP (qemu.conf's `group`) so QEMU can read the key",
            root.display(),
            match &conf {
                Some((path, _)) => format!("{} sets no `group`", path.display()),
                None => format!(
                    "there is no {}",
                    layout::under_root(root, QEMU_CONF).display()
                ),
            }
        )),
    }
}

/// A group's id in the group database of the system under `root`: `root/etc/group` for a staged
/// tree that has one, else this machine's. `+N` is a numeric id (as in qemu.conf).
pub fn group_id(root: &Path, name: &str) -> Result<Option<u32>, String> {
    if let Some(n) = name.strip_prefix('+') {
        return n
            .parse::<u32>()
            .map(Some)
            .map_err(|_| format!("{name}: not a numeric group id"));
    }
    let staged = layout::under_root(root, "etc/group");
    if root != Path::new("/") && staged.exists() {
        let text = fsio::read_input(&staged).map_err(|e| e.to_string())?;
        return Ok(String::from_utf8_lossy(&text).lines().find_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some(name))
                .then(|| f.nth(1).and_then(|g| g.parse().ok()))
                .flatten()
        }));
    }
    nix::unistd::Group::from_name(name)
        .map(|g| g.map(|g| g.gid.as_raw()))
        .map_err(|e| format!("cannot look up group {name}: {e}"))
}

/// The name of a group on this machine, if it has one.
pub fn group_name(gid: u32) -> Option<String> {
    nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
        .ok()
        .flatten()
        .map(|g| g.name)
}

/// The QEMU group to name in a hint on this machine: this machine's QEMU group when it exists,
/// else none (a hint never names a group the machine does not have).
pub fn hint_group() -> Option<String> {
    hint_group_under(Path::new("/"))
}

/// [`hint_group`] for the system under `root`.
pub fn hint_group_under(root: &Path) -> Option<String> {
    let (g, _) = qemu_group(root).ok()?;
    group_id(root, &g).ok().flatten().map(|_| g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_defaults() {
        let d = distro_default("PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\n").unwrap();
        assert_eq!(d.group, "libvirt-qemu");
        let u = distro_default("ID=ubuntu\nID_LIKE=debian\n").unwrap();
        assert_eq!(u.group, "libvirt-qemu");
        let r = distro_default("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n").unwrap();
        assert_eq!(r.group, "qemu");
        assert_eq!(distro_default("ID=arch\n"), None);
    }

    #[test]
    fn default_users_put_the_distributions_first() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        assert_eq!(default_users(root), ["libvirt-qemu", "qemu"]);
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(
            root.join("etc/os-release"),
            "ID=rocky\nID_LIKE=\"rhel centos fedora\"\n",
        )
        .unwrap();
        assert_eq!(default_users(root), ["qemu", "libvirt-qemu"]);
    }

    #[test]
    fn qemu_conf_group_wins_then_distribution_then_refusal() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let e = qemu_group(root).unwrap_err();
        assert!(e.contains("--group"), "{e}");
        std::fs::create_dir_all(root.join("etc/libvirt")).unwrap();
        std::fs::write(root.join("etc/os-release"), "ID=fedora\n").unwrap();
        assert_eq!(qemu_group(root).unwrap().0, "qemu");
        std::fs::write(root.join("etc/libvirt/qemu.conf"), "user = \"qemu\"\n").unwrap();
        assert_eq!(qemu_group(root).unwrap().0, "qemu");
        std::fs::write(root.join("etc/libvirt/qemu.conf"), "group = \"kvm\"\n").unwrap();
        let (g, src) = qemu_group(root).unwrap();
        assert_eq!(g, "kvm");
        assert!(matches!(src, GroupSource::QemuConf(_)));
    }

    #[test]
    fn hints_name_only_groups_that_exist() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc")).unwrap();
        std::fs::write(d.path().join("etc/os-release"), "ID=fedora\n").unwrap();
        std::fs::write(d.path().join("etc/group"), "root:x:0:\n").unwrap();
        assert_eq!(hint_group_under(d.path()), None);
        std::fs::write(d.path().join("etc/group"), "root:x:0:\nqemu:x:107:\n").unwrap();
        assert_eq!(hint_group_under(d.path()).as_deref(), Some("qemu"));
    }

    #[test]
    fn staged_group_database() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc")).unwrap();
        std::fs::write(d.path().join("etc/group"), "root:x:0:\nqemu:x:107:\n").unwrap();
        assert_eq!(group_id(d.path(), "qemu").unwrap(), Some(107));
        assert_eq!(group_id(d.path(), "nosuch").unwrap(), None);
        assert_eq!(group_id(d.path(), "+36").unwrap(), Some(36));
    }
}
