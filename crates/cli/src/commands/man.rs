//! `ccaas man [COMMAND]`: man pages generated from the clap definitions,
//! so they never drift from the flags.

use super::write_stdout;
use crate::cli::Cli;
use crate::Failure;
use clap::{Args, CommandFactory};
use std::process::ExitCode;

/// The flags of `ccaas man`.
#[derive(Args)]
pub struct ManArgs {
    /// A command (package, id, ...): its own page, `ccaas-COMMAND(1)`.
    pub command: Option<String>,
}

/// Writes the man page of `ccaas` (or of `ccaas COMMAND`) to standard
/// output, in roff: `ccaas man | man -l -`.
pub fn run(args: &ManArgs) -> Result<ExitCode, Failure> {
    let mut command = Cli::command();
    command.build();
    let (page, title) = match args.command.as_deref() {
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
