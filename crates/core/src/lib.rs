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
//!
//! # What is stable
//!
//! The types re-exported here at the crate root, and the modules
//! [`connection`], [`package`], [`metadata`], [`examine`], [`simulate`],
//! [`compose`], [`template`], [`tls_files`] and [`report`], are this crate's
//! surface for operators' tools: they change only with a note in
//! `docs/cli.md` ("What changed"). [`steps`] and [`peer`] are the builder
//! binaries' and the tests' own API (what `bin/build` does, a peer's
//! scratch layout), [`address`], [`duration`], [`archive`], [`fs`],
//! [`index`] and [`pem`] the parts they are made of: public, so that their
//! errors can be matched, but they follow the builder's needs. Modules not
//! shown in these docs are internals.
//!
//! Every error type's `Debug` is its chain ([`report::chain`]), so `?` in a
//! `main` prints `Error: <message>: <cause>`.
#![deny(missing_docs)]

pub mod address;
pub mod archive;
pub mod compose;
pub mod connection;
pub mod duration;
pub mod examine;
pub mod fs;
#[doc(hidden)]
pub mod gojson;
pub mod index;
pub mod metadata;
mod outcome;
pub mod package;
pub mod peer;
pub mod pem;
pub mod report;
pub mod simulate;
pub mod steps;
pub mod template;
pub mod time;
#[cfg(feature = "tls-checks")]
pub mod tls_check;
pub mod tls_files;

pub use address::Address;
pub use archive::Limits;
pub use compose::{ConnectionFields, PackageInputs};
pub use connection::{Checked, Connection, LoadOptions, Rejected, Secret, TlsMode};
pub use duration::GoDuration;
pub use examine::{Examination, ExamineOptions, Finding, Severity};
pub use metadata::{Dialect, Label, Metadata};
pub use outcome::PeerOutcome;
pub use package::{PackageError, PackageId, PackageInfo};
pub use simulate::{SimulateOptions, Simulation, Verdict};
pub use template::TemplateConfig;
pub use tls_files::TlsFiles;

// The README's Rust examples run as doctests of `ccaas-shim`, which links
// this crate too (the README shows both).
