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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{self, Made, codes, only};
    use crate::x509::crl::{CrlSpec, Revoked, build_crl};
    use crate::x509::keys::KeyType;
    use crate::x509::load::{Encoding, Object, ObjectKind};
    use time::OffsetDateTime;

    const CRL: &str = "/etc/pki/CA/cacrl.pem";
    const T0: i64 = 1_800_000_000;

    fn contents(der: Vec<u8>) -> Contents {
        Contents {
            encoding: Encoding::Pem,
            objects: vec![Object {
                kind: ObjectKind::Crl,
                label: Some("X509 CRL".into()),
                der: zeroize::Zeroizing::new(der),
                line: 1,
            }],
            text_before: false,
            crlf: false,
        }
    }

    fn crl(ca: &Made, this: i64, next: i64, serials: &[&[u8]]) -> Contents {
        let at = |t| OffsetDateTime::from_unix_timestamp(t).unwrap();
        let spec = CrlSpec {
            number: 1,
            this_update: at(this),
            next_update: at(next),
            revoked: serials
                .iter()
                .map(|s| Revoked {
                    serial: s.to_vec(),
                    date: at(this),
                    reason: 0,
                })
                .collect(),
        };
        contents(build_crl(&spec, &ca.signer()).unwrap().der)
    }

    fn target(m: &Made, path: &str, role: FRole) -> Target {
        let c = m.cert();
        Target {
            path: path.into(),
            role,
            subject: crate::x509::dn::subject_of(&c),
            serial: norm_serial(c.raw_serial()),
            issuer: c.issuer().as_raw().to_vec(),
            reissue: "pkitool renew --rekey X".into(),
            key: Some(format!("{path}.key").into()),
        }
    }

    fn run(c: &Contents, cas: &[&Made], targets: &[Target], at: i64) -> Vec<Finding> {
        let cas: Vec<_> = cas.iter().map(|m| m.cert()).collect();
        let mut out = Vec::new();
        check(
            Path::new(CRL),
            c,
            &cas,
            targets,
            &testkit::options(at),
            &mut out,
        );
        out
    }

    #[test]
    fn every_revoked_certificate_of_the_layout_is_an_error_clients_included() {
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let server = testkit::server("vm", &[], &ca);
        let client = testkit::client("c", &ca);
        let kept = testkit::client("kept", &ca);
        let targets = [
            target(&server, "/etc/pki/libvirt/servercert.pem", FRole::Server),
            target(&client, "/etc/pki/libvirt/clientcert.pem", FRole::Client),
            target(&kept, "/etc/pki/qemu/client-cert.pem", FRole::Client),
        ];
        // Both revoked, the client's entry second.
        let serials = [
            norm_serial(server.cert().raw_serial()),
            norm_serial(client.cert().raw_serial()),
        ];
        let c = crl(&ca, T0, T0 + 30 * 86_400, &[&serials[0], &serials[1]]);
        let f = run(&c, &[&ca], &targets, T0 + 60);
        assert_eq!(
            codes(&f),
            [("PKI-R04", Severity::Error), ("PKI-R04", Severity::Error)]
        );
        assert_eq!(
            f[0].path.as_deref(),
            Some(Path::new("/etc/pki/libvirt/servercert.pem"))
        );
        assert_eq!(
            f[1].path.as_deref(),
            Some(Path::new("/etc/pki/libvirt/clientcert.pem"))
        );
        assert_eq!(f[1].role, Some(FRole::Client));
        assert!(
            f[1].message
                .starts_with(&format!("revoked by {CRL} (serial "))
        );
        assert!(f[1].why.ends_with("\"The certificate has been revoked\""));
        assert_eq!(
            f[1].fix,
            "if the revocation stands (host retired, key compromised and the host rebuilt elsewhere), remove the revoked files: rm /etc/pki/libvirt/clientcert.pem /etc/pki/libvirt/clientcert.pem.key; only if this host keeps its access, give it a new key and certificate: pkitool renew --rekey X"
        );
        // The same serial from another CA is not this certificate.
        let other = testkit::root("Other", KeyType::EcdsaP256);
        let mut foreign = targets[0].clone();
        foreign.issuer = other.cert().subject().as_raw().to_vec();
        assert!(run(&c, &[&ca], &[foreign], T0 + 60).is_empty());
    }

    #[test]
    fn a_stale_or_future_crl_warns() {
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let c = crl(&ca, T0, T0 + 86_400, &[]);
        assert!(run(&c, &[&ca], &[], T0 + 86_400).is_empty());
        let f = run(&c, &[&ca], &[], T0 + 86_401);
        assert_eq!(codes(&f), [("PKI-R03", Severity::Warning)]);
        assert_eq!(
            f[0].message,
            "stale CRL: nextUpdate 2027-01-16T08:00:00Z has passed"
        );
        assert!(run(&c, &[&ca], &[], T0).is_empty());
        let f = run(&c, &[&ca], &[], T0 - 1);
        assert_eq!(codes(&f), [("PKI-R03", Severity::Warning)]);
        assert_eq!(
            f[0].message,
            "the CRL is not valid before 2027-01-15T08:00:00Z"
        );
    }

    #[test]
    fn a_crl_from_another_ca_or_key_revokes_nothing_and_says_so() {
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let recreated = testkit::root("CA", KeyType::EcdsaP256);
        let client = testkit::client("c", &ca);
        let t = [target(
            &client,
            "/etc/pki/libvirt/clientcert.pem",
            FRole::Client,
        )];
        let serial = norm_serial(client.cert().raw_serial());
        // Signed by another key with the same name: R02, and (the name known) the revocation.
        let c = crl(&recreated, T0, T0 + 86_400, &[&serial]);
        let f = run(&c, &[&ca], &t, T0 + 60);
        assert_eq!(
            codes(&f),
            [("PKI-R02", Severity::Warning), ("PKI-R04", Severity::Error)]
        );
        assert_eq!(
            f[0].message,
            "the CRL names \"CN=CA\" as issuer but its signature does not verify with that CA's key"
        );
        // Issued by a CA not in the file: R02 only.
        let other = testkit::root("Other", KeyType::EcdsaP256);
        let c = crl(&other, T0, T0 + 86_400, &[&serial]);
        let f = run(&c, &[&ca], &t, T0 + 60);
        assert_eq!(codes(&f), [("PKI-R02", Severity::Warning)]);
        assert_eq!(
            f[0].message,
            "the CRL was issued by \"CN=Other\", which is not in the CA file"
        );
        // The right CA among others: silent.
        let c = crl(&ca, T0, T0 + 86_400, &[]);
        assert!(run(&c, &[&recreated, &other, &ca], &t, T0 + 60).is_empty());
    }

    #[test]
    fn a_crl_that_does_not_parse_is_refused_by_both() {
        let f = run(&contents(vec![0x30, 0x03, 0x02, 0x01, 0x01]), &[], &[], T0);
        let r01 = only(&f, "PKI-R01");
        assert_eq!(r01.severity, Severity::Error);
        assert_eq!(
            r01.why,
            format!(
                "libvirt: \"Unable to set x509 certificate revocation list: {CRL}\"; QEMU server: \"Cannot load CRL '{CRL}'\""
            )
        );
        // No CRL object at all: nothing.
        let mut none = contents(vec![]);
        none.objects.clear();
        assert!(run(&none, &[], &[], T0).is_empty());
    }
}
