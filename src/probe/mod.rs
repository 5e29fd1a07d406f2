//! `pkitool probe`: connect to a running libvirtd, QEMU NBD server, QEMU VNC server or any
//! TLS-from-the-first-byte service, reach its TLS handshake, capture the chain it presents and
//! judge it with the same checks as `validate` ([`judge`]).
//!
//! Every phase (connect, the service's prelude, the handshake, the answer after it) is bounded
//! by the timeout; targets are probed concurrently (at most [`MAX_PARALLEL`] at a time) and
//! reported in the order given.

pub mod judge;
pub mod libvirt;
pub mod nbd;
pub mod tls;
pub mod vnc;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// At most this many targets are probed at once.
pub const MAX_PARALLEL: usize = 64;

/// The services `probe` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// libvirtd's TLS port: TLS from the first byte, then libvirt RPC.
    Libvirt,
    /// QEMU NBD: fixed newstyle negotiation, then NBD_OPT_STARTTLS.
    Nbd,
    /// QEMU VNC: RFB 3.8, VeNCrypt 0.2 with an X.509 subtype.
    Vnc,
    /// Anything that starts TLS at once (QEMU migration and chardev ports, websocket VNC).
    Tls,
}

impl Service {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Libvirt => "libvirt",
            Service::Nbd => "nbd",
            Service::Vnc => "vnc",
            Service::Tls => "tls",
        }
    }

    /// The default port (none for `tls`).
    pub fn default_port(self) -> Option<u16> {
        match self {
            Service::Libvirt => Some(16514),
            Service::Nbd => Some(10809),
            Service::Vnc => Some(5900),
            Service::Tls => None,
        }
    }

    /// The service a well-known port implies.
    pub fn from_port(port: u16) -> Option<Service> {
        match port {
            16514 => Some(Service::Libvirt),
            10809 => Some(Service::Nbd),
            5900..=5999 => Some(Service::Vnc),
            _ => None,
        }
    }
}

/// One endpoint to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As given on the command line.
    pub input: String,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// What it speaks.
    pub service: Service,
}

impl Target {
    /// `HOST:PORT` (`[v6]:PORT`).
    pub fn label(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Parses `HOST[:PORT]` (`[V6]:PORT`, or a bare IPv6 address without a port). `Err` is the
/// usage message.
pub fn parse_target(s: &str, service: Option<Service>) -> Result<Target, String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, tail) = rest
            .split_once(']')
            .ok_or_else(|| format!("{s}: unbalanced '[' (write [ADDRESS]:PORT)"))?;
        match tail {
            "" => (h.to_string(), None),
            t => match t.strip_prefix(':') {
                Some(p) => (h.to_string(), Some(p)),
                None => return Err(format!("{s}: expected :PORT after ']'")),
            },
        }
    } else if s.matches(':').count() > 1 {
        (s.to_string(), None)
    } else if let Some((h, p)) = s.split_once(':') {
        (h.to_string(), Some(p))
    } else {
        (s.to_string(), None)
    };
    if host.is_empty() {
        return Err(format!("{s}: no host"));
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{s}: not a host name"));
    }
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{s}: port {p:?} is not a number from 1 to 65535"))?,
        ),
        None => None,
    };
    let (service, port) = match (service, port) {
        (Some(sv), Some(p)) => (sv, p),
        (Some(sv), None) => match sv.default_port() {
            Some(p) => (sv, p),
            None => {
                return Err(format!(
                    "{s}: --service tls has no default port; give HOST:PORT"
                ));
            }
        },
        (None, Some(p)) => match Service::from_port(p) {
            Some(sv) => (sv, p),
            None => {
                return Err(format!(
                    "{s}: port {p} does not tell the service; give --service libvirt|nbd|vnc|tls"
                ));
            }
        },
        (None, None) => {
            return Err(format!(
                "{s}: no port and no --service; give HOST:PORT or --service libvirt|nbd|vnc|tls"
            ));
        }
    };
    Ok(Target {
        input: s.to_string(),
        host,
        port,
        service,
    })
}

/// Why an endpoint failed (each maps to one finding code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailKind {
    /// Cannot connect (refused, unreachable, unknown host): PKI-N01.
    Connect,
    /// A phase did not finish within the timeout: PKI-N02.
    Timeout,
    /// The server closed the connection: PKI-N03.
    Closed,
    /// The server does not speak the expected protocol (plain text, HTTP, not NBD/RFB/TLS):
    /// PKI-N04.
    Protocol,
    /// The server speaks the protocol but does not offer TLS with a certificate: PKI-N05.
    NoTls,
    /// The TLS handshake failed: PKI-N06.
    Handshake,
    /// The server refused the client (certificate, allow-list, authz): PKI-N08.
    ClientRefused,
}

impl FailKind {
    /// The finding code.
    pub fn code(self) -> &'static str {
        match self {
            FailKind::Connect => "PKI-N01",
            FailKind::Timeout => "PKI-N02",
            FailKind::Closed => "PKI-N03",
            FailKind::Protocol => "PKI-N04",
            FailKind::NoTls => "PKI-N05",
            FailKind::Handshake => "PKI-N06",
            FailKind::ClientRefused => "PKI-N08",
        }
    }
}

/// A failure with its one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    /// What kind.
    pub kind: FailKind,
    /// One line, e.g. "the server closed the connection during the TLS handshake".
    pub reason: String,
}

/// Printable rendering of bytes a server sent: text in quotes when it is text, hex otherwise.
pub fn show_bytes(b: &[u8]) -> String {
    let b = &b[..b.len().min(48)];
    let texty = !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_graphic() || matches!(c, b' ' | b'\r' | b'\n' | b'\t'));
    if texty {
        format!("{:?}", String::from_utf8_lossy(b))
    } else {
        let hex: Vec<String> = b.iter().map(|c| format!("{c:02x}")).collect();
        format!("bytes {}", hex.join(" "))
    }
}

fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
}

impl Fail {
    fn new(kind: FailKind, reason: String) -> Fail {
        Fail { kind, reason }
    }
    /// Classifies an I/O error during `what` ("waiting for the NBD greeting").
    pub fn io(e: &io::Error, what: &str) -> Fail {
        if let Some(t) = rustls_error(e) {
            return Fail::new(FailKind::Handshake, format!("TLS error {what}: {t}"));
        }
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                Fail::new(FailKind::Timeout, format!("timed out {what}"))
            }
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Fail::new(
                FailKind::Closed,
                format!("the server closed the connection {what}"),
            ),
            io::ErrorKind::ConnectionRefused => {
                Fail::new(FailKind::Connect, format!("connection refused {what}"))
            }
            _ => Fail::new(FailKind::Protocol, format!("{e} {what}")),
        }
    }
    /// The greeting is not the service's.
    pub fn not_service(got: &[u8], expected: &str) -> Fail {
        let hint = if got.starts_with(b"HTTP/") {
            " (an HTTP server)".to_string()
        } else if got.first().is_some_and(|b| (20..=23).contains(b)) && got.get(1) == Some(&3) {
            " (a TLS record: this port starts TLS at once; try --service tls)".to_string()
        } else {
            String::new()
        };
        Fail::new(
            FailKind::Protocol,
            format!("not {expected}: it sent {}{hint}", show_bytes(got)),
        )
    }
    /// A protocol violation.
    pub fn protocol(reason: String) -> Fail {
        Fail::new(FailKind::Protocol, reason)
    }
    /// The service does not offer TLS with a certificate.
    pub fn no_tls(reason: String) -> Fail {
        Fail::new(FailKind::NoTls, reason)
    }
    /// The server refused the client.
    pub fn client_refused(reason: String) -> Fail {
        Fail::new(FailKind::ClientRefused, reason)
    }
}

/// A TCP stream whose reads and writes end at a deadline (one per phase), recording the first
/// bytes read in the current phase (to say what a non-TLS server sent).
struct Wire {
    s: TcpStream,
    deadline: Instant,
    seen: Vec<u8>,
}

const SEEN: usize = 64;

impl Wire {
    fn phase(&mut self, budget: Duration) {
        self.deadline = Instant::now() + budget;
        self.seen.clear();
    }
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))
        } else {
            Ok(left)
        }
    }
}

fn timeouts(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, e)
    } else {
        e
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.s.set_read_timeout(Some(left))?;
        let n = self.s.read(buf).map_err(timeouts)?;
        if self.seen.len() < SEEN {
            let take = n.min(SEEN - self.seen.len());
            self.seen.extend_from_slice(&buf[..take]);
        }
        Ok(n)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.s.set_write_timeout(Some(left))?;
        self.s.write(buf).map_err(timeouts)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.s.flush()
    }
}

/// Whether the server took the client (with or without a certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientVerdict {
    /// The handshake did not get that far.
    NotReached,
    /// `tls` only: the server did not ask for a client certificate, and there is no protocol
    /// to ask it whether it admits the client, so nothing was waited for.
    NotRequested,
    /// The server answered inside TLS.
    Accepted,
    /// The server closed the session or sent an alert: the reason.
    Refused(String),
    /// The protocol inside TLS is unknown (`tls`), and the server neither answered nor refused
    /// within the time allowed.
    Unknown(String),
}

/// The negotiated parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// "TLS 1.3".
    pub version: String,
    /// rustls' name of the suite, e.g. "TLS13_AES_256_GCM_SHA384".
    pub cipher_suite: String,
}

/// What one probe found on the wire.
#[derive(Debug, Clone)]
pub struct Session {
    /// The target.
    pub target: Target,
    /// The address connected to.
    pub addr: Option<SocketAddr>,
    /// Version and suite, when the server got as far as the ServerHello.
    pub tls: Option<TlsInfo>,
    /// Whether the handshake completed.
    pub handshake_done: bool,
    /// The presented chain (DER, leaf first).
    pub chain: Vec<Vec<u8>>,
    /// The server sent a CertificateRequest.
    pub client_requested: bool,
    /// We answered it with a certificate.
    pub client_sent: bool,
    /// The server's verdict on this client.
    pub client: ClientVerdict,
    /// VeNCrypt subtype (VNC only).
    pub vnc_subtype: Option<&'static str>,
    /// Why the endpoint failed.
    pub failure: Option<Fail>,
    /// Wall time of the probe.
    pub elapsed: Duration,
}

/// The client identity and timeout shared by every probe.
#[derive(Debug, Clone)]
pub struct Wiring {
    /// Client certificate and key, when given.
    pub client: Option<tls::ClientKey>,
    /// Per-phase bound.
    pub timeout: Duration,
}

/// How long `tls` waits after the handshake for an alert or data (there is no protocol to ask).
const TLS_SETTLE: Duration = Duration::from_millis(1500);

fn connect(t: &Target, timeout: Duration) -> Result<(TcpStream, SocketAddr), Fail> {
    let addrs: Vec<SocketAddr> = (t.host.as_str(), t.port)
        .to_socket_addrs()
        .map_err(|e| Fail::new(FailKind::Connect, format!("cannot resolve {}: {e}", t.host)))?
        .collect();
    let mut last = Fail::new(
        FailKind::Connect,
        format!("{} resolves to no address", t.host),
    );
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => return Ok((s, a)),
            Err(e) => {
                last = match e.kind() {
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                        Fail::new(FailKind::Timeout, format!("timed out connecting to {a}"))
                    }
                    io::ErrorKind::ConnectionRefused => Fail::new(
                        FailKind::Connect,
                        format!("connection refused by {a} (nothing listens on that port)"),
                    ),
                    _ => Fail::new(FailKind::Connect, format!("cannot connect to {a}: {e}")),
                };
            }
        }
    }
    Err(last)
}

fn is_client_cert_alert(a: rustls::AlertDescription) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        a,
        A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied
            | A::CertificateRequired
            | A::DecryptError
            | A::HandshakeFailure
    )
}

/// Probes one target.
pub fn probe(t: &Target, w: &Wiring) -> Session {
    let start = Instant::now();
    let mut s = Session {
        target: t.clone(),
        addr: None,
        tls: None,
        handshake_done: false,
        chain: Vec::new(),
        client_requested: false,
        client_sent: false,
        client: ClientVerdict::NotReached,
        vnc_subtype: None,
        failure: None,
        elapsed: Duration::ZERO,
    };
    let bound = |f: Fail| -> Fail {
        if f.kind == FailKind::Timeout {
            Fail {
                reason: format!("{} (--timeout {} s)", f.reason, w.timeout.as_secs_f64()),
                ..f
            }
        } else {
            f
        }
    };
    if let Err(f) = probe_inner(t, w, &mut s) {
        s.failure = Some(bound(f));
    }
    s.elapsed = start.elapsed();
    s
}

fn probe_inner(t: &Target, w: &Wiring, s: &mut Session) -> Result<(), Fail> {
    let (stream, addr) = connect(t, w.timeout)?;
    s.addr = Some(addr);
    let _ = stream.set_nodelay(true);
    let mut wire = Wire {
        s: stream,
        deadline: Instant::now() + w.timeout,
        seen: Vec::new(),
    };
    let mut subtype = None;
    match t.service {
        Service::Nbd => nbd::starttls(&mut wire)?,
        Service::Vnc => {
            let (n, name) = vnc::starttls(&mut wire)?;
            s.vnc_subtype = Some(name);
            subtype = Some(n);
        }
        Service::Libvirt | Service::Tls => {}
    }

    // The handshake.
    wire.phase(w.timeout);
    let capture = tls::Capture::default();
    let cfg =
        tls::config(w.client.as_ref(), &capture).map_err(|e| Fail::new(FailKind::Handshake, e))?;
    let mut conn = rustls::ClientConnection::new(cfg, tls::server_name(&t.host))
        .map_err(|e| Fail::new(FailKind::Handshake, format!("cannot start TLS: {e}")))?;
    let mut result = Ok(());
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut wire) {
            result = Err(e);
            break;
        }
    }
    {
        let c = capture.lock().unwrap_or_else(|e| e.into_inner());
        s.chain = c.chain.clone().unwrap_or_default();
        s.client_requested = c.client_requested;
        s.client_sent = c.client_sent;
    }
    if let (Some(v), Some(cs)) = (conn.protocol_version(), conn.negotiated_cipher_suite()) {
        s.tls = Some(TlsInfo {
            version: tls::version_name(v),
            cipher_suite: format!("{:?}", cs.suite()),
        });
    }
    if let Err(e) = result {
        return match handshake_failure(&e, &wire.seen, s) {
            Some(f) => Err(f),
            None => Ok(()),
        };
    }
    s.handshake_done = true;
    if t.service == Service::Tls && !s.client_requested {
        s.client = ClientVerdict::NotRequested;
        conn.send_close_notify();
        let _ = conn.complete_io(&mut wire);
        return Ok(());
    }

    // After the handshake: does the server take this client?
    let settle = if t.service == Service::Tls {
        w.timeout.min(TLS_SETTLE)
    } else {
        w.timeout
    };
    wire.phase(settle);
    let answer = {
        let mut io = rustls::Stream::new(&mut conn, &mut wire);
        match t.service {
            Service::Libvirt => libvirt::confirmation(&mut io),
            Service::Nbd => nbd::abort(&mut io),
            Service::Vnc => vnc::after_tls(&mut io, subtype.unwrap_or(260)),
            Service::Tls => {
                let mut b = [0u8; 1];
                match io.read(&mut b) {
                    Ok(0) => Err(Fail::new(
                        FailKind::Closed,
                        "the server closed the connection right after the handshake".into(),
                    )),
                    Ok(_) => Ok(()),
                    Err(e) => Err(Fail::io(&e, "after the handshake")),
                }
            }
        }
    };
    match answer {
        Ok(()) => s.client = ClientVerdict::Accepted,
        Err(f) => match f.kind {
            FailKind::Closed | FailKind::Handshake | FailKind::ClientRefused => {
                s.client = ClientVerdict::Refused(f.reason);
            }
            FailKind::Timeout if t.service == Service::Tls => {
                s.client = ClientVerdict::Unknown(format!(
                    "the server neither sent data nor refused the session within {} s (the protocol inside TLS is unknown to pkitool)",
                    settle.as_secs_f64()
                ));
            }
            _ => return Err(f),
        },
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut wire);
    Ok(())
}

/// Why the handshake failed; `None` when that is the expected refusal of a client that gave no
/// certificate (the chain was captured; the finding is PKI-N07, not an endpoint failure).
fn handshake_failure(e: &io::Error, seen: &[u8], s: &mut Session) -> Option<Fail> {
    Some(handshake_failure_inner(e, seen, s))
        .filter(|f| f.kind != FailKind::ClientRefused || s.client_sent)
}

fn handshake_failure_inner(e: &io::Error, seen: &[u8], s: &mut Session) -> Fail {
    let looks_tls = seen.first().is_some_and(|b| (20..=23).contains(b)) && seen.get(1) == Some(&3);
    if let Some(t) = rustls_error(e) {
        if let rustls::Error::AlertReceived(a) = t {
            if s.client_requested && is_client_cert_alert(*a) {
                let reason = if s.client_sent {
                    format!(
                        "the server refused the client certificate during the handshake (TLS alert {a:?})"
                    )
                } else {
                    format!(
                        "the server requires a client certificate and none was given (TLS alert {a:?})"
                    )
                };
                s.client = ClientVerdict::Refused(reason.clone());
                return Fail::client_refused(reason);
            }
            return Fail::new(
                FailKind::Handshake,
                format!("TLS handshake failed: the server sent alert {a:?}"),
            );
        }
        if !looks_tls && !seen.is_empty() {
            return Fail::not_service(seen, "TLS: the server answered the ClientHello with")
                .reworded();
        }
        return Fail::new(FailKind::Handshake, format!("TLS handshake failed: {t}"));
    }
    let mut f = Fail::io(e, "during the TLS handshake");
    if !looks_tls && !seen.is_empty() && f.kind != FailKind::Timeout {
        f = Fail::not_service(seen, "TLS: the server answered the ClientHello with").reworded();
    } else if f.kind == FailKind::Timeout && !seen.is_empty() && !looks_tls {
        f.reason = format!(
            "{}; it sent only {}, which is not TLS",
            f.reason,
            show_bytes(seen)
        );
    }
    f
}

impl Fail {
    /// "not TLS: the server answered the ClientHello with: it sent X" -> "... with X".
    fn reworded(mut self) -> Fail {
        self.reason = self.reason.replacen(" with: it sent ", " with ", 1);
        self
    }
}

/// Probes every target, at most [`MAX_PARALLEL`] at a time; results in the order given.
pub fn probe_all(targets: &[Target], w: &Wiring) -> Vec<Session> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Session>>> = Mutex::new(vec![None; targets.len()]);
    let workers = targets.len().clamp(1, MAX_PARALLEL);
    std::thread::scope(|sc| {
        for _ in 0..workers {
            sc.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(t) = targets.get(i) else { break };
                    let r = probe(t, w);
                    if let Some(slot) = results.lock().unwrap_or_else(|e| e.into_inner()).get_mut(i)
                    {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Where a service's CA lives in the local layouts, in the order tried when no `--ca` is given.
pub fn local_ca_candidates(service: Service, pkipath: Option<&std::path::Path>) -> Vec<PathBuf> {
    use crate::layout::{libvirt, qemu};
    if let Some(dir) = pkipath {
        // A pkipath directory holds cacert.pem; the system one (/etc/pki/libvirt) does not,
        // its CA is /etc/pki/CA/cacert.pem.
        let mut v = vec![dir.join(libvirt::CA_CERT)];
        if let Some(root) = dir
            .ends_with(libvirt::SYSTEM_CERT_DIR)
            .then(|| dir.ancestors().nth(3))
            .flatten()
        {
            v.push(crate::layout::under_root(root, libvirt::SYSTEM_CA_DIR).join(libvirt::CA_CERT));
        }
        return v;
    }
    let root = std::path::Path::new("/");
    let libvirt_ca = crate::layout::under_root(root, libvirt::SYSTEM_CA_DIR).join(libvirt::CA_CERT);
    let qemu_ca = crate::layout::under_root(root, qemu::SYSTEM_DIR).join(qemu::CA_CERT);
    let vnc_ca = crate::layout::under_root(root, "etc/pki/libvirt-vnc").join(qemu::CA_CERT);
    match service {
        Service::Libvirt => vec![libvirt_ca],
        Service::Nbd => vec![qemu_ca, libvirt_ca],
        Service::Vnc => vec![vnc_ca, qemu_ca, libvirt_ca],
        Service::Tls => vec![qemu_ca, libvirt_ca],
    }
}

/// A client identity to offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFiles {
    /// The certificate (PEM or DER; the leaf first, then any chain).
    pub cert: PathBuf,
    /// Its unencrypted private key.
    pub key: PathBuf,
}

/// What `pkitool probe` is asked to do (no clap types).
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The endpoints, in report order.
    pub targets: Vec<Target>,
    /// `--ca`: the CA to judge the chain against.
    pub ca: Option<PathBuf>,
    /// `--hostname`: the name clients use (default: each target's host).
    pub hostname: Option<String>,
    /// The client certificate to offer.
    pub client: Option<ClientFiles>,
    /// `--pkipath`: where the client files came from (its CA is the default trust).
    pub pkipath: Option<PathBuf>,
    /// The bound of each phase.
    pub timeout: Duration,
    /// Evaluation time (Unix seconds).
    pub at: i64,
    /// Warn about expiry within this many days.
    pub warn_within_days: u32,
    /// The libvirt and QEMU versions judged.
    pub consumers: crate::consumer::Consumers,
}

/// One endpoint's result.
#[derive(Debug, Clone)]
pub struct EndpointReport {
    /// What happened on the wire.
    pub session: Session,
    /// The CA the chain was judged against.
    pub ca: Option<PathBuf>,
    /// Its findings.
    pub findings: Vec<crate::check::finding::Finding>,
}

/// Every endpoint's result, in the order given.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// "pkitool VERSION".
    pub tool: String,
    /// RFC 3339 evaluation time.
    pub evaluated_at: String,
    /// The client certificate offered.
    pub client: Option<judge::ClientInfo>,
    /// One per target.
    pub endpoints: Vec<EndpointReport>,
}

impl Outcome {
    /// Counts over every endpoint.
    pub fn counts(&self) -> crate::check::finding::Counts {
        crate::check::finding::Counts::of(self.endpoints.iter().flat_map(|e| e.findings.iter()))
    }

    /// 1 on errors (or warnings with `strict`), else 0.
    pub fn exit_code(&self, strict: bool) -> u8 {
        let c = self.counts();
        u8::from(c.errors > 0 || (strict && c.warnings > 0))
    }
}

/// Loads the client identity; `Err(message)` names the file.
pub fn load_client(files: &ClientFiles) -> Result<(tls::ClientKey, judge::ClientInfo), String> {
    use x509_parser::prelude::FromDer;
    let cert_bytes = crate::fsio::read_input(&files.cert).map_err(|e| e.to_string())?;
    let cert = crate::x509::load::parse(&cert_bytes)
        .map_err(|e| format!("{}: {e}", files.cert.display()))?;
    let chain: Vec<Vec<u8>> = cert.certificates().map(|o| o.der.to_vec()).collect();
    let first = chain
        .first()
        .ok_or_else(|| format!("{}: no certificate in it", files.cert.display()))?;
    let (_, leaf) = x509_parser::certificate::X509Certificate::from_der(first).map_err(|e| {
        format!(
            "{}: the certificate cannot be parsed: {e}",
            files.cert.display()
        )
    })?;
    let subject = crate::x509::dn::format_gnutls(leaf.subject());
    let key_bytes = crate::fsio::read_input(&files.key).map_err(|e| e.to_string())?;
    let key = crate::x509::load::parse(&key_bytes)
        .map_err(|e| format!("{}: {e}", files.key.display()))?;
    let obj = key
        .private_key()
        .ok_or_else(|| format!("{}: no private key in it", files.key.display()))?;
    if crate::x509::keys::needs_password(obj) {
        return Err(format!(
            "{}: the key is encrypted; probe needs the unencrypted key libvirt and QEMU load",
            files.key.display()
        ));
    }
    // Parsed once by pkitool's own loader (clear errors), then handed to rustls as it is.
    let pair = crate::x509::keys::load_private_key(obj, None)
        .map_err(|e| format!("{}: {e}", files.key.display()))?;
    let der = obj.der.to_vec();
    let key = match &obj.kind {
        crate::x509::load::ObjectKind::PrivateKey(crate::x509::load::KeyFormat::Pkcs1) => {
            rustls::pki_types::PrivateKeyDer::Pkcs1(der.into())
        }
        crate::x509::load::ObjectKind::PrivateKey(crate::x509::load::KeyFormat::Sec1) => {
            rustls::pki_types::PrivateKeyDer::Sec1(der.into())
        }
        _ => rustls::pki_types::PrivateKeyDer::Pkcs8(der.into()),
    };
    // rcgen re-encodes what aws-lc's strict parser may refuse as is (certtool's padded EC
    // scalars): try that second.
    let ck = tls::ClientKey::new(chain.clone(), key)
        .or_else(|first| {
            let pkcs8 = zeroize::Zeroizing::new(pair.serialize_der());
            tls::ClientKey::new(
                chain,
                rustls::pki_types::PrivateKeyDer::Pkcs8(pkcs8.to_vec().into()),
            )
            .map_err(|_| first)
        })
        .map_err(|e| format!("{} and {}: {e}", files.cert.display(), files.key.display()))?;
    Ok((
        ck,
        judge::ClientInfo {
            subject,
            cert: files.cert.clone(),
        },
    ))
}

fn rfc3339(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ts.to_string())
}

/// Probes every target and judges what each presented. `Err` is a usage error (an unusable
/// `--ca` or client identity), found before anything is sent.
pub fn evaluate(opts: &ProbeOptions) -> crate::Result<Outcome> {
    use crate::Error;
    let given_ca = match &opts.ca {
        Some(p) => Some(
            judge::load_anchor(p)
                .map_err(|e| Error::Usage(format!("--ca {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let (key, client) = match &opts.client {
        Some(files) => {
            let (k, info) = load_client(files).map_err(|e| {
                Error::Usage(if opts.pkipath.is_some() {
                    format!("--pkipath: {e}")
                } else {
                    format!("--client-cert/--client-key: {e}")
                })
            })?;
            (Some(k), Some(info))
        }
        None => (None, None),
    };
    let wiring = Wiring {
        client: key,
        timeout: opts.timeout,
    };
    let sessions = probe_all(&opts.targets, &wiring);
    // The local CA per service, loaded once.
    let mut local: Vec<(Service, Result<Anchor, String>)> = Vec::new();
    let mut endpoints = Vec::new();
    for s in sessions {
        let svc = s.target.service;
        let trust_owned;
        let trust = match &given_ca {
            Some(a) => judge::Trust::Anchor(a),
            None => {
                if !local.iter().any(|(k, _)| *k == svc) {
                    local.push((svc, find_local_ca(svc, opts.pkipath.as_deref())));
                }
                trust_owned = local
                    .iter()
                    .find(|(k, _)| *k == svc)
                    .map(|(_, r)| r.clone());
                match &trust_owned {
                    Some(Ok(a)) => judge::Trust::Anchor(a),
                    Some(Err(why)) => judge::Trust::Missing(why.clone()),
                    None => judge::Trust::Missing("no CA".into()),
                }
            }
        };
        let ca = match &trust {
            judge::Trust::Anchor(a) => Some(a.path.clone()),
            judge::Trust::Missing(_) => None,
        };
        let j = judge::Judging {
            at: opts.at,
            warn_within_days: opts.warn_within_days,
            hostname: opts.hostname.as_deref(),
            client: client.as_ref(),
            consumers: opts.consumers,
        };
        let findings = judge::judge(&s, &trust, &j);
        endpoints.push(EndpointReport {
            session: s,
            ca,
            findings,
        });
    }
    Ok(Outcome {
        tool: format!("pkitool {}", env!("CARGO_PKG_VERSION")),
        evaluated_at: rfc3339(opts.at),
        client,
        endpoints,
    })
}

use judge::Anchor;

fn find_local_ca(svc: Service, pkipath: Option<&std::path::Path>) -> Result<Anchor, String> {
    let candidates = local_ca_candidates(svc, pkipath);
    let mut tried = Vec::new();
    for p in &candidates {
        if std::fs::symlink_metadata(p).is_err() {
            tried.push(p.display().to_string());
            continue;
        }
        return judge::load_anchor(p)
            .map_err(|e| format!("the local CA {} cannot be used: {e}", p.display()));
    }
    Err(format!(
        "no --ca given and no local CA found (looked for {})",
        tried.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_ports() {
        let t = parse_target("host1", Some(Service::Libvirt)).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("host1", 16514));
        let t = parse_target("10.0.0.1:10809", None).unwrap();
        assert_eq!(t.service, Service::Nbd);
        let t = parse_target("h:5901", None).unwrap();
        assert_eq!(t.service, Service::Vnc);
        let t = parse_target("[::1]:16514", None).unwrap();
        assert_eq!((t.host.as_str(), t.label()), ("::1", "[::1]:16514".into()));
        let t = parse_target("::1", Some(Service::Nbd)).unwrap();
        assert_eq!(t.port, 10809);
        assert!(
            parse_target("h:4443", None)
                .unwrap_err()
                .contains("give --service")
        );
        assert!(
            parse_target("h", Some(Service::Tls))
                .unwrap_err()
                .contains("no default port")
        );
        assert!(
            parse_target("h:0", None)
                .unwrap_err()
                .contains("1 to 65535")
        );
        assert!(parse_target("h:x", None).is_err());
        assert!(parse_target(":1", None).is_err());
        assert!(parse_target("h", None).unwrap_err().contains("no port"));
    }

    #[test]
    fn show_bytes_prints_text_or_hex() {
        assert_eq!(show_bytes(b"HTTP/1.1 400"), "\"HTTP/1.1 400\"");
        assert_eq!(show_bytes(&[0, 1, 0xff]), "bytes 00 01 ff");
    }
}
