//! Every error of `ccaas` names the flag or file the operator gave, says
//! what was found there, and, for `package`, that no package was written.
//! One row per flag that takes a value `ccaas` reads or writes.
#![allow(clippy::unwrap_used)]

use ccaas_testkit::repo_root;
use std::path::Path;
use std::process::Command;

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");

struct Row {
    args: &'static [&'static str],
    /// Each must appear in stderr.
    stderr: &'static [&'static str],
}

/// Runs `ccaas` in `dir` (inputs as relative paths: `tls/` is
/// fixtures/tls, `sample.tgz` the bundled sample).
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(CCAAS)
        .current_dir(dir)
        .args(args)
        .env_remove("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG")
        .env_remove("CCAAS_TLS_DIR")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    std::fs::create_dir(&tls).unwrap();
    for f in ["ca.pem", "client.pem", "client.key", "server.pem", "ca.key"] {
        std::fs::copy(repo_root().join("fixtures/tls").join(f), tls.join(f)).unwrap();
    }
    std::fs::copy(
        repo_root().join("fixtures/sample/basic_1.0.tgz"),
        dir.path().join("sample.tgz"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello\n").unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    dir
}

const PKG: &[&str] = &["package", "--label", "cc_1.0", "--address", "cc:9999"];

#[test]
fn package_errors_name_the_flag_and_say_no_package_written() {
    let rows: &[Row] = &[
        Row {
            args: &["--tls-root-cert", "missing.pem", "-o", "x.tgz"],
            stderr: &["--tls-root-cert: cannot open `missing.pem`"],
        },
        Row {
            args: &["--tls-root-cert", "tls/client.key", "-o", "x.tgz"],
            stderr: &["--tls-root-cert `tls/client.key`: found a private key (not shown) where the chaincode server's CA certificate (PEM) was expected"],
        },
        Row {
            args: &["--tls-root-cert", "notes.txt", "-o", "x.tgz"],
            stderr: &["--tls-root-cert `notes.txt`: expected one or more `CERTIFICATE` blocks, found text with no `-----BEGIN` line (not PEM)"],
        },
        Row {
            args: &["--tls-root-cert", "tls/ca.pem", "--client-cert", "tls/client.key", "--client-key", "tls/client.key", "-o", "x.tgz"],
            stderr: &["--client-cert `tls/client.key`: found a private key (not shown) where a PEM certificate was expected"],
        },
        Row {
            args: &["--tls-root-cert", "tls/ca.pem", "--client-cert", "tls/client.pem", "--client-key", "tls/client.pem", "-o", "x.tgz"],
            stderr: &["--client-key `tls/client.pem`: expected a `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block, found a `CERTIFICATE` block"],
        },
        Row {
            args: &["--tls-root-cert", "tls/ca.pem", "--client-cert", "tls/client.pem", "--client-key", "missing.key", "-o", "x.tgz"],
            stderr: &["--client-key: cannot open `missing.key`"],
        },
        Row {
            args: &["--server-cert", "missing.pem", "-o", "x.tgz"],
            stderr: &["--server-cert: cannot open `missing.pem`"],
        },
        Row {
            args: &["--server-cert", "tls/ca.key", "-o", "x.tgz"],
            stderr: &["--server-cert `tls/ca.key`: found a private key where the chaincode server's certificate was expected"],
        },
        Row {
            args: &["--server-cert", "notes.txt", "-o", "x.tgz"],
            stderr: &["--server-cert `notes.txt`: expected one or more `CERTIFICATE` blocks"],
        },
        Row {
            args: &["--indexes", "missing", "-o", "x.tgz"],
            stderr: &["--indexes `missing`: No such file or directory"],
        },
        Row {
            args: &["--indexes", "notes.txt", "-o", "x.tgz"],
            stderr: &["--indexes `notes.txt`: not a directory"],
        },
        Row {
            args: &["--indexes", "tls", "-o", "x.tgz"],
            stderr: &["--indexes: `tls/ca.pem`: `statedb/couchdb/indexes/ca.pem` is not where the peer reads CouchDB indexes"],
        },
        Row {
            args: &["--tls-dir", "missing", "-o", "x.tgz"],
            stderr: &["--tls-dir `missing`: No such file or directory"],
        },
        Row {
            args: &["--dial-timeout", "10", "-o", "x.tgz"],
            stderr: &["--dial-timeout: `10` has no unit"],
        },
        Row {
            args: &["-o", "missing-dir/x.tgz"],
            stderr: &["-o `missing-dir/x.tgz`: cannot create a temporary file in `missing-dir`: No such file or directory (os error 2)\n"],
        },
        Row {
            args: &["-o", "out"],
            stderr: &["-o `out`: is a directory; give the package's file name (e.g. `out/cc_1.0.tgz`)"],
        },
    ];
    for row in rows {
        let dir = workdir();
        let mut args = PKG.to_vec();
        args.extend_from_slice(row.args);
        let (code, stdout, stderr) = run_in(dir.path(), &args);
        let out = args[args.iter().position(|a| *a == "-o").unwrap() + 1];
        let ok = code == 1
            && stdout.is_empty()
            && row.stderr.iter().all(|s| stderr.contains(s))
            && stderr.contains(&format!("ccaas: error: no package written to `{out}`"))
            && !stderr.contains("PRIVATE KEY-----")
            && !dir.path().join("x.tgz").exists();
        assert!(
            ok,
            "ccaas {args:?}\nexpected exit 1, stderr with {:?} and `no package written`\ngot exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
            row.stderr
        );
    }
}

#[test]
fn package_connection_errors_name_the_connection_file() {
    let dir = workdir();
    let args = [
        "package",
        "--label",
        "cc_1.0",
        "--connection",
        "missing.json",
        "-o",
        "x.tgz",
    ];
    let (code, _, stderr) = run_in(dir.path(), &args);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("ccaas: error: --connection: cannot open `missing.json`")
            && stderr.contains("no package written to `x.tgz`"),
        "{stderr}"
    );
}

#[test]
fn validate_and_simulate_errors_name_the_flag() {
    let rows: &[Row] = &[
        Row {
            args: &["validate", "sample.tgz", "--config", "peername=peer0"],
            stderr: &["--config `peername=peer0`: not valid JSON (line 1, column 1); expected a JSON object of template values"],
        },
        Row {
            args: &["validate", "sample.tgz", "--config", "[1]"],
            stderr: &["--config `[1]`: an array, not a JSON object"],
        },
        Row {
            args: &["validate", "sample.tgz", "--config", "@missing.json"],
            stderr: &["--config @missing.json: cannot open `missing.json`"],
        },
        Row {
            args: &["validate", "sample.tgz", "--tls-dir", "missing"],
            stderr: &["--tls-dir `missing`: No such file or directory"],
        },
        Row {
            args: &["validate", "sample.tgz", "--server-cert", "tls/client.key"],
            stderr: &["--server-cert `tls/client.key`: found a private key where the chaincode server's certificate was expected"],
        },
        Row {
            args: &["validate", "missing.tgz"],
            stderr: &["cannot open `missing.tgz`"],
        },
        Row {
            args: &["inspect", "missing.tgz"],
            stderr: &["cannot open `missing.tgz`"],
        },
        Row {
            args: &["id", "missing.tgz"],
            stderr: &["cannot open `missing.tgz`"],
        },
        Row {
            args: &["simulate", "missing.tgz"],
            stderr: &["cannot open `missing.tgz`"],
        },
        Row {
            args: &["simulate", "sample.tgz", "--config", "{bad"],
            stderr: &["--config `{bad`: not valid JSON (line 1, column 2)"],
        },
        Row {
            args: &["simulate", "sample.tgz", "--tls-dir", "notes.txt"],
            stderr: &["--tls-dir `notes.txt`: not a directory"],
        },
        Row {
            args: &["simulate", "sample.tgz", "--builder", "missing"],
            stderr: &["--builder: builder `missing` has no `bin/detect`"],
        },
        Row {
            args: &["simulate", "sample.tgz", "--server-cert", "notes.txt"],
            stderr: &["--server-cert `notes.txt`: expected one or more `CERTIFICATE` blocks"],
        },
    ];
    for row in rows {
        let dir = workdir();
        let (code, stdout, stderr) = run_in(dir.path(), row.args);
        let ok = code == 1 && row.stderr.iter().all(|s| stderr.contains(s));
        assert!(
            ok,
            "ccaas {:?}\nexpected exit 1, stderr with {:?}\ngot exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
            row.args, row.stderr
        );
    }
}
