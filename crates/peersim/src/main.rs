#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is the one place that prints
//! `ccaas-peersim`: plays a Fabric peer against a chaincode server and
//! prints each transaction's outcome on one line.

#[path = "target_args.rs"]
mod target_args;
use target_args::{std_duration, Target};

use ccaas_core::GoDuration;
use ccaas_peersim::{script, Profile, Registration, Simulator};
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
Exit status: 0 when every transaction completed with a status below 400; 1 when one did \
not, the registration was refused or the connection failed; 2 on usage errors.\n\n\
Example: ccaas-peersim --address 127.0.0.1:9999 --id kv_1.0:ab12 invoke put k v -- get k"
)]
struct Args {
    #[command(flatten)]
    target: Target,
    /// The peer to play: `v2.5` (also v3.0) or `v3.1`.
    #[arg(long, default_value = "v2.5")]
    profile: Profile,
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

async fn try_main(args: Args) -> Result<bool, String> {
    let mut invocations = match &args.script {
        Some(path) => script::read(&path.to_string_lossy()).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    if let Some(Command::Invoke { args }) = &args.command {
        invocations.extend(script::split(args));
    }
    let (connection, options) = args.target.connection(Some(args.dial_timeout))?;
    let mut simulator = Simulator::new(&args.target.package_id)
        .profile(args.profile)
        .startup_timeout(std_duration(args.startup_timeout))
        .execute_timeout(std_duration(args.execute_timeout));
    if let Some(name) = &args.chaincode_name {
        simulator = simulator.chaincode_name(name);
    }
    let session = simulator
        .connect(&connection, &options)
        .await
        .map_err(|e| ccaas_core::report::chain(&e))?;
    if let Some(Registration::Refused { registered_as }) = session.registration() {
        println!(
            "REFUSED registered_as=\"{}\"",
            script::escape(registered_as.as_bytes())
        );
        return Err(format!(
            "registration refused: the chaincode registered as `{registered_as}`, not `{}` (the peer sends nothing and the launch times out)",
            args.target.package_id
        ));
    }
    if let Some(Registration::Unreadable { error }) = session.registration() {
        return Err(format!(
            "registration refused: REGISTER is not a ChaincodeID: {error}"
        ));
    }
    let results = script::run(&session, &args.channel, &invocations).await;
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
