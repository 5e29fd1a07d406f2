//! man/ is generated from the clap definitions (`pkitool::cli::Cli`) by
//! `pkitool::commands::man::pages`: one page `pkitool.1` plus one page per subcommand and nested
//! subcommand (`pkitool-init-ca.1`, `pkitool-template-show.1`, ...).
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

/// Every page, rendered: file name → roff bytes (the library's one renderer).
fn render_all() -> BTreeMap<String, Vec<u8>> {
    pkitool::commands::man::pages()
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
            "pkitool-probe.1",
            "pkitool-show.1",
            "pkitool-template-show.1",
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

fn page(name: &str) -> String {
    String::from_utf8(render_all()[name].clone()).expect("utf-8 page")
}

#[test]
fn every_page_reference_exists_and_sections_are_there() {
    let pages = render_all();
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
            let end = rest.find("\\fR(1)").unwrap_or(0);
            if end == 0 {
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
/// a server and client in the staged tree `stage`).
#[test]
fn man_page_examples_run() {
    use crate::util::*;
    let d = tmpdir();
    let p = d.path();
    let bin = std::path::Path::new(PKITOOL).parent().unwrap();
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
        (o.status.code(), stdout(&o), stderr(&o))
    };
    let mut order: Vec<&str> = vec!["pkitool"];
    order.extend([
        "pkitool init-ca",
        "pkitool issue",
        "pkitool template",
        "pkitool template show",
        "pkitool dn",
        "pkitool show",
        "pkitool match-dn",
        "pkitool validate",
    ]);
    let mut ran = 0;
    for full in order {
        for (_, cmd) in pkitool::commands::man::examples(full) {
            let (code, out, err) = sh(cmd);
            // validate may report findings (exit 1); anything else must succeed.
            let fine = code == Some(0) || (cmd.contains("validate") && code == Some(1));
            assert!(
                fine,
                "example of {full}: {cmd}\nexit {code:?}\n{out}\n{err}"
            );
            ran += 1;
        }
    }
    assert!(ran >= 10, "{ran} examples");
}
