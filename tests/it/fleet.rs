//! The Ansible role `contrib/ansible/roles/libvirt_tls`, driven by a real `ansible-playbook`
//! against a fleet of local hosts (`ansible_connection=local`, each with its own staging root):
//! files, modes and owners; `pkitool validate` and `openssl verify` on every tree; a second run
//! changes nothing; a short-lived certificate is renewed (and only it) when the renewal window
//! reaches it, and libvirtd picks it up through the role's handler (`virt-admin
//! server-update-tls libvirtd`, run verbatim); a real libvirtd started on one host's tree and
//! allow-list admits a virsh client built from another host's tree (the cross-host migration
//! case) and refuses a client of the same CA that is not in the fleet; a host whose address is
//! missing from its SANs fails the play on the validate step with PKI-H01.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::peers::{Libvirtd, LibvirtdConf, have_libvirt, virsh_hostname};
use crate::util::{
    PKITOOL, have_peer, in_ci, note_skip, ok, pkitool, status, stderr, stdout, tmpdir,
    verify_openssl,
};

const COMPUTES: [&str; 5] = ["compute1", "compute2", "compute3", "compute4", "compute5"];
/// Issued with a 20-day lifetime (the others get the role's default, 365 days).
const SHORT: &str = "compute1";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// ansible-playbook is required; under CI its absence fails the test.
fn have_ansible() -> bool {
    have_peer("ansible-playbook")
}

/// The role writes owners and groups: root, and the QEMU group Debian's libvirt creates (which
/// `.ci/run` creates too). Elsewhere the test is skipped with a message; under CI it fails.
fn have_root_and_qemu_group() -> bool {
    let group = nix::unistd::Group::from_name("libvirt-qemu").ok().flatten();
    if is_root() && group.is_some() {
        return true;
    }
    if in_ci() {
        panic!(
            "the fleet tests run as root with a libvirt-qemu group (as .ci/run sets up) under CI"
        );
    }
    note_skip("the fleet tests need root and a libvirt-qemu group");
    false
}

fn qemu_gid() -> u32 {
    nix::unistd::Group::from_name("libvirt-qemu")
        .ok()
        .flatten()
        .expect("libvirt-qemu group")
        .gid
        .as_raw()
}

struct Fleet {
    dir: PathBuf,
    inventory: PathBuf,
}

impl Fleet {
    /// A playbook applying the role, an ansible.cfg, and an inventory (`hosts` lines after the
    /// `[fleet]` header), all in `dir`.
    fn new(dir: &Path, hosts: &[String]) -> Fleet {
        let roles = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/ansible/roles");
        fs::write(
            dir.join("ansible.cfg"),
            format!(
                "[defaults]\nroles_path = {}\nnocolor = True\nretry_files_enabled = False\n\
                 localhost_warning = False\nlocal_tmp = {}\nremote_tmp = {}\n\
                 interpreter_python = /usr/bin/python3\nforks = 6\n\
                 [connection]\npipelining = True\n",
                roles.display(),
                dir.join(".ansible/local").display(),
                dir.join(".ansible/remote").display(),
            ),
        )
        .unwrap();
        fs::write(
            dir.join("site.yml"),
            "- hosts: fleet\n  gather_facts: false\n  roles: [libvirt_tls]\n",
        )
        .unwrap();
        let inventory = dir.join("inventory.ini");
        fs::write(
            &inventory,
            format!(
                "[fleet]\n{}\n[fleet:vars]\nansible_connection=local\nlibvirt_tls_pkitool={PKITOOL}\n\
                 libvirt_tls_ca_dir={}\nlibvirt_tls_qemu_group=libvirt-qemu\n",
                hosts.join("\n"),
                dir.join("ca").display(),
            ),
        )
        .unwrap();
        Fleet {
            dir: dir.to_path_buf(),
            inventory,
        }
    }

    fn root(&self, host: &str) -> PathBuf {
        self.dir.join("hosts").join(host)
    }

    /// `ansible-playbook -i inventory.ini site.yml EXTRA...` (stdout and stderr together).
    fn play(&self, extra: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
        let mut c = Command::new("ansible-playbook");
        c.arg("-i")
            .arg(&self.inventory)
            .arg(self.dir.join("site.yml"))
            .args(extra)
            .current_dir(&self.dir)
            .env("ANSIBLE_CONFIG", self.dir.join("ansible.cfg"))
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env_remove("LIBVIRT_ADMIN_DEFAULT_URI");
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().expect("run ansible-playbook");
        (o.status.code(), format!("{}{}", stdout(&o), stderr(&o)))
    }
}

/// The PLAY RECAP: host -> counter -> value.
fn recap(out: &str) -> BTreeMap<String, BTreeMap<String, u32>> {
    let mut map = BTreeMap::new();
    let Some(start) = out.rfind("PLAY RECAP") else {
        panic!("no PLAY RECAP in:\n{out}");
    };
    for line in out[start..].lines().skip(1) {
        let Some((host, counters)) = line.split_once(" : ") else {
            continue;
        };
        let c: BTreeMap<String, u32> = counters
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.parse().expect("counter")))
            .collect();
        map.insert(host.trim().to_string(), c);
    }
    map
}

/// What a file is: bytes, mode, owner, group, inode and mtime (a rewrite changes the last two).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileState {
    bytes: Vec<u8>,
    mode: u32,
    uid: u32,
    gid: u32,
    ino: u64,
    mtime_ns: i128,
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, FileState> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.clone(),
                    FileState {
                        bytes: fs::read(&p).unwrap(),
                        mode: m.mode() & 0o7777,
                        uid: m.uid(),
                        gid: m.gid(),
                        ino: m.ino(),
                        mtime_ns: i128::from(m.mtime()) * 1_000_000_000
                            + i128::from(m.mtime_nsec()),
                    },
                );
            }
        }
    }
    out
}

/// Standard base64 (as Ansible's b64encode and the role's module write it), by `base64`.
fn base64_of(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut c = Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(bytes).unwrap();
    let o = c.wait_with_output().unwrap();
    stdout(&o)
}

/// The serial as openssl prints it.
fn serial(cert: &Path) -> String {
    let o = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in", s(cert)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).trim().trim_start_matches("serial=").to_string()
}

/// Hosts that make their own keys (`libvirt_tls_key_on_host`): compute1 (its libvirtd serves a
/// host-made server key, and its host-made certificates are renewed) and compute2 (its
/// host-made client key is admitted by compute1's libvirtd).
const KEY_ON_HOST: [&str; 2] = ["compute1", "compute2"];
/// Hosts that also fill /etc/pki/libvirt-vnc and /etc/pki/libvirt-migrate (one of each key
/// origin).
const WITH_SERVICES: [&str; 2] = ["compute2", "compute4"];

fn compute_line(dir: &Path, i: usize, host: &str) -> String {
    let mut extra = String::new();
    if host == SHORT {
        extra.push_str(" libvirt_tls_days=20");
    }
    if KEY_ON_HOST.contains(&host) {
        extra.push_str(" libvirt_tls_key_on_host=true");
    }
    if WITH_SERVICES.contains(&host) {
        extra.push_str(" libvirt_tls_qemu_services='[\"vnc\", \"migrate\"]'");
    }
    format!(
        "{host} libvirt_tls_root={}/hosts/{host} libvirt_tls_addresses='[\"127.0.0.1\", \"10.0.0.{}\"]'{extra}",
        dir.display(),
        i + 1
    )
}

/// (path under the root, mode, QEMU group?) of every file a compute host gets.
const SYSTEM_FILES: [(&str, u32, bool); 10] = [
    ("etc/pki/CA/cacert.pem", 0o644, false),
    ("etc/pki/libvirt/servercert.pem", 0o644, false),
    ("etc/pki/libvirt/private/serverkey.pem", 0o600, false),
    ("etc/pki/libvirt/clientcert.pem", 0o644, false),
    ("etc/pki/libvirt/private/clientkey.pem", 0o600, false),
    ("etc/pki/qemu/ca-cert.pem", 0o644, false),
    ("etc/pki/qemu/server-cert.pem", 0o644, false),
    ("etc/pki/qemu/server-key.pem", 0o640, true),
    ("etc/pki/qemu/client-cert.pem", 0o644, false),
    ("etc/pki/qemu/client-key.pem", 0o640, true),
];

/// The same for the QEMU per-service directories of the WITH_SERVICES hosts (vnc: server
/// files only).
const SERVICE_FILES: [(&str, u32, bool); 8] = [
    ("etc/pki/libvirt-vnc/ca-cert.pem", 0o644, false),
    ("etc/pki/libvirt-vnc/server-cert.pem", 0o644, false),
    ("etc/pki/libvirt-vnc/server-key.pem", 0o640, true),
    ("etc/pki/libvirt-migrate/ca-cert.pem", 0o644, false),
    ("etc/pki/libvirt-migrate/server-cert.pem", 0o644, false),
    ("etc/pki/libvirt-migrate/server-key.pem", 0o640, true),
    ("etc/pki/libvirt-migrate/client-cert.pem", 0o644, false),
    ("etc/pki/libvirt-migrate/client-key.pem", 0o640, true),
];

/// The CRL files every compute host gets once the CA has one; the WITH_SERVICES hosts also get
/// one per service directory.
const CRL_FILES: [&str; 2] = ["etc/pki/CA/cacrl.pem", "etc/pki/qemu/ca-crl.pem"];
const SERVICE_CRL_FILES: [&str; 2] = [
    "etc/pki/libvirt-vnc/ca-crl.pem",
    "etc/pki/libvirt-migrate/ca-crl.pem",
];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The forms a PEM key can travel in: its text, each base64 line of its body, its DER bytes
/// and the base64 of the whole file (how the role's module carries files).
fn key_forms(pem: &str) -> Vec<Vec<u8>> {
    let mut forms = vec![pem.as_bytes().to_vec()];
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for l in pem.lines().filter(|l| !l.starts_with("-----")) {
        if l.len() >= 32 {
            forms.push(l.as_bytes().to_vec());
        }
    }
    let der = Command::new("sh")
        .args(["-c", "printf %s \"$0\" | base64 -d"])
        .arg(&body)
        .output()
        .unwrap();
    assert!(der.status.success() && der.stdout.len() > 32);
    forms.push(der.stdout);
    forms.push(base64_of(pem.as_bytes()).as_bytes()[..40].to_vec());
    forms
}

/// Whether any file under `dir` holds any form of the key `pem`.
fn key_in_tree(dir: &Path, pem: &str) -> Option<PathBuf> {
    let forms = key_forms(pem);
    snapshot(dir)
        .into_iter()
        .find(|(_, st)| forms.iter().any(|f| contains(&st.bytes, f)))
        .map(|(p, _)| p)
}

/// The public key of a certificate or a private key, as openssl prints it (PEM SPKI).
fn public_key(path: &Path, cert: bool) -> String {
    let args: &[&str] = if cert {
        &["x509", "-noout", "-pubkey", "-in"]
    } else {
        &["pkey", "-pubout", "-in"]
    };
    let o = Command::new("openssl")
        .args(args)
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}: {}", path.display(), stderr(&o));
    stdout(&o)
}

const KOLLA_FILES: [(&str, u32); 5] = [
    ("cacert.pem", 0o644),
    ("servercert.pem", 0o644),
    ("serverkey.pem", 0o600),
    ("clientcert.pem", 0o644),
    ("clientkey.pem", 0o600),
];

/// A libvirt pkipath directory (cacert.pem, clientcert.pem, clientkey.pem) built from a host's
/// installed client files, as virsh on that host would use them.
fn client_pkipath(root: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for (from, name) in [
        ("etc/pki/CA/cacert.pem", "cacert.pem"),
        ("etc/pki/libvirt/clientcert.pem", "clientcert.pem"),
        ("etc/pki/libvirt/private/clientkey.pem", "clientkey.pem"),
    ] {
        fs::copy(root.join(from), to.join(name)).unwrap();
    }
}

/// The certificate libvirtd presents on `port`, by serial (openssl s_client, with a client
/// certificate so the handshake completes).
fn presented_serial(port: u16, pkipath: &Path) -> String {
    let o = Command::new("sh")
        .args([
            "-c",
            &format!(
                "openssl s_client -connect 127.0.0.1:{port} -cert {} -key {} </dev/null 2>/dev/null | openssl x509 -noout -serial",
                s(&pkipath.join("clientcert.pem")),
                s(&pkipath.join("clientkey.pem"))
            ),
        ])
        .output()
        .unwrap();
    stdout(&o).trim().trim_start_matches("serial=").to_string()
}

#[test]
fn role_provisions_five_hosts_and_a_kolla_host_idempotently_renews_the_due_one_and_libvirtd_admits_other_hosts()
 {
    if !(have_ansible()
        && have_peer("openssl")
        && have_libvirt()
        && have_peer("virt-admin")
        && have_peer("unshare")
        && have_root_and_qemu_group())
    {
        return;
    }
    let t = tmpdir();
    let mut hosts: Vec<String> = COMPUTES
        .iter()
        .enumerate()
        .map(|(i, h)| compute_line(t.path(), i, h))
        .collect();
    hosts.push(format!(
        "kolla1 libvirt_tls_layout=kolla libvirt_tls_root={}/hosts/kolla1 \
         libvirt_tls_addresses='[\"10.0.0.9\"]'",
        t.path().display()
    ));
    let fleet = Fleet::new(t.path(), &hosts);
    let ca = t.path().join("ca");
    let all: Vec<&str> = COMPUTES.iter().copied().chain(["kolla1"]).collect();

    // --- first run: everything is created --------------------------------------------------
    let window = ["-e", "libvirt_tls_renew_within=10"];
    let (code, out) = fleet.play(&["-v", window[0], window[1]], &[]);
    assert_eq!(code, Some(0), "{out}");
    // no key material in the (verbose) output: neither PEM nor the base64 the files travel in
    assert!(!out.contains("PRIVATE KEY"), "{out}");
    for h in COMPUTES {
        for k in ["serverkey.pem", "clientkey.pem"] {
            let key =
                fs::read_to_string(fleet.root(h).join("etc/pki/libvirt/private").join(k)).unwrap();
            let body = key.lines().nth(1).unwrap();
            assert!(!out.contains(body), "{h}'s {k} is in the output");
            let b64 = base64_of(key.as_bytes());
            assert!(
                !out.contains(&b64[..40]),
                "{h}'s {k} (base64) is in the output"
            );
        }
    }
    let r = recap(&out);
    for h in &all {
        assert_eq!(r[*h]["failed"], 0, "{h}\n{out}");
        assert!(r[*h]["changed"] > 0, "{h}\n{out}");
    }
    let qgid = qemu_gid();
    let allow_line = fs::read_to_string(fleet.root("compute1").join("etc/libvirt/libvirtd.conf"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("tls_allowed_dn_list"))
        .expect("tls_allowed_dn_list in libvirtd.conf")
        .to_string();
    for (i, h) in COMPUTES.iter().enumerate() {
        let root = fleet.root(h);
        for (rel, mode, qemu) in SYSTEM_FILES {
            let m = fs::metadata(root.join(rel)).unwrap_or_else(|e| panic!("{h}: {rel}: {e}"));
            assert_eq!(m.mode() & 0o7777, mode, "{h}: {rel}");
            assert_eq!(m.uid(), 0, "{h}: {rel}");
            assert_eq!(m.gid(), if qemu { qgid } else { 0 }, "{h}: {rel}");
        }
        for d in [
            "etc/pki/CA",
            "etc/pki/libvirt",
            "etc/pki/libvirt/private",
            "etc/pki/qemu",
        ] {
            assert_eq!(
                fs::metadata(root.join(d)).unwrap().mode() & 0o7777,
                0o755,
                "{h}: {d}"
            );
        }
        // one certificate and key per role, at the libvirt and the QEMU names
        for (a, b) in [
            (
                "etc/pki/libvirt/servercert.pem",
                "etc/pki/qemu/server-cert.pem",
            ),
            (
                "etc/pki/libvirt/private/serverkey.pem",
                "etc/pki/qemu/server-key.pem",
            ),
            (
                "etc/pki/libvirt/clientcert.pem",
                "etc/pki/qemu/client-cert.pem",
            ),
            ("etc/pki/CA/cacert.pem", "etc/pki/qemu/ca-cert.pem"),
        ] {
            assert_eq!(
                fs::read(root.join(a)).unwrap(),
                fs::read(root.join(b)).unwrap(),
                "{h}: {a} {b}"
            );
        }
        assert_eq!(
            fs::read(root.join("etc/pki/CA/cacert.pem")).unwrap(),
            fs::read(ca.join("cacert.pem")).unwrap()
        );
        // the independent judge: openssl, with each address clients dial
        let cacert = root.join("etc/pki/CA/cacert.pem");
        let server = root.join("etc/pki/libvirt/servercert.pem");
        for ip in ["127.0.0.1", &format!("10.0.0.{}", i + 1)] {
            verify_openssl(&cacert, &server, "sslserver", &["-verify_ip", ip]);
        }
        verify_openssl(&cacert, &server, "sslserver", &["-verify_hostname", h]);
        verify_openssl(
            &cacert,
            &root.join("etc/pki/libvirt/clientcert.pem"),
            "sslclient",
            &[],
        );
        // every tree passes pkitool validate, with the allow-list the role wrote
        let conf = root.join("etc/libvirt/libvirtd.conf");
        assert_eq!(
            fs::read_to_string(&conf)
                .unwrap()
                .lines()
                .find(|l| l.starts_with("tls_allowed_dn_list")),
            Some(allow_line.as_str()),
            "{h}: the same allow-list on every host"
        );
        let v = pkitool([
            "validate",
            "--root",
            s(&root),
            "--hostname",
            h,
            "--hostname",
            &format!("10.0.0.{}", i + 1),
            "--libvirtd-conf",
            s(&conf),
            "--warn-within",
            "10",
            "--strict",
        ]);
        status(&v, 0);
    }
    for h in &all {
        assert!(allow_line.contains(&format!("\"CN={h}\"")), "{allow_line}");
    }
    // the QEMU per-service directories: keys root:libvirt-qemu 0640, the same files as the
    // libvirt ones (host-made keys copied on the host, CA-made ones from the CA machine)
    for h in WITH_SERVICES {
        let root = fleet.root(h);
        for (rel, mode, qemu) in SERVICE_FILES {
            let m = fs::metadata(root.join(rel)).unwrap_or_else(|e| panic!("{h}: {rel}: {e}"));
            assert_eq!(
                (m.mode() & 0o7777, m.uid(), m.gid()),
                (mode, 0, if qemu { qgid } else { 0 }),
                "{h}: {rel}"
            );
        }
        assert!(!root.join("etc/pki/libvirt-vnc/client-key.pem").exists());
        for d in ["etc/pki/libvirt-vnc", "etc/pki/libvirt-migrate"] {
            assert_eq!(fs::metadata(root.join(d)).unwrap().mode() & 0o7777, 0o755);
            for (a, b) in [
                ("etc/pki/libvirt/servercert.pem", "server-cert.pem"),
                ("etc/pki/libvirt/private/serverkey.pem", "server-key.pem"),
            ] {
                assert_eq!(
                    fs::read(root.join(a)).unwrap(),
                    fs::read(root.join(d).join(b)).unwrap(),
                    "{h}: {d}/{b}"
                );
            }
        }
        assert_eq!(
            fs::read(root.join("etc/pki/libvirt/private/clientkey.pem")).unwrap(),
            fs::read(root.join("etc/pki/libvirt-migrate/client-key.pem")).unwrap()
        );
    }
    // keys made on the host: never on the CA machine, and they pair with the certificates the
    // CA signed from the requests the hosts kept
    let ca_tree = snapshot(&ca);
    for h in KEY_ON_HOST {
        let root = fleet.root(h);
        for (role, cert, key, csr) in [
            (
                "server",
                "etc/pki/libvirt/servercert.pem",
                "etc/pki/libvirt/private/serverkey.pem",
                "etc/pki/qemu/server-cert.csr",
            ),
            (
                "client",
                "etc/pki/libvirt/clientcert.pem",
                "etc/pki/libvirt/private/clientkey.pem",
                "etc/pki/qemu/client-cert.csr",
            ),
        ] {
            let pem = fs::read_to_string(root.join(key)).unwrap();
            if let Some(p) = key_in_tree(&ca, &pem) {
                panic!("{h}'s {role} key is on the CA machine: {}", p.display());
            }
            assert_eq!(
                public_key(&root.join(cert), true),
                public_key(&root.join(key), false),
                "{h}: {role} certificate and key pair"
            );
            let m = fs::metadata(root.join(csr)).unwrap();
            assert_eq!((m.mode() & 0o7777, m.uid()), (0o644, 0), "{h}: {csr}");
            assert_eq!(
                fs::read(root.join(csr)).unwrap(),
                fs::read(ca.join(format!("hosts/{h}/{role}cert.csr"))).unwrap(),
                "{h}: the CA signed the host's request"
            );
            let o = Command::new("openssl")
                .args(["req", "-verify", "-noout", "-in"])
                .arg(root.join(csr))
                .output()
                .unwrap();
            assert!(o.status.success(), "{h}: {csr}: {}", stderr(&o));
        }
        assert!(
            !ca_tree
                .keys()
                .any(|p| p.starts_with(ca.join(format!("hosts/{h}")))
                    && p.to_string_lossy().contains("key")),
            "{h}: a key file in its issued directory"
        );
    }
    // the search finds a key where one is: a host whose keys the CA made
    let ca_made = fs::read_to_string(
        fleet
            .root("compute3")
            .join("etc/pki/libvirt/private/serverkey.pem"),
    )
    .unwrap();
    assert!(key_in_tree(&ca, &ca_made).is_some());
    // distinct keys per host; the CA key stays on the CA machine
    let keys: std::collections::BTreeSet<Vec<u8>> = COMPUTES
        .iter()
        .map(|h| fs::read(fleet.root(h).join("etc/pki/libvirt/private/serverkey.pem")).unwrap())
        .collect();
    assert_eq!(keys.len(), COMPUTES.len());
    let ca_key = fs::read(ca.join("cakey.pem")).unwrap();
    for (p, st) in snapshot(&t.path().join("hosts")) {
        assert_ne!(st.bytes, ca_key, "the CA key was copied to {}", p.display());
        assert!(!p.ends_with("cakey.pem"), "{}", p.display());
    }
    // kolla-ansible's per-host directory
    let kolla = fleet
        .root("kolla1")
        .join("etc/kolla/config/nova/nova-libvirt/kolla1");
    for (name, mode) in KOLLA_FILES {
        let m = fs::metadata(kolla.join(name)).unwrap_or_else(|e| panic!("kolla1: {name}: {e}"));
        assert_eq!(
            (m.mode() & 0o7777, m.uid(), m.gid()),
            (mode, 0, 0),
            "kolla1: {name}"
        );
    }
    assert!(!fleet.root("kolla1").join("etc/pki").exists());
    status(
        &pkitool([
            "validate",
            s(&kolla),
            "--hostname",
            "kolla1",
            "--hostname",
            "10.0.0.9",
            "--strict",
        ]),
        0,
    );
    verify_openssl(
        &kolla.join("cacert.pem"),
        &kolla.join("servercert.pem"),
        "sslserver",
        &["-verify_ip", "10.0.0.9"],
    );

    // --- second run: nothing changes, no file is even rewritten ------------------------------
    let before = snapshot(&t.path().join("hosts"));
    let (code, out) = fleet.play(&window, &[]);
    assert_eq!(code, Some(0), "{out}");
    for (h, c) in recap(&out) {
        assert_eq!((c["changed"], c["failed"]), (0, 0), "{h}\n{out}");
    }
    assert!(
        before == snapshot(&t.path().join("hosts")),
        "the second run rewrote files"
    );

    // --- a real libvirtd on compute1's tree and allow-list admits compute2's client ----------
    let root1 = fleet.root(SHORT);
    let old_server = serial(&root1.join("etc/pki/libvirt/servercert.pem"));
    let old_key = fs::read(root1.join("etc/pki/libvirt/private/serverkey.pem")).unwrap();
    let d = Libvirtd::start(&LibvirtdConf {
        extra: format!("{allow_line}\n"),
        ..LibvirtdConf::system(&root1)
    })
    .expect("libvirtd starts on compute1's files");
    let pk2 = t.path().join("pk-compute2");
    client_pkipath(&fleet.root("compute2"), &pk2);
    virsh_hostname("127.0.0.1", d.port, &pk2).expect("compute2's client is admitted by compute1");
    // negative control: a client of the same CA that is not in the fleet
    let intruder = t.path().join("pk-intruder");
    ok(&pkitool([
        "issue",
        "client",
        "--dir",
        s(&ca),
        "--out",
        s(&intruder),
        "--cn",
        "intruder",
    ]));
    let e = virsh_hostname("127.0.0.1", d.port, &intruder).expect_err("a client outside the fleet");
    assert!(
        d.log_errors()
            .contains("Client's Distinguished Name is not on the list of allowed clients"),
        "{e}\n{}",
        d.log_errors()
    );
    assert_eq!(presented_serial(d.port, &pk2), old_server);

    assert!(!d.log_errors().contains("revoked"), "{}", d.log_errors());

    // --- the CA revokes the outsider and writes its CRL (as an operator does) ---------------
    ok(&pkitool([
        "revoke",
        "--dir",
        s(&ca),
        "--reason",
        "keyCompromise",
        s(&intruder.join("clientcert.pem")),
    ]));
    ok(&pkitool(["crl", "--dir", s(&ca)]));
    let crl = fs::read(ca.join("cacrl.pem")).unwrap();

    // --- the window reaches compute1's 20-day certificates: exactly those are renewed, -----
    // every compute host gets the CRL, compute1's libvirtd reloads both through the handler,
    // and the role probes compute1's running libvirtd from the CA machine
    fs::create_dir_all(t.path().join("host_vars")).unwrap();
    fs::write(
        t.path().join(format!("host_vars/{SHORT}.yml")),
        format!(
            "libvirt_tls_reload: true\nlibvirt_tls_probe: true\nlibvirt_tls_probe_address: 127.0.0.1\n\
             libvirt_tls_probe_port: {}\n",
            d.port
        ),
    )
    .unwrap();
    let before = snapshot(&t.path().join("hosts"));
    let (code, out) = fleet.play(
        &[
            "-e",
            "libvirt_tls_renew_within=30",
            "-e",
            "libvirt_tls_days=365",
        ],
        &[("LIBVIRT_ADMIN_DEFAULT_URI", &d.admin_uri())],
    );
    assert_eq!(code, Some(0), "{out}");
    let r = recap(&out);
    for h in &all {
        assert_eq!(r[*h]["failed"], 0, "{h}\n{out}");
        let expected = match *h {
            // renew, the two installs (certificates and CRL), the reload handler
            SHORT => 4,
            // the two installs (the CRL: libvirtd's and QEMU's); kolla-ansible has no CRL file
            "kolla1" => 0,
            _ => 2,
        };
        assert_eq!(r[*h]["changed"], expected, "{h}\n{out}");
    }
    let probe = out
        .find("TASK [libvirt_tls : probe: pkitool probe of libvirtd")
        .map(|i| &out[i..])
        .unwrap_or_else(|| panic!("no probe task in:\n{out}"));
    let probe = &probe[..probe.find("\n\n").unwrap_or(probe.len())];
    assert!(
        probe.contains(&format!("ok: [{SHORT} -> localhost]")),
        "pkitool probe (exit 0: no errors) of compute1's libvirtd from the CA machine\n{probe}"
    );
    for h in all.iter().filter(|h| **h != SHORT) {
        assert!(probe.contains(&format!("skipping: [{h}]")), "{probe}");
    }
    assert!(
        out.contains("RUNNING HANDLER [libvirt_tls : libvirt_tls reload libvirtd TLS]"),
        "{out}"
    );
    assert!(out.contains(&format!("changed: [{SHORT}]")), "{out}");
    let after = snapshot(&t.path().join("hosts"));
    let changed: Vec<&PathBuf> = after
        .keys()
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    let mut expected: Vec<PathBuf> = [
        "etc/pki/libvirt/servercert.pem",
        "etc/pki/libvirt/clientcert.pem",
        "etc/pki/qemu/server-cert.pem",
        "etc/pki/qemu/client-cert.pem",
    ]
    .iter()
    .map(|r| root1.join(r))
    .collect();
    for h in COMPUTES {
        let crls = CRL_FILES.iter().chain(if WITH_SERVICES.contains(&h) {
            SERVICE_CRL_FILES.iter()
        } else {
            [].iter()
        });
        for rel in crls {
            let p = fleet.root(h).join(rel);
            let m = fs::metadata(&p).unwrap_or_else(|e| panic!("{h}: {rel}: {e}"));
            assert_eq!(
                (m.mode() & 0o7777, m.uid(), m.gid()),
                (0o644, 0, 0),
                "{h}: {rel}"
            );
            assert_eq!(fs::read(&p).unwrap(), crl, "{h}: {rel}");
            expected.push(p);
        }
    }
    expected.sort();
    assert_eq!(changed, expected.iter().collect::<Vec<_>>());
    let new_server = serial(&root1.join("etc/pki/libvirt/servercert.pem"));
    assert_ne!(new_server, old_server);
    assert_eq!(
        fs::read(root1.join("etc/pki/libvirt/private/serverkey.pem")).unwrap(),
        old_key
    );
    let end = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-checkend",
            &(300 * 86400).to_string(),
            "-in",
        ])
        .arg(root1.join("etc/pki/libvirt/servercert.pem"))
        .output()
        .unwrap();
    assert!(end.status.success(), "the renewed certificate lasts a year");
    assert_eq!(
        presented_serial(d.port, &pk2),
        new_server,
        "the role's reload handler (virt-admin server-update-tls libvirtd) made libvirtd serve the renewed certificate"
    );
    virsh_hostname("127.0.0.1", d.port, &pk2)
        .expect("compute2 (not revoked, its key made on its host) after the renewal and the CRL");
    // the same handler made libvirtd load the CRL: the outsider is now refused as revoked,
    // before its DN is even compared
    let e = virsh_hostname("127.0.0.1", d.port, &intruder).expect_err("a revoked client");
    assert!(
        d.log_errors()
            .contains("Certificate failed validation: The certificate has been revoked"),
        "{e}\n{}",
        d.log_errors()
    );
    drop(d);
    fs::remove_file(t.path().join(format!("host_vars/{SHORT}.yml"))).unwrap();

    // --- and the renewed fleet is stable ----------------------------------------------------
    let (code, out) = fleet.play(&["-e", "libvirt_tls_renew_within=30"], &[]);
    assert_eq!(code, Some(0), "{out}");
    for (h, c) in recap(&out) {
        assert_eq!((c["changed"], c["failed"]), (0, 0), "{h}\n{out}");
    }
}

#[test]
fn a_host_address_missing_from_its_sans_fails_the_play_on_validate_with_pki_h01_and_a_revoked_host_with_pki_r04()
 {
    if !(have_ansible() && have_root_and_qemu_group()) {
        return;
    }
    let t = tmpdir();
    let fleet = Fleet::new(
        t.path(),
        &[format!(
            "badhost libvirt_tls_root={}/hosts/badhost libvirt_tls_key_on_host=true \
             libvirt_tls_addresses='[\"10.0.0.99\"]' libvirt_tls_sans='[\"badhost\"]'",
            t.path().display()
        )],
    );
    let (code, out) = fleet.play(&[], &[]);
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(recap(&out)["badhost"]["failed"], 1, "{out}");
    let fatal = out
        .find("fatal: [badhost]")
        .unwrap_or_else(|| panic!("no failure of badhost in:\n{out}"));
    let task = out[..fatal]
        .rfind("TASK [")
        .map(|i| out[i..].lines().next().unwrap_or(""))
        .unwrap_or("");
    assert!(
        task.starts_with("TASK [libvirt_tls : validate: fail the play on pkitool's errors]"),
        "{task}\n{out}"
    );
    let msg = &out[fatal..];
    assert!(msg.contains("PKI-H01"), "{msg}");
    assert!(
        msg.contains("does not match the host name 10.0.0.99"),
        "{msg}"
    );
    assert!(
        msg.contains("--add-san 10.0.0.99"),
        "the fix names the missing address: {msg}"
    );
    assert!(
        msg.contains("-e libvirt_tls_reissue=true --limit badhost"),
        "{msg}"
    );

    // what the message says: fix the inventory (the SANs default to every name and address),
    // re-issue once (the host makes new keys, the CA signs the new requests); the next run
    // changes nothing
    let root = fleet.root("badhost");
    let old_key = fs::read(root.join("etc/pki/qemu/server-key.pem")).unwrap();
    let line = format!(
        "[fleet]\nbadhost libvirt_tls_root={}/hosts/badhost libvirt_tls_key_on_host=true \
         libvirt_tls_addresses='[\"10.0.0.99\"]'\n",
        t.path().display()
    );
    let inv = fs::read_to_string(&fleet.inventory).unwrap();
    let rest = &inv[inv.find("[fleet:vars]").unwrap()..];
    fs::write(&fleet.inventory, format!("{line}{rest}")).unwrap();
    let (code, out) = fleet.play(
        &["-e", "libvirt_tls_reissue=true", "--limit", "badhost"],
        &[],
    );
    assert_eq!(code, Some(0), "{out}");
    assert_ne!(
        fs::read(root.join("etc/pki/qemu/server-key.pem")).unwrap(),
        old_key
    );
    assert_eq!(
        public_key(&root.join("etc/pki/libvirt/servercert.pem"), true),
        public_key(&root.join("etc/pki/libvirt/private/serverkey.pem"), false)
    );
    verify_openssl(
        &root.join("etc/pki/CA/cacert.pem"),
        &root.join("etc/pki/libvirt/servercert.pem"),
        "sslserver",
        &["-verify_ip", "10.0.0.99"],
    );
    let (code, out) = fleet.play(&[], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(recap(&out)["badhost"]["changed"], 0, "{out}");

    // the CA revokes badhost's client certificate: the CRL reaches badhost, whose validate then
    // fails the play on its own revoked certificate (PKI-R04); a re-issue repairs it
    let ca = t.path().join("ca");
    ok(&pkitool([
        "revoke",
        "--dir",
        s(&ca),
        s(&ca.join("hosts/badhost/clientcert.pem")),
    ]));
    ok(&pkitool(["crl", "--dir", s(&ca)]));
    let (code, out) = fleet.play(&[], &[]);
    assert_eq!(code, Some(2), "{out}");
    let fatal = out
        .find("fatal: [badhost]")
        .unwrap_or_else(|| panic!("no failure of badhost in:\n{out}"));
    assert!(out[fatal..].contains("PKI-R04"), "{out}");
    assert!(
        out[..fatal].contains("TASK [libvirt_tls : validate: fail the play on pkitool's errors]"),
        "{out}"
    );
    let crl = root.join("etc/pki/CA/cacrl.pem");
    assert_eq!(
        fs::read(&crl).unwrap(),
        fs::read(ca.join("cacrl.pem")).unwrap()
    );
    let (code, out) = fleet.play(
        &["-e", "libvirt_tls_reissue=true", "--limit", "badhost"],
        &[],
    );
    assert_eq!(code, Some(0), "{out}");
    // openssl agrees: the new client certificate is not in the CRL the host holds
    verify_openssl(
        &root.join("etc/pki/CA/cacert.pem"),
        &root.join("etc/pki/libvirt/clientcert.pem"),
        "sslclient",
        &["-crl_check", "-CRLfile", s(&crl)],
    );
    let (code, out) = fleet.play(&[], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(recap(&out)["badhost"]["changed"], 0, "{out}");
}

/// Keys made on a host that gets no QEMU files: `pkitool request --layout libvirt` writes them
/// in /etc/pki/libvirt/private (0600); the play validates the tree, a second run changes
/// nothing, and a rebuilt host (new keys, old certificates on the CA machine) is signed again.
#[test]
fn key_on_host_without_qemu_files_makes_the_keys_in_the_libvirt_tree_and_a_rebuilt_host_is_signed_again()
 {
    if !(have_ansible() && have_peer("openssl") && have_root_and_qemu_group()) {
        return;
    }
    let t = tmpdir();
    let fleet = Fleet::new(
        t.path(),
        &[format!(
            "lv1 libvirt_tls_key_on_host=true libvirt_tls_deploy_qemu=false libvirt_tls_root={}/hosts/lv1 \
             libvirt_tls_addresses='[\"10.0.0.8\"]'",
            t.path().display()
        )],
    );
    let (code, out) = fleet.play(&[], &[]);
    assert_eq!(code, Some(0), "{out}");
    let root = fleet.root("lv1");
    assert!(!root.join("etc/pki/qemu").exists());
    for (role, cert, key, csr) in [
        (
            "server",
            "etc/pki/libvirt/servercert.pem",
            "etc/pki/libvirt/private/serverkey.pem",
            "etc/pki/libvirt/servercert.csr",
        ),
        (
            "client",
            "etc/pki/libvirt/clientcert.pem",
            "etc/pki/libvirt/private/clientkey.pem",
            "etc/pki/libvirt/clientcert.csr",
        ),
    ] {
        let m = fs::metadata(root.join(key)).unwrap();
        assert_eq!(
            (m.mode() & 0o7777, m.uid(), m.gid()),
            (0o600, 0, 0),
            "{key}"
        );
        assert_eq!(
            public_key(&root.join(cert), true),
            public_key(&root.join(key), false),
            "{role}"
        );
        assert_eq!(
            fs::read(root.join(csr)).unwrap(),
            fs::read(t.path().join(format!("ca/hosts/lv1/{role}cert.csr"))).unwrap()
        );
        let pem = fs::read_to_string(root.join(key)).unwrap();
        assert!(
            key_in_tree(&t.path().join("ca"), &pem).is_none(),
            "{role} key on the CA machine"
        );
    }
    verify_openssl(
        &root.join("etc/pki/CA/cacert.pem"),
        &root.join("etc/pki/libvirt/servercert.pem"),
        "sslserver",
        &["-verify_ip", "10.0.0.8"],
    );
    let (code, out) = fleet.play(&[], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(recap(&out)["lv1"]["changed"], 0, "{out}");

    // the host is rebuilt (its keys are gone, its certificates are still on the CA machine):
    // it makes new keys, and the changed requests are signed again, so key and certificate pair
    let old_key = fs::read(root.join("etc/pki/libvirt/private/serverkey.pem")).unwrap();
    fs::remove_dir_all(&root).unwrap();
    let (code, out) = fleet.play(&[], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_ne!(
        fs::read(root.join("etc/pki/libvirt/private/serverkey.pem")).unwrap(),
        old_key
    );
    for (cert, key) in [
        (
            "etc/pki/libvirt/servercert.pem",
            "etc/pki/libvirt/private/serverkey.pem",
        ),
        (
            "etc/pki/libvirt/clientcert.pem",
            "etc/pki/libvirt/private/clientkey.pem",
        ),
    ] {
        assert_eq!(
            public_key(&root.join(cert), true),
            public_key(&root.join(key), false),
            "{cert} after the rebuild"
        );
    }
}

/// Keys made on the host need the system layout: the kolla directory is written on the
/// deployment host, not on the host that would make the key.
#[test]
fn key_on_host_with_the_kolla_layout_is_refused_before_anything_runs() {
    if !(have_ansible() && have_root_and_qemu_group()) {
        return;
    }
    let t = tmpdir();
    let fleet = Fleet::new(
        t.path(),
        &[format!(
            "k1 libvirt_tls_layout=kolla libvirt_tls_key_on_host=true libvirt_tls_root={}/hosts/k1 \
             libvirt_tls_addresses='[\"10.0.0.7\"]'",
            t.path().display()
        )],
    );
    let (code, out) = fleet.play(&[], &[]);
    assert_eq!(code, Some(2), "{out}");
    let fatal = out
        .find("fatal: [k1]")
        .unwrap_or_else(|| panic!("no failure of k1 in:\n{out}"));
    assert!(
        out[..fatal].contains("TASK [libvirt_tls : Check the role's variables]"),
        "{out}"
    );
    assert!(
        out[fatal..].contains("libvirt_tls_key_on_host needs the system layout"),
        "{out}"
    );
    assert!(!t.path().join("ca").exists(), "nothing ran");
}

#[test]
fn example_playbook_and_inventory_parse() {
    if !have_ansible() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/ansible");
    let o = Command::new("ansible-playbook")
        .args(["--syntax-check", "-i", "inventory.ini", "playbook.yml"])
        .current_dir(&dir)
        .env("ANSIBLE_ROLES_PATH", dir.join("roles"))
        .env("ANSIBLE_LOCAL_TEMP", tmpdir().path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let o = Command::new("ansible-inventory")
        .args(["-i", "inventory.ini", "--list"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let inv: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        inv["compute"]["hosts"]
            .as_array()
            .is_some_and(|h| h.len() >= 2),
        "{inv}"
    );
    // the example's key-on-host host, with its service dirs (an INI `true` arrives as the
    // string "true": the role reads every such switch through `| bool`, and the fleet test's
    // inventory uses the same form)
    let h = &inv["_meta"]["hostvars"]["compute4.example.org"];
    assert_eq!(
        h["libvirt_tls_key_on_host"],
        serde_json::json!("true"),
        "{inv}"
    );
    assert_eq!(
        h["libvirt_tls_qemu_services"],
        serde_json::json!(["vnc"]),
        "{inv}"
    );
}

/// `pkitool dn` with several files: one DN per line, or one allow-list line (the role's
/// renderer; the libvirtd test above loads such a line).
#[test]
fn dn_renders_several_files_into_one_allow_list_line() {
    let t = tmpdir();
    let d = t.path();
    ok(&pkitool([
        "init-ca",
        "--dir",
        s(&d.join("ca")),
        "--cn",
        "Fleet CA",
    ]));
    let mut files = Vec::new();
    for (i, dn) in ["C=GB,O=Example\\, Inc.,CN=a", "C=GB,O=Org,CN=b"]
        .iter()
        .enumerate()
    {
        let out = d.join(format!("c{i}"));
        ok(&pkitool([
            "issue",
            "client",
            "--dir",
            s(&d.join("ca")),
            "--out",
            s(&out),
            "--dn",
            dn,
        ]));
        files.push(out.join("clientcert.pem"));
    }
    let f: Vec<&str> = files.iter().map(|p| s(p)).collect();
    let o = ok(&pkitool(["dn", f[0], f[1]]));
    assert_eq!(o, "C=GB,O=Example\\, Inc.,CN=a\nC=GB,O=Org,CN=b\n");
    let o = ok(&pkitool(["dn", "--libvirtd", f[0], f[1], f[0]]));
    assert_eq!(
        o,
        "tls_allowed_dn_list = [\"C=GB,O=Example\\, Inc.,CN=a\", \"C=GB,O=Org,CN=b\"]\n"
    );
    let o = pkitool(["dn", "--qemu", f[0], f[1]]);
    status(&o, 2);
    assert!(stderr(&o).contains("--qemu"), "{}", stderr(&o));
    // a bad file among good ones: its name, exit 1, nothing on stdout
    let o = pkitool(["dn", "--libvirtd", f[0], s(&d.join("ca/cakey.pem"))]);
    status(&o, 1);
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("cakey.pem"), "{}", stderr(&o));
}

/// Every variable in the role's defaults is in its README's table, with the same default.
#[test]
fn role_readme_documents_every_default() {
    let role = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/ansible/roles/libvirt_tls");
    let defaults = fs::read_to_string(role.join("defaults/main.yml")).unwrap();
    let readme = fs::read_to_string(role.join("README.md")).unwrap();
    let mut n = 0;
    for line in defaults.lines() {
        let Some((name, value)) = line.split_once(": ") else {
            continue;
        };
        if !name.starts_with("libvirt_tls_") || name.contains(' ') {
            continue;
        }
        n += 1;
        let value = value.trim();
        let row = if value == ">-" {
            format!("| `{name}` |")
        } else {
            let v = if value.len() > 2 && value.starts_with('"') && value.ends_with('"') {
                &value[1..value.len() - 1]
            } else {
                value
            };
            format!("| `{name}` | `{}` |", v.replace('|', "\\|"))
        };
        assert!(readme.contains(&row), "README.md lacks the row {row}");
    }
    assert!(n >= 40, "{n} variables");
}
