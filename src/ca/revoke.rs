//! `revoke` (mark certificates revoked in the ledger) and `crl` (write the CA's CRL of every
//! revoked, unexpired serial).
//!
//! A certificate is named by its file (any certificate this CA signed, also one made before the
//! ledger existed, by an older pkitool, certtool or openssl) or by its serial. A serial the
//! ledger does not know is refused unless `unlisted` is set, because a typo would otherwise
//! revoke nothing while looking like it worked; such a serial stays in every CRL (its notAfter
//! is unknown). Every target is checked before anything is recorded: one bad target changes
//! nothing and every bad target is reported.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::ca::ledger::{self, CrlRecord, Ledger, Reason, Record, Revocation};
use crate::ca::provision::LoadedCa;
use crate::fsio::{self, CERT_MODE, PlannedFile};
use crate::x509::build::{self, Signer};
use crate::x509::crl::{self, CrlSpec, Revoked};
use crate::x509::load;
use crate::{Error, layout};

/// Default CRL validity (days).
pub const CRL_DAYS: i64 = 30;

/// A request to revoke.
#[derive(Debug, Clone)]
pub struct RevokeRequest {
    /// The CA directory (ledger, cacert.pem).
    pub ca_dir: PathBuf,
    /// Certificate files or serials.
    pub targets: Vec<String>,
    /// The reason.
    pub reason: Reason,
    /// Accept serials the ledger does not know.
    pub unlisted: bool,
}

/// What `revoke` did.
#[derive(Debug, Clone, Default)]
pub struct RevokeOutcome {
    /// Newly recorded revocations.
    pub revoked: Vec<Revocation>,
    /// Serials that were already revoked (nothing recorded for them).
    pub already: Vec<Revocation>,
    /// Notes from the ledger.
    pub notes: Vec<String>,
}

/// The CA certificate of `ca_dir` (DER), for checking that a certificate is its own.
pub fn ca_cert_der(ca_cert: &Path) -> Result<Vec<u8>, Error> {
    let bytes = fsio::read_input(ca_cert)?;
    let contents = load::parse(&bytes).map_err(|e| Error::Parse {
        path: ca_cert.to_path_buf(),
        source: e,
    })?;
    contents
        .certificates()
        .next()
        .map(|o| o.der.to_vec())
        .ok_or_else(|| {
            Error::Failed(format!(
                "{}: no certificate found; the CA directory must hold the CA certificate",
                ca_cert.display()
            ))
        })
}

/// Checks that `cert` was signed by `ca` (same issuer name, signature verifies with its key).
/// The error message names `path`.
pub fn check_issued_by(
    cert: &X509Certificate<'_>,
    ca: &X509Certificate<'_>,
    path: &Path,
    ca_path: &Path,
) -> Result<(), String> {
    let ca_dn = crate::x509::dn::format_gnutls(ca.subject());
    if cert.issuer().as_raw() != ca.subject().as_raw() {
        return Err(format!(
            "{}: issued by \"{}\", not by this CA (\"{ca_dn}\", {}); use that certificate's own CA directory",
            path.display(),
            crate::x509::dn::format_gnutls(cert.issuer()),
            ca_path.display()
        ));
    }
    let spki = SubjectPublicKeyInfo::from_der(ca.public_key().raw)
        .map(|(_, s)| s)
        .map_err(|e| format!("{}: cannot read the CA's key: {e}", ca_path.display()))?;
    cert.verify_signature(Some(&spki)).map_err(|_| {
        format!(
            "{}: names \"{ca_dn}\" as issuer but its signature does not verify with the key of {} (another CA with the same name?)",
            path.display(),
            ca_path.display()
        )
    })
}

/// Reads the first certificate of a file (PEM or DER); the error names the file and what it
/// holds instead.
pub fn read_certificate(path: &Path) -> Result<(Vec<u8>, Vec<u8>), String> {
    let bytes = fsio::read_input(path).map_err(|e| e.to_string())?;
    let contents = load::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    match contents.certificates().next() {
        Some(c) => Ok((c.der.to_vec(), bytes)),
        None => Err(format!(
            "{}: not a certificate (found {})",
            path.display(),
            contents
                .objects
                .first()
                .map(|o| o.kind.describe())
                .unwrap_or_else(|| "nothing".into())
        )),
    }
}

/// Records revocations in the ledger of `req.ca_dir`. Nothing is recorded unless every target
/// is good.
pub fn revoke(req: &RevokeRequest) -> Result<RevokeOutcome, Error> {
    let mut ledger = Ledger::open(&req.ca_dir)?;
    let ca_path = req.ca_dir.join(layout::libvirt::CA_CERT);
    let ca_der = ca_cert_der(&ca_path)?;
    let (_, ca) = X509Certificate::from_der(&ca_der)
        .map_err(|e| Error::Failed(format!("{}: {e}", ca_path.display())))?;
    let ca_serial = ledger::serial_hex(ca.raw_serial());
    let now = ledger::rfc3339(build::now());
    let mut problems = Vec::new();
    let mut planned: Vec<Revocation> = Vec::new();
    for t in &req.targets {
        let path = Path::new(t);
        let rev = if path.exists() || t.contains('/') || t.ends_with(".pem") {
            match read_certificate(path) {
                Err(e) => Err(e),
                Ok((der, _)) => match X509Certificate::from_der(&der) {
                    Err(e) => Err(format!("{}: {e}", path.display())),
                    Ok((_, cert)) => {
                        check_issued_by(&cert, &ca, path, &ca_path).map(|()| Revocation {
                            serial: ledger::serial_hex(cert.raw_serial()),
                            reason: req.reason,
                            revoked_at: now.clone(),
                            not_after: Some(ledger::rfc3339(
                                cert.validity().not_after.to_datetime(),
                            )),
                            subject: Some(crate::x509::dn::format_gnutls(cert.subject())),
                            path: Some(ledger::absolute(path.to_path_buf())),
                        })
                    }
                },
            }
        } else {
            match ledger::normalize_serial(t) {
                None => Err(format!("{t}: no such file, and not a hex serial number")),
                Some(serial) => match ledger.entry(&serial) {
                    Some(e) => Ok(Revocation {
                        serial,
                        reason: req.reason,
                        revoked_at: now.clone(),
                        not_after: Some(e.not_after.clone()),
                        subject: Some(e.subject.clone()),
                        path: None,
                    }),
                    None if req.unlisted => Ok(Revocation {
                        serial,
                        reason: req.reason,
                        revoked_at: now.clone(),
                        not_after: None,
                        subject: None,
                        path: None,
                    }),
                    None => Err(format!(
                        "serial {serial} is not in the ledger {}; give the certificate's file instead, or pass --unlisted if this CA issued it before the ledger existed",
                        ledger.path().display()
                    )),
                },
            }
        };
        match rev {
            Ok(r) if r.serial == ca_serial => problems.push(format!(
                "{t}: that is the CA certificate itself; a CA cannot revoke itself (make a new CA and re-issue)"
            )),
            Ok(r) => planned.push(r),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Failed(format!(
            "{} (nothing was revoked)",
            problems.join("\n")
        )));
    }
    let mut out = RevokeOutcome {
        notes: ledger.notes().to_vec(),
        ..Default::default()
    };
    for r in planned {
        if let Some(prev) = ledger.revocation(&r.serial) {
            out.already.push(prev.clone());
            continue;
        }
        if out.revoked.iter().any(|x| x.serial == r.serial) {
            continue;
        }
        out.revoked.push(r);
    }
    let recs: Vec<Record> = out.revoked.iter().cloned().map(Record::Revoke).collect();
    ledger.append_many(&recs)?;
    Ok(out)
}

/// A request to write the CRL.
#[derive(Debug, Clone)]
pub struct CrlRequest {
    /// The CA directory.
    pub ca_dir: PathBuf,
    /// nextUpdate = now + days.
    pub days: i64,
    /// Where to write it (at least one).
    pub outputs: Vec<PathBuf>,
}

/// What `crl` did.
#[derive(Debug, Clone)]
pub struct CrlOutcome {
    /// The CRL number.
    pub number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// Serials listed.
    pub revoked: usize,
    /// Revocations left out because the certificate has expired.
    pub expired_dropped: usize,
    /// Files written.
    pub outputs: Vec<PathBuf>,
    /// Warnings (a CA without cRLSign).
    pub warnings: Vec<String>,
    /// Notes from the ledger.
    pub notes: Vec<String>,
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Keeps the owner, group and mode of a file a new version replaces.
pub fn keep_owner_and_mode(path: &Path, default_mode: u32, contents: Vec<u8>) -> PlannedFile {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => PlannedFile::new(path, m.mode() & 0o7777, contents).with_owner(m.uid(), m.gid()),
        Err(_) => PlannedFile::new(path, default_mode, contents),
    }
}

/// Writes the CRL of `req.ca_dir` with the CA's key (loaded by `load_ca` only now, so a
/// password is asked for only when needed). The CRL number is one more than the highest the
/// ledger recorded; the new number is recorded after the files are in place.
pub fn write_crl(
    req: &CrlRequest,
    load_ca: impl FnOnce() -> Result<LoadedCa, Error>,
) -> Result<CrlOutcome, Error> {
    if req.days <= 0 || req.days > 36_500 {
        return Err(Error::Usage(format!(
            "--days must be between 1 and 36500, got {}",
            req.days
        )));
    }
    let mut ledger = Ledger::open(&req.ca_dir)?;
    let ca = load_ca()?;
    let now = build::now();
    let mut revoked = Vec::new();
    let mut dropped = 0;
    for r in ledger.revocations() {
        if let Some(na) = r.not_after.as_deref().and_then(ledger::parse_time)
            && na < now
        {
            dropped += 1;
            continue;
        }
        let serial = hex_bytes(&r.serial).ok_or_else(|| ledger::LedgerError::Corrupt {
            path: ledger.path().to_path_buf(),
            line: 0,
            why: format!("revoked serial {:?} is not hex", r.serial),
        })?;
        revoked.push(Revoked {
            serial,
            date: ledger::parse_time(&r.revoked_at).unwrap_or(now),
            reason: r.reason.code(),
        });
    }
    let number = ledger.last_crl_number() + 1;
    let next_update = now + time::Duration::days(req.days);
    let spec = CrlSpec {
        number,
        this_update: now,
        next_update,
        revoked,
    };
    let built = crl::build_crl(
        &spec,
        &Signer {
            cert_der: &ca.cert_der,
            key: &ca.key,
        },
    )?;
    let pem = built.pem().into_bytes();
    let mut outputs: Vec<PathBuf> = Vec::new();
    for o in &req.outputs {
        if !outputs.contains(o) {
            outputs.push(o.clone());
        }
    }
    let files: Vec<PlannedFile> = outputs
        .iter()
        .map(|p| keep_owner_and_mode(p, CERT_MODE, pem.clone()))
        .collect();
    fsio::write_all_or_nothing(&files, true)?;
    ledger.append(&Record::Crl(CrlRecord {
        number,
        this_update: ledger::rfc3339(now),
        next_update: ledger::rfc3339(next_update),
        revoked: spec.revoked.len(),
        paths: outputs.iter().cloned().map(ledger::absolute).collect(),
    }))?;
    Ok(CrlOutcome {
        number,
        this_update: now,
        next_update,
        revoked: spec.revoked.len(),
        expired_dropped: dropped,
        outputs,
        warnings: built.warnings,
        notes: ledger.notes().to_vec(),
    })
}
