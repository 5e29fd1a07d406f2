//! `pkitool template show ca|server|client`: print a shipped certtool template.

use std::io::Write;

use crate::Error;
use crate::ca::template;
use crate::cli::{TemplateCommand, TemplateName};

/// Runs `template show`.
pub fn run(cmd: &TemplateCommand) -> Result<u8, Error> {
    let TemplateCommand::Show { which } = cmd;
    let text = match which {
        TemplateName::Ca => template::shipped::CA,
        TemplateName::Server => template::shipped::SERVER,
        TemplateName::Client => template::shipped::CLIENT,
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .map_err(|e| Error::Environment(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}
