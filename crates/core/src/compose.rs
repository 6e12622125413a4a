//! Making a chaincode-as-a-service package from an operator's inputs: a
//! connection.json (or its fields), CouchDB index files and TLS files,
//! checked before anything is written. Behind `ccaas package`.
//!
//! ```
//! use ccaas_core::compose::{self, PackageInputs};
//! use ccaas_core::{Dialect, Label};
//!
//! let inputs = PackageInputs {
//!     label: Label::new("basic_1.0")?,
//!     dialect: Dialect::Ccaas,
//!     connection_json: br#"{"address": "basic:9999", "tls_required": "false"}"#.to_vec(),
//!     indexes_dir: None,
//!     tls_dir: None,
//! };
//! let composed = compose::compose(&inputs)?;
//! assert_eq!(composed.warnings.len(), 1); // the string "false", normalised
//! let out = tempfile::tempdir()?;
//! let id = compose::write_package(&composed, &out.path().join("basic.tgz"))?;
//! assert!(id.to_string().starts_with("basic_1.0:"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::archive::{ArchiveError, CodeTree};
use crate::connection::{self, ConnectionWarning, LoadOptions, Rejected};
use crate::fs::{self, FsError};
use crate::index::{self, IndexError, MAX_INDEX_BYTES};
use crate::metadata::{Dialect, Label, Metadata};
use crate::package::{self, PackageError, PackageId};
use crate::tls_files::MAX_TLS_FILE_BYTES;
use std::path::{Path, PathBuf};

/// What goes into a package.
#[derive(Debug, Clone)]
pub struct PackageInputs {
    /// The label.
    pub label: Label,
    /// `ccaas` or `external`.
    pub dialect: Dialect,
    /// The connection.json text.
    pub connection_json: Vec<u8>,
    /// CouchDB index files: `*.json` for the state database, or a
    /// `statedb/couchdb`-style tree of `indexes/` and
    /// `collections/<name>/indexes/`.
    pub indexes_dir: Option<PathBuf>,
    /// Files to ship under `tls/`.
    pub tls_dir: Option<PathBuf>,
}

/// connection.json fields given one by one (`ccaas package --address ...`);
/// PEM files are read and inlined.
#[derive(Debug, Clone, Default)]
pub struct ConnectionFields {
    /// `host:port` (may be a template).
    pub address: String,
    /// A Go duration.
    pub dial_timeout: Option<String>,
    /// CA certificate(s) file: turns TLS on.
    pub root_cert: Option<PathBuf>,
    /// Client certificate file: turns client auth on (with the key).
    pub client_cert: Option<PathBuf>,
    /// Client key file.
    pub client_key: Option<PathBuf>,
    /// TLS server name override.
    pub domain: Option<String>,
}

impl ConnectionFields {
    /// The connection.json text these fields make, PEM files inlined.
    pub fn to_json(&self) -> Result<Vec<u8>, FsError> {
        let read = |path: &Option<PathBuf>| -> Result<Option<String>, FsError> {
            path.as_deref()
                .map(|p| {
                    fs::read_limited(p, MAX_TLS_FILE_BYTES)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                })
                .transpose()
        };
        let mut object = serde_json::Map::new();
        object.insert("address".into(), self.address.clone().into());
        if let Some(d) = &self.dial_timeout {
            object.insert("dial_timeout".into(), d.clone().into());
        }
        let client_auth = self.client_cert.is_some() || self.client_key.is_some();
        object.insert(
            "tls_required".into(),
            (self.root_cert.is_some() || client_auth).into(),
        );
        object.insert("client_auth_required".into(), client_auth.into());
        for (key, path) in [
            ("root_cert", &self.root_cert),
            ("client_cert", &self.client_cert),
            ("client_key", &self.client_key),
        ] {
            if let Some(text) = read(path)? {
                object.insert(key.into(), text.into());
            }
        }
        if let Some(d) = &self.domain {
            object.insert("domain".into(), d.clone().into());
        }
        Ok(serde_json::Value::Object(object).to_string().into_bytes())
    }
}

/// Why no package was made.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// connection.json would not work.
    #[error("connection.json would not work with the peer")]
    Connection(Rejected),
    /// An index file is not one the peer creates.
    #[error("`{file}`: {source}")]
    Index {
        /// The input file.
        file: PathBuf,
        /// Why.
        #[source]
        source: IndexError,
    },
    /// A file could not be read.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// The archive could not be made.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The package could not be written.
    #[error(transparent)]
    Package(#[from] PackageError),
}

/// A checked package, ready to write.
#[derive(Debug, Clone)]
pub struct Composed {
    /// metadata.json.
    pub metadata: Metadata,
    /// code.tar.gz's files.
    pub code: CodeTree,
    /// The connection as packaged.
    pub connection: connection::Connection,
    /// CouchDB index files packaged, by path in code.tar.gz.
    pub indexes: Vec<String>,
    /// Warnings about connection.json.
    pub warnings: Vec<ConnectionWarning>,
    /// Whether a private key is inside.
    pub holds_private_key: bool,
}

/// Checks the inputs and assembles the package's contents.
pub fn compose(inputs: &PackageInputs) -> Result<Composed, ComposeError> {
    let checked = connection::load(&inputs.connection_json, &LoadOptions::default())
        .map_err(ComposeError::Connection)?;
    let mut code = CodeTree::new();
    let conn = &checked.connection;
    let json = conn.to_json();
    let mut holds_private_key = crate::pem::contains_private_key(&String::from_utf8_lossy(&json));
    let secret_mode = |secret: bool| if secret { 0o600 } else { 0o644 };
    code.add_file("connection.json", json, secret_mode(holds_private_key))?;

    let mut indexes = Vec::new();
    if let Some(dir) = &inputs.indexes_dir {
        let flat =
            !fs::dir_exists(&dir.join("indexes"))? && !fs::dir_exists(&dir.join("collections"))?;
        for (relative, path) in fs::walk_files(dir)? {
            let under_statedb = if flat {
                format!("statedb/couchdb/indexes/{relative}")
            } else {
                format!("statedb/couchdb/{relative}")
            };
            let bytes = fs::read_limited(&path, MAX_INDEX_BYTES)?;
            index::validate(&under_statedb, &bytes).map_err(|source| ComposeError::Index {
                file: path.clone(),
                source,
            })?;
            let in_code = format!("{}/{under_statedb}", inputs.dialect.metadata_folder());
            code.add_file(&in_code, bytes, 0o644)?;
            indexes.push(in_code);
        }
    }
    if let Some(dir) = &inputs.tls_dir {
        for (relative, path) in fs::walk_files(dir)? {
            let bytes = fs::read_limited(&path, MAX_TLS_FILE_BYTES)?;
            let secret = crate::pem::contains_private_key(&String::from_utf8_lossy(&bytes));
            holds_private_key |= secret;
            code.add_file(
                &format!("{}/{relative}", crate::steps::TLS_FOLDER),
                bytes,
                secret_mode(secret),
            )?;
        }
    }
    let mut warnings = checked.warnings;
    let c = &checked.connection;
    for (key, path) in &c.files {
        let used = c.tls_required && (*key == "root_cert_file" || c.client_auth_required);
        if !used {
            continue;
        }
        let in_package = code.contains(path.trim_start_matches("./"));
        if !in_package && !crate::template::is_template(path) && !Path::new(path).is_absolute() {
            warnings
                .retain(|w| !matches!(w, ConnectionWarning::Unresolved { key: k, .. } if k == key));
            warnings.push(ConnectionWarning::NotInPackage {
                key,
                path: path.clone(),
            });
        }
    }
    Ok(Composed {
        metadata: Metadata::new(inputs.label.clone(), inputs.dialect),
        code,
        connection: checked.connection,
        indexes,
        warnings,
        holds_private_key,
    })
}

/// Writes the package to `out` atomically (0600 when a private key is
/// inside, else 0644) and returns its package ID.
pub fn write_package(composed: &Composed, out: &Path) -> Result<PackageId, ComposeError> {
    let mut bytes = Vec::new();
    let id = package::write(&composed.metadata, &composed.code, &mut bytes)?;
    let mode = if composed.holds_private_key {
        0o600
    } else {
        0o644
    };
    fs::write_atomic(out, &bytes, mode)?;
    Ok(id)
}
