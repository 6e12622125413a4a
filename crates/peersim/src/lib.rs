//! `ccaas-peersim`: a Hyperledger Fabric peer simulator for chaincode
//! servers. It plays the peer's side of `protos.Chaincode/Connect` as
//! Fabric's `core/chaincode/handler.go` does: it dials the server (TCP, TLS
//! as the peer's Go client), expects REGISTER with the package ID, answers
//! REGISTERED and READY, sends transactions with real signed proposals, and
//! serves the chaincode's ledger requests against an in-memory world state.
//!
//! ```no_run
//! use ccaas_core::Connection;
//! use ccaas_peersim::{DialOptions, Simulator};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let connection = Connection { address: "127.0.0.1:9999".into(), ..Default::default() };
//! let session = Simulator::new("kv_1.0:ab12")
//!     .connect(&connection, &DialOptions::default())
//!     .await?;
//! assert!(session.is_registered());
//! let outcome = session.invoke("mychannel", ["put", "k", "v"]).await?;
//! assert!(outcome.is_success());
//! assert_eq!(session.get_state("mychannel", "k").as_deref(), Some(&b"v"[..]));
//! # Ok(())
//! # }
//! ```
//!
//! Without a socket, a test can play the chaincode by hand over
//! [`Transport::pair`] (or run a `ccaas-shim` chaincode in process):
//!
//! ```
//! use ccaas_peersim::{Registration, Simulator, Transport};
//! use ccaas_proto::{ChaincodeId, ChaincodeMessage, Message, MessageType};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (transport, mut chaincode) = Transport::pair(16);
//! let register = ChaincodeId { name: "kv_1.0:ab12".into(), ..Default::default() };
//! chaincode.tx.send(ChaincodeMessage::new(MessageType::Register, register.encode_to_vec())).await?;
//! let session = Simulator::new("kv_1.0:ab12").attach(transport).await?;
//! assert_eq!(session.registration(), Some(Registration::Accepted));
//! let registered = chaincode.rx.recv().await.ok_or("no REGISTERED")?;
//! assert_eq!(registered.kind(), Some(MessageType::Registered));
//! let ready = chaincode.rx.recv().await.ok_or("no READY")?;
//! assert_eq!(ready.kind(), Some(MessageType::Ready));
//! assert!(ready.payload.is_empty()); // v2.5
//! # Ok(())
//! # }
//! ```
//!
//! Modules: [`dial`] (TCP and TLS as the peer), [`session`] (the
//! simulator, sessions, transactions), [`transport`] (the message pair),
//! [`world`] (the ledger), [`proposal`] (signed proposals and txids),
//! [`script`] (the `ccaas-peersim` command's invocations and output),
//! [`load`] (the load driver behind the `ccaas-load` command).
#![deny(missing_docs)]

pub mod couch;
pub mod dial;
mod handler;
pub mod probe;
pub mod load;
pub mod proposal;
pub mod script;
pub mod session;
pub mod transport;
pub mod world;

pub use dial::{DialError, DialOptions, TlsObservation};
pub use probe::{ProbeOptions, ProbeReport};
pub use proposal::Creator;
pub use session::{
    Config, Invocation, PendingTx, Profile, Registration, Session, SessionError, Simulator,
    StreamEnd, TxOutcome, DEFAULT_READY_PARAMS,
};
pub use transport::{ChaincodeEnd, Transport};
pub use world::{Metadata, WorldState, VALIDATION_PARAMETER};
