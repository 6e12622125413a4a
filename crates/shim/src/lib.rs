//! `ccaas-shim`: write Hyperledger Fabric chaincode in Rust and run it as
//! an external service (chaincode as a service).
//!
//! A chaincode is a type that implements [`Chaincode`]; a
//! [`ChaincodeServer`] serves it to every peer that dials it, over
//! `protos.Chaincode/Connect`, plain or with (mutual) TLS.
//!
//! ```no_run
//! use ccaas_shim::{Chaincode, ChaincodeServer, Response, Stub};
//!
//! struct Kv;
//!
//! impl Chaincode for Kv {
//!     async fn invoke(&self, stub: &Stub) -> Response {
//!         let (function, args) = stub.function_and_parameters();
//!         match (function.as_str(), args.as_slice()) {
//!             ("put", [key, value]) => match stub.put_state(key, value.as_bytes()).await {
//!                 Ok(()) => Response::success("OK"),
//!                 Err(e) => Response::error(e.to_string()),
//!             },
//!             ("get", [key]) => match stub.get_state(key).await {
//!                 Ok(Some(value)) => Response::success(value),
//!                 Ok(None) => Response::error("no such key"),
//!                 Err(e) => Response::error(e.to_string()),
//!             },
//!             _ => Response::error(format!("unknown function `{function}`")),
//!         }
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     ccaas_shim::logging::init();
//!     // CHAINCODE_ID (or CHAINCODE_PACKAGE), CHAINCODE_SERVER_ADDRESS, TLS files: see `env`.
//!     ChaincodeServer::from_env(Kv)?.serve().await?;
//!     Ok(())
//! }
//! ```
//!
//! What the server does for you: registers with the package ID and says in
//! the log when the peer does not answer (a wrong ID); runs every
//! transaction as its own task, bounded; queues a transaction's requests
//! (the peer drops a second one in flight); gives every request a deadline
//! and fails them all at once when a stream ends; answers a panicking
//! transaction with ERROR and goes on; serves `grpc.health.v1.Health` on
//! the same port; stops gracefully on SIGTERM. With an operations address
//! (`CHAINCODE_OPERATIONS_ADDRESS`), a second port serves `/healthz`,
//! `/metrics`, `/version`, `/logspec` and the kubelet's gRPC probe
//! ([`operations`]), and TLS files rotated on disk are used without a
//! restart.
#![deny(missing_docs)]

pub mod chaincode;
pub mod cid;
pub mod composite;
mod context;
pub mod env;
#[cfg(feature = "logging")]
pub mod logging;
pub mod metrics;
pub mod operations;
pub mod proposal;
pub mod query;
mod reload;
pub mod server;
pub mod statebased;
pub mod stream;
pub mod stub;
pub mod tls;

pub use ccaas_proto as proto;
pub use chaincode::{Chaincode, Response};
pub use operations::OperationsConfig;
pub use proposal::Creator;
pub use query::{HistoryIterator, Page, QueryIterator, StateIterator};
pub use server::{BoundServer, ChaincodeServer, ServerConfig, ServerError};
pub use stream::{in_process, InProcess, PeerCapabilities, StreamConfig};
pub use stub::{Stub, StubError};
pub use tls::{PemSource, TlsConfig, TlsError};

/// docs/chaincode.md's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/chaincode.md")]
pub struct ChaincodeGuideDoctests;

/// The README's Rust examples (this crate's and `ccaas-core`'s), compiled
/// and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
