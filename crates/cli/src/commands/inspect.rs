//! `ccaas inspect`: what a package holds.

use super::LimitArgs;
use crate::{flags, output, print_json, Failure};
use ccaas_core::examine::{self, ExamineOptions};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ccaas inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// The package file.
    pub package: PathBuf,
    /// Print JSON (shape in docs/cli.md).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Shows the package (JSON with --json).
pub fn run(args: &InspectArgs) -> Result<ExitCode, Failure> {
    let (path, json, limits) = (args.package.as_path(), args.json, &args.limits.limits());
    let options = ExamineOptions {
        limits: *limits,
        ..ExamineOptions::default()
    };
    let exam = if flags::is_dash(path) {
        flags::claim_stdin("PACKAGE").map_err(|e| Failure(vec![e]))?;
        examine::examine_package_from(std::io::stdin().lock(), "-", &options)?
    } else {
        examine::examine_package(path, &options)?
    };
    if json {
        print_json(exam.to_json());
    } else {
        out_text!(output::inspection(path, &exam));
    }
    Ok(if exam.id.is_some() && exam.code_readable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
