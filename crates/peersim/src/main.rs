#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is the one place that prints
//! `ccaas-peersim`: plays a Fabric peer against a chaincode server and
//! prints each transaction's outcome on one line.

#[path = "target_args.rs"]
mod target_args;
use target_args::{std_duration, Target};

use ccaas_core::GoDuration;
use ccaas_peersim::probe::{self, PeerRelease, ProbeOptions, ProbeReport};
use ccaas_peersim::{script, state_file, Creator, Simulator, WorldState};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Plays a Hyperledger Fabric peer against a chaincode server: dials it as
/// the peer does, expects REGISTER with the package ID, then runs each
/// invocation as a transaction and prints one line per outcome:
/// `COMPLETED status=N message="..." payload="..."`, `ERROR message="..."`
/// or `FAILED error="..."`.
#[derive(Debug, Parser)]
#[command(
    name = "ccaas-peersim",
    version,
    after_help = "Invocations: `invoke ARG... [-- ARG...]...` (each `--` starts another \
transaction on the same stream), and/or `--script FILE` with one invocation per line \
(arguments separated by spaces, \"...\" for an argument with spaces, # for comments). \
The script runs first.\n\n\
Install: `cargo install --locked --path crates/peersim` from a checkout of ccaas-builder \
(puts ccaas-peersim and ccaas-load in ~/.cargo/bin).\n\n\
Exit status: 0 when every transaction completed with a status below 400; 1 when one did \
not, the registration was refused or the connection failed; 2 on usage errors.\n\n\
Example: ccaas-peersim --address 127.0.0.1:9999 --package kv.tgz --state ledger.json invoke put k v -- get k"
)]
struct Args {
    #[command(flatten)]
    target: Target,
    /// The peer to play: READY's payload, the TLS server name, ALPN (as `ccaas probe --profile`).
    #[arg(long, value_name = "RELEASE", default_value = "v2.5",
          value_parser = PossibleValuesParser::new(["v2.5", "v3.0", "v3.1"]).try_map(|s| s.parse::<PeerRelease>()))]
    profile: PeerRelease,
    /// Who proposes each transaction: an MSP ID and its PEM certificate
    /// (default: `Org1MSP` with the test-only fixtures/tls/client.pem).
    #[arg(long, value_name = "MSPID=CERT.pem")]
    creator: Option<String>,
    /// A transient map entry for every transaction, repeatable; `KEY=@FILE` reads the value from FILE.
    #[arg(long, value_name = "KEY=VALUE")]
    transient: Vec<String>,
    /// Keep the ledger in FILE between runs: read at the start (absent: empty), written back
    /// atomically at the end (versioned JSON, mode 0600).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// The channel of every transaction.
    #[arg(long, default_value = "mychannel")]
    channel: String,
    /// The chaincode name (default: the package ID's label).
    #[arg(long)]
    chaincode_name: Option<String>,
    /// The dial timeout, a Go duration.
    #[arg(long, default_value = "3s")]
    dial_timeout: GoDuration,
    /// How long to wait for REGISTER, a Go duration.
    #[arg(long, default_value = "30s")]
    startup_timeout: GoDuration,
    /// How long a transaction may run, a Go duration.
    #[arg(long, default_value = "30s")]
    execute_timeout: GoDuration,
    /// At the end, print on stderr how many messages of each type the
    /// chaincode sent (`counts: GET_STATE=2 ...`).
    #[arg(long)]
    counts: bool,
    /// A file of invocations, one per line.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Runs transactions: `invoke put k v -- get k`.
    Invoke {
        /// The arguments, the function first; `--` separates transactions.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        args: Vec<String>,
    },
}

/// `--creator MSPID=CERT.pem`: the MSP ID and the certificate it names.
fn creator(flag: &str) -> Result<Creator, String> {
    let Some((msp_id, path)) = flag.split_once('=') else {
        return Err(format!(
            "--creator `{flag}`: expected MSPID=CERT.pem, e.g. `Org1MSP=user.pem`"
        ));
    };
    if msp_id.trim().is_empty() {
        return Err(format!(
            "--creator `{flag}`: the MSP ID before `=` is empty"
        ));
    }
    let bytes = ccaas_core::fs::read_limited(
        std::path::Path::new(path),
        ccaas_core::tls_files::MAX_TLS_FILE_BYTES,
    )
    .map_err(|e| format!("--creator: {}", ccaas_core::report::chain(&e)))?;
    let pem = String::from_utf8(bytes)
        .map_err(|_| format!("--creator `{path}`: not text, so not a PEM certificate"))?;
    if ccaas_core::pem::contains_private_key(&pem) {
        return Err(format!(
            "--creator `{path}`: found a private key (not shown) where the creator's certificate (PEM) was expected"
        ));
    }
    ccaas_core::pem::parse(&pem, ccaas_core::pem::PemKind::Certificates)
        .map_err(|e| format!("--creator `{path}`: {e}"))?;
    Ok(Creator::new(msp_id, pem))
}

/// `--transient KEY=VALUE` (or `KEY=@FILE`) entries.
fn transient(flags: &[String]) -> Result<Vec<(String, Vec<u8>)>, String> {
    flags
        .iter()
        .map(|flag| {
            let Some((key, value)) = flag.split_once('=') else {
                return Err(format!(
                    "--transient `{flag}`: expected KEY=VALUE (or KEY=@FILE), e.g. `price=100`"
                ));
            };
            let value = match value.strip_prefix('@') {
                Some(path) => std::fs::read(path).map_err(|e| {
                    format!("--transient `{key}=@{path}`: cannot read `{path}`: {e}")
                })?,
                None => value.as_bytes().to_vec(),
            };
            Ok((key.to_owned(), value))
        })
        .collect()
}

/// A dial that failed, in the words of `ccaas probe`: what happened, why,
/// and what to do.
fn dial_failure(report: &ProbeReport) -> String {
    let Some(step) = report.steps.last() else {
        return "the chaincode server was not reached".into();
    };
    let reason = match &report.verdict {
        probe::Verdict::Fails { reason, .. } => reason.clone(),
        probe::Verdict::Works => step.summary.clone(),
    };
    let mut text = format!("{} (step `{}`)", reason, step.kind);
    for line in std::iter::once(&step.summary).chain(&step.details) {
        text.push_str("\n  ");
        text.push_str(line);
    }
    if [
        "`root_cert`",
        "`client_cert`",
        "`client_key`",
        "`client_auth_required`",
        "`tls_required`",
    ]
    .iter()
    .any(|key| reason.contains(key))
    {
        text.push_str("\n  here, connection.json's `root_cert` (and `tls_required`) is --tls-root-cert; `client_cert` and `client_key` (and `client_auth_required`) are --client-cert and --client-key");
    }
    text
}

async fn try_main(args: Args) -> Result<bool, String> {
    let mut invocations = match &args.script {
        Some(path) => script::read(&path.to_string_lossy()).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    if let Some(Command::Invoke { args }) = &args.command {
        invocations.extend(script::split(args));
    }
    let package_id = args.target.package_id()?;
    let creator = args.creator.as_deref().map(creator).transpose()?;
    let transient = transient(&args.transient)?;
    let world = match &args.state {
        Some(path) => state_file::load(path).map_err(|e| ccaas_core::report::chain(&e))?,
        None => WorldState::new(),
    };
    let (connection, dial) = args.target.connection(Some(args.dial_timeout))?;
    // Names are never resolved: say so in this command's words first.
    ccaas_peersim::dial::socket_address(&connection, &dial)
        .map_err(|e| ccaas_core::report::chain(&e))?;
    let mut simulator = Simulator::new(&package_id)
        .profile(args.profile.profile())
        .world(world.clone())
        .startup_timeout(std_duration(args.startup_timeout))
        .execute_timeout(std_duration(args.execute_timeout));
    if let Some(name) = &args.chaincode_name {
        simulator = simulator.chaincode_name(name);
    }
    if let Some(creator) = creator {
        simulator = simulator.default_creator(creator);
    }
    let options = ProbeOptions {
        release: args.profile,
        connect: dial.connect_to.map(|a| a.to_string()),
        server_name: dial.server_name.clone(),
        register_wait: std_duration(args.startup_timeout),
        ..ProbeOptions::new(&package_id)
    };
    let connected = probe::connect(&connection, &options, &simulator)
        .await
        .map_err(|e| ccaas_core::report::chain(&e))?;
    let Some(session) = connected.session else {
        let report = &connected.report;
        let refused = report
            .registered_as
            .as_ref()
            .filter(|name| **name != package_id);
        if let Some(registered_as) = refused {
            println!(
                "REFUSED registered_as=\"{}\"",
                script::escape(registered_as.as_bytes())
            );
            return Err(format!(
                "registration refused: the chaincode registered as `{registered_as}`, not `{package_id}` (the peer sends nothing and the launch times out); start it with CHAINCODE_ID={package_id}"
            ));
        }
        return Err(dial_failure(report));
    };
    let results = script::run(&session, &args.channel, &invocations, &transient).await;
    for result in &results {
        println!("{}", script::format(result));
    }
    if args.counts {
        eprintln!(
            "counts: {}",
            script::format_counts(&session.received_counts())
        );
    }
    session.close().await;
    if let Some(path) = &args.state {
        state_file::save(&world, path).map_err(|e| ccaas_core::report::chain(&e))?;
    }
    Ok(script::all_succeeded(&results))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ccaas-peersim: error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(try_main(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("ccaas-peersim: error: {message}");
            ExitCode::from(1)
        }
    }
}
