//! Test support: the `kv` example run as the peer would find it (a process
//! configured by its environment), and the simulator dialling it.
#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr, missing_docs)]

use ccaas_core::Connection;
use ccaas_peersim::{DialOptions, Session, Simulator};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ID: &str = "kv_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const CHANNEL: &str = "mychannel";

pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(relative)
}

pub fn fixture_text(relative: &str) -> String {
    std::fs::read_to_string(fixture(relative)).unwrap()
}

/// target/<profile>/examples/kv, built by `cargo test` beside the tests.
pub fn kv_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("examples").join("kv")
}

/// The `kv` example running with an environment of our choosing (and
/// nothing else from ours).
pub struct Kv {
    pub child: Child,
    pub address: Option<SocketAddr>,
    pub stderr: Arc<Mutex<Vec<String>>>,
    /// The thread reading stderr: joined once the process has exited, so
    /// every line it printed is in `stderr`.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Kv {
    /// Starts kv with `vars` and waits until it says where it listens (or
    /// exits).
    pub fn start(vars: &[(&str, &str)]) -> Kv {
        let mut command = Command::new(kv_binary());
        command
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in vars {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", kv_binary().display()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stderr);
        let pipe = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
        let mut kv = Kv {
            child,
            address: None,
            stderr,
            reader: Some(reader),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(line) = kv.find("chaincode server listening") {
                // Text (`address=IP:PORT`) or JSON (`"address":"IP:PORT"`).
                let address = line
                    .split("address=")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .or_else(|| line.split("\"address\":\"").nth(1)?.split('"').next())
                    .and_then(|a| a.parse().ok());
                kv.address = address;
                return kv;
            }
            if kv.child.try_wait().unwrap().is_some() {
                return kv;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("kv did not start: {:?}", kv.lines());
    }

    /// kv on 127.0.0.1, any port, with `ID` and `extra`.
    pub fn plain(extra: &[(&str, &str)]) -> Kv {
        let mut vars = vec![
            ("CHAINCODE_ID", ID),
            ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0"),
        ];
        vars.extend_from_slice(extra);
        let kv = Kv::start(&vars);
        assert!(kv.address.is_some(), "kv did not listen: {:?}", kv.lines());
        kv
    }

    pub fn addr(&self) -> SocketAddr {
        self.address.unwrap()
    }

    pub fn lines(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    pub fn find(&self, needle: &str) -> Option<String> {
        self.lines().into_iter().find(|l| l.contains(needle))
    }

    /// Waits up to `timeout` for a stderr line containing `needle`.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.find(needle) {
                return Some(line);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until `n` lines hold `needle`; the number found.
    pub fn wait_for_lines(&self, needle: &str, n: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self.lines().iter().filter(|l| l.contains(needle)).count();
            if found >= n || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The pipe is closed: the reader ends once it has read all.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY-free: kill(1) by its number, as an operator would.
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Open file descriptors of the kv process.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Threads of the kv process.
    pub fn threads(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for Kv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn plain_connection(address: SocketAddr) -> Connection {
    Connection {
        address: address.to_string(),
        ..Default::default()
    }
}

pub fn tls_connection(address: SocketAddr, mutual: bool) -> Connection {
    Connection {
        address: address.to_string(),
        tls_required: true,
        client_auth_required: mutual,
        root_cert: Some(fixture_text("tls/ca.pem")),
        client_cert: mutual.then(|| fixture_text("tls/client.pem")),
        client_key: mutual.then(|| ccaas_core::connection::Secret(fixture_text("tls/client.key"))),
        ..Default::default()
    }
}

pub async fn session(address: SocketAddr) -> Session {
    Simulator::new(ID)
        .connect(&plain_connection(address), &DialOptions::default())
        .await
        .unwrap()
}

/// The payload of a successful transaction, as text.
pub async fn call(session: &Session, args: &[&str]) -> String {
    let outcome = session.invoke(CHANNEL, args.iter().copied()).await.unwrap();
    assert!(outcome.is_success(), "{args:?}: {outcome:?}");
    String::from_utf8(outcome.payload().to_vec()).unwrap()
}

/// The error message of a failed transaction (COMPLETED with status >= 400
/// or ERROR).
pub async fn call_err(session: &Session, args: &[&str]) -> String {
    let outcome = session.invoke(CHANNEL, args.iter().copied()).await.unwrap();
    match outcome {
        ccaas_peersim::TxOutcome::Completed { response, .. } => {
            assert!(response.status >= 400, "{args:?} succeeded: {response:?}");
            response.message
        }
        ccaas_peersim::TxOutcome::Error { message } => message,
        other => panic!("{args:?}: {other:?}"),
    }
}
