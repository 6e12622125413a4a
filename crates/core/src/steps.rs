//! The three steps a peer runs: `detect SRC METADATA`, `build SRC METADATA
//! BLD` and `release BLD RELEASE`. Each takes its directories and settings
//! and returns what happened; the binaries only print and exit.
//!
//! Output goes into place with `connection.json` last, under a temporary
//! name until it is whole (into a destination that already holds something,
//! through a hidden staging directory), so a failed or killed step never
//! leaves a connection.json the peer could pick up with the rest missing.
//!
//! ```
//! use ccaas_core::steps::{self, BuildSettings, Detection};
//!
//! let scratch = tempfile::tempdir()?;
//! let dir = |name: &str| -> std::io::Result<std::path::PathBuf> {
//!     let p = scratch.path().join(name);
//!     std::fs::create_dir(&p)?;
//!     Ok(p)
//! };
//! let (src, meta, bld, release) = (dir("src")?, dir("metadata")?, dir("bld")?, dir("release")?);
//! std::fs::write(meta.join("metadata.json"), r#"{"type": "ccaas", "label": "basic_1.0"}"#)?;
//! std::fs::write(src.join("connection.json"), r#"{"address": "basic:9999"}"#)?;
//!
//! assert!(matches!(steps::detect(&meta, None), Detection::Claimed { .. }));
//! steps::build(&src, &meta, &bld, &BuildSettings::default())?;
//! steps::release(&bld, &release)?;
//! assert!(release.join("chaincode/server/connection.json").is_file());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::connection::{
    self, Checked, ConnectionWarning, LoadOptions, Rejected, MAX_CONNECTION_BYTES,
};
use crate::fs::{self, FsError};
use crate::index::{self, IndexError, MAX_INDEX_BYTES};
use crate::metadata::{Dialect, MetadataError, RawMetadata, MAX_METADATA_BYTES};
use crate::report::count;
use crate::template::{TemplateConfig, TemplateError};
use crate::tls_files::{TlsFiles, MAX_TLS_FILE_BYTES};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Mode of directories we create.
pub const DIR_MODE: u32 = 0o750;
/// Mode of files without key material.
pub const FILE_MODE: u32 = 0o640;
/// Mode of files holding a private key.
pub const SECRET_MODE: u32 = 0o600;

/// The folders of code.tar.gz (and of BLD) that may hold `statedb/`.
pub const METADATA_FOLDERS: [&str; 2] = ["META-INF", "metadata"];
/// The folder of TLS files shipped in the package.
pub const TLS_FOLDER: &str = "tls";

crate::report::debug_as_chain!(StepError);

/// Why a step failed. Each variant names the file it is about.
#[derive(thiserror::Error)]
pub enum StepError {
    /// A directory argument is missing or not a directory.
    #[error("`{path}` is not a directory (the {role} directory argument)")]
    NotADirectory {
        /// The path.
        path: PathBuf,
        /// Which argument.
        role: &'static str,
    },
    /// `metadata.json` could not be read.
    #[error("cannot read `{path}`")]
    ReadMetadata {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: FsError,
    },
    /// `metadata.json` is invalid.
    #[error("`{path}` is invalid")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: MetadataError,
    },
    /// The package is not of a type this builder handles.
    #[error("`{path}` has type `{found}`, which is not a chaincode-as-a-service package (expected `ccaas` or `external`)")]
    NotOurs {
        /// metadata.json.
        path: PathBuf,
        /// The type found.
        found: String,
    },
    /// `connection.json` is absent.
    #[error("`{path}` does not exist: a chaincode-as-a-service package must carry `connection.json` at the top of its code.tar.gz (package it with `ccaas package`){hint}")]
    NoConnection {
        /// Where it was expected.
        path: PathBuf,
        /// A near miss: a `connection.json` one folder down.
        hint: String,
    },
    /// `BLD/connection.json` is absent at release.
    #[error(
        "`{path}` does not exist: the build step did not complete (re-run the install to rebuild)"
    )]
    NotBuilt {
        /// Where it was expected.
        path: PathBuf,
    },
    /// `connection.json` has problems (one line per problem).
    #[error("`{path}` would not work with the peer")]
    Connection {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        rejected: Rejected,
    },
    /// `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` is not a JSON object.
    #[error(transparent)]
    Config(#[from] TemplateError),
    /// An index file is not one the peer creates.
    #[error("`{root}`: {source}")]
    Index {
        /// The folder it was found in.
        root: PathBuf,
        /// Why.
        #[source]
        source: IndexError,
    },
    /// The same index in `META-INF/` and `metadata/`.
    #[error("index `{path}` is defined in both `META-INF/` and `metadata/`; keep one")]
    IndexTwice {
        /// The index path under `statedb/`.
        path: String,
    },
    /// A file-system failure.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// Several problems, each its own line.
    #[error("{}", crate::report::list_problems(.0))]
    Several(Vec<StepError>),
}

impl StepError {
    /// The warnings found on the way to this error, one line each.
    pub fn warnings(&self) -> Vec<String> {
        match self {
            StepError::Connection { path, rejected } => warning_lines(path, &rejected.warnings),
            StepError::Several(all) => all.iter().flat_map(StepError::warnings).collect(),
            _ => Vec::new(),
        }
    }

    /// One line per problem, for the peer's log: most errors are one line,
    /// a rejected connection.json is one line per key.
    pub fn lines(&self) -> Vec<String> {
        match self {
            StepError::Connection { path, rejected } => rejected
                .problems
                .iter()
                .map(|p| format!("`{}`: {}", path.display(), crate::report::chain(p)))
                .collect(),
            StepError::Several(all) => all.iter().flat_map(StepError::lines).collect(),
            other => vec![crate::report::chain(other)],
        }
    }
}

/// What `detect` decided.
#[derive(Debug)]
pub enum Detection {
    /// Ours: exit 0.
    Claimed {
        /// The dialect.
        dialect: Dialect,
        /// The label, as written.
        label: String,
    },
    /// Another type (golang, node, ...): exit 1 without a word.
    NotOurs,
    /// metadata.json is missing or broken: exit 1 with one line.
    Declined(StepError),
}

/// The variable that narrows the types `detect` claims.
pub const DETECT_TYPES_ENV: &str = "CCAAS_DETECT_TYPES";

/// Parses `CCAAS_DETECT_TYPES` (a comma list of `ccaas`, `external`).
pub fn parse_detect_types(list: &str) -> Result<Vec<Dialect>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<Dialect>().map_err(|e| {
                // `ccaas external`, `ccaas;external`: the wrong separator.
                let parts: Vec<&str> = t
                    .split([' ', ';', ':', '|', '\t'])
                    .filter(|p| !p.is_empty())
                    .collect();
                if parts.len() > 1 && parts.iter().all(|p| p.parse::<Dialect>().is_ok()) {
                    format!("{e}; separate the types with commas: `{}`", parts.join(","))
                } else {
                    e
                }
            })
        })
        .collect()
}

/// The types `detect` claims, from the value of `CCAAS_DETECT_TYPES`:
/// `None` (both) when unset or blank, or why the value cannot be used.
///
/// ```
/// use ccaas_core::steps::detect_types;
/// use ccaas_core::Dialect;
///
/// assert_eq!(detect_types(None), Ok(None));
/// assert_eq!(detect_types(Some(" ".as_ref())), Ok(None));
/// assert_eq!(detect_types(Some("external".as_ref())), Ok(Some(vec![Dialect::External])));
/// assert!(detect_types(Some("golang".as_ref())).is_err());
/// // The wrong separator gets the fix.
/// let e = detect_types(Some("ccaas;external".as_ref())).unwrap_err();
/// assert!(e.ends_with("separate the types with commas: `ccaas,external`"), "{e}");
/// ```
pub fn detect_types(value: Option<&std::ffi::OsStr>) -> Result<Option<Vec<Dialect>>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let Some(list) = value.to_str() else {
        return Err(format!(
            "`{DETECT_TYPES_ENV}` is not UTF-8 (expected a comma list of `ccaas`, `external`)"
        ));
    };
    if list.trim().is_empty() {
        return Ok(None);
    }
    parse_detect_types(list)
        .map(Some)
        .map_err(|e| format!("`{DETECT_TYPES_ENV}`: {e}"))
}

/// `bin/detect`'s whole step: what it claims under `CCAAS_DETECT_TYPES`
/// (`detect_types`, the variable's value), as the exit code and the lines
/// for the peer's log (redacted). Shared by the `detect` binary and the
/// in-process builder of `ccaas simulate`.
pub fn detect_step(
    metadata_dir: &Path,
    detect_types_value: Option<&std::ffi::OsStr>,
) -> (u8, Vec<String>) {
    let allowed = match detect_types(detect_types_value) {
        Ok(allowed) => allowed,
        Err(e) => {
            return (
                1,
                vec![crate::report::redact(&format!("detect: declined: {e}")).into_owned()],
            )
        }
    };
    match detect(metadata_dir, allowed.as_deref()) {
        Detection::Claimed { dialect, label } => (
            0,
            vec![crate::report::redact(&format!(
                "detect: claimed `{}` (type {dialect})",
                crate::report::shorten(&label)
            ))
            .into_owned()],
        ),
        Detection::NotOurs => (1, Vec::new()),
        Detection::Declined(e) => (
            1,
            vec![
                crate::report::redact(&format!("detect: declined: {}", crate::report::chain(&e)))
                    .into_owned(),
            ],
        ),
    }
}

/// Reads `METADATA/metadata.json` without the label check (the peer has
/// checked it before any builder runs).
fn read_metadata(metadata_dir: &Path) -> Result<(PathBuf, RawMetadata), StepError> {
    let path = metadata_dir.join("metadata.json");
    let bytes =
        fs::read_limited(&path, MAX_METADATA_BYTES).map_err(|source| StepError::ReadMetadata {
            path: path.clone(),
            source,
        })?;
    let meta = RawMetadata::parse(&bytes).map_err(|source| StepError::Metadata {
        path: path.clone(),
        source,
    })?;
    Ok((path, meta))
}

/// `detect`: claims packages of type `ccaas` or `external` (or only the
/// types in `allowed`), declining all others silently.
pub fn detect(metadata_dir: &Path, allowed: Option<&[Dialect]>) -> Detection {
    let meta = match read_metadata(metadata_dir) {
        Ok((_, meta)) => meta,
        Err(e) => return Detection::Declined(e),
    };
    match meta.dialect() {
        Some(dialect) if allowed.is_none_or(|a| a.contains(&dialect)) => Detection::Claimed {
            dialect,
            label: meta.label,
        },
        _ => Detection::NotOurs,
    }
}

/// Settings of `build` that come from the peer's environment.
#[derive(Debug, Clone, Default)]
pub struct BuildSettings {
    /// The value of `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`.
    pub config: Option<String>,
    /// The value of `CCAAS_TLS_DIR`.
    pub tls_dir: Option<PathBuf>,
    /// Checking ahead of the peer (`ccaas validate`), not building: a
    /// template without config or a TLS file not found is a warning.
    pub ahead_of_peer: bool,
}

impl BuildSettings {
    /// What the peer's environment gives `build`, each variable read with
    /// `var` (`std::env::var_os` in the binary); an empty value counts as
    /// unset.
    ///
    /// ```
    /// use ccaas_core::steps::BuildSettings;
    ///
    /// let env = |name: &str| (name == "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG").then(|| " ".into());
    /// assert_eq!(BuildSettings::from_env(env).config, None);
    ///
    /// // An empty or blank `CCAAS_TLS_DIR` is unset too.
    /// let env = |name: &str| (name == "CCAAS_TLS_DIR").then(|| " ".into());
    /// assert_eq!(BuildSettings::from_env(env).tls_dir, None);
    /// ```
    pub fn from_env(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Self {
        BuildSettings {
            config: var(crate::template::CONFIG_ENV)
                .map(|v| v.to_string_lossy().into_owned())
                .filter(|v| !v.trim().is_empty()),
            // Empty or blank counts as unset, as for the other variables.
            tls_dir: var(crate::tls_files::TLS_DIR_ENV)
                .filter(|v| !v.to_string_lossy().trim().is_empty())
                .map(PathBuf::from),
            ahead_of_peer: false,
        }
    }
}

/// This builder's name and version, as build's summary line and the
/// builder binaries' `--version` give them: which builder built a package
/// can be read from the peer's log.
pub const BUILDER: &str = concat!("ccaas-builder ", env!("CARGO_PKG_VERSION"));

/// What a successful step did, for its summary line.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The chaincode label (build) or `None` (release).
    pub label: Option<String>,
    /// The dialect (build).
    pub dialect: Option<Dialect>,
    /// The connection written.
    pub connection: connection::Connection,
    /// CouchDB index files written.
    pub indexes: usize,
    /// TLS files written.
    pub tls_files: usize,
    /// Warnings, one line each.
    pub warnings: Vec<String>,
}

impl StepReport {
    /// The one summary line: label, address, TLS mode, indexes.
    pub fn summary(&self) -> String {
        let c = &self.connection;
        let mut line = match (&self.label, self.dialect) {
            (Some(label), Some(d)) => format!("`{}` ({d}): ", crate::report::shorten(label)),
            _ => String::new(),
        };
        line.push_str(&format!(
            "address {}, TLS {}, dial timeout {}, {}",
            crate::report::shorten(&c.address),
            c.tls_mode(),
            c.effective_dial_timeout(),
            count(self.indexes as u64, "CouchDB index", "CouchDB indexes"),
        ));
        if self.tls_files > 0 {
            line.push_str(", ");
            line.push_str(&count(self.tls_files as u64, "TLS file", "TLS files"));
        }
        // build's line (the one with the label) says which builder built.
        if self.label.is_some() {
            line.push_str("; built by ");
            line.push_str(BUILDER);
        }
        line
    }
}

fn require_dir(path: &Path, role: &'static str) -> Result<(), StepError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        _ => Err(StepError::NotADirectory {
            path: path.to_owned(),
            role,
        }),
    }
}

fn warning_lines(path: &Path, warnings: &[ConnectionWarning]) -> Vec<String> {
    warnings
        .iter()
        .map(|w| format!("`{}`: {w}", path.display()))
        .collect()
}

/// Index files found under `<root>/<folder>/statedb`, keyed by their path
/// relative to the folder (`statedb/couchdb/...`), each validated.
fn collect_indexes(root: &Path, out: &mut Indexes) -> Result<(), StepError> {
    let mut errors = Vec::new();
    for folder in METADATA_FOLDERS {
        let statedb = root.join(folder).join("statedb");
        if !fs::dir_exists(&root.join(folder))? || !fs::dir_exists(&statedb)? {
            continue;
        }
        for (relative, path) in fs::walk_files(&statedb)? {
            let relative = format!("statedb/{relative}");
            let file = fs::read_file(&path, MAX_INDEX_BYTES)?;
            if let Err(source) = index::validate(&relative, &file.bytes) {
                errors.push(StepError::Index {
                    root: root.join(folder),
                    source,
                });
            } else if out
                .insert(relative.clone(), (folder.to_owned(), file))
                .is_some()
            {
                errors.push(StepError::IndexTwice { path: relative });
            }
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(StepError::Several(errors)),
    }
}

/// Files of `<root>/tls/`, with whether each holds a private key.
fn collect_tls(root: &Path) -> Result<TlsFilesFound, StepError> {
    let dir = root.join(TLS_FOLDER);
    if !fs::dir_exists(&dir)? {
        return Ok(Vec::new());
    }
    fs::walk_files(&dir)?
        .into_iter()
        .map(|(relative, path)| Ok((relative, fs::read_file(&path, MAX_TLS_FILE_BYTES)?)))
        .collect()
}

fn mode_for(bytes: &[u8]) -> u32 {
    if crate::pem::contains_private_key(&String::from_utf8_lossy(bytes)) {
        SECRET_MODE
    } else {
        FILE_MODE
    }
}

/// Where a step assembles its output, so that the destination never holds a
/// `connection.json` the peer could pick up with the rest missing.
///
/// Into an empty destination (the peer always gives one), files go straight
/// to their place, and the marker (`connection.json`) last, through a
/// temporary name; if the step fails, what it made is removed again. Into a
/// destination that already holds something (a re-run), the output is
/// assembled in a hidden directory beside it and moved in, the marker last.
/// A killed step leaves at most files without a marker, which the next run
/// replaces.
struct Staging {
    /// The destination.
    dest: PathBuf,
    /// The hidden directory output is assembled in, or `None` when it goes
    /// straight to `dest`.
    staged: Option<tempfile::TempDir>,
    /// Names beginning with this are ours (staging dirs, the temporary marker).
    prefix: &'static str,
    /// The file that marks a complete output, relative to `dest`.
    marker: &'static str,
    /// Directories made so far (each once, not once per file).
    made: std::cell::RefCell<Vec<PathBuf>>,
    /// The top-level entries made in `dest` directly, removed if the step
    /// fails before [`Staging::commit`].
    made_in_dest: std::cell::RefCell<Vec<PathBuf>>,
    committed: bool,
}

impl Staging {
    /// Removes leftovers of killed runs, then decides where output goes.
    fn new(dest: &Path, prefix: &'static str, marker: &'static str) -> Result<Self, FsError> {
        let mut occupied = false;
        for path in fs::sorted_entries(dest)? {
            let stale = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix));
            if stale {
                fs::remove_if_exists(&path)?;
            } else {
                occupied = true;
            }
        }
        let staged = if occupied {
            let dir = tempfile::Builder::new()
                .prefix(prefix)
                .tempdir_in(dest)
                .map_err(|e| FsError::io("create a staging directory in", dest, e))?;
            fs::set_mode(dir.path(), DIR_MODE)?;
            Some(dir)
        } else {
            None
        };
        Ok(Staging {
            dest: dest.to_owned(),
            staged,
            prefix,
            marker,
            made: Default::default(),
            made_in_dest: Default::default(),
            committed: false,
        })
    }

    /// Where output is assembled: the staging dir or the destination.
    fn root(&self) -> &Path {
        self.staged.as_ref().map_or(&self.dest, |dir| dir.path())
    }

    /// Where `relative` goes while the output is assembled, its parents made.
    fn prepare(&self, relative: &str) -> Result<PathBuf, FsError> {
        let path = self.root().join(relative);
        if self.staged.is_none() {
            let top = relative.split('/').next().unwrap_or(relative);
            let top = self.dest.join(top);
            let mut made = self.made_in_dest.borrow_mut();
            if !made.contains(&top) {
                made.push(top);
            }
        }
        if let Some(parent) = path.parent() {
            let mut made = self.made.borrow_mut();
            if parent != self.root() && !made.iter().any(|d| d == parent) {
                fs::create_dir_all(parent, DIR_MODE)?;
                made.push(parent.to_owned());
            }
        }
        Ok(path)
    }

    /// Puts a file that was read and checked at `relative`: hard-linked
    /// when the file system allows, so its data is not copied.
    fn place(&self, relative: &str, file: &fs::ReadFile, mode: u32) -> Result<(), FsError> {
        fs::link_or_write(file, &self.prepare(relative)?, mode).map(drop)
    }

    /// Puts the output in place: the `folders` that were assembled, then
    /// the marker, made by `make_marker` at the path it is given. A folder
    /// of the destination that this output has none of is removed.
    fn commit(
        mut self,
        folders: &[&str],
        make_marker: impl FnOnce(&Path) -> Result<(), FsError>,
    ) -> Result<(), FsError> {
        let marker = self.marker;
        let target = self.dest.join(marker);
        match &self.staged {
            None => {
                // Made under a temporary name, so that it appears whole.
                self.prepare(marker)?;
                let name = marker.rsplit('/').next().unwrap_or(marker);
                let temporary = self.dest.join(format!("{}{name}", self.prefix));
                self.made_in_dest.borrow_mut().push(temporary.clone());
                make_marker(&temporary)?;
                fs::rename(&temporary, &target)?;
            }
            Some(dir) => {
                let staged_marker = self.prepare(marker)?;
                make_marker(&staged_marker)?;
                // The marker goes first out and last in.
                fs::remove_if_exists(&target)?;
                for relative in folders.iter().chain([&marker]) {
                    let target = self.dest.join(relative);
                    fs::remove_if_exists(&target)?;
                    let staged = dir.path().join(relative);
                    if fs::entry_kind(&staged)?.is_some() {
                        if let Some(parent) = target.parent() {
                            fs::create_dir_all(parent, DIR_MODE)?;
                        }
                        fs::rename(&staged, &target)?;
                    }
                }
            }
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // A failed step into an empty destination leaves it empty again (a
        // staging dir removes itself), unless another run put a complete
        // output there meanwhile (never so under the peer).
        if !self.committed && !self.dest.join(self.marker).exists() {
            for path in self.made_in_dest.borrow().iter() {
                let _ = fs::remove_if_exists(path);
            }
        }
    }
}

/// `build`: checks and renders `SRC/connection.json`, validates CouchDB
/// indexes and collects TLS files, and writes them to `BLD`.
pub fn build(
    src: &Path,
    metadata_dir: &Path,
    bld: &Path,
    settings: &BuildSettings,
) -> Result<StepReport, StepError> {
    require_dir(src, "source (SRC)")?;
    require_dir(metadata_dir, "metadata (METADATA)")?;
    require_dir(bld, "build output (BLD)")?;
    let (meta_path, meta) = read_metadata(metadata_dir)?;
    let dialect = meta.dialect().ok_or_else(|| StepError::NotOurs {
        path: meta_path,
        found: crate::report::shorten(&meta.chaincode_type),
    })?;

    let SourceCheck {
        connection_path,
        connection,
        indexes,
        tls,
    } = check_source(src, settings)?.into_result()?;
    let Checked {
        connection,
        warnings,
    } = connection;

    let output = Staging::new(bld, ".ccaas-build-", "connection.json")?;
    for (relative, (folder, file)) in &indexes {
        output.place(&format!("{folder}/{relative}"), file, FILE_MODE)?;
    }
    for (relative, file) in &tls {
        output.place(
            &format!("{TLS_FOLDER}/{relative}"),
            file,
            mode_for(&file.bytes),
        )?;
    }
    let json = connection.to_json();
    let folders = [METADATA_FOLDERS[0], METADATA_FOLDERS[1], TLS_FOLDER];
    output.commit(&folders, |at| fs::write_new(at, &json, mode_for(&json)))?;

    Ok(StepReport {
        label: Some(meta.label),
        dialect: Some(dialect),
        connection,
        indexes: indexes.len(),
        tls_files: tls.len(),
        warnings: warning_lines(&connection_path, &warnings),
    })
}

/// Everything `build` reads from SRC, checked, with every problem found
/// (not only the first): `ccaas validate` reports them all.
#[derive(Debug)]
pub struct SourceCheck<
    C = Result<Checked, StepError>,
    I = Result<Indexes, StepError>,
    T = Result<TlsFilesFound, StepError>,
> {
    /// `SRC/connection.json`.
    pub connection_path: PathBuf,
    /// The connection, or why not.
    pub connection: C,
    /// The CouchDB index files.
    pub indexes: I,
    /// The files of `SRC/tls/`.
    pub tls: T,
}

/// Index files by path under `statedb/`'s parent, with their folder and
/// what was read.
pub type Indexes = BTreeMap<String, (String, fs::ReadFile)>;
/// TLS files by path under `tls/`, with what was read.
pub type TlsFilesFound = Vec<(String, fs::ReadFile)>;

impl SourceCheck {
    /// Every part, or every problem found.
    pub fn into_result(self) -> Result<SourceCheck<Checked, Indexes, TlsFilesFound>, StepError> {
        match (self.connection, self.indexes, self.tls) {
            (Ok(connection), Ok(indexes), Ok(tls)) => Ok(SourceCheck {
                connection_path: self.connection_path,
                connection,
                indexes,
                tls,
            }),
            (c, i, t) => {
                let mut errors: Vec<StepError> =
                    [c.err(), i.err(), t.err()].into_iter().flatten().collect();
                Err(if errors.len() == 1 {
                    errors.remove(0)
                } else {
                    StepError::Several(errors)
                })
            }
        }
    }
}

/// `; found `DIR/connection.json` ...` when code.tar.gz put connection.json
/// one folder down (`tar czf code.tar.gz src` instead of packing the
/// folder's contents).
fn connection_one_folder_down(src: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(src) else {
        return String::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            e.path()
                .join("connection.json")
                .symlink_metadata()
                .is_ok_and(|m| m.is_file())
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    match found.first() {
        None => String::new(),
        Some(dir) => format!(
            "; found `{dir}/connection.json`: code.tar.gz holds the folder `{dir}/` instead of its contents; make it from inside the folder (`tar -C {dir} -czf code.tar.gz .`)",
            dir = crate::report::shorten(dir)
        ),
    }
}

/// Reads and checks connection.json, CouchDB indexes and TLS files of
/// `src`. Fails early only when the template config itself is unusable.
pub fn check_source(src: &Path, settings: &BuildSettings) -> Result<SourceCheck, StepError> {
    let config = settings
        .config
        .as_deref()
        .map(TemplateConfig::parse)
        .transpose()?;
    let connection_path = src.join("connection.json");
    let connection = match fs::read_limited(&connection_path, MAX_CONNECTION_BYTES) {
        Err(e) if e.is_not_found() => Err(StepError::NoConnection {
            path: connection_path.clone(),
            hint: connection_one_folder_down(src),
        }),
        Err(e) => Err(e.into()),
        Ok(bytes) => {
            let tls_files = TlsFiles::new(src, settings.tls_dir.as_deref());
            let options = LoadOptions {
                config: config.as_ref(),
                strict: !settings.ahead_of_peer,
                tls_files: Some(&tls_files),
                built: false,
            };
            connection::load(&bytes, &options).map_err(|rejected| StepError::Connection {
                path: connection_path.clone(),
                rejected,
            })
        }
    };
    let mut indexes = BTreeMap::new();
    let indexes = collect_indexes(src, &mut indexes).map(|()| indexes);
    Ok(SourceCheck {
        connection_path,
        connection,
        indexes,
        tls: collect_tls(src),
    })
}

/// Where release puts connection.json, relative to RELEASE.
pub const RELEASED_CONNECTION: &str = "chaincode/server/connection.json";
/// Where release puts TLS files, relative to RELEASE.
pub const RELEASED_TLS: &str = "chaincode/server/tls";

/// `release`: writes `RELEASE/chaincode/server/connection.json`, CouchDB
/// indexes to `RELEASE/statedb/`, and TLS files to
/// `RELEASE/chaincode/server/tls/`. Accepts a BLD written by this builder,
/// by Fabric's `ccaas_builder` (`META-INF/`) or by the v2.0 sample scripts
/// (`metadata/`).
pub fn release(bld: &Path, release: &Path) -> Result<StepReport, StepError> {
    require_dir(bld, "build output (BLD)")?;
    require_dir(release, "release (RELEASE)")?;
    let conn_path = bld.join("connection.json");
    let built = match fs::read_file(&conn_path, MAX_CONNECTION_BYTES) {
        Err(e) if e.is_not_found() => return Err(StepError::NotBuilt { path: conn_path }),
        other => other?,
    };
    // Built connection.json is checked again: a BLD from another builder (or
    // a hand-edited one) gets the same guarantees.
    let Checked {
        connection,
        warnings,
    } = connection::load(
        &built.bytes,
        &LoadOptions {
            strict: true,
            built: true,
            ..LoadOptions::default()
        },
    )
    .map_err(|rejected| StepError::Connection {
        path: conn_path.clone(),
        rejected,
    })?;
    let mut indexes = BTreeMap::new();
    collect_indexes(bld, &mut indexes)?;
    let tls = collect_tls(bld)?;

    let output = Staging::new(release, ".ccaas-release-", RELEASED_CONNECTION)?;
    for (relative, (_, file)) in &indexes {
        output.place(relative, file, FILE_MODE)?;
    }
    for (relative, file) in &tls {
        output.place(
            &format!("{RELEASED_TLS}/{relative}"),
            file,
            mode_for(&file.bytes),
        )?;
    }
    let json = connection.to_json();
    output.commit(&["statedb", RELEASED_TLS], |at| {
        if json == built.bytes {
            // As this builder wrote it: the same file serves both.
            fs::link_or_write(&built, at, mode_for(&json)).map(drop)
        } else {
            fs::write_new(at, &json, mode_for(&json))
        }
    })?;
    for dir in ["chaincode", "chaincode/server"] {
        fs::set_mode(&release.join(dir), DIR_MODE)?;
    }

    Ok(StepReport {
        label: None,
        dialect: None,
        connection,
        indexes: indexes.len(),
        tls_files: tls.len(),
        warnings: warning_lines(&conn_path, &warnings),
    })
}

/// The lines a step writes to stderr, each starting with the step's name:
/// warnings, then the summary on success or one line per problem on error.
/// Every line has passed through [`crate::report::redact`]: the peer logs
/// them at INFO, so no key material reaches it, whatever a message quoted.
pub fn log_lines(step: &str, result: &Result<StepReport, StepError>) -> Vec<String> {
    let lines: Vec<String> = match result {
        Ok(report) => report
            .warnings
            .iter()
            .map(|w| format!("{step}: warning: {w}"))
            .chain([format!("{step}: {}", report.summary())])
            .collect(),
        Err(e) => e
            .warnings()
            .iter()
            .map(|w| format!("{step}: warning: {w}"))
            .chain(e.lines().iter().map(|l| format!("{step}: error: {l}")))
            .collect(),
    };
    lines
        .into_iter()
        .map(|l| crate::report::redact(&l).into_owned())
        .collect()
}
