//! `ccaas image` as a user runs it, and its images read by the real tools:
//! skopeo (OCI layout, oci-archive, docker-archive), `podman load`,
//! containerd's `ctr images import`, and pushes to Debian's
//! `docker-registry` over TLS, with basic auth and through the bearer-token
//! flow (a token server of the test's own), pulled back byte for byte.
//! `docker load` is not tested: there is no Docker engine here.
//!
//! These tests need Debian's `skopeo`, `podman`, `containerd` and
//! `docker-registry`, and `apache2-utils` (htpasswd); a missing tool fails
//! the test with the package to install.
#![allow(clippy::unwrap_used)]

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");

/// A static x86-64 Linux executable that prints `hello from scratch` and
/// exits 0: the smallest chaincode "server" an image can hold.
fn hello_elf() -> Vec<u8> {
    let msg = b"hello from scratch\n";
    let mut code = vec![0xb8, 1, 0, 0, 0, 0xbf, 1, 0, 0, 0, 0x48, 0x8d, 0x35];
    code.extend_from_slice(&16i32.to_le_bytes());
    code.push(0xba);
    code.extend_from_slice(&(msg.len() as u32).to_le_bytes());
    code.extend_from_slice(&[0x0f, 0x05, 0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05]);
    code.extend_from_slice(msg);
    let base: u64 = 0x40_0000;
    let total = (64 + 56 + code.len()) as u64;
    let mut elf = Vec::new();
    elf.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
    elf.extend_from_slice(&[0; 8]);
    for (v, n) in [
        (2u64, 2),
        (62, 2),
        (1, 4),
        (base + 120, 8),
        (64, 8),
        (0, 8),
        (0, 4),
    ] {
        elf.extend_from_slice(&v.to_le_bytes()[..n]);
    }
    for v in [64u16, 56, 1, 0, 0, 0] {
        elf.extend_from_slice(&v.to_le_bytes());
    }
    elf.extend_from_slice(&1u32.to_le_bytes());
    elf.extend_from_slice(&5u32.to_le_bytes());
    for v in [0, base, base, total, total, 0x1000] {
        elf.extend_from_slice(&v.to_le_bytes());
    }
    elf.extend_from_slice(&code);
    elf
}

fn write_exe(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A command with no proxy settings: everything here is on 127.0.0.1.
fn command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    for var in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.env_remove("SOURCE_DATE_EPOCH");
    cmd
}

fn ccaas(args: &[&str]) -> Output {
    command(CCAAS).args(args).output().unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The path of `tool`, or a failure naming the Debian package to install.
#[track_caller]
fn need(tool: &str, package: &str) -> PathBuf {
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        let path = Path::new(dir).join(tool);
        if path.is_file() {
            return path;
        }
    }
    panic!("`{tool}` is not installed: this test needs it; install Debian's package with `apt-get install -y {package}`");
}

fn run_tool(tool: &Path, args: &[&str]) -> Output {
    command(tool.to_str().unwrap()).args(args).output().unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{e}: {}", text(bytes)))
}

/// A directory with the hello binary as `kv` and an added file.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_exe(&dir.path().join("kv"), &hello_elf());
        std::fs::write(dir.path().join("app.conf"), b"level=info\n").unwrap();
        Fixture { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
    /// `ccaas image kv --tag kv:1.0 --add app.conf:/etc/kv/app.conf` plus `extra`.
    fn image(&self, extra: &[&str]) -> Output {
        let (kv, add) = (
            self.p("kv"),
            format!("{}:/etc/kv/app.conf", self.p("app.conf")),
        );
        let mut args = vec!["image", &kv, "--tag", "kv:1.0", "--add", &add];
        args.extend_from_slice(extra);
        ccaas(&args)
    }
}

#[test]
fn the_same_binary_and_flags_give_the_same_digest_and_bytes() {
    let (a, b) = (Fixture::new(), Fixture::new());
    let out_a = ok(&a.image(&["-o", &a.p("kv.tar")]));
    std::thread::sleep(Duration::from_millis(1100));
    let out_b = ok(&b.image(&["-o", &b.p("kv.tar")]));
    assert_eq!(out_a, out_b);
    assert!(out_a.starts_with("kv@sha256:"), "{out_a}");
    assert_eq!(
        std::fs::read(a.path("kv.tar")).unwrap(),
        std::fs::read(b.path("kv.tar")).unwrap()
    );

    // SOURCE_DATE_EPOCH is the creation time: another time, another digest.
    let kv = a.p("kv");
    let later = command(CCAAS)
        .args(["image", &kv, "--tag", "kv:1.0", "--add"])
        .arg(format!("{}:/etc/kv/app.conf", a.p("app.conf")))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert_ne!(ok(&later), out_a);
}

#[test]
fn json_says_what_the_image_holds() {
    let f = Fixture::new();
    let out = json(ok(&f.image(&["--json", "--image-version", "1.0"])).as_bytes());
    assert_eq!(out["ok"], true);
    assert_eq!(out["user"], "65532:65532");
    assert_eq!(out["architecture"], "amd64");
    assert_eq!(out["entrypoint"], serde_json::json!(["/usr/local/bin/kv"]));
    assert_eq!(out["ports"], serde_json::json!(["9443/tcp", "9999/tcp"]));
    assert_eq!(
        out["annotations"]["org.opencontainers.image.version"],
        "1.0"
    );
    assert_eq!(
        out["annotations"]["org.opencontainers.image.created"],
        "1970-01-01T00:00:00Z"
    );
    let digest = out["digest"].as_str().unwrap();
    assert_eq!(out["reference"], format!("kv@{digest}"));
}

#[test]
fn the_package_label_and_id_become_labels() {
    let f = Fixture::new();
    let pkg = f.p("kv.tgz");
    ok(&ccaas(&[
        "package",
        "--label",
        "kv_1.0",
        "--address",
        "kv.chaincode:9999",
        "-o",
        &pkg,
    ]));
    let id = ok(&ccaas(&["id", &pkg])).trim().to_owned();
    let out = json(ok(&f.image(&["--json", "--package", &pkg])).as_bytes());
    assert_eq!(
        out["annotations"]["org.hyperledger.fabric.chaincode.label"],
        "kv_1.0"
    );
    assert_eq!(
        out["annotations"]["org.hyperledger.fabric.chaincode.package-id"],
        id
    );

    let bad = f.p("app.conf");
    let out = f.image(&["--package", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("--package") && err.contains("app.conf"),
        "{err}"
    );
}

#[test]
fn a_dynamic_binary_is_refused_with_the_static_build_line() {
    // /bin/true: a real dynamically linked Debian executable.
    let out = ccaas(&["image", "/bin/true", "--tag", "t:1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for needle in [
        "ccaas: error: `/bin/true` is dynamically linked",
        "program interpreter is `/lib",
        "RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target",
        "--base LAYER.tar",
    ] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn a_script_and_a_missing_file_are_refused_naming_the_file() {
    let f = Fixture::new();
    std::fs::write(f.path("run.sh"), "#!/bin/sh\n").unwrap();
    let out = ccaas(&["image", &f.p("run.sh"), "--tag", "t:1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("run.sh") && err.contains("a script"), "{err}");

    let out = f.image(&["--add", "/nonexistent/x:/etc/x"]);
    let err = text(&out.stderr);
    assert!(
        err.contains("--add") && err.contains("/nonexistent/x"),
        "{err}"
    );

    let out = f.image(&["--add", "relative:etc/x"]);
    let err = text(&out.stderr);
    assert!(
        err.contains("--add relative:etc/x") && err.contains("absolute"),
        "{err}"
    );

    let out = ccaas(&["image", &f.p("kv"), "-o", &f.p("x.tar")]);
    assert!(
        text(&out.stderr).contains("--output needs --tag"),
        "{}",
        text(&out.stderr)
    );
    assert!(!f.path("x.tar").exists());
}

#[test]
fn a_dynamic_binary_on_a_base_layer_is_built_with_a_note() {
    let f = Fixture::new();
    // A base layer holding the dynamic binary's interpreter.
    let interp = "lib64/ld-linux-x86-64.so.2";
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(2);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append_data(&mut header, interp, &b"ld"[..]).unwrap();
    std::fs::write(f.path("base.tar"), tar.into_inner().unwrap()).unwrap();
    let out = ccaas(&[
        "image",
        "/bin/true",
        "--tag",
        "t:1",
        "--base",
        &f.p("base.tar"),
        "--json",
    ]);
    let doc = json(ok(&out).as_bytes());
    assert_eq!(doc["layers"].as_array().unwrap().len(), 2);
    assert!(
        text(&out.stderr).contains("ccaas: note: `/bin/true` is dynamically linked"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn skopeo_reads_the_layout_and_both_archive_forms() {
    let skopeo = need("skopeo", "skopeo");
    let f = Fixture::new();
    let digest = json(
        ok(&f.image(&["--json", "-o", &f.p("kv.tar"), "--layout", &f.p("kv-oci")])).as_bytes(),
    )["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    // The layout: the raw manifest skopeo reads is ours, digest and all.
    let raw = run_tool(
        &skopeo,
        &["inspect", "--raw", &format!("oci:{}:1.0", f.p("kv-oci"))],
    );
    assert_eq!(
        format!("sha256:{}", sha256_hex(ok(&raw).as_bytes())),
        digest
    );
    for source in [
        format!("oci:{}:1.0", f.p("kv-oci")),
        format!("oci-archive:{}", f.p("kv.tar")),
        format!("docker-archive:{}", f.p("kv.tar")),
    ] {
        let config = json(ok(&run_tool(&skopeo, &["inspect", "--config", &source])).as_bytes());
        assert_eq!(config["config"]["User"], "65532:65532", "{source}");
        assert_eq!(
            config["config"]["Entrypoint"],
            serde_json::json!(["/usr/local/bin/kv"]),
            "{source}"
        );
        assert_eq!(config["architecture"], "amd64", "{source}");
        let copy = f.path("copy");
        let _ = std::fs::remove_dir_all(&copy);
        ok(&run_tool(
            &skopeo,
            &[
                "copy",
                "--quiet",
                &source,
                &format!("oci:{}:1.0", copy.display()),
            ],
        ));
    }
}

#[test]
fn podman_loads_the_archive_under_its_name_with_its_config() {
    let podman = need("podman", "podman");
    let f = Fixture::new();
    ok(&f.image(&["-o", &f.p("kv.tar"), "--env", "GREETING=hi"]));
    let store = tempfile::tempdir().unwrap();
    let (root, runroot) = (store.path().join("root"), store.path().join("run"));
    let podman_in = |args: &[&str]| {
        let mut all = vec![
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            runroot.to_str().unwrap(),
            "--storage-driver",
            "vfs",
            "--events-backend",
            "none",
            "--cgroup-manager",
            "cgroupfs",
        ];
        all.extend_from_slice(args);
        run_tool(&podman, &all)
    };
    let loaded = ok(&podman_in(&["load", "-i", &f.p("kv.tar")]));
    assert!(loaded.contains("kv:1.0"), "{loaded}");
    let inspect = json(ok(&podman_in(&["image", "inspect", "kv:1.0"])).as_bytes());
    let config = &inspect[0]["Config"];
    assert_eq!(config["User"], "65532:65532");
    assert!(
        config["Env"]
            .as_array()
            .unwrap()
            .contains(&"GREETING=hi".into()),
        "{config}"
    );
    assert!(config["ExposedPorts"].get("9999/tcp").is_some(), "{config}");
    // Not run: this machine gives root no CAP_SYS_RESOURCE, so crun and
    // runc fail at setrlimit before the entrypoint starts.
    let _ = podman_in(&["rmi", "-af"]);
}

/// A containerd of our own: private config, root, state and socket.
struct Containerd {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Containerd {
    fn start() -> Self {
        let containerd = need("containerd", "containerd");
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("containerd.sock");
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{sock}\"\n[ttrpc]\n  address = \"{sock}.ttrpc\"\n[debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n",
                root = dir.path().join("root").display(),
                state = dir.path().join("state").display(),
                sock = socket.display(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("containerd.log")).unwrap();
        let child = command(containerd.to_str().unwrap())
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "containerd did not open {}: {}",
                socket.display(),
                std::fs::read_to_string(dir.path().join("containerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Containerd {
            child,
            socket,
            _dir: dir,
        }
    }

    fn ctr(&self, args: &[&str]) -> Output {
        let ctr = need("ctr", "containerd");
        let mut all = vec![
            "--address",
            self.socket.to_str().unwrap(),
            "--namespace",
            "ccaas-test",
        ];
        all.extend_from_slice(args);
        run_tool(&ctr, &all)
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ctr_imports_the_archive_under_its_name_and_digest() {
    let f = Fixture::new();
    let digest = json(ok(&f.image(&["--json", "-o", &f.p("kv.tar")])).as_bytes())["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let containerd = Containerd::start();
    ok(&containerd.ctr(&["images", "import", &f.p("kv.tar")]));
    let list = ok(&containerd.ctr(&["images", "ls"]));
    let line = list
        .lines()
        .find(|l| l.starts_with("docker.io/library/kv:1.0 "))
        .unwrap_or_else(|| panic!("no docker.io/library/kv:1.0 in\n{list}"));
    assert!(line.contains(&digest), "{line}");
    assert!(line.contains("linux/amd64"), "{line}");
}

/// Debian's docker-registry on 127.0.0.1, TLS from fixtures/tls, storage in
/// a temporary directory, and an `auth:` section: basic or token.
struct Registry {
    child: Child,
    address: String,
    dir: tempfile::TempDir,
}

const USER: &str = "ci";
const PASSWORD: &str = "s3cret-pa55word";

impl Registry {
    /// Basic auth from an htpasswd file holding [`USER`].
    fn with_basic_auth() -> Self {
        let htpasswd = need("htpasswd", "apache2-utils");
        let dir = tempfile::tempdir().unwrap();
        let users = run_tool(&htpasswd, &["-Bbn", USER, PASSWORD]);
        let path = dir.path().join("htpasswd");
        std::fs::write(&path, ok(&users)).unwrap();
        let auth = format!(
            "  htpasswd:\n    realm: ccaas-test\n    path: {}\n",
            path.display()
        );
        Registry::start(dir, &auth)
    }

    /// The bearer-token flow: clients are sent to `tokens` for a token,
    /// which the registry trusts when its `x5c` chain ends at
    /// fixtures/tls/ca.pem and its `iss` and `aud` are ours.
    fn with_token_auth(tokens: &TokenServer) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let auth = format!(
            "  token:\n    realm: https://{realm}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {roots}\n",
            realm = tokens.address,
            roots = ccaas_testkit::repo_root()
                .join("fixtures/tls/ca.pem")
                .display(),
        );
        Registry::start(dir, &auth)
    }

    fn start(dir: tempfile::TempDir, auth: &str) -> Self {
        let registry = need("docker-registry", "docker-registry");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let tls = ccaas_testkit::repo_root().join("fixtures/tls");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {storage}\nhttp:\n  addr: {address}\n  tls:\n    certificate: {cert}\n    key: {key}\nauth:\n{auth}",
                storage = dir.path().join("storage").display(),
                cert = tls.join("server.pem").display(),
                key = tls.join("server.key").display(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = command(registry.to_str().unwrap())
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "docker-registry did not listen on {address}: {}",
                std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Registry {
            child,
            address,
            dir,
        }
    }

    /// What the registry logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap()
    }

    /// Pulls `pinned` back with another client (skopeo, logging in as
    /// [`USER`]) into `into`, and asserts that every blob, the manifest
    /// included, is byte for byte what the layout `built` holds.
    #[track_caller]
    fn assert_pulled_back_byte_for_byte(&self, pinned: &str, built: &Path, into: &Path) {
        let skopeo = need("skopeo", "skopeo");
        let certs = self.dir.path().join("certs");
        if !certs.exists() {
            std::fs::create_dir(&certs).unwrap();
            std::fs::copy(
                ccaas_testkit::repo_root().join("fixtures/tls/ca.pem"),
                certs.join("ca.crt"),
            )
            .unwrap();
        }
        ok(&run_tool(
            &skopeo,
            &[
                "copy",
                "--quiet",
                "--src-cert-dir",
                certs.to_str().unwrap(),
                "--src-creds",
                &format!("{USER}:{PASSWORD}"),
                &format!("docker://{pinned}"),
                &format!("oci:{}:1.0", into.display()),
            ],
        ));
        let blobs = |dir: &Path| -> Vec<(String, Vec<u8>)> {
            let mut all: Vec<_> = std::fs::read_dir(dir.join("blobs/sha256"))
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect();
            all.sort();
            all
        };
        let (ours, theirs) = (blobs(built), blobs(into));
        assert_eq!(ours.len(), 3, "a layer, the config, the manifest");
        assert!(
            ours == theirs,
            "the blobs of {pinned} pulled back differ from the pushed ones"
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ccaas image kv --add app.conf:... --layout LAYOUT --push TARGET
/// --registry-ca fixtures/tls/ca.pem` plus `extra`, with `env` set.
fn push_image(
    f: &Fixture,
    target: &str,
    layout: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let ca = ccaas_testkit::repo_root().join("fixtures/tls/ca.pem");
    let add = format!("{}:/etc/kv/app.conf", f.p("app.conf"));
    command(CCAAS)
        .args(["image", &f.p("kv"), "--add", &add])
        .args(["--layout", &f.p(layout), "--push", target])
        .args(["--registry-ca", ca.to_str().unwrap()])
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// The digest of the single manifest of the layout `dir`.
fn layout_digest(dir: &Path) -> String {
    let index = json(&std::fs::read(dir.join("index.json")).unwrap());
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}

/// What a push the registry refused printed: it exited 1, named the
/// registry, and printed no `secret`.
fn refused_output(out: &Output, registry: &str, secret: &str) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains(registry), "{all}");
    assert!(!all.contains(secret), "{all}");
    all
}

/// The reference a push printed: `repository` (`REGISTRY/NAME`) at the
/// digest of the layout `dir`; no `secret` printed.
fn pinned_reference(out: &Output, repository: &str, dir: &Path, secret: &str) -> String {
    let pinned = ok(out).trim().to_owned();
    let all = format!("{pinned}{}", text(&out.stderr));
    assert!(!all.contains(secret), "{all}");
    assert_eq!(pinned, format!("{repository}@{}", layout_digest(dir)));
    pinned
}

#[test]
fn a_push_over_tls_with_basic_auth_is_pulled_back_byte_for_byte() {
    let registry = Registry::with_basic_auth();
    let f = Fixture::new();
    let target = format!("{}/team/kv:1.0", registry.address);
    let push = |password: &str| {
        push_image(
            &f,
            &target,
            "local-oci",
            &["--registry-user", USER],
            &[("CCAAS_REGISTRY_PASSWORD", password)],
        )
    };

    // A wrong password is refused, and no password is ever printed.
    let all = refused_output(&push("wrong-password"), &registry.address, "wrong-password");
    assert!(
        all.contains(&format!("was refused for user `{USER}`")),
        "{all}"
    );

    let pinned = pinned_reference(
        &push(PASSWORD),
        &format!("{}/team/kv", registry.address),
        &f.path("local-oci"),
        PASSWORD,
    );

    // Pulled back by another client (skopeo), by digest: every blob, the
    // manifest included, byte for byte what was built.
    registry.assert_pulled_back_byte_for_byte(&pinned, &f.path("local-oci"), &f.path("pulled"));

    // Without the CA, the registry's certificate is not trusted.
    let untrusted = command(CCAAS)
        .args([
            "image",
            &f.p("kv"),
            "--push",
            &target,
            "--registry-user",
            USER,
        ])
        .env("CCAAS_REGISTRY_PASSWORD", PASSWORD)
        .env("SSL_CERT_FILE", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(untrusted.status.code(), Some(1));
}

/// The registry's name for itself in the token flow (`service`, `aud`).
const SERVICE: &str = "ccaas-test-registry";
/// The token server's name (`iss`), which the registry trusts.
const ISSUER: &str = "ccaas-test-token-server";

/// One request the token server answered.
#[derive(Debug, Clone)]
struct TokenRequest {
    /// The user of the request's HTTP basic credentials, if any.
    user: Option<String>,
    /// Whether the credentials were [`USER`] and [`PASSWORD`].
    authenticated: bool,
    /// The `service` parameter.
    service: Option<String>,
    /// The `scope` parameters, percent-decoded.
    scopes: Vec<String>,
}

/// Mints registry tokens as docker-registry 2.8 verifies them
/// (`registry/auth/token/token.go`): a JWT signed ES256 (the signature is
/// `r || s`, 64 bytes), whose header's `x5c` holds the signing key's
/// certificate (fixtures/tls/server.pem, issued by fixtures/tls/ca.pem, the
/// registry's `rootcertbundle`), with `iss`, `aud` (one string), `exp`,
/// `nbf`, `iat`, `jti` and `access`.
struct Signer {
    key: ring::signature::EcdsaKeyPair,
    x5c: String,
}

impl Signer {
    fn new() -> Self {
        use base64::Engine as _;
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
        let tls = ccaas_testkit::repo_root().join("fixtures/tls");
        let key = PrivatePkcs8KeyDer::from_pem_file(tls.join("server.key")).unwrap();
        let key = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            key.secret_pkcs8_der(),
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        let cert = CertificateDer::from_pem_file(tls.join("server.pem")).unwrap();
        let x5c = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        Signer { key, x5c }
    }

    /// A token for `subject` granting `access`: `(repository, actions)`.
    fn mint(&self, subject: &str, access: &[(&str, Vec<&str>)]) -> String {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [self.x5c]});
        let access: Vec<_> = access
            .iter()
            .map(|(name, actions)| {
                serde_json::json!({"type": "repository", "name": name, "actions": actions})
            })
            .collect();
        let claims = serde_json::json!({
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("ccaas-test-{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
            "access": access,
        });
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&ring::rand::SystemRandom::new(), signed.as_bytes())
            .unwrap();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

/// A token server (the registry's `realm`) on 127.0.0.1 over TLS from
/// fixtures/tls, as registries' own token services work: HTTP basic
/// credentials in, `{"token", "access_token", "expires_in"}` out. Only
/// [`USER`] with [`PASSWORD`] gets a token (anything else is `401`); it
/// is granted the `pull` and `push` it asks for on `team/...`
/// repositories. Every request is recorded.
struct TokenServer {
    address: String,
    signer: std::sync::Arc<Signer>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<TokenRequest>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl TokenServer {
    fn start() -> Self {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use std::sync::Arc;
        let tls = ccaas_testkit::repo_root().join("fixtures/tls");
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(tls.join("server.pem"))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_file(tls.join("server.key")).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = TokenServer {
            address,
            signer: Arc::new(Signer::new()),
            requests: Arc::default(),
            stop: Arc::default(),
        };
        let (signer, requests, stop) = (
            server.signer.clone(),
            server.requests.clone(),
            server.stop.clone(),
        );
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(tcp) = tcp else { continue };
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                    continue;
                };
                let mut stream = rustls::StreamOwned::new(conn, tcp);
                if let Some(request) = answer(&mut stream, &signer) {
                    requests.lock().unwrap().push(request);
                }
                stream.conn.send_close_notify();
                let _ = std::io::Write::flush(&mut stream);
            }
        });
        server
    }

    fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so that it sees `stop`.
        let _ = std::net::TcpStream::connect(&self.address);
    }
}

/// Reads one `GET /token?...` and answers it; `None` if it was not one.
fn answer(
    stream: &mut (impl std::io::Read + std::io::Write),
    signer: &Signer,
) -> Option<TokenRequest> {
    use base64::Engine as _;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok().filter(|&n| n > 0)?;
        head.extend_from_slice(&buf[..n]);
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, target) = (request_line.next()?, request_line.next()?);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut credentials = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("authorization") {
                credentials = value
                    .trim()
                    .strip_prefix("Basic ")
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                    .map(|b| String::from_utf8_lossy(&b).into_owned());
            }
        }
    }
    if method != "GET" || path != "/token" {
        respond(stream, "404 Not Found", r#"{"details":"not found"}"#);
        return None;
    }
    let (user, password) = match credentials.as_deref().and_then(|c| c.split_once(':')) {
        Some((user, password)) => (Some(user.to_owned()), password.to_owned()),
        None => (None, String::new()),
    };
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect();
    let request = TokenRequest {
        authenticated: user.as_deref() == Some(USER) && password == PASSWORD,
        user,
        service: params
            .iter()
            .find(|(k, _)| k == "service")
            .map(|(_, v)| v.clone()),
        scopes: params
            .iter()
            .filter(|(k, _)| k == "scope")
            .flat_map(|(_, v)| v.split(' ').map(str::to_owned))
            .collect(),
    };
    if !request.authenticated {
        respond(
            stream,
            "401 Unauthorized",
            r#"{"details":"incorrect username or password"}"#,
        );
        return Some(request);
    }
    // `repository:NAME:ACTIONS`; NAME may hold a `:` (a registry port).
    let mut granted = Vec::new();
    for scope in &request.scopes {
        let Some(("repository", rest)) = scope.split_once(':') else {
            continue;
        };
        let Some((name, actions)) = rest.rsplit_once(':') else {
            continue;
        };
        if name.starts_with("team/") {
            let actions: Vec<&str> = actions
                .split(',')
                .filter(|a| ["pull", "push"].contains(a))
                .collect();
            granted.push((name, actions));
        }
    }
    let token = signer.mint(USER, &granted);
    let body = serde_json::json!({"token": token, "access_token": token, "expires_in": 300});
    respond(stream, "200 OK", &body.to_string());
    Some(request)
}

fn respond(stream: &mut impl std::io::Write, status: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// `%XX` and `+` decoded, as in a query string.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_push_through_the_bearer_token_flow_is_pulled_back_byte_for_byte() {
    let tokens = TokenServer::start();
    let registry = Registry::with_token_auth(&tokens);
    let f = Fixture::new();
    let target = format!("{}/team/kv:1.0", registry.address);
    let with_password = |password: &str| {
        push_image(
            &f,
            &target,
            "local-oci",
            &["--registry-user", USER],
            &[("CCAAS_REGISTRY_PASSWORD", password)],
        )
    };

    // A wrong password: the token server answers 401, the push fails
    // naming the registry and the token server's reason, and the password
    // is not printed.
    let all = refused_output(
        &with_password("wrong-password"),
        &registry.address,
        "wrong-password",
    );
    for needle in [
        &format!(
            "`{}`: logging in was refused for user `{USER}`",
            registry.address
        ),
        "CCAAS_REGISTRY_PASSWORD",
        "incorrect username or password",
    ] {
        assert!(all.contains(needle), "{needle:?} not in {all}");
    }
    let asked = tokens.requests();
    assert!(
        !asked.is_empty() && asked.iter().all(|r| !r.authenticated),
        "{asked:?}"
    );
    assert_eq!(asked[0].user.as_deref(), Some(USER), "{asked:?}");

    // The right one: challenge, token (asked with the basic credentials,
    // for pull and push on the repository), push.
    let pinned = pinned_reference(
        &with_password(PASSWORD),
        &format!("{}/team/kv", registry.address),
        &f.path("local-oci"),
        PASSWORD,
    );
    let asked: Vec<TokenRequest> = tokens.requests().split_off(asked.len());
    let push_scope = "repository:team/kv:pull,push".to_owned();
    assert!(
        asked.iter().any(|r| r.authenticated
            && r.user.as_deref() == Some(USER)
            && r.service.as_deref() == Some(SERVICE)
            && r.scopes == [push_scope.clone()]),
        "no token asked for `{push_scope}` as {USER} for {SERVICE}: {asked:?}"
    );

    // Pulled back by skopeo, which gets its token from the same server.
    let seen = tokens.requests().len();
    registry.assert_pulled_back_byte_for_byte(&pinned, &f.path("local-oci"), &f.path("pulled"));
    assert!(tokens.requests().len() > seen, "skopeo asked for no token");

    // A token obtained elsewhere, in CCAAS_REGISTRY_TOKEN, without a user:
    // sent as it is (the token server is not asked), and the push succeeds.
    let seen = tokens.requests().len();
    let token = tokens
        .signer
        .mint(USER, &[("team/kv2", vec!["pull", "push"])]);
    let target2 = format!("{}/team/kv2:1.0", registry.address);
    let out = push_image(
        &f,
        &target2,
        "local-oci-2",
        &[],
        &[("CCAAS_REGISTRY_TOKEN", &token)],
    );
    let pinned2 = pinned_reference(
        &out,
        &format!("{}/team/kv2", registry.address),
        &f.path("local-oci-2"),
        &token,
    );
    assert_eq!(tokens.requests().len(), seen, "{:?}", tokens.requests());
    registry.assert_pulled_back_byte_for_byte(
        &pinned2,
        &f.path("local-oci-2"),
        &f.path("pulled-2"),
    );

    // The registry checks each token: one that grants only pull cannot
    // push, nor can one whose signature is not the signer's; the same
    // token, rightly signed, can.
    let pushes = tokens
        .signer
        .mint(USER, &[("team/kv3", vec!["pull", "push"])]);
    let pull_only = tokens.signer.mint(USER, &[("team/kv3", vec!["pull"])]);
    let forged = {
        let (signed, _) = pushes.rsplit_once('.').unwrap();
        let (_, other) = pull_only.rsplit_once('.').unwrap();
        format!("{signed}.{other}")
    };
    let target3 = format!("{}/team/kv3:1.0", registry.address);
    let with_token = |token: &str| {
        push_image(
            &f,
            &target3,
            "local-oci-3",
            &[],
            &[("CCAAS_REGISTRY_TOKEN", token)],
        )
    };
    for (bad, reason) in [
        (&pull_only, "insufficient scope"),
        (&forged, "invalid token"),
    ] {
        let logged = registry.log().len();
        let out = with_token(bad);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("`{}`: ", registry.address))
                && err.contains("was refused for the bearer token")
                && err.contains("`repository:team/kv3:pull,push`"),
            "{err}"
        );
        assert!(!err.contains(bad.as_str()), "{err}");
        let log = registry.log().split_off(logged);
        assert!(
            log.contains(reason),
            "the registry logged no `{reason}`:\n{log}"
        );
    }
    ok(&with_token(&pushes));
}

#[test]
fn plain_http_is_refused_for_a_registry_that_is_not_on_loopback() {
    let f = Fixture::new();
    let out = f.image(&["--push", "registry.example.com/kv:1.0", "--plain-http"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("--plain-http") && err.contains("registry.example.com"),
        "{err}"
    );

    let out = f.image(&["--push", "kv:1.0"]);
    assert!(
        text(&out.stderr).contains("names no registry"),
        "{}",
        text(&out.stderr)
    );

    let out = f.image(&["--push", "127.0.0.1:1/kv:1.0", "--registry-user", "ci"]);
    let err = text(&out.stderr);
    assert!(err.contains("CCAAS_REGISTRY_PASSWORD"), "{err}");
}

/// The `KEY=VALUE` pairs of the Containerfile's instruction `name` (with
/// `\` continuations joined), one string per instruction.
fn instructions(containerfile: &str, name: &str) -> Vec<String> {
    let joined = containerfile.replace("\\\n", " ");
    joined
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.strip_prefix(&format!("{name} ")))
        .map(|rest| rest.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

// docs/Containerfile cannot be built here (no engine, no pulls): it is held
// to what `ccaas image` writes, and its build line to bin-scripts/install's.
#[test]
fn the_containerfile_matches_what_ccaas_image_writes() {
    let root = ccaas_testkit::repo_root();
    let file = std::fs::read_to_string(root.join("docs/Containerfile")).unwrap();
    let install = std::fs::read_to_string(root.join("bin-scripts/install")).unwrap();

    // Multi-stage: a build stage, then a static base (scratch or distroless).
    let froms = instructions(&file, "FROM");
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].ends_with(" AS build"), "{froms:?}");
    assert!(
        froms[1] == "scratch" || froms[1].starts_with("gcr.io/distroless/static"),
        "{froms:?}"
    );

    // The static build: the flag bin-scripts/install passes, with --target
    // (so build scripts and proc-macros stay dynamic) and --locked.
    let flag = "-C target-feature=+crt-static";
    assert!(
        install.contains(flag) && install.contains("--target"),
        "bin-scripts/install changed"
    );
    let runs = instructions(&file, "RUN");
    let build = runs
        .iter()
        .find(|r| r.contains("cargo build"))
        .unwrap_or_else(|| panic!("no cargo build in {runs:?}"));
    for needle in [
        &format!("RUSTFLAGS='{flag}'"),
        "--release",
        "--locked",
        "--target",
    ] {
        assert!(build.contains(needle), "{needle} not in {build}");
    }

    // What the final stage says is what `ccaas image --name chaincode` writes.
    let f = Fixture::new();
    let built = json(
        ok(&ccaas(&[
            "image",
            &f.p("kv"),
            "--name",
            "chaincode",
            "--json",
        ]))
        .as_bytes(),
    );
    assert_eq!(
        instructions(&file, "USER"),
        [built["user"].as_str().unwrap()]
    );
    let env = instructions(&file, "ENV").join(" ");
    for pair in built["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
    {
        if pair.starts_with("CHAINCODE_") {
            assert!(env.split(' ').any(|p| p == pair), "{pair} not in ENV {env}");
        }
    }
    let ports: Vec<&str> = built["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(instructions(&file, "EXPOSE"), [ports.join(" ")]);
    let entrypoint = built["entrypoint"].to_string();
    assert_eq!(instructions(&file, "ENTRYPOINT"), [entrypoint]);
    let copy = instructions(&file, "COPY");
    let binary = built["entrypoint"][0].as_str().unwrap();
    assert!(
        copy.iter()
            .any(|c| c.starts_with("--from=build ") && c.ends_with(binary)),
        "{copy:?}"
    );
}
