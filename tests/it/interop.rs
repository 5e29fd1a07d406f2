//! Issue 2 proof: for every key type, a CA + server + client made by `pkitool init-ca` /
//! `pkitool issue` passes `openssl verify -x509_strict` and `certtool --verify` with purpose and
//! hostname, loads in qemu-nbd and completes an NBD+TLS handshake with qemu-img, and loads in
//! libvirtd and completes `virsh hostname` over TLS (by name and by IP, with and without
//! `tls_allowed_dn_list` set to the DN pkitool printed), with negative controls that must fail.

use std::fs;
use std::path::Path;

use crate::peers::{
    Libvirtd, LibvirtdConf, QemuNbdServer, have_libvirt, have_qemu, qemu_img_info_tls,
};
use crate::util::{
    have_peer, ok, pkitool, run, stderr, stdout, tmpdir, verify_certtool, verify_openssl,
};

/// The client subject, in libvirt's order (what `tls_allowed_dn_list` compares).
const CLIENT_DN: &str = "C=GB,ST=London,L=London,O=Example Org,CN=client1";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// What `virt-pki-query-dn` (libvirt's own tool, gnutls_x509_crt_get_dn) prints for a certificate.
fn libvirt_dn(cert: &Path) -> String {
    let o = run("virt-pki-query-dn", [cert]);
    assert!(o.status.success(), "virt-pki-query-dn: {}", stderr(&o));
    stdout(&o).trim().to_string()
}

fn interop(key_type: &str) {
    if !(have_peer("openssl") && have_peer("certtool") && have_qemu() && have_libvirt()) {
        return;
    }
    let t = tmpdir();
    let root = t.path();
    let ca = root.join("ca");
    let lv_server = root.join("libvirt-server");
    let lv_client = root.join("libvirt-client");
    let q_server = root.join("qemu-server");
    let q_client = root.join("qemu-client");

    // --- provisioning with pkitool -----------------------------------------------------------
    ok(&pkitool([
        "init-ca",
        "--dir",
        s(&ca),
        "--cn",
        "pkitool interop CA",
        "--org",
        "Example Org",
        "--key-type",
        key_type,
    ]));
    let server_args = |out: &Path, layout: &str| {
        vec![
            "issue".to_string(),
            "server".into(),
            "--dir".into(),
            s(&ca).into(),
            "--out".into(),
            s(out).into(),
            "--layout".into(),
            layout.into(),
            "--cn".into(),
            "localhost".into(),
            "--san".into(),
            "localhost".into(),
            "--san".into(),
            "127.0.0.1".into(),
            "--key-type".into(),
            key_type.into(),
        ]
    };
    let client_args = |out: &Path, layout: &str| {
        vec![
            "issue".to_string(),
            "client".into(),
            "--dir".into(),
            s(&ca).into(),
            "--out".into(),
            s(out).into(),
            "--layout".into(),
            layout.into(),
            "--dn".into(),
            CLIENT_DN.into(),
            "--key-type".into(),
            key_type.into(),
        ]
    };
    ok(&pkitool(server_args(&lv_server, "flat")));
    let client_out = ok(&pkitool(client_args(&lv_client, "flat")));
    ok(&pkitool(server_args(&q_server, "qemu")));
    ok(&pkitool(client_args(&q_client, "qemu")));

    // The DN pkitool printed is the one libvirt computes from the certificate.
    let dn = libvirt_dn(&lv_client.join("clientcert.pem"));
    assert_eq!(dn, CLIENT_DN, "subject must be encoded in the order given");
    assert!(
        client_out.contains(&dn),
        "pkitool issue client must print the DN libvirt compares ({dn}):\n{client_out}"
    );
    assert_eq!(libvirt_dn(&q_client.join("client-cert.pem")), CLIENT_DN);

    // --- independent verifiers ---------------------------------------------------------------
    let cacert = ca.join("cacert.pem");
    for (dir, cert) in [
        (&lv_server, "servercert.pem"),
        (&q_server, "server-cert.pem"),
    ] {
        let c = dir.join(cert);
        verify_openssl(&cacert, &c, "sslserver", &["-verify_hostname", "localhost"]);
        verify_openssl(&cacert, &c, "sslserver", &["-verify_ip", "127.0.0.1"]);
        verify_certtool(&cacert, &c, "1.3.6.1.5.5.7.3.1", Some("localhost"));
        verify_certtool(&cacert, &c, "1.3.6.1.5.5.7.3.1", Some("127.0.0.1"));
    }
    for (dir, cert) in [
        (&lv_client, "clientcert.pem"),
        (&q_client, "client-cert.pem"),
    ] {
        let c = dir.join(cert);
        verify_openssl(&cacert, &c, "sslclient", &[]);
        verify_certtool(&cacert, &c, "1.3.6.1.5.5.7.3.2", None);
    }
    // Negative control for the verifiers: the wrong purpose is refused.
    let o = run(
        "openssl",
        [
            "verify",
            "-x509_strict",
            "-purpose",
            "sslclient",
            "-CAfile",
            s(&cacert),
            s(&lv_server.join("servercert.pem")),
        ],
    );
    assert!(
        !o.status.success(),
        "a server certificate must not verify as sslclient"
    );

    // The flat layout with --out != --dir carries the CA; the qemu layout names it ca-cert.pem.
    for p in [
        lv_server.join("cacert.pem"),
        lv_client.join("cacert.pem"),
        q_server.join("ca-cert.pem"),
        q_client.join("ca-cert.pem"),
    ] {
        assert_eq!(
            fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
            fs::read(&cacert).expect("cacert.pem"),
            "{} must be the CA certificate",
            p.display()
        );
    }

    // --- QEMU: qemu-nbd server, qemu-img client over NBD+TLS ------------------------------------
    let nbd = QemuNbdServer::start(&q_server, None)
        .unwrap_or_else(|e| panic!("qemu-nbd refused pkitool's {key_type} server files:\n{e}"));
    qemu_img_info_tls(&q_client, "localhost", nbd.port)
        .unwrap_or_else(|e| panic!("qemu-img by name ({key_type}):\n{e}"));
    qemu_img_info_tls(&q_client, "127.0.0.1", nbd.port)
        .unwrap_or_else(|e| panic!("qemu-img by IP ({key_type}):\n{e}"));
    // QEMU's DN authorization with the DN pkitool printed; and a negative control.
    let nbd_authz = QemuNbdServer::start(&q_server, Some(&dn)).expect("qemu-nbd with authz");
    qemu_img_info_tls(&q_client, "localhost", nbd_authz.port)
        .unwrap_or_else(|e| panic!("qemu authz with the printed DN ({key_type}):\n{e}"));
    let nbd_deny = QemuNbdServer::start(
        &q_server,
        Some("C=GB,ST=London,L=London,O=Example Org,CN=client2"),
    )
    .expect("qemu-nbd with authz");
    assert!(
        qemu_img_info_tls(&q_client, "localhost", nbd_deny.port).is_err(),
        "authz with another DN must refuse the client"
    );
    drop((nbd, nbd_authz, nbd_deny));

    // --- libvirt: libvirtd (test driver) and virsh over TLS -------------------------------------
    let conf = LibvirtdConf::pkipath(&lv_server);
    {
        let d = Libvirtd::start(&conf)
            .unwrap_or_else(|e| panic!("libvirtd refused pkitool's {key_type} files:\n{e}"));
        for host in ["localhost", "127.0.0.1"] {
            d.virsh_hostname(host, &lv_client).unwrap_or_else(|e| {
                panic!("virsh via {host} ({key_type}):\n{e}\n{}", d.log_errors())
            });
        }
    }
    {
        let d = Libvirtd::start(&conf.clone().allowed_dn([dn.clone()]))
            .unwrap_or_else(|e| panic!("libvirtd with tls_allowed_dn_list:\n{e}"));
        for host in ["localhost", "127.0.0.1"] {
            d.virsh_hostname(host, &lv_client).unwrap_or_else(|e| {
                panic!(
                    "virsh via {host} with the printed DN allowed ({key_type}):\n{e}\n{}",
                    d.log_errors()
                )
            });
        }
    }
    {
        // Negative control: a list the client's DN does not match must refuse it.
        let d = Libvirtd::start(&conf.clone().allowed_dn([
            "C=GB,ST=London,L=London,O=Example Org,CN=client2",
            "CN=client1,O=Example Org,L=London,ST=London,C=GB",
        ]))
        .expect("libvirtd with a non-matching tls_allowed_dn_list");
        let r = d.virsh_hostname("localhost", &lv_client);
        assert!(
            r.is_err(),
            "a DN list that does not match must refuse the client: {r:?}"
        );
        assert!(
            d.log_errors().contains("tls_allowed_dn_list"),
            "libvirtd must say why:\n{}",
            d.log()
        );
    }
}

#[test]
fn interop_ecdsa_p256() {
    interop("ecdsa-p256");
}

#[test]
fn interop_ecdsa_p384() {
    interop("ecdsa-p384");
}

#[test]
fn interop_ed25519() {
    interop("ed25519");
}

#[test]
fn interop_rsa_2048() {
    interop("rsa-2048");
}

#[test]
fn interop_rsa_3072() {
    interop("rsa-3072");
}

#[test]
fn interop_rsa_4096() {
    interop("rsa-4096");
}

/// `pkitool issue --ca-cert/--ca-key` with a CA made by another tool: the leaves chain and the
/// peers accept them (QEMU handshake and libvirt handshake).
fn interop_foreign_ca(make_ca: &str) {
    if !(have_peer("openssl") && have_peer("certtool") && have_qemu() && have_libvirt()) {
        return;
    }
    let t = tmpdir();
    let ca = t.path().join("foreign-ca");
    fs::create_dir(&ca).expect("mkdir");
    crate::util::sh(&ca, make_ca);
    let (cacert, cakey) = (ca.join("cacert.pem"), ca.join("cakey.pem"));
    let issue = |kind: &str, out: &Path, layout: &str, who: &[&str]| {
        let mut args = vec![
            "issue",
            kind,
            "--ca-cert",
            s(&cacert),
            "--ca-key",
            s(&cakey),
            "--out",
            s(out),
            "--layout",
            layout,
        ];
        args.extend_from_slice(who);
        ok(&pkitool(&args));
    };
    let server = [
        "--cn",
        "localhost",
        "--san",
        "localhost",
        "--san",
        "127.0.0.1",
    ];
    let client = ["--dn", CLIENT_DN];
    let (qs, qc) = (t.path().join("qs"), t.path().join("qc"));
    let (ls, lc) = (t.path().join("ls"), t.path().join("lc"));
    issue("server", &qs, "qemu", &server);
    issue("client", &qc, "qemu", &client);
    issue("server", &ls, "flat", &server);
    issue("client", &lc, "flat", &client);
    verify_openssl(
        &cacert,
        &qs.join("server-cert.pem"),
        "sslserver",
        &["-verify_hostname", "localhost"],
    );
    verify_certtool(
        &cacert,
        &lc.join("clientcert.pem"),
        "1.3.6.1.5.5.7.3.2",
        None,
    );

    let nbd = QemuNbdServer::start(&qs, None).unwrap_or_else(|e| panic!("qemu-nbd:\n{e}"));
    qemu_img_info_tls(&qc, "localhost", nbd.port).unwrap_or_else(|e| panic!("qemu-img:\n{e}"));
    let d = Libvirtd::start(&LibvirtdConf::pkipath(&ls).allowed_dn([CLIENT_DN]))
        .unwrap_or_else(|e| panic!("libvirtd:\n{e}"));
    d.virsh_hostname("localhost", &lc)
        .unwrap_or_else(|e| panic!("virsh:\n{e}\n{}", d.log_errors()));
}

#[test]
fn interop_ca_made_by_certtool_rsa() {
    interop_foreign_ca(
        "printf 'cn = certtool CA\\nou = Virt\\nou = Team\\nca\\ncert_signing_key\\nexpiration_days = 3650\\n' > ca.info\n\
         certtool --generate-privkey --outfile cakey.pem 2>/dev/null\n\
         certtool --generate-self-signed --load-privkey cakey.pem --template ca.info --outfile cacert.pem >/dev/null 2>&1\n\
         grep -q 'BEGIN RSA PRIVATE KEY' cakey.pem",
    );
}

#[test]
fn interop_ca_made_by_openssl_ec_sec1() {
    interop_foreign_ca(
        "openssl ecparam -name prime256v1 -genkey -noout -out cakey.pem\n\
         grep -q 'BEGIN EC PRIVATE KEY' cakey.pem\n\
         openssl req -x509 -new -key cakey.pem -sha256 -days 3650 -subj '/C=GB/O=Example Org/OU=Virt/OU=Team/CN=openssl CA' \
           -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out cacert.pem",
    );
}
