//! Behaviours that one-line bugs used to survive (the mutation audit of issue 16). Each test
//! builds its input with certtool or openssl, asserts the exact finding code and severity, and
//! takes its expectation from an independent judge where one exists (certtool's GnuTLS
//! hostname check, virt-pki-query-dn, qemu-nbd, openssl).

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::peers::{self, QemuNbdServer};
use crate::util::{have_peer, ok, pkitool, pkitool_in, sh, status, stderr, stdout, tmpdir};

fn report(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["validate", "--format", "json"];
    a.extend_from_slice(args);
    let o = pkitool(&a);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{a:?}: {e}: {}", stderr(&o)))
}

/// (code, severity) of every finding.
fn findings(r: &serde_json::Value) -> Vec<(String, String)> {
    r["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or_default().to_string(),
                f["severity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn has(r: &serde_json::Value, code: &str, severity: &str) -> bool {
    findings(r).iter().any(|(c, s)| c == code && s == severity)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// An openssl EC CA (`ca.pem`, `ca.key`) and helpers to sign leaves with extensions.
const OPENSSL_PKI: &str = r#"
set -e
ossl() { openssl "$@" >/dev/null 2>&1 || { openssl "$@"; exit 1; }; }
ossl ecparam -name prime256v1 -genkey -noout -out ca.key
ossl req -x509 -new -key ca.key -subj "/O=Example Org/CN=Verdicts CA" -days 30 -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
# leaf NAME KEYTYPE SUBJ EXT...: NAME.key, NAME.pem
leaf() {
  n=$1; kt=$2; subj=$3; shift 3
  if [ "$kt" = rsa ]; then ossl genrsa -traditional -out "$n.key" 2048; else ossl ecparam -name prime256v1 -genkey -noout -out "$n.key"; fi
  ossl req -new -key "$n.key" -subj "$subj" -out "$n.csr"
  : > "$n.ext"; for e in "$@"; do echo "$e" >> "$n.ext"; done
  ossl x509 -req -in "$n.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" -days 20 -extfile "$n.ext" -out "$n.pem"
}
"#;

fn pki(dir: &Path, script: &str) {
    sh(dir, &format!("{OPENSSL_PKI}\n{script}"));
}

/// A flat libvirt layout in `dir/name` from files of `dir`.
fn flat(dir: &Path, name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let d = dir.join(name);
    fs::create_dir_all(&d).expect("mkdir");
    for (from, to) in files {
        fs::copy(dir.join(from), d.join(to)).unwrap_or_else(|e| panic!("{from}: {e}"));
    }
    d
}

#[test]
fn ca_bundle_cap_is_exactly_sixteen_and_the_rest_is_not_checked() {
    if !(have_peer("openssl") && have_peer("certtool") && peers::have_qemu()) {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    pki(
        d,
        r#"
leaf srv ec "/CN=localhost" "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost"
for i in $(seq 1 15); do
  ossl ecparam -name prime256v1 -genkey -noout -out o$i.key
  ossl req -x509 -new -key o$i.key -subj "/CN=Other CA $i" -days 30 -out o$i.pem -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
done
# An expired CA, by certtool (openssl cannot back-date).
certtool --generate-privkey --key-type ecdsa --outfile x.key >/dev/null 2>&1
printf 'cn = Expired CA\nca\ncert_signing_key\nactivation_date = "2019-01-01 00:00:00"\nexpiration_date = "2020-01-01 00:00:00"\n' > x.info
certtool --generate-self-signed --load-privkey x.key --template x.info --outfile x.pem >/dev/null 2>&1
cat ca.pem o*.pem > bundle16.pem
cat bundle16.pem x.pem > bundle17.pem
"#,
    );
    let n = |f: &str| {
        fs::read_to_string(d.join(f))
            .expect("bundle")
            .matches("BEGIN CERTIFICATE")
            .count()
    };
    assert_eq!((n("bundle16.pem"), n("bundle17.pem")), (16, 17));
    let d16 = flat(
        d,
        "b16",
        &[
            ("bundle16.pem", "cacert.pem"),
            ("srv.pem", "servercert.pem"),
            ("srv.key", "serverkey.pem"),
        ],
    );
    let d17 = flat(
        d,
        "b17",
        &[
            ("bundle17.pem", "cacert.pem"),
            ("srv.pem", "servercert.pem"),
            ("srv.key", "serverkey.pem"),
        ],
    );
    let r16 = report(&["--hostname", "localhost", s(&d16)]);
    assert!(
        findings(&r16).iter().all(|(c, _)| c != "PKI-C05"),
        "16 is within the cap: {r16:#}"
    );
    let r17 = report(&["--hostname", "localhost", s(&d17)]);
    assert!(has(&r17, "PKI-C05", "warning"), "{r17:#}");
    // The expired 17th is never imported by QEMU 10.0 or libvirt: not an error.
    assert!(
        findings(&r17).iter().all(|(c, _)| c != "PKI-T03"),
        "{r17:#}"
    );
    // The judge: qemu-nbd starts with the 17-certificate bundle (it ignores the 17th), and
    // refuses the expired CA when it is among the first 16.
    let q = d.join("q17");
    fs::create_dir(&q).expect("mkdir");
    fs::copy(d.join("bundle17.pem"), q.join("ca-cert.pem")).expect("cp");
    fs::copy(d.join("srv.pem"), q.join("server-cert.pem")).expect("cp");
    fs::copy(d.join("srv.key"), q.join("server-key.pem")).expect("cp");
    drop(QemuNbdServer::start(&q, None).expect("qemu-nbd ignores the 17th CA"));
    sh(d, "cat ca.pem x.pem > q17/ca-cert.pem");
    let e = QemuNbdServer::start(&q, None).expect_err("an expired CA among the first 16");
    assert!(e.contains("has expired"), "{e}");
    let d2 = flat(
        d,
        "b2",
        &[("srv.pem", "servercert.pem"), ("srv.key", "serverkey.pem")],
    );
    fs::copy(q.join("ca-cert.pem"), d2.join("cacert.pem")).expect("cp");
    assert!(has(
        &report(&["--hostname", "localhost", s(&d2)]),
        "PKI-T03",
        "error"
    ));
}

#[test]
fn host_names_follow_gnutls_ip_and_cn_rules() {
    if !(have_peer("openssl") && have_peer("certtool")) {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    pki(
        d,
        r#"
leaf dnsip ec "/CN=127.0.0.1" "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" "subjectAltName=DNS:127.0.0.1"
leaf iponly ec "/CN=host.example.org" "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" "subjectAltName=IP:10.0.0.1"
"#,
    );
    for (name, host) in [("dnsip", "127.0.0.1"), ("iponly", "host.example.org")] {
        // GnuTLS, through certtool, is the judge: the host name does not match.
        let o = Command::new("certtool")
            .args(["--verify", "--load-ca-certificate", "ca.pem", "--infile"])
            .arg(format!("{name}.pem"))
            .args(["--verify-hostname", host])
            .current_dir(d)
            .output()
            .expect("certtool");
        assert!(
            !o.status.success() && String::from_utf8_lossy(&o.stdout).contains("does not match"),
            "certtool must refuse {name} for {host}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        let l = flat(
            d,
            name,
            &[
                ("ca.pem", "cacert.pem"),
                (&format!("{name}.pem"), "servercert.pem"),
                (&format!("{name}.key"), "serverkey.pem"),
            ],
        );
        let r = report(&["--hostname", host, s(&l)]);
        assert!(has(&r, "PKI-H01", "error"), "{name} for {host}: {r:#}");
    }
    // And what certtool accepts, pkitool accepts: the IP by its IP SAN.
    let l = d.join("iponly");
    assert!(!has(
        &report(&["--hostname", "10.0.0.1", s(&l)]),
        "PKI-H01",
        "error"
    ));
}

#[test]
fn dn_escapes_a_trailing_space_after_a_multibyte_character_like_virt_pki_query_dn() {
    if !(have_peer("openssl") && have_peer("virt-pki-query-dn")) {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    pki(
        d,
        r#"leaf zoe ec "/O=Zoë /CN=x" "basicConstraints=critical,CA:FALSE""#,
    );
    // openssl -subj takes the value bytes as they are; check the space really is there.
    let o = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-key",
            "zoe.key",
            "-subj",
            "/O=Zoë /CN=x",
            "-utf8",
            "-out",
            "zoe.csr",
        ])
        .current_dir(d)
        .output()
        .expect("openssl");
    assert!(o.status.success());
    sh(
        d,
        r#"openssl x509 -req -in zoe.csr -CA ca.pem -CAkey ca.key -set_serial 7 -days 2 -out zoe.pem >/dev/null 2>&1"#,
    );
    let cert = d.join("zoe.pem");
    let judge = crate::util::run("virt-pki-query-dn", [s(&cert)]);
    let want = String::from_utf8_lossy(&judge.stdout)
        .trim_end_matches('\n')
        .to_string();
    assert!(want.ends_with("CN=x") && want.contains("\\ "), "{want:?}");
    assert_eq!(ok(&pkitool(["dn", s(&cert)])).trim_end_matches('\n'), want);
}

#[test]
fn mismatched_ec_and_pkcs1_rsa_keys_are_found_as_qemu_finds_them() {
    if !(have_peer("openssl") && peers::have_qemu()) {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    let ext = r#""basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost""#;
    pki(
        d,
        &format!(
            "leaf ec1 ec /CN=localhost {ext}\nleaf ec2 ec /CN=localhost {ext}\nleaf rsa1 rsa /CN=localhost {ext}\nleaf rsa2 rsa /CN=localhost {ext}\n"
        ),
    );
    assert!(
        fs::read_to_string(d.join("rsa2.key"))
            .expect("key")
            .contains("BEGIN RSA PRIVATE KEY")
    );
    assert!(
        fs::read_to_string(d.join("ec2.key"))
            .expect("key")
            .contains("BEGIN EC PRIVATE KEY")
    );
    for (cert, key) in [("ec1", "ec2"), ("rsa1", "rsa2")] {
        let l = flat(
            d,
            &format!("{cert}-{key}"),
            &[
                ("ca.pem", "cacert.pem"),
                (&format!("{cert}.pem"), "servercert.pem"),
                (&format!("{key}.key"), "serverkey.pem"),
            ],
        );
        let r = report(&["--hostname", "localhost", s(&l)]);
        assert!(
            has(&r, "PKI-P01", "error"),
            "{cert} with {key}'s key: {r:#}"
        );
        // The judge: qemu-nbd refuses the pair.
        let q = d.join(format!("q-{cert}"));
        fs::create_dir(&q).expect("mkdir");
        fs::copy(d.join("ca.pem"), q.join("ca-cert.pem")).expect("cp");
        fs::copy(d.join(format!("{cert}.pem")), q.join("server-cert.pem")).expect("cp");
        fs::copy(d.join(format!("{key}.key")), q.join("server-key.pem")).expect("cp");
        assert!(
            QemuNbdServer::start(&q, None).is_err(),
            "qemu-nbd must refuse {cert}/{key}"
        );
        // The matching pair is clean.
        let good = flat(
            d,
            &format!("{cert}-ok"),
            &[
                ("ca.pem", "cacert.pem"),
                (&format!("{cert}.pem"), "servercert.pem"),
                (&format!("{cert}.key"), "serverkey.pem"),
            ],
        );
        assert!(!has(
            &report(&["--hostname", "localhost", s(&good)]),
            "PKI-P01",
            "error"
        ));
    }
}

#[test]
fn every_crl_entry_revokes_clients_too() {
    if !(have_peer("openssl") && have_peer("certtool")) {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    pki(
        d,
        r#"
leaf other ec "/CN=other" "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=clientAuth"
leaf cli ec "/C=GB/O=Example Org/CN=client1" "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=clientAuth"
cat other.pem cli.pem > revoked.pem
printf 'crl_next_update = 30\ncrl_number = 7\n' > crl.info
certtool --generate-crl --load-ca-privkey ca.key --load-ca-certificate ca.pem --load-certificate revoked.pem --template crl.info --outfile crl.pem >/dev/null 2>&1
"#,
    );
    // The client is the second entry.
    let listed = Command::new("openssl")
        .args(["crl", "-in", "crl.pem", "-noout", "-text"])
        .current_dir(d)
        .output()
        .expect("openssl crl");
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout)
            .matches("Serial Number")
            .count(),
        2
    );
    // The judge: openssl with CRL checking refuses the client.
    let o = Command::new("openssl")
        .args([
            "verify",
            "-crl_check",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "crl.pem",
            "cli.pem",
        ])
        .current_dir(d)
        .output()
        .expect("openssl verify");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("revoked")
            || String::from_utf8_lossy(&o.stderr).contains("revoked")
    );
    let l = flat(
        d,
        "l",
        &[
            ("ca.pem", "cacert.pem"),
            ("crl.pem", "cacrl.pem"),
            ("cli.pem", "clientcert.pem"),
            ("cli.key", "clientkey.pem"),
        ],
    );
    let r = report(&[s(&l)]);
    let revoked: Vec<&serde_json::Value> = r["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["code"] == "PKI-R04")
        .collect();
    assert_eq!(revoked.len(), 1, "{r:#}");
    assert_eq!(revoked[0]["role"], "client");
    assert_eq!(revoked[0]["severity"], "error");
}

#[test]
fn allowed_dn_patterns_have_no_implicit_trailing_star() {
    let t = tmpdir();
    let d = t.path();
    ok(&pkitool_in(d, ["init-ca", "--cn", "CA"]));
    ok(&pkitool_in(
        d,
        [
            "issue",
            "client",
            "--dn",
            "C=GB,O=Example Org,CN=client1",
            "--out",
            "c",
        ],
    ));
    let c = d.join("c");
    let prefix = "C=GB,O=Example Org,CN=client";
    assert!(has(
        &report(&["--allowed-dn", prefix, s(&c)]),
        "PKI-D01",
        "error"
    ));
    assert!(!has(
        &report(&["--allowed-dn", &format!("{prefix}?"), s(&c)]),
        "PKI-D01",
        "error"
    ));
    status(
        &pkitool(["match-dn", prefix, s(&c.join("clientcert.pem"))]),
        1,
    );
}

#[test]
fn bad_at_is_refused_on_an_otherwise_valid_layout() {
    let t = tmpdir();
    let d = t.path();
    ok(&pkitool_in(d, ["init-ca", "--cn", "CA"]));
    ok(&pkitool_in(
        d,
        ["issue", "server", "--cn", "localhost", "--out", "s"],
    ));
    let sdir = d.join("s");
    status(&pkitool(["validate", s(&sdir)]), 0);
    for bad in ["yesterday", "2027-13-01", ""] {
        let o = pkitool(["validate", "--at", bad, s(&sdir)]);
        status(&o, 2);
        assert!(stderr(&o).contains("--at"), "{bad}: {}", stderr(&o));
    }
}

#[test]
fn json_layout_fields_carry_the_crl_identities_and_fleet_files() {
    if !(have_peer("certtool")) {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    ok(&pkitool_in(d, ["init-ca", "--cn", "CA"]));
    ok(&pkitool_in(
        d,
        ["issue", "server", "--cn", "localhost", "--out", "s"],
    ));
    sh(
        d,
        "printf 'crl_next_update = 30\\n' > crl.info; certtool --generate-crl --load-ca-privkey cakey.pem --load-ca-certificate cacert.pem --template crl.info --outfile s/cacrl.pem >/dev/null 2>&1",
    );
    let r = report(&[s(&d.join("s"))]);
    let l = &r["layouts"][0];
    assert!(
        l["crl"]
            .as_str()
            .is_some_and(|c| c.ends_with("s/cacrl.pem")),
        "{l:#}"
    );
    let ids = l["identities"].as_array().expect("identities");
    assert!(
        ids.iter().any(|i| i["role"] == "server"
            && i["cert"]
                .as_str()
                .is_some_and(|c| c.ends_with("servercert.pem"))),
        "{l:#}"
    );
    assert_eq!(l["fleet_files"], 0);
    fs::create_dir(d.join("fleet")).expect("mkdir");
    fs::copy(d.join("s/servercert.pem"), d.join("fleet/a.pem")).expect("cp");
    fs::copy(d.join("s/servercert.pem"), d.join("fleet/b.pem")).expect("cp");
    let f = report(&["--ca", s(&d.join("cacert.pem")), s(&d.join("fleet"))]);
    assert_eq!(f["layouts"][0]["fleet_files"], 2, "{f:#}");
}

/// Runs `script` under a pseudo-terminal (util-linux `script`), returning what the terminal
/// showed.
fn on_a_terminal(dir: &Path, script: &str, no_color: bool) -> String {
    let mut cmd = Command::new("script");
    cmd.args(["-qec", script, "/dev/null"])
        .current_dir(dir)
        .env_remove("NO_COLOR");
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let o = cmd.output().expect("script");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color_and_prompts_need_both_terminals() {
    if !have_peer("script") {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    ok(&pkitool_in(d, ["init-ca", "--cn", "CA"]));
    ok(&pkitool_in(
        d,
        ["issue", "server", "--cn", "localhost", "--out", "s"],
    ));
    let bin = env!("CARGO_BIN_EXE_pkitool");
    let cmd = format!("{bin} validate --hostname other.example s");
    let tty = on_a_terminal(d, &cmd, false);
    assert!(
        tty.contains("PKI-H01") && tty.contains("\u{1b}["),
        "colour on a terminal: {tty:?}"
    );
    let plain = on_a_terminal(d, &cmd, true);
    assert!(
        plain.contains("PKI-H01") && !plain.contains("\u{1b}["),
        "NO_COLOR: {plain:?}"
    );
    let piped = pkitool_in(d, ["validate", "--hostname", "other.example", "s"]);
    assert!(!stdout(&piped).contains('\u{1b}'), "a pipe gets no colour");
    // stdin a terminal, stderr a file: no prompt, the flag is named, exit 2.
    let out = on_a_terminal(
        d,
        &format!("{bin} init-ca --dir ca2 2>err.txt; echo status=$?"),
        false,
    );
    assert!(out.contains("status=2"), "{out:?}");
    let err = fs::read_to_string(d.join("err.txt")).expect("stderr file");
    assert!(
        err.contains("--cn") && !err.contains("Common name (CN) of the CA:"),
        "{err}"
    );
    assert!(!d.join("ca2").exists());
}

#[test]
fn modes_under_umask_077_fsyncs_and_foreign_owned_keys() {
    if !(have_peer("strace") && have_peer("openssl")) {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    let bin = env!("CARGO_BIN_EXE_pkitool");
    sh(d, &format!("umask 077; {bin} init-ca --cn CA >/dev/null"));
    let mode = |p: &str| {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(d.join(p)).expect(p).permissions().mode() & 0o7777
    };
    assert_eq!((mode("cacert.pem"), mode("cakey.pem")), (0o644, 0o600));
    // Durable writes: each file and the directory are fsynced before the command reports.
    let o = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=fsync,fdatasync",
            "-o",
            "trace.txt",
            bin,
        ])
        .args(["issue", "server", "--cn", "localhost", "--out", "s"])
        .current_dir(d)
        .output()
        .expect("strace");
    assert!(o.status.success(), "{}", stderr(&o));
    let trace = fs::read_to_string(d.join("trace.txt")).expect("trace");
    let syncs = trace
        .lines()
        .filter(|l| l.contains("fsync(") || l.contains("fdatasync("))
        .count();
    assert!(
        syncs >= 4,
        "cert, key, CA copy and directory must be synced: {trace}"
    );
    // A system key owned by someone other than root: PKI-F11.
    ok(&pkitool_in(
        d,
        [
            "issue",
            "server",
            "--cn",
            "localhost",
            "--layout",
            "libvirt",
            "--root",
            "stage",
        ],
    ));
    let r = report(&["--root", s(&d.join("stage"))]);
    assert!(!findings(&r).iter().any(|(c, _)| c == "PKI-F11"), "{r:#}");
    sh(
        d,
        "chown nobody stage/etc/pki/libvirt/private/serverkey.pem",
    );
    let r = report(&["--root", s(&d.join("stage"))]);
    assert!(has(&r, "PKI-F11", "warning"), "{r:#}");
}

#[test]
fn default_validities_are_ten_years_and_one_year() {
    if !have_peer("openssl") {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    ok(&pkitool_in(d, ["init-ca", "--cn", "CA"]));
    ok(&pkitool_in(
        d,
        ["issue", "client", "--cn", "c1", "--out", "c"],
    ));
    let days = |p: &str| -> i64 {
        let o = crate::util::run(
            "openssl",
            [
                "x509",
                "-noout",
                "-startdate",
                "-enddate",
                "-dateopt",
                "iso_8601",
                "-in",
                s(&d.join(p)),
            ],
        );
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let get = |k: &str| {
            let v = text
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .expect(k)
                .trim()
                .to_string();
            time::OffsetDateTime::parse(
                &v.replace(' ', "T").replace("TZ", "Z"),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap_or_else(|e| panic!("{v}: {e}"))
        };
        (get("notAfter=") - get("notBefore=")).whole_days()
    };
    assert_eq!(days("cacert.pem"), 3650);
    assert_eq!(days("c/clientcert.pem"), 365);
}

#[test]
fn critical_rsa_key_usage_without_key_encipherment_is_an_error_as_qemu_refuses_it() {
    if !(have_peer("openssl") && peers::have_qemu()) {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    pki(
        d,
        r#"leaf r rsa /CN=localhost "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost""#,
    );
    let l = flat(
        d,
        "l",
        &[
            ("ca.pem", "cacert.pem"),
            ("r.pem", "servercert.pem"),
            ("r.key", "serverkey.pem"),
        ],
    );
    let r = report(&["--hostname", "localhost", s(&l)]);
    assert!(has(&r, "PKI-K03", "error"), "{r:#}");
    let q = d.join("q");
    fs::create_dir(&q).expect("mkdir");
    fs::copy(d.join("ca.pem"), q.join("ca-cert.pem")).expect("cp");
    fs::copy(d.join("r.pem"), q.join("server-cert.pem")).expect("cp");
    fs::copy(d.join("r.key"), q.join("server-key.pem")).expect("cp");
    let e = QemuNbdServer::start(&q, None).expect_err("qemu-nbd 10.0 refuses it");
    assert!(e.contains("usage does not permit key encipherment"), "{e}");
}
