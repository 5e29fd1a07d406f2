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

/// The first line of a password file, without `\n` or `\r\n`. An empty password is refused.
pub fn password_from_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    let (bytes, meta) = crate::fsio::read_limited_meta(path, 64 * 1024)?;
    let bytes = Zeroizing::new(bytes);
    // A password others can read or replace protects nothing.
    if let Some(why) = crate::fsio::untrusted_secret(&meta, 0o004) {
        return Err(Error::Failed(format!(
            "{}: refusing this password file: {why}",
            path.display()
        )));
    }
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(Error::Failed(format!(
            "{}: the first line (the password) is empty",
            path.display()
        )));
    }
    Ok(Zeroizing::new(line.to_vec()))
}

#[cfg(test)]
mod tests {
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
