//! `ccaas completions SHELL` and `ccaas man [COMMAND]`: shell completions
//! and man pages generated from the clap definitions, so they never drift
//! from the flags.

use crate::{Cli, Failure};
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

/// Writes `shell`'s completion script for `ccaas` to standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode, Failure> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "ccaas", &mut script);
    write_stdout(&script)
}

/// Writes the man page of `ccaas` (or of `ccaas COMMAND`) to standard
/// output, in roff: `ccaas man | man -l -`.
pub fn man(subcommand: Option<&str>) -> Result<ExitCode, Failure> {
    let mut command = Cli::command();
    command.build();
    let (page, title) = match subcommand {
        None => (command, "ccaas".to_owned()),
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
                return Err(Failure(vec![format!(
                    "man `{name}`: no such command (expected one of {})",
                    names.join(", ")
                )]));
            };
            // `ccaas-package(1)`, as git and cargo name theirs.
            let page = sub
                .clone()
                .bin_name(format!("ccaas {name}"))
                .version(env!("CARGO_PKG_VERSION"));
            (page, format!("ccaas-{name}"))
        }
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .title(title)
        .render(&mut roff)
        .map_err(|e| Failure(vec![format!("man: cannot render the page: {e}")]))?;
    write_stdout(&roff)
}

fn write_stdout(bytes: &[u8]) -> Result<ExitCode, Failure> {
    std::io::stdout()
        .lock()
        .write_all(bytes)
        .map_err(|e| Failure(vec![format!("cannot write to standard output: {e}")]))?;
    Ok(ExitCode::SUCCESS)
}
