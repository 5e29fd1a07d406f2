//! `pkitool list`: the ledger, with each certificate's current status.

use std::io::Write;

use crate::ca::ledger::{self, Ledger, Status};
use crate::cli::{Format, ListArgs, StatusArg};
use crate::x509::build;
use crate::{Error, Result};

use super::out_err;

fn wanted(s: StatusArg) -> Status {
    match s {
        StatusArg::Valid => Status::Valid,
        StatusArg::Expiring => Status::Expiring,
        StatusArg::Expired => Status::Expired,
        StatusArg::Revoked => Status::Revoked,
        StatusArg::Superseded => Status::Superseded,
    }
}

/// Runs `list`.
pub fn run(args: &ListArgs) -> Result<u8> {
    if !args.dir.is_dir() {
        return Err(Error::Failed(format!(
            "{}: no such directory (--dir must be the CA's directory)",
            args.dir.display()
        )));
    }
    let l = Ledger::read(&args.dir)?;
    let now = build::now();
    let window = i64::from(args.expiring_within.unwrap_or(30));
    let rows: Vec<(&ledger::Entry, Status)> = l
        .entries()
        .map(|e| (e, l.status(e, now, window)))
        .filter(|(_, st)| args.status.is_none_or(|w| wanted(w) == *st))
        .filter(|(e, st)| {
            args.expiring_within.is_none()
                || (matches!(st, Status::Valid | Status::Expiring | Status::Expired)
                    && e.not_after_time()
                        .is_some_and(|t| t <= now + time::Duration::days(window)))
        })
        .collect();
    let mut out = anstream::stdout().lock();
    for n in l.notes() {
        eprintln!("note: {n}");
    }
    match args.format {
        Format::Json => {
            let certs: Vec<serde_json::Value> = rows
                .iter()
                .map(|(e, st)| {
                    let mut v = serde_json::to_value(e).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("status".into(), st.as_str().into());
                        o.insert(
                            "superseded_by".into(),
                            l.superseded_by(&e.serial).map(str::to_string).into(),
                        );
                        o.insert(
                            "revocation".into(),
                            l.revocation(&e.serial)
                                .map(|r| {
                                    serde_json::json!({
                                        "reason": r.reason.as_str(),
                                        "revoked_at": r.revoked_at,
                                    })
                                })
                                .unwrap_or(serde_json::Value::Null),
                        );
                    }
                    v
                })
                .collect();
            let doc = serde_json::json!({
                "version": 1,
                "ledger": ledger::absolute(l.path().to_path_buf()),
                "now": ledger::rfc3339(now),
                "expiring_within_days": window,
                "certificates": certs,
                "last_crl_number": l.last_crl_number(),
                "notes": l.notes(),
            });
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| Error::Failed(format!("JSON: {e}")))?;
            writeln!(out, "{text}").map_err(out_err)?;
        }
        Format::Text => {
            if rows.is_empty() {
                writeln!(
                    out,
                    "no certificates{} in {}",
                    if l.entries().next().is_some() {
                        " match"
                    } else {
                        ""
                    },
                    l.path().display()
                )
                .map_err(out_err)?;
                return Ok(0);
            }
            writeln!(
                out,
                "{:<10}  {:<6}  {:<20}  {:<40}  subject",
                "status", "role", "not after (UTC)", "serial"
            )
            .map_err(out_err)?;
            for (e, st) in &rows {
                let na = e
                    .not_after_time()
                    .map(|t| build::fmt_time(t).trim_end_matches(" UTC").to_string())
                    .unwrap_or_else(|| e.not_after.clone());
                let sans = if e.sans.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", e.sans.join(", "))
                };
                writeln!(
                    out,
                    "{:<10}  {:<6}  {:<20}  {:<40}  {}{sans}",
                    st.as_str(),
                    e.role.as_str(),
                    na,
                    e.serial,
                    e.subject
                )
                .map_err(out_err)?;
            }
        }
    }
    Ok(0)
}
