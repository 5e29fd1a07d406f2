//! The libvirtd.conf reader: the whole-file parser and the TLS settings extractor.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = pkitool::layout::libvirtd_conf::parse(&text);
    let tls = pkitool::layout::libvirtd_conf::tls_conf(&text);
    // tls_conf reads what parse reads: it cannot succeed where parse fails.
    if parsed.is_err() {
        assert!(tls.is_err());
    }
    if let Err(e) = tls {
        let _ = e.to_string();
    }
});
