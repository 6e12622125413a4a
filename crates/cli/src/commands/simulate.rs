//! `ccaas simulate`: a package installed as a peer would, with real
//! builder programs, and what the peer would dial.

use super::probe::{self, ProbeArgs};
use super::{config_text, read_server_cert, tls_dir_arg, LimitArgs, PeerSettings, ServerCert};
use crate::{flags, output, print_json, Failure};
use ccaas_core::simulate::{self, Builder, SimulateOptions, OUR_ENVIRONMENT};
use clap::Args;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The sample package `simulate` installs when given none: type ccaas,
/// templated address, mutual TLS from files shipped in the package, two
/// CouchDB indexes. Rebuilt byte for byte by a test from fixtures/sample/.
const SAMPLE_PACKAGE: &[u8] = include_bytes!("../../../../fixtures/sample/basic_1.0.tgz");
const SAMPLE_CONFIG: &str = r#"{"peername":"peer0"}"#;

/// The flags of `ccaas simulate`.
#[derive(Args)]
pub struct SimulateArgs {
    /// The package file; the bundled sample when omitted.
    pub package: Option<PathBuf>,
    /// A builder directory (bin/detect, bin/build, bin/release), in core.yaml order; repeatable.
    #[arg(long = "builder", value_name = "DIR")]
    pub builders: Vec<PathBuf>,
    #[command(flatten)]
    pub peer: PeerSettings,
    #[command(flatten)]
    pub server: ServerCert,
    /// Print JSON (shape in docs/cli.md).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// After a successful install, probe the chaincode server as the peer would (`ccaas probe`, with the flags below).
    #[arg(long)]
    pub launch: bool,
    #[command(flatten)]
    pub probe: ProbeArgs,
}

/// This workspace's `detect`, `ccaas-build` and `release` next to this
/// executable (as `cargo build` leaves them); without them (a `ccaas`
/// installed alone), the same steps in this process, and a line saying so.
fn default_builder() -> Result<(Builder, Option<String>), Failure> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let names = ["detect", "ccaas-build", "release"];
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !dir.join(name).is_file())
        .collect();
    if !missing.is_empty() {
        let note = format!(
            "No builder programs next to `{}` (no {}): running this ccaas's own detect, build and release in this process. Pass --builder DIR (made by `bin-scripts/install DIR`) to run real programs.",
            exe.display(),
            missing
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok((Builder::in_process("ccaas"), Some(note)));
    }
    Ok((
        Builder {
            name: "ccaas".into(),
            detect: dir.join("detect"),
            build: dir.join("ccaas-build"),
            release: Some(dir.join("release")),
            propagate: OUR_ENVIRONMENT.map(str::to_owned).to_vec(),
            in_process: false,
        },
        None,
    ))
}

/// Installs the package (the bundled sample without one) and prints each step.
pub fn run(args: &SimulateArgs) -> Result<ExitCode, Failure> {
    let (package, builder_dirs, peer, server, json, limits) = (
        args.package.as_deref(),
        &args.builders,
        &args.peer,
        &args.server,
        args.json,
        &args.limits.limits(),
    );
    let launch = args.launch.then_some(&args.probe);
    let mut config = config_text(&peer.config)?;
    tls_dir_arg(peer)?;
    let sample_dir;
    let path = match package {
        // Standard input: the builders need a file, as on a peer.
        Some(p) if flags::is_dash(p) => {
            flags::claim_stdin("PACKAGE").map_err(|e| Failure(vec![e]))?;
            sample_dir = tempfile::tempdir()?;
            let path = sample_dir.path().join("package.tgz");
            let mut file = std::fs::File::create(&path)
                .map_err(|e| ccaas_core::fs::FsError::io("create", &path, e))?;
            let limit = limits.max_package_bytes;
            let copied = std::io::copy(
                &mut std::io::Read::take(std::io::stdin().lock(), limit + 1),
                &mut file,
            )
            .map_err(|e| Failure(vec![format!("PACKAGE -: cannot read standard input: {e}")]))?;
            if copied > limit {
                return Err(Failure(vec![format!(
                    "PACKAGE -: standard input is larger than {limit} bytes (--max-package-bytes)"
                )]));
            }
            path
        }
        Some(p) => p.to_owned(),
        None => {
            sample_dir = tempfile::tempdir()?;
            let path = sample_dir.path().join("basic_1.0.tgz");
            ccaas_core::fs::write_atomic(&path, SAMPLE_PACKAGE, 0o600)?;
            if config.is_none() {
                config = Some(SAMPLE_CONFIG.to_owned());
                if !json {
                    out!(
                        "Simulating the bundled sample package with {}='{SAMPLE_CONFIG}'.\n",
                        ccaas_core::template::CONFIG_ENV
                    );
                }
            }
            path
        }
    };
    let builders = if builder_dirs.is_empty() {
        let (builder, note) = default_builder()?;
        match note {
            Some(note) if json => say!("ccaas: note: {note}"),
            Some(note) => out!("{note}\n"),
            None => {}
        }
        vec![builder]
    } else {
        builder_dirs
            .iter()
            .map(|dir| {
                let name = dir
                    .file_name()
                    .map_or("builder".into(), |n| n.to_string_lossy().into_owned());
                Builder::from_dir(&name, dir, OUR_ENVIRONMENT.map(str::to_owned).to_vec()).map_err(
                    |e| {
                        Failure(vec![format!(
                            "--builder: {}",
                            ccaas_core::report::chain(&e)
                        )])
                    },
                )
            })
            .collect::<Result<_, _>>()?
    };
    // The simulated peer's environment is ours; the flags override it.
    let overridden = |k: &OsString| {
        (config.is_some() && k == ccaas_core::template::CONFIG_ENV)
            || (peer.tls_dir.is_some() && k == ccaas_core::tls_files::TLS_DIR_ENV)
    };
    let mut peer_env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !overridden(k))
        .collect();
    let probe_config = config.clone();
    if let Some(config) = config {
        peer_env.push((ccaas_core::template::CONFIG_ENV.into(), config.into()));
    }
    if let Some(dir) = &peer.tls_dir {
        peer_env.push((
            ccaas_core::tls_files::TLS_DIR_ENV.into(),
            dir.clone().into(),
        ));
    }
    let options = SimulateOptions {
        limits: *limits,
        server_cert: read_server_cert(server)?,
        ..SimulateOptions::new(builders, peer_env)
    };
    let sim = simulate::simulate(&path, &options)?;
    // --launch: the probe, once the install succeeded.
    let launched = match (launch, &sim.package) {
        (Some(args), Some(package)) if sim.verdict.is_success() => {
            let id = package.id.to_string();
            let tls_dir = peer.tls_dir.clone();
            match probe::launch(&path, id, probe_config, tls_dir, limits, args)? {
                probe::Probed::Report(report) => Some(report),
                probe::Probed::Usage(line) => {
                    say!("ccaas: error: {line}");
                    return Ok(ExitCode::from(2));
                }
            }
        }
        _ => None,
    };
    let probed_ok = launched.as_ref().is_none_or(|r| r.verdict.works());
    if json {
        let mut value = sim.to_json();
        if let Some(report) = &launched {
            value["probe"] = report.to_json();
            value["ok"] = serde_json::json!(sim.verdict.is_success() && probed_ok);
        }
        print_json(value);
    } else {
        out_text!(output::simulation(&sim));
        if let Some(report) = &launched {
            out_text!(probe::text(report));
        }
    }
    Ok(if sim.verdict.is_success() && probed_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
