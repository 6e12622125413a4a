//! `bin/build SRC METADATA BLD`: checks and prepares a chaincode-as-a-service
//! package's connection.json, CouchDB indexes and TLS files.
//! (Cargo forbids a binary named `build`; `bin-scripts/install` renames it.)

use ccaas_core::steps::{self, BuildSettings};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str =
    "build: usage: build SRC METADATA BLD (run by the Fabric peer; see docs/peer-setup.md)";

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let mut stderr = std::io::stderr().lock();
    // `--version` alone (the peer always passes three paths).
    if args.len() == 1 && args[0] == "--version" {
        let _ = writeln!(std::io::stdout().lock(), "build ({})", steps::BUILDER);
        return ExitCode::SUCCESS;
    }
    let [src, metadata, bld] = args.as_slice() else {
        let _ = writeln!(stderr, "{USAGE}");
        return ExitCode::from(2);
    };
    let settings = BuildSettings::from_env(|name| std::env::var_os(name));
    let result = steps::build(
        Path::new(src),
        Path::new(metadata),
        Path::new(bld),
        &settings,
    );
    for line in steps::log_lines("build", &result) {
        let _ = writeln!(stderr, "{line}");
    }
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
