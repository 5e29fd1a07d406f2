//! `renew`: re-issue deployed certificates in place.
//!
//! For each certificate (a file where it is deployed, or, with no files given, every current
//! ledger entry that is due):
//!
//! - the subject is copied byte for byte (so `tls_allowed_dn_list` and QEMU authz entries keep
//!   matching), and so is every extension (basic constraints, key usage, EKU, SANs, with their
//!   criticality), except the authorityKeyIdentifier (set to the CA's SKI), the
//!   subjectKeyIdentifier (recomputed when the key changes) and the SANs when `--add-san` /
//!   `--remove-san` edit them (other GeneralNames are kept byte for byte);
//! - the validity starts now and lasts as long as the old one did (or `--days`);
//! - the serial is new and random (certtool `--update-certificate` keeps the serial; a verifier
//!   caching by issuer and serial, and every CRL, would then confuse the two);
//! - the public key is the old one, copied from the old certificate (the private key is never
//!   read), unless `rekey`: then a new key of the same type is generated and the key and
//!   certificate are replaced as one all-or-nothing set;
//! - files keep their owner, group and mode; a file holding more than the certificate (a chain
//!   after it) keeps the rest byte for byte;
//! - the result is parsed back, its signature verified, and checked with `validate`'s
//!   constraint checks: a certificate libvirt or QEMU would refuse is never written.
//!
//! The same certificate deployed at several paths (libvirt and QEMU names, say) is renewed
//! once and the one new certificate written to every path. Renewing the CA certificate keeps
//! its key and subject, so every certificate it issued still chains to the new one.
//!
//! The whole run holds the ledger's exclusive lock (taken without waiting: a second renew
//! fails at once and changes nothing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rcgen::KeyPair;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

use crate::Error;
use crate::ca::ledger::{self, Entry, Ledger};
use crate::ca::provision::LoadedCa;
use crate::ca::revoke::{check_issued_by, keep_owner_and_mode, read_certificate};
use crate::fsio::{self, CERT_MODE, KEY_MODE};
use crate::layout::{self, Role};
use crate::x509::build::{self, San};
use crate::x509::der::{self, tag};
use crate::x509::keys::{self, KeyType};

const SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e];
const AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23];
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// A renew request (plain data; the CLI builds it).
#[derive(Debug, Clone)]
pub struct RenewRequest {
    /// The CA directory (ledger).
    pub ca_dir: PathBuf,
    /// CA certificate.
    pub ca_cert: PathBuf,
    /// Certificates to renew; empty = every current ledger entry due within `within_days`.
    pub certs: Vec<PathBuf>,
    /// Renew only certificates expiring within this many days.
    pub within_days: Option<i64>,
    /// Generate a new key.
    pub rekey: bool,
    /// Validity in days instead of the old lifetime.
    pub days: Option<i64>,
    /// SANs to add.
    pub add_sans: Vec<San>,
    /// SANs to remove.
    pub remove_sans: Vec<San>,
}

/// One renewed certificate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Renewed {
    /// Certificate files written.
    pub paths: Vec<PathBuf>,
    /// Key files written (with `--rekey`).
    pub key_paths: Vec<PathBuf>,
    /// ca, server or client.
    pub role: Role,
    /// Subject (GnuTLS order).
    pub subject: String,
    /// The serial replaced.
    pub old_serial: String,
    /// The new serial.
    pub new_serial: String,
    /// notBefore of the new certificate (RFC 3339).
    pub not_before: String,
    /// notAfter of the new certificate (RFC 3339).
    pub not_after: String,
    /// Whether the key was replaced.
    pub rekeyed: bool,
}

/// A certificate left alone because it is not due.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotDue {
    /// Its files.
    pub paths: Vec<PathBuf>,
    /// Its serial.
    pub serial: String,
    /// Its notAfter (RFC 3339).
    pub not_after: String,
    /// Whole days left.
    pub days_left: i64,
}

/// A certificate that could not be renewed (its files are unchanged).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failed {
    /// Its files.
    pub paths: Vec<PathBuf>,
    /// Why.
    pub error: String,
}

/// How a consumer picks up renewed files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reload {
    /// Who: libvirtd, libvirt-clients, qemu-migration, qemu-vnc, qemu-nbd, ca-copies.
    pub consumer: &'static str,
    /// A command to run verbatim, when there is one.
    pub command: Option<String>,
    /// What to do or what happens.
    pub action: String,
}

/// The result of a renew run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RenewReport {
    /// Renewed.
    pub renewed: Vec<Renewed>,
    /// Not due (with `--within`).
    pub not_due: Vec<NotDue>,
    /// Failed.
    pub failed: Vec<Failed>,
    /// How each consumer picks up the new files.
    pub reload: Vec<Reload>,
    /// Notes (ledger notes, entries whose files have moved).
    pub notes: Vec<String>,
}

impl RenewReport {
    /// 0 when everything due was renewed, 1 when something failed.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.failed.is_empty())
    }
}

struct Group {
    der: Vec<u8>,
    paths: Vec<(PathBuf, Vec<u8>)>,
}

/// The key file next to a certificate file, by libvirt's and QEMU's naming rules.
pub fn key_path_for(cert: &Path) -> Option<PathBuf> {
    let name = cert.file_name()?.to_str()?;
    let dir = cert.parent().unwrap_or(Path::new("."));
    let key_name = match name {
        layout::libvirt::SERVER_CERT => layout::libvirt::SERVER_KEY,
        layout::libvirt::CLIENT_CERT => layout::libvirt::CLIENT_KEY,
        layout::qemu::SERVER_CERT => layout::qemu::SERVER_KEY,
        layout::qemu::CLIENT_CERT => layout::qemu::CLIENT_KEY,
        layout::libvirt::CA_CERT => "cakey.pem",
        _ => return None,
    };
    // libvirt's system tree keeps keys in private/ (etc/pki/libvirt/private/serverkey.pem).
    let private = dir.join("private").join(key_name);
    if name.contains("cert.pem") && !name.contains('-') && private.exists() {
        return Some(private);
    }
    Some(dir.join(key_name))
}

fn key_type_from(s: &str) -> Option<KeyType> {
    Some(match s {
        "ecdsa-p256" => KeyType::EcdsaP256,
        "ecdsa-p384" => KeyType::EcdsaP384,
        "ed25519" => KeyType::Ed25519,
        "rsa-2048" => KeyType::Rsa2048,
        "rsa-3072" => KeyType::Rsa3072,
        "rsa-4096" => KeyType::Rsa4096,
        _ => return None,
    })
}

/// The GeneralName elements of a SAN extension value (raw TLVs).
fn general_names(value: &[u8]) -> Option<Vec<Vec<u8>>> {
    let (rest, mut body) = der::read_tlv(value, tag::SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    while let Some((&t, _)) = body.split_first() {
        let (after, content) = der::read_tlv(body, t)?;
        let len = body.len() - after.len();
        out.push(body.get(..len)?.to_vec());
        let _ = content;
        body = after;
    }
    Some(out)
}

fn role_of(cert: &X509Certificate<'_>, is_ca: bool, path: &Path) -> Role {
    if is_ca {
        return Role::Ca;
    }
    if let Ok(Some(e)) = cert.extended_key_usage() {
        if e.value.server_auth {
            return Role::Server;
        }
        if e.value.client_auth {
            return Role::Client;
        }
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.contains("client") {
        Role::Client
    } else {
        Role::Server
    }
}

/// Lazily loaded CA (the key and its password only when something is due).
struct CaState<'f> {
    cert_der: Vec<u8>,
    loaded: Option<LoadedCa>,
    load: Option<Box<dyn FnOnce() -> Result<LoadedCa, Error> + 'f>>,
}

impl CaState<'_> {
    fn get(&mut self) -> Result<&LoadedCa, String> {
        if self.loaded.is_none() {
            let f = self
                .load
                .take()
                .ok_or_else(|| "the CA could not be loaded (see above)".to_string())?;
            let ca = f().map_err(|e| e.to_string())?;
            self.cert_der = ca.cert_der.clone();
            self.loaded = Some(ca);
        }
        self.loaded
            .as_ref()
            .ok_or_else(|| "the CA could not be loaded".to_string())
    }
}

/// Runs a renew. `load_ca` loads the CA certificate and key (called once, and only when a
/// certificate is due).
pub fn renew<'f>(
    req: &RenewRequest,
    load_ca: impl FnOnce() -> Result<LoadedCa, Error> + 'f,
) -> Result<RenewReport, Error> {
    if let Some(d) = req.days
        && (d <= 0 || d > 36_500)
    {
        return Err(Error::Usage(format!(
            "--days must be between 1 and 36500, got {d}"
        )));
    }
    if let Some(w) = req.within_days
        && !(0..=36_500).contains(&w)
    {
        return Err(Error::Usage(format!(
            "--within must be between 0 and 36500 days, got {w}"
        )));
    }
    if req.certs.is_empty() && req.within_days.is_none() {
        return Err(Error::Usage(
            "give the certificates to renew, or --within DAYS to renew every ledger entry due"
                .into(),
        ));
    }
    let mut ledger = Ledger::try_open(&req.ca_dir)?;
    let mut report = RenewReport {
        notes: ledger.notes().to_vec(),
        ..Default::default()
    };
    let ca_der = crate::ca::revoke::ca_cert_der(&req.ca_cert)?;
    let mut ca = CaState {
        cert_der: ca_der,
        loaded: None,
        load: Some(Box::new(load_ca)),
    };
    let now = build::now();

    // Targets, grouped by serial (one certificate deployed at several paths is renewed once).
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut add = |report: &mut RenewReport, path: PathBuf, expect: Option<&str>| {
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        match read_certificate(&real) {
            Err(e) => report.failed.push(Failed {
                paths: vec![path],
                error: e,
            }),
            Ok((der, bytes)) => {
                let serial = X509Certificate::from_der(&der)
                    .map(|(_, c)| ledger::serial_hex(c.raw_serial()))
                    .unwrap_or_default();
                if let Some(want) = expect
                    && want != serial
                {
                    report.notes.push(format!(
                        "{}: now holds serial {serial}, not the ledger's {want}; left alone",
                        path.display()
                    ));
                    return;
                }
                let g = groups.entry(serial).or_insert_with(|| Group {
                    der,
                    paths: Vec::new(),
                });
                if !g.paths.iter().any(|(p, _)| *p == real) {
                    g.paths.push((real, bytes));
                }
            }
        }
    };
    if req.certs.is_empty() {
        let within = req.within_days.unwrap_or(0);
        let due: Vec<(String, Vec<PathBuf>)> = ledger
            .entries()
            .filter(|e| {
                ledger.superseded_by(&e.serial).is_none()
                    && ledger.revocation(&e.serial).is_none()
                    && e.not_after_time()
                        .is_some_and(|t| t <= now + time::Duration::days(within))
            })
            .map(|e| (e.serial.clone(), e.paths.clone()))
            .collect();
        for (serial, paths) in due {
            let mut any = false;
            for p in paths {
                if p.exists() {
                    any = true;
                    add(&mut report, p, Some(&serial));
                } else {
                    report.notes.push(format!(
                        "{}: recorded for serial {serial} but no longer there",
                        p.display()
                    ));
                }
            }
            if !any {
                report.notes.push(format!(
                    "serial {serial} is due but none of its recorded files exists; renew it by path"
                ));
            }
        }
    } else {
        for p in &req.certs {
            add(&mut report, p.clone(), None);
        }
    }

    // The CA first: leaves renewed in the same run then check against the new CA.
    let mut order: Vec<(String, Group)> = groups.into_iter().collect();
    order.sort_by_key(|(_, g)| {
        X509Certificate::from_der(&g.der)
            .map(|(_, c)| c.subject().as_raw() != c.issuer().as_raw())
            .unwrap_or(true)
    });
    for (serial, g) in order {
        let paths: Vec<PathBuf> = g.paths.iter().map(|(p, _)| p.clone()).collect();
        let Ok((_, old)) = X509Certificate::from_der(&g.der) else {
            report.failed.push(Failed {
                paths,
                error: "cannot parse the certificate".into(),
            });
            continue;
        };
        let na = old.validity().not_after.to_datetime();
        if let Some(w) = req.within_days
            && na > now + time::Duration::days(w)
        {
            report.not_due.push(NotDue {
                paths,
                serial,
                not_after: ledger::rfc3339(na),
                days_left: (na - now).whole_days(),
            });
            continue;
        }
        match renew_one(req, &mut ledger, &mut ca, &g, &old, now) {
            Ok(r) => report.renewed.push(r),
            Err(error) => report.failed.push(Failed { paths, error }),
        }
    }
    report.reload = reload_steps(&report.renewed);
    Ok(report)
}

fn renew_one(
    req: &RenewRequest,
    ledger: &mut Ledger,
    ca: &mut CaState<'_>,
    g: &Group,
    old: &X509Certificate<'_>,
    now: OffsetDateTime,
) -> Result<Renewed, String> {
    let first = g.paths.first().map(|(p, _)| p.clone()).unwrap_or_default();
    let (_, ca_cert_now) =
        X509Certificate::from_der(&ca.cert_der).map_err(|e| format!("CA certificate: {e}"))?;
    let is_ca = old.subject().as_raw() == ca_cert_now.subject().as_raw()
        && old.issuer().as_raw() == old.subject().as_raw()
        && old.public_key().raw == ca_cert_now.public_key().raw;
    if !is_ca {
        check_issued_by(old, &ca_cert_now, &first, &req.ca_cert)?;
    }
    let old_serial = ledger::serial_hex(old.raw_serial());
    if let Some(r) = ledger.revocation(&old_serial) {
        return Err(format!(
            "{}: serial {old_serial} is revoked ({}, {}); renewing it would trust it again. Issue a new certificate if this identity is trusted again",
            first.display(),
            r.reason.as_str(),
            r.revoked_at
        ));
    }
    let role = role_of(old, is_ca, &first);
    if is_ca && req.rekey {
        return Err(format!(
            "{}: --rekey does not apply to the CA certificate (a new CA key would orphan every certificate it issued); renew it without --rekey",
            first.display()
        ));
    }
    if is_ca && !(req.add_sans.is_empty() && req.remove_sans.is_empty()) {
        return Err(format!(
            "{}: --add-san/--remove-san do not apply to the CA certificate",
            first.display()
        ));
    }
    let loaded = ca.get()?;
    let ca_key: &KeyPair = &loaded.key;
    let (_, ca_cert) =
        X509Certificate::from_der(&loaded.cert_der).map_err(|e| format!("CA certificate: {e}"))?;

    // Key: the old public key, or a new key of the same type.
    let mut key_files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let new_key = if req.rekey {
        let kt_name = ledger::key_type_of(old);
        let kt = key_type_from(&kt_name).ok_or_else(|| {
            format!(
                "{}: --rekey cannot generate a {kt_name} key; issue a new certificate instead",
                first.display()
            )
        })?;
        let recorded: Vec<PathBuf> = ledger
            .entry(&old_serial)
            .map(|e| e.key_paths.clone())
            .unwrap_or_default();
        for (p, _) in &g.paths {
            let by_name = key_path_for(p).filter(|k| k.exists());
            let by_ledger = recorded
                .iter()
                .find(|k| k.parent() == p.parent() && k.exists())
                .cloned();
            let Some(k) = by_name.or(by_ledger) else {
                return Err(format!(
                    "{}: --rekey needs the private key file next to it ({}), and there is none; nothing was changed",
                    p.display(),
                    key_path_for(p)
                        .map(|k| k.display().to_string())
                        .unwrap_or_else(|| "no libvirt/QEMU key name for this file name".into())
                ));
            };
            if !key_files.iter().any(|(x, _)| *x == k) {
                key_files.push((k, Vec::new()));
            }
        }
        Some(keys::generate(kt).map_err(|e| format!("new key: {e}"))?)
    } else {
        None
    };
    let spki: Vec<u8> = match &new_key {
        Some(k) => keys::public_key_spki(k),
        None => old.public_key().raw.to_vec(),
    };

    // Validity.
    let lifetime = match req.days {
        Some(d) => time::Duration::days(d),
        None => {
            let v = old.validity();
            v.not_after.to_datetime() - v.not_before.to_datetime()
        }
    };
    if lifetime <= time::Duration::ZERO {
        return Err(format!(
            "{}: its validity is empty; pass --days N",
            first.display()
        ));
    }
    let not_before = now;
    let not_after = now + lifetime;
    if not_after.year() > 9999 {
        return Err(format!("{}: the validity is too long", first.display()));
    }
    let ca_end = ca_cert.validity().not_after.to_datetime();
    if !is_ca && not_after > ca_end {
        return Err(format!(
            "{}: the renewed certificate would expire {} but the CA expires {}; renew the CA certificate first ({}), or pass a shorter --days",
            first.display(),
            build::fmt_time(not_after),
            build::fmt_time(ca_end),
            req.ca_cert.display()
        ));
    }

    // Extensions: copied, except AKI, SKI (on rekey) and SANs (when edited).
    let ca_ski = ca_cert
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .unwrap_or_else(|| build::key_id(ca_cert.public_key().subject_public_key.data.as_ref()));
    let edit_sans = !(req.add_sans.is_empty() && req.remove_sans.is_empty());
    let mut exts: Vec<Vec<u8>> = Vec::new();
    let mut saw_san = false;
    for e in old.extensions() {
        let oid = e.oid.as_bytes();
        let enc = |value: &[u8]| {
            let mut parts = vec![der::tlv(tag::OID, oid)];
            if e.critical {
                parts.push(der::boolean(true));
            }
            parts.push(der::octet_string(value));
            der::tlv(tag::SEQUENCE, &parts.concat())
        };
        if oid == AUTHORITY_KEY_ID && !is_ca {
            exts.push(enc(&der::sequence(&[&der::context(0, false, &ca_ski)])));
        } else if oid == SUBJECT_KEY_ID
            && let Some(k) = &new_key
        {
            exts.push(enc(&der::octet_string(&build::key_id(
                keys::public_key_bits(k),
            ))));
        } else if oid == SUBJECT_ALT_NAME && edit_sans {
            saw_san = true;
            let mut names = general_names(e.value)
                .ok_or_else(|| format!("{}: its SAN extension cannot be read", first.display()))?;
            let removed: Vec<Vec<u8>> = req.remove_sans.iter().map(San::encode).collect();
            for (r, s) in removed.iter().zip(&req.remove_sans) {
                if !names.contains(r) {
                    return Err(format!(
                        "{}: --remove-san {s}: the certificate has no such name",
                        first.display()
                    ));
                }
            }
            names.retain(|n| !removed.contains(n));
            for a in &req.add_sans {
                let enc_a = a.encode();
                if !names.contains(&enc_a) {
                    names.push(enc_a);
                }
            }
            if !names.is_empty() {
                exts.push(enc(&der::tlv(tag::SEQUENCE, &names.concat())));
            }
        } else {
            exts.push(enc(e.value));
        }
    }
    if edit_sans && !saw_san {
        if let Some(s) = req.remove_sans.first() {
            return Err(format!(
                "{}: --remove-san {s}: the certificate has no SANs",
                first.display()
            ));
        }
        let body: Vec<u8> = req.add_sans.iter().flat_map(San::encode).collect();
        exts.push(build::extension(
            &[2, 5, 29, 17],
            old.subject().as_raw() == [0x30, 0x00],
            &der::tlv(tag::SEQUENCE, &body),
        ));
    }

    // New serial, never the old one nor one the ledger knows.
    let serial = loop {
        let s = build::random_serial().map_err(|e| e.to_string())?;
        let hex = ledger::serial_hex(&s);
        if hex != old_serial && ledger.entry(&hex).is_none() {
            break s;
        }
    };
    let alg = build::sig_alg_id(ca_key).map_err(|e| e.to_string())?;
    let issuer_raw = ca_cert.subject().as_raw();
    let mut tbs_parts: Vec<Vec<u8>> = vec![
        der::context(0, true, &der::integer_u64(2)),
        der::integer_unsigned(&serial),
        alg.clone(),
        issuer_raw.to_vec(),
        der::sequence(&[&der::time(not_before), &der::time(not_after)]),
        old.subject().as_raw().to_vec(),
        spki.clone(),
    ];
    if !exts.is_empty() {
        tbs_parts.push(der::context(
            3,
            true,
            &der::tlv(tag::SEQUENCE, &exts.concat()),
        ));
    }
    let refs: Vec<&[u8]> = tbs_parts.iter().map(Vec::as_slice).collect();
    let tbs = der::sequence(&refs);
    let sig = rcgen::SigningKey::sign(ca_key, &tbs).map_err(|e| format!("signing: {e}"))?;
    let new_der = der::sequence(&[&tbs, &alg, &der::bit_string(&sig)]);

    // Self-check: signature, issuer, subject, key; then validate's constraint checks.
    build::self_check(&new_der, ca_cert.public_key().raw, issuer_raw).map_err(|e| e.to_string())?;
    let (_, new) = X509Certificate::from_der(&new_der).map_err(|e| e.to_string())?;
    if new.subject().as_raw() != old.subject().as_raw() || new.public_key().raw != spki.as_slice() {
        return Err("internal check failed: subject or key changed".into());
    }
    // validate's guard: never write what libvirt or QEMU refuse.
    let new_pem = der::pem_lf("CERTIFICATE", new_der.clone());
    let file_len = g
        .paths
        .iter()
        .map(|(_, b)| replace_first_cert(b, &new_pem, &new_der).len())
        .max()
        .unwrap_or(new_pem.len());
    let errors = crate::check::guard::refusals(&new_der, file_len, role, &first);
    if !errors.is_empty() {
        return Err(format!(
            "{}: not renewed, because pkitool validate would call the result an error, as it calls the current certificate ({}); issue a new certificate instead",
            first.display(),
            errors.join("; ")
        ));
    }

    // Files: every certificate path (rest of the file kept), every key path, all or nothing.
    let mut planned = Vec::new();
    for (p, old_bytes) in &g.paths {
        planned.push(keep_owner_and_mode(
            p,
            CERT_MODE,
            replace_first_cert(old_bytes, &new_pem, &new_der),
        ));
    }
    let mut old_keys: Vec<(PathBuf, zeroize::Zeroizing<Vec<u8>>)> = Vec::new();
    if let Some(k) = &new_key {
        for (p, _) in &key_files {
            let b = fsio::read_input(p).map_err(|e| format!("{e} (nothing was changed)"))?;
            old_keys.push((p.clone(), zeroize::Zeroizing::new(b)));
        }
        let pem = keys::to_pem(k);
        for (p, _) in &mut key_files {
            planned.push(keep_owner_and_mode(p, KEY_MODE, pem.as_bytes().to_vec()));
        }
    }
    fsio::write_all_or_nothing(&planned, true).map_err(|e| format!("{e} (nothing was changed)"))?;

    let cert_paths: Vec<PathBuf> = g.paths.iter().map(|(p, _)| p.clone()).collect();
    let key_paths: Vec<PathBuf> = key_files.into_iter().map(|(p, _)| p).collect();
    let mut entry = Entry::from_der(&new_der, role, cert_paths.clone(), key_paths.clone())
        .map_err(|e| e.to_string())?;
    entry.supersedes = Some(old_serial.clone());
    if !req.rekey
        && let Some(prev) = ledger.entry(&old_serial)
    {
        entry.key_paths = prev.key_paths.clone();
    }
    if let Err(e) = ledger.append_entry(&entry) {
        // Put the old files back: a certificate the ledger does not know must not replace one
        // it does.
        let mut restore: Vec<fsio::PlannedFile> = g
            .paths
            .iter()
            .map(|(p, b)| keep_owner_and_mode(p, CERT_MODE, b.clone()))
            .collect();
        for (p, b) in &old_keys {
            restore.push(keep_owner_and_mode(p, KEY_MODE, b.to_vec()));
        }
        return Err(match fsio::write_all_or_nothing(&restore, true) {
            Ok(()) => format!(
                "{e}; the renewed certificate could not be recorded, so the old files were put back (nothing was changed)"
            ),
            Err(re) => format!(
                "{e}; the renewed certificate is in place but not recorded in the ledger, and putting the old files back failed too: {re}"
            ),
        });
    }
    if is_ca {
        ca.cert_der = new_der.clone();
        if let Some(l) = ca.loaded.as_mut() {
            l.cert_der = new_der;
        }
    }
    Ok(Renewed {
        paths: cert_paths,
        key_paths,
        role,
        subject: entry.subject,
        old_serial,
        new_serial: entry.serial,
        not_before: entry.not_before,
        not_after: entry.not_after,
        rekeyed: req.rekey,
    })
}

/// The file's bytes with its first certificate replaced (PEM: that block only, everything else
/// byte for byte; DER: the new DER).
fn replace_first_cert(old: &[u8], new_pem: &str, new_der: &[u8]) -> Vec<u8> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let Some(b) = find(old, BEGIN, 0) else {
        return new_der.to_vec();
    };
    let Some(e) = find(old, END, b) else {
        return new_pem.as_bytes().to_vec();
    };
    let mut end = e + END.len();
    // The line end after END (LF or CRLF) belongs to the block.
    if old.get(end) == Some(&b'\r') {
        end += 1;
    }
    if old.get(end) == Some(&b'\n') {
        end += 1;
    }
    let mut out = old.get(..b).unwrap_or_default().to_vec();
    out.extend_from_slice(new_pem.as_bytes());
    out.extend_from_slice(old.get(end..).unwrap_or_default());
    out
}

/// How each consumer of the renewed files picks them up.
pub fn reload_steps(renewed: &[Renewed]) -> Vec<Reload> {
    let mut out: Vec<Reload> = Vec::new();
    let mut push = |r: Reload| {
        if !out.contains(&r) {
            out.push(r);
        }
    };
    for r in renewed {
        for p in &r.paths {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let libvirt_server = name == layout::libvirt::SERVER_CERT
                || (r.role == Role::Ca && name == layout::libvirt::CA_CERT);
            let qemu = name == layout::qemu::SERVER_CERT
                || name == layout::qemu::CLIENT_CERT
                || name == layout::qemu::CA_CERT;
            if r.role == Role::Ca {
                push(Reload {
                    consumer: "ca-copies",
                    command: None,
                    action: "copy the new CA certificate to every host that trusts this CA (same key and subject: every certificate it issued still chains to it)".into(),
                });
            }
            if libvirt_server {
                push(Reload {
                    consumer: "libvirtd",
                    command: Some("virt-admin server-update-tls libvirtd".into()),
                    action: "libvirtd 6.2+ re-reads /etc/pki/CA/cacert.pem, /etc/pki/CA/cacrl.pem, /etc/pki/libvirt/servercert.pem and /etc/pki/libvirt/private/serverkey.pem; it reads only these system paths (libvirt 9.0), so a libvirtd whose libvirtd.conf names other key_file/cert_file/ca_file/crl_file paths must be restarted instead".into(),
                });
            }
            if name == layout::libvirt::CLIENT_CERT
                || (r.role == Role::Ca && name == layout::libvirt::CA_CERT)
            {
                push(Reload {
                    consumer: "libvirt-clients",
                    command: None,
                    action: "virsh and other libvirt clients (a migration's source libvirtd too) read the new files at their next connection".into(),
                });
            }
            if qemu {
                push(Reload {
                    consumer: "qemu-migration",
                    command: None,
                    action: "QEMU migration: libvirt creates the TLS object per migration, so the next migration uses the new files".into(),
                });
                push(Reload {
                    consumer: "qemu-vnc",
                    command: None,
                    action: "QEMU VNC (QEMU 6.0+): for each running domain, send QMP {\"execute\":\"display-reload\",\"arguments\":{\"type\":\"vnc\",\"tls-certs\":true}}".into(),
                });
                push(Reload {
                    consumer: "qemu-nbd",
                    command: None,
                    action: "qemu-nbd and other QEMU processes holding a tls-creds-x509 object read the files only when the object is created: restart them".into(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_first_certificate_block() {
        let old = b"# comment\r\n-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\n-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";
        let out = replace_first_cert(old, "NEW\n", b"der");
        assert_eq!(
            out,
            b"# comment\r\nNEW\n-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"
        );
        // A DER file stays DER.
        assert_eq!(
            replace_first_cert(&[0x30, 0x03, 1, 2, 3], "NEW\n", b"der"),
            b"der"
        );
    }

    #[test]
    fn splits_general_names_and_refuses_garbage() {
        let dns = San::parse("a.example").unwrap().encode();
        let ip = San::parse("10.0.0.1").unwrap().encode();
        let seq = der::tlv(tag::SEQUENCE, &[dns.clone(), ip.clone()].concat());
        assert_eq!(general_names(&seq), Some(vec![dns, ip]));
        assert_eq!(general_names(&[0x30, 0x05, 0x82, 0x09]), None);
        assert_eq!(general_names(&[0x04, 0x00]), None);
    }

    #[test]
    fn key_files_follow_libvirt_and_qemu_names() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        assert_eq!(
            key_path_for(&p.join("server-cert.pem")),
            Some(p.join("server-key.pem"))
        );
        assert_eq!(
            key_path_for(&p.join("clientcert.pem")),
            Some(p.join("clientkey.pem"))
        );
        std::fs::create_dir(p.join("private")).unwrap();
        std::fs::write(p.join("private/serverkey.pem"), "k").unwrap();
        assert_eq!(
            key_path_for(&p.join("servercert.pem")),
            Some(p.join("private/serverkey.pem"))
        );
        assert_eq!(key_path_for(&p.join("tls.crt")), None);
    }
}
