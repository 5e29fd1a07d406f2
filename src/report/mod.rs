//! Terminal output shared by the commands: errors on stderr (colour only on a terminal, NO_COLOR
//! honoured through anstream).

use std::io::Write;

use anstyle::{AnsiColor, Style};

/// Prints `pkitool: error: MESSAGE` to the given stream.
pub fn print_error(out: &mut impl Write, err: &crate::Error) -> std::io::Result<()> {
    let style = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
    // File names and details in messages may carry control characters: never raw.
    let text = err.to_string();
    writeln!(
        out,
        "pkitool: {style}error{style:#}: {}",
        crate::quoting::terminal::escape_keep_newlines(&text)
    )
}

pub mod data;
pub mod json;
pub mod junit;
pub mod probe;
pub mod provision;
pub mod sarif;
pub mod show;
pub mod text;

/// Display a path for reports (lossy for non-UTF-8 names).
pub fn show_path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}
