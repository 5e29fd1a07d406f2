//! init-ca / issue / template show, cross-checked with openssl and certtool.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::util::*;

/// EKU OIDs for `certtool --verify-purpose`.
const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn pem_der(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let start = text
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    pem::parse(&text[start..]).unwrap().into_contents()
}

/// (subject DER, SAN extension value DER)
fn subject_and_sans(path: &Path) -> (Vec<u8>, Vec<u8>) {
    use x509_parser::prelude::*;
    let der = pem_der(path);
    let (_, c) = X509Certificate::from_der(&der).unwrap();
    let san = c
        .iter_extensions()
        .find(|e| e.oid == x509_parser::oid_registry::OID_X509_EXT_SUBJECT_ALT_NAME)
        .map(|e| e.value.to_vec())
        .unwrap_or_default();
    (c.subject().as_raw().to_vec(), san)
}

#[test]
fn every_key_type_chains_and_verifies_with_openssl_and_certtool() {
    if !have_peer("openssl") || !have_peer("certtool") {
        return;
    }
    for kt in [
        "ecdsa-p256",
        "ecdsa-p384",
        "ed25519",
        "rsa-2048",
        "rsa-3072",
        "rsa-4096",
    ] {
        let d = tmpdir();
        let p = d.path();
        ok(&pkitool_in(
            p,
            ["init-ca", "--cn", "Test CA", "--key-type", kt],
        ));
        let srv = ok(&pkitool_in(
            p,
            [
                "issue",
                "server",
                "--cn",
                "localhost",
                "--san",
                "localhost",
                "--san",
                "127.0.0.1",
                "--key-type",
                kt,
            ],
        ));
        assert!(
            srv.contains("SANs:     DNS:localhost, IP:127.0.0.1"),
            "{srv}"
        );
        let cli = ok(&pkitool_in(
            p,
            [
                "issue",
                "client",
                "--dn",
                "C=GB,O=Example Org,CN=client1",
                "--key-type",
                kt,
            ],
        ));
        assert!(
            cli.contains("tls_allowed_dn_list = [\"C=GB,O=Example Org,CN=client1\"]"),
            "{cli}"
        );
        let (ca, server, client) = (
            p.join("cacert.pem"),
            p.join("servercert.pem"),
            p.join("clientcert.pem"),
        );
        verify_openssl(
            &ca,
            &server,
            "sslserver",
            &["-verify_hostname", "localhost"],
        );
        verify_openssl(&ca, &server, "sslserver", &["-verify_ip", "127.0.0.1"]);
        verify_openssl(&ca, &client, "sslclient", &[]);
        verify_certtool(&ca, &server, SERVER_AUTH, Some("localhost"));
        verify_certtool(&ca, &client, CLIENT_AUTH, None);
        // keyUsage: digitalSignature + keyEncipherment (critical) on every leaf, whatever the key.
        let text = stdout(&run(
            "openssl",
            ["x509", "-noout", "-ext", "keyUsage,basicConstraints", "-in"]
                .iter()
                .map(|s| s.to_string())
                .chain([p.join("servercert.pem").display().to_string()]),
        ));
        assert!(
            text.contains("Key Usage: critical")
                && text.contains("Digital Signature, Key Encipherment")
                && text.contains("CA:FALSE"),
            "{kt}: {text}"
        );
        assert_eq!(mode(&p.join("cakey.pem")), 0o600);
        assert_eq!(mode(&p.join("serverkey.pem")), 0o600);
        assert_eq!(mode(&p.join("clientkey.pem")), 0o600);
        assert_eq!(mode(&p.join("servercert.pem")), 0o644);
        assert_eq!(mode(&p.join("cacert.pem")), 0o644);
    }
}

#[test]
fn libvirt_doc_templates_give_certtools_subject_and_sans() {
    if !have_peer("certtool") {
        return;
    }
    let d = tmpdir();
    let p = d.path();
    for (name, text) in [
        ("ca.info", include_str!("../../templates/ca.info")),
        ("server.info", include_str!("../../templates/server.info")),
        ("client.info", include_str!("../../templates/client.info")),
    ] {
        std::fs::write(p.join(name), text).unwrap();
    }
    // Repeated OU/DC and every subject key, to pin certtool's encoding order.
    std::fs::write(
        p.join("full.info"),
        "dc = example\nuid = u1\ncn = full.example.org\nunit = Infra\ncountry = GB\nunit = Virt\n\
         locality = London\ndc = org\norganization = Org\nstate = London\ndns_name = full\n\
         ip_address = ::1\ndns_name = full.example.org\nip_address = 10.1.2.3\ntls_www_server\n",
    )
    .unwrap();
    sh(
        p,
        "certtool --generate-privkey --key-type=ecdsa --outfile ctkey.pem 2>/dev/null
         certtool --generate-self-signed --load-privkey ctkey.pem --template ca.info --outfile ctca.pem 2>/dev/null
         for t in server client full; do
           certtool --generate-privkey --key-type=ecdsa --outfile ct-$t-key.pem 2>/dev/null
           certtool --generate-certificate --load-privkey ct-$t-key.pem --load-ca-certificate ctca.pem \
             --load-ca-privkey ctkey.pem --template $t.info --outfile ct-$t.pem 2>/dev/null
         done",
    );
    ok(&pkitool_in(
        p,
        ["init-ca", "--dir", "ca", "--template", "ca.info"],
    ));
    assert_eq!(
        subject_and_sans(&p.join("ca/cacert.pem")).0,
        subject_and_sans(&p.join("ctca.pem")).0
    );
    for (kind, t) in [
        ("server", "server"),
        ("client", "client"),
        ("server", "full"),
    ] {
        let out = format!("out-{t}");
        ok(&pkitool_in(
            p,
            [
                "issue",
                kind,
                "--dir",
                "ca",
                "--template",
                &format!("{t}.info"),
                "--out",
                &out,
            ],
        ));
        let ours = subject_and_sans(&p.join(&out).join(format!("{kind}cert.pem")));
        let theirs = subject_and_sans(&p.join(format!("ct-{t}.pem")));
        assert_eq!(ours.0, theirs.0, "{t}: subject DER differs from certtool's");
        assert_eq!(ours.1, theirs.1, "{t}: SAN DER differs from certtool's");
    }
}

#[test]
fn issues_from_a_certtool_rsa_ca_with_repeated_ou_and_dc() {
    if !have_peer("certtool") || !have_peer("openssl") {
        return;
    }
    let d = tmpdir();
    let p = d.path();
    sh(
        p,
        "printf 'cn = Multi CA\\nunit = Infra\\nunit = Virt\\ndc = example\\ndc = org\\nca\\ncert_signing_key\\nexpiration_days = 730\\n' > ca.info
         certtool --generate-privkey --outfile cakey.pem 2>/dev/null
         certtool --generate-self-signed --load-privkey cakey.pem --template ca.info --outfile cacert.pem 2>/dev/null
         grep -q 'BEGIN RSA PRIVATE KEY' cakey.pem",
    );
    ok(&pkitool_in(
        p,
        [
            "issue",
            "server",
            "--ca-cert",
            "cacert.pem",
            "--ca-key",
            "cakey.pem",
            "--out",
            "out",
            "--cn",
            "localhost",
            "--san",
            "127.0.0.1",
        ],
    ));
    assert!(
        p.join("out/cacert.pem").exists(),
        "flat layout copies the CA into --out"
    );
    let (ca, server) = (p.join("cacert.pem"), p.join("out/servercert.pem"));
    verify_openssl(
        &ca,
        &server,
        "sslserver",
        &["-verify_hostname", "localhost"],
    );
    verify_certtool(&ca, &server, SERVER_AUTH, Some("localhost"));
}

#[test]
fn issues_from_an_openssl_ec_ca_with_a_sec1_key() {
    if !have_peer("openssl") || !have_peer("certtool") {
        return;
    }
    let d = tmpdir();
    let p = d.path();
    sh(
        p,
        "openssl ecparam -name prime256v1 -genkey -noout -out ca.key
         grep -q 'BEGIN EC PRIVATE KEY' ca.key
         openssl req -x509 -new -key ca.key -subj '/C=GB/O=Example/OU=A/OU=B/CN=OpenSSL CA' -days 30 \
           -addext 'keyUsage=critical,keyCertSign,cRLSign' -out ca.crt",
    );
    ok(&pkitool_in(
        p,
        [
            "issue",
            "client",
            "--ca-cert",
            "ca.crt",
            "--ca-key",
            "ca.key",
            "--out",
            "out",
            "--cn",
            "client1",
            "--days",
            "20",
            "--layout",
            "qemu",
        ],
    ));
    let (ca, client) = (p.join("ca.crt"), p.join("out/client-cert.pem"));
    verify_openssl(&ca, &client, "sslclient", &[]);
    verify_certtool(&ca, &client, CLIENT_AUTH, None);
    // A leaf may not outlive its CA (30 days) unless asked to clamp.
    let o = pkitool_in(
        p,
        [
            "issue",
            "client",
            "--ca-cert",
            "ca.crt",
            "--ca-key",
            "ca.key",
            "--out",
            "o2",
            "--cn",
            "c2",
        ],
    );
    status(&o, 1);
    assert!(stderr(&o).contains("--clamp-to-ca"), "{}", stderr(&o));
    assert!(!p.join("o2").exists(), "nothing created after a failure");
    ok(&pkitool_in(
        p,
        [
            "issue",
            "client",
            "--ca-cert",
            "ca.crt",
            "--ca-key",
            "ca.key",
            "--out",
            "o2",
            "--cn",
            "c2",
            "--clamp-to-ca",
        ],
    ));
}

#[test]
fn encrypted_ca_key_is_pbes2_readable_by_openssl_and_certtool() {
    if !have_peer("openssl") || !have_peer("certtool") {
        return;
    }
    let d = tmpdir();
    let p = d.path();
    std::fs::write(p.join("pw"), "correct horse\n").unwrap();
    // A password file others can read is refused (issue 15).
    std::fs::set_permissions(
        p.join("pw"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let o = pkitool_in(p, ["init-ca", "--cn", "Enc CA", "--encrypt-key"]);
    status(&o, 2);
    assert!(
        stderr(&o).contains("--password-file is required"),
        "{}",
        stderr(&o)
    );
    ok(&pkitool_in(
        p,
        [
            "init-ca",
            "--cn",
            "Enc CA",
            "--encrypt-key",
            "--password-file",
            "pw",
        ],
    ));
    let key = std::fs::read_to_string(p.join("cakey.pem")).unwrap();
    assert!(key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let info = sh(p, "openssl asn1parse -in cakey.pem");
    let info = stdout(&info);
    assert!(
        info.contains("PBES2") && info.contains("PBKDF2") && info.contains("aes-256-cbc"),
        "{info}"
    );
    sh(p, "openssl pkey -in cakey.pem -passin file:pw -noout");
    sh(
        p,
        "certtool --key-info --load-privkey cakey.pem --password 'correct horse' >/dev/null",
    );
    let o = pkitool_in(p, ["issue", "server", "--cn", "localhost"]);
    status(&o, 2);
    assert!(stderr(&o).contains("--password-file"), "{}", stderr(&o));
    std::fs::write(p.join("bad"), "wrong\n").unwrap();
    std::fs::set_permissions(
        p.join("bad"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let o = pkitool_in(
        p,
        [
            "issue",
            "server",
            "--cn",
            "localhost",
            "--password-file",
            "bad",
        ],
    );
    status(&o, 1);
    assert!(stderr(&o).contains("wrong password"), "{}", stderr(&o));
    ok(&pkitool_in(
        p,
        [
            "issue",
            "server",
            "--cn",
            "localhost",
            "--password-file",
            "pw",
        ],
    ));
    verify_certtool(
        &p.join("cacert.pem"),
        &p.join("servercert.pem"),
        SERVER_AUTH,
        Some("localhost"),
    );
}

#[test]
fn refuses_to_overwrite_and_force_replaces() {
    let d = tmpdir();
    let p = d.path();
    ok(&pkitool_in(p, ["init-ca", "--cn", "CA one"]));
    let before = std::fs::read(p.join("cacert.pem")).unwrap();
    let o = pkitool_in(p, ["init-ca", "--cn", "CA two"]);
    status(&o, 1);
    assert!(stderr(&o).contains("already exists") && stderr(&o).contains("--force"));
    assert_eq!(std::fs::read(p.join("cacert.pem")).unwrap(), before);
    ok(&pkitool_in(p, ["issue", "server", "--cn", "localhost"]));
    let o = pkitool_in(p, ["issue", "server", "--cn", "localhost"]);
    status(&o, 1);
    ok(&pkitool_in(
        p,
        ["issue", "server", "--cn", "localhost", "--force"],
    ));
    ok(&pkitool_in(p, ["init-ca", "--cn", "CA two", "--force"]));
    assert_ne!(std::fs::read(p.join("cacert.pem")).unwrap(), before);
    assert_eq!(mode(&p.join("cakey.pem")), 0o600);
    let leftovers: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".pkitool"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn libvirt_layout_uses_documented_paths_and_modes_and_leaves_nothing_on_failure() {
    let d = tmpdir();
    let p = d.path();
    ok(&pkitool_in(p, ["init-ca", "--dir", "ca", "--cn", "CA"]));
    // The server key path is taken by a directory: the issue fails and nothing is left behind,
    // neither the CA copy, nor the certificate, nor new directories.
    std::fs::create_dir_all(p.join("root1/etc/pki/libvirt/private/serverkey.pem")).unwrap();
    let o = pkitool_in(
        p,
        [
            "issue", "server", "--dir", "ca", "--layout", "libvirt", "--root", "root1", "--cn",
            "h1",
        ],
    );
    status(&o, 1);
    assert!(stderr(&o).contains("serverkey.pem"), "{}", stderr(&o));
    assert!(!p.join("root1/etc/pki/libvirt/servercert.pem").exists());
    assert!(!p.join("root1/etc/pki/CA").exists());

    ok(&pkitool_in(
        p,
        [
            "issue", "server", "--dir", "ca", "--layout", "libvirt", "--root", "root", "--cn", "h1",
        ],
    ));
    ok(&pkitool_in(
        p,
        [
            "issue", "client", "--dir", "ca", "--layout", "libvirt", "--root", "root", "--cn", "c1",
        ],
    ));
    let r = p.join("root/etc/pki");
    for dir in ["", "CA", "libvirt", "libvirt/private"] {
        assert_eq!(mode(&r.join(dir)), 0o755, "{dir}");
    }
    assert_eq!(mode(&r.join("CA/cacert.pem")), 0o644);
    assert_eq!(mode(&r.join("libvirt/servercert.pem")), 0o644);
    assert_eq!(mode(&r.join("libvirt/clientcert.pem")), 0o644);
    assert_eq!(mode(&r.join("libvirt/private/serverkey.pem")), 0o600);
    assert_eq!(mode(&r.join("libvirt/private/clientkey.pem")), 0o600);
}

#[test]
fn missing_values_name_the_flag_without_a_terminal() {
    let d = tmpdir();
    let p = d.path();
    let o = pkitool_in(p, ["init-ca"]);
    status(&o, 2);
    assert!(
        stderr(&o).contains("--cn is required (no terminal to ask on)"),
        "{}",
        stderr(&o)
    );
    assert!(!p.join("cacert.pem").exists());
    ok(&pkitool_in(p, ["init-ca", "--cn", "CA"]));
    let o = pkitool_in(p, ["issue", "client"]);
    status(&o, 2);
    assert!(stderr(&o).contains("--cn is required"), "{}", stderr(&o));
    let o = pkitool_in(p, ["issue", "server", "--cn", "127.0.0.1"]);
    status(&o, 2);
    assert!(stderr(&o).contains("--san 127.0.0.1"), "{}", stderr(&o));
    // A server without --cn takes its CN from the first DNS SAN.
    let out = ok(&pkitool_in(
        p,
        ["issue", "server", "--san", "10.0.0.1", "--san", "h.example"],
    ));
    assert!(out.contains("subject:  CN=h.example"), "{out}");
    // The order the user gave is kept.
    assert!(
        out.contains("SANs:     IP:10.0.0.1, DNS:h.example"),
        "{out}"
    );
}

#[test]
fn template_traps_are_errors_naming_the_line() {
    let d = tmpdir();
    let p = d.path();
    ok(&pkitool_in(p, ["init-ca", "--cn", "CA"]));
    for (text, needle) in [
        (
            "cn = host\nCN = other\n",
            "bad.info:2: key \"CN\" is not lower-case",
        ),
        ("cn = host\n[server]\n", "bad.info:2:"),
        ("cn = host\ndns_name = a # b\n", "bad.info:2: '#' inside"),
        ("cn = host\r\n", "bad.info:1: carriage return"),
        ("cn = host\nca = no\n", "bad.info:2: ca = no"),
        (
            "cn = host\ndns_name =\n",
            "bad.info:2: dns_name has an empty value",
        ),
    ] {
        std::fs::write(p.join("bad.info"), text).unwrap();
        let o = pkitool_in(p, ["issue", "server", "--template", "bad.info", "--force"]);
        status(&o, 1);
        assert!(stderr(&o).contains(needle), "{text:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("hint:"), "{}", stderr(&o));
    }
    assert!(!p.join("servercert.pem").exists());
}

#[test]
fn template_show_prints_the_shipped_templates() {
    let out = ok(&pkitool(["template", "show", "client"]));
    assert_eq!(out, include_str!("../../templates/client.info"));
    let out = ok(&pkitool(["template", "show", "ca"]));
    assert!(out.contains("\nca\n") && out.contains("cert_signing_key"));
}

/// A CA key in the traditional DER forms openssl writes (`openssl ec -outform DER` gives SEC1,
/// `openssl rsa -traditional -outform DER` PKCS#1), which GnuTLS imports too: `--ca-key` takes
/// them, and openssl verifies what was issued with them.
#[test]
fn issue_signs_with_a_ca_key_in_traditional_der() {
    let d = tmpdir();
    let root = d.path();
    sh(
        root,
        "umask 077\n\
         openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.pem -subj '/CN=EC CA' -days 800 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out ec-ca.pem 2>/dev/null\n\
         openssl ec -in ec.pem -outform DER -out ec.der 2>/dev/null\n\
         openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.pem -subj '/CN=RSA CA' -days 800 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out rsa-ca.pem 2>/dev/null\n\
         openssl rsa -in rsa.pem -traditional -outform DER -out rsa.der 2>/dev/null\n",
    );
    // The forms really are SEC1 (version 1, then the key OCTET STRING) and PKCS#1 (version 0,
    // then the modulus INTEGER), not PKCS#8.
    assert_eq!(
        &std::fs::read(root.join("ec.der")).unwrap()[2..5],
        [0x02, 0x01, 0x01]
    );
    assert_eq!(
        &std::fs::read(root.join("rsa.der")).unwrap()[4..7],
        [0x02, 0x01, 0x00]
    );
    for (ca, key) in [("ec-ca.pem", "ec.der"), ("rsa-ca.pem", "rsa.der")] {
        let out = root.join(format!("out-{key}"));
        ok(&pkitool([
            "issue",
            "server",
            "--ca-cert",
            root.join(ca).to_str().unwrap(),
            "--ca-key",
            root.join(key).to_str().unwrap(),
            "--cn",
            "vm.example.org",
            "--out",
            out.to_str().unwrap(),
        ]));
        verify_openssl(
            &root.join(ca),
            &out.join("servercert.pem"),
            "sslserver",
            &["-verify_hostname", "vm.example.org"],
        );
    }
}
