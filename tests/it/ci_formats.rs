//! CI formats and packaging: `validate --format sarif` checked against the OASIS SARIF 2.1.0
//! schema by python3-jsonschema, `--format junit` read back by Python's xml.etree, `--quiet`,
//! byte-for-byte determinism, exit statuses that do not depend on the format, shell
//! completions loaded by real bash, zsh and fish, `--version` on subcommands, and the .deb
//! built by cargo-deb (contents, dependencies, man pages found by man-db, the binary runs).
//!
//! The layouts are made with certtool; what is wrong with the broken one is decided by how it is
//! made (a key made world-readable, a --hostname the certificate does not name, an --at after
//! the leaves expire, the CA appended to the client certificate), not by pkitool's output.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{self, pkitool, pkitool_in, status, stderr, stdout};

const AT_BROKEN: &str = "2028-06-01T00:00:00Z";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A certtool-made PKI: `ca/cakey.pem` (outside the deployment directory) and the libvirt
/// pkipath layout `pki/` (cacert, servercert/serverkey for "vm", clientcert/clientkey), RSA 2048,
/// leaves valid 365 days from now. With `broken`: serverkey.pem mode 0644, and the CA appended
/// to clientcert.pem.
fn make_pki(dir: &Path, broken: bool) {
    let script = r#"
umask 022
mkdir -p ca pki
cat > ca.info <<'EOF'
cn = "Test Root CA"
organization = "Example Org"
ca
cert_signing_key
crl_signing_key
expiration_days = 3650
EOF
cat > server.info <<'EOF'
organization = "Example Org"
cn = "vm"
dns_name = "vm"
ip_address = "127.0.0.1"
tls_www_server
signing_key
encryption_key
expiration_days = 365
EOF
cat > client.info <<'EOF'
organization = "Example Org"
cn = client1
tls_www_client
signing_key
encryption_key
expiration_days = 365
EOF
(umask 077
 for k in ca/cakey pki/serverkey pki/clientkey; do
   certtool --generate-privkey --key-type rsa --bits 2048 --outfile $k.pem 2>/dev/null
 done)
certtool --generate-self-signed --load-privkey ca/cakey.pem --template ca.info --outfile pki/cacert.pem >/dev/null 2>&1
certtool --generate-certificate --load-privkey pki/serverkey.pem --load-ca-certificate pki/cacert.pem \
  --load-ca-privkey ca/cakey.pem --template server.info --outfile pki/servercert.pem >/dev/null 2>&1
certtool --generate-certificate --load-privkey pki/clientkey.pem --load-ca-certificate pki/cacert.pem \
  --load-ca-privkey ca/cakey.pem --template client.info --outfile pki/clientcert.pem >/dev/null 2>&1
"#;
    util::sh(dir, script);
    if broken {
        util::sh(
            dir,
            "chmod 644 pki/serverkey.pem; cat pki/cacert.pem >> pki/clientcert.pem",
        );
    }
}

/// The broken layout's validate arguments (run in the fixture directory).
fn broken_args(format: &str) -> Vec<String> {
    [
        "validate",
        "pki",
        "--hostname",
        "other.example",
        "--at",
        AT_BROKEN,
        "--format",
        format,
    ]
    .map(String::from)
    .to_vec()
}

/// Expected errors of the broken layout: (testcase name, codes).
fn broken_expected() -> BTreeMap<String, BTreeSet<String>> {
    let set = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    BTreeMap::from([
        ("ca pki/cacert.pem".to_string(), set(&[])),
        (
            "server pki/servercert.pem".to_string(),
            set(&["PKI-T01", "PKI-H01"]),
        ),
        ("server pki/serverkey.pem".to_string(), set(&["PKI-F08"])),
        ("client pki/clientcert.pem".to_string(), set(&["PKI-T01"])),
        ("client pki/clientkey.pem".to_string(), set(&[])),
    ])
}

/// A fixture, or None when certtool is missing (which fails under CI).
fn fixture(broken: bool) -> Option<tempfile::TempDir> {
    if !util::have_peer("certtool") {
        return None;
    }
    let dir = util::tmpdir();
    make_pki(dir.path(), broken);
    Some(dir)
}

/// Debian's python3 (with python3-jsonschema) when present, else the first python3 on PATH.
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// True when python3 can import `module`; under CI a missing module fails the test.
#[track_caller]
fn have_python_module(module: &str) -> bool {
    let ok = Command::new(python())
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if util::in_ci() {
            panic!(
                "python3 module {module} is missing and CI is set (apt package python3-{module})"
            );
        }
        util::note_skip(&format!("python3 module {module} is not installed"));
    }
    ok
}

fn run_python(script: &str, args: &[&Path]) -> Output {
    Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3")
}

const VALIDATE_SCHEMA: &str = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
for e in errors:
    print("/".join(map(str, e.absolute_path)) + ": " + e.message)
print(cls.__name__, len(errors), "errors")
sys.exit(1 if errors else 0)
"#;

fn schema() -> PathBuf {
    repo().join("tests/fixtures/schemas/sarif-schema-2.1.0.json")
}

/// Validates a SARIF document with python3-jsonschema; returns (passed, validator output).
fn schema_check(doc: &[u8]) -> (bool, String) {
    let tmp = util::tmpdir();
    let p = tmp.path().join("doc.sarif");
    std::fs::write(&p, doc).unwrap();
    let o = run_python(VALIDATE_SCHEMA, &[&schema(), &p]);
    (o.status.success(), format!("{}{}", stdout(&o), stderr(&o)))
}

#[test]
fn sarif_is_valid_oasis_sarif_with_one_result_per_finding_and_a_rule_per_code() {
    if !have_python_module("jsonschema") {
        return;
    }
    let Some(dir) = fixture(true) else { return };
    let o = pkitool_in(dir.path(), broken_args("sarif"));
    status(&o, 1);
    let (valid, out) = schema_check(&o.stdout);
    assert!(valid, "the OASIS schema refuses pkitool's SARIF:\n{out}");
    assert!(out.contains("Draft7Validator 0 errors"), "{out}");

    // Negative control: the same validator refuses a level SARIF does not have.
    let mut doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    doc["runs"][0]["results"][0]["level"] = "fatal".into();
    let (valid, out) = schema_check(&serde_json::to_vec(&doc).unwrap());
    assert!(!valid, "a bad level passed:\n{out}");
    assert!(out.contains("'fatal' is not one of"), "{out}");

    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(
        doc["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "pkitool");
    // One result per error the fixture was built with, plus the note for the appended CA.
    let mut got: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    for r in run["results"].as_array().unwrap() {
        let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(loc["uriBaseId"], "SRCROOT", "{r}");
        got.insert((
            r["ruleId"].as_str().unwrap().into(),
            r["level"].as_str().unwrap().into(),
            loc["uri"].as_str().unwrap().into(),
            r["properties"]["role"].as_str().unwrap_or("").into(),
        ));
        let text = r["message"]["text"].as_str().unwrap();
        assert!(
            text.contains("\nWhy: ") && text.contains("\nFix: "),
            "{text}"
        );
    }
    let want: BTreeSet<(String, String, String, String)> = [
        ("PKI-F08", "error", "pki/serverkey.pem", "server"),
        ("PKI-T01", "error", "pki/servercert.pem", "server"),
        ("PKI-H01", "error", "pki/servercert.pem", "server"),
        ("PKI-T01", "error", "pki/clientcert.pem", "client"),
        ("PKI-C03", "note", "pki/clientcert.pem", "client"),
    ]
    .iter()
    .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(run["results"].as_array().unwrap().len(), 5);

    // tool.driver.rules: exactly the codes that appear, each described by the README's row.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: BTreeSet<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        BTreeSet::from(["PKI-C03", "PKI-F08", "PKI-H01", "PKI-T01"])
    );
    for (i, r) in run["results"].as_array().unwrap().iter().enumerate() {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"], "result {i}");
    }
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{id}`")) || l.contains(&format!("/ `{id}` |")))
            .unwrap_or_else(|| panic!("no README row for {id}"));
        let meaning = row
            .trim_end_matches('|')
            .rsplit(" | ")
            .next()
            .unwrap()
            .trim();
        assert_eq!(
            rule["fullDescription"]["text"],
            meaning.replace('`', ""),
            "{id}"
        );
        assert!(
            rule["help"]["markdown"].as_str().unwrap().ends_with(row),
            "{id}"
        );
        assert!(
            !rule["shortDescription"]["text"]
                .as_str()
                .unwrap()
                .is_empty()
        );
        assert!(
            rule["help"]["text"]
                .as_str()
                .unwrap()
                .contains(&meaning.replace('`', ""))
        );
        assert!(rule["properties"]["class"].is_string());
    }
    assert_eq!(run["properties"]["evaluatedAt"], AT_BROKEN);
    assert_eq!(run["properties"]["summary"]["errors"], 4);
}

#[test]
fn the_readme_sarif_example_is_valid_sarif() {
    if !have_python_module("jsonschema") {
        return;
    }
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("--format sarif</summary>\n\n```json\n")
        .expect("the README's SARIF example");
    let body = &readme[start..];
    let body = &body[body.find("{").unwrap()..];
    let body = &body[..body.find("```").unwrap()];
    let (valid, out) = schema_check(body.as_bytes());
    assert!(valid, "{out}");
}

/// 1-based lines of the `-----BEGIN CERTIFICATE-----` lines of a file.
fn begin_lines(p: &Path) -> Vec<u64> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end() == "-----BEGIN CERTIFICATE-----")
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

#[test]
fn sarif_points_at_the_begin_line_of_the_certificate_concerned() {
    let Some(dir) = fixture(false) else { return };
    // A second CA that has expired by --at, appended to the CA bundle; the server certificate
    // behind certtool's text dump, so its PEM block does not start on line 1.
    util::sh(
        dir.path(),
        r#"sed -e 's/Test Root CA/Other CA/' -e 's/expiration_days = 3650/expiration_days = 1/' ca.info > other.info
(umask 077; certtool --generate-privkey --key-type rsa --bits 2048 --outfile ca/otherkey.pem 2>/dev/null)
certtool --generate-self-signed --load-privkey ca/otherkey.pem --template other.info --outfile other.pem >/dev/null 2>&1
cat other.pem >> pki/cacert.pem
certtool -i --infile pki/servercert.pem > s.pem 2>/dev/null && mv s.pem pki/servercert.pem"#,
    );
    let ca_lines = begin_lines(&dir.path().join("pki/cacert.pem"));
    let server_lines = begin_lines(&dir.path().join("pki/servercert.pem"));
    assert_eq!(ca_lines.len(), 2);
    assert_eq!(server_lines.len(), 1);
    assert!(
        ca_lines[1] > 1 && server_lines[0] > 1,
        "{ca_lines:?} {server_lines:?}"
    );
    let o = pkitool_in(
        dir.path(),
        [
            "validate",
            "pki",
            "--at",
            "2027-01-15",
            "--hostname",
            "other.example",
            "--format",
            "sarif",
        ],
    );
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut seen = BTreeSet::new();
    for r in doc["runs"][0]["results"].as_array().unwrap() {
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        let line = loc["region"]["startLine"].as_u64().unwrap();
        match (uri, r["properties"]["subject"].as_str()) {
            ("pki/cacert.pem", Some("O=Example Org,CN=Other CA")) => {
                assert_eq!(line, ca_lines[1], "{r}");
                seen.insert(r["ruleId"].as_str().unwrap().to_string());
            }
            ("pki/servercert.pem", Some("O=Example Org,CN=vm")) => {
                assert_eq!(line, server_lines[0], "{r}");
                seen.insert(r["ruleId"].as_str().unwrap().to_string());
            }
            _ => {}
        }
    }
    // The expired CA and the host name mismatch are both located.
    assert!(
        seen.contains("PKI-T03") && seen.contains("PKI-H01"),
        "{seen:?}\n{}",
        stdout(&o)
    );
}

#[test]
fn sarif_uris_are_absolute_for_files_outside_the_working_directory() {
    if !have_python_module("jsonschema") {
        return;
    }
    let Some(dir) = fixture(true) else { return };
    let elsewhere = util::tmpdir();
    let pki = dir.path().join("pki");
    let o = pkitool_in(
        elsewhere.path(),
        [
            "validate",
            pki.to_str().unwrap(),
            "--at",
            AT_BROKEN,
            "--format",
            "sarif",
        ],
    );
    status(&o, 1);
    let (valid, out) = schema_check(&o.stdout);
    assert!(valid, "{out}");
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    for r in doc["runs"][0]["results"].as_array().unwrap() {
        let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        let uri = loc["uri"].as_str().unwrap();
        assert!(
            uri.starts_with(&format!("file://{}/", pki.display())),
            "{uri}"
        );
        assert!(loc.get("uriBaseId").is_none(), "{loc}");
    }
}

#[test]
fn every_format_is_deterministic_and_gives_the_same_exit_status() {
    let Some(broken) = fixture(true) else { return };
    let Some(clean) = fixture(false) else { return };
    // A fixed time at which the clean layout is valid: tomorrow.
    let tomorrow = util::ok(&util::run(
        "date",
        ["-u", "-d", "+1 day", "+%Y-%m-%dT%H:%M:%SZ"],
    ));
    let clean_args = |format: &str| -> Vec<String> {
        [
            "validate",
            "pki",
            "--at",
            tomorrow.trim(),
            "--format",
            format,
        ]
        .map(String::from)
        .to_vec()
    };
    for (dir, want, args_of) in [
        (
            broken.path(),
            1,
            &broken_args as &dyn Fn(&str) -> Vec<String>,
        ),
        (clean.path(), 0, &clean_args),
    ] {
        for format in ["text", "json", "sarif", "junit"] {
            let args = args_of(format);
            let a = pkitool_in(dir, &args);
            let b = pkitool_in(dir, &args);
            status(&a, want);
            status(&b, want);
            assert_eq!(a.stdout, b.stdout, "{format}: two runs differ");
            assert!(!a.stdout.is_empty(), "{format}");
        }
        let mut q = args_of("text");
        q.push("--quiet".into());
        status(&pkitool_in(dir, &q), want);
    }
    // --strict turns the clean layout's expiry warnings into exit 1 in every format, junit too.
    for format in ["text", "json", "sarif", "junit"] {
        let base = [
            "validate",
            "pki",
            "--warn-within",
            "400",
            "--format",
            format,
        ];
        status(&pkitool_in(clean.path(), base), 0);
        let mut strict = base.to_vec();
        strict.push("--strict");
        status(&pkitool_in(clean.path(), strict), 1);
    }
}

const PARSE_JUNIT: &str = r#"
import json, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
out = {"tests": root.get("tests"), "failures": root.get("failures"), "suites": []}
for s in root.findall("testsuite"):
    cases = []
    for c in s.findall("testcase"):
        so = c.find("system-out")
        cases.append({
            "classname": c.get("classname"), "name": c.get("name"), "file": c.get("file"),
            "failures": [{"type": f.get("type"), "message": f.get("message"), "body": f.text or ""}
                         for f in c.findall("failure")],
            "system_out": so.text if so is not None else None,
        })
    out["suites"].append({"name": s.get("name"), "tests": s.get("tests"),
                          "failures": s.get("failures"), "cases": cases})
print(json.dumps(out))
"#;

/// Parses a JUnit document with Python's xml.etree (an independent XML parser).
fn parse_junit(xml: &[u8]) -> Value {
    let tmp = util::tmpdir();
    let p = tmp.path().join("junit.xml");
    std::fs::write(&p, xml).unwrap();
    let o = run_python(PARSE_JUNIT, &[&p]);
    assert!(
        o.status.success(),
        "xml.etree refuses the report:\n{}\n{}",
        stderr(&o),
        String::from_utf8_lossy(xml)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn cases(doc: &Value) -> Vec<Value> {
    doc["suites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn junit_has_a_testcase_per_file_and_a_failure_per_error() {
    let Some(dir) = fixture(true) else { return };
    if !have_python_module("xml.etree.ElementTree") {
        return;
    }
    let o = pkitool_in(dir.path(), broken_args("junit"));
    status(&o, 1);
    let doc = parse_junit(&o.stdout);
    assert_eq!(doc["suites"].as_array().unwrap().len(), 1);
    let suite = &doc["suites"][0];
    assert_eq!(suite["name"], "libvirt pkipath directory pki");
    assert_eq!(
        (suite["tests"].as_str(), suite["failures"].as_str()),
        (Some("5"), Some("3"))
    );
    let mut got = BTreeMap::new();
    for c in cases(&doc) {
        assert_eq!(c["classname"], "libvirt pkipath directory pki");
        let name = c["name"].as_str().unwrap().to_string();
        assert!(name.ends_with(c["file"].as_str().unwrap()), "{c}");
        let types: BTreeSet<String> = c["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["type"].as_str().unwrap().to_string())
            .collect();
        for f in c["failures"].as_array().unwrap() {
            let body = f["body"].as_str().unwrap();
            assert!(
                body.contains("\nwhy: ") && body.contains("\nfix: "),
                "{body}"
            );
            assert!(
                f["message"].as_str().unwrap().starts_with("error PKI-"),
                "{f}"
            );
        }
        assert!(
            got.insert(name, types).is_none(),
            "duplicate test case name"
        );
    }
    assert_eq!(got, broken_expected());
    // The note about the CA appended to the client certificate is output, not a failure.
    let client = cases(&doc)
        .into_iter()
        .find(|c| c["name"] == "client pki/clientcert.pem")
        .unwrap();
    assert!(
        client["system_out"]
            .as_str()
            .unwrap()
            .contains("note PKI-C03"),
        "{client}"
    );

    // The fix in the F08 failure runs verbatim and repairs that test case.
    let key = cases(&doc)
        .into_iter()
        .find(|c| c["name"] == "server pki/serverkey.pem")
        .unwrap();
    let body = key["failures"][0]["body"].as_str().unwrap();
    let fix = body.lines().find_map(|l| l.strip_prefix("fix: ")).unwrap();
    assert_eq!(fix, "chmod 600 pki/serverkey.pem");
    util::sh(dir.path(), fix);
    let doc = parse_junit(&pkitool_in(dir.path(), broken_args("junit")).stdout);
    let key = cases(&doc)
        .into_iter()
        .find(|c| c["name"] == "server pki/serverkey.pem")
        .unwrap();
    assert_eq!(key["failures"].as_array().unwrap().len(), 0, "{key}");
}

#[test]
fn junit_clean_layout_passes_and_strict_fails_warnings() {
    let Some(dir) = fixture(false) else { return };
    if !have_python_module("xml.etree.ElementTree") {
        return;
    }
    let o = pkitool_in(dir.path(), ["validate", "pki", "--format", "junit"]);
    status(&o, 0);
    let doc = parse_junit(&o.stdout);
    assert_eq!(
        (doc["tests"].as_str(), doc["failures"].as_str()),
        (Some("5"), Some("0"))
    );
    let names: BTreeSet<String> = cases(&doc)
        .iter()
        .map(|c| {
            assert!(c["failures"].as_array().unwrap().is_empty(), "{c}");
            c["name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(names, broken_expected().into_keys().collect());

    // Leaves valid 365 days, --warn-within 400: two expiry warnings (the CA has ten years).
    let warn = [
        "validate",
        "pki",
        "--format",
        "junit",
        "--warn-within",
        "400",
    ];
    let o = pkitool_in(dir.path(), warn);
    status(&o, 0);
    let doc = parse_junit(&o.stdout);
    assert_eq!(doc["failures"], "0");
    let outs: Vec<String> = cases(&doc)
        .iter()
        .filter_map(|c| c["system_out"].as_str().map(str::to_string))
        .collect();
    assert_eq!(outs.len(), 2, "{outs:?}");
    assert!(
        outs.iter().all(|o| o.starts_with("warning PKI-T05")),
        "{outs:?}"
    );
    let mut strict = warn.to_vec();
    strict.push("--strict");
    let o = pkitool_in(dir.path(), strict);
    status(&o, 1);
    let doc = parse_junit(&o.stdout);
    assert_eq!(doc["failures"], "2");
    let failed: BTreeMap<String, Vec<String>> = cases(&doc)
        .iter()
        .filter(|c| !c["failures"].as_array().unwrap().is_empty())
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["failures"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["type"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        failed,
        BTreeMap::from([
            (
                "client pki/clientcert.pem".to_string(),
                vec!["PKI-T05".to_string()]
            ),
            (
                "server pki/servercert.pem".to_string(),
                vec!["PKI-T05".to_string()]
            ),
        ])
    );
}

#[test]
fn quiet_prints_errors_warnings_and_the_summary_only() {
    let Some(clean) = fixture(false) else { return };
    let o = pkitool_in(clean.path(), ["validate", "pki", "--quiet"]);
    status(&o, 0);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with(
            "summary: 0 errors, 0 warnings, 0 notes in 1 layout, 5 files, 3 certificates (at "
        ),
        "{out}"
    );

    let Some(broken) = fixture(true) else { return };
    let mut args = broken_args("text");
    args.push("-q".into());
    let o = pkitool_in(broken.path(), &args);
    status(&o, 1);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    let findings: BTreeSet<(String, String)> = lines
        .iter()
        .filter(|l| l.starts_with("error ") || l.starts_with("warning "))
        .map(|l| {
            let mut w = l.split(' ');
            let _sev = w.next();
            let code = w.next().unwrap().to_string();
            let path = w.next().unwrap().trim_end_matches(':').to_string();
            (code, path)
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("PKI-F08", "pki/serverkey.pem"),
        ("PKI-T01", "pki/servercert.pem"),
        ("PKI-H01", "pki/servercert.pem"),
        ("PKI-T01", "pki/clientcert.pem"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(findings, want, "{out}");
    // 4 errors, each with its fix line, and the summary: no notes, no why, no layout headers.
    assert_eq!(lines.len(), 9, "{out}");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("  fix ")).count(),
        4,
        "{out}"
    );
    assert!(!out.contains("PKI-C03") && !out.contains("why"), "{out}");
    assert!(
        lines[8].starts_with("summary: 4 errors, 0 warnings, 1 note in 1 layout"),
        "{out}"
    );

    // --quiet with a complete report format is refused, naming the flag.
    let mut args = broken_args("json");
    args.push("--quiet".into());
    let o = pkitool_in(broken.path(), &args);
    status(&o, 2);
    assert!(
        stderr(&o).contains("--quiet applies to --format text only"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn show_refuses_the_ci_formats_naming_the_flag() {
    for format in ["sarif", "junit"] {
        let o = pkitool(["show", "--format", format, "x.pem"]);
        status(&o, 2);
        let err = stderr(&o);
        assert!(
            err.contains(&format!("invalid value '{format}' for '--format <FORMAT>'")),
            "{err}"
        );
    }
}

#[test]
fn version_on_a_subcommand_names_pkitool() {
    let want = format!("pkitool {}\n", env!("CARGO_PKG_VERSION"));
    for args in [
        vec!["--version"],
        vec!["issue", "--version"],
        vec!["validate", "-V"],
        vec!["template", "show", "--version"],
    ] {
        let o = pkitool(&args);
        assert_eq!(util::ok(&o), want, "{args:?}");
    }
}

// --- completions ---------------------------------------------------------------------------

const SHELLS: [(&str, &str); 3] = [
    ("bash", "completions/pkitool.bash"),
    ("zsh", "completions/_pkitool"),
    ("fish", "completions/pkitool.fish"),
];

/// The committed scripts (shipped by the .deb) are what `pkitool completions` prints.
/// Regenerate: `PKITOOL_UPDATE_COMPLETIONS=1 cargo test --test integration ci_formats::`
#[test]
fn committed_completions_are_current() {
    let update = std::env::var_os("PKITOOL_UPDATE_COMPLETIONS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (shell, file) in SHELLS {
        let o = pkitool(["completions", shell]);
        util::ok(&o);
        let path = repo().join(file);
        if update {
            std::fs::write(&path, &o.stdout).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&o.stdout[..]) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} stale; regenerate with: PKITOOL_UPDATE_COMPLETIONS=1 cargo test --test integration ci_formats::"
    );
}

fn shell(program: &str, script: &str) -> Output {
    Command::new(program)
        .args(["-c", script])
        .env("PKITOOL", util::PKITOOL)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

#[test]
fn bash_loads_the_completion_and_completes_subcommands_flags_and_values() {
    if !util::have_peer("bash") {
        return;
    }
    let o = shell(
        "bash",
        r#"source <("$PKITOOL" completions bash); complete -p pkitool"#,
    );
    let out = util::ok(&o);
    assert!(
        out.starts_with("complete ") && out.contains(" -F _pkitool "),
        "{out}"
    );
    assert!(out.trim_end().ends_with(" pkitool"), "{out}");
    // Drive the completion function the way readline does.
    let complete = |words: &str| -> BTreeSet<String> {
        let script = format!(
            r#"source <("$PKITOOL" completions bash)
COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
_pkitool pkitool "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
        );
        util::ok(&shell("bash", &script))
            .lines()
            .map(str::to_string)
            .collect()
    };
    let subs = complete("pkitool ''");
    for s in ["validate", "issue", "init-ca", "completions", "man", "show"] {
        assert!(subs.contains(s), "{s} not offered: {subs:?}");
    }
    assert_eq!(
        complete("pkitool vali"),
        BTreeSet::from(["validate".to_string()])
    );
    let flags = complete("pkitool validate --");
    for f in ["--format", "--quiet", "--strict", "--at", "--hostname"] {
        assert!(flags.contains(f), "{f} not offered: {flags:?}");
    }
    let values = complete("pkitool validate --format ''");
    assert_eq!(
        values,
        ["json", "junit", "sarif", "text"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    let shells: BTreeSet<String> = complete("pkitool completions ''")
        .into_iter()
        .filter(|w| !w.starts_with('-'))
        .collect();
    assert_eq!(
        shells,
        ["bash", "fish", "zsh"]
            .map(String::from)
            .into_iter()
            .collect()
    );
}

#[test]
fn zsh_loads_the_completion() {
    if !util::have_peer("zsh") {
        return;
    }
    let file = repo().join("completions/_pkitool");
    let o = Command::new("zsh").arg("-n").arg(&file).output().unwrap();
    assert!(o.status.success(), "zsh -n: {}", stderr(&o));
    // compinit, then source the script: it registers itself with compdef.
    let o = shell(
        "zsh",
        r#"autoload -U compinit && compinit -u -D && source <("$PKITOOL" completions zsh) && print -r -- "$_comps[pkitool]" && whence -w _pkitool"#,
    );
    let out = util::ok(&o);
    assert_eq!(out, "_pkitool\n_pkitool: function\n", "{}", stderr(&o));
}

#[test]
fn fish_loads_the_completion_and_completes() {
    if !util::have_peer("fish") {
        return;
    }
    let file = repo().join("completions/pkitool.fish");
    let o = Command::new("fish")
        .arg("--no-execute")
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "fish --no-execute: {}", stderr(&o));
    let complete = |line: &str| -> BTreeSet<String> {
        let o = Command::new("fish")
            .args(["--no-config", "-c"])
            .arg(format!("source {}; complete -C '{line}'", file.display()))
            .output()
            .unwrap();
        util::ok(&o)
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect()
    };
    let subs = complete("pkitool ");
    for s in ["validate", "completions", "man"] {
        assert!(subs.contains(s), "{s} not offered: {subs:?}");
    }
    let values = complete("pkitool validate --format ");
    assert_eq!(
        values,
        ["json", "junit", "sarif", "text"]
            .map(String::from)
            .into_iter()
            .collect()
    );
}

// --- the .deb ------------------------------------------------------------------------------

/// Builds the .deb from the binary under test (`cargo deb --no-build --profile dev`, stripped)
/// into `out`; None when cargo-deb is missing (which fails under CI). Bounded by `timeout`.
fn build_deb(out: &Path) -> Option<PathBuf> {
    if !util::have_peer("cargo-deb") || !util::have_peer("dpkg-deb") || !util::have_peer("timeout")
    {
        return None;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o = Command::new("timeout")
        .args([
            "300",
            &cargo,
            "deb",
            "--no-build",
            "--profile",
            "dev",
            "--strip",
            "--no-dbgsym",
            "--offline",
            "--fast",
            "-o",
        ])
        .arg(out)
        .current_dir(repo())
        .output()
        .expect("run cargo deb");
    assert!(
        o.status.success(),
        "cargo deb failed ({:?}; 124 = timed out after 300 s):\n{}\n{}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    let deb = out.join(format!("pkitool_{}-1_amd64.deb", env!("CARGO_PKG_VERSION")));
    let listed = stdout(&o);
    assert!(listed.contains(deb.to_str().unwrap()), "{listed}");
    Some(deb)
}

#[test]
fn deb_ships_the_binary_man_pages_and_completions_and_needs_only_the_c_runtime() {
    let tmp = util::tmpdir();
    let Some(deb) = build_deb(tmp.path()) else {
        return;
    };
    let debs = deb.to_str().unwrap();
    let o = util::run("dpkg-deb", ["-c", debs]);
    let listing = util::ok(&o);
    // "-rwxr-xr-x 0/0 12280520 2026-12-01 00:00 ./usr/bin/pkitool"
    let entries: BTreeMap<String, String> = listing
        .lines()
        .filter(|l| !l.starts_with('d'))
        .map(|l| {
            let mode = l.split_whitespace().next().unwrap().to_string();
            let path = l
                .rsplit(' ')
                .next()
                .unwrap()
                .trim_start_matches("./")
                .to_string();
            (path, mode)
        })
        .collect();
    let mut want: BTreeMap<String, String> = BTreeMap::from([
        ("usr/bin/pkitool".into(), "-rwxr-xr-x".into()),
        (
            "usr/share/bash-completion/completions/pkitool".into(),
            "-rw-r--r--".into(),
        ),
        (
            "usr/share/zsh/vendor-completions/_pkitool".into(),
            "-rw-r--r--".into(),
        ),
        (
            "usr/share/fish/vendor_completions.d/pkitool.fish".into(),
            "-rw-r--r--".into(),
        ),
        (
            "usr/share/doc/pkitool/README.md".into(),
            "-rw-r--r--".into(),
        ),
        (
            "usr/share/doc/pkitool/copyright".into(),
            "-rw-r--r--".into(),
        ),
    ]);
    let man: Vec<String> = std::fs::read_dir(repo().join("man"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".1"))
        .collect();
    assert!(man.len() >= 10, "{man:?}");
    for page in &man {
        want.insert(format!("usr/share/man/man1/{page}.gz"), "-rw-r--r--".into());
    }
    assert_eq!(entries, want, "{listing}");

    // Depends: only the C runtime every Debian 12 has.
    let o = util::run("dpkg-deb", ["-f", debs, "Depends"]);
    let depends = util::ok(&o);
    for dep in depends.trim().split(',') {
        let name = dep.trim().split([' ', '(']).next().unwrap();
        assert!(
            ["libc6", "libgcc-s1"].contains(&name),
            "unexpected dependency {dep:?} in {depends:?}"
        );
    }

    // Unpacked: the man pages are the committed ones, gzipped; man-db finds them; the
    // completions are the committed ones; the binary runs.
    let root = tmp.path().join("root");
    util::ok(&util::run("dpkg-deb", ["-x", debs, root.to_str().unwrap()]));
    for page in &man {
        let gz = root.join("usr/share/man/man1").join(format!("{page}.gz"));
        let o = util::run("gzip", ["-dc", gz.to_str().unwrap()]);
        assert!(o.status.success(), "{page}.gz is not gzip");
        assert_eq!(
            o.stdout,
            std::fs::read(repo().join("man").join(page)).unwrap(),
            "{page}"
        );
    }
    for (target, file) in [
        (
            "usr/share/bash-completion/completions/pkitool",
            "completions/pkitool.bash",
        ),
        (
            "usr/share/zsh/vendor-completions/_pkitool",
            "completions/_pkitool",
        ),
        (
            "usr/share/fish/vendor_completions.d/pkitool.fish",
            "completions/pkitool.fish",
        ),
    ] {
        assert_eq!(
            std::fs::read(root.join(target)).unwrap(),
            std::fs::read(repo().join(file)).unwrap(),
            "{target}"
        );
    }
    let o = util::run(
        root.join("usr/bin/pkitool").to_str().unwrap(),
        ["validate", "--version"],
    );
    assert_eq!(
        util::ok(&o),
        format!("pkitool {}\n", env!("CARGO_PKG_VERSION"))
    );
    if util::have_peer("man") {
        let o = Command::new("man")
            .args(["-w", "pkitool", "pkitool-validate"])
            .env("MANPATH", root.join("usr/share/man"))
            .output()
            .unwrap();
        let found = util::ok(&o);
        let mp = root.join("usr/share/man/man1");
        assert_eq!(
            found,
            format!(
                "{}/pkitool.1.gz\n{}/pkitool-validate.1.gz\n",
                mp.display(),
                mp.display()
            )
        );
    }
}

/// `probe` reports in the same CI formats: a refused endpoint (a port nobody listens on) is a
/// SARIF result the OASIS schema accepts and a JUnit failure, with the exit status of the text
/// run.
#[test]
fn probe_reports_in_sarif_and_junit_too() {
    if !have_python_module("jsonschema") {
        return;
    }
    let port = crate::peers::free_port().to_string();
    let target = format!("127.0.0.1:{port}");
    let run = |format: &str| {
        pkitool([
            "probe",
            "--service",
            "tls",
            "--timeout",
            "2",
            "--format",
            format,
            &target,
        ])
    };
    let text = run("text");
    util::status(&text, 1);
    let sarif = run("sarif");
    util::status(&sarif, 1);
    let (valid, why) = schema_check(&sarif.stdout);
    assert!(valid, "{why}");
    let doc: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "PKI-N01" && r["level"] == "error"),
        "{doc:#}"
    );
    let junit = run("junit");
    util::status(&junit, 1);
    let j = parse_junit(&junit.stdout);
    let failures: Vec<String> = cases(&j)
        .iter()
        .flat_map(|c| c["failures"].as_array().cloned().unwrap_or_default())
        .map(|f| f["type"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(failures, vec!["PKI-N01".to_string()], "{j:#}");
}

/// `probe --quiet`: the failed endpoint's error line, its fix, and the summary line; nothing
/// else. Refused with another format.
#[test]
fn probe_quiet_prints_errors_and_the_summary_only() {
    let port = crate::peers::free_port().to_string();
    let target = format!("127.0.0.1:{port}");
    let o = pkitool([
        "probe",
        "--service",
        "tls",
        "--timeout",
        "2",
        "--quiet",
        &target,
    ]);
    util::status(&o, 1);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("error PKI-N01 tls 127.0.0.1:"),
        "{out}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("summary: 1 error")),
        "{out}"
    );
    assert!(
        lines.iter().all(|l| l.starts_with("error ")
            || l.starts_with("  fix ")
            || l.starts_with("summary: ")),
        "{out}"
    );
    let full = pkitool(["probe", "--service", "tls", "--timeout", "2", &target]);
    assert!(
        stdout(&full).lines().count() > lines.len(),
        "--quiet must print less"
    );
    let o = pkitool(["probe", "--quiet", "--format", "json", &target]);
    util::status(&o, 2);
    assert!(stderr(&o).contains("--quiet"), "{}", stderr(&o));
}
