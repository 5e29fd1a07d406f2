//! Asking the user: only when stdin and stderr are both terminals (dialoguer renders on stderr,
//! and with a non-terminal stdin it would read /dev/tty behind the caller's back). Otherwise the
//! caller gets an error naming the flag to pass. Passwords come from a TTY prompt or a file,
//! never from the command line.

use std::io::IsTerminal;
use std::path::Path;

use zeroize::Zeroizing;

use crate::Error;

/// True when prompting is allowed: stdin and stderr are terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks for a required value, or fails naming `flag` when there is no terminal.
pub fn require_value(flag: &str, question: &str) -> Result<String, Error> {
    if !interactive() {
        return Err(Error::Usage(format!(
            "{flag} is required (no terminal to ask on)"
        )));
    }
    let answer: String = dialoguer::Input::new()
        .with_prompt(question)
        .interact_text()
        .map_err(|e| Error::Environment(format!("cannot ask for {flag}: {e}")))?;
    let answer = answer.trim().to_string();
    if answer.is_empty() {
        return Err(Error::Usage(format!("{flag} is required")));
    }
    Ok(answer)
}

/// Reads a password: the first line of `file` (without its line end), or a terminal prompt
/// (no echo; `confirm` asks twice). Fails naming `--password-file` without a terminal.
pub fn password(
    file: Option<&Path>,
    what: &str,
    confirm: bool,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if let Some(path) = file {
        return password_from_file(path);
    }
    if !interactive() {
        return Err(Error::Usage(format!(
            "--password-file is required for {what} (no terminal to ask on)"
        )));
    }
    let mut p = dialoguer::Password::new().with_prompt(format!("Password for {what}"));
    if confirm {
        p = p.with_confirmation("Repeat the password", "The passwords do not match");
    }
    let guard = TerminalGuard::new();
    let pw = Zeroizing::new(
        p.interact()
            .map_err(|e| Error::Environment(format!("cannot ask for the password: {e}")))?,
    );
    drop(guard);
    if pw.is_empty() {
        return Err(Error::Usage("the password is empty".into()));
    }
    Ok(Zeroizing::new(pw.as_bytes().to_vec()))
}

/// While a password is read with echo off: SIGINT, SIGTERM, SIGHUP and SIGQUIT are taken by a
/// thread that puts the terminal back as it was (echo on) and exits with 128 + the signal,
/// instead of killing the process with the terminal left silent. Signal handlers are not
/// needed (and would need `unsafe`): the signals are blocked in this thread and received with
/// `sigwait` in the watcher. At this point pkitool runs no other thread, so no other thread
/// can take them instead.
struct TerminalGuard {
    signals: nix::sys::signal::SigSet,
}

impl TerminalGuard {
    fn new() -> Self {
        use nix::sys::signal::{SigSet, Signal};
        use std::os::fd::AsFd;
        let saved = nix::sys::termios::tcgetattr(std::io::stdin().as_fd()).ok();
        let mut signals = SigSet::empty();
        for s in [
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGQUIT,
        ] {
            signals.add(s);
        }
        if signals.thread_block().is_ok() {
            let _ = std::thread::Builder::new()
                .name("pkitool-tty-restore".into())
                .spawn(move || {
                    if let Ok(sig) = signals.wait() {
                        if let Some(t) = &saved {
                            let _ = nix::sys::termios::tcsetattr(
                                std::io::stdin().as_fd(),
                                nix::sys::termios::SetArg::TCSANOW,
                                t,
                            );
                        }
                        eprintln!();
                        std::process::exit(128 + sig as i32);
                    }
                });
        }
        TerminalGuard { signals }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = self.signals.thread_unblock();
    }
}

/// The most a password file, pipe or stdin may hold.
const MAX_PASSWORD_INPUT: u64 = 64 * 1024;

/// The first line of a password file, without `\n` or `\r\n`. `-` reads standard input; a pipe
/// (`--password-file <(...)`, `/dev/stdin`) is read like a file, bounded. An empty password is
/// refused; a regular file others can read gives a warning on stderr. Errors name
/// `--password-file`.
pub fn password_from_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    let flag = |msg: String| Error::Usage(format!("--password-file {msg}"));
    // `-` and /dev/stdin read this process's standard input (a pipe), without opening a path.
    let bytes = if path == Path::new("-") || path == Path::new("/dev/stdin") {
        read_stream(std::io::stdin().lock(), "- (standard input)")?
    } else {
        let meta = std::fs::metadata(path).map_err(|e| {
            flag(match e.kind() {
                std::io::ErrorKind::NotFound => format!("{}: no such file", path.display()),
                std::io::ErrorKind::PermissionDenied => {
                    format!("{}: permission denied", path.display())
                }
                _ => format!("{}: {e}", path.display()),
            })
        })?;
        use std::os::unix::fs::PermissionsExt;
        let ft = meta.file_type();
        // A pipe (`--password-file <(...)`, a named FIFO) is read without blocking on its open
        // and with a deadline for its writer; a device, socket or directory is never opened
        // (security's rule: opening one can have effects or block).
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return first_line(read_fifo(path, &meta, FIFO_WAIT)?, path);
        }
        if !ft.is_file() {
            return Err(flag(format!(
                "{}: is a {}, not a regular file or a pipe (pipe a password through --password-file -)",
                path.display(),
                crate::fsio::file_kind(&ft)
            )));
        }
        {
            let mode = meta.permissions().mode();
            // A password others can read or replace protects nothing (security's rule).
            if let Some(why) = crate::fsio::untrusted_secret(&meta, 0o004) {
                return Err(Error::Failed(format!(
                    "--password-file {}: refusing this password file: {why}",
                    path.display()
                )));
            }
            if ft.is_file() && mode & 0o077 != 0 {
                eprintln!(
                    "warning: --password-file {}: mode {:04o}, readable by {}; chmod 600 {}",
                    path.display(),
                    mode & 0o7777,
                    if mode & 0o007 != 0 {
                        "others"
                    } else {
                        "its group"
                    },
                    crate::quoting::shell_quote(&path.display().to_string())
                );
            }
            Zeroizing::new(
                crate::fsio::read_limited(path, MAX_PASSWORD_INPUT)
                    .map_err(|e| flag(e.to_string()))?,
            )
        }
    };

    first_line(bytes, path)
}

/// The password: the first line of what was read, without `\n` or `\r\n`; empty is refused.
fn first_line(bytes: Zeroizing<Vec<u8>>, path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(Error::Failed(format!(
            "--password-file {}: the first line (the password) is empty",
            path.display()
        )));
    }
    Ok(Zeroizing::new(line.to_vec()))
}

/// How long a pipe given as `--password-file` may keep pkitool waiting for its first line.
const FIFO_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads a pipe named by a path (`/dev/fd/63` from `<(...)`, a FIFO made with mkfifo) up to its
/// first line end or its end, at most [`MAX_PASSWORD_INPUT`] bytes. The open never blocks
/// (`O_NONBLOCK`: a FIFO without a writer would hang `open`), the handle must be the pipe that
/// was `stat`ed, and a writer that sends nothing within `wait` ([`FIFO_WAIT`]) is an error naming the
/// flag, never a hang.
fn read_fifo(
    path: &Path,
    meta: &std::fs::Metadata,
    wait: std::time::Duration,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    use nix::fcntl::OFlag;
    use nix::poll::{PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let flag = |msg: String| Error::Usage(format!("--password-file {}: {msg}", path.display()));
    let fd = nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| flag(format!("cannot open the pipe: {e}")))?;
    let f = std::fs::File::from(fd);
    let m = f
        .metadata()
        .map_err(|e| flag(format!("cannot stat the pipe: {e}")))?;
    if !m.file_type().is_fifo() || (m.dev(), m.ino()) != (meta.dev(), meta.ino()) {
        return Err(flag(
            "changed while pkitool was opening it; refusing to read it".into(),
        ));
    }
    let deadline = std::time::Instant::now() + wait;
    let mut buf = Zeroizing::new(Vec::new());
    let mut chunk = Zeroizing::new([0u8; 512]);
    loop {
        // Rounded up: a truncated sub-millisecond remainder gave up before the deadline.
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ms = u16::try_from(left.as_micros().div_ceil(1000)).unwrap_or(u16::MAX);
        if left.is_zero() {
            return Err(flag(format!(
                "nothing was written to the pipe within {} seconds",
                wait.as_secs_f32()
            )));
        }
        let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(flag(format!("cannot wait for the pipe: {e}"))),
        }
        match nix::unistd::read(&f, &mut chunk[..]) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if chunk[..n].contains(&b'\n') || buf.len() as u64 > MAX_PASSWORD_INPUT {
                    break;
                }
            }
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(flag(format!("cannot read the pipe: {e}"))),
        }
    }
    if buf.len() as u64 > MAX_PASSWORD_INPUT {
        return Err(flag(format!(
            "more than {MAX_PASSWORD_INPUT} bytes; a password file holds one line"
        )));
    }
    Ok(buf)
}

/// Reads a pipe or terminal to its end, at most [`MAX_PASSWORD_INPUT`] bytes.
fn read_stream(r: impl std::io::Read, name: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    use std::io::Read;
    let mut buf = Zeroizing::new(Vec::new());
    let mut r = r.take(MAX_PASSWORD_INPUT + 1);
    let mut chunk = Zeroizing::new([0u8; 512]);
    // Up to the first line end (a writer that keeps the pipe open never makes this hang).
    loop {
        let n = r
            .read(&mut chunk[..])
            .map_err(|e| Error::Usage(format!("--password-file {name}: {e}")))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if chunk[..n].contains(&b'\n') || buf.len() as u64 > MAX_PASSWORD_INPUT {
            break;
        }
    }
    if buf.len() as u64 > MAX_PASSWORD_INPUT {
        return Err(Error::Usage(format!(
            "--password-file {name}: more than {MAX_PASSWORD_INPUT} bytes; a password file holds one line"
        )));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_fifo_without_a_writer_times_out_naming_the_flag() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pw");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let meta = std::fs::metadata(&p).unwrap();
        let t = std::time::Instant::now();
        let e = super::read_fifo(&p, &meta, std::time::Duration::from_millis(300)).unwrap_err();
        assert!(t.elapsed() >= std::time::Duration::from_millis(300));
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(
            e.to_string(),
            format!(
                "--password-file {}: nothing was written to the pipe within 0.3 seconds",
                p.display()
            )
        );
    }

    use super::*;

    #[test]
    fn password_file_first_line_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, b"s3cret\r\nignored\n").unwrap();
        let mode = |m: u32| {
            std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap()
        };
        for bad in [0o666, 0o644, 0o620, 0o602] {
            mode(bad);
            let e = password_from_file(&f).unwrap_err().to_string();
            assert!(e.contains("refusing this password file"), "{bad:o}: {e}");
            assert!(!e.contains("s3cret"));
        }
        mode(0o640);
        assert_eq!(password_from_file(&f).unwrap().as_slice(), b"s3cret");
        mode(0o600);
        assert_eq!(password_from_file(&f).unwrap().as_slice(), b"s3cret");
        std::fs::write(&f, b"\nx").unwrap();
        assert!(password_from_file(&f).is_err());
    }
}
