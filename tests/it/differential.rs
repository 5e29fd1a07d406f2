//! Issue 3 proof: pkitool's verdict equals the peers'. For each PKI below (made with certtool and
//! openssl by the scripts in this file, never by pkitool), `pkitool validate DIR --hostname
//! localhost --format json` must report errors exactly when
//!
//! - QEMU refuses it: qemu-nbd refuses the server files at load, or the NBD+TLS handshake with
//!   `qemu-img info` (a good client, connecting to `localhost`) fails; and exactly when
//! - libvirt refuses it: libvirtd refuses the files at load, or `virsh -c test+tls://localhost...`
//!   fails.
//!
//! Each case also states what the peers do with it on this machine (QEMU 10.0.2, libvirt 9.0,
//! GnuTLS 3.7.9), so a fixture that does not produce the defect it names fails the test too, and
//! which finding class pkitool must raise.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::peers::{
    Libvirtd, LibvirtdConf, QemuNbdServer, have_libvirt, have_qemu, qemu_img_info_tls,
    virsh_hostname,
};
use crate::util::{have_peer, pkitool, sh, stderr, stdout};

/// Shell functions and templates shared by the case scripts. `$B` is the base directory.
const PRELUDE: &str = r#"
B="$BASE"
leaf() { # key template out [issuer-prefix] [extra certtool args...]
  k=$1; t=$2; o=$3; p=${4:-ca}; shift 4 2>/dev/null || shift $#
  certtool --generate-certificate --load-privkey "$k" --load-ca-certificate "$B/${p}cert.pem" \
    --load-ca-privkey "$B/${p}key.pem" --template "$t" --outfile "$o" "$@" >/dev/null 2>&1
}
oleaf() { # key extfile out : openssl-signed leaf with the extensions in extfile, by the main CA
  openssl req -new -key "$1" -subj "/O=Example Org/CN=localhost" -out leaf.csr 2>/dev/null
  openssl x509 -req -in leaf.csr -CA "$B/cacert.pem" -CAkey "$B/cakey.pem" -CAcreateserial \
    -days 365 -sha256 -extfile "$2" -out "$3" 2>/dev/null
  rm -f leaf.csr
}
"#;

/// Makes the base: a main CA (ECDSA), another CA, an expired CA, keys, and a good client.
const BASE_SCRIPT: &str = r#"
printf 'cn = Differential CA\norganization = Example Org\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 3650\n' > ca.info
printf 'cn = Other CA\nca\ncert_signing_key\nexpiration_days = 3650\n' > other.info
printf 'cn = Expired CA\nca\ncert_signing_key\nactivation_date = "2019-01-01 00:00:00"\nexpiration_date = "2020-01-01 00:00:00"\n' > expired.info
for p in ca other expired; do
  certtool --generate-privkey --key-type ecdsa --outfile ${p}key.pem 2>/dev/null
  certtool --generate-self-signed --load-privkey ${p}key.pem --template $p.info --outfile ${p}cert.pem >/dev/null 2>&1
done
certtool --generate-privkey --key-type rsa --bits 2048 --outfile rsa.pem 2>/dev/null
certtool --generate-privkey --key-type rsa --bits 2048 --outfile rsa2.pem 2>/dev/null
certtool --generate-privkey --key-type rsa --bits 1024 --outfile rsa1024.pem 2>/dev/null
certtool --generate-privkey --key-type ecdsa --outfile ec.pem 2>/dev/null
cat > server.info <<'EOF'
organization = Example Org
cn = localhost
dns_name = localhost
ip_address = 127.0.0.1
tls_www_server
encryption_key
signing_key
expiration_days = 365
EOF
cat > client.info <<'EOF'
country = GB
state = London
locality = London
organization = Example Org
cn = client1
tls_www_client
encryption_key
signing_key
expiration_days = 365
EOF
certtool --generate-privkey --key-type rsa --bits 2048 --outfile clientkey.pem 2>/dev/null
leaf clientkey.pem client.info clientcert.pem ca
mkdir -p qemu-client libvirt-client
cp cacert.pem qemu-client/ca-cert.pem; cp clientcert.pem qemu-client/client-cert.pem
cp clientkey.pem qemu-client/client-key.pem
cp cacert.pem libvirt-client/cacert.pem; cp clientcert.pem libvirt-client/clientcert.pem
cp clientkey.pem libvirt-client/clientkey.pem
chmod 600 qemu-client/client-key.pem libvirt-client/clientkey.pem
leaf rsa.pem server.info servercert.pem ca
mkdir -p qemu-server libvirt-server
cp cacert.pem qemu-server/ca-cert.pem; cp servercert.pem qemu-server/server-cert.pem
cp rsa.pem qemu-server/server-key.pem
cp cacert.pem libvirt-server/cacert.pem; cp servercert.pem libvirt-server/servercert.pem
cp rsa.pem libvirt-server/serverkey.pem
chmod 600 qemu-server/server-key.pem libvirt-server/serverkey.pem
"#;

/// What the peers do with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peers {
    /// Both load the files and complete the handshake.
    Accept,
    /// Both refuse (at load or at handshake).
    Refuse,
}

/// Which end of the connection the case's files are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The case is the server's files; the client is the base's good client.
    Server,
    /// The case is the client's files; the server is the base's good server.
    Client,
}

struct Case {
    name: &'static str,
    side: Side,
    /// Writes ca-cert.pem plus server-cert.pem and server-key.pem (Side::Server) or
    /// client-cert.pem and client-key.pem (Side::Client) into the current directory.
    script: &'static str,
    peers: Peers,
    /// When refused: finding classes of which pkitool must raise at least one error.
    classes: &'static [&'static str],
}

fn base() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = crate::util::shared_tmp("differential");
        sh(
            &dir,
            &format!("BASE={}\n{PRELUDE}\n{BASE_SCRIPT}", dir.display()),
        );
        dir
    })
}

/// Builds the case into DIR/qemu (QEMU names) and DIR/libvirt (libvirt pkipath names), keys 0600.
fn build(case: &Case, dir: &Path) -> (PathBuf, PathBuf) {
    let work = dir.join("work");
    fs::create_dir_all(&work).expect("mkdir");
    sh(
        &work,
        &format!("BASE={}\n{PRELUDE}\n{}", base().display(), case.script),
    );
    let q = dir.join("qemu");
    let l = dir.join("libvirt");
    fs::create_dir_all(&q).expect("mkdir");
    fs::create_dir_all(&l).expect("mkdir");
    let role = match case.side {
        Side::Server => "server",
        Side::Client => "client",
    };
    let files = [
        ("ca-cert.pem".to_string(), "cacert.pem".to_string()),
        (format!("{role}-cert.pem"), format!("{role}cert.pem")),
        (format!("{role}-key.pem"), format!("{role}key.pem")),
    ];
    for (qn, ln) in &files {
        let src = work.join(qn);
        for dst in [q.join(qn), l.join(ln)] {
            fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{}: {qn}: {e}", case.name));
        }
    }
    for k in [q.join(&files[2].0), l.join(&files[2].1)] {
        fs::set_permissions(&k, fs::Permissions::from_mode(0o600)).expect("chmod key");
    }
    (q, l)
}

/// `Err(why)` when QEMU refuses: qemu-nbd at load, or the qemu-img side (its own sanity check
/// at load, or the handshake).
fn qemu_verdict(side: Side, qdir: &Path) -> Result<(), String> {
    let (server, client) = match side {
        Side::Server => (qdir.to_path_buf(), base().join("qemu-client")),
        Side::Client => (base().join("qemu-server"), qdir.to_path_buf()),
    };
    let srv = QemuNbdServer::start(&server, None).map_err(|e| format!("qemu-nbd at load: {e}"))?;
    qemu_img_info_tls(&client, "localhost", srv.port).map_err(|e| format!("qemu-img: {e}"))
}

/// `Err(why)` when libvirt refuses: libvirtd at load, or virsh (its own sanity check before
/// connecting, or the handshake, where libvirtd checks the client).
fn libvirt_verdict(side: Side, ldir: &Path) -> Result<(), String> {
    let (server, client) = match side {
        Side::Server => (ldir.to_path_buf(), base().join("libvirt-client")),
        Side::Client => (base().join("libvirt-server"), ldir.to_path_buf()),
    };
    let d = Libvirtd::start(&LibvirtdConf::pkipath(&server))
        .map_err(|e| format!("libvirtd at load: {e}"))?;
    virsh_hostname("localhost", d.port, &client)
        .map(|_| ())
        .map_err(|e| format!("virsh: {e}\nlibvirtd log:\n{}", d.log_errors()))
}

/// pkitool's verdict: the error findings (class and code), the whole JSON for messages, and the
/// exit status (which callers compare with an independent expectation).
fn pkitool_verdict(dir: &Path) -> (Vec<(String, String)>, String, Option<i32>) {
    let o = pkitool([
        "validate",
        dir.to_str().expect("utf-8 path"),
        "--hostname",
        "localhost",
        "--format",
        "json",
    ]);
    let out = stdout(&o);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| {
        panic!(
            "validate --format json is not JSON ({e}):\n{out}\nstderr:\n{}",
            stderr(&o)
        )
    });
    let n = v["summary"]["errors"]
        .as_u64()
        .unwrap_or_else(|| panic!("summary.errors missing:\n{out}"));
    let errors: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("findings missing:\n{out}"))
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| {
            (
                f["class"].as_str().unwrap_or_default().to_string(),
                f["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        n as usize,
        errors.len(),
        "summary.errors counts the error findings:\n{out}"
    );
    (errors, out, o.status.code())
}

fn differential(case: &Case) {
    if !(have_peer("certtool") && have_peer("openssl") && have_qemu() && have_libvirt()) {
        return;
    }
    let t = crate::util::tmpdir();
    let (qdir, ldir) = build(case, t.path());

    for (peer, dir, verdict) in [
        ("QEMU", &qdir, qemu_verdict(case.side, &qdir)),
        ("libvirt", &ldir, libvirt_verdict(case.side, &ldir)),
    ] {
        // The fixture does what it says to the real peer.
        match (case.peers, &verdict) {
            (Peers::Accept, Err(why)) => {
                panic!("{}: {peer} should accept it but refused:\n{why}", case.name)
            }
            (Peers::Refuse, Ok(())) => {
                panic!("{}: {peer} should refuse it but accepted it", case.name)
            }
            _ => {}
        }
        // pkitool agrees with the peer: its exit is what the case states (1 exactly when the
        // peer refuses; warnings exit 0), and its errors are of the case's classes.
        let (errors, json, exit) = pkitool_verdict(dir);
        let want_exit = match case.peers {
            Peers::Accept => 0,
            Peers::Refuse => 1,
        };
        assert_eq!(
            exit,
            Some(want_exit),
            "{}: {peer} {:?}s {} so validate must exit {want_exit}:\n{json}",
            case.name,
            case.peers,
            dir.display()
        );
        match &verdict {
            Ok(()) => assert!(
                errors.is_empty(),
                "{}: {peer} accepts {} but pkitool reports errors {errors:?}:\n{json}",
                case.name,
                dir.display()
            ),
            Err(why) => {
                assert!(
                    !errors.is_empty(),
                    "{}: {peer} refuses {} but pkitool reports no error\n{peer}: {why}\npkitool:\n{json}",
                    case.name,
                    dir.display()
                );
                assert!(
                    errors
                        .iter()
                        .any(|(class, _)| case.classes.contains(&class.as_str())),
                    "{}: pkitool's errors {errors:?} have none of the classes {:?}\n{peer}: {why}\n{json}",
                    case.name,
                    case.classes
                );
            }
        }
    }
}

macro_rules! cases {
    ($($(#[$attr:meta])* $fn_name:ident => $case:expr;)*) => {$(
        #[test]
        $(#[$attr])*
        fn $fn_name() {
            differential(&$case);
        }
    )*};
}

cases! {
    differential_good_rsa => Case {
        side: Side::Server,
        name: "good RSA layout (certtool, libvirt guide templates)",
        script: r#"cp $B/rsa.pem server-key.pem; leaf server-key.pem $B/server.info server-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Accept,
        classes: &[],
    };
    differential_good_ecdsa_openssl => Case {
        side: Side::Server,
        name: "good ECDSA leaf with keyEncipherment (openssl)",
        script: r#"printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' > ext
                   cp $B/ec.pem server-key.pem; oleaf server-key.pem ext server-cert.pem
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Accept,
        classes: &[],
    };
    differential_cn_only => Case {
        side: Side::Server,
        name: "CN=localhost and no SAN (GnuTLS falls back to the CN)",
        script: r#"grep -v -e dns_name -e ip_address $B/server.info > s.info
                   cp $B/rsa.pem server-key.pem; leaf server-key.pem s.info server-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Accept,
        classes: &[],
    };
    differential_noncritical_client_eku => Case {
        side: Side::Server,
        name: "server certificate with a non-critical clientAuth EKU (tolerated)",
        script: r#"sed 's/tls_www_server/tls_www_client/' $B/server.info > s.info
                   cp $B/rsa.pem server-key.pem; leaf server-key.pem s.info server-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Accept,
        classes: &[],
    };
    differential_rsa_1024 => Case {
        side: Side::Server,
        name: "RSA-1024 server key",
        script: r#"cp $B/rsa1024.pem server-key.pem; leaf server-key.pem $B/server.info server-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Accept,
        classes: &[],
    };
    differential_expired => Case {
        side: Side::Server,
        name: "expired server certificate",
        script: r#"grep -v expiration_days $B/server.info > s.info
                   printf 'activation_date = "2020-01-01 00:00:00"\nexpiration_date = "2021-01-01 00:00:00"\n' >> s.info
                   cp $B/rsa.pem server-key.pem; leaf server-key.pem s.info server-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["expired"],
    };
    differential_not_yet_valid => Case {
        side: Side::Server,
        name: "server certificate not yet valid",
        script: r#"grep -v expiration_days $B/server.info > s.info
                   printf 'activation_date = "2030-01-01 00:00:00"\nexpiration_date = "2031-01-01 00:00:00"\n' >> s.info
                   cp $B/rsa.pem server-key.pem; leaf server-key.pem s.info server-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["not_yet_valid"],
    };
    differential_wrong_ca => Case {
        side: Side::Server,
        name: "server certificate signed by another CA",
        script: r#"cp $B/rsa.pem server-key.pem; leaf server-key.pem $B/server.info server-cert.pem other
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["chain", "wrong_issuer"],
    };
    differential_ca_true_leaf => Case {
        side: Side::Server,
        name: "server certificate with CA:TRUE",
        script: r#"cat $B/server.info > s.info; echo ca >> s.info
                   cp $B/rsa.pem server-key.pem; leaf server-key.pem s.info server-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["basic_constraints"],
    };
    differential_ecdsa_without_key_encipherment => Case {
        side: Side::Server,
        name: "ECDSA server certificate without keyEncipherment (certtool drops it)",
        script: r#"cp $B/ec.pem server-key.pem; leaf server-key.pem $B/server.info server-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["key_usage"],
    };
    differential_sha1_signature => Case {
        side: Side::Server,
        name: "server certificate signed with SHA-1",
        script: r#"cp $B/rsa.pem server-key.pem; leaf server-key.pem $B/server.info server-cert.pem ca --hash SHA1
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["weak_signature"],
    };
    differential_key_mismatch => Case {
        side: Side::Server,
        name: "server key from another pair",
        script: r#"leaf $B/rsa.pem $B/server.info server-cert.pem ca; cp $B/rsa2.pem server-key.pem
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["key_mismatch"],
    };
    differential_encrypted_key => Case {
        side: Side::Server,
        name: "encrypted server key (PKCS#8, openssl)",
        script: r#"leaf $B/rsa.pem $B/server.info server-cert.pem ca
                   openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:secret -in $B/rsa.pem -out server-key.pem
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["encrypted_key"],
    };
    differential_critical_client_eku => Case {
        side: Side::Server,
        name: "server certificate with a critical clientAuth-only EKU (openssl)",
        script: r#"printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=critical,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' > ext
                   cp $B/rsa.pem server-key.pem; oleaf server-key.pem ext server-cert.pem
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["eku"],
    };
    differential_hostname_mismatch => Case {
        side: Side::Server,
        name: "server certificate for another host name",
        script: r#"sed -e 's/^cn = .*/cn = otherhost.example.com/' -e 's/^dns_name = .*/dns_name = otherhost.example.com/' \
                     -e '/ip_address/d' $B/server.info > s.info
                   cp $B/rsa.pem server-key.pem; leaf server-key.pem s.info server-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["hostname"],
    };
    differential_expired_extra_ca_in_bundle => Case {
        side: Side::Server,
        name: "CA file holding the right CA and an unrelated expired CA",
        script: r#"cp $B/rsa.pem server-key.pem; leaf server-key.pem $B/server.info server-cert.pem ca
                   cat $B/cacert.pem $B/expiredcert.pem > ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["ca_bundle", "expired"],
    };
    differential_intermediate_in_leaf_file => Case {
        side: Side::Server,
        name: "intermediate CA appended to the server certificate file",
        script: r#"printf 'cn = Intermediate CA\nca\ncert_signing_key\nexpiration_days = 365\n' > int.info
                   certtool --generate-privkey --key-type ecdsa --outfile intkey.pem 2>/dev/null
                   leaf intkey.pem int.info intcert.pem ca
                   certtool --generate-certificate --load-privkey $B/rsa.pem --load-ca-certificate intcert.pem \
                     --load-ca-privkey intkey.pem --template $B/server.info --outfile leaf.pem >/dev/null 2>&1
                   cat leaf.pem intcert.pem > server-cert.pem; cp $B/rsa.pem server-key.pem
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["chain", "wrong_issuer", "ca_bundle"],
    };
    differential_client_good_ecdsa_openssl => Case {
        side: Side::Client,
        name: "client: good ECDSA client certificate with keyEncipherment (openssl)",
        script: r#"printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > ext
                   cp $B/ec.pem client-key.pem; oleaf client-key.pem ext client-cert.pem
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Accept,
        classes: &[],
    };
    differential_client_noncritical_server_eku => Case {
        side: Side::Client,
        name: "client: certificate with a non-critical serverAuth EKU (tolerated)",
        script: r#"cp $B/rsa2.pem client-key.pem; leaf client-key.pem $B/server.info client-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Accept,
        classes: &[],
    };
    differential_client_expired => Case {
        side: Side::Client,
        name: "client: expired client certificate",
        script: r#"grep -v expiration_days $B/client.info > c.info
                   printf 'activation_date = "2020-01-01 00:00:00"\nexpiration_date = "2021-01-01 00:00:00"\n' >> c.info
                   cp $B/rsa2.pem client-key.pem; leaf client-key.pem c.info client-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["expired"],
    };
    differential_client_ca_true => Case {
        side: Side::Client,
        name: "client: client certificate with CA:TRUE",
        script: r#"cat $B/client.info > c.info; echo ca >> c.info
                   cp $B/rsa2.pem client-key.pem; leaf client-key.pem c.info client-cert.pem ca
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["basic_constraints"],
    };
    differential_client_critical_server_eku => Case {
        side: Side::Client,
        name: "client: critical serverAuth-only EKU (openssl)",
        script: r#"printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=critical,serverAuth\n' > ext
                   cp $B/rsa2.pem client-key.pem; oleaf client-key.pem ext client-cert.pem
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["eku"],
    };
    differential_issuing_ca_is_the_17th => Case {
        side: Side::Server,
        name: "issuing CA at position 17 of the CA file (libvirt and QEMU 10.0 import 16)",
        script: r#"i=1; : > ca-cert.pem
                   while [ $i -le 16 ]; do
                     printf 'cn = Filler CA %s\nca\ncert_signing_key\nexpiration_days = 3650\n' $i > f.info
                     certtool --generate-privkey --key-type ecdsa --outfile f.key 2>/dev/null
                     certtool --generate-self-signed --load-privkey f.key --template f.info >> ca-cert.pem 2>/dev/null
                     i=$((i+1))
                   done
                   cat $B/cacert.pem >> ca-cert.pem
                   cp $B/rsa.pem server-key.pem; leaf server-key.pem $B/server.info server-cert.pem ca"#,
        peers: Peers::Refuse,
        classes: &["chain"],
    };
    differential_empty_dns_san => Case {
        side: Side::Server,
        name: "an empty dNSName beside the real names (cfssl's \"hosts\": [\"\"])",
        script: r#"printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DER:30:13:82:09:6c:6f:63:61:6c:68:6f:73:74:87:04:7f:00:00:01:82:00\n' > ext
                   cp $B/rsa.pem server-key.pem; oleaf server-key.pem ext server-cert.pem
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["hostname"],
    };
    differential_client_wrong_ca => Case {
        side: Side::Client,
        name: "client: client certificate signed by another CA",
        script: r#"cp $B/rsa2.pem client-key.pem; leaf client-key.pem $B/client.info client-cert.pem other
                   cp $B/cacert.pem ca-cert.pem"#,
        peers: Peers::Refuse,
        classes: &["chain", "wrong_issuer"],
    };
}

/// The directories of a third-party corpus case, in the order of corpus-expected.tsv's columns.
const CORPUS_DIRS: [&str; 4] = [
    "qemu-server",
    "qemu-client",
    "libvirt-server",
    "libvirt-client",
];

/// One row of tests/fixtures/corpus-expected.tsv: what the consumers do with a case, stated
/// independently of pkitool, and the validate exit that follows for each directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CorpusExpected {
    qemu_accepts: bool,
    libvirt_accepts: bool,
    /// server, client, both, or - (accepted); "?" for a new case nobody has judged yet.
    side: String,
    classes: Vec<String>,
    /// Expected exit per [`CORPUS_DIRS`] entry.
    exits: [i32; 4],
}

fn corpus_expected_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus-expected.tsv")
}

/// The exit the file's rule gives: 1 exactly when the directory's consumer refuses and the
/// directory is on the refused side.
fn corpus_rule_exit(dir: &str, qemu_accepts: bool, libvirt_accepts: bool, side: &str) -> i32 {
    let accepts = if dir.starts_with("qemu") {
        qemu_accepts
    } else {
        libvirt_accepts
    };
    let role = if dir.ends_with("server") {
        "server"
    } else {
        "client"
    };
    i32::from(!accepts && (side == "both" || side == role))
}

fn verdict_word(accepts: bool) -> &'static str {
    if accepts { "accept" } else { "refuse" }
}

/// Reads corpus-expected.tsv: (the comment header, case -> row).
fn read_corpus_expected() -> (String, std::collections::BTreeMap<String, CorpusExpected>) {
    let text = fs::read_to_string(corpus_expected_path()).expect("corpus-expected.tsv");
    let mut header = String::new();
    let mut rows = std::collections::BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            header.push_str(line);
            header.push('\n');
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 9, "corpus-expected.tsv line {}: {line:?}", i + 1);
        let word = |w: &str| match w {
            "accept" => true,
            "refuse" => false,
            other => panic!("corpus-expected.tsv line {}: {other:?}", i + 1),
        };
        let exit = |w: &str| {
            w.parse::<i32>().unwrap_or_else(|_| {
                panic!(
                    "corpus-expected.tsv line {}: exit {w:?} (judge the case's side by hand)",
                    i + 1
                )
            })
        };
        let row = CorpusExpected {
            qemu_accepts: word(f[1]),
            libvirt_accepts: word(f[2]),
            side: f[3].to_string(),
            classes: f[4]
                .split(',')
                .filter(|c| *c != "-")
                .map(str::to_string)
                .collect(),
            exits: [exit(f[5]), exit(f[6]), exit(f[7]), exit(f[8])],
        };
        assert!(
            rows.insert(f[0].to_string(), row).is_none(),
            "corpus-expected.tsv: {} twice",
            f[0]
        );
    }
    (header, rows)
}

fn write_corpus_expected(header: &str, rows: &std::collections::BTreeMap<String, CorpusExpected>) {
    let mut out = header.to_string();
    for (name, r) in rows {
        let classes = if r.classes.is_empty() {
            "-".to_string()
        } else {
            r.classes.join(",")
        };
        let exits: Vec<String> = CORPUS_DIRS
            .iter()
            .map(|d| {
                if r.side == "?" {
                    "?".to_string()
                } else {
                    corpus_rule_exit(d, r.qemu_accepts, r.libvirt_accepts, &r.side).to_string()
                }
            })
            .collect();
        out.push_str(&format!(
            "{name}\t{}\t{}\t{}\t{classes}\t{}\n",
            verdict_word(r.qemu_accepts),
            verdict_word(r.libvirt_accepts),
            r.side,
            exits.join("\t")
        ));
    }
    fs::write(corpus_expected_path(), out).expect("write corpus-expected.tsv");
}

#[test]
fn corpus_expected_file_follows_its_rule() {
    let (_, rows) = read_corpus_expected();
    assert!(rows.len() >= 20, "only {} rows", rows.len());
    for (name, r) in &rows {
        let both_accept = r.qemu_accepts && r.libvirt_accepts;
        assert_eq!(
            both_accept,
            r.side == "-",
            "{name}: side {:?} with qemu/libvirt accepting {}/{}",
            r.side,
            r.qemu_accepts,
            r.libvirt_accepts
        );
        assert!(
            ["-", "server", "client", "both"].contains(&r.side.as_str()),
            "{name}: side {:?}",
            r.side
        );
        assert_eq!(both_accept, r.classes.is_empty(), "{name}: classes");
        for (i, d) in CORPUS_DIRS.iter().enumerate() {
            assert_eq!(
                r.exits[i],
                corpus_rule_exit(d, r.qemu_accepts, r.libvirt_accepts, &r.side),
                "{name}: the expected exit for {d} does not follow the file's rule"
            );
        }
    }
}

/// The third-party corpus (`tests/fixtures/mkthirdparty.sh`: easy-rsa, cfssl, mkcert,
/// python3-cryptography and openssl recipes, defaults and mistakes), each case against the real
/// peers and against tests/fixtures/corpus-expected.tsv: qemu-nbd with qemu-img, and libvirtd
/// with virsh, accept or refuse each case as the file says (at load or at handshake), and
/// `pkitool validate` exits as the file says for each of the case's four directories, with an
/// error of the file's classes where a consumer refuses. The fixture script's own `expect` files
/// agree with the file. With PKITOOL_UPDATE_CORPUS_EXPECTED=1 the consumer columns are rewritten
/// from what the consumers do (tests/fixtures/mkcorpus-expected.sh).
#[test]
fn differential_third_party_corpus() {
    let tools = have_peer("openssl")
        && have_peer("cfssl")
        && have_peer("cfssljson")
        && have_peer("mkcert")
        && have_peer("python3")
        && have_qemu()
        && have_libvirt();
    if !tools {
        return;
    }
    let easyrsa = Path::new("/usr/share/easy-rsa/easyrsa").exists();
    let pyca = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !(easyrsa && pyca) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: easy-rsa and python3-cryptography must be installed (.ci/run)"
        );
        eprintln!("SKIP: easy-rsa or python3-cryptography missing");
        return;
    }
    let update = std::env::var_os("PKITOOL_UPDATE_CORPUS_EXPECTED").is_some();
    let (header, mut rows) = read_corpus_expected();
    let t = crate::util::tmpdir();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mkthirdparty.sh");
    sh(
        t.path(),
        &format!("sh {} {}", script.display(), t.path().join("c").display()),
    );
    let mut cases: Vec<PathBuf> = fs::read_dir(t.path().join("c"))
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("expect").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    let names: Vec<String> = cases
        .iter()
        .map(|c| c.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    let mut failures = Vec::new();
    if update {
        rows.retain(|n, _| names.contains(n));
    } else {
        let listed: Vec<&String> = rows.keys().collect();
        let made: Vec<&String> = names.iter().collect();
        assert_eq!(
            listed, made,
            "corpus-expected.tsv lists other cases than mkthirdparty.sh makes (regenerate: tests/fixtures/mkcorpus-expected.sh)"
        );
    }
    for (case, name) in cases.iter().zip(&names) {
        let expect = fs::read_to_string(case.join("expect")).expect("expect");
        let mut words = expect.split_whitespace();
        let script_accepts = words.next() == Some("accept");
        let script_classes: Vec<String> = words.map(str::to_string).collect();
        let qemu = QemuNbdServer::start(&case.join("qemu-server"), None)
            .map_err(|e| format!("qemu-nbd at load: {e}"))
            .and_then(|srv| {
                qemu_img_info_tls(&case.join("qemu-client"), "localhost", srv.port)
                    .map_err(|e| format!("qemu-img: {e}"))
            });
        let libvirt = Libvirtd::start(&LibvirtdConf::pkipath(&case.join("libvirt-server")))
            .map_err(|e| format!("libvirtd at load: {e}"))
            .and_then(|d| {
                virsh_hostname("localhost", d.port, &case.join("libvirt-client"))
                    .map(|_| ())
                    .map_err(|e| format!("virsh: {e}\nlibvirtd log:\n{}", d.log_errors()))
            });
        if update {
            let old = rows.get(name).cloned();
            let row = CorpusExpected {
                qemu_accepts: qemu.is_ok(),
                libvirt_accepts: libvirt.is_ok(),
                side: if qemu.is_ok() && libvirt.is_ok() {
                    "-".into()
                } else {
                    old.as_ref()
                        .map_or("?".into(), |o| o.side.clone())
                        .replace('-', "?")
                },
                classes: if qemu.is_ok() && libvirt.is_ok() {
                    Vec::new()
                } else {
                    old.map(|o| o.classes)
                        .filter(|c| !c.is_empty())
                        .unwrap_or_else(|| script_classes.clone())
                },
                exits: [0; 4],
            };
            rows.insert(name.clone(), row);
            continue;
        }
        let want = &rows[name];
        // The fixture script's statement agrees with the file.
        if script_accepts != (want.qemu_accepts && want.libvirt_accepts)
            || script_classes != want.classes
        {
            failures.push(format!(
                "{name}: mkthirdparty.sh's expect says {expect:?}, corpus-expected.tsv says {want:?}"
            ));
        }
        let mut refused_errors = Vec::new();
        for (peer, verdict, accepts) in [
            ("QEMU", &qemu, want.qemu_accepts),
            ("libvirt", &libvirt, want.libvirt_accepts),
        ] {
            // The live consumer against the file.
            if verdict.is_ok() != accepts {
                failures.push(format!(
                    "{name}: corpus-expected.tsv says {peer} does {}, it did: {verdict:?}",
                    verdict_word(accepts)
                ));
            }
        }
        // pkitool against the file, directory by directory.
        for (i, d) in CORPUS_DIRS.iter().enumerate() {
            let (errors, json, exit) = pkitool_verdict(&case.join(d));
            if exit != Some(want.exits[i]) || (exit == Some(0)) != errors.is_empty() {
                failures.push(format!(
                    "{name}/{d}: validate exits {exit:?}, corpus-expected.tsv says {} (errors {errors:?})\n{json}",
                    want.exits[i]
                ));
            }
            if want.exits[i] == 1 {
                refused_errors.extend(errors);
            }
        }
        if !want.classes.is_empty() && !refused_errors.iter().any(|(c, _)| want.classes.contains(c))
        {
            failures.push(format!(
                "{name}: pkitool's errors {refused_errors:?} have none of the classes {:?} (qemu: {qemu:?}; libvirt: {libvirt:?})",
                want.classes
            ));
        }
    }
    if update {
        write_corpus_expected(&header, &rows);
        eprintln!(
            "wrote {} ({} cases); judge any side marked ? by hand",
            corpus_expected_path().display(),
            rows.len()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
