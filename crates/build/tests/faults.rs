//! Faults (issue 6, section 3) for `bin/build` and `bin/release`, run as the
//! peer runs them: disk full (`ulimit -f`, with SIGXFSZ ignored and with its
//! default action), a read-only BLD or RELEASE, SRC vanishing mid-build, and
//! SIGKILL at random points, 200 times each. Afterwards the output is either
//! complete or absent, a re-run succeeds with the canonical result, and no
//! fault produces a panic; each fault the binary survives gets one clear
//! `build: error:` (or `release: error:`) line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use ccaas_core::peer::CommandRun;
use ccaas_testkit::{fixture, json_string, mtls_connection, peer_env, run, tree, PeerDirs};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BUILD: &str = env!("CARGO_BIN_EXE_ccaas-build");
const INDEX: &str =
    r#"{"index":{"fields":["owner"]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}"#;

/// `release`, built beside `ccaas-build` by `cargo test --workspace`.
fn release_bin() -> String {
    let path = Path::new(BUILD).with_file_name("release");
    assert!(
        path.is_file(),
        "`{}` does not exist: run `cargo test --workspace` (release is another package's binary)",
        path.display()
    );
    path.display().to_string()
}

/// A package source with mutual TLS inline, TLS files, and indexes in both
/// metadata folders: enough files that a kill can land between them.
fn full_source(dirs: &PeerDirs) {
    dirs.write_src("connection.json", &mtls_connection("127.0.0.1:9999"));
    for i in 0..8 {
        dirs.write_src(
            &format!("META-INF/statedb/couchdb/indexes/index{i}.json"),
            INDEX,
        );
    }
    dirs.write_src(
        "META-INF/statedb/couchdb/collections/private_1/indexes/size.json",
        INDEX,
    );
    dirs.write_src("tls/ca.pem", &fixture("tls/ca.pem"));
    dirs.write_src("tls/client.pem", &fixture("tls/client.pem"));
    dirs.write_src("tls/client.key", &fixture("tls/client.key"));
}

/// Every file under `root` with its contents and mode, and every directory.
fn snapshot(root: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    tree(root)
        .into_iter()
        .map(|rel| {
            let path = root.join(rel.trim_end_matches('/'));
            let mode = std::fs::symlink_metadata(&path)
                .unwrap()
                .permissions()
                .mode()
                & 0o7777;
            let bytes = if rel.ends_with('/') {
                Vec::new()
            } else {
                std::fs::read(&path).unwrap()
            };
            (rel, (bytes, mode))
        })
        .collect()
}

fn clear(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
}

fn build(dirs: &PeerDirs) -> CommandRun {
    run(
        BUILD,
        &[dirs.src(), dirs.metadata(), dirs.bld()],
        &peer_env(&[]),
    )
}

fn release(dirs: &PeerDirs) -> CommandRun {
    run(
        &release_bin(),
        &[dirs.bld(), dirs.release()],
        &peer_env(&[]),
    )
}

/// No panic text; exit 1 with exactly one `<step>: error:` line naming
/// `needle` (`None`: killed by a signal, which leaves no room for a line).
#[track_caller]
fn assert_clear_failure(step: &str, out: &CommandRun, needle: &str) {
    let all = out.stderr.join("\n");
    assert!(
        !all.contains("panicked") && !all.contains("RUST_BACKTRACE"),
        "{step} panicked:\n{all}"
    );
    let errors: Vec<&String> = out
        .stderr
        .iter()
        .filter(|l| l.starts_with(&format!("{step}: error: ")))
        .collect();
    assert!(
        out.code == Some(1) && errors.len() == 1 && errors[0].contains(needle),
        "{step}: expected exit 1 and one `{step}: error:` line naming `{needle}`; got exit {:?}:\n{all}",
        out.code
    );
}

/// The step's output is complete (equal to `reference`) or has no
/// connection.json at all; nothing but our staging leftovers besides.
#[track_caller]
fn assert_all_or_nothing(
    what: &str,
    out_dir: &Path,
    connection: &str,
    reference: &BTreeMap<String, (Vec<u8>, u32)>,
) {
    let now = snapshot(out_dir);
    if out_dir.join(connection).exists() {
        let complete: BTreeMap<_, _> = now
            .iter()
            .filter(|(k, _)| !k.starts_with(".ccaas-"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert!(
            &complete == reference,
            "{what}: `{connection}` exists but the output is not complete:\n got {:?}\n want {:?}",
            complete.keys().collect::<Vec<_>>(),
            reference.keys().collect::<Vec<_>>()
        );
    }
}

/// `sh -c 'ulimit -f BLOCKS; [trap "" XFSZ;] exec "$0" "$@"' BIN ARGS...`.
fn limited(bin: &str, args: &[&Path], blocks: u32, ignore_xfsz: bool) -> CommandRun {
    let trap = if ignore_xfsz { "trap '' XFSZ; " } else { "" };
    let script = format!(r#"ulimit -f {blocks}; {trap}exec "$0" "$@""#);
    let mut all: Vec<&Path> = vec![Path::new("-c"), Path::new(&script), Path::new(bin)];
    all.extend_from_slice(args);
    run("/bin/sh", &all, &peer_env(&[]))
}

/// A connection.json of about 300 KB: mutual TLS with a root_cert of many
/// certificates, so writing it exceeds a small file-size limit.
fn big_connection() -> String {
    let ca = fixture("tls/ca.pem").repeat(200);
    format!(
        r#"{{"address": "127.0.0.1:9999", "tls_required": true, "client_auth_required": true, "root_cert": {}, "client_cert": {}, "client_key": {}}}"#,
        json_string(&ca),
        json_string(&fixture("tls/client.pem")),
        json_string(&fixture("tls/client.key")),
    )
}

// ------------------------------------------------------------- disk full

#[test]
fn build_disk_full_with_sigxfsz_ignored_is_a_clear_error() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", &big_connection());
    // Placed before connection.json fails: removed again with it.
    dirs.write_src("META-INF/statedb/couchdb/indexes/owner.json", INDEX);
    let out = limited(BUILD, &[dirs.src(), dirs.metadata(), dirs.bld()], 64, true);
    assert_clear_failure("build", &out, "connection.json");
    assert!(!dirs.bld().join("connection.json").exists());
    assert_eq!(
        tree(dirs.bld()),
        Vec::<String>::new(),
        "a failed step left files behind"
    );
    let again = build(&dirs);
    assert_eq!(again.code, Some(0), "{:?}", again.stderr);
}

#[test]
fn build_disk_full_with_sigxfsz_default_leaves_no_connection() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", &big_connection());
    let out = limited(BUILD, &[dirs.src(), dirs.metadata(), dirs.bld()], 64, false);
    // Killed by SIGXFSZ: no exit code, and no chance to say anything.
    assert_eq!(out.code, None, "{:?}", out.stderr);
    assert!(!out.stderr.join("\n").contains("panicked"));
    assert!(!dirs.bld().join("connection.json").exists());
    // The re-run cleans the staging directory the killed run left.
    let again = build(&dirs);
    assert_eq!(again.code, Some(0), "{:?}", again.stderr);
    assert!(tree(dirs.bld()).iter().all(|p| !p.starts_with(".ccaas-")));
}

#[test]
fn release_disk_full_is_a_clear_error_or_a_clean_kill() {
    for ignore in [true, false] {
        let dirs = PeerDirs::ccaas();
        // Hand-written, not in built form: release must write its own copy
        // (a BLD of our build would be hard-linked, writing no data).
        dirs.write_bld("connection.json", &big_connection());
        dirs.write_bld("META-INF/statedb/couchdb/indexes/owner.json", INDEX);
        let out = limited(&release_bin(), &[dirs.bld(), dirs.release()], 64, ignore);
        if ignore {
            assert_clear_failure("release", &out, "connection.json");
            assert_eq!(
                tree(dirs.release()),
                Vec::<String>::new(),
                "a failed step left files behind"
            );
        } else {
            assert_eq!(out.code, None, "{:?}", out.stderr);
        }
        assert!(!dirs
            .release()
            .join("chaincode/server/connection.json")
            .exists());
        let again = release(&dirs);
        assert_eq!(again.code, Some(0), "{:?}", again.stderr);
    }
}

// -------------------------------------------------------------- read-only

/// A directory nothing can be written in, even by root: `chattr +i` on a
/// fresh directory (removed again on drop), else `/sys/kernel`.
struct ReadOnlyDir {
    path: PathBuf,
    _owner: Option<tempfile::TempDir>,
}

impl ReadOnlyDir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro");
        std::fs::create_dir(&path).unwrap();
        let immutable = Command::new("chattr")
            .arg("+i")
            .arg(&path)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if immutable && std::fs::write(path.join("probe"), b"").is_err() {
            return ReadOnlyDir {
                path,
                _owner: Some(dir),
            };
        }
        let sys = PathBuf::from("/sys/kernel");
        assert!(
            std::fs::create_dir(sys.join(".ccaas-probe")).is_err(),
            "no read-only directory available (chattr +i failed and /sys/kernel is writable)"
        );
        ReadOnlyDir {
            path: sys,
            _owner: None,
        }
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        if self._owner.is_some() {
            let _ = Command::new("chattr").arg("-i").arg(&self.path).status();
        }
    }
}

#[test]
fn read_only_bld_is_a_clear_error() {
    let dirs = PeerDirs::ccaas();
    full_source(&dirs);
    let bld = ReadOnlyDir::new();
    let out = run(
        BUILD,
        &[dirs.src(), dirs.metadata(), &bld.path],
        &peer_env(&[]),
    );
    assert_clear_failure("build", &out, &bld.path.display().to_string());
}

#[test]
fn read_only_release_is_a_clear_error() {
    let dirs = PeerDirs::ccaas();
    full_source(&dirs);
    assert_eq!(build(&dirs).code, Some(0));
    let rel = ReadOnlyDir::new();
    let out = run(&release_bin(), &[dirs.bld(), &rel.path], &peer_env(&[]));
    assert_clear_failure("release", &out, &rel.path.display().to_string());
}

// ---------------------------------------------------- SRC vanishes mid-build

/// SRC removed while build reads it (best effort: at several delays, with
/// a source of 2,000 index files so the build takes a while).
#[test]
fn src_vanishing_mid_build_fails_clearly_or_completes() {
    let mut outcomes = BTreeMap::new();
    for delay_us in [
        0u64, 1_000, 5_000, 20_000, 50_000, 100_000, 200_000, 400_000,
    ] {
        let dirs = PeerDirs::ccaas();
        full_source(&dirs);
        for i in 0..2_000 {
            dirs.write_src(
                &format!("META-INF/statedb/couchdb/indexes/extra{i:04}.json"),
                INDEX,
            );
        }
        let src = dirs.src().to_owned();
        let remover = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_micros(delay_us));
            std::fs::remove_dir_all(&src).unwrap();
        });
        let out = build(&dirs);
        remover.join().unwrap();
        let all = out.stderr.join("\n");
        assert!(!all.contains("panicked"), "{delay_us}µs: panicked:\n{all}");
        match out.code {
            Some(0) => {
                assert!(dirs.bld().join("connection.json").is_file());
                *outcomes.entry("completed").or_insert(0) += 1;
            }
            _ => {
                let errors = out
                    .stderr
                    .iter()
                    .filter(|l| l.starts_with("build: error: "))
                    .count();
                assert!(
                    out.code == Some(1) && errors >= 1,
                    "{delay_us}µs: expected exit 1 and `build: error:` lines, got {:?}:\n{all}",
                    out.code
                );
                assert!(
                    !dirs.bld().join("connection.json").exists(),
                    "{delay_us}µs: failed build left connection.json"
                );
                eprintln!("{delay_us}µs: {}", out.stderr.join(" | "));
                *outcomes.entry("failed").or_insert(0) += 1;
            }
        }
    }
    eprintln!("SRC vanishing: {outcomes:?}");
}

// --------------------------------------------------------------- SIGKILL

/// A small xorshift generator: the seed is printed so a failure repeats.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let seed = std::env::var("FAULTS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1
            });
        eprintln!("FAULTS_SEED={seed}");
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Spawns `bin args`, lets it run `after`, then SIGKILLs it.
fn spawn_and_kill(bin: &str, args: &[&Path], after: Duration) -> bool {
    let mut child = Command::new(bin)
        .args(args)
        .env_clear()
        .envs(peer_env(&[]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while start.elapsed() < after {
        std::hint::spin_loop();
    }
    let killed = matches!(child.try_wait(), Ok(None));
    let _ = child.kill();
    let _ = child.wait();
    killed
}

/// How long a run takes here, so kills spread over all of it.
fn typical(step: impl Fn() -> CommandRun) -> Duration {
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let out = step();
            assert_eq!(out.code, Some(0), "{:?}", out.stderr);
            out.duration
        })
        .collect();
    times.sort();
    times[2]
}

#[test]
fn build_killed_at_random_points_leaves_all_or_nothing() {
    let dirs = PeerDirs::ccaas();
    full_source(&dirs);
    let span = typical(|| build(&dirs));
    let reference = snapshot(dirs.bld());
    assert!(reference.contains_key("connection.json"));
    let mut rng = Rng::seeded();
    let mut killed_mid_run = 0;
    for i in 0..200 {
        // Half the kills hit a build over an empty BLD, half over a
        // complete previous one.
        if i % 2 == 0 {
            clear(dirs.bld());
        }
        let after = Duration::from_micros(rng.below(span.as_micros() as u64 * 6 / 5));
        if spawn_and_kill(BUILD, &[dirs.src(), dirs.metadata(), dirs.bld()], after) {
            killed_mid_run += 1;
        }
        let what = format!("kill {i} after {after:?}");
        assert_all_or_nothing(&what, dirs.bld(), "connection.json", &reference);
        let again = build(&dirs);
        assert_eq!(again.code, Some(0), "{what}: re-run: {:?}", again.stderr);
        assert!(!again.stderr.join("\n").contains("panicked"));
        assert_eq!(snapshot(dirs.bld()), reference, "{what}: re-run differs");
    }
    eprintln!("build: {killed_mid_run} of 200 kills landed mid-run (a run takes {span:?})");
    assert!(killed_mid_run >= 20, "too few kills landed mid-run");
}

#[test]
fn release_killed_at_random_points_leaves_all_or_nothing() {
    let dirs = PeerDirs::ccaas();
    full_source(&dirs);
    assert_eq!(build(&dirs).code, Some(0));
    let release_bin = release_bin();
    let span = typical(|| release(&dirs));
    let reference = snapshot(dirs.release());
    assert!(reference.contains_key("chaincode/server/connection.json"));
    let mut rng = Rng::seeded();
    let mut killed_mid_run = 0;
    for i in 0..200 {
        if i % 2 == 0 {
            clear(dirs.release());
        }
        let after = Duration::from_micros(rng.below(span.as_micros() as u64 * 6 / 5));
        if spawn_and_kill(&release_bin, &[dirs.bld(), dirs.release()], after) {
            killed_mid_run += 1;
        }
        let what = format!("kill {i} after {after:?}");
        assert_all_or_nothing(
            &what,
            dirs.release(),
            "chaincode/server/connection.json",
            &reference,
        );
        let again = release(&dirs);
        assert_eq!(again.code, Some(0), "{what}: re-run: {:?}", again.stderr);
        assert_eq!(
            snapshot(dirs.release()),
            reference,
            "{what}: re-run differs"
        );
    }
    eprintln!("release: {killed_mid_run} of 200 kills landed mid-run (a run takes {span:?})");
    assert!(killed_mid_run >= 20, "too few kills landed mid-run");
}
