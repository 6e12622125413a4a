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
use crate::connection::{self, ConnectionWarning, LoadOptions};
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
    /// A directory of TLS files: those that connection.json's `*_file`
    /// keys name as `tls/<file>` are shipped under `tls/`; nothing else.
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
        self.to_json_with(|p| fs::read_limited(p, MAX_TLS_FILE_BYTES))
    }

    /// [`ConnectionFields::to_json`], reading each PEM file with `read`
    /// (so that a caller can take `-` as standard input, or PEM from
    /// memory).
    pub fn to_json_with<E>(
        &self,
        mut read_file: impl FnMut(&Path) -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, E> {
        let mut read = |path: &Option<PathBuf>| -> Result<Option<String>, E> {
            path.as_deref()
                .map(|p| read_file(p).map(|b| String::from_utf8_lossy(&b).into_owned()))
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

crate::report::debug_as_chain!(ComposeProblem);

/// One reason a package cannot be made; [`compose`] reports every one.
#[derive(thiserror::Error)]
pub enum ComposeProblem {
    /// connection.json would not work with the peer.
    #[error(transparent)]
    Connection(connection::ConnectionError),
    /// An index file is not one the peer creates.
    #[error("`{file}`: {source}")]
    Index {
        /// The input file.
        file: PathBuf,
        /// Why.
        #[source]
        source: IndexError,
    },
    /// A file of the TLS directory that a `*_file` key other than
    /// `client_key_file` names holds a private key.
    #[error("`{file}` holds a private key, but `{key}` names it; only `client_key_file` may name a private key (the package is shared with other organisations)")]
    KeyInTlsDir {
        /// The file.
        file: PathBuf,
        /// The `*_file` key naming it.
        key: &'static str,
    },
    /// A `*_file` path that leaves the TLS directory.
    #[error("key `{key}` names `{path}`, which is outside the TLS directory")]
    OutsideTlsDir {
        /// The `*_file` key.
        key: &'static str,
        /// The reference.
        path: String,
    },
    /// A file could not be read.
    #[error(transparent)]
    Fs(#[from] FsError),
}

crate::report::debug_as_chain!(ComposeError);

/// Why no package was made.
#[derive(thiserror::Error)]
pub enum ComposeError {
    /// The inputs have problems: every one, at once.
    #[error("{}", problems_summary(.0))]
    Invalid(Vec<ComposeProblem>),
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

fn problems_summary(problems: &[ComposeProblem]) -> String {
    crate::report::list_problems(problems)
}

impl ComposeError {
    /// Every problem, one line each (the error chain of each).
    pub fn lines(&self) -> Vec<String> {
        match self {
            ComposeError::Invalid(problems) => {
                problems.iter().map(|p| crate::report::chain(p)).collect()
            }
            other => vec![crate::report::chain(other)],
        }
    }
}

/// A file of the TLS directory and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsDirFile {
    /// Its path relative to the TLS directory.
    pub relative: String,
    /// The `*_file` key naming it, when one does: then it is packed under
    /// `tls/`.
    pub named_by: Option<&'static str>,
    /// Whether it holds a private key.
    pub private_key: bool,
    /// A `*_file` key that names this file without the `tls/` folder
    /// (`root_cert_file: "ca.crt"`): the file is not packed, since files
    /// of the TLS directory ship as `tls/<file>` and the build resolves
    /// the key from the package's root.
    pub named_without_folder: Option<&'static str>,
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
    /// Every file of the TLS directory: packed (named by a `*_file` key)
    /// or left out.
    pub tls_dir_files: Vec<TlsDirFile>,
}

/// Checks the inputs and assembles the package's contents, reporting every
/// problem at once. From the TLS directory only the files that
/// connection.json's `*_file` keys name (under `tls/`) are packed.
pub fn compose(inputs: &PackageInputs) -> Result<Composed, ComposeError> {
    let mut problems = Vec::new();
    let (checked, conn_ok) =
        match connection::load(&inputs.connection_json, &LoadOptions::default()) {
            Ok(checked) => (Some(checked), true),
            Err(rejected) => {
                problems.extend(
                    rejected
                        .problems
                        .into_iter()
                        .map(ComposeProblem::Connection),
                );
                (None, false)
            }
        };
    let mut code = CodeTree::new();
    let secret_mode = |secret: bool| if secret { 0o600 } else { 0o644 };
    let mut holds_private_key = false;
    if let Some(checked) = &checked {
        let json = checked.connection.to_json();
        holds_private_key = crate::pem::contains_private_key(&String::from_utf8_lossy(&json));
        code.add_file("connection.json", json, secret_mode(holds_private_key))?;
    }

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
            if let Err(source) = index::validate(&under_statedb, &bytes) {
                problems.push(ComposeProblem::Index {
                    file: path.clone(),
                    source,
                });
                continue;
            }
            let in_code = format!("{}/{under_statedb}", inputs.dialect.metadata_folder());
            code.add_file(&in_code, bytes, 0o644)?;
            indexes.push(in_code);
        }
    }
    let mut tls_dir_files = Vec::new();
    if let (Some(dir), Some(checked)) = (&inputs.tls_dir, &checked) {
        let named: Vec<(&'static str, String)> = checked
            .connection
            .files
            .iter()
            .filter_map(|(key, path)| {
                let path = path.trim_start_matches("./");
                let relative = path.strip_prefix(&format!("{}/", crate::steps::TLS_FOLDER))?;
                Some((*key, relative.to_owned()))
            })
            .collect();
        for (key, relative) in &named {
            let escapes = Path::new(relative)
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)));
            if escapes {
                problems.push(ComposeProblem::OutsideTlsDir {
                    key,
                    path: format!("{}/{relative}", crate::steps::TLS_FOLDER),
                });
            }
        }
        for (relative, path) in fs::walk_files(dir)? {
            let bytes = fs::read_limited(&path, MAX_TLS_FILE_BYTES)?;
            let secret = crate::pem::contains_private_key(&String::from_utf8_lossy(&bytes));
            let named_by = named.iter().find(|(_, r)| *r == relative).map(|(k, _)| *k);
            let named_without_folder = checked
                .connection
                .files
                .iter()
                .find(|(_, path)| path.trim_start_matches("./") == relative)
                .map(|(k, _)| *k);
            tls_dir_files.push(TlsDirFile {
                relative: relative.clone(),
                named_by,
                private_key: secret,
                named_without_folder,
            });
            match named_by {
                None => continue,
                Some(key) if secret && key != "client_key_file" => {
                    problems.push(ComposeProblem::KeyInTlsDir { file: path, key });
                    continue;
                }
                Some(_) => {}
            }
            holds_private_key |= secret;
            code.add_file(
                &format!("{}/{relative}", crate::steps::TLS_FOLDER),
                bytes,
                secret_mode(secret),
            )?;
        }
    }
    let Some(checked) = checked.filter(|_| conn_ok && problems.is_empty()) else {
        return Err(ComposeError::Invalid(problems));
    };
    let mut warnings = checked.warnings;
    // A file now in the package needs no note that the builder reads it.
    warnings.retain(|w| {
        !matches!(w, ConnectionWarning::Unresolved { path, .. } if code.contains(path.trim_start_matches("./")))
    });
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
            // The file is in the TLS directory, named without `tls/`.
            let bare = path.trim_start_matches("./");
            let hint = if tls_dir_files.iter().any(|f| f.relative == bare) {
                format!(
                    "; --tls-dir has `{bare}`, but files from --tls-dir ship as `{}/<file>` (the build reads `*_file` keys from the package's root): write `{}/{bare}`",
                    crate::steps::TLS_FOLDER,
                    crate::steps::TLS_FOLDER
                )
            } else {
                String::new()
            };
            warnings.push(ConnectionWarning::NotInPackage {
                key,
                path: path.clone(),
                hint,
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
        tls_dir_files,
    })
}

impl Composed {
    /// The package's bytes and ID, in memory.
    pub fn to_bytes(&self) -> Result<(PackageId, Vec<u8>), ComposeError> {
        let mut bytes = Vec::new();
        let id = package::write(&self.metadata, &self.code, &mut bytes)?;
        Ok((id, bytes))
    }

    /// The file mode the package should be written with: 0600 when a
    /// private key is inside, else 0644.
    pub fn file_mode(&self) -> u32 {
        if self.holds_private_key {
            0o600
        } else {
            0o644
        }
    }
}

/// Writes the package to `out` atomically (0600 when a private key is
/// inside, else 0644) and returns its package ID.
pub fn write_package(composed: &Composed, out: &Path) -> Result<PackageId, ComposeError> {
    let (id, bytes) = composed.to_bytes()?;
    fs::write_atomic(out, &bytes, composed.file_mode())?;
    Ok(id)
}
