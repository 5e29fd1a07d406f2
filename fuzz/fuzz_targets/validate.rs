//! Every certificate check of `pkitool validate` on a fuzzed file: a libvirt pkipath directory
//! with a fixed valid CA, server key, client certificate and key, where the fuzzed bytes are
//! servercert.pem (first byte even) or cacert.pem (first byte odd). The report is rendered as
//! text and JSON too.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pkitool::check::validate::ValidateOptions;

const CACERT: &[u8] = include_bytes!("../fixtures/validate/cacert.pem");
const SERVERCERT: &[u8] = include_bytes!("../fixtures/validate/servercert.pem");
const SERVERKEY: &[u8] = include_bytes!("../fixtures/validate/serverkey.pem");
const CLIENTCERT: &[u8] = include_bytes!("../fixtures/validate/clientcert.pem");
const CLIENTKEY: &[u8] = include_bytes!("../fixtures/validate/clientkey.pem");

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("pkitool-fuzz-validate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        for (name, bytes) in [
            ("serverkey.pem", SERVERKEY),
            ("clientcert.pem", CLIENTCERT),
            ("clientkey.pem", CLIENTKEY),
        ] {
            std::fs::write(d.join(name), bytes).expect("write");
        }
        use std::os::unix::fs::PermissionsExt;
        for key in ["serverkey.pem", "clientkey.pem"] {
            std::fs::set_permissions(d.join(key), std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let d = dir();
    let (fuzzed, fixed, fixed_bytes) = if selector & 1 == 0 {
        ("servercert.pem", "cacert.pem", CACERT)
    } else {
        ("cacert.pem", "servercert.pem", SERVERCERT)
    };
    std::fs::write(d.join(fuzzed), bytes).expect("write");
    std::fs::write(d.join(fixed), fixed_bytes).expect("write");
    let args = ValidateOptions {
        paths: vec![d.clone()],
        hostnames: vec!["host1.example.org".into()],
        allowed_dns: vec!["C=GB,O=Example Org,CN=*".into()],
        at: Some(pkitool::check::validate::parse_at("2027-01-01T00:00:00Z").expect("time")),
        warn_within: 30,
        ..ValidateOptions::default()
    };
    let outcome = pkitool::check::validate::evaluate(&args).expect("validate never fails on file contents");
    let _ = pkitool::report::text::render(&mut std::io::sink(), &outcome);
    let _ = pkitool::report::json::render(&outcome);
    let _ = outcome.exit_code(true);
});
