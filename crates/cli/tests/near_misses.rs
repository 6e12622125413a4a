//! Near misses get a hint that names the fix: packages made almost as the
//! Fabric docs make them, variables almost right.
#![allow(clippy::unwrap_used)]

use ccaas_testkit::repo_root;
use std::path::Path;
use std::process::Command;

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");
const CONFIG: &str = r#"{"peername":"peer0"}"#;
const META: &str = r#"{"type":"ccaas","label":"cc_1.0"}"#;

fn ccaas(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(CCAAS)
        .current_dir(dir)
        .args(args)
        .env_remove("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG")
        .env_remove("CCAAS_TLS_DIR")
        .env_remove("CCAAS_DETECT_TYPES")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[track_caller]
fn expect(run: &(i32, String), code: i32, has: &[&str]) {
    let ok = run.0 == code && has.iter().all(|h| run.1.contains(h));
    assert!(
        ok,
        "expected exit {code} with {has:?}\ngot exit {}:\n{}",
        run.0, run.1
    );
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn tar(dir: &Path, args: &[&str]) {
    assert!(Command::new("tar")
        .current_dir(dir)
        .args(args)
        .status()
        .unwrap()
        .success());
}

/// A package as the Fabric v2.0 docs make one: code.tar.gz of `code`
/// (paths under `dir/code/`), then the outer tar with `outer_flags`.
fn package(dir: &Path, code: &[&str], outer_flags: &str) -> &'static str {
    write(dir, "metadata.json", META);
    let mut tar_args = vec!["czf".to_owned(), "../code.tar.gz".to_owned()];
    tar_args.extend(code.iter().map(|c| c.to_string()));
    let tar_args: Vec<&str> = tar_args.iter().map(String::as_str).collect();
    tar(&dir.join("code"), &tar_args);
    tar(
        dir,
        &[outer_flags, "pkg.tgz", "metadata.json", "code.tar.gz"],
    );
    "pkg.tgz"
}

// `tar czf code.tar.gz src` packs the folder, not its contents.
#[test]
fn connection_json_one_folder_down() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "code/src/connection.json",
        r#"{"address":"cc:9999"}"#,
    );
    let pkg = package(dir.path(), &["src"], "czf");
    let hint = "found `src/connection.json`: code.tar.gz holds the folder `src/` instead of its contents; make it from inside the folder (`tar -C src -czf code.tar.gz .`)";
    expect(&ccaas(dir.path(), &["validate", pkg], &[]), 1, &[hint]);
    expect(&ccaas(dir.path(), &["simulate", pkg], &[]), 1, &[hint]);
}

// `tar cf` for `tar czf`.
#[test]
fn an_uncompressed_outer_tar() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "code/connection.json",
        r#"{"address":"cc:9999"}"#,
    );
    let pkg = package(dir.path(), &["connection.json"], "cf");
    let hint = "the package is a tar archive but not gzip-compressed; the peer reads only gzip-compressed packages (make it with `tar czf NAME.tgz metadata.json code.tar.gz`, `z` for gzip)";
    expect(&ccaas(dir.path(), &["validate", pkg], &[]), 1, &[hint]);
    expect(&ccaas(dir.path(), &["id", pkg], &[]), 1, &[hint]);
    expect(&ccaas(dir.path(), &["inspect", pkg], &[]), 1, &[hint]);
}

// `root_cert_file: "tls/ca.pem"` with the file packed as `certs/ca.pem`.
#[test]
fn a_tls_file_under_another_folder() {
    let dir = tempfile::tempdir().unwrap();
    let ca = std::fs::read_to_string(repo_root().join("fixtures/tls/ca.pem")).unwrap();
    write(dir.path(), "code/certs/ca.pem", &ca);
    write(
        dir.path(),
        "code/connection.json",
        r#"{"address":"cc:9999","tls_required":true,"root_cert_file":"tls/ca.pem"}"#,
    );
    let pkg = package(dir.path(), &["connection.json", "certs"], "czf");
    let hint = "the package has `certs/ca.pem`: name that path (paths are relative to the top of code.tar.gz)";
    expect(
        &ccaas(dir.path(), &["validate", pkg], &[]),
        0,
        &[
            "key `root_cert_file` names `tls/ca.pem`, which is not in the package",
            hint,
        ],
    );
    expect(
        &ccaas(dir.path(), &["simulate", pkg], &[]),
        1,
        &["key `root_cert_file`: `tls/ca.pem` was not found", hint],
    );
}

#[test]
fn detect_types_with_the_wrong_separator() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_root().join("fixtures/sample/basic_1.0.tgz");
    for wrong in ["ccaas external", "ccaas;external", "ccaas:external"] {
        let run = ccaas(
            dir.path(),
            &["simulate", sample.to_str().unwrap(), "--config", CONFIG],
            &[("CCAAS_DETECT_TYPES", wrong)],
        );
        expect(
            &run,
            1,
            &["separate the types with commas: `ccaas,external`"],
        );
    }
}

// Go templates match keys exactly: `{{.PeerName}}` is not `peername`.
#[test]
fn a_template_key_that_differs_only_in_case() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "connection.json",
        r#"{"address":"{{.PeerName}}-cc:9999"}"#,
    );
    let run = ccaas(
        dir.path(),
        &["validate", "connection.json", "--config", CONFIG],
        &[],
    );
    expect(
        &run,
        1,
        &["template key `.PeerName` is not in `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` (it has: `peername`); keys are case-sensitive: did you mean `{{.peername}}`?"],
    );
}

// From the peer's container, localhost is the peer: a warning, not an error.
#[test]
fn a_loopback_address_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    for (address, host) in [
        ("localhost:9999", "localhost"),
        ("127.0.0.1:9999", "127.0.0.1"),
        ("[::1]:9999", "::1"),
    ] {
        write(
            dir.path(),
            "connection.json",
            &format!(r#"{{"address":"{address}"}}"#),
        );
        let run = ccaas(dir.path(), &["validate", "connection.json"], &[]);
        expect(
            &run,
            0,
            &[
                &format!("warning  connection.json: key `address` is `{address}`: `{host}` is a loopback address, and from a peer's container that is the peer itself"),
                "0 errors, 1 warning: installs with this builder",
            ],
        );
    }
    write(
        dir.path(),
        "connection.json",
        r#"{"address":"cc.example.com:9999"}"#,
    );
    let run = ccaas(dir.path(), &["validate", "connection.json"], &[]);
    expect(&run, 0, &["0 errors, 0 warnings"]);
}

// `tar cf code.tar.gz` for `tar czf`: the inner archive too.
#[test]
fn an_uncompressed_code_tar_gz() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "code/connection.json",
        r#"{"address":"cc:9999"}"#,
    );
    write(dir.path(), "metadata.json", META);
    tar(
        &dir.path().join("code"),
        &["cf", "../code.tar.gz", "connection.json"],
    );
    tar(
        dir.path(),
        &["czf", "pkg.tgz", "metadata.json", "code.tar.gz"],
    );
    let hint = "`code.tar.gz` is not a readable gzip-compressed tar: it is a tar archive without gzip compression; make it with `tar czf code.tar.gz ...` (`z` for gzip)";
    expect(
        &ccaas(dir.path(), &["validate", "pkg.tgz"], &[]),
        1,
        &[hint],
    );
    expect(
        &ccaas(dir.path(), &["simulate", "pkg.tgz"], &[]),
        1,
        &[hint],
    );
}
