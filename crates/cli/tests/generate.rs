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
    assert_eq!(code, 2);
    assert!(
        stderr.contains("invalid value 'pakage'")
            && stderr.contains("similar value exists: 'package'"),
        "{stderr}"
    );
}

/// What bash offers after `words` (the last one being completed), with
/// the script `ccaas completions bash` prints.
fn bash_offers(words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("ccaas.bash");
    std::fs::write(&script, ccaas(&["completions", "bash"]).1).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prev = words.len().checked_sub(2).map_or("", |i| words[i]);
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _ccaas ccaas '{}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            quoted.join(" "),
            words.len() - 1,
            words.last().unwrap(),
        ))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

// Flags with a closed set of values complete those values, not file names.
#[test]
fn bash_completes_the_values_of_closed_flags() {
    for command in ["probe", "simulate", "validate", "package"] {
        assert_eq!(
            bash_offers(&["ccaas", command, "--profile", ""]),
            ["v2.5", "v3.0", "v3.1"],
            "{command} --profile"
        );
    }
    assert_eq!(
        bash_offers(&["ccaas", "package", "--type", ""]),
        ["ccaas", "external"]
    );
    assert_eq!(
        bash_offers(&["ccaas", "package", "--type", "ex"]),
        ["external"]
    );
    let man = bash_offers(&["ccaas", "man", ""]);
    for command in COMMANDS {
        assert!(man.contains(&command.to_string()), "man: {man:?}");
    }
    let shells = bash_offers(&["ccaas", "completions", ""]);
    assert!(shells.contains(&"zsh".to_owned()), "{shells:?}");
}

// Every flag whose values are a closed set lists them (and so completes
// them in every shell): found by walking every command's arguments.
#[test]
fn every_closed_flag_lists_its_values() {
    let (_, script, _) = ccaas(&["completions", "fish"]);
    for line in script
        .lines()
        .filter(|l| l.contains("-l profile") || l.contains("-l type"))
    {
        assert!(line.contains("-r -f -a"), "fish offers files for: {line}");
    }
    assert!(script.contains("-l profile"), "{script}");
}

#[test]
fn man_dir_writes_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let (code, stdout, stderr) = ccaas(&["man", "--dir", out.to_str().unwrap()]);
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    assert!(
        stderr.starts_with("ccaas: wrote 12 man pages to"),
        "{stderr}"
    );
    let page = std::fs::read_to_string(out.join("ccaas.1")).unwrap();
    assert!(page.contains(".TH ccaas 1"), "{page}");
    for command in COMMANDS
        .iter()
        .chain(&["completions", "man", "probe", "image", "new", "k8s"])
    {
        let page = std::fs::read_to_string(out.join(format!("ccaas-{command}.1"))).unwrap();
        assert!(page.contains(&format!(".TH ccaas-{command} 1")), "{page}");
    }
    let (code, _, _) = ccaas(&["man", "package", "--dir", out.to_str().unwrap()]);
    assert_eq!(code, 2);
}
