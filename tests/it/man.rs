//! man/ holds the pages `pkitool man` writes (clap_mangen, from the clap definitions): one page
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
        let help = util::ok(&pkitool([sub, "--help"]));
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
