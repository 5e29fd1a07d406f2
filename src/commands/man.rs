//! `pkitool man [--out DIR]`: writes the man pages, rendered from the clap definitions
//! ([`crate::cli::Cli`]): one page per command and nested subcommand (`pkitool.1`,
//! `pkitool-issue.1`, `pkitool-template-show.1`, ...), with a SYNOPSIS that keeps option values,
//! alternatives and repetition (`[--dir DIR]`, `[--san NAME_OR_IP]...`,
//! `[--layout flat|qemu|libvirt]`), and EXIT STATUS, ENVIRONMENT, EXAMPLES and SEE ALSO sections
//! naming only pages that exist. These are exactly the pages committed under `man/`
//! (`tests/it/man.rs` compares them byte for byte) and shipped by the .deb, so `cargo install`
//! users get them too.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use clap::{Arg, ArgAction, Command, CommandFactory};

use crate::cli::{Cli, ManArgs};
use crate::fsio::{self, PlannedFile};
use crate::{Error, Result};

/// Every page: file name → roff bytes, in file-name order.
pub fn pages() -> Result<BTreeMap<String, Vec<u8>>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = BTreeMap::new();
    collect(&cmd, "pkitool", &mut out);
    let names: Vec<String> = out.keys().cloned().collect();
    // SEE ALSO needs the set of pages: render in a second pass.
    let mut pages = BTreeMap::new();
    for (file, (c, full)) in out {
        pages.insert(file, render(&c, &full, &names));
    }
    Ok(pages)
}

/// Writes the pages into `dir` (created 0755 when missing). Pages already there with the same
/// bytes are left alone; a page with other content is replaced only with `force` (atomically,
/// 0644). Returns every page's path and whether it was written.
pub fn write_pages(dir: &Path, force: bool) -> Result<Vec<(std::path::PathBuf, bool)>> {
    let pages = pages()?;
    // Identical pages are detected by fsio (bounded read of regular files only, relative to
    // the directory handle), not by reading whatever sits at the path.
    let plan: Vec<PlannedFile> = pages
        .into_iter()
        .map(|(name, body)| {
            PlannedFile::new(dir.join(&name), fsio::CERT_MODE, body).keep_if_identical()
        })
        .collect();
    let unchanged = fsio::write_tree(&[(dir.to_path_buf(), 0o755)], &plan, force)?;
    Ok(plan
        .iter()
        .zip(unchanged)
        .map(|(p, same)| (p.path.clone(), !same))
        .collect())
}

/// `pkitool man`: writes the pages and lists them on stdout ("wrote" or "unchanged").
pub fn run(args: &ManArgs) -> Result<u8> {
    let written = write_pages(&args.out, args.force).map_err(|e| match e {
        Error::Write(w) => Error::Failed(format!("--out {}: {w}", args.out.display())),
        other => other,
    })?;
    let mut out = String::new();
    for (path, wrote) in written {
        let what = if wrote { "wrote" } else { "unchanged" };
        out.push_str(&format!("{what} {}\n", path.display()));
    }
    use std::io::Write;
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Environment(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(0),
    }
}

fn collect(cmd: &Command, full: &str, out: &mut BTreeMap<String, (Command, String)>) {
    out.insert(
        format!("{}.1", full.replace(' ', "-")),
        (cmd.clone(), full.to_string()),
    );
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, &format!("{full} {}", sub.get_name()), out);
    }
}

/// roff-escapes text (backslashes, hyphens, a leading dot or quote).
fn esc(s: &str) -> String {
    let t = s.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

fn value_text(a: &Arg) -> String {
    let vals: Vec<String> = a
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !vals.is_empty() {
        return vals.join("|");
    }
    a.get_value_names()
        .map(|v| {
            v.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| a.get_id().as_str().to_ascii_uppercase())
}

fn takes_value(a: &Arg) -> bool {
    matches!(a.get_action(), ArgAction::Set | ArgAction::Append)
}

fn repeats(a: &Arg) -> bool {
    matches!(a.get_action(), ArgAction::Append | ArgAction::Count)
        || a.get_num_args().is_some_and(|n| n.max_values() > 1)
}

/// One synopsis item, e.g. `[\fB\-\-dir\fR \fIDIR\fR]` or `[\fIPATH\fR]...`.
fn synopsis_item(a: &Arg) -> String {
    let body = if a.is_positional() {
        format!("\\fI{}\\fR", esc(&value_text(a)))
    } else {
        let flag = match (a.get_long(), a.get_short()) {
            (Some(l), _) => format!("\\fB\\-\\-{}\\fR", esc(l)),
            (None, Some(s)) => format!("\\fB\\-{s}\\fR"),
            (None, None) => String::new(),
        };
        if takes_value(a) {
            format!("{flag} \\fI{}\\fR", esc(&value_text(a)))
        } else {
            flag
        }
    };
    let item = if a.is_required_set() {
        if a.is_positional() && a.get_possible_values().is_empty() {
            format!("<{body}>")
        } else {
            body
        }
    } else {
        format!("[{body}]")
    };
    if repeats(a) {
        format!("{item}...")
    } else {
        item
    }
}

fn synopsis(cmd: &Command, full: &str) -> String {
    let mut items: Vec<String> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
        .map(synopsis_item)
        .collect();
    if cmd.has_subcommands() {
        let subs: Vec<&str> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name())
            .collect();
        items.insert(0, format!("\\fI{}\\fR", esc(&subs.join("|"))));
    }
    format!("\\fB{}\\fR {}", esc(full), items.join(" "))
}

/// Examples per page (commands that run as shown in the directory the guide builds: a CA in
/// `ca`, a staged tree in `stage`; `tests/it/man.rs` runs them).
pub fn examples(full: &str) -> &'static [(&'static str, &'static str)] {
    match full {
        "pkitool" => &[(
            "Create a CA, a server and a client certificate in a staged system tree, and check it:",
            "pkitool init-ca --dir ca --cn \"Example CA\"\npkitool issue server --dir ca --cn compute1.example.org --san 10.0.0.74 --layout libvirt --root stage\npkitool issue client --dir ca --dn \"C=GB,O=Example Org,CN=client1\" --layout libvirt --root stage\npkitool validate --root stage --hostname compute1.example.org",
        )],
        "pkitool init-ca" => &[(
            "A CA with an encrypted key, the password read from a pipe:",
            "printf '%s\\n' \"$CA_PASSWORD\" | pkitool init-ca --dir ca2 --cn \"Example CA\" --encrypt-key --password-file -",
        )],
        "pkitool issue" => &[
            (
                "A libvirt server certificate in a staged tree:",
                "pkitool issue server --dir ca --cn compute1.example.org --san compute1 --san 10.0.0.74 --layout libvirt --root stage --force",
            ),
            (
                "A VNC server certificate in stage/etc/pki/libvirt-vnc, the key readable by QEMU's group (root:libvirt-qemu 0640):",
                "pkitool issue server --dir ca --cn compute1.example.org --service vnc --root stage --group libvirt-qemu",
            ),
            (
                "A client certificate with a whole DN, in its own directory:",
                "pkitool issue client --dir ca --dn \"C=GB,O=Example Org,CN=client2\" --out client2",
            ),
        ],
        "pkitool validate" => &[
            (
                "Check a staged tree for the names clients use, failing on warnings too:",
                "pkitool validate --root stage --hostname compute1.example.org --strict",
            ),
            (
                "The JSON report, evaluated a year from now:",
                "pkitool validate --root stage --format json --at 2027-12-01",
            ),
        ],
        "pkitool dn" => &[(
            "The tls_allowed_dn_list line for a client certificate:",
            "pkitool dn stage/etc/pki/libvirt/clientcert.pem --libvirtd",
        )],
        "pkitool show" => &[(
            "Summarise a CA and a server certificate:",
            "pkitool show ca/cacert.pem stage/etc/pki/libvirt/servercert.pem",
        )],
        "pkitool match-dn" => &[(
            "Does a pattern admit the client?",
            "pkitool match-dn \"C=GB,O=Example Org,CN=*\" stage/etc/pki/libvirt/clientcert.pem",
        )],
        "pkitool completions" => &[(
            "Bash completion for the current user:",
            "pkitool completions bash > pkitool.bash",
        )],
        "pkitool man" => &[(
            "Install the man pages for the current user:",
            "pkitool man --out man1",
        )],
        "pkitool list" => &[(
            "Every certificate the CA issued, with its status:",
            "pkitool list --dir ca",
        )],
        "pkitool request" => &[(
            "On a host: a key that never leaves it, and a request for the CA:",
            "pkitool request server --cn compute2.example.org --san 10.0.0.75 --out host2",
        )],
        "pkitool sign" => &[(
            "On the CA machine: the server certificate for that request:",
            "pkitool sign server host2/servercert.csr --dir ca --out host2/servercert.pem",
        )],
        "pkitool renew" => &[
            (
                "Renew one deployed certificate in place (same subject, SANs and key, new serial):",
                "pkitool renew --dir ca stage/etc/pki/libvirt/servercert.pem",
            ),
            (
                "From cron: renew whatever the ledger says expires within 30 days:",
                "pkitool renew --dir ca --within 30",
            ),
        ],
        "pkitool revoke" => &[(
            "Revoke a client certificate whose key was exposed:",
            "pkitool revoke --dir ca stage/etc/pki/libvirt/clientcert.pem --reason keyCompromise",
        )],
        "pkitool crl" => &[(
            "Write the CRL where libvirtd reads it (crl_file) in the staged tree:",
            "pkitool crl --dir ca --layout libvirt --root stage",
        )],
        "pkitool probe" => &[(
            "What a QEMU migration TLS port (here a TLS server on 127.0.0.1:49152) presents, judged for the name clients dial:",
            "pkitool probe --service tls 127.0.0.1:49152 --ca ca/cacert.pem --hostname compute1.example.org",
        )],
        "pkitool template" | "pkitool template show" => &[(
            "Start from the shipped server template:",
            "pkitool template show server > server.info",
        )],
        _ => &[],
    }
}

fn render(cmd: &Command, full: &str, pages: &[String]) -> Vec<u8> {
    let mut w = Vec::new();
    let name = full.replace(' ', "-");
    let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    let _ = (|| -> std::io::Result<()> {
        writeln!(w, ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '")?;
        writeln!(
            w,
            ".TH {} 1 \"\" \"pkitool {}\"",
            name,
            env!("CARGO_PKG_VERSION")
        )?;
        writeln!(w, ".SH NAME\n{} \\- {}", esc(&name), esc(&about))?;
        writeln!(w, ".SH SYNOPSIS\n{}", synopsis(cmd, full))?;
        let long = cmd
            .get_long_about()
            .or(cmd.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        writeln!(w, ".SH DESCRIPTION\n{}", esc(&long))?;
        let args: Vec<&Arg> = cmd.get_arguments().filter(|a| !a.is_hide_set()).collect();
        if !args.is_empty() {
            writeln!(w, ".SH OPTIONS")?;
            for a in args {
                writeln!(w, ".TP\n{}", option_head(a))?;
                let help = a
                    .get_long_help()
                    .or(a.get_help())
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                writeln!(w, "{}", esc(&help))?;
                let defaults: Vec<String> = a
                    .get_default_values()
                    .iter()
                    .map(|v| v.to_string_lossy().into_owned())
                    .collect();
                if !defaults.is_empty() && takes_value(a) {
                    writeln!(w, ".br\n[default: {}]", esc(&defaults.join(",")))?;
                }
                let pv: Vec<_> = a
                    .get_possible_values()
                    .into_iter()
                    .filter(|v| !v.is_hide_set())
                    .collect();
                if takes_value(a) && !pv.is_empty() {
                    writeln!(w, ".RS")?;
                    for v in pv {
                        writeln!(
                            w,
                            ".IP \\(bu 2\n\\fB{}\\fR: {}",
                            esc(v.get_name()),
                            esc(&v.get_help().map(|h| h.to_string()).unwrap_or_default())
                        )?;
                    }
                    writeln!(w, ".RE")?;
                }
            }
        }
        let subs: Vec<&Command> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
        if !subs.is_empty() {
            writeln!(w, ".SH COMMANDS")?;
            for s in subs {
                writeln!(
                    w,
                    ".TP\n\\fB{}\\fR(1)\n{}",
                    esc(&format!("{name}-{}", s.get_name())),
                    esc(&s.get_about().map(|a| a.to_string()).unwrap_or_default())
                )?;
            }
        }
        writeln!(
            w,
            ".SH EXIT STATUS\n.TP\n0\nSuccess; for validate, no errors (warnings allowed).\n.TP\n1\nThe operation failed on its input (an unreadable or invalid file, a certificate pkitool refuses to write, ...); for validate, errors found (or warnings with \\-\\-strict); for match\\-dn, no match.\n.TP\n2\nUsage or environment error: a bad, missing or conflicting flag (the message names it), no terminal to prompt on; for match\\-dn, a file that cannot be read or holds no certificate (so that 1 always means no match)."
        )?;
        writeln!(
            w,
            ".SH ENVIRONMENT\n.TP\nNO_COLOR\nWhen set (to anything), no colour, even on a terminal. Colour is only ever used on a terminal.\n.TP\nHOME\nvalidate \\-\\-user checks $HOME/.pki/libvirt.\n.TP\nCI\nNot read by pkitool. Its test suite (cargo test) treats a missing interop peer (certtool, openssl, qemu\\-nbd, libvirtd) as a failure instead of a skip when CI is set."
        )?;
        let ex = examples(full);
        if !ex.is_empty() {
            writeln!(w, ".SH EXAMPLES")?;
            for (what, cmdline) in ex {
                writeln!(w, ".PP\n{}\n.PP\n.nf\n.RS 4", esc(what))?;
                for l in cmdline.lines() {
                    writeln!(w, "{}", esc(l))?;
                }
                writeln!(w, ".RE\n.fi")?;
            }
        }
        // SEE ALSO: the parent, the children and the top page, all existing pages.
        let mut see: Vec<String> = Vec::new();
        let mut push = |p: String| {
            if p != name && pages.contains(&format!("{p}.1")) && !see.contains(&p) {
                see.push(p);
            }
        };
        if let Some((parent, _)) = name.rsplit_once('-') {
            push(parent.to_string());
        }
        push("pkitool".to_string());
        for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            push(format!("{name}-{}", s.get_name()));
        }
        let mut refs: Vec<String> = see
            .iter()
            .map(|p| format!("\\fB{}\\fR(1)", esc(p)))
            .collect();
        // The peers' own pages (gnutls-bin, libvirt-clients, libvirt-daemon, qemu-utils).
        for (p, sec) in [
            ("certtool", 1),
            ("virt-pki-validate", 1),
            ("libvirtd", 8),
            ("qemu-nbd", 8),
        ] {
            refs.push(format!("\\fB{}\\fR({sec})", esc(p)));
        }
        writeln!(w, ".SH SEE ALSO\n{}", refs.join(", "))?;
        writeln!(w, ".SH VERSION\nv{}", env!("CARGO_PKG_VERSION"))?;
        Ok(())
    })();
    w
}

fn option_head(a: &Arg) -> String {
    let mut parts = Vec::new();
    if let Some(s) = a.get_short() {
        parts.push(format!("\\fB\\-{s}\\fR"));
    }
    if let Some(l) = a.get_long() {
        parts.push(format!("\\fB\\-\\-{}\\fR", esc(l)));
    }
    let head = if a.is_positional() {
        format!("\\fI{}\\fR", esc(&value_text(a)))
    } else if takes_value(a) {
        format!("{} \\fI{}\\fR", parts.join(", "), esc(&value_text(a)))
    } else {
        parts.join(", ")
    };
    if repeats(a) {
        format!("{head}...")
    } else {
        head
    }
}
