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
    // request takes the same --dn (the key stays on the host): the same refusal.
    let host = d.path().join("host");
    let o = pkitool([
        "request".as_ref(),
        "client".as_ref(),
        "--out".as_ref(),
        host.as_os_str(),
        "--dn".as_ref(),
        "O=#300100,CN=c".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("pkitool: error: --dn: "),
        "{}",
        stderr(&o)
    );
    assert!(!host.exists());
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

// ---------------------------------------------------------------------------------------------
// Item 8: DN decoding equal to GnuTLS's, value by value, judged by virt-pki-query-dn.
// ---------------------------------------------------------------------------------------------

/// A DER TLV (short and two-byte long lengths, enough for test names).
fn der_tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    match body.len() {
        n @ 0..=0x7f => v.push(n as u8),
        n @ 0x80..=0xff => v.extend([0x81, n as u8]),
        n => v.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(body);
    v
}

/// The values inside a constructed DER value (whole encodings).
fn der_children(der: &[u8]) -> Vec<Vec<u8>> {
    let header = |d: &[u8]| -> (usize, usize) {
        match d[1] {
            n @ 0..=0x7f => (2, n as usize),
            0x81 => (3, d[2] as usize),
            0x82 => (4, (d[2] as usize) << 8 | d[3] as usize),
            _ => panic!("length form"),
        }
    };
    let (h, n) = header(der);
    let mut body = &der[h..h + n];
    let mut out = Vec::new();
    while !body.is_empty() {
        let (h, n) = header(body);
        out.push(body[..h + n].to_vec());
        body = &body[h + n..];
    }
    out
}

fn der_oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().expect("arc")).collect();
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &a in &arcs[2..] {
        let mut enc = vec![(a & 0x7f) as u8];
        let mut a = a >> 7;
        while a > 0 {
            enc.push(0x80 | (a & 0x7f) as u8);
            a >>= 7;
        }
        enc.reverse();
        body.extend(enc);
    }
    der_tlv(0x06, &body)
}

fn hex_bytes(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex"))
        .collect()
}

/// An openssl CA (`ca.pem`, `ca.key`) and client certificate (`base.der`, key `client.key`)
/// in `dir`, whose subject [`crafted`] replaces.
fn openssl_ca_and_client(dir: &Path) {
    crate::util::sh(
        dir,
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
           -keyout ca.key -out ca.pem -subj '/CN=Crafting CA' \
           -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
         openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key \
           -out client.csr -subj '/CN=PLACEHOLDER' 2>/dev/null
         printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > ext.cnf
         openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 20 \
           -extfile ext.cnf -outform der -out base.der 2>/dev/null",
    );
}

/// `base.der` with its subject replaced by `name` (a DER Name), the TBS signed again by
/// `ca.key` with `openssl dgst`: a certificate no X.509 library re-encoded. Written as PEM to
/// `out`.
fn crafted(dir: &Path, name: &[u8], out: &Path) {
    let base = fs::read(dir.join("base.der")).expect("base.der");
    let top = der_children(&base);
    let mut tbs = der_children(&top[0]);
    tbs[5] = name.to_vec();
    let tbs = der_tlv(0x30, &tbs.concat());
    let tbs_path = dir.join("tbs.der");
    fs::write(&tbs_path, &tbs).expect("write");
    let o = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(dir.join("ca.key"))
        .arg(&tbs_path)
        .output()
        .expect("openssl dgst");
    assert!(o.status.success(), "{}", stderr(&o));
    let mut sig = vec![0u8];
    sig.extend(o.stdout);
    let mut body = tbs;
    body.extend_from_slice(&top[1]);
    body.extend(der_tlv(0x03, &sig));
    let cert = der_tlv(0x30, &body);
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    fs::write(
        out,
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        ),
    )
    .expect("write");
}

/// A DER Name from RDNs of (OID, value DER as hex).
fn name_der(rdns: &[&[(&str, &str)]]) -> Vec<u8> {
    let sets: Vec<Vec<u8>> = rdns
        .iter()
        .map(|rdn| {
            let atvs: Vec<u8> = rdn
                .iter()
                .flat_map(|(oid, v)| {
                    let mut a = der_oid(oid);
                    a.extend(hex_bytes(v));
                    der_tlv(0x30, &a)
                })
                .collect();
            der_tlv(0x31, &atvs)
        })
        .collect();
    der_tlv(0x30, &sets.concat())
}

/// GnuTLS's DN bytes as pkitool documents printing them: bytes that are not UTF-8 as `\xHH`.
fn invalid_utf8_as_escapes(mut bytes: &[u8]) -> String {
    let mut out = String::new();
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => return out + s,
            Err(e) => {
                let (good, bad) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).expect("valid prefix"));
                let n = e.error_len().unwrap_or(bad.len());
                for b in &bad[..n] {
                    out.push_str(&format!("\\x{b:02X}"));
                }
                bytes = &bad[n..];
            }
        }
    }
}

const CN: &str = "2.5.4.3";

/// Crafted subject values: (what, RDNs). Each goes through virt-pki-query-dn and pkitool dn.
/// RDNs of (OID, value DER as hex).
type Rdns = &'static [&'static [(&'static str, &'static str)]];

const CRAFTED_DNS: &[(&str, Rdns)] = &[
    ("odd-length BMPString", &[&[(CN, "1e03004100")]]),
    ("odd-length BMPString of 5", &[&[(CN, "1e050041004200")]]),
    ("one-byte BMPString", &[&[(CN, "1e0141")]]),
    ("BMPString ending in U+0000", &[&[(CN, "1e0400410000")]]),
    ("BMPString of U+0000 only", &[&[(CN, "1e020000")]]),
    ("BMPString starting with U+0000", &[&[(CN, "1e0400000041")]]),
    ("BMPString lone surrogate", &[&[(CN, "1e02d800")]]),
    ("invalid UTF-8", &[&[(CN, "0c02c328")]]),
    ("invalid UTF-8 (0xff)", &[&[(CN, "0c0361ff62")]]),
    ("overlong UTF-8 NUL", &[&[(CN, "0c02c080")]]),
    ("UTF8String with NUL", &[&[(CN, "0c03610062")]]),
    ("UniversalString", &[&[(CN, "1c0800000041000000e9")]]),
    ("odd UniversalString", &[&[(CN, "1c03000041")]]),
    ("T61String ASCII", &[&[(CN, "14026162")]]),
    ("T61String Latin-1", &[&[(CN, "140261e9")]]),
    ("T61String with ESC", &[&[(CN, "1403611b62")]]),
    ("T61String with NUL", &[&[(CN, "1403610062")]]),
    ("constructed UTF8String", &[&[(CN, "2c050c03616263")]]),
    ("application tag 12", &[&[(CN, "4c03616263")]]),
    ("context tag 12", &[&[(CN, "8c03616263")]]),
    ("high-tag-form UTF8String", &[&[(CN, "1f0c03616263")]]),
    ("non-minimal length", &[&[(CN, "0c8103616263")]]),
    ("empty value, non-minimal length", &[&[(CN, "0c8100")]]),
    ("IA5String CN", &[&[(CN, "1603616263")]]),
    ("OCTET STRING CN", &[&[(CN, "0403616263")]]),
    ("UTF8String C", &[&[("2.5.4.6", "0c024742")]]),
    ("constructed C", &[&[("2.5.4.6", "33021300")]]),
    ("empty C", &[&[("2.5.4.6", "1300")]]),
    (
        "Latin-1 UTF-8 in a PrintableString C",
        &[&[("2.5.4.6", "1302c3a9")]],
    ),
    ("empty DC", &[&[("0.9.2342.19200300.100.1.25", "1600")]]),
    ("unknown OID", &[&[("1.2.3.4", "0c03616263")]]),
    (
        "friendlyName",
        &[&[("1.2.840.113549.1.9.20", "1e0400410042")]],
    ),
    ("localKeyId", &[&[("1.2.840.113549.1.9.21", "0403616263")]]),
    ("XmppAddr", &[&[("1.3.6.1.5.5.7.8.5", "0c03616263")]]),
    (
        "challengePassword",
        &[&[("1.2.840.113549.1.9.7", "0c03616263")]],
    ),
    (
        "challengePassword BMP",
        &[&[("1.2.840.113549.1.9.7", "1e020041")]],
    ),
    ("RFC 4514 escapes", &[&[(CN, "0c0620232c2b3b20")]]),
    (
        "multi-valued RDNs",
        &[
            &[("2.5.4.6", "13024742"), ("2.5.4.10", "0c03612b62")],
            &[
                (CN, "0c0161"),
                ("0.9.2342.19200300.100.1.1", "0c0175"),
                ("1.2.3.4", "0c0178"),
            ],
        ],
    ),
    ("empty CN", &[&[("2.5.4.10", "0c014f")], &[(CN, "0c00")]]),
    ("empty BMPString CN", &[&[(CN, "1e00")]]),
    ("empty constructed CN", &[&[(CN, "2c00")]]),
    ("empty UID", &[&[("0.9.2342.19200300.100.1.1", "0c00")]]),
    ("empty RDN first", &[&[], &[(CN, "0c0161")]]),
    (
        "empty RDN in the middle",
        &[&[(CN, "0c0161")], &[], &[(CN, "0c0162")]],
    ),
    ("empty RDN last", &[&[(CN, "0c0161"), (CN, "0c0162")], &[]]),
    ("only empty RDNs", &[&[], &[]]),
    ("empty subject", &[]),
];

#[test]
fn crafted_dn_values_print_as_virt_pki_query_dn_prints_them() {
    if !crate::util::have_peer("openssl") || !crate::util::have_peer("virt-pki-query-dn") {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    openssl_ca_and_client(d.path());
    let (mut same, mut refused) = (0, 0);
    for (i, (what, rdns)) in CRAFTED_DNS.iter().enumerate() {
        let cert = d.path().join(format!("c{i}.pem"));
        crafted(d.path(), &name_der(rdns), &cert);
        let judge = Command::new("virt-pki-query-dn")
            .arg(&cert)
            .output()
            .expect("virt-pki-query-dn");
        let ours = pkitool(["dn".as_ref(), cert.as_os_str()]);
        if judge.status.success() {
            let want = invalid_utf8_as_escapes(&judge.stdout);
            assert_eq!(stdout(&ours), want, "{what}: {}", stderr(&ours));
            // The DN pkitool prints matches itself as a pattern, as libvirt's list would.
            let m = pkitool([
                "match-dn".as_ref(),
                std::ffi::OsStr::new(want.strip_suffix('\n').unwrap_or(&want)),
                cert.as_os_str(),
            ]);
            assert_eq!(m.status.code(), Some(0), "{what}: {}", stdout(&m));
            // Bytes that are not UTF-8: no libvirtd.conf line can spell them, so none is printed.
            if std::str::from_utf8(&judge.stdout).is_err() {
                let l = pkitool(["dn".as_ref(), "--libvirtd".as_ref(), cert.as_os_str()]);
                assert_eq!(l.status.code(), Some(1), "{what}: {}", stdout(&l));
                assert!(
                    stderr(&l).contains("the DN holds bytes that are not UTF-8"),
                    "{what}: {}",
                    stderr(&l)
                );
            }
            same += 1;
        } else {
            // GnuTLS loads the certificate but cannot print its DN (or aborts): pkitool
            // refuses it, quoting what GnuTLS says.
            let said = stderr(&judge);
            let quoted = [
                "ASN1 parser: Value is not valid.",
                "The requested data were not available.",
                "Assertion `dn.data != NULL' failed",
            ]
            .into_iter()
            .find(|m| said.contains(m))
            .unwrap_or_else(|| panic!("{what}: {said}"));
            assert_eq!(ours.status.code(), Some(1), "{what}: {}", stdout(&ours));
            let err = stderr(&ours);
            assert!(err.contains("GnuTLS cannot print the DN"), "{what}: {err}");
            if quoted.starts_with("Assertion") {
                assert!(err.contains("assertion `dn.data != NULL'"), "{what}: {err}");
            } else {
                assert!(err.contains(quoted), "{what}: {err}");
            }
            refused += 1;
        }
    }
    eprintln!("crafted DNs: {same} printed equal to virt-pki-query-dn, {refused} refused by both");
    assert_eq!(
        refused, 6,
        "four empty DirectoryStrings, only empty RDNs, an empty subject"
    );
    // validate reports the unprintable client certificate as unloadable, naming why.
    let pki = d.path().join("pki");
    fs::create_dir(&pki).expect("mkdir");
    fs::copy(d.path().join("ca.pem"), pki.join("cacert.pem")).expect("cp");
    fs::copy(d.path().join("client.key"), pki.join("clientkey.pem")).expect("cp");
    let empty_cn = CRAFTED_DNS
        .iter()
        .position(|(w, _)| *w == "empty CN")
        .expect("case");
    fs::copy(
        d.path().join(format!("c{empty_cn}.pem")),
        pki.join("clientcert.pem"),
    )
    .expect("cp");
    let o = pkitool([
        "validate".as_ref(),
        pki.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let hit = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("GnuTLS cannot print the DN"))
        })
        .unwrap_or_else(|| panic!("no load finding: {}", stdout(&o)));
    assert_eq!(hit["severity"], "error", "{hit}");
    assert!(
        hit["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("clientcert.pem")),
        "{hit}"
    );
    // ... and the error is true: libvirtd refuses that client, and admits one whose CN is not
    // empty (same CA, same key, same server).
    if !crate::peers::have_libvirt() {
        return;
    }
    let ls = d.path().join("ls");
    fs::create_dir(&ls).expect("mkdir");
    crate::util::sh(
        d.path(),
        "printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n' > sext
         openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ls/serverkey.pem -subj /CN=localhost -out s.csr 2>/dev/null
         openssl x509 -req -in s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 5 -extfile sext -out ls/servercert.pem 2>/dev/null
         cp ca.pem ls/cacert.pem",
    );
    let good = d.path().join("good");
    fs::create_dir(&good).expect("mkdir");
    fs::copy(pki.join("cacert.pem"), good.join("cacert.pem")).expect("cp");
    fs::copy(pki.join("clientkey.pem"), good.join("clientkey.pem")).expect("cp");
    crafted(
        d.path(),
        &name_der(&[&[("2.5.4.10", "0c014f")], &[(CN, "0c0163")]]),
        &good.join("clientcert.pem"),
    );
    let daemon =
        crate::peers::Libvirtd::start(&crate::peers::LibvirtdConf::pkipath(&ls)).expect("libvirtd");
    let r = daemon.virsh_hostname("localhost", &good);
    assert!(r.is_ok(), "{r:?}\n{}", daemon.log_errors());
    let r = daemon.virsh_hostname("localhost", &pki);
    assert!(
        r.is_err(),
        "libvirtd admitted a client whose DN GnuTLS cannot print"
    );
    // An empty subject: loadable, but libvirtd cannot read the DN either; validate says so.
    let empty = d.path().join("empty");
    fs::create_dir(&empty).expect("mkdir");
    fs::copy(pki.join("cacert.pem"), empty.join("cacert.pem")).expect("cp");
    fs::copy(pki.join("clientkey.pem"), empty.join("clientkey.pem")).expect("cp");
    crafted(d.path(), &name_der(&[]), &empty.join("clientcert.pem"));
    let r = daemon.virsh_hostname("localhost", &empty);
    assert!(
        r.is_err(),
        "libvirtd admitted a client with an empty subject"
    );
    assert!(
        daemon
            .log()
            .contains("distinguished name: The requested data were not available."),
        "{}",
        daemon.log_errors()
    );
    let o = pkitool([
        "validate".as_ref(),
        empty.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let d04 = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "PKI-D04")
        .unwrap_or_else(|| panic!("no PKI-D04: {}", stdout(&o)))
        .clone();
    assert_eq!(d04["severity"], "error", "{d04}");
    assert!(
        daemon
            .log()
            .contains("distinguished name: ASN1 parser: Value is not valid."),
        "{}",
        daemon.log_errors()
    );
}

// ---------------------------------------------------------------------------------------------
// Item 14 (rest): fixed serials the ledger has seen, IA5 controls, pathLen 0 by default.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_fixed_serial_the_ledger_records_is_refused_in_issue_sign_and_init_ca_parent() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    ok(&pkitool([
        "init-ca".as_ref(),
        "--dir".as_ref(),
        ca.as_os_str(),
        "--cn".as_ref(),
        "Serial CA".as_ref(),
        "--path-len".as_ref(),
        "1".as_ref(),
    ]));
    let ledger = ca.join("pkitool-ledger.jsonl");
    let t = d.path().join("fixed.tmpl");
    fs::write(&t, "cn = \"c1\"\nserial = 0x4242\ntls_www_client\n").expect("write");
    let issue = |out: &str| {
        pkitool([
            "issue".as_ref(),
            "client".as_ref(),
            "--dir".as_ref(),
            ca.as_os_str(),
            "--out".as_ref(),
            d.path().join(out).as_os_str(),
            "--template".as_ref(),
            t.as_os_str(),
        ])
    };
    ok(&issue("o1"));
    assert!(ledger.exists(), "the ledger is {}", ledger.display());
    let refused = |o: &std::process::Output, what: &str| {
        assert_eq!(
            o.status.code(),
            Some(1),
            "{what}: {}{}",
            stdout(o),
            stderr(o)
        );
        assert!(
            stderr(o).contains(&format!(
                "serial 4242 is already recorded in {} (issued to CN=c1)",
                ledger.display()
            )),
            "{what}: {}",
            stderr(o)
        );
    };
    let o = issue("o2");
    refused(&o, "issue");
    assert!(!d.path().join("o2").exists(), "nothing written");
    // openssl's own reading of the first certificate's serial.
    if crate::util::have_peer("openssl") {
        let o = Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(d.path().join("o1/clientcert.pem"))
            .output()
            .expect("openssl");
        assert_eq!(stdout(&o).trim(), "serial=4242");
    }
    // sign: a request from the host, signed with the same fixed serial.
    let host = d.path().join("host");
    ok(&pkitool([
        "request".as_ref(),
        "client".as_ref(),
        "--out".as_ref(),
        host.as_os_str(),
        "--cn".as_ref(),
        "c2".as_ref(),
    ]));
    let csr = fs::read_dir(&host)
        .expect("ls")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".csr") || p.to_string_lossy().ends_with("req.pem"))
        .unwrap_or_else(|| panic!("no request in {}", host.display()));
    let o = pkitool([
        "sign".as_ref(),
        "client".as_ref(),
        csr.as_os_str(),
        "--dir".as_ref(),
        ca.as_os_str(),
        "--out".as_ref(),
        d.path().join("signed.pem").as_os_str(),
        "--template".as_ref(),
        t.as_os_str(),
    ]);
    refused(&o, "sign");
    assert!(!d.path().join("signed.pem").exists());
    // init-ca --parent: the intermediate's serial is recorded in the parent's ledger.
    let it = d.path().join("inter.tmpl");
    fs::write(
        &it,
        "cn = \"Inter\"\nserial = 0x4242\nca\ncert_signing_key\n",
    )
    .expect("write");
    let o = pkitool([
        "init-ca".as_ref(),
        "--dir".as_ref(),
        d.path().join("inter").as_os_str(),
        "--parent".as_ref(),
        ca.as_os_str(),
        "--template".as_ref(),
        it.as_os_str(),
    ]);
    refused(&o, "init-ca --parent");
    assert!(!d.path().join("inter/cacert.pem").exists());
    // A serial nobody has is still accepted (with the fixed-serial warning).
    fs::write(&t, "cn = \"c3\"\nserial = 0x4243\ntls_www_client\n").expect("write");
    let text = ok(&issue("o3"));
    assert!(text.contains("a fixed serial"), "{text}");
}

#[test]
fn ia5_template_values_with_controls_are_refused_naming_file_and_line() {
    let d = tempfile::tempdir().expect("tempdir");
    let ca = d.path().join("ca");
    make_ca(&ca);
    let t = d.path().join("c.tmpl");
    for (line, what) in [
        ("email = \"a\u{1}b@example.org\"", "email"),
        ("uri = \"https://example.org/\u{7f}\"", "uri"),
        ("email = \"a\u{0}@example.org\"", "email"),
    ] {
        fs::write(&t, format!("cn = \"c\"\n{line}\ntls_www_client\n")).expect("write");
        let o = pkitool([
            "issue".as_ref(),
            "client".as_ref(),
            "--dir".as_ref(),
            ca.as_os_str(),
            "--out".as_ref(),
            d.path().join("o").as_os_str(),
            "--template".as_ref(),
            t.as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with(&format!("pkitool: error: {}:2:", t.display())),
            "{what}: {}",
            stderr(&o)
        );
        assert!(!d.path().join("o").exists());
    }
}

#[test]
fn new_cas_have_path_len_zero_and_only_path_len_one_roots_sign_intermediates() {
    if !crate::util::have_peer("openssl") || !crate::util::have_peer("certtool") {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path();
    let bc = |cert: &Path| {
        let o = Command::new("openssl")
            .args(["x509", "-noout", "-ext", "basicConstraints", "-in"])
            .arg(cert)
            .output()
            .expect("openssl");
        stdout(&o)
    };
    let init = |dir: &str, extra: &[&str]| {
        let mut a: Vec<std::ffi::OsString> = vec![
            "init-ca".into(),
            "--dir".into(),
            p.join(dir).into(),
            "--cn".into(),
            dir.into(),
        ];
        a.extend(extra.iter().map(|s| s.into()));
        pkitool(a)
    };
    ok(&init("root0", &[]));
    assert!(bc(&p.join("root0/cacert.pem")).contains("CA:TRUE, pathlen:0"));
    // A pathLen-0 root cannot be a parent: refused, naming the way out.
    let o = init(
        "inter0",
        &["--parent", p.join("root0").to_str().expect("utf-8")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("make the root that signs intermediates with `pkitool init-ca --path-len 1`"),
        "{}",
        stderr(&o)
    );
    assert!(!p.join("inter0").exists());
    // --path-len conflicts with --parent unless 0.
    let o = init(
        "inter0",
        &[
            "--parent",
            p.join("root0").to_str().expect("utf-8"),
            "--path-len",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--path-len 2 conflicts with --parent"),
        "{}",
        stderr(&o)
    );
    // A template's path_len still counts; -1 is certtool's "no limit".
    let t = p.join("ca.tmpl");
    fs::write(&t, "cn = \"T\"\nca\ncert_signing_key\npath_len = -1\n").expect("write");
    ok(&init("rootT", &["--template", t.to_str().expect("utf-8")]));
    let text = bc(&p.join("rootT/cacert.pem"));
    assert!(
        text.contains("CA:TRUE") && !text.contains("pathlen"),
        "{text}"
    );

    // The supported way: a --path-len 1 root, an intermediate, a leaf under it.
    ok(&init("root1", &["--path-len", "1"]));
    assert!(bc(&p.join("root1/cacert.pem")).contains("CA:TRUE, pathlen:1"));
    ok(&init(
        "inter1",
        &["--parent", p.join("root1").to_str().expect("utf-8")],
    ));
    assert!(bc(&p.join("inter1/cacert.pem")).contains("CA:TRUE, pathlen:0"));
    ok(&pkitool([
        "issue".as_ref(),
        "client".as_ref(),
        "--dir".as_ref(),
        p.join("inter1").as_os_str(),
        "--out".as_ref(),
        p.join("leaf1").as_os_str(),
        "--cn".as_ref(),
        "leaf1".as_ref(),
    ]));
    // inter1/cacert.pem holds the intermediate then the root.
    crate::util::sh(
        p,
        "openssl x509 -in inter1/cacert.pem -out inter1-only.pem
         cat leaf1/clientcert.pem inter1-only.pem > chain1.pem",
    );
    let v = Command::new("openssl")
        .args(["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile"])
        .arg(p.join("root1/cacert.pem"))
        .arg("-untrusted")
        .arg(p.join("inter1-only.pem"))
        .arg(p.join("leaf1/clientcert.pem"))
        .output()
        .expect("openssl");
    assert!(stdout(&v).contains(": OK"), "{}{}", stdout(&v), stderr(&v));
    crate::util::verify_certtool(
        &p.join("root1/cacert.pem"),
        &p.join("chain1.pem"),
        "1.3.6.1.5.5.7.3.2",
        None,
    );

    // Negative control: an intermediate signed by the pathLen-0 root anyway (by openssl), and
    // a leaf under it: both judges refuse the chain.
    crate::util::sh(
        p,
        "printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > iext
         printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > lext
         openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ik.pem -subj /CN=Inter0 -out i.csr 2>/dev/null
         openssl x509 -req -in i.csr -CA root0/cacert.pem -CAkey root0/cakey.pem -CAcreateserial -days 10 -extfile iext -out inter0.pem 2>/dev/null
         openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout lk.pem -subj /CN=leaf0 -out l.csr 2>/dev/null
         openssl x509 -req -in l.csr -CA inter0.pem -CAkey ik.pem -CAcreateserial -days 5 -extfile lext -out leaf0.pem 2>/dev/null
         cat leaf0.pem inter0.pem > chain0.pem",
    );
    let v = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(p.join("root0/cacert.pem"))
        .arg("-untrusted")
        .arg(p.join("inter0.pem"))
        .arg(p.join("leaf0.pem"))
        .output()
        .expect("openssl");
    let text = format!("{}{}", stdout(&v), stderr(&v));
    assert!(!v.status.success(), "{text}");
    assert!(text.contains("path length constraint exceeded"), "{text}");
    let v = Command::new("certtool")
        .args(["--verify", "--load-ca-certificate"])
        .arg(p.join("root0/cacert.pem"))
        .arg("--infile")
        .arg(p.join("chain0.pem"))
        .output()
        .expect("certtool");
    let text = format!("{}{}", stdout(&v), stderr(&v));
    assert!(!v.status.success(), "{text}");
    assert!(
        text.contains("The certificate chain violates the signer's constraints."),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 4 (rest): allow-list patterns whose `*` swallows an escaped separator, judged by libvirtd.
// ---------------------------------------------------------------------------------------------

/// A GnuTLS-order DN with only `\,` escapes as an openssl `-subj` (one attribute per RDN).
fn openssl_subj(dn: &str) -> String {
    let mut out = String::from("/");
    let mut chars = dn.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().expect("escaped char")),
            ',' => out.push('/'),
            c => out.push(c),
        }
    }
    out
}

#[test]
fn patterns_whose_star_swallows_an_escaped_separator_are_flagged_and_libvirtd_admits_the_forgery() {
    use crate::peers::{Libvirtd, LibvirtdConf};
    if !crate::peers::have_libvirt()
        || !crate::util::have_peer("openssl")
        || !crate::util::have_peer("virt-pki-query-dn")
    {
        return;
    }
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    ok(&crate::util::pkitool_in(
        d,
        ["init-ca", "--cn", "Swallow CA"],
    ));
    ok(&crate::util::pkitool_in(
        d,
        ["issue", "server", "--cn", "localhost", "--out", "ls"],
    ));
    // A client the CA signs, made by openssl from a DN; its directory is a virsh pkipath.
    let client = |name: &str, dn: &str| -> PathBuf {
        let dir = d.join(name);
        fs::create_dir(&dir).expect("mkdir");
        fs::copy(d.join("cacert.pem"), dir.join("cacert.pem")).expect("cp");
        let o = Command::new("sh")
            .current_dir(&dir)
            .arg("-ec")
            .arg(
                "printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > ext
                 openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout clientkey.pem -subj \"$0\" -out c.csr 2>/dev/null
                 openssl x509 -req -in c.csr -CA ../cacert.pem -CAkey ../cakey.pem -CAcreateserial -days 5 -extfile ext -out clientcert.pem 2>/dev/null",
            )
            .arg(openssl_subj(dn))
            .output()
            .expect("sh");
        assert!(o.status.success(), "{}", stderr(&o));
        let q = Command::new("virt-pki-query-dn")
            .arg(dir.join("clientcert.pem"))
            .output()
            .expect("virt-pki-query-dn");
        assert_eq!(
            stdout(&q).trim_end(),
            dn,
            "GnuTLS's reading of the forged client"
        );
        dir
    };
    let control = client("honest", "C=GB,O=Example,CN=mallory");
    for (i, pattern) in ["*,CN=admin", "C=GB,O=Example,CN=*"]
        .into_iter()
        .enumerate()
    {
        // validate --allowed-dn names the DN the pattern admits.
        let o = pkitool([
            "validate".as_ref(),
            d.join("ls").as_os_str(),
            "--allowed-dn".as_ref(),
            pattern.as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
        let f = json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["code"] == "PKI-D03")
            .unwrap_or_else(|| panic!("{pattern}: no PKI-D03 in {}", stdout(&o)))
            .clone();
        assert_eq!(f["severity"], "warning", "{f}");
        let msg = f["message"].as_str().expect("message");
        let forged = msg
            .split(" admits \"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_else(|| panic!("{msg}"))
            .to_string();
        assert!(forged.contains("mallory\\,CN=admin"), "{msg}");
        // match-dn says the same.
        let forged_dir = client(&format!("forged{i}"), &forged);
        let m = pkitool([
            "match-dn".as_ref(),
            pattern.as_ref(),
            forged_dir.join("clientcert.pem").as_os_str(),
        ]);
        assert_eq!(m.status.code(), Some(0), "{}", stdout(&m));
        assert!(
            stdout(&m).contains(&format!(
                "warning: PKI-D03 the pattern's `*` swallows an escaped separator: it also admits \"{forged}\""
            )),
            "{}",
            stdout(&m)
        );
        // libvirtd: the forged client is admitted by the pattern, so the warning is true.
        let daemon = Libvirtd::start(&LibvirtdConf::pkipath(&d.join("ls")).allowed_dn([pattern]))
            .expect("libvirtd");
        let r = daemon.virsh_hostname("localhost", &forged_dir);
        assert!(
            r.is_ok(),
            "[{pattern}] refused {forged}: {r:?}\n{}",
            daemon.log_errors()
        );
        if pattern == "*,CN=admin" {
            // Negative control: an honest client outside the pattern is refused.
            let r = daemon.virsh_hostname("localhost", &control);
            assert!(r.is_err(), "[{pattern}] admitted the control");
            assert!(
                daemon
                    .log()
                    .contains("is not on the list of allowed clients"),
                "{}",
                daemon.log_errors()
            );
        }
    }
    // An exact DN gets no warning.
    let m = pkitool([
        "match-dn".as_ref(),
        "C=GB,O=Example,CN=mallory".as_ref(),
        control.join("clientcert.pem").as_os_str(),
    ]);
    assert_eq!(m.status.code(), Some(0));
    assert!(!stdout(&m).contains("PKI-D03"), "{}", stdout(&m));
}
