//! Test support for the builder binaries: peer-identical scratch
//! directories (made by `ccaas_core::peer`, the same code `ccaas simulate`
//! uses), runs under the peer's filtered environment, and golden
//! comparisons that show expected and actual output side by side.
#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

use ccaas_core::peer::{self, CommandRun, Scratch};
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The target directory this test was built in (`CARGO_TARGET_DIR`, or
/// the workspace's `target/`), from the test executable's own path
/// (`<target>/<profile>/deps/<test>`): where a test may put build output,
/// never the source tree's `target/` when CARGO_TARGET_DIR points elsewhere.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo_root().join("target"))
}

/// A file of `fixtures/`, as text.
pub fn fixture(relative: &str) -> String {
    let path = repo_root().join("fixtures").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A peer scratch dir inside its own TMPDIR.
pub struct PeerDirs {
    pub tmp: tempfile::TempDir,
    pub scratch: Scratch,
}

impl PeerDirs {
    /// Lays out the scratch dir with `metadata_json` byte for byte.
    pub fn new(metadata_json: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let scratch =
            Scratch::create(tmp.path(), "test_1.0:0123abcd", metadata_json.as_bytes()).unwrap();
        PeerDirs { tmp, scratch }
    }

    /// A ccaas-typed package.
    pub fn ccaas() -> Self {
        Self::new(r#"{"path":"","type":"ccaas","label":"test_1.0"}"#)
    }

    /// An external-typed package (the Fabric v2.0 documentation's).
    pub fn external() -> Self {
        Self::new(r#"{"path":"","type":"external","label":"test_1.0"}"#)
    }

    pub fn src(&self) -> &Path {
        self.scratch.src()
    }
    pub fn metadata(&self) -> &Path {
        self.scratch.metadata()
    }
    pub fn bld(&self) -> &Path {
        self.scratch.bld()
    }
    pub fn release(&self) -> &Path {
        self.scratch.release()
    }

    /// Writes a file under `src/` as the peer's untar would (dirs 0700).
    pub fn write_src(&self, relative: &str, contents: &str) {
        write_file(self.src(), relative, contents);
    }

    /// Writes a file under `bld/`.
    pub fn write_bld(&self, relative: &str, contents: &str) {
        write_file(self.bld(), relative, contents);
    }
}

fn write_file(root: &Path, relative: &str, contents: &str) {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// The environment the peer would pass from this process's environment,
/// plus `extra` as if propagated.
pub fn peer_env(extra: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    let mut env = peer::builder_environment(&[], std::env::vars_os());
    env.extend(
        extra
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    env
}

/// Runs `bin` with `args` and exactly `env`, as the peer does.
pub fn run(bin: &str, args: &[&Path], env: &[(OsString, OsString)]) -> CommandRun {
    peer::run_command(Path::new(bin), args, env).unwrap()
}

/// Asserts exit code and the exact stderr lines, showing both side by side.
pub fn assert_run(run: &CommandRun, code: i32, stderr: &[&str]) {
    let same = run.code == Some(code)
        && run.stderr.len() == stderr.len()
        && run.stderr.iter().zip(stderr).all(|(a, b)| a == b);
    if !same {
        panic!(
            "\nexpected exit {code}, stderr:\n{}\n\ngot exit {:?}, stderr:\n{}\n",
            stderr
                .iter()
                .map(|l| format!("  | {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
            run.code,
            run.stderr
                .iter()
                .map(|l| format!("  | {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
}

/// Asserts the exit code and that some stderr line contains each needle.
pub fn assert_stderr_has(run: &CommandRun, code: i32, needles: &[&str]) {
    let all = run.stderr.join("\n");
    let ok = run.code == Some(code) && needles.iter().all(|n| all.contains(n));
    assert!(
        ok,
        "\nexpected exit {code} with lines containing {needles:?}\ngot exit {:?}:\n{all}\n",
        run.code
    );
}

/// The permission bits of `path` (not following a symlink).
pub fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Whether `a` and `b` are one file (hard links to the same inode).
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let id = |p: &Path| {
        let m = std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        (m.dev(), m.ino())
    };
    id(a) == id(b)
}

/// Every path under `root`, relative, sorted (for "nothing else written").
pub fn tree(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let is_dir = std::fs::symlink_metadata(&path).unwrap().is_dir();
            out.push(if is_dir {
                format!("{rel}/")
            } else {
                rel.clone()
            });
            if is_dir {
                walk(&path, &rel, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, "", &mut out);
    out
}

/// A JSON connection with mutual TLS from the test fixtures.
pub fn mtls_connection(address: &str) -> String {
    format!(
        r#"{{"address": {}, "dial_timeout": "10s", "tls_required": true, "client_auth_required": true, "root_cert": {}, "client_cert": {}, "client_key": {}}}"#,
        json_string(address),
        json_string(&fixture("tls/ca.pem")),
        json_string(&fixture("tls/client.pem")),
        json_string(&fixture("tls/client.key")),
    )
}

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Asserts that no private-key marker and no piece of a fixture key's body
/// (any 12 characters of any of its lines) appears in `text`.
pub fn assert_no_key(text: &str) {
    assert!(
        !text.contains("PRIVATE KEY-----"),
        "key marker leaked:\n{text}"
    );
    // Pieces that certificates share (algorithm identifiers) are public.
    let public: String = ["ca.pem", "client.pem", "client-rsa.pem", "server.pem"]
        .iter()
        .map(|n| fixture(&format!("tls/{n}")).replace('\n', ""))
        .collect();
    for name in ["client.key", "other.key", "client-rsa.key", "ca.key"] {
        let key = fixture(&format!("tls/{name}"));
        for line in key.lines().filter(|l| !l.starts_with("-----")) {
            let chars: Vec<char> = line.chars().collect();
            for piece in chars.chunks(12).filter(|c| c.len() == 12) {
                let piece: String = piece.iter().collect();
                if public.contains(&piece) {
                    continue;
                }
                assert!(
                    !text.contains(&piece),
                    "material of `{name}` leaked (`{piece}`):\n{text}"
                );
            }
        }
    }
}

/// The shapes a private key really arrives in, broken or not, by name: the
/// fixture client key with newlines turned to spaces, on one line, with
/// four dashes, truncated, as bare base64, without its BEGIN line, glued
/// after a certificate, with escaped newlines, lower-cased markers.
pub fn key_shapes() -> Vec<(&'static str, String)> {
    let key = fixture("tls/client.key");
    let cert = fixture("tls/client.pem");
    let lines: Vec<&str> = key.lines().collect();
    let body: String = lines[1..lines.len() - 1].concat();
    vec![
        ("intact", key.clone()),
        ("spaces for newlines", key.replace('\n', " ")),
        ("one line", key.replace('\n', "")),
        (
            "four dashes",
            key.replace("-----BEGIN", "----BEGIN")
                .replace("KEY-----", "KEY----"),
        ),
        ("truncated", lines[..2].join("\n")),
        ("bare base64", body.clone()),
        ("bare base64 lines", lines[1..lines.len() - 1].join("\n")),
        ("no BEGIN line", lines[1..].join("\n")),
        ("glued to a certificate", format!("{cert}{key}")),
        ("escaped newlines", key.replace('\n', "\\n")),
        (
            "lower-case markers",
            key.replace("PRIVATE KEY", "private key"),
        ),
    ]
}

/// Asserts that the builder step `program` answers `--version` alone with
/// `STEP (ccaas-builder VERSION)` on stdout, nothing on stderr, exit 0;
/// and that any other single argument (`--versio`) is a usage error, exit 2.
pub fn assert_answers_version_alone(program: &str, step: &str) {
    let out = std::process::Command::new(program)
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{step} (ccaas-builder {})\n", env!("CARGO_PKG_VERSION"))
    );
    assert!(out.stderr.is_empty());
    let out = std::process::Command::new(program)
        .arg("--versio")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(test)]
mod tests {
    use super::*;

    // Build output of tests goes where cargo put this test: with
    // CARGO_TARGET_DIR set, there, never into the source tree's target/.
    #[test]
    fn target_dir_is_where_this_test_was_built() {
        let dir = target_dir();
        assert!(std::env::current_exe().unwrap().starts_with(&dir));
        if let Some(set) = std::env::var_os("CARGO_TARGET_DIR") {
            let set = std::fs::canonicalize(set).unwrap();
            assert_eq!(std::fs::canonicalize(&dir).unwrap(), set);
        }
    }
}
