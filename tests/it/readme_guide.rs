//! The README's guide ("The libvirt TLS guide, done with pkitool") runs as printed: every `$ `
//! command of its console blocks is run verbatim by `sh` in one empty directory, in order, and
//! its output (stdout and stderr) must equal the README's, with timestamps and SHA-256
//! fingerprints masked and a line `...` standing for any number of lines.

use std::path::Path;
use std::process::Command;

use crate::util::*;

const SECTION: &str = "## The libvirt TLS guide, done with pkitool";

/// One command and the output the README shows for it.
#[derive(Debug)]
struct Step {
    command: String,
    expected: Vec<String>,
}

fn guide_steps(readme: &str) -> Vec<Step> {
    let start = readme.find(SECTION).expect("the guide section");
    let rest = &readme[start + SECTION.len()..];
    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let mut steps: Vec<Step> = Vec::new();
    let mut in_console = false;
    let mut continuing = false;
    for line in section.lines() {
        if line.starts_with("```") {
            in_console = line == "```console";
            continuing = false;
            continue;
        }
        if !in_console {
            continue;
        }
        if continuing {
            let s = steps.last_mut().expect("a command");
            s.command.push('\n');
            s.command.push_str(line);
            continuing = line.ends_with('\\');
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: cmd.to_string(),
                expected: Vec::new(),
            });
            continuing = cmd.ends_with('\\');
        } else {
            steps
                .last_mut()
                .expect("output after a command")
                .expected
                .push(line.to_string());
        }
    }
    steps
}

/// Replaces every match of `pat` (`d` a digit, `h` an upper-case hex digit, anything else
/// itself) in `s` by `with`.
fn mask_pattern(s: &str, pat: &str, with: &str) -> String {
    let b = s.as_bytes();
    let p = pat.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let m = i + p.len() <= b.len()
            && p.iter().zip(&b[i..]).all(|(pc, c)| match pc {
                b'd' => c.is_ascii_digit(),
                b'h' => c.is_ascii_digit() || (b'A'..=b'F').contains(c),
                _ => pc == c,
            });
        if m {
            out.push_str(with);
            i += p.len();
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn mask(line: &str) -> String {
    let fp = vec!["hh"; 32].join(":");
    let l = mask_pattern(line, &fp, "<SHA-256>");
    let l = mask_pattern(&l, "dddd-dd-dd dd:dd:dd UTC", "<TIME>");
    mask_pattern(&l, "dddd-dd-ddTdd:dd:ddZ", "<TIME>")
}

/// Matches output lines against the README's, `...` lines matching any run of lines.
fn matches(expected: &[String], got: &[String]) -> bool {
    match expected.split_first() {
        None => got.is_empty(),
        Some((e, rest)) if e.trim() == "..." => (0..=got.len()).any(|k| matches(rest, &got[k..])),
        Some((e, rest)) => !got.is_empty() && mask(e) == mask(&got[0]) && matches(rest, &got[1..]),
    }
}

#[test]
fn the_readme_guide_runs_verbatim_from_an_empty_directory() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let steps = guide_steps(&readme);
    assert!(steps.len() >= 6, "the guide has its commands: {steps:?}");
    assert!(
        steps[0].command.starts_with("pkitool template show"),
        "the guide starts by writing its templates"
    );
    let d = tmpdir();
    let bin = Path::new(PKITOOL).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut last = 0;
    for s in &steps {
        let script = format!("(exit {last}); {} 2>&1", s.command);
        let o = Command::new("sh")
            .args(["-c", &script])
            .current_dir(d.path())
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .env_remove("CI")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run sh");
        last = o.status.code().unwrap_or(128);
        let got: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
        assert!(
            matches(&s.expected, &got),
            "README guide step `{}`:\n--- README shows:\n{}\n--- it printed (exit {last}):\n{}",
            s.command,
            s.expected.join("\n"),
            got.join("\n")
        );
    }
}

#[test]
fn guide_matcher_masks_and_elides() {
    let e: Vec<String> = ["a 2026-01-01 00:00:00 UTC", "...", "z"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let g: Vec<String> = ["a 2027-12-31 23:59:59 UTC", "b", "c", "z"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(matches(&e, &g));
    assert!(!matches(&e, &g[..3]));
    assert!(!matches(&e[..1], &g[..2]));
}
