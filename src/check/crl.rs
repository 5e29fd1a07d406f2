//! The CRL: parsed (libvirt and QEMU servers refuse to start with a broken one), signed by the
//! CA, fresh, and every certificate of the layout it revokes flagged. libvirt and QEMU accept a
//! CRL that revokes their own certificate, a stale one and one from another CA: pkitool does not.

use super::fmt_ts;
use std::path::{Path, PathBuf};

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use super::Options;
use crate::check::finding::{FRole, Finding, Severity};
use crate::x509::load::Contents;

/// A certificate of the layout the CRL may revoke.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its file.
    pub path: PathBuf,
    /// Its role.
    pub role: FRole,
    /// Its subject.
    pub subject: String,
    /// Serial without leading zeros.
    pub serial: Vec<u8>,
    /// Raw issuer name.
    pub issuer: Vec<u8>,
    /// The command that issues this identity a new certificate and key in place.
    pub reissue: String,
    /// Its private key file, when known.
    pub key: Option<PathBuf>,
}

/// Serial bytes without leading zeros.
pub fn norm_serial(b: &[u8]) -> Vec<u8> {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(i..).unwrap_or_default().to_vec()
}

/// Checks the CRL file's first CRL.
pub fn check(
    path: &Path,
    contents: &Contents,
    cas: &[X509Certificate<'_>],
    targets: &[Target],
    opts: &Options,
    out: &mut Vec<Finding>,
) {
    let p = path.display();
    let f = |code, sev, msg: String| Finding::new(code, sev, msg).path(path).role(FRole::Ca);
    let Some(obj) = contents
        .objects
        .iter()
        .find(|o| o.kind == crate::x509::load::ObjectKind::Crl)
    else {
        return;
    };
    let crl = match CertificateRevocationList::from_der(&obj.der) {
        Ok((_, crl)) => crl,
        Err(e) => {
            out.push(
                f("PKI-R01", Severity::Error, format!("the CRL cannot be parsed: {e}"))
                    .why(format!("libvirt: \"Unable to set x509 certificate revocation list: {p}\"; QEMU server: \"Cannot load CRL '{p}'\""))
                    .fix(format!("re-generate it: certtool --generate-crl --load-ca-certificate CA --load-ca-privkey CAKEY --outfile {p}")),
            );
            return;
        }
    };
    let issuer_raw = crl.issuer().as_raw();
    let issuer_dn = crate::x509::dn::format_gnutls(crl.issuer());
    let signer = cas.iter().find(|ca| {
        ca.subject().as_raw() == issuer_raw && crl.verify_signature(ca.public_key()).is_ok()
    });
    let name_known = cas.iter().any(|ca| ca.subject().as_raw() == issuer_raw);
    if signer.is_none() {
        let (sev, msg) = if name_known {
            // Could be an algorithm pkitool cannot verify; still worth saying.
            (
                Severity::Warning,
                format!(
                    "the CRL names \"{issuer_dn}\" as issuer but its signature does not verify with that CA's key"
                ),
            )
        } else {
            (
                Severity::Warning,
                format!("the CRL was issued by \"{issuer_dn}\", which is not in the CA file"),
            )
        };
        out.push(
            f("PKI-R02", sev, msg)
                .why("libvirt and QEMU load it without complaint, but GnuTLS applies a CRL only to certificates of its issuer: none of its revocations take effect")
                .fix(format!("generate the CRL with this layout's CA: certtool --generate-crl --load-ca-certificate CA --load-ca-privkey CAKEY --outfile {p}")),
        );
    }
    let at = opts.at;
    if let Some(next) = crl.next_update()
        && next.timestamp() < at
    {
        out.push(
                f("PKI-R03", Severity::Warning, format!("stale CRL: nextUpdate {} has passed", fmt_ts(next.timestamp())))
                    .why("libvirt and QEMU still load it, but certificates revoked since are not in it, and strict verifiers (OpenSSL with CRL checking) refuse a stale CRL")
                    .fix(format!("re-generate it: certtool --generate-crl --load-ca-certificate CA --load-ca-privkey CAKEY --outfile {p}")),
            );
    }
    if crl.last_update().timestamp() > at {
        out.push(
            f("PKI-R03", Severity::Warning, format!("the CRL is not valid before {}", fmt_ts(crl.last_update().timestamp())))
                .why("verifiers ignore a CRL from the future; check the issuing host's clock")
                .fix(format!("re-generate it: certtool --generate-crl --load-ca-certificate CA --load-ca-privkey CAKEY --outfile {p}")),
        );
    }
    if !name_known {
        return;
    }
    for r in crl.iter_revoked_certificates() {
        let serial = norm_serial(r.raw_serial());
        for t in targets
            .iter()
            .filter(|t| t.issuer == issuer_raw && t.serial == serial)
        {
            out.push(
                Finding::new(
                    "PKI-R04",
                    Severity::Error,
                    format!("revoked by {} (serial {}, since {})", p, r.raw_serial().iter().map(|b| format!("{b:02x}")).collect::<String>(), fmt_ts(r.revocation_date.timestamp())),
                )
                .path(&t.path)
                .role(t.role)
                .subject(Some(&t.subject))
                .why("libvirt and QEMU load their own revoked certificate without complaint, but every peer holding the CRL refuses it: \"The certificate has been revoked\"")
                .fix({
                    let files: Vec<String> = std::iter::once(&t.path)
                        .chain(t.key.iter())
                        .map(|p| crate::quoting::shell_quote(&p.display().to_string()))
                        .collect();
                    format!(
                        "if the revocation stands (host retired, key compromised and the host rebuilt elsewhere), remove the revoked files: rm {}; only if this host keeps its access, give it a new key and certificate: {}",
                        files.join(" "),
                        t.reissue
                    )
                }),
            );
        }
    }
}
