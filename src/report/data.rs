//! The generic report data the CI renderers ([`super::sarif`], [`super::junit`]) take: groups of
//! check targets with their findings, plus totals. `validate` builds it from its
//! [`Outcome`](crate::check::validate::Outcome) with [`Report::from_outcome`]; any other command that
//! produces findings (`probe`) builds a [`Report`] directly:
//!
//! ```
//! use pkitool::check::finding::{FRole, Finding, Severity};
//! use pkitool::report::data::{Group, Report, Target};
//!
//! let findings = vec![Finding::new("PKI-T01", Severity::Error, "expired").role(FRole::Server)];
//! let report = Report {
//!     tool: "pkitool 0.1.0".into(),
//!     evaluated_at: "2027-01-01T00:00:00Z".into(),
//!     groups: vec![Group {
//!         name: "endpoint 127.0.0.1:16514".into(),
//!         dir: None,
//!         targets: vec![Target::new(Some(FRole::Server), None, "server 127.0.0.1:16514")],
//!         findings: &findings,
//!         start_lines: Vec::new(),
//!     }],
//!     totals: vec![("endpoints", 1)],
//! };
//! let sarif = pkitool::report::sarif::render(&report, std::path::Path::new("/work"));
//! let junit = pkitool::report::junit::render(&report, false);
//! assert!(sarif.contains("\"ruleId\": \"PKI-T01\""));
//! assert!(junit.contains("<failure"));
//! ```

use std::path::{Path, PathBuf};

use crate::check::finding::{Counts, FRole, Finding};
use crate::check::validate::Outcome;

/// One thing that was checked: a file in a role (or, for a probe, an endpoint in a role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The role the file plays (None: no particular role, e.g. a fleet certificate).
    pub role: Option<FRole>,
    /// The file, when the target is a file.
    pub path: Option<PathBuf>,
    /// Display name, unique within its group (the JUnit test case name).
    pub name: String,
}

impl Target {
    /// A target with an explicit name.
    pub fn new(role: Option<FRole>, path: Option<&Path>, name: impl Into<String>) -> Self {
        Target {
            role,
            path: path.map(Path::to_path_buf),
            name: name.into(),
        }
    }

    /// A file target named "ROLE PATH" (or just PATH without a role).
    pub fn file(role: Option<FRole>, path: &Path) -> Self {
        let shown = super::show_path(path);
        let name = match role {
            Some(r) => format!("{} {shown}", r.as_str()),
            None => shown,
        };
        Target::new(role, Some(path), name)
    }
}

/// A set of targets checked together: a layout, a probed endpoint.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// Display name, e.g. "QEMU directory /etc/pki/qemu" (the JUnit classname).
    pub name: String,
    /// Where findings without a file are located (a layout's directory).
    pub dir: Option<PathBuf>,
    /// The targets, in report order.
    pub targets: Vec<Target>,
    /// The findings, in check order.
    pub findings: &'a [Finding],
    /// The 1-based line where each finding's object starts in its file (the `-----BEGIN` line of
    /// the certificate it is about), parallel to `findings`; empty or 0 means line 1 (see
    /// [`Report::locate_certificates`]).
    pub start_lines: Vec<usize>,
}

/// Everything the CI renderers need.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// "pkitool VERSION".
    pub tool: String,
    /// RFC 3339 evaluation time.
    pub evaluated_at: String,
    /// The groups, in report order.
    pub groups: Vec<Group<'a>>,
    /// Extra totals for the summary (e.g. ("files", 5), ("certificates", 3)).
    pub totals: Vec<(&'static str, usize)>,
}

impl<'a> Group<'a> {
    /// Every target with the findings about it, in target order; each finding lands in exactly
    /// one target. A finding is matched by (role, file), then by file alone; one that matches
    /// no target gets a target of its own (appended in order of first appearance), so nothing
    /// is lost.
    pub fn assign(&self) -> Vec<(Target, Vec<&'a Finding>)> {
        use std::collections::HashMap;
        let mut out: Vec<(Target, Vec<&'a Finding>)> = self
            .targets
            .iter()
            .map(|t| (t.clone(), Vec::new()))
            .collect();
        // Indexes (first target wins), so that big fleets stay linear.
        let mut exact: HashMap<(Option<PathBuf>, Option<FRole>), usize> = HashMap::new();
        let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
        for (i, (t, _)) in out.iter().enumerate() {
            exact.entry((t.path.clone(), t.role)).or_insert(i);
            if let Some(p) = &t.path {
                by_path.entry(p.clone()).or_insert(i);
            }
        }
        for f in self.findings {
            let key = (f.path.clone(), f.role);
            let found = exact
                .get(&key)
                .or_else(|| f.path.as_ref().and_then(|p| by_path.get(p)))
                .copied();
            match found.and_then(|i| out.get_mut(i)) {
                Some((_, fs)) => fs.push(f),
                None => {
                    let t = match &f.path {
                        Some(p) => Target::file(f.role, p),
                        None => Target::new(
                            f.role,
                            None,
                            match f.role {
                                Some(r) => format!("{} {}", r.as_str(), self.name),
                                None => self.name.clone(),
                            },
                        ),
                    };
                    let i = out.len();
                    exact.entry(key).or_insert(i);
                    if let Some(p) = &f.path {
                        by_path.entry(p.clone()).or_insert(i);
                    }
                    out.push((t, vec![f]));
                }
            }
        }
        out
    }
}

impl<'a> Report<'a> {
    /// Counts over every group.
    pub fn counts(&self) -> Counts {
        Counts::of(self.groups.iter().flat_map(|g| g.findings.iter()))
    }

    /// The report of a `validate` run: one group per layout, whose targets are the files the
    /// layout defines (CA, CRL, each identity's certificate and key, DH parameters, fleet
    /// certificates) that exist or have findings.
    pub fn from_outcome(o: &'a Outcome) -> Self {
        let groups = o
            .layouts
            .iter()
            .map(|l| {
                let lay = &l.layout;
                let mut targets: Vec<Target> = Vec::new();
                let mut seen: std::collections::HashSet<&Path> = std::collections::HashSet::new();
                let named: std::collections::HashSet<&Path> = l
                    .findings
                    .iter()
                    .filter_map(|f| f.path.as_deref())
                    .collect();
                // `exists`: the file was found by a directory scan (fleet), no need to look.
                let mut add = |role: Option<FRole>, p: &'a Path, exists: bool| {
                    let wanted =
                        exists || named.contains(p) || std::fs::symlink_metadata(p).is_ok();
                    if wanted && seen.insert(p) {
                        targets.push(Target::file(role, p));
                    }
                };
                if let Some(ca) = &lay.ca {
                    add(Some(FRole::Ca), ca, true);
                }
                if let Some(crl) = &lay.crl {
                    add(Some(FRole::Ca), crl, false);
                }
                for id in &lay.identities {
                    let role = Some(FRole::from(id.role));
                    add(role, &id.cert, false);
                    add(role, &id.key, false);
                }
                if let Some(dh) = &lay.dh_params {
                    add(Some(FRole::Server), dh, false);
                }
                for p in &lay.fleet {
                    add(None, p, true);
                }
                Group {
                    name: lay.name.clone(),
                    dir: Some(lay.dir.clone()),
                    targets,
                    findings: &l.findings,
                    start_lines: Vec::new(),
                }
            })
            .collect();
        Report {
            tool: o.tool.clone(),
            evaluated_at: o.evaluated_at.clone(),
            groups,
            totals: vec![
                ("layouts", o.layouts.len()),
                ("files", o.layouts.iter().map(|l| l.files).sum()),
                (
                    "certificates",
                    o.layouts.iter().map(|l| l.certificates).sum(),
                ),
            ],
        }
    }
}

impl Report<'_> {
    /// Fills every group's `start_lines`: for a finding about a certificate (it has a file and a
    /// subject), the line of the `-----BEGIN CERTIFICATE-----` of the first certificate in that
    /// file with that subject, so that a finding about the second certificate of a CA bundle
    /// points at it. Files are read again (bounded, once each); anything unreadable or
    /// unmatched stays at line 1.
    pub fn locate_certificates(mut self) -> Self {
        let mut cache: std::collections::HashMap<PathBuf, Vec<(String, usize)>> =
            std::collections::HashMap::new();
        for g in &mut self.groups {
            g.start_lines = g
                .findings
                .iter()
                .map(|f| {
                    let (Some(path), Some(subject)) = (&f.path, &f.subject) else {
                        return 0;
                    };
                    let certs = cache
                        .entry(path.clone())
                        .or_insert_with(|| certificate_lines(path));
                    certs
                        .iter()
                        .find(|(s, _)| s == subject)
                        .map(|(_, line)| *line)
                        .unwrap_or(0)
                })
                .collect();
        }
        self
    }
}

/// (subject in GnuTLS order, BEGIN line) of every certificate in a file.
fn certificate_lines(path: &Path) -> Vec<(String, usize)> {
    use x509_parser::prelude::FromDer;
    let Ok(bytes) = crate::fsio::read_input(path) else {
        return Vec::new();
    };
    let Ok(contents) = crate::x509::load::parse(&bytes) else {
        return Vec::new();
    };
    contents
        .certificates()
        .filter_map(|o| {
            x509_parser::certificate::X509Certificate::from_der(&o.der)
                .ok()
                .map(|(_, c)| (crate::x509::dn::format_gnutls(c.subject()), o.line))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::finding::Severity;

    #[test]
    fn every_finding_lands_in_exactly_one_target() {
        let a = Path::new("d/servercert.pem");
        let findings = vec![
            Finding::new("PKI-T01", Severity::Error, "x")
                .path(a)
                .role(FRole::Server),
            // same file, other role: matched by path
            Finding::new("PKI-F08", Severity::Error, "y").path(a),
            // unknown file: a target of its own
            Finding::new("PKI-F12", Severity::Error, "z").path(Path::new("d/cakey.pem")),
            // no file at all
            Finding::new("PKI-D02", Severity::Error, "w"),
        ];
        let g = Group {
            name: "layout d".into(),
            dir: None,
            targets: vec![
                Target::file(Some(FRole::Ca), Path::new("d/cacert.pem")),
                Target::file(Some(FRole::Server), a),
            ],
            findings: &findings,
            start_lines: Vec::new(),
        };
        let got = g.assign();
        let names: Vec<(&str, usize)> = got
            .iter()
            .map(|(t, f)| (t.name.as_str(), f.len()))
            .collect();
        assert_eq!(
            names,
            [
                ("ca d/cacert.pem", 0),
                ("server d/servercert.pem", 2),
                ("d/cakey.pem", 1),
                ("layout d", 1),
            ]
        );
        assert_eq!(
            got.iter().map(|(_, f)| f.len()).sum::<usize>(),
            findings.len()
        );
    }
}
