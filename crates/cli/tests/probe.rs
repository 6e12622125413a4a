//! `ccaas probe` (and `simulate --launch`) against this workspace's `kv`
//! chaincode server, run as a process on 127.0.0.1, one test per way the
//! peer's first invoke fails, and the success.
//!
//! The `kv` example is built once per test binary with the same cargo,
//! profile and target directory as this test (`cargo build -p ccaas-shim
//! --example kv`): examples of another package are not built for this
//! crate's tests, and a dev-dependency cannot name an example. Under
//! `cargo test --workspace` the example is already built and this is a
//! no-op.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");
const ID: &str = "kv_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn tls(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/tls")
        .join(name)
}

fn tls_text(name: &str) -> String {
    std::fs::read_to_string(tls(name)).unwrap()
}

/// target/<profile>/examples/kv, built on first use.
fn kv_binary() -> &'static Path {
    static KV: OnceLock<PathBuf> = OnceLock::new();
    KV.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/<test>
        let profile_dir = exe.parent().unwrap().parent().unwrap();
        let target_dir = profile_dir.parent().unwrap();
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_owned(),
            Some(other) => other.to_owned(),
        };
        let mut cargo = Command::new(env!("CARGO"));
        // What cargo set for this test only: left in, it would count as a
        // change of environment (ring's build script reads
        // CARGO_MANIFEST_DIR) and rebuild half the workspace each time.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_BIN_")
                || [
                    "CARGO_MANIFEST_DIR",
                    "CARGO_MANIFEST_PATH",
                    "CARGO_CRATE_NAME",
                    "CARGO_TARGET_TMPDIR",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_RUSTC_CURRENT_DIR",
                ]
                .contains(&name.as_ref())
            {
                cargo.env_remove(name.as_ref());
            }
        }
        let status = cargo
            .args(["build", "--quiet", "-p", "ccaas-shim", "--example", "kv"])
            .arg("--profile")
            .arg(&profile)
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "cargo build --example kv failed");
        profile_dir.join("examples").join("kv")
    })
}

/// The `kv` server with `vars` (and nothing else from our environment),
/// once it says where it listens; killed when dropped.
struct Kv {
    child: Child,
    addr: SocketAddr,
}

impl Kv {
    fn start(id: &str, extra: &[(&str, String)]) -> Kv {
        let mut command = Command::new(kv_binary());
        command
            .env_clear()
            .env("CHAINCODE_ID", id)
            .env("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&lines);
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = lines.lock().unwrap().iter().find_map(|l| {
                l.split("address=")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|a| a.parse().ok())
            });
            if let Some(addr) = found {
                return Kv { child, addr };
            }
            if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                panic!("kv did not start: {:?}", lines.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn plain(id: &str) -> Kv {
        Kv::start(id, &[])
    }

    fn tls(mutual: bool) -> Kv {
        let mut vars = vec![
            ("CHAINCODE_TLS_CERT", s(&tls("server.pem")).to_owned()),
            ("CHAINCODE_TLS_KEY", s(&tls("server.key")).to_owned()),
        ];
        if mutual {
            vars.push(("CHAINCODE_CLIENT_CA_CERT", s(&tls("ca.pem")).to_owned()));
        }
        Kv::start(ID, &vars)
    }
}

impl Drop for Kv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A connection.json in a fresh directory.
struct Conn {
    dir: tempfile::TempDir,
}

impl Conn {
    fn new(json: serde_json::Value) -> Conn {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("connection.json"), json.to_string()).unwrap();
        Conn { dir }
    }

    fn plain(addr: impl ToString) -> Conn {
        Conn::new(serde_json::json!({"address": addr.to_string(), "dial_timeout": "5s"}))
    }

    /// TLS with `root` as root_cert; with client auth when `mutual`.
    fn tls(address: impl ToString, root: &str, mutual: bool) -> Conn {
        let mut json = serde_json::json!({
            "address": address.to_string(),
            "dial_timeout": "5s",
            "tls_required": true,
            "root_cert": tls_text(root),
        });
        if mutual {
            json["client_auth_required"] = true.into();
            json["client_cert"] = tls_text("client.pem").into();
            json["client_key"] = tls_text("client.key").into();
        }
        Conn::new(json)
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("connection.json")
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ccaas(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(CCAAS)
        .args(args)
        .env_remove("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG")
        .env_remove("CCAAS_TLS_DIR")
        .output()
        .unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn probe(conn: &Conn, extra: &[&str]) -> Run {
    let path = conn.path();
    let mut args = vec!["probe", s(&path), "--id", ID];
    args.extend_from_slice(extra);
    ccaas(&args)
}

#[track_caller]
fn expect(run: &Run, code: i32, stdout_has: &[&str]) {
    let ok = run.code == code && stdout_has.iter().all(|s| run.stdout.contains(s));
    assert!(
        ok,
        "\nexpected exit {code}, stdout containing {stdout_has:?}\ngot exit {}\n--- stdout\n{}\n--- stderr\n{}",
        run.code, run.stdout, run.stderr
    );
}

/// The one line that starts with `prefix`.
#[track_caller]
fn line<'a>(run: &'a Run, prefix: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting `{prefix}`:\n{}", run.stdout))
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.stdout))
}

#[test]
fn success_with_invoke_ping_over_mutual_tls() {
    let kv = Kv::tls(true);
    let conn = Conn::tls(kv.addr, "ca.pem", true);
    let run = probe(&conn, &["--invoke", "ping"]);
    expect(
        &run,
        0,
        &[
            "OK: the peer's first invoke would reach the chaincode",
            "client certificate sent",
            "ALPN `h2`",
            &format!("REGISTER `{ID}`: the package ID"),
            "READY empty",
            "COMPLETED status=200 message=\"\" payload=\"pong\"",
            "response  pong",
            "stream ended by the probe",
        ],
    );
    for (step, prefix) in [
        ("address", "address   ok"),
        ("tcp", "tcp       ok"),
        ("tls", "tls       ok"),
        ("grpc", "grpc      ok"),
        ("register", "register  ok"),
        ("ready", "ready     ok"),
        ("invoke", "invoke    ok"),
        ("close", "close     ok"),
    ] {
        assert!(line(&run, prefix).contains(" ms "), "{step}");
    }
}

#[test]
fn success_as_json_with_the_v3_1_ready() {
    let kv = Kv::plain(ID);
    let conn = Conn::plain(kv.addr);
    let run = probe(
        &conn,
        &["--profile", "v3.1", "--invoke", "put k v", "--json"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let v = json(&run);
    assert_eq!(v["ok"], true);
    assert_eq!(v["verdict"], "works");
    assert_eq!(v["release"], "v3.1");
    assert_eq!(v["tls"], "off");
    assert_eq!(v["dial_timeout"], "5s");
    assert_eq!(v["dialled"], kv.addr.to_string());
    let steps: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["address", "tcp", "grpc", "register", "ready", "invoke", "close"]
    );
    assert!(v["steps"][4]["summary"]
        .as_str()
        .unwrap()
        .contains("ChaincodeAdditionalParams"));
    assert_eq!(v["invoke"]["status"], 200);
    assert_eq!(v["invoke"]["payload"], "OK");
}

#[test]
fn server_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // The listener is gone: nothing listens on that port now.
    let conn = Conn::plain(port);
    let run = probe(&conn, &[]);
    expect(&run, 1, &["refused: nothing listens there", "FAIL (tcp)"]);
    assert!(line(&run, "tcp       fail").contains(&port.to_string()));
}

#[test]
fn tls_in_connection_json_only() {
    let kv = Kv::plain(ID);
    let conn = Conn::tls(kv.addr, "ca.pem", false);
    let run = probe(&conn, &[]);
    expect(
        &run,
        1,
        &[
            "tls       fail",
            "FAIL (tls): the peer's first invoke would fail: TLS is on in connection.json and off in the server",
        ],
    );
}

#[test]
fn tls_in_the_server_only() {
    let kv = Kv::tls(false);
    let conn = Conn::plain(kv.addr);
    let run = probe(&conn, &[]);
    expect(
        &run,
        1,
        &[
            "grpc      fail",
            "the server answers a TLS handshake",
            "subject `CN=ccaas test server`",
            "FAIL (grpc): the peer's first invoke would fail: TLS is on in the server and off in connection.json",
        ],
    );
}

#[test]
fn wrong_root_ca() {
    let kv = Kv::tls(false);
    // A certificate that did not issue the server's.
    let conn = Conn::tls(kv.addr, "client.pem", false);
    let run = probe(&conn, &[]);
    expect(
        &run,
        1,
        &[
            "tls       fail",
            "server certificate: subject `CN=ccaas test server`",
            "issuer: `CN=ccaas test CA`",
            "FAIL (tls): the peer's first invoke would fail: the server certificate is not issued by `root_cert`",
        ],
    );
}

#[test]
fn certificate_without_the_dialled_name() {
    let kv = Kv::tls(false);
    let conn = Conn::tls(
        format!("cc.other.example:{}", kv.addr.port()),
        "ca.pem",
        false,
    );
    let run = probe(&conn, &["--connect", &kv.addr.to_string()]);
    expect(
        &run,
        1,
        &[
            &format!("dialling {} (--connect) instead of `cc.other.example:", kv.addr),
            "server name `cc.other.example`: the address host",
            "names (SAN): DNS:localhost, DNS:mycc.example.com, DNS:*.chaincode.example.com, DNS:peer0-basic.example.com, IP:127.0.0.1",
            "FAIL (tls): the peer's first invoke would fail: the server certificate does not name `cc.other.example`",
        ],
    );
}

/// `domain` is read by Fabric v3.0+ with client auth, never by v2.5
/// (`core/container/externalbuilder/instance.go`): one row per release.
#[test]
fn domain_is_the_server_name_from_v3_0_only() {
    let kv = Kv::tls(true);
    let mut json = serde_json::json!({
        "address": format!("cc.other.example:{}", kv.addr.port()),
        "tls_required": true,
        "client_auth_required": true,
        "root_cert": tls_text("ca.pem"),
        "client_cert": tls_text("client.pem"),
        "client_key": tls_text("client.key"),
        "domain": "mycc.example.com",
    });
    json["dial_timeout"] = "5s".into();
    let conn = Conn::new(json);
    let connect = kv.addr.to_string();
    let v2_5 = probe(&conn, &["--connect", &connect, "--profile", "v2.5"]);
    expect(
        &v2_5,
        1,
        &[
            "Fabric v2.5 ignores `domain`",
            "the server certificate does not name `cc.other.example`",
        ],
    );
    for release in ["v3.0", "v3.1"] {
        let run = probe(&conn, &["--connect", &connect, "--profile", release]);
        expect(
            &run,
            0,
            &[
                "certificate verified for `mycc.example.com`",
                "a Fabric v2.5 peer checks `cc.other.example` instead, and would fail",
                "OK: the peer's first invoke would reach the chaincode (see the warnings above",
            ],
        );
        assert!(line(&run, "tls       warn").contains("mycc.example.com"));
    }
}

#[test]
fn missing_client_certificate() {
    let kv = Kv::tls(true);
    let conn = Conn::tls(kv.addr, "ca.pem", false);
    let run = probe(&conn, &[]);
    expect(
        &run,
        1,
        &[
            "tls       warn",
            "the server asked for a client certificate",
            "the peer's first invoke would fail: the server requires a client certificate: set `client_auth_required` with `client_cert` and `client_key`",
        ],
    );
}

#[test]
fn wrong_package_id() {
    let other = "kv_1.0:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    let kv = Kv::plain(other);
    let conn = Conn::plain(kv.addr);
    let run = probe(&conn, &[]);
    expect(
        &run,
        1,
        &[
            &format!("the server registers as `{other}`"),
            &format!("the package ID is    `{ID}`"),
            &format!("peer will not accept external chaincode connection {other}"),
            &format!("start the server with CHAINCODE_ID={ID}"),
            "FAIL (register)",
            "timeout expired while starting chaincode",
            "300 s",
        ],
    );
}

#[test]
fn a_label_for_a_package_id_is_named() {
    let kv = Kv::plain(ID);
    let conn = Conn::plain(kv.addr);
    let run = ccaas(&["probe", s(&conn.path()), "--id", "kv_1.0:abcd"]);
    expect(
        &run,
        1,
        &[
            "FAIL (register)",
            &format!("registers as `{ID}`, not as the package ID `kv_1.0:abcd`"),
        ],
    );
}

/// A TLS server that completes the handshake without ALPN, then holds
/// the connection (what a hand-built acceptor does when ALPN is forgotten).
fn serve_tls_without_alpn() -> SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(tls("server.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(tls("server.key")).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(ccaas_peersim::dial::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            // Bounded: this test makes one connection.
            for _ in 0..4 {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                        drop(stream);
                    }
                });
            }
        });
    });
    addr
}

#[test]
fn no_alpn() {
    let addr = serve_tls_without_alpn();
    let conn = Conn::tls(addr, "ca.pem", false);
    let run = probe(&conn, &[]);
    expect(
        &run,
        1,
        &[
            "tls       fail",
            "handshake done, but the server negotiated no ALPN `h2`",
            "Fabric v2.5.12+ and v3.1+",
            "FAIL (tls): the peer's first invoke would fail: the server does not negotiate ALPN `h2`",
        ],
    );
}

#[test]
fn usage_errors_exit_2() {
    let conn = Conn::plain("127.0.0.1:9");
    let no_id = ccaas(&["probe", s(&conn.path())]);
    assert_eq!(no_id.code, 2, "{}", no_id.stderr);
    assert!(
        no_id
            .stderr
            .contains("give the package ID the peer launches with --id"),
        "{}",
        no_id.stderr
    );

    let named = Conn::plain("cc.example.com:9999");
    let unresolved = probe(&named, &[]);
    assert_eq!(unresolved.code, 2, "{}", unresolved.stderr);
    assert!(
        unresolved
            .stderr
            .contains("resolves names only with --resolve"),
        "{}",
        unresolved.stderr
    );

    let bad = probe(&conn, &["--profile", "v2.4"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

/// A package made by `ccaas package`, probed by its own ID, and installed
/// then launched by `simulate --launch`.
#[test]
fn a_package_probes_with_its_own_id_and_simulate_launches_it() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("kv.tgz");
    let kv_addr_holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = kv_addr_holder.local_addr().unwrap().port();
    drop(kv_addr_holder);
    let address = format!("127.0.0.1:{port}");
    let made = ccaas(&[
        "package",
        "--label",
        "kv_1.0",
        "--address",
        &address,
        "-o",
        s(&pkg),
    ]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let id = made.stdout.trim().to_owned();
    let mut kv = Kv::start(&id, &[]);
    // kv chose its own port: probe through --connect, which is what a
    // port-forward looks like.
    let connect = kv.addr.to_string();
    let run = ccaas(&["probe", s(&pkg), "--connect", &connect, "--invoke", "ping"]);
    expect(
        &run,
        0,
        &[&format!("probe     {id} at {address}"), "payload=\"pong\""],
    );

    let sim = ccaas(&[
        "simulate",
        s(&pkg),
        "--launch",
        "--connect",
        &connect,
        "--json",
    ]);
    assert_eq!(sim.code, 0, "{}{}", sim.stdout, sim.stderr);
    let v = json(&sim);
    assert_eq!(v["verdict"], "launches");
    assert_eq!(v["probe"]["verdict"], "works");
    assert_eq!(v["probe"]["package_id"], id.as_str());
    assert_eq!(v["ok"], true);

    // With the server gone, the install still succeeds and the launch fails.
    let _ = kv.child.kill();
    let _ = kv.child.wait();
    let sim = ccaas(&["simulate", s(&pkg), "--launch", "--connect", &connect]);
    expect(&sim, 1, &["OK: installed", "tcp       fail", "FAIL (tcp)"]);
}

#[test]
fn a_connection_json_on_standard_input() {
    use std::io::Write;
    let kv = Kv::plain(ID);
    let mut child = Command::new(CCAAS)
        .args(["probe", "-", "--id", ID, "--invoke", "ping"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let json = serde_json::json!({"address": kv.addr.to_string()}).to_string();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    expect(
        &run,
        0,
        &[
            &format!("at {}, TLS off", kv.addr),
            "dial timeout 3s",
            "response  pong",
        ],
    );
}

#[test]
fn with_json_an_unreadable_file_is_a_json_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.tgz");
    let run = ccaas(&["probe", s(&missing), "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v = json(&run);
    assert_eq!(v["ok"], false);
    assert!(
        v["errors"][0].as_str().unwrap().contains("missing.tgz"),
        "{v}"
    );
}
