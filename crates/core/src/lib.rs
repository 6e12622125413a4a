//! `ccaas-core`: Hyperledger Fabric chaincode-as-a-service packages,
//! `metadata.json` and `connection.json`, exactly as a Fabric peer reads them.
//!
//! Everything the `detect`, `build` and `release` builder binaries and the
//! `ccaas` command do lives here, so that an operator's own tools can do the
//! same with the same rules.
//!
//! ```
//! use ccaas_core::connection::{self, LoadOptions};
//! use ccaas_core::{Label, Metadata};
//!
//! let meta = Metadata::parse(br#"{"type": "ccaas", "label": "basic_1.0"}"#)?;
//! assert_eq!(meta.label, Label::new("basic_1.0")?);
//!
//! let conn = connection::load(br#"{"address": "basic:9999"}"#, &LoadOptions::default())?;
//! assert_eq!(conn.connection.effective_dial_timeout().to_string(), "3s");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod address;
pub mod archive;
pub mod compose;
pub mod connection;
pub mod duration;
pub mod examine;
pub mod fs;
pub mod gojson;
pub mod index;
pub mod metadata;
pub mod outcome;
pub mod package;
pub mod peer;
pub mod pem;
pub mod report;
pub mod simulate;
pub mod steps;
pub mod template;
#[cfg(feature = "tls-checks")]
pub mod tls_check;
pub mod tls_files;

pub use address::Address;
pub use connection::{Connection, TlsMode};
pub use duration::GoDuration;
pub use metadata::{Dialect, Label, Metadata};
pub use outcome::PeerOutcome;
pub use package::PackageId;
pub use template::TemplateConfig;
pub use tls_files::TlsFiles;

// The README's Rust examples run as doctests of `ccaas-shim`, which links
// this crate too (the README shows both).
