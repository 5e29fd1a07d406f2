//! Process hardening done before anything else runs: no core dumps.
//!
//! pkitool holds private keys and passwords in memory. A core dump (SIGQUIT, SIGSEGV, a
//! debugger's gcore by another user) would write them to disk, so at start the process makes
//! itself non-dumpable (`PR_SET_DUMPABLE 0`, which also stops other unprivileged processes of
//! the same user from attaching with ptrace or reading `/proc/PID/mem`) and sets `RLIMIT_CORE`
//! to 0 (soft and hard).

/// Disables core dumps for this process. Failures are returned (the caller decides: the binary
/// refuses to run without it).
pub fn disable_core_dumps() -> Result<(), String> {
    nix::sys::prctl::set_dumpable(false).map_err(|e| format!("prctl(PR_SET_DUMPABLE, 0): {e}"))?;
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0)
        .map_err(|e| format!("setrlimit(RLIMIT_CORE, 0): {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn core_dumps_are_off_after_the_call() {
        // In a child process: the test harness must not lose its own dumpability.
        if std::env::var_os("PKITOOL_HARDENING_CHILD").is_some() {
            super::disable_core_dumps().unwrap();
            assert!(!nix::sys::prctl::get_dumpable().unwrap());
            let (soft, hard) =
                nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE).unwrap();
            assert_eq!((soft, hard), (0, 0));
            return;
        }
        let st = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "hardening::tests::core_dumps_are_off_after_the_call",
                "--quiet",
            ])
            .env("PKITOOL_HARDENING_CHILD", "1")
            .status()
            .unwrap();
        assert!(st.success());
    }
}
