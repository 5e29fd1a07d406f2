//! `dn::parse` + `Dn::to_der` + re-format, and `consumer::allowlist::matches`.
//!
//! Input layout: the bytes up to the first NUL are a DN string; the rest is a glob pattern.
#![no_main]

use libfuzzer_sys::fuzz_target;
use x509_parser::prelude::FromDer;

fuzz_target!(|data: &[u8]| {
    let (dn_bytes, pattern_bytes) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let dn_text = String::from_utf8_lossy(dn_bytes);
    let pattern = String::from_utf8_lossy(pattern_bytes);

    let _ = pkitool::consumer::allowlist::matches(&pattern, &dn_text);
    let _ = pkitool::x509::dn::escape_value(&dn_text);

    let Ok(dn) = pkitool::x509::dn::parse(&dn_text) else {
        return;
    };
    let Ok(der) = dn.to_der() else {
        return;
    };
    // Whatever the encoder writes must be a DER Name x509-parser reads back (a #hex value is
    // used verbatim, so a bad one may make the Name unreadable: that is refused, not a panic).
    if let Ok((rest, name)) = x509_parser::x509::X509Name::from_der(&der) {
        assert!(rest.is_empty());
        let formatted = pkitool::x509::dn::format_gnutls(&name);
        let _ = pkitool::consumer::allowlist::matches(&pattern, &formatted);
        // A formatted DN parses again, and encoding it once more gives the same string.
        if let Ok(again) = pkitool::x509::dn::parse(&formatted)
            && let Ok(der2) = again.to_der()
            && let Ok((_, name2)) = x509_parser::x509::X509Name::from_der(&der2)
        {
            let _ = pkitool::x509::dn::format_gnutls(&name2);
        }
    }
    let _ = dn.to_gnutls_string();
});
