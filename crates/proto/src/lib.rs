//! `ccaas-proto`: the messages a Fabric peer and a chaincode server exchange
//! over `protos.Chaincode/Connect`, written as prost derives with the field
//! numbers of Fabric's `.proto` files (no `protoc` at build time), and the
//! gRPC plumbing for both ends of the stream.
//!
//! ```
//! use ccaas_proto::{ChaincodeId, ChaincodeMessage, MessageType, Message};
//!
//! let register = ChaincodeMessage::new(
//!     MessageType::Register,
//!     ChaincodeId { name: "kv_1.0:ab12".into(), ..Default::default() }.encode_to_vec(),
//! );
//! let bytes = register.encode_to_vec();
//! let back = ChaincodeMessage::decode(bytes.as_slice())?;
//! assert_eq!(back.kind(), Some(MessageType::Register));
//! assert_eq!(ChaincodeId::decode(back.payload.as_slice())?.name, "kv_1.0:ab12");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The message types are in [`protos`] (re-exported at the top), [`common`],
//! [`msp`] and [`queryresult`], as in Fabric's own packages.
#![deny(missing_docs)]

pub mod common;
pub mod grpc;
pub mod msp;
pub mod protos;
pub mod queryresult;

pub use prost::Message;
pub use protos::*;

/// The gRPC path of the one method a chaincode server serves.
pub const CONNECT_PATH: &str = "/protos.Chaincode/Connect";

/// The gRPC service name of that method.
pub const CHAINCODE_SERVICE: &str = "protos.Chaincode";

/// The peer's fixed message limit, both ways: 100 MiB.
pub const PEER_MAX_MESSAGE_BYTES: usize = 100 * 1024 * 1024;

/// The peer's HTTP/2 keepalive: a ping every 60 s, also with no active
/// stream...
pub const PEER_KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// ... answered within 20 s.
pub const PEER_KEEPALIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
