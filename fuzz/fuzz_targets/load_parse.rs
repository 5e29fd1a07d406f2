//! `load::parse` on arbitrary bytes, then x509 parsing of every certificate it finds and the
//! GnuTLS formatting of subject and issuer: never a panic, whatever the file holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use x509_parser::prelude::FromDer;

fuzz_target!(|data: &[u8]| {
    let Ok(contents) = pkitool::x509::load::parse(data) else {
        return;
    };
    for obj in &contents.objects {
        let _ = obj.kind.describe();
        let _ = obj.kind.is_private_key();
    }
    let _ = contents.private_key();
    for cert in contents.certificates() {
        if let Ok((_, x509)) = x509_parser::certificate::X509Certificate::from_der(&cert.der) {
            let subject = pkitool::x509::dn::format_gnutls(x509.subject());
            let issuer = pkitool::x509::dn::format_gnutls(x509.issuer());
            // The formatted DN must parse back (the --dn / tls_allowed_dn_list direction)
            // without panicking, and a DN always matches itself as a pattern when it holds no
            // glob characters.
            let _ = pkitool::x509::dn::parse(&subject).map(|d| d.to_der());
            let _ = pkitool::x509::dn::parse(&issuer).map(|d| d.to_der());
            if !subject.contains(['*', '?']) {
                assert!(pkitool::consumer::allowlist::matches(&subject, &subject));
            }
        }
    }
});
