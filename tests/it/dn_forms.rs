//! One renderer for every form of a client DN: the lines `issue client` prints equal what
//! `dn --libvirtd` / `dn --qemu` print, and real libvirtd and qemu-nbd, configured with exactly
//! those lines (pasted through a real shell for the QEMU command line), admit that client and
//! refuse another, for DNs with `\,`, `"`, `+`, a leading `#`, double spaces, UTF-8 and shell
//! metacharacters.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::peers::{self, Libvirtd, LibvirtdConf, QemuNbdServer, qemu_img_info_tls};
use crate::util::{have_peer, ok, pkitool, pkitool_in, tmpdir};

/// `--dn` values (libvirt's order) and the DN GnuTLS prints for each, which
/// `virt-pki-query-dn` confirms when it is installed.
const DNS: [&str; 7] = [
    r"C=GB,O=Example\, Inc.,CN=comma",
    r#"C=GB,O=Example Org,CN=say \"hi\""#,
    r"C=GB,O=R\+D,CN=plus+UID=multi",
    r"C=GB,O=Example Org,CN=\#hash",
    r"C=GB,O=Example Org,CN=two  spaces",
    "C=GB,O=Zoë Ltd,CN=zoë",
    r"C=GB,O=Example Org,CN=$(touch pwned)'q`x`",
];

/// The line after `header` in `text`, trimmed.
fn after<'a>(text: &'a str, header: &str, n: usize) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(header));
    lines
        .next()
        .unwrap_or_else(|| panic!("no {header:?} in:\n{text}"));
    lines.take(n).map(str::trim).collect()
}

/// The words a POSIX shell makes of `line` when it is pasted (run by /bin/sh, NUL-separated).
fn shell_words(line: &str, cwd: &Path) -> Vec<String> {
    let script = format!("set -- {line}\nfor a; do printf '%s\\0' \"$a\"; done");
    let o = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(cwd)
        .output()
        .expect("sh");
    assert!(o.status.success(), "the shell refused {line:?}");
    String::from_utf8(o.stdout)
        .expect("utf-8")
        .split('\0')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn issue_prints_the_dn_forms_dn_prints_and_libvirtd_and_qemu_accept_them() {
    if !(have_peer("certtool") && peers::have_qemu() && peers::have_libvirt()) {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    ok(&pkitool_in(d, ["init-ca", "--cn", "Forms CA"]));
    let server = [
        "--cn",
        "localhost",
        "--san",
        "localhost",
        "--san",
        "127.0.0.1",
    ];
    let mut args = vec!["issue", "server", "--out", "qs", "--layout", "qemu"];
    args.extend(server);
    ok(&pkitool_in(d, &args));
    let mut args = vec!["issue", "server", "--out", "ls"];
    args.extend(server);
    ok(&pkitool_in(d, &args));

    struct Client {
        printed_dn: String,
        libvirtd: String,
        qemu_cli: String,
        qmp: String,
    }
    let mut clients = Vec::new();
    for (i, dn) in DNS.iter().enumerate() {
        let (q, l) = (format!("qc{i}"), format!("lc{i}"));
        let out = ok(&pkitool_in(
            d,
            [
                "issue", "client", "--dn", dn, "--out", &q, "--layout", "qemu",
            ],
        ));
        ok(&pkitool_in(d, ["issue", "client", "--dn", dn, "--out", &l]));
        let printed_dn = after(&out, "Client DN, exactly as", 1)[0].to_string();
        let libvirtd = after(&out, "libvirtd.conf on the server:", 1)[0].to_string();
        let q2 = after(&out, "QEMU authorization (server side)", 2);
        let cert = d.join(&q).join("client-cert.pem");
        let cert_s = cert.to_str().expect("utf-8");
        // The same strings as `dn`, which virt-pki-query-dn equals byte for byte.
        assert_eq!(ok(&pkitool(["dn", cert_s])).trim_end(), printed_dn);
        assert_eq!(
            ok(&pkitool(["dn", cert_s, "--libvirtd"])).trim_end(),
            libvirtd
        );
        let dn_qemu = ok(&pkitool(["dn", cert_s, "--qemu"]));
        assert_eq!(dn_qemu.lines().collect::<Vec<_>>(), q2, "{dn}");
        if have_peer("virt-pki-query-dn") {
            let o = crate::util::run("virt-pki-query-dn", [cert_s]);
            assert_eq!(String::from_utf8_lossy(&o.stdout).trim_end(), printed_dn);
        }
        clients.push(Client {
            printed_dn,
            libvirtd,
            qemu_cli: q2[0].to_string(),
            qmp: q2[1].to_string(),
        });
    }
    // The shell-metacharacter DN must not run anything when its line is pasted.
    let qs = d.join("qs");
    for (i, c) in clients.iter().enumerate() {
        let other = (i + 1) % clients.len();
        let (mine, theirs) = (d.join(format!("qc{i}")), d.join(format!("qc{other}")));
        // QEMU command line, pasted into a shell.
        let mut words = shell_words(&c.qemu_cli, d);
        let trace = d.join(format!("authz-{i}.log"));
        words.extend([
            "--tls-authz".to_string(),
            "auth0".to_string(),
            "--trace".to_string(),
            format!("enable=qauthz_is_allowed,file={}", trace.display()),
        ]);
        let nbd = QemuNbdServer::start_args(&qs, &words)
            .unwrap_or_else(|e| panic!("qemu-nbd refused the printed line {}:\n{e}", c.qemu_cli));
        qemu_img_info_tls(&mine, "localhost", nbd.port)
            .unwrap_or_else(|e| panic!("{}: authz must admit its client:\n{e}", c.printed_dn));
        let denied = qemu_img_info_tls(&theirs, "localhost", nbd.port)
            .expect_err("authz must refuse another client");
        drop(nbd);
        // QEMU's own trace of the decision: allowed for this DN, denied for the other.
        let log = fs::read_to_string(&trace).unwrap_or_default();
        assert!(
            log.contains(&format!("identity={} allowed=1", c.printed_dn))
                && log.contains(&format!("identity={} allowed=0", clients[other].printed_dn)),
            "{}: QEMU's authz trace must show the decisions ({denied}):\n{log}",
            c.printed_dn
        );
        // The QMP form: its arguments are the JSON form of the same --object.
        let qmp: serde_json::Value = serde_json::from_str(&c.qmp).expect("QMP is JSON");
        let json_object = vec![
            "--object".to_string(),
            qmp["arguments"].to_string(),
            "--tls-authz".to_string(),
            "auth0".to_string(),
        ];
        let nbd = QemuNbdServer::start_args(&qs, &json_object)
            .unwrap_or_else(|e| panic!("qemu-nbd refused the QMP form {}:\n{e}", c.qmp));
        qemu_img_info_tls(&mine, "localhost", nbd.port)
            .unwrap_or_else(|e| panic!("{}: QMP authz must admit its client:\n{e}", c.printed_dn));
        assert!(qemu_img_info_tls(&theirs, "localhost", nbd.port).is_err());
        drop(nbd);
        // libvirtd.conf, the printed line as it is.
        let conf = LibvirtdConf {
            extra: format!("{}\n", c.libvirtd),
            ..LibvirtdConf::pkipath(&d.join("ls"))
        };
        let daemon = Libvirtd::start(&conf)
            .unwrap_or_else(|e| panic!("libvirtd refused the printed line {}:\n{e}", c.libvirtd));
        daemon
            .virsh_hostname("localhost", &d.join(format!("lc{i}")))
            .unwrap_or_else(|e| {
                panic!(
                    "{}: libvirtd must admit its client:\n{e}\n{}",
                    c.libvirtd,
                    daemon.log_errors()
                )
            });
        assert!(
            daemon
                .virsh_hostname("localhost", &d.join(format!("lc{other}")))
                .is_err(),
            "{}: libvirtd must refuse another client",
            c.libvirtd
        );
        assert!(
            daemon
                .log()
                .contains("is not on the list of allowed clients"),
            "{}",
            daemon.log_errors()
        );
    }
    assert!(!d.join("pwned").exists(), "a printed line ran a command");
    assert!(fs::read_dir(d).is_ok());
}

/// `match-dn`'s suggested pattern is judged by libvirtd itself: the near-miss pattern refuses
/// the client, the suggestion admits it.
#[test]
fn match_dn_suggestions_are_admitted_by_real_libvirtd() {
    if !peers::have_libvirt() {
        return;
    }
    let t = tmpdir();
    let d = t.path();
    ok(&pkitool_in(d, ["init-ca", "--cn", "Near Miss CA"]));
    ok(&pkitool_in(
        d,
        ["issue", "server", "--cn", "localhost", "--out", "ls"],
    ));
    let dn = "C=GB,ST=London,L=London,O=Example Org,OU=Virt Team,CN=client1";
    ok(&pkitool_in(
        d,
        ["issue", "client", "--dn", dn, "--out", "lc"],
    ));
    let cert = d.join("lc/clientcert.pem");
    for pattern in [
        "CN=client1,OU=Virt Team,O=Example Org,L=London,ST=London,C=GB",
        "C=GB, ST=London, L=London, O=Example Org, OU=Virt Team, CN=client1",
        "C=GB,,ST=London,,L=London,,O=Example Org,,OU=Virt Team,,CN=client1",
        "c=gb,st=london,l=london,o=example org,ou=virt team,cn=client1",
        "C=GB,ST=London,L=London,O=Example Org,CN=client1",
    ] {
        let o = pkitool(["match-dn", pattern, cert.to_str().expect("utf-8")]);
        crate::util::status(&o, 1);
        let out = crate::util::stdout(&o);
        let suggestion = out
            .lines()
            .find_map(|l| l.strip_prefix("suggested pattern: "))
            .unwrap_or_else(|| panic!("no suggestion for {pattern}: {out}"))
            .to_string();
        for (p, admitted) in [(pattern.to_string(), false), (suggestion.clone(), true)] {
            let conf = LibvirtdConf::pkipath(&d.join("ls")).allowed_dn([p.clone()]);
            let daemon = Libvirtd::start(&conf).expect("libvirtd");
            let r = daemon.virsh_hostname("localhost", &d.join("lc"));
            assert_eq!(
                r.is_ok(),
                admitted,
                "libvirtd with [{p}] (near miss {pattern}): {r:?}\n{}",
                daemon.log_errors()
            );
            if !admitted {
                assert!(
                    daemon
                        .log()
                        .contains("is not on the list of allowed clients")
                );
            }
        }
    }
}
