//! A peer's install, step by step (contract section 2), without a peer:
//! parse the package with the peer's rules, lay out the scratch dir, run
//! each builder's `detect` in order under the peer's filtered environment,
//! then `build` and `release`, copy the durable output, and read the
//! released connection.json as the peer will at the first invoke.
//!
//! ```no_run
//! use ccaas_core::simulate::{self, Builder, SimulateOptions};
//!
//! let builder = Builder::from_dir("ccaas", "/opt/ccaas-builder".as_ref(), vec![])?;
//! let options = SimulateOptions::new(vec![builder], std::env::vars_os().collect());
//! let sim = simulate::simulate("basic.tgz".as_ref(), &options)?;
//! println!("{:?}", sim.verdict);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::archive::{self, Limits};
use crate::connection::{self, ConnectionWarning, LoadOptions, TlsMode};
use crate::duration::GoDuration;
use crate::fs::{self, FsError};
use crate::package::{self, PackageError, PackageInfo};
use crate::peer::{self, CommandRun, Scratch};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

crate::report::debug_as_chain!(SimulateError);

/// Why a simulation could not run (as opposed to a package failing it).
#[derive(thiserror::Error)]
pub enum SimulateError {
    /// A builder directory lacks `bin/detect` or `bin/build`.
    #[error("builder `{dir}` has no `bin/{missing}` (a builder directory holds bin/detect, bin/build and optionally bin/release)")]
    IncompleteBuilder {
        /// The directory.
        dir: PathBuf,
        /// The missing program.
        missing: &'static str,
    },
    /// File-system trouble.
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// One external builder, as a `core.yaml` entry names it.
#[derive(Debug, Clone)]
pub struct Builder {
    /// `name`.
    pub name: String,
    /// `bin/detect`.
    pub detect: PathBuf,
    /// `bin/build`.
    pub build: PathBuf,
    /// `bin/release`, when present.
    pub release: Option<PathBuf>,
    /// `propagateEnvironment`.
    pub propagate: Vec<String>,
    /// Run this library's own detect, build and release in this process
    /// (under the same filtered environment) instead of the programs: for
    /// a tool installed without the builder binaries (see
    /// [`Builder::in_process`]).
    pub in_process: bool,
}

/// The environment names our builder reads, to propagate.
pub const OUR_ENVIRONMENT: [&str; 3] = [
    "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
    "CCAAS_TLS_DIR",
    "CCAAS_DETECT_TYPES",
];

impl Builder {
    /// This library's own builder, its steps run in this process with the
    /// environment the peer would give the programs: what `bin/detect`,
    /// `bin/build` and `bin/release` of this workspace do, without them.
    pub fn in_process(name: &str) -> Self {
        Builder {
            name: name.to_owned(),
            detect: PathBuf::from("detect"),
            build: PathBuf::from("build"),
            release: Some(PathBuf::from("release")),
            propagate: OUR_ENVIRONMENT.map(str::to_owned).to_vec(),
            in_process: true,
        }
    }

    /// A builder directory holding `bin/detect`, `bin/build` and optionally
    /// `bin/release`.
    pub fn from_dir(name: &str, dir: &Path, propagate: Vec<String>) -> Result<Self, SimulateError> {
        let bin = dir.join("bin");
        let require = |missing: &'static str| {
            let path = bin.join(missing);
            if path.is_file() {
                Ok(path)
            } else {
                Err(SimulateError::IncompleteBuilder {
                    dir: dir.to_owned(),
                    missing,
                })
            }
        };
        Ok(Builder {
            name: name.to_owned(),
            detect: require("detect")?,
            build: require("build")?,
            release: Some(bin.join("release")).filter(|p| p.is_file()),
            propagate,
            in_process: false,
        })
    }
}

/// How to simulate.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// The builders, in `core.yaml` order.
    pub builders: Vec<Builder>,
    /// The peer's own environment, filtered per builder as the peer does.
    pub peer_env: Vec<(OsString, OsString)>,
    /// Limits for reading the package.
    pub limits: Limits,
    /// The chaincode server's certificate (PEM), checked at the launch as
    /// `validate --server-cert` checks it (feature `tls-checks`).
    pub server_cert: Option<String>,
    /// Whether the peer reads `domain` (with client auth) as the TLS
    /// server name: Fabric v3.0+; false plays Fabric v2.5.
    pub honours_domain: bool,
}

impl SimulateOptions {
    /// Options with default limits.
    pub fn new(builders: Vec<Builder>, peer_env: Vec<(OsString, OsString)>) -> Self {
        SimulateOptions {
            builders,
            peer_env,
            limits: Limits::default(),
            server_cert: None,
            honours_domain: false,
        }
    }
}

/// One builder command the simulated peer ran.
#[derive(Debug, Clone)]
pub struct StepRun {
    /// The builder's name.
    pub builder: String,
    /// `detect`, `build` or `release`.
    pub step: &'static str,
    /// What happened.
    pub run: CommandRun,
}

/// What the peer would dial at the first invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// `host:port`.
    pub address: String,
    /// The dial timeout it would use.
    pub dial_timeout: GoDuration,
    /// The TLS mode.
    pub tls: TlsMode,
    /// The TLS server name override, when used.
    pub domain: Option<String>,
}

/// How the simulated install ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The peer rejects the package before any builder runs.
    Rejected(String),
    /// No builder's detect exited 0 ("no builder detected").
    NoBuilder,
    /// build exited non-zero: the install fails.
    BuildFailed,
    /// release exited non-zero: the install fails.
    ReleaseFailed,
    /// The install succeeds but the first invoke would fail.
    LaunchFails(String),
    /// Installed, and the peer would dial the chaincode server.
    Launches(Launch),
}

impl Verdict {
    /// Whether the peer would end up able to dial the chaincode.
    pub fn is_success(&self) -> bool {
        matches!(self, Verdict::Launches(_))
    }

    /// The stable name used in `--json` output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Rejected(_) => "rejected",
            Verdict::NoBuilder => "no-builder",
            Verdict::BuildFailed => "build-failed",
            Verdict::ReleaseFailed => "release-failed",
            Verdict::LaunchFails(_) => "launch-fails",
            Verdict::Launches(_) => "launches",
        }
    }
}

/// A simulated install.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The package, when the peer could read it.
    pub package: Option<PackageInfo>,
    /// Each command run, in order.
    pub steps: Vec<StepRun>,
    /// The builder whose detect claimed the package.
    pub builder: Option<String>,
    /// How it ended.
    pub verdict: Verdict,
    /// The files the peer would keep (`release/` and `bld/`), relative.
    pub durable_files: Vec<String>,
}

impl Simulation {
    /// Runs one of `builder`'s steps as the peer does, records it, and says
    /// whether it exited 0.
    fn run_step(
        &mut self,
        builder: &Builder,
        step: &'static str,
        program: &Path,
        args: &[&Path],
        env: &[(std::ffi::OsString, std::ffi::OsString)],
    ) -> Result<bool, FsError> {
        let run = if builder.in_process {
            run_in_process(step, args, env)
        } else {
            peer::run_command(program, args, env)?
        };
        let ok = run.success();
        self.steps.push(StepRun {
            builder: builder.name.clone(),
            step,
            run,
        });
        Ok(ok)
    }

    /// The stable `--json` shape (documented in docs/cli.md).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let (launch, reason) = match &self.verdict {
            Verdict::Launches(l) => (
                Some(json!({
                    "address": l.address,
                    "dial_timeout": l.dial_timeout.to_string(),
                    "tls": l.tls.to_string(),
                    "domain": l.domain,
                })),
                None,
            ),
            Verdict::Rejected(r) | Verdict::LaunchFails(r) => (None, Some(r.clone())),
            _ => (None, None),
        };
        json!({
            "package_id": self.package.as_ref().map(|p| p.id.to_string()),
            "label": self.package.as_ref().map(|p| p.metadata.label.as_str().to_owned()),
            "type": self.package.as_ref().map(|p| crate::report::shorten(&p.metadata.chaincode_type)),
            "steps": self.steps.iter().map(|s| json!({
                "builder": s.builder,
                "step": s.step,
                "exit_code": s.run.code,
                "duration_ms": s.run.duration.as_secs_f64() * 1000.0,
                "stderr": s.run.stderr,
            })).collect::<Vec<_>>(),
            "builder": self.builder,
            "durable_files": self.durable_files,
            "verdict": self.verdict.as_str(),
            "reason": reason,
            "launch": launch,
            "ok": self.verdict.is_success(),
        })
    }
}

/// One of this library's steps, as the builder binary would run it with
/// exactly `env` (the step's arguments as the peer passes them).
fn run_in_process(
    step: &str,
    args: &[&Path],
    env: &[(std::ffi::OsString, std::ffi::OsString)],
) -> CommandRun {
    let start = std::time::Instant::now();
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let arg = |i: usize| args.get(i).copied().unwrap_or(Path::new(""));
    let (code, stderr) = match step {
        "detect" => {
            let types = var(crate::steps::DETECT_TYPES_ENV);
            crate::steps::detect_step(arg(1), types.as_deref())
        }
        "build" => {
            let settings = crate::steps::BuildSettings::from_env(var);
            let result = crate::steps::build(arg(0), arg(1), arg(2), &settings);
            (
                u8::from(result.is_err()),
                crate::steps::log_lines("build", &result),
            )
        }
        _ => {
            let result = crate::steps::release(arg(0), arg(1));
            (
                u8::from(result.is_err()),
                crate::steps::log_lines("release", &result),
            )
        }
    };
    CommandRun {
        code: Some(i32::from(code)),
        stderr,
        duration: start.elapsed(),
    }
}

/// Simulates `peer lifecycle chaincode install` of the package at `path`.
pub fn simulate(path: &Path, options: &SimulateOptions) -> Result<Simulation, SimulateError> {
    let mut sim = Simulation {
        package: None,
        steps: Vec::new(),
        builder: None,
        verdict: Verdict::NoBuilder,
        durable_files: Vec::new(),
    };
    // A file that cannot be opened is the operator's problem, not the package's.
    drop(fs::open_regular(path)?);
    let info = match read_package(path, &options.limits) {
        Ok(info) => info,
        Err(e) => {
            sim.verdict = Verdict::Rejected(crate::report::chain(&e));
            return Ok(sim);
        }
    };
    let work = tempfile::tempdir()
        .map_err(|e| FsError::io("create a temporary directory in", &std::env::temp_dir(), e))?;
    let scratch = Scratch::create(work.path(), &info.id.to_string(), &info.metadata_bytes)?;
    let file = fs::open_regular(path)?;
    if let Err(e) = package::read(
        std::io::BufReader::new(file),
        &options.limits,
        |entry, contents| archive::extract_entry(scratch.src(), entry, contents),
    ) {
        sim.verdict = Verdict::Rejected(crate::report::chain(&e));
        return Ok(sim);
    }
    sim.package = Some(info.clone());

    let env_for =
        |b: &Builder| peer::builder_environment(&b.propagate, options.peer_env.iter().cloned());
    let mut claimed = None;
    for builder in &options.builders {
        let args = [scratch.src(), scratch.metadata()];
        if sim.run_step(builder, "detect", &builder.detect, &args, &env_for(builder))? {
            claimed = Some(builder);
            break;
        }
    }
    let Some(builder) = claimed else {
        sim.verdict = Verdict::NoBuilder;
        return Ok(sim);
    };
    sim.builder = Some(builder.name.clone());
    let env = env_for(builder);
    let args = [scratch.src(), scratch.metadata(), scratch.bld()];
    if !sim.run_step(builder, "build", &builder.build, &args, &env)? {
        sim.verdict = Verdict::BuildFailed;
        return Ok(sim);
    }
    if let Some(release) = &builder.release {
        let args = [scratch.bld(), scratch.release()];
        if !sim.run_step(builder, "release", release, &args, &env)? {
            sim.verdict = Verdict::ReleaseFailed;
            return Ok(sim);
        }
    }

    // The peer copies release/ and bld/ to its durable build dir.
    let durable = work
        .path()
        .join("externalbuilder/builds")
        .join(info.id.sanitized());
    fs::copy_tree(scratch.release(), &durable.join("release"))?;
    fs::copy_tree(scratch.bld(), &durable.join("bld"))?;
    let build_info = serde_json::json!({ "builder_name": builder.name }).to_string();
    fs::write_atomic(
        &durable.join("build-info.json"),
        build_info.as_bytes(),
        0o600,
    )?;
    sim.durable_files = fs::walk_files(&durable)?
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    sim.verdict = launch(
        &durable.join("release"),
        options.server_cert.as_deref(),
        options.honours_domain,
    );
    Ok(sim)
}

fn read_package(path: &Path, limits: &Limits) -> Result<PackageInfo, PackageError> {
    let file = fs::open_regular(path)
        .map_err(|e| PackageError::Corrupt(std::io::Error::other(crate::report::chain(&e))))?;
    package::read(std::io::BufReader::new(file), limits, |_, _| Ok(()))
}

/// Reads `release/chaincode/server/connection.json` as the peer does at the
/// first invoke.
/// With feature `tls-checks`, the TLS material is checked as `validate`
/// checks it, so that both give one verdict in the same words.
fn launch(release: &Path, server_cert: Option<&str>, honours_domain: bool) -> Verdict {
    let path = release.join(crate::steps::RELEASED_CONNECTION);
    let bytes = match fs::read_limited(&path, connection::MAX_CONNECTION_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => {
            return Verdict::LaunchFails(
                "release/chaincode/server/connection.json is missing, so the peer would call bin/run, which a chaincode-as-a-service builder does not have".into(),
            )
        }
        Err(e) => return Verdict::LaunchFails(crate::report::chain(&e)),
    };
    match connection::load(&bytes, &LoadOptions::default()) {
        Err(rejected) => Verdict::LaunchFails(
            rejected
                .problems
                .iter()
                .map(|p| crate::report::chain(p))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Ok(checked) => {
            let template = checked.warnings.iter().find_map(|w| match w {
                ConnectionWarning::Unrendered { key, .. } => Some(*key),
                _ => None,
            });
            if let Some(key) = template {
                return Verdict::LaunchFails(format!(
                    "key `{key}` still holds a template; the peer would use it literally"
                ));
            }
            let c = checked.connection;
            #[cfg(feature = "tls-checks")]
            {
                let fails: Vec<String> = crate::tls_check::check(
                    &c,
                    server_cert,
                    std::time::SystemTime::now(),
                    honours_domain,
                )
                .iter()
                .filter(|f| f.fails)
                .map(crate::tls_check::TlsFinding::describe)
                .collect();
                if !fails.is_empty() {
                    return Verdict::LaunchFails(fails.join("; "));
                }
            }
            #[cfg(not(feature = "tls-checks"))]
            let _ = (server_cert, honours_domain);
            Verdict::Launches(Launch {
                dial_timeout: c.effective_dial_timeout(),
                tls: c.tls_mode(),
                domain: c.domain.clone().filter(|_| c.tls_mode() == TlsMode::Mutual),
                address: c.address,
            })
        }
    }
}
