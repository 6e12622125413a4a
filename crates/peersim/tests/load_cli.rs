//! The `ccaas-load` command's contract: help, usage errors, exit codes.
#![allow(clippy::unwrap_used)]

mod common;

fn load(args: &[&str]) -> (i32, String, String) {
    common::run(env!("CARGO_BIN_EXE_ccaas-load"), args)
}

#[test]
fn help_names_every_knob() {
    let (code, stdout, _) = load(&["--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--streams",
        "--in-flight",
        "--reads",
        "--writes",
        "--value-bytes",
        "--count",
        "--duration",
        "--server-pid",
        "--tls-root-cert",
        "--client-cert",
        "Exit status",
    ] {
        assert!(stdout.contains(flag), "{flag} missing from:\n{stdout}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, _) = load(&["--id", "x"]);
    assert_eq!(code, 2);
    let (code, _, stderr) = load(&[
        "--address",
        "127.0.0.1:1",
        "--id",
        "x",
        "--count",
        "5",
        "--duration",
        "1s",
    ]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn zero_streams_is_refused_by_name() {
    let (code, _, stderr) = load(&["--address", "127.0.0.1:1", "--id", "x", "--streams", "0"]);
    assert_eq!(code, 1);
    assert_eq!(stderr, "ccaas-load: error: streams must be at least 1\n");
}

#[test]
fn a_refused_connection_says_which_step_failed() {
    // Port 1 on loopback: nothing listens there on the project's machines.
    let (code, stdout, stderr) = load(&["--address", "127.0.0.1:1", "--id", "x"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(
        stderr.starts_with("ccaas-load: error: stream 0: connect to `127.0.0.1:1` failed"),
        "{stderr}"
    );
}

#[test]
fn a_server_command_that_cannot_start_is_named() {
    let (code, _, stderr) = load(&[
        "--address",
        "127.0.0.1:1",
        "--id",
        "x",
        "--",
        "/nonexistent/server",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("ccaas-load: error: cannot start the server `/nonexistent/server`"),
        "{stderr}"
    );
}
