//! The certtool `.info` template reader (`template::parse`) and its date and serial parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = std::path::Path::new("fuzz.info");
    match pkitool::ca::template::parse(path, &text) {
        Ok(t) => {
            let _ = format!("{t:?}");
        }
        Err(e) => {
            // Errors name the file and render without panicking.
            assert!(e.to_string().contains("fuzz.info"), "{e}");
        }
    }
    for line in text.lines().take(64) {
        let value = line.split_once('=').map_or(line, |(_, v)| v).trim();
        let _ = pkitool::ca::template::parse_date(value);
        let _ = pkitool::ca::template::parse_serial(value);
    }
});
