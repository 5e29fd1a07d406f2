//! The checks: every check runs on every file every time; a problem with one file is a finding,
//! never an abort. One module per domain; this module runs them over a [`Layout`].

pub mod finding;
pub mod guard;
pub mod validate;

pub mod access;
pub mod chain;
pub mod constraints;
pub mod crl;
pub mod dn_acl;
pub mod files;
pub mod hostname;
pub mod interrupted;
pub mod keypair;
#[cfg(test)]
pub(crate) mod testkit;
pub mod time;
pub mod verify;

use crate::quoting::shell_quote;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

use crate::check::finding::{FRole, Finding, Severity};
use crate::layout::discover::{Identity, Layout, LayoutKind};
use files::{Expect, Policy};

/// What the checks are judged against.
#[derive(Debug, Clone)]
pub struct Options {
    /// Evaluation time (Unix seconds).
    pub at: i64,
    /// Warn about expiry within this many days.
    pub warn_within_days: u32,
    /// Names clients use to reach the server.
    pub hostnames: Vec<String>,
    /// Allow-list patterns (from --allowed-dn and libvirtd.conf).
    pub allowed_dn: Vec<String>,
    /// Where the patterns come from (for messages).
    pub allowed_dn_source: String,
    /// The consumer versions judged.
    pub consumers: crate::consumer::Consumers,
    /// Allow-list patterns from libvirtd.conf files: they govern libvirtd's clients only, so
    /// they apply to libvirt layouts, never to QEMU directories.
    pub conf_allowed_dn: Vec<String>,
    /// Where those come from (for messages).
    pub conf_allowed_dn_source: String,
    /// The root of the system checked (`/` or `--root`).
    pub root: PathBuf,
}

impl Options {
    /// The options for one layout: libvirtd.conf's allow-list only for libvirt layouts, and
    /// none at all when libvirtd admits clients unchecked (`tls_no_verify_certificate = 1`).
    fn for_layout(&self, layout: &Layout) -> Options {
        let mut o = self.clone();
        if layout.no_verify {
            o.allowed_dn.clear();
        } else if layout.kind.is_libvirt() && !self.conf_allowed_dn.is_empty() {
            o.allowed_dn.extend(self.conf_allowed_dn.iter().cloned());
            o.allowed_dn_source = [
                self.allowed_dn_source.as_str(),
                &self.conf_allowed_dn_source,
            ]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" and ");
        }
        o
    }
}

pub use crate::consumer::rules::KeyAlg;

/// The key algorithm of a certificate.
pub fn key_alg(cert: &X509Certificate<'_>) -> KeyAlg {
    KeyAlg::of_oid(&cert.public_key().algorithm.algorithm.to_id_string())
}

/// RSA modulus size in bits.
pub fn rsa_bits(cert: &X509Certificate<'_>) -> Option<usize> {
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let m = rsa.modulus;
            let i = m.iter().position(|&b| b != 0)?;
            let first = *m.get(i)?;
            Some((m.len() - i - 1) * 8 + (8 - first.leading_zeros() as usize))
        }
        _ => None,
    }
}

/// A certificate being checked, with what messages need.
pub struct CertRef<'c, 'a> {
    /// The parsed certificate.
    pub cert: &'c X509Certificate<'a>,
    /// Its file.
    pub path: &'c Path,
    /// Its role.
    pub role: FRole,
    /// Subject DN in GnuTLS order.
    pub subject: String,
    /// Position in its file (0 = first).
    pub index: usize,
}

impl<'c, 'a> CertRef<'c, 'a> {
    /// Wraps a certificate.
    pub fn new(cert: &'c X509Certificate<'a>, path: &'c Path, role: FRole, index: usize) -> Self {
        CertRef {
            cert,
            path,
            role,
            subject: crate::x509::dn::subject_of(cert),
            index,
        }
    }

    /// A finding about this certificate.
    pub fn f(&self, code: &'static str, sev: Severity, msg: impl Into<String>) -> Finding {
        let mut msg = msg.into();
        if self.role == FRole::Ca && self.index > 0 {
            msg = format!("CA certificate #{}: {msg}", self.index + 1);
        }
        Finding::new(code, sev, msg)
            .path(self.path)
            .role(self.role)
            .subject(Some(&self.subject))
    }

    /// `--out DIR [--layout qemu]` (or `--layout libvirt --root R` in a system tree) and
    /// `--force`, for commands that re-issue this certificate in place. A certificate under a
    /// name of its own (fleet mode: `hosts/h1/web.pem`) is issued into a staging directory
    /// beside it and moved into place, with its key (found as fleet mode pairs them, else
    /// `NAME-key.pem`).
    fn out_args(&self) -> String {
        let name = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let standard = matches!(name, "servercert.pem" | "clientcert.pem")
            || name.starts_with("server-cert")
            || name.starts_with("client-cert");
        if standard {
            return format!("{} --force", issue_target(self.path));
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let stage = dir.join(".pkitool-reissue");
        let key = fleet_key_for(self.path).unwrap_or_else(|| {
            let stem = self
                .path
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or("cert");
            dir.join(format!("{stem}-key.pem"))
        });
        let q = |p: &Path| shell_quote(&p.display().to_string());
        let (c, k) = if self.role == FRole::Client {
            ("clientcert.pem", "clientkey.pem")
        } else {
            ("servercert.pem", "serverkey.pem")
        };
        format!(
            "--out {} --force && mv {} {} && mv {} {} && rm -r {}",
            q(&stage),
            q(&stage.join(c)),
            q(self.path),
            q(&stage.join(k)),
            q(&key),
            q(&stage)
        )
    }

    /// The first CN.
    pub fn cn(&self) -> Option<String> {
        self.cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .map(str::to_string)
    }

    /// `pkitool issue server` with these names, writing where this certificate is, keeping the
    /// subject (every attribute, with `cn` as its CN) and the key type.
    pub fn issue_server(&self, cn: &str, sans: &[String]) -> String {
        format!(
            "pkitool issue server {}{}{} {}",
            self.subject_args(cn),
            sans.iter()
                .map(|s| format!(" --san {}", shell_quote(s)))
                .collect::<String>(),
            self.key_type_arg(),
            self.out_args()
        )
    }

    /// `--dn SUBJECT` with its CN set to `cn` (the subject as it is when the CN is the last
    /// attribute, as libvirt's and certtool's subjects are), else `--cn`.
    fn subject_args(&self, cn: &str) -> String {
        let old = self.cn();
        let dn = match old.as_deref() {
            Some(o) if o == cn => Some(self.subject.clone()),
            Some(o) => self
                .subject
                .strip_suffix(&format!("CN={o}"))
                .filter(|_| !cn.contains(',') && !cn.contains('+'))
                .map(|head| format!("{head}CN={cn}")),
            None => None,
        };
        match dn {
            Some(d) if crate::x509::build::parse_dn(&d).is_ok() => {
                format!("--dn {}", shell_quote(&d))
            }
            _ => format!("--cn {}", shell_quote(cn)),
        }
    }

    /// ` --key-type T` for the key this certificate has (nothing when pkitool cannot make it).
    fn key_type_arg(&self) -> String {
        let t = match key_alg(self.cert) {
            KeyAlg::Rsa => match rsa_bits(self.cert) {
                Some(2048) => Some("rsa-2048"),
                Some(3072) => Some("rsa-3072"),
                Some(4096) => Some("rsa-4096"),
                _ => None,
            },
            KeyAlg::Ec => {
                let curve = self
                    .cert
                    .public_key()
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|o| o.to_id_string());
                match curve.as_deref() {
                    Some("1.2.840.10045.3.1.7") => Some("ecdsa-p256"),
                    Some("1.3.132.0.34") => Some("ecdsa-p384"),
                    _ => None,
                }
            }
            KeyAlg::Ed => (self.cert.public_key().algorithm.algorithm.to_id_string()
                == "1.3.101.112")
                .then_some("ed25519"),
            KeyAlg::Other => None,
        };
        t.map(|t| format!(" --key-type {t}")).unwrap_or_default()
    }

    /// `pkitool renew CERT EXTRA...`: a new certificate from the same CA written where this one
    /// is, keeping its subject, extensions (SANs edited by `--add-san`/`--remove-san`), key (a
    /// new one of the same type with `--rekey`), owner and mode. Validate adds `--dir`.
    pub fn renew_cmd(&self, extra: &[String]) -> String {
        let mut s = format!(
            "pkitool renew {}",
            shell_quote(&self.path.display().to_string())
        );
        for e in extra {
            s.push(' ');
            s.push_str(e);
        }
        s
    }

    /// The fix for a certificate whose contents are right but whose validity or signature is
    /// not: `pkitool renew` for a leaf, [`CertRef::renew_fix`] for a CA.
    pub fn renew_in_place(&self) -> String {
        self.renew_in_place_with(&[])
    }

    /// [`CertRef::renew_in_place`] with more renew arguments.
    pub fn renew_in_place_with(&self, extra: &[String]) -> String {
        if self.renewable() {
            self.renew_cmd(extra)
        } else {
            self.renew_fix()
        }
    }

    /// `pkitool renew` can rewrite this certificate: a leaf in a file (not a CA, whose copies
    /// would go stale, nor a certificate a server presented).
    pub fn renewable(&self) -> bool {
        self.role != FRole::Ca && self.path.is_file()
    }

    /// The pkitool command that re-issues this certificate with new contents (`issue --force`:
    /// for extensions or a key type `renew` would copy).
    pub fn renew_fix(&self) -> String {
        let cn = self.cn().unwrap_or_else(|| "NAME".into());
        match self.role {
            FRole::Ca => format!("pkitool init-ca --dir DIR --cn {}", shell_quote(&cn)),
            FRole::Client => format!(
                "pkitool issue client --dn {}{} {}",
                shell_quote(&self.subject),
                self.key_type_arg(),
                self.out_args()
            ),
            FRole::Server => {
                let n = hostname::names(self.cert);
                let mut sans: Vec<String> = n.dns.clone();
                sans.extend(n.ips.iter().map(|i| i.to_string()));
                if sans.is_empty() {
                    sans.push(cn.clone());
                }
                self.issue_server(&cn, &sans)
            }
        }
    }
}

/// Where `pkitool issue` must write to put a certificate at `cert_path`: the system tree
/// (`--layout libvirt --root R`), a QEMU directory (`--out DIR --layout qemu`) or a flat
/// directory (`--out DIR`). (Run in the CA's directory, or add `--dir CADIR`.)
pub fn issue_target(cert_path: &Path) -> String {
    let dir = cert_path.parent().unwrap_or(Path::new("."));
    if dir.ends_with(crate::layout::libvirt::SYSTEM_CERT_DIR) {
        let root = dir
            .ancestors()
            .nth(3)
            .map(|r| r.display().to_string())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| ".".into());
        return format!("--layout libvirt --root {}", shell_quote(&root));
    }
    let shown = dir.display().to_string();
    let shown = if shown.is_empty() {
        ".".to_string()
    } else {
        shown
    };
    let qemu = cert_path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains('-'));
    format!(
        "--out {}{}",
        shell_quote(&shown),
        if qemu { " --layout qemu" } else { "" }
    )
}

/// A Unix time as RFC 3339 (the number itself if it is out of range).
pub(crate) fn fmt_ts(ts: i64) -> String {
    ::time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&::time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ts.to_string())
}

/// The result for one layout.
#[derive(Debug, Clone)]
pub struct LayoutReport {
    /// The layout.
    pub layout: Layout,
    /// Its findings, in check order.
    pub findings: Vec<Finding>,
    /// Files examined (that exist).
    pub files: usize,
    /// Certificates examined.
    pub certificates: usize,
}

fn parse_all<'a>(ders: &[&'a [u8]]) -> Vec<Result<X509Certificate<'a>, String>> {
    ders.iter()
        .map(|d| {
            X509Certificate::from_der(d)
                .map(|(_, c)| c)
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Parses the certificates of a leaf file; each one that does not parse is a PKI-F05 error
/// (GnuTLS refuses to import it) and is left out.
fn parse_leaf_certs<'a>(
    ders: &[&'a [u8]],
    path: &Path,
    role: Option<FRole>,
    why: &str,
    out: &mut Vec<Finding>,
) -> Vec<X509Certificate<'a>> {
    let mut certs = Vec::new();
    for (i, r) in parse_all(ders).into_iter().enumerate() {
        match r {
            Ok(c) => certs.push(c),
            Err(e) => {
                let mut f = Finding::new(
                    "PKI-F05",
                    Severity::Error,
                    format!("certificate #{} cannot be parsed: {e}", i + 1),
                )
                .path(path)
                .why(why)
                .fix(format!(
                    "replace {} with the PEM certificate as issued",
                    path.display()
                ));
                if let Some(role) = role {
                    f = f.role(role);
                }
                out.push(f);
            }
        }
    }
    certs
}

/// Checks every certificate of a leaf file (first = leaf, rest = chain) and returns what the
/// CRL check needs. `cas` are the parsed CA certificates.
#[allow(clippy::too_many_arguments)]
fn check_leaf_file<'a>(
    path: &Path,
    certs: &[X509Certificate<'a>],
    role: FRole,
    cas: &[X509Certificate<'_>],
    ca_path: Option<&Path>,
    opts: &Options,
    out: &mut Vec<Finding>,
) -> (Option<usize>, Option<crl::Target>) {
    let Some((leaf, extras)) = certs.split_first() else {
        return (None, None);
    };
    let c = CertRef::new(leaf, path, role, 0);
    dn_acl::unprintable(&c, out);
    time::check(&c, false, opts, out);
    constraints::check(&c, &opts.consumers, false, out);
    constraints::san_import(&c, out);
    chain::weak_signature(&c, false, out);
    keypair::strength(&c, false, out);
    let issuer = match ca_path {
        Some(ca) if !cas.is_empty() => chain::leaf_chain(&c, extras, cas, ca, &opts.consumers, out),
        _ => None,
    };
    if role == FRole::Server {
        hostname::check(&c, &opts.hostnames, out);
    }
    if role == FRole::Client && !opts.allowed_dn.is_empty() {
        dn_acl::check(&c, &opts.allowed_dn, &opts.allowed_dn_source, out);
    }
    let target = crl::Target {
        path: path.to_path_buf(),
        role,
        subject: c.subject.clone(),
        serial: crl::norm_serial(leaf.raw_serial()),
        issuer: leaf.issuer().as_raw().to_vec(),
        // Filled in by the layout checks, which have a CRL to check against (fleet mode has
        // none and skips the cost).
        reissue: String::new(),
        key: None,
    };
    (issuer, Some(target))
}

/// The role a loose certificate plays, from its purpose.
fn fleet_role(cert: &X509Certificate<'_>) -> FRole {
    match cert.extended_key_usage() {
        Ok(Some(e)) if e.value.client_auth && !e.value.server_auth => FRole::Client,
        _ => FRole::Server,
    }
}

struct CaSet<'a> {
    certs: Vec<X509Certificate<'a>>,
}

/// Loads, parses and bundle-checks the CA file.
fn load_ca_ders(
    ca_path: Option<&Path>,
    policy: Policy,
    at: &crate::consumer::Consumers,
    out: &mut Vec<Finding>,
    files_seen: &mut usize,
) -> Vec<Vec<u8>> {
    let Some(p) = ca_path else {
        return Vec::new();
    };
    if files::exists(p) {
        *files_seen += 1;
    }
    let Some(contents) = files::load(p, Expect::Certificate, FRole::Ca, policy, out) else {
        return Vec::new();
    };
    let ders: Vec<Vec<u8>> = contents.certificates().map(|o| o.der.to_vec()).collect();
    let refs: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
    chain::bundle(p, &refs, at, out);
    ders
}

fn parse_cas<'a>(ca_path: Option<&Path>, ders: &'a [Vec<u8>], out: &mut Vec<Finding>) -> CaSet<'a> {
    let refs: Vec<&'a [u8]> = ders.iter().map(Vec::as_slice).collect();
    let mut certs = Vec::new();
    for (i, r) in parse_all(&refs).into_iter().enumerate() {
        match r {
            Ok(c) => certs.push(c),
            Err(e) => {
                if let Some(p) = ca_path {
                    out.push(
                        Finding::new(
                            "PKI-F05",
                            Severity::Error,
                            format!("CA certificate #{} cannot be parsed: {e}", i + 1),
                        )
                        .path(p)
                        .role(FRole::Ca)
                        .why(format!(
                            "libvirt and QEMU: \"Unable to import CA certificate list {}\"",
                            p.display()
                        ))
                        .fix(format!(
                            "replace the damaged certificate in {}",
                            p.display()
                        )),
                    );
                }
            }
        }
    }
    CaSet { certs }
}

/// CA checks, run after the leaves so that "issued something here" is known.
fn check_cas(
    ca_path: Option<&Path>,
    cas: &CaSet<'_>,
    used: &[bool],
    opts: &Options,
    out: &mut Vec<Finding>,
) {
    let Some(p) = ca_path else { return };
    // A CA issues something if a leaf chained to it or another CA names it as issuer.
    let mut issues: Vec<bool> = used.to_vec();
    issues.resize(cas.certs.len(), false);
    for (j, other) in cas.certs.iter().enumerate() {
        for (i, ca) in cas.certs.iter().enumerate() {
            if i != j
                && ca.subject().as_raw() == other.issuer().as_raw()
                && let Some(x) = issues.get_mut(i)
            {
                *x = true;
            }
        }
    }
    path_len(p, cas, out);
    // libvirt and QEMU <= 10.1 import (and check) only the first 16; QEMU 10.2 all of them.
    let checked = crate::consumer::rules::ca_bundle_checked(&opts.consumers).unwrap_or(usize::MAX);
    for (i, ca) in cas.certs.iter().enumerate().take(checked) {
        let c = CertRef::new(ca, p, FRole::Ca, i);
        time::check(&c, true, opts, out);
        constraints::check(
            &c,
            &opts.consumers,
            issues.get(i).copied().unwrap_or(false),
            out,
        );
        constraints::san_import(&c, out);
        chain::weak_signature(&c, true, out);
        keypair::strength(&c, true, out);
    }
}

/// Edge visits [`ca_depths`] may spend in total: far more than any real CA file needs (a
/// 16-certificate file has at most 240 edges), small enough that a hostile file cannot make
/// validate spin.
const CA_DEPTH_WORK: usize = 100_000;

/// For every CA certificate of the bundle, the length of the longest chain of CA certificates
/// below it (0 = it issued no CA) in which no subject name repeats.
///
/// Chains only depend on names (a certificate is below another when its issuer is the other's
/// subject), so the work is done once per distinct subject name, not per certificate: duplicate
/// and cross-signed certificates no longer multiply the paths. Names are explored depth first
/// with the names on the current path excluded (a loop such as two names cross-signing each
/// other ends the chain instead of recursing); a name's depth is memoised when it did not
/// depend on the path that led to it. The total work is bounded by [`CA_DEPTH_WORK`].
fn ca_depths(cas: &[X509Certificate<'_>]) -> Vec<usize> {
    use std::collections::HashMap;
    // Distinct subject names and the CA edges between them.
    let mut ids: HashMap<&[u8], usize> = HashMap::new();
    let name_of: Vec<usize> = cas
        .iter()
        .map(|c| {
            let n = ids.len();
            *ids.entry(c.subject().as_raw()).or_insert(n)
        })
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    for (j, c) in cas.iter().enumerate() {
        if chain::self_issued(c) || !c.is_ca() {
            continue;
        }
        if let Some(&parent) = ids.get(c.issuer().as_raw()) {
            children[parent].push(name_of[j]);
        }
    }
    for ch in &mut children {
        ch.sort_unstable();
        ch.dedup();
    }
    struct Walk<'a> {
        children: &'a [Vec<usize>],
        memo: Vec<Option<usize>>,
        on_path: Vec<bool>,
        work: usize,
    }
    impl Walk<'_> {
        /// (depth, whether it was cut by a name on the current path or the work bound).
        fn depth(&mut self, n: usize) -> (usize, bool) {
            if let Some(d) = self.memo[n] {
                return (d, false);
            }
            self.on_path[n] = true;
            let (mut best, mut cut) = (0, false);
            for k in 0..self.children[n].len() {
                let m = self.children[n][k];
                if self.work >= CA_DEPTH_WORK {
                    cut = true;
                    break;
                }
                self.work += 1;
                if self.on_path[m] {
                    cut = true;
                    continue;
                }
                let (d, c) = self.depth(m);
                best = best.max(d + 1);
                cut |= c;
            }
            self.on_path[n] = false;
            if !cut {
                self.memo[n] = Some(best);
            }
            (best, cut)
        }
    }
    let mut walk = Walk {
        children: &children,
        memo: vec![None; ids.len()],
        on_path: vec![false; ids.len()],
        work: 0,
    };
    let by_name: Vec<usize> = (0..ids.len()).map(|n| walk.depth(n).0).collect();
    name_of.iter().map(|&n| by_name[n]).collect()
}

/// pathLenConstraint exceeded inside the CA bundle.
fn path_len(p: &Path, cas: &CaSet<'_>, out: &mut Vec<Finding>) {
    let depths = ca_depths(&cas.certs);
    for (i, ca) in cas.certs.iter().enumerate() {
        let Ok(Some(bc)) = ca.basic_constraints() else {
            continue;
        };
        let Some(limit) = bc.value.path_len_constraint else {
            continue;
        };
        let depth = depths.get(i).copied().unwrap_or(0);
        if depth as u64 > u64::from(limit) {
            out.push(
                CertRef::new(ca, p, FRole::Ca, i)
                    .f("PKI-B04", Severity::Warning, format!("pathLenConstraint {limit}, but {depth} level(s) of CA certificates below it"))
                    .why("libvirt and QEMU treat every certificate in the CA file as a trust anchor and never see the violation, but OpenSSL-based peers that build the chain to the root refuse it")
                    .fix("re-issue the intermediate CA(s) from a root whose pathLen allows them, or trust only the intermediate".to_string()),
            );
        }
    }
}

fn policy_of(layout: &Layout) -> Policy {
    Policy {
        libvirt: layout.kind.is_libvirt(),
        qemu: layout.kind == LayoutKind::Qemu,
        system: layout.system,
        service_gid: layout.qemu_account.as_ref().map(|a| a.gid),
    }
}

/// Checks one layout.
pub fn check_layout(layout: &Layout, opts: &Options) -> LayoutReport {
    if layout.kind == LayoutKind::Fleet {
        return check_fleet(layout, opts);
    }
    let lopts = opts.for_layout(layout);
    let opts = &lopts;
    let policy = policy_of(layout);
    let mut out = Vec::new();
    let mut tally = Tally::default();
    let ca_path = layout.ca.as_deref();
    let ca_ders = load_ca_ders(ca_path, policy, &opts.consumers, &mut out, &mut tally.files);
    let cas = parse_cas(ca_path, &ca_ders, &mut out);
    tally.certs += cas.certs.len();
    let mut used = vec![false; cas.certs.len()];
    let mut targets = Vec::new();
    empty_allow_list(layout, &mut out);
    dn_acl::swallowing(
        &opts.allowed_dn,
        &opts.allowed_dn_source,
        &layout.dir,
        &mut out,
    );
    for id in &layout.identities {
        if !identity_present(layout, id, &mut out) {
            continue;
        }
        let (issuer, target) =
            check_identity(id, &cas, ca_path, policy, opts, &mut tally, &mut out);
        if let Some(i) = issuer.and_then(|i| used.get_mut(i)) {
            *i = true;
        }
        targets.extend(target);
    }
    access::qemu_account(layout, &mut out);
    verify::check(layout, &mut out);
    if let Some(uuid) = &layout.key_secret {
        secret_keys(uuid, &layout.services, &mut out);
    } else if layout.kind == LayoutKind::Qemu {
        unsecret_keys(&layout.services, &mut out);
    }
    check_cas(ca_path, &cas, &used, opts, &mut out);
    check_crl(layout, &cas, &targets, policy, opts, &mut tally, &mut out);
    check_dh_params(layout, policy, &mut tally, &mut out);
    unreachable_identities(layout, &mut out);
    interrupted::check(layout, &mut out);
    for d in &layout.deploy_dirs {
        files::dir_permissions(d, &mut out);
        stray_ca_keys(d, &cas.certs, layout, &mut out);
    }
    path_permissions(layout, policy, opts, &mut out);
    LayoutReport {
        layout: layout.clone(),
        findings: out,
        files: tally.files,
        certificates: tally.certs,
    }
}

/// PKI-Q02: an encrypted key in a directory qemu.conf gives a `*_tls_x509_secret_uuid`: libvirt
/// passes that secret to QEMU as the `passwordid`, so the key loads.
fn secret_keys(uuid: &str, services: &[String], out: &mut [Finding]) {
    for f in out.iter_mut().filter(|f| f.code == "PKI-P02") {
        f.code = "PKI-Q02";
        f.severity = Severity::Note;
        f.class = finding::class_of("PKI-Q02");
        f.why = format!(
            "qemu.conf gives this directory ({}) the secret {uuid}; libvirt passes it to QEMU as the tls-creds-x509 passwordid, so QEMU decrypts the key (libvirtd itself cannot load encrypted keys)",
            services.join(", ")
        );
        f.fix = format!(
            "none needed if the secret {uuid} holds the key's password: virsh secret-list must show it, defined with virsh secret-define and virsh secret-set-value"
        );
    }
}

/// PKI-P02 in a QEMU directory without a secret: QEMU's own refusal, and what would make it load.
fn unsecret_keys(services: &[String], out: &mut [Finding]) {
    for f in out.iter_mut().filter(|f| f.code == "PKI-P02") {
        let settings = if services.is_empty() {
            "a *_tls_x509_secret_uuid".to_string()
        } else {
            services
                .iter()
                .map(|s| format!("{s}_tls_x509_secret_uuid"))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        f.why = format!(
            "QEMU refuses it without the password: \"Cannot load certificate ... & key ...: Decryption has failed.\" (qemu-nbd 10.0); it loads it when given a secret (tls-creds-x509 passwordid; libvirt: qemu.conf {settings} for this directory, see pkitool issue --encrypt-key)"
        );
    }
}

/// Files and certificates examined.
#[derive(Debug, Default)]
struct Tally {
    files: usize,
    certs: usize,
}

/// PKI-D02: an empty `tls_allowed_dn_list` admits nobody.
fn empty_allow_list(layout: &Layout, out: &mut Vec<Finding>) {
    if !layout.no_verify && layout.allowed_dn.as_ref().is_some_and(Vec::is_empty) {
        out.push(
            Finding::new("PKI-D02", Severity::Error, "tls_allowed_dn_list is an empty list")
                .path(&layout.dir)
                .why("libvirtd refuses every client: \"Client's Distinguished Name is not on the list of allowed clients (tls_allowed_dn_list)\"")
                .fix("list the client DNs (pkitool dn clientcert.pem --libvirtd prints the line), or remove the setting to allow every client the CA signed"),
        );
    }
}

/// Which of an identity's certificate and key exist (PKI-F01, PKI-F02, PKI-S04). `false` when
/// neither does: nothing more to check.
fn identity_present(layout: &Layout, id: &Identity, out: &mut Vec<Finding>) -> bool {
    let role = FRole::from(id.role);
    let ce = files::exists(&id.cert);
    let ke = files::exists(&id.key);
    let what = role.as_str();
    match (ce, ke) {
            (false, false) => {
                // A QEMU directory with only client credentials serves a client endpoint,
                // which needs no server pair (qemu-img, NBD clients, migration sources).
                let client_only = layout.kind == LayoutKind::Qemu
                    && id.role == crate::layout::Role::Server
                    && layout.identities.iter().any(|o| {
                        o.role == crate::layout::Role::Client
                            && (files::exists(&o.cert) || files::exists(&o.key))
                    });
                if client_only {
                    out.push(
                        Finding::new(
                            "PKI-S04",
                            Severity::Note,
                            "no server certificate: only a QEMU client endpoint can use this directory",
                        )
                        .path(&id.cert)
                        .role(role)
                        .why(format!("a QEMU server endpoint would refuse it: \"Unable to access credentials {}: No such file or directory\"", id.cert.display()))
                        .fix(format!("if a server uses it too: pkitool issue server --cn NAME {}", issue_target(&id.cert))),
                    );
                } else if id.required {
                    out.push(
                        Finding::new(
                            "PKI-F01",
                            Severity::Error,
                            format!("no {what} certificate and key: {} and {} are missing", id.cert.display(), id.key.display()),
                        )
                        .path(&id.cert)
                        .role(role)
                        .why(format!("a QEMU {what} endpoint (and libvirtd with TLS) refuses to start: \"Unable to access credentials {}: No such file or directory\"", id.cert.display()))
                        .fix(format!("pkitool issue {what} --cn NAME {}", issue_target(&id.cert))),
                    );
                } else if id.index.is_none()
                    && !(layout.server_only && id.role == crate::layout::Role::Client)
                {
                    out.push(
                        Finding::new(
                            "PKI-S04",
                            Severity::Note,
                            format!("no {what} certificate: this layout cannot act as a TLS {what}"),
                        )
                        .path(&id.cert)
                        .role(role)
                        .why("nothing fails unless this machine is meant to be one")
                        .fix(format!("if it should: pkitool issue {what} --cn NAME {}", issue_target(&id.cert))),
                    );
                }
                return false;
            }
            (true, false) => out.push(
                Finding::new("PKI-F02", Severity::Error, format!("certificate without its private key {}", id.key.display()))
                    .path(&id.cert)
                    .role(role)
                    .why(format!("libvirt: \"Key '{}' does not exist, but certificate '{}' does\"; QEMU 10.2: \"Cert '{}' without corresponding key\"", id.key.display(), id.cert.display(), id.cert.display()))
                    .fix(format!("put the matching key at {} (chmod 600), or re-issue both", id.key.display())),
            ),
            (false, true) => out.push(
                Finding::new("PKI-F02", Severity::Error, format!("private key without its certificate {}", id.cert.display()))
                    .path(&id.key)
                    .role(role)
                    .why(format!("libvirt: \"Certificate '{}' does not exist, but key '{}' does\"; QEMU 10.2: \"Key '{}' without corresponding cert\"", id.cert.display(), id.key.display(), id.key.display()))
                    .fix(format!("put the certificate at {}, or re-issue both", id.cert.display())),
            ),
            (true, true) => {}
        }
    true
}

/// Loads and checks one identity's certificate file and key; returns the index of the CA that
/// issued its leaf and what the CRL check needs.
fn check_identity(
    id: &Identity,
    cas: &CaSet<'_>,
    ca_path: Option<&Path>,
    policy: Policy,
    opts: &Options,
    tally: &mut Tally,
    out: &mut Vec<Finding>,
) -> (Option<usize>, Option<crl::Target>) {
    let role = FRole::from(id.role);
    let what = role.as_str();
    let cert_contents = if files::exists(&id.cert) {
        tally.files += 1;
        files::load(&id.cert, Expect::Certificate, role, policy, out)
    } else {
        None
    };
    let key_contents = if files::exists(&id.key) {
        tally.files += 1;
        files::load(&id.key, Expect::PrivateKey, role, policy, out)
    } else {
        None
    };
    let ders: Vec<&[u8]> = cert_contents
        .as_ref()
        .map(|c| c.certificates().map(|o| o.der.as_slice()).collect())
        .unwrap_or_default();
    let why = format!(
        "libvirt and QEMU: \"Unable to import {what} certificate {}\"",
        id.cert.display()
    );
    let certs = parse_leaf_certs(&ders, &id.cert, Some(role), &why, out);
    tally.certs += certs.len();
    let mut checked = check_leaf_file(&id.cert, &certs, role, &cas.certs, ca_path, opts, out);
    if let Some(t) = checked.1.as_mut() {
        t.key = Some(id.key.clone());
        if let Some(leaf) = certs.first() {
            t.reissue = CertRef::new(leaf, &id.cert, role, 0).renew_fix();
        }
    }
    if let Some(kc) = &key_contents {
        let leaf = certs.first();
        let subject = leaf.map(|c| crate::x509::dn::format_gnutls(c.subject()));
        keypair::check_key(
            &id.key,
            kc,
            role,
            leaf.zip(subject.as_deref())
                .map(|(c, s)| (c, s, id.cert.as_path())),
            out,
        );
    }
    checked
}

/// The CRL: PKI-R05 for a misnamed one, then every CRL check.
fn check_crl(
    layout: &Layout,
    cas: &CaSet<'_>,
    targets: &[crl::Target],
    policy: Policy,
    opts: &Options,
    tally: &mut Tally,
    out: &mut Vec<Finding>,
) {
    if let Some(crl_path) = layout.crl.as_deref().filter(|p| !files::exists(p)) {
        let doc_name = crl_path.with_file_name("crl.pem");
        if layout.kind.is_libvirt() && files::exists(&doc_name) {
            out.push(
                Finding::new("PKI-R05", Severity::Warning, format!("a CRL named crl.pem, but libvirt loads {}", crl_path.display()))
                    .path(&doc_name)
                    .role(FRole::Ca)
                    .why("libvirtd.conf's comment shows crl.pem, but the default libvirt reads is cacrl.pem: this CRL is never applied (renaming it, or setting crl_file in libvirtd.conf, fixes it)")
                    .fix(format!(
                        "mv {} {}",
                        shell_quote(&doc_name.display().to_string()),
                        shell_quote(&crl_path.display().to_string())
                    )),
            );
        }
    }
    if let Some(crl_path) = layout.crl.as_deref().filter(|p| files::exists(p)) {
        tally.files += 1;
        if let Some(c) = files::load(crl_path, Expect::Crl, FRole::Ca, policy, out) {
            crl::check(crl_path, &c, &cas.certs, targets, opts, out);
        }
    }
}

/// QEMU's optional DH parameters (PKI-P03, PKI-S03).
fn check_dh_params(layout: &Layout, policy: Policy, tally: &mut Tally, out: &mut Vec<Finding>) {
    if let Some(dh) = layout.dh_params.as_deref().filter(|p| files::exists(p)) {
        tally.files += 1;
        if let Some(c) = files::load(dh, Expect::DhParams, FRole::Server, policy, out) {
            if let Some(bits) = c
                .objects
                .iter()
                .find(|o| o.kind == crate::x509::load::ObjectKind::DhParams)
                .and_then(|o| keypair::dh_prime_bits(&o.der))
                .filter(|b| *b < 2048)
            {
                out.push(
                    Finding::new("PKI-P03", Severity::Warning, format!("DH parameters of {bits} bits"))
                        .path(dh)
                        .role(FRole::Server)
                        .why("QEMU uses them for DHE key exchange; groups under 2048 bits are breakable (Logjam); without the file QEMU negotiates RFC 7919 groups")
                        .fix(format!(
                            "rm {}",
                            shell_quote(&dh.display().to_string())
                        )),
                );
            }
            out.push(
                Finding::new("PKI-S03", Severity::Note, "DH parameters file present")
                    .path(dh)
                    .role(FRole::Server)
                    .why("QEMU 10.2 deprecates dh-params.pem; without it GnuTLS negotiates RFC 7919 groups")
                    .fix(format!("rm {}", shell_quote(&dh.display().to_string()))),
            );
        }
    }
}

/// PKI-S02: numbered identities QEMU never reaches.
fn unreachable_identities(layout: &Layout, out: &mut Vec<Finding>) {
    for p in &layout.unreachable {
        out.push(
            Finding::new(
                "PKI-S02",
                Severity::Warning,
                "identity never loaded: a lower-numbered identity is missing",
            )
            .path(p)
            .why("QEMU 10.2 loads server-cert-0.pem, -1, ... and stops at the first absent index")
            .fix("renumber the identities without gaps (server-cert-0.pem first)"),
        );
    }
}

/// PKI-F17: the directories above every credential file that exists.
fn path_permissions(layout: &Layout, policy: Policy, opts: &Options, out: &mut Vec<Finding>) {
    let credentials = layout
        .ca
        .iter()
        .chain(layout.crl.iter())
        .chain(layout.identities.iter().flat_map(|id| [&id.cert, &id.key]));
    for p in credentials {
        if files::exists(p) {
            files::path_permissions(p, Some(opts.root.as_path()), policy, out);
        }
    }
    dedup_directory_findings(out);
}

/// One PKI-F17 finding per directory and message kind (several files share directories).
fn dedup_directory_findings(out: &mut Vec<Finding>) {
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| {
        f.code != "PKI-F17" || seen.insert((f.path.clone(), f.message.contains("is writable by")))
    });
}

/// A CA private key lying in a deployment directory (by name, or by matching a CA's key).
fn stray_ca_keys(dir: &Path, cas: &[X509Certificate<'_>], layout: &Layout, out: &mut Vec<Finding>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let known: Vec<&Path> = layout.identities.iter().map(|i| i.key.as_path()).collect();
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if known.contains(&p.as_path()) || !p.is_file() {
            continue;
        }
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let by_name = matches!(name, "cakey.pem" | "ca-key.pem" | "cakey.key" | "ca.key");
        let by_key = std::fs::metadata(&p).is_ok_and(|m| m.len() <= files::LIBVIRT_MAX as u64)
            && crate::fsio::read_input(&p)
                .ok()
                .and_then(|b| crate::x509::load::parse(&b).ok())
                .and_then(|c| c.private_key().cloned())
                .is_some_and(|k| {
                    cas.iter()
                        .any(|ca| keypair::is_key_of(&k, ca) == Some(true))
                });
        if by_name || by_key {
            out.push(
                Finding::new("PKI-F12", Severity::Warning, "a CA private key lies in the deployment directory")
                    .path(&p)
                    .role(FRole::Ca)
                    .why("neither libvirt nor QEMU needs it; whoever compromises this host can then issue certificates every peer trusts")
                    .fix(format!("move it to the offline CA host: mv {} /secure/ca/ (and keep it mode 0600)", shell_quote(&p.to_string_lossy()))),
            );
        }
    }
}

/// Fleet mode: loose certificates against one CA, in parallel (the CA is parsed once).
fn check_fleet(layout: &Layout, opts: &Options) -> LayoutReport {
    let policy = Policy {
        libvirt: false,
        qemu: false,
        system: false,
        service_gid: None,
    };
    let mut out = Vec::new();
    let mut nfiles = 0;
    let ca_path = layout.ca.as_deref();
    let ca_ders = load_ca_ders(ca_path, policy, &opts.consumers, &mut out, &mut nfiles);
    if let Some(p) = ca_path.filter(|p| files::exists(p)) {
        files::path_permissions(p, Some(opts.root.as_path()), policy, &mut out);
    }
    let cas = parse_cas(ca_path, &ca_ders, &mut out);
    let ca_canon = ca_path.and_then(|p| std::fs::canonicalize(p).ok());
    let ca_name = ca_path.and_then(Path::file_name);
    let is_ca_file = |p: &Path| {
        p.file_name() == ca_name && ca_canon.is_some() && std::fs::canonicalize(p).ok() == ca_canon
    };
    let results: Vec<(Vec<Finding>, usize, Option<usize>)> = layout
        .fleet
        .par_iter()
        .filter(|p| !is_ca_file(p))
        .map(|path| fleet_one(path, &cas.certs, ca_path, opts, policy))
        .collect();
    let mut used = vec![false; cas.certs.len()];
    let mut ncerts = cas.certs.len();
    for (f, n, issuer) in results {
        out.extend(f);
        ncerts += n;
        nfiles += 1;
        if let Some(u) = issuer.and_then(|i| used.get_mut(i)) {
            *u = true;
        }
    }
    check_cas(ca_path, &cas, &used, opts, &mut out);
    LayoutReport {
        layout: layout.clone(),
        findings: out,
        files: nfiles,
        certificates: ncerts,
    }
}

fn fleet_one(
    path: &Path,
    cas: &[X509Certificate<'_>],
    ca_path: Option<&Path>,
    opts: &Options,
    policy: Policy,
) -> (Vec<Finding>, usize, Option<usize>) {
    let mut out = Vec::new();
    let read = crate::fsio::read_input(path);
    // A key or a CRL among the scanned files is not "the wrong object": check the key's mode.
    if let Ok(Ok(c)) = read.as_ref().map(|b| crate::x509::load::parse(b))
        && c.certificates().next().is_none()
        && c.objects
            .iter()
            .any(|o| o.kind == crate::x509::load::ObjectKind::Crl || o.kind.is_private_key())
    {
        if c.private_key().is_some() {
            files::load_read(
                path,
                read,
                Expect::PrivateKey,
                FRole::Server,
                policy,
                &mut out,
            );
            for f in &mut out {
                f.role = None;
            }
        }
        return (out, 0, None);
    }
    let Some(contents) = files::load_read(
        path,
        read,
        Expect::Certificate,
        FRole::Server,
        policy,
        &mut out,
    ) else {
        for f in &mut out {
            f.role = None;
        }
        return (out, 0, None);
    };
    let ders: Vec<&[u8]> = contents.certificates().map(|o| o.der.as_slice()).collect();
    let why = "GnuTLS cannot import it: \"Unable to import ... certificate\"";
    let certs = parse_leaf_certs(&ders, path, None, why, &mut out);
    let n = certs.len();
    // A CA certificate (a copy of the CA beside each host's certificate, an intermediate) is
    // checked as a CA, never as a leaf; a byte-for-byte copy of a --ca certificate is the CA
    // already checked.
    if let Some(first) = certs.first()
        && first.is_ca()
    {
        for (i, ca) in certs.iter().enumerate() {
            if cas.iter().any(|k| k.as_raw() == ca.as_raw()) {
                continue;
            }
            let c = CertRef::new(ca, path, FRole::Ca, i);
            time::check(&c, true, opts, &mut out);
            constraints::check(&c, &opts.consumers, false, &mut out);
            constraints::san_import(&c, &mut out);
            chain::weak_signature(&c, true, &mut out);
            keypair::strength(&c, true, &mut out);
        }
        return (out, n, None);
    }
    let role = certs.first().map(fleet_role).unwrap_or(FRole::Server);
    let (issuer, _) = check_leaf_file(path, &certs, role, cas, ca_path, opts, &mut out);
    if let Some(leaf) = certs.first()
        && let Some(key_path) = fleet_key_for(path)
    {
        // A key the scan also visits has its mode checked there; any other one here.
        let scanned = crate::layout::discover::fleet_candidate(&key_path);
        let kc = if scanned {
            crate::fsio::read_input(&key_path)
                .ok()
                .and_then(|b| crate::x509::load::parse(&b).ok())
        } else {
            files::load(&key_path, Expect::PrivateKey, role, policy, &mut out)
        };
        if let Some(kc) = kc.filter(|k| k.private_key().is_some()) {
            let subject = crate::x509::dn::format_gnutls(leaf.subject());
            keypair::check_key(&key_path, &kc, role, Some((leaf, &subject, path)), &mut out);
        }
    }
    (out, n, issuer)
}

/// The findings `validate` would report for a certificate pkitool is about to write at
/// `cert_path`, with `ca_ders` as the CA file at `ca_path`: dates, basic constraints, key usage,
/// purpose, signature algorithm, key strength and chain (no host names, no allow-list). Commands
/// that issue certificates refuse to write one with an error among these.
pub fn check_issued(
    cert_der: &[u8],
    role: FRole,
    cert_path: &Path,
    ca_ders: &[Vec<u8>],
    ca_path: &Path,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let cas = parse_cas(Some(ca_path), ca_ders, &mut out);
    let why = "GnuTLS cannot import it";
    let certs = parse_leaf_certs(&[cert_der], cert_path, Some(role), why, &mut out);
    let opts = Options {
        at: ::time::OffsetDateTime::now_utc().unix_timestamp(),
        warn_within_days: 0,
        hostnames: Vec::new(),
        allowed_dn: Vec::new(),
        allowed_dn_source: String::new(),
        consumers: crate::consumer::Consumers::default(),
        conf_allowed_dn: Vec::new(),
        conf_allowed_dn_source: String::new(),
        root: PathBuf::from("/"),
    };
    check_leaf_file(
        cert_path,
        &certs,
        role,
        &cas.certs,
        Some(ca_path),
        &opts,
        &mut out,
    );
    out
}

/// The private key that belongs to a certificate file in fleet mode, by the naming schemes in
/// use: libvirt (`servercert.pem` and `serverkey.pem`, also in `private/`), QEMU
/// (`server-cert[-N].pem` and `server-key[-N].pem`), cfssl and mkcert (`X.pem` and
/// `X-key.pem`), openssl recipes (`X.crt` and `X.key`), easy-rsa (`issued/X.crt` and
/// `private/X.key`). The first that exists.
pub fn fleet_key_for(cert: &Path) -> Option<PathBuf> {
    let dir = cert.parent()?;
    let name = cert.file_name()?.to_str()?;
    let mut cands: Vec<PathBuf> = Vec::new();
    for (c, k) in [
        ("servercert.pem", "serverkey.pem"),
        ("clientcert.pem", "clientkey.pem"),
    ] {
        if name == c {
            cands.push(dir.join(k));
            cands.push(dir.join("private").join(k));
        }
    }
    for role in ["server", "client"] {
        if let Some(rest) = name.strip_prefix(&format!("{role}-cert")) {
            cands.push(dir.join(format!("{role}-key{rest}")));
        }
    }
    if let Some(stem) = name.strip_suffix(".pem") {
        cands.push(dir.join(format!("{stem}-key.pem")));
        cands.push(dir.join(format!("{stem}.key")));
    }
    for ext in [".crt", ".cer", ".cert"] {
        if let Some(stem) = name.strip_suffix(ext) {
            cands.push(dir.join(format!("{stem}.key")));
            if dir.file_name().is_some_and(|d| d == "issued")
                && let Some(up) = dir.parent()
            {
                cands.push(up.join("private").join(format!("{stem}.key")));
            }
        }
    }
    cands.into_iter().find(|p| p.is_file())
}
