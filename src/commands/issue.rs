//! `pkitool issue server|client`: flags to a [`LeafRequest`], sign with the CA, print what was
//! written and where it goes. Every flag takes effect or the command exits 2 naming the flags
//! that conflict, before anything is read or written.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use crate::ca::encrypt;
use crate::ca::provision::{self, KeyGroup, Layout, LeafInput, LeafRequest};
use crate::cli::{IssueArgs, LayoutArg, LeafKind, QemuServiceArg};
use crate::consumer::qemu_user;
use crate::layout::{self, libvirt, qemu};
use crate::x509::keys::KeyType;
use crate::{Error, prompt};

/// The plain subject/validity input of `issue`'s flags.
pub fn leaf_input(args: &IssueArgs) -> LeafInput {
    LeafInput {
        server: args.kind == LeafKind::Server,
        cn: args.cn.clone(),
        sans: args.sans.clone(),
        dn: args.dn.clone(),
        org: args.org.clone(),
        days: args.days,
        clamp_to_ca: args.clamp_to_ca,
    }
}

fn service_name(s: QemuServiceArg) -> &'static str {
    match s {
        QemuServiceArg::Vnc => "vnc",
        QemuServiceArg::Spice => "spice",
        QemuServiceArg::Chardev => "chardev",
        QemuServiceArg::Migrate => "migrate",
        QemuServiceArg::Backup => "backup",
        QemuServiceArg::Nbd => "nbd",
    }
}

fn layout_name(l: LayoutArg) -> &'static str {
    match l {
        LayoutArg::Flat => "flat",
        LayoutArg::Qemu => "qemu",
        LayoutArg::Libvirt => "libvirt",
    }
}

/// Where the files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Naming scheme.
    pub layout: Layout,
    /// Output directory (flat, qemu).
    pub out: PathBuf,
    /// System tree prefix.
    pub root: PathBuf,
    /// The QEMU directory is in a system tree (under `root`): the key gets QEMU's group by
    /// default.
    pub qemu_system_dir: bool,
}

/// Resolves `--layout`, `--out`, `--root` and `--service`, refusing combinations where a flag
/// would be ignored.
pub fn target(args: &IssueArgs) -> Result<Target, Error> {
    let conflict =
        |a: &str, b: &str, why: &str| Err(Error::Usage(format!("{a} and {b} conflict: {why}")));
    let layout = match (args.layout, args.service) {
        (Some(l), Some(s)) if l != LayoutArg::Qemu => {
            return conflict(
                &format!("--service {}", service_name(s)),
                &format!("--layout {}", layout_name(l)),
                "--service writes QEMU names (ca-cert.pem, server-cert.pem, ...) into PREFIX/etc/pki/libvirt-SERVICE; drop --layout or use --layout qemu",
            );
        }
        (Some(l), _) => l,
        (None, Some(_)) => LayoutArg::Qemu,
        (None, None) => LayoutArg::Flat,
    };
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    match layout {
        LayoutArg::Libvirt => {
            if args.out.is_some() {
                return conflict(
                    "--out",
                    "--layout libvirt",
                    "--layout libvirt writes the system tree under --root (PREFIX/etc/pki/CA, PREFIX/etc/pki/libvirt, PREFIX/etc/pki/libvirt/private); give --root PREFIX, or use --layout flat or qemu with --out DIR",
                );
            }
            Ok(Target {
                layout: Layout::Libvirt,
                out: root.clone(),
                root,
                qemu_system_dir: false,
            })
        }
        LayoutArg::Flat => {
            if let Some(r) = &args.root {
                return conflict(
                    &format!("--root {}", r.display()),
                    "--layout flat",
                    "the flat layout writes into --out (default --dir); give --out DIR, or use --layout libvirt or qemu with --root PREFIX",
                );
            }
            Ok(Target {
                layout: Layout::Flat,
                out: args.out.clone().unwrap_or_else(|| args.dir.clone()),
                root,
                qemu_system_dir: false,
            })
        }
        LayoutArg::Qemu => {
            if let Some(out) = &args.out {
                if let Some(s) = args.service {
                    return conflict(
                        "--out",
                        &format!("--service {}", service_name(s)),
                        "--service writes PREFIX/etc/pki/libvirt-SERVICE; give --root PREFIX, or --out DIR without --service",
                    );
                }
                if let Some(r) = &args.root {
                    return conflict(
                        "--out",
                        &format!("--root {}", r.display()),
                        "--layout qemu writes either into --out DIR or into PREFIX/etc/pki/qemu; give one of them",
                    );
                }
                return Ok(Target {
                    layout: Layout::Qemu,
                    out: out.clone(),
                    root,
                    qemu_system_dir: false,
                });
            }
            let rel = match args.service {
                Some(s) => format!("etc/pki/libvirt-{}", service_name(s)),
                None => qemu::SYSTEM_DIR.to_string(),
            };
            Ok(Target {
                layout: Layout::Qemu,
                out: layout::under_root(&root, &rel),
                root,
                qemu_system_dir: true,
            })
        }
    }
}

/// The key's group: `--group`, or for a QEMU directory in a system tree the group QEMU runs as
/// (qemu.conf, else the distribution's); the group must exist.
pub fn key_group(args: &IssueArgs, t: &Target) -> Result<Option<KeyGroup>, Error> {
    let (name, source) = match (&args.group, t.qemu_system_dir) {
        (Some(g), _) => (g.clone(), "--group".to_string()),
        (None, true) => {
            let (g, src) = qemu_user::qemu_group(&t.root).map_err(Error::Usage)?;
            (g, src.to_string())
        }
        (None, false) => return Ok(None),
    };
    let db = if t.root != Path::new("/") && layout::under_root(&t.root, "etc/group").exists() {
        layout::under_root(&t.root, "etc/group")
            .display()
            .to_string()
    } else {
        "this machine's group database".to_string()
    };
    match qemu_user::group_id(&t.root, &name).map_err(Error::Environment)? {
        Some(gid) => Ok(Some(KeyGroup { name, gid, source })),
        None => Err(Error::Usage(format!(
            "group {name} (from {source}) does not exist in {db}; create it, or pass --group with the group QEMU runs as (qemu.conf `group`)"
        ))),
    }
}

/// `--dir`, `--out` that cannot be what they name: exit 2 naming the flag.
fn check_dirs(args: &IssueArgs, t: &Target) -> Result<(), Error> {
    if args.ca_cert.is_none() {
        match std::fs::metadata(&args.dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::Usage(format!(
                    "--dir {}: not a directory (it holds the CA: cacert.pem, cakey.pem)",
                    args.dir.display()
                )));
            }
            Err(_) => {
                return Err(Error::Usage(format!(
                    "--dir {}: no such directory (it holds the CA: cacert.pem, cakey.pem; run pkitool init-ca --dir {} first)",
                    args.dir.display(),
                    args.dir.display()
                )));
            }
        }
    }
    if let Some(out) = &args.out
        && let Ok(m) = std::fs::metadata(out)
        && !m.is_dir()
    {
        return Err(Error::Usage(format!(
            "--out {}: is a {}, not a directory",
            out.display(),
            crate::fsio::file_kind(&m.file_type())
        )));
    }
    let _ = t;
    Ok(())
}

/// `--encrypt-key` only where the consumer can decrypt the key: QEMU layouts. libvirtd and
/// virsh (the flat pkipath and libvirt system layouts) load keys without a password.
fn check_encrypt_key(args: &IssueArgs, t: &Target) -> Result<(), Error> {
    if !args.encrypt_key {
        return Ok(());
    }
    // The flat (pkipath) and libvirt layouts are read by libvirt, the QEMU ones by QEMU.
    use crate::consumer::{rules, version::Consumer};
    let reader = if t.layout == Layout::Qemu {
        Consumer::Qemu
    } else {
        Consumer::Libvirt
    };
    let stance = rules::encrypted_key(reader);
    if !stance.decrypts {
        let flag = match t.layout {
            Layout::Libvirt => "--layout libvirt",
            _ => "--layout flat",
        };
        return Err(Error::Usage(format!(
            "--encrypt-key and {flag} conflict: libvirtd and virsh cannot load an encrypted key (libvirt loads serverkey.pem/clientkey.pem with gnutls_certificate_set_x509_key_file, without a password: \"{}\"); only QEMU decrypts keys (tls-creds-x509 passwordid); use --layout qemu or --service, or drop --encrypt-key",
            stance.message
        )));
    }
    if args
        .key_password_file
        .as_deref()
        .zip(args.password_file.as_deref())
        .is_some_and(|(k, c)| is_stdin(k) && is_stdin(c))
    {
        return Err(Error::Usage(
            "--key-password-file and --password-file conflict: both read standard input; give one of them as a file".into(),
        ));
    }
    Ok(())
}

fn is_stdin(p: &Path) -> bool {
    p == Path::new("-") || p == Path::new("/dev/stdin")
}

/// A new key's password and where it came from.
type KeyPassword = (zeroize::Zeroizing<Vec<u8>>, encrypt::PasswordSource);

/// The new key's password for `--encrypt-key`, with `--key-password-file` named in errors.
fn key_password(args: &IssueArgs) -> Result<Option<KeyPassword>, Error> {
    if !args.encrypt_key {
        return Ok(None);
    }
    let rename = |e: Error| match e {
        Error::Usage(m) => Error::Usage(m.replace("--password-file", "--key-password-file")),
        Error::Failed(m) => Error::Failed(m.replace("--password-file", "--key-password-file")),
        other => other,
    };
    let pw =
        prompt::password(args.key_password_file.as_deref(), "the new key", true).map_err(rename)?;
    encrypt::check_password(&pw).map_err(|m| Error::Usage(format!("--key-password-file: {m}")))?;
    let source = match args.key_password_file.as_deref() {
        Some(p) if !is_stdin(p) && std::fs::metadata(p).is_ok_and(|m| m.is_file()) => {
            encrypt::PasswordSource::File(std::path::absolute(p).unwrap_or_else(|_| p.into()))
        }
        _ => encrypt::PasswordSource::Stdin,
    };
    Ok(Some((pw, source)))
}

/// Prints how QEMU (by hand, or through libvirt) gets the encrypted key's password.
fn print_secret_steps(
    args: &IssueArgs,
    target: &Target,
    outcome: &provision::Outcome,
    source: &encrypt::PasswordSource,
) -> Result<(), Error> {
    use std::io::Write;
    let Some(key) = outcome
        .files
        .iter()
        .find(|w| matches!(w.what, provision::WrittenKind::Key(_)))
    else {
        return Ok(());
    };
    let uuid = encrypt::new_uuid()?;
    // Absolute paths: QEMU and virsh may run from another directory.
    let key_path = std::path::absolute(&key.path).unwrap_or_else(|_| key.path.clone());
    let root = std::path::absolute(&target.root).unwrap_or_else(|_| target.root.clone());
    let dir = key_path.parent().unwrap_or(Path::new("/"));
    let default_dir = layout::under_root(&root, qemu::SYSTEM_DIR);
    let system_default = target.qemu_system_dir && args.service.is_none() && dir == default_dir;
    // The directory as QEMU is given it: a path in the target system.
    let in_target = if target.qemu_system_dir {
        format!(
            "/{}",
            dir.strip_prefix(&root)
                .unwrap_or(dir)
                .display()
                .to_string()
                .trim_start_matches('/')
        )
    } else {
        dir.display().to_string()
    };
    let lines = encrypt::qemu_conf_lines(
        args.service.map(service_name),
        system_default,
        &in_target,
        &uuid,
    );
    let qemu_conf = layout::under_root(&root, "etc/libvirt/qemu.conf");
    let steps = encrypt::steps(&encrypt::StepsInput {
        key: &key_path,
        role: outcome.role,
        source,
        uuid: &uuid,
        qemu_conf_lines: lines,
        qemu_conf: &qemu_conf,
    });
    let mut out = anstream::stdout().lock();
    writeln!(out).map_err(|e| Error::Environment(format!("cannot write to stdout: {e}")))?;
    for l in steps {
        writeln!(out, "{}", crate::quoting::terminal::escape(&l))
            .map_err(|e| Error::Environment(format!("cannot write to stdout: {e}")))?;
    }
    Ok(())
}

/// Runs `issue`.
pub fn run(args: &IssueArgs) -> Result<u8, Error> {
    let target = target(args)?;
    check_encrypt_key(args, &target)?;
    check_dirs(args, &target)?;
    let t = provision::load_template(args.template.as_deref())?;
    let spec = provision::leaf_spec(&leaf_input(args), t.as_ref())?;
    let key_group = key_group(args, &target)?;
    let ca_cert = args
        .ca_cert
        .clone()
        .unwrap_or_else(|| args.dir.join(libvirt::CA_CERT));
    let ca_key = args
        .ca_key
        .clone()
        .unwrap_or_else(|| args.dir.join("cakey.pem"));
    let key_password = key_password(args)?;
    let password_file = args.password_file.clone();
    let asked = Cell::new(false);
    super::recover_ca(&ca_cert, &ca_key)?;
    let ca = provision::load_ca(&ca_cert, &ca_key, || {
        asked.set(true);
        prompt::password(password_file.as_deref(), "the CA key", false)
    })?;
    if let Some(pf) = &args.password_file
        && !asked.get()
    {
        return Err(Error::Usage(format!(
            "--password-file {} is not used: the CA key {} is not encrypted; drop --password-file",
            pf.display(),
            ca_key.display()
        )));
    }
    let ca_dir = match &args.ca_cert {
        Some(p) => match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        },
        None => args.dir.clone(),
    };
    let req = LeafRequest {
        ca_cert,
        ca_key,
        ca_password: None,
        spec,
        key_type: args.key_type.map(KeyType::from).unwrap_or_default(),
        out: target.out.clone(),
        dir: ca_dir,
        layout: target.layout,
        root: target.root.clone(),
        force: args.force,
        key_group,
        add_ca: args.add_ca,
        key_password: key_password.as_ref().map(|(p, _)| p.clone()),
    };
    let mut outcome = provision::issue(&req, &ca)?;
    if let Some(t) = &t {
        outcome.warnings.extend(t.warnings.iter().cloned());
    }
    let code = super::print_provisioned(&outcome)?;
    if let Some((_, source)) = &key_password {
        print_secret_steps(args, &target, &outcome, source)?;
    }
    Ok(code)
}
