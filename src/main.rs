//! The `pkitool` binary: parse the command line, run, map the outcome to an exit status.
//! Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pkitool::cli::Cli::parse();
    match pkitool::commands::run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            let mut stderr = anstream::stderr();
            let _ = pkitool::report::print_error(&mut stderr, &err);
            ExitCode::from(err.exit_code())
        }
    }
}
