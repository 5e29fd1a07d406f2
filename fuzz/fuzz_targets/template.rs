//! The certtool `.info` template reader (`template::parse`) and its date and serial parsers.
//!
//! Known bugs that already have a regression test (tests/fixtures/regressions/crash-*template*)
//! are let through so the run can go on finding new ones; set PKITOOL_FUZZ_STRICT=1 to stop on
//! them too.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;

/// (file, message) of panics with a regression test, owned by another module.
const KNOWN: &[(&str, &str)] = &[
    // time::Duration::days(n) / 365 * n on a huge relative date ("+99999999999 days").
    ("src/template.rs", "overflow constructing"),
    ("src/template.rs", "attempt to multiply with overflow"),
];

fn let_known_bugs_unwind() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("PKITOOL_FUZZ_STRICT").is_some() {
            return;
        }
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|l| l.file()).unwrap_or("");
            let msg = info.payload_as_str().unwrap_or("");
            if KNOWN
                .iter()
                .any(|(f, m)| file.ends_with(f) && msg.contains(m))
            {
                return; // unwinds to the catch_unwind below
            }
            abort(info);
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    let_known_bugs_unwind();
    let _ = std::panic::catch_unwind(|| run(data));
});

fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = std::path::Path::new("fuzz.info");
    match pkitool::template::parse(path, &text) {
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
        let _ = pkitool::template::parse_date(value);
        let _ = pkitool::template::parse_serial(value);
    }
}
