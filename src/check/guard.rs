//! The guard before pkitool writes a certificate: it never writes one that its own `validate`
//! calls an error (a consumer refuses it, at the strictest versions judged by default), that
//! names a DNS name GnuTLS never matches, or whose file is larger than libvirt reads.
//! `issue` and `init-ca` call it after signing and before anything is written.

use std::path::Path;

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::{CertRef, constraints, hostname};
use crate::check::finding::{FRole, Severity};
use crate::consumer::{Consumer, Consumers, rules};
use crate::layout::Role;

/// Why a certificate must not be written: one line per reason, each with the consumer's
/// verdict. Empty when it may be written.
pub fn refusals(der: &[u8], file_len: usize, role: Role, path: &Path) -> Vec<String> {
    let mut reasons = Vec::new();
    // The strict loader first: what GnuTLS cannot import (or whose DN it cannot print) is
    // never renamed into place.
    if let Err(e) = crate::x509::load::check_der(der, &crate::x509::load::ObjectKind::Certificate) {
        return vec![format!(
            "PKI-F05 the certificate does not load back through pkitool's strict loader: {e}"
        )];
    }
    let cert = match X509Certificate::from_der(der) {
        Ok((_, c)) => c,
        Err(e) => return vec![format!("the certificate does not parse back: {e}")],
    };
    let frole = match role {
        Role::Ca => FRole::Ca,
        Role::Server => FRole::Server,
        Role::Client => FRole::Client,
    };
    let c = CertRef::new(&cert, path, frole, 0);
    let mut findings = Vec::new();
    constraints::check(&c, &Consumers::default(), false, &mut findings);
    if role == Role::Server {
        hostname::check(&c, &[], &mut findings);
    }
    for f in findings {
        if f.severity == Severity::Error || f.code == "PKI-H05" {
            reasons.push(format!("{} {}: {}", f.code, f.message, f.why));
        }
    }
    for consumer in Consumer::ALL {
        if let Some(max) = rules::max_file_size(consumer)
            && file_len > max
        {
            reasons.push(format!(
                "PKI-F04 the file would be {file_len} bytes: {} reads at most {max} bytes of a credential file",
                consumer.name()
            ));
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::build::{CertSpec, Profile, SubjectFields, self_signed_ca};
    use crate::x509::dn::{Attribute, AttributeValue};
    use crate::x509::keys::{self, KeyType};

    fn ca_with_cn_value(value: Vec<u8>) -> Vec<u8> {
        let subject = SubjectFields {
            dn: vec![vec![Attribute {
                oid: "2.5.4.3".into(),
                value: AttributeValue::Der(value),
            }]],
            ..Default::default()
        };
        let spec = CertSpec::new(Profile::Ca { path_len: None }, subject, 30).unwrap();
        let key = keys::generate(KeyType::EcdsaP256).unwrap();
        self_signed_ca(&spec, &key).unwrap().der
    }

    #[test]
    fn what_the_strict_loader_refuses_is_never_written() {
        let path = Path::new("cacert.pem");
        let good = ca_with_cn_value(vec![0x0c, 0x02, b'C', b'A']);
        assert_eq!(refusals(&good, 900, Role::Ca, path), Vec::<String>::new());
        // An empty CN: signed fine, but GnuTLS cannot print the DN.
        let bad = ca_with_cn_value(vec![0x0c, 0x00]);
        let r = refusals(&bad, 900, Role::Ca, path);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].starts_with("PKI-F05 the certificate does not load back"),
            "{r:?}"
        );
        assert!(r[0].contains("empty CN value"), "{r:?}");
        // Trailing bytes after the certificate.
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(refusals(&trailing, 900, Role::Ca, path)[0].contains("bytes follow"));
    }

    fn server_with(sans: Vec<crate::x509::build::San>, role: Profile) -> Vec<u8> {
        use crate::check::testkit;
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let mut spec = testkit::spec(role, testkit::cn("vm.example.org"), &["vm.example.org"], 30);
        spec.sans.extend(sans);
        testkit::signed(&spec, KeyType::EcdsaP256, &ca).der
    }

    #[test]
    fn a_wildcard_gnutls_never_matches_is_refused_on_servers_only() {
        use crate::x509::build::San;
        let path = Path::new("servercert.pem");
        let server = server_with(vec![San::Dns("*.com".into())], Profile::Server);
        let r = refusals(&server, 900, Role::Server, path);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].starts_with("PKI-H05 wildcard \"*.com\" is never matched by GnuTLS"),
            "{r:?}"
        );
        // A client certificate is never matched against a host name.
        let client = server_with(vec![San::Dns("*.com".into())], Profile::Client);
        assert_eq!(
            refusals(&client, 900, Role::Client, path),
            Vec::<String>::new()
        );
    }

    #[test]
    fn warnings_other_than_unusable_wildcards_do_not_stop_a_write() {
        use crate::x509::build::San;
        // An IP address written as a DNS name: a warning (PKI-H04), written all the same.
        let server = server_with(vec![San::Dns("10.1.1.1".into())], Profile::Server);
        let path = Path::new("servercert.pem");
        let mut findings = Vec::new();
        let (_, cert) = X509Certificate::from_der(&server).unwrap();
        hostname::check(
            &CertRef::new(&cert, path, FRole::Server, 0),
            &[],
            &mut findings,
        );
        assert!(
            findings
                .iter()
                .any(|f| f.code == "PKI-H04" && f.severity == Severity::Warning)
        );
        assert_eq!(
            refusals(&server, 900, Role::Server, path),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_file_larger_than_libvirt_reads_is_refused() {
        let server = server_with(vec![], Profile::Server);
        let path = Path::new("servercert.pem");
        // virFileReadAll(path, 1 << 16, ...): 65536 bytes are read, one more is not.
        assert_eq!(
            refusals(&server, 65536, Role::Server, path),
            Vec::<String>::new()
        );
        let r = refusals(&server, 65537, Role::Server, path);
        assert_eq!(
            r,
            [
                "PKI-F04 the file would be 65537 bytes: libvirt reads at most 65536 bytes of a credential file"
            ]
        );
    }
}
