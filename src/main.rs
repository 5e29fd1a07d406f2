//! The `pkitool` binary: parse the command line, run, map the outcome to an exit status.
//! Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Before anything holds a key or a password: no core dumps.
    if let Err(e) = pkitool::hardening::disable_core_dumps() {
        eprintln!("pkitool: error: cannot disable core dumps: {e}");
        return ExitCode::from(2);
    }
    let cli = match pkitool::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // `--version` on a subcommand too prints "pkitool VERSION" (clap would print
        // "pkitool-SUBCOMMAND VERSION").
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => {
            use std::io::Write;
            let _ = writeln!(std::io::stdout(), "pkitool {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    match pkitool::commands::run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            let mut stderr = anstream::stderr();
            let _ = pkitool::report::print_error(&mut stderr, &err);
            ExitCode::from(err.exit_code())
        }
    }
}
