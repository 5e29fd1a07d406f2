//! `pkitool match-dn`: 0 when a tls_allowed_dn_list pattern matches a certificate, 1 with the
//! nearest reason when not.

use crate::quoting::terminal::escape as esc;
use std::io::Write;

use crate::cli::MatchDnArgs;
use crate::consumer::allowlist;
use crate::inspect::subject_dn;
use crate::{Error, Result};

/// `pkitool match-dn`: 0 when the pattern matches, 1 with the nearest reason when not.
pub fn run(args: &MatchDnArgs) -> Result<u8> {
    // Exit 1 means only "no match": a file that cannot be read or is no certificate is an
    // environment error (2), naming the file.
    let dn = subject_dn(&args.file).map_err(|e| Error::Environment(e.to_string()))?;
    let text = match allowlist::diagnose(&args.pattern, &dn) {
        None => format!("matches\ncertificate DN: {}\n", esc(&dn)),
        Some(m) => {
            let mut s = String::new();
            for (i, r) in m.reasons.iter().enumerate() {
                if i == 0 {
                    s.push_str(&format!("does not match: {}\n", esc(&r.to_string())));
                } else {
                    s.push_str(&format!("  and: {}\n", esc(&r.to_string())));
                }
            }
            s.push_str(&format!("certificate DN:    {}\n", esc(&dn)));
            s.push_str(&format!("pattern:           {}\n", esc(&args.pattern)));
            s.push_str(&format!("suggested pattern: {}\n", esc(&m.suggestion)));
            s
        }
    };
    let matched = text.starts_with("matches");
    let text = match allowlist::swallowing_forgery(&args.pattern) {
        Some(forged) => format!(
            "{text}warning: PKI-D03 the pattern's `*` swallows an escaped separator: it also admits \"{}\" (a client whose value holds ',' or '+'); list exact DNs instead\n",
            esc(&forged)
        ),
        None => text,
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::Failed(format!("cannot write to stdout: {e}")))?;
    Ok(if matched { 0 } else { 1 })
}
