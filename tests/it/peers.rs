//! Harness for real TLS peers: qemu-nbd/qemu-img and libvirtd/virsh, bound to 127.0.0.1.
//!
//! - [`free_port`]: a free TCP port on 127.0.0.1, never handed out twice by this process.
//! - [`QemuNbdServer::start`]: qemu-nbd serving a scratch image over NBD+TLS
//!   (`tls-creds-x509,endpoint=server,verify-peer=yes`). `Ok` means qemu-nbd loaded the
//!   credentials and listens; `Err(stderr)` means it refused them at load. Dropping the guard
//!   kills the server.
//! - [`qemu_img_info_tls`]: `qemu-img info` over NBD+TLS with a QEMU client credentials directory.
//! - [`Libvirtd::start`]: a private libvirtd (`--listen`, TLS only, on 127.0.0.1) with its sockets,
//!   pid file and log in a temporary directory, serialised machine-wide by an exclusive file lock
//!   (only one libvirtd may run at a time). `Err(reason)` means it refused the credentials at load.
//! - [`virsh_hostname`]: `virsh -c test+tls://HOST:PORT/default?pkipath=DIR hostname`.
//!
//! libvirt 9.0's test driver lives in libvirt.so itself, so the daemon serves `test:///default`
//! to remote clients even with no hypervisor driver module loaded. The harness points
//! `LIBVIRT_DRIVER_DIR` at an empty directory: startup takes a few milliseconds instead of
//! initialising the QEMU, network and storage drivers (which need the `libvirt-qemu` user, udev,
//! dnsmasq...), and the TLS code path (the same `virNetTLSContext` checks at load and at
//! handshake) is unchanged.

#![allow(dead_code)]

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

/// How long a server may take to load its credentials and listen (debug builds, 2 busy cores).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound for one client handshake (qemu-img info, virsh hostname).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

static PORTS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A free TCP port on 127.0.0.1 (the kernel's choice), never returned twice in this process.
pub fn free_port() -> u16 {
    loop {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let port = l.local_addr().expect("local_addr").port();
        drop(l);
        let mut g = PORTS.lock().unwrap_or_else(|e| e.into_inner());
        if g.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

fn out_text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs a client command with a time limit; `Ok(stdout)` on exit 0, `Err(both streams)` otherwise.
fn run_client(mut cmd: Command) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let o = child.wait_with_output().map_err(|e| e.to_string())?;
                return Err(format!(
                    "timed out after {CLIENT_TIMEOUT:?}\n{}",
                    out_text(&o)
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let o = child.wait_with_output().map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(out_text(&o))
    }
}

// ---------------------------------------------------------------------------------------------
// qemu-nbd / qemu-img

/// A running qemu-nbd serving a 1 MiB raw image over NBD+TLS on 127.0.0.1. Killed on drop.
#[derive(Debug)]
pub struct QemuNbdServer {
    pub port: u16,
    pid: i32,
    _scratch: tempfile::TempDir,
}

impl QemuNbdServer {
    /// Starts qemu-nbd with `tls-creds-x509,dir=DIR,endpoint=server,verify-peer=yes` (`dir` holds
    /// QEMU's names: ca-cert.pem, server-cert.pem, server-key.pem). `authz`, when given, is the one
    /// client DN allowed in (`--object authz-simple,id=auth0,identity=DN --tls-authz auth0`),
    /// compared by QEMU exactly as libvirt does (`gnutls_x509_crt_get_dn`).
    ///
    /// qemu-nbd runs with `--fork`: the parent exits 0 exactly when the server loaded its
    /// credentials and listens, or non-zero with qemu's error on stderr when it refused them.
    pub fn start(dir: &Path, authz: Option<&str>) -> Result<QemuNbdServer, String> {
        let extra: Vec<String> = match authz {
            // QEMU option syntax: a comma inside a value is written as two commas.
            Some(dn) => vec![
                "--object".into(),
                format!("authz-simple,id=auth0,identity={}", dn.replace(',', ",,")),
                "--tls-authz".into(),
                "auth0".into(),
            ],
            None => Vec::new(),
        };
        Self::start_args(dir, &extra)
    }

    /// Like [`QemuNbdServer::start`], with `extra` arguments given as they are (e.g. an
    /// `--object authz-simple,...` line pkitool printed, split by a real shell).
    pub fn start_args(dir: &Path, extra: &[String]) -> Result<QemuNbdServer, String> {
        let scratch = tempfile::Builder::new()
            .prefix("pkitool-nbd-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let image = scratch.path().join("disk.raw");
        let pidfile = scratch.path().join("qemu-nbd.pid");
        let o = Command::new("qemu-img")
            .args(["create", "-q", "-f", "raw"])
            .arg(&image)
            .arg("1M")
            .output()
            .map_err(|e| format!("cannot run qemu-img: {e}"))?;
        if !o.status.success() {
            return Err(format!("qemu-img create failed: {}", out_text(&o)));
        }
        let dir = fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // A port can be taken between free_port() and bind(): retry on EADDRINUSE only.
        for _ in 0..5 {
            let port = free_port();
            let mut cmd = Command::new("qemu-nbd");
            cmd.arg("--object").arg(format!(
                "tls-creds-x509,id=tls0,dir={},endpoint=server,verify-peer=yes",
                dir.display()
            ));
            cmd.args(["--tls-creds", "tls0"]);
            cmd.args(extra);
            cmd.args(["-b", "127.0.0.1", "-p", &port.to_string()])
                .args(["--persistent", "--shared", "8", "--fork", "-f", "raw"])
                .arg("--pid-file")
                .arg(&pidfile)
                .arg(&image);
            match run_client(cmd) {
                Ok(_) => {
                    let pid = fs::read_to_string(&pidfile)
                        .map_err(|e| format!("qemu-nbd pid file: {e}"))?
                        .trim()
                        .parse::<i32>()
                        .map_err(|e| format!("qemu-nbd pid file: {e}"))?;
                    return Ok(QemuNbdServer {
                        port,
                        pid,
                        _scratch: scratch,
                    });
                }
                Err(e) if e.contains("Address already in use") => continue,
                Err(e) => return Err(e),
            }
        }
        Err("qemu-nbd: no free port after 5 attempts".into())
    }
}

impl QemuNbdServer {
    /// Starts qemu-nbd like [`QemuNbdServer::start`] (no authz) but in the foreground with its
    /// stderr in a log file, so that a test can assert the server's own refusal message
    /// ([`QemuNbdServer::log`]); `--fork` closes stderr once the server runs.
    pub fn start_logged(dir: &Path) -> Result<QemuNbdServer, String> {
        let dir = fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Self::start_logged_with(&[
            "--object".into(),
            format!(
                "tls-creds-x509,id=tls0,dir={},endpoint=server,verify-peer=yes",
                dir.display()
            ),
        ])
    }

    /// Like [`QemuNbdServer::start_logged`] with the credentials given as `objects`, exactly
    /// (e.g. the `--object secret,... --object tls-creds-x509,...` arguments pkitool printed,
    /// split by a real shell); the `tls-creds-x509` object's id must be `tls0`.
    pub fn start_logged_with(objects: &[String]) -> Result<QemuNbdServer, String> {
        let scratch = tempfile::Builder::new()
            .prefix("pkitool-nbd-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let image = scratch.path().join("disk.raw");
        let o = Command::new("qemu-img")
            .args(["create", "-q", "-f", "raw"])
            .arg(&image)
            .arg("1M")
            .output()
            .map_err(|e| format!("cannot run qemu-img: {e}"))?;
        if !o.status.success() {
            return Err(format!("qemu-img create failed: {}", out_text(&o)));
        }
        let log = scratch.path().join("qemu-nbd.log");
        let port = free_port();
        let mut child = Command::new("qemu-nbd")
            .args(objects)
            .args(["--tls-creds", "tls0"])
            .args(["-b", "127.0.0.1", "-p", &port.to_string()])
            .args(["--persistent", "--shared", "8", "-f", "raw"])
            .arg(&image)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("cannot start qemu-nbd: {e}"))?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return Err(format!(
                    "qemu-nbd exited ({st}): {}",
                    fs::read_to_string(&log).unwrap_or_default()
                ));
            }
            if listening(port) {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("qemu-nbd did not listen within {START_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(QemuNbdServer {
            port,
            pid: child.id() as i32,
            _scratch: scratch,
        })
    }

    /// The server's stderr so far (only for [`QemuNbdServer::start_logged`]).
    pub fn log(&self) -> String {
        fs::read_to_string(self._scratch.path().join("qemu-nbd.log")).unwrap_or_default()
    }
}

impl Drop for QemuNbdServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.pid.to_string())
            .stderr(Stdio::null())
            .status();
    }
}

/// `qemu-img info` over NBD+TLS: `client_dir` holds ca-cert.pem, client-cert.pem and
/// client-key.pem. `Ok(())` when the handshake (and NBD negotiation) succeeded.
pub fn qemu_img_info_tls(client_dir: &Path, host: &str, port: u16) -> Result<(), String> {
    let dir = fs::canonicalize(client_dir).map_err(|e| format!("{}: {e}", client_dir.display()))?;
    qemu_img_info_with(
        &[
            "--object".into(),
            format!(
                "tls-creds-x509,id=tls0,dir={},endpoint=client",
                dir.display()
            ),
        ],
        host,
        port,
    )
}

/// Like [`qemu_img_info_tls`] with the client credentials given as `objects`, exactly (the
/// `tls-creds-x509` object's id must be `tls0`).
pub fn qemu_img_info_with(objects: &[String], host: &str, port: u16) -> Result<(), String> {
    let mut cmd = Command::new("qemu-img");
    cmd.arg("info")
        .args(objects)
        .arg("--image-opts")
        .arg(format!("driver=nbd,host={host},port={port},tls-creds=tls0"));
    let out = run_client(cmd)?;
    if out.contains("file format: nbd") {
        Ok(())
    } else {
        Err(format!("qemu-img info succeeded but printed:\n{out}"))
    }
}

// ---------------------------------------------------------------------------------------------
// libvirtd / virsh

/// Settings for a private libvirtd.
#[derive(Debug, Clone, Default)]
pub struct LibvirtdConf {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// `tls_allowed_dn_list`; `None` leaves it unset (every client with a valid certificate).
    pub allowed_dn: Option<Vec<String>>,
    /// Extra raw lines appended to libvirtd.conf.
    pub extra: String,
    /// Run libvirtd in a private mount namespace with this tree's `etc/pki` bind-mounted on
    /// `/etc/pki` (root only): `virt-admin server-update-tls` re-reads only the system paths.
    pub system_pki: Option<PathBuf>,
}

impl LibvirtdConf {
    /// The files of a libvirt pkipath directory: cacert.pem, servercert.pem, serverkey.pem.
    pub fn pkipath(dir: &Path) -> LibvirtdConf {
        LibvirtdConf {
            ca_file: dir.join("cacert.pem"),
            cert_file: dir.join("servercert.pem"),
            key_file: dir.join("serverkey.pem"),
            ..LibvirtdConf::default()
        }
    }

    /// The system layout of a staged tree `root` (`root/etc/pki/...`), seen by libvirtd at
    /// `/etc/pki` through a private mount namespace, with `crl_file = /etc/pki/CA/cacrl.pem`.
    pub fn system(root: &Path) -> LibvirtdConf {
        LibvirtdConf {
            ca_file: PathBuf::from("/etc/pki/CA/cacert.pem"),
            cert_file: PathBuf::from("/etc/pki/libvirt/servercert.pem"),
            key_file: PathBuf::from("/etc/pki/libvirt/private/serverkey.pem"),
            extra: "crl_file = \"/etc/pki/CA/cacrl.pem\"\n".into(),
            system_pki: Some(abs(root)),
            ..LibvirtdConf::default()
        }
    }

    pub fn allowed_dn<S: Into<String>>(mut self, list: impl IntoIterator<Item = S>) -> Self {
        self.allowed_dn = Some(list.into_iter().map(Into::into).collect());
        self
    }
}

/// A libvirtd running with `--listen` on 127.0.0.1:port (TLS only). Holds the machine-wide lock
/// until dropped; dropping kills the daemon.
#[derive(Debug)]
pub struct Libvirtd {
    pub port: u16,
    child: Child,
    state: tempfile::TempDir,
    _lock: Flock<fs::File>,
}

/// libvirt.conf string quoting: backslash and double quote escaped.
fn conf_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn abs(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Takes the machine-wide libvirtd lock (blocking).
fn libvirtd_lock() -> Result<Flock<fs::File>, String> {
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open("/tmp/pkitool-tests-libvirtd.lock")
        .map_err(|e| format!("lock file: {e}"))?;
    Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| format!("flock: {e}"))
}

impl Libvirtd {
    /// Starts libvirtd with `conf`. `Ok` when it listens on its TLS port (it loads and checks
    /// its certificates before listening); `Err` with the reason from its log when it exits.
    pub fn start(conf: &LibvirtdConf) -> Result<Libvirtd, String> {
        let lock = libvirtd_lock()?;
        let state = tempfile::Builder::new()
            .prefix("pkitool-libvirtd-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let s = state.path();
        let drivers = s.join("no-drivers");
        let run = s.join("run");
        fs::create_dir(&drivers).map_err(|e| e.to_string())?;
        fs::create_dir(&run).map_err(|e| e.to_string())?;
        let log = s.join("libvirtd.log");
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut text = format!(
                "listen_tls = 1\nlisten_tcp = 0\nlisten_addr = \"127.0.0.1\"\ntls_port = \"{port}\"\n\
                 auth_tls = \"none\"\nmdns_adv = 0\n\
                 key_file = {}\ncert_file = {}\nca_file = {}\n\
                 unix_sock_dir = {}\n\
                 log_outputs = {}\nlog_filters = \"1:rpc.nettlscontext 1:daemon 3:util 3:rpc 3:remote\"\n",
                conf_str(&abs(&conf.key_file).to_string_lossy()),
                conf_str(&abs(&conf.cert_file).to_string_lossy()),
                conf_str(&abs(&conf.ca_file).to_string_lossy()),
                conf_str(&run.to_string_lossy()),
                conf_str(&format!("1:file:{}", log.display())),
            );
            if let Some(list) = &conf.allowed_dn {
                let items: Vec<String> = list.iter().map(|d| conf_str(d)).collect();
                text.push_str(&format!("tls_allowed_dn_list = [{}]\n", items.join(", ")));
            }
            text.push_str(&conf.extra);
            let conf_path = s.join("libvirtd.conf");
            fs::write(&conf_path, &text).map_err(|e| e.to_string())?;
            let _ = fs::remove_file(&log);
            let mut cmd = match &conf.system_pki {
                Some(root) => {
                    let mut c = Command::new("unshare");
                    c.args(["--mount", "--propagation", "private", "sh", "-c"])
                        .arg("mkdir -p /etc/pki && mount --bind \"$0\" /etc/pki && exec \"$@\"")
                        .arg(root.join("etc/pki"))
                        .arg("libvirtd");
                    c
                }
                None => Command::new("libvirtd"),
            };
            let mut child = cmd
                .arg("--listen")
                // a safety net if this test process dies without dropping the guard: the daemon
                // exits after this many idle seconds
                .args(["--timeout", "300"])
                .arg("-f")
                .arg(&conf_path)
                .arg("-p")
                .arg(run.join("libvirtd.pid"))
                .env("LIBVIRT_DRIVER_DIR", &drivers)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start libvirtd: {e}"))?;
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if let Ok(Some(st)) = child.try_wait() {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    let logtext = fs::read_to_string(&log).unwrap_or_default();
                    last_err = format!(
                        "libvirtd exited ({st}) before listening\nstderr:\n{err}\nlog errors:\n{}",
                        log_errors(&logtext)
                    );
                    break;
                }
                if listening(port) {
                    return Ok(Libvirtd {
                        port,
                        child,
                        state,
                        _lock: lock,
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "libvirtd did not listen within {START_TIMEOUT:?}\nlog:\n{}",
                        fs::read_to_string(&log).unwrap_or_default()
                    ));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            if !last_err.contains("Address already in use") {
                return Err(last_err);
            }
        }
        Err(last_err)
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.state.path().join("libvirtd.log")).unwrap_or_default()
    }

    /// The error and warning lines of the daemon's log so far.
    pub fn log_errors(&self) -> String {
        log_errors(&self.log())
    }

    /// The `virt-admin` URI of this daemon's admin socket (for `LIBVIRT_ADMIN_DEFAULT_URI`).
    pub fn admin_uri(&self) -> String {
        format!(
            "libvirtd:///system?socket={}",
            self.state.path().join("run/libvirt-admin-sock").display()
        )
    }

    /// `virsh hostname` against this daemon through the test driver.
    pub fn virsh_hostname(&self, host: &str, pkipath: &Path) -> Result<String, String> {
        virsh_hostname(host, self.port, pkipath)
    }
}

fn log_errors(log: &str) -> String {
    log.lines()
        .filter(|l| l.contains(" error : ") || l.contains(" warning : "))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Drop for Libvirtd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An unprivileged (session) libvirt for `nobody`, with its home, runtime and configuration
/// directories in a temporary directory: `virsh` commands run through [`SessionVirsh::sh`]
/// with `LIBVIRT_DEFAULT_URI=secret:///session`, which starts a session libvirtd (its secret
/// driver keeps secrets in `HOME/config/libvirt/secrets`, never the system's). Holds the
/// machine-wide libvirtd lock; dropping it kills that daemon by its pid file.
#[derive(Debug)]
pub struct SessionVirsh {
    home: tempfile::TempDir,
    _lock: Flock<fs::File>,
}

impl SessionVirsh {
    /// Takes the lock and prepares the directories.
    pub fn new() -> Result<SessionVirsh, String> {
        use std::os::unix::fs::PermissionsExt;
        let lock = libvirtd_lock()?;
        let home = tempfile::Builder::new()
            .prefix("pkitool-session-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        fs::set_permissions(home.path(), fs::Permissions::from_mode(0o777))
            .map_err(|e| e.to_string())?;
        Ok(SessionVirsh { home, _lock: lock })
    }

    /// Runs `script` with `sh -c` as nobody in `cwd`, in this session's environment.
    pub fn sh(&self, cwd: &Path, script: &str) -> std::process::Output {
        let h = self.home.path();
        Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "env"])
            .arg(format!("HOME={}", h.display()))
            .arg(format!("XDG_RUNTIME_DIR={}", h.join("run").display()))
            .arg(format!("XDG_CONFIG_HOME={}", h.join("config").display()))
            .arg(format!("XDG_CACHE_HOME={}", h.join("cache").display()))
            .arg("LIBVIRT_DEFAULT_URI=secret:///session")
            .args(["sh", "-c", script])
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output()
            .expect("run setpriv")
    }

    /// The value libvirt stored for the secret `uuid` (its own base64 file), if any.
    pub fn stored_value(&self, uuid: &str) -> Option<Vec<u8>> {
        let f = self
            .home
            .path()
            .join(format!("config/libvirt/secrets/{uuid}.base64"));
        let o = Command::new("base64").arg("-d").arg(&f).output().ok()?;
        o.status.success().then_some(o.stdout)
    }
}

impl Drop for SessionVirsh {
    fn drop(&mut self) {
        let pidfile = self.home.path().join("run/libvirt/libvirtd.pid");
        if let Some(pid) = fs::read_to_string(pidfile)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            let _ = Command::new("kill")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
            // It removes its pid file when it ends; wait for that (bounded) so that the next
            // holder of the lock never meets it.
            let deadline = Instant::now() + Duration::from_secs(5);
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// `virsh -c 'test+tls://HOST:PORT/default?pkipath=DIR' hostname`: `pkipath` holds cacert.pem,
/// clientcert.pem and clientkey.pem. `Ok(hostname)` when the TLS session and the RPC succeeded.
pub fn virsh_hostname(host: &str, port: u16, pkipath: &Path) -> Result<String, String> {
    let dir = fs::canonicalize(pkipath).map_err(|e| format!("{}: {e}", pkipath.display()))?;
    let mut cmd = Command::new("virsh");
    cmd.arg("-c")
        .arg(format!(
            "test+tls://{host}:{port}/default?pkipath={}",
            dir.display()
        ))
        .arg("hostname")
        // never pick up a user's ~/.config/libvirt or a default URI
        .env_remove("LIBVIRT_DEFAULT_URI")
        .env("LIBVIRT_AUTH_FILE", "/dev/null");
    let out = run_client(cmd)?;
    let name = out.trim().to_string();
    if name.is_empty() {
        Err("virsh hostname printed nothing".into())
    } else {
        Ok(name)
    }
}

// ---------------------------------------------------------------------------------------------
// certtool fixtures (used to prove the harness itself, independent of pkitool)

/// Runs certtool in `dir` with a template written from `info`; panics with its output on failure.
#[track_caller]
pub fn certtool(dir: &Path, args: &[&str]) {
    let o = Command::new("certtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run certtool");
    assert!(
        o.status.success(),
        "certtool {args:?} failed\n{}",
        out_text(&o)
    );
}

/// A CA, a server (CN localhost, SANs localhost and 127.0.0.1) and a client
/// (C=GB,ST=London,L=London,O=Test,CN=client1) made by certtool with RSA-2048 leaf keys, following
/// the libvirt guide's templates. Writes flat libvirt names in `dir` (cacert.pem, cakey.pem,
/// servercert.pem, serverkey.pem, clientcert.pem, clientkey.pem).
pub fn certtool_pki(dir: &Path) {
    fs::write(
        dir.join("ca.info"),
        "cn = Test CA\nca\ncert_signing_key\nexpiration_days = 30\n",
    )
    .expect("write ca.info");
    fs::write(
        dir.join("server.info"),
        "organization = Test\ncn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\n\
         tls_www_server\nencryption_key\nsigning_key\nexpiration_days = 30\n",
    )
    .expect("write server.info");
    fs::write(
        dir.join("client.info"),
        "country = GB\nstate = London\nlocality = London\norganization = Test\ncn = client1\n\
         tls_www_client\nencryption_key\nsigning_key\nexpiration_days = 30\n",
    )
    .expect("write client.info");
    certtool(
        dir,
        &[
            "--generate-privkey",
            "--key-type",
            "rsa",
            "--bits",
            "2048",
            "--outfile",
            "cakey.pem",
        ],
    );
    certtool(
        dir,
        &[
            "--generate-self-signed",
            "--load-privkey",
            "cakey.pem",
            "--template",
            "ca.info",
            "--outfile",
            "cacert.pem",
        ],
    );
    for role in ["server", "client"] {
        let key = format!("{role}key.pem");
        let cert = format!("{role}cert.pem");
        let info = format!("{role}.info");
        certtool(
            dir,
            &[
                "--generate-privkey",
                "--key-type",
                "rsa",
                "--bits",
                "2048",
                "--outfile",
                &key,
            ],
        );
        certtool(
            dir,
            &[
                "--generate-certificate",
                "--load-privkey",
                &key,
                "--load-ca-certificate",
                "cacert.pem",
                "--load-ca-privkey",
                "cakey.pem",
                "--template",
                &info,
                "--outfile",
                &cert,
            ],
        );
    }
}

/// Copies flat libvirt names from `flat` into a QEMU server directory and a QEMU client
/// directory (ca-cert.pem + server-cert.pem/server-key.pem, ca-cert.pem + client-*).
pub fn qemu_dirs_from_flat(flat: &Path, server: &Path, client: &Path) {
    fs::create_dir_all(server).expect("mkdir");
    fs::create_dir_all(client).expect("mkdir");
    let cp = |from: &str, to: &Path| {
        fs::copy(flat.join(from), to).unwrap_or_else(|e| panic!("copy {from}: {e}"));
    };
    cp("cacert.pem", &server.join("ca-cert.pem"));
    cp("servercert.pem", &server.join("server-cert.pem"));
    cp("serverkey.pem", &server.join("server-key.pem"));
    cp("cacert.pem", &client.join("ca-cert.pem"));
    cp("clientcert.pem", &client.join("client-cert.pem"));
    cp("clientkey.pem", &client.join("client-key.pem"));
}

/// The peers needed by the harness; under CI a missing one fails the test.
pub fn have_qemu() -> bool {
    crate::util::have_peer("qemu-nbd") && crate::util::have_peer("qemu-img")
}

pub fn have_libvirt() -> bool {
    crate::util::have_peer("libvirtd") && crate::util::have_peer("virsh")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::{have_peer, tmpdir};

    #[test]
    fn free_ports_can_be_bound_and_are_never_handed_out_twice() {
        let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        // Each one is really free: a server can bind it now.
        for p in &ports {
            TcpListener::bind((Ipv4Addr::LOCALHOST, *p))
                .unwrap_or_else(|e| panic!("port {p} handed out but not bindable: {e}"));
        }
    }

    #[test]
    fn harness_qemu_nbd_certtool_pki_handshake_and_refusals() {
        if !(have_peer("certtool") && have_qemu()) {
            return;
        }
        let t = tmpdir();
        let flat = t.path().join("flat");
        fs::create_dir(&flat).unwrap();
        certtool_pki(&flat);
        let (sdir, cdir) = (t.path().join("qs"), t.path().join("qc"));
        qemu_dirs_from_flat(&flat, &sdir, &cdir);

        let srv = QemuNbdServer::start(&sdir, None).expect("qemu-nbd must start");
        // Both names in the server certificate; --persistent serves several clients.
        qemu_img_info_tls(&cdir, "localhost", srv.port).expect("handshake by name");
        qemu_img_info_tls(&cdir, "127.0.0.1", srv.port).expect("handshake by IP");
        // A name the certificate does not carry: a server certificate without the IP SAN,
        // reached by 127.0.0.1. The client refuses the server for that reason, after the TCP
        // connection (not "Connection refused").
        fs::write(
            flat.join("noip.info"),
            "cn = localhost\ndns_name = localhost\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 30\n",
        )
        .unwrap();
        certtool(
            &flat,
            &[
                "--generate-certificate",
                "--load-privkey",
                "serverkey.pem",
                "--load-ca-certificate",
                "cacert.pem",
                "--load-ca-privkey",
                "cakey.pem",
                "--template",
                "noip.info",
                "--outfile",
                "noip.pem",
            ],
        );
        let noip = t.path().join("qs-noip");
        fs::create_dir(&noip).unwrap();
        for f in ["ca-cert.pem", "server-key.pem"] {
            fs::copy(sdir.join(f), noip.join(f)).unwrap();
        }
        fs::copy(flat.join("noip.pem"), noip.join("server-cert.pem")).unwrap();
        let srv2 = QemuNbdServer::start(&noip, None).expect("qemu-nbd must start");
        qemu_img_info_tls(&cdir, "localhost", srv2.port).expect("by name it still works");
        let e = qemu_img_info_tls(&cdir, "127.0.0.1", srv2.port)
            .expect_err("hostname mismatch must fail");
        assert!(
            e.contains("Certificate does not match the hostname 127.0.0.1"),
            "the refusal must be QEMU's hostname check: {e}"
        );
        drop(srv2);

        // A client without a certificate: verify-peer=yes refuses it.
        let nocert = t.path().join("nocert");
        fs::create_dir(&nocert).unwrap();
        fs::copy(flat.join("cacert.pem"), nocert.join("ca-cert.pem")).unwrap();
        assert!(qemu_img_info_tls(&nocert, "localhost", srv.port).is_err());

        // authz: the client DN allowed, then another DN refused.
        let dn = "C=GB,ST=London,L=London,O=Test,CN=client1";
        let ok = QemuNbdServer::start(&sdir, Some(dn)).expect("start with authz");
        qemu_img_info_tls(&cdir, "localhost", ok.port).expect("allowed DN");
        let no = QemuNbdServer::start(&sdir, Some("C=GB,ST=London,L=London,O=Test,CN=other"))
            .expect("start with authz");
        assert!(qemu_img_info_tls(&cdir, "localhost", no.port).is_err());

        // Refusal at load: the server's key is the client's key.
        fs::copy(flat.join("clientkey.pem"), sdir.join("server-key.pem")).unwrap();
        let e = QemuNbdServer::start(&sdir, None).expect_err("mismatched key must be refused");
        assert!(
            e.contains("Cannot load certificate") || e.contains("does not match"),
            "qemu-nbd must name the credentials it cannot load: {e}"
        );
    }

    #[test]
    fn harness_libvirtd_certtool_pki_handshake_dn_list_and_refusal() {
        if !(have_peer("certtool") && have_libvirt()) {
            return;
        }
        let t = tmpdir();
        let flat = t.path();
        certtool_pki(flat);
        let client = t.path().join("client");
        fs::create_dir(&client).unwrap();
        for f in ["cacert.pem", "clientcert.pem", "clientkey.pem"] {
            fs::copy(flat.join(f), client.join(f)).unwrap();
        }
        {
            let d = Libvirtd::start(&LibvirtdConf::pkipath(flat)).expect("libvirtd must start");
            d.virsh_hostname("localhost", &client)
                .unwrap_or_else(|e| panic!("{e}\n{}", d.log_errors()));
            d.virsh_hostname("127.0.0.1", &client).expect("by IP");
        }
        {
            let conf = LibvirtdConf::pkipath(flat)
                .allowed_dn(["C=GB,ST=London,L=London,O=Test,CN=client1"]);
            let d = Libvirtd::start(&conf).expect("libvirtd must start");
            d.virsh_hostname("localhost", &client).expect("allowed DN");
        }
        {
            // RFC 4514 order (what certtool -i prints) is not what libvirt compares.
            let conf = LibvirtdConf::pkipath(flat)
                .allowed_dn(["CN=client1,O=Test,L=London,ST=London,C=GB"]);
            let d = Libvirtd::start(&conf).expect("libvirtd must start");
            assert!(d.virsh_hostname("localhost", &client).is_err());
            assert!(
                d.log_errors().contains("tls_allowed_dn_list"),
                "{}",
                d.log()
            );
        }
        // Refusal at load: the server key does not match the server certificate.
        let bad = LibvirtdConf {
            key_file: flat.join("clientkey.pem"),
            ..LibvirtdConf::pkipath(flat)
        };
        let e = Libvirtd::start(&bad).expect_err("mismatched key must be refused");
        assert!(e.contains("error"), "{e}");
    }
}
