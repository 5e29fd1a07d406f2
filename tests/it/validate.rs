//! `pkitool validate` against the broken-PKI corpus (tests/fixtures/mkbroken.sh, made with
//! certtool and openssl), plus the JSON contract, exit statuses and usage errors.

use std::collections::BTreeSet;
use std::path::Path;

use crate::util::{self, pkitool, status, stdout};

pub(crate) fn corpus() -> Option<tempfile::TempDir> {
    if !util::have_peer("certtool") || !util::have_peer("openssl") {
        return None;
    }
    let dir = util::tmpdir();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mkbroken.sh");
    util::sh(
        dir.path(),
        &format!("sh {} {}", script.display(), dir.path().join("c").display()),
    );
    Some(dir)
}

fn case_args(case: &Path) -> Vec<String> {
    let mut args = vec!["validate".to_string(), "--format".into(), "json".into()];
    match std::fs::read_to_string(case.join("args")) {
        Ok(a) => args.extend(
            a.lines()
                .map(|l| l.replace("@DIR@", &case.display().to_string())),
        ),
        Err(_) => args.push(case.display().to_string()),
    }
    args
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(o), util::stderr(o)))
}

#[test]
fn corpus_cases_give_their_expected_findings_and_no_false_alarms() {
    let Some(dir) = corpus() else { return };
    let root = dir.path().join("c");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("expected").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let expected: BTreeSet<String> = std::fs::read_to_string(case.join("expected"))
            .unwrap()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        let o = pkitool(case_args(case));
        let doc = json(&o);
        let findings = doc["findings"].as_array().unwrap();
        let codes: BTreeSet<String> = findings
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect();
        let errors: BTreeSet<String> = findings
            .iter()
            .filter(|f| f["severity"] == "error")
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect();
        let warnings = findings
            .iter()
            .filter(|f| f["severity"] == "warning")
            .count();
        let code = o.status.code();
        if name.starts_with("good-") {
            if !errors.is_empty() || warnings > 0 || code != Some(0) {
                failures.push(format!(
                    "{name}: expected a clean bill, got {codes:?} (exit {code:?})"
                ));
            }
            continue;
        }
        let missing: Vec<_> = expected.difference(&codes).collect();
        let unexpected: Vec<_> = errors.difference(&expected).collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            failures.push(format!(
                "{name}: missing {missing:?}, unexpected errors {unexpected:?}"
            ));
        }
        let want = if errors.is_empty() { 0 } else { 1 };
        if code != Some(want) {
            failures.push(format!("{name}: exit {code:?}, expected {want}"));
        }
        // Every finding is complete.
        for f in findings {
            for k in ["code", "severity", "class", "message", "why", "fix"] {
                if f[k].as_str().is_none_or(str::is_empty) {
                    failures.push(format!("{name}: finding without {k}: {f}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cross_checked_with_openssl_and_certtool() {
    // The verdicts that the reference tools can give must agree with theirs.
    let Some(dir) = corpus() else { return };
    let root = dir.path().join("c");
    for (case, verifies) in [
        ("good-certtool", true),
        ("good-intermediate-in-ca", true),
        ("wrong-ca", false),
        ("intermediate-in-leaf-file", false),
        ("expired-leaf", false),
    ] {
        let c = root.join(case);
        let o = util::run(
            "certtool",
            [
                "--verify",
                "--load-ca-certificate",
                c.join("cacert.pem").to_str().unwrap(),
                "--infile",
                c.join("servercert.pem").to_str().unwrap(),
            ],
        );
        // certtool --verify checks the chain in the file: for the leaf-file-chain case it
        // trusts the chain but the leaf alone fails; compare with the first certificate only.
        if case == "intermediate-in-leaf-file" {
            util::sh(
                &c,
                "sed -n '1,/END CERTIFICATE/p' servercert.pem > /tmp/leafonly.$$.pem; ! openssl verify -CAfile cacert.pem /tmp/leafonly.$$.pem; rm -f /tmp/leafonly.$$.pem",
            );
        } else {
            assert_eq!(
                o.status.success(),
                verifies,
                "certtool on {case}: {}",
                stdout(&o)
            );
        }
        let p = pkitool(["validate", c.to_str().unwrap()]);
        status(&p, if verifies { 0 } else { 1 });
    }
}

#[test]
fn json_contract_and_strict() {
    let Some(dir) = corpus() else { return };
    let root = dir.path().join("c");
    let o = pkitool([
        "validate",
        "--format",
        "json",
        root.join("expiring-soon").to_str().unwrap(),
    ]);
    status(&o, 0);
    let d = json(&o);
    assert_eq!(d["version"], 1);
    assert!(d["tool"].as_str().unwrap().starts_with("pkitool "));
    assert!(d["evaluated_at"].as_str().unwrap().ends_with('Z'));
    let keys: BTreeSet<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    let want = [
        "version",
        "tool",
        "evaluated_at",
        "layouts",
        "summary",
        "findings",
    ];
    assert_eq!(keys, want.into_iter().collect());
    // ... and written in that order.
    let raw = stdout(&o);
    let pos: Vec<usize> = want
        .iter()
        .map(|k| raw.find(&format!("\"{k}\"")).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{raw}");
    assert_eq!(d["summary"]["warnings"], 1);
    assert_eq!(d["summary"]["errors"], 0);
    assert_eq!(d["summary"]["files"], 5);
    assert_eq!(d["summary"]["certificates"], 3);
    assert_eq!(d["layouts"][0]["kind"], "libvirt-pkipath");
    let f = &d["findings"][0];
    let fkeys: BTreeSet<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
    let fwant = [
        "code", "severity", "class", "path", "role", "subject", "message", "why", "fix",
    ];
    assert_eq!(fkeys, fwant.into_iter().collect());
    assert_eq!(f["code"], "PKI-T05");
    assert_eq!(f["class"], "expiring_soon");
    assert_eq!(f["role"], "server");
    assert_eq!(f["subject"], "O=Example Org,CN=vm");
    // --strict makes the warning fail; --warn-within 5 makes it go away.
    status(
        &pkitool([
            "validate",
            "--strict",
            root.join("expiring-soon").to_str().unwrap(),
        ]),
        1,
    );
    let o = pkitool([
        "validate",
        "--warn-within",
        "5",
        "--strict",
        root.join("expiring-soon").to_str().unwrap(),
    ]);
    status(&o, 0);
    // --at moves the clock: the good layout has expired by 2100, and was not valid in 2000.
    let good = root.join("good-certtool");
    let o = pkitool([
        "validate",
        "--format",
        "json",
        "--at",
        "2100-01-01",
        good.to_str().unwrap(),
    ]);
    status(&o, 1);
    let codes: BTreeSet<String> = json(&o)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    assert!(
        codes.contains("PKI-T01") && codes.contains("PKI-T03"),
        "{codes:?}"
    );
    let o = pkitool([
        "validate",
        "--at",
        "2000-01-01T00:00:00Z",
        good.to_str().unwrap(),
    ]);
    status(&o, 1);
    assert!(stdout(&o).contains("PKI-T02"));
}

#[test]
fn text_report_is_grouped_and_summarised() {
    let Some(dir) = corpus() else { return };
    let root = dir.path().join("c");
    let o = pkitool([
        "validate",
        root.join("good-certtool").to_str().unwrap(),
        root.join("good-openssl").to_str().unwrap(),
    ]);
    let out = util::ok(&o);
    assert!(out.contains("libvirt pkipath directory"), "{out}");
    assert!(out.contains("QEMU directory"), "{out}");
    assert!(out.contains("summary: 0 errors, 0 warnings"), "{out}");
    assert!(
        out.lines().count() < 10,
        "a correct setup fits on one screen:\n{out}"
    );
    assert!(!out.contains('\x1b'), "no colour when not a terminal");
    let o = pkitool(["validate", root.join("key-mismatch").to_str().unwrap()]);
    status(&o, 1);
    let out = stdout(&o);
    assert!(
        out.contains("PKI-P01") && out.contains("do not match"),
        "{out}"
    );
    assert!(out.contains("summary: 1 error"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let d = util::tmpdir();
    status(
        &pkitool(["validate", d.path().join("nope").to_str().unwrap()]),
        2,
    );
    // A directory without a layout is fleet mode, which needs --ca.
    std::fs::write(d.path().join("x.pem"), "x").unwrap();
    let o = pkitool(["validate", d.path().to_str().unwrap()]);
    status(&o, 2);
    assert!(util::stderr(&o).contains("--ca"));
    status(
        &pkitool(["validate", "--at", "yesterday", d.path().to_str().unwrap()]),
        2,
    );
}

#[test]
fn root_prefix_checks_a_staged_system_tree() {
    let Some(dir) = corpus() else { return };
    let good = dir.path().join("c/good-certtool");
    let root = util::tmpdir();
    let r = root.path();
    util::sh(
        r,
        &format!(
            "mkdir -p etc/pki/CA etc/pki/libvirt/private etc/pki/qemu
             cp {g}/cacert.pem etc/pki/CA/; cp {g}/servercert.pem {g}/clientcert.pem etc/pki/libvirt/
             cp -p {g}/serverkey.pem {g}/clientkey.pem etc/pki/libvirt/private/
             cp {g}/cacert.pem etc/pki/qemu/ca-cert.pem; cp {g}/servercert.pem etc/pki/qemu/server-cert.pem
             cp -p {g}/serverkey.pem etc/pki/qemu/server-key.pem",
            g = good.display()
        ),
    );
    let o = pkitool([
        "validate",
        "--format",
        "json",
        "--root",
        r.to_str().unwrap(),
    ]);
    let d = json(&o);
    status(&o, 0);
    let kinds: Vec<&str> = d["layouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["libvirt-system", "qemu"]);
    assert_eq!(d["summary"]["files"], 8);
    // The same tree given as a PATH, and the /etc/pki/libvirt tree with its ../CA.
    status(&pkitool(["validate", r.to_str().unwrap()]), 0);
    let o = pkitool([
        "validate",
        "--format",
        "json",
        r.join("etc/pki/libvirt").to_str().unwrap(),
    ]);
    status(&o, 0);
    assert_eq!(json(&o)["summary"]["certificates"], 3);
    // A CA certificate unprivileged clients cannot read is a warning in the system tree.
    util::sh(r, "chmod 600 etc/pki/CA/cacert.pem");
    let o = pkitool(["validate", "--root", r.to_str().unwrap()]);
    status(&o, 0);
    assert!(stdout(&o).contains("PKI-F09"), "{}", stdout(&o));
    util::sh(r, "chmod 644 etc/pki/CA/cacert.pem");
    // A private key readable by others in the system tree is an error.
    util::sh(r, "chmod 644 etc/pki/libvirt/private/clientkey.pem");
    let o = pkitool(["validate", "--root", r.to_str().unwrap()]);
    status(&o, 1);
    assert!(stdout(&o).contains("PKI-F08"));
}

#[test]
fn user_layout_and_libvirtd_conf_allow_list() {
    let Some(dir) = corpus() else { return };
    let good = dir.path().join("c/good-certtool");
    let home = util::tmpdir();
    util::sh(
        home.path(),
        &format!(
            "mkdir -p .pki/libvirt && chmod 700 .pki/libvirt && cp -p {g}/cacert.pem {g}/clientcert.pem {g}/clientkey.pem .pki/libvirt/",
            g = good.display()
        ),
    );
    let o = std::process::Command::new(util::PKITOOL)
        .args(["validate", "--user", "--format", "json"])
        .env("HOME", home.path())
        .output()
        .unwrap();
    status(&o, 0);
    let d = json(&o);
    assert_eq!(d["layouts"][0]["kind"], "libvirt-user");
    assert_eq!(d["summary"]["certificates"], 2);
    // The note that this machine has no server identity is the only finding.
    let codes: Vec<&str> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["PKI-S04"]);

    // libvirtd.conf: its tls_allowed_dn_list applies to the client certificates checked.
    let conf = home.path().join("libvirtd.conf");
    std::fs::write(
        &conf,
        format!(
            "key_file = \"{g}/serverkey.pem\"\ncert_file = \"{g}/servercert.pem\"\nca_file = \"{g}/cacert.pem\"\ntls_allowed_dn_list = [ \"C=FR,*\",\n  \"CN=client1,*\" ]\n",
            g = good.display()
        ),
    )
    .unwrap();
    let o = pkitool([
        "validate",
        "--format",
        "json",
        "--libvirtd-conf",
        conf.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    status(&o, 1);
    let d = json(&o);
    let d01: Vec<&serde_json::Value> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "PKI-D01")
        .collect();
    assert_eq!(d01.len(), 1, "{d}");
    assert_eq!(d01[0]["role"], "client");
    assert!(
        d01[0]["why"].as_str().unwrap().contains("Near miss"),
        "{}",
        d01[0]
    );
    // A syntax error in the file is a config finding naming the line.
    std::fs::write(&conf, "key_file = \"unterminated\n").unwrap();
    let o = pkitool(["validate", "--libvirtd-conf", conf.to_str().unwrap()]);
    status(&o, 1);
    assert!(stdout(&o).contains("PKI-S01") && stdout(&o).contains("line 1"));
}

/// The fix a finding prints is a command that works: re-issuing as told (from the CA's
/// directory) turns the failing layout into a clean one.
#[test]
fn printed_fix_commands_repair_the_layout() {
    let dir = util::tmpdir();
    let d = dir.path();
    let run = |args: &[&str]| util::pkitool_in(d, args);
    util::ok(&run(&["init-ca", "--cn", "Fix CA"]));
    let out = "deploy dir"; // a space, so the fix must quote it
    util::ok(&run(&[
        "issue", "server", "--out", out, "--cn", "vm1", "--san", "vm1", "--san", "10.0.0.1",
    ]));
    util::ok(&run(&[
        "issue",
        "client",
        "--out",
        out,
        "--dn",
        "C=GB,O=Example\\, Inc.,CN=c 1",
    ]));
    let check = |extra: &[&str]| {
        let mut args = vec![
            "validate",
            "--format",
            "json",
            out,
            "--hostname",
            "vm1.example.org",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let before = check(&[]);
    status(&before, 1);
    let report = json(&before);
    let fix = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "PKI-H01")
        .and_then(|f| f["fix"].as_str())
        .expect("a hostname finding with a fix")
        .to_string();
    // renew in place: the missing name added, subject, key, owner and mode kept.
    assert!(fix.starts_with("pkitool renew "), "{fix}");
    assert!(
        fix.contains("'deploy dir/")
            && fix.contains("--add-san vm1.example.org")
            && !fix.contains("--force"),
        "{fix}"
    );
    // Without --ca-dir the fix names the argument to fill in; with it, it runs verbatim.
    assert!(fix.contains("--dir CA_DIR "), "{fix}");
    let report = json(&check(&["--ca-dir", "."]));
    let fix = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "PKI-H01")
        .and_then(|f| f["fix"].as_str())
        .expect("a hostname finding with a fix")
        .to_string();
    assert!(fix.contains("--dir . "), "{fix}");
    let cmd = fix.replacen("pkitool", util::PKITOOL, 1);
    util::sh(d, &cmd);
    let after = check(&[]);
    status(&after, 0);
    assert_eq!(json(&after)["summary"]["errors"], 0);
}

/// The first word of a fix that is a command to run (anything else is an instruction).
fn is_command(fix: &str) -> bool {
    [
        "pkitool ", "chmod ", "chgrp ", "chown ", "mv ", "rm ", "openssl ", "(umask ",
    ]
    .iter()
    .any(|p| fix.starts_with(p))
}

/// Placeholders a reader must fill in: such a fix is not run verbatim.
fn has_placeholder(fix: &str) -> bool {
    fix.split(|c: char| c.is_whitespace() || c == '=' || c == ',')
        .map(|w| w.trim_matches('\''))
        .any(|w| matches!(w, "DIR" | "NAME" | "CA_DIR" | "HOST" | "FILE" | "PATH"))
}

#[test]
fn every_fix_the_corpus_produces_runs_and_removes_its_finding() {
    let Some(dir) = corpus() else { return };
    let root = dir.path().join("c");
    let ca_dir = root.join(".ca");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("expected").exists())
        .collect();
    cases.sort();
    let mut ran = 0;
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let work = util::tmpdir();
        let copy = work.path().join(&name);
        util::sh(
            work.path(),
            &format!(
                "cp -a {} {}",
                util::shell_word(case),
                util::shell_word(&copy)
            ),
        );
        let args = |extra: bool| {
            let mut a = case_args(&copy)
                .into_iter()
                .map(|s| s.replace(&case.display().to_string(), &copy.display().to_string()))
                .collect::<Vec<_>>();
            if extra {
                a.push("--ca-dir".into());
                a.push(ca_dir.display().to_string());
            }
            a
        };
        let before = json(&pkitool(args(true)));
        let todo: Vec<(String, String, String)> = before["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] != "note")
            .filter_map(|f| {
                let fix = f["fix"].as_str()?.to_string();
                (is_command(&fix) && !has_placeholder(&fix)).then(|| {
                    (
                        f["code"].as_str().unwrap_or("").to_string(),
                        f["path"].as_str().unwrap_or("").to_string(),
                        fix,
                    )
                })
            })
            .collect();
        for (code, path, fix) in &todo {
            // Each fix on its own fresh copy: a fix repairs its finding, whatever ran before.
            util::sh(
                work.path(),
                &format!(
                    "rm -rf {c} && cp -a {} {c}",
                    util::shell_word(case),
                    c = util::shell_word(&copy)
                ),
            );
            let cmd = match fix.strip_prefix("pkitool ") {
                Some(rest) => format!("{} {rest}", util::PKITOOL),
                None => fix.clone(),
            };
            let o = std::process::Command::new("sh")
                .args(["-c", &cmd])
                .current_dir(&copy)
                .output()
                .unwrap();
            ran += 1;
            if !o.status.success() {
                failures.push(format!(
                    "{name}: {code} fix failed: {fix}\n{}",
                    util::stderr(&o)
                ));
                continue;
            }
            let after = json(&pkitool(args(false)));
            let still = after["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == code.as_str() && f["path"] == path.as_str());
            if still {
                failures.push(format!("{name}: {code} on {path} remains after: {fix}"));
            }
        }
    }
    assert!(ran >= 10, "only {ran} fixes ran");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// issue --encrypt-key: the printed secret steps, run verbatim against real QEMU and libvirt

/// The indented command lines of `issue --encrypt-key`'s steps, in order: the secret file, the
/// QEMU arguments, the three libvirt commands, then the qemu.conf lines.
fn secret_steps(out: &str) -> (String, String, Vec<String>, Vec<String>) {
    let cmds: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("    ")).collect();
    let umask = cmds
        .iter()
        .find(|l| l.starts_with("(umask 077"))
        .expect(out);
    let objects = cmds.iter().find(|l| l.starts_with("--object ")).expect(out);
    let virsh: Vec<String> = cmds
        .iter()
        .filter(|l| l.starts_with("printf ") || l.starts_with("virsh "))
        .map(|l| l.to_string())
        .collect();
    let conf: Vec<String> = cmds
        .iter()
        .filter(|l| l.contains("_tls_x509_"))
        .map(|l| l.to_string())
        .collect();
    (umask.to_string(), objects.to_string(), virsh, conf)
}

/// Splits arguments as a real shell does.
fn shell_split(args: &str) -> Vec<String> {
    let o = util::sh(
        Path::new("/"),
        &format!("for a in {args}; do printf '%s\\0' \"$a\"; done"),
    );
    assert!(o.status.success(), "{}", util::stderr(&o));
    o.stdout
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn encrypt_peers() -> bool {
    let ok = crate::peers::have_qemu() && util::have_peer("setpriv");
    if !ok {
        assert!(!util::in_ci(), "CI: qemu-utils and util-linux are required");
        util::note_skip("issue --encrypt-key: qemu-nbd/qemu-img or setpriv missing");
    }
    ok && nix::unistd::geteuid().is_root()
}

#[test]
fn encrypted_qemu_keys_load_with_the_printed_secret_steps() {
    use std::os::unix::fs::{PermissionsExt, chown};
    if !encrypt_peers() {
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let t = util::tmpdir();
    let d = t.path();
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    status(
        &pkitool(["init-ca", "--dir", &p(&d.join("ca")), "--cn", "Secret CA"]),
        0,
    );
    let w = d.join("work");
    for dir in [w.clone(), w.join("srv"), w.join("cli")] {
        std::fs::create_dir(&dir).unwrap();
        chown(&dir, Some(nobody.uid.as_raw()), None).unwrap();
    }
    // The password file as people write it: with a newline, which QEMU would take as part of
    // the password if the steps copied the file as it is.
    let pw = w.join("key password");
    std::fs::write(&pw, "s3cret, pw\n").unwrap();
    // root:nogroup 0640: pkitool takes only its own user's password files; nobody reads it
    // through the group.
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o640)).unwrap();
    chown(&pw, None, Some(nobody.gid.as_raw())).unwrap();
    let issue = |kind: &str, out: &Path| {
        let o = pkitool([
            "issue",
            kind,
            "--dir",
            &p(&d.join("ca")),
            "--cn",
            "localhost",
            "--san",
            "127.0.0.1",
            "--out",
            &p(out),
            "--layout",
            "qemu",
            "--encrypt-key",
            "--key-password-file",
            &p(&pw),
        ]);
        status(&o, 0);
        stdout(&o)
    };
    let srv = issue("server", &w.join("srv"));
    let cli = issue("client", &w.join("cli"));
    let key = std::fs::read_to_string(w.join("srv/server-key.pem")).unwrap();
    assert!(
        key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{key}"
    );
    let (s_umask, s_objects, s_virsh, s_conf) = secret_steps(&srv);
    let (c_umask, c_objects, _, _) = secret_steps(&cli);

    // Without the secret QEMU refuses the key: the error validate reports.
    let e = crate::peers::QemuNbdServer::start_logged_with(&[
        "--object".into(),
        format!(
            "tls-creds-x509,id=tls0,dir={},endpoint=server",
            w.join("srv").display()
        ),
    ])
    .expect_err("qemu-nbd without passwordid");
    assert!(e.contains("Decryption has failed"), "{e}");

    // Step 1 as the printed command (as nobody: the libvirt part below runs unprivileged).
    for step in [&s_umask, &c_umask] {
        let o = std::process::Command::new("setpriv")
            .args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "sh",
                "-c",
                step,
            ])
            .current_dir("/")
            .output()
            .unwrap();
        assert!(o.status.success(), "{step}: {}", util::stderr(&o));
    }
    let secret = w.join("srv/server-key.pem.secret");
    assert_eq!(std::fs::read(&secret).unwrap(), b"s3cret, pw");
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Step 2: a real handshake, both keys encrypted, both ends with the printed arguments.
    let server = crate::peers::QemuNbdServer::start_logged_with(&shell_split(&s_objects))
        .expect("qemu-nbd loads the encrypted key with the printed secret");
    crate::peers::qemu_img_info_with(&shell_split(&c_objects), "127.0.0.1", server.port)
        .expect("qemu-img (encrypted client key) completes the handshake");
    drop(server);

    // Step 3: the virsh commands, verbatim, against a session libvirtd of nobody's.
    if !crate::peers::have_libvirt() {
        assert!(
            !util::in_ci(),
            "CI: libvirt-daemon and libvirt-clients are required"
        );
        util::note_skip("issue --encrypt-key: libvirtd/virsh missing, virsh steps not run");
        return;
    }
    let session = crate::peers::SessionVirsh::new().unwrap();
    for cmd in &s_virsh {
        let o = session.sh(&w, cmd);
        assert!(
            o.status.success(),
            "{cmd}: {}{}",
            stdout(&o),
            util::stderr(&o)
        );
    }
    let uuid = s_conf
        .iter()
        .find(|l| l.starts_with("default_tls_x509_secret_uuid"))
        .and_then(|l| l.split('"').nth(1))
        .expect("qemu.conf line")
        .to_string();
    assert_eq!(
        session.stored_value(&uuid).as_deref(),
        Some(&b"s3cret, pw"[..])
    );
    let o = session.sh(&w, "virsh secret-list");
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.contains(&uuid) && l.contains("tls")),
        "{}",
        stdout(&o)
    );
    drop(session);
    // The libvirt path names this directory as the default one.
    assert!(
        s_conf.contains(&format!(
            "default_tls_x509_cert_dir = \"{}\"",
            w.join("srv").display()
        )),
        "{s_conf:?}"
    );
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn validate_notes_an_encrypted_qemu_key_only_with_the_printed_qemu_conf_secret() {
    if !encrypt_peers() {
        return;
    }
    let t = util::tmpdir();
    let r = t.path();
    status(
        &pkitool(["init-ca", "--dir", &p(&r.join("ca")), "--cn", "Secret CA"]),
        0,
    );
    let pw = r.join("pw");
    std::fs::write(&pw, "another s3cret\n").unwrap();
    std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let o = util::sh(
        r,
        &format!(
            "printf 'another s3cret\\n' | {} issue server --dir {} --cn localhost --root {} --layout qemu --group root --encrypt-key --key-password-file -",
            util::PKITOOL,
            util::shell_word(&r.join("ca")),
            util::shell_word(r)
        ),
    );
    assert!(o.status.success(), "{}", util::stderr(&o));
    let out = stdout(&o);
    let (umask, objects, _, conf) = secret_steps(&out);
    assert_eq!(conf.len(), 1, "{out}");
    assert!(
        conf[0].starts_with("default_tls_x509_secret_uuid = \""),
        "{out}"
    );
    // The stdin form of step 1 reads the password again.
    assert!(umask.contains("head -n 1 |"), "{umask}");
    let o = util::sh(
        r,
        &format!(
            "printf 'another s3cret\\n' | sh -c {}",
            util::shell_word(Path::new(&umask))
        ),
    );
    assert!(o.status.success(), "{}", util::stderr(&o));
    let q = r.join("etc/pki/qemu");
    // The judge: QEMU without the secret, and with the printed one.
    let e = crate::peers::QemuNbdServer::start_logged_with(&[
        "--object".into(),
        format!("tls-creds-x509,id=tls0,dir={},endpoint=server", q.display()),
    ])
    .expect_err("no passwordid");
    assert!(e.contains("Decryption has failed"), "{e}");
    drop(
        crate::peers::QemuNbdServer::start_logged_with(&shell_split(&objects))
            .expect("loads with the printed secret"),
    );
    let codes = |v: &serde_json::Value, code: &str| -> Vec<serde_json::Value> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["code"] == code && f["path"].as_str().unwrap_or("").ends_with("server-key.pem")
            })
            .cloned()
            .collect()
    };
    let v = json(&pkitool(["validate", "--root", &p(r), "--format", "json"]));
    let p02 = codes(&v, "PKI-P02");
    assert_eq!(p02.len(), 1, "{v:#}");
    assert_eq!(p02[0]["severity"], "error");
    std::fs::create_dir_all(r.join("etc/libvirt")).unwrap();
    std::fs::write(r.join("etc/libvirt/qemu.conf"), format!("{}\n", conf[0])).unwrap();
    let v = json(&pkitool(["validate", "--root", &p(r), "--format", "json"]));
    assert!(codes(&v, "PKI-P02").is_empty(), "{v:#}");
    let q02 = codes(&v, "PKI-Q02");
    assert_eq!(q02.len(), 1, "{v:#}");
    assert_eq!(q02[0]["severity"], "note");
}

#[test]
fn encrypt_key_is_refused_where_libvirt_loads_the_key() {
    let t = util::tmpdir();
    let d = t.path();
    status(
        &pkitool(["init-ca", "--dir", &p(&d.join("ca")), "--cn", "Secret CA"]),
        0,
    );
    std::fs::write(d.join("pw"), "pw\n").unwrap();
    std::fs::set_permissions(
        d.join("pw"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let ca = p(&d.join("ca"));
    let pwf = p(&d.join("pw"));
    let root = p(&d.join("root"));
    let out = p(&d.join("flat"));
    for (args, flags) in [
        (
            vec!["--layout", "libvirt", "--root", &root],
            "--layout libvirt",
        ),
        (vec!["--out", &out], "--layout flat"),
    ] {
        let mut a = vec![
            "issue",
            "client",
            "--dir",
            &ca,
            "--cn",
            "c1",
            "--encrypt-key",
            "--key-password-file",
            &pwf,
        ];
        a.extend(args);
        let o = pkitool(&a);
        status(&o, 2);
        let e = util::stderr(&o);
        assert!(e.contains("--encrypt-key") && e.contains(flags), "{e}");
        assert!(
            e.contains("libvirtd and virsh cannot load an encrypted key"),
            "{e}"
        );
    }
    assert!(!d.join("root/etc").exists() && !d.join("flat").exists());
    // The judge: virsh with an encrypted clientkey.pem fails loading it, before connecting.
    if crate::peers::have_libvirt() {
        status(
            &pkitool(["issue", "client", "--dir", &ca, "--cn", "c1", "--out", &out]),
            0,
        );
        let k = d.join("flat/clientkey.pem");
        util::sh(
            d,
            &format!(
                "openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:pw -in {k} -out {k}.enc && mv {k}.enc {k}",
                k = util::shell_word(&k)
            ),
        );
        let e =
            crate::peers::virsh_hostname("127.0.0.1", crate::peers::free_port(), &d.join("flat"))
                .expect_err("virsh cannot load an encrypted key");
        assert!(
            e.contains("Unable to set x509 key and certificate")
                && e.contains("Decryption has failed"),
            "{e}"
        );
        std::fs::remove_dir_all(d.join("flat")).unwrap();
    } else {
        assert!(!util::in_ci(), "CI: libvirt-clients is required");
        util::note_skip("encrypt-key refusal: virsh missing");
    }
    // No password file and no terminal to ask on: exit 2 naming the flag, nothing written.
    let o = pkitool([
        "issue",
        "client",
        "--dir",
        &ca,
        "--cn",
        "c1",
        "--out",
        &out,
        "--layout",
        "qemu",
        "--encrypt-key",
    ]);
    status(&o, 2);
    assert!(
        util::stderr(&o).contains("--key-password-file is required"),
        "{}",
        util::stderr(&o)
    );
    assert!(!d.join("flat").exists());
    // The password flag without --encrypt-key: refused by name.
    let o = pkitool([
        "issue",
        "client",
        "--dir",
        &ca,
        "--cn",
        "c1",
        "--out",
        &out,
        "--layout",
        "qemu",
        "--key-password-file",
        &pwf,
    ]);
    status(&o, 2);
    assert!(
        util::stderr(&o).contains("--encrypt-key"),
        "{}",
        util::stderr(&o)
    );
}

/// The renew fixes that follow an instruction ("find the key ..., or make a new pair: pkitool
/// renew ... --rekey"; "wait until ..., or ...: pkitool renew ..."), run verbatim from the
/// `pkitool` on, judged by openssl.
#[test]
fn renew_fixes_after_an_instruction_run_and_repair() {
    use std::os::unix::fs::PermissionsExt;
    let Some(dir) = corpus() else { return };
    let root = dir.path().join("c");
    let ca_dir = root.join(".ca");
    for (case, code, cert, flag) in [
        ("key-mismatch", "PKI-P01", "servercert.pem", "--rekey"),
        ("not-yet-valid", "PKI-T02", "servercert.pem", ""),
    ] {
        let work = util::tmpdir();
        let copy = work.path().join(case);
        util::sh(
            work.path(),
            &format!(
                "cp -a {} {}",
                util::shell_word(&root.join(case)),
                util::shell_word(&copy)
            ),
        );
        let mut args = case_args(&copy);
        args.extend(["--ca-dir".to_string(), ca_dir.display().to_string()]);
        let v = json(&pkitool(&args));
        let fix = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .and_then(|f| f["fix"].as_str())
            .unwrap_or_else(|| panic!("{case}: no {code}: {v:#}"))
            .to_string();
        let cmd = &fix[fix.find("pkitool renew ").expect(&fix)..];
        assert!(cmd.contains(flag), "{fix}");
        let key = if case == "key-mismatch" {
            copy.join("private/serverkey.pem")
        } else {
            copy.join("serverkey.pem")
        };
        let key = if key.exists() {
            key
        } else {
            copy.join("serverkey.pem")
        };
        let mode_before = std::fs::metadata(&key).unwrap().permissions().mode() & 0o7777;
        let o = util::sh(work.path(), &cmd.replacen("pkitool", util::PKITOOL, 1));
        assert!(o.status.success(), "{cmd}: {}", util::stderr(&o));
        let after = json(&pkitool(&args));
        assert!(
            !after["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == code),
            "{case}: {code} remains after {cmd}: {after:#}"
        );
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o7777,
            mode_before,
            "{case}: the key's mode changed"
        );
        // The judges: openssl's public keys of the pair agree; the start date is past.
        let pubkey = |args: &[&str]| stdout(&util::run("openssl", args.iter().copied()));
        let c = copy.join(cert).display().to_string();
        let k = key.display().to_string();
        assert_eq!(
            pubkey(&["x509", "-noout", "-pubkey", "-in", &c]),
            pubkey(&["pkey", "-pubout", "-in", &k]),
            "{case}: key and certificate differ"
        );
        let o = util::run("openssl", ["x509", "-noout", "-checkend", "0", "-in", &c]);
        assert!(o.status.success(), "{case}: {}", stdout(&o));
        let o = util::run(
            "openssl",
            [
                "verify",
                "-CAfile",
                &ca_dir.join("cacert.pem").display().to_string(),
                &c,
            ],
        );
        assert!(
            o.status.success(),
            "{case}: {}{}",
            stdout(&o),
            util::stderr(&o)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// qemu.conf *_tls_x509_verify: client certificates required or not

#[test]
fn migrate_verify_decides_whether_the_client_certificate_is_required() {
    if !crate::peers::have_qemu() {
        assert!(!util::in_ci(), "CI: qemu-utils is required");
        util::note_skip("migrate verify: qemu-nbd/qemu-img missing");
        return;
    }
    let t = util::tmpdir();
    let r = t.path();
    let ca = r.join("ca");
    status(
        &pkitool(["init-ca", "--dir", &p(&ca), "--cn", "Verify CA"]),
        0,
    );
    let m = r.join("srv/migrate");
    status(
        &pkitool([
            "issue",
            "server",
            "--dir",
            &p(&ca),
            "--cn",
            "localhost",
            "--san",
            "127.0.0.1",
            "--out",
            &p(&m),
            "--layout",
            "qemu",
        ]),
        0,
    );
    // A client with the CA and no certificate.
    let anon = r.join("anon");
    std::fs::create_dir(&anon).unwrap();
    std::fs::copy(m.join("ca-cert.pem"), anon.join("ca-cert.pem")).unwrap();
    let server = |verify: &str| {
        crate::peers::QemuNbdServer::start_logged_with(&[
            "--object".into(),
            format!(
                "tls-creds-x509,id=tls0,dir={},endpoint=server,verify-peer={verify}",
                m.display()
            ),
        ])
        .expect("qemu-nbd starts")
    };
    // The judges: QEMU with verify-peer=yes refuses a client without a certificate, with
    // verify-peer=no it admits it.
    let s = server("yes");
    let e = crate::peers::qemu_img_info_tls(&anon, "127.0.0.1", s.port).expect_err("refused");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        s.log().contains("Verify failed: No certificate was found."),
        "{e}\n{}",
        s.log()
    );
    drop(s);
    let s = server("no");
    crate::peers::qemu_img_info_tls(&anon, "127.0.0.1", s.port)
        .expect("verify-peer=no admits a client without a certificate");
    drop(s);

    std::fs::create_dir_all(r.join("etc/libvirt")).unwrap();
    let conf = |extra: &str| {
        std::fs::write(
            r.join("etc/libvirt/qemu.conf"),
            format!("migrate_tls_x509_cert_dir = \"/srv/migrate\"\n{extra}"),
        )
        .unwrap()
    };
    let client_cert = m.join("client-cert.pem").display().to_string();
    let validate = || {
        let o = pkitool([
            "validate",
            "--root",
            &p(r),
            "--ca-dir",
            &p(&ca),
            "--format",
            "json",
        ]);
        json(&o)
    };
    let of = |v: &serde_json::Value, code: &str| -> Vec<serde_json::Value> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code)
            .cloned()
            .collect()
    };
    // Verify off: no client certificate needed, and a warning that anyone can connect.
    conf("migrate_tls_x509_verify = 0\n");
    let v = validate();
    assert!(of(&v, "PKI-Q03").is_empty(), "{v:#}");
    let q04 = of(&v, "PKI-Q04");
    assert_eq!(q04.len(), 1, "{v:#}");
    assert_eq!(q04[0]["severity"], "warning");
    assert!(
        q04[0]["message"]
            .as_str()
            .unwrap()
            .contains("migrate_tls_x509_verify = 0")
    );
    // Verify on (libvirt's default for migration): the missing client certificate is an error.
    conf("");
    let v = validate();
    assert!(of(&v, "PKI-Q04").is_empty(), "{v:#}");
    let q03 = of(&v, "PKI-Q03");
    assert_eq!(q03.len(), 1, "{v:#}");
    assert_eq!(q03[0]["severity"], "error");
    assert_eq!(q03[0]["path"], client_cert.as_str());
    assert!(
        !of(&v, "PKI-S04")
            .iter()
            .any(|f| f["path"] == client_cert.as_str()),
        "{v:#}"
    );
    // The fix, verbatim; then the source end (this directory as a client) passes the
    // destination's verify-peer=yes.
    let fix = q03[0]["fix"].as_str().unwrap().to_string();
    assert!(fix.starts_with("pkitool issue client --dir "), "{fix}");
    let o = util::sh(r, &fix.replacen("pkitool", util::PKITOOL, 1));
    assert!(o.status.success(), "{fix}: {}", util::stderr(&o));
    let v = validate();
    assert!(of(&v, "PKI-Q03").is_empty(), "{v:#}");
    let s = server("yes");
    crate::peers::qemu_img_info_tls(&m, "127.0.0.1", s.port)
        .expect("the migration source's client certificate is accepted");
}
