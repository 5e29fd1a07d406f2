//! Finding the layouts to validate: the system tree (optionally under `--root`), the per-user
//! directory, libvirt pkipath and QEMU directories (by their file names), the `/etc/pki/libvirt`
//! tree with its CA in `../CA`, a libvirtd.conf, and fleet mode (loose certificates checked
//! against `--ca`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::layout::{self, Role, libvirt, qemu, under_root};

/// What kind of layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutKind {
    /// `/etc/pki/CA` + `/etc/pki/libvirt` (+ `private/`).
    LibvirtSystem,
    /// `$HOME/.pki/libvirt`.
    LibvirtUser,
    /// A flat directory with libvirt names (`?pkipath=DIR`).
    LibvirtPkipath,
    /// A QEMU `tls-creds-x509` directory.
    Qemu,
    /// The files a libvirtd.conf names.
    LibvirtdConf,
    /// Loose certificates checked against `--ca`.
    Fleet,
}

impl LayoutKind {
    /// True for the layouts libvirt (not QEMU) loads, which have libvirt's 64 KiB read limit.
    pub fn is_libvirt(self) -> bool {
        matches!(
            self,
            LayoutKind::LibvirtSystem
                | LayoutKind::LibvirtUser
                | LayoutKind::LibvirtPkipath
                | LayoutKind::LibvirtdConf
        )
    }
}

/// One certificate/key pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Server or client.
    pub role: Role,
    /// The certificate file.
    pub cert: PathBuf,
    /// The key file.
    pub key: PathBuf,
    /// QEMU identity index (`server-cert-N.pem`), None for the default pair.
    pub index: Option<u8>,
    /// A missing pair is an error (a QEMU server, a libvirtd.conf server).
    pub required: bool,
}

/// A set of files one consumer loads together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// What kind.
    pub kind: LayoutKind,
    /// Display name, e.g. "QEMU directory /etc/pki/qemu".
    pub name: String,
    /// The main directory.
    pub dir: PathBuf,
    /// The CA bundle (None only in fleet mode without --ca, which is refused earlier).
    pub ca: Option<PathBuf>,
    /// The CRL (optional file).
    pub crl: Option<PathBuf>,
    /// The pairs.
    pub identities: Vec<Identity>,
    /// DH parameters (QEMU).
    pub dh_params: Option<PathBuf>,
    /// Directories scanned for stray CA keys.
    pub deploy_dirs: Vec<PathBuf>,
    /// Files whose permissions follow the system rules (root-owned, read by unprivileged users).
    pub system: bool,
    /// Allow-list from a libvirtd.conf.
    pub allowed_dn: Option<Vec<String>>,
    /// Fleet mode: the certificate files found.
    pub fleet: Vec<PathBuf>,
    /// Identities beyond a gap (QEMU stops at the first missing index).
    #[serde(skip)]
    pub unreachable: Vec<PathBuf>,
    /// The qemu.conf services that use this directory (vnc, migrate, ...), when known.
    #[serde(skip)]
    pub services: Vec<String>,
    /// qemu.conf gives this directory a `*_tls_x509_secret_uuid` (encrypted keys are loaded).
    #[serde(skip)]
    pub key_secret: Option<String>,
    /// Only TLS-server services use it (VNC, SPICE displays): no client certificate expected.
    #[serde(skip)]
    pub server_only: bool,
    /// The qemu.conf services using this directory that have a `*_tls_x509_verify`, resolved.
    #[serde(skip)]
    pub verify: Vec<crate::layout::qemu_conf::Service>,
    /// The account the QEMU processes run as (qemu.conf `user`/`group`), when known.
    #[serde(skip)]
    pub qemu_account: Option<crate::layout::qemu_conf::Account>,
    /// libvirtd.conf `tls_no_verify_certificate = 1`: clients are admitted unchecked.
    #[serde(skip)]
    pub no_verify: bool,
    /// The root of the system tree this layout belongs to (`/`, `--root`, or a PATH that is a
    /// system tree), when known.
    #[serde(skip)]
    pub root: Option<PathBuf>,
}

impl Layout {
    fn new(kind: LayoutKind, name: String, dir: PathBuf) -> Self {
        Layout {
            kind,
            name,
            dir,
            ca: None,
            crl: None,
            identities: Vec::new(),
            dh_params: None,
            deploy_dirs: Vec::new(),
            system: false,
            allowed_dn: None,
            fleet: Vec::new(),
            unreachable: Vec::new(),
            services: Vec::new(),
            key_secret: None,
            server_only: false,
            verify: Vec::new(),
            qemu_account: None,
            no_verify: false,
            root: None,
        }
    }
}

/// A layout with no files (a libvirtd.conf that cannot be parsed still gets its findings).
pub fn empty(kind: LayoutKind, name: String, dir: PathBuf) -> Layout {
    Layout::new(kind, name, dir)
}

/// The system libvirt layout under `root`.
pub fn libvirt_system(root: &Path) -> Layout {
    let ca_dir = under_root(root, libvirt::SYSTEM_CA_DIR);
    let cert_dir = under_root(root, libvirt::SYSTEM_CERT_DIR);
    let key_dir = under_root(root, libvirt::SYSTEM_KEY_DIR);
    let mut l = Layout::new(
        LayoutKind::LibvirtSystem,
        format!("libvirt system layout {}", cert_dir.display()),
        cert_dir.clone(),
    );
    l.ca = Some(ca_dir.join(libvirt::CA_CERT));
    l.crl = Some(ca_dir.join(libvirt::CA_CRL));
    l.identities = vec![
        Identity {
            role: Role::Server,
            cert: cert_dir.join(libvirt::SERVER_CERT),
            key: key_dir.join(libvirt::SERVER_KEY),
            index: None,
            required: false,
        },
        Identity {
            role: Role::Client,
            cert: cert_dir.join(libvirt::CLIENT_CERT),
            key: key_dir.join(libvirt::CLIENT_KEY),
            index: None,
            required: false,
        },
    ];
    l.deploy_dirs = vec![cert_dir, key_dir];
    l.system = true;
    l
}

/// A flat libvirt directory (pkipath or `$HOME/.pki/libvirt`).
pub fn libvirt_flat(dir: &Path, kind: LayoutKind) -> Layout {
    let what = if kind == LayoutKind::LibvirtUser {
        "libvirt per-user directory"
    } else {
        "libvirt pkipath directory"
    };
    let mut l = Layout::new(kind, format!("{what} {}", dir.display()), dir.to_path_buf());
    l.ca = Some(dir.join(libvirt::CA_CERT));
    l.crl = Some(dir.join(libvirt::CA_CRL));
    for (role, c, k) in [
        (Role::Server, libvirt::SERVER_CERT, libvirt::SERVER_KEY),
        (Role::Client, libvirt::CLIENT_CERT, libvirt::CLIENT_KEY),
    ] {
        l.identities.push(Identity {
            role,
            cert: dir.join(c),
            key: dir.join(k),
            index: None,
            required: false,
        });
    }
    l.deploy_dirs = vec![dir.to_path_buf()];
    l
}

/// A QEMU `tls-creds-x509` directory, with `server-cert-N.pem` identities (QEMU 10.2).
pub fn qemu_dir(dir: &Path, system: bool) -> Layout {
    let mut l = Layout::new(
        LayoutKind::Qemu,
        format!("QEMU directory {}", dir.display()),
        dir.to_path_buf(),
    );
    l.ca = Some(dir.join(qemu::CA_CERT));
    l.crl = Some(dir.join(qemu::CA_CRL));
    l.dh_params = Some(dir.join(qemu::DH_PARAMS));
    for (role, c, k, required) in [
        (Role::Server, "server-cert", "server-key", true),
        (Role::Client, "client-cert", "client-key", false),
    ] {
        l.identities.push(Identity {
            role,
            cert: dir.join(format!("{c}.pem")),
            key: dir.join(format!("{k}.pem")),
            index: None,
            required,
        });
        let mut gap = false;
        for n in 0..4u8 {
            let cert = dir.join(format!("{c}-{n}.pem"));
            let key = dir.join(format!("{k}-{n}.pem"));
            let present = cert.exists() || key.exists();
            if !present {
                gap = true;
                continue;
            }
            if gap {
                l.unreachable.push(if cert.exists() { cert } else { key });
                continue;
            }
            l.identities.push(Identity {
                role,
                cert,
                key,
                index: Some(n),
                required: false,
            });
        }
    }
    l.deploy_dirs = vec![dir.to_path_buf()];
    l.system = system;
    l
}

/// Does `dir` hold any libvirt-named file (or is a killed pkitool run's journal there writing
/// one)?
pub fn has_libvirt_names(dir: &Path) -> bool {
    [
        libvirt::CA_CERT,
        libvirt::CA_CRL,
        libvirt::SERVER_CERT,
        libvirt::SERVER_KEY,
        libvirt::CLIENT_CERT,
        libvirt::CLIENT_KEY,
    ]
    .iter()
    .any(|n| dir.join(n).exists() || journaled(dir, n))
}

/// Is `name` in `dir` one of the files an interrupted pkitool write (its journal in `dir`) was
/// putting in place? A set killed before its first file was in place (an `init-ca` into an empty
/// directory) is then still a layout, and validate reports the interrupted set (PKI-F18).
fn journaled(dir: &Path, name: &str) -> bool {
    let Some(entries) = crate::journal::find(dir) else {
        return false;
    };
    let Ok(dir) = std::fs::canonicalize(dir) else {
        return false;
    };
    entries.iter().any(|e| e.target == dir.join(name))
}

/// Does `dir` hold any QEMU-named file?
pub fn has_qemu_names(dir: &Path) -> bool {
    [
        qemu::CA_CERT,
        qemu::CA_CRL,
        qemu::SERVER_CERT,
        qemu::SERVER_KEY,
        qemu::CLIENT_CERT,
        qemu::CLIENT_KEY,
        qemu::DH_PARAMS,
    ]
    .iter()
    .any(|n| dir.join(n).exists() || journaled(dir, n))
        || (0..4).any(|n| {
            dir.join(format!("server-cert-{n}.pem")).exists()
                || dir.join(format!("client-cert-{n}.pem")).exists()
        })
}

/// Is `dir` the `/etc/pki/libvirt` tree (certs here, keys in `private/`, CA in `../CA`)?
fn is_libvirt_tree(dir: &Path) -> bool {
    let has_certs = dir.join(libvirt::SERVER_CERT).exists()
        || dir.join(libvirt::CLIENT_CERT).exists()
        || dir.join("private").is_dir();
    let flat_keys =
        dir.join(libvirt::SERVER_KEY).exists() || dir.join(libvirt::CLIENT_KEY).exists();
    has_certs
        && !flat_keys
        && !dir.join(libvirt::CA_CERT).exists()
        && dir.join("private").is_dir()
        && dir.join("../CA").join(libvirt::CA_CERT).exists()
}

/// The `/etc/pki/libvirt` tree at `dir` (CA in `../CA`, keys in `private/`).
fn libvirt_tree(dir: &Path) -> Layout {
    let parent = dir.join("..");
    let mut l = libvirt_system(Path::new("/"));
    l.name = format!("libvirt tree {}", dir.display());
    l.dir = dir.to_path_buf();
    l.ca = Some(parent.join("CA").join(libvirt::CA_CERT));
    l.crl = Some(parent.join("CA").join(libvirt::CA_CRL));
    let key_dir = dir.join("private");
    for id in &mut l.identities {
        let (c, k) = match id.role {
            Role::Server => (libvirt::SERVER_CERT, libvirt::SERVER_KEY),
            _ => (libvirt::CLIENT_CERT, libvirt::CLIENT_KEY),
        };
        id.cert = dir.join(c);
        id.key = key_dir.join(k);
    }
    l.deploy_dirs = vec![dir.to_path_buf(), key_dir];
    l
}

/// Every layout of the system tree under `root` that exists: libvirt (always, it is the
/// default), `/etc/pki/qemu` and the `/etc/pki/libvirt-*` QEMU directories.
pub fn system(root: &Path) -> Vec<Layout> {
    let mut out = vec![libvirt_system(root)];
    let mut qdirs = vec![qemu::SYSTEM_DIR];
    qdirs.extend_from_slice(qemu::SERVICE_DIRS);
    for rel in qdirs {
        let d = under_root(root, rel);
        if d.is_dir() {
            out.push(qemu_dir(&d, true));
        }
    }
    out
}

/// Is `path` the root of a system tree (it holds `etc/pki` and no libvirt or QEMU names)?
pub fn is_system_root(path: &Path) -> bool {
    path.is_dir()
        && !is_libvirt_tree(path)
        && !has_libvirt_names(path)
        && !has_qemu_names(path)
        && under_root(path, layout::libvirt::SYSTEM_PKI_DIR).is_dir()
}

/// What a command-line PATH is.
pub enum Discovered {
    /// Layouts recognised by their file names.
    Layouts(Vec<Layout>),
    /// Certificate files for fleet mode.
    Fleet(Vec<PathBuf>),
}

/// Recognises a command-line path.
pub fn classify(path: &Path) -> Discovered {
    if !path.is_dir() {
        return Discovered::Fleet(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    if is_libvirt_tree(path) {
        out.push(libvirt_tree(path));
    } else if has_libvirt_names(path) {
        out.push(libvirt_flat(path, LayoutKind::LibvirtPkipath));
    }
    if has_qemu_names(path) {
        out.push(qemu_dir(path, false));
    }
    if out.is_empty() && under_root(path, layout::libvirt::SYSTEM_PKI_DIR).is_dir() {
        out = system(path);
    }
    if out.is_empty() {
        let mut files = Vec::new();
        scan(path, &mut files, 0);
        files.sort();
        return Discovered::Fleet(files);
    }
    Discovered::Layouts(out)
}

/// Recursively lists candidate certificate files (by extension), not following symlinked
/// directories, at most 32 levels deep.
fn scan(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 32 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            scan(&p, out, depth + 1);
        } else if fleet_candidate(&p) {
            out.push(p);
        }
    }
}

/// Does fleet mode's scan visit this file (by its extension)?
pub fn fleet_candidate(p: &Path) -> bool {
    p.extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| matches!(x, "pem" | "crt" | "cer" | "cert" | "der"))
}

/// A fleet layout: loose certificate files checked against `ca`.
pub fn fleet(name: String, dir: PathBuf, ca: &Path, files: Vec<PathBuf>) -> Layout {
    let mut l = Layout::new(LayoutKind::Fleet, name, dir);
    l.ca = Some(ca.to_path_buf());
    l.fleet = files;
    l
}

/// The files a libvirtd.conf makes libvirtd load (defaults for what it does not set).
pub fn from_libvirtd_conf(
    conf_path: &Path,
    conf: &crate::layout::libvirtd_conf::TlsConf,
    root: &Path,
) -> Layout {
    let sys = libvirt_system(root);
    let mut l = Layout::new(
        LayoutKind::LibvirtdConf,
        format!("libvirtd configuration {}", conf_path.display()),
        conf_path.parent().unwrap_or(Path::new("/")).to_path_buf(),
    );
    let pick = |v: &Option<String>, default: Option<PathBuf>| -> Option<PathBuf> {
        v.as_ref()
            .map(|s| {
                if root == Path::new("/") {
                    PathBuf::from(s)
                } else {
                    under_root(root, s)
                }
            })
            .or(default)
    };
    l.ca = pick(&conf.ca_file, sys.ca.clone());
    l.crl = pick(&conf.crl_file, sys.crl.clone());
    let (def_cert, def_key) = sys
        .identities
        .first()
        .map(|i| (i.cert.clone(), i.key.clone()))
        .unwrap_or_default();
    let cert = pick(&conf.cert_file, Some(def_cert)).unwrap_or_default();
    let key = pick(&conf.key_file, Some(def_key)).unwrap_or_default();
    l.deploy_dirs = [cert.parent(), key.parent()]
        .into_iter()
        .flatten()
        .map(Path::to_path_buf)
        .collect();
    l.deploy_dirs.dedup();
    l.identities.push(Identity {
        role: Role::Server,
        cert,
        key,
        index: None,
        required: true,
    });
    l.allowed_dn = conf.tls_allowed_dn_list.clone();
    l.system = true;
    l
}

/// What a qemu.conf makes QEMU load, under `root`: one QEMU layout per distinct directory that
/// exists, and the explicitly configured directories that do not exist (libvirtd refuses to
/// start: "vnc_tls_x509_cert_dir directory '...' does not exist"), as (setting, directory).
pub fn from_qemu_conf(
    root: &Path,
    conf: &crate::layout::qemu_conf::QemuConf,
    account: Option<crate::layout::qemu_conf::Account>,
) -> (Vec<Layout>, Vec<(String, PathBuf)>) {
    let in_root = |d: &str| under_root(root, d);
    let services = conf.resolve(|d| in_root(d).is_dir());
    let mut missing = Vec::new();
    if conf.default_dir.is_some() && !in_root(conf.default_dir()).is_dir() {
        missing.push((
            "default_tls_x509_cert_dir".to_string(),
            in_root(conf.default_dir()),
        ));
    }
    let mut out: Vec<Layout> = Vec::new();
    for s in &services {
        let dir = in_root(&s.dir);
        if !dir.is_dir() {
            if s.explicit {
                missing.push((s.source.clone(), dir));
            }
            continue;
        }
        let l = match out.iter_mut().find(|l| l.dir == dir) {
            Some(l) => l,
            None => {
                let mut l = qemu_dir(&dir, true);
                l.server_only = true;
                l.qemu_account = account.clone();
                l.root = Some(root.to_path_buf());
                out.push(l);
                out.last_mut().expect("just pushed")
            }
        };
        l.services.push(s.name.to_string());
        l.server_only &= s.server_only();
        if s.verify.is_some() {
            l.verify.push(s.clone());
        }
        if l.key_secret.is_none() {
            l.key_secret = s.secret.clone();
        }
    }
    for l in &mut out {
        l.name = format!(
            "QEMU directory {} ({})",
            l.dir.display(),
            l.services.join(", ")
        );
    }
    (out, missing)
}

/// Does any file of this layout exist?
pub fn any_file_exists(l: &Layout) -> bool {
    l.ca.iter()
        .chain(l.crl.iter())
        .chain(l.identities.iter().flat_map(|i| [&i.cert, &i.key]))
        .any(|p| std::fs::symlink_metadata(p).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_both_schemes_and_the_tree() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::write(p.join("cacert.pem"), "x").unwrap();
        std::fs::write(p.join("ca-cert.pem"), "x").unwrap();
        std::fs::write(p.join("server-cert-0.pem"), "x").unwrap();
        std::fs::write(p.join("server-cert-2.pem"), "x").unwrap();
        let Discovered::Layouts(ls) = classify(p) else {
            panic!("not layouts")
        };
        assert_eq!(ls.len(), 2);
        assert_eq!(ls[0].kind, LayoutKind::LibvirtPkipath);
        assert_eq!(ls[1].kind, LayoutKind::Qemu);
        assert_eq!(
            ls[1]
                .identities
                .iter()
                .filter(|i| i.index.is_some())
                .count(),
            1
        );
        assert_eq!(ls[1].unreachable, vec![p.join("server-cert-2.pem")]);

        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("etc/pki/CA")).unwrap();
        std::fs::create_dir_all(root.join("etc/pki/libvirt/private")).unwrap();
        std::fs::create_dir_all(root.join("etc/pki/qemu")).unwrap();
        std::fs::write(root.join("etc/pki/CA/cacert.pem"), "x").unwrap();
        std::fs::write(root.join("etc/pki/libvirt/servercert.pem"), "x").unwrap();
        let Discovered::Layouts(ls) = classify(&root.join("etc/pki/libvirt")) else {
            panic!()
        };
        assert_eq!(
            ls[0].ca,
            Some(root.join("etc/pki/libvirt/../CA/cacert.pem"))
        );
        assert_eq!(
            ls[0].identities[0].key,
            root.join("etc/pki/libvirt/private/serverkey.pem")
        );
        let Discovered::Layouts(ls) = classify(root) else {
            panic!()
        };
        assert_eq!(ls.len(), 2);
        assert_eq!(ls[1].kind, LayoutKind::Qemu);

        let f = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(f.path().join("a/b")).unwrap();
        std::fs::write(f.path().join("a/b/h.pem"), "x").unwrap();
        std::fs::write(f.path().join("notes.txt"), "x").unwrap();
        let Discovered::Fleet(files) = classify(f.path()) else {
            panic!()
        };
        assert_eq!(files, vec![f.path().join("a/b/h.pem")]);
    }

    #[test]
    fn a_directory_a_killed_run_was_writing_is_a_layout() {
        let f = tempfile::tempdir().unwrap();
        let d = f.path();
        // init-ca killed after its journal, before any file was in place: only temporary files.
        std::fs::write(d.join(".pkitool-new-1.tmp"), "cert").unwrap();
        std::fs::write(d.join(".pkitool-new-2.tmp"), "key").unwrap();
        assert!(matches!(classify(d), Discovered::Fleet(_)));
        let entries = [
            crate::journal::Entry {
                target: d.join("cacert.pem"),
                temp: d.join(".pkitool-new-1.tmp"),
                backup: None,
            },
            crate::journal::Entry {
                target: d.join("cakey.pem"),
                temp: d.join(".pkitool-new-2.tmp"),
                backup: None,
            },
        ];
        assert!(crate::journal::begin(d, &entries).unwrap());
        let Discovered::Layouts(ls) = classify(d) else {
            panic!("a directory with a journal writing cacert.pem is a layout")
        };
        assert_eq!(ls.len(), 1);
        // A journal writing other names (not libvirt's or QEMU's) does not make a layout.
        crate::journal::end(d);
        let other = [crate::journal::Entry {
            target: d.join("host.crt"),
            temp: d.join(".pkitool-new-1.tmp"),
            backup: None,
        }];
        assert!(crate::journal::begin(d, &other).unwrap());
        assert!(matches!(classify(d), Discovered::Fleet(_)));
    }
}
