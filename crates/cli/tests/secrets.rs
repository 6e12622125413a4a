//! No private key reaches any output of `ccaas`, whatever shape it arrives
//! in and whatever field or flag it is put in (issue 15, secrets).
#![allow(clippy::unwrap_used)]

use ccaas_testkit::{assert_no_key, fixture, json_string, key_shapes};
use std::path::Path;
use std::process::Command;

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");

/// Exit code and stdout and stderr together.
fn ccaas(args: &[&str]) -> (i32, String) {
    let out = Command::new(CCAAS)
        .args(args)
        .env_remove("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG")
        .env_remove("CCAAS_TLS_DIR")
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

fn connection_with(field: &str, value: &str) -> String {
    let mut fields = vec![
        ("address", json_string("cc.example.com:9999")),
        ("tls_required", "true".to_owned()),
        ("client_auth_required", "true".to_owned()),
        ("root_cert", json_string(&fixture("tls/ca.pem"))),
        ("client_cert", json_string(&fixture("tls/client.pem"))),
        ("client_key", json_string(&fixture("tls/client.key"))),
    ];
    match fields.iter_mut().find(|(k, _)| *k == field) {
        Some(slot) => slot.1 = json_string(value),
        None => fields.push((field, json_string(value))),
    }
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}: {v}", json_string(k)))
        .collect();
    format!("{{{}}}", body.join(", "))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// Regression: a PEM key whose newlines became spaces was echoed in full by
// `validate` and `package` (twice: in the label of the "unterminated" error).
#[test]
fn no_key_shape_in_any_field_is_echoed_by_validate_or_package() {
    let dir = tempfile::tempdir().unwrap();
    let fields = [
        "client_key",
        "client_cert",
        "root_cert",
        "address",
        "domain",
        "dial_timeout",
        "tls_required",
        "notes",
    ];
    for (shape, key) in key_shapes() {
        for field in fields {
            let conn = dir.path().join("connection.json");
            std::fs::write(&conn, connection_with(field, &key)).unwrap();
            let out = dir.path().join("out.tgz");
            for args in [
                vec!["validate", s(&conn)],
                vec!["validate", s(&conn), "--json"],
                vec![
                    "package",
                    "--label",
                    "x_1",
                    "--connection",
                    s(&conn),
                    "-o",
                    s(&out),
                ],
            ] {
                let (_, text) = ccaas(&args);
                std::panic::catch_unwind(|| assert_no_key(&text)).unwrap_or_else(|_| {
                    panic!("{shape} in `{field}`, `ccaas {}` leaked", args.join(" "))
                });
            }
        }
    }
}

#[test]
fn no_key_shape_given_as_a_pem_flag_is_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let cert = dir.path().join("client.pem");
    let key = dir.path().join("client.key");
    std::fs::write(&ca, fixture("tls/ca.pem")).unwrap();
    std::fs::write(&cert, fixture("tls/client.pem")).unwrap();
    std::fs::write(&key, fixture("tls/client.key")).unwrap();
    let bad = dir.path().join("bad.pem");
    let out = dir.path().join("out.tgz");
    for (shape, text) in key_shapes() {
        std::fs::write(&bad, &text).unwrap();
        for flag in ["--tls-root-cert", "--client-cert", "--client-key"] {
            let mut args = vec![
                "package",
                "--label",
                "x_1",
                "--address",
                "cc.example.com:9999",
                "-o",
                s(&out),
            ];
            for (f, p) in [
                ("--tls-root-cert", &ca),
                ("--client-cert", &cert),
                ("--client-key", &key),
            ] {
                args.push(f);
                args.push(if f == flag { s(&bad) } else { s(p) });
            }
            let (_, output) = ccaas(&args);
            std::panic::catch_unwind(|| assert_no_key(&output))
                .unwrap_or_else(|_| panic!("{shape} as {flag} leaked"));
        }
    }
}
