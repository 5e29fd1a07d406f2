//! man/ holds the pages `pkitool man` writes (rendered from the clap definitions by `pkitool::commands::man::pages`): one page
//! `pkitool.1` plus one page per subcommand (`pkitool-init-ca.1`, ...). The .deb ships man/, and
//! `cargo install` users run `pkitool man --out DIR`, so the committed files and the binary's
//! output must be the same bytes.
//!
//! Regenerate: `PKITOOL_UPDATE_MAN=1 cargo test --test integration man::`
//! Otherwise the test fails when a page in man/ differs from what `pkitool man` writes, is
//! missing, or is left over from a removed subcommand.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::util::{self, pkitool};

fn man_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("man")
}

fn read_pages(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut pages = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("read pages").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".1") {
            pages.insert(name, fs::read(entry.path()).expect("read page"));
        }
    }
    pages
}

/// Every page as the binary writes it: file name -> roff bytes.
fn generated() -> BTreeMap<String, Vec<u8>> {
    let tmp = util::tmpdir();
    let out = tmp.path().join("man1");
    let o = pkitool(["man", "--out", out.to_str().unwrap()]);
    let listed = util::ok(&o);
    let pages = read_pages(&out);
    for name in pages.keys() {
        assert!(
            listed.contains(&format!("wrote {}", out.join(name).display())),
            "{listed}"
        );
    }
    pages
}

#[test]
fn man_pages_are_current() {
    let want = generated();
    let dir = man_dir();
    if std::env::var_os("PKITOOL_UPDATE_MAN").is_some_and(|v| v == "1") {
        for name in read_pages(&dir).keys() {
            if !want.contains_key(name) {
                fs::remove_file(dir.join(name)).expect("remove stale page");
            }
        }
        util::ok(&pkitool(["man", "--force", "--out", dir.to_str().unwrap()]));
        return;
    }
    let have = read_pages(&dir);
    let mut problems = Vec::new();
    for (name, body) in &want {
        match have.get(name) {
            Some(h) if h == body => {}
            Some(_) => problems.push(format!("man/{name} is stale")),
            None => problems.push(format!("man/{name} is missing")),
        }
    }
    for name in have.keys().filter(|n| !want.contains_key(*n)) {
        problems.push(format!("man/{name} matches no command"));
    }
    assert!(
        problems.is_empty(),
        "{}\nregenerate with: PKITOOL_UPDATE_MAN=1 cargo test --test integration man::",
        problems.join("\n")
    );
}

#[test]
fn one_page_per_subcommand_naming_every_flag() {
    let pages = generated();
    let names: Vec<&str> = pages.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "pkitool-completions.1",
            "pkitool-crl.1",
            "pkitool-dn.1",
            "pkitool-init-ca.1",
            "pkitool-issue.1",
            "pkitool-list.1",
            "pkitool-man.1",
            "pkitool-match-dn.1",
            "pkitool-probe.1",
            "pkitool-renew.1",
            "pkitool-request.1",
            "pkitool-revoke.1",
            "pkitool-show.1",
            "pkitool-sign.1",
            "pkitool-template-show.1",
            "pkitool-template.1",
            "pkitool-validate.1",
            "pkitool.1",
        ]
    );
    // The flags each subcommand's --help lists (the parser itself, not clap's model of it).
    for name in names.iter().filter(|n| n.starts_with("pkitool-")) {
        let sub = name.trim_start_matches("pkitool-").trim_end_matches(".1");
        let page = String::from_utf8_lossy(&pages[*name]).into_owned();
        assert!(page.contains(".TH"), "{name} is not roff");
        // Nested subcommands have their own page: pkitool-template-show.1.
        let mut args: Vec<&str> = match sub {
            "template-show" => vec!["template", "show"],
            s => vec![s],
        };
        args.push("--help");
        let help = util::ok(&pkitool(&args));
        let flags: Vec<&str> = help
            .split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[' || c == '<')
            .filter(|w| {
                w.starts_with("--")
                    && w.len() > 2
                    && w[2..].chars().all(|c| c.is_ascii_lowercase() || c == '-')
            })
            .collect();
        assert!(!flags.is_empty(), "{sub} --help lists no flags:\n{help}");
        for flag in flags {
            // roff escapes '-' as '\-'
            let shown = flag.replace('-', "\\-");
            assert!(page.contains(&shown), "{name} does not document {flag}");
        }
    }
}

#[test]
fn man_refuses_to_overwrite_a_different_page_without_force() {
    let tmp = util::tmpdir();
    let out = tmp.path().join("m");
    util::ok(&pkitool(["man", "--out", out.to_str().unwrap()]));
    // A second run changes nothing and says so.
    let again = util::ok(&pkitool(["man", "--out", out.to_str().unwrap()]));
    assert!(
        again.lines().all(|l| l.starts_with("unchanged ")),
        "{again}"
    );
    let page = out.join("pkitool.1");
    fs::write(&page, "local edit\n").unwrap();
    let o = pkitool(["man", "--out", out.to_str().unwrap()]);
    util::status(&o, 1);
    let err = util::stderr(&o);
    assert!(
        err.contains("--out") && err.contains("pass --force"),
        "{err}"
    );
    assert_eq!(fs::read(&page).unwrap(), b"local edit\n", "nothing written");
    util::ok(&pkitool(["man", "--force", "--out", out.to_str().unwrap()]));
    assert_eq!(
        fs::read(&page).unwrap(),
        fs::read(man_dir().join("pkitool.1")).unwrap()
    );
}

fn page(name: &str) -> String {
    String::from_utf8(generated()[name].clone()).expect("utf-8 page")
}

#[test]
fn every_page_reference_exists_and_sections_are_there() {
    let pages = generated();
    for (name, body) in &pages {
        let text = String::from_utf8_lossy(body);
        for section in [
            "SYNOPSIS",
            "OPTIONS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "SEE ALSO",
        ] {
            assert!(
                text.contains(&format!(".SH {section}")),
                "{name}: no {section}"
            );
        }
        assert!(
            text.contains("NO_COLOR") && text.contains("\n.TP\nCI\n"),
            "{name}: ENVIRONMENT lacks NO_COLOR/CI"
        );
        // Every pkitool page it names (\fBpkitool\-x\fR(1)) exists.
        for (i, _) in text.match_indices("\\fBpkitool") {
            let rest = &text[i + 3..];
            let Some(end) = rest.find("\\fR") else {
                continue;
            };
            if !rest[end..].starts_with("\\fR(1)") {
                continue;
            }
            let page = rest[..end].replace("\\-", "-");
            if page.contains(' ') {
                continue;
            }
            assert!(
                pages.contains_key(&format!("{page}.1")),
                "{name} refers to {page}(1), which does not exist"
            );
        }
    }
    let issue = page("pkitool-issue.1");
    let synopsis =
        &issue[issue.find(".SH SYNOPSIS").unwrap()..issue.find(".SH DESCRIPTION").unwrap()];
    for want in [
        "[\\fB\\-\\-dir\\fR \\fIDIR\\fR]",
        "[\\fB\\-\\-san\\fR \\fINAME_OR_IP\\fR]...",
        "[\\fB\\-\\-layout\\fR \\fIflat|qemu|libvirt\\fR]",
        "\\fIserver|client\\fR",
        "[\\fB\\-\\-force\\fR]",
    ] {
        assert!(
            synopsis.contains(want),
            "issue SYNOPSIS lacks {want}:\n{synopsis}"
        );
    }
    let validate = page("pkitool-validate.1");
    assert!(
        validate.contains("[\\fIPATH\\fR]..."),
        "validate SYNOPSIS: [PATH]..."
    );
    assert!(page("pkitool-template.1").contains("\\fBpkitool\\-template\\-show\\fR(1)"));
}

/// The EXAMPLES of every page run as printed (after the setup the pages assume: a CA in `ca`,
/// a server and client in the staged tree `stage`, made by the first page's example).
#[test]
fn man_page_examples_run() {
    let d = util::tmpdir();
    let p = d.path();
    let bin = Path::new(util::PKITOOL).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let sh = |script: &str| {
        let o = std::process::Command::new("sh")
            .args(["-ec", script])
            .current_dir(p)
            .env("PATH", &path)
            .env("CA_PASSWORD", "example password")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (o.status.code(), util::stdout(&o), util::stderr(&o))
    };
    let order = [
        "pkitool",
        "pkitool init-ca",
        "pkitool issue",
        "pkitool template",
        "pkitool template show",
        "pkitool dn",
        "pkitool show",
        "pkitool match-dn",
        "pkitool validate",
        "pkitool list",
        "pkitool request",
        "pkitool sign",
        "pkitool renew",
        "pkitool probe",
        "pkitool revoke",
        "pkitool crl",
        "pkitool completions",
        "pkitool man",
    ];
    let mut ran = 0;
    for full in order {
        for (_, cmd) in pkitool::commands::man::examples(full) {
            // probe's example needs a TLS server at the address it names: openssl s_server with
            // the staged server certificate, for one connection.
            let server = (full == "pkitool probe").then(|| {
                let s = std::process::Command::new("openssl")
                    .args([
                        "s_server",
                        "-accept",
                        "127.0.0.1:49152",
                        "-quiet",
                        "-naccept",
                        "2",
                    ])
                    .args(["-cert", "stage/etc/pki/libvirt/servercert.pem"])
                    .args(["-key", "stage/etc/pki/libvirt/private/serverkey.pem"])
                    .current_dir(p)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("openssl s_server (probe's example)");
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while std::net::TcpStream::connect("127.0.0.1:49152").is_err() {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "openssl s_server did not listen on 127.0.0.1:49152 (port busy?)"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                s
            });
            let (code, out, err) = sh(cmd);
            if let Some(mut s) = server {
                let _ = s.kill();
                let _ = s.wait();
            }
            // validate may report findings (exit 1); anything else must succeed.
            let fine = code == Some(0) || (cmd.contains("validate") && code == Some(1));
            assert!(
                fine,
                "example of {full}: {cmd}\nexit {code:?}\n{out}\n{err}"
            );
            ran += 1;
        }
    }
    assert!(ran >= 20, "{ran} examples");
}
