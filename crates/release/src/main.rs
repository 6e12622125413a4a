//! `bin/release BLD RELEASE`: writes `RELEASE/chaincode/server/connection.json`
//! (and CouchDB indexes and TLS files) for the peer to dial.

use ccaas_core::steps;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str =
    "release: usage: release BLD RELEASE (run by the Fabric peer; see docs/peer-setup.md)";

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let mut stderr = std::io::stderr().lock();
    // `--version` alone (the peer always passes two paths).
    if args.len() == 1 && args[0] == "--version" {
        let _ = writeln!(std::io::stdout().lock(), "release ({})", steps::BUILDER);
        return ExitCode::SUCCESS;
    }
    let [bld, release] = args.as_slice() else {
        let _ = writeln!(stderr, "{USAGE}");
        return ExitCode::from(2);
    };
    let result = steps::release(Path::new(bld), Path::new(release));
    for line in steps::log_lines("release", &result) {
        let _ = writeln!(stderr, "{line}");
    }
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
