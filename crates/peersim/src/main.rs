#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is the one place that prints
//! `ccaas-peersim`: plays a Fabric peer against a chaincode server and
//! prints each transaction's outcome on one line.

use ccaas_core::connection::Secret;
use ccaas_core::{Connection, GoDuration};
use ccaas_peersim::{script, DialOptions, Profile, Registration, Simulator};
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    /// The chaincode server's `host:port` (connection.json `address`).
    #[arg(long)]
    address: String,
    /// The package ID the peer is launching; REGISTER must carry exactly it.
    #[arg(long = "id", value_name = "PACKAGE_ID")]
    package_id: String,
    /// The socket address to dial when the address host is a name (names are never resolved).
    #[arg(long, value_name = "IP:PORT")]
    connect_to: Option<SocketAddr>,
    /// Turns TLS on: the CA certificate (PEM) the server chain must verify against.
    #[arg(long, value_name = "FILE")]
    tls_root_cert: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(long, value_name = "FILE", requires_all = ["client_key", "tls_root_cert"])]
    client_cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// The TLS server name to check (default: the address host).
    #[arg(long, value_name = "NAME")]
    server_name: Option<String>,
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

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

fn std_duration(d: GoDuration) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO)
}

async fn try_main(args: Args) -> Result<bool, String> {
    let mut invocations = match &args.script {
        Some(path) => script::read(&path.to_string_lossy()).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    if let Some(Command::Invoke { args }) = &args.command {
        invocations.extend(script::split(args));
    }
    let connection = Connection {
        address: args.address.clone(),
        dial_timeout: Some(args.dial_timeout),
        tls_required: args.tls_root_cert.is_some(),
        client_auth_required: args.client_cert.is_some(),
        root_cert: args.tls_root_cert.as_ref().map(read).transpose()?,
        client_cert: args.client_cert.as_ref().map(read).transpose()?,
        client_key: args.client_key.as_ref().map(read).transpose()?.map(Secret),
        ..Default::default()
    };
    let options = DialOptions {
        connect_to: args.connect_to,
        server_name: args.server_name.clone(),
        ..Default::default()
    };
    let mut simulator = Simulator::new(&args.package_id)
        .profile(args.profile)
        .startup_timeout(std_duration(args.startup_timeout))
        .execute_timeout(std_duration(args.execute_timeout));
    if let Some(name) = &args.chaincode_name {
        simulator = simulator.chaincode_name(name);
    }
    let session = simulator
        .connect(&connection, &options)
        .await
        .map_err(|e| error_chain(&e))?;
    if let Some(Registration::Refused { registered_as }) = session.registration() {
        println!(
            "REFUSED registered_as=\"{}\"",
            script::escape(registered_as.as_bytes())
        );
        return Err(format!(
            "registration refused: the chaincode registered as `{registered_as}`, not `{}` (the peer sends nothing and the launch times out)",
            args.package_id
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

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
