//! The `ccaas-peersim` command's contract: exit codes and messages.
#![allow(clippy::unwrap_used)]

mod common;

fn peersim(args: &[&str]) -> (i32, String, String) {
    common::run(env!("CARGO_BIN_EXE_ccaas-peersim"), args)
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, stderr) = peersim(&["--id", "x"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, _) = peersim(&[
        "--address",
        "127.0.0.1:1",
        "--id",
        "x",
        "--profile",
        "v9",
        "invoke",
        "ping",
    ]);
    assert_eq!(code, 2);
}

#[test]
fn a_host_name_is_never_resolved() {
    let (code, stdout, stderr) =
        peersim(&["--address", "localhost:7052", "--id", "x", "invoke", "ping"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(stderr.contains("never resolves names"), "{stderr}");
}

#[test]
fn a_refused_connection_says_which_step_failed() {
    // Port 1 on loopback: nothing listens there on the project's machines.
    let (code, _, stderr) = peersim(&["--address", "127.0.0.1:1", "--id", "x", "invoke", "ping"]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("ccaas-peersim: error: the peer cannot connect to 127.0.0.1:1"),
        "{stderr}"
    );
    assert!(stderr.contains("(step `tcp`)"), "{stderr}");
    assert!(
        stderr.contains("refused: nothing listens there"),
        "{stderr}"
    );
}

#[test]
fn help_documents_the_invocations() {
    let (code, stdout, _) = peersim(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("--script"));
    assert!(stdout.contains("Exit status"));
}
