//! `ccaas completions SHELL`: a shell completion script generated from
//! the clap definitions, so it never drifts from the flags.

use super::write_stdout;
use crate::cli::Cli;
use crate::Failure;
use clap::{Args, CommandFactory};
use std::process::ExitCode;

/// The flags of `ccaas completions`.
#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// Writes the completion script for `ccaas` to standard output.
pub fn run(args: &CompletionsArgs) -> Result<ExitCode, Failure> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "ccaas", &mut script);
    write_stdout(&script)
}
