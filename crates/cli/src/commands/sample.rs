//! The rest of `ccaas simulate` without a package: after the simulated
//! install of the bundled sample, start the bundled sample chaincode
//! (`asset-transfer-basic`, built by cargo next to `ccaas`) on 127.0.0.1
//! with the test-only server certificate the sample's connection trusts,
//! dial it through the simulated peer as the installed package says
//! (`ccaas_peersim::probe::connect`, keeping the TLS name the peer
//! checks), and run two transactions. The whole system, in one command.

use ccaas_core::Connection;
use ccaas_peersim::probe::{self, PeerRelease, ProbeOptions, Status};
use ccaas_peersim::{Simulator, TxOutcome};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The sample chaincode's program, as cargo names it.
pub const SAMPLE_BINARY: &str = "asset-transfer-basic";

/// The test-only server certificate and key the sample's `root_cert`
/// issued (fixtures/tls/: their private key is public, for tests only).
const SERVER_PEM: &[u8] = include_bytes!("../../../../fixtures/tls/server.pem");
const SERVER_KEY: &[u8] = include_bytes!("../../../../fixtures/tls/server.key");
/// The CA of the sample's client certificate: the server requires it.
const CLIENT_CA: &[u8] = include_bytes!("../../../../fixtures/tls/ca.pem");

/// How long the sample may take to listen.
const START_WAIT: Duration = Duration::from_secs(30);

/// The transactions run, in order: the sample's ledger set-up, then a read.
pub const TRANSACTIONS: [&[&str]; 2] = [&["InitLedger"], &["ReadAsset", "asset1"]];

/// What the sample run did, one line per step.
#[derive(Debug, Default)]
pub struct SampleRun {
    /// `serve`, `connect`, `invoke`... lines: (step, text).
    pub lines: Vec<(&'static str, String)>,
    /// Whether every step worked (a skipped run counts as worked).
    pub ok: bool,
    /// Why the sample was not run at all (no program next to ccaas).
    pub skipped: Option<String>,
}

impl SampleRun {
    fn line(&mut self, step: &'static str, text: impl Into<String>) {
        self.lines.push((step, text.into()));
    }

    /// The lines as `simulate` prints them.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (step, text) in &self.lines {
            out.push_str(&format!("{step:<9} {text}\n"));
        }
        out
    }

    /// The `sample_chaincode` object of `simulate --json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": self.ok,
            "skipped": self.skipped,
            "steps": self.lines.iter().map(|(step, text)| serde_json::json!({"step": step, "text": text})).collect::<Vec<_>>(),
        })
    }
}

/// The sample program next to `ccaas`, if cargo built it there.
fn sample_program() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join(SAMPLE_BINARY);
    path.is_file().then_some(path)
}

/// Kills the sample when dropped (it is ours: started here).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the sample as `package_id`, serving mutual TLS with the files in
/// `dir`, and waits for the address it listens on.
fn start(program: &Path, package_id: &str, dir: &Path) -> Result<(Server, SocketAddr), String> {
    let write = |name: &str, bytes: &[u8], mode: u32| {
        let path = dir.join(name);
        ccaas_core::fs::write_atomic(&path, bytes, mode)
            .map(|()| path)
            .map_err(|e| ccaas_core::report::chain(&e))
    };
    let cert = write("server.pem", SERVER_PEM, 0o644)?;
    let key = write("server.key", SERVER_KEY, 0o600)?;
    let ca = write("client-ca.pem", CLIENT_CA, 0o644)?;
    let mut child = Command::new(program)
        .env_clear()
        .env("CHAINCODE_ID", package_id)
        .env("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0")
        .env("CHAINCODE_TLS_CERT", &cert)
        .env("CHAINCODE_TLS_KEY", &key)
        .env("CHAINCODE_CLIENT_CA_CERT", &ca)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", program.display()))?;
    let Some(pipe) = child.stderr.take() else {
        return Err("no standard error to read the sample's address from".into());
    };
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Read on until the sample exits, so that it never blocks on a
        // full pipe; the first `address=` is its listening address.
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                // Nobody listens any more: drain quietly.
            }
        }
    });
    let mut said = Vec::new();
    let deadline = std::time::Instant::now() + START_WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line
                    .split("address=")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|a| a.parse::<SocketAddr>().ok());
                if let Some(addr) = found {
                    return Ok((server, addr));
                }
                said.push(line);
            }
            Err(_) => {
                let last = said.last().map(|l| format!(": {l}")).unwrap_or_default();
                return Err(format!(
                    "`{}` did not say where it listens within {}s{last}",
                    program.display(),
                    START_WAIT.as_secs()
                ));
            }
        }
    }
}

/// One outcome on one line: status and payload (or the error).
fn outcome_words(outcome: &Result<TxOutcome, ccaas_peersim::SessionError>) -> (bool, String) {
    match outcome {
        Ok(TxOutcome::Completed { response, .. }) => {
            let payload = String::from_utf8_lossy(&response.payload);
            let shown = if payload.is_empty() {
                "empty payload".to_owned()
            } else {
                payload.into_owned()
            };
            let ok = response.status < 400;
            let message = if response.message.is_empty() {
                String::new()
            } else {
                format!(", message {:?}", response.message)
            };
            (ok, format!("status {}{message}, {shown}", response.status))
        }
        Ok(TxOutcome::Error { message }) => (false, format!("ERROR {message:?}")),
        Ok(TxOutcome::Unreadable { error }) => (false, format!("unreadable answer: {error}")),
        Err(e) => (false, ccaas_core::report::chain(e)),
    }
}

/// Serves the sample and runs [`TRANSACTIONS`] through the simulated peer,
/// as `release`, dialling 127.0.0.1 for the `connection` the builder
/// released (its TLS name kept).
pub fn run(connection: &Connection, package_id: &str, release: PeerRelease) -> SampleRun {
    let mut run = SampleRun::default();
    let Some(program) = sample_program() else {
        let why = format!(
            "No sample chaincode next to this ccaas (no `{SAMPLE_BINARY}`; `cargo build --workspace` puts it there): the install above is all; start a chaincode server and use --launch --connect HOST:PORT to go on."
        );
        run.skipped = Some(why.clone());
        run.ok = true;
        run.line("serve", why);
        return run;
    };
    let outcome = (|| -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| format!("no scratch directory: {e}"))?;
        let (_server, addr) = start(&program, package_id, dir.path()).map_err(|e| {
            run.line("serve", format!("FAIL: {e}"));
            e
        })?;
        run.line(
            "serve",
            format!("{SAMPLE_BINARY} (examples/asset-transfer-basic) on {addr}, mutual TLS with the test-only fixtures/tls/server.pem, CHAINCODE_ID={package_id}"),
        );
        let options = ProbeOptions {
            release,
            connect: Some(addr.to_string()),
            ..ProbeOptions::new(package_id)
        };
        let simulator = Simulator::new(package_id).profile(release.profile());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
        runtime.block_on(async {
            let connected = probe::connect(connection, &options, &simulator)
                .await
                .map_err(|e| ccaas_core::report::chain(&e))?;
            let report = &connected.report;
            let Some(session) = connected.session else {
                let failed = report.steps.iter().rev().find(|s| s.status == Status::Fail);
                let why = match &report.verdict {
                    probe::Verdict::Fails { step, reason } => format!("{step}: {reason}"),
                    probe::Verdict::Works => failed.map(|s| s.summary.clone()).unwrap_or_default(),
                };
                run.line("connect", format!("FAIL: {why}"));
                return Err(why);
            };
            let tls = report
                .steps
                .iter()
                .find(|s| s.kind == probe::StepKind::Tls)
                .map(|s| format!(": {}", s.summary))
                .unwrap_or_default();
            run.line(
                "connect",
                format!(
                    "the simulated Fabric {release} peer dialled {addr} for `{}`{tls}; REGISTER `{package_id}`, READY",
                    connection.address
                ),
            );
            let mut all = true;
            for args in TRANSACTIONS {
                let outcome = session.invoke("mychannel", args.iter().copied()).await;
                let (ok, words) = outcome_words(&outcome);
                all &= ok;
                let mark = if ok { "" } else { "FAIL: " };
                run.line("invoke", format!("{mark}{} on `mychannel`: {words}", args.join(" ")));
            }
            session.close().await;
            if all {
                Ok(())
            } else {
                Err("a transaction failed".into())
            }
        })
    })();
    run.ok = outcome.is_ok();
    run
}
