//! `ccaas id`: package IDs, as `peer lifecycle chaincode
//! calculatepackageid` prints them.

use super::LimitArgs;
use crate::Failure;
use ccaas_core::package;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ccaas id`.
#[derive(Args)]
pub struct IdArgs {
    /// Package files; `-` reads standard input.
    #[arg(required = true)]
    pub packages: Vec<PathBuf>,
    /// Print a JSON array of {file, package_id, label, hash}.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Prints each package's ID (JSON with --json).
pub fn run(args: &IdArgs) -> Result<ExitCode, Failure> {
    let (packages, json, limits) = (&args.packages, args.json, &args.limits.limits());
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for path in packages {
        let result = if path.as_os_str() == "-" {
            package::identify(std::io::stdin().lock(), limits)
        } else {
            match ccaas_core::fs::open_regular(path) {
                Ok(file) => package::identify(file, limits),
                Err(e) => {
                    failures.push(ccaas_core::report::chain(&e));
                    continue;
                }
            }
        };
        match result {
            Ok(info) => rows.push((path.display().to_string(), info.id)),
            Err(e) => failures.push(format!(
                "`{}`: {}",
                path.display(),
                ccaas_core::report::chain(&e)
            )),
        }
    }
    if json {
        let array: Vec<_> = rows
            .iter()
            .map(|(file, id)| serde_json::json!({"file": file, "package_id": id.to_string(), "label": id.label.as_str(), "hash": id.hash_hex()}))
            .collect();
        out!("{}", serde_json::Value::Array(array));
    } else {
        for (_, id) in &rows {
            out!("{id}");
        }
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure(failures))
    }
}
