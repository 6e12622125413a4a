//! `bin/detect SRC METADATA`: claims chaincode-as-a-service packages for the
//! peer (exit 0) and declines every other package (exit 1) without a word.

use ccaas_core::steps::{self, Detection};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str =
    "detect: usage: detect SRC METADATA (run by the Fabric peer; see docs/peer-setup.md)";

fn say(line: &str) {
    // The peer logs stderr; a closed stderr must not turn into a panic.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let [_src, metadata] = args.as_slice() else {
        say(USAGE);
        return ExitCode::from(2);
    };
    let allowed = match std::env::var("CCAAS_DETECT_TYPES") {
        Err(std::env::VarError::NotPresent) => None,
        Ok(list) if list.trim().is_empty() => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            say("detect: declined: `CCAAS_DETECT_TYPES` is not UTF-8 (expected a comma list of `ccaas`, `external`)");
            return ExitCode::from(1);
        }
        Ok(list) => match steps::parse_detect_types(&list) {
            Ok(types) => Some(types),
            Err(e) => {
                say(&format!("detect: declined: `CCAAS_DETECT_TYPES`: {e}"));
                return ExitCode::from(1);
            }
        },
    };
    match steps::detect(Path::new(metadata), allowed.as_deref()) {
        Detection::Claimed { dialect, label } => {
            say(&format!(
                "detect: claimed `{}` (type {dialect})",
                ccaas_core::report::shorten(&label)
            ));
            ExitCode::SUCCESS
        }
        Detection::NotOurs => ExitCode::from(1),
        Detection::Declined(e) => {
            say(&format!(
                "detect: declined: {}",
                ccaas_core::report::chain(&e)
            ));
            ExitCode::from(1)
        }
    }
}
