//! `pkitool dn`, `show` and `match-dn` against the peers: `virt-pki-query-dn` byte-for-byte on
//! awkward DNs made with openssl, and the `--qemu` snippet in a real qemu-nbd TLS handshake.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// One EC key shared by all fixtures in a directory (the DN is what is under test).
fn key(dir: &Path) -> PathBuf {
    let k = dir.join("k.pem");
    if !k.exists() {
        sh(
            dir,
            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem",
        );
    }
    k
}

/// A self-signed certificate `name.pem` made by `openssl req -x509` with extra arguments.
fn openssl_cert(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let k = key(dir);
    let out = dir.join(format!("{name}.pem"));
    let o = Command::new("openssl")
        .args(["req", "-x509", "-new", "-days", "2", "-key"])
        .arg(&k)
        .arg("-out")
        .arg(&out)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        o.status.success(),
        "openssl req {args:?} failed: {}",
        stderr(&o)
    );
    out
}

/// A certificate whose subject comes from an openssl config file.
fn openssl_cert_cfg(dir: &Path, name: &str, dn_section: &str, string_mask: &str) -> PathBuf {
    let cfg = dir.join(format!("{name}.cnf"));
    std::fs::write(
        &cfg,
        format!(
            "[req]\ndistinguished_name = dn\nprompt = no\nstring_mask = {string_mask}\nutf8 = yes\n[dn]\n{dn_section}"
        ),
    )
    .unwrap();
    openssl_cert(dir, name, &["-config", cfg.to_str().unwrap()])
}

/// Re-encodes a certificate after replacing bytes in its DER (same length), re-signed by openssl
/// so it stays a well-formed, correctly signed certificate.
fn patched_cert(dir: &Path, name: &str, from: &str, from_bytes: &[u8], to_bytes: &[u8]) -> PathBuf {
    let src = dir.join(format!("{from}.pem"));
    let der = dir.join(format!("{name}.der"));
    let o = run(
        "openssl",
        [
            "x509",
            "-in",
            src.to_str().unwrap(),
            "-outform",
            "der",
            "-out",
            der.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&der).unwrap();
    assert_eq!(from_bytes.len(), to_bytes.len());
    let pos = bytes
        .windows(from_bytes.len())
        .position(|w| w == from_bytes)
        .expect("bytes to patch");
    let mut patched = bytes.clone();
    patched[pos..pos + to_bytes.len()].copy_from_slice(to_bytes);
    std::fs::write(&der, &patched).unwrap();
    let out = dir.join(format!("{name}.pem"));
    let k = key(dir);
    let o = run(
        "openssl",
        [
            "x509",
            "-inform",
            "der",
            "-in",
            der.to_str().unwrap(),
            "-key",
            k.to_str().unwrap(),
            "-out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

/// (pkitool dn, virt-pki-query-dn) stdout bytes, both required to succeed.
fn both_dns(cert: &Path) -> (Vec<u8>, Vec<u8>) {
    let ours = pkitool([Path::new("dn"), cert]);
    ok(&ours);
    let theirs = run("virt-pki-query-dn", [cert]);
    assert!(
        theirs.status.success(),
        "virt-pki-query-dn {}: {}",
        cert.display(),
        stderr(&theirs)
    );
    (ours.stdout, theirs.stdout)
}

/// Every awkward DN the issue lists, compared byte-for-byte with virt-pki-query-dn.
#[test]
fn dn_matches_virt_pki_query_dn_on_awkward_dns() {
    if !have_peer("openssl") || !have_peer("virt-pki-query-dn") {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    let mut certs = vec![
        openssl_cert(
            d,
            "libvirt-doc",
            &[
                "-subj",
                "/C=GB/ST=London/L=London/O=Example Org/OU=Virt Team/CN=client1",
            ],
        ),
        openssl_cert(
            d,
            "comma-plus",
            &[
                "-subj",
                "/C=GB/O=Example\\, Inc./OU=R&D \\+ Ops/CN=client #2 = weird",
            ],
        ),
        openssl_cert(
            d,
            "utf8",
            &["-utf8", "-subj", "/O=Société Générale/CN=Zoë Ångström"],
        ),
        openssl_cert(
            d,
            "ou-dc-email-uid",
            &[
                "-subj",
                "/DC=com/DC=example/DC=lab/OU=One/OU=Two/OU=Three/UID=jdoe/emailAddress=jdoe@example.com/CN=jdoe",
            ],
        ),
        openssl_cert(
            d,
            "multi-valued",
            &[
                "-multivalue-rdn",
                "-subj",
                "/C=GB/O=Example Org/CN=client1+UID=u1+OU=ops",
            ],
        ),
        openssl_cert(
            d,
            "leading-trailing",
            &["-subj", "/CN=\\ leading/O=\\#hash/OU=trail\\ /L= both "],
        ),
        openssl_cert(
            d,
            "specials",
            &[
                "-subj",
                "/L=a=b;c<d>e\"f\\\\g/O=semi;colon/OU=<angle>/CN=back\\\\slash \"q\"",
            ],
        ),
        openssl_cert(
            d,
            "attributes",
            &[
                "-utf8",
                "-subj",
                "/C=GB/serialNumber=12345/title=Dr/givenName=Zoë/SN=Ång/street=1 Main St/postalCode=SW1A 1AA/pseudonym=zed/initials=ZA/CN=person",
            ],
        ),
        openssl_cert(d, "unknown-oid", &["-subj", "/1.2.3.4.5=custom/CN=x"]),
        openssl_cert_cfg(
            d,
            "bmp",
            "C = GB\nO = 日本語の組織\nCN = Ünïcode 漢字\n",
            "default",
        ),
        openssl_cert_cfg(d, "t61-ascii", "C = GB\nO = a@b_c\nCN = plain\n", "default"),
        openssl_cert_cfg(
            d,
            "config-quotes",
            "C = GB\nO = it's \"quoted\", really\nCN = a+b\n",
            "utf8only",
        ),
    ];
    openssl_cert(d, "c-base", &["-subj", "/C=GB/CN=x"]);
    // UTF8String country (GnuTLS prints C=#0c024742): PrintableString tag 0x13 -> UTF8String 0x0c.
    certs.push(patched_cert(
        d,
        "c-utf8",
        "c-base",
        &[0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'G', b'B'],
        &[0x06, 0x03, 0x55, 0x04, 0x06, 0x0c, 0x02, b'G', b'B'],
    ));
    let mut differences = Vec::new();
    for c in &certs {
        let (ours, theirs) = both_dns(c);
        if ours != theirs {
            differences.push(format!(
                "{}:\n  pkitool:           {:?}\n  virt-pki-query-dn: {:?}",
                c.file_name().unwrap().to_string_lossy(),
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            ));
        }
        assert!(ours.ends_with(b"\n") && ours.iter().filter(|b| **b == b'\n').count() == 1);
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // A sanity anchor, so the comparison cannot pass by both printing nothing useful.
    let (ours, _) = both_dns(&certs[0]);
    assert_eq!(
        ours,
        b"C=GB,ST=London,L=London,O=Example Org,OU=Virt Team,CN=client1\n"
    );
}

/// A T61String holding non-ASCII (Latin-1) bytes.
/// GnuTLS prints it as `#` + hex of the content and then escapes the leading `#` (`\#dc6e...`).
#[test]
fn dn_t61string_with_non_ascii_bytes_matches_virt_pki_query_dn() {
    if !have_peer("openssl") || !have_peer("virt-pki-query-dn") {
        return;
    }
    let t = tmpdir();
    let c = openssl_cert_cfg(
        t.path(),
        "t61",
        "C = GB\nOU = Ünïcode\nCN = plain\n",
        "default",
    );
    let (ours, theirs) = both_dns(&c);
    assert_eq!(theirs, b"C=GB,OU=\\#dc6eef636f6465,CN=plain\n");
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
}

#[test]
fn dn_takes_the_first_certificate_of_a_bundle_with_text_before() {
    if !have_peer("openssl") || !have_peer("virt-pki-query-dn") {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    let a = openssl_cert(d, "a", &["-subj", "/O=First/CN=a"]);
    let b = openssl_cert(d, "b", &["-subj", "/O=Second/CN=b"]);
    let mut bundle = b"Certificate dump from certtool -i\n\tSubject: ...\n".to_vec();
    bundle.extend(std::fs::read(&a).unwrap());
    bundle.extend(std::fs::read(&b).unwrap());
    let f = d.join("bundle.pem");
    std::fs::write(&f, bundle).unwrap();
    let (ours, theirs) = both_dns(&f);
    assert_eq!(ours, theirs);
    assert_eq!(ours, b"O=First,CN=a\n");
}

#[test]
fn dn_errors_name_the_file_and_fail_like_virt_pki_query_dn() {
    if !have_peer("openssl") {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    let cert = openssl_cert(d, "c", &["-subj", "/CN=x"]);
    sh(
        d,
        "openssl x509 -in c.pem -outform der -out c.der && printf 'hello\\nworld\\n' > garbage.txt && : > empty.pem
         printf -- '-----BEGIN CERTIFICATE-----\\nMAMCAQA=\\n-----END CERTIFICATE-----\\n' > notx509.pem
         head -n 5 c.pem > truncated.pem",
    );
    let cases: &[(&str, &str)] = &[
        ("missing.pem", "no such file"),
        ("c.der", "DER"),
        ("garbage.txt", "no PEM block"),
        ("k.pem", "holds no certificate, only private key"),
        ("empty.pem", "empty"),
        (
            "notx509.pem",
            "line 1: the certificate is not valid X.509 DER",
        ),
        ("truncated.pem", "has no matching END line"),
        (".", "directory"),
    ];
    for (name, want) in cases {
        let path = d.join(name);
        let o = pkitool([Path::new("dn"), &path]);
        status(&o, 1);
        let err = stderr(&o);
        assert!(
            err.contains(&path.display().to_string()) && err.contains(want),
            "{name}: {err}"
        );
        assert!(stdout(&o).is_empty(), "{name}: {}", stdout(&o));
        assert!(!err.contains("panicked"), "{err}");
        if *name != "." && have_peer("virt-pki-query-dn") {
            let v = run("virt-pki-query-dn", [&path]);
            assert!(!v.status.success(), "virt-pki-query-dn accepted {name}");
        }
    }
    let _ = cert;
}

#[test]
fn dn_libvirtd_line_quotes_without_escapes() {
    if !have_peer("openssl") {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    let plain = openssl_cert(d, "plain", &["-subj", "/C=GB/O=Example\\, Inc./CN=client1"]);
    let o = ok(&pkitool([Path::new("dn"), Path::new("--libvirtd"), &plain]));
    assert_eq!(
        o,
        "tls_allowed_dn_list = [\"C=GB,O=Example\\, Inc.,CN=client1\"]\n"
    );
    // A `"` in the DN (GnuTLS prints `\"`): libvirtd.conf has no escapes, so single quotes.
    let quoted = openssl_cert(d, "quoted", &["-subj", "/CN=say \"hi\""]);
    let o = ok(&pkitool([
        Path::new("dn"),
        Path::new("--libvirtd"),
        &quoted,
    ]));
    assert_eq!(o, "tls_allowed_dn_list = ['CN=say \\\"hi\\\"']\n");
}

/// The issue's qemu-nbd example, for real: the printed `--object authz-simple,...` argument (and
/// the QMP JSON's arguments, as a JSON `--object`) let the matching client in and keep a client
/// with another DN out.
#[test]
fn qemu_authz_snippet_admits_the_matching_client_only() {
    for p in ["openssl", "qemu-nbd", "qemu-img"] {
        if !have_peer(p) {
            return;
        }
    }
    let t = tmpdir();
    let d = t.path();
    let pki = make_qemu_pki(d);
    sh(d, "qemu-img create -q -f raw disk.raw 1M");

    let dn_out = ok(&pkitool([
        Path::new("dn"),
        Path::new("--qemu"),
        &pki.good.join("client-cert.pem"),
    ]));
    let mut lines = dn_out.lines();
    let object_arg = lines.next().unwrap().to_string();
    let qmp = lines.next().unwrap().to_string();
    assert!(lines.next().is_none());
    assert!(
        object_arg.starts_with(
            "--object 'authz-simple,id=auth0,identity=C=GB,,O=Example\\,, Inc.,,CN=client 1'"
        ),
        "{object_arg}"
    );
    let qmp: serde_json::Value = serde_json::from_str(&qmp).unwrap();
    assert_eq!(qmp["execute"], "object-add");
    assert_eq!(
        qmp["arguments"]["identity"],
        "C=GB,O=Example\\, Inc.,CN=client 1"
    );

    // 1. The shell-ready command-line argument, through a real shell.
    let json_object = format!("--object '{}'", qmp["arguments"]);
    for authz in [object_arg.as_str(), json_object.as_str()] {
        let port = free_port();
        let server = NbdServer::start(d, &pki.server, port, authz);
        let good = qemu_img_info(&pki.good, port);
        assert!(
            good.status.success(),
            "matching client refused with {authz}\nclient: {}\nserver: {}",
            stderr(&good),
            server.log()
        );
        assert!(
            stdout(&good).contains("virtual size: 1 MiB"),
            "{}",
            stdout(&good)
        );
        let bad = qemu_img_info(&pki.bad, port);
        assert!(
            !bad.status.success(),
            "client with another DN admitted with {authz}: {}",
            stdout(&bad)
        );
        drop(server);
        // The refusal is the authz check, not a TLS failure.
        let log = std::fs::read_to_string(d.join("nbd.log")).unwrap_or_default();
        assert!(
            log.contains("TLS x509 authz check for C=GB,O=Example\\, Inc.,CN=client 2 is denied"),
            "{log}"
        );
    }
}

struct QemuPki {
    server: PathBuf,
    good: PathBuf,
    bad: PathBuf,
}

fn make_qemu_pki(d: &Path) -> QemuPki {
    sh(
        d,
        r#"
set -e
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca-key.pem
openssl req -x509 -new -key ca-key.pem -out ca-cert.pem -days 2 -subj "/O=Example Org/CN=Test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
leaf() { # name subject extensions
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1-key.pem"
  openssl req -new -key "$1-key.pem" -subj "$2" -out "$1.csr"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1-cert.pem"
}
leaf server "/O=Example Org/CN=localhost" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
CLIENT_EXT="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
leaf good "/C=GB/O=Example\, Inc./CN=client 1" "$CLIENT_EXT"
leaf bad "/C=GB/O=Example\, Inc./CN=client 2" "$CLIENT_EXT"
mkdir server good bad
cp ca-cert.pem server/ && cp server-cert.pem server-key.pem server/
for c in good bad; do
  cp ca-cert.pem $c/ && cp $c-cert.pem $c/client-cert.pem && cp $c-key.pem $c/client-key.pem
done
openssl verify -CAfile ca-cert.pem server-cert.pem good-cert.pem bad-cert.pem
"#,
    );
    QemuPki {
        server: d.join("server"),
        good: d.join("good"),
        bad: d.join("bad"),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// qemu-nbd, killed when dropped (also when an assertion fails).
struct NbdServer {
    child: Child,
    log: PathBuf,
}

impl NbdServer {
    fn start(d: &Path, server_dir: &Path, port: u16, authz_arg: &str) -> Self {
        let log = d.join("nbd.log");
        let script = format!(
            "exec qemu-nbd -b 127.0.0.1 -p {port} -t -e 4 -f raw \
             --object tls-creds-x509,id=tls0,dir={},endpoint=server,verify-peer=yes \
             {authz_arg} --tls-creds tls0 --tls-authz auth0 disk.raw",
            server_dir.display()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start qemu-nbd");
        let mut server = NbdServer { child, log };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(st)) = server.child.try_wait() {
                panic!("qemu-nbd exited ({st}): {}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "qemu-nbd did not listen: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NbdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn qemu_img_info(client_dir: &Path, port: u16) -> std::process::Output {
    let mut cmd = Command::new("qemu-img");
    cmd.args([
        "info",
        "--object",
        &format!(
            "tls-creds-x509,id=tls0,dir={},endpoint=client",
            client_dir.display()
        ),
        "--image-opts",
        &format!("driver=nbd,host=127.0.0.1,port={port},tls-creds=tls0"),
    ]);
    run_with_timeout(cmd, Duration::from_secs(30))
}

fn run_with_timeout(mut cmd: Command, limit: Duration) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn match_dn_matches_and_explains_near_misses() {
    if !have_peer("openssl") {
        return;
    }
    let t = tmpdir();
    let c = openssl_cert(
        t.path(),
        "c",
        &[
            "-subj",
            "/C=GB/ST=London/L=London/O=Example Org/OU=Virt Team/CN=client1",
        ],
    );
    let dn = "C=GB,ST=London,L=London,O=Example Org,OU=Virt Team,CN=client1";
    let m = |pattern: &str| pkitool([Path::new("match-dn"), Path::new(pattern), &c]);
    for good in [
        dn,
        "C=GB,*,CN=client?",
        "*",
        "C=GB,ST=London,L=London,O=Example Org,*",
    ] {
        let o = m(good);
        assert!(ok(&o).starts_with("matches\n"), "{good}");
    }
    let cases: &[(&str, &str)] = &[
        (
            "CN=client1,OU=Virt Team,O=Example Org,L=London,ST=London,C=GB",
            "reverse (RFC 4514) order",
        ),
        (
            "C=GB, ST=London, L=London, O=Example Org, OU=Virt Team, CN=client1",
            "spaces after commas",
        ),
        (
            "C=GB,,ST=London,,L=London,,O=Example Org,,OU=Virt Team,,CN=client1",
            "doubled commas",
        ),
        (
            "c=gb,st=london,l=london,o=example org,ou=virt team,cn=client1",
            "case",
        ),
        ("C=GB,ST=London,L=London,O=Example Org,CN=client1", "lacks"),
        (
            "C=GB,*,CN=client2",
            "`CN=client2` where the certificate has `CN=client1`",
        ),
    ];
    for (pattern, want) in cases {
        let o = m(pattern);
        status(&o, 1);
        let out = stdout(&o);
        assert!(out.starts_with("does not match: "), "{pattern}: {out}");
        assert!(out.contains(want), "{pattern}: {out}");
        assert!(out.contains(&format!("certificate DN:    {dn}\n")), "{out}");
        let suggestion = out
            .lines()
            .find_map(|l| l.strip_prefix("suggested pattern: "))
            .expect("a suggestion");
        // The suggestion really matches.
        ok(&m(suggestion));
    }
    // A key instead of a certificate, a missing or an unreadable file: the file is named, exit
    // 2 (1 means only "no match").
    let o = pkitool([
        Path::new("match-dn"),
        Path::new("*"),
        &t.path().join("k.pem"),
    ]);
    status(&o, 2);
    assert!(stderr(&o).contains("k.pem"));
    let missing = t.path().join("missing.pem");
    let o = pkitool([Path::new("match-dn"), Path::new("*"), &missing]);
    status(&o, 2);
    assert!(
        stderr(&o).contains("missing.pem: no such file"),
        "{}",
        stderr(&o)
    );
    let o = pkitool([Path::new("match-dn"), Path::new("*"), t.path()]);
    status(&o, 2);
}

/// A PKI made with certtool (CA, server, expired client, CRL) plus openssl keys in every format.
fn show_fixtures(d: &Path) {
    sh(
        d,
        r#"
set -e
certtool --generate-privkey --key-type ecdsa --outfile ca.key 2>/dev/null
cat > ca.info <<EOF
cn = "Show Test CA"
organization = "Example Org"
ca
cert_signing_key
crl_signing_key
expiration_days = 100
EOF
certtool --generate-self-signed --load-privkey ca.key --template ca.info --outfile ca.pem 2>/dev/null
certtool --generate-privkey --key-type rsa --bits 2048 --outfile server.key 2>/dev/null
cat > server.info <<EOF
organization = "Example Org"
cn = "vm"
dns_name = "vm.example.com"
dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"
tls_www_server
signing_key
encryption_key
expiration_days = 50
EOF
certtool --generate-certificate --load-privkey server.key --load-ca-privkey ca.key \
  --load-ca-certificate ca.pem --template server.info --outfile server.pem 2>/dev/null
certtool --generate-privkey --key-type ecdsa --outfile client.key 2>/dev/null
cat > client.info <<EOF
country = GB
organization = "Example Org"
cn = "client1"
tls_www_client
signing_key
serial = 4660
activation_date = "2019-01-01 00:00:00"
expiration_date = "2020-01-01 00:00:00"
EOF
certtool --generate-certificate --load-privkey client.key --load-ca-privkey ca.key \
  --load-ca-certificate ca.pem --template client.info --outfile client.pem 2>/dev/null
cat > crl.info <<EOF
crl_next_update = 7
crl_number = 42
EOF
certtool --generate-crl --load-ca-privkey ca.key --load-ca-certificate ca.pem \
  --load-certificate client.pem --template crl.info --outfile crl.pem 2>/dev/null
cat ca.pem server.pem > bundle.pem
openssl x509 -in server.pem -outform der -out server.der
openssl genrsa -traditional -out rsa-pkcs1.key 3072 2>/dev/null
openssl ecparam -name secp384r1 -genkey -noout -out ec-sec1.key
openssl genpkey -algorithm ed25519 -out ed.key
openssl pkcs8 -topk8 -in rsa-pkcs1.key -v2 aes-256-cbc -passout pass:secret -out enc.key
printf 'not a certificate\n' > garbage.pem
"#,
    );
}

/// Every base64 body line of every key file: none of it may ever appear in show's output.
fn key_body_lines(d: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for f in [
        "ca.key",
        "server.key",
        "client.key",
        "rsa-pkcs1.key",
        "ec-sec1.key",
        "ed.key",
        "enc.key",
    ] {
        let text = std::fs::read_to_string(d.join(f)).unwrap();
        out.extend(
            text.lines()
                .filter(|l| !l.starts_with("-----") && l.len() > 16 && !l.contains(':'))
                .map(str::to_string),
        );
    }
    out
}

#[test]
fn show_describes_bundles_keys_and_crls_and_survives_bad_files() {
    if !have_peer("certtool") || !have_peer("openssl") {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    show_fixtures(d);
    let files = [
        "bundle.pem",
        "missing.pem",
        "client.pem",
        "server.der",
        "crl.pem",
        "garbage.pem",
        "server.key",
        "rsa-pkcs1.key",
        "ec-sec1.key",
        "ed.key",
        "enc.key",
    ];
    let mut args = vec!["show".to_string()];
    args.extend(files.iter().map(|f| d.join(f).display().to_string()));
    let o = pkitool(&args);
    status(&o, 1);
    let out = stdout(&o);
    let err = stderr(&o);
    assert!(err.contains("missing.pem: no such file"), "{err}");
    assert!(err.contains("garbage.pem"), "{err}");
    assert!(!err.contains("bundle.pem"), "{err}");
    // The bundle: both certificates, in libvirt order, with roles.
    assert!(out.contains("bundle.pem: PEM (2 objects)"), "{out}");
    assert!(
        out.contains("subject:             O=Example Org,CN=Show Test CA"),
        "{out}"
    );
    assert!(
        out.contains("subject:             O=Example Org,CN=vm"),
        "{out}"
    );
    assert!(
        out.contains(
            "alt names:           DNS:vm.example.com, DNS:localhost, IP:127.0.0.1, IP:::1"
        ),
        "{out}"
    );
    assert!(
        out.contains("as CA:               yes (libvirt, QEMU)"),
        "{out}"
    );
    assert!(
        out.contains("key usage:           digitalSignature, keyEncipherment (critical)"),
        "{out}"
    );
    assert!(
        out.contains("extended key usage:  serverAuth (not critical)"),
        "{out}"
    );
    assert!(
        out.contains("key:                 RSA (2048 bits)"),
        "{out}"
    );
    // The expired client and the CRL revoking it.
    assert!(
        out.contains("subject:             C=GB,O=Example Org,CN=client1"),
        "{out}"
    );
    assert!(out.contains("serial:              1234"), "{out}");
    let expired = out
        .lines()
        .find(|l| l.contains("2020-01-01"))
        .expect("client validity");
    assert!(
        expired.contains("expired ") && expired.ends_with(" days ago)"),
        "{expired}"
    );
    assert!(out.contains("certificate revocation list"), "{out}");
    assert!(out.contains("CRL number:          42"), "{out}");
    assert!(out.contains("revoked:             1234 on "), "{out}");
    // DER certificate: same fingerprint as openssl computes.
    let fp = run(
        "openssl",
        [
            "x509",
            "-in",
            d.join("server.pem").to_str().unwrap(),
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
    );
    let fp = stdout(&fp);
    let fp = fp.trim().rsplit('=').next().unwrap();
    assert!(
        out.contains(&format!("SHA-256:             {fp}")),
        "{fp}\n{out}"
    );
    assert!(out.contains("server.der: DER (1 object)"), "{out}");
    // Keys: type, size, format, encryption; never the material.
    assert!(
        out.contains("key:                 RSA (3072 bits)"),
        "{out}"
    );
    assert!(
        out.contains("key:                 ECDSA P-384 (384 bits)"),
        "{out}"
    );
    assert!(
        out.contains("key:                 Ed25519 (256 bits)"),
        "{out}"
    );
    assert!(out.contains("private key, encrypted"), "{out}");
    assert!(out.contains("PBES2 (PBKDF2-HMAC-SHA256"), "{out}");
    assert!(out.contains("AES-256-CBC)"), "{out}");
    for line in key_body_lines(d) {
        assert!(
            !out.contains(&line) && !err.contains(&line),
            "key material printed: {line}"
        );
    }
}

#[test]
fn show_json_is_a_stable_schema() {
    if !have_peer("certtool") || !have_peer("openssl") {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    show_fixtures(d);
    let o = pkitool([
        Path::new("show"),
        Path::new("--format"),
        Path::new("json"),
        &d.join("bundle.pem"),
        &d.join("client.pem"),
        &d.join("crl.pem"),
        &d.join("enc.key"),
        &d.join("ec-sec1.key"),
        &d.join("missing.pem"),
    ]);
    status(&o, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["version"], 1);
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 6);
    let ca = &files[0]["objects"][0];
    assert_eq!(ca["kind"], "certificate");
    assert_eq!(ca["index"], 1);
    assert_eq!(ca["subject"], "O=Example Org,CN=Show Test CA");
    assert_eq!(ca["self_signed"], true);
    assert_eq!(ca["basic_constraints"]["ca"], true);
    assert_eq!(ca["roles"]["libvirt"]["ca"]["ok"], true);
    assert_eq!(ca["roles"]["qemu"]["server"]["ok"], false);
    let server = &files[0]["objects"][1];
    assert_eq!(server["issuer"], "O=Example Org,CN=Show Test CA");
    assert_eq!(server["roles"]["libvirt"]["server"]["ok"], true);
    assert_eq!(server["roles"]["qemu"]["ca"]["ok"], false);
    assert_eq!(server["key"]["algorithm"], "RSA");
    assert_eq!(server["key"]["bits"], 2048);
    assert_eq!(server["extended_key_usage"]["usages"][0], "serverAuth");
    assert_eq!(server["extended_key_usage"]["critical"], false);
    assert_eq!(server["subject_key_id"].as_str().unwrap().len(), 59);
    assert_eq!(server["authority_key_id"], ca["subject_key_id"]);
    let client = &files[1]["objects"][0];
    assert_eq!(client["status"], "expired");
    assert!(client["days_left"].as_i64().unwrap() < -300);
    assert_eq!(client["serial"], "1234");
    let crl = &files[2]["objects"][0];
    assert_eq!(crl["kind"], "crl");
    assert_eq!(crl["revoked"][0]["serial"], "1234");
    assert_eq!(crl["stale"], false);
    let enc = &files[3]["objects"][0];
    assert_eq!(enc["kind"], "private_key");
    assert_eq!(enc["encrypted"], true);
    assert!(enc["key"].is_null());
    let sec1 = &files[4]["objects"][0];
    assert_eq!(sec1["format"], "sec1");
    assert_eq!(sec1["key"]["curve"], "P-384");
    assert!(files[5]["error"].as_str().unwrap().contains("no such file"));
    assert!(files[5]["objects"].as_array().unwrap().is_empty());
}

/// The `--libvirtd` string read back by libvirt's own config parser (virconf.c, shared by
/// libvirtd.conf and the client's libvirt.conf): virsh logs the `uri_default` string it parsed,
/// so the quoted value must come back as exactly the DN, backslashes and quotes included.
#[test]
fn dn_libvirtd_string_parses_back_to_the_dn_in_libvirts_config_parser() {
    for p in ["openssl", "virsh", "setpriv"] {
        if !have_peer(p) {
            return;
        }
    }
    let t = tmpdir();
    let d = t.path();
    let certs = [
        openssl_cert(
            d,
            "plain",
            &["-subj", "/C=GB/O=Example\\, Inc./CN=back\\\\slash"],
        ),
        openssl_cert(d, "dquote", &["-subj", "/CN=say \"hi\"/O=a\\, b"]),
        openssl_cert(d, "both", &["-subj", "/CN=it's \"x\" y"]),
    ];
    sh(d, "mkdir -p xdg/libvirt && chmod -R a+rwX .");
    let is_root = nix::unistd::geteuid().is_root();
    for c in &certs {
        let dn = ok(&pkitool([Path::new("dn"), c]));
        let dn = dn.trim_end_matches('\n');
        let line = ok(&pkitool([Path::new("dn"), Path::new("--libvirtd"), c]));
        let quoted = line
            .trim_end()
            .strip_prefix("tls_allowed_dn_list = [")
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or_else(|| panic!("{line}"));
        std::fs::write(
            d.join("xdg/libvirt/libvirt.conf"),
            format!("uri_default = {quoted}\n"),
        )
        .unwrap();
        let xdg = d.join("xdg");
        let mut cmd = if is_root {
            // As root, virsh reads /etc/libvirt/libvirt.conf: run it as nobody instead.
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "virsh",
            ]);
            c
        } else {
            Command::new("virsh")
        };
        cmd.arg("uri")
            .env("HOME", &xdg)
            .env("XDG_CONFIG_HOME", &xdg)
            .env("XDG_RUNTIME_DIR", &xdg)
            .env("XDG_CACHE_HOME", &xdg)
            .env("LIBVIRT_DEBUG", "1")
            .env_remove("LIBVIRT_DEFAULT_URI");
        let o = run_with_timeout(cmd, Duration::from_secs(30));
        let log = stderr(&o);
        assert!(
            log.contains(&format!("Using config file uri '{dn}'")),
            "{quoted} did not parse back to {dn}:\n{}",
            log.lines()
                .filter(|l| l.contains("uri") || l.contains("error"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
