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
    use super::*;
    use crate::check::finding::FRole;
    use crate::check::testkit::{self, Made, codes};
    use crate::x509::build::Profile;
    use crate::x509::keys::KeyType;
    use std::path::Path;

    const DAY: i64 = 86_400;

    /// A client certificate valid from `nb` for `days` days (Unix seconds).
    fn valid(nb: i64, days: i64) -> Made {
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let mut s = testkit::spec(Profile::Client, testkit::cn("c"), &[], days);
        s.not_before = time::OffsetDateTime::from_unix_timestamp(nb).unwrap();
        s.not_after = s.not_before + time::Duration::days(days);
        testkit::signed(&s, KeyType::EcdsaP256, &ca)
    }

    fn judge_at(m: &Made, path: &Path, is_ca: bool, index: usize, at: i64) -> Vec<Finding> {
        let cert = m.cert();
        let role = if is_ca { FRole::Ca } else { FRole::Client };
        let c = CertRef::new(&cert, path, role, index);
        let mut out = Vec::new();
        check(&c, is_ca, &testkit::options(at), &mut out);
        out
    }

    fn judge(m: &Made, is_ca: bool, index: usize, at: i64) -> Vec<Finding> {
        judge_at(
            m,
            Path::new("/nonexistent/clientcert.pem"),
            is_ca,
            index,
            at,
        )
    }

    const T0: i64 = 1_800_000_000; // 2027-01-15T08:00:00Z

    #[test]
    fn expiry_is_an_error_from_the_second_after_not_after() {
        let m = valid(T0, 365);
        let na = T0 + 365 * DAY;
        assert_eq!(
            codes(&judge(&m, false, 0, na)),
            [("PKI-T05", Severity::Warning)]
        );
        let f = judge(&m, false, 0, na + 1);
        assert_eq!(codes(&f), [("PKI-T01", Severity::Error)]);
        assert_eq!(f[0].message, "expired on 2028-01-15T08:00:00Z (0 days ago)");
        assert!(
            f[0].why
                .contains("\"The client certificate /nonexistent/clientcert.pem has expired\"")
        );
        assert_eq!(
            judge(&m, false, 0, na + DAY)[0].message,
            "expired on 2028-01-15T08:00:00Z (1 day ago)"
        );
        assert_eq!(
            judge(&m, false, 0, na + 3 * DAY)[0].message,
            "expired on 2028-01-15T08:00:00Z (3 days ago)"
        );
        // A CA: its own code, and the note about every CA of the file for the others.
        let f = judge(&m, true, 0, na + 1);
        assert_eq!(codes(&f), [("PKI-T03", Severity::Error)]);
        assert!(f[0].why.contains("\"The CA certificate /nonexistent/clientcert.pem has expired\"; peers reject it: \"The certificate has expired\"") && !f[0].why.contains("Every CA"), "{}", f[0].why);
        let f = judge(&m, true, 3, na + 1);
        assert!(
            f[0].why
                .ends_with("QEMU 10.2 checks only the CAs on the chain"),
            "{}",
            f[0].why
        );
    }

    #[test]
    fn not_yet_valid_is_an_error_until_not_before() {
        let m = valid(T0, 365);
        assert!(judge(&m, false, 0, T0).is_empty());
        let f = judge(&m, false, 0, T0 - 7200);
        assert_eq!(codes(&f), [("PKI-T02", Severity::Error)]);
        assert_eq!(
            f[0].message,
            "not valid before 2027-01-15T08:00:00Z (2 hours from the evaluation time; check the issuing host's clock)"
        );
        assert!(
            f[0].why.ends_with(
                "\"The client certificate /nonexistent/clientcert.pem is not yet active\""
            )
        );
        assert_eq!(
            codes(&judge(&m, true, 0, T0 - 1)),
            [("PKI-T04", Severity::Error)]
        );
    }

    #[test]
    fn expiry_within_the_window_warns_and_the_fix_renews() {
        let m = valid(T0, 365);
        let na = T0 + 365 * DAY;
        assert!(judge(&m, false, 0, na - 30 * DAY).is_empty());
        let f = judge(&m, false, 0, na - 30 * DAY + 1);
        assert_eq!(codes(&f), [("PKI-T05", Severity::Warning)]);
        assert_eq!(f[0].message, "expires on 2028-01-15T08:00:00Z (in 30 days)");
        assert!(
            f[0].why
                .contains("\"The client certificate /nonexistent/clientcert.pem has expired\"")
        );
        // On disk, renew keeps the lifetime; one within the window gets the default.
        let (_dir, path) = testkit::on_disk("clientcert.pem", &m.der);
        let f = judge_at(&m, &path, false, 0, na - DAY);
        assert_eq!(f[0].fix, format!("pkitool renew {}", path.display()));
        let short = valid(T0, 30);
        let f = judge_at(&short, &path, false, 0, T0 + DAY);
        assert_eq!(
            f[0].fix,
            format!(
                "pkitool renew {} --days {}",
                path.display(),
                crate::ca::provision::LEAF_DAYS
            )
        );
        let f = judge_at(&valid(T0, 31), &path, false, 0, T0 + 2 * DAY);
        assert_eq!(f[0].fix, format!("pkitool renew {}", path.display()));
    }

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
