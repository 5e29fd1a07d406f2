//! Issue 10: verdicts on hosts configured the way real hosts are (libvirtd.conf and qemu.conf
//! read from the tree, QEMU-only hosts, `tls_no_verify_certificate`, QEMU's own account, running
//! unprivileged), the wrong verdicts and false alarms that were reproduced, fleet mode, usage
//! errors and fixes that run. Fixtures are made by certtool and openssl; the expectations come
//! from certtool, openssl, qemu-img/qemu-nbd and libvirtd, never from pkitool.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::peers::{self, Libvirtd, LibvirtdConf, have_libvirt, have_qemu, virsh_hostname};
use crate::util::{self, have_peer, pkitool, sh, status, stderr, stdout};

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(o), stderr(o)))
}

fn findings<'a>(v: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

fn errors(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| format!("{} {} {}", f["code"], f["path"], f["message"]))
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn peers_ok() -> bool {
    have_peer("certtool") && have_peer("openssl")
}

/// A certtool CA in `dir` (cacert.pem, cakey.pem) and `leaf NAME TEMPLATE-LINES` making
/// NAME-cert.pem / NAME-key.pem signed by it.
const CERTTOOL: &str = r#"
ca() {
  printf 'cn = Hosts CA\norganization = Example Org\nca\ncert_signing_key\nexpiration_days = 3650\n' > ca.info
  certtool --generate-privkey --key-type ecdsa --outfile cakey.pem 2>/dev/null
  certtool --generate-self-signed --load-privkey cakey.pem --template ca.info --outfile cacert.pem >/dev/null 2>&1
}
leaf() { # name keytype bits template-text
  printf "$4" > "$1.info"
  if [ "$2" = rsa ]; then certtool --generate-privkey --key-type rsa --bits "$3" --outfile "$1-key.pem" 2>/dev/null
  else certtool --generate-privkey --key-type ecdsa --outfile "$1-key.pem" 2>/dev/null; fi
  certtool --generate-certificate --load-privkey "$1-key.pem" --load-ca-certificate cacert.pem \
    --load-ca-privkey cakey.pem --template "$1.info" --outfile "$1-cert.pem" >/dev/null 2>&1
  chmod 600 "$1-key.pem"
}
SERVER='organization = Example Org\ncn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 365\n'
CLIENT='country = GB\norganization = Example Org\ncn = client1\ntls_www_client\nsigning_key\nencryption_key\nexpiration_days = 365\n'
"#;

/// A complete QEMU directory at `dir` (ca-cert.pem, server-*, client-*), certtool-made.
fn qemu_dir(dir: &Path, server_days: u32) {
    fs::create_dir_all(dir).expect("mkdir");
    sh(
        dir,
        &format!(
            "{CERTTOOL}\nca\nleaf server rsa 2048 \"$(printf \"$SERVER\" | sed 's/expiration_days = 365/expiration_days = {server_days}/')\\n\"\nleaf client rsa 2048 \"$CLIENT\"\n\
             mv cacert.pem ca-cert.pem; rm -f cakey.pem *.info"
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Hosts as they are configured

#[test]
fn qemu_conf_custom_vnc_dir_expiring_tomorrow_is_found() {
    if !peers_ok() {
        return;
    }
    let t = util::tmpdir();
    let r = t.path();
    qemu_dir(&r.join("srv/vnc"), 1);
    fs::create_dir_all(r.join("etc/libvirt")).unwrap();
    fs::write(
        r.join("etc/libvirt/qemu.conf"),
        "vnc_tls = 1\nvnc_tls_x509_cert_dir = \"/srv/vnc\"\n",
    )
    .unwrap();
    // The judge: openssl says the server certificate ends within two days.
    let cert = r.join("srv/vnc/server-cert.pem");
    let o = util::run(
        "openssl",
        ["x509", "-checkend", "172800", "-noout", "-in", s(&cert)],
    );
    assert_eq!(o.status.code(), Some(1), "openssl: {}", stdout(&o));
    // With --root, qemu.conf is read from the tree.
    let v = json(&pkitool(["validate", "--root", s(r), "--format", "json"]));
    let soon: Vec<_> = findings(&v, "PKI-T05")
        .into_iter()
        .filter(|f| {
            f["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("srv/vnc/server-cert.pem"))
        })
        .collect();
    assert_eq!(soon.len(), 1, "{v:#}");
    assert!(
        v["layouts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["dir"].as_str().is_some_and(|d| d.ends_with("srv/vnc"))),
        "{v:#}"
    );
    // And with --qemu-conf naming the real directory.
    let conf = r.join("q.conf");
    fs::write(
        &conf,
        format!(
            "vnc_tls_x509_cert_dir = \"{}\"\n",
            r.join("srv/vnc").display()
        ),
    )
    .unwrap();
    let v = json(&pkitool([
        "validate",
        "--qemu-conf",
        s(&conf),
        "--format",
        "json",
    ]));
    assert!(
        findings(&v, "PKI-T05")
            .iter()
            .any(|f| f["path"].as_str() == Some(s(&cert))),
        "{v:#}"
    );
}

#[test]
fn qemu_conf_resolution_follows_libvirt() {
    if !peers_ok() {
        return;
    }
    let t = util::tmpdir();
    let r = t.path();
    // spice has no setting but /etc/pki/libvirt-spice exists: libvirt uses it. chardev has no
    // setting and no directory: the default directory. migrate names a missing directory.
    qemu_dir(&r.join("etc/pki/libvirt-spice"), 365);
    qemu_dir(&r.join("etc/pki/qemu"), 365);
    fs::create_dir_all(r.join("etc/libvirt")).unwrap();
    fs::write(
        r.join("etc/libvirt/qemu.conf"),
        "# libvirt's own comments\nmigrate_tls_x509_cert_dir = \"/srv/nowhere\"\n",
    )
    .unwrap();
    let o = pkitool(["validate", "--root", s(r), "--format", "json"]);
    status(&o, 1);
    let v = json(&o);
    let names: Vec<&str> = v["layouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("etc/pki/libvirt-spice (spice)")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("etc/pki/qemu (vnc, chardev, backup, nbd)")),
        "{names:?}"
    );
    let missing = findings(&v, "PKI-S05");
    assert_eq!(missing.len(), 1, "{v:#}");
    let why = missing[0]["why"].as_str().unwrap();
    assert!(
        why.contains(&format!(
            "migrate_tls_x509_cert_dir directory '{}' does not exist",
            r.join("srv/nowhere").display()
        )),
        "{why}"
    );
    // Only the missing directory is an error; the QEMU-only host has no libvirt CA and that is
    // not an error.
    assert_eq!(errors(&v).len(), 1, "{:#?}", errors(&v));
    // A server-only directory (spice) wants no client certificate.
    assert!(
        !findings(&v, "PKI-S04")
            .iter()
            .any(|f| f["path"].as_str().unwrap_or("").contains("libvirt-spice")),
        "{v:#}"
    );
}

#[test]
fn qemu_only_host_is_not_broken() {
    if !(peers_ok() && have_qemu()) {
        return;
    }
    let t = util::tmpdir();
    let r = t.path();
    let q = r.join("etc/pki/qemu");
    qemu_dir(&q, 365);
    // The judge: qemu-nbd loads the directory as a server.
    let srv = peers::QemuNbdServer::start(&q, None).expect("qemu-nbd accepts /etc/pki/qemu");
    drop(srv);
    let o = pkitool(["validate", "--root", s(r), "--format", "json"]);
    let v = json(&o);
    status(&o, 0);
    assert!(findings(&v, "PKI-F01").is_empty(), "{v:#}");
    assert_eq!(findings(&v, "PKI-S04").len(), 1, "{v:#}");
    // As soon as a libvirt TLS file exists, the missing CA is an error again.
    fs::create_dir_all(r.join("etc/pki/libvirt")).unwrap();
    fs::copy(
        q.join("server-cert.pem"),
        r.join("etc/pki/libvirt/servercert.pem"),
    )
    .unwrap();
    let o = pkitool(["validate", "--root", s(r), "--format", "json"]);
    status(&o, 1);
    assert!(
        findings(&json(&o), "PKI-F01").iter().any(|f| f["path"]
            .as_str()
            .unwrap()
            .ends_with("etc/pki/CA/cacert.pem")),
        "{}",
        stdout(&o)
    );
    // ... and so is libvirtd.conf configuring TLS.
    fs::remove_file(r.join("etc/pki/libvirt/servercert.pem")).unwrap();
    fs::create_dir_all(r.join("etc/libvirt")).unwrap();
    fs::write(r.join("etc/libvirt/libvirtd.conf"), "listen_tls = 1\n").unwrap();
    let o = pkitool(["validate", "--root", s(r), "--format", "json"]);
    status(&o, 1);
}

#[test]
fn tls_no_verify_certificate_admits_everyone_and_no_allow_list_error_follows() {
    if !(peers_ok() && have_libvirt()) {
        return;
    }
    let t = util::tmpdir();
    let d = t.path();
    peers::certtool_pki(d);
    for k in ["serverkey.pem", "clientkey.pem"] {
        fs::set_permissions(d.join(k), fs::Permissions::from_mode(0o600)).unwrap();
    }
    let list = ["C=XX,CN=nobody"];
    // The judge: libvirtd with tls_no_verify_certificate = 1 lets a client that is not on the
    // list in; without it, it refuses that client.
    let conf = LibvirtdConf {
        extra: "tls_no_verify_certificate = 1\n".into(),
        ..LibvirtdConf::pkipath(d)
    }
    .allowed_dn(list);
    {
        let daemon = Libvirtd::start(&conf).expect("libvirtd starts");
        virsh_hostname("localhost", daemon.port, d).expect("admitted with no_verify");
    }
    {
        let daemon = Libvirtd::start(&LibvirtdConf::pkipath(d).allowed_dn(list)).expect("starts");
        let e = virsh_hostname("localhost", daemon.port, d).expect_err("refused without it");
        assert!(!e.is_empty());
    }
    let lconf = d.join("libvirtd.conf");
    let write = |no_verify: bool| {
        fs::write(
            &lconf,
            format!(
                "ca_file = \"{0}/cacert.pem\"\ncert_file = \"{0}/servercert.pem\"\nkey_file = \"{0}/serverkey.pem\"\n\
                 tls_allowed_dn_list = [\"C=XX,CN=nobody\"]\n{1}",
                d.display(),
                if no_verify { "tls_no_verify_certificate = 1\n" } else { "" }
            ),
        )
        .unwrap()
    };
    write(true);
    let o = pkitool([
        "validate",
        s(d),
        "--libvirtd-conf",
        s(&lconf),
        "--format",
        "json",
    ]);
    let v = json(&o);
    status(&o, 0);
    assert_eq!(findings(&v, "PKI-S06").len(), 1, "{v:#}");
    assert_eq!(findings(&v, "PKI-S06")[0]["severity"], "warning");
    assert!(findings(&v, "PKI-D01").is_empty(), "{v:#}");
    status(
        &pkitool(["validate", s(d), "--libvirtd-conf", s(&lconf), "--strict"]),
        1,
    );
    write(false);
    let v = json(&pkitool([
        "validate",
        s(d),
        "--libvirtd-conf",
        s(&lconf),
        "--format",
        "json",
    ]));
    assert_eq!(findings(&v, "PKI-D01").len(), 1, "{v:#}");
}

#[test]
fn libvirtd_allow_list_never_applies_to_qemu_client_certificates() {
    if !peers_ok() {
        return;
    }
    let t = util::tmpdir();
    let r = t.path();
    qemu_dir(&r.join("etc/pki/qemu"), 365);
    fs::create_dir_all(r.join("etc/libvirt")).unwrap();
    fs::write(
        r.join("etc/libvirt/libvirtd.conf"),
        "tls_allowed_dn_list = [\"C=XX,CN=nobody\"]\n",
    )
    .unwrap();
    let v = json(&pkitool(["validate", "--root", s(r), "--format", "json"]));
    assert!(
        !findings(&v, "PKI-D01")
            .iter()
            .any(|f| f["path"].as_str().unwrap_or("").contains("etc/pki/qemu")),
        "{v:#}"
    );
}

/// Runs `qemu-img info` with a client endpoint on `dir` as `user`: Err(message) when QEMU
/// refuses the credentials at load, Ok(message) when it got past them (the connection to a
/// closed port then fails).
fn qemu_img_as(user: &str, dir: &Path) -> Result<String, String> {
    qemu_img_client(Some(user), dir, None)
}

/// `qemu-img info` with a client endpoint on `dir`, optionally as `user` and with the key's
/// password as a `secret` object given as `passwordid`.
fn qemu_img_client(
    user: Option<&str>,
    dir: &Path,
    password: Option<&str>,
) -> Result<String, String> {
    let port = peers::free_port();
    let mut args: Vec<String> = Vec::new();
    if let Some(user) = user {
        args.extend([
            format!("--reuid={user}"),
            format!("--regid={user}"),
            "--init-groups".into(),
        ]);
    }
    args.extend(["qemu-img".to_string(), "info".into()]);
    let mut creds = format!(
        "tls-creds-x509,id=tls0,dir={},endpoint=client",
        dir.display()
    );
    if let Some(pw) = password {
        args.extend(["--object".into(), format!("secret,id=sec0,data={pw}")]);
        creds.push_str(",passwordid=sec0");
    }
    args.extend([
        "--object".into(),
        creds,
        "--image-opts".into(),
        format!("driver=nbd,host=127.0.0.1,port={port},tls-creds=tls0"),
    ]);
    let o = if user.is_some() {
        Command::new("setpriv").args(&args).output()
    } else {
        Command::new(&args[0]).args(&args[1..]).output()
    }
    .expect("run qemu-img");
    let msg = format!("{}{}", stdout(&o), stderr(&o));
    if msg.contains("Connection refused") || msg.contains("Failed to connect") {
        Ok(msg)
    } else {
        Err(msg)
    }
}

#[test]
fn keys_qemus_user_cannot_read_are_errors_and_the_fix_works() {
    if !(peers_ok() && have_qemu() && have_peer("setpriv")) {
        return;
    }
    let Some(pw) = nix::unistd::User::from_name("libvirt-qemu").ok().flatten() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: .ci/run creates the libvirt-qemu user"
        );
        return;
    };
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP: needs root to stage root-owned files");
        return;
    }
    let t = util::tmpdir();
    let r = t.path();
    fs::set_permissions(r, fs::Permissions::from_mode(0o755)).unwrap();
    let q = r.join("etc/pki/qemu");
    qemu_dir(&q, 365);
    let (uid, gid) = (pw.uid.as_raw(), pw.gid.as_raw());
    fs::write(
        r.join("etc/passwd"),
        format!("root:x:0:0::/root:/bin/sh\nlibvirt-qemu:x:{uid}:{gid}::/var/lib/libvirt:/usr/sbin/nologin\n"),
    )
    .unwrap();
    fs::write(
        r.join("etc/group"),
        format!("root:x:0:\nlibvirt-qemu:x:{gid}:\n"),
    )
    .unwrap();
    fs::create_dir_all(r.join("etc/libvirt")).unwrap();
    fs::write(
        r.join("etc/libvirt/qemu.conf"),
        "user = \"libvirt-qemu\"\ngroup = \"libvirt-qemu\"\n",
    )
    .unwrap();
    // The judge: QEMU as libvirt-qemu cannot load the 0600 root client key.
    let key = q.join("client-key.pem");
    let e = qemu_img_as("libvirt-qemu", &q).expect_err("QEMU refuses the unreadable key");
    assert!(
        e.contains("Permission denied") || e.contains("Error while reading file"),
        "{e}"
    );
    let o = pkitool(["validate", "--root", s(r), "--format", "json"]);
    status(&o, 1);
    let v = json(&o);
    let q01 = findings(&v, "PKI-Q01");
    let on_key: Vec<_> = q01
        .iter()
        .filter(|f| f["path"].as_str() == Some(s(&key)))
        .collect();
    assert_eq!(on_key.len(), 1, "{v:#}");
    // Every fix runs; afterwards QEMU loads the key and pkitool agrees.
    for f in &q01 {
        sh(r, f["fix"].as_str().unwrap());
    }
    let ok = qemu_img_as("libvirt-qemu", &q).expect("QEMU loads the key after the fix");
    assert!(!ok.is_empty());
    let o = pkitool(["validate", "--root", s(r), "--format", "json"]);
    let v = json(&o);
    assert!(findings(&v, "PKI-Q01").is_empty(), "{v:#}");
    assert!(findings(&v, "PKI-F08").is_empty(), "{v:#}");
    status(&o, 0);
}

#[test]
fn running_unprivileged_says_what_could_not_be_checked() {
    if !(peers_ok() && have_peer("setpriv")) {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP: needs root to stage root-owned files");
        return;
    }
    let t = util::tmpdir();
    let r = t.path();
    fs::set_permissions(r, fs::Permissions::from_mode(0o755)).unwrap();
    let g = r.join("g");
    fs::create_dir_all(&g).unwrap();
    peers::certtool_pki(&g);
    sh(
        r,
        "mkdir -p etc/pki/CA etc/pki/libvirt/private
         cp g/cacert.pem etc/pki/CA/; cp g/servercert.pem g/clientcert.pem etc/pki/libvirt/
         cp g/serverkey.pem g/clientkey.pem etc/pki/libvirt/private/
         chmod 644 etc/pki/CA/cacert.pem etc/pki/libvirt/*.pem
         chmod 600 etc/pki/libvirt/private/*.pem; chmod 700 etc/pki/libvirt/private; rm -rf g",
    );
    // As root: a clean tree.
    let o = pkitool(["validate", "--root", s(r), "--format", "json"]);
    status(&o, 0);
    let asroot = json(&o);
    assert!(findings(&asroot, "PKI-S07").is_empty(), "{asroot:#}");
    // As nobody: no error and no chmod fix for the correct 0600 keys, a warning per key.
    let run = |strict: bool| {
        let mut args = vec![
            "--reuid=nobody".to_string(),
            "--regid=nogroup".into(),
            "--clear-groups".into(),
            util::PKITOOL.into(),
            "validate".into(),
            "--root".into(),
            s(r).into(),
            "--format".into(),
            "json".into(),
        ];
        if strict {
            args.push("--strict".into());
        }
        Command::new("setpriv")
            .args(&args)
            .output()
            .expect("setpriv")
    };
    let o = run(false);
    let v = json(&o);
    assert!(errors(&v).is_empty(), "{:#?}", errors(&v));
    status(&o, 0);
    let s07 = findings(&v, "PKI-S07");
    assert_eq!(s07.len(), 2, "{v:#}");
    assert!(s07.iter().all(|f| f["severity"] == "warning"));
    assert!(
        !v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["fix"].as_str().unwrap_or("").starts_with("chmod 600")),
        "{v:#}"
    );
    status(&run(true), 1);
}

// ---------------------------------------------------------------------------------------------
// Wrong verdicts and false alarms

#[test]
fn san_import_checks_agree_with_gnutls() {
    if !peers_ok() {
        return;
    }
    let t = util::tmpdir();
    let d = t.path();
    sh(d, &format!("{CERTTOOL}\nca"));
    // (name, SAN extension DER)
    let cases = [
        ("empty-dns", "30:02:82:00"),
        (
            "empty-dns-beside-names",
            "30:0d:82:09:6c:6f:63:61:6c:68:6f:73:74:82:00",
        ),
        ("empty-email", "30:02:81:00"),
        ("empty-uri", "30:02:86:00"),
        ("empty-ip", "30:02:87:00"),
        ("ip-5-bytes", "30:07:87:05:01:02:03:04:05"),
        ("good", "30:0b:82:09:6c:6f:63:61:6c:68:6f:73:74"),
    ];
    for (name, der) in cases {
        let c = d.join(name);
        fs::create_dir_all(&c).unwrap();
        sh(
            &c,
            &format!(
                "printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature,keyEncipherment\\nextendedKeyUsage=serverAuth\\nsubjectAltName=DER:{der}\\n' > ext
                 openssl req -new -newkey rsa:2048 -nodes -keyout serverkey.pem -subj /CN=localhost -out r.csr 2>/dev/null
                 openssl x509 -req -in r.csr -CA ../cacert.pem -CAkey ../cakey.pem -CAcreateserial -days 30 -sha256 -extfile ext -out servercert.pem 2>/dev/null
                 cp ../cacert.pem cacert.pem; chmod 600 serverkey.pem; rm r.csr ext"
            ),
        );
        // The judge: does GnuTLS import it?
        let ct = util::run("certtool", ["-i", "--infile", s(&c.join("servercert.pem"))]);
        let gnutls_refuses = !ct.status.success();
        if gnutls_refuses {
            assert!(
                stderr(&ct).contains("Unknown Subject Alternative name"),
                "{name}: {}",
                stderr(&ct)
            );
        }
        let v = json(&pkitool(["validate", s(&c), "--format", "json"]));
        let h06 = findings(&v, "PKI-H06");
        assert_eq!(
            !h06.is_empty(),
            gnutls_refuses,
            "{name}: GnuTLS refuses: {gnutls_refuses}\n{v:#}"
        );
        assert!(h06.iter().all(|f| f["severity"] == "error"));
    }
}

#[test]
fn intermediate_only_ca_file_is_a_warning_as_openssl_refuses_it() {
    if !peers_ok() {
        return;
    }
    let t = util::tmpdir();
    let d = t.path();
    sh(
        d,
        &format!(
            "{CERTTOOL}\nca
             printf 'cn = Issuing CA\\nca\\ncert_signing_key\\nexpiration_days = 365\\n' > int.info
             certtool --generate-privkey --key-type ecdsa --outfile intkey.pem 2>/dev/null
             certtool --generate-certificate --load-privkey intkey.pem --load-ca-certificate cacert.pem --load-ca-privkey cakey.pem --template int.info --outfile intcert.pem >/dev/null 2>&1
             mkdir p; printf \"$SERVER\" > s.info
             certtool --generate-privkey --key-type rsa --bits 2048 --outfile p/serverkey.pem 2>/dev/null; chmod 600 p/serverkey.pem
             certtool --generate-certificate --load-privkey p/serverkey.pem --load-ca-certificate intcert.pem --load-ca-privkey intkey.pem --template s.info --outfile p/servercert.pem >/dev/null 2>&1
             cp intcert.pem p/cacert.pem"
        ),
    );
    let p = d.join("p");
    // The judges: GnuTLS accepts the intermediate as an anchor, OpenSSL only with -partial_chain.
    let ct = util::run(
        "certtool",
        [
            "--verify",
            "--load-ca-certificate",
            s(&p.join("cacert.pem")),
            "--infile",
            s(&p.join("servercert.pem")),
        ],
    );
    assert!(ct.status.success(), "certtool: {}", stdout(&ct));
    let (ca_file, leaf_file) = (p.join("cacert.pem"), p.join("servercert.pem"));
    let os = |extra: &[&str]| {
        let mut a = vec!["verify", "-CAfile", s(&ca_file)];
        a.extend_from_slice(extra);
        a.push(s(&leaf_file));
        util::run("openssl", a)
    };
    assert!(!os(&[]).status.success());
    assert!(os(&["-partial_chain"]).status.success());
    let o = pkitool(["validate", s(&p), "--format", "json"]);
    let v = json(&o);
    status(&o, 0);
    let c09 = findings(&v, "PKI-C09");
    assert_eq!(c09.len(), 1, "{v:#}");
    assert_eq!(c09[0]["severity"], "warning");
    // The fix: append the root; then OpenSSL verifies too and the warning is gone.
    sh(d, "cat cacert.pem >> p/cacert.pem");
    assert!(os(&[]).status.success());
    assert!(
        findings(
            &json(&pkitool(["validate", s(&p), "--format", "json"])),
            "PKI-C09"
        )
        .is_empty()
    );
}

#[test]
fn cn_outside_the_sans_and_ip_as_dns_name_are_no_false_alarms() {
    if !peers_ok() {
        return;
    }
    let t = util::tmpdir();
    let d = t.path();
    sh(
        d,
        &format!(
            "{CERTTOOL}\nca
             leaf s rsa 2048 'organization = Example Org\\ncn = myhost\\ndns_name = localhost\\ndns_name = 127.0.0.1\\nip_address = 127.0.0.1\\ntls_www_server\\nsigning_key\\nencryption_key\\nexpiration_days = 60\\n'
             mkdir p; mv s-cert.pem p/servercert.pem; mv s-key.pem p/serverkey.pem; cp cacert.pem p/"
        ),
    );
    let p = d.join("p");
    // The judge: GnuTLS matches both names clients use.
    for h in ["localhost", "127.0.0.1"] {
        let o = util::run(
            "certtool",
            [
                "--verify",
                "--load-ca-certificate",
                s(&p.join("cacert.pem")),
                "--infile",
                s(&p.join("servercert.pem")),
                "--verify-hostname",
                h,
            ],
        );
        assert!(o.status.success(), "{h}: {}", stdout(&o));
    }
    let v = json(&pkitool([
        "validate",
        s(&p),
        "--hostname",
        "localhost",
        "--hostname",
        "127.0.0.1",
        "--format",
        "json",
    ]));
    let h03 = findings(&v, "PKI-H03");
    assert_eq!(h03.len(), 1, "{v:#}");
    assert_eq!(h03[0]["severity"], "note");
    assert!(findings(&v, "PKI-H04").is_empty(), "{v:#}");
    assert_eq!(v["summary"]["warnings"], 0, "{v:#}");
}

#[test]
fn cn_only_warning_names_the_stacks_that_refuse() {
    if !peers_ok() {
        return;
    }
    let t = util::tmpdir();
    let d = t.path();
    sh(
        d,
        &format!(
            "{CERTTOOL}\nca
             leaf s rsa 2048 'cn = localhost\\ntls_www_server\\nsigning_key\\nencryption_key\\nexpiration_days = 30\\n'
             mkdir p; mv s-cert.pem p/servercert.pem; mv s-key.pem p/serverkey.pem; cp cacert.pem p/"
        ),
    );
    let p = d.join("p");
    // The judge: openssl verify -verify_hostname falls back to the CN.
    let o = util::run(
        "openssl",
        [
            "verify",
            "-CAfile",
            s(&p.join("cacert.pem")),
            "-verify_hostname",
            "localhost",
            s(&p.join("servercert.pem")),
        ],
    );
    assert!(o.status.success(), "{}", stdout(&o));
    let v = json(&pkitool(["validate", s(&p), "--format", "json"]));
    let why = findings(&v, "PKI-H02")[0]["why"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        why.contains("openssl verify -verify_hostname` still fall back"),
        "{why}"
    );
    assert!(
        why.contains("Go") && why.contains("rustls") && why.contains("browsers"),
        "{why}"
    );
}

#[test]
fn idn_host_names_match_as_gnutls_matches_them() {
    if !peers_ok() {
        return;
    }
    let t = util::tmpdir();
    let d = t.path();
    sh(
        d,
        &format!(
            "{CERTTOOL}\nca
             leaf s rsa 2048 'cn = xn--bcher-kva.example\\ndns_name = xn--bcher-kva.example\\ntls_www_server\\nsigning_key\\nencryption_key\\nexpiration_days = 30\\n'
             mkdir p; mv s-cert.pem p/servercert.pem; mv s-key.pem p/serverkey.pem; cp cacert.pem p/"
        ),
    );
    let p = d.join("p");
    for (host, gnutls_ok) in [("bücher.example", true), ("bucher.example", false)] {
        let o = util::run(
            "certtool",
            [
                "--verify",
                "--load-ca-certificate",
                s(&p.join("cacert.pem")),
                "--infile",
                s(&p.join("servercert.pem")),
                "--verify-hostname",
                host,
            ],
        );
        assert_eq!(
            o.status.success(),
            gnutls_ok,
            "certtool {host}: {}",
            stdout(&o)
        );
        let v = json(&pkitool([
            "validate",
            s(&p),
            "--hostname",
            host,
            "--format",
            "json",
        ]));
        assert_eq!(
            findings(&v, "PKI-H01").is_empty(),
            gnutls_ok,
            "{host}: {v:#}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fleet mode

#[test]
fn fleet_checks_ca_copies_as_cas_and_pairs_keys() {
    if !peers_ok() {
        return;
    }
    let t = util::tmpdir();
    let d = t.path();
    sh(
        d,
        &format!(
            "{CERTTOOL}\nca
             for h in h1 h2 h3; do
               leaf $h rsa 2048 \"$SERVER\"
               mkdir -p hosts/$h; mv $h-cert.pem hosts/$h/servercert.pem; mv $h-key.pem hosts/$h/serverkey.pem
               cp cacert.pem hosts/$h/cacert.pem
             done
             mv hosts/h1/serverkey.pem k; mv hosts/h2/serverkey.pem hosts/h1/serverkey.pem; mv k hosts/h2/serverkey.pem
             mkdir -p loose; leaf web rsa 2048 \"$SERVER\"; mv web-cert.pem web-key.pem loose/"
        ),
    );
    // The judge: openssl says which keys belong to which certificates.
    let pubkey = |args: &[&str]| stdout(&util::run("openssl", args));
    let matches = |h: &str| {
        let c = d.join(format!("hosts/{h}/servercert.pem"));
        let k = d.join(format!("hosts/{h}/serverkey.pem"));
        pubkey(&["x509", "-noout", "-pubkey", "-in", s(&c)])
            == pubkey(&["pkey", "-pubout", "-in", s(&k)])
    };
    assert!(!matches("h1") && !matches("h2") && matches("h3"));
    let o = pkitool([
        "validate",
        s(&d.join("hosts")),
        s(&d.join("loose")),
        "--ca",
        s(&d.join("cacert.pem")),
        "--format",
        "json",
    ]);
    let v = json(&o);
    status(&o, 1);
    let mut mismatched: Vec<String> = findings(&v, "PKI-P01")
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    mismatched.sort();
    assert_eq!(
        mismatched,
        [
            s(&d.join("hosts/h1/serverkey.pem")).to_string(),
            s(&d.join("hosts/h2/serverkey.pem")).to_string()
        ],
        "{v:#}"
    );
    // The CA copies are no broken server certificates: the only errors are the two mismatches.
    assert_eq!(errors(&v).len(), 2, "{:#?}", errors(&v));
    // Header and summary count the same files.
    let files: u64 = v["layouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["files"].as_u64().unwrap())
        .sum();
    assert_eq!(v["summary"]["files"].as_u64(), Some(files));
}

#[test]
fn fleet_ca_copy_that_differs_is_checked_as_a_ca() {
    if !peers_ok() {
        return;
    }
    let t = util::tmpdir();
    let d = t.path();
    sh(
        d,
        &format!(
            "{CERTTOOL}\nca
             mkdir -p hosts/h1; cp cacert.pem hosts/h1/
             printf 'cn = Old CA\\nca\\ncert_signing_key\\nactivation_date = \"2019-01-01 00:00:00\"\\nexpiration_date = \"2020-01-01 00:00:00\"\\n' > old.info
             certtool --generate-privkey --key-type ecdsa --outfile old.key 2>/dev/null
             certtool --generate-self-signed --load-privkey old.key --template old.info --outfile hosts/h1/old-ca.pem >/dev/null 2>&1"
        ),
    );
    let v = json(&pkitool([
        "validate",
        s(&d.join("hosts")),
        "--ca",
        s(&d.join("cacert.pem")),
        "--format",
        "json",
    ]));
    let t03 = findings(&v, "PKI-T03");
    assert_eq!(t03.len(), 1, "{v:#}");
    assert_eq!(t03[0]["role"], "ca");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["role"] != "server"),
        "{v:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// Usage errors

#[test]
fn usage_errors_exit_2_naming_the_flag() {
    let t = util::tmpdir();
    let d = t.path();
    fs::write(d.join("cacert.pem"), "x").unwrap();
    let ca = d.join("cacert.pem");
    let cases: &[(&[&str], &str)] = &[
        (
            &["validate", "--ca", "/nonexistent/ca.pem", s(d)],
            "--ca /nonexistent/ca.pem",
        ),
        (&["validate", "--ca", s(&ca), s(d)], "--ca"),
        (&["validate", "--user", "--root", s(d)], "--user"),
        (&["validate", s(d), "--hostname", ""], "--hostname"),
        (
            &["validate", s(d), "--hostname", "vm.example.com:16514"],
            "host:port",
        ),
        (
            &["validate", s(d), "--hostname", "qemu+tls://vm/system"],
            "a URL",
        ),
        (&["validate", s(d), "--hostname", "[::1]:443"], "--hostname"),
    ];
    for (args, want) in cases {
        let o = pkitool(*args);
        status(&o, 2);
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    // An IPv6 address is a host name, not host:port.
    assert_ne!(
        pkitool(["validate", s(d), "--hostname", "::1"])
            .status
            .code(),
        Some(2)
    );
}

// ---------------------------------------------------------------------------------------------
// Fixes that run

#[test]
fn hostname_fix_keeps_subject_key_type_and_layout() {
    if !peers_ok() {
        return;
    }
    let t = util::tmpdir();
    let d = t.path();
    sh(
        d,
        &format!(
            "{CERTTOOL}\nca
             leaf s rsa 3072 'country = GB\\norganization = Example Org\\ncn = vm1\\ndns_name = vm1\\ntls_www_server\\nsigning_key\\nencryption_key\\nexpiration_days = 30\\n'
             mkdir 'deploy dir'; mv s-cert.pem 'deploy dir/server-cert.pem'; mv s-key.pem 'deploy dir/server-key.pem'; cp cacert.pem 'deploy dir/ca-cert.pem'"
        ),
    );
    let p = d.join("deploy dir");
    let v = json(&pkitool([
        "validate",
        s(&p),
        "--hostname",
        "vm1.example.org",
        "--ca-dir",
        s(d),
        "--format",
        "json",
    ]));
    let fix = findings(&v, "PKI-H01")[0]["fix"]
        .as_str()
        .unwrap()
        .to_string();
    sh(d, &fix.replacen("pkitool", util::PKITOOL, 1));
    // The judges: openssl shows the subject and key size kept; certtool matches the new name.
    let text = stdout(&util::run(
        "openssl",
        [
            "x509",
            "-noout",
            "-text",
            "-nameopt",
            "RFC2253",
            "-in",
            s(&p.join("server-cert.pem")),
        ],
    ));
    assert!(
        text.contains("Subject: CN=vm1,O=Example Org,C=GB"),
        "{text}"
    );
    assert!(text.contains("Public-Key: (3072 bit)"), "{text}");
    let o = util::run(
        "certtool",
        [
            "--verify",
            "--load-ca-certificate",
            s(&p.join("ca-cert.pem")),
            "--infile",
            s(&p.join("server-cert.pem")),
            "--verify-hostname",
            "vm1.example.org",
        ],
    );
    assert!(o.status.success(), "{}", stdout(&o));
    let o = pkitool([
        "validate",
        s(&p),
        "--hostname",
        "vm1.example.org",
        "--format",
        "json",
    ]);
    status(&o, 0);
}

#[test]
fn encrypted_qemu_key_with_a_qemu_conf_secret_is_a_note() {
    if !(peers_ok() && have_qemu()) {
        return;
    }
    let t = util::tmpdir();
    let r = t.path();
    let m = r.join("srv/migrate");
    qemu_dir(&m, 365);
    sh(
        &m,
        "openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:s3cret -in client-key.pem -out k.pem
         mv k.pem client-key.pem; chmod 600 client-key.pem",
    );
    // The judges: QEMU refuses the key without the secret and loads it with it.
    let e = qemu_img_client(None, &m, None).expect_err("no passwordid");
    assert!(e.contains("Decryption has failed"), "{e}");
    qemu_img_client(None, &m, Some("s3cret")).expect("QEMU decrypts it with passwordid");
    fs::create_dir_all(r.join("etc/libvirt")).unwrap();
    let conf = |secret: bool| {
        fs::write(
            r.join("etc/libvirt/qemu.conf"),
            format!(
                "migrate_tls_x509_cert_dir = \"/srv/migrate\"\n{}",
                if secret {
                    "migrate_tls_x509_secret_uuid = \"6a7a3c6e-2b1c-4f0e-9d55-0c1f2e3d4b5a\"\n"
                } else {
                    ""
                }
            ),
        )
        .unwrap()
    };
    conf(false);
    let v = json(&pkitool(["validate", "--root", s(r), "--format", "json"]));
    assert_eq!(findings(&v, "PKI-P02").len(), 1, "{v:#}");
    assert_eq!(findings(&v, "PKI-P02")[0]["severity"], "error");
    conf(true);
    let o = pkitool(["validate", "--root", s(r), "--format", "json"]);
    let v = json(&o);
    assert!(findings(&v, "PKI-P02").is_empty(), "{v:#}");
    let q02 = findings(&v, "PKI-Q02");
    assert_eq!(q02.len(), 1, "{v:#}");
    assert_eq!(q02[0]["severity"], "note");
    status(&o, 0);
}

#[test]
fn unreadable_configuration_files_are_usage_errors() {
    let t = util::tmpdir();
    let d = t.path();
    for flag in ["--libvirtd-conf", "--qemu-conf"] {
        let o = pkitool(["validate", flag, s(&d.join("missing.conf"))]);
        status(&o, 2);
        assert!(stderr(&o).contains(flag), "{}", stderr(&o));
    }
    fs::write(d.join("bad.conf"), "vnc_tls_x509_cert_dir = \n").unwrap();
    let o = pkitool([
        "validate",
        "--qemu-conf",
        s(&d.join("bad.conf")),
        "--format",
        "json",
    ]);
    status(&o, 1);
    let v = json(&o);
    assert_eq!(findings(&v, "PKI-S05").len(), 1, "{v:#}");
}
