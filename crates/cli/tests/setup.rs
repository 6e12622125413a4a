//! Setting up: the README's commands work wherever CARGO_TARGET_DIR puts
//! the binaries, and a `ccaas` installed alone still simulates.
#![allow(clippy::unwrap_used)]

use ccaas_testkit::repo_root;
use std::process::Command;

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");

fn simulate(exe: &std::path::Path) -> (i32, String) {
    let out = Command::new(exe)
        .arg("simulate")
        .env_remove("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG")
        .env_remove("CCAAS_TLS_DIR")
        .env_remove("CCAAS_DETECT_TYPES")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The report without step times (they vary).
fn timeless(report: &str) -> Vec<String> {
    report
        .lines()
        .map(|l| match l.rfind(", ") {
            Some(i) if l.ends_with(" ms") => l[..i].to_owned(),
            _ => l.to_owned(),
        })
        .collect()
}

// `cargo install --path crates/cli` puts `ccaas` alone in ~/.cargo/bin:
// simulate runs the library's steps in process, says so, and reports what
// the builder programs report.
#[test]
fn a_ccaas_installed_alone_simulates_in_process() {
    let alone = tempfile::tempdir().unwrap();
    let exe = alone.path().join("ccaas");
    std::fs::copy(CCAAS, &exe).unwrap();
    let (code, report) = simulate(&exe);
    assert_eq!(code, 0, "{report}");
    let note = format!(
        "No builder programs next to `{}` (no `detect`, `ccaas-build`, `release`): running this ccaas's own detect, build and release in this process.",
        exe.display()
    );
    assert!(report.contains(&note), "{report}");
    // Nor the sample chaincode: said in one line, and the install is all.
    let lines: Vec<&str> = report.lines().filter(|l| l.starts_with("serve ")).collect();
    assert_eq!(
        lines,
        ["serve     No sample chaincode next to this ccaas (no `asset-transfer-basic`; `cargo build --workspace` puts it there): the install above is all; start a chaincode server and use --launch --connect HOST:PORT to go on."],
        "{report}"
    );
    assert!(!report.contains("invoke "), "{report}");
    // The same report as the programs beside the workspace's ccaas give,
    // but for the note (when they are there: `cargo build --workspace`).
    let beside = std::path::Path::new(CCAAS).with_file_name("ccaas-build");
    if beside.is_file() {
        let (code, programs) = simulate(CCAAS.as_ref());
        assert_eq!(code, 0, "{programs}");
        // The install's lines; the sample chaincode's (served beside the
        // workspace's ccaas only) are another test's.
        let install = |l: &String| {
            !l.is_empty()
                && !["serve ", "connect ", "invoke ", "OK: packaged"]
                    .iter()
                    .any(|p| l.starts_with(p))
        };
        let in_process: Vec<String> = timeless(&report)
            .into_iter()
            .filter(|l| !l.starts_with("No builder programs") && install(l))
            .collect();
        let programs: Vec<String> = timeless(&programs).into_iter().filter(install).collect();
        assert_eq!(in_process, programs);
    }
}

// The README's first command must not assume ./target: with
// CARGO_TARGET_DIR set, `./target/debug/ccaas` does not exist.
#[test]
fn readme_commands_do_not_assume_the_target_dir() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme.find("## Try it").unwrap();
    let block_start = start + readme[start..].find("```sh\n").unwrap() + 6;
    let block = &readme[block_start..block_start + readme[block_start..].find("```").unwrap()];
    let commands: Vec<&str> = block
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(commands.len(), 2, "{block}");
    for command in &commands {
        assert!(
            !command.contains("target/"),
            "README command assumes the target dir: {command}"
        );
    }
    assert!(
        commands[0].contains("cargo run --locked -q -p ccaas-cli -- simulate"),
        "{}",
        commands[0]
    );
}
