//! `ccaas k8s`, run as operators run it: packages made by `ccaas package`,
//! each mismatch between the package and the Service refused with both
//! sides named, the YAML and the JSON parsed (and saying the same), one
//! Deployment and Service per peer. Applying the output to a real API
//! server is `bin-scripts/k8s-check`'s job.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use yaml_rust2::{Yaml, YamlLoader};

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");

fn tls(name: &str) -> String {
    ccaas_testkit::repo_root()
        .join("fixtures/tls")
        .join(name)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(CCAAS)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `ccaas package --label kv_1.0 ARGS... -o DIR/kv.tgz`.
fn package(dir: &Path, args: &[&str]) -> PathBuf {
    let path = dir.join("kv.tgz");
    let mut all = vec!["package", "--label", "kv_1.0", "-o", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(out.status.success(), "ccaas package: {}", stderr(&out));
    path
}

fn mutual(address: &str) -> Vec<String> {
    vec![
        "--address".into(),
        address.into(),
        "--tls-root-cert".into(),
        tls("ca.pem"),
        "--client-cert".into(),
        tls("client.pem"),
        "--client-key".into(),
        tls("client.key"),
    ]
}

fn k8s(pkg: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "k8s",
        "--package",
        pkg.to_str().unwrap(),
        "--name",
        "mycc",
        "--namespace",
        "ccaas",
        "--image",
        "kv:1",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Refused: exit 1, nothing on stdout, and each of `needles` on stderr.
fn assert_refused(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` not in:\n{err}");
    }
}

fn yaml_to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_owned(), yaml_to_json(v)))
                .collect(),
        ),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::String(s) => Value::from(s.as_str()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Boolean(b) => Value::from(*b),
        Yaml::Null => Value::Null,
        other => panic!("unexpected YAML node {other:?}"),
    }
}

#[test]
fn yaml_and_json_parse_and_hold_the_same_objects() {
    let dir = tempfile::tempdir().unwrap();
    let args = mutual("mycc.ccaas:9999");
    let pkg = package(
        dir.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let flags = [
        "--tls-cert",
        &tls("k8s-server.pem"),
        "--tls-key",
        &tls("server.key"),
        "--tls-ca",
        &tls("ca.pem"),
        "--max-unavailable",
        "1",
    ];
    let yaml = k8s(&pkg, &flags);
    assert!(yaml.status.success(), "{}", stderr(&yaml));
    let json = k8s(&pkg, &[&flags[..], &["--json"]].concat());
    assert!(json.status.success(), "{}", stderr(&json));
    let list: Value = serde_json::from_slice(&json.stdout).unwrap();
    let docs = YamlLoader::load_from_str(std::str::from_utf8(&yaml.stdout).unwrap()).unwrap();
    let from_yaml: Vec<Value> = docs.iter().map(yaml_to_json).collect();
    assert_eq!(Value::Array(from_yaml), list["items"]);
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["Secret", "Service", "Deployment", "PodDisruptionBudget"]
    );
    // CHAINCODE_ID is the package's, as `ccaas id` prints it.
    let id = run(&["id", pkg.to_str().unwrap()]);
    let id = String::from_utf8_lossy(&id.stdout).trim().to_owned();
    let env = &list["items"][2]["spec"]["template"]["spec"]["containers"][0]["env"][0];
    assert_eq!(env["name"], "CHAINCODE_ID");
    assert_eq!(env["value"].as_str().unwrap(), id);
    // The --kubernetes 1.20 shape.
    let old = k8s(
        &pkg,
        &[&flags[..], &["--json", "--kubernetes", "1.20"]].concat(),
    );
    let list: Value = serde_json::from_slice(&old.stdout).unwrap();
    assert_eq!(list["items"][3]["apiVersion"], "policy/v1beta1");
}

#[test]
fn an_address_other_than_the_service_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(dir.path(), &["--address", "kv.example.com:7052"]);
    assert_refused(
        &k8s(&pkg, &[]),
        &[
            "2 mismatches",
            "`kv.example.com:7052`",
            "`mycc.ccaas:9999`",
            "`mycc.ccaas.svc.cluster.local:9999`",
            "has port 7052, but the Service listens on --port 9999",
        ],
    );
    let ok = k8s(
        &package(
            dir.path(),
            &["--address", "mycc.ccaas.svc.cluster.local:9999"],
        ),
        &[],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn tls_on_one_side_only_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let args = mutual("mycc.ccaas:9999");
    let tls_pkg = package(
        dir.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_refused(
        &k8s(&tls_pkg, &[]),
        &[
            "`tls_required: true`",
            "no TLS Secret is given",
            "--tls-cert",
        ],
    );
    assert_refused(
        &k8s(
            &tls_pkg,
            &[
                "--tls-cert",
                &tls("k8s-server.pem"),
                "--tls-key",
                &tls("server.key"),
            ],
        ),
        &["`client_auth_required: true`", "no --tls-ca"],
    );
    let plain = package(dir.path(), &["--address", "mycc.ccaas:9999"]);
    assert_refused(
        &k8s(&plain, &["--tls-secret", "kv-tls"]),
        &[
            "`tls_required: false`",
            "--tls-secret gives the chaincode server TLS",
        ],
    );
}

#[test]
fn a_certificate_that_does_not_fit_the_package_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let args = mutual("mycc.ccaas:9999");
    let pkg = package(
        dir.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let server = tls("server.pem");
    assert_refused(
        &k8s(
            &pkg,
            &[
                "--tls-cert",
                &server,
                "--tls-key",
                &tls("server.key"),
                "--tls-ca",
                &tls("ca.pem"),
            ],
        ),
        &[
            &format!("--tls-cert `{server}` against connection.json"),
            "does not cover `mycc.ccaas`",
        ],
    );
    let other = tls("other.key");
    assert_refused(
        &k8s(
            &pkg,
            &[
                "--tls-cert",
                &tls("k8s-server.pem"),
                "--tls-key",
                &other,
                "--tls-ca",
                &tls("ca.pem"),
            ],
        ),
        &[&format!(
            "--tls-key `{other}` does not belong to --tls-cert"
        )],
    );
    let rsa = tls("client-rsa.pem");
    assert_refused(
        &k8s(
            &pkg,
            &[
                "--tls-cert",
                &tls("k8s-server.pem"),
                "--tls-key",
                &tls("server.key"),
                "--tls-ca",
                &rsa,
            ],
        ),
        &[
            "connection.json's `client_cert`",
            &format!("not issued by --tls-ca `{rsa}`"),
        ],
    );
    // root_cert did not issue the server certificate.
    let pkg = package(
        dir.path(),
        &["--address", "mycc.ccaas:9999", "--tls-root-cert", &rsa],
    );
    assert_refused(
        &k8s(
            &pkg,
            &[
                "--tls-cert",
                &tls("k8s-server.pem"),
                "--tls-key",
                &tls("server.key"),
            ],
        ),
        &[
            "k8s-server.pem` against connection.json: key `root_cert`",
            "issued the server certificate",
        ],
    );
}

#[test]
fn one_deployment_and_service_per_peer() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(dir.path(), &["--address", "{{.peername}}-mycc.ccaas:9999"]);
    assert_refused(
        &k8s(&pkg, &[]),
        &[
            "`{{.peername}}-mycc.ccaas:9999` is a template",
            "--peer NAME",
        ],
    );
    let out = k8s(&pkg, &["--peer", "peer0", "--peer", "peer1", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "Service peer0-mycc",
            "Deployment peer0-mycc",
            "Service peer1-mycc",
            "Deployment peer1-mycc"
        ]
    );
}

#[test]
fn the_secrets_key_goes_to_a_0600_file_and_never_to_a_message() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let args = mutual("mycc.ccaas:9999");
    let pkg = package(
        dir.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let out_file = dir.path().join("kv.yaml");
    let out = k8s(
        &pkg,
        &[
            "--tls-cert",
            &tls("k8s-server.pem"),
            "--tls-key",
            &tls("server.key"),
            "--tls-ca",
            &tls("ca.pem"),
            "-o",
            out_file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("Secret mycc-tls, Service mycc, Deployment mycc"),
        "{}",
        stderr(&out)
    );
    let mode = std::fs::metadata(&out_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A refusal quotes no key material.
    let out = k8s(
        &pkg,
        &[
            "--tls-cert",
            &tls("server.key"),
            "--tls-key",
            &tls("server.key"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    ccaas_testkit::assert_no_key(&stderr(&out));
}

#[test]
fn flags_are_checked_before_the_package_is_read() {
    let out = run(&[
        "k8s",
        "--package",
        "/nonexistent.tgz",
        "--name",
        "My_CC",
        "--image",
        "kv:1",
    ]);
    assert_refused(&out, &["--name is `My_CC`", "lower-case letters"]);
    let out = run(&[
        "k8s",
        "--package",
        "/nonexistent.tgz",
        "--name",
        "kv",
        "--image",
        "kv:1",
        "--kubernetes",
        "1.18",
    ]);
    assert_refused(&out, &["--kubernetes is `1.18`"]);
    let out = run(&[
        "k8s",
        "--package",
        "/nonexistent.tgz",
        "--name",
        "kv",
        "--image",
        "kv:1",
    ]);
    assert_refused(&out, &["/nonexistent.tgz"]);
}
