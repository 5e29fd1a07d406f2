//! `pkitool probe` against real peers on 127.0.0.1: qemu-nbd 10.0.2 (verify-peer, authz-simple,
//! no TLS), libvirtd (with and without tls_allowed_dn_list), QEMU's VNC server (qemu-system-x86
//! unpacked by tests/fixtures/get-qemu-system.sh), `openssl s_server` for certificates QEMU
//! would not load (expired, wrong host, SHA-1), and negative controls for every failure mode.
//! Certificates come from certtool/openssl; expectations from the peers themselves (qemu-img,
//! virsh, libvirtd's log, openssl/certtool verify, the fingerprint openssl prints).

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::peers::{
    Libvirtd, LibvirtdConf, QemuNbdServer, certtool, certtool_pki, free_port, have_libvirt,
    have_qemu, qemu_dirs_from_flat, qemu_img_info_tls,
};
use crate::util::{have_peer, pkitool, status, stdout, tmpdir};

const CLIENT1: &str = "C=GB,ST=London,L=London,O=Test,CN=client1";

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            crate::util::stderr(o)
        )
    })
}

fn codes(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// `openssl x509 -noout -fingerprint -sha256` of the first certificate in a file.
fn openssl_fingerprint(cert: &Path) -> String {
    let o = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert)
        .output()
        .expect("run openssl");
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .split_once('=')
        .unwrap()
        .1
        .to_string()
}

/// A child process killed on drop.
struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_listening(port: u16, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "server exited ({st}) before listening:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "server did not listen in 30 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// qemu-nbd in the foreground (stderr kept in `log`), optionally with TLS credentials.
fn qemu_nbd_fg(dir: &Path, tls: Option<&Path>, log: &Path) -> (Guard, u16) {
    let image = dir.join("disk.raw");
    let o = Command::new("qemu-img")
        .args(["create", "-q", "-f", "raw"])
        .arg(&image)
        .arg("1M")
        .output()
        .unwrap();
    assert!(o.status.success());
    let port = free_port();
    let mut cmd = Command::new("qemu-nbd");
    if let Some(creds) = tls {
        cmd.arg("--object")
            .arg(format!(
                "tls-creds-x509,id=tls0,dir={},endpoint=server,verify-peer=yes",
                creds.display()
            ))
            .args(["--tls-creds", "tls0"]);
    }
    let mut child = cmd
        .args(["-b", "127.0.0.1", "-p", &port.to_string()])
        .args(["--persistent", "-f", "raw"])
        .arg(&image)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .expect("start qemu-nbd");
    wait_listening(port, &mut child, log);
    (Guard(child), port)
}

fn pki(t: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let flat = t.join("flat");
    fs::create_dir(&flat).unwrap();
    certtool_pki(&flat);
    let (sdir, cdir) = (t.join("qs"), t.join("qc"));
    qemu_dirs_from_flat(&flat, &sdir, &cdir);
    (flat, sdir, cdir)
}

/// A second client certificate from the same CA, with another DN.
fn other_client(flat: &Path) -> (PathBuf, PathBuf) {
    fs::write(
        flat.join("other.info"),
        "country = GB\norganization = Test\ncn = intruder\ntls_www_client\nencryption_key\nsigning_key\nexpiration_days = 30\n",
    )
    .unwrap();
    certtool(
        flat,
        &[
            "--generate-privkey",
            "--key-type",
            "rsa",
            "--bits",
            "2048",
            "--outfile",
            "otherkey.pem",
        ],
    );
    certtool(
        flat,
        &[
            "--generate-certificate",
            "--load-privkey",
            "otherkey.pem",
            "--load-ca-certificate",
            "cacert.pem",
            "--load-ca-privkey",
            "cakey.pem",
            "--template",
            "other.info",
            "--outfile",
            "othercert.pem",
        ],
    );
    (flat.join("othercert.pem"), flat.join("otherkey.pem"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn nbd_chain_client_admission_and_policy_refusal() {
    if !(have_peer("certtool") && have_peer("openssl") && have_qemu()) {
        return;
    }
    let t = tmpdir();
    let (flat, sdir, cdir) = pki(t.path());
    let ca = flat.join("cacert.pem");
    let (ccert, ckey) = (cdir.join("client-cert.pem"), cdir.join("client-key.pem"));
    let (ocert, okey) = other_client(&flat);

    // verify-peer=yes, no authz: the client is admitted; the chain is the file's.
    let srv = QemuNbdServer::start(&sdir, None).expect("qemu-nbd");
    let target = format!("127.0.0.1:{}", srv.port);
    let o = pkitool([
        "probe",
        "--service",
        "nbd",
        &target,
        "--ca",
        s(&ca),
        "--client-cert",
        s(&ccert),
        "--client-key",
        s(&ckey),
        "--format",
        "json",
        "--warn-within",
        "7",
    ]);
    status(&o, 0);
    let v = json(&o);
    let e = &v["endpoints"][0];
    assert_eq!(e["status"], "ok");
    assert_eq!(e["service"], "nbd");
    assert_eq!(e["client_certificate"]["verdict"], "accepted");
    assert_eq!(e["client_certificate"]["requested"], true);
    assert_eq!(e["client_certificate"]["subject"], CLIENT1);
    assert_eq!(
        e["chain"][0]["sha256"],
        openssl_fingerprint(&sdir.join("server-cert.pem")).as_str()
    );
    assert_eq!(e["chain"][0]["subject"], "O=Test,CN=localhost");
    assert!(e["tls"]["version"].as_str().unwrap().starts_with("TLS 1."));
    assert_eq!(codes(&v), ["PKI-N11"]);
    assert_eq!(v["version"], 1);
    assert_eq!(v["summary"]["errors"], 0);
    // The independent judge agrees: qemu-img with the same client directory gets in.
    qemu_img_info_tls(&cdir, "127.0.0.1", srv.port).expect("qemu-img admitted");

    // No client certificate: the chain is still captured; a note, not a failure.
    let o = pkitool([
        "probe",
        "--service",
        "nbd",
        &target,
        "--ca",
        s(&ca),
        "--format",
        "json",
        "--warn-within",
        "7",
    ]);
    status(&o, 0);
    let v = json(&o);
    assert_eq!(codes(&v), ["PKI-N07"]);
    assert_eq!(v["endpoints"][0]["chain"].as_array().unwrap().len(), 1);

    // authz-simple admitting client1: client1 in, the other client refused as its own finding.
    let dn_srv = QemuNbdServer::start(&sdir, Some(CLIENT1)).expect("qemu-nbd authz");
    let target = format!("127.0.0.1:{}", dn_srv.port);
    let o = pkitool([
        "probe",
        &target,
        "--service",
        "nbd",
        "--ca",
        s(&ca),
        "--client-cert",
        s(&ccert),
        "--client-key",
        s(&ckey),
    ]);
    status(&o, 0);
    assert!(stdout(&o).contains("PKI-N11"), "{}", stdout(&o));
    let o = pkitool([
        "probe",
        &target,
        "--service",
        "nbd",
        "--ca",
        s(&ca),
        "--client-cert",
        s(&ocert),
        "--client-key",
        s(&okey),
        "--format",
        "json",
        "--warn-within",
        "7",
    ]);
    status(&o, 1);
    let v = json(&o);
    assert_eq!(codes(&v), ["PKI-N08"]);
    let e = &v["endpoints"][0];
    assert_eq!(e["status"], "ok", "a refusal is not an endpoint failure");
    assert_eq!(e["client_certificate"]["verdict"], "refused");
    assert_eq!(v["findings"][0]["class"], "client_auth");
    assert_eq!(v["findings"][0]["subject"], "C=GB,O=Test,CN=intruder");
    // qemu-img with the refused identity is refused by the same server.
    let odir = t.path().join("oc");
    fs::create_dir(&odir).unwrap();
    fs::copy(&ca, odir.join("ca-cert.pem")).unwrap();
    fs::copy(&ocert, odir.join("client-cert.pem")).unwrap();
    fs::copy(&okey, odir.join("client-key.pem")).unwrap();
    assert!(qemu_img_info_tls(&odir, "127.0.0.1", dn_srv.port).is_err());
    // The printed fix runs verbatim and prints the authz object for that DN.
    let fix = v["findings"][0]["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("pkitool dn {} --qemu", ocert.display())),
        "{fix}"
    );
    let o = run_printed(t.path(), &dn_command(fix));
    status(&o, 0);
    assert!(stdout(&o).contains("authz-simple"), "{}", stdout(&o));

    // A qemu-nbd without TLS answers STARTTLS with NBD_REP_ERR_POLICY.
    let log = t.path().join("plain-nbd.log");
    let (_plain, port) = qemu_nbd_fg(t.path(), None, &log);
    let o = pkitool(["probe", "--service", "nbd", &format!("127.0.0.1:{port}")]);
    status(&o, 1);
    assert!(
        stdout(&o).contains(
            "failed  the NBD server refused STARTTLS: NBD_REP_ERR_POLICY \"TLS not configured\""
        ),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("PKI-N05"));
}

#[test]
fn nbd_abort_keeps_qemu_nbd_silent() {
    if !(have_peer("certtool") && have_qemu()) {
        return;
    }
    let t = tmpdir();
    let (_flat, sdir, cdir) = pki(t.path());
    let log = t.path().join("nbd.log");
    let (_srv, port) = qemu_nbd_fg(t.path(), Some(&sdir), &log);
    let o = pkitool([
        "probe",
        "--service",
        "nbd",
        &format!("127.0.0.1:{port}"),
        "--ca",
        s(&cdir.join("ca-cert.pem")),
        "--client-cert",
        s(&cdir.join("client-cert.pem")),
        "--client-key",
        s(&cdir.join("client-key.pem")),
    ]);
    status(&o, 0);
    std::thread::sleep(Duration::from_millis(200));
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.trim().is_empty(), "qemu-nbd logged:\n{text}");
}

#[test]
fn libvirtd_admission_with_and_without_allow_list() {
    if !(have_peer("certtool") && have_libvirt()) {
        return;
    }
    let t = tmpdir();
    let flat = t.path().join("flat");
    fs::create_dir(&flat).unwrap();
    certtool_pki(&flat);
    let client = t.path().join("client");
    fs::create_dir(&client).unwrap();
    for f in ["cacert.pem", "clientcert.pem", "clientkey.pem"] {
        fs::copy(flat.join(f), client.join(f)).unwrap();
    }
    let (ocert, okey) = other_client(&flat);
    {
        let d = Libvirtd::start(&LibvirtdConf::pkipath(&flat)).expect("libvirtd");
        let target = format!("127.0.0.1:{}", d.port);
        let o = pkitool([
            "probe",
            "--service",
            "libvirt",
            &target,
            "--pkipath",
            s(&client),
            "--format",
            "json",
            "--warn-within",
            "7",
        ]);
        status(&o, 0);
        let v = json(&o);
        let e = &v["endpoints"][0];
        assert_eq!(e["client_certificate"]["verdict"], "accepted", "{v:#}");
        assert_eq!(e["ca"], s(&client.join("cacert.pem")));
        assert_eq!(
            e["chain"][0]["sha256"],
            openssl_fingerprint(&flat.join("servercert.pem")).as_str()
        );
        assert_eq!(codes(&v), ["PKI-N11"]);
        // virsh agrees.
        d.virsh_hostname("127.0.0.1", &client)
            .expect("virsh admitted");
        // Text report, with the name a client would use.
        let o = pkitool([
            "probe",
            "--service",
            "libvirt",
            &target,
            "--pkipath",
            s(&client),
            "--hostname",
            "localhost",
        ]);
        status(&o, 0);
        let out = stdout(&o);
        assert!(
            out.contains(&format!("libvirt 127.0.0.1:{}", d.port)),
            "{out}"
        );
        assert!(out.contains(&format!("sent {CLIENT1}: admitted")), "{out}");
        // Without a client certificate libvirtd drops the session after the handshake.
        let o = pkitool([
            "probe",
            &target,
            "--service",
            "libvirt",
            "--ca",
            s(&flat.join("cacert.pem")),
            "--format",
            "json",
            "--warn-within",
            "7",
        ]);
        status(&o, 0);
        assert_eq!(codes(&json(&o)), ["PKI-N07"]);
    }
    {
        let conf = LibvirtdConf::pkipath(&flat).allowed_dn([CLIENT1]);
        let d = Libvirtd::start(&conf).expect("libvirtd");
        let target = format!("127.0.0.1:{}", d.port);
        let o = pkitool([
            "probe",
            "--service",
            "libvirt",
            &target,
            "--pkipath",
            s(&client),
        ]);
        status(&o, 0);
        assert!(stdout(&o).contains("PKI-N11"), "{}", stdout(&o));
        let o = pkitool([
            "probe",
            "--service",
            "libvirt",
            &target,
            "--ca",
            s(&flat.join("cacert.pem")),
            "--client-cert",
            s(&ocert),
            "--client-key",
            s(&okey),
            "--format",
            "json",
            "--warn-within",
            "7",
        ]);
        status(&o, 1);
        let v = json(&o);
        assert_eq!(codes(&v), ["PKI-N08"], "{v:#}");
        // libvirtd's own log says why: the DN is not on the list.
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            d.log_errors().contains("tls_allowed_dn_list"),
            "{}",
            d.log()
        );
        let fix = v["findings"][0]["fix"].as_str().unwrap();
        assert!(
            fix.contains(&format!("pkitool dn {} --libvirtd", ocert.display())),
            "{fix}"
        );
        let o = run_printed(t.path(), &dn_command(fix));
        status(&o, 0);
        assert!(
            stdout(&o).contains("tls_allowed_dn_list = [\"C=GB,O=Test,CN=intruder\"]"),
            "{}",
            stdout(&o)
        );
    }
}

/// The qemu-system prefix tests/fixtures/get-qemu-system.sh fills.
fn qemu_system() -> Option<PathBuf> {
    let prefix = std::env::var_os("PKITOOL_QEMU_SYSTEM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/pkitool-ci/qemu-system"));
    let bin = prefix.join("usr/bin/qemu-system-x86_64");
    if bin.exists() {
        return Some(prefix);
    }
    if crate::util::in_ci() {
        panic!(
            "{} is missing and CI is set: run tests/fixtures/get-qemu-system.sh",
            bin.display()
        );
    }
    crate::util::note_skip(&format!(
        "{} is missing (tests/fixtures/get-qemu-system.sh)",
        bin.display()
    ));
    None
}

fn qemu_vnc(prefix: &Path, creds: Option<&Path>, log: &Path) -> (Guard, u16) {
    qemu_vnc_with(prefix, creds, "verify-peer=no", "", log)
}

/// QEMU's VNC server with `tls-creds` (`verify` = the tls-creds-x509 verify-peer option) and
/// `extra` -vnc options (`,password=on` for X509Vnc, `,sasl=on` for X509SASL).
fn qemu_vnc_with(
    prefix: &Path,
    creds: Option<&Path>,
    verify: &str,
    extra: &str,
    log: &Path,
) -> (Guard, u16) {
    // 5900 + display, in 59xx so that the port alone says "vnc"; pick a free one, never one
    // another test of this process picked (two tests starting at once both see it free).
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(40);
    loop {
        let display = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert!(display < 100, "no free VNC port");
        let port = 5900 + display;
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
            continue;
        }
        let mut cmd = Command::new(prefix.join("usr/bin/qemu-system-x86_64"));
        cmd.env("LD_LIBRARY_PATH", prefix.join("usr/lib/x86_64-linux-gnu"))
            .arg("-L")
            .arg(prefix.join("usr/share/qemu"))
            .args(["-nodefaults", "-machine", "none", "-display", "none"]);
        match creds {
            Some(dir) => {
                cmd.arg("-object")
                    .arg(format!(
                        "tls-creds-x509,id=tls0,dir={},endpoint=server,{verify}",
                        dir.display()
                    ))
                    .arg("-vnc")
                    .arg(format!("127.0.0.1:{display},tls-creds=tls0{extra}"));
            }
            None => {
                cmd.arg("-vnc").arg(format!("127.0.0.1:{display}"));
            }
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(log).unwrap())
            .spawn()
            .expect("start qemu-system-x86_64");
        wait_listening(port, &mut child, log);
        return (Guard(child), port);
    }
}

#[test]
fn vnc_vencrypt_chain_and_no_vencrypt_refusal() {
    if !(have_peer("certtool") && have_peer("openssl")) {
        return;
    }
    let Some(prefix) = qemu_system() else { return };
    let t = tmpdir();
    let (flat, sdir, _cdir) = pki(t.path());
    let (_q, port) = qemu_vnc(&prefix, Some(&sdir), &t.path().join("vnc.log"));
    let o = pkitool([
        "probe",
        &format!("127.0.0.1:{port}"),
        "--ca",
        s(&flat.join("cacert.pem")),
        "--format",
        "json",
    ]);
    let v = json(&o);
    let e = &v["endpoints"][0];
    assert_eq!(e["service"], "vnc", "the port 59xx picks vnc");
    assert_eq!(e["status"], "ok", "{v:#}");
    assert_eq!(e["vnc_subtype"], "X509None");
    assert_eq!(
        e["chain"][0]["sha256"],
        openssl_fingerprint(&sdir.join("server-cert.pem")).as_str()
    );
    assert_eq!(e["client_certificate"]["verdict"], "accepted");
    assert_eq!(v["summary"]["errors"], 0);
    status(&o, 0);
    // QEMU asks for a client certificate even with verify-peer=no and admits a client without
    // one: a warning, which --strict turns into exit 1.
    assert!(codes(&v).contains(&"PKI-N10".to_string()), "{v:#}");
    let o = pkitool([
        "probe",
        &format!("127.0.0.1:{port}"),
        "--ca",
        s(&flat.join("cacert.pem")),
        "--strict",
    ]);
    status(&o, 1);

    let (_plain, port) = qemu_vnc(&prefix, None, &t.path().join("vnc-plain.log"));
    let o = pkitool(["probe", "--service", "vnc", &format!("127.0.0.1:{port}")]);
    status(&o, 1);
    assert!(
        stdout(&o).contains(
            "failed  the VNC server offers no VeNCrypt (TLS) security type, only None(1)"
        ),
        "{}",
        stdout(&o)
    );
}

/// The other X.509 VeNCrypt subtypes QEMU offers: X509Vnc (`password=on`: a VNC password after
/// TLS) and X509SASL (`sasl=on`), with `verify-peer=yes`: the subtype numbers are QEMU's (263 is
/// X509SASL, not 264), the chain is the file's, the client certificate is admitted and, without
/// one, the session is refused.
#[test]
fn vnc_x509vnc_and_x509sasl_subtypes_against_qemu() {
    if !(have_peer("certtool") && have_peer("openssl")) {
        return;
    }
    let Some(prefix) = qemu_system() else { return };
    let t = tmpdir();
    let (flat, sdir, cdir) = pki(t.path());
    let stranger = (flat.join("strangercert.pem"), flat.join("strangerkey.pem"));
    let o = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args([
            "-subj",
            "/CN=stranger",
            "-addext",
            "extendedKeyUsage=clientAuth",
        ])
        .arg("-keyout")
        .arg(&stranger.1)
        .arg("-out")
        .arg(&stranger.0)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (opt, subtype) in [(",password=on", "X509Vnc"), (",sasl=on", "X509SASL")] {
        let log = t.path().join(format!("vnc-{subtype}.log"));
        let (_q, port) = qemu_vnc_with(&prefix, Some(&sdir), "verify-peer=yes", opt, &log);
        let o = pkitool([
            "probe",
            &format!("127.0.0.1:{port}"),
            "--ca",
            s(&flat.join("cacert.pem")),
            "--client-cert",
            s(&cdir.join("client-cert.pem")),
            "--client-key",
            s(&cdir.join("client-key.pem")),
            "--format",
            "json",
        ]);
        let v = json(&o);
        let e = &v["endpoints"][0];
        assert_eq!(e["status"], "ok", "{subtype}: {v:#}");
        assert_eq!(e["vnc_subtype"], subtype, "{v:#}");
        assert_eq!(
            e["chain"][0]["sha256"],
            openssl_fingerprint(&sdir.join("server-cert.pem")).as_str()
        );
        assert_eq!(e["client_certificate"]["verdict"], "accepted", "{v:#}");
        status(&o, 0);
        let o = pkitool([
            "probe",
            &format!("127.0.0.1:{port}"),
            "--ca",
            s(&flat.join("cacert.pem")),
            "--format",
            "json",
        ]);
        let v = json(&o);
        let e = &v["endpoints"][0];
        assert_eq!(e["vnc_subtype"], subtype, "{v:#}");
        // Without a certificate QEMU closes the session: expected, so a note (PKI-N07).
        assert_eq!(
            e["client_certificate"]["verdict"], "refused",
            "{subtype}: {v:#}"
        );
        assert!(codes(&v).contains(&"PKI-N07".to_string()), "{v:#}");
        // A certificate from a CA QEMU does not trust: refused, an error.
        let o = pkitool([
            "probe",
            &format!("127.0.0.1:{port}"),
            "--ca",
            s(&flat.join("cacert.pem")),
            "--client-cert",
            s(&stranger.0),
            "--client-key",
            s(&stranger.1),
            "--format",
            "json",
        ]);
        let v = json(&o);
        let e = &v["endpoints"][0];
        assert_eq!(
            e["client_certificate"]["verdict"], "refused",
            "{subtype}: {v:#}"
        );
        status(&o, 1);
    }
}

/// certtool certificate with a template, signed by the PKI's CA.
fn certtool_leaf(flat: &Path, name: &str, info: &str) -> (PathBuf, PathBuf) {
    fs::write(flat.join(format!("{name}.info")), info).unwrap();
    let key = format!("{name}key.pem");
    let cert = format!("{name}cert.pem");
    certtool(
        flat,
        &[
            "--generate-privkey",
            "--key-type",
            "rsa",
            "--bits",
            "2048",
            "--outfile",
            &key,
        ],
    );
    certtool(
        flat,
        &[
            "--generate-certificate",
            "--load-privkey",
            &key,
            "--load-ca-certificate",
            "cacert.pem",
            "--load-ca-privkey",
            "cakey.pem",
            "--template",
            &format!("{name}.info"),
            "--outfile",
            &cert,
        ],
    );
    (flat.join(cert), flat.join(key))
}

/// `openssl s_server` on 127.0.0.1 with a certificate.
fn s_server(cert: &Path, key: &Path, extra: &[&str]) -> (Guard, u16) {
    let port = free_port();
    let log = cert.with_extension("s_server.log");
    let mut child = Command::new("openssl")
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
        .arg(cert)
        .arg("-key")
        .arg(key)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server");
    wait_listening(port, &mut child, &log);
    (Guard(child), port)
}

/// The fix of the first finding with `code` in a probe's JSON.
fn fix_of(v: &serde_json::Value, code: &str) -> String {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {v:#}"))["fix"]
        .as_str()
        .unwrap()
        .to_string()
}

/// openssl (the independent judge) verifies `cert` under `ca` as a TLS server for 127.0.0.1.
fn openssl_accepts_server_for_127_0_0_1(ca: &Path, cert: &Path) {
    let o = Command::new("openssl")
        .args([
            "verify",
            "-verify_ip",
            "127.0.0.1",
            "-purpose",
            "sslserver",
            "-CAfile",
        ])
        .arg(ca)
        .arg(cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn tls_service_judges_expired_wrong_host_and_sha1() {
    if !(have_peer("certtool") && have_peer("openssl")) {
        return;
    }
    let t = tmpdir();
    let flat = t.path();
    certtool_pki(flat);
    // The same CA (key and name) re-signed for ten years, so that a re-issued year-long server
    // certificate fits inside it.
    fs::write(
        flat.join("ca.info"),
        "cn = Test CA\nca\ncert_signing_key\nexpiration_days = 3650\n",
    )
    .unwrap();
    certtool(
        flat,
        &[
            "--generate-self-signed",
            "--load-privkey",
            "cakey.pem",
            "--template",
            "ca.info",
            "--outfile",
            "cacert.pem",
        ],
    );
    let ca = flat.join("cacert.pem");
    let base = "organization = Test\ntls_www_server\nencryption_key\nsigning_key\n";
    let (expired, ekey) = certtool_leaf(
        flat,
        "expired",
        &format!(
            "{base}cn = localhost\nip_address = 127.0.0.1\nactivation_date = \"2020-01-01 00:00:00\"\nexpiration_date = \"2021-01-01 00:00:00\"\n"
        ),
    );
    let (wrong, wkey) = certtool_leaf(
        flat,
        "wrong",
        &format!(
            "{base}cn = otherhost.example\ndns_name = otherhost.example\nexpiration_days = 30\n"
        ),
    );
    // The independent judges: openssl says expired, and refuses the host name.
    let o = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&ca)
        .arg(&expired)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("expired")
            || String::from_utf8_lossy(&o.stderr).contains("expired")
    );
    let o = Command::new("openssl")
        .args(["verify", "-verify_ip", "127.0.0.1", "-CAfile"])
        .arg(&ca)
        .arg(&wrong)
        .output()
        .unwrap();
    assert!(!o.status.success());

    let (_s1, p1) = s_server(&expired, &ekey, &[]);
    let o = pkitool([
        "probe",
        "--service",
        "tls",
        &format!("127.0.0.1:{p1}"),
        "--ca",
        s(&ca),
        "--format",
        "json",
    ]);
    status(&o, 1);
    let v = json(&o);
    assert!(codes(&v).contains(&"PKI-T01".to_string()), "{v:#}");
    assert!(
        v["findings"][0]["endpoint"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    // The expired certificate's fix runs verbatim in the CA's directory and writes a fresh
    // directory (an endpoint has no file to replace): openssl accepts the new certificate for
    // the address the old one named.
    let fix = fix_of(&v, "PKI-T01");
    let cmd = fix.split("   (").next().unwrap();
    assert_eq!(
        cmd,
        format!(
            "pkitool issue server --dn O=Test,CN=localhost --san 127.0.0.1 --key-type rsa-2048 --out reissued-127.0.0.1-{p1}"
        ),
        "{fix}"
    );
    status(&run_printed(flat, cmd), 0);
    openssl_accepts_server_for_127_0_0_1(
        &ca,
        &flat.join(format!("reissued-127.0.0.1-{p1}/servercert.pem")),
    );

    let (_s2, p2) = s_server(&wrong, &wkey, &[]);
    let o = pkitool([
        "probe",
        "--service",
        "tls",
        &format!("127.0.0.1:{p2}"),
        "--ca",
        s(&ca),
        "--format",
        "json",
    ]);
    status(&o, 1);
    let v = json(&o);
    assert!(codes(&v).contains(&"PKI-H01".to_string()), "{v:#}");
    // The printed fix runs verbatim in the CA's directory, and openssl accepts its result for
    // the address probed.
    let fix = fix_of(&v, "PKI-H01");
    let cmd = fix.split("   (").next().unwrap();
    assert!(cmd.starts_with("pkitool issue server "), "{fix}");
    let o = run_printed(flat, cmd);
    status(&o, 0);
    openssl_accepts_server_for_127_0_0_1(
        &ca,
        &flat.join(format!("reissued-127.0.0.1-{p2}/servercert.pem")),
    );
    // ...and passes with the name it carries.
    let o = pkitool([
        "probe",
        "--service",
        "tls",
        &format!("127.0.0.1:{p2}"),
        "--ca",
        s(&ca),
        "--hostname",
        "otherhost.example",
    ]);
    status(&o, 0);

    // SHA-1: openssl signs it; certtool (GnuTLS, what libvirt/QEMU use) calls it insecure.
    fs::write(flat.join("sha1.cnf"), "[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=localhost\n[ext]\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n").unwrap();
    let sh = |script: &str| {
        let o = Command::new("sh")
            .args(["-c", script])
            .current_dir(flat)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    sh(
        "openssl req -new -newkey rsa:2048 -nodes -keyout sha1key.pem -out sha1.csr -config sha1.cnf",
    );
    sh(
        "openssl x509 -req -in sha1.csr -CA cacert.pem -CAkey cakey.pem -CAcreateserial -sha1 -days 30 -extfile sha1.cnf -extensions ext -out sha1cert.pem",
    );
    let o = Command::new("certtool")
        .args([
            "--verify",
            "--load-ca-certificate",
            "cacert.pem",
            "--infile",
            "sha1cert.pem",
        ])
        .current_dir(flat)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("insecure algorithm"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let (_s3, p3) = s_server(
        &flat.join("sha1cert.pem"),
        &flat.join("sha1key.pem"),
        &["-cipher", "DEFAULT@SECLEVEL=0"],
    );
    let o = pkitool([
        "probe",
        "--service",
        "tls",
        &format!("127.0.0.1:{p3}"),
        "--ca",
        s(&ca),
        "--format",
        "json",
    ]);
    status(&o, 1);
    let v = json(&o);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "PKI-C04")
        .expect("PKI-C04");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["message"], "signed with SHA-1");
}

/// In-process servers for the negative controls.
fn serve(behaviour: fn(TcpStream)) -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            std::thread::spawn(move || behaviour(c));
        }
    });
    port
}

fn probe_timed(args: &[&str]) -> (std::process::Output, Duration) {
    let start = Instant::now();
    let o = pkitool(args);
    (o, start.elapsed())
}

#[test]
fn negative_controls_give_one_line_reasons_within_the_timeout() {
    // Accepts and stays silent.
    let silent = serve(|c| {
        std::thread::sleep(Duration::from_secs(20));
        drop(c);
    });
    // A plain-text greeting (an SMTP-like banner).
    let plain = serve(|mut c| {
        let _ = c.write_all(b"220 mail.example ESMTP ready\r\n");
        std::thread::sleep(Duration::from_secs(5));
    });
    // An HTTP server: answers whatever it reads with a 400.
    let http = serve(|mut c| {
        let mut b = [0u8; 512];
        let _ = c.read(&mut b);
        let _ = c.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    });
    // Reads the ClientHello and hangs up.
    let closer = serve(|mut c| {
        let mut b = [0u8; 5];
        let _ = c.read_exact(&mut b);
    });
    let refused = free_port();

    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!("127.0.0.1:{silent}"),
            "tls",
            "failed  timed out during the TLS handshake (--timeout 1 s)",
        ),
        (
            format!("127.0.0.1:{silent}"),
            "nbd",
            "failed  timed out waiting for the NBD greeting (--timeout 1 s)",
        ),
        (
            format!("127.0.0.1:{silent}"),
            "vnc",
            "failed  timed out waiting for the RFB greeting (--timeout 1 s)",
        ),
        (
            format!("127.0.0.1:{plain}"),
            "libvirt",
            "failed  not TLS: the server answered the ClientHello with \"220 mail.example ESMTP ready\\r\\n\"",
        ),
        (
            format!("127.0.0.1:{plain}"),
            "nbd",
            "failed  not an NBD server (no NBDMAGIC greeting): it sent \"220 mail\"",
        ),
        (
            format!("127.0.0.1:{http}"),
            "tls",
            "failed  not TLS: the server answered the ClientHello with \"HTTP/1.1 400 Bad Request",
        ),
        (
            format!("127.0.0.1:{closer}"),
            "tls",
            "failed  the server closed the connection during the TLS handshake",
        ),
        (
            format!("127.0.0.1:{refused}"),
            "libvirt",
            "failed  connection refused by 127.0.0.1:",
        ),
    ];
    for (target, svc, want) in &cases {
        let (o, took) = probe_timed(&["probe", "--service", svc, target, "--timeout", "1"]);
        status(&o, 1);
        let out = stdout(&o);
        assert!(out.contains(want), "{svc} {target}: want {want:?}\n{out}");
        // one line: the reason line has no continuation
        let line = out.lines().find(|l| l.contains("failed  ")).unwrap();
        assert!(line.len() < 200, "{line}");
        assert!(
            took < Duration::from_secs(4),
            "{svc} {target} took {took:?}"
        );
    }
}

#[test]
fn many_targets_keep_their_order_and_usage_errors_exit_2() {
    let refused: Vec<u16> = (0..20).map(|_| free_port()).collect();
    let mut args = vec![
        "probe".to_string(),
        "--service".into(),
        "libvirt".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(refused.iter().map(|p| format!("127.0.0.1:{p}")));
    let o = pkitool(&args);
    status(&o, 1);
    let v = json(&o);
    let got: Vec<u64> = v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["port"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = refused.iter().map(|p| u64::from(*p)).collect();
    assert_eq!(got, want);
    assert_eq!(v["summary"]["failed"], 20);
    assert!(codes(&v).iter().all(|c| c == "PKI-N01"));

    for (args, msg) in [
        (
            vec!["probe", "h:4443"],
            "port 4443 does not tell the service; give --service",
        ),
        (vec!["probe", "h"], "no port and no --service"),
        (
            vec!["probe", "--service", "tls", "h"],
            "--service tls has no default port",
        ),
        (vec!["probe", "h:16514", "--timeout", "0"], "--timeout 0"),
        (
            vec!["probe", "h:16514", "--ca", "/nonexistent/ca.pem"],
            "--ca /nonexistent/ca.pem",
        ),
        (
            vec!["probe", "h:16514", "--pkipath", "/nonexistent"],
            "--pkipath /nonexistent: not a directory",
        ),
    ] {
        let o = pkitool(&args);
        status(&o, 2);
        assert!(
            crate::util::stderr(&o).contains(msg),
            "{args:?}: {}",
            crate::util::stderr(&o)
        );
    }
    let o = pkitool(["probe", "h:16514", "--client-cert", "x.pem"]);
    status(&o, 2);
}

#[test]
fn tls12_and_tls13_client_certificate_demands() {
    if !(have_peer("certtool") && have_peer("openssl")) {
        return;
    }
    let t = tmpdir();
    let flat = t.path();
    certtool_pki(flat);
    let ca = flat.join("cacert.pem");
    // A client certificate from a CA the server does not trust (openssl, self-signed).
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=stranger",
        ])
        .args(["-addext", "extendedKeyUsage=clientAuth", "-keyout"])
        .arg(flat.join("strangerkey.pem"))
        .arg("-out")
        .arg(flat.join("strangercert.pem"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (cert, key) = (flat.join("servercert.pem"), flat.join("serverkey.pem"));
    for (version, flag) in [("TLS 1.2", "-tls1_2"), ("TLS 1.3", "-tls1_3")] {
        let (_srv, port) = s_server(
            &cert,
            &key,
            &[
                flag,
                "-Verify",
                "1",
                "-verify_return_error",
                "-CAfile",
                s(&ca),
            ],
        );
        let target = format!("127.0.0.1:{port}");
        // No client certificate: the chain is captured even though the server demands one.
        let o = pkitool([
            "probe",
            "--service",
            "tls",
            &target,
            "--ca",
            s(&ca),
            "--warn-within",
            "7",
            "--format",
            "json",
        ]);
        let v = json(&o);
        status(&o, 0);
        let e = &v["endpoints"][0];
        assert_eq!(e["tls"]["version"], version, "{v:#}");
        assert_eq!(e["chain"][0]["sha256"], openssl_fingerprint(&cert).as_str());
        assert_eq!(e["client_certificate"]["requested"], true);
        // s_server also sends the CA certificate (PKI-C03, a note).
        assert_eq!(codes(&v), ["PKI-N07", "PKI-C03"], "{version}: {v:#}");
        // A certificate from another CA: refused, as its own finding.
        let o = pkitool([
            "probe",
            "--service",
            "tls",
            &target,
            "--ca",
            s(&ca),
            "--warn-within",
            "7",
            "--format",
            "json",
            "--client-cert",
            s(&flat.join("strangercert.pem")),
            "--client-key",
            s(&flat.join("strangerkey.pem")),
        ]);
        let v = json(&o);
        status(&o, 1);
        assert_eq!(codes(&v), ["PKI-N08", "PKI-C03"], "{version}: {v:#}");
        assert_eq!(v["endpoints"][0]["client_certificate"]["sent"], true);
    }
}

/// Runs a command pkitool printed, verbatim, with `sh` in `dir` (pkitool on PATH).
fn run_printed(dir: &Path, cmd: &str) -> std::process::Output {
    let bin = Path::new(crate::util::PKITOOL).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .args(["-c", cmd])
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The `pkitool dn ...` command inside a PKI-N08 fix ("... (pkitool dn FILE --qemu prints it) ...").
fn dn_command(fix: &str) -> String {
    let rest = fix
        .split("(pkitool ")
        .nth(1)
        .expect("a pkitool command in the fix");
    format!("pkitool {}", rest.split(" prints").next().unwrap())
}

#[test]
fn at_most_max_parallel_targets_at_once() {
    // the README's "up to 64 at a time" (since 7e6748d; the test asserted 16), and a few
    // targets beyond it
    let max = 64;
    assert_eq!(pkitool::probe::MAX_PARALLEL, max);
    let n = max + 4;
    use std::sync::{Arc, Mutex};
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    let accepted: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    {
        let accepted = accepted.clone();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                accepted.lock().unwrap().push(Instant::now());
                // silent until the prober gives up and closes
                std::thread::spawn(move || {
                    let mut c = c;
                    let mut b = [0u8; 4096];
                    while matches!(c.read(&mut b), Ok(n) if n > 0) {}
                });
            }
        });
    }
    let target = format!("127.0.0.1:{port}");
    let mut args = vec!["probe", "--service", "tls", "--timeout", "1"];
    args.extend(std::iter::repeat_n(target.as_str(), n));
    let (o, took) = probe_timed(&args);
    status(&o, 1);
    let times = accepted.lock().unwrap().clone();
    assert_eq!(times.len(), n);
    // The first wave: MAX_PARALLEL connections, the next ones only after their 1 s timeouts.
    let first = times[0];
    let wave = times
        .iter()
        .filter(|t| t.duration_since(first) < Duration::from_millis(900))
        .count();
    assert_eq!(
        wave,
        max,
        "{:?}",
        times
            .iter()
            .map(|t| t.duration_since(first))
            .collect::<Vec<_>>()
    );
    // two waves of one timeout each
    assert!(took < Duration::from_secs(4), "{took:?}");
    // each endpoint: its "failed" line and its PKI-N02 finding
    assert_eq!(
        stdout(&o)
            .matches("timed out during the TLS handshake")
            .count(),
        2 * n
    );
}

#[test]
fn unusable_client_identities_are_usage_errors() {
    if !have_peer("openssl") {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    let sh = |script: &str| {
        let o = Command::new("sh")
            .args(["-c", script])
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    sh(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3 -subj /CN=c -keyout k.pem -out c.pem 2>/dev/null",
    );
    sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.pem");
    sh("openssl pkcs8 -topk8 -in k.pem -passout pass:secret -v2 aes-256-cbc -out enc.pem");
    for (key, msg) in [
        ("enc.pem", "the key is encrypted"),
        (
            "other.pem",
            "the private key does not match the certificate",
        ),
        ("c.pem", "no private key in it"),
    ] {
        let o = pkitool([
            "probe",
            "127.0.0.1:16514",
            "--client-cert",
            s(&d.join("c.pem")),
            "--client-key",
            s(&d.join(key)),
        ]);
        status(&o, 2);
        let err = crate::util::stderr(&o);
        assert!(
            err.contains("--client-cert/--client-key") && err.contains(msg),
            "{key}: {err}"
        );
    }
}
