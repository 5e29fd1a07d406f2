//! Validity at `--at`: expired and not-yet-valid are errors (libvirt and QEMU compare with the
//! clock, no skew tolerance, for the leaf and for every CA in the bundle); expiry within
//! `--warn-within` days is a warning, for CAs too.

use super::{CertRef, Options, fmt_ts};
use crate::check::finding::{Finding, Severity};

/// Checks one certificate's dates.
pub fn check(c: &CertRef<'_, '_>, is_ca: bool, opts: &Options, out: &mut Vec<Finding>) {
    let v = c.cert.validity();
    let nb = v.not_before.timestamp();
    let na = v.not_after.timestamp();
    let p = c.path.display();
    // renew keeps the old lifetime: one shorter than the warning window would warn again at
    // once, so such a certificate gets pkitool's default lifetime.
    let renew = || {
        if na - nb <= i64::from(opts.warn_within_days) * 86_400 {
            c.renew_in_place_with(&[format!("--days {}", crate::ca::provision::LEAF_DAYS)])
        } else {
            c.renew_in_place()
        }
    };
    let what = if is_ca {
        "CA".to_string()
    } else {
        c.role.as_str().to_string()
    };
    if na < opts.at {
        let days = (opts.at - na) / 86_400;
        out.push(
            c.f(
                if is_ca { "PKI-T03" } else { "PKI-T01" },
                Severity::Error,
                format!(
                    "expired on {} ({days} day{} ago)",
                    fmt_ts(na),
                    if days == 1 { "" } else { "s" }
                ),
            )
            .why(format!(
                "libvirt and QEMU refuse to load it: \"The {what} certificate {p} has expired\"; peers reject it: \"The certificate has expired\"{}",
                if is_ca && c.index > 0 {
                    ". Every CA in the file is checked (libvirt, QEMU up to 10.1), even one that issued nothing here; QEMU 10.2 checks only the CAs on the chain"
                } else {
                    ""
                }
            ))
            .fix(renew()),
        );
    } else if nb > opts.at {
        out.push(
            c.f(
                if is_ca { "PKI-T04" } else { "PKI-T02" },
                Severity::Error,
                format!(
                    "not valid before {} ({} from the evaluation time; check the issuing host's clock)",
                    fmt_ts(nb),
                    human_secs(nb - opts.at)
                ),
            )
            .why(format!(
                "libvirt and QEMU refuse to load it: \"The {what} certificate {p} is not yet active\""
            ))
            .fix(format!("wait until {}, or re-issue it with a start date in the past: {}", fmt_ts(nb), renew())),
        );
    } else if na - opts.at < i64::from(opts.warn_within_days) * 86_400 {
        out.push(
            c.f(
                "PKI-T05",
                Severity::Warning,
                format!(
                    "expires on {} (in {})",
                    fmt_ts(na),
                    human_secs(na - opts.at)
                ),
            )
            .why(format!(
                "after that libvirt and QEMU refuse to start TLS: \"The {what} certificate {p} has expired\""
            ))
            .fix(renew()),
        );
    }
}

/// A duration in words, rounded to the nearest unit (a certificate issued with `--days 5` and
/// checked a second later expires "in 5 days", not 4), singular for one.
fn human_secs(s: i64) -> String {
    let unit = |n: i64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    if s >= 2 * 86_400 - 43_200 {
        unit((s + 43_200) / 86_400, "day")
    } else if s >= 3600 {
        unit((s + 1800) / 3600, "hour")
    } else {
        unit(((s + 30) / 60).max(1), "minute")
    }
}

#[cfg(test)]
mod tests {
    use super::human_secs;

    #[test]
    fn rounded_and_singular() {
        assert_eq!(human_secs(5 * 86_400 - 2), "5 days");
        assert_eq!(human_secs(2 * 86_400), "2 days");
        assert_eq!(human_secs(3600), "1 hour");
        assert_eq!(human_secs(30 * 3600), "30 hours");
        assert_eq!(human_secs(61), "1 minute");
        assert_eq!(human_secs(5), "1 minute");
        assert_eq!(human_secs(150), "3 minutes");
    }
}
