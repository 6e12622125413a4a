//! A load driver for chaincode servers, on the simulator: S streams (as S
//! peers would open), C transactions in flight on each, every transaction
//! the `kv` example's `bench R W V KEY` (R reads, W writes of V bytes; the
//! same function is in `benches/node-kv`), for a count or a time. It
//! measures transactions per second, the latency of each transaction
//! (p50, p99, p99.9), the server's CPU time per transaction and its RSS
//! (from `/proc/PID`), and, when it starts the server itself, the time from
//! process start to REGISTER. The `ccaas-load` command is its doorway.
//!
//! ```no_run
//! use ccaas_core::Connection;
//! use ccaas_peersim::load::{self, LoadConfig, Stop, Workload};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let connection = Connection { address: "127.0.0.1:9999".into(), ..Default::default() };
//! let mut config = LoadConfig::new("kv_1.0:ab12", connection);
//! config.streams = 4;
//! config.in_flight = 64;
//! config.workload = Workload { reads: 1, writes: 1, value_bytes: 100, key: "bench".into() };
//! config.stop = Stop::Count(10_000);
//! let report = load::run(&config).await?;
//! println!("{report}");
//! # Ok(())
//! # }
//! ```
//!
//! Throughput counts the transactions that completed inside the measured
//! window (after the warm-up, for a timed run); latency is from sending
//! TRANSACTION to receiving COMPLETED, for transactions that started and
//! ended inside it. A transaction that fails (status 400 and above,
//! ERROR, a payload other than the bytes read when verifying) is counted
//! apart and its first failure reported.

use crate::dial::{DialError, DialOptions};
use crate::session::{Session, SessionError, Simulator, TxOutcome};
use crate::world::WorldState;
use ccaas_core::Connection;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The Linux `/proc` clock tick (`USER_HZ`): 100 on every architecture
/// Linux runs on; it is part of the `/proc` ABI.
const USER_HZ: u64 = 100;

/// The transaction every worker runs: `bench R W V KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Reads per transaction (GET_STATE of `KEY:r0` ...).
    pub reads: usize,
    /// Writes per transaction (PUT_STATE of `KEY:w0` ...).
    pub writes: usize,
    /// Bytes of each value read (preloaded) and written.
    pub value_bytes: usize,
    /// The key prefix.
    pub key: String,
}

impl Default for Workload {
    /// One read and one write of 100 bytes under `bench`.
    fn default() -> Self {
        Workload {
            reads: 1,
            writes: 1,
            value_bytes: 100,
            key: "bench".into(),
        }
    }
}

impl Workload {
    /// The transaction's arguments, the function first.
    pub fn args(&self) -> Vec<String> {
        vec![
            "bench".into(),
            self.reads.to_string(),
            self.writes.to_string(),
            self.value_bytes.to_string(),
            self.key.clone(),
        ]
    }

    /// The payload a correct `bench` answers once the reads are preloaded:
    /// the bytes read, in decimal.
    pub fn expected_payload(&self) -> String {
        (self.reads * self.value_bytes).to_string()
    }

    /// The keys read, as the chaincode names them.
    pub fn read_keys(&self) -> impl Iterator<Item = String> + '_ {
        (0..self.reads).map(|i| format!("{}:r{i}", self.key))
    }
}

/// When a run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this many transactions in all (all of them measured).
    Count(u64),
    /// After a warm-up whose transactions are not counted, for a measured
    /// time.
    Time {
        /// Not measured.
        warmup: Duration,
        /// Measured.
        measure: Duration,
    },
}

/// The server under load, for its `/proc` numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// Unknown: no CPU or RSS numbers.
    None,
    /// Already running as this process.
    Pid(u32),
    /// Started by the driver, which then measures its start-up (process
    /// start to REGISTER) and kills it at the end.
    Spawn {
        /// The program.
        program: OsString,
        /// Its arguments.
        args: Vec<OsString>,
        /// Where its stdout and stderr go (default: nowhere).
        log: Option<PathBuf>,
    },
}

/// A run's configuration.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The package ID the server registers with.
    pub package_id: String,
    /// Where and how to dial (address, TLS material), as connection.json.
    pub connection: Connection,
    /// Dial options beyond connection.json.
    pub dial: DialOptions,
    /// The channel of every transaction.
    pub channel: String,
    /// Streams (peers) opened to the server.
    pub streams: usize,
    /// Transactions in flight on each stream.
    pub in_flight: usize,
    /// The transaction.
    pub workload: Workload,
    /// When to stop.
    pub stop: Stop,
    /// Check every payload against [`Workload::expected_payload`] (off for
    /// a server that runs no chaincode, such as the wire floor).
    pub verify: bool,
    /// The server, for its numbers.
    pub server: Server,
    /// How long a started server may take to accept its first stream and
    /// register.
    pub startup_timeout: Duration,
}

impl LoadConfig {
    /// One stream, one transaction in flight, the default workload, 1000
    /// transactions, verified.
    pub fn new(package_id: impl Into<String>, connection: Connection) -> Self {
        LoadConfig {
            package_id: package_id.into(),
            connection,
            dial: DialOptions::default(),
            channel: "mychannel".into(),
            streams: 1,
            in_flight: 1,
            workload: Workload::default(),
            stop: Stop::Count(1000),
            verify: true,
            server: Server::None,
            startup_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// `streams` or `in_flight` is zero.
    #[error("{what} must be at least 1")]
    Zero {
        /// `streams` or `in flight`.
        what: &'static str,
    },
    /// The server command could not be started.
    #[error("cannot start the server `{program}`")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server log file could not be created.
    #[error("cannot create the server log `{path}`")]
    Log {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The started server exited before it registered.
    #[error("the server exited before it registered ({status}){}", log_hint(.log))]
    Exited {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Its log, if kept.
        log: Option<PathBuf>,
    },
    /// The started server did not accept a stream in time.
    #[error("the server did not accept a stream within {after:?}{}", log_hint(.log))]
    StartupTimeout {
        /// The startup timeout.
        after: Duration,
        /// Its log, if kept.
        log: Option<PathBuf>,
    },
    /// A stream could not be opened or registered.
    #[error("stream {stream}: {source}")]
    Session {
        /// Which stream, from 0.
        stream: usize,
        /// Why.
        #[source]
        source: SessionError,
    },
    /// The server registered with another package ID (or none).
    #[error(
        "stream {stream}: the server did not register as `{package_id}` (registration: {found})"
    )]
    Refused {
        /// Which stream.
        stream: usize,
        /// The package ID expected.
        package_id: String,
        /// What happened instead.
        found: String,
    },
    /// `/proc/PID/...` could not be read (the server is gone, or not on Linux).
    #[error("cannot read `{path}`")]
    Proc {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `/proc/PID/...` does not read as expected.
    #[error("`{path}` does not have the expected format: {what}")]
    ProcFormat {
        /// The file.
        path: PathBuf,
        /// What is missing.
        what: &'static str,
    },
}

fn log_hint(log: &Option<PathBuf>) -> String {
    match log {
        Some(path) => format!("; see its log `{}`", path.display()),
        None => "; run it with --server-log FILE to keep its output".into(),
    }
}

/// Latency percentiles of the measured transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// The slowest.
    pub max: Duration,
    /// The mean.
    pub mean: Duration,
}

impl Latency {
    /// The percentiles of `samples` (nanoseconds), sorting them.
    pub fn of(samples: &mut [u64]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            // The nearest-rank percentile: the smallest sample with at
            // least q of the samples at or below it.
            let rank = (q * samples.len() as f64).ceil() as usize;
            Duration::from_nanos(samples[rank.clamp(1, samples.len()) - 1])
        };
        let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
        Latency {
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: Duration::from_nanos(samples[samples.len() - 1]),
            mean: Duration::from_nanos((sum / samples.len() as u128) as u64),
        }
    }
}

/// The server's numbers, from `/proc/PID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerUsage {
    /// The process.
    pub pid: u32,
    /// CPU time (user + system, every thread) in the measured window.
    pub cpu: Duration,
    /// Resident set with the streams open, before the first transaction.
    pub rss_idle_bytes: u64,
    /// Peak resident set since the process started (`VmHWM`).
    pub rss_peak_bytes: u64,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Streams.
    pub streams: usize,
    /// In flight per stream.
    pub in_flight: usize,
    /// The workload.
    pub workload: Workload,
    /// Successful transactions in the measured window.
    pub transactions: u64,
    /// Failed transactions in the measured window.
    pub failures: u64,
    /// The first failure seen, if any.
    pub first_failure: Option<String>,
    /// The measured window.
    pub elapsed: Duration,
    /// Latency of the measured transactions.
    pub latency: Latency,
    /// The server's numbers, when its PID is known.
    pub server: Option<ServerUsage>,
    /// Process start to REGISTER, when the driver started the server.
    pub startup: Option<Duration>,
    /// The driver's own CPU time in the measured window.
    pub driver_cpu: Option<Duration>,
}

impl Report {
    /// Successful transactions per second.
    pub fn tx_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.transactions as f64 / secs
        } else {
            0.0
        }
    }

    /// CPU time per transaction of `cpu` (failures included: the server did them too).
    fn per_tx(&self, cpu: Duration) -> Duration {
        let n = self.transactions + self.failures;
        if n == 0 {
            Duration::ZERO
        } else {
            cpu / u32::try_from(n).unwrap_or(u32::MAX)
        }
    }

    /// The server's CPU time per transaction.
    pub fn server_cpu_per_tx(&self) -> Option<Duration> {
        self.server.map(|s| self.per_tx(s.cpu))
    }

    /// The driver's CPU time per transaction.
    pub fn driver_cpu_per_tx(&self) -> Option<Duration> {
        self.driver_cpu.map(|c| self.per_tx(c))
    }

    /// The report as one line of `key=value` fields, for scripts (times in
    /// microseconds, sizes in KiB; a field is `-` when unknown).
    pub fn line(&self) -> String {
        let us = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e6);
        let opt = |d: Option<String>| d.unwrap_or_else(|| "-".into());
        let kib = |b: u64| (b / 1024).to_string();
        format!(
            "streams={} in_flight={} reads={} writes={} value_bytes={} tx={} failures={} secs={:.3} tps={:.1} \
             p50_us={} p99_us={} p999_us={} max_us={} mean_us={} server_cpu_us_per_tx={} server_cores={} \
             rss_idle_kib={} rss_peak_kib={} startup_ms={} driver_cpu_us_per_tx={}",
            self.streams,
            self.in_flight,
            self.workload.reads,
            self.workload.writes,
            self.workload.value_bytes,
            self.transactions,
            self.failures,
            self.elapsed.as_secs_f64(),
            self.tx_per_sec(),
            us(self.latency.p50),
            us(self.latency.p99),
            us(self.latency.p999),
            us(self.latency.max),
            us(self.latency.mean),
            opt(self.server_cpu_per_tx().map(us)),
            opt(self
                .server
                .map(|s| format!("{:.2}", s.cpu.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)))),
            opt(self.server.map(|s| kib(s.rss_idle_bytes))),
            opt(self.server.map(|s| kib(s.rss_peak_bytes))),
            opt(self.startup.map(|d| format!("{:.2}", d.as_secs_f64() * 1e3))),
            opt(self.driver_cpu_per_tx().map(us)),
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = &self.workload;
        writeln!(
            f,
            "load: {} stream(s) x {} in flight, bench {} {} {} {}",
            self.streams, self.in_flight, w.reads, w.writes, w.value_bytes, w.key
        )?;
        writeln!(
            f,
            "transactions  {} in {:.3} s: {:.0} tx/s ({} failed)",
            self.transactions,
            self.elapsed.as_secs_f64(),
            self.tx_per_sec(),
            self.failures
        )?;
        if let Some(failure) = &self.first_failure {
            writeln!(f, "first failure {failure}")?;
        }
        let l = &self.latency;
        writeln!(
            f,
            "latency       p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}, mean {:?}",
            l.p50, l.p99, l.p999, l.max, l.mean
        )?;
        if let (Some(s), Some(per_tx)) = (&self.server, self.server_cpu_per_tx()) {
            writeln!(
                f,
                "server        pid {}: CPU {:?} per transaction ({:.2} cores), RSS {:.1} MiB idle, {:.1} MiB peak",
                s.pid,
                per_tx,
                s.cpu.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9),
                s.rss_idle_bytes as f64 / 1048576.0,
                s.rss_peak_bytes as f64 / 1048576.0
            )?;
        }
        if let Some(startup) = self.startup {
            writeln!(
                f,
                "start-up      {startup:?} from process start to REGISTER"
            )?;
        }
        if let Some(per_tx) = self.driver_cpu_per_tx() {
            writeln!(f, "driver        CPU {per_tx:?} per transaction")?;
        }
        Ok(())
    }
}

/// Kills the started server when the run ends, however it ends.
struct Started {
    child: Child,
    log: Option<PathBuf>,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(
    program: &OsString,
    args: &[OsString],
    log: &Option<PathBuf>,
) -> Result<Started, LoadError> {
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null());
    match log {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|source| LoadError::Log {
                path: path.clone(),
                source,
            })?;
            let copy = file.try_clone().map_err(|source| LoadError::Log {
                path: path.clone(),
                source,
            })?;
            command.stdout(file).stderr(copy);
        }
        None => {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    let child = command.spawn().map_err(|source| LoadError::Spawn {
        program: program.to_string_lossy().into_owned(),
        source,
    })?;
    Ok(Started {
        child,
        log: log.clone(),
    })
}

/// The process's CPU time so far (user + system, every thread, live or
/// gone), from `/proc/PID/stat`.
pub fn proc_cpu(pid: &str) -> Result<Duration, LoadError> {
    let path = PathBuf::from(format!("/proc/{pid}/stat"));
    let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Proc {
        path: path.clone(),
        source,
    })?;
    // `pid (comm) state ...`: comm may hold spaces and parentheses, so
    // fields count from the last `)`; utime and stime are fields 14 and 15.
    let rest = text
        .rfind(')')
        .map(|i| &text[i + 1..])
        .ok_or(LoadError::ProcFormat {
            path: path.clone(),
            what: "no `(comm)`",
        })?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(utime), Some(stime)) => Ok(Duration::from_millis((utime + stime) * 1000 / USER_HZ)),
        _ => Err(LoadError::ProcFormat {
            path,
            what: "no utime and stime (fields 14 and 15)",
        }),
    }
}

/// A `Vm*` line of `/proc/PID/status` (e.g. `VmRSS`, `VmHWM`), in bytes.
pub fn proc_memory(pid: &str, field: &'static str) -> Result<u64, LoadError> {
    let path = PathBuf::from(format!("/proc/{pid}/status"));
    let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Proc {
        path: path.clone(),
        source,
    })?;
    text.lines()
        .find_map(|line| {
            let value = line.strip_prefix(field)?.strip_prefix(':')?;
            let kib = value.trim().strip_suffix("kB")?.trim();
            kib.parse::<u64>().ok().map(|k| k * 1024)
        })
        .ok_or(LoadError::ProcFormat { path, what: field })
}

/// Dials until the server accepts a stream and registers (a refused
/// connection means it is not listening yet), within `timeout`.
async fn first_session(
    simulator: &Simulator,
    config: &LoadConfig,
    started: &mut Started,
) -> Result<Session, LoadError> {
    let deadline = Instant::now() + config.startup_timeout;
    loop {
        match simulator.connect(&config.connection, &config.dial).await {
            Ok(session) => return Ok(session),
            Err(SessionError::Dial(DialError::Connect { .. })) => {}
            Err(source) => return Err(LoadError::Session { stream: 0, source }),
        }
        if let Ok(Some(status)) = started.child.try_wait() {
            return Err(LoadError::Exited {
                status,
                log: started.log.clone(),
            });
        }
        if Instant::now() >= deadline {
            return Err(LoadError::StartupTimeout {
                after: config.startup_timeout,
                log: started.log.clone(),
            });
        }
        // tokio's timer ticks in milliseconds; a start-up measured to
        // 0.2 ms needs a finer wait. Nothing else runs on the driver yet.
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn check_registered(session: &Session, stream: usize, package_id: &str) -> Result<(), LoadError> {
    if session.is_registered() {
        return Ok(());
    }
    Err(LoadError::Refused {
        stream,
        package_id: package_id.to_owned(),
        found: format!("{:?}", session.registration()),
    })
}

/// What one worker saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    first_failure: Option<String>,
    latencies: Vec<u64>,
}

/// The measured window, shared by the workers: nanoseconds from `origin`.
struct Window {
    origin: Instant,
    /// Transactions left to start (count mode), or -1 (time mode).
    budget: AtomicI64,
    from: Duration,
    until: Option<Duration>,
}

impl Window {
    /// May a worker start another transaction now?
    fn admit(&self) -> bool {
        match self.until {
            Some(until) => self.origin.elapsed() < until,
            None => self.budget.fetch_sub(1, Ordering::Relaxed) > 0,
        }
    }

    /// Does a transaction that ran from `start` to `end` count?
    fn counts(&self, start: Duration, end: Duration) -> (bool, bool) {
        let completed_inside = end >= self.from && self.until.is_none_or(|u| end <= u);
        (completed_inside, completed_inside && start >= self.from)
    }
}

async fn worker(
    session: Arc<Session>,
    channel: Arc<str>,
    args: Arc<Vec<String>>,
    expected: Option<Arc<str>>,
    window: Arc<Window>,
) -> Tally {
    let mut tally = Tally::default();
    while window.admit() {
        let start = window.origin.elapsed();
        let result = session
            .invoke(&channel, args.iter().map(String::as_bytes))
            .await;
        let end = window.origin.elapsed();
        let failure = match &result {
            Ok(outcome) if outcome.is_success() => match &expected {
                Some(want) if outcome.payload() != want.as_bytes() => Some(format!(
                    "payload {:?}, expected {want:?}",
                    String::from_utf8_lossy(outcome.payload())
                )),
                _ => None,
            },
            Ok(TxOutcome::Completed { response, .. }) => Some(format!(
                "COMPLETED status {}: {}",
                response.status, response.message
            )),
            Ok(TxOutcome::Error { message }) => Some(format!("ERROR {message}")),
            Ok(TxOutcome::Unreadable { error }) => Some(error.clone()),
            Err(e) => Some(e.to_string()),
        };
        let (counted, timed) = window.counts(start, end);
        if counted {
            match failure {
                None => tally.ok += 1,
                Some(text) => {
                    tally.failed += 1;
                    tally.first_failure.get_or_insert(text);
                }
            }
        }
        if timed {
            tally
                .latencies
                .push(u64::try_from((end - start).as_nanos()).unwrap_or(u64::MAX));
        }
        if result.is_err() {
            // The stream is gone or the server stopped answering: more
            // transactions on it would fail the same way, at once.
            break;
        }
    }
    tally
}

/// Runs the load `config` describes and reports it.
pub async fn run(config: &LoadConfig) -> Result<Report, LoadError> {
    if config.streams == 0 {
        return Err(LoadError::Zero { what: "streams" });
    }
    if config.in_flight == 0 {
        return Err(LoadError::Zero { what: "in flight" });
    }
    // No history: every write of a long run would stay in memory.
    let world = WorldState::without_history();
    let simulator = Simulator::new(config.package_id.clone())
        .world(world.clone())
        .startup_timeout(config.startup_timeout);
    let mut started = None;
    let mut startup = None;
    let mut sessions = Vec::with_capacity(config.streams);
    let pid = match &config.server {
        Server::None => None,
        Server::Pid(pid) => Some(pid.to_string()),
        Server::Spawn { program, args, log } => {
            let begun = Instant::now();
            let mut child = spawn(program, args, log)?;
            let session = first_session(&simulator, config, &mut child).await?;
            startup = Some(begun.elapsed());
            check_registered(&session, 0, &config.package_id)?;
            let pid = child.child.id().to_string();
            sessions.push(session);
            started = Some(child);
            Some(pid)
        }
    };
    while sessions.len() < config.streams {
        let stream = sessions.len();
        let session = simulator
            .connect(&config.connection, &config.dial)
            .await
            .map_err(|source| LoadError::Session { stream, source })?;
        check_registered(&session, stream, &config.package_id)?;
        sessions.push(session);
    }
    let value = vec![b'r'; config.workload.value_bytes];
    for key in config.workload.read_keys() {
        world.put(
            &config.channel,
            simulator.config().chaincode_name.as_str(),
            &key,
            value.clone(),
        );
    }
    let rss_idle = match &pid {
        Some(pid) => Some(proc_memory(pid, "VmRSS")?),
        None => None,
    };

    let (from, until, budget) = match config.stop {
        Stop::Count(n) => (Duration::ZERO, None, i64::try_from(n).unwrap_or(i64::MAX)),
        Stop::Time { warmup, measure } => (warmup, Some(warmup + measure), -1),
    };
    let window = Arc::new(Window {
        origin: Instant::now(),
        budget: AtomicI64::new(budget),
        from,
        until,
    });
    let channel: Arc<str> = Arc::from(config.channel.as_str());
    let args = Arc::new(config.workload.args());
    let expected: Option<Arc<str>> = config
        .verify
        .then(|| Arc::from(config.workload.expected_payload().as_str()));
    let mut workers = tokio::task::JoinSet::new();
    for session in sessions.into_iter().map(Arc::new) {
        for _ in 0..config.in_flight {
            workers.spawn(worker(
                Arc::clone(&session),
                Arc::clone(&channel),
                Arc::clone(&args),
                expected.clone(),
                Arc::clone(&window),
            ));
        }
    }

    // CPU samples at the window's edges (count mode: the whole run).
    let sample = |pid: &Option<String>| -> Result<(Option<Duration>, Option<Duration>), LoadError> {
        let server = match pid {
            Some(pid) => Some(proc_cpu(pid)?),
            None => None,
        };
        Ok((server, proc_cpu("self").ok()))
    };
    let mut first = sample(&pid)?;
    let mut last = None;
    if let Some(until) = until {
        tokio::time::sleep_until((window.origin + from).into()).await;
        first = sample(&pid)?;
        tokio::time::sleep_until((window.origin + until).into()).await;
        last = Some((sample(&pid)?, window.origin.elapsed()));
    }
    let mut tally = Tally::default();
    while let Some(done) = workers.join_next().await {
        // A worker that panicked is a bug of ours: report it as a failure.
        let done = done.unwrap_or_else(|e| Tally {
            failed: 1,
            first_failure: Some(format!("a driver worker failed: {e}")),
            ..Default::default()
        });
        tally.ok += done.ok;
        tally.failed += done.failed;
        if tally.first_failure.is_none() {
            tally.first_failure = done.first_failure;
        }
        tally.latencies.extend(done.latencies);
    }
    let ((server_end, driver_end), end) = match last {
        Some(last) => last,
        None => (sample(&pid)?, window.origin.elapsed()),
    };
    let elapsed = end.saturating_sub(from);
    let server = match (&pid, first.0, server_end, rss_idle) {
        (Some(pid), Some(a), Some(b), Some(rss_idle_bytes)) => Some(ServerUsage {
            pid: pid.parse().unwrap_or_default(),
            cpu: b.saturating_sub(a),
            rss_idle_bytes,
            rss_peak_bytes: proc_memory(pid, "VmHWM")?,
        }),
        _ => None,
    };
    let driver_cpu = match (first.1, driver_end) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    drop(started);
    Ok(Report {
        streams: config.streams,
        in_flight: config.in_flight,
        workload: config.workload.clone(),
        transactions: tally.ok,
        failures: tally.failed,
        first_failure: tally.first_failure,
        elapsed,
        latency: Latency::of(&mut tally.latencies),
        server,
        startup,
        driver_cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<u64> = (1..=1000).rev().collect();
        let l = Latency::of(&mut samples);
        assert_eq!(l.p50, Duration::from_nanos(500));
        assert_eq!(l.p99, Duration::from_nanos(990));
        assert_eq!(l.p999, Duration::from_nanos(999));
        assert_eq!(l.max, Duration::from_nanos(1000));
        assert_eq!(Latency::of(&mut []), Latency::default());
    }

    #[test]
    fn bench_arguments_and_expected_payload() {
        let w = Workload {
            reads: 3,
            writes: 2,
            value_bytes: 10,
            key: "k".into(),
        };
        assert_eq!(w.args(), ["bench", "3", "2", "10", "k"]);
        assert_eq!(w.expected_payload(), "30");
        assert_eq!(w.read_keys().collect::<Vec<_>>(), ["k:r0", "k:r1", "k:r2"]);
    }

    #[test]
    fn our_own_proc_numbers_read() {
        assert!(proc_memory("self", "VmRSS").unwrap_or(0) > 0);
        assert!(proc_memory("self", "VmHWM").unwrap_or(0) > 0);
        assert!(proc_cpu("self").is_ok());
        assert!(matches!(
            proc_memory("self", "VmNoSuch"),
            Err(LoadError::ProcFormat { .. })
        ));
    }

    #[test]
    fn a_timed_window_counts_completions_inside_it() {
        let window = Window {
            origin: Instant::now(),
            budget: AtomicI64::new(-1),
            from: Duration::from_secs(1),
            until: Some(Duration::from_secs(2)),
        };
        let s = Duration::from_millis;
        assert_eq!(window.counts(s(900), s(1100)), (true, false));
        assert_eq!(window.counts(s(1100), s(1200)), (true, true));
        assert_eq!(window.counts(s(1900), s(2100)), (false, false));
        assert_eq!(window.counts(s(100), s(200)), (false, false));
    }
}
