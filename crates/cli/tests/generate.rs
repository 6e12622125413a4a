//! Shell completions and man pages come from the clap definitions: every
//! command and flag is in them, and the scripts are valid for their shell.
#![allow(clippy::unwrap_used)]

use std::process::Command;

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");
const COMMANDS: &[&str] = &["package", "id", "inspect", "validate", "simulate"];
// Without dashes: fish writes `-l tls-root-cert`.
const FLAGS: &[&str] = &["tls-root-cert", "max-package-bytes", "server-cert"];

fn ccaas(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(CCAAS).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether `shell` is installed here.
fn has(shell: &str) -> bool {
    Command::new(shell)
        .args(["-c", "exit 0"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn completions_name_every_command_and_flag() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, script, stderr) = ccaas(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        for word in COMMANDS.iter().chain(FLAGS) {
            assert!(script.contains(word), "{shell} completions lack `{word}`");
        }
    }
    let (code, _, stderr) = ccaas(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{stderr}");
}

// The scripts parse in their shells (where installed: bash always is).
#[test]
fn completion_scripts_are_valid_for_their_shell() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, check) in [("bash", "-n"), ("zsh", "-n"), ("fish", "--no-execute")] {
        if shell != "bash" && !has(shell) {
            continue;
        }
        let (_, script, _) = ccaas(&["completions", shell]);
        let path = dir.path().join(shell);
        std::fs::write(&path, script).unwrap();
        let out = Command::new(shell).arg(check).arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{shell} {check}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn man_pages_for_ccaas_and_each_command() {
    let (code, page, stderr) = ccaas(&["man"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(page.contains(".TH ccaas 1"), "{page}");
    for command in COMMANDS {
        assert!(page.contains(command), "ccaas(1) lacks `{command}`");
    }
    for command in COMMANDS {
        let (code, page, stderr) = ccaas(&["man", command]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            page.contains(&format!(".TH ccaas-{command} 1")),
            "ccaas-{command}(1):\n{page}"
        );
        assert!(page.contains(env!("CARGO_PKG_VERSION")), "{page}");
    }
    let (_, page, _) = ccaas(&["man", "package"]);
    assert!(page.contains(r"\-\-tls\-root\-cert"), "{page}");
    let (code, _, stderr) = ccaas(&["man", "pakage"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("ccaas: error: man `pakage`: no such command (expected one of"),
        "{stderr}"
    );
}
