//! `ccaas probe`, and the probe behind `ccaas simulate --launch`: renders
//! connection.json as the builder would (through `ccaas_core::examine`,
//! as `validate` does), then hands it to `ccaas_peersim::probe` and prints
//! the report. No logic of its own beyond choosing the package ID.

use super::{config_text, tls_dir_arg, LimitArgs, PeerSettings};
use crate::{print_json, Failure};
use ccaas_core::archive::Limits;
use ccaas_core::examine::{self, ExamineOptions, FileKind};
use ccaas_core::report::redact;
use ccaas_peersim::probe::{self, PeerRelease, ProbeOptions, ProbeReport, Status, Verdict};
use clap::Args;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The flags of `ccaas probe`.
#[derive(Args)]
pub struct ProbeCommandArgs {
    /// A package (.tgz), or a connection.json with --id.
    pub file: PathBuf,
    /// The package ID the peer launches (default: the package's own ID; required for a connection.json).
    #[arg(long, value_name = "LABEL:HASH")]
    pub id: Option<String>,
    #[command(flatten)]
    pub peer: PeerSettings,
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Print JSON (shape in docs/cli.md).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// How to probe (shared by `probe` and `simulate --launch`).
#[derive(Args)]
pub struct ProbeArgs {
    /// Dial HOST:PORT instead of the address (e.g. a port-forward); TLS still checks the name the peer would.
    #[arg(long, value_name = "HOST:PORT")]
    pub connect: Option<String>,
    /// Resolve a host name (by default nothing is resolved: the address must be an IP literal, or give --connect).
    #[arg(long)]
    pub resolve: bool,
    /// The peer to play: v2.5, v3.0 or v3.1 (READY's payload, the TLS server name, ALPN).
    #[arg(long, value_name = "RELEASE", default_value = "v2.5", value_parser = super::release_parser())]
    pub profile: PeerRelease,
    /// One transaction once READY: the function and its arguments, split at spaces ('ping', 'org.hyperledger.fabric:GetMetadata').
    #[arg(long, value_name = "ARGS")]
    pub invoke: Option<String>,
    /// The channel of --invoke.
    #[arg(long, value_name = "NAME", default_value = "mychannel")]
    pub channel: String,
    /// How long to wait for REGISTER, a Go duration (the peer waits chaincode.startuptimeout, 300s).
    #[arg(long, value_name = "D", default_value = "10s", value_parser = parse_duration)]
    pub register_wait: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = ccaas_core::GoDuration::parse(s).map_err(|e| e.to_string())?;
    d.to_std()
        .ok_or_else(|| format!("`{s}` is negative: expected a positive duration"))
}

impl ProbeArgs {
    fn options(&self, package_id: String) -> ProbeOptions {
        ProbeOptions {
            release: self.profile,
            connect: self.connect.clone(),
            resolve: self.resolve,
            register_wait: self.register_wait,
            invoke: self
                .invoke
                .as_ref()
                .map(|s| s.split_whitespace().map(str::to_owned).collect()),
            channel: self.channel.clone(),
            ..ProbeOptions::new(package_id)
        }
    }
}

/// A probe that ran, or the usage error that stopped it (exit 2).
pub enum Probed {
    /// The report.
    Report(Box<ProbeReport>),
    /// The operator's input, worded.
    Usage(String),
}

fn dial(connection: &ccaas_core::Connection, options: &ProbeOptions) -> Result<Probed, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(match runtime.block_on(probe::probe(connection, options)) {
        Ok(report) => Probed::Report(Box::new(report)),
        Err(e) => Probed::Usage(ccaas_core::report::chain(&e)),
    })
}

/// `ccaas probe FILE`.
pub fn run(cmd: &ProbeCommandArgs) -> Result<ExitCode, Failure> {
    let (path, id, peer, args, json, limits) = (
        cmd.file.as_path(),
        cmd.id.as_deref(),
        &cmd.peer,
        &cmd.probe,
        cmd.json,
        &cmd.limits,
    );
    let options = ExamineOptions {
        config: config_text(&peer.config)?,
        tls_dir: tls_dir_arg(peer)?,
        limits: limits.limits(),
        server_cert: None,
        honours_domain: args.profile.honours_domain(),
    };
    let exam = if crate::flags::is_dash(path) {
        crate::flags::claim_stdin("FILE").map_err(|e| Failure(vec![e]))?;
        examine::examine_from(std::io::stdin().lock(), "-", &options)?
    } else {
        examine::examine_file(path, &options)?
    };
    let package_id = match (exam.kind, id, &exam.id) {
        (FileKind::Metadata, _, _) => {
            return usage(format!("`{}` is a metadata.json: give a package or a connection.json", path.display()))
        }
        (FileKind::Connection, None, _) => {
            return usage(format!("`{}` is a connection.json: give the package ID the peer launches with --id LABEL:HASH (`ccaas id PACKAGE` prints it)", path.display()))
        }
        (_, Some(id), Some(own)) if id != own.to_string() => {
            say(&format!("ccaas: note: probing with --id `{id}`, not the package's own ID `{own}`"));
            id.to_owned()
        }
        (_, Some(id), _) => id.to_owned(),
        (_, None, Some(own)) => own.to_string(),
        (_, None, None) => String::new(),
    };
    let errors: Vec<String> = exam
        .errors()
        .map(|f| format!("{}: {} ({})", f.file, f.message, f.outcome()))
        .collect();
    let Some(connection) = &exam.connection else {
        let mut lines = errors;
        lines.push(format!("`{}`: no connection.json the peer would load: nothing to probe (`ccaas validate` says why)", path.display()));
        return Err(Failure(lines));
    };
    let report = match dial(connection, &args.options(package_id))? {
        Probed::Report(r) => r,
        Probed::Usage(line) => return usage(line),
    };
    if json {
        let mut value = report.to_json();
        value["findings"] = serde_json::json!(errors);
        value["ok"] = serde_json::json!(report.verdict.works() && errors.is_empty());
        print_json(value);
    } else {
        for line in &errors {
            say(&format!("ccaas: error: {line}"));
        }
        out_text(&text(&report));
        if !errors.is_empty() {
            out_text(&format!(
                "FAIL: `ccaas validate` finds {} the peer would fail on before this dial\n",
                ccaas_core::report::count(errors.len() as u64, "error", "errors")
            ));
        }
    }
    Ok(if report.verdict.works() && errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `simulate --launch`: the probe of the connection our builder renders
/// from `package` (the same rules as the simulated build), for `package_id`.
pub fn launch(
    package: &Path,
    package_id: String,
    config: Option<String>,
    tls_dir: Option<PathBuf>,
    limits: &Limits,
    args: &ProbeArgs,
) -> Result<Probed, Failure> {
    let options = ExamineOptions {
        config,
        tls_dir,
        limits: *limits,
        server_cert: None,
        honours_domain: args.profile.honours_domain(),
    };
    let exam = examine::examine_package(package, &options)?;
    let Some(connection) = &exam.connection else {
        return Err(Failure(vec![format!(
            "`{}`: the builder's connection.json does not load again for the probe",
            package.display()
        )]));
    };
    dial(connection, &args.options(package_id))
}

fn usage(line: String) -> Result<ExitCode, Failure> {
    say(&format!("ccaas: error: {line}"));
    Ok(ExitCode::from(2))
}

fn say(line: &str) {
    eprintln!("{}", redact(line));
}

fn out_text(text: &str) {
    print!("{}", redact(text));
}

/// The report as text: a heading, one line per step (with its details
/// under it), and the verdict.
pub fn text(report: &ProbeReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "probe     {} at {}, TLS {}, as a Fabric {} peer",
        report.package_id, report.address, report.tls, report.release
    );
    for step in &report.steps {
        let ms = step.elapsed.as_secs_f64() * 1000.0;
        let _ = writeln!(
            out,
            "{:<9} {:<4} {:>8.1} ms  {}",
            step.kind.as_str(),
            step.status.as_str(),
            ms,
            step.summary
        );
        for line in &step.details {
            let _ = writeln!(out, "{:28}{line}", "");
        }
    }
    if let Some(invoke) = &report.invoke {
        if report.verdict.works() {
            let _ = writeln!(
                out,
                "response  {}",
                String::from_utf8_lossy(&invoke.payload)
            );
        }
    }
    let warned = report.steps.iter().any(|s| s.status == Status::Warn);
    let _ = match &report.verdict {
        Verdict::Works if warned => writeln!(
            out,
            "OK: the peer's first invoke would reach the chaincode (see the warnings above for other Fabric releases)"
        ),
        Verdict::Works => writeln!(out, "OK: the peer's first invoke would reach the chaincode"),
        Verdict::Fails { step, reason } => writeln!(
            out,
            "FAIL ({step}): the peer's first invoke would fail: {reason}"
        ),
    };
    out
}
