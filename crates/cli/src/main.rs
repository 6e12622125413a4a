//! `ccaas`: package, identify, inspect, validate, simulate and probe
//! chaincode-as-a-service packages. The logic is in `ccaas-core` (and
//! `ccaas-peersim` for the probe); each command's flags and body are in
//! `commands/`, one module each; this file parses, dispatches, prints the
//! error and picks the exit code.
#![allow(clippy::print_stdout, clippy::print_stderr)]

/// Every line `ccaas` prints goes through `report::redact`: no key
/// material reaches a terminal, whatever a message quoted.
macro_rules! out {
    ($($arg:tt)*) => {
        println!("{}", ccaas_core::report::redact(&format!($($arg)*)))
    };
}
macro_rules! out_text {
    ($text:expr) => {
        print!("{}", ccaas_core::report::redact(&$text))
    };
}
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", ccaas_core::report::redact(&format!($($arg)*)))
    };
}

mod cli;
mod commands;
mod flags;
mod output;

use clap::Parser;
use cli::{Cli, Command};
use commands::*;
use std::process::ExitCode;

/// JSON for stdout, every string redacted.
fn print_json(mut value: serde_json::Value) {
    ccaas_core::report::redact_json(&mut value);
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
}

/// An error for the operator, already worded; printed as `ccaas: error: ...`.
struct Failure(Vec<String>);

impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(vec![ccaas_core::report::chain(&e)])
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_errors = cli.command.json_errors();
    let result = match cli.command {
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
        Command::Package(args) => package::run(args),
        Command::Id(args) => id::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Probe(args) => probe::run(&args),
        Command::Image(args) => image::run(&args),
        Command::New(args) => new::run(&args),
        Command::K8s(args) => k8s::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(Failure(lines)) => {
            if json_errors {
                print_json(serde_json::json!({ "ok": false, "errors": lines }));
            }
            for line in lines {
                say!("ccaas: error: {line}");
            }
            ExitCode::from(1)
        }
    }
}
