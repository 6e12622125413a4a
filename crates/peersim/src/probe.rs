//! Probing a chaincode server as the peer would at the first invoke, step
//! by step: the address, TCP within `dial_timeout`, TLS as the peer's Go
//! client, gRPC `protos.Chaincode/Connect`, REGISTER against the package
//! ID, REGISTERED and READY, optionally one transaction, and the close.
//! Each step is timed and judged; the verdict says whether the peer's first
//! invoke would work. Behind `ccaas probe`.
//!
//! ```no_run
//! use ccaas_core::Connection;
//! use ccaas_peersim::probe::{self, ProbeOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let connection = Connection { address: "127.0.0.1:9999".into(), ..Default::default() };
//! let mut options = ProbeOptions::new("kv_1.0:ab12");
//! options.invoke = Some(vec!["ping".into()]);
//! let report = probe::probe(&connection, &options).await?;
//! for step in &report.steps {
//!     println!("{} {} {:?} {}", step.kind, step.status, step.elapsed, step.summary);
//! }
//! assert!(report.verdict.works());
//! # Ok(())
//! # }
//! ```
//!
//! Host names are resolved only with [`ProbeOptions::resolve`].

use crate::dial::{self, BoxedIo, DialError, DialOptions, TlsObservation};
use crate::session::{Profile, Registration, Session, SessionError, Simulator, TxOutcome};
use ccaas_core::report::chain;
use ccaas_core::{Address, Connection, TlsMode};
use rustls::pki_types::{CertificateDer, ServerName};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// The peer's `chaincode.startuptimeout` default: how long it waits for
/// REGISTER before "timeout expired while starting chaincode".
pub const PEER_STARTUP_TIMEOUT: Duration = Duration::from_secs(300);

/// How long the probe waits for REGISTER by default (the peer waits
/// [`PEER_STARTUP_TIMEOUT`]; a server that registers at all does so at once).
pub const DEFAULT_REGISTER_WAIT: Duration = Duration::from_secs(10);

/// Which Fabric release the probe plays: it decides READY's payload, which
/// TLS server name is checked, and whether ALPN `h2` is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerRelease {
    /// Fabric v2.5 (v2.5.12+): `domain` is never read; ALPN `h2` required
    /// (grpc-go 1.70); READY empty.
    #[default]
    V2_5,
    /// Fabric v3.0: `domain` is the server name with client auth; ALPN not
    /// required (grpc-go 1.66); READY empty.
    V3_0,
    /// Fabric v3.1+: `domain` with client auth; ALPN `h2` required; READY
    /// carries `ChaincodeAdditionalParams`.
    V3_1,
}

impl PeerRelease {
    /// The session profile (READY's payload, batch requests).
    pub fn profile(self) -> Profile {
        match self {
            PeerRelease::V2_5 | PeerRelease::V3_0 => Profile::V2_5,
            PeerRelease::V3_1 => Profile::V3_1,
        }
    }

    /// Whether this release checks `domain` (with client auth) instead of
    /// the address host: v3.0+ (`core/container/externalbuilder/instance.go`).
    pub fn honours_domain(self) -> bool {
        self != PeerRelease::V2_5
    }

    /// Whether this release refuses a TLS server without ALPN `h2`: built
    /// with grpc-go 1.67+ (v2.5.12+, v3.1.0+ by their `go.mod`).
    pub fn requires_alpn_h2(self) -> bool {
        self != PeerRelease::V3_0
    }
}

impl fmt::Display for PeerRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerRelease::V2_5 => "v2.5",
            PeerRelease::V3_0 => "v3.0",
            PeerRelease::V3_1 => "v3.1",
        })
    }
}

impl std::str::FromStr for PeerRelease {
    type Err = ProbeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v2.5" | "2.5" => Ok(PeerRelease::V2_5),
            "v3.0" | "3.0" => Ok(PeerRelease::V3_0),
            "v3.1" | "3.1" => Ok(PeerRelease::V3_1),
            _ => Err(ProbeError::UnknownRelease {
                found: s.to_owned(),
            }),
        }
    }
}

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The package ID the peer launches (REGISTER must carry exactly it).
    pub package_id: String,
    /// The peer to play.
    pub release: PeerRelease,
    /// `HOST:PORT` to dial instead of the address (a port-forward); TLS
    /// still checks the name the peer would.
    pub connect: Option<String>,
    /// Resolve a host name (the default is no lookup at all).
    pub resolve: bool,
    /// How long to wait for REGISTER.
    pub register_wait: Duration,
    /// One transaction to send once READY (function first).
    pub invoke: Option<Vec<String>>,
    /// The channel of that transaction.
    pub channel: String,
    /// The TLS server name to check instead of the one the release would
    /// (the address host, or `domain`).
    pub server_name: Option<String>,
}

impl ProbeOptions {
    /// Probing for `package_id` as a v2.5 peer, no lookup, no transaction.
    pub fn new(package_id: impl Into<String>) -> Self {
        ProbeOptions {
            package_id: package_id.into(),
            release: PeerRelease::V2_5,
            connect: None,
            resolve: false,
            register_wait: DEFAULT_REGISTER_WAIT,
            invoke: None,
            channel: "mychannel".into(),
            server_name: None,
        }
    }
}

/// What stops a probe before any step can be judged: the operator's input.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// `address` or `--connect` is not `host:port`.
    #[error("{what} `{found}`: {source}")]
    Address {
        /// `address` or `--connect`.
        what: &'static str,
        /// As written.
        found: String,
        /// Why.
        #[source]
        source: ccaas_core::address::AddressError,
    },
    /// A host name, and no lookup allowed.
    #[error("{what} `{found}`: host `{host}` is a name, and the probe resolves names only with --resolve; pass --resolve, or --connect IP:PORT to dial an address of your choice (TLS still checks the name the peer would)")]
    NeedsResolve {
        /// `address` or `--connect`.
        what: &'static str,
        /// As written.
        found: String,
        /// The host.
        host: String,
    },
    /// A release that is not v2.5, v3.0 or v3.1.
    #[error("unknown Fabric release `{found}` (expected `v2.5`, `v3.0` or `v3.1`)")]
    UnknownRelease {
        /// What was given.
        found: String,
    },
    /// An empty `--invoke`.
    #[error("--invoke is empty: give the function and its arguments, e.g. `ping`")]
    EmptyInvoke,
}

/// The steps, in the order the peer takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Where to dial.
    Address,
    /// TCP connect.
    Tcp,
    /// TLS handshake.
    Tls,
    /// HTTP/2 and `protos.Chaincode/Connect`.
    Grpc,
    /// The chaincode's REGISTER.
    Register,
    /// REGISTERED and READY.
    Ready,
    /// The transaction.
    Invoke,
    /// Ending the stream.
    Close,
}

impl StepKind {
    /// The stable name (`--json`).
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Address => "address",
            StepKind::Tcp => "tcp",
            StepKind::Tls => "tls",
            StepKind::Grpc => "grpc",
            StepKind::Register => "register",
            StepKind::Ready => "ready",
            StepKind::Invoke => "invoke",
            StepKind::Close => "close",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Passed.
    Ok,
    /// Passed here, with something that fails on some peers.
    Warn,
    /// Failed: the peer's first invoke would fail.
    Fail,
}

impl Status {
    /// `ok`, `warn` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step: what it did, how long it took, what it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Which step.
    pub kind: StepKind,
    /// Its verdict.
    pub status: Status,
    /// How long it took.
    pub elapsed: Duration,
    /// One line: what happened.
    pub summary: String,
    /// Further lines: names checked, what the peer would do, hints.
    pub details: Vec<String>,
}

/// The server's certificate, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Subject alternative names (`DNS:x`, `IP:y`).
    pub sans: Vec<String>,
    /// Not valid before.
    pub not_before: String,
    /// Not valid after.
    pub not_after: String,
    /// `valid`, `expired` or `not yet valid`, now.
    pub validity: &'static str,
}

impl CertificateInfo {
    /// Reads a DER certificate; `None` if it does not parse.
    pub fn from_der(der: &[u8]) -> Option<CertificateInfo> {
        use x509_parser::extensions::GeneralName;
        use x509_parser::prelude::{FromDer, X509Certificate};
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let sans = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|ext| {
                ext.value
                    .general_names
                    .iter()
                    .map(|name| match name {
                        GeneralName::DNSName(d) => format!("DNS:{d}"),
                        GeneralName::IPAddress(b) => {
                            match (<[u8; 4]>::try_from(*b), <[u8; 16]>::try_from(*b)) {
                                (Ok(v4), _) => format!("IP:{}", IpAddr::from(v4)),
                                (_, Ok(v6)) => format!("IP:{}", IpAddr::from(v6)),
                                _ => "IP:(malformed)".to_owned(),
                            }
                        }
                        other => format!("{other}"),
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let validity = cert.validity();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let state = if now > validity.not_after.timestamp() {
            "expired"
        } else if now < validity.not_before.timestamp() {
            "not yet valid"
        } else {
            "valid"
        };
        Some(CertificateInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            sans,
            not_before: validity.not_before.to_string(),
            not_after: validity.not_after.to_string(),
            validity: state,
        })
    }

    /// The lines the report prints.
    pub fn lines(&self) -> Vec<String> {
        let sans = if self.sans.is_empty() {
            "none (a Go client ignores the Common Name: nothing can match)".to_owned()
        } else {
            self.sans.join(", ")
        };
        vec![
            format!("server certificate: subject `{}`", self.subject),
            format!("  names (SAN): {sans}"),
            format!("  issuer: `{}`", self.issuer),
            format!(
                "  valid {} to {} ({})",
                self.not_before, self.not_after, self.validity
            ),
        ]
    }
}

/// The transaction's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeResult {
    /// The arguments sent (function first).
    pub args: Vec<String>,
    /// `COMPLETED`, `ERROR` or `unreadable`.
    pub kind: &'static str,
    /// The response status (COMPLETED).
    pub status: Option<i32>,
    /// The response message, or the ERROR text.
    pub message: String,
    /// The response payload.
    pub payload: Vec<u8>,
}

/// Whether the peer's first invoke would work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every step passed.
    Works,
    /// A step failed.
    Fails {
        /// The step.
        step: StepKind,
        /// Why, and what the peer would do.
        reason: String,
    },
}

impl Verdict {
    /// True for [`Verdict::Works`].
    pub fn works(&self) -> bool {
        *self == Verdict::Works
    }
}

/// Everything a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// The package ID the peer launches.
    pub package_id: String,
    /// The address in connection.json.
    pub address: String,
    /// The socket address dialled, once known.
    pub target: Option<SocketAddr>,
    /// The TLS mode.
    pub tls: TlsMode,
    /// The TLS server name checked (TLS on).
    pub server_name: Option<String>,
    /// The release played.
    pub release: PeerRelease,
    /// The dial timeout (TCP, TLS and HTTP/2 together).
    pub dial_timeout: Duration,
    /// Each step taken, in order; the probe stops at the first failure.
    pub steps: Vec<Step>,
    /// The server's certificate, when TLS got that far.
    pub server_certificate: Option<CertificateInfo>,
    /// The transaction's answer.
    pub invoke: Option<InvokeResult>,
    /// The name the server registered with, once it sent a readable REGISTER.
    pub registered_as: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
}

impl ProbeReport {
    /// The stable `--json` shape (documented in docs/cli.md).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let (verdict, failed_step, reason) = match &self.verdict {
            Verdict::Works => ("works", None, None),
            Verdict::Fails { step, reason } => ("fails", Some(step.as_str()), Some(reason.clone())),
        };
        json!({
            "package_id": self.package_id,
            "address": self.address,
            "dialled": self.target.map(|t| t.to_string()),
            "tls": self.tls.to_string(),
            "server_name": self.server_name,
            "release": self.release.to_string(),
            "dial_timeout": ccaas_core::GoDuration::from_nanos(i64::try_from(self.dial_timeout.as_nanos()).unwrap_or(i64::MAX)).to_string(),
            "steps": self.steps.iter().map(|s| json!({
                "step": s.kind.as_str(),
                "status": s.status.as_str(),
                "duration_ms": s.elapsed.as_secs_f64() * 1000.0,
                "summary": s.summary,
                "details": s.details,
            })).collect::<Vec<_>>(),
            "server_certificate": self.server_certificate.as_ref().map(|c| json!({
                "subject": c.subject,
                "issuer": c.issuer,
                "sans": c.sans,
                "not_before": c.not_before,
                "not_after": c.not_after,
                "validity": c.validity,
            })),
            "invoke": self.invoke.as_ref().map(|i| json!({
                "args": i.args,
                "kind": i.kind,
                "status": i.status,
                "message": i.message,
                "payload": String::from_utf8_lossy(&i.payload),
            })),
            "verdict": verdict,
            "failed_step": failed_step,
            "reason": reason,
            "ok": self.verdict.works(),
        })
    }
}

/// Builds the report as the steps run.
struct Recorder {
    report: ProbeReport,
}

impl Recorder {
    fn step(&mut self, kind: StepKind, status: Status, started: Instant, summary: String) {
        self.report.steps.push(Step {
            kind,
            status,
            elapsed: started.elapsed(),
            summary,
            details: Vec::new(),
        });
    }

    fn detail(&mut self, line: impl Into<String>) {
        if let Some(step) = self.report.steps.last_mut() {
            step.details.push(line.into());
        }
    }

    /// Records a failed step and its verdict, and hands back the report
    /// (as a [`ProbeReport`], or whatever holds one).
    fn fail<T: From<ProbeReport>>(
        mut self,
        kind: StepKind,
        started: Instant,
        summary: String,
        details: Vec<String>,
        reason: String,
    ) -> T {
        self.step(kind, Status::Fail, started, summary);
        for d in details {
            self.detail(d);
        }
        self.report.verdict = Verdict::Fails { step: kind, reason };
        T::from(self.report)
    }
}

/// The rustls error inside an I/O error from the handshake, if any.
fn rustls_error(error: &std::io::Error) -> Option<&rustls::Error> {
    error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
}

/// Dials `connection` as the peer would for `options.package_id` and
/// reports each step. Errors are the operator's input only; everything the
/// server does is in the report.
pub async fn probe(
    connection: &Connection,
    options: &ProbeOptions,
) -> Result<ProbeReport, ProbeError> {
    let simulator = Simulator::new(options.package_id.clone())
        .profile(options.release.profile())
        .startup_timeout(options.register_wait);
    let (mut rec, session) = match open(connection, options, &simulator).await? {
        Opened::Ready(rec, session) => (rec, session),
        Opened::Failed(report) => return Ok(report),
    };
    // 7. One transaction.
    if let Some(args) = &options.invoke {
        let started = Instant::now();
        let outcome = session
            .invoke(&options.channel, args.iter().map(|a| a.as_bytes().to_vec()))
            .await;
        let shown = args.join(" ");
        match outcome {
            Ok(outcome) => {
                let result = invoke_result(args, &outcome);
                let answer = describe_answer(&result);
                rec.report.invoke = Some(result);
                if outcome.is_success() {
                    rec.step(
                        StepKind::Invoke,
                        Status::Ok,
                        started,
                        format!("`{shown}` on `{}`: {answer}", options.channel),
                    );
                } else {
                    let why = match &outcome {
                        TxOutcome::Completed { .. } => "a status of 400 or more: the peer does not endorse it",
                        TxOutcome::Error { .. } => "ERROR: the peer fails the transaction",
                        TxOutcome::Unreadable { .. } => "a COMPLETED whose payload is not a `Response`: the peer fails the transaction (\"failed to unmarshal response\")",
                    };
                    session.close().await;
                    return Ok(rec.fail(
                        StepKind::Invoke,
                        started,
                        format!("`{shown}` on `{}`: {answer}", options.channel),
                        Vec::new(),
                        format!("the chaincode answers `{shown}` with {why}"),
                    ));
                }
            }
            Err(e) => {
                session.close().await;
                return Ok(rec.fail(
                    StepKind::Invoke,
                    started,
                    format!("`{shown}` on `{}`: {}", options.channel, chain(&e)),
                    Vec::new(),
                    format!("the transaction fails: {}", chain(&e)),
                ));
            }
        }
    }

    // 8. Close, as a peer that goes away.
    let started = Instant::now();
    let ended_before = session.ended();
    session.close().await;
    match ended_before {
        Some(end) => {
            rec.step(
                StepKind::Close,
                Status::Warn,
                started,
                format!("the stream had already ended: {end}"),
            );
            rec.detail(
                "the peer never reconnects by itself: the next invoke launches the chaincode again",
            );
        }
        None => rec.step(
            StepKind::Close,
            Status::Ok,
            started,
            "stream ended by the probe".into(),
        ),
    }
    Ok(rec.report)
}

/// A probe that stops once READY and hands over the open stream, for a
/// caller that goes on to run transactions (the `ccaas-peersim` command):
/// a dial that fails is reported in the probe's words, step by step.
#[derive(Debug)]
pub struct Connected {
    /// The steps up to READY (or up to the one that failed).
    pub report: ProbeReport,
    /// The open stream, when every step passed.
    pub session: Option<Session>,
}

/// Dials `connection` as [`probe`] does, with `simulator` playing the peer
/// (its package ID, chaincode name, ledger, creator, timeouts; `options`
/// gives the release, where to dial and the server name), and stops once
/// READY: the session is open for transactions. When a step fails, the
/// report says which and why, as `probe` does.
pub async fn connect(
    connection: &Connection,
    options: &ProbeOptions,
    simulator: &Simulator,
) -> Result<Connected, ProbeError> {
    Ok(match open(connection, options, simulator).await? {
        Opened::Ready(rec, session) => Connected {
            report: rec.report,
            session: Some(session),
        },
        Opened::Failed(report) => Connected {
            report,
            session: None,
        },
    })
}

/// Steps 1 to 6, up to READY.
enum Opened {
    Ready(Recorder, Session),
    Failed(ProbeReport),
}

impl From<ProbeReport> for Opened {
    fn from(report: ProbeReport) -> Self {
        Opened::Failed(report)
    }
}

async fn open(
    connection: &Connection,
    options: &ProbeOptions,
    simulator: &Simulator,
) -> Result<Opened, ProbeError> {
    if options.invoke.as_ref().is_some_and(Vec::is_empty) {
        return Err(ProbeError::EmptyInvoke);
    }
    let address = Address::parse(&connection.address).map_err(|source| ProbeError::Address {
        what: "address",
        found: connection.address.clone(),
        source,
    })?;
    let dial_to = match &options.connect {
        Some(text) => Address::parse(text).map_err(|source| ProbeError::Address {
            what: "--connect",
            found: text.clone(),
            source,
        })?,
        None => address.clone(),
    };
    let what = if options.connect.is_some() {
        "--connect"
    } else {
        "address"
    };
    let literal = dial_to.host().parse::<IpAddr>().ok();
    if literal.is_none() && !options.resolve {
        return Err(ProbeError::NeedsResolve {
            what,
            found: dial_to.as_str().to_owned(),
            host: dial_to.host().to_owned(),
        });
    }
    let timeout = dial::dial_timeout(connection);
    let mut rec = Recorder {
        report: ProbeReport {
            package_id: options.package_id.clone(),
            address: connection.address.clone(),
            target: None,
            tls: connection.tls_mode(),
            server_name: None,
            release: options.release,
            dial_timeout: timeout,
            steps: Vec::new(),
            server_certificate: None,
            invoke: None,
            registered_as: None,
            verdict: Verdict::Works,
        },
    };

    // 1. The address.
    let started = Instant::now();
    let target = match literal {
        Some(ip) => SocketAddr::new(ip, dial_to.port()),
        None => match tokio::net::lookup_host(dial_to.as_str()).await {
            Ok(found) => {
                let found: Vec<SocketAddr> = found.collect();
                match found.first() {
                    Some(first) => {
                        let all: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                        rec.step(
                            StepKind::Address,
                            Status::Ok,
                            started,
                            format!(
                                "resolved `{}` to {} (--resolve); dialling {first}",
                                dial_to.host(),
                                all.join(", ")
                            ),
                        );
                        *first
                    }
                    None => {
                        return Ok(rec.fail(
                            StepKind::Address,
                            started,
                            format!("`{}` resolves to no address", dial_to.host()),
                            Vec::new(),
                            format!("the peer cannot resolve `{}`", dial_to.host()),
                        ))
                    }
                }
            }
            Err(e) => {
                return Ok(rec.fail(
                    StepKind::Address,
                    started,
                    format!("cannot resolve `{}`: {e}", dial_to.host()),
                    vec![
                    "this machine's resolver is not the peer's: check from the peer's network too"
                        .into(),
                ],
                    format!("the address `{}` does not resolve", dial_to.host()),
                ))
            }
        },
    };
    rec.report.target = Some(target);
    if literal.is_some() {
        let how = if options.connect.is_some() {
            format!(
                "dialling {target} (--connect) instead of `{}`",
                address.as_str()
            )
        } else {
            format!("{target}, an IP literal: no lookup")
        };
        rec.step(StepKind::Address, Status::Ok, started, how);
    }

    // 2. TCP, within the dial timeout (which also bounds TLS and HTTP/2).
    let started = Instant::now();
    let deadline = started + timeout;
    let tcp = match dial::tcp_connect(target, deadline, timeout).await {
        Ok(tcp) => tcp,
        Err(DialError::Connect { source, .. }) => {
            let summary = match source.kind() {
                std::io::ErrorKind::ConnectionRefused => format!("connection to {target} refused: nothing listens there"),
                _ => format!("connect to {target} failed: {source}"),
            };
            return Ok(rec.fail(
                StepKind::Tcp,
                started,
                summary,
                vec!["is the chaincode server running, listening on this port and on an interface the peer reaches (`0.0.0.0`, not `127.0.0.1`, in a container)?".into()],
                format!("the peer cannot connect to {target}: its dial fails and the invoke fails"),
            ));
        }
        Err(e) => {
            return Ok(rec.fail(
                StepKind::Tcp,
                started,
                chain(&e),
                Vec::new(),
                format!("no TCP connection to {target} within the dial timeout {timeout:?}: the peer's dial fails"),
            ))
        }
    };
    rec.step(
        StepKind::Tcp,
        Status::Ok,
        started,
        format!("connected to {target} (dial timeout {timeout:?} for TCP, TLS and HTTP/2)"),
    );

    // 3. TLS as the peer's Go client.
    let mut observed = TlsObservation::default();
    let io: BoxedIo = if connection.tls_mode() == TlsMode::Off {
        Box::pin(tcp)
    } else {
        let started = Instant::now();
        let (name, why) = match &options.server_name {
            Some(name) => (name.clone(), "the name given to check instead".to_owned()),
            None => chosen_name(connection, &address, options.release),
        };
        rec.report.server_name = Some(name.clone());
        let (result, seen) = dial::tls_handshake(
            connection,
            &name,
            tcp,
            deadline,
            timeout,
            options.release.requires_alpn_h2(),
        )
        .await;
        observed = seen;
        rec.report.server_certificate = observed
            .server_chain
            .first()
            .and_then(|c| CertificateInfo::from_der(c));
        match result {
            Ok(io) => {
                let version = observed.protocol.clone().unwrap_or_default();
                let alpn = match observed.alpn.as_deref() {
                    Some(p) => format!("ALPN `{}`", String::from_utf8_lossy(p)),
                    None => "no ALPN".to_owned(),
                };
                let auth = if connection.tls_mode() == TlsMode::Mutual {
                    ", client certificate sent"
                } else {
                    ""
                };
                let unanswered =
                    observed.client_cert_requested && connection.tls_mode() != TlsMode::Mutual;
                let status = if observed.alpn.is_none() || unanswered {
                    Status::Warn
                } else {
                    Status::Ok
                };
                rec.step(
                    StepKind::Tls,
                    status,
                    started,
                    format!("{version}, {alpn}, certificate verified for `{name}` against `root_cert`{auth}"),
                );
                rec.detail(format!("server name `{name}`: {why}"));
                if observed.alpn.is_none() {
                    rec.detail("the server negotiated no ALPN: Fabric v3.0 (grpc-go 1.66) accepts that, but v2.5.12+ and v3.1+ (grpc-go 1.67+) refuse it (\"missing selected ALPN property\"); serve ALPN `h2`");
                }
                if options.server_name.is_none() {
                    other_release_name(&mut rec, connection, &address, options.release, &observed);
                }
                if observed.client_cert_requested && connection.tls_mode() != TlsMode::Mutual {
                    rec.detail("the server asked for a client certificate and the peer sends none (`client_auth_required` is false)");
                }
                io
            }
            Err(e) => {
                let (summary, mut details, reason) =
                    tls_failure(&e, connection, &name, &observed, target);
                details.insert(0, format!("server name `{name}`: {why}"));
                if let Some(cert) = &rec.report.server_certificate {
                    details.extend(cert.lines());
                }
                return Ok(rec.fail(StepKind::Tls, started, summary, details, reason));
            }
        }
    };

    // 4. gRPC: HTTP/2, then protos.Chaincode/Connect.
    let started = Instant::now();
    let dial_options = DialOptions::default();
    let mutual = connection.tls_mode() == TlsMode::Mutual;
    let missing_client_cert = observed.client_cert_requested && !mutual;
    let transport = match dial::open_connect(io, &address, target, deadline, timeout, &dial_options)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            let mut details = Vec::new();
            let mut reason = format!("the peer's dial of {target} fails: {}", chain(&e));
            if missing_client_cert {
                details.push("the server asked for a client certificate, and connection.json has `client_auth_required` false, so the peer sends none: the server refuses the connection".to_owned());
                reason = "the server requires a client certificate: set `client_auth_required` with `client_cert` and `client_key` (issued by the CA the server trusts)".into();
            } else if connection.tls_mode() == TlsMode::Off {
                if let Some(cert) = sniff_tls(target, timeout).await {
                    details.push("the server answers a TLS handshake: it serves TLS, and connection.json has `tls_required` false".to_owned());
                    details.extend(cert.lines());
                    reason = "TLS is on in the server and off in connection.json: set `tls_required` and `root_cert`".into();
                    rec.report.server_certificate = Some(cert);
                }
            } else if let DialError::Call { status, .. } = &e {
                if status.code() == tonic::Code::Unimplemented {
                    details.push("the server does not serve `/protos.Chaincode/Connect`: is it a chaincode server (a shim in server mode)?".to_owned());
                }
            }
            return Ok(rec.fail(StepKind::Grpc, started, chain(&e), details, reason));
        }
    };
    rec.step(
        StepKind::Grpc,
        Status::Ok,
        started,
        "HTTP/2 up; `/protos.Chaincode/Connect` stream open".into(),
    );

    // 5. REGISTER.
    let started = Instant::now();
    let session = match simulator.attach(transport).await {
        Ok(session) => session,
        Err(e) => {
            let (summary, reason) = match &e {
                SessionError::StartupTimeout { after } => (
                    format!("no REGISTER within {after:?}"),
                    format!("the server sends no REGISTER: the peer waits `chaincode.startuptimeout` ({} s by default) and fails the invoke with \"timeout expired while starting chaincode {} for transaction\"", PEER_STARTUP_TIMEOUT.as_secs(), options.package_id),
                ),
                other => (
                    chain(other),
                    format!("the stream ends before REGISTER: the peer's launch fails ({})", chain(other)),
                ),
            };
            let mut details = Vec::new();
            if missing_client_cert {
                details.push("the server asked for a client certificate and the peer sent none (`client_auth_required` is false): a server that requires one ends the connection".to_owned());
            }
            return Ok(rec.fail(StepKind::Register, started, summary, details, reason));
        }
    };
    rec.report.registered_as = session.registered_as();
    match session.registration() {
        Some(Registration::Accepted) => rec.step(
            StepKind::Register,
            Status::Ok,
            started,
            format!("REGISTER `{}`: the package ID", options.package_id),
        ),
        Some(Registration::Refused { registered_as }) => {
            let mut details = vec![
                format!("the server registers as `{registered_as}`"),
                format!("the package ID is    `{}`", options.package_id),
                format!("the peer logs \"peer will not accept external chaincode connection {registered_as} (except in dev mode)\", answers nothing, and the invoke fails after `chaincode.startuptimeout` ({} s by default) with \"timeout expired while starting chaincode {} for transaction\"", PEER_STARTUP_TIMEOUT.as_secs(), options.package_id),
            ];
            let label = options.package_id.split(':').next().unwrap_or_default();
            if registered_as == label {
                details.push("the server was given the label, not the package ID".into());
            }
            details.push(format!(
                "start the server with CHAINCODE_ID={}",
                options.package_id
            ));
            session.close().await;
            return Ok(rec.fail(
                StepKind::Register,
                started,
                format!("REGISTER `{registered_as}`: not the package ID"),
                details,
                format!("the server registers as `{registered_as}`, not as the package ID `{}`: the peer waits in silence and the invoke times out after {} s (\"timeout expired while starting chaincode\")", options.package_id, PEER_STARTUP_TIMEOUT.as_secs()),
            ));
        }
        Some(Registration::Unreadable { error }) => {
            session.close().await;
            return Ok(rec.fail(
                StepKind::Register,
                started,
                format!("REGISTER payload is not a `ChaincodeID`: {error}"),
                Vec::new(),
                format!("the peer cannot read the REGISTER, sends nothing, and the invoke times out after {} s", PEER_STARTUP_TIMEOUT.as_secs()),
            ));
        }
        None => {
            session.close().await;
            return Ok(rec.fail(
                StepKind::Register,
                started,
                "no REGISTER".into(),
                Vec::new(),
                "the server sends no REGISTER".into(),
            ));
        }
    }

    // 6. REGISTERED and READY (sent by the session on acceptance).
    let started = Instant::now();
    let ready = match options.release.profile() {
        Profile::V2_5 => "READY empty, as v2.5 and v3.0 send it".to_owned(),
        Profile::V3_1 => {
            let p = session.config().ready_params;
            format!("READY with ChaincodeAdditionalParams{{use_write_batch: {}, max_size_write_batch: {}, use_get_multiple_keys: {}, max_size_get_multiple_keys: {}}}, as v3.1 sends it", p.use_write_batch, p.max_size_write_batch, p.use_get_multiple_keys, p.max_size_get_multiple_keys)
        }
    };
    if let Some(end) = session.ended() {
        return Ok(rec.fail(
            StepKind::Ready,
            started,
            format!("the stream ended after REGISTERED and {ready}: {end}"),
            Vec::new(),
            format!("the chaincode ends the stream once READY: {end}"),
        ));
    }
    rec.step(
        StepKind::Ready,
        Status::Ok,
        started,
        format!("REGISTERED, then {ready}"),
    );
    Ok(Opened::Ready(rec, session))
}

/// The server name `release` checks, and why.
fn chosen_name(
    connection: &Connection,
    address: &Address,
    release: PeerRelease,
) -> (String, String) {
    let domain = connection
        .domain
        .as_deref()
        .filter(|d| !d.is_empty() && *d != address.host());
    let mutual = connection.tls_mode() == TlsMode::Mutual;
    match (domain, mutual, release.honours_domain()) {
        (Some(d), true, true) => (
            d.to_owned(),
            format!("`domain`, which Fabric v3.0+ checks with client auth ({release})"),
        ),
        (Some(_), true, false) => (
            address.host().to_owned(),
            "the address host: Fabric v2.5 ignores `domain` (v3.0+ checks it with client auth)"
                .into(),
        ),
        (Some(_), false, _) => (
            address.host().to_owned(),
            "the address host: `domain` is used only with client auth (and only by Fabric v3.0+)"
                .into(),
        ),
        _ => (address.host().to_owned(), "the address host".into()),
    }
}

/// When `domain` is in play, whether the other releases' name passes too.
fn other_release_name(
    rec: &mut Recorder,
    connection: &Connection,
    address: &Address,
    release: PeerRelease,
    observed: &TlsObservation,
) {
    let other = if release.honours_domain() {
        PeerRelease::V2_5
    } else {
        PeerRelease::V3_1
    };
    let (mine, _) = chosen_name(connection, address, release);
    let (theirs, _) = chosen_name(connection, address, other);
    if mine == theirs {
        return;
    }
    let releases = if other == PeerRelease::V2_5 {
        "a Fabric v2.5 peer checks"
    } else {
        "a Fabric v3.0+ peer checks"
    };
    match dial::verify_chain_for(connection, &observed.server_chain, &theirs) {
        Ok(()) => rec.detail(format!(
            "{releases} `{theirs}` instead: the certificate covers it too"
        )),
        Err(e) => {
            rec.detail(format!(
                "{releases} `{theirs}` instead, and would fail: {}",
                chain(&e)
            ));
            if let Some(step) = rec.report.steps.last_mut() {
                step.status = Status::Warn;
            }
        }
    }
}

/// Words for a failed handshake: summary, details, reason.
fn tls_failure(
    error: &DialError,
    connection: &Connection,
    name: &str,
    observed: &TlsObservation,
    target: SocketAddr,
) -> (String, Vec<String>, String) {
    use rustls::{CertificateError, Error as TlsError};
    let mut details = Vec::new();
    match error {
        DialError::NoAlpn { .. } => {
            details.push("peers built with grpc-go 1.67+ (Fabric v2.5.12+ and v3.1+, by their go.mod) refuse this: \"credentials: cannot check peer: missing selected ALPN property\"; Fabric v3.0 (grpc-go 1.66) accepts it (probe with --profile v3.0 to go on)".into());
            details.push("serve gRPC over TLS with ALPN `h2` (a Go, Node or Java shim does; a hand-built TLS acceptor needs `alpn_protocols = [\"h2\"]`)".into());
            (
                "handshake done, but the server negotiated no ALPN `h2`".into(),
                details,
                "the server does not negotiate ALPN `h2`: Fabric v2.5.12+ and v3.1+ refuse it"
                    .into(),
            )
        }
        DialError::Handshake { source, .. } => {
            let summary = format!("TLS handshake with {target} failed: {}", chain(source));
            let reason = match rustls_error(source) {
                Some(TlsError::InvalidCertificate(CertificateError::NotValidForName))
                | Some(TlsError::InvalidCertificate(CertificateError::NotValidForNameContext {
                    ..
                })) => {
                    details.push(format!("the certificate's names (SANs) do not cover `{name}`; the Common Name does not count for a Go client"));
                    format!("the server certificate does not name `{name}`, the name the peer checks: reissue it with that SAN, or dial a name it has")
                }
                Some(TlsError::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                    details.push(
                        "the server's chain does not lead to a certificate in `root_cert`".into(),
                    );
                    "the server certificate is not issued by `root_cert`: put the server's CA in `root_cert`".into()
                }
                Some(TlsError::InvalidCertificate(
                    CertificateError::Expired | CertificateError::ExpiredContext { .. },
                )) => "the server certificate has expired".into(),
                Some(TlsError::InvalidCertificate(
                    CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
                )) => "the server certificate is not valid yet".into(),
                Some(TlsError::AlertReceived(alert)) => {
                    if connection.tls_mode() != TlsMode::Mutual && observed.client_cert_requested {
                        "the server requires a client certificate: set `client_auth_required` with `client_cert` and `client_key`".into()
                    } else {
                        format!("the server refused the handshake (alert {alert:?})")
                    }
                }
                Some(TlsError::InvalidMessage(_))
                | Some(TlsError::InappropriateMessage { .. })
                | Some(TlsError::InappropriateHandshakeMessage { .. }) => {
                    details.push(
                        "the server's answer is not TLS: it probably serves plain gRPC".into(),
                    );
                    "TLS is on in connection.json and off in the server: turn TLS on in the server, or set `tls_required` false".into()
                }
                _ if source.kind() == std::io::ErrorKind::UnexpectedEof
                    || source.kind() == std::io::ErrorKind::ConnectionReset =>
                {
                    details.push("the server closed the connection during the handshake: it may serve plain gRPC (TLS off), or refuse this client".into());
                    "the server does not complete a TLS handshake: is TLS on in the server?".into()
                }
                _ => format!("the TLS handshake fails: {}", chain(source)),
            };
            (summary, details, reason)
        }
        other => (
            chain(other),
            details,
            format!("the peer's TLS set-up fails: {}", chain(other)),
        ),
    }
}

/// Whether a server that failed plain HTTP/2 answers TLS: one handshake
/// that never trusts anything, only records the certificate shown.
async fn sniff_tls(target: SocketAddr, timeout: Duration) -> Option<CertificateInfo> {
    #[derive(Debug)]
    struct Sniff(
        Arc<Mutex<Option<Vec<u8>>>>,
        Arc<rustls::crypto::CryptoProvider>,
    );
    impl rustls::client::danger::ServerCertVerifier for Sniff {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            if let Ok(mut seen) = self.0.lock() {
                *seen = Some(end_entity.to_vec());
            }
            // Never trusted: the handshake stops here.
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::General("not verified".into()))
        }
        fn verify_tls13_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::General("not verified".into()))
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.1.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = dial::crypto_provider();
    let seen = Arc::new(Mutex::new(None));
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Sniff(Arc::clone(&seen), provider)))
        .with_no_client_auth();
    let deadline = Instant::now() + timeout;
    let tcp = dial::tcp_connect(target, deadline, timeout).await.ok()?;
    let name = ServerName::IpAddress(target.ip().into());
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let _ = tokio::time::timeout_at(deadline, connector.connect(name, tcp)).await;
    let der = seen.lock().ok()?.clone()?;
    CertificateInfo::from_der(&der)
}

fn invoke_result(args: &[String], outcome: &TxOutcome) -> InvokeResult {
    match outcome {
        TxOutcome::Completed { response, .. } => InvokeResult {
            args: args.to_vec(),
            kind: "COMPLETED",
            status: Some(response.status),
            message: response.message.clone(),
            payload: response.payload.clone(),
        },
        TxOutcome::Error { message } => InvokeResult {
            args: args.to_vec(),
            kind: "ERROR",
            status: None,
            message: message.clone(),
            payload: Vec::new(),
        },
        TxOutcome::Unreadable { error } => InvokeResult {
            args: args.to_vec(),
            kind: "unreadable",
            status: None,
            message: error.clone(),
            payload: Vec::new(),
        },
    }
}

/// `COMPLETED status=200 payload="pong"`, payloads cut at 200 characters.
fn describe_answer(result: &InvokeResult) -> String {
    let mut payload: String = String::from_utf8_lossy(&result.payload).into_owned();
    if payload.chars().count() > 200 {
        payload = payload.chars().take(200).collect::<String>() + "…";
    }
    match result.status {
        Some(status) => format!(
            "{} status={status} message={:?} payload={payload:?}",
            result.kind, result.message
        ),
        None => format!("{} {:?}", result.kind, result.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_parse_and_decide_names_and_alpn() {
        for (text, release) in [
            ("v2.5", PeerRelease::V2_5),
            ("3.0", PeerRelease::V3_0),
            ("v3.1", PeerRelease::V3_1),
        ] {
            assert_eq!(text.parse::<PeerRelease>().ok(), Some(release));
        }
        assert!("v2.4".parse::<PeerRelease>().is_err());
        assert!(!PeerRelease::V2_5.honours_domain());
        assert!(PeerRelease::V3_0.honours_domain());
        assert!(!PeerRelease::V3_0.requires_alpn_h2());
        assert!(PeerRelease::V3_1.requires_alpn_h2());
        assert_eq!(PeerRelease::V3_1.profile(), Profile::V3_1);
    }

    /// One row per case of `core/container/externalbuilder/instance.go`:
    /// v2.5 never sets ServerNameOverride; v3.0+ sets it to `domain` with
    /// client auth only.
    #[test]
    fn the_server_name_follows_the_release() {
        let address = Address::parse("cc.example.com:9999").unwrap_or_else(|e| panic!("{e}"));
        let mut c = Connection {
            address: address.as_str().into(),
            tls_required: true,
            domain: Some("mycc.example.com".into()),
            ..Default::default()
        };
        assert_eq!(
            chosen_name(&c, &address, PeerRelease::V3_1).0,
            "cc.example.com"
        );
        c.client_auth_required = true;
        assert_eq!(
            chosen_name(&c, &address, PeerRelease::V2_5).0,
            "cc.example.com"
        );
        assert_eq!(
            chosen_name(&c, &address, PeerRelease::V3_0).0,
            "mycc.example.com"
        );
        assert_eq!(
            chosen_name(&c, &address, PeerRelease::V3_1).0,
            "mycc.example.com"
        );
    }

    #[tokio::test]
    async fn a_name_is_not_resolved_without_resolve() {
        let c = Connection {
            address: "cc.example.com:9999".into(),
            ..Default::default()
        };
        let err = probe(&c, &ProbeOptions::new("kv:1"))
            .await
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(err, ProbeError::NeedsResolve { .. }), "{err}");
        assert!(err.to_string().contains("--resolve"), "{err}");
        let mut options = ProbeOptions::new("kv:1");
        options.connect = Some("localhost:1".into());
        let err = probe(&c, &options).await.map(|_| ()).unwrap_err();
        assert!(
            err.to_string().starts_with("--connect `localhost:1`"),
            "{err}"
        );
    }
}
