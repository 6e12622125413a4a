//! `ccaas-contract`: Hyperledger Fabric contracts in Rust, as
//! fabric-contract-api-go writes them in Go. A contract is a type; its
//! transactions are `async fn` methods with typed parameters; a
//! [`ContractChaincode`] routes `Contract:Function` to them, converts the
//! arguments, writes the results, and answers
//! `org.hyperledger.fabric:GetMetadata`. It runs on `ccaas-shim`'s server.
//!
//! ```
//! use ccaas_contract::{contract, Context, ContractChaincode, Error, Object};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Object)]
//! struct Greeting {
//!     #[serde(rename = "To")]
//!     to: String,
//!     #[serde(rename = "Times")]
//!     times: u32,
//! }
//!
//! struct Greeter;
//!
//! #[contract]
//! impl Greeter {
//!     /// Stores a greeting (a submit transaction: `Greet`).
//!     #[transaction]
//!     async fn greet(&self, ctx: &Context<'_>, to: String, times: u32) -> Result<(), Error> {
//!         let greeting = Greeting { to: to.clone(), times };
//!         ctx.stub().put_state(&to, ccaas_contract::json::to_vec(&greeting)).await?;
//!         Ok(())
//!     }
//!
//!     /// Reads it back (an evaluate transaction: `ReadGreeting`).
//!     #[transaction(evaluate)]
//!     async fn read_greeting(&self, ctx: &Context<'_>, to: String) -> Result<Greeting, Error> {
//!         let bytes = ctx.stub().get_state(&to).await?
//!             .ok_or_else(|| Error::new(format!("no greeting for {to}")))?;
//!         Ok(serde_json::from_slice(&bytes)?)
//!     }
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let chaincode = ContractChaincode::new(Greeter)?;
//!
//! // In a binary: fn main() -> ExitCode { ccaas_shim::run::main_with(|| ContractChaincode::new(Greeter)) }
//! // Here, the peer simulator runs it in process:
//! let id = "greeter_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
//! let peer = ccaas_peersim::Simulator::new(id).in_process(std::sync::Arc::new(chaincode)).await?;
//!
//! assert!(peer.invoke("mychannel", ["Greet", "fabric", "2"]).await?.is_success());
//! let read = peer.invoke("mychannel", ["Greeter:readGreeting", "fabric"]).await?;
//! assert_eq!(read.payload(), br#"{"To":"fabric","Times":2}"#);
//!
//! let bad = peer.invoke("mychannel", ["Greet", "fabric", "-1"]).await?;
//! assert_eq!(
//!     bad.response().map(|r| r.message.as_str()),
//!     Some("error managing parameter times. conversion error. cannot convert passed value -1 to uint32")
//! );
//! # Ok(())
//! # }
//! ```
//!
//! # Transactions
//!
//! `#[contract]` goes on the type's `impl` block (`#[contract(name =
//! "AssetContract", title = "...", version = "1.0")]`; the name defaults to
//! the type's). In it:
//!
//! - `#[transaction]` (submit) or `#[transaction(evaluate)]` marks a
//!   transaction; its name is the method's in PascalCase (`create_asset` →
//!   `CreateAsset`), or `#[transaction(name = "CreateAsset")]`. Names start
//!   with an upper-case letter, as Go's exported methods, and callers reach
//!   them by that name or with its first letter in lower case.
//! - The method is `async fn(&self, [ctx: &Context<'_>,] params...)`: the
//!   context is optional; parameters are [`ContractValue`]s (strings,
//!   numbers, booleans, [`Bytes`], `Vec`, string-keyed maps, `Option`,
//!   `#[derive(Object)]` structures), converted as contract-api-go does
//!   (see [`value`]).
//! - It returns `Result<T, E>` (`E: Display`; its message is the error
//!   answer) or a value `T`; `T` is a `ContractValue` or `()`. Strings are
//!   the payload as they are, numbers and booleans their text, structures
//!   and collections JSON as Go's `json.Marshal` writes it ([`json`]).
//! - `#[before]` (context only) runs before every call to the contract,
//!   known function or not; `#[after]` (context and optionally `result:
//!   &Returned`) after a successful one; `#[unknown]` (context only)
//!   answers functions the contract does not have. An error from any of
//!   them is the answer.
//!
//! Routing and every error text are listed on [`ContractChaincode`].
#![deny(missing_docs)]

pub mod chaincode;
pub mod context;
mod error;
pub mod json;
pub mod metadata;
pub mod value;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use ccaas_contract_macros::{contract, Object};
/// The chaincode server and the raw stub this crate runs on.
pub use ccaas_shim as shim;
pub use ccaas_shim::cid::ClientIdentity;
pub use chaincode::{
    first_rune_upper, BuildError, Builder, Contract, ContractChaincode, Returned, SYSTEM_CONTRACT,
};
pub use context::Context;
pub use error::Error;
pub use value::{ArgError, Bytes, ContractValue, IntoOutcome, SchemaProblem};

/// docs/chaincode.md's contract examples (fenced `rust,ignore` there for
/// ccaas-shim's doctests), compiled and run as this crate's doctests: see
/// build.rs.
#[cfg(doctest)]
#[doc = include_str!(concat!(env!("OUT_DIR"), "/chaincode-guide.md"))]
pub struct ChaincodeGuideDoctests;
