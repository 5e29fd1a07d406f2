//! Issue 11 (second half): `pkitool request`, `pkitool sign` and `init-ca --parent`.
//!
//! - CSRs made by certtool (ECDSA) and openssl (RSA), and by `pkitool request`, signed by
//!   `pkitool sign`, pass `openssl verify` and `certtool --verify` and complete real handshakes
//!   with qemu-nbd/qemu-img and libvirtd/virsh, with the subject DN copied byte for byte (the DN
//!   libvirt computes admits the client in `tls_allowed_dn_list` and QEMU authz).
//! - Refusals: a CA:TRUE request, an RSA-1024 key, a corrupted signature, garbage, truncated
//!   files, a certificate instead of a request, an oversized file: exit 1, the file named, the
//!   reason said, nothing written.
//! - An intermediate CA's server and client work in QEMU and libvirt and pass `pkitool
//!   validate`; the negative control (leaf + intermediate in the certificate file, root-only CA
//!   file) is refused by qemu-nbd with GnuTLS's message.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use crate::peers::{
    Libvirtd, LibvirtdConf, QemuNbdServer, have_libvirt, have_qemu, qemu_img_info_tls,
};
use crate::util::{
    have_peer, ok, pkitool, run, sh, status, stderr, stdout, tmpdir, verify_certtool,
    verify_openssl,
};

const SERVER_OID: &str = "1.3.6.1.5.5.7.3.1";
const CLIENT_OID: &str = "1.3.6.1.5.5.7.3.2";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn peers() -> bool {
    have_peer("openssl") && have_peer("certtool") && have_qemu() && have_libvirt()
}

/// The DER of the first PEM block of a file (or the file itself when it is DER).
fn der_of(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match pem::parse(&bytes) {
        Ok(p) => p.contents().to_vec(),
        Err(_) => bytes,
    }
}

/// The raw subject Name DER of a request and of a certificate.
fn csr_subject(path: &Path) -> Vec<u8> {
    let der = der_of(path);
    let (_, r) = X509CertificationRequest::from_der(&der).expect("parse CSR");
    r.certification_request_info.subject.as_raw().to_vec()
}

fn cert_subject(path: &Path) -> Vec<u8> {
    let der = der_of(path);
    let (_, c) = X509Certificate::from_der(&der).expect("parse certificate");
    c.subject().as_raw().to_vec()
}

/// What libvirt's own `virt-pki-query-dn` (gnutls_x509_crt_get_dn) prints for a certificate.
fn libvirt_dn(cert: &Path) -> String {
    let o = run("virt-pki-query-dn", [cert]);
    assert!(o.status.success(), "virt-pki-query-dn: {}", stderr(&o));
    stdout(&o).trim().to_string()
}

fn openssl_text(cert: &Path) -> String {
    let o = run("openssl", ["x509", "-noout", "-text", "-in", s(cert)]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

fn init_ca(dir: &Path, cn: &str) {
    ok(&pkitool(["init-ca", "--dir", s(dir), "--cn", cn]));
}

/// Copies files into a fresh directory under new names.
fn deploy(dir: &Path, files: &[(&Path, &str)]) {
    fs::create_dir_all(dir).expect("mkdir");
    for (from, to) in files {
        fs::copy(from, dir.join(to)).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// qemu-nbd with the server files, qemu-img with the client's; by name and by IP, with QEMU's
/// authz set to `dn` (and a negative control with another DN).
fn prove_qemu(qs: &Path, qc: &Path, dn: &str) {
    let nbd = QemuNbdServer::start(qs, Some(dn))
        .unwrap_or_else(|e| panic!("qemu-nbd refused the server files:\n{e}"));
    for host in ["localhost", "127.0.0.1"] {
        qemu_img_info_tls(qc, host, nbd.port)
            .unwrap_or_else(|e| panic!("qemu-img via {host}:\n{e}"));
    }
    let deny = QemuNbdServer::start(qs, Some("CN=someone else")).expect("qemu-nbd with authz");
    assert!(
        qemu_img_info_tls(qc, "localhost", deny.port).is_err(),
        "authz with another DN must refuse the client"
    );
}

/// libvirtd with the server files and `tls_allowed_dn_list = [dn]`; virsh with the client's.
fn prove_libvirt(ls: &Path, lc: &Path, dn: &str) {
    let d = Libvirtd::start(&LibvirtdConf::pkipath(ls).allowed_dn([dn.to_string()]))
        .unwrap_or_else(|e| panic!("libvirtd refused the server files:\n{e}"));
    for host in ["localhost", "127.0.0.1"] {
        d.virsh_hostname(host, lc)
            .unwrap_or_else(|e| panic!("virsh via {host}:\n{e}\n{}", d.log_errors()));
    }
}

/// Signs `csr` with the CA in `ca` and checks the profile pkitool promises.
fn sign(ca: &Path, kind: &str, csr: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["sign", kind, s(csr), "--dir", s(ca), "--out", s(out)];
    args.extend_from_slice(extra);
    let text = ok(&pkitool(&args));
    assert_eq!(
        csr_subject(csr),
        cert_subject(out),
        "the subject must be copied byte for byte"
    );
    let t = openssl_text(out);
    assert!(t.contains("CA:FALSE"), "{t}");
    assert!(
        t.contains(
            "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment"
        ),
        "{t}"
    );
    let eku = if kind == "server" {
        "TLS Web Server Authentication"
    } else {
        "TLS Web Client Authentication"
    };
    assert!(t.contains(eku), "{t}");
    let oid = if kind == "server" {
        SERVER_OID
    } else {
        CLIENT_OID
    };
    let cacert = ca.join("cacert.pem");
    if kind == "server" {
        verify_openssl(
            &cacert,
            out,
            "sslserver",
            &["-verify_hostname", "localhost"],
        );
        verify_openssl(&cacert, out, "sslserver", &["-verify_ip", "127.0.0.1"]);
        verify_certtool(&cacert, out, oid, Some("localhost"));
        verify_certtool(&cacert, out, oid, Some("127.0.0.1"));
    } else {
        verify_openssl(&cacert, out, "sslclient", &[]);
        verify_certtool(&cacert, out, oid, None);
    }
    text
}

fn certtool_request(
    dir: &Path,
    name: &str,
    info: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let tmpl = dir.join(format!("{name}.info"));
    fs::write(&tmpl, info).expect("write template");
    sh(
        dir,
        &format!(
            "certtool --generate-privkey --key-type ecdsa --outfile {k} 2>/dev/null\n\
             grep -q 'BEGIN EC PRIVATE KEY' {k}\n\
             certtool --generate-request --load-privkey {k} --template {t} --outfile {c} 2>/dev/null",
            k = s(&key),
            t = s(&tmpl),
            c = s(&csr)
        ),
    );
    (key, csr)
}

fn openssl_request(
    dir: &Path,
    name: &str,
    subj: &str,
    extra: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    sh(
        dir,
        &format!(
            "openssl req -new -newkey rsa:2048 -nodes -keyout {k} -subj '{subj}' {extra} -out {c} 2>/dev/null",
            k = s(&key),
            c = s(&csr)
        ),
    );
    (key, csr)
}

/// The CA's ledger (`pkitool list --format json`) records `cert` (serial as openssl prints it)
/// with `role` and, when given, `path`.
#[track_caller]
fn assert_recorded(ca: &Path, cert: &Path, role: &str, path: Option<&Path>) {
    let o = run("openssl", ["x509", "-in", s(cert), "-noout", "-serial"]);
    let serial = stdout(&o).trim().trim_start_matches("serial=").to_string();
    let list = ok(&pkitool(["list", "--dir", s(ca), "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&list).expect("list JSON");
    let found = v["certificates"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["serial"].as_str() == Some(serial.as_str()))
        .unwrap_or_else(|| panic!("{serial} is not in the ledger of {}:\n{list}", ca.display()));
    assert_eq!(found["role"], role, "{found}");
    if let Some(p) = path {
        let want = fs::canonicalize(p).expect("canonicalize");
        let paths: Vec<std::path::PathBuf> = found["paths"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str())
            .filter_map(|x| fs::canonicalize(x).ok())
            .collect();
        assert!(paths.contains(&want), "{found}");
    }
}

#[test]
fn certtool_ecdsa_and_openssl_rsa_requests_signed_work_in_qemu_and_libvirt() {
    if !peers() {
        return;
    }
    let t = tmpdir();
    let root = t.path();
    let ca = root.join("ca");
    init_ca(&ca, "csr test CA");

    // certtool, ECDSA, server: SANs from the request; the request asks for digitalSignature only
    // (certtool drops encryption_key for EC), which QEMU 10.0 would refuse; the profile fixes it.
    let (skey, scsr) = certtool_request(
        root,
        "server",
        "organization = Example Org\ncn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\n\
         tls_www_server\nencryption_key\nsigning_key\n",
    );
    // openssl, RSA, client, in an unusual RDN order that `openssl ca` would reorder.
    let client_dn = "O=Example Org,CN=client1,C=GB";
    let (ckey, ccsr) = openssl_request(root, "client", "/O=Example Org/CN=client1/C=GB", "");
    let scert = root.join("server.pem");
    let ccert = root.join("client.pem");
    let out = sign(&ca, "server", &scsr, &scert, &[]);
    assert!(out.contains("signature verified, key ECDSA P-256"), "{out}");
    assert!(out.contains("Not copied from the request"), "{out}");
    let out = sign(&ca, "client", &ccsr, &ccert, &[]);
    assert_eq!(libvirt_dn(&ccert), client_dn, "RDN order must be kept");
    assert_recorded(&ca, &scert, "server", Some(&scert));
    assert_recorded(&ca, &ccert, "client", Some(&ccert));
    assert!(
        out.contains(&format!("tls_allowed_dn_list = [\"{client_dn}\"]")),
        "{out}"
    );

    let cacert = ca.join("cacert.pem");
    let (qs, qc) = (root.join("qs"), root.join("qc"));
    deploy(
        &qs,
        &[
            (&cacert, "ca-cert.pem"),
            (&scert, "server-cert.pem"),
            (&skey, "server-key.pem"),
        ],
    );
    deploy(
        &qc,
        &[
            (&cacert, "ca-cert.pem"),
            (&ccert, "client-cert.pem"),
            (&ckey, "client-key.pem"),
        ],
    );
    prove_qemu(&qs, &qc, client_dn);
    let (ls, lc) = (root.join("ls"), root.join("lc"));
    deploy(
        &ls,
        &[
            (&cacert, "cacert.pem"),
            (&scert, "servercert.pem"),
            (&skey, "serverkey.pem"),
        ],
    );
    deploy(
        &lc,
        &[
            (&cacert, "cacert.pem"),
            (&ccert, "clientcert.pem"),
            (&ckey, "clientkey.pem"),
        ],
    );
    prove_libvirt(&ls, &lc, client_dn);
    for d in [&qs, &qc, &ls, &lc] {
        ok(&pkitool(["validate", s(d)]));
    }
}

#[test]
fn openssl_rsa_server_and_certtool_ecdsa_client_with_added_sans_and_der_input() {
    if !peers() {
        return;
    }
    let t = tmpdir();
    let root = t.path();
    let ca = root.join("ca");
    init_ca(&ca, "csr test CA 2");
    // No SANs in the request: the CN becomes DNS:localhost, --san adds the address.
    let (skey, scsr) = openssl_request(root, "server", "/CN=localhost", "");
    let sder = root.join("server.der");
    sh(
        root,
        &format!(
            "openssl req -in {} -outform DER -out {}",
            s(&scsr),
            s(&sder)
        ),
    );
    let (ckey, ccsr) = certtool_request(
        root,
        "client",
        "country = GB\nstate = London\nlocality = London\norganization = Example Org\ncn = client2\n\
         tls_www_client\nsigning_key\n",
    );
    let client_dn = "C=GB,ST=London,L=London,O=Example Org,CN=client2";
    let (scert, ccert) = (root.join("server.pem"), root.join("client.pem"));
    let out = sign(&ca, "server", &sder, &scert, &["--san", "127.0.0.1"]);
    assert!(
        out.contains("Added SANs: DNS:localhost, IP:127.0.0.1"),
        "{out}"
    );
    sign(&ca, "client", &ccsr, &ccert, &[]);
    assert_eq!(libvirt_dn(&ccert), client_dn);

    let cacert = ca.join("cacert.pem");
    let (qs, qc) = (root.join("qs"), root.join("qc"));
    deploy(
        &qs,
        &[
            (&cacert, "ca-cert.pem"),
            (&scert, "server-cert.pem"),
            (&skey, "server-key.pem"),
        ],
    );
    deploy(
        &qc,
        &[
            (&cacert, "ca-cert.pem"),
            (&ccert, "client-cert.pem"),
            (&ckey, "client-key.pem"),
        ],
    );
    prove_qemu(&qs, &qc, client_dn);
    let (ls, lc) = (root.join("ls"), root.join("lc"));
    deploy(
        &ls,
        &[
            (&cacert, "cacert.pem"),
            (&scert, "servercert.pem"),
            (&skey, "serverkey.pem"),
        ],
    );
    deploy(
        &lc,
        &[
            (&cacert, "cacert.pem"),
            (&ccert, "clientcert.pem"),
            (&ckey, "clientkey.pem"),
        ],
    );
    prove_libvirt(&ls, &lc, client_dn);

    // An existing --out is not replaced without --force; with --force it is.
    let o = pkitool([
        "sign",
        "client",
        s(&ccsr),
        "--dir",
        s(&ca),
        "--out",
        s(&ccert),
    ]);
    status(&o, 1);
    assert!(
        stderr(&o).contains("already exists; pass --force"),
        "{}",
        stderr(&o)
    );
    ok(&pkitool([
        "sign",
        "client",
        s(&ccsr),
        "--dir",
        s(&ca),
        "--out",
        s(&ccert),
        "--force",
    ]));
}

/// The `pkitool sign ...` line `pkitool request` printed.
fn printed_sign_command(out: &str) -> String {
    out.lines()
        .map(str::trim)
        .find(|l| l.starts_with("pkitool sign "))
        .unwrap_or_else(|| panic!("no sign command printed:\n{out}"))
        .to_string()
}

/// Runs a printed pkitool command verbatim with `sh` in `dir`, the built binary first on PATH.
fn run_printed(dir: &Path, cmd: &str) -> std::process::Output {
    let bin = Path::new(crate::util::PKITOOL).parent().expect("bin dir");
    std::process::Command::new("sh")
        .args(["-c", cmd])
        .current_dir(dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .expect("run sh")
}

#[test]
fn pkitool_request_then_sign_as_printed_works_in_qemu_and_libvirt() {
    if !peers() {
        return;
    }
    let t = tmpdir();
    let root = t.path();
    let ca = root.join("ca");
    init_ca(&ca, "request test CA");
    let dn = "C=GB,O=Example Org,OU=Virt,OU=Ops,CN=client3";

    // QEMU layout, the key readable by QEMU's group.
    let (qs, qc) = (root.join("qs"), root.join("qc"));
    let out = ok(&pkitool([
        "request",
        "server",
        "--layout",
        "qemu",
        "--out",
        s(&qs),
        "--cn",
        "localhost",
        "--san",
        "127.0.0.1",
        "--group",
        "libvirt-qemu",
    ]));
    let key = qs.join("server-key.pem");
    let meta = fs::metadata(&key).expect("key");
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    let gid = run("getent", ["group", "libvirt-qemu"]);
    let gid: u32 = stdout(&gid)
        .split(':')
        .nth(2)
        .expect("gid")
        .parse()
        .expect("gid");
    assert_eq!(meta.gid(), gid);
    if nix::unistd::geteuid().is_root() {
        assert_eq!(meta.uid(), 0, "run as root, the key is root:GROUP");
    }
    assert!(out.contains("mode 0640, group libvirt-qemu"), "{out}");
    let csr = qs.join("server-cert.csr");
    // An independent judge of the request's self-signature.
    let o = run("openssl", ["req", "-in", s(&csr), "-noout", "-verify"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let o = run("certtool", ["--crq-info", "--infile", s(&csr)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("DNSname: localhost"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("IPAddress: 127.0.0.1"),
        "{}",
        stdout(&o)
    );
    let cmd = printed_sign_command(&out);
    let o = run_printed(&ca, &cmd);
    assert!(o.status.success(), "{cmd}\n{}{}", stdout(&o), stderr(&o));
    let out = ok(&pkitool([
        "request",
        "client",
        "--layout",
        "qemu",
        "--out",
        s(&qc),
        "--dn",
        dn,
    ]));
    assert_eq!(
        fs::metadata(qc.join("client-key.pem"))
            .expect("key")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let o = run_printed(&ca, &printed_sign_command(&out));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    for d in [&qs, &qc] {
        fs::copy(ca.join("cacert.pem"), d.join("ca-cert.pem")).expect("copy CA");
    }
    assert_eq!(libvirt_dn(&qc.join("client-cert.pem")), dn);
    assert_eq!(
        csr_subject(&qc.join("client-cert.csr")),
        cert_subject(&qc.join("client-cert.pem"))
    );
    verify_certtool(
        &ca.join("cacert.pem"),
        &qs.join("server-cert.pem"),
        SERVER_OID,
        Some("localhost"),
    );
    prove_qemu(&qs, &qc, dn);

    // The libvirt system layout under a root prefix, then pkipath copies for the daemon.
    let sys = root.join("sys");
    let out = ok(&pkitool([
        "request",
        "server",
        "--layout",
        "libvirt",
        "--root",
        s(&sys),
        "--cn",
        "localhost",
        "--san",
        "127.0.0.1",
    ]));
    let skey = sys.join("etc/pki/libvirt/private/serverkey.pem");
    assert_eq!(
        fs::metadata(&skey).expect("key").permissions().mode() & 0o777,
        0o600
    );
    let o = run_printed(&ca, &printed_sign_command(&out));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let lc = root.join("lc");
    let out = ok(&pkitool(["request", "client", "--out", s(&lc), "--dn", dn]));
    let o = run_printed(&ca, &printed_sign_command(&out));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    fs::copy(ca.join("cacert.pem"), lc.join("cacert.pem")).expect("copy CA");
    let ls = root.join("ls");
    deploy(
        &ls,
        &[
            (&ca.join("cacert.pem"), "cacert.pem"),
            (
                &sys.join("etc/pki/libvirt/servercert.pem"),
                "servercert.pem",
            ),
            (&skey, "serverkey.pem"),
        ],
    );
    prove_libvirt(&ls, &lc, dn);
    ok(&pkitool(["validate", s(&lc)]));
}

#[test]
fn request_refuses_conflicting_flags_and_unknown_groups_writing_nothing() {
    let t = tmpdir();
    let d = t.path().join("out");
    for (args, needle) in [
        (
            vec!["--layout", "libvirt", "--out", s(&d)],
            "--out and --layout libvirt conflict",
        ),
        (
            vec!["--root", s(&d)],
            "--root is only used with --layout libvirt or qemu",
        ),
        (
            vec!["--layout", "qemu", "--out", s(&d), "--root", s(&d)],
            "--out and --root conflict",
        ),
        (
            vec!["--out", s(&d), "--csr", s(&d.join("serverkey.pem"))],
            "that is where the key goes",
        ),
        (
            vec!["--out", s(&d), "--group", "no-such-group-pkitool"],
            "--group no-such-group-pkitool: no such group",
        ),
    ] {
        let mut a = vec!["request", "server", "--cn", "localhost"];
        a.extend(args);
        let o = pkitool(&a);
        status(&o, 2);
        assert!(stderr(&o).contains(needle), "{a:?}\n{}", stderr(&o));
        assert!(!d.exists(), "nothing may be written for {a:?}");
    }
    // --layout qemu --root PREFIX: the system QEMU directory under the prefix.
    let sys = t.path().join("sys");
    ok(&pkitool([
        "request",
        "server",
        "--cn",
        "localhost",
        "--layout",
        "qemu",
        "--root",
        s(&sys),
    ]));
    assert!(sys.join("etc/pki/qemu/server-key.pem").is_file());
    assert!(sys.join("etc/pki/qemu/server-cert.csr").is_file());
    // An existing key is never replaced without --force (and the request is not written).
    fs::create_dir(&d).unwrap();
    fs::write(d.join("serverkey.pem"), "old").unwrap();
    let o = pkitool(["request", "server", "--cn", "localhost", "--out", s(&d)]);
    status(&o, 1);
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(fs::read(d.join("serverkey.pem")).unwrap(), b"old");
    assert!(!d.join("servercert.csr").exists());
}

#[test]
fn sign_refuses_ca_requests_weak_keys_bad_signatures_and_bad_files() {
    if !have_peer("openssl") {
        return;
    }
    let t = tmpdir();
    let root = t.path();
    let ca = root.join("ca");
    init_ca(&ca, "refusal CA");
    sh(
        root,
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
           -subj '/CN=evil' -addext 'basicConstraints=critical,CA:TRUE' \
           -addext 'keyUsage=critical,keyCertSign,cRLSign' -out ca-true.csr 2>/dev/null\n\
         openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca2.key \
           -subj '/CN=sneaky' -addext 'keyUsage=critical,digitalSignature,keyCertSign' -out certsign.csr 2>/dev/null\n\
         openssl req -new -newkey rsa:1024 -nodes -keyout weak.key -subj '/CN=weak' -out rsa1024.csr 2>/dev/null\n\
         openssl req -new -newkey rsa:2048 -nodes -keyout good.key -subj '/CN=localhost' -outform DER -out good.der 2>/dev/null\n\
         head -c 200 /dev/urandom > garbage.csr\n\
         openssl req -in good.der -inform DER -out good.pem\n\
         head -n 5 good.pem > truncated.csr\n\
         cp ca/cacert.pem certificate.csr\n\
         head -c 100000 /dev/zero | tr '\\0' 'A' > huge.csr\n\
         : > empty.csr\n\
         openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout mail.key \
           -subj '/CN=mail' -addext 'subjectAltName=DNS:mail.example.org,email:a@example.org' -out email-san.csr 2>/dev/null\n\
         openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout wild.key \
           -subj '/CN=wild' -addext 'subjectAltName=DNS:*.com' -out wildcard.csr 2>/dev/null\n\
         openssl req -new -newkey ed448 -nodes -keyout ed448.key -subj '/CN=ed448' -out ed448.csr 2>/dev/null\n\
         openssl req -new -newkey rsa-pss -pkeyopt rsa_keygen_bits:2048 -nodes -keyout pss.key -subj '/CN=pss' -out rsapss.csr 2>/dev/null\n\
         openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 -out dsa.param 2>/dev/null\n\
         openssl req -new -newkey param:dsa.param -nodes -keyout dsa.key -subj '/CN=dsa' -out dsa.csr 2>/dev/null",
    );
    // Corrupt the signature: flip one bit of its last byte. openssl agrees it no longer verifies.
    let mut der = fs::read(root.join("good.der")).unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    fs::write(root.join("badsig.csr"), &der).unwrap();
    let o = run(
        "openssl",
        [
            "req",
            "-inform",
            "DER",
            "-in",
            s(&root.join("badsig.csr")),
            "-noout",
            "-verify",
        ],
    );
    assert!(
        !o.status.success() || !stdout(&o).contains("verify OK"),
        "openssl must refuse the corrupted request too"
    );
    // The CA:TRUE request really asks for a CA (openssl's reading of it).
    let o = run(
        "openssl",
        [
            "req",
            "-in",
            s(&root.join("ca-true.csr")),
            "-noout",
            "-text",
        ],
    );
    assert!(stdout(&o).contains("CA:TRUE"), "{}", stdout(&o));

    for (file, kind, needle) in [
        (
            "ca-true.csr",
            "server",
            "the request asks for a CA certificate (basicConstraints CA:TRUE",
        ),
        (
            "certsign.csr",
            "client",
            "the request asks for a CA certificate (keyUsage keyCertSign)",
        ),
        ("rsa1024.csr", "client", "weak key: RSA 1024 bits"),
        (
            "email-san.csr",
            "client",
            "email:a@example.org is neither a DNS name nor an IP address",
        ),
        ("wildcard.csr", "server", "PKI-H05"),
        ("ed448.csr", "client", "unsupported key: Ed448"),
        ("rsapss.csr", "client", "unsupported key: RSA-PSS"),
        ("dsa.csr", "client", "unsupported key: DSA"),
        (
            "badsig.csr",
            "server",
            "bad signature: the request's signature does not verify",
        ),
        ("garbage.csr", "server", "no PEM block found"),
        (
            "truncated.csr",
            "server",
            "has no matching END line (truncated file?)",
        ),
        (
            "certificate.csr",
            "server",
            "this is a certificate, not a certificate request (PKCS#10)",
        ),
        (
            "huge.csr",
            "server",
            "bytes is larger than the 65536-byte limit",
        ),
        ("empty.csr", "server", "the file is empty"),
        ("missing.csr", "server", "no such file"),
    ] {
        let path = root.join(file);
        let out = root.join(format!("{file}.pem"));
        let o = pkitool(["sign", kind, s(&path), "--dir", s(&ca), "--out", s(&out)]);
        status(&o, 1);
        let err = stderr(&o);
        assert!(
            err.contains(s(&path)),
            "{file}: the message must name the file:\n{err}"
        );
        assert!(
            err.contains(needle),
            "{file}: expected {needle:?} in:\n{err}"
        );
        assert!(!out.exists(), "{file}: nothing may be written");
    }
    // The good request signs (the refusals above are about the files, not the CA).
    ok(&pkitool([
        "sign",
        "server",
        s(&root.join("good.der")),
        "--dir",
        s(&ca),
        "--out",
        s(&root.join("good-cert.pem")),
    ]));
    // --out naming the CA's own files is refused, even with --force.
    let before = fs::read(ca.join("cacert.pem")).unwrap();
    for f in ["cacert.pem", "cakey.pem"] {
        let o = pkitool([
            "sign",
            "server",
            s(&root.join("good.der")),
            "--dir",
            s(&ca),
            "--out",
            s(&ca.join(f)),
            "--force",
        ]);
        status(&o, 2);
        assert!(
            stderr(&o).contains("that is the CA's own file"),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(fs::read(ca.join("cacert.pem")).unwrap(), before);
    // --san is validated like issue's.
    let o = pkitool([
        "sign",
        "server",
        s(&root.join("good.der")),
        "--dir",
        s(&ca),
        "--out",
        s(&root.join("x.pem")),
        "--san",
        "not a name",
    ]);
    status(&o, 2);
    assert!(stderr(&o).contains("--san"), "{}", stderr(&o));
}

#[test]
fn intermediate_ca_leaves_work_in_qemu_and_libvirt_and_pass_validate() {
    if !peers() {
        return;
    }
    let t = tmpdir();
    let root = t.path();
    let (rdir, idir) = (root.join("root"), root.join("inter"));
    ok(&pkitool([
        "init-ca",
        "--dir",
        s(&rdir),
        "--cn",
        "Root CA",
        "--org",
        "Example Org",
        // A root that signs an intermediate (init-ca's default is pathLen 0).
        "--path-len",
        "1",
    ]));
    let out = ok(&pkitool([
        "init-ca",
        "--dir",
        s(&idir),
        "--parent",
        s(&rdir),
        "--cn",
        "Intermediate CA",
        "--org",
        "Example Org",
        "--key-type",
        "ecdsa-p384",
    ]));
    assert!(out.contains("issuer:   O=Example Org,CN=Root CA"), "{out}");
    let bundle = idir.join("cacert.pem");
    let rootcert = rdir.join("cacert.pem");
    let text = fs::read_to_string(&bundle).unwrap();
    assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 2, "{text}");
    // The intermediate alone (first block), as openssl sees it.
    let inter = root.join("inter-only.pem");
    let first_end = text.find("-----END CERTIFICATE-----").unwrap() + 26;
    fs::write(&inter, &text[..first_end]).unwrap();
    let it = openssl_text(&inter);
    assert!(it.contains("CA:TRUE, pathlen:0"), "{it}");
    // The root's ledger records what it signed; the intermediate's starts with itself.
    assert_recorded(&rdir, &inter, "ca", Some(&bundle));
    assert_recorded(&idir, &inter, "ca", Some(&bundle));
    assert!(it.contains("Certificate Sign, CRL Sign"), "{it}");
    // Issuer byte for byte = root subject; AKI = root SKI.
    let inter_der = der_of(&inter);
    let (_, ic) = X509Certificate::from_der(&inter_der).expect("parse intermediate");
    assert_eq!(ic.issuer().as_raw(), cert_subject(&rootcert).as_slice());
    let rt = openssl_text(&rootcert);
    let ski = rt
        .split("X509v3 Subject Key Identifier: \n")
        .nth(1)
        .and_then(|r| r.lines().next())
        .unwrap()
        .trim()
        .to_string();
    assert!(
        it.contains(&format!(
            "X509v3 Authority Key Identifier: \n                {ski}"
        )),
        "AKI must be the root's SKI {ski}:\n{it}"
    );
    let o = run(
        "openssl",
        ["verify", "-x509_strict", "-CAfile", s(&rootcert), s(&inter)],
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let o = run(
        "certtool",
        [
            "--verify",
            "--load-ca-certificate",
            s(&rootcert),
            "--infile",
            s(&inter),
        ],
    );
    assert!(
        stdout(&o).contains("Chain verification output: Verified"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );

    // An intermediate (pathLen 0) cannot be a parent.
    let o = pkitool([
        "init-ca",
        "--dir",
        s(&root.join("sub")),
        "--parent",
        s(&idir),
        "--cn",
        "Too deep",
    ]);
    status(&o, 1);
    assert!(stderr(&o).contains("pathLenConstraint 0"), "{}", stderr(&o));
    assert!(!root.join("sub").exists());

    // Leaves from the intermediate: issue copies the bundle as the CA file.
    let dn = "C=GB,O=Example Org,CN=client1";
    let issue = |kind: &str, out: &Path, layout: &str| {
        let mut a = vec![
            "issue",
            kind,
            "--dir",
            s(&idir),
            "--out",
            s(out),
            "--layout",
            layout,
        ];
        if kind == "server" {
            a.extend(["--cn", "localhost", "--san", "127.0.0.1"]);
        } else {
            a.extend(["--dn", dn]);
        }
        ok(&pkitool(&a));
    };
    let (qs, qc, ls) = (root.join("qs"), root.join("qc"), root.join("ls"));
    issue("server", &qs, "qemu");
    issue("client", &qc, "qemu");
    issue("server", &ls, "flat");
    // The libvirt client from a request signed by the intermediate.
    let lc = root.join("lc");
    let out = ok(&pkitool(["request", "client", "--out", s(&lc), "--dn", dn]));
    let o = run_printed(&idir, &printed_sign_command(&out));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("holds 2 certificates (intermediate and root)"),
        "{}",
        stdout(&o)
    );
    fs::copy(&bundle, lc.join("cacert.pem")).unwrap();
    assert_eq!(
        fs::read(qs.join("ca-cert.pem")).unwrap(),
        fs::read(&bundle).unwrap()
    );
    verify_openssl(
        &bundle,
        &qs.join("server-cert.pem"),
        "sslserver",
        &["-verify_hostname", "localhost"],
    );
    verify_certtool(&bundle, &lc.join("clientcert.pem"), CLIENT_OID, None);
    for d in [&qs, &qc, &ls, &lc] {
        ok(&pkitool(["validate", s(d)]));
    }
    prove_qemu(&qs, &qc, dn);
    prove_libvirt(&ls, &lc, dn);

    // Negative control: the leaf file carries the intermediate, the CA file only the root.
    let neg = root.join("neg");
    fs::create_dir(&neg).unwrap();
    fs::copy(&rootcert, neg.join("ca-cert.pem")).unwrap();
    fs::copy(qs.join("server-key.pem"), neg.join("server-key.pem")).unwrap();
    let mut chain = fs::read_to_string(qs.join("server-cert.pem")).unwrap();
    chain.push_str(&text[..first_end]);
    chain.push('\n');
    fs::write(neg.join("server-cert.pem"), chain).unwrap();
    let e = QemuNbdServer::start(&neg, None).expect_err("qemu-nbd must refuse a root-only CA file");
    assert!(
        e.contains("The certificate hasn't got a known issuer"),
        "qemu-nbd's refusal:\n{e}"
    );
    // pkitool validate agrees (PKI-C02).
    let o = pkitool(["validate", s(&neg)]);
    status(&o, 1);
    assert!(stdout(&o).contains("PKI-C02"), "{}", stdout(&o));
}

#[test]
fn templates_in_sign_and_request_and_parent_flags() {
    if !have_peer("openssl") {
        return;
    }
    let t = tmpdir();
    let root = t.path();
    let ca = root.join("ca");
    init_ca(&ca, "template CA");
    // request: subject and SANs from a template; a validity line is refused (it belongs to sign).
    fs::write(
        root.join("req.info"),
        "organization = Example Org\ncn = host7.example.org\ndns_name = host7.example.org\nip_address = 192.0.2.7\n",
    )
    .unwrap();
    let out = ok(&pkitool([
        "request",
        "server",
        "--out",
        s(&root.join("h7")),
        "--template",
        s(&root.join("req.info")),
    ]));
    assert!(
        out.contains("subject:  O=Example Org,CN=host7.example.org"),
        "{out}"
    );
    assert!(
        out.contains("SANs:     DNS:host7.example.org, IP:192.0.2.7"),
        "{out}"
    );
    fs::write(
        root.join("days.info"),
        "cn = x.example.org\nexpiration_days = 10\n",
    )
    .unwrap();
    let o = pkitool([
        "request",
        "server",
        "--out",
        s(&root.join("h8")),
        "--template",
        s(&root.join("days.info")),
    ]);
    status(&o, 2);
    assert!(
        stderr(&o).contains("validity and serial are decided when the request is signed"),
        "{}",
        stderr(&o)
    );
    assert!(!root.join("h8").exists());

    // sign: validity and an extra SAN from the template; its subject fields are not used.
    fs::write(
        root.join("sign.info"),
        "cn = ignored\nexpiration_days = 10\ndns_name = alias7.example.org\ntls_www_server\n",
    )
    .unwrap();
    let cert = root.join("h7.pem");
    let out = ok(&pkitool([
        "sign",
        "server",
        s(&root.join("h7/servercert.csr")),
        "--dir",
        s(&ca),
        "--out",
        s(&cert),
        "--template",
        s(&root.join("sign.info")),
    ]));
    assert!(out.contains("its subject fields are not used"), "{out}");
    let text = openssl_text(&cert);
    assert!(
        text.contains("DNS:host7.example.org, IP Address:192.0.2.7, DNS:alias7.example.org"),
        "{text}"
    );
    assert!(
        text.contains("Subject: O = Example Org, CN = host7.example.org"),
        "{text}"
    );
    let o = run(
        "openssl",
        [
            "x509",
            "-in",
            s(&cert),
            "-noout",
            "-checkend",
            &(11 * 86400).to_string(),
        ],
    );
    assert!(
        !o.status.success(),
        "a 10-day certificate must end within 11 days"
    );
    let o = run(
        "openssl",
        [
            "x509",
            "-in",
            s(&cert),
            "-noout",
            "-checkend",
            &(9 * 86400).to_string(),
        ],
    );
    assert!(
        o.status.success(),
        "a 10-day certificate must not end within 9 days"
    );
    // Past the CA's end: refused naming both dates, or shortened with --clamp-to-ca.
    let long = root.join("long.pem");
    let csr7 = root.join("h7/servercert.csr");
    let o = pkitool([
        "sign",
        "server",
        s(&csr7),
        "--dir",
        s(&ca),
        "--out",
        s(&long),
        "--days",
        "4000",
    ]);
    status(&o, 1);
    assert!(stderr(&o).contains("--clamp-to-ca"), "{}", stderr(&o));
    assert!(!long.exists());
    ok(&pkitool([
        "sign",
        "server",
        s(&csr7),
        "--dir",
        s(&ca),
        "--out",
        s(&long),
        "--days",
        "4000",
        "--clamp-to-ca",
    ]));
    let lt = openssl_text(&long);
    let ct = openssl_text(&ca.join("cacert.pem"));
    let not_after = |t: &str| {
        t.lines()
            .find(|l| l.contains("Not After"))
            .unwrap()
            .to_string()
    };
    assert_eq!(not_after(&lt), not_after(&ct));
    fs::write(root.join("ca.info"), "cn = x\nca\n").unwrap();
    let o = pkitool([
        "sign",
        "server",
        s(&root.join("h7/servercert.csr")),
        "--dir",
        s(&ca),
        "--out",
        s(&root.join("x.pem")),
        "--template",
        s(&root.join("ca.info")),
    ]);
    status(&o, 2);
    assert!(
        stderr(&o).contains("the template has a `ca` line"),
        "{}",
        stderr(&o)
    );

    // init-ca --parent with an encrypted root key and --parent-password-file.
    let pw = root.join("pw");
    fs::write(&pw, "s3cret\n").unwrap();
    // pkitool refuses a password file others can read.
    fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let eroot = root.join("eroot");
    ok(&pkitool([
        "init-ca",
        "--dir",
        s(&eroot),
        "--cn",
        "Encrypted Root",
        "--path-len",
        "1",
        "--encrypt-key",
        "--password-file",
        s(&pw),
    ]));
    let o = pkitool([
        "init-ca",
        "--dir",
        s(&root.join("i1")),
        "--parent",
        s(&eroot),
        "--cn",
        "I1",
    ]);
    status(&o, 2);
    assert!(
        stderr(&o).contains("--password-file is required for the parent CA key"),
        "{}",
        stderr(&o)
    );
    ok(&pkitool([
        "init-ca",
        "--dir",
        s(&root.join("i1")),
        "--parent",
        s(&eroot),
        "--cn",
        "I1",
        "--parent-password-file",
        s(&pw),
    ]));
    let o = run(
        "openssl",
        [
            "verify",
            "-CAfile",
            s(&eroot.join("cacert.pem")),
            s(&root.join("i1/cacert.pem")),
        ],
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // --parent-password-file needs --parent; a missing parent names its file.
    let o = pkitool([
        "init-ca",
        "--dir",
        s(&root.join("i2")),
        "--cn",
        "I2",
        "--parent-password-file",
        s(&pw),
    ]);
    status(&o, 2);
    assert!(stderr(&o).contains("--parent"), "{}", stderr(&o));
    let missing = root.join("nowhere");
    let o = pkitool([
        "init-ca",
        "--dir",
        s(&root.join("i3")),
        "--parent",
        s(&missing),
        "--cn",
        "I3",
    ]);
    status(&o, 1);
    assert!(
        stderr(&o).contains(s(&missing.join("cacert.pem"))),
        "{}",
        stderr(&o)
    );
    assert!(!root.join("i3").exists());
    // --days past the root's end is refused, naming the parent (a root made to sign
    // intermediates: init-ca's default is pathLen 0).
    let proot = root.join("proot");
    ok(&pkitool([
        "init-ca",
        "--dir",
        s(&proot),
        "--cn",
        "Parent Root",
        "--path-len",
        "1",
    ]));
    let o = pkitool([
        "init-ca",
        "--dir",
        s(&root.join("i4")),
        "--parent",
        s(&proot),
        "--cn",
        "I4",
        "--days",
        "4000",
    ]);
    status(&o, 1);
    assert!(stderr(&o).contains("shorten --days"), "{}", stderr(&o));
}

#[test]
fn every_key_and_signature_openssl_and_certtool_write_by_default_is_verified_and_signed() {
    if !(have_peer("openssl") && have_peer("certtool")) {
        return;
    }
    let t = tmpdir();
    let root = t.path();
    let ca = root.join("ca");
    init_ca(&ca, "algorithm CA");
    fs::write(root.join("t.info"), "cn = localhost\n").unwrap();
    let ossl = |key: &str, extra: &str| {
        format!(
            "openssl req -new -newkey {key} -nodes -keyout /dev/null -subj '/CN=localhost' {extra} -out"
        )
    };
    let ctool = |genkey: &str, extra: &str| {
        format!(
            "certtool --generate-privkey {genkey} --outfile k.$$ 2>/dev/null && \
             certtool --generate-request --load-privkey k.$$ --template t.info {extra} 2>/dev/null --outfile"
        )
    };
    let good = [
        ("ossl-p256", ossl("ec -pkeyopt ec_paramgen_curve:P-256", "")),
        ("ossl-p384", ossl("ec -pkeyopt ec_paramgen_curve:P-384", "")),
        (
            "ossl-p384-sha384",
            ossl("ec -pkeyopt ec_paramgen_curve:P-384", "-sha384"),
        ),
        ("ossl-p521", ossl("ec -pkeyopt ec_paramgen_curve:P-521", "")),
        (
            "ossl-p521-sha512",
            ossl("ec -pkeyopt ec_paramgen_curve:P-521", "-sha512"),
        ),
        ("ossl-ed25519", ossl("ed25519", "")),
        ("ossl-rsa2048-sha1", ossl("rsa:2048", "-sha1")),
        ("ossl-rsa3072-sha384", ossl("rsa:3072", "-sha384")),
        ("ossl-rsa4096-sha512", ossl("rsa:4096", "-sha512")),
        (
            "ossl-rsa-pss-digest-salt",
            ossl(
                "rsa:2048",
                "-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest",
            ),
        ),
        (
            "certtool-p384",
            ctool("--key-type ecdsa --curve secp384r1", ""),
        ),
        (
            "certtool-p521",
            ctool("--key-type ecdsa --curve secp521r1", ""),
        ),
        ("certtool-ed25519", ctool("--key-type ed25519", "")),
        (
            "certtool-rsa-pss",
            ctool("--key-type rsa --bits 3072", "--sign-params RSA-PSS"),
        ),
        (
            "certtool-rsa-sha512",
            ctool("--key-type rsa --bits 2048", "--hash SHA512"),
        ),
    ];
    for (name, cmd) in &good {
        let csr = root.join(format!("{name}.csr"));
        sh(root, &format!("{cmd} {}", s(&csr)));
        let cert = root.join(format!("{name}.pem"));
        let out = ok(&pkitool([
            "sign",
            "server",
            s(&csr),
            "--dir",
            s(&ca),
            "--out",
            s(&cert),
        ]));
        assert!(out.contains("signature verified"), "{name}: {out}");
        verify_openssl(
            &ca.join("cacert.pem"),
            &cert,
            "sslserver",
            &["-verify_hostname", "localhost"],
        );
        verify_certtool(&ca.join("cacert.pem"), &cert, SERVER_OID, Some("localhost"));
    }
    // What pkitool cannot verify is "unsupported", never "bad signature".
    let unsupported = [
        (
            "ossl-rsa-pss-max-salt",
            ossl("rsa:2048", "-sigopt rsa_padding_mode:pss"),
            "unsupported signature: RSA-PSS with a 222-byte salt",
        ),
        (
            "ossl-rsa-sha224",
            ossl("rsa:2048", "-sha224"),
            "unsupported signature: algorithm 1.2.840.113549.1.1.14",
        ),
        (
            "ossl-p384-sha1",
            ossl("ec -pkeyopt ec_paramgen_curve:P-384", "-sha1"),
            "unsupported signature: algorithm 1.2.840.10045.4.1",
        ),
        (
            "ossl-secp256k1",
            ossl("ec -pkeyopt ec_paramgen_curve:secp256k1", ""),
            "unsupported key: ECDSA on curve 1.3.132.0.10",
        ),
    ];
    for (name, cmd, needle) in &unsupported {
        let csr = root.join(format!("{name}.csr"));
        sh(root, &format!("{cmd} {}", s(&csr)));
        let o = run("openssl", ["req", "-in", s(&csr), "-noout", "-verify"]);
        assert!(
            o.status.success(),
            "{name}: openssl must find the request intact"
        );
        let cert = root.join(format!("{name}.pem"));
        let o = pkitool([
            "sign",
            "server",
            s(&csr),
            "--dir",
            s(&ca),
            "--out",
            s(&cert),
        ]);
        status(&o, 1);
        assert!(stderr(&o).contains(needle), "{name}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains("bad signature"),
            "{name}: {}",
            stderr(&o)
        );
        assert!(!cert.exists());
    }
}

#[test]
fn an_intermediate_under_a_certtool_root_chains_for_openssl_and_certtool() {
    if !(have_peer("openssl") && have_peer("certtool")) {
        return;
    }
    let t = tmpdir();
    let root = t.path();
    let rdir = root.join("certtool-root");
    fs::create_dir(&rdir).unwrap();
    sh(
        &rdir,
        "printf 'cn = certtool root\\nou = Virt\\nou = Team\\nca\\ncert_signing_key\\nexpiration_days = 3650\\n' > ca.info\n\
         certtool --generate-privkey --outfile cakey.pem 2>/dev/null\n\
         grep -q 'BEGIN RSA PRIVATE KEY' cakey.pem\n\
         certtool --generate-self-signed --load-privkey cakey.pem --template ca.info --outfile cacert.pem >/dev/null 2>&1",
    );
    let idir = root.join("inter");
    ok(&pkitool([
        "init-ca",
        "--dir",
        s(&idir),
        "--parent",
        s(&rdir),
        "--cn",
        "pkitool intermediate",
    ]));
    let text = fs::read_to_string(idir.join("cacert.pem")).unwrap();
    let end = text.find("-----END CERTIFICATE-----").unwrap() + 26;
    let inter = root.join("inter.pem");
    fs::write(&inter, &text[..end]).unwrap();
    // Issuer bytes = the certtool root's subject (two OUs kept); AKI = its (SHA-1) SKI.
    let ider = der_of(&inter);
    let (_, ic) = X509Certificate::from_der(&ider).expect("parse");
    assert_eq!(
        ic.issuer().as_raw(),
        cert_subject(&rdir.join("cacert.pem")).as_slice()
    );
    let o = run(
        "certtool",
        [
            "--verify",
            "--load-ca-certificate",
            s(&rdir.join("cacert.pem")),
            "--infile",
            s(&inter),
        ],
    );
    assert!(
        stdout(&o).contains("Chain verification output: Verified"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let o = run(
        "openssl",
        [
            "verify",
            "-x509_strict",
            "-CAfile",
            s(&rdir.join("cacert.pem")),
            s(&inter),
        ],
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // A leaf from the intermediate verifies against the bundle it is deployed with.
    let out = root.join("out");
    ok(&pkitool([
        "issue",
        "server",
        "--dir",
        s(&idir),
        "--out",
        s(&out),
        "--cn",
        "localhost",
    ]));
    verify_openssl(
        &out.join("cacert.pem"),
        &out.join("servercert.pem"),
        "sslserver",
        &["-verify_hostname", "localhost"],
    );
    verify_certtool(
        &out.join("cacert.pem"),
        &out.join("servercert.pem"),
        SERVER_OID,
        Some("localhost"),
    );
    ok(&pkitool(["validate", s(&out)]));
}
