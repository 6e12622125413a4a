#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is the one place that prints
//! `ccaas-load`: the load driver (`ccaas_peersim::load`) as a command.

#[path = "../target_args.rs"]
mod target_args;
use target_args::{std_duration, Target};

use ccaas_core::GoDuration;
use ccaas_peersim::load::{self, LoadConfig, Server, Stop, Workload};
use clap::Parser;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// Puts a chaincode server under load as Fabric peers would: opens
/// --streams streams (one per simulated peer), keeps --in-flight
/// transactions running on each, every one the `bench R W V KEY` function
/// of the `kv` example (and of benches/node-kv): R reads of preloaded
/// values, then W writes of V bytes. Reports transactions per second, the
/// latency per transaction (p50, p99, p99.9), the server's CPU time per
/// transaction and RSS (from /proc, with --server-pid or a started
/// server), the time from process start to REGISTER (started server), and
/// the driver's own CPU time per transaction.
#[derive(Debug, Parser)]
#[command(
    name = "ccaas-load",
    version,
    after_help = "Start the server with the driver (to measure its start-up) by giving its command \
after `--`; the driver kills it at the end. The command's environment is the driver's, so set \
CHAINCODE_ID, CHAINCODE_SERVER_ADDRESS and the TLS variables for it.\n\n\
Exit status: 0 when every measured transaction succeeded; 1 when one failed or the run could \
not be made; 2 on usage errors.\n\n\
Examples:\n  \
ccaas-load --address 127.0.0.1:9999 --id kv_1.0:ab12 --streams 4 --in-flight 64 --duration 5s\n  \
CHAINCODE_ID=kv_1.0:ab12 CHAINCODE_SERVER_ADDRESS=127.0.0.1:9999 \\\n    \
ccaas-load --address 127.0.0.1:9999 --id kv_1.0:ab12 --count 10000 -- target/release/examples/kv"
)]
struct Args {
    #[command(flatten)]
    target: Target,
    /// The channel of every transaction.
    #[arg(long, default_value = "mychannel")]
    channel: String,
    /// Streams (simulated peers).
    #[arg(long, short = 's', default_value_t = 1)]
    streams: usize,
    /// Transactions in flight per stream.
    #[arg(long, short = 'c', default_value_t = 1)]
    in_flight: usize,
    /// Reads per transaction.
    #[arg(long, default_value_t = 1)]
    reads: usize,
    /// Writes per transaction.
    #[arg(long, default_value_t = 1)]
    writes: usize,
    /// Bytes per value read and written.
    #[arg(long, default_value_t = 100)]
    value_bytes: usize,
    /// The key prefix of `bench`.
    #[arg(long, default_value = "bench")]
    key: String,
    /// Stop after this many transactions (all measured).
    #[arg(long, conflicts_with = "duration")]
    count: Option<u64>,
    /// Measure for this long (a Go duration), after --warmup.
    #[arg(long)]
    duration: Option<GoDuration>,
    /// Run this long first, unmeasured (with --duration).
    #[arg(long, default_value = "1s", requires = "duration")]
    warmup: GoDuration,
    /// Do not check payloads (for a server that runs no chaincode, e.g. the `echo` wire floor).
    #[arg(long)]
    no_verify: bool,
    /// The server's PID, for its CPU time and RSS.
    #[arg(long, value_name = "PID", conflicts_with = "command")]
    server_pid: Option<u32>,
    /// Where the started server's stdout and stderr go (default: nowhere).
    #[arg(long, value_name = "FILE", requires = "command")]
    server_log: Option<PathBuf>,
    /// How long a started server may take to register, a Go duration.
    #[arg(long, default_value = "30s")]
    startup_timeout: GoDuration,
    /// The driver's worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Print one `key=value` line (for scripts) instead of the report.
    #[arg(long)]
    line: bool,
    /// The server command to start (after `--`).
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

fn config(args: Args) -> Result<LoadConfig, String> {
    let (connection, dial) = args.target.connection(None)?;
    let mut config = LoadConfig::new(args.target.package_id()?, connection);
    config.dial = dial;
    config.channel = args.channel;
    config.streams = args.streams;
    config.in_flight = args.in_flight;
    config.workload = Workload {
        reads: args.reads,
        writes: args.writes,
        value_bytes: args.value_bytes,
        key: args.key,
    };
    config.stop = match (args.count, args.duration) {
        (_, Some(measure)) => Stop::Time {
            warmup: std_duration(args.warmup),
            measure: std_duration(measure),
        },
        (Some(n), None) => Stop::Count(n),
        (None, None) => Stop::Count(1000),
    };
    config.verify = !args.no_verify;
    config.startup_timeout = std_duration(args.startup_timeout);
    let mut command = args.command.into_iter();
    config.server = match (args.server_pid, command.next()) {
        (Some(pid), _) => Server::Pid(pid),
        (None, Some(program)) => Server::Spawn {
            program,
            args: command.collect(),
            log: args.server_log,
        },
        (None, None) => Server::None,
    };
    Ok(config)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (threads, line) = (args.threads.max(1), args.line);
    let config = match config(args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("ccaas-load: error: {message}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ccaas-load: error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(load::run(&config)) {
        Ok(report) => {
            if line {
                println!("{}", report.line());
            } else {
                print!("{report}");
            }
            if let Some(failure) = &report.first_failure {
                eprintln!(
                    "ccaas-load: {} transaction(s) failed; the first: {failure}",
                    report.failures
                );
            }
            if report.failures == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("ccaas-load: error: {}", ccaas_core::report::chain(&e));
            ExitCode::from(1)
        }
    }
}
