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
