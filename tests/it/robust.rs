//! Robustness: the bad-input matrix (every command that reads files, every kind of hostile or
//! accidental input), bit-flipped certificates, and crash safety under SIGKILL.
//!
//! Every case asserts the same contract: the exact exit status [`EXIT_RULES`] gives for the
//! command and the flag or argument that names the bad file (the README's exit-status rules,
//! never pkitool's output; never 101, never a signal), no "panicked" on stderr, a message naming
//! the file (and the flag, for a usage error), and nothing written (the output directory and the
//! inputs are byte-for-byte unchanged). Fixtures are made with openssl at test time, never with
//! pkitool.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::util::{PKITOOL, have_peer, sh, stderr, stdout, tmpdir};

/// Longest any single pkitool run may take before the test calls it hung (a FIFO read blocks
/// forever, so a hang is a failure, not a slow test).
const HANG: Duration = Duration::from_secs(60);

/// The unprivileged user the "unreadable file" cases run as when the tests run as root (root
/// reads a chmod 000 file, so the case would prove nothing).
const NOBODY: u32 = 65534;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// Runs pkitool in `dir` with a hard timeout; optionally as another user.
fn run_in(dir: &Path, args: &[OsString], uid: Option<u32>) -> Output {
    let mut cmd = Command::new(PKITOOL);
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(uid) = uid {
        use std::os::unix::process::CommandExt;
        cmd.uid(uid).gid(uid);
    }
    let child = cmd.spawn().expect("spawn pkitool");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(HANG) {
        Ok(out) => out.expect("wait for pkitool"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("pkitool {args:?} hung for {HANG:?} (blocked reading a FIFO?)");
        }
    }
}

fn args<I, S>(items: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    items.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

fn both(o: &Output) -> String {
    format!("{}\n{}", stdout(o), stderr(o))
}

/// Asserts a clean failure: exactly exit status `exit` (1 or 2), no panic, and a message naming
/// one of `needles`.
#[track_caller]
fn assert_clean_failure(o: &Output, case: &str, exit: i32, needles: &[&str]) {
    let err = stderr(o);
    assert!(
        !err.contains("panicked") && o.status.code() != Some(101),
        "{case}: pkitool panicked\n{}",
        both(o)
    );
    assert_eq!(
        o.status.code(),
        Some(exit),
        "{case}: expected exit status {exit}\n{}",
        both(o)
    );
    let text = both(o);
    assert!(
        needles.iter().any(|n| text.contains(n)),
        "{case}: the message does not name any of {needles:?}\n{text}"
    );
}

/// Asserts no panic (whatever the exit status, which must still be 0, 1 or 2).
#[track_caller]
fn assert_no_panic(o: &Output, case: &str) {
    assert!(
        !stderr(o).contains("panicked") && matches!(o.status.code(), Some(0..=2)),
        "{case}: crashed (status {:?})\n{}",
        o.status.code(),
        both(o)
    );
}

/// What a directory tree holds: path → (type, mode, size, contents of small regular files).
pub(crate) type Snapshot = BTreeMap<PathBuf, (String, u32, u64, Option<Vec<u8>>)>;

pub(crate) fn snapshot(root: &Path) -> Snapshot {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = fs::read_dir(&dir) else { continue };
        for entry in rd.flatten() {
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let ft = meta.file_type();
            let kind = format!("{ft:?}");
            let contents = if ft.is_file() && meta.len() <= 1 << 20 {
                fs::read(&path).ok()
            } else if ft.is_symlink() {
                fs::read_link(&path)
                    .ok()
                    .map(|t| t.as_os_str().as_encoded_bytes().to_vec())
            } else {
                None
            };
            if ft.is_dir() {
                stack.push(path.clone());
            }
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            out.insert(rel, (kind, meta.mode(), meta.len(), contents));
        }
    }
    out
}

#[track_caller]
fn assert_unchanged(before: &Snapshot, dir: &Path, case: &str) {
    let after = snapshot(dir);
    if &after != before {
        let b: BTreeSet<_> = before.keys().collect();
        let a: BTreeSet<_> = after.keys().collect();
        let changed: Vec<_> = a
            .intersection(&b)
            .filter(|k| before.get(**k) != after.get(**k))
            .collect();
        panic!(
            "{case}: the directory changed\n  new: {:?}\n  removed: {:?}\n  modified: {changed:?}",
            a.difference(&b).collect::<Vec<_>>(),
            b.difference(&a).collect::<Vec<_>>(),
        );
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn chown_tree(root: &Path, uid: u32) {
    std::os::unix::fs::lchown(root, Some(uid), Some(uid)).expect("chown");
    for (rel, _) in snapshot(root) {
        std::os::unix::fs::lchown(root.join(rel), Some(uid), Some(uid)).expect("chown");
    }
}

/// Makes a test directory that the unprivileged user can reach when the tests run as root.
fn workdir() -> tempfile::TempDir {
    let d = tmpdir();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    d
}

/// Runs many cases and reports every failing one at the end (not only the first).
#[derive(Default)]
struct Cases {
    total: usize,
    failures: Vec<String>,
}

impl Cases {
    fn run(&mut self, label: String, f: impl FnOnce()) {
        self.total += 1;
        if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let short: String = msg.chars().take(700).collect();
            self.failures.push(format!("- {label}: {short}"));
        }
    }

    #[track_caller]
    fn finish(self, test: &str) {
        eprintln!("{test}: {} cases", self.total);
        assert!(
            self.failures.is_empty(),
            "{test}: {} of {} cases failed:\n{}",
            self.failures.len(),
            self.total,
            self.failures.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures (openssl)
// ---------------------------------------------------------------------------------------------

/// A CA, a server and a client made with openssl (EC P-256, libvirt's required extensions).
struct Fixtures {
    dir: PathBuf,
}

impl Fixtures {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.path(name)).expect("fixture")
    }
}

const OPENSSL_CNF: &str = r#"[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:host1.example.org,DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"#;

/// The fixtures, made once per test process. `None` when openssl is missing (outside CI).
fn fixtures() -> Option<&'static Fixtures> {
    static FIX: OnceLock<Option<Fixtures>> = OnceLock::new();
    FIX.get_or_init(|| {
        if !have_peer("openssl") {
            return None;
        }
        let dir = crate::util::shared_tmp("robust-fixtures");
        fs::write(dir.join("openssl.cnf"), OPENSSL_CNF).expect("cnf");
        sh(
            &dir,
            r#"
            key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
            key cakey.pem; key serverkey.pem; key clientkey.pem
            openssl req -x509 -new -key cakey.pem -config openssl.cnf -extensions v3_ca \
              -subj "/C=GB/O=Example Org/CN=Robust Test CA" -days 3650 -set_serial 1 -out cacert.pem
            for who in server client; do
              if [ $who = server ]; then subj="/C=GB/O=Example Org/CN=host1.example.org"; \
              else subj="/C=GB/O=Example Org/CN=client1"; fi
              openssl req -new -key ${who}key.pem -config openssl.cnf -subj "$subj" -out $who.csr
              openssl x509 -req -in $who.csr -CA cacert.pem -CAkey cakey.pem -set_serial 2$RANDOM \
                -days 365 -extfile openssl.cnf -extensions v3_$who -out ${who}cert.pem 2>/dev/null
            done
            openssl x509 -in servercert.pem -outform DER -out servercert.der
            openssl pkey -in serverkey.pem -outform DER -out serverkey.der
            openssl verify -CAfile cacert.pem servercert.pem clientcert.pem >/dev/null
            "#,
        );
        Some(Fixtures { dir })
    })
    .as_ref()
}

/// Copies the libvirt flat layout (cacert.pem, server*, client*) into `dir`.
fn install_layout(fx: &Fixtures, dir: &Path) {
    for name in [
        "cacert.pem",
        "servercert.pem",
        "serverkey.pem",
        "clientcert.pem",
        "clientkey.pem",
    ] {
        fs::copy(fx.path(name), dir.join(name)).expect("copy fixture");
    }
    for key in ["serverkey.pem", "clientkey.pem"] {
        fs::set_permissions(dir.join(key), fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

// ---------------------------------------------------------------------------------------------
// The bad inputs
// ---------------------------------------------------------------------------------------------

/// Where a bad input is planted: a slot that should hold a certificate or a private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Cert,
    Key,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    Empty,
    RandomBytes,
    TruncatedPem,
    InvalidBase64,
    /// DER where PEM is expected.
    Der,
    /// A key where a certificate belongs, or a certificate where a key belongs.
    WrongKind,
    Directory,
    Fifo,
    SymlinkLoop,
    /// 64 MiB, sparse.
    Huge,
    NulBytes,
    /// NUL bytes inside an otherwise valid PEM block.
    NulInPem,
    /// chmod 000 (and, as root, read by an unprivileged user).
    Unreadable,
}

const ALL_BAD: [Bad; 13] = [
    Bad::Empty,
    Bad::RandomBytes,
    Bad::TruncatedPem,
    Bad::InvalidBase64,
    Bad::Der,
    Bad::WrongKind,
    Bad::Directory,
    Bad::Fifo,
    Bad::SymlinkLoop,
    Bad::Huge,
    Bad::NulBytes,
    Bad::NulInPem,
    Bad::Unreadable,
];

/// Deterministic pseudo-random bytes (xorshift), so a failure reproduces.
fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Creates the bad input at `path`. Returns the uid to run pkitool as (Some for the
/// "unreadable" case when running as root).
fn plant(fx: &Fixtures, bad: Bad, slot: Slot, path: &Path) -> Option<u32> {
    let (pem, der, other) = match slot {
        Slot::Cert => (
            fx.read("servercert.pem"),
            fx.read("servercert.der"),
            fx.read("serverkey.pem"),
        ),
        Slot::Key => (
            fx.read("serverkey.pem"),
            fx.read("serverkey.der"),
            fx.read("servercert.pem"),
        ),
    };
    let _ = fs::remove_file(path);
    match bad {
        Bad::Empty => fs::write(path, b"").expect("write"),
        Bad::RandomBytes => fs::write(path, random_bytes(0x5eed, 2048)).expect("write"),
        Bad::TruncatedPem => fs::write(path, &pem[..pem.len() / 2]).expect("write"),
        Bad::InvalidBase64 => {
            let text = String::from_utf8(pem).expect("PEM is text");
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines[2] = "!!!! this is not base64 ~~~~".into();
            fs::write(path, lines.join("\n") + "\n").expect("write");
        }
        Bad::Der => fs::write(path, der).expect("write"),
        Bad::WrongKind => fs::write(path, other).expect("write"),
        Bad::Directory => fs::create_dir(path).expect("mkdir"),
        Bad::Fifo => nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644))
            .expect("mkfifo"),
        Bad::SymlinkLoop => {
            let other = path.with_extension("loop");
            symlink(&other, path).expect("symlink");
            symlink(path, &other).expect("symlink");
        }
        Bad::Huge => fs::File::create(path)
            .and_then(|f| f.set_len(64 << 20))
            .expect("sparse file"),
        Bad::NulBytes => fs::write(path, vec![0u8; 1500]).expect("write"),
        Bad::NulInPem => {
            let mut bytes = pem;
            let mid = bytes.len() / 2;
            bytes.splice(mid..mid, [0u8; 8]);
            fs::write(path, bytes).expect("write");
        }
        Bad::Unreadable => {
            fs::write(path, pem).expect("write");
            fs::set_permissions(path, fs::Permissions::from_mode(0o000)).expect("chmod");
            if is_root() {
                return Some(NOBODY);
            }
        }
    }
    None
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Runs one bad-input case: sets up `dir` with `setup`, plants the bad input, runs the command
/// and checks that it fails cleanly with the exit status [`EXIT_RULES`] gives for `arg`, naming
/// the file (and the flag when the exit is a usage error), with `dir` unchanged.
fn bad_case(
    fx: &Fixtures,
    bad: Bad,
    slot: Slot,
    target: &str,
    arg: Arg,
    setup: impl Fn(&Path),
    cmd: impl Fn(&Path) -> Vec<OsString>,
) -> Output {
    bad_case_naming(
        fx,
        bad,
        slot,
        target,
        arg,
        expected_exit(arg, bad),
        &[],
        setup,
        cmd,
    )
}

/// [`bad_case`] with an explicit exit status, also accepting a message that names one of `also`
/// (a flag) instead of the file.
#[allow(clippy::too_many_arguments)]
fn bad_case_naming(
    fx: &Fixtures,
    bad: Bad,
    slot: Slot,
    target: &str,
    arg: Arg,
    exit: i32,
    also: &[&str],
    setup: impl Fn(&Path),
    cmd: impl Fn(&Path) -> Vec<OsString>,
) -> Output {
    let d = workdir();
    setup(d.path());
    let target = d.path().join(target);
    let uid = plant(fx, bad, slot, &target);
    if let Some(uid) = uid {
        chown_tree(d.path(), uid);
    }
    let before = snapshot(d.path());
    let o = run_in(d.path(), &cmd(d.path()), uid);
    let case = format!("{bad:?} as {}: {:?}", file_name(&target), cmd(d.path()));
    let name = file_name(&target);
    let mut needles = vec![name.as_str()];
    needles.extend_from_slice(also);
    assert_clean_failure(&o, &case, exit, &needles);
    // A usage error names the flag (README: "a bad or missing flag (the message names it)"):
    // the rule's flag, or the flags in `also` when the error is about another one.
    let flags: Vec<&str> = if also.is_empty() {
        exit_rule(arg).flag.into_iter().collect()
    } else {
        also.to_vec()
    };
    if exit == 2 && !flags.is_empty() {
        assert!(
            flags.iter().any(|f| both(&o).contains(f)),
            "{case}: exit 2 without naming {flags:?}\n{}",
            both(&o)
        );
    }
    // The reason is the right one: refused by its size, or by its permissions.
    let text = both(&o).to_lowercase();
    match bad {
        Bad::Huge => assert!(
            text.contains("larger"),
            "{case}: not refused by size\n{text}"
        ),
        Bad::Unreadable => assert!(
            text.contains("permission denied"),
            "{case}: not reported as unreadable\n{text}"
        ),
        Bad::SymlinkLoop => assert!(
            text.contains("symbolic link") || text.contains("symlink"),
            "{case}\n{text}"
        ),
        Bad::Fifo => assert!(text.contains("fifo"), "{case}\n{text}"),
        _ => {}
    }
    assert_unchanged(&before, d.path(), &case);
    o
}

// ---------------------------------------------------------------------------------------------
// The exit status each bad input must give (README "Exit status": 1 = the operation failed on
// its input, or for validate a finding; 2 = usage or environment error)
// ---------------------------------------------------------------------------------------------

/// A command and the argument or flag through which it is given the bad input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    ShowFile,
    DnFile,
    MatchDnFile,
    /// A file of a layout given as `validate PATH` (CA, certificate, key).
    ValidateLayoutFile,
    /// `validate LEAF --ca FILE` (fleet mode).
    ValidateCa,
    ValidateLibvirtdConf,
    IssueCaCert,
    IssueCaKey,
    IssueTemplate,
    InitCaTemplate,
    SignRequest,
    SignCaCert,
    SignCaKey,
}

/// One row of the expectation table.
struct ExitRule {
    arg: Arg,
    /// The flag that names the file (None for a positional argument).
    flag: Option<&'static str>,
    /// Exit status when the file cannot be read as a regular file of sane size: a directory, a
    /// FIFO, a symbolic-link loop, 64 MiB, permission denied.
    unreadable: i32,
    /// Exit status when the file is read but its contents are wrong: empty, random bytes,
    /// truncated PEM, bad base64, DER, the wrong kind of object, NUL bytes.
    invalid: i32,
    /// Where the README says so.
    why: &'static str,
}

/// The expectation table, per command and flag, from the README and the man pages (never from
/// pkitool's output).
const EXIT_RULES: &[ExitRule] = &[
    ExitRule {
        arg: Arg::ShowFile,
        flag: None,
        unreadable: 1,
        invalid: 1,
        why: "exit 1: the operation failed on its input (unreadable or invalid file)",
    },
    ExitRule {
        arg: Arg::DnFile,
        flag: None,
        unreadable: 1,
        invalid: 1,
        why: "exit 1: the operation failed on its input (unreadable or invalid file)",
    },
    ExitRule {
        arg: Arg::MatchDnFile,
        flag: None,
        unreadable: 2,
        invalid: 2,
        why: "match-dn: exit 1 means only \"no match\", so a file that cannot be read or holds no certificate is exit 2",
    },
    ExitRule {
        arg: Arg::ValidateLayoutFile,
        flag: None,
        unreadable: 1,
        invalid: 1,
        why: "validate: a file that fails to parse is a finding (an error: libvirt and QEMU refuse it), not an abort",
    },
    ExitRule {
        arg: Arg::ValidateCa,
        flag: Some("--ca"),
        unreadable: 1,
        invalid: 1,
        why: "validate: exit 2 only for a --ca that does not exist (or without fleet mode); a --ca that exists but cannot be used is a finding (PKI-F*), as every CA file is",
    },
    ExitRule {
        arg: Arg::ValidateLibvirtdConf,
        flag: Some("--libvirtd-conf"),
        unreadable: 2,
        invalid: 1,
        why: "validate: exit 2 for an unreadable --libvirtd-conf; one that is read but does not parse is a finding (PKI-S01: libvirtd refuses to start)",
    },
    ExitRule {
        arg: Arg::IssueCaCert,
        flag: Some("--ca-cert"),
        unreadable: 1,
        invalid: 1,
        why: "exit 1: the operation failed on its input; a private key in --ca-cert is refused, exit 1",
    },
    ExitRule {
        arg: Arg::IssueCaKey,
        flag: Some("--ca-key"),
        unreadable: 1,
        invalid: 1,
        why: "exit 1: the operation failed on its input (unreadable or invalid file)",
    },
    ExitRule {
        arg: Arg::IssueTemplate,
        flag: Some("--template"),
        unreadable: 1,
        invalid: 1,
        why: "exit 1: the operation failed on its input; template values exit 1 naming the file",
    },
    ExitRule {
        arg: Arg::InitCaTemplate,
        flag: Some("--template"),
        unreadable: 1,
        invalid: 1,
        why: "exit 1: the operation failed on its input; template values exit 1 naming the file",
    },
    ExitRule {
        arg: Arg::SignRequest,
        flag: None,
        unreadable: 1,
        invalid: 1,
        why: "exit 1: the operation failed on its input (unreadable or invalid file)",
    },
    ExitRule {
        arg: Arg::SignCaCert,
        flag: Some("--ca-cert"),
        unreadable: 1,
        invalid: 1,
        why: "exit 1: the operation failed on its input (unreadable or invalid file)",
    },
    ExitRule {
        arg: Arg::SignCaKey,
        flag: Some("--ca-key"),
        unreadable: 1,
        invalid: 1,
        why: "exit 1: the operation failed on its input (unreadable or invalid file)",
    },
];

fn exit_rule(arg: Arg) -> &'static ExitRule {
    EXIT_RULES
        .iter()
        .find(|r| r.arg == arg)
        .unwrap_or_else(|| panic!("no exit rule for {arg:?}"))
}

/// The exit status the README promises for `bad` given through `arg`.
fn expected_exit(arg: Arg, bad: Bad) -> i32 {
    let rule = exit_rule(arg);
    match bad {
        Bad::Directory | Bad::Fifo | Bad::SymlinkLoop | Bad::Huge | Bad::Unreadable => {
            rule.unreadable
        }
        Bad::Empty
        | Bad::RandomBytes
        | Bad::TruncatedPem
        | Bad::InvalidBase64
        | Bad::Der
        | Bad::WrongKind
        | Bad::NulBytes
        | Bad::NulInPem => rule.invalid,
    }
}

#[test]
fn the_exit_table_covers_every_argument_once() {
    use Arg::*;
    let all = [
        ShowFile,
        DnFile,
        MatchDnFile,
        ValidateLayoutFile,
        ValidateCa,
        ValidateLibvirtdConf,
        IssueCaCert,
        IssueCaKey,
        IssueTemplate,
        InitCaTemplate,
        SignRequest,
        SignCaCert,
        SignCaKey,
    ];
    for a in all {
        assert_eq!(
            EXIT_RULES.iter().filter(|r| r.arg == a).count(),
            1,
            "{a:?} must have exactly one exit rule"
        );
    }
    assert_eq!(EXIT_RULES.len(), all.len());
    for r in EXIT_RULES {
        assert!(matches!(r.unreadable, 1 | 2) && matches!(r.invalid, 1 | 2));
        assert!(!r.why.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// show, dn
// ---------------------------------------------------------------------------------------------

#[test]
fn show_refuses_bad_inputs_naming_the_file() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    // The same files, intact, are shown (so a failure below is about the input).
    let d = workdir();
    install_layout(fx, d.path());
    fs::copy(fx.path("servercert.der"), d.path().join("servercert.der")).expect("copy");
    let o = run_in(
        d.path(),
        &args(["show", "servercert.pem", "serverkey.pem", "servercert.der"]),
        None,
    );
    let out = crate::util::ok(&o);
    assert!(out.contains("host1.example.org"), "{out}");

    // show summarises any certificate, key or CRL, in PEM or DER: those are not bad inputs.
    for bad in ALL_BAD
        .into_iter()
        .filter(|b| !matches!(b, Bad::Der | Bad::WrongKind))
    {
        cases.run(format!("show: {bad:?}"), || {
            bad_case(
                fx,
                bad,
                Slot::Cert,
                "input.pem",
                Arg::ShowFile,
                |_| {},
                |_| args(["show", "input.pem"]),
            );
        });
    }
    cases.finish("show_refuses_bad_inputs_naming_the_file");
}

#[test]
fn show_reports_the_bad_file_among_good_ones() {
    let Some(fx) = fixtures() else { return };
    let o = bad_case(
        fx,
        Bad::TruncatedPem,
        Slot::Cert,
        "broken.pem",
        Arg::ShowFile,
        |d| install_layout(fx, d),
        |_| args(["show", "cacert.pem", "broken.pem", "clientcert.pem"]),
    );
    assert!(
        both(&o).contains("broken.pem"),
        "the broken file is named\n{}",
        both(&o)
    );
}

#[test]
fn dn_refuses_bad_inputs_naming_the_file() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    let d = workdir();
    install_layout(fx, d.path());
    let out = crate::util::ok(&run_in(d.path(), &args(["dn", "servercert.pem"]), None));
    assert_eq!(out.trim(), "C=GB,O=Example Org,CN=host1.example.org");

    for bad in ALL_BAD {
        cases.run(format!("dn/match-dn: {bad:?}"), || {
            if bad == Bad::Der {
                // `dn` takes a PEM certificate, as virt-pki-query-dn does: DER is refused
                // (EXIT_RULES) with the openssl command that converts it.
                let d = workdir();
                plant(fx, bad, Slot::Cert, &d.path().join("input.der"));
                let before = snapshot(d.path());
                let o = run_in(d.path(), &args(["dn", "input.der"]), None);
                let exit = expected_exit(Arg::DnFile, bad);
                assert_clean_failure(&o, "dn on DER", exit, &["input.der"]);
                assert!(
                    stderr(&o).contains("openssl x509 -inform der"),
                    "{}",
                    both(&o)
                );
                assert_unchanged(&before, d.path(), "dn on DER");
                return;
            }
            bad_case(
                fx,
                bad,
                Slot::Cert,
                "input.pem",
                Arg::DnFile,
                |_| {},
                |_| args(["dn", "input.pem"]),
            );
            bad_case(
                fx,
                bad,
                Slot::Cert,
                "input.pem",
                Arg::MatchDnFile,
                |_| {},
                |_| args(["match-dn", "*", "input.pem"]),
            );
        });
    }
    cases.finish("dn_refuses_bad_inputs_naming_the_file");
}

// ---------------------------------------------------------------------------------------------
// validate
// ---------------------------------------------------------------------------------------------

#[test]
fn validate_reports_bad_inputs_in_every_slot() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    // The intact layout is clean: any exit 1 below comes from the planted input.
    let d = workdir();
    install_layout(fx, d.path());
    let o = run_in(
        d.path(),
        &args(["validate", ".", "--hostname", "host1.example.org"]),
        None,
    );
    crate::util::ok(&o);

    for (slot, name) in [
        (Slot::Cert, "cacert.pem"),
        (Slot::Cert, "servercert.pem"),
        (Slot::Key, "serverkey.pem"),
        (Slot::Cert, "clientcert.pem"),
    ] {
        for bad in ALL_BAD {
            cases.run(format!("validate: {bad:?} as {name}"), || {
                let o = bad_case(
                    fx,
                    bad,
                    slot,
                    name,
                    Arg::ValidateLayoutFile,
                    |d| install_layout(fx, d),
                    |_| args(["validate", ".", "--hostname", "host1.example.org"]),
                );
                // The bad file is a finding, an error (libvirt and QEMU refuse it).
                assert!(
                    stdout(&o)
                        .lines()
                        .any(|l| l.trim_start().starts_with("error") && l.contains("PKI-")),
                    "{bad:?} in {name}: no error finding\n{}",
                    both(&o)
                );
            });
        }
    }
    cases.finish("validate_reports_bad_inputs_in_every_slot");
}

#[test]
fn validate_reports_a_bad_fleet_ca_as_a_finding() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    // Fleet mode: a directory of certificates that matches no layout, checked against --ca.
    let setup = |d: &Path| {
        fs::create_dir(d.join("hosts")).expect("mkdir");
        fs::set_permissions(d.join("hosts"), fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::copy(fx.path("servercert.pem"), d.join("hosts/host1.crt")).expect("copy");
        fs::copy(fx.path("cacert.pem"), d.join("ca.pem")).expect("copy");
    };
    let cmd = |_: &Path| {
        args([
            "validate",
            "hosts",
            "--ca",
            "ca.pem",
            "--hostname",
            "host1.example.org",
        ])
    };
    // The intact CA is accepted (so a failure below is about the planted --ca).
    let d = workdir();
    setup(d.path());
    crate::util::ok(&run_in(d.path(), &cmd(d.path()), None));
    for bad in ALL_BAD {
        cases.run(format!("validate --ca: {bad:?}"), || {
            bad_case(fx, bad, Slot::Cert, "ca.pem", Arg::ValidateCa, setup, cmd);
        });
    }
    cases.finish("validate_reports_a_bad_fleet_ca_as_a_finding");
}

// ---------------------------------------------------------------------------------------------
// issue and init-ca: CA inputs, templates, flags
// ---------------------------------------------------------------------------------------------

fn issue_args(extra: &[&str]) -> Vec<OsString> {
    let mut a = args([
        "issue",
        "server",
        "--out",
        "out",
        "--cn",
        "host2.example.org",
    ]);
    a.extend(args(extra));
    a
}

fn setup_ca_and_out(fx: &Fixtures, d: &Path) {
    fs::copy(fx.path("cacert.pem"), d.join("cacert.pem")).expect("copy");
    fs::copy(fx.path("cakey.pem"), d.join("cakey.pem")).expect("copy");
    fs::set_permissions(d.join("cakey.pem"), fs::Permissions::from_mode(0o600)).expect("chmod");
    fs::create_dir(d.join("out")).expect("mkdir out");
    fs::set_permissions(d.join("out"), fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn issue_with_good_inputs_writes_a_certificate_openssl_verifies() {
    let Some(fx) = fixtures() else { return };
    let d = workdir();
    setup_ca_and_out(fx, d.path());
    crate::util::ok(&run_in(
        d.path(),
        &issue_args(&["--ca-cert", "cacert.pem", "--ca-key", "cakey.pem"]),
        None,
    ));
    sh(
        d.path(),
        "openssl verify -CAfile cacert.pem out/servercert.pem",
    );
}

#[test]
fn issue_refuses_bad_ca_certificates_and_keys() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    for (slot, name) in [(Slot::Cert, "cacert.pem"), (Slot::Key, "cakey.pem")] {
        for bad in ALL_BAD {
            cases.run(format!("issue: {bad:?} as {name}"), || {
                let cmd =
                    |_: &Path| issue_args(&["--ca-cert", "cacert.pem", "--ca-key", "cakey.pem"]);
                if bad == Bad::Der {
                    // DER CA files: see below.
                    let d = workdir();
                    setup_ca_and_out(fx, d.path());
                    let ca_der = match slot {
                        Slot::Cert => {
                            sh(
                                d.path(),
                                "openssl x509 -in cacert.pem -outform DER -out cacert.der",
                            );
                            "cacert.der"
                        }
                        Slot::Key => {
                            sh(
                                d.path(),
                                "openssl pkey -in cakey.pem -outform DER -out cakey.der",
                            );
                            "cakey.der"
                        }
                    };
                    let (c, k) = match slot {
                        Slot::Cert => (ca_der, "cakey.pem"),
                        Slot::Key => ("cacert.pem", ca_der),
                    };
                    let o = run_in(
                        d.path(),
                        &issue_args(&["--ca-cert", c, "--ca-key", k]),
                        None,
                    );
                    // A DER CA certificate or key is read (certtool and openssl CAs come in
                    // both forms, and GnuTLS imports both; the copy deployed is PEM), and
                    // openssl verifies what it signed.
                    crate::util::ok(&o);
                    sh(
                        d.path(),
                        "openssl verify -CAfile cacert.pem out/servercert.pem",
                    );
                    return;
                }
                let arg = match slot {
                    Slot::Cert => Arg::IssueCaCert,
                    Slot::Key => Arg::IssueCaKey,
                };
                bad_case(fx, bad, slot, name, arg, |d| setup_ca_and_out(fx, d), cmd);
            });
        }
    }
    cases.finish("issue_refuses_bad_ca_certificates_and_keys");
}

#[test]
fn issue_refuses_a_ca_key_that_does_not_match_the_ca_certificate() {
    let Some(fx) = fixtures() else { return };
    let d = workdir();
    setup_ca_and_out(fx, d.path());
    fs::copy(fx.path("clientkey.pem"), d.path().join("cakey.pem")).expect("copy");
    let before = snapshot(d.path());
    let o = run_in(
        d.path(),
        &issue_args(&["--ca-cert", "cacert.pem", "--ca-key", "cakey.pem"]),
        None,
    );
    // The CA files are the operation's input: exit 1.
    assert_clean_failure(&o, "mismatched CA key", 1, &["cakey.pem", "cacert.pem"]);
    assert_unchanged(&before, d.path(), "mismatched CA key");
}

const GOOD_SERVER_TEMPLATE: &str = "cn = host2.example.org\ndns_name = host2.example.org\n\
     ip_address = 192.0.2.7\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 30\n";
const GOOD_CA_TEMPLATE: &str = "cn = \"Robust Template CA\"\norganization = \"Example Org\"\n\
     ca\ncert_signing_key\nexpiration_days = 3650\n";

/// Template contents that must be refused: unknown keys, keys in the wrong case (certtool
/// silently ignores those), and values that are not valid for their key.
fn bad_templates(base_cn: &str) -> Vec<(&'static str, String)> {
    let cn = format!("cn = \"{base_cn}\"\n");
    vec![
        ("unknown key", format!("{cn}frobnicate = 1\n")),
        ("dashed key", format!("{cn}dns-name = host2.example.org\n")),
        ("mis-cased CN", format!("CN = \"{base_cn}\"\n")),
        (
            "mis-cased DNS_NAME",
            format!("{cn}DNS_NAME = host2.example.org\n"),
        ),
        ("non-numeric days", format!("{cn}expiration_days = abc\n")),
        ("negative days", format!("{cn}expiration_days = -5\n")),
        (
            "absurd days",
            format!("{cn}expiration_days = 9223372036854775807\n"),
        ),
        ("bad IP", format!("{cn}ip_address = 300.1.2.3\n")),
        ("bad DNS name", format!("{cn}dns_name = \"not a host!\"\n")),
        (
            "numeric top-level label",
            format!("{cn}dns_name = host.123\n"),
        ),
        ("bad country", format!("{cn}country = \"Great Britain\"\n")),
        ("unterminated quote", format!("cn = \"{base_cn}\n")),
    ]
}

#[test]
fn issue_reads_a_good_template() {
    let Some(fx) = fixtures() else { return };
    let d = workdir();
    setup_ca_and_out(fx, d.path());
    fs::write(d.path().join("server.info"), GOOD_SERVER_TEMPLATE).expect("write");
    crate::util::ok(&run_in(
        d.path(),
        &args([
            "issue",
            "server",
            "--out",
            "out",
            "--template",
            "server.info",
        ]),
        None,
    ));
    let text = sh(d.path(), "openssl x509 -in out/servercert.pem -noout -text");
    let text = stdout(&text);
    assert!(text.contains("DNS:host2.example.org"), "{text}");
    assert!(text.contains("IP Address:192.0.2.7"), "{text}");
}

#[test]
fn issue_and_init_ca_refuse_bad_template_files() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    // PEM-specific cases are left out: a template is text. Random bytes and NULs cover junk.
    for bad in ALL_BAD.into_iter().filter(|b| {
        !matches!(
            b,
            Bad::Der | Bad::WrongKind | Bad::TruncatedPem | Bad::InvalidBase64
        )
    }) {
        cases.run(format!("template file: {bad:?}"), || {
            // An empty template is valid (certtool accepts it); what is then missing is the CN,
            // a missing flag: exit 2 naming --cn.
            let (also, issue_exit, init_exit): (&[&str], i32, i32) = if bad == Bad::Empty {
                (&["--cn"], 2, 2)
            } else {
                (
                    &[],
                    expected_exit(Arg::IssueTemplate, bad),
                    expected_exit(Arg::InitCaTemplate, bad),
                )
            };
            let o = bad_case_naming(
                fx,
                bad,
                Slot::Cert,
                "t.info",
                Arg::IssueTemplate,
                issue_exit,
                also,
                |d| setup_ca_and_out(fx, d),
                |_| args(["issue", "server", "--out", "out", "--template", "t.info"]),
            );
            assert_no_panic(&o, "issue --template");
            bad_case_naming(
                fx,
                bad,
                Slot::Cert,
                "t.info",
                Arg::InitCaTemplate,
                init_exit,
                also,
                |d| {
                    fs::create_dir(d.join("ca")).expect("mkdir");
                },
                |_| args(["init-ca", "--dir", "ca", "--template", "t.info"]),
            );
        });
    }
    cases.finish("issue_and_init_ca_refuse_bad_template_files");
}

#[test]
fn issue_refuses_bad_template_contents() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    for (what, text) in bad_templates("host2.example.org") {
        cases.run(format!("issue template: {what}"), || {
            let d = workdir();
            setup_ca_and_out(fx, d.path());
            fs::write(d.path().join("t.info"), &text).expect("write");
            let before = snapshot(d.path());
            let o = run_in(
                d.path(),
                &args(["issue", "server", "--out", "out", "--template", "t.info"]),
                None,
            );
            let case = format!("issue --template with {what}:\n{text}");
            assert_clean_failure(&o, &case, 1, &["t.info"]);
            assert_unchanged(&before, d.path(), &case);
        });
    }
    cases.finish("issue_refuses_bad_template_contents");
}

#[test]
fn init_ca_reads_a_good_template_and_refuses_bad_contents() {
    let mut cases = Cases::default();
    let Some(_fx) = fixtures() else { return };
    let d = workdir();
    fs::write(d.path().join("ca.info"), GOOD_CA_TEMPLATE).expect("write");
    crate::util::ok(&run_in(
        d.path(),
        &args(["init-ca", "--dir", "ca", "--template", "ca.info"]),
        None,
    ));
    let subject = stdout(&sh(
        d.path(),
        "openssl x509 -in ca/cacert.pem -noout -subject -nameopt compat",
    ));
    assert!(subject.contains("CN=Robust Template CA"), "{subject}");

    for (what, text) in bad_templates("Robust Template CA") {
        cases.run(format!("init-ca template: {what}"), || {
            let d = workdir();
            fs::create_dir(d.path().join("ca")).expect("mkdir");
            fs::write(d.path().join("t.info"), &text).expect("write");
            let before = snapshot(d.path());
            let o = run_in(
                d.path(),
                &args(["init-ca", "--dir", "ca", "--template", "t.info"]),
                None,
            );
            let case = format!("init-ca --template with {what}:\n{text}");
            assert_clean_failure(&o, &case, 1, &["t.info"]);
            assert_unchanged(&before, d.path(), &case);
        });
    }
    cases.finish("init_ca_reads_a_good_template_and_refuses_bad_contents");
}

#[test]
fn issue_refuses_bad_subject_alternative_names() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    // Valid names and addresses are accepted (so the refusals below are about the values).
    let d = workdir();
    setup_ca_and_out(fx, d.path());
    crate::util::ok(&run_in(
        d.path(),
        &issue_args(&[
            "--san=host2",
            "--san=host2.example.org",
            "--san=192.0.2.9",
            "--san=2001:db8::9",
        ]),
        None,
    ));
    for san in [
        "not a host!",
        "300.1.2.3",
        "host.123",
        "",
        "a..b.example",
        "-lead.example",
    ] {
        cases.run(format!("--san {san:?}"), || {
            let d = workdir();
            setup_ca_and_out(fx, d.path());
            let before = snapshot(d.path());
            let o = run_in(d.path(), &issue_args(&[&format!("--san={san}")]), None);
            let case = format!("--san {san:?}");
            let needles: Vec<&str> = if san.is_empty() {
                vec!["--san"]
            } else {
                vec![san, "--san"]
            };
            assert_clean_failure(&o, &case, 2, &needles);
            assert_unchanged(&before, d.path(), &case);
        });
    }
    cases.finish("issue_refuses_bad_subject_alternative_names");
}

#[test]
fn issue_and_init_ca_refuse_negative_and_absurd_days() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    for days in [
        "-1",
        "-36500",
        "10000000",
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999",
        "abc",
        "",
    ] {
        cases.run(format!("--days {days:?}"), || {
            let d = workdir();
            setup_ca_and_out(fx, d.path());
            fs::create_dir(d.path().join("ca")).expect("mkdir");
            let before = snapshot(d.path());
            let case = format!("issue --days {days:?}");
            let o = run_in(d.path(), &issue_args(&["--days", days]), None);
            assert_clean_failure(&o, &case, 2, &["--days"]);
            assert_unchanged(&before, d.path(), &case);
            let case = format!("init-ca --days {days:?}");
            let o = run_in(
                d.path(),
                &args(["init-ca", "--dir", "ca", "--cn", "CA", "--days", days]),
                None,
            );
            assert_clean_failure(&o, &case, 2, &["--days"]);
            assert_unchanged(&before, d.path(), &case);
        });
    }
    cases.finish("issue_and_init_ca_refuse_negative_and_absurd_days");
}

#[test]
fn issue_refuses_malformed_dn() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    for dn in [
        "not a dn",
        "CN=",
        "FOO=bar",
        "C=GBR,CN=client1",
        "C=G1,CN=client1",
        "CN=client1\\",
        "=client1",
        ",,",
        "CN=client1,,O=x",
        "CN=a+",
        "CN=#zz",
        "CN=#0",
        "EMAIL=caf\u{e9}@example.org",
    ] {
        cases.run(format!("--dn {dn:?}"), || {
            let d = workdir();
            setup_ca_and_out(fx, d.path());
            let before = snapshot(d.path());
            let o = run_in(
                d.path(),
                &args(["issue", "client", "--out", "out", "--dn", dn]),
                None,
            );
            let case = format!("--dn {dn:?}");
            assert_clean_failure(&o, &case, 2, &["--dn"]);
            assert_unchanged(&before, d.path(), &case);
        });
    }
    cases.finish("issue_refuses_malformed_dn");
}

// ---------------------------------------------------------------------------------------------
// Bit-flipped certificates
// ---------------------------------------------------------------------------------------------

/// Every bit of the first 48 bytes, and 160 bits sampled across the whole certificate.
fn bit_flip_mutants(der: &[u8]) -> Vec<(usize, u8, Vec<u8>)> {
    let mut positions: Vec<(usize, u8)> = (0..48.min(der.len()))
        .flat_map(|i| (0..8).map(move |b| (i, b)))
        .collect();
    let sample = random_bytes(0xb17f11b, 160 * 3);
    for c in sample.chunks_exact(3) {
        let i = (usize::from(c[0]) << 8 | usize::from(c[1])) % der.len();
        positions.push((i, c[2] % 8));
    }
    positions
        .into_iter()
        .map(|(i, b)| {
            let mut m = der.to_vec();
            m[i] ^= 1 << b;
            (i, b, m)
        })
        .collect()
}

fn pem_wrap(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        s.push('\n');
    }
    s + "-----END CERTIFICATE-----\n"
}

#[test]
fn bit_flipped_certificates_never_crash_show_or_dn() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    let der = fx.read("servercert.der");
    let mutants = bit_flip_mutants(&der);
    let d = workdir();
    let mut names = Vec::new();
    for (i, b, m) in &mutants {
        let name = format!("m-{i}-{b}.der");
        fs::write(d.path().join(&name), m).expect("write");
        fs::write(d.path().join(format!("m-{i}-{b}.pem")), pem_wrap(m)).expect("write");
        names.push(name);
    }
    let before = snapshot(d.path());
    // show, all at once: every mutant is reported (summarised or named in an error).
    let mut a = args(["show"]);
    a.extend(names.iter().map(OsString::from));
    let o = run_in(d.path(), &a, None);
    assert_no_panic(&o, "show on bit-flipped DER");
    let text = both(&o);
    for n in &names {
        assert!(text.contains(n.as_str()), "show says nothing about {n}");
    }
    // dn, one by one on the PEM form: the DN or a clean error naming the file.
    for (i, b, _) in &mutants {
        cases.run(format!("dn on m-{i}-{b}.pem"), || {
            let name = format!("m-{i}-{b}.pem");
            let o = run_in(d.path(), &args(["dn", &name]), None);
            if o.status.success() {
                assert!(!stdout(&o).trim().is_empty(), "dn {name}: empty output");
            } else {
                assert_clean_failure(&o, &format!("dn on {name}"), 1, &[&name]);
            }
        });
    }
    assert_unchanged(&before, d.path(), "bit flips");
    cases.finish("bit_flipped_certificates_never_crash_show_or_dn");
}

#[test]
fn bit_flipped_server_certificates_always_fail_validation() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    let der = fx.read("servercert.der");
    let d = workdir();
    install_layout(fx, d.path());
    // Validation must catch every corruption: a broken structure, a changed field (the
    // signature no longer verifies), or a broken signature.
    for (i, b, m) in bit_flip_mutants(&der) {
        cases.run(format!("validate with bit {b} of byte {i} flipped"), || {
            fs::write(d.path().join("servercert.pem"), pem_wrap(&m)).expect("write");
            let o = run_in(
                d.path(),
                &args(["validate", ".", "--hostname", "host1.example.org"]),
                None,
            );
            let case = format!("validate with servercert.pem bit {b} of byte {i} flipped");
            assert_clean_failure(&o, &case, 1, &["servercert.pem"]);
            assert_eq!(o.status.code(), Some(1), "{case}\n{}", both(&o));
        });
    }
    cases.finish("bit_flipped_server_certificates_always_fail_validation");
}

// ---------------------------------------------------------------------------------------------
// Crash safety
// ---------------------------------------------------------------------------------------------

/// The files a scenario writes under their final names.
#[derive(Clone, Copy)]
struct Scenario {
    name: &'static str,
    /// Files present before the run (copied from the fixtures, under these names).
    existing: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    /// Final names the command writes.
    writes: &'static [&'static str],
}

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "init-ca in an empty directory",
        existing: &[],
        args: &["init-ca", "--dir", ".", "--cn", "Crash CA"],
        writes: &["cacert.pem", "cakey.pem"],
    },
    Scenario {
        name: "init-ca --force over an existing CA",
        existing: &[("cacert.pem", "cacert.pem"), ("cakey.pem", "cakey.pem")],
        args: &["init-ca", "--dir", ".", "--cn", "Crash CA", "--force"],
        writes: &["cacert.pem", "cakey.pem"],
    },
    Scenario {
        name: "issue server next to an existing CA",
        existing: &[("cacert.pem", "cacert.pem"), ("cakey.pem", "cakey.pem")],
        args: &["issue", "server", "--dir", ".", "--cn", "host9.example.org"],
        writes: &["servercert.pem", "serverkey.pem"],
    },
    Scenario {
        name: "issue server --force over existing server files",
        existing: &[
            ("cacert.pem", "cacert.pem"),
            ("cakey.pem", "cakey.pem"),
            ("servercert.pem", "servercert.pem"),
            ("serverkey.pem", "serverkey.pem"),
        ],
        args: &[
            "issue",
            "server",
            "--dir",
            ".",
            "--cn",
            "host9.example.org",
            "--force",
        ],
        writes: &["servercert.pem", "serverkey.pem"],
    },
];

fn setup_scenario(fx: &Fixtures, s: &Scenario, d: &Path) -> HashMap<String, Vec<u8>> {
    let mut old = HashMap::new();
    for (from, to) in s.existing {
        let bytes = fx.read(from);
        fs::write(d.join(to), &bytes).expect("write");
        let mode = if to.contains("key") { 0o600 } else { 0o644 };
        fs::set_permissions(d.join(to), fs::Permissions::from_mode(mode)).expect("chmod");
        old.insert((*to).to_string(), bytes);
    }
    old
}

/// What a killed run left behind.
#[derive(Default, Debug)]
struct Leftovers {
    /// Files other than the final names (temp files), with their modes.
    temp_files: Vec<(String, u32)>,
    /// Some but not all of the final names exist.
    incomplete_set: bool,
}

/// Asserts the invariants after a run (killed or not) and returns what was left behind.
#[track_caller]
fn check_after_kill(
    s: &Scenario,
    d: &Path,
    old: &HashMap<String, Vec<u8>>,
    case: &str,
) -> Leftovers {
    let mut left = Leftovers::default();
    let forced = s.args.contains(&"--force");
    // Files that existed before and that this command does not write: byte-identical.
    for (name, bytes) in old {
        let now = fs::read(d.join(name)).unwrap_or_default();
        if !s.writes.contains(&name.as_str()) || !forced {
            assert!(
                &now == bytes,
                "{case}: {name}, which existed before, was changed"
            );
        }
    }
    let mut present = 0;
    for name in s.writes {
        let path = d.join(name);
        let Ok(bytes) = fs::read(&path) else { continue };
        present += 1;
        let meta = fs::metadata(&path).expect("stat");
        if name.contains("key") {
            assert_eq!(
                meta.mode() & 0o077,
                0,
                "{case}: {name} is readable by group or others (mode {:o})",
                meta.mode() & 0o7777
            );
        }
        if old.get(*name) == Some(&bytes) {
            continue; // the old file, intact
        }
        let parsed = pkitool::x509::load::parse(&bytes)
            .unwrap_or_else(|e| panic!("{case}: {name} is partial or corrupt: {e}"));
        if name.contains("key") {
            assert!(
                parsed.private_key().is_some(),
                "{case}: {name} holds no private key"
            );
        } else {
            use x509_parser::prelude::FromDer;
            let cert = parsed
                .certificates()
                .next()
                .unwrap_or_else(|| panic!("{case}: {name} holds no certificate"));
            assert!(
                x509_parser::certificate::X509Certificate::from_der(&cert.der).is_ok(),
                "{case}: {name} holds a broken certificate"
            );
        }
    }
    left.incomplete_set = present != 0 && present != s.writes.len();
    for (rel, (kind, mode, _, contents)) in snapshot(d) {
        let name = rel.to_string_lossy().into_owned();
        if s.writes.contains(&name.as_str()) || old.contains_key(&name) {
            continue;
        }
        let secret = contents
            .as_deref()
            .is_some_and(|c| String::from_utf8_lossy(c).contains("PRIVATE KEY"));
        assert!(
            !(secret && mode & 0o077 != 0),
            "{case}: leftover {name} ({kind}) holds a private key with mode {:o}",
            mode & 0o7777
        );
        left.temp_files.push((name, mode & 0o7777));
    }
    left
}

/// What a killed run left and what the next run made of it.
#[derive(Default, Debug)]
struct Recovery {
    /// The kill left a journal (an interrupted set).
    journal: bool,
    /// Immediately after the kill, a pair written by the command did not match.
    mismatched_after_kill: bool,
}

/// The certificate/key pairs pkitool writes in a flat directory.
const PAIRS: [(&str, &str); 3] = [
    ("cacert.pem", "cakey.pem"),
    ("servercert.pem", "serverkey.pem"),
    ("clientcert.pem", "clientkey.pem"),
];

/// Whether openssl finds the same public key in `cert` and `key` (both in `d`).
fn pair_matches(d: &Path, cert: &str, key: &str) -> bool {
    let pubkey = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .expect("openssl");
        o.status.success().then_some(o.stdout)
    };
    let c = pubkey(&["x509", "-in", cert, "-noout", "-pubkey"]);
    let k = pubkey(&["pkey", "-in", key, "-pubout"]);
    c.is_some() && c == k
}

/// The pairs of [`PAIRS`] present in `d` (both files) that openssl says do not match.
fn mismatched_pairs(d: &Path) -> Vec<&'static str> {
    PAIRS
        .iter()
        .filter(|(c, k)| d.join(c).exists() && d.join(k).exists())
        .filter(|(c, k)| !pair_matches(d, c, k))
        .map(|(c, _)| *c)
        .collect()
}

/// Files in `d` that no completed run leaves: anything but the pairs and the ledger.
fn stray_files(d: &Path) -> Vec<String> {
    let keep: BTreeSet<&str> = PAIRS
        .iter()
        .flat_map(|(c, k)| [*c, *k])
        .chain(["pkitool-ledger.jsonl"])
        .collect();
    snapshot(d)
        .into_keys()
        .map(|rel| rel.to_string_lossy().into_owned())
        .filter(|n| !keep.contains(n.as_str()))
        .collect()
}

fn run_quiet(d: &Path, a: &[&str]) -> Output {
    Command::new(PKITOOL)
        .args(a)
        .current_dir(d)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .stdin(Stdio::null())
        .output()
        .expect("pkitool")
}

/// After a kill (`d` as the kill left it, already checked by [`check_after_kill`]): asserts
/// that a pair mismatched by the kill is an interrupted set `validate` reports (PKI-F18), then
/// runs the next pkitool command in the directory (init-ca again, or `issue client`: each takes
/// the directory's lock and so completes or sweeps what the kill left) and asserts that
/// afterwards no pair mismatches (openssl), nothing but the pairs and the ledger is left, and
/// `validate` reports no interrupted set.
#[track_caller]
fn complete_after_kill(s: &Scenario, d: &Path, case: &str) -> Recovery {
    let journal = d.join(".pkitool-journal").exists();
    let rec = Recovery {
        journal,
        mismatched_after_kill: !mismatched_pairs(d).is_empty(),
    };
    assert!(
        !rec.mismatched_after_kill || journal,
        "{case}: the kill left mismatched pairs {:?} and no journal, so no run will repair them",
        mismatched_pairs(d)
    );
    if journal {
        let v = run_quiet(d, &["validate", ".", "--format", "json"]);
        assert!(
            stdout(&v).contains("\"PKI-F18\""),
            "{case}: a journal was left but validate does not report the interrupted set (PKI-F18)\n{}",
            both(&v)
        );
    }
    if s.args[0] == "init-ca" && !journal {
        // Killed before the set was journaled: the next run is init-ca again (without --force):
        // it writes a CA when none is in place, or refuses to replace the one in place.
        let a: Vec<&str> = s.args.iter().copied().filter(|a| *a != "--force").collect();
        let next = run_quiet(d, &a);
        assert!(
            next.status.success()
                || (next.status.code() == Some(1) && stderr(&next).contains("already exists")),
            "{case}: the next init-ca failed\n{}",
            both(&next)
        );
    } else {
        // The next run is an issue that uses the directory's CA: it completes what the kill
        // left before it reads the CA (an interrupted init-ca included) or writes its files.
        let next = run_quiet(
            d,
            &["issue", "client", "--dir", ".", "--cn", "crash-client"],
        );
        assert!(
            next.status.success(),
            "{case}: the next run (issue client) failed\n{}",
            both(&next)
        );
        if rec.mismatched_after_kill {
            assert!(
                stderr(&next).contains("completed an earlier run's interrupted write first")
                    || stdout(&next).contains("completed an earlier run's interrupted write first"),
                "{case}: the next run does not say it completed the interrupted set\n{}",
                both(&next)
            );
        }
    }
    let mismatched = mismatched_pairs(d);
    assert!(
        mismatched.is_empty(),
        "{case}: after the next run, openssl finds mismatched pairs: {mismatched:?}"
    );
    let stray = stray_files(d);
    assert!(
        stray.is_empty(),
        "{case}: after the next run, temporary/backup/journal files are left: {stray:?}"
    );
    let v = run_quiet(d, &["validate", ".", "--format", "json"]);
    assert!(
        !stdout(&v).contains("\"PKI-F18\""),
        "{case}: validate still reports an interrupted set after the next run\n{}",
        both(&v)
    );
    rec
}

/// Runs the full command once under strace, recording the file syscalls; returns the log and
/// how many times each injectable syscall happened.
fn strace_counts(d: &Path, a: &[&str]) -> (String, BTreeMap<String, usize>) {
    let log = d.join("..").join(format!(
        "strace-{}.log",
        d.file_name().unwrap_or_default().to_string_lossy()
    ));
    let o = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=openat,open,creat,write,pwrite64,fsync,fdatasync,rename,renameat,renameat2,link,linkat,chmod,fchmod,fchmodat,unlink,unlinkat,close",
        ])
        .arg(PKITOOL)
        .args(a)
        .current_dir(d)
        .stdin(Stdio::null())
        .output()
        .expect("strace");
    assert!(o.status.success(), "full run failed:\n{}", both(&o));
    let text = fs::read_to_string(&log).expect("strace log");
    let _ = fs::remove_file(&log);
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        // "PID name(args) = ret"
        let rest = line.split_once(' ').map_or(line, |(_, r)| r).trim_start();
        if let Some((name, _)) = rest.split_once('(') {
            *counts.entry(name.to_string()).or_insert(0) += 1;
        }
    }
    (text, counts)
}

/// From a strace log: every file created (path → mode given to open), and every rename
/// (source → destination).
fn created_and_renamed(log: &str) -> (HashMap<String, u32>, Vec<(String, String)>) {
    let quoted = |s: &str| -> Vec<String> {
        s.split('"')
            .skip(1)
            .step_by(2)
            .map(|p| {
                Path::new(p)
                    .file_name()
                    .map_or(p.to_string(), |n| n.to_string_lossy().into_owned())
            })
            .collect()
    };
    let mut created = HashMap::new();
    let mut renamed = Vec::new();
    for line in log.lines() {
        if (line.contains("openat(") || line.contains(" open(")) && line.contains("O_CREAT") {
            let mode = line
                .split(", ")
                .filter_map(|f| f.split(')').next())
                .filter(|f| f.starts_with('0') && f.len() > 1)
                .filter_map(|f| u32::from_str_radix(f, 8).ok())
                .last();
            if let (Some(p), Some(m)) = (quoted(line).into_iter().next(), mode) {
                created.insert(p, m);
            }
        } else if line.contains("rename") || line.contains("link(") || line.contains("linkat(") {
            let q = quoted(line);
            if q.len() == 2 {
                renamed.push((q[0].clone(), q[1].clone()));
            }
        } else if line.contains("chmod(") || line.contains("fchmodat(") {
            // A chmod that opens a key up, checked by the caller via `created`'s mode.
            if let (Some(p), Some(m)) = (
                quoted(line).into_iter().next(),
                line.split(", ")
                    .filter_map(|f| f.split(')').next())
                    .find_map(|f| u32::from_str_radix(f, 8).ok()),
            ) {
                created.entry(format!("chmod:{p}")).or_insert(m);
            }
        }
    }
    (created, renamed)
}

#[test]
fn keys_are_created_0600_from_the_first_byte() {
    let Some(fx) = fixtures() else { return };
    if !have_peer("strace") {
        return;
    }
    for s in &SCENARIOS {
        let root = workdir();
        let d = root.path().join("pki");
        fs::create_dir(&d).expect("mkdir");
        setup_scenario(fx, s, &d);
        let (log, _) = strace_counts(&d, s.args);
        let (created, renamed) = created_and_renamed(&log);
        for key in s.writes.iter().filter(|n| n.contains("key")) {
            // The file that became the key: renamed into place (or created under its name).
            let source = renamed
                .iter()
                .rev()
                .find(|(_, to)| to == key)
                .map_or(key.to_string(), |(from, _)| from.clone());
            let mode = created.get(&source).copied().unwrap_or_else(|| {
                panic!(
                    "{}: no O_CREAT open of {source} (which becomes {key}) in the trace:\n{log}",
                    s.name
                )
            });
            assert_eq!(
                mode & 0o077,
                0,
                "{}: {source} (becomes {key}) was created with mode {mode:o}",
                s.name
            );
            for target in [&source, &key.to_string()] {
                if let Some(m) = created.get(&format!("chmod:{target}")) {
                    assert_eq!(m & 0o077, 0, "{}: chmod {m:o} on {target}", s.name);
                }
            }
        }
    }
}

/// Which occurrences of a syscall to kill at: every rename, link and unlink (where a set goes into
/// place, the interesting points), and for the many opens, writes, syncs and closes the first,
/// the last and two between (bounds the test's time: each kill point costs a completing run).
fn kill_points(syscall: &str, n: usize) -> Vec<usize> {
    if syscall.contains("rename") || syscall.contains("link") {
        return (1..=n).collect();
    }
    let mut v = vec![1, n.div_ceil(3), (2 * n).div_ceil(3), n];
    v.retain(|w| *w >= 1);
    v.dedup();
    v
}

#[test]
fn sigkill_at_file_syscalls_leaves_no_partial_files() {
    let Some(fx) = fixtures() else { return };
    if !have_peer("strace") {
        return;
    }
    let mut report = Vec::new();
    for s in &SCENARIOS {
        let probe = workdir();
        let pd = probe.path().join("pki");
        fs::create_dir(&pd).expect("mkdir");
        setup_scenario(fx, s, &pd);
        let (_, counts) = strace_counts(&pd, s.args);
        let mut runs = 0;
        let mut temp_left = BTreeSet::new();
        let (mut mismatched, mut incomplete, mut journals) = (0, 0, 0);
        for (syscall, n) in &counts {
            if !matches!(
                syscall.as_str(),
                "openat"
                    | "write"
                    | "pwrite64"
                    | "fsync"
                    | "fdatasync"
                    | "rename"
                    | "renameat"
                    | "renameat2"
                    | "link"
                    | "linkat"
                    | "fchmod"
                    | "unlink"
                    | "unlinkat"
                    | "close"
            ) {
                continue;
            }
            for when in kill_points(syscall, *n) {
                let root = workdir();
                let d = root.path().join("pki");
                fs::create_dir(&d).expect("mkdir");
                let old = setup_scenario(fx, s, &d);
                let o = Command::new("strace")
                    .args(["-f", "-qq", "-o", "/dev/null", "-e"])
                    .arg(format!("inject={syscall}:signal=KILL:when={when}"))
                    .arg(PKITOOL)
                    .args(s.args)
                    .current_dir(&d)
                    .stdin(Stdio::null())
                    .output()
                    .expect("strace");
                let case = format!("{}: SIGKILL at {syscall} #{when}", s.name);
                assert!(!stderr(&o).contains("panicked"), "{case}\n{}", both(&o));
                let left = check_after_kill(s, &d, &old, &case);
                let rec = complete_after_kill(s, &d, &case);
                for (name, mode) in left.temp_files {
                    temp_left.insert(format!("{name} ({mode:o})"));
                }
                mismatched += usize::from(rec.mismatched_after_kill);
                incomplete += usize::from(left.incomplete_set);
                journals += usize::from(rec.journal);
                runs += 1;
            }
        }
        assert!(runs >= 10, "{}: only {runs} kill points", s.name);
        // Kills between the renames happen (so the PKI-F18 and completion checks ran).
        assert!(
            journals >= 1,
            "{}: no kill point left an interrupted set ({runs} kill points)",
            s.name
        );
        report.push(format!(
            "{}: {runs} kill points, all completed by the next run; right after the kill: pair mismatched {mismatched}, one of the pair missing {incomplete}, journal (PKI-F18 reported) {journals}, temporary files seen {:?}",
            s.name, temp_left
        ));
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn sigkill_after_increasing_delays_with_a_permission_watcher() {
    let Some(fx) = fixtures() else { return };
    let mut report = Vec::new();
    for s in &SCENARIOS {
        // How long a full run takes.
        let probe = workdir();
        setup_scenario(fx, s, probe.path());
        let t0 = Instant::now();
        crate::util::ok(&run_in(probe.path(), &args(s.args), None));
        let full = t0.elapsed();
        let runs = 15u32;
        let (mut killed, mut temp_left, mut journals) = (0, BTreeSet::new(), 0);
        for i in 0..runs {
            let d = workdir();
            let old = setup_scenario(fx, s, d.path());
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            // The watcher: any inode ever seen both group/other-readable and holding a key.
            let watcher = {
                let dir = d.path().to_path_buf();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut open: HashMap<u64, (bool, bool, String)> = HashMap::new();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
                            let Ok(m) = e.metadata() else { continue };
                            let secret = fs::read(e.path())
                                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("PRIVATE KEY"));
                            let st = open.entry(m.ino()).or_insert((
                                false,
                                false,
                                e.file_name().to_string_lossy().into_owned(),
                            ));
                            st.0 |= m.mode() & 0o077 != 0;
                            st.1 |= secret;
                        }
                    }
                    open.into_values()
                        .filter(|(loose, secret, _)| *loose && *secret)
                        .map(|(_, _, n)| n)
                        .collect::<Vec<_>>()
                })
            };
            let mut child = Command::new(PKITOOL)
                .args(s.args)
                .current_dir(d.path())
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            std::thread::sleep(full.mul_f64(f64::from(i) / f64::from(runs)));
            let _ = child.kill();
            let status = child.wait().expect("wait");
            killed += usize::from(status.code().is_none());
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let exposed = watcher.join().expect("watcher");
            let case = format!("{}: killed after {i}/{runs} of {full:?}", s.name);
            assert!(
                exposed.is_empty(),
                "{case}: private keys readable by group/others at some moment: {exposed:?}"
            );
            let left = check_after_kill(s, d.path(), &old, &case);
            let rec = complete_after_kill(s, d.path(), &case);
            journals += usize::from(rec.journal);
            for (name, mode) in left.temp_files {
                temp_left.insert(format!("{name} ({mode:o})"));
            }
        }
        report.push(format!(
            "{}: {runs} runs, {killed} killed mid-run (full run {full:?}), all completed by the next run; journals {journals}; temporary files seen right after a kill: {temp_left:?}",
            s.name
        ));
    }
    eprintln!("{}", report.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Regression inputs (tests/fixtures/regressions)
// ---------------------------------------------------------------------------------------------

fn regression_inputs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/regressions");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/fixtures/regressions")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = file_name(p);
            n.starts_with("refuse-") || (n.starts_with("crash-") && n.ends_with(".pem"))
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    files
}

/// The `load_parse` fuzz target's body: parse, then every certificate through x509-parser and
/// the GnuTLS DN formatter.
fn load_and_format(bytes: &[u8]) -> Result<Vec<String>, pkitool::x509::load::ParseError> {
    use x509_parser::prelude::FromDer;
    let contents = pkitool::x509::load::parse(bytes)?;
    let mut dns = Vec::new();
    for cert in contents.certificates() {
        if let Ok((_, c)) = x509_parser::certificate::X509Certificate::from_der(&cert.der) {
            dns.push(pkitool::x509::dn::format_gnutls(c.subject()));
            dns.push(pkitool::x509::dn::format_gnutls(c.issuer()));
        }
    }
    Ok(dns)
}

#[test]
fn regression_inputs_are_refused_by_the_loader() {
    for path in regression_inputs() {
        let bytes = fs::read(&path).expect("read");
        let result = load_and_format(&bytes);
        if file_name(&path).starts_with("refuse-") {
            // GnuTLS (and so libvirt and QEMU) refuses it too.
            if have_peer("certtool") {
                let o = Command::new("certtool")
                    .args(["-i", "--infile"])
                    .arg(&path)
                    .output()
                    .expect("certtool");
                assert!(
                    !o.status.success(),
                    "certtool accepts {}: the loader must not be stricter than GnuTLS",
                    path.display()
                );
            }
            let err = result.expect_err(&format!("{} was accepted", path.display()));
            assert!(
                err.to_string().contains("line 1"),
                "{}: {err}",
                path.display()
            );
        }
    }
}

#[test]
fn regression_inputs_fail_cleanly_in_every_command() {
    let Some(fx) = fixtures() else { return };
    let mut cases = Cases::default();
    for path in regression_inputs() {
        let refuse = file_name(&path).starts_with("refuse-");
        cases.run(format!("show/dn {}", file_name(&path)), || {
            let d = workdir();
            fs::copy(&path, d.path().join("input.pem")).expect("copy");
            for cmd in [
                args(["show", "input.pem"]),
                args(["dn", "input.pem"]),
                args(["match-dn", "*", "input.pem"]),
            ] {
                let o = run_in(d.path(), &cmd, None);
                if refuse {
                    // match-dn keeps exit 1 for "no match" (EXIT_RULES).
                    let exit = if cmd[0] == "match-dn" { 2 } else { 1 };
                    assert_clean_failure(&o, &format!("{cmd:?}"), exit, &["input.pem"]);
                } else {
                    assert_no_panic(&o, &format!("{cmd:?}"));
                }
            }
        });
        cases.run(format!("validate {}", file_name(&path)), || {
            let d = workdir();
            install_layout(fx, d.path());
            fs::copy(&path, d.path().join("servercert.pem")).expect("copy");
            let o = run_in(
                d.path(),
                &args(["validate", ".", "--hostname", "host1.example.org"]),
                None,
            );
            assert_clean_failure(&o, "validate", 1, &["servercert.pem"]);
            assert_eq!(o.status.code(), Some(1), "{}", both(&o));
        });
    }
    cases.finish("regression_inputs_fail_cleanly_in_every_command");
}

#[test]
fn regression_templates_fail_cleanly() {
    let Some(fx) = fixtures() else { return };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/regressions");
    let mut templates: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/fixtures/regressions")
        .flatten()
        .map(|e| e.path())
        .filter(|p| file_name(p).ends_with(".info"))
        .collect();
    templates.sort();
    assert!(!templates.is_empty());
    let mut cases = Cases::default();
    for path in templates {
        for cmd in [
            args(["init-ca", "--dir", "ca", "--template", "t.info"]),
            args(["issue", "server", "--out", "out", "--template", "t.info"]),
        ] {
            cases.run(format!("{} {cmd:?}", file_name(&path)), || {
                let d = workdir();
                setup_ca_and_out(fx, d.path());
                fs::create_dir(d.path().join("ca")).expect("mkdir");
                fs::copy(&path, d.path().join("t.info")).expect("copy");
                let before = snapshot(d.path());
                let o = run_in(d.path(), &cmd, None);
                assert_clean_failure(&o, &file_name(&path), 1, &["t.info"]);
                assert_unchanged(&before, d.path(), &file_name(&path));
            });
        }
    }
    cases.finish("regression_templates_fail_cleanly");
}

/// Replays one fuzz target's body (the same calls as fuzz/fuzz_targets/<target>.rs).
fn replay_fuzz_target(target: &str, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match target {
        "load_parse" => {
            let _ = load_and_format(data);
        }
        "dn" => {
            let (dn, pattern) = match data.iter().position(|b| *b == 0) {
                Some(i) => (&data[..i], &data[i + 1..]),
                None => (data, &[][..]),
            };
            let dn = String::from_utf8_lossy(dn);
            let _ = pkitool::consumer::allowlist::matches(&String::from_utf8_lossy(pattern), &dn);
            if let Ok(d) = pkitool::x509::dn::parse(&dn) {
                let _ = d.to_gnutls_string();
            }
        }
        "template" => {
            let _ = pkitool::ca::template::parse(Path::new("fuzz.info"), &text);
            for line in text.lines().take(64) {
                let value = line.split_once('=').map_or(line, |(_, v)| v).trim();
                let _ = pkitool::ca::template::parse_date(value);
                let _ = pkitool::ca::template::parse_serial(value);
            }
        }
        "libvirtd_conf" => {
            let _ = pkitool::layout::libvirtd_conf::parse(&text);
            let _ = pkitool::layout::libvirtd_conf::tls_conf(&text);
        }
        other => panic!("no replay for fuzz target {other}"),
    }
}

#[test]
fn fuzz_crash_inputs_replay_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/regressions");
    let mut cases = Cases::default();
    let mut inputs: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/fixtures/regressions")
        .flatten()
        .map(|e| e.path())
        .filter(|p| file_name(p).starts_with("crash-fuzz-"))
        .collect();
    inputs.sort();
    for path in inputs {
        let name = file_name(&path);
        // crash-fuzz-<target>-<hash>; target names use '_' not '-'.
        let target = name
            .trim_start_matches("crash-fuzz-")
            .split('-')
            .next()
            .unwrap_or_default()
            .to_string();
        let data = fs::read(&path).expect("read");
        cases.run(name, || replay_fuzz_target(&target, &data));
    }
    cases.finish("fuzz_crash_inputs_replay_without_panicking");
}

#[test]
fn validate_refuses_bad_libvirtd_conf_files() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    // A good one is read: its cert_file is checked (and named).
    let d = workdir();
    install_layout(fx, d.path());
    fs::write(
        d.path().join("c.conf"),
        "# libvirtd.conf\nkey_file = \"serverkey.pem\"\ncert_file = \"servercert.pem\"\nca_file = \"cacert.pem\"\n",
    )
    .expect("write");
    let o = run_in(
        d.path(),
        &args(["validate", "--libvirtd-conf", "c.conf"]),
        None,
    );
    crate::util::ok(&o);
    // ... and what it names is what gets checked.
    fs::write(
        d.path().join("c.conf"),
        "key_file = \"serverkey.pem\"\ncert_file = \"elsewhere.pem\"\nca_file = \"cacert.pem\"\n",
    )
    .expect("write");
    let o = run_in(
        d.path(),
        &args(["validate", "--libvirtd-conf", "c.conf"]),
        None,
    );
    // A missing cert_file is a finding (libvirtd refuses to start): exit 1.
    assert_clean_failure(&o, "cert_file missing", 1, &["elsewhere.pem"]);

    let cmd = |_: &Path| args(["validate", "--libvirtd-conf", "c.conf"]);
    for bad in ALL_BAD.into_iter().filter(|b| {
        !matches!(
            b,
            Bad::Empty | Bad::Der | Bad::WrongKind | Bad::TruncatedPem | Bad::InvalidBase64
        )
    }) {
        cases.run(format!("libvirtd.conf: {bad:?}"), || {
            bad_case(
                fx,
                bad,
                Slot::Cert,
                "c.conf",
                Arg::ValidateLibvirtdConf,
                |_| {},
                cmd,
            );
        });
    }
    for (what, text) in [
        ("wrong type", "cert_file = 5\n"),
        (
            "unterminated string",
            "cert_file = \"/etc/pki/libvirt/servercert.pem\n",
        ),
        (
            "unterminated list",
            "tls_allowed_dn_list = [\"C=GB,CN=a\",\n",
        ),
        ("no value", "ca_file =\n"),
        ("junk after value", "ca_file = \"a\" \"b\"\n"),
    ] {
        cases.run(format!("libvirtd.conf: {what}"), || {
            let d = workdir();
            fs::write(d.path().join("c.conf"), text).expect("write");
            let before = snapshot(d.path());
            let o = run_in(d.path(), &cmd(d.path()), None);
            // Read but not parsable: a finding (EXIT_RULES).
            let exit = exit_rule(Arg::ValidateLibvirtdConf).invalid;
            assert_clean_failure(&o, what, exit, &["c.conf"]);
            assert_unchanged(&before, d.path(), what);
        });
    }
    cases.finish("validate_refuses_bad_libvirtd_conf_files");
}

// ---------------------------------------------------------------------------------------------
// sign: the request and the CA files
// ---------------------------------------------------------------------------------------------

fn sign_args() -> Vec<OsString> {
    args([
        "sign",
        "server",
        "req.csr",
        "--ca-cert",
        "cacert.pem",
        "--ca-key",
        "cakey.pem",
        "--out",
        "out/servercert.pem",
    ])
}

fn setup_sign(fx: &Fixtures, d: &Path) {
    setup_ca_and_out(fx, d);
    fs::copy(fx.path("server.csr"), d.join("req.csr")).expect("copy");
}

#[test]
fn sign_with_a_good_openssl_request_writes_a_certificate_openssl_verifies() {
    let Some(fx) = fixtures() else { return };
    let d = workdir();
    setup_sign(fx, d.path());
    crate::util::ok(&run_in(d.path(), &sign_args(), None));
    sh(
        d.path(),
        "openssl verify -CAfile cacert.pem out/servercert.pem",
    );
}

#[test]
fn sign_refuses_bad_requests_and_ca_files() {
    let mut cases = Cases::default();
    let Some(fx) = fixtures() else { return };
    for (slot, name) in [
        (Slot::Cert, "req.csr"),
        (Slot::Cert, "cacert.pem"),
        (Slot::Key, "cakey.pem"),
    ] {
        for bad in ALL_BAD {
            // A DER CA file may be accepted (issue's matrix covers that case).
            if bad == Bad::Der && name != "req.csr" {
                continue;
            }
            cases.run(format!("sign: {bad:?} as {name}"), || {
                let arg = match name {
                    "req.csr" => Arg::SignRequest,
                    "cacert.pem" => Arg::SignCaCert,
                    _ => Arg::SignCaKey,
                };
                bad_case(
                    fx,
                    bad,
                    slot,
                    name,
                    arg,
                    |d| setup_sign(fx, d),
                    |_| sign_args(),
                );
            });
        }
    }
    cases.finish("sign_refuses_bad_requests_and_ca_files");
}
