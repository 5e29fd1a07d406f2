//! The TLS settings of libvirt's qemu.conf and where they make QEMU look, resolved exactly as
//! libvirt does (`src/qemu/qemu_conf.c`: `virQEMUDriverConfigLoadSpecificTLSEntry`,
//! `virQEMUDriverConfigValidate`, `virQEMUDriverConfigSetDefaults`):
//!
//! - `default_tls_x509_cert_dir` (default `/etc/pki/qemu`); when it is set explicitly it must
//!   exist or libvirtd refuses to start;
//! - `<svc>_tls_x509_cert_dir` for vnc, spice, chardev, migrate, backup and nbd: when set it must
//!   exist; when unset libvirt uses `/etc/pki/libvirt-<svc>` **if that directory exists**, else
//!   the default directory;
//! - `<svc>_tls_x509_verify`: when unset, `default_tls_x509_verify` if that is set, else vnc 0,
//!   chardev, migrate and backup 1 (spice and nbd have none: SPICE never asks for a client
//!   certificate, NBD clients always verify);
//! - `<svc>_tls_x509_secret_uuid`: when the service directory is not set explicitly and it has
//!   no secret of its own, `default_tls_x509_secret_uuid` (spice has none);
//! - `user` / `group`: who the QEMU processes run as (`+N` is a numeric id).
//!
//! The syntax is the same as libvirtd.conf's ([`super::libvirtd_conf::parse`]).

use super::libvirtd_conf::{self, ConfError, Setting, Value};

/// The services with a certificate directory of their own, in libvirt's order.
pub const SERVICES: &[&str] = &["vnc", "spice", "chardev", "migrate", "backup", "nbd"];

/// libvirt's built-in default directory.
pub const DEFAULT_DIR: &str = "/etc/pki/qemu";

/// The settings as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QemuConf {
    /// `default_tls_x509_cert_dir`.
    pub default_dir: Option<String>,
    /// `default_tls_x509_verify`.
    pub default_verify: Option<bool>,
    /// `default_tls_x509_secret_uuid`.
    pub default_secret: Option<String>,
    /// Per service: (name, cert dir, verify, secret uuid, `<svc>_tls` enabled).
    pub services: Vec<ServiceConf>,
    /// `user`.
    pub user: Option<String>,
    /// `group`.
    pub group: Option<String>,
}

/// One service's settings as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceConf {
    /// vnc, spice, ...
    pub name: &'static str,
    /// `<svc>_tls_x509_cert_dir`.
    pub dir: Option<String>,
    /// `<svc>_tls_x509_verify`.
    pub verify: Option<bool>,
    /// `<svc>_tls_x509_secret_uuid`.
    pub secret: Option<String>,
    /// `<svc>_tls` (vnc, spice, chardev) or `migrate_tls_force`, when set.
    pub tls: Option<bool>,
    /// The line of `<svc>_tls_x509_cert_dir`, for messages.
    pub dir_line: Option<usize>,
}

/// One service as libvirt resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// vnc, spice, ...
    pub name: &'static str,
    /// The directory QEMU is given (a path in the target system).
    pub dir: String,
    /// Where the directory comes from, for messages ("vnc_tls_x509_cert_dir",
    /// "the existing /etc/pki/libvirt-vnc", "default_tls_x509_cert_dir", "libvirt's default").
    pub source: String,
    /// Set explicitly in qemu.conf: libvirtd refuses to start when it does not exist.
    pub explicit: bool,
    /// Does the server end ask for and verify client certificates? (None: no such setting.)
    pub verify: Option<bool>,
    /// The secret for an encrypted server key.
    pub secret: Option<String>,
    /// `<svc>_tls` (vnc, spice, chardev) or `migrate_tls_force`, when set.
    pub tls: Option<bool>,
    /// Where `verify` comes from ("migrate_tls_x509_verify", "default_tls_x509_verify",
    /// "libvirt's default").
    pub verify_source: &'static str,
}

impl Service {
    /// Services whose QEMU end is a TLS server only (VNC and SPICE displays): a missing client
    /// certificate is not a gap there.
    pub fn server_only(&self) -> bool {
        matches!(self.name, "vnc" | "spice")
    }
}

fn boolean(
    map: &std::collections::HashMap<String, Setting>,
    k: &str,
) -> Result<Option<bool>, ConfError> {
    match map.get(k) {
        None => Ok(None),
        Some(Setting {
            value: Value::Num(n),
            line,
        }) => match n.as_str() {
            "0" => Ok(Some(false)),
            "1" => Ok(Some(true)),
            _ => Err(ConfError {
                line: *line,
                message: format!("{k} must be 0 or 1"),
            }),
        },
        Some(Setting { line, .. }) => Err(ConfError {
            line: *line,
            message: format!("{k} must be 0 or 1"),
        }),
    }
}

fn string(
    map: &std::collections::HashMap<String, Setting>,
    k: &str,
) -> Result<Option<(String, usize)>, ConfError> {
    match map.get(k) {
        None => Ok(None),
        Some(Setting {
            value: Value::Str(s),
            line,
        }) => Ok(Some((s.clone(), *line))),
        Some(Setting { line, .. }) => Err(ConfError {
            line: *line,
            message: format!("{k} must be a string"),
        }),
    }
}

/// Reads the TLS settings of a qemu.conf.
pub fn parse(text: &str) -> Result<QemuConf, ConfError> {
    let map = libvirtd_conf::parse(text)?;
    let mut c = QemuConf {
        default_dir: string(&map, "default_tls_x509_cert_dir")?.map(|(s, _)| s),
        default_verify: boolean(&map, "default_tls_x509_verify")?,
        default_secret: string(&map, "default_tls_x509_secret_uuid")?.map(|(s, _)| s),
        services: Vec::new(),
        user: string(&map, "user")?.map(|(s, _)| s),
        group: string(&map, "group")?.map(|(s, _)| s),
    };
    for &name in SERVICES {
        let dir = string(&map, &format!("{name}_tls_x509_cert_dir"))?;
        c.services.push(ServiceConf {
            name,
            dir_line: dir.as_ref().map(|(_, l)| *l),
            dir: dir.map(|(s, _)| s),
            verify: if matches!(name, "spice" | "nbd") {
                None
            } else {
                boolean(&map, &format!("{name}_tls_x509_verify"))?
            },
            secret: if name == "spice" {
                None
            } else {
                string(&map, &format!("{name}_tls_x509_secret_uuid"))?.map(|(s, _)| s)
            },
            tls: if matches!(name, "vnc" | "spice" | "chardev") {
                boolean(&map, &format!("{name}_tls"))?
            } else if name == "migrate" {
                // Every migration uses TLS (libvirt 4.6+), not only `virsh migrate --tls`.
                boolean(&map, "migrate_tls_force")?
            } else {
                None
            },
        });
    }
    Ok(c)
}

impl QemuConf {
    /// The default directory QEMU is given.
    pub fn default_dir(&self) -> &str {
        self.default_dir.as_deref().unwrap_or(DEFAULT_DIR)
    }

    /// Every service resolved as libvirt does; `exists` answers whether a directory (a path in
    /// the target system) exists.
    pub fn resolve(&self, exists: impl Fn(&str) -> bool) -> Vec<Service> {
        SERVICES
            .iter()
            .map(|&name| {
                let unset = ServiceConf {
                    name,
                    ..ServiceConf::default()
                };
                let s = self
                    .services
                    .iter()
                    .find(|s| s.name == name)
                    .unwrap_or(&unset);
                let fallback = format!("/etc/pki/libvirt-{}", s.name);
                let (dir, source, explicit) = match &s.dir {
                    Some(d) => (d.clone(), format!("{}_tls_x509_cert_dir", s.name), true),
                    None if exists(&fallback) => {
                        let src = format!("the existing {fallback}");
                        (fallback, src, false)
                    }
                    None => (
                        self.default_dir().to_string(),
                        if self.default_dir.is_some() {
                            "default_tls_x509_cert_dir".to_string()
                        } else {
                            "libvirt's default".to_string()
                        },
                        false,
                    ),
                };
                let default_verify = match s.name {
                    "vnc" => Some(false),
                    "chardev" | "migrate" | "backup" => Some(true),
                    _ => None,
                };
                let verify = default_verify.map(|d| s.verify.or(self.default_verify).unwrap_or(d));
                let verify_source = match (s.verify, self.default_verify) {
                    (Some(_), _) => match s.name {
                        "vnc" => "vnc_tls_x509_verify",
                        "chardev" => "chardev_tls_x509_verify",
                        "migrate" => "migrate_tls_x509_verify",
                        _ => "backup_tls_x509_verify",
                    },
                    (None, Some(_)) => "default_tls_x509_verify",
                    (None, None) => "libvirt's default",
                };
                let secret = match (&s.secret, &s.dir) {
                    (Some(x), _) => Some(x.clone()),
                    (None, None) if s.name != "spice" => self.default_secret.clone(),
                    _ => None,
                };
                Service {
                    name: s.name,
                    dir,
                    source,
                    explicit,
                    verify,
                    secret,
                    tls: s.tls,
                    verify_source,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_libvirt() {
        let c = parse(
            r#"
vnc_tls = 1
vnc_tls_x509_cert_dir = "/srv/vnc"
default_tls_x509_verify = 0
default_tls_x509_secret_uuid = "aaaa"
migrate_tls_x509_secret_uuid = "bbbb"
user = "+107"
"#,
        )
        .unwrap();
        assert_eq!(c.user.as_deref(), Some("+107"));
        let s = c.resolve(|d| d == "/etc/pki/libvirt-spice");
        let by = |n: &str| s.iter().find(|x| x.name == n).unwrap().clone();
        assert_eq!(by("vnc").dir, "/srv/vnc");
        assert!(by("vnc").explicit);
        // An explicit directory takes no default secret.
        assert_eq!(by("vnc").secret, None);
        assert_eq!(by("spice").dir, "/etc/pki/libvirt-spice");
        assert!(!by("spice").explicit);
        assert_eq!(by("chardev").dir, "/etc/pki/qemu");
        assert_eq!(by("chardev").secret.as_deref(), Some("aaaa"));
        assert_eq!(by("migrate").secret.as_deref(), Some("bbbb"));
        // default_tls_x509_verify overrides the per-service defaults.
        assert_eq!(by("migrate").verify, Some(false));
        assert_eq!(by("nbd").verify, None);
        let d = parse("").unwrap().resolve(|_| false);
        assert_eq!(
            d.iter().find(|x| x.name == "vnc").unwrap().verify,
            Some(false)
        );
        assert_eq!(
            d.iter().find(|x| x.name == "backup").unwrap().verify,
            Some(true)
        );
        assert!(d.iter().all(|x| x.dir == DEFAULT_DIR));
        assert_eq!(parse("\nvnc_tls_x509_verify = 2\n").unwrap_err().line, 2);
        assert_eq!(parse("user = 3\n").unwrap_err().line, 1);
    }
}

/// The account QEMU processes run as, resolved against the target system's `etc/passwd` and
/// `etc/group` (under `--root`, the staged tree's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// User name (or `+N`).
    pub user: String,
    /// Its uid.
    pub uid: u32,
    /// The group QEMU runs with.
    pub gid: u32,
    /// That group's name.
    pub group: String,
    /// Supplementary groups of the user (gids).
    pub groups: Vec<u32>,
    /// Where the user comes from, for messages.
    pub source: String,
}

fn lines(root: &std::path::Path, rel: &str) -> Vec<Vec<String>> {
    crate::fsio::read_input(&super::under_root(root, rel))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| l.split(':').map(str::to_string).collect())
                .collect()
        })
        .unwrap_or_default()
}

/// Resolves qemu.conf's `user` and `group` (default: the distribution's, from
/// [`crate::consumer::qemu_user::default_users`]). `None` when the user is not found (nothing can be checked as it).
pub fn account(root: &std::path::Path, conf: &QemuConf) -> Option<Account> {
    let passwd = lines(root, "etc/passwd");
    let groups = lines(root, "etc/group");
    let field = |row: &Vec<String>, i: usize| row.get(i).cloned().unwrap_or_default();
    let num = |s: &str| s.parse::<u32>().ok();
    let lookup_user = |name: &str| -> Option<(String, u32, u32)> {
        if let Some(n) = name.strip_prefix('+').and_then(num) {
            let row = passwd.iter().find(|r| num(&field(r, 2)) == Some(n));
            return Some((
                row.map(|r| field(r, 0)).unwrap_or_else(|| name.to_string()),
                n,
                row.and_then(|r| num(&field(r, 3))).unwrap_or(n),
            ));
        }
        if let Some(r) = passwd.iter().find(|r| field(r, 0) == name) {
            return Some((name.to_string(), num(&field(r, 2))?, num(&field(r, 3))?));
        }
        if root == std::path::Path::new("/") {
            let u = nix::unistd::User::from_name(name).ok().flatten()?;
            return Some((u.name, u.uid.as_raw(), u.gid.as_raw()));
        }
        None
    };
    let (name, uid, pgid, source) = match &conf.user {
        Some(u) => {
            let (n, uid, g) = lookup_user(u)?;
            (n, uid, g, format!("qemu.conf user = \"{u}\""))
        }
        None => crate::consumer::qemu_user::default_users(root).iter().find_map(|u| {
            lookup_user(u).map(|(n, uid, g)| {
                (
                    n,
                    uid,
                    g,
                    format!("qemu.conf sets no user: {u}, the default of the distribution's libvirt build"),
                )
            })
        })?,
    };
    let group_row = |pred: &dyn Fn(&Vec<String>) -> bool| groups.iter().find(|r| pred(r)).cloned();
    let (gid, gname) = match &conf.group {
        Some(g) => match g.strip_prefix('+').and_then(num) {
            Some(n) => (
                n,
                group_row(&|r| num(&field(r, 2)) == Some(n))
                    .map(|r| field(&r, 0))
                    .unwrap_or_else(|| g.clone()),
            ),
            None => {
                let r = group_row(&|r| field(r, 0) == *g)?;
                (num(&field(&r, 2))?, g.clone())
            }
        },
        None => (
            pgid,
            group_row(&|r| num(&field(r, 2)) == Some(pgid))
                .map(|r| field(&r, 0))
                .unwrap_or_else(|| pgid.to_string()),
        ),
    };
    let mut supp: Vec<u32> = groups
        .iter()
        .filter(|r| field(r, 3).split(',').any(|m| m == name))
        .filter_map(|r| num(&field(r, 2)))
        .collect();
    supp.push(pgid);
    Some(Account {
        user: name,
        uid,
        gid,
        group: gname,
        groups: supp,
        source,
    })
}

impl Account {
    /// Can this account do `want` (4 read, 1 search/execute) on a file with this owner and mode?
    /// (root can do anything.)
    pub fn may(&self, uid: u32, gid: u32, mode: u32, want: u32) -> bool {
        if self.uid == 0 {
            return true;
        }
        let bits = if uid == self.uid {
            mode >> 6
        } else if gid == self.gid || self.groups.contains(&gid) {
            mode >> 3
        } else {
            mode
        };
        bits & want == want
    }
}
