//! Issue 15 (security hardening): regression tests, one or more per item, each of which fails
//! against the code before its fix. Tests needing root (chown to `nobody`, setpriv) say so and
//! fail under CI when they cannot run.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{PKITOOL, ok, pkitool, stderr, stdout};

/// uid/gid of `nobody`/`nogroup` on Debian.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Root is needed (the tests run as root in CI); outside CI a non-root run skips with a note.
fn need_root(what: &str) -> bool {
    if is_root() {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    assert!(!ci, "{what}: needs root (CI runs the tests as root)");
    eprintln!("skipping {what}: needs root");
    false
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).expect("stat").mode() & 0o7777
}

fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let m = fs::symlink_metadata(&p).expect("stat");
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.push(format!(
                "{} {:o}",
                p.strip_prefix(root).unwrap_or(&p).display(),
                m.mode()
            ));
        }
    }
    out.sort();
    out
}

/// A CA made by pkitool in `dir` (cacert.pem, cakey.pem).
fn make_ca(dir: &Path) {
    ok(&pkitool([
        "init-ca".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--cn".as_ref(),
        "Security Test CA".as_ref(),
    ]));
}

// ---------------------------------------------------------------------------------------------
// Items 2 and 3: symlinked components, path-based chmod.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_planted_symlink_component_under_root_is_refused_and_never_followed() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    // The "host" CA directory the staging tree points into.
    let host_ca = d.path().join("host-etc-pki-CA");
    fs::create_dir(&host_ca).expect("mkdir");
    fs::write(host_ca.join("cacert.pem"), b"THE HOST'S REAL CA\n").expect("write");
    let stage = d.path().join("buildstage");
    fs::create_dir_all(stage.join("etc/pki")).expect("mkdir");
    symlink(&host_ca, stage.join("etc/pki/CA")).expect("symlink");
    let before = tree(&stage);

    let o = pkitool([
        "issue".as_ref(),
        "server".as_ref(),
        "--dir".as_ref(),
        ca.as_os_str(),
        "--cn".as_ref(),
        "host1.example.org".as_ref(),
        "--layout".as_ref(),
        "libvirt".as_ref(),
        "--root".as_ref(),
        stage.as_os_str(),
        "--force".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}: is a symbolic link",
            stage.join("etc/pki/CA").display()
        )),
        "{err}"
    );
    assert_eq!(
        fs::read(host_ca.join("cacert.pem")).expect("read"),
        b"THE HOST'S REAL CA\n"
    );
    assert_eq!(fs::read_dir(&host_ca).expect("ls").count(), 1);
    assert_eq!(
        tree(&stage),
        before,
        "nothing may be created in the staging tree"
    );

    // A symlink as --out itself, or above it, is refused the same way.
    let real_out = d.path().join("real-out");
    fs::create_dir(&real_out).expect("mkdir");
    symlink(&real_out, d.path().join("link-out")).expect("symlink");
    for out in [d.path().join("link-out"), d.path().join("link-out/sub")] {
        let o = pkitool([
            "issue".as_ref(),
            "client".as_ref(),
            "--dir".as_ref(),
            ca.as_os_str(),
            "--cn".as_ref(),
            "client1".as_ref(),
            "--layout".as_ref(),
            "qemu".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "{}: is a symbolic link",
                d.path().join("link-out").display()
            )),
            "{}",
            stderr(&o)
        );
        assert_eq!(fs::read_dir(&real_out).expect("ls").count(), 0);
    }
}

#[test]
fn force_over_planted_links_at_the_final_name_replaces_the_link() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let victim = d.path().join("victim");
    fs::write(&victim, b"VICTIM").expect("write");
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = d.path().join("out");
    fs::create_dir(&out).expect("mkdir");
    symlink(&victim, out.join("server-cert.pem")).expect("symlink");
    fs::hard_link(&victim, out.join("server-key.pem")).expect("link");
    let args = |force: bool| {
        let mut a: Vec<std::ffi::OsString> = vec![
            "issue".into(),
            "server".into(),
            "--dir".into(),
            ca.clone().into(),
            "--cn".into(),
            "host1.example.org".into(),
            "--layout".into(),
            "qemu".into(),
            "--out".into(),
            out.clone().into(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    let o = pkitool(args(false));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    ok(&pkitool(args(true)));
    assert_eq!(fs::read(&victim).expect("read"), b"VICTIM");
    assert_eq!(mode(&victim), 0o600);
    assert!(
        fs::symlink_metadata(out.join("server-cert.pem"))
            .expect("stat")
            .is_file()
    );
    assert_eq!(fs::metadata(&victim).expect("stat").nlink(), 1);
}

/// The syscall number of renameat2 for the perl attacker.
fn renameat2_nr() -> Option<u32> {
    if cfg!(target_arch = "x86_64") {
        Some(316)
    } else if cfg!(target_arch = "aarch64") || cfg!(target_arch = "riscv64") {
        Some(276)
    } else {
        None
    }
}

/// The attacker: as `nobody`, swap `x` and `sym` in the current directory with
/// `renameat2(RENAME_EXCHANGE)` as fast as possible until `stop` exists (at most 20 s); print
/// "ready" first and the number of successful swaps last.
const ATTACKER: &str = r#"
$| = 1; my $nr = shift; my $end = time + 20; my $swaps = 0; my ($x, $sym) = ("x", "sym");
print "ready\n";
until (-e "stop" || time > $end) {
    for (1..1000) { $swaps++ if syscall($nr, -100, $x, -100, $sym, 2) == 0; }
}
print "$swaps\n";
"#;

#[test]
fn directory_swapped_for_a_symlink_by_another_user_never_changes_a_foreign_file() {
    if !need_root("directory swap race")
        || !crate::util::have_peer("setpriv")
        || !crate::util::have_peer("perl")
    {
        return;
    }
    let Some(nr) = renameat2_nr() else {
        eprintln!("skipping: no renameat2 syscall number for this architecture");
        return;
    };
    let base = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(base.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    // root's file the attacker wants re-moded: 0640, content known.
    let victim = base.path().join("victim");
    fs::write(&victim, b"ROOT ONLY\n").expect("write");
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o640)).expect("chmod");
    // The staging directory, writable by nobody.
    let stage = base.path().join("stage");
    fs::create_dir(&stage).expect("mkdir");
    nix::unistd::chown(&stage, Some(NOBODY.into()), Some(NOBODY.into())).expect("chown");
    fs::set_permissions(&stage, fs::Permissions::from_mode(0o755)).expect("chmod");

    let runs = 150;
    let (mut swaps, mut refused, mut succeeded) = (0u64, 0, 0);
    for _ in 0..runs {
        for n in ["x", "sym", "stop"] {
            let p = stage.join(n);
            match fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => fs::remove_dir_all(&p).expect("rm -r"),
                Ok(_) => fs::remove_file(&p).expect("rm"),
                Err(_) => {}
            }
        }
        symlink(&victim, stage.join("sym")).expect("symlink");
        let mut attacker = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "perl",
                "-e",
                ATTACKER,
                &nr.to_string(),
            ])
            .current_dir(&stage)
            .stdout(Stdio::piped())
            .spawn()
            .expect("setpriv perl");
        let mut lines = BufReader::new(attacker.stdout.take().expect("stdout")).lines();
        assert_eq!(lines.next().and_then(|l| l.ok()).as_deref(), Some("ready"));
        let o = pkitool([
            "init-ca".as_ref(),
            "--dir".as_ref(),
            stage.join("x").as_os_str(),
            "--cn".as_ref(),
            "Race".as_ref(),
        ]);
        fs::write(stage.join("stop"), b"").expect("stop");
        let n: u64 = lines
            .next()
            .and_then(|l| l.ok())
            .and_then(|l| l.trim().parse().ok())
            .expect("swap count");
        attacker.wait().expect("wait");
        swaps += n;
        let m = fs::metadata(&victim).expect("stat victim");
        assert_eq!(
            m.mode() & 0o7777,
            0o640,
            "the victim's mode changed (after {swaps} swaps)"
        );
        assert_eq!((m.uid(), m.gid()), (0, 0), "the victim's owner changed");
        assert_eq!(fs::read(&victim).expect("read"), b"ROOT ONLY\n");
        match o.status.code() {
            Some(0) => succeeded += 1,
            Some(1) => {
                refused += 1;
                assert!(
                    stderr(&o).contains("symbolic link")
                        || stderr(&o).contains("replaced while pkitool worked")
                        || stderr(&o).contains("changed while pkitool was opening it")
                        || stderr(&o).contains("No such file")
                        // the ledger, opened after the files were written, found the swap
                        || stderr(&o).contains("Not a directory"),
                    "{}",
                    stderr(&o)
                );
            }
            other => panic!("status {other:?}: {}", stderr(&o)),
        }
    }
    eprintln!("{runs} runs: {succeeded} succeeded, {refused} refused, {swaps} swaps");
    // The race was really run: pkitool's directory was swapped at least once.
    assert!(swaps > 0, "the attacker never swapped a directory in");
}

#[test]
fn exact_modes_under_any_umask_and_no_tmpdir() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca/nested");
    let o = Command::new("sh")
        .arg("-c")
        .arg("umask 0777; exec \"$0\" init-ca --dir \"$1\" --cn 'Umask CA'")
        .arg(PKITOOL)
        .arg(&ca)
        .env("TMPDIR", d.path().join("no-such-tmpdir"))
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    ok(&o);
    assert_eq!(mode(&ca), 0o700);
    assert_eq!(mode(&d.path().join("ca")), 0o700);
    assert_eq!(mode(&ca.join("cakey.pem")), 0o600);
    assert_eq!(mode(&ca.join("cacert.pem")), 0o644);
    let names: Vec<PathBuf> = fs::read_dir(&ca)
        .expect("ls")
        .flatten()
        .map(|e| e.path())
        .collect();
    // cacert.pem, cakey.pem and the ledger (0600).
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(mode(&ca.join("pkitool-ledger.jsonl")), 0o600);
    let _ = stdout(&o);
}

// ---------------------------------------------------------------------------------------------
// Item 1: a private key inside --ca-cert is never deployed.
// ---------------------------------------------------------------------------------------------

fn issue_qemu(ca_cert: &Path, ca_key: &Path, out: &Path) -> std::process::Output {
    pkitool([
        "issue".as_ref(),
        "server".as_ref(),
        "--ca-cert".as_ref(),
        ca_cert.as_os_str(),
        "--ca-key".as_ref(),
        ca_key.as_os_str(),
        "--cn".as_ref(),
        "host1.example.org".as_ref(),
        "--layout".as_ref(),
        "qemu".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
}

#[test]
fn a_private_key_in_the_ca_certificate_input_is_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let mut combined = fs::read(ca.join("cacert.pem")).expect("read");
    combined.extend(fs::read(ca.join("cakey.pem")).expect("read"));
    let combined_path = d.path().join("combined.pem");
    fs::write(&combined_path, &combined).expect("write");
    fs::set_permissions(&combined_path, fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = d.path().join("out");
    let o = issue_qemu(&combined_path, &combined_path, &out);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{}: holds a private key", combined_path.display())),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing may be written");
    // The key file may hold the certificate too: it stays on this machine.
    let o = issue_qemu(&ca.join("cacert.pem"), &combined_path, &out);
    ok(&o);
    let deployed = fs::read_to_string(out.join("ca-cert.pem")).expect("read");
    assert!(!deployed.contains("PRIVATE"), "{deployed}");
}

#[test]
fn only_certificate_blocks_reencoded_from_der_are_deployed() {
    if !crate::util::have_peer("openssl") {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    // `openssl x509 -text` output (text before the block) with a CRL-like junk block after.
    let texty = d.path().join("ca-text.pem");
    let o = Command::new("openssl")
        .args(["x509", "-text", "-in"])
        .arg(ca.join("cacert.pem"))
        .arg("-out")
        .arg(&texty)
        .output()
        .expect("openssl");
    assert!(o.status.success());
    let mut bytes = fs::read(&texty).expect("read");
    bytes.extend(b"comment after the certificate\n");
    fs::write(&texty, &bytes).expect("write");
    let out = d.path().join("out");
    ok(&issue_qemu(&texty, &ca.join("cakey.pem"), &out));
    let deployed = fs::read_to_string(out.join("ca-cert.pem")).expect("read");
    assert!(
        deployed.starts_with("-----BEGIN CERTIFICATE-----\n"),
        "{deployed}"
    );
    assert!(!deployed.contains("Certificate:") && !deployed.contains("comment"));
    // Same certificate as the original, byte for byte in DER (openssl is the judge).
    let der = |p: &Path| {
        let o = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(p)
            .output()
            .expect("openssl");
        assert!(o.status.success());
        o.stdout
    };
    assert_eq!(der(&out.join("ca-cert.pem")), der(&ca.join("cacert.pem")));
}

// ---------------------------------------------------------------------------------------------
// Item 11: non-regular inputs are refused before they are opened; nothing blocks or grows.
// ---------------------------------------------------------------------------------------------

/// Runs pkitool with a deadline: a hang is a failure, never a pass.
fn pkitool_deadline(args: &[&std::ffi::OsStr], secs: u64) -> std::process::Output {
    let mut child = Command::new(PKITOOL)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed().as_secs() >= secs {
            let _ = child.kill();
            let o = child.wait_with_output().expect("output");
            panic!(
                "pkitool {args:?} hung for {secs} s\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn device_nodes_and_fifos_given_as_inputs_are_never_opened() {
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    if !need_root("mknod") {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    // A character device (the same as /dev/null: harmless if opened) and a FIFO.
    let dev = d.path().join("watchdog");
    nix::sys::stat::mknod(
        &dev,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
        nix::sys::stat::makedev(1, 3),
    )
    .expect("mknod");
    let fifo = d.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let ino = Inotify::init(InitFlags::IN_NONBLOCK).expect("inotify");
    ino.add_watch(&dev, AddWatchFlags::IN_OPEN).expect("watch");
    ino.add_watch(&fifo, AddWatchFlags::IN_OPEN).expect("watch");
    let out = d.path().join("out");
    for node in [&dev, &fifo] {
        let n = node.as_os_str();
        let cakey = ca.join("cakey.pem");
        let cacert = ca.join("cacert.pem");
        let cases: Vec<Vec<&std::ffi::OsStr>> = vec![
            vec!["show".as_ref(), n],
            vec!["dn".as_ref(), n],
            vec![
                "issue".as_ref(),
                "client".as_ref(),
                "--ca-cert".as_ref(),
                n,
                "--ca-key".as_ref(),
                cakey.as_os_str(),
                "--cn".as_ref(),
                "c".as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
            vec![
                "issue".as_ref(),
                "client".as_ref(),
                "--ca-cert".as_ref(),
                cacert.as_os_str(),
                "--ca-key".as_ref(),
                n,
                "--cn".as_ref(),
                "c".as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
            vec![
                "issue".as_ref(),
                "client".as_ref(),
                "--dir".as_ref(),
                ca.as_os_str(),
                "--template".as_ref(),
                n,
                "--cn".as_ref(),
                "c".as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
            vec![
                "init-ca".as_ref(),
                "--dir".as_ref(),
                out.as_os_str(),
                "--cn".as_ref(),
                "c".as_ref(),
                "--encrypt-key".as_ref(),
                "--password-file".as_ref(),
                n,
            ],
        ];
        for args in cases {
            // Since 357a525 a FIFO named by --password-file is read (with a deadline for its
            // writer; provisioning.rs tests it): only the device is refused there unopened.
            if *node == fifo && args.iter().any(|a| *a == "--password-file") {
                continue;
            }
            let o = pkitool_deadline(&args, 20);
            assert_ne!(o.status.code(), Some(0), "{args:?}");
            let err = stderr(&o);
            assert!(
                err.contains(&format!("{}: is a ", node.display()))
                    && err.contains("not a regular file"),
                "{args:?}: {err}"
            );
            assert!(!out.exists(), "{args:?} wrote something");
        }
    }
    let opened = ino.read_events().unwrap_or_default();
    assert!(
        opened.is_empty(),
        "a device node or FIFO was opened: {} events",
        opened.len()
    );
}

#[test]
fn an_existing_fifo_or_dev_zero_link_at_the_ca_copy_never_hangs_issue() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let out = d.path().join("out");
    fs::create_dir(&out).expect("mkdir");
    for plant in ["fifo", "zero"] {
        let target = out.join("ca-cert.pem");
        let _ = fs::remove_file(&target);
        if plant == "fifo" {
            nix::unistd::mkfifo(&target, nix::sys::stat::Mode::from_bits_truncate(0o644))
                .expect("mkfifo");
        } else {
            symlink("/dev/zero", &target).expect("symlink");
        }
        let cadir = ca.as_os_str();
        let outdir = out.as_os_str();
        let o = pkitool_deadline(
            &[
                "issue".as_ref(),
                "server".as_ref(),
                "--dir".as_ref(),
                cadir,
                "--cn".as_ref(),
                "host1.example.org".as_ref(),
                "--layout".as_ref(),
                "qemu".as_ref(),
                "--out".as_ref(),
                outdir,
                "--force".as_ref(),
            ],
            20,
        );
        ok(&o);
        assert!(
            fs::symlink_metadata(&target).expect("stat").is_file(),
            "{plant}"
        );
        assert_eq!(
            fs::read(&target).expect("read"),
            fs::read(ca.join("cacert.pem")).expect("read")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Item 6: validate cannot be made to spin.
// ---------------------------------------------------------------------------------------------

/// A CA file of `2 + 2 * pairs` certificates: two names, each self-signed and each cross-signed
/// by the other `pairs` times, every one `CA:TRUE, pathlen:0` (made by openssl).
fn cross_signed_ca_file(dir: &Path, pairs: usize) -> PathBuf {
    let script = format!(
        r#"
        set -e
        cat > ext.cnf <<'X'
[ca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
X
        for n in A B; do
          openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $n.key 2>/dev/null
          openssl req -new -key $n.key -subj "/CN=Loop $n" -out $n.csr
          openssl x509 -req -in $n.csr -signkey $n.key -days 30 -set_serial 1 \
            -extfile ext.cnf -extensions ca -out $n.self.pem 2>/dev/null
        done
        cat A.self.pem B.self.pem > bundle.pem
        i=0
        while [ $i -lt {pairs} ]; do
          i=$((i+1))
          openssl x509 -req -in A.csr -CA B.self.pem -CAkey B.key -days 30 -set_serial 1$i \
            -extfile ext.cnf -extensions ca 2>/dev/null >> bundle.pem
          openssl x509 -req -in B.csr -CA A.self.pem -CAkey A.key -days 30 -set_serial 2$i \
            -extfile ext.cnf -extensions ca 2>/dev/null >> bundle.pem
        done
        "#
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("sh");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir.join("bundle.pem")
}

#[test]
fn cross_signed_ca_files_are_judged_without_exponential_work() {
    if !crate::util::have_peer("openssl") {
        return;
    }
    for pairs in [5, 7] {
        let d = tempfile::tempdir().expect("tempdir");
        let bundle = cross_signed_ca_file(d.path(), pairs);
        let n = 2 + 2 * pairs;
        let text = fs::read_to_string(&bundle).expect("read");
        assert_eq!(text.matches("BEGIN CERTIFICATE").count(), n);
        let pki = d.path().join("pki");
        fs::create_dir(&pki).expect("mkdir");
        fs::rename(&bundle, pki.join("cacert.pem")).expect("mv");
        let o = pkitool_deadline(
            &[
                "validate".as_ref(),
                pki.as_os_str(),
                "--format".as_ref(),
                "json".as_ref(),
            ],
            60,
        );
        let out = stdout(&o);
        let json: serde_json::Value = serde_json::from_str(&out).expect("json");
        let b04: Vec<String> = json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["code"] == "PKI-B04")
            .map(|f| f["message"].as_str().unwrap_or_default().to_string())
            .collect();
        // Every certificate has a CA of the other name below it: one level, not a loop.
        assert_eq!(b04.len(), n, "{out}");
        assert!(
            b04.iter()
                .all(|m| m
                    .ends_with("pathLenConstraint 0, but 1 level(s) of CA certificates below it")),
            "{b04:?}"
        );
    }
}

#[test]
fn chain_depth_below_a_ca_still_counts_every_level() {
    if !crate::util::have_peer("openssl") {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let script = r#"
        set -e
        printf '[ca]\nbasicConstraints = critical,CA:TRUE,pathlen:0\nkeyUsage = critical,keyCertSign,cRLSign\n' > ext.cnf
        for n in R I1 I2; do
          openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $n.key 2>/dev/null
          openssl req -new -key $n.key -subj "/CN=Chain $n" -out $n.csr
        done
        openssl x509 -req -in R.csr -signkey R.key -days 30 -extfile ext.cnf -extensions ca -out R.pem 2>/dev/null
        openssl x509 -req -in I1.csr -CA R.pem -CAkey R.key -days 30 -set_serial 2 -extfile ext.cnf -extensions ca -out I1.pem 2>/dev/null
        openssl x509 -req -in I2.csr -CA I1.pem -CAkey I1.key -days 30 -set_serial 3 -extfile ext.cnf -extensions ca -out I2.pem 2>/dev/null
        mkdir pki; cat R.pem I1.pem I2.pem > pki/cacert.pem
    "#;
    let o = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(d.path())
        .output()
        .expect("sh");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pki = d.path().join("pki");
    let o = pkitool([
        "validate".as_ref(),
        pki.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let mut b04: Vec<String> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "PKI-B04")
        .map(|f| f["message"].as_str().unwrap_or_default().to_string())
        .collect();
    b04.sort();
    assert_eq!(
        b04,
        [
            "CA certificate #2: pathLenConstraint 0, but 1 level(s) of CA certificates below it",
            "pathLenConstraint 0, but 2 level(s) of CA certificates below it",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Item 9: control characters never reach the terminal raw, and are refused on input.
// ---------------------------------------------------------------------------------------------

const EVIL_CN: &str = "a\u{1b}]0;pwned\u{7}\r\nlibvirtd.conf on the server:";

/// No C0 control but `\n`, no DEL, no C1 (as UTF-8) in `bytes`.
#[track_caller]
fn assert_no_raw_controls(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| (c < ' ' && c != '\n') || ('\u{7f}'..='\u{9f}').contains(&c))
        .collect();
    assert!(bad.is_empty(), "{what}: raw controls {bad:?} in\n{text}");
}

#[test]
fn subjects_with_control_characters_are_printed_escaped() {
    if !crate::util::have_peer("openssl") {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let pki = d.path().join("pki");
    fs::create_dir(&pki).expect("mkdir");
    let cert = pki.join("servercert.pem");
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "3", "-keyout"])
        .arg(pki.join("serverkey.pem"))
        .arg("-subj")
        .arg(format!("/O=Ex/CN={EVIL_CN}"))
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    fs::copy(&cert, pki.join("cacert.pem")).expect("cp");
    let escaped = "CN=a\\x1B]0\\;pwned\\x07\\x0D\\x0Alibvirtd.conf on the server:";
    for args in [
        vec!["dn".as_ref(), cert.as_os_str()],
        vec!["dn".as_ref(), "--libvirtd".as_ref(), cert.as_os_str()],
        vec!["dn".as_ref(), "--qemu".as_ref(), cert.as_os_str()],
        vec!["show".as_ref(), cert.as_os_str()],
        vec!["match-dn".as_ref(), "*CN=x".as_ref(), cert.as_os_str()],
        vec!["validate".as_ref(), pki.as_os_str()],
    ] {
        let o = pkitool(&args);
        assert_no_raw_controls(&o.stdout, &format!("{args:?} stdout"));
        assert_no_raw_controls(&o.stderr, &format!("{args:?} stderr"));
        if args[0] != "validate" {
            assert!(stdout(&o).contains(escaped), "{args:?}: {}", stdout(&o));
        }
        // No forged line: the text after the newline stays on the subject's line.
        assert!(
            !stdout(&o)
                .lines()
                .any(|l| l.starts_with("libvirtd.conf on the server:")),
            "{args:?}"
        );
    }
}

#[test]
fn control_characters_in_cn_dn_and_template_values_are_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let out = d.path().join("out");
    for (flag, value) in [
        ("--cn", EVIL_CN.to_string()),
        ("--dn", format!("O=Ex,CN={EVIL_CN}")),
        ("--org", "Ex\u{9b}31m".to_string()),
    ] {
        let o = pkitool([
            "issue".as_ref(),
            "client".as_ref(),
            "--dir".as_ref(),
            ca.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            flag.as_ref(),
            std::ffi::OsStr::new(&value),
        ]);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("{flag} ")) && stderr(&o).contains("control characters"),
            "{}",
            stderr(&o)
        );
        assert_no_raw_controls(&o.stderr, flag);
        assert!(!out.exists());
    }
    let o = pkitool([
        "init-ca".as_ref(),
        "--dir".as_ref(),
        out.as_os_str(),
        "--cn".as_ref(),
        "CA\u{7}".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let t = d.path().join("client.tmpl");
    fs::write(&t, "cn = \"client\u{1b}[2J\"\ntls_www_client\n").expect("write");
    let o = pkitool([
        "issue".as_ref(),
        "client".as_ref(),
        "--dir".as_ref(),
        ca.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--template".as_ref(),
        t.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{}:1: the value of \"cn\" holds the control character \\x1B",
            t.display()
        )),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

// ---------------------------------------------------------------------------------------------
// Item 13: untrusted secret inputs are refused.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_writable_or_foreign_owned_ca_key_is_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let key = ca.join("cakey.pem");
    let out = d.path().join("out");
    let issue = || {
        pkitool([
            "issue".as_ref(),
            "client".as_ref(),
            "--dir".as_ref(),
            ca.as_os_str(),
            "--cn".as_ref(),
            "c1".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
    };
    for bad in [0o666, 0o620, 0o602] {
        fs::set_permissions(&key, fs::Permissions::from_mode(bad)).expect("chmod");
        let o = issue();
        assert_eq!(o.status.code(), Some(1), "{bad:o}");
        assert!(
            stderr(&o).contains(&format!(
                "{}: refusing to use this CA key: it is writable by",
                key.display()
            )),
            "{}",
            stderr(&o)
        );
        assert!(!out.exists());
    }
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod");
    if is_root() {
        nix::unistd::chown(&key, Some(NOBODY.into()), None).expect("chown");
        let o = issue();
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("is owned by uid 65534"),
            "{}",
            stderr(&o)
        );
        nix::unistd::chown(&key, Some(0.into()), None).expect("chown");
    }
    ok(&issue());
}

#[test]
fn a_password_file_others_can_read_or_write_is_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    let pw = d.path().join("pw");
    fs::write(&pw, "correct horse battery\n").expect("write");
    let dir = d.path().join("ca");
    let run = || {
        pkitool([
            "init-ca".as_ref(),
            "--dir".as_ref(),
            dir.as_os_str(),
            "--cn".as_ref(),
            "Enc".as_ref(),
            "--encrypt-key".as_ref(),
            "--password-file".as_ref(),
            pw.as_os_str(),
        ])
    };
    for bad in [0o666, 0o644] {
        fs::set_permissions(&pw, fs::Permissions::from_mode(bad)).expect("chmod");
        let o = run();
        assert_eq!(o.status.code(), Some(1), "{bad:o}");
        assert!(
            stderr(&o).contains("refusing this password file"),
            "{}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("correct horse"));
        assert!(!dir.exists());
    }
    fs::set_permissions(&pw, fs::Permissions::from_mode(0o600)).expect("chmod");
    ok(&run());
}

// ---------------------------------------------------------------------------------------------
// Item 12: no core dumps; Ctrl-C at the password prompt gives the terminal back with echo on.
// ---------------------------------------------------------------------------------------------

/// The pid of the `pkitool` process below `ancestor` (by /proc), if running.
fn pkitool_below(ancestor: u32) -> Option<u32> {
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after = stat.rsplit_once(") ")?.1;
        after.split(' ').nth(1)?.parse().ok()
    };
    for e in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if fs::read_to_string(format!("/proc/{pid}/comm")).ok()?.trim() != "pkitool" {
            continue;
        }
        let mut p = pid;
        for _ in 0..10 {
            match parent_of(p) {
                Some(pp) if pp == ancestor => return Some(pid),
                Some(pp) if pp > 1 => p = pp,
                _ => break,
            }
        }
    }
    None
}

#[test]
fn ctrl_c_at_the_password_prompt_restores_echo_and_cores_are_off() {
    use std::io::{Read, Write};
    if !need_root("setpriv to nobody")
        || !crate::util::have_peer("script")
        || !crate::util::have_peer("setpriv")
    {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let dir = d.path().join("ca");
    // The shell survives the SIGINT (a trap, not an ignore: pkitool gets the default action)
    // and reports pkitool's status and the terminal's echo flag afterwards.
    let inner = format!(
        "trap 'echo trapped' INT; setpriv --reuid=65534 --regid=65534 --clear-groups {} init-ca --dir {} --cn X --encrypt-key; echo status=\\$?; stty -a | tr ' ' '\\n' | grep -x -- '-\\{{0,1\\}}echo'",
        PKITOOL,
        dir.display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &format!("sh -c \"{inner}\""), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    let mut out = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let start = std::time::Instant::now();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("Password for") {
        assert!(
            start.elapsed().as_secs() < 30,
            "no prompt: {}",
            String::from_utf8_lossy(&seen)
        );
        let n = out.read(&mut buf).expect("read");
        assert!(n > 0, "script ended: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    // While pkitool waits at the prompt: not dumpable (its /proc files belong to root although
    // it runs as nobody) and RLIMIT_CORE is 0.
    let pid = pkitool_below(child.id()).expect("pkitool process");
    let status_owner = fs::metadata(format!("/proc/{pid}/status"))
        .expect("stat")
        .uid();
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("core line")
        .split_whitespace()
        .skip(4)
        .take(2)
        .collect::<Vec<_>>();
    // Wait until the prompt has turned echo off (through pkitool's own terminal), so that the
    // Ctrl-C arrives while the terminal is silent.
    let tty = {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NOCTTY.bits())
            .open(format!("/proc/{pid}/fd/0"))
            .expect("open the pty")
    };
    let echo_on = || {
        nix::sys::termios::tcgetattr(&tty)
            .expect("tcgetattr")
            .local_flags
            .contains(nix::sys::termios::LocalFlags::ECHO)
    };
    while echo_on() {
        assert!(
            start.elapsed().as_secs() < 30,
            "the prompt never turned echo off"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"\x03").expect("ctrl-c");
    stdin.flush().expect("flush");
    let mut rest = Vec::new();
    out.read_to_end(&mut rest).expect("read");
    drop(stdin);
    child.wait().expect("wait");
    seen.extend(rest);
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(
        status_owner, 0,
        "pkitool is dumpable (its /proc files belong to nobody)"
    );
    assert_eq!(core, ["0", "0"], "{limits}");
    assert!(text.contains("status=130"), "{text}");
    let echo: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| *l == "echo" || *l == "-echo")
        .collect();
    assert_eq!(
        echo,
        ["echo"],
        "the terminal was left without echo:\n{text}"
    );
    assert!(!dir.exists());
}

// ---------------------------------------------------------------------------------------------
// Item 7: every path in a printed fix is shell-quoted; the fixes run verbatim.
// ---------------------------------------------------------------------------------------------

#[test]
fn fixes_with_hostile_directory_names_run_verbatim_and_inject_nothing() {
    if !crate::util::have_peer("openssl") {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let pki = d.path().join("pki $(touch PWNED1);touch PWNED2;'x");
    ok(&pkitool([
        "issue".as_ref(),
        "server".as_ref(),
        "--dir".as_ref(),
        ca.as_os_str(),
        "--cn".as_ref(),
        "host1.example.org".as_ref(),
        "--out".as_ref(),
        pki.as_os_str(),
    ]));
    // DER CA file (PKI-F06), a key others can read (PKI-F08), a writable certificate (PKI-F15).
    let o = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(pki.join("cacert.pem"))
        .arg("-out")
        .arg(pki.join("cacert.der"))
        .output()
        .expect("openssl");
    assert!(o.status.success());
    fs::rename(pki.join("cacert.der"), pki.join("cacert.pem")).expect("mv");
    fs::set_permissions(pki.join("serverkey.pem"), fs::Permissions::from_mode(0o644))
        .expect("chmod");
    fs::set_permissions(
        pki.join("servercert.pem"),
        fs::Permissions::from_mode(0o666),
    )
    .expect("chmod");
    let codes = ["PKI-F06", "PKI-F08", "PKI-F15"];
    let findings = |pki: &Path| -> Vec<(String, String)> {
        let o = pkitool([
            "validate".as_ref(),
            pki.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
        json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                (
                    f["code"].as_str().unwrap_or_default().to_string(),
                    f["fix"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let before = findings(&pki);
    for c in codes {
        assert!(
            before.iter().any(|(code, _)| code == c),
            "{c} missing: {before:?}"
        );
    }
    for (code, fix) in before.iter().filter(|(c, _)| codes.contains(&c.as_str())) {
        let o = Command::new("sh")
            .arg("-c")
            .arg(fix)
            .current_dir(d.path())
            .output()
            .expect("sh");
        assert!(
            o.status.success(),
            "{code}: `{fix}` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let after = findings(&pki);
    for c in codes {
        assert!(
            !after.iter().any(|(code, _)| code == c),
            "{c} still there: {after:?}"
        );
    }
    let planted: Vec<_> = fs::read_dir(d.path())
        .expect("ls")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("PWNED"))
        .collect();
    assert!(planted.is_empty(), "a fix ran an injected command");
    assert!(!Path::new("PWNED1").exists() && !Path::new("PWNED2").exists());
}

// ---------------------------------------------------------------------------------------------
// Item 4: no glob characters in issued client DNs.
// ---------------------------------------------------------------------------------------------

#[test]
fn glob_characters_in_client_dns_are_refused_and_separators_warned() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let out = d.path().join("out");
    let issue = |flag: &str, value: &str| {
        pkitool([
            "issue".as_ref(),
            "client".as_ref(),
            "--dir".as_ref(),
            ca.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            flag.as_ref(),
            std::ffi::OsStr::new(value),
        ])
    };
    for (flag, value) in [
        ("--dn", "C=GB,O=Example Org,CN=*"),
        ("--cn", "client?"),
        ("--dn", "O=Ex*,CN=c1"),
    ] {
        let o = issue(flag, value);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("is a wildcard in libvirt's tls_allowed_dn_list"),
            "{}",
            stderr(&o)
        );
        assert!(!out.exists());
    }
    // A server's CN may be a wildcard host name.
    let o = pkitool([
        "issue".as_ref(),
        "server".as_ref(),
        "--dir".as_ref(),
        ca.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--cn".as_ref(),
        "*.example.org".as_ref(),
    ]);
    ok(&o);
    let o = issue("--dn", "O=Example\\, Inc.,CN=mallory");
    let text = ok(&o);
    assert!(
        text.contains("warning: client DN value \"Example, Inc.\" contains ',', '+' or '='"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 10: no file contents in parse errors of files that are not what they claim to be.
// ---------------------------------------------------------------------------------------------

#[test]
fn template_and_libvirtd_conf_errors_never_quote_an_unrecognised_file() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let secret = d.path().join("secret");
    for content in [
        "hunter2_password_value\n",
        "hunter2 = x\n",
        "hunter2#x = 1\n",
        "user:hunter2\n",
        "hunter2 hunter2\n",
    ] {
        fs::write(&secret, content).expect("write");
        let o = pkitool([
            "issue".as_ref(),
            "client".as_ref(),
            "--dir".as_ref(),
            ca.as_os_str(),
            "--cn".as_ref(),
            "c".as_ref(),
            "--template".as_ref(),
            secret.as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{content:?}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "{}:1: not a certtool template line",
                secret.display()
            )),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{content:?}: {err}");
        let o = pkitool([
            "validate".as_ref(),
            "--libvirtd-conf".as_ref(),
            secret.as_os_str(),
        ]);
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert_eq!(o.status.code(), Some(1), "{all}");
        assert!(all.contains("PKI-S01"), "{all}");
        assert!(!all.contains("hunter2"), "{content:?}: {all}");
    }
    // A recognised template still gets the precise message.
    fs::write(&secret, "cn = \"c\"\ndns-name = x\n").expect("write");
    let o = pkitool([
        "issue".as_ref(),
        "client".as_ref(),
        "--dir".as_ref(),
        ca.as_os_str(),
        "--template".as_ref(),
        secret.as_os_str(),
    ]);
    assert!(
        stderr(&o).contains(":2: unknown key \"dns-name\""),
        "{}",
        stderr(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// Item 14: issuance details (fixed serials, activation before the CA, IA5 values).
// ---------------------------------------------------------------------------------------------

#[test]
fn fixed_serials_warn_early_activation_is_refused_and_ia5_values_are_ascii() {
    if !crate::util::have_peer("openssl") {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let t = d.path().join("client.tmpl");
    let issue = |out: &str, extra: &[&str]| {
        let mut a: Vec<std::ffi::OsString> = vec![
            "issue".into(),
            "client".into(),
            "--dir".into(),
            ca.clone().into(),
            "--out".into(),
            d.path().join(out).into(),
            "--template".into(),
            t.clone().into(),
        ];
        a.extend(extra.iter().map(|s| s.into()));
        pkitool(a)
    };
    fs::write(&t, "cn = \"c1\"\nserial = 1\ntls_www_client\n").expect("write");
    let text = ok(&issue("o1", &[]));
    assert!(
        text.contains(
            ":2: a fixed serial: every certificate issued from this template gets serial 1"
        ),
        "{text}"
    );

    let yesterday = Command::new("date")
        .args(["-u", "-d", "1 day ago", "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .expect("date");
    let yesterday = String::from_utf8_lossy(&yesterday.stdout)
        .trim()
        .to_string();
    fs::write(
        &t,
        format!("cn = \"c2\"\nactivation_date = \"{yesterday}\"\ntls_www_client\n"),
    )
    .expect("write");
    let o = issue("o2", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "the certificate would start {yesterday} but the CA only starts"
        )),
        "{}",
        stderr(&o)
    );
    assert!(!d.path().join("o2").exists());
    ok(&issue("o2", &["--clamp-to-ca"]));
    let start = |p: &Path| {
        let o = Command::new("openssl")
            .args(["x509", "-noout", "-startdate", "-in"])
            .arg(p)
            .output()
            .expect("openssl");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(
        start(&d.path().join("o2/clientcert.pem")),
        start(&ca.join("cacert.pem"))
    );

    for line in [
        "email = \"müller@example.org\"",
        "uri = \"https://exämple.org/\"",
        "pkcs9_email = \"ü@example.org\"",
    ] {
        fs::write(&t, format!("cn = \"c3\"\n{line}\ntls_www_client\n")).expect("write");
        let o = issue("o3", &[]);
        assert_eq!(o.status.code(), Some(1), "{line}: {}", stderr(&o));
        assert!(stderr(&o).contains("is not ASCII, but a"), "{}", stderr(&o));
    }
}

// ---------------------------------------------------------------------------------------------
// Item 8 (part): `--dn NAME=#HEX` takes only one well-formed string value.
// ---------------------------------------------------------------------------------------------

#[test]
fn hex_dn_values_are_validated_and_read_back_as_gnutls_does() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let out = d.path().join("out");
    let issue = |dn: &str| {
        pkitool([
            "issue".as_ref(),
            "client".as_ref(),
            "--dir".as_ref(),
            ca.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--dn".as_ref(),
            std::ffi::OsStr::new(dn),
        ])
    };
    for bad in [
        "O=#300100,CN=c",
        "O=#0c0561,CN=c",
        "O=#0c021b5b,CN=c",
        "O=#1e03000041,CN=c",
    ] {
        let o = issue(bad);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("pkitool: error: --dn: "),
            "{}",
            stderr(&o)
        );
        assert!(!out.exists());
    }
    ok(&issue(
        "O=#1e16004500780061006d0070006c00650020004f00720067,CN=c1",
    ));
    let ours = stdout(&pkitool([
        "dn".as_ref(),
        out.join("clientcert.pem").as_os_str(),
    ]));
    assert_eq!(ours.trim(), "O=Example Org,CN=c1");
    if crate::util::have_peer("virt-pki-query-dn") {
        let o = Command::new("virt-pki-query-dn")
            .arg(out.join("clientcert.pem"))
            .output()
            .expect("virt-pki-query-dn");
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), ours.trim());
    }
}

// ---------------------------------------------------------------------------------------------
// Item 5: directories above the credentials.
// ---------------------------------------------------------------------------------------------

#[test]
fn writable_directories_above_a_layout_are_errors_up_to_root() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let parent = d.path().join("parent");
    fs::create_dir(&parent).expect("mkdir");
    let pki = parent.join("pki");
    ok(&pkitool([
        "issue".as_ref(),
        "server".as_ref(),
        "--dir".as_ref(),
        ca.as_os_str(),
        "--cn".as_ref(),
        "host1.example.org".as_ref(),
        "--out".as_ref(),
        pki.as_os_str(),
    ]));
    let f17 = |extra: &[&std::ffi::OsStr]| -> (Option<i32>, Vec<String>) {
        let mut a: Vec<&std::ffi::OsStr> = vec![
            "validate".as_ref(),
            pki.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ];
        a.extend_from_slice(extra);
        let o = pkitool(&a);
        let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
        let paths = json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["code"] == "PKI-F17")
            .map(|f| f["path"].as_str().unwrap_or_default().to_string())
            .collect();
        (o.status.code(), paths)
    };
    assert_eq!(f17(&[]).1, Vec::<String>::new());
    // A 0777 directory above the layout: an error naming it.
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o777)).expect("chmod");
    let (code, paths) = f17(&[]);
    assert_eq!(code, Some(1));
    assert_eq!(paths, [parent.display().to_string()]);
    // Above the holding directory the sticky bit protects entries owned by root or the caller.
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o1777)).expect("chmod");
    assert_eq!(f17(&[]).1, Vec::<String>::new());
    // The holding directory itself gets no sticky exemption.
    fs::set_permissions(&pki, fs::Permissions::from_mode(0o1777)).expect("chmod");
    assert_eq!(f17(&[]).1, [pki.display().to_string()]);
    fs::set_permissions(&pki, fs::Permissions::from_mode(0o700)).expect("chmod");
    // Up to --root only: a writable directory above the root is not looked at, one below is.
    let root = parent.join("root");
    fs::create_dir_all(root.join("etc/pki/CA")).expect("mkdir");
    fs::copy(ca.join("cacert.pem"), root.join("etc/pki/CA/cacert.pem")).expect("cp");
    let system = |root: &Path| -> Vec<String> {
        let o = pkitool([
            "validate".as_ref(),
            "--root".as_ref(),
            root.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
        json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["code"] == "PKI-F17")
            .map(|f| f["path"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        system(&root),
        Vec::<String>::new(),
        "parent is above --root"
    );
    fs::set_permissions(root.join("etc"), fs::Permissions::from_mode(0o777)).expect("chmod");
    assert_eq!(system(&root), [root.join("etc").display().to_string()]);
}
