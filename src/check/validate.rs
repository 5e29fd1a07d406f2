//! Validation as a whole: find the layouts a [`ValidateOptions`] names, run every check on each,
//! and collect the [`Outcome`] the reports render. The exit-status rule lives here too
//! ([`Outcome::exit_code`]); the `validate` command only translates flags and prints.

use std::path::{Path, PathBuf};

use crate::check::finding::{Counts, Finding, Severity};
use crate::check::{self, LayoutReport, Options};
use crate::layout::discover::{self, Discovered, LayoutKind};
use crate::layout::libvirtd_conf::{ConfError, TlsConf};
use crate::layout::qemu_conf::QemuConf;
use crate::layout::under_root;
use crate::{Error, Result};

/// What to validate and how: the plain form of `pkitool validate`'s flags.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Directories or certificate files; empty means the system layout.
    pub paths: Vec<PathBuf>,
    /// Check the per-user layout ($HOME/.pki/libvirt).
    pub user: bool,
    /// Apply the system layout to a staged tree.
    pub root: Option<PathBuf>,
    /// A libvirtd.conf to read the TLS settings from.
    pub libvirtd_conf: Option<PathBuf>,
    /// A qemu.conf to read the QEMU certificate directories (and QEMU's user) from.
    pub qemu_conf: Option<PathBuf>,
    /// Where the CA's cacert.pem and cakey.pem live, so that re-issue fixes can name it.
    pub ca_dir: Option<PathBuf>,
    /// CA certificate for fleet mode.
    pub ca: Option<PathBuf>,
    /// Names clients use to reach the server.
    pub hostnames: Vec<String>,
    /// tls_allowed_dn_list patterns client certificates must match.
    pub allowed_dns: Vec<String>,
    /// Evaluation time (None: now, to the second).
    pub at: Option<time::OffsetDateTime>,
    /// Warn about certificates expiring within this many days.
    pub warn_within: u32,
    /// The consumer versions judged.
    pub consumers: crate::consumer::Consumers,
}

/// Everything a report needs.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// "pkitool VERSION".
    pub tool: String,
    /// RFC 3339 evaluation time.
    pub evaluated_at: String,
    /// One report per layout.
    pub layouts: Vec<LayoutReport>,
}

impl Outcome {
    /// Counts over every layout.
    pub fn counts(&self) -> Counts {
        Counts::of(self.layouts.iter().flat_map(|l| l.findings.iter()))
    }

    /// The exit status: 1 on errors (or warnings with `strict`), else 0.
    pub fn exit_code(&self, strict: bool) -> u8 {
        let c = self.counts();
        u8::from(c.errors > 0 || (strict && c.warnings > 0))
    }
}

/// Parses `--at`: RFC 3339, or a plain date (midnight UTC).
pub fn parse_at(s: &str) -> Result<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    if let Ok(t) = time::OffsetDateTime::parse(&full, &Rfc3339) {
        return Ok(t);
    }
    // A date and time without an offset is taken as UTC.
    let local = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(s, &local)
        .map(|t| t.assume_utc())
        .map_err(|_| {
            Error::Usage(format!(
                "--at {s}: expected a date (2027-01-31), a UTC date and time (2027-01-31T00:00:00, 2027-01-31T00:00:00Z) or one with an offset (2027-01-31T02:00:00+02:00)"
            ))
        })
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Reads a configuration file named by a flag (unreadable: a usage error) or found in the
/// system tree (unreadable: a finding, so that the rest is still checked).
fn read_conf(path: &Path, flag: Option<&str>, extra: &mut Vec<Finding>) -> Result<Option<String>> {
    match crate::fsio::read_input(path) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) => match flag {
            Some(flag) => Err(Error::Usage(format!("{flag}: {e}"))),
            None => {
                extra.push(
                    Finding::new("PKI-S07", Severity::Warning, format!("not checked: cannot read it: {e}"))
                        .path(path)
                        .why("the daemon's TLS settings in it (custom directories, allow-list, QEMU's user) could not be taken into account")
                        .fix("run the validation as root: sudo pkitool validate ..."),
                );
                Ok(None)
            }
        },
    }
}

/// A configuration file that does not parse: the daemon refuses to start.
fn syntax_error(code: &'static str, daemon: &str, conf: &Path, e: &ConfError) -> Finding {
    Finding::new(
        code,
        Severity::Error,
        format!(
            "{} syntax error: {e}",
            conf.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("configuration")
        ),
    )
    .path(conf)
    .why(format!(
        "{daemon} refuses to start with an unparsable configuration file"
    ))
    .fix(format!("fix line {} of {}", e.line, conf.display()))
}

/// The layouts of a system tree under `root`, configured the way its daemons are:
/// `etc/libvirt/libvirtd.conf` (or `--libvirtd-conf`) and `etc/libvirt/qemu.conf` (or
/// `--qemu-conf`).
fn system_layouts(
    root: &Path,
    args: &ValidateOptions,
    with_system: bool,
    out: &mut Vec<discover::Layout>,
    extra: &mut Vec<Finding>,
) -> Result<()> {
    // libvirtd.conf
    let found = under_root(root, "etc/libvirt/libvirtd.conf");
    let (lpath, lflag) = match &args.libvirtd_conf {
        Some(p) => (Some(p.clone()), Some("--libvirtd-conf")),
        None if with_system && found.exists() => (Some(found), None),
        None => (None, None),
    };
    let mut lconf: Option<TlsConf> = None;
    if let Some(conf) = &lpath
        && let Some(text) = read_conf(conf, lflag, extra)?
    {
        match crate::layout::libvirtd_conf::tls_conf(&text) {
            Ok(c) => {
                if c.tls_no_sanity_certificate {
                    extra.push(
                        Finding::new("PKI-S01", Severity::Note, "tls_no_sanity_certificate = 1: libvirtd skips its own-certificate checks")
                            .path(conf)
                            .why("libvirtd starts even with the problems below, and fails later at handshake instead")
                            .fix(format!("remove tls_no_sanity_certificate from {}", conf.display())),
                    );
                }
                if c.tls_no_verify_certificate {
                    extra.push(
                        Finding::new("PKI-S06", Severity::Warning, "tls_no_verify_certificate = 1: libvirtd admits every client without checking its certificate")
                            .path(conf)
                            .why("libvirtd logs \"Ignoring bad certificate at user request\" and lets the client in: anyone who can reach the TLS port can connect, whatever their certificate (expired, from another CA, not on tls_allowed_dn_list)")
                            .fix(format!("remove tls_no_verify_certificate from {} (clients then need a certificate from this CA)", conf.display())),
                    );
                }
                if lflag.is_some() || c.moves_files() {
                    let mut l = discover::from_libvirtd_conf(conf, &c, root);
                    l.no_verify = c.tls_no_verify_certificate;
                    out.push(l);
                }
                lconf = Some(c);
            }
            Err(e) => {
                extra.push(syntax_error("PKI-S01", "libvirtd", conf, &e));
                out.push(discover::empty(
                    LayoutKind::LibvirtdConf,
                    format!("libvirtd configuration {}", conf.display()),
                    conf.parent().map(Path::to_path_buf).unwrap_or_default(),
                ));
            }
        }
    }
    if with_system {
        let mut sys = discover::libvirt_system(root);
        let moved = lconf.as_ref().is_some_and(|c| c.moves_files()) || lflag.is_some();
        if let Some(c) = &lconf
            && !moved
        {
            sys.allowed_dn = c.tls_allowed_dn_list.clone();
            sys.no_verify = c.tls_no_verify_certificate;
        }
        if moved {
            // libvirtd's own files are the libvirtd.conf layout's; the system layout keeps what
            // clients (virsh) load.
            sys.identities
                .retain(|i| i.role != crate::layout::Role::Server);
        }
        let configured = lconf.as_ref().is_some_and(TlsConf::configures_tls);
        if discover::any_file_exists(&sys) || configured || moved {
            out.push(sys);
        } else {
            // A QEMU-only host: no libvirt TLS file and no libvirtd TLS setting.
            extra.push(
                Finding::new("PKI-S04", Severity::Note, "libvirt TLS is not set up here: none of its files exist and libvirtd.conf configures no TLS")
                    .path(&under_root(root, crate::layout::libvirt::SYSTEM_CA_DIR).join(crate::layout::libvirt::CA_CERT))
                    .why("nothing fails unless libvirtd is meant to listen for TLS or this host runs virsh over TLS; QEMU's directories are checked on their own")
                    .fix(format!(
                        "if libvirt TLS is wanted: pkitool init-ca --dir DIR --cn NAME, then pkitool issue server --dir DIR --cn HOST --layout libvirt --root {}",
                        crate::quoting::shell_quote(&root.display().to_string())
                    )),
            );
        }
    }
    // qemu.conf
    let found = under_root(root, "etc/libvirt/qemu.conf");
    let (qpath, qflag) = match &args.qemu_conf {
        Some(p) => (Some(p.clone()), Some("--qemu-conf")),
        None if with_system && found.exists() => (Some(found), None),
        None => (None, None),
    };
    if !with_system && qpath.is_none() {
        return Ok(());
    }
    let mut qconf = QemuConf::default();
    if let Some(conf) = &qpath
        && let Some(text) = read_conf(conf, qflag, extra)?
    {
        match crate::layout::qemu_conf::parse(&text) {
            Ok(c) => qconf = c,
            Err(e) => extra.push(syntax_error(
                "PKI-S05",
                "libvirtd (its QEMU driver)",
                conf,
                &e,
            )),
        }
    }
    let account = crate::layout::qemu_conf::account(root, &qconf);
    let (ls, missing) = discover::from_qemu_conf(root, &qconf, account);
    for (setting, dir) in missing {
        extra.push(
            Finding::new("PKI-S05", Severity::Error, format!("{setting} names {}, which does not exist", dir.display()))
                .path(qpath.as_deref().unwrap_or(&dir))
                .why(format!("libvirtd's QEMU driver refuses to start: \"{setting} directory '{}' does not exist\"", dir.display()))
                .fix(format!("create it with the QEMU credentials (pkitool issue server --dir DIR --cn HOST --out {} --layout qemu), or correct {setting}", crate::quoting::shell_quote(&dir.display().to_string()))),
        );
    }
    out.extend(ls);
    Ok(())
}

/// Builds the layouts the arguments ask for.
pub fn layouts(args: &ValidateOptions) -> Result<(Vec<discover::Layout>, Vec<Finding>)> {
    let mut out = Vec::new();
    let mut extra = Vec::new();
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    if let Some(r) = &args.root
        && !r.is_dir()
    {
        return Err(Error::Usage(format!(
            "--root {}: not a directory",
            r.display()
        )));
    }
    if args.user && args.root.is_some() {
        return Err(Error::Usage(
            "--user checks $HOME/.pki/libvirt on this machine and cannot be combined with --root; to check a staged home directory, pass it as PATH (e.g. ROOT/home/NAME/.pki/libvirt)".into(),
        ));
    }
    if let Some(ca) = &args.ca
        && std::fs::symlink_metadata(ca).is_err()
    {
        return Err(Error::Usage(format!("--ca {}: no such file", ca.display())));
    }
    let mut fleet_files: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    let mut layout_paths = Vec::new();
    for p in &args.paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(Error::Usage(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
        if discover::is_system_root(p) {
            system_layouts(p, args, true, &mut out, &mut extra)?;
            layout_paths.push(p.display().to_string());
            continue;
        }
        match discover::classify(p) {
            Discovered::Layouts(ls) => {
                layout_paths.push(p.display().to_string());
                out.extend(ls)
            }
            Discovered::Fleet(files) => fleet_files.push((p.clone(), files)),
        }
    }
    if let Some(ca) = &args.ca
        && fleet_files.is_empty()
    {
        return Err(Error::Usage(format!(
            "--ca {}: applies to fleet mode only (loose certificates checked against one CA); {} {} libvirt or QEMU layout(s) that carry their own CA file, so --ca would be ignored: drop it",
            ca.display(),
            if layout_paths.is_empty() {
                "the system layout is".to_string()
            } else {
                layout_paths.join(", ")
            },
            if layout_paths.len() > 1 { "are" } else { "is" },
        )));
    }
    if !fleet_files.is_empty() {
        let Some(ca) = &args.ca else {
            let names: Vec<String> = fleet_files
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect();
            return Err(Error::Usage(format!(
                "{}: not a libvirt or QEMU layout, so its certificates are checked in fleet mode, which needs --ca FILE (the CA certificate they must chain to)",
                names.join(", ")
            )));
        };
        for (p, files) in fleet_files {
            let dir = if p.is_dir() {
                p.clone()
            } else {
                p.parent().map(Path::to_path_buf).unwrap_or_default()
            };
            out.push(discover::fleet(
                format!("fleet {} against {}", p.display(), ca.display()),
                dir,
                ca,
                files,
            ));
        }
    }
    if args.user {
        let home = std::env::var_os("HOME")
            .ok_or_else(|| Error::Environment("--user: HOME is not set".into()))?;
        let dir = PathBuf::from(home).join(crate::layout::libvirt::USER_DIR);
        out.push(discover::libvirt_flat(&dir, LayoutKind::LibvirtUser));
    }
    let with_system = (args.paths.is_empty()
        && !args.user
        && args.libvirtd_conf.is_none()
        && args.qemu_conf.is_none())
        || args.root.is_some();
    if with_system || args.libvirtd_conf.is_some() || args.qemu_conf.is_some() {
        system_layouts(&root, args, with_system, &mut out, &mut extra)?;
    }
    Ok((out, extra))
}

/// Runs the checks.
pub fn evaluate(args: &ValidateOptions) -> Result<Outcome> {
    let at = match args.at {
        Some(t) => t,
        None => {
            let now = time::OffsetDateTime::now_utc();
            now.replace_nanosecond(0).unwrap_or(now)
        }
    };
    let (layouts, extra) = layouts(args)?;
    let mut conf_allowed = Vec::new();
    let mut sources = Vec::new();
    for l in &layouts {
        if let Some(list) = &l.allowed_dn
            && !l.no_verify
        {
            conf_allowed.extend(list.iter().cloned());
            sources.push(format!("tls_allowed_dn_list in {}", l.name));
        }
    }
    let opts = Options {
        at: at.unix_timestamp(),
        warn_within_days: args.warn_within,
        hostnames: args.hostnames.clone(),
        allowed_dn: args.allowed_dns.clone(),
        allowed_dn_source: if args.allowed_dns.is_empty() {
            String::new()
        } else {
            "--allowed-dn".to_string()
        },
        consumers: args.consumers,
        conf_allowed_dn: conf_allowed,
        conf_allowed_dn_source: sources.join(" and "),
        root: args.root.clone().unwrap_or_else(|| PathBuf::from("/")),
    };
    let mut reports: Vec<LayoutReport> = layouts
        .iter()
        .map(|l| check::check_layout(l, &opts))
        .collect();
    fixes_name_the_ca(&mut reports, args.ca_dir.as_deref());
    if !extra.is_empty() {
        if let Some(r) = reports
            .iter_mut()
            .find(|r| r.layout.kind == LayoutKind::LibvirtdConf)
        {
            r.findings.splice(0..0, extra);
        } else if let Some(first) = reports.first_mut() {
            first.findings.splice(0..0, extra);
        } else {
            // Nothing to load at all: the findings still need a home.
            reports.push(LayoutReport {
                layout: discover::empty(
                    LayoutKind::LibvirtSystem,
                    format!("system tree {}", opts.root.display()),
                    opts.root.clone(),
                ),
                findings: extra,
                files: 0,
                certificates: 0,
            });
        }
    }
    Ok(Outcome {
        tool: format!("pkitool {}", env!("CARGO_PKG_VERSION")),
        evaluated_at: rfc3339(at),
        layouts: reports,
    })
}

/// Re-issue fixes need the CA: `--dir CADIR` from `--ca-dir`, or, without it, a `--dir CA_DIR`
/// the reader must fill in (said so in the fix).
fn fixes_name_the_ca(reports: &mut [LayoutReport], ca_dir: Option<&Path>) {
    let dir = ca_dir.map(|d| crate::quoting::shell_quote(&d.display().to_string()));
    for f in reports.iter_mut().flat_map(|r| r.findings.iter_mut()) {
        for head in [
            "pkitool issue server ",
            "pkitool issue client ",
            "pkitool renew ",
        ] {
            if let Some(pos) = f.fix.find(head)
                && !f.fix[pos..].contains(" --dir ")
            {
                let at = pos + head.len();
                match &dir {
                    Some(d) => f.fix.insert_str(at, &format!("--dir {d} ")),
                    None => {
                        f.fix.insert_str(at, "--dir CA_DIR ");
                        f.why.push_str("; in the fix, fill in CA_DIR: the directory holding the CA's cacert.pem and cakey.pem (validate --ca-dir DIR fills it in)");
                    }
                }
            }
        }
    }
}
