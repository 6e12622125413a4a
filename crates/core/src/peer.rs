//! How a Fabric peer runs an external builder: the scratch directory it
//! lays out, the filtered environment it passes, and how it runs a command
//! (no stdin, stdout discarded, stderr read line by line).
//!
//! ```no_run
//! use ccaas_core::peer::{self, Scratch};
//!
//! let scratch = Scratch::create(&std::env::temp_dir(), "basic_1.0:abc", br#"{"type":"ccaas","label":"basic_1.0"}"#)?;
//! let env = peer::builder_environment(&[], std::env::vars_os());
//! let run = peer::run_command("/opt/ccaas/bin/detect".as_ref(), &[scratch.src(), scratch.metadata()], &env)?;
//! println!("exit {:?}: {:?}", run.code, run.stderr);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::fs::{self, FsError};
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The variables the peer passes to every builder command, when it has them.
pub const ALWAYS_PASSED: [&str; 4] = ["LD_LIBRARY_PATH", "LIBPATH", "PATH", "TMPDIR"];

/// The peer's per-package scratch directory: `src/`, `metadata/`, `bld/`,
/// `release/`, each 0700. Removed on drop, as the peer removes it.
#[derive(Debug)]
pub struct Scratch {
    root: tempfile::TempDir,
    dirs: [PathBuf; 4],
}

const SUBDIRS: [&str; 4] = ["src", "metadata", "bld", "release"];

/// Replaces the characters the peer replaces in a package ID used as a
/// directory name (`<>:"/\|?*&`) with `-`.
pub fn sanitize_id(id: &str) -> String {
    id.chars()
        .map(|c| if "<>:\"/\\|?*&".contains(c) { '-' } else { c })
        .collect()
}

impl Scratch {
    /// Lays out `<tmpdir>/fabric-<sanitized id><random>/` with its four
    /// subdirectories, and writes `metadata.json` byte for byte (0700).
    pub fn create(tmpdir: &Path, package_id: &str, metadata_json: &[u8]) -> Result<Self, FsError> {
        // As the peer's os.MkdirTemp names it: `fabric-<id><decimal>` (a
        // mixed-case random suffix would read as base64 and be redacted
        // from the paths in messages).
        let prefix = format!("fabric-{}", sanitize_id(package_id));
        let mut attempt = 0u32;
        let root = loop {
            use std::hash::{BuildHasher, Hasher};
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u32(attempt);
            let made = tempfile::Builder::new()
                .prefix(&prefix)
                .suffix(&(hasher.finish() as u32).to_string())
                .rand_bytes(0)
                .tempdir_in(tmpdir);
            match made {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => {
                    attempt += 1;
                }
                other => {
                    break other
                        .map_err(|e| FsError::io("create a scratch directory in", tmpdir, e))?
                }
            }
        };
        fs::set_mode(root.path(), 0o700)?;
        let dirs = SUBDIRS.map(|sub| root.path().join(sub));
        for dir in &dirs {
            fs::create_dir_all(dir, 0o700)?;
        }
        let meta = root.path().join("metadata").join("metadata.json");
        std::fs::write(&meta, metadata_json).map_err(|e| FsError::io("write", &meta, e))?;
        fs::set_mode(&meta, 0o700)?;
        Ok(Scratch { root, dirs })
    }

    /// The scratch directory itself.
    pub fn root(&self) -> &Path {
        self.root.path()
    }
    /// `src/`: code.tar.gz extracted.
    pub fn src(&self) -> &Path {
        &self.dirs[0]
    }
    /// `metadata/`: metadata.json.
    pub fn metadata(&self) -> &Path {
        &self.dirs[1]
    }
    /// `bld/`.
    pub fn bld(&self) -> &Path {
        &self.dirs[2]
    }
    /// `release/`.
    pub fn release(&self) -> &Path {
        &self.dirs[3]
    }

    /// Keeps the directory instead of deleting it on drop.
    pub fn keep(self) -> PathBuf {
        self.root.keep()
    }
}

/// The environment the peer gives a builder command: only `ALWAYS_PASSED`
/// and the `propagate` names, each only if set in `from` (the peer's own
/// environment).
pub fn builder_environment<I>(propagate: &[String], from: I) -> Vec<(OsString, OsString)>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    let wanted = |name: &OsStr| {
        ALWAYS_PASSED.iter().any(|k| OsStr::new(k) == name)
            || propagate.iter().any(|k| OsStr::new(k) == name)
    };
    let mut env: Vec<(OsString, OsString)> = from.into_iter().filter(|(k, _)| wanted(k)).collect();
    env.sort();
    env
}

/// What running one builder command gave.
#[derive(Debug, Clone)]
pub struct CommandRun {
    /// The exit code, or `None` when killed by a signal.
    pub code: Option<i32>,
    /// Standard error, line by line, as the peer logs it.
    pub stderr: Vec<String>,
    /// Wall time.
    pub duration: Duration,
}

impl CommandRun {
    /// Whether the command exited 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `program args...` as the peer does: exactly `env`, no stdin, stdout
/// discarded, stderr captured line by line, no time limit.
pub fn run_command(
    program: &Path,
    args: &[&Path],
    env: &[(OsString, OsString)],
) -> Result<CommandRun, FsError> {
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| FsError::io("run", program, e))?;
    let mut stderr = Vec::new();
    if let Some(pipe) = child.stderr.take() {
        for line in BufReader::new(pipe).split(b'\n') {
            let line = line.map_err(|e| FsError::io("read the standard error of", program, e))?;
            stderr.push(
                String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .to_owned(),
            );
        }
    }
    let status = child
        .wait()
        .map_err(|e| FsError::io("wait for", program, e))?;
    Ok(CommandRun {
        code: status.code(),
        stderr,
        duration: start.elapsed(),
    })
}
