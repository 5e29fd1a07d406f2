//! man/ is generated from the clap definitions (`pkitool::cli::Cli`) with clap_mangen: one page
//! `pkitool.1` plus one page per subcommand (`pkitool-init-ca.1`, ...).
//!
//! Regenerate: `PKITOOL_UPDATE_MAN=1 cargo test --test integration man::`
//! Otherwise the test fails when a page in man/ differs from what the CLI renders, is missing, or
//! is left over from a removed subcommand.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use clap::CommandFactory;

fn man_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("man")
}

/// Every page, rendered: file name → roff bytes.
fn render_all() -> BTreeMap<String, Vec<u8>> {
    let mut cmd = pkitool::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = BTreeMap::new();
    let mut render = |c: clap::Command| {
        let man = clap_mangen::Man::new(c).source(concat!("pkitool ", env!("CARGO_PKG_VERSION")));
        let mut buf = Vec::new();
        man.render(&mut buf).expect("render man page");
        pages.insert(man.get_filename(), buf);
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render(sub.clone());
    }
    render(cmd);
    pages
}

#[test]
fn man_pages_are_current() {
    let want = render_all();
    let dir = man_dir();
    if std::env::var_os("PKITOOL_UPDATE_MAN").is_some_and(|v| v == "1") {
        fs::create_dir_all(&dir).expect("create man/");
        for entry in fs::read_dir(&dir).expect("read man/") {
            let p = entry.expect("man/ entry").path();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            if p.extension().is_some_and(|e| e == "1")
                && !want.contains_key(&name.unwrap_or_default())
            {
                fs::remove_file(&p).expect("remove stale page");
            }
        }
        for (name, body) in &want {
            fs::write(dir.join(name), body).expect("write page");
        }
        return;
    }
    let mut problems = Vec::new();
    for (name, body) in &want {
        match fs::read(dir.join(name)) {
            Ok(have) if &have == body => {}
            Ok(_) => problems.push(format!("man/{name} is stale")),
            Err(e) => problems.push(format!("man/{name}: {e}")),
        }
    }
    if let Ok(rd) = fs::read_dir(&dir) {
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".1") && !want.contains_key(&name) {
                problems.push(format!("man/{name} matches no command"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\nregenerate with: PKITOOL_UPDATE_MAN=1 cargo test --test integration man::",
        problems.join("\n")
    );
}

#[test]
fn one_page_per_subcommand_naming_every_flag() {
    let pages = render_all();
    let names: Vec<&str> = pages.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "pkitool-dn.1",
            "pkitool-init-ca.1",
            "pkitool-issue.1",
            "pkitool-match-dn.1",
            "pkitool-request.1",
            "pkitool-show.1",
            "pkitool-sign.1",
            "pkitool-template.1",
            "pkitool-validate.1",
            "pkitool.1",
        ]
    );
    let mut cmd = pkitool::cli::Cli::command();
    cmd.build();
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let page =
            String::from_utf8_lossy(&pages[&format!("pkitool-{}.1", sub.get_name())]).into_owned();
        assert!(page.starts_with(".ie") || page.contains(".TH"), "not roff");
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                // roff escapes '-' as '\-'
                let shown = format!("\\-\\-{}", long.replace('-', "\\-"));
                assert!(
                    page.contains(&shown),
                    "pkitool-{}.1 does not document --{long}",
                    sub.get_name()
                );
            }
        }
    }
}
