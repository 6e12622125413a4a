//! `ccaas man [COMMAND]` and `ccaas man --dir DIR`: man pages generated
//! from the clap definitions, so they never drift from the flags.

use super::write_stdout;
use crate::cli::Cli;
use crate::Failure;
use clap::{Args, CommandFactory};
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ccaas man`.
#[derive(Args)]
pub struct ManArgs {
    /// A command (package, id, ...): its own page, `ccaas-COMMAND(1)`.
    #[arg(value_parser = command_names(), conflicts_with = "dir")]
    pub command: Option<String>,
    /// Write every page into DIR at once: `ccaas.1` and `ccaas-COMMAND.1` for each command (DIR is created if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The commands that have a page, for the shells to complete `ccaas man
/// COMMAND` (a test holds it equal to the commands clap knows).
pub const COMMANDS: &[&str] = &[
    "completions",
    "man",
    "package",
    "id",
    "inspect",
    "validate",
    "simulate",
    "probe",
    "image",
    "new",
    "k8s",
];

fn command_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(COMMANDS)
}

/// One page: `ccaas` itself (`None`) or `ccaas COMMAND`, with its title.
fn page(name: Option<&str>) -> Result<(String, Vec<u8>), Failure> {
    let mut command = Cli::command();
    command.build();
    let (page, title) = match name {
        None => (command, "ccaas".to_owned()),
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                return Err(Failure(vec![format!("man `{name}`: no such command")]));
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
        .title(title.clone())
        .render(&mut roff)
        .map_err(|e| Failure(vec![format!("man: cannot render the page: {e}")]))?;
    Ok((title, roff))
}

/// Writes the man page of `ccaas` (or of `ccaas COMMAND`) to standard
/// output, in roff (`ccaas man | man -l -`), or every page into `--dir`.
pub fn run(args: &ManArgs) -> Result<ExitCode, Failure> {
    let Some(dir) = &args.dir else {
        let (_, roff) = page(args.command.as_deref())?;
        return write_stdout(&roff);
    };
    ccaas_core::fs::create_dir_all(dir, 0o755)
        .map_err(|e| Failure(vec![format!("--dir: {}", ccaas_core::report::chain(&e))]))?;
    let mut written = Vec::new();
    for name in std::iter::once(None).chain(COMMANDS.iter().copied().map(Some)) {
        let (title, roff) = page(name)?;
        let path = dir.join(format!("{title}.1"));
        ccaas_core::fs::write_atomic(&path, &roff, 0o644)
            .map_err(|e| Failure(vec![format!("--dir: {}", ccaas_core::report::chain(&e))]))?;
        written.push(format!("{title}.1"));
    }
    say!(
        "ccaas: wrote {} man pages to `{}`: {} (read one with `man -l {}/ccaas.1`, or add the directory's parent to MANPATH as man1/)",
        written.len(),
        dir.display(),
        written.join(", "),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_page_and_completes() {
        let known: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        assert_eq!(
            known, COMMANDS,
            "a command was added or removed: update man::COMMANDS (its page and its completion)"
        );
    }
}
