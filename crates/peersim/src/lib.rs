//! `ccaas-peersim`: a Hyperledger Fabric peer simulator for chaincode
//! servers. It plays the peer's side of `protos.Chaincode/Connect` as
//! Fabric's `core/chaincode/handler.go` does: it dials the server (TCP, TLS
//! as the peer's Go client) or runs a `ccaas-shim` chaincode in process,
//! expects REGISTER with the package ID, answers REGISTERED and READY,
//! sends transactions with real signed proposals, and serves every ledger
//! request of the protocol against an in-memory ledger, with the peer's
//! error texts.
//!
//! # Unit-testing chaincode
//!
//! Go's v2 shim dropped its mock stub; this is the replacement: a test runs
//! the chaincode in process against the simulated peer, with no socket and
//! no Fabric network, and reads the ledger afterwards. Writes commit when
//! the chaincode answers a status below 400, as on a peer.
//!
//! ```
//! use ccaas_peersim::Simulator;
//! use ccaas_shim::{Chaincode, Response, Stub};
//! use std::sync::Arc;
//!
//! struct Kv;
//!
//! impl Chaincode for Kv {
//!     async fn invoke(&self, stub: &Stub) -> Response {
//!         let (function, args) = stub.function_and_parameters();
//!         let done = match (function.as_str(), args.as_slice()) {
//!             ("put", [k, v]) => stub.put_state(k, v.clone()).await,
//!             _ => return Response::error(format!("unknown function `{function}`")),
//!         };
//!         match done {
//!             Ok(()) => Response::success("OK"),
//!             Err(e) => Response::error(e.to_string()),
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let session = Simulator::new("kv_1.0:ab12").in_process(Arc::new(Kv)).await?;
//! let outcome = session.invoke("mychannel", ["put", "k", "v"]).await?;
//! assert!(outcome.is_success(), "{outcome:?}");
//! assert_eq!(session.get_state("mychannel", "k"), Some(b"v".to_vec()));
//! let refused = session.invoke("mychannel", ["nope"]).await?;
//! assert_eq!(refused.response().map(|r| r.status), Some(500));
//! # Ok(())
//! # }
//! ```
//!
//! The simulator plays a v2.5 peer by default ([`Profile::V3_1`] for
//! write batches and multiple gets). Set state up with
//! [`Session::put_state`] and [`Session::put_private_data`]; read it back
//! with [`Session::get_state`], [`Session::get_private_data`],
//! [`Session::private_hash`], [`Session::state_metadata`],
//! [`Session::history`]; [`Session::received`] counts the requests the
//! chaincode made.
//!
//! ## Private data
//!
//! Collections are per channel and chaincode. Private writes go to the
//! transaction's write set like public ones; GET_PRIVATE_DATA_HASH answers
//! SHA-256 of the value (empty for an absent key), as the peer's hashed
//! private state does. [`Simulator::collections`] defines the collections
//! (others are refused as on a peer); without it any name is one.
//! [`Simulator::member_only_collection`] makes one readable and writable
//! only by creators of its member organisations (see
//! [`Invocation::creator`]).
//!
//! ```
//! use ccaas_peersim::Simulator;
//! use ccaas_shim::{Chaincode, Response, Stub};
//! use std::sync::Arc;
//!
//! /// An asset whose price is private, passed in the transient map.
//! struct Asset;
//!
//! impl Chaincode for Asset {
//!     async fn invoke(&self, stub: &Stub) -> Response {
//!         let (function, args) = stub.function_and_parameters();
//!         let result = match (function.as_str(), args.as_slice()) {
//!             ("set_price", [id]) => match stub.transient().get("price") {
//!                 Some(price) => stub.put_private_data("prices", id, price.clone()).await.map(|()| Vec::new()),
//!                 None => return Response::error("no `price` in the transient map"),
//!             },
//!             ("price_hash", [id]) => stub
//!                 .get_private_data_hash("prices", id)
//!                 .await
//!                 .map(Option::unwrap_or_default),
//!             _ => return Response::error(format!("unknown function `{function}`")),
//!         };
//!         match result {
//!             Ok(payload) => Response::success(payload),
//!             Err(e) => Response::error(e.to_string()),
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let session = Simulator::new("asset_1.0:ab12")
//!     .collections(["prices"])
//!     .in_process(Arc::new(Asset))
//!     .await?;
//! let set = session.invoke("mychannel", ["set_price", "a1"]).transient("price", "100").await?;
//! assert!(set.is_success(), "{set:?}");
//! assert_eq!(session.get_private_data("mychannel", "prices", "a1"), Some(b"100".to_vec()));
//! assert_eq!(session.get_state("mychannel", "a1"), None);
//! let hash = session.invoke("mychannel", ["price_hash", "a1"]).await?;
//! assert_eq!(Some(hash.payload().to_vec()), session.private_hash("mychannel", "prices", "a1"));
//! # Ok(())
//! # }
//! ```
//!
//! ## Rich queries
//!
//! GET_QUERY_RESULT runs CouchDB selectors over JSON values, public or
//! private, with `sort`, `fields` and bookmarks; see [`couch`] for the
//! language supported and where it differs from CouchDB. Results come back
//! as CouchDB gives them to the peer: JSON re-marshalled, keys sorted.
//!
//! ```
//! use ccaas_peersim::Simulator;
//! use ccaas_shim::{Chaincode, Response, Stub};
//! use std::sync::Arc;
//!
//! struct Owners;
//!
//! impl Chaincode for Owners {
//!     async fn invoke(&self, stub: &Stub) -> Response {
//!         let owner = stub.function().to_owned();
//!         let query = format!(r#"{{"selector": {{"owner": "{owner}"}}, "sort": [{{"size": "desc"}}]}}"#);
//!         let records = match stub.get_query_result(&query).await {
//!             Ok(iterator) => iterator.collect_all().await,
//!             Err(e) => Err(e),
//!         };
//!         match records {
//!             Ok(records) => {
//!                 let keys: Vec<&str> = records.iter().map(|kv| kv.key.as_str()).collect();
//!                 Response::success(keys.join(","))
//!             }
//!             Err(e) => Response::error(e.to_string()),
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let session = Simulator::new("owners_1.0:ab12").in_process(Arc::new(Owners)).await?;
//! session.put_state("mychannel", "a", r#"{"owner": "tom", "size": 5}"#);
//! session.put_state("mychannel", "b", r#"{"owner": "ann", "size": 9}"#);
//! session.put_state("mychannel", "c", r#"{"owner": "tom", "size": 7}"#);
//! session.put_state("mychannel", "d", "not JSON: never matches");
//! let outcome = session.invoke("mychannel", ["tom"]).await?;
//! assert_eq!(outcome.payload(), b"c,a");
//! # Ok(())
//! # }
//! ```
//!
//! ## Invoking other chaincode
//!
//! Sessions given the same [`WorldState`] are one peer: each is reachable
//! by INVOKE_CHAINCODE under its chaincode name (`name`, or
//! `name/channel`). The simulator runs the callee as the peer does: its
//! TRANSACTION carries the caller's txid and proposal; on the caller's
//! channel its writes join the caller's write set and commit (or not) with
//! the caller; on another channel it runs in a simulation that is thrown
//! away. The caller gets the callee's COMPLETED (or ERROR) message.
//!
//! ```
//! use ccaas_peersim::{Simulator, WorldState};
//! use ccaas_shim::{Chaincode, Response, Stub};
//! use std::sync::Arc;
//!
//! struct Bank;
//!
//! impl Chaincode for Bank {
//!     async fn invoke(&self, stub: &Stub) -> Response {
//!         let (_, args) = stub.function_and_parameters();
//!         let [who, amount] = args.as_slice() else { return Response::error("credit WHO AMOUNT") };
//!         match stub.put_state(who, amount.clone()).await {
//!             Ok(()) => Response::success("credited"),
//!             Err(e) => Response::error(e.to_string()),
//!         }
//!     }
//! }
//!
//! struct Shop;
//!
//! impl Chaincode for Shop {
//!     async fn invoke(&self, stub: &Stub) -> Response {
//!         match stub.invoke_chaincode("bank", &["credit", "alice", "10"], None).await {
//!             Ok(answer) if answer.status == 200 => Response::success(answer.payload),
//!             Ok(answer) => Response::error(answer.message),
//!             Err(e) => Response::error(e.to_string()),
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let world = WorldState::new();
//! let bank = Simulator::new("bank:ab12").world(world.clone()).in_process(Arc::new(Bank)).await?;
//! let shop = Simulator::new("shop:cd34").world(world.clone()).in_process(Arc::new(Shop)).await?;
//! let outcome = shop.invoke("mychannel", ["buy"]).await?;
//! assert_eq!(outcome.payload(), b"credited", "{outcome:?}");
//! // Written in the bank's namespace, committed with the shop's transaction.
//! assert_eq!(bank.get_state("mychannel", "alice"), Some(b"10".to_vec()));
//! # Ok(())
//! # }
//! ```
//!
//! ## What else it serves, and where it is not a peer
//!
//! - History (GET_HISTORY_FOR_KEY): every committed write of a public key,
//!   newest first, with the transaction's ID and its proposal's timestamp.
//! - State metadata, public and private ([`VALIDATION_PARAMETER`] for
//!   key-level endorsement): kept with the key across value writes,
//!   replaced whole by a metadata write, dropped with the key.
//! - Pagination (`QueryMetadata`) of ranges and rich queries: one page,
//!   the range's bookmark the next key (empty after the last page); refused
//!   in a transaction that wrote, and writes refused after it, with the
//!   peer's texts. Queries on private data likewise need a read-only
//!   transaction, and ignore pagination (the page size still caps them).
//! - The state database: by default values read back as written and rich
//!   queries are served; [`StateDatabase::CouchDb`] adds CouchDB's rules
//!   (keys and JSON fields it refuses, JSON read back re-marshalled) and
//!   [`StateDatabase::LevelDb`] refuses rich queries, each as a peer on
//!   that database does.
//! - Not simulated: endorsement and validation (nothing is checked
//!   against a key's endorsement policy or a collection's endorsement
//!   policy; collection access is member-only or open, by MSP ID), channel
//!   ACLs, chaincode definitions (any channel exists, any session's
//!   chaincode is defined on it, none requires init), and CouchDB indexes.
//!
//! # Against a real server
//!
//! Over TCP (and TLS as the peer's Go client), to a chaincode server
//! listening as a peer would dial it:
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
//! # Playing the chaincode by hand
//!
//! For protocol tests, a test can play the chaincode's side message by
//! message over [`Transport::pair`]:
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
//! Modules: [`couch`] (rich queries), [`dial`] (TCP and TLS as the
//! peer), [`session`] (the simulator, sessions, transactions),
//! [`transport`] (the message pair), [`world`] (the ledger), [`proposal`] (signed proposals and txids),
//! [`script`] (the `ccaas-peersim` command's invocations and output),
//! [`load`] (the load driver behind the `ccaas-load` command),
//! [`probe`] (the peer's first invoke step by step, behind `ccaas probe`),
//! [`state_file`] (a ledger kept between runs, `ccaas-peersim --state`).
#![deny(missing_docs)]

pub mod couch;
pub mod dial;
mod handler;
pub mod load;
pub mod probe;
pub mod proposal;
pub mod script;
pub mod session;
pub mod state_file;
pub mod transport;
pub mod world;

pub use dial::{DialError, DialOptions, TlsObservation};
pub use probe::{ProbeOptions, ProbeReport};
pub use proposal::Creator;
pub use session::{
    Config, Invocation, PendingTx, Profile, Registration, Session, SessionError, Simulator,
    StateDatabase, StreamEnd, TxOutcome, DEFAULT_READY_PARAMS,
};
pub use transport::{ChaincodeEnd, Transport};
pub use world::{Metadata, WorldState, VALIDATION_PARAMETER};
