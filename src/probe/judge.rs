//! Judging what an endpoint presented, through the same checks `validate` runs on files
//! (`check::{time, constraints, chain, keypair, hostname}`), plus the endpoint findings
//! (`PKI-N..`): failures on the wire and the server's verdict on the client certificate.
//!
//! The checks take a certificate "path" for their messages; for a probe it is the endpoint
//! (`HOST:PORT`), and the findings carry no file path.

use std::path::{Path, PathBuf};

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::{ClientVerdict, FailKind, Service, Session};
use crate::check::finding::{FRole, Finding, Severity};
use crate::check::{self, CertRef, Options};

/// The CA the chain is judged against.
#[derive(Debug, Clone)]
pub struct Anchor {
    /// Its file.
    pub path: PathBuf,
    /// Its certificates (DER).
    pub ders: Vec<Vec<u8>>,
}

/// Loads a CA file (PEM or DER, one or more certificates). `Err` says why it is unusable.
pub fn load_anchor(path: &Path) -> Result<Anchor, String> {
    let bytes = crate::fsio::read_input(path).map_err(|e| e.to_string())?;
    let contents = crate::x509::load::parse(&bytes).map_err(|e| e.to_string())?;
    let ders: Vec<Vec<u8>> = contents.certificates().map(|o| o.der.to_vec()).collect();
    if ders.is_empty() {
        return Err("no certificate in it".into());
    }
    for (i, d) in ders.iter().enumerate() {
        X509Certificate::from_der(d)
            .map_err(|e| format!("certificate #{} cannot be parsed: {e}", i + 1))?;
    }
    Ok(Anchor {
        path: path.to_path_buf(),
        ders,
    })
}

/// Where the CA comes from, for one endpoint.
#[derive(Debug, Clone)]
pub enum Trust<'a> {
    /// `--ca` or the local layout's CA.
    Anchor(&'a Anchor),
    /// None usable: why (a note, PKI-N12).
    Missing(String),
}

/// The client identity as shown in findings.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// Its subject DN (GnuTLS order).
    pub subject: String,
    /// Its certificate file.
    pub cert: PathBuf,
}

/// What the judgement needs besides the session.
#[derive(Debug, Clone)]
pub struct Judging<'a> {
    /// Evaluation time (Unix seconds).
    pub at: i64,
    /// Warn about expiry within this many days.
    pub warn_within_days: u32,
    /// `--hostname`, else the host probed.
    pub hostname: Option<&'a str>,
    /// The client certificate, when one was given.
    pub client: Option<&'a ClientInfo>,
    /// The libvirt and QEMU versions judged.
    pub consumers: crate::consumer::Consumers,
}

fn reload_hint(service: Service) -> &'static str {
    match service {
        Service::Libvirt => {
            "then install the new files on the server and reload them: virt-admin server-update-tls libvirtd"
        }
        Service::Vnc => {
            "then install the new files on the server and reload them: QMP display-reload {\"type\":\"vnc\",\"tls-certs\":true} (libvirt: virsh domdisplay-reload, libvirt >= 10.2)"
        }
        Service::Nbd => "then install the new files on the server and restart qemu-nbd",
        Service::Tls => "then install the new files on the server and restart the service",
    }
}

fn finding(code: &'static str, sev: Severity, msg: impl Into<String>) -> Finding {
    Finding::new(code, sev, msg)
}

fn failure_finding(s: &Session, kind: FailKind, reason: &str) -> Finding {
    let svc = s.target.service;
    let (why, fix) = match kind {
        FailKind::Connect => (
            "no TLS session can be made: the service is down, listens on another address or port, or a firewall rejects the connection".to_string(),
            match svc {
                Service::Libvirt => "on the server: systemctl status libvirtd-tls.socket (or listen_tls = 1 with libvirtd --listen), and open TCP port 16514".to_string(),
                Service::Nbd => "start qemu-nbd with --tls-creds and -p PORT, and open the port".to_string(),
                Service::Vnc => "start QEMU with -vnc HOST:DISPLAY,tls-creds=ID (port 5900 + display), and open the port".to_string(),
                Service::Tls => "check the host and port".to_string(),
            },
        ),
        FailKind::Timeout => (
            "the port accepts connections but the step did not finish in time: a firewall dropping packets, another service that waits for the client, or an overloaded server".to_string(),
            format!(
                "check which service listens on {} (ss -ltnp on the server); raise --timeout for slow links",
                s.target.label()
            ),
        ),
        FailKind::Closed => (
            "the server hung up: another service on this port, a server that failed to load its credentials for this session, or a connection limit".to_string(),
            "read the server's log for the reason".to_string(),
        ),
        FailKind::Protocol => (
            format!("what answers on this port is not a {} endpoint", match svc {
                Service::Libvirt => "libvirt TLS",
                Service::Nbd => "QEMU NBD",
                Service::Vnc => "QEMU VNC",
                Service::Tls => "TLS",
            }),
            "probe the right port, or give the --service it speaks".to_string(),
        ),
        FailKind::NoTls => (
            "clients that require TLS refuse it, and without TLS neither the traffic nor the server's identity is protected".to_string(),
            match svc {
                Service::Nbd => "serve with TLS: qemu-nbd --object tls-creds-x509,id=tls0,dir=DIR,endpoint=server --tls-creds tls0 ...".to_string(),
                Service::Vnc => "serve VNC with X.509 TLS: -object tls-creds-x509,id=tls0,dir=DIR,endpoint=server -vnc ...,tls-creds=tls0 (libvirt: vnc_tls = 1 in qemu.conf)".to_string(),
                _ => "configure TLS with a certificate on the server".to_string(),
            },
        ),
        FailKind::Handshake => (
            "no TLS client can complete a session with it".to_string(),
            "read the server's log; the TLS versions (1.2, 1.3) and key types must match what clients offer".to_string(),
        ),
        FailKind::ClientRefused => (String::new(), String::new()),
    };
    finding(kind.code(), Severity::Error, reason)
        .why(why)
        .fix(fix)
}

fn client_findings(s: &Session, j: &Judging<'_>, out: &mut Vec<Finding>) {
    let svc = s.target.service;
    let label = s.target.label();
    let subject = j.client.map(|c| c.subject.as_str()).unwrap_or("-");
    let cert = j
        .client
        .map(|c| crate::quoting::shell_quote(&c.cert.display().to_string()))
        .unwrap_or_else(|| "CLIENTCERT".into());
    let qemu = matches!(svc, Service::Nbd | Service::Vnc);
    match &s.client {
        ClientVerdict::Refused(reason) if s.client_sent => out.push(
            finding(
                "PKI-N08",
                Severity::Error,
                format!("the server refused the client certificate: {reason}"),
            )
            .role(FRole::Client)
            .subject(Some(subject))
            .why(if qemu {
                "QEMU drops a client whose certificate does not verify against its CA, or whose DN its tls-authz object does not admit (its log: \"TLS x509 authz check for DN is denied\" or \"Verify failed\")".to_string()
            } else if svc == Service::Libvirt {
                "libvirtd closes the session when the client certificate does not verify against its CA, or when its DN is not on tls_allowed_dn_list (its log: \"Client's Distinguished Name is not on the list of allowed clients (tls_allowed_dn_list)\")".to_string()
            } else {
                "the server does not trust this client certificate, or its access list does not admit it".to_string()
            })
            .fix(if qemu {
                format!("admit the DN in the server's authz object (pkitool dn {cert} --qemu prints it), or issue the client certificate from the CA the server trusts")
            } else {
                format!("add the DN to tls_allowed_dn_list (pkitool dn {cert} --libvirtd prints the line), or issue the client certificate from the CA the server trusts")
            }),
        ),
        ClientVerdict::Refused(reason) if s.client_requested => out.push(
            finding(
                "PKI-N07",
                Severity::Note,
                "the server requires a client certificate; none was given, so whether it admits yours was not tested",
            )
            .why(format!("expected: {reason}. The server chain was still captured"))
            .fix(match svc {
                Service::Libvirt => format!("pkitool probe --service libvirt {label} --pkipath /etc/pki/libvirt   (clientcert.pem and private/clientkey.pem: use --client-cert and --client-key for other names)"),
                _ => format!("pkitool probe --service {} {label} --client-cert /etc/pki/qemu/client-cert.pem --client-key /etc/pki/qemu/client-key.pem", svc.as_str()),
            }),
        ),
        ClientVerdict::Refused(reason) => out.push(
            finding(
                "PKI-N03",
                Severity::Error,
                format!("the server closed the session after the handshake: {reason}"),
            )
            .why("the server did not ask for a client certificate, so this is not a certificate refusal; another access rule or a failure on the server ended the session")
            .fix("read the server's log for the reason"),
        ),
        ClientVerdict::Accepted if s.client_sent => out.push(
            finding(
                "PKI-N11",
                Severity::Note,
                "the server accepted the client certificate",
            )
            .role(FRole::Client)
            .subject(Some(subject))
            .why(match svc {
                Service::Libvirt => "libvirtd sent its confirmation byte inside TLS, which it does only after its certificate and tls_allowed_dn_list checks passed",
                Service::Nbd => "qemu-nbd answered NBD_OPT_ABORT inside TLS, which it does only after its certificate and tls-authz checks passed",
                Service::Vnc => "the VNC server answered inside TLS, which it does only after its certificate (x509verify) and authz checks passed",
                Service::Tls => "the server sent data inside TLS after the handshake",
            }),
        ),
        ClientVerdict::Accepted if s.client_requested => out.push(
            finding(
                "PKI-N10",
                Severity::Warning,
                "the server asked for a client certificate but admitted this client without one",
            )
            .why("any client that reaches the port is admitted: the certificate request is optional on this server")
            .fix(match svc {
                Service::Libvirt => "remove tls_no_verify_certificate = 1 from libvirtd.conf and restart libvirtd",
                Service::Nbd | Service::Vnc => "create the server's tls-creds-x509 object with verify-peer=on (VNC: x509verify)",
                Service::Tls => "make the server require client certificates",
            }),
        ),
        _ => {}
    }
    if s.handshake_done && !s.client_requested {
        let weakened = matches!(svc, Service::Libvirt | Service::Nbd);
        out.push(
            finding(
                "PKI-N09",
                if weakened { Severity::Warning } else { Severity::Note },
                format!(
                    "the server does not ask for a client certificate{}",
                    if j.client.is_some() {
                        " (the one given was not used)"
                    } else {
                        ""
                    }
                ),
            )
            .why(match svc {
                Service::Nbd => "qemu-nbd with verify-peer=off (or no) lets any client that reaches the port read and write the disk",
                Service::Libvirt => "libvirtd without client verification admits any client that reaches the port",
                Service::Vnc => "QEMU's VNC server authenticates clients only by password or SASL then (x509verify is off)",
                Service::Tls => "the server cannot tell clients apart by certificate",
            })
            .fix(match svc {
                Service::Nbd | Service::Vnc => "create the server's tls-creds-x509 object with verify-peer=on (VNC: x509verify)",
                Service::Libvirt => "remove tls_no_verify_certificate from libvirtd.conf and restart libvirtd",
                Service::Tls => "if clients must be authenticated, make the server request client certificates",
            }),
        );
    }
}

/// Every finding about one probed endpoint, in report order.
pub fn judge(s: &Session, trust: &Trust<'_>, j: &Judging<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(f) = &s.failure
        && f.kind != FailKind::ClientRefused
    {
        out.push(failure_finding(s, f.kind, &f.reason));
    }
    client_findings(s, j, &mut out);
    if !s.chain.is_empty() {
        judge_chain(s, trust, j, &mut out);
    }
    out
}

fn judge_chain(s: &Session, trust: &Trust<'_>, j: &Judging<'_>, out: &mut Vec<Finding>) {
    let label = s.target.label();
    let at = PathBuf::from(&label);
    let mut certs = Vec::new();
    let mut local = Vec::new();
    for (i, der) in s.chain.iter().enumerate() {
        match X509Certificate::from_der(der) {
            Ok((_, c)) => certs.push(c),
            Err(e) => local.push(
                finding(
                    "PKI-F05",
                    Severity::Error,
                    format!("presented certificate #{} cannot be parsed: {e}", i + 1),
                )
                .role(if i == 0 { FRole::Server } else { FRole::Ca })
                .why("GnuTLS clients (virsh, QEMU) cannot import it and refuse the server"),
            ),
        }
    }
    let opts = Options {
        at: j.at,
        warn_within_days: j.warn_within_days,
        hostnames: vec![j.hostname.unwrap_or(&s.target.host).to_string()],
        allowed_dn: Vec::new(),
        allowed_dn_source: String::new(),
        consumers: j.consumers,
        conf_allowed_dn: Vec::new(),
        conf_allowed_dn_source: String::new(),
        root: std::path::PathBuf::from("/"),
    };
    if let Some((leaf, extras)) = certs.split_first() {
        let c = CertRef::new(leaf, &at, FRole::Server, 0);
        check::time::check(&c, false, &opts, &mut local);
        check::constraints::check(&c, &opts.consumers, false, &mut local);
        check::chain::weak_signature(&c, false, &mut local);
        check::keypair::strength(&c, false, &mut local);
        match trust {
            Trust::Anchor(a) => {
                let cas: Vec<X509Certificate<'_>> = a
                    .ders
                    .iter()
                    .filter_map(|d| X509Certificate::from_der(d).ok().map(|(_, c)| c))
                    .collect();
                let before = local.len();
                check::chain::leaf_chain(&c, extras, &cas, &a.path, &opts.consumers, &mut local);
                // A chain the server sends is what its clients verify: an intermediate that is
                // only in the server's file is fine for them (GnuTLS uses the peer's chain).
                for f in local.iter_mut().skip(before) {
                    if f.code == "PKI-C03" {
                        f.message = format!(
                            "the server sends {} more certificate(s) after the leaf; the CA file already holds its issuer",
                            extras.len()
                        );
                        f.why = "harmless: clients verify against their own CA file; the extra certificates only add bytes to each handshake".into();
                        f.fix =
                            "optional: keep only the leaf in the server's certificate file".into();
                    }
                    if f.code == "PKI-C02" {
                        f.severity = Severity::Note;
                        f.message = "the issuing intermediate CA is not in the CA file; the server sends it in the handshake".into();
                        f.why = "TLS clients accept an intermediate the server presents; libvirt and QEMU up to 10.1 refuse to load such a certificate file, so a restart of an older server fails".into();
                        f.fix = format!(
                            "append the intermediate to the CA file {} to be independent of what the server sends",
                            a.path.display()
                        );
                    }
                }
            }
            Trust::Missing(why) => local.push(
                finding(
                    "PKI-N12",
                    Severity::Note,
                    "the chain was not checked against a CA",
                )
                .why(why.clone())
                .fix(format!(
                    "pkitool probe --service {} {label} --ca CAFILE",
                    s.target.service.as_str()
                )),
            ),
        }
        check::hostname::check(&c, &opts.hostnames, &mut local);
        for (i, x) in extras.iter().enumerate() {
            let c = CertRef::new(x, &at, FRole::Ca, i + 1);
            check::time::check(&c, true, &opts, &mut local);
            check::constraints::check(&c, &opts.consumers, true, &mut local);
            check::chain::weak_signature(&c, true, &mut local);
            check::keypair::strength(&c, true, &mut local);
        }
    }
    let hint = reload_hint(s.target.service);
    let qemu_names = matches!(s.target.service, Service::Nbd | Service::Vnc);
    let out_dir = reissue_dir(&s.target.label());
    for mut f in local {
        f.path = None;
        if f.fix.starts_with("pkitool issue ") {
            // The checks name where the file would be; an endpoint has no file, so the new
            // certificate goes to a fresh directory named after it (QEMU's names for QEMU
            // services), to be installed on the server.
            let cmd = match f.fix.find(" --out ") {
                Some(i) => &f.fix[..i],
                None => f.fix.as_str(),
            };
            let layout = if qemu_names { " --layout qemu" } else { "" };
            f.fix = format!(
                "{cmd} --out {}{layout}   (in the CA's directory; {hint})",
                crate::quoting::shell_quote(&out_dir)
            );
        }
        out.push(f);
    }
}

/// The directory a probe's re-issue fix writes to: the endpoint's label with `:`, `[` and `]`
/// made plain (`reissued-127.0.0.1-16514`).
fn reissue_dir(label: &str) -> String {
    let plain: String = label
        .chars()
        .filter(|c| !matches!(c, '[' | ']'))
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("reissued-{plain}")
}
