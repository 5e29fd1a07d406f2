//! Shared test harness: run the built `pkitool`, temporary directories, and peer tools
//! (certtool, openssl, qemu-nbd, libvirtd...) with the CI rule: when `CI` is set, a missing peer
//! fails the test instead of skipping it.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

/// Path of the pkitool binary under test.
pub const PKITOOL: &str = env!("CARGO_BIN_EXE_pkitool");

/// Runs pkitool with arguments and a closed stdin (never a terminal).
pub fn pkitool<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(PKITOOL)
        .args(args)
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run pkitool")
}

/// Runs pkitool in a working directory.
pub fn pkitool_in<I, S>(dir: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(PKITOOL)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run pkitool")
}

/// stdout as a String.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as a String.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout; prints both streams on failure.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "expected success, got {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Asserts the exit status; prints both streams on failure.
#[track_caller]
pub fn status(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "unexpected exit status\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// A per-process directory `target/tmp/PREFIX-PID` for fixtures shared by the tests of one
/// run; directories of earlier runs whose process is gone are removed first, so runs leave
/// nothing behind but their own.
pub fn shared_tmp(prefix: &str) -> std::path::PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    if let Ok(rd) = std::fs::read_dir(tmp) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix(&format!("{prefix}-"))
                && pid.bytes().all(|b| b.is_ascii_digit())
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = tmp.join(format!("{prefix}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the shared fixture directory");
    dir
}

/// A fresh temporary directory.
pub fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pkitool-test-")
        .tempdir()
        .expect("tempdir")
}

/// True when the tests run under CI: `CI` set to anything but empty, `0` or `false` (GitHub,
/// GitLab and `.ci/run` set `CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| {
        let v = v.trim();
        !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")
    })
}

/// Reports a skipped test where it cannot be missed: on the real stderr (libtest captures only
/// `print!`/`eprint!`), and appended to `target/test-skips.log`, which lists every skip of the
/// run (`cat target/test-skips.log` after `cargo test`).
pub fn note_skip(reason: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_string();
    let line = format!("SKIPPED {test}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-skips.log");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// True when the peer program is on PATH. When it is missing: under CI ([`in_ci`]) the test
/// fails; elsewhere it is skipped, visibly ([`note_skip`]).
#[track_caller]
pub fn have_peer(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        if in_ci() {
            panic!("peer program {program} is missing and CI is set: interop tests must not skip");
        }
        note_skip(&format!("{program} is not installed"));
    }
    found
}

/// Runs a command and returns its output (panics only if it cannot be started).
pub fn run<I, S>(program: &str, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Runs a shell script in a directory; panics with its output when it fails.
#[track_caller]
pub fn sh(dir: &Path, script: &str) -> Output {
    let o = Command::new("sh")
        .args(["-ec", script])
        .current_dir(dir)
        .output()
        .expect("run sh");
    assert!(
        o.status.success(),
        "script failed:\n{script}\nstdout:\n{}\nstderr:\n{}",
        stdout(&o),
        stderr(&o)
    );
    o
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// `openssl verify -x509_strict -purpose PURPOSE` (plus `extra`, e.g. `-verify_hostname h`)
/// must succeed.
#[track_caller]
pub fn verify_openssl(ca: &Path, cert: &Path, purpose: &str, extra: &[&str]) {
    let mut args = vec![
        "verify",
        "-x509_strict",
        "-purpose",
        purpose,
        "-CAfile",
        s(ca),
    ];
    args.extend_from_slice(extra);
    args.push(s(cert));
    let o = run("openssl", &args);
    assert!(
        o.status.success() && stdout(&o).contains(": OK"),
        "openssl {args:?}\n{}{}",
        stdout(&o),
        stderr(&o)
    );
}

/// `certtool --verify` with a purpose OID (and a hostname) must report a verified chain.
#[track_caller]
pub fn verify_certtool(ca: &Path, cert: &Path, purpose_oid: &str, hostname: Option<&str>) {
    let mut args = vec![
        "--verify",
        "--load-ca-certificate",
        s(ca),
        "--infile",
        s(cert),
        "--verify-purpose",
        purpose_oid,
    ];
    if let Some(h) = hostname {
        args.extend_from_slice(&["--verify-hostname", h]);
    }
    let o = run("certtool", &args);
    let text = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        o.status.success() && text.contains("Chain verification output: Verified"),
        "certtool {args:?}\n{text}"
    );
}

/// A path quoted for sh.
pub fn shell_word(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}
