//! Lifecycle: the ledger, `list`, `revoke`, `crl` and `renew`, judged by real peers: qemu-nbd
//! and qemu-img, libvirtd and virsh (and virt-admin), `openssl crl -verify`,
//! `certtool --verify-crl`, `openssl verify`, and openssl/certtool reading serials, dates and
//! keys. Fixtures that must predate the ledger are made by certtool.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use time::OffsetDateTime;
use x509_parser::prelude::FromDer;

use crate::peers::{
    Libvirtd, LibvirtdConf, QemuNbdServer, certtool, certtool_pki, have_libvirt, have_qemu,
    qemu_img_info_tls, virsh_hostname,
};
use crate::util::{have_peer, ok, pkitool, run, status, stderr, stdout, tmpdir};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `openssl x509 -noout -serial` → the hex serial.
fn serial(cert: &Path) -> String {
    let o = run("openssl", ["x509", "-noout", "-serial", "-in", s(cert)]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).trim().trim_start_matches("serial=").to_string()
}

/// `openssl x509 -noout -pubkey`.
fn cert_pubkey(cert: &Path) -> String {
    let o = run("openssl", ["x509", "-noout", "-pubkey", "-in", s(cert)]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

/// `openssl pkey -pubout` of a private key.
fn key_pubkey(key: &Path) -> String {
    let o = run("openssl", ["pkey", "-pubout", "-in", s(key)]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

/// `openssl x509 -checkend SECONDS` succeeds (the certificate is still valid then).
fn valid_after(cert: &Path, seconds: i64) -> bool {
    run(
        "openssl",
        [
            "x509",
            "-noout",
            "-in",
            s(cert),
            "-checkend",
            &seconds.to_string(),
        ],
    )
    .status
    .success()
}

/// The raw subject and SAN extension DER of a certificate file (PEM).
fn subject_and_san_der(cert: &Path) -> (Vec<u8>, Vec<u8>) {
    let pem = fs::read(cert).expect("read cert");
    let (_, p) = x509_parser::pem::parse_x509_pem(&pem).expect("pem");
    let (_, c) = x509_parser::certificate::X509Certificate::from_der(&p.contents).expect("der");
    let san = c
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == "2.5.29.17")
        .map(|e| e.value.to_vec())
        .unwrap_or_default();
    (c.subject().as_raw().to_vec(), san)
}

fn openssl_crl_verify(ca: &Path, crl: &Path) {
    let o = run(
        "openssl",
        ["crl", "-noout", "-in", s(crl), "-CAfile", s(ca), "-verify"],
    );
    let text = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        o.status.success() && text.contains("verify OK"),
        "openssl crl -verify: {text}"
    );
}

fn certtool_crl_verify(ca: &Path, crl: &Path) {
    let o = run(
        "certtool",
        [
            "--verify-crl",
            "--load-ca-certificate",
            s(ca),
            "--infile",
            s(crl),
        ],
    );
    let text = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        o.status.success() && text.contains("Verification output: Verified"),
        "certtool --verify-crl: {text}"
    );
}

/// `openssl crl -crlnumber` → the number.
fn crl_number(crl: &Path) -> u64 {
    let o = run("openssl", ["crl", "-noout", "-crlnumber", "-in", s(crl)]);
    let t = stdout(&o);
    u64::from_str_radix(
        t.trim()
            .trim_start_matches("crlNumber=")
            .trim_start_matches("0x"),
        16,
    )
    .unwrap_or_else(|_| panic!("crl number in {t:?}"))
}

/// A template date `secs` from now, in certtool's format (UTC).
fn date(secs: i64) -> String {
    let t = OffsetDateTime::now_utc() + time::Duration::seconds(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

const DAY: i64 = 86_400;

/// init-ca in `dir`.
/// A pkitool CA that started two years ago (leaves back-dated by the tests must not start
/// before their CA: pkitool refuses that).
fn init_ca(dir: &Path) {
    let template = dir.with_extension("info");
    fs::write(
        &template,
        format!(
            "cn = \"Test CA\"\nca\ncert_signing_key\ncrl_signing_key\nactivation_date = \"{}\"\n",
            date(-730 * DAY)
        ),
    )
    .unwrap();
    ok(&pkitool([
        "init-ca",
        "--dir",
        s(dir),
        "--template",
        s(&template),
    ]));
    fs::remove_file(&template).unwrap();
}

/// Copies files into a new directory under new names.
fn deploy(dir: &Path, files: &[(&Path, &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (from, to) in files {
        fs::copy(from, dir.join(to)).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
}

/// Runs a command line pkitool printed, verbatim, through sh in `dir` (with pkitool on PATH).
fn run_printed(dir: &Path, line: &str, env: &[(&str, &str)]) -> std::process::Output {
    let bin = Path::new(crate::util::PKITOOL).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("sh");
    c.args(["-c", line]).current_dir(dir).env("PATH", path);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("sh")
}

/// The line after `marker` in `text`, trimmed.
fn printed_command(text: &str, prefix: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"))
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// revoke + crl against qemu-nbd, libvirtd (and virt-admin server-update-tls), openssl, certtool

#[test]
fn revoked_client_is_refused_by_qemu_nbd_and_libvirtd_and_the_crl_verifies() {
    if !(have_peer("openssl") && have_peer("certtool") && have_qemu() && have_libvirt()) {
        return;
    }
    let t = tmpdir();
    let p = t.path();
    let ca = p.join("ca");
    init_ca(&ca);
    // QEMU server dir, two QEMU client dirs, a libvirt system tree.
    ok(&pkitool([
        "issue",
        "server",
        "--dir",
        s(&ca),
        "--cn",
        "localhost",
        "--san",
        "127.0.0.1",
        "--out",
        s(&p.join("qs")),
        "--layout",
        "qemu",
    ]));
    for c in ["client1", "client2"] {
        ok(&pkitool([
            "issue",
            "client",
            "--dir",
            s(&ca),
            "--dn",
            &format!("O=Test,CN={c}"),
            "--out",
            s(&p.join(c)),
            "--layout",
            "qemu",
        ]));
        let pk = p.join(format!("pk-{c}"));
        let q = p.join(c);
        deploy(
            &pk,
            &[
                (&q.join("ca-cert.pem"), "cacert.pem"),
                (&q.join("client-cert.pem"), "clientcert.pem"),
                (&q.join("client-key.pem"), "clientkey.pem"),
            ],
        );
    }
    let sys = p.join("sys");
    ok(&pkitool([
        "issue",
        "server",
        "--dir",
        s(&ca),
        "--cn",
        "localhost",
        "--san",
        "127.0.0.1",
        "--layout",
        "libvirt",
        "--root",
        s(&sys),
    ]));
    // An empty CRL first: both clients get in, through libvirtd's crl_file.
    let o = ok(&pkitool([
        "crl",
        "--dir",
        s(&ca),
        "--layout",
        "libvirt",
        "--root",
        s(&sys),
    ]));
    assert!(o.contains("CRL number 1 (0 revoked serials"), "{o}");
    let sys_crl = sys.join("etc/pki/CA/cacrl.pem");
    assert_eq!(crl_number(&sys_crl), 1);
    let d = Libvirtd::start(&LibvirtdConf::system(&sys)).expect("libvirtd with crl_file");
    for c in ["client1", "client2"] {
        virsh_hostname("localhost", d.port, &p.join(format!("pk-{c}")))
            .unwrap_or_else(|e| panic!("{c} before revocation: {e}\n{}", d.log_errors()));
    }

    // Revoke client1 by path; the printed `pkitool crl` line runs verbatim.
    let out = ok(&pkitool([
        "revoke",
        "--dir",
        s(&ca),
        "--reason",
        "keyCompromise",
        s(&p.join("client1/client-cert.pem")),
    ]));
    let c1 = serial(&p.join("client1/client-cert.pem"));
    assert!(out.contains(&format!("Revoked serial {c1}")), "{out}");
    let crl_line = printed_command(&out, "pkitool crl --dir");
    let o = run_printed(p, &crl_line, &[]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(crl_number(&ca.join("cacrl.pem")), 2, "the CRL number grows");
    ok(&pkitool([
        "crl",
        "--dir",
        s(&ca),
        "--layout",
        "libvirt",
        "--root",
        s(&sys),
        "--out",
        s(&p.join("qs/ca-crl.pem")),
    ]));
    let qemu_crl = p.join("qs/ca-crl.pem");
    assert_eq!(crl_number(&qemu_crl), 3);
    assert_eq!(fs::read(&qemu_crl).unwrap(), fs::read(&sys_crl).unwrap());
    openssl_crl_verify(&ca.join("cacert.pem"), &qemu_crl);
    certtool_crl_verify(&ca.join("cacert.pem"), &qemu_crl);
    let text = stdout(&run(
        "openssl",
        ["crl", "-noout", "-text", "-in", s(&qemu_crl)],
    ));
    assert!(
        text.contains(&c1) && text.contains("Key Compromise"),
        "{text}"
    );

    // libvirtd re-reads the CRL on the reload command renew/crl print, run verbatim.
    let reload = "virt-admin server-update-tls libvirtd";
    let o = run_printed(p, reload, &[("LIBVIRT_ADMIN_DEFAULT_URI", &d.admin_uri())]);
    assert!(o.status.success(), "{reload}: {}{}", stdout(&o), stderr(&o));
    let e = virsh_hostname("localhost", d.port, &p.join("pk-client1"))
        .expect_err("libvirtd must refuse the revoked client");
    assert!(!e.contains("timed out"), "a timeout is not a refusal: {e}");
    assert!(
        d.log_errors().contains("The certificate has been revoked"),
        "{}",
        d.log_errors()
    );
    virsh_hostname("localhost", d.port, &p.join("pk-client2")).expect("client2 still admitted");
    drop(d);
    // A fresh libvirtd with the CRL from the start refuses client1 too.
    let d = Libvirtd::start(&LibvirtdConf::system(&sys)).expect("libvirtd");
    assert!(virsh_hostname("localhost", d.port, &p.join("pk-client1")).is_err());
    assert!(d.log_errors().contains("The certificate has been revoked"));
    virsh_hostname("localhost", d.port, &p.join("pk-client2")).expect("client2");
    drop(d);

    // qemu-nbd with ca-crl.pem.
    let srv = QemuNbdServer::start_logged(&p.join("qs")).expect("qemu-nbd with ca-crl.pem");
    let e = qemu_img_info_tls(&p.join("client1"), "localhost", srv.port)
        .expect_err("qemu-nbd must refuse the revoked client");
    assert!(!e.contains("timed out"), "{e}");
    qemu_img_info_tls(&p.join("client2"), "localhost", srv.port).expect("client2 admitted");
    assert!(
        srv.log().contains("The certificate has been revoked"),
        "{}",
        srv.log()
    );

    // The ledger says so; revoking again records nothing.
    let o = ok(&pkitool([
        "list",
        "--dir",
        s(&ca),
        "--status",
        "revoked",
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{o}");
    assert_eq!(certs[0]["serial"], c1.as_str());
    assert_eq!(certs[0]["revocation"]["reason"], "keyCompromise");
    assert_eq!(v["last_crl_number"], 3);
    let o = ok(&pkitool(["revoke", "--dir", s(&ca), &c1]));
    assert!(o.contains("Already revoked"), "{o}");
}

#[test]
fn pre_ledger_certtool_pki_without_crlsign_revokes_by_path_and_serial() {
    if !(have_peer("certtool") && have_peer("openssl") && have_qemu()) {
        return;
    }
    let t = tmpdir();
    let flat = t.path().join("flat");
    fs::create_dir(&flat).unwrap();
    // certtool CA as the libvirt guide writes it: `ca` + `cert_signing_key`, no cRLSign.
    certtool_pki(&flat);
    // A second client, by certtool too.
    certtool(
        &flat,
        &[
            "--generate-privkey",
            "--key-type",
            "rsa",
            "--bits",
            "2048",
            "--outfile",
            "c2key.pem",
        ],
    );
    fs::write(
        flat.join("c2.info"),
        "organization = Test\ncn = client2\ntls_www_client\nencryption_key\nsigning_key\nexpiration_days = 30\n",
    )
    .unwrap();
    certtool(
        &flat,
        &[
            "--generate-certificate",
            "--load-privkey",
            "c2key.pem",
            "--load-ca-certificate",
            "cacert.pem",
            "--load-ca-privkey",
            "cakey.pem",
            "--template",
            "c2.info",
            "--outfile",
            "c2cert.pem",
        ],
    );
    assert!(!flat.join("pkitool-ledger.jsonl").exists());
    // An unknown serial is refused, --unlisted accepts it.
    let c2 = serial(&flat.join("c2cert.pem"));
    let o = pkitool(["revoke", "--dir", s(&flat), &c2]);
    status(&o, 1);
    assert!(
        stderr(&o).contains("is not in the ledger"),
        "{}",
        stderr(&o)
    );
    assert!(
        !flat.join("pkitool-ledger.jsonl").exists(),
        "nothing recorded"
    );
    // By path (no ledger entry: certtool made it) and the other by serial with --unlisted.
    ok(&pkitool([
        "revoke",
        "--dir",
        s(&flat),
        s(&flat.join("clientcert.pem")),
    ]));
    let colon_serial: String = c2
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_lowercase())
        .collect::<Vec<_>>()
        .join(":");
    ok(&pkitool([
        "revoke",
        "--dir",
        s(&flat),
        "--unlisted",
        &colon_serial,
    ]));
    let o = pkitool(["crl", "--dir", s(&flat)]);
    ok(&o);
    assert!(stderr(&o).contains("lacks cRLSign"), "{}", stderr(&o));
    let crl = flat.join("cacrl.pem");
    let text = stdout(&run("openssl", ["crl", "-noout", "-text", "-in", s(&crl)]));
    assert!(text.contains(&serial(&flat.join("clientcert.pem"))) && text.contains(&c2));
    // certtool itself rejects the signer (no cRLSign), as pkitool warned.
    let o = run(
        "certtool",
        [
            "--verify-crl",
            "--load-ca-certificate",
            s(&flat.join("cacert.pem")),
            "--infile",
            s(&crl),
        ],
    );
    assert!(
        !o.status.success(),
        "certtool should reject a CRL from a CA without cRLSign"
    );
    // QEMU enforces it anyway (GnuTLS matches issuer name and serial only).
    let (sdir, cdir) = (t.path().join("qs"), t.path().join("qc"));
    crate::peers::qemu_dirs_from_flat(&flat, &sdir, &cdir);
    fs::copy(&crl, sdir.join("ca-crl.pem")).unwrap();
    let srv = QemuNbdServer::start_logged(&sdir).expect("qemu-nbd");
    assert!(qemu_img_info_tls(&cdir, "localhost", srv.port).is_err());
    assert!(
        srv.log().contains("The certificate has been revoked"),
        "{}",
        srv.log()
    );
}

// ---------------------------------------------------------------------------------------------
// renew

/// A pkitool CA and, signed by it, certificates with 5 days left of a 365-day life: a server
/// and a client made by certtool (before any ledger; RSA, the libvirt guide's templates) and a
/// client issued by pkitool from a template with the same dates (in the ledger).
fn five_days_left(p: &Path) -> PathBuf {
    let ca = p.join("ca");
    init_ca(&ca);
    let dates = format!(
        "activation_date = \"{}\"\nexpiration_date = \"{}\"\n",
        date(-360 * DAY),
        date(5 * DAY)
    );
    let flat = p.join("flat");
    fs::create_dir(&flat).unwrap();
    fs::write(
        flat.join("server.info"),
        format!(
            "organization = Test\ncn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\n\
             tls_www_server\nencryption_key\nsigning_key\n{dates}"
        ),
    )
    .unwrap();
    fs::write(
        flat.join("client.info"),
        format!(
            "country = GB\nstate = London\nlocality = London\norganization = Test\ncn = client1\n\
             tls_www_client\nencryption_key\nsigning_key\n{dates}"
        ),
    )
    .unwrap();
    fs::copy(ca.join("cacert.pem"), flat.join("cacert.pem")).unwrap();
    for role in ["server", "client"] {
        certtool(
            &flat,
            &[
                "--generate-privkey",
                "--key-type",
                "rsa",
                "--bits",
                "2048",
                "--outfile",
                &format!("{role}key.pem"),
            ],
        );
        let o = Command::new("certtool")
            .args([
                "--generate-certificate",
                "--load-privkey",
                &format!("{role}key.pem"),
                "--load-ca-certificate",
                s(&ca.join("cacert.pem")),
                "--load-ca-privkey",
                s(&ca.join("cakey.pem")),
                "--template",
                &format!("{role}.info"),
                "--outfile",
                &format!("{role}cert.pem"),
            ])
            .current_dir(&flat)
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    fs::write(p.join("c2.info"), format!("cn = client2\n{dates}")).unwrap();
    ok(&pkitool([
        "issue",
        "client",
        "--dir",
        s(&ca),
        "--template",
        s(&p.join("c2.info")),
        "--out",
        s(&p.join("c2")),
    ]));
    ca
}

#[test]
fn renew_within_30_keeps_identity_and_key_and_peers_accept_it() {
    if !(have_peer("certtool") && have_peer("openssl") && have_qemu() && have_libvirt()) {
        return;
    }
    let t = tmpdir();
    let p = t.path();
    let ca = five_days_left(p);
    let flat = p.join("flat");
    // One certificate deployed under libvirt and QEMU names (four paths, two certificates).
    let (qs, qc) = (p.join("qs"), p.join("qc"));
    crate::peers::qemu_dirs_from_flat(&flat, &qs, &qc);
    // Deployed ownership and modes are kept: the QEMU key root:nogroup-ish 0640, a cert 0604.
    let gid = 65534u32;
    std::os::unix::fs::chown(qs.join("server-cert.pem"), Some(0), Some(gid)).unwrap();
    fs::set_permissions(
        qs.join("server-cert.pem"),
        fs::Permissions::from_mode(0o604),
    )
    .unwrap();
    let certs = [
        flat.join("servercert.pem"),
        flat.join("clientcert.pem"),
        qs.join("server-cert.pem"),
        qc.join("client-cert.pem"),
    ];
    type Facts = (String, String, (Vec<u8>, Vec<u8>));
    let before: Vec<Facts> = certs
        .iter()
        .map(|c| (serial(c), cert_pubkey(c), subject_and_san_der(c)))
        .collect();
    assert!(!valid_after(&certs[0], 6 * DAY) && valid_after(&certs[0], 4 * DAY));
    let keys_before: Vec<Vec<u8>> = [flat.join("serverkey.pem"), qs.join("server-key.pem")]
        .iter()
        .map(|k| fs::read(k).unwrap())
        .collect();

    let mut args = vec![
        "renew".to_string(),
        "--dir".into(),
        s(&ca).into(),
        "--within".into(),
        "30".into(),
    ];
    args.extend(certs.iter().map(|c| s(c).to_string()));
    let out = ok(&pkitool(&args));
    assert_eq!(out.matches("Renewed ").count(), 2, "{out}");
    for (c, (old_serial, old_pub, old_der)) in certs.iter().zip(&before) {
        let new_serial = serial(c);
        assert_ne!(&new_serial, old_serial, "{}: a new serial", c.display());
        assert_eq!(&cert_pubkey(c), old_pub, "{}: same key", c.display());
        assert_eq!(
            &subject_and_san_der(c),
            old_der,
            "{}: subject and SAN DER",
            c.display()
        );
        // A year of validity, from now (openssl -checkend).
        assert!(
            valid_after(c, 364 * DAY) && !valid_after(c, 366 * DAY),
            "{}",
            c.display()
        );
        crate::util::verify_openssl(
            &ca.join("cacert.pem"),
            c,
            if c.to_string_lossy().contains("server") {
                "sslserver"
            } else {
                "sslclient"
            },
            &[],
        );
    }
    assert_eq!(
        serial(&certs[0]),
        serial(&certs[2]),
        "one renewal per certificate, every path"
    );
    assert_eq!(serial(&certs[1]), serial(&certs[3]));
    let m = fs::metadata(qs.join("server-cert.pem")).unwrap();
    assert_eq!(
        (m.mode() & 0o7777, m.gid()),
        (0o604, gid),
        "owner and mode kept"
    );
    for (k, b) in [flat.join("serverkey.pem"), qs.join("server-key.pem")]
        .iter()
        .zip(&keys_before)
    {
        assert_eq!(&fs::read(k).unwrap(), b, "the key file is untouched");
    }
    // certtool reads the renewed server certificate as a TLS server certificate for localhost.
    crate::util::verify_certtool(
        &ca.join("cacert.pem"),
        &certs[0],
        "1.3.6.1.5.5.7.3.1",
        Some("localhost"),
    );
    crate::util::verify_certtool(&ca.join("cacert.pem"), &certs[1], "1.3.6.1.5.5.7.3.2", None);

    // Real handshakes with the renewed PKI.
    let srv = QemuNbdServer::start(&qs, Some("C=GB,ST=London,L=London,O=Test,CN=client1"))
        .expect("qemu-nbd with the renewed server certificate");
    qemu_img_info_tls(&qc, "localhost", srv.port).expect("qemu-img with the renewed client");
    qemu_img_info_tls(&qc, "127.0.0.1", srv.port).expect("by IP (SANs kept)");
    drop(srv);
    let pk = p.join("pk");
    deploy(
        &pk,
        &[
            (&flat.join("cacert.pem"), "cacert.pem"),
            (&flat.join("clientcert.pem"), "clientcert.pem"),
            (&flat.join("clientkey.pem"), "clientkey.pem"),
        ],
    );
    {
        let d = Libvirtd::start(
            &LibvirtdConf::pkipath(&flat).allowed_dn(["C=GB,ST=London,L=London,O=Test,CN=client1"]),
        )
        .expect("libvirtd with the renewed server certificate");
        d.virsh_hostname("localhost", &pk)
            .unwrap_or_else(|e| panic!("{e}\n{}", d.log_errors()));
    }

    // A second run changes no byte (cron safe), the ledger included.
    let snapshot = |paths: &[PathBuf]| -> Vec<Vec<u8>> {
        paths.iter().map(|c| fs::read(c).unwrap()).collect()
    };
    let mut all: Vec<PathBuf> = certs.to_vec();
    all.push(ca.join("pkitool-ledger.jsonl"));
    let before = snapshot(&all);
    let out = ok(&pkitool(&args));
    assert!(!out.contains("Renewed "), "{out}");
    assert!(out.contains("Not due"), "{out}");
    assert_eq!(
        snapshot(&all),
        before,
        "a second --within 30 run changes no byte"
    );

    // The ledger-driven run (no files) renews the pkitool-issued client with 5 days left.
    let c2 = p.join("c2/clientcert.pem");
    let c2_old = serial(&c2);
    let o = ok(&pkitool([
        "renew",
        "--dir",
        s(&ca),
        "--within",
        "30",
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    let renewed = v["renewed"].as_array().unwrap();
    assert_eq!(renewed.len(), 1, "{o}");
    assert_eq!(renewed[0]["old_serial"], c2_old.as_str());
    assert_eq!(renewed[0]["new_serial"], serial(&c2).as_str());
    assert!(v["failed"].as_array().unwrap().is_empty());
    assert!(valid_after(&c2, 364 * DAY));
    // list: the old serial superseded, the new one valid.
    let o = ok(&pkitool(["list", "--dir", s(&ca), "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    let find = |serial: &str| {
        v["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["serial"] == serial)
            .cloned()
            .unwrap_or_else(|| panic!("{serial} not listed: {o}"))
    };
    assert_eq!(find(&c2_old)["status"], "superseded");
    assert_eq!(find(&serial(&c2))["status"], "valid");
    assert_eq!(find(&serial(&c2))["supersedes"], c2_old.as_str());
}

#[test]
fn renewed_libvirtd_server_certificate_is_picked_up_by_the_printed_reload_command() {
    if !(have_peer("openssl") && have_libvirt() && have_peer("virt-admin") && have_peer("unshare"))
    {
        return;
    }
    let t = tmpdir();
    let p = t.path();
    let ca = p.join("ca");
    init_ca(&ca);
    let sys = p.join("sys");
    fs::write(
        p.join("s.info"),
        format!(
            "cn = localhost\ndns_name = localhost\nactivation_date = \"{}\"\nexpiration_date = \"{}\"\n",
            date(-360 * DAY),
            date(5 * DAY)
        ),
    )
    .unwrap();
    ok(&pkitool([
        "issue",
        "server",
        "--dir",
        s(&ca),
        "--template",
        s(&p.join("s.info")),
        "--layout",
        "libvirt",
        "--root",
        s(&sys),
    ]));
    ok(&pkitool([
        "crl",
        "--dir",
        s(&ca),
        "--layout",
        "libvirt",
        "--root",
        s(&sys),
    ]));
    ok(&pkitool([
        "issue",
        "client",
        "--dir",
        s(&ca),
        "--cn",
        "client1",
        "--out",
        s(&p.join("pk")),
    ]));
    fs::copy(ca.join("cacert.pem"), p.join("pk/cacert.pem")).unwrap();
    let cert = sys.join("etc/pki/libvirt/servercert.pem");
    let old = serial(&cert);
    let d = Libvirtd::start(&LibvirtdConf::system(&sys)).expect("libvirtd");
    let presented = || {
        let o = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "openssl s_client -connect 127.0.0.1:{} -servername localhost -cert {} -key {} </dev/null 2>/dev/null | openssl x509 -noout -serial",
                    d.port,
                    s(&p.join("pk/clientcert.pem")),
                    s(&p.join("pk/clientkey.pem"))
                ),
            ])
            .output()
            .unwrap();
        stdout(&o).trim().trim_start_matches("serial=").to_string()
    };
    assert_eq!(presented(), old);
    let out = ok(&pkitool([
        "renew",
        "--dir",
        s(&ca),
        "--within",
        "30",
        s(&cert),
    ]));
    let new = serial(&cert);
    assert_ne!(new, old);
    let reload = printed_command(&out, "libvirtd: virt-admin")
        .trim_start_matches("libvirtd: ")
        .to_string();
    assert_eq!(reload, "virt-admin server-update-tls libvirtd");
    assert_eq!(
        presented(),
        old,
        "libvirtd still serves the old certificate before the reload"
    );
    let o = run_printed(p, &reload, &[("LIBVIRT_ADMIN_DEFAULT_URI", &d.admin_uri())]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        presented(),
        new,
        "after `{reload}` libvirtd serves the renewed certificate"
    );
    d.virsh_hostname("localhost", &p.join("pk"))
        .expect("handshake after the reload");

    drop(d);

    // What the printed caveat says: update-tls re-reads only the system paths, so a libvirtd
    // whose libvirtd.conf names other files (here: an empty /etc/pki) cannot reload.
    let empty = p.join("empty");
    fs::create_dir_all(empty.join("etc/pki")).unwrap();
    let flat = p.join("flat");
    deploy(
        &flat,
        &[
            (&ca.join("cacert.pem"), "cacert.pem"),
            (&cert, "servercert.pem"),
            (
                &sys.join("etc/pki/libvirt/private/serverkey.pem"),
                "serverkey.pem",
            ),
        ],
    );
    let d = Libvirtd::start(&LibvirtdConf {
        system_pki: Some(empty),
        ..LibvirtdConf::pkipath(&flat)
    })
    .expect("libvirtd with its own paths");
    let o = run_printed(p, &reload, &[("LIBVIRT_ADMIN_DEFAULT_URI", &d.admin_uri())]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("Cannot read CA certificate '/etc/pki/CA/cacert.pem'"),
        "{}",
        stderr(&o)
    );
    drop(d);

    // The printed revoke line for the superseded certificate runs verbatim.
    let line = printed_command(&out, "pkitool revoke --dir");
    assert!(line.contains(&old), "{line}");
    let o = run_printed(p, &line, &[]);
    assert!(o.status.success(), "{line}: {}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("Revoked serial {old}")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn rekey_gives_a_new_matching_key_and_a_renewed_ca_still_verifies_old_leaves() {
    if !(have_peer("openssl") && have_qemu()) {
        return;
    }
    let t = tmpdir();
    let p = t.path();
    let ca = p.join("ca");
    init_ca(&ca);
    let qs = p.join("qs");
    let qc = p.join("qc");
    ok(&pkitool([
        "issue",
        "server",
        "--dir",
        s(&ca),
        "--cn",
        "localhost",
        "--out",
        s(&qs),
        "--layout",
        "qemu",
    ]));
    ok(&pkitool([
        "issue",
        "client",
        "--dir",
        s(&ca),
        "--cn",
        "c1",
        "--out",
        s(&qc),
        "--layout",
        "qemu",
    ]));
    let key = qs.join("server-key.pem");
    std::os::unix::fs::chown(&key, Some(0), Some(65534)).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).unwrap();
    let old_pub = key_pubkey(&key);
    let out = ok(&pkitool([
        "renew",
        "--dir",
        s(&ca),
        "--rekey",
        "--add-san",
        "127.0.0.1",
        s(&qs.join("server-cert.pem")),
    ]));
    assert!(out.contains("(new key)"), "{out}");
    let new_pub = key_pubkey(&key);
    assert_ne!(new_pub, old_pub, "a new key");
    assert_eq!(
        cert_pubkey(&qs.join("server-cert.pem")),
        new_pub,
        "certificate and key match"
    );
    let m = fs::metadata(&key).unwrap();
    assert_eq!(
        (m.mode() & 0o7777, m.gid()),
        (0o640, 65534),
        "key owner and mode kept"
    );
    let san = stdout(&run(
        "openssl",
        [
            "x509",
            "-noout",
            "-ext",
            "subjectAltName",
            "-in",
            s(&qs.join("server-cert.pem")),
        ],
    ));
    assert!(
        san.contains("DNS:localhost") && san.contains("IP Address:127.0.0.1"),
        "{san}"
    );
    let srv = QemuNbdServer::start(&qs, None).expect("qemu-nbd with the rekeyed server");
    qemu_img_info_tls(&qc, "127.0.0.1", srv.port).expect("handshake by the added SAN");
    drop(srv);

    // Renew the CA: same key and subject, new serial; the old leaves still verify.
    let ca_cert = ca.join("cacert.pem");
    let (old_serial, old_ca_pub) = (serial(&ca_cert), cert_pubkey(&ca_cert));
    let old_subject = subject_and_san_der(&ca_cert).0;
    ok(&pkitool([
        "renew",
        "--dir",
        s(&ca),
        s(&ca_cert),
        "--days",
        "7300",
    ]));
    assert_ne!(serial(&ca_cert), old_serial);
    assert_eq!(cert_pubkey(&ca_cert), old_ca_pub);
    assert_eq!(subject_and_san_der(&ca_cert).0, old_subject);
    assert!(valid_after(&ca_cert, 7299 * DAY));
    crate::util::verify_openssl(&ca_cert, &qc.join("client-cert.pem"), "sslclient", &[]);
    crate::util::verify_openssl(&ca_cert, &qs.join("server-cert.pem"), "sslserver", &[]);
    // A leaf issued afterwards chains to the renewed CA as well; the CA cannot be rekeyed.
    let o = pkitool(["renew", "--dir", s(&ca), "--rekey", s(&ca_cert)]);
    status(&o, 1);
    assert!(
        stdout(&o).contains("--rekey does not apply to the CA"),
        "{}",
        stdout(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// bad input

#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    let t = tmpdir();
    let p = t.path();
    let ca = p.join("ca");
    init_ca(&ca);
    ok(&pkitool([
        "issue",
        "server",
        "--dir",
        s(&ca),
        "--cn",
        "localhost",
        "--out",
        s(&p.join("s")),
    ]));
    let cert = p.join("s/servercert.pem");
    let ledger = ca.join("pkitool-ledger.jsonl");
    let cert_bytes = fs::read(&cert).unwrap();
    let ledger_bytes = fs::read(&ledger).unwrap();

    // Not a certificate, garbage, a key, a missing file.
    fs::write(p.join("garbage.pem"), "not a certificate\n").unwrap();
    for (f, want) in [
        (p.join("garbage.pem"), "garbage.pem"),
        (p.join("s/serverkey.pem"), "not a certificate (found"),
        (p.join("missing.pem"), "missing.pem: no such file"),
    ] {
        let o = pkitool(["renew", "--dir", s(&ca), s(&f)]);
        status(&o, 1);
        assert!(stdout(&o).contains(want), "{want}: {}", stdout(&o));
        let o = pkitool(["revoke", "--dir", s(&ca), s(&f)]);
        status(&o, 1);
        assert!(stderr(&o).contains(want), "{want}: {}", stderr(&o));
    }
    // Unknown serial; not hex.
    let o = pkitool(["revoke", "--dir", s(&ca), "0x1234"]);
    status(&o, 1);
    assert!(
        stderr(&o).contains("serial 1234 is not in the ledger"),
        "{}",
        stderr(&o)
    );
    let o = pkitool(["revoke", "--dir", s(&ca), "zz-top"]);
    status(&o, 1);
    assert!(stderr(&o).contains("zz-top"), "{}", stderr(&o));
    // A certificate from another CA.
    let other = p.join("other");
    ok(&pkitool([
        "init-ca",
        "--dir",
        s(&other),
        "--cn",
        "Other CA",
    ]));
    ok(&pkitool([
        "issue",
        "client",
        "--dir",
        s(&other),
        "--cn",
        "x",
        "--out",
        s(&p.join("x")),
    ]));
    let foreign = p.join("x/clientcert.pem");
    let o = pkitool(["renew", "--dir", s(&ca), s(&foreign)]);
    status(&o, 1);
    assert!(
        stdout(&o).contains("issued by \"CN=Other CA\", not by this CA"),
        "{}",
        stdout(&o)
    );
    let o = pkitool(["revoke", "--dir", s(&ca), s(&foreign)]);
    status(&o, 1);
    assert!(stderr(&o).contains("not by this CA"), "{}", stderr(&o));
    // Same name, other key.
    let twin = p.join("twin");
    ok(&pkitool(["init-ca", "--dir", s(&twin), "--cn", "Test CA"]));
    ok(&pkitool([
        "issue",
        "client",
        "--dir",
        s(&twin),
        "--cn",
        "y",
        "--out",
        s(&p.join("y")),
    ]));
    let o = pkitool(["renew", "--dir", s(&ca), s(&p.join("y/clientcert.pem"))]);
    status(&o, 1);
    assert!(
        stdout(&o).contains("signature does not verify"),
        "{}",
        stdout(&o)
    );
    // Flags.
    let o = pkitool(["renew", "--dir", s(&ca)]);
    status(&o, 2);
    let o = pkitool(["renew", "--dir", s(&ca), "--days", "0", s(&cert)]);
    status(&o, 2);
    assert!(stderr(&o).contains("--days"), "{}", stderr(&o));
    let o = pkitool(["renew", "--dir", s(&ca), "--add-san", "bad name!", s(&cert)]);
    status(&o, 2);
    assert!(stderr(&o).contains("--add-san"), "{}", stderr(&o));
    let o = pkitool([
        "renew",
        "--dir",
        s(&ca),
        "--remove-san",
        "nothere.example",
        s(&cert),
    ]);
    status(&o, 1);
    assert!(
        stdout(&o).contains("--remove-san DNS:nothere.example"),
        "{}",
        stdout(&o)
    );
    let o = pkitool(["crl", "--dir", s(&ca), "--days", "0"]);
    status(&o, 2);
    assert_eq!(fs::read(&cert).unwrap(), cert_bytes, "nothing was renewed");
    assert_eq!(
        fs::read(&ledger).unwrap(),
        ledger_bytes,
        "nothing was recorded"
    );

    // A revoked certificate is not renewed.
    ok(&pkitool(["revoke", "--dir", s(&ca), s(&cert)]));
    let o = pkitool(["renew", "--dir", s(&ca), s(&cert)]);
    status(&o, 1);
    assert!(stdout(&o).contains("is revoked"), "{}", stdout(&o));
    assert_eq!(fs::read(&cert).unwrap(), cert_bytes);
}

#[test]
fn ledger_torn_corrupt_future_and_concurrent_writers() {
    let t = tmpdir();
    let p = t.path();
    let ca = p.join("ca");
    init_ca(&ca);
    ok(&pkitool([
        "issue",
        "server",
        "--dir",
        s(&ca),
        "--cn",
        "localhost",
        "--out",
        s(&p.join("s")),
    ]));
    let cert = p.join("s/servercert.pem");
    let ledger = ca.join("pkitool-ledger.jsonl");
    let good = fs::read(&ledger).unwrap();

    // A torn last line (a kill mid-append): skipped with a note, cut off by the next writer.
    let mut torn = good.clone();
    torn.extend_from_slice(b"{\"v\":1,\"type\":\"cert\",\"serial\":\"AB");
    fs::write(&ledger, &torn).unwrap();
    let o = pkitool(["list", "--dir", s(&ca)]);
    ok(&o);
    assert!(stderr(&o).contains("line 3 is torn"), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));
    ok(&pkitool([
        "issue",
        "client",
        "--dir",
        s(&ca),
        "--cn",
        "c",
        "--out",
        s(&p.join("c")),
    ]));
    let text = fs::read_to_string(&ledger).unwrap();
    assert!(text.starts_with(std::str::from_utf8(&good).unwrap()));
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(v["v"], 1);
    }
    assert_eq!(text.lines().count(), 3);

    // A corrupt line in the middle, and a line from a newer pkitool: clear refusals, exit 1.
    let saved = fs::read(&ledger).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "this is not json");
    fs::write(&ledger, lines.join("\n") + "\n").unwrap();
    for args in [
        vec!["list", "--dir", s(&ca)],
        vec!["revoke", "--dir", s(&ca), s(&cert)],
        vec!["crl", "--dir", s(&ca)],
    ] {
        let o = pkitool(&args);
        status(&o, 1);
        assert!(
            stderr(&o).contains("pkitool-ledger.jsonl: line 2 is corrupt"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    let o = pkitool(["renew", "--dir", s(&ca), s(&cert)]);
    status(&o, 1);
    assert!(stderr(&o).contains("line 2 is corrupt"), "{}", stderr(&o));
    fs::write(
        &ledger,
        [&saved[..], b"{\"v\":2,\"type\":\"cert\"}\n"].concat(),
    )
    .unwrap();
    let o = pkitool(["list", "--dir", s(&ca)]);
    status(&o, 1);
    assert!(
        stderr(&o).contains("line 4 has format version 2"),
        "{}",
        stderr(&o)
    );
    fs::write(&ledger, &saved).unwrap();

    // Another writer holds the lock: renew fails at once, naming the directory; nothing changes.
    let cert_bytes = fs::read(&cert).unwrap();
    {
        let _held = nix::fcntl::Flock::lock(
            fs::File::open(&ca).unwrap(),
            nix::fcntl::FlockArg::LockExclusive,
        )
        .unwrap();
        let o = pkitool(["renew", "--dir", s(&ca), s(&cert)]);
        status(&o, 1);
        assert!(stderr(&o).contains("another pkitool"), "{}", stderr(&o));
        assert!(stderr(&o).contains(s(&ca)), "{}", stderr(&o));
    }
    assert_eq!(fs::read(&cert).unwrap(), cert_bytes);
    assert_eq!(fs::read(&ledger).unwrap(), saved);

    // Two renews at once: each succeeds or fails with the busy message; the file's certificate
    // is the last one the ledger recorded; the ledger stays well-formed.
    let spawn = || {
        Command::new(crate::util::PKITOOL)
            .args(["renew", "--dir", s(&ca), s(&cert)])
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let kids: Vec<_> = (0..4).map(|_| spawn()).collect();
    let mut renewed = 0;
    for k in kids {
        let o = k.wait_with_output().unwrap();
        match o.status.code() {
            Some(0) => renewed += 1,
            Some(1) => assert!(stderr(&o).contains("another pkitool"), "{}", stderr(&o)),
            c => panic!("exit {c:?}: {}", stderr(&o)),
        }
    }
    assert!(renewed >= 1);
    let text = fs::read_to_string(&ledger).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["serial"], serial(&cert).as_str());
    assert_eq!(text.lines().count(), 3 + renewed);
    let o = ok(&pkitool([
        "list",
        "--dir",
        s(&ca),
        "--status",
        "superseded",
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["certificates"].as_array().unwrap().len(), renewed);
}

#[test]
fn full_disk_mid_renew_leaves_the_old_certificate_in_place() {
    // A 64 KiB tmpfs in a private mount namespace (root; CI runs as root), filled up.
    if !(have_peer("unshare") && have_peer("mount")) {
        return;
    }
    if !nix::unistd::Uid::effective().is_root() {
        assert!(
            !crate::util::in_ci(),
            "CI must run as root: the full-disk test mounts a tmpfs"
        );
        crate::util::note_skip("not root (the full-disk test mounts a tmpfs)");
        return;
    }
    let t = tmpdir();
    let p = t.path();
    let ca = p.join("ca");
    init_ca(&ca);
    ok(&pkitool([
        "issue",
        "server",
        "--dir",
        s(&ca),
        "--cn",
        "localhost",
        "--out",
        s(&p.join("s")),
    ]));
    let full = p.join("full");
    fs::create_dir(&full).unwrap();
    let ledger_before = fs::read(ca.join("pkitool-ledger.jsonl")).unwrap();
    let script = format!(
        "set -e; mount -t tmpfs -o size=64k,mode=0755 none {full}; cp {src} {full}/servercert.pem; \
         cp {full}/servercert.pem {p}/before.pem; \
         dd if=/dev/zero of={full}/fill bs=1k count=1024 2>/dev/null || true; \
         set +e; {pk} renew --dir {ca} {full}/servercert.pem > {p}/out.txt 2>&1; echo $? > {p}/rc; \
         cmp {full}/servercert.pem {p}/before.pem > {p}/cmp 2>&1; echo $? >> {p}/cmp; \
         ls -a {full} > {p}/ls",
        full = s(&full),
        src = s(&p.join("s/servercert.pem")),
        p = s(p),
        pk = crate::util::PKITOOL,
        ca = s(&ca),
    );
    let o = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = fs::read_to_string(p.join("out.txt")).unwrap();
    assert_eq!(
        fs::read_to_string(p.join("rc")).unwrap().trim(),
        "1",
        "{out}"
    );
    assert!(
        out.contains("servercert.pem") && out.contains("No space left on device"),
        "{out}"
    );
    assert!(out.contains("nothing was changed"), "{out}");
    assert!(
        fs::read_to_string(p.join("cmp"))
            .unwrap()
            .trim()
            .ends_with('0'),
        "old certificate in place"
    );
    let ls = fs::read_to_string(p.join("ls")).unwrap();
    assert!(!ls.contains(".pkitool"), "no temporary file left: {ls}");
    assert_eq!(
        fs::read(ca.join("pkitool-ledger.jsonl")).unwrap(),
        ledger_before,
        "nothing recorded"
    );
}

#[test]
fn encrypted_ca_key_is_read_only_when_needed_and_ca_flags_take_effect() {
    if !have_peer("openssl") {
        return;
    }
    let t = tmpdir();
    let p = t.path();
    let ca = p.join("ca");
    fs::write(p.join("pw"), "secret\n").unwrap();
    // pkitool refuses a password file others can read.
    fs::set_permissions(
        p.join("pw"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    // The CA key encrypted by openssl with few PBKDF2 rounds (pkitool's own 600,000 make a debug
    // build slow; reading another tool's encrypted key is the point here anyway).
    init_ca(&ca);
    let o = run(
        "openssl",
        [
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-iter",
            "2048",
            "-in",
            s(&ca.join("cakey.pem")),
            "-out",
            s(&p.join("enc.pem")),
            "-passout",
            &format!("file:{}", s(&p.join("pw"))),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    fs::copy(p.join("enc.pem"), ca.join("cakey.pem")).unwrap();
    assert!(
        fs::read_to_string(ca.join("cakey.pem"))
            .unwrap()
            .contains("ENCRYPTED PRIVATE KEY")
    );
    ok(&pkitool([
        "issue",
        "client",
        "--dir",
        s(&ca),
        "--cn",
        "c",
        "--out",
        s(&p.join("c")),
        "--password-file",
        s(&p.join("pw")),
    ]));
    let cert = p.join("c/clientcert.pem");
    // Nothing due: the key (and its password) are not needed; a cron job without it succeeds.
    let o = ok(&pkitool([
        "renew",
        "--dir",
        s(&ca),
        "--within",
        "30",
        s(&cert),
    ]));
    assert!(o.contains("Not due"), "{o}");
    // Something to sign: the password is required (no terminal here), then used.
    let o = pkitool(["renew", "--dir", s(&ca), s(&cert)]);
    status(&o, 1);
    assert!(
        stdout(&o).contains("--password-file is required"),
        "{}",
        stdout(&o)
    );
    let o = pkitool(["crl", "--dir", s(&ca)]);
    status(&o, 2);
    assert!(stderr(&o).contains("--password-file"), "{}", stderr(&o));
    ok(&pkitool([
        "crl",
        "--dir",
        s(&ca),
        "--password-file",
        s(&p.join("pw")),
    ]));
    openssl_crl_verify(&ca.join("cacert.pem"), &ca.join("cacrl.pem"));
    // --ca-cert/--ca-key instead of --dir; the ledger is the one beside --ca-cert.
    let old = serial(&cert);
    ok(&pkitool([
        "renew",
        "--ca-cert",
        s(&ca.join("cacert.pem")),
        "--ca-key",
        s(&ca.join("cakey.pem")),
        "--password-file",
        s(&p.join("pw")),
        "--days",
        "10",
        s(&cert),
    ]));
    assert_ne!(serial(&cert), old);
    assert!(
        valid_after(&cert, 9 * DAY) && !valid_after(&cert, 11 * DAY),
        "--days 10"
    );
    crate::util::verify_openssl(&ca.join("cacert.pem"), &cert, "sslclient", &[]);
    // list --expiring-within 30 shows it (10 days left), --expiring-within 5 does not.
    let o = ok(&pkitool([
        "list",
        "--dir",
        s(&ca),
        "--expiring-within",
        "30",
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    let serials: Vec<&str> = v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["serial"].as_str().unwrap())
        .collect();
    assert_eq!(serials, [serial(&cert).as_str()], "{o}");
    assert_eq!(v["certificates"][0]["status"], "expiring");
    let o = ok(&pkitool([
        "list",
        "--dir",
        s(&ca),
        "--expiring-within",
        "5",
    ]));
    assert!(o.starts_with("no certificates match"), "{o}");
}

#[test]
fn ledger_edges_symlinks_moved_files_replaced_ca_and_expired_revocations() {
    if !have_peer("openssl") {
        return;
    }
    let t = tmpdir();
    let p = t.path();
    let ca = p.join("ca");
    init_ca(&ca);
    // Renewing through a symlink replaces the target and keeps the link.
    ok(&pkitool([
        "issue",
        "server",
        "--dir",
        s(&ca),
        "--cn",
        "localhost",
        "--out",
        s(&p.join("s")),
    ]));
    std::os::unix::fs::symlink(p.join("s/servercert.pem"), p.join("link.pem")).unwrap();
    let old = serial(&p.join("s/servercert.pem"));
    ok(&pkitool(["renew", "--dir", s(&ca), s(&p.join("link.pem"))]));
    assert!(
        fs::symlink_metadata(p.join("link.pem"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_ne!(serial(&p.join("s/servercert.pem")), old);

    // Ledger-driven: a recorded path that now holds another certificate is left alone.
    fs::write(
        p.join("due.info"),
        format!(
            "cn = due\nactivation_date = \"{}\"\nexpiration_date = \"{}\"\n",
            date(-360 * DAY),
            date(5 * DAY)
        ),
    )
    .unwrap();
    ok(&pkitool([
        "issue",
        "client",
        "--dir",
        s(&ca),
        "--template",
        s(&p.join("due.info")),
        "--out",
        s(&p.join("c")),
    ]));
    let due = serial(&p.join("c/clientcert.pem"));
    ok(&pkitool([
        "issue",
        "client",
        "--dir",
        s(&ca),
        "--cn",
        "other",
        "--out",
        s(&p.join("c")),
        "--force",
    ]));
    let bytes = fs::read(p.join("c/clientcert.pem")).unwrap();
    let o = ok(&pkitool(["renew", "--dir", s(&ca), "--within", "30"]));
    assert!(
        o.contains(&format!("not the ledger's {due}; left alone")),
        "{o}"
    );
    assert!(!o.contains("Renewed"), "{o}");
    assert_eq!(fs::read(p.join("c/clientcert.pem")).unwrap(), bytes);

    // An expired revoked certificate is left out of the CRL; the CRL keeps owner and mode.
    fs::write(
        p.join("old.info"),
        format!(
            "cn = old\nactivation_date = \"{}\"\nexpiration_date = \"{}\"\n",
            date(-30 * DAY),
            date(-DAY)
        ),
    )
    .unwrap();
    ok(&pkitool([
        "issue",
        "client",
        "--dir",
        s(&ca),
        "--template",
        s(&p.join("old.info")),
        "--out",
        s(&p.join("old")),
    ]));
    ok(&pkitool([
        "revoke",
        "--dir",
        s(&ca),
        s(&p.join("old/clientcert.pem")),
        s(&p.join("c/clientcert.pem")),
    ]));
    let crl = p.join("crl.pem");
    ok(&pkitool(["crl", "--dir", s(&ca), "--out", s(&crl)]));
    std::os::unix::fs::chown(&crl, Some(0), Some(65534)).unwrap();
    fs::set_permissions(&crl, fs::Permissions::from_mode(0o640)).unwrap();
    let o = ok(&pkitool(["crl", "--dir", s(&ca), "--out", s(&crl)]));
    assert!(
        o.contains("(1 revoked serial;") && o.contains("1 revoked certificate has already expired"),
        "{o}"
    );
    let text = stdout(&run("openssl", ["crl", "-noout", "-text", "-in", s(&crl)]));
    assert!(text.contains(&serial(&p.join("c/clientcert.pem"))));
    assert!(
        !text.contains(&serial(&p.join("old/clientcert.pem"))),
        "{text}"
    );
    let m = fs::metadata(&crl).unwrap();
    assert_eq!((m.mode() & 0o7777, m.gid()), (0o640, 65534));

    // init-ca --force: the old CA's ledger is kept beside, the new CA starts its own.
    let o = ok(&pkitool([
        "init-ca",
        "--dir",
        s(&ca),
        "--cn",
        "New CA",
        "--force",
    ]));
    assert!(o.contains("pkitool-ledger.jsonl.replaced-"), "{o}");
    let aside: Vec<_> = fs::read_dir(&ca)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("pkitool-ledger.jsonl.replaced-")
        })
        .collect();
    assert_eq!(aside.len(), 1);
    let o = ok(&pkitool(["list", "--dir", s(&ca), "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(v["certificates"][0]["subject"], "CN=New CA");
}

#[test]
fn read_only_ca_dir_and_a_ledger_that_cannot_be_written() {
    if !(have_peer("unshare") && have_peer("mount")) {
        return;
    }
    if !nix::unistd::Uid::effective().is_root() {
        assert!(
            !crate::util::in_ci(),
            "CI must run as root (a read-only bind mount)"
        );
        crate::util::note_skip("not root (the test makes a read-only bind mount)");
        return;
    }
    let t = tmpdir();
    let p = t.path();
    let ca = p.join("ca");
    init_ca(&ca);
    ok(&pkitool([
        "issue",
        "server",
        "--dir",
        s(&ca),
        "--cn",
        "localhost",
        "--out",
        s(&p.join("s")),
    ]));
    let cert = p.join("s/servercert.pem");
    let before = fs::read(&cert).unwrap();
    let ledger_before = fs::read(ca.join("pkitool-ledger.jsonl")).unwrap();
    // The CA directory read-only (a bind mount): issue warns, renew puts the old file back.
    let script = format!(
        "set -e; mount --bind {ca} {ca}; mount -o remount,ro,bind {ca}; set +e; \
         {pk} issue client --ca-cert {ca}/cacert.pem --ca-key {ca}/cakey.pem --cn ro --out {p}/ro > {p}/issue.txt 2>&1; echo $? > {p}/issue.rc; \
         {pk} renew --dir {ca} {cert} > {p}/renew.txt 2>&1; echo $? > {p}/renew.rc",
        ca = s(&ca),
        p = s(p),
        pk = crate::util::PKITOOL,
        cert = s(&cert),
    );
    let o = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let issue = fs::read_to_string(p.join("issue.txt")).unwrap();
    assert_eq!(
        fs::read_to_string(p.join("issue.rc")).unwrap().trim(),
        "0",
        "{issue}"
    );
    assert!(
        issue.contains("not writable, so this certificate is not recorded"),
        "{issue}"
    );
    assert!(p.join("ro/clientcert.pem").exists());
    let renew = fs::read_to_string(p.join("renew.txt")).unwrap();
    assert_eq!(
        fs::read_to_string(p.join("renew.rc")).unwrap().trim(),
        "1",
        "{renew}"
    );
    assert!(
        renew.contains("pkitool-ledger.jsonl") && renew.contains("the old files were put back"),
        "{renew}"
    );
    assert_eq!(
        fs::read(&cert).unwrap(),
        before,
        "the old certificate is back"
    );
    assert_eq!(
        fs::read(ca.join("pkitool-ledger.jsonl")).unwrap(),
        ledger_before
    );
}

/// An init-ca --force killed between its two renames leaves the new certificate next to the
/// old key, the new key in its temporary file and the journal naming it (the journal format of
/// src/journal.rs). sign, crl and renew read the CA: each first completes the set (and says so),
/// so what it signs verifies against the new certificate.
#[test]
fn sign_crl_and_renew_complete_an_interrupted_init_ca_before_reading_the_ca() {
    let d = tmpdir();
    let root = d.path();
    // The CSR signed below, made once.
    let req = root.join("req");
    ok(&pkitool([
        "request",
        "client",
        "--out",
        s(&req),
        "--cn",
        "c1",
    ]));
    let csr = req.join("clientcert.csr");
    assert!(csr.is_file(), "request wrote {}", csr.display());
    for cmd in ["sign", "crl", "renew"] {
        let (old, new) = (
            root.join(format!("{cmd}-old")),
            root.join(format!("{cmd}-new")),
        );
        init_ca(&old);
        init_ca(&new);
        let ca = std::fs::canonicalize(&old).unwrap();
        fs::copy(new.join("cacert.pem"), ca.join("cacert.pem")).unwrap();
        let temp = ca.join(".pkitool-new-0123456789abcdef01234567.tmp");
        fs::copy(new.join("cakey.pem"), &temp).unwrap();
        fs::write(
            ca.join(".pkitool-journal"),
            format!("{}\t{}\t\n", ca.join("cakey.pem").display(), temp.display()),
        )
        .unwrap();
        let out = root.join(format!("{cmd}.pem"));
        let args: Vec<&str> = match cmd {
            "sign" => vec!["sign", "client", s(&csr), "--dir", s(&ca), "--out", s(&out)],
            "crl" => vec!["crl", "--dir", s(&ca), "--out", s(&out)],
            _ => vec!["renew", "--dir", s(&ca), "--within", "30"],
        };
        let o = pkitool(&args);
        ok(&o);
        assert!(
            stderr(&o).contains("completed an earlier run's interrupted write first"),
            "{cmd}: {}",
            stderr(&o)
        );
        assert!(
            !ca.join(".pkitool-journal").exists() && !temp.exists(),
            "{cmd}"
        );
        assert_eq!(
            key_pubkey(&ca.join("cakey.pem")),
            cert_pubkey(&ca.join("cacert.pem")),
            "{cmd}: the pair is whole"
        );
        match cmd {
            "sign" => crate::util::verify_openssl(&ca.join("cacert.pem"), &out, "sslclient", &[]),
            "crl" => openssl_crl_verify(&ca.join("cacert.pem"), &out),
            _ => {}
        }
    }
}
