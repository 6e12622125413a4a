//! `bin/detect SRC METADATA`: claims chaincode-as-a-service packages for the
//! peer (exit 0) and declines every other package (exit 1) without a word.

use ccaas_core::steps;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str =
    "detect: usage: detect SRC METADATA (run by the Fabric peer; see docs/peer-setup.md)";

fn say(line: &str) {
    // The peer logs stderr; a closed stderr must not turn into a panic.
    let line = ccaas_core::report::redact(line);
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    // `--version` alone (the peer always passes two paths).
    if args.len() == 1 && args[0] == "--version" {
        let _ = writeln!(std::io::stdout().lock(), "detect ({})", steps::BUILDER);
        return ExitCode::SUCCESS;
    }
    let [_src, metadata] = args.as_slice() else {
        say(USAGE);
        return ExitCode::from(2);
    };
    let types = std::env::var_os(steps::DETECT_TYPES_ENV);
    let (code, lines) = steps::detect_step(Path::new(metadata), types.as_deref());
    for line in lines {
        say(&line);
    }
    ExitCode::from(code)
}
