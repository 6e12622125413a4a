//! `kv`: a key-value chaincode served as an external service, configured
//! by the environment (`CHAINCODE_ID` or `CHAINCODE_PACKAGE`,
//! `CHAINCODE_SERVER_ADDRESS`, TLS files: see `ccaas_shim::env`).
//!
//! Functions (first argument): `put KEY VALUE` -> "OK"; `get KEY` -> the
//! value, or the error "no such key"; `del KEY` -> "OK"; `ping` -> "pong";
//! `fill PREFIX N` -> puts PREFIX0000 ... PREFIX{N-1}, each with its key as
//! value, then "OK"; `range START END` -> a JSON array of the keys in
//! [START, END), in order; `sleep MS` -> waits, then "slept"; `panic MSG`
//! -> panics inside the transaction (the server answers ERROR and goes on);
//! `bench R W V [KEY]` -> the load driver's transaction (`ccaas-load`): gets
//! `KEY:r0` ... `KEY:r{R-1}` in order, then puts `KEY:w0` ... `KEY:w{W-1}`,
//! each with the same V bytes (the txid's bytes repeated, zeros for an empty
//! txid), and answers the total length of the values read, in decimal
//! (absent keys count 0). KEY defaults to `bench`; R and W go up to 10000,
//! V up to 16777216. `benches/node-kv` has the same function.
//!
//! `KV_WORKER_THREADS=1` serves on one thread (tokio's current-thread
//! runtime), N > 1 on N worker threads; unset, one per core.
//! `ckey OBJECTTYPE ATTR...` -> puts that composite key with value "1",
//! answers the key hex-encoded; `whoami` -> JSON `{"id": ..., "mspid": ...,
//! "attrs": {...}}` of the creator (the ID in Go's format, the Fabric CA
//! attributes); `sbe MSPID...` -> sets the endorsement policy of key `sbe`
//! to those organisations (role member), answers the policy's bytes
//! hex-encoded (the peer keeps the policy only if key `sbe` exists).
//!
//! ```sh
//! cargo build --release -p ccaas-shim --example kv
//! CHAINCODE_ID=kv_1.0:<sha256> CHAINCODE_SERVER_ADDRESS=0.0.0.0:9999 target/release/examples/kv
//! ```

use ccaas_shim::cid::{CidError, ClientIdentity};
use ccaas_shim::composite::{create_composite_key, CompositeKeyError};
use ccaas_shim::run::{self, RunError};
use ccaas_shim::statebased::{KeyEndorsementPolicy, RoleType};
use ccaas_shim::{Chaincode, ChaincodeServer, Response, Stub, StubError};
use std::process::ExitCode;
use std::time::Duration;

struct Kv;

/// What a function can fail with: the message is the answer's.
#[derive(Debug, thiserror::Error)]
enum KvError {
    #[error("no such key")]
    NoSuchKey,
    #[error("usage: {0}")]
    Usage(&'static str),
    #[error(
        "unknown function `{0}`: expected put, get, del, ping, fill, range, sleep, panic, bench, ckey, whoami or sbe"
    )]
    UnknownFunction(String),
    #[error(transparent)]
    Identity(#[from] CidError),
    #[error(transparent)]
    CompositeKey(#[from] CompositeKeyError),
    #[error(transparent)]
    Ledger(#[from] StubError),
}

impl Kv {
    async fn run(&self, stub: &Stub) -> Result<Vec<u8>, KvError> {
        let (function, args) = stub.function_and_parameters();
        match (function.as_str(), args.as_slice()) {
            ("put", [key, value]) => {
                stub.put_state(key, value.as_bytes()).await?;
                Ok(b"OK".to_vec())
            }
            ("put", _) => Err(KvError::Usage("put KEY VALUE")),
            ("get", [key]) => stub.get_state(key).await?.ok_or(KvError::NoSuchKey),
            ("get", _) => Err(KvError::Usage("get KEY")),
            ("del", [key]) => {
                stub.del_state(key).await?;
                Ok(b"OK".to_vec())
            }
            ("del", _) => Err(KvError::Usage("del KEY")),
            ("ping", []) => Ok(b"pong".to_vec()),
            ("fill", [prefix, count]) => {
                let count: u32 = count
                    .parse()
                    .map_err(|_| KvError::Usage("fill PREFIX N (N a number up to 10000)"))?;
                if count > 10_000 {
                    return Err(KvError::Usage("fill PREFIX N (N a number up to 10000)"));
                }
                for i in 0..count {
                    let key = format!("{prefix}{i:04}");
                    stub.put_state(&key, key.as_bytes()).await?;
                }
                Ok(b"OK".to_vec())
            }
            ("fill", _) => Err(KvError::Usage("fill PREFIX N")),
            ("range", [start, end]) => {
                let records = stub
                    .get_state_by_range(start, end)
                    .await?
                    .collect_all()
                    .await?;
                let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
                Ok(serde_json::to_vec(&keys).unwrap_or_default())
            }
            ("range", _) => Err(KvError::Usage("range START END")),
            ("sleep", [ms]) => {
                let ms: u64 = ms.parse().map_err(|_| KvError::Usage("sleep MS"))?;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(b"slept".to_vec())
            }
            ("bench", [reads, writes, bytes, key @ ..]) if key.len() <= 1 => {
                let key = key.first().map_or("bench", String::as_str);
                bench(stub, reads, writes, bytes, key).await
            }
            ("bench", _) => Err(KvError::Usage(BENCH_USAGE)),
            ("ckey", [object_type, attributes @ ..]) => {
                let key = create_composite_key(object_type, attributes)?;
                stub.put_state(&key, b"1".to_vec()).await?;
                Ok(hex(key.as_bytes()).into_bytes())
            }
            ("ckey", _) => Err(KvError::Usage("ckey OBJECTTYPE ATTR...")),
            ("whoami", []) => {
                let client = ClientIdentity::from_stub(stub)?;
                let whoami = serde_json::json!({
                    "id": client.id()?,
                    "mspid": client.mspid(),
                    "attrs": client.attributes(),
                });
                Ok(whoami.to_string().into_bytes())
            }
            ("whoami", _) => Err(KvError::Usage("whoami")),
            ("sbe", orgs @ [_, ..]) => {
                let mut policy = KeyEndorsementPolicy::new();
                policy.add_orgs(RoleType::Member, orgs);
                let bytes = policy.policy();
                stub.set_state_validation_parameter("sbe", bytes.clone())
                    .await?;
                Ok(hex(&bytes).into_bytes())
            }
            ("sbe", _) => Err(KvError::Usage("sbe MSPID...")),
            ("panic", [message]) => panic!("{message}"),
            ("panic", _) => panic!("panic requested"),
            _ => Err(KvError::UnknownFunction(function)),
        }
    }
}

const BENCH_USAGE: &str = "bench R W V [KEY] (R and W up to 10000, V up to 16777216)";

/// `bench R W V [KEY]`: R reads, then W writes of V bytes; the bytes read.
async fn bench(
    stub: &Stub,
    reads: &str,
    writes: &str,
    bytes: &str,
    key: &str,
) -> Result<Vec<u8>, KvError> {
    let number = |text: &str, max: usize| {
        Some(text)
            .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<usize>().ok())
            .filter(|n| *n <= max)
            .ok_or(KvError::Usage(BENCH_USAGE))
    };
    let (reads, writes, bytes) = (
        number(reads, 10_000)?,
        number(writes, 10_000)?,
        number(bytes, 16 << 20)?,
    );
    let mut total = 0usize;
    for i in 0..reads {
        total += stub
            .get_state(&format!("{key}:r{i}"))
            .await?
            .map_or(0, |v| v.len());
    }
    if writes > 0 {
        let mut value = Some(repeated(stub.tx_id().as_bytes(), bytes));
        for j in 0..writes {
            // The last write takes the value itself: one copy less.
            let this = if j + 1 == writes {
                value.take().unwrap_or_default()
            } else {
                value.clone().unwrap_or_default()
            };
            stub.put_state(&format!("{key}:w{j}"), this).await?;
        }
    }
    Ok(total.to_string().into_bytes())
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `len` bytes of `pattern` repeated (zeros for an empty pattern), as
/// Node's `Buffer.alloc(len, pattern)`.
fn repeated(pattern: &[u8], len: usize) -> Vec<u8> {
    if pattern.is_empty() {
        return vec![0; len];
    }
    let mut value = Vec::with_capacity(len);
    while value.len() < len {
        let take = pattern.len().min(len - value.len());
        value.extend_from_slice(&pattern[..take]);
    }
    value
}

impl Chaincode for Kv {
    async fn invoke(&self, stub: &Stub) -> Response {
        Response::from_result(self.run(stub).await)
    }
}

/// The runtime `KV_WORKER_THREADS` asks for: `1` runs everything on the
/// main thread (tokio's current-thread runtime: no cross-thread wake-ups,
/// the cheapest per transaction); N > 1 that many worker threads; unset,
/// one worker per core (tokio's default).
fn runtime() -> Result<tokio::runtime::Runtime, RunError> {
    let threads = match std::env::var("KV_WORKER_THREADS") {
        Err(_) => None,
        Ok(text) => match text.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Err(RunError::Configuration(
                    format!(
                        "KV_WORKER_THREADS: expected a number of threads from 1, found `{text}`"
                    )
                    .into(),
                ))
            }
        },
    };
    let mut builder = match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build().map_err(RunError::Runtime)
}

/// `ccaas_shim::run::main(Kv)`, on the runtime `KV_WORKER_THREADS` asks for.
fn main() -> ExitCode {
    ccaas_shim::logging::init();
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(e) => return run::report(&e),
    };
    match runtime.block_on(async { ChaincodeServer::from_env(Kv)?.serve().await }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => run::report(&e.into()),
    }
}
