//! Looking at a package, a connection.json or a metadata.json ahead of any
//! peer: what is in it, and every finding with what the peer would do about
//! it. Behind `ccaas inspect` and `ccaas validate`.
//!
//! ```
//! use ccaas_core::examine::{self, ExamineOptions, Severity};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("connection.json");
//! std::fs::write(&path, r#"{"address": "cc:9999", "tls_required": "true"}"#)?;
//! let exam = examine::examine_file(&path, &ExamineOptions::default())?;
//! // A string boolean, and TLS on without a root certificate.
//! assert_eq!(exam.findings.iter().filter(|f| f.severity == Severity::Error).count(), 1);
//! assert_eq!(exam.findings.len(), 2);
//! assert_eq!(exam.findings[1].severity, Severity::Warning);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::archive::{self, CodeEntry, CodeSummary, Limits};
use crate::connection::{self, Connection, LoadOptions};
use crate::fs::{self, FsError};
use crate::index::{self, IndexScope};
use crate::metadata::{Dialect, Metadata};
use crate::outcome::PeerOutcome;
use crate::package::{self, PackageId};
use crate::steps::{self, BuildSettings, SourceCheck, StepError};
use crate::template::TemplateConfig;
use crate::tls_files::TlsFiles;
use std::path::{Path, PathBuf};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The peer (or this builder) would fail: `validate` exits 1.
    Error,
    /// Worth fixing; the install works.
    Warning,
    /// Information: how the builder will treat something the peer accepts.
    Note,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One problem or piece of advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The file it is about (`connection.json`, `metadata.json`, an index).
    pub file: String,
    /// What is wrong, naming the key.
    pub message: String,
    /// What the peer itself would do.
    pub peer: PeerOutcome,
    /// The install succeeds, with this builder too, and the first invoke
    /// fails (TLS material that does not fit together): `simulate` gives
    /// the same verdict in the same words.
    pub at_launch: bool,
}

impl Finding {
    /// What the peer would do, in words that fit the verdict.
    pub fn outcome(&self) -> &'static str {
        if self.at_launch {
            "the install succeeds and the first invoke would fail, whatever the builder"
        } else {
            self.peer.describe()
        }
    }
}

/// What kind of file was examined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A chaincode package.
    Package,
    /// A connection.json.
    Connection,
    /// A metadata.json.
    Metadata,
}

/// How to examine.
#[derive(Debug, Clone, Default)]
pub struct ExamineOptions {
    /// The JSON object templates are rendered from (as
    /// `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` on the peer).
    pub config: Option<String>,
    /// The operator's TLS directory (as `CCAAS_TLS_DIR` on the peer).
    pub tls_dir: Option<PathBuf>,
    /// Reading limits.
    pub limits: Limits,
    /// The chaincode server's certificate (PEM), to check that it covers
    /// the name the peer dials and was issued by `root_cert`.
    pub server_cert: Option<String>,
    /// Whether the peer reads `domain` (with client auth) as the TLS
    /// server name: Fabric v3.0+. False (the default) plays Fabric v2.5,
    /// which checks the address host.
    pub honours_domain: bool,
}

/// Everything found in a file.
#[derive(Debug, Clone)]
pub struct Examination {
    /// What the file is.
    pub kind: FileKind,
    /// The package ID (packages).
    pub id: Option<PackageId>,
    /// The metadata (packages, metadata.json).
    pub metadata: Option<Metadata>,
    /// Package size in bytes.
    pub package_bytes: u64,
    /// What code.tar.gz holds.
    pub code: CodeSummary,
    /// Whether code.tar.gz could be read to its end: a package whose
    /// code.tar.gz is broken still has its ID and metadata, but no code.
    pub code_readable: bool,
    /// code.tar.gz's entries.
    pub entries: Vec<CodeEntry>,
    /// Top-level package entries the peer ignores.
    pub ignored: Vec<String>,
    /// The connection, when it loaded.
    pub connection: Option<Connection>,
    /// CouchDB indexes, by path under the metadata folder.
    pub indexes: Vec<(String, IndexScope)>,
    /// Files shipped under `tls/`.
    pub tls_files: Vec<String>,
    /// Every finding.
    pub findings: Vec<Finding>,
}

impl Examination {
    fn new(kind: FileKind) -> Self {
        Examination {
            kind,
            id: None,
            metadata: None,
            package_bytes: 0,
            code: CodeSummary::default(),
            code_readable: false,
            entries: Vec::new(),
            ignored: Vec::new(),
            connection: None,
            indexes: Vec::new(),
            tls_files: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// The stable `--json` shape (documented in docs/cli.md); key material
    /// is redacted.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let kind = match self.kind {
            FileKind::Package => "package",
            FileKind::Connection => "connection",
            FileKind::Metadata => "metadata",
        };
        json!({
            "kind": kind,
            "package_id": self.id.as_ref().map(ToString::to_string),
            "metadata": self.metadata.as_ref().map(|m| json!({
                "label": m.label.as_str(),
                "type": crate::report::shorten(&m.chaincode_type),
                "path": crate::report::shorten(&m.path),
                "dialect": m.dialect().map(Dialect::type_name),
            })),
            "package_bytes": self.id.is_some().then_some(self.package_bytes),
            "code": (self.id.is_some() && self.code_readable).then(|| json!({
                "files": self.code.files,
                "directories": self.code.dirs,
                "bytes": self.code.bytes,
                "entries": self.entries.iter().map(|e| json!({
                    "path": e.path,
                    "kind": match e.kind { archive::CodeEntryKind::File => "file", archive::CodeEntryKind::Dir => "directory" },
                    "size": e.size,
                    "mode": format!("{:04o}", e.mode),
                })).collect::<Vec<_>>(),
            })),
            "ignored": self.ignored,
            "connection": self.connection.as_ref().map(|c| json!({
                "json": c.redacted_json(),
                "tls": c.tls_mode().to_string(),
                "effective_dial_timeout": c.effective_dial_timeout().to_string(),
            })),
            "indexes": self.indexes.iter().map(|(path, scope)| json!({
                "path": path,
                "database": match scope { IndexScope::State => "state".to_owned(), IndexScope::Collection(c) => format!("collection:{c}") },
            })).collect::<Vec<_>>(),
            "tls_files": self.tls_files,
            "findings": self.findings.iter().map(|f| json!({
                "severity": f.severity.as_str(),
                "file": f.file,
                "message": f.message,
                "peer": f.peer.as_str(),
                "at_launch": f.at_launch,
            })).collect::<Vec<_>>(),
            "ok": !self.has_errors(),
            "verdict": self.verdict(),
        })
    }

    /// The verdict in the words `validate` prints and `simulate` agrees
    /// with.
    pub fn verdict(&self) -> &'static str {
        let mut errors = self.errors().peekable();
        if errors.peek().is_none() {
            "installs with this builder"
        } else if errors.all(|f| f.at_launch) {
            "installs with this builder, but the first invoke would fail"
        } else {
            "the install would fail with this builder"
        }
    }

    /// The findings that are errors, in order.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    fn error(&mut self, file: &str, message: String, peer: PeerOutcome) {
        self.findings.push(Finding {
            severity: Severity::Error,
            file: file.to_owned(),
            message,
            peer,
            at_launch: false,
        });
    }

    /// Records a loaded connection, with the X.509 checks when built in.
    fn accept_connection(
        &mut self,
        file: &str,
        connection: Connection,
        server_cert: Option<&str>,
        honours_domain: bool,
    ) {
        #[cfg(feature = "tls-checks")]
        for f in crate::tls_check::check(
            &connection,
            server_cert,
            std::time::SystemTime::now(),
            honours_domain,
        ) {
            self.findings.push(Finding {
                severity: if f.fails {
                    Severity::Error
                } else {
                    Severity::Note
                },
                file: file.to_owned(),
                message: f.describe(),
                peer: if f.fails {
                    PeerOutcome::FailsAtLaunch
                } else {
                    PeerOutcome::Accepts
                },
                at_launch: f.fails,
            });
        }
        #[cfg(not(feature = "tls-checks"))]
        let _ = (server_cert, honours_domain);
        if let Some(host) = loopback_host(&connection.address) {
            self.findings.push(Finding {
                severity: Severity::Warning,
                file: file.to_owned(),
                message: format!(
                    "key `address` is `{}`: `{host}` is a loopback address, and from a peer's container that is the peer itself, not the chaincode server (use the name or address the peer reaches the chaincode server by, e.g. its container or service name; fine only when the peer and the chaincode server share a network namespace)",
                    crate::report::shorten(&connection.address)
                ),
                peer: PeerOutcome::Accepts,
                at_launch: false,
            });
        }
        self.connection = Some(connection);
    }

    fn connection_findings(
        &mut self,
        file: &str,
        warnings: &[connection::ConnectionWarning],
        problems: &[connection::ConnectionError],
    ) {
        for p in problems {
            self.error(file, crate::report::chain(p), p.peer_outcome());
        }
        for w in warnings {
            let peer = w.peer_outcome();
            self.findings.push(Finding {
                severity: if w.is_note() {
                    Severity::Note
                } else {
                    Severity::Warning
                },
                file: file.to_owned(),
                message: w.to_string(),
                peer,
                at_launch: false,
            });
        }
    }
}

/// Guesses what `path` holds: gzip magic means a package; otherwise the
/// file name, then the keys of the JSON object.
pub fn kind_of_file(path: &Path, head: &[u8]) -> FileKind {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if head.starts_with(&[0x1f, 0x8b])
        || [".tgz", ".tar.gz", ".gz", ".tar"]
            .iter()
            .any(|e| name.ends_with(e))
    {
        return FileKind::Package;
    }
    if name.contains("metadata") {
        return FileKind::Metadata;
    }
    if name.contains("connection") {
        return FileKind::Connection;
    }
    match crate::gojson::JsonObject::parse(head) {
        Ok(obj)
            if obj.get("address").is_none()
                && (obj.get("label").is_some() || obj.get("type").is_some()) =>
        {
            FileKind::Metadata
        }
        _ => FileKind::Connection,
    }
}

/// Examines a package, connection.json or metadata.json.
pub fn examine_file(path: &Path, options: &ExamineOptions) -> Result<Examination, FsError> {
    let mut head = Vec::new();
    {
        use std::io::Read;
        let file = fs::open_regular(path)?;
        file.take(connection::MAX_CONNECTION_BYTES + 1)
            .read_to_end(&mut head)
            .map_err(|e| FsError::io("read", path, e))?;
    }
    let kind = kind_of_file(path, &head);
    let limit = match kind {
        FileKind::Metadata => crate::metadata::MAX_METADATA_BYTES,
        _ => connection::MAX_CONNECTION_BYTES,
    };
    if kind != FileKind::Package && head.len() as u64 > limit {
        let mut exam = Examination::new(kind);
        let too_large = FsError::TooLarge {
            path: path.to_owned(),
            limit,
        };
        exam.error(
            &path.display().to_string(),
            too_large.to_string(),
            PeerOutcome::NoLimit,
        );
        return Ok(exam);
    }
    Ok(match kind {
        FileKind::Package => examine_package(path, options)?,
        FileKind::Metadata => examine_metadata(&head),
        FileKind::Connection => examine_connection(path, &head, options),
    })
}

/// The host of `address` when it is a loopback one (`localhost`,
/// `127.0.0.0/8`, `::1`, `0.0.0.0`).
fn loopback_host(address: &str) -> Option<&str> {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let lower = host.to_ascii_lowercase();
    let loopback = lower == "localhost"
        || lower == "localhost."
        || lower.ends_with(".localhost")
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
        || host
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    loopback.then_some(host)
}

/// [`examine_file`] of what `reader` yields (standard input, bytes in
/// memory): a package is streamed, a connection.json or metadata.json read
/// whole within its limit. `name` is how findings name it, and how its kind
/// is guessed when the contents do not tell (`-` guesses from the contents
/// alone).
///
/// ```
/// use ccaas_core::examine::{examine_from, ExamineOptions, FileKind};
///
/// let exam = examine_from(&br#"{"address": "cc:9999"}"#[..], "-", &ExamineOptions::default())?;
/// assert_eq!(exam.kind, FileKind::Connection);
/// assert!(!exam.has_errors());
/// # Ok::<(), ccaas_core::fs::FsError>(())
/// ```
pub fn examine_from<R: std::io::Read>(
    mut reader: R,
    name: &str,
    options: &ExamineOptions,
) -> Result<Examination, FsError> {
    use std::io::Read as _;
    let mut head = Vec::new();
    reader
        .by_ref()
        .take(connection::MAX_CONNECTION_BYTES + 1)
        .read_to_end(&mut head)
        .map_err(|e| FsError::io("read", Path::new(name), e))?;
    let kind = kind_of_file(Path::new(name), &head);
    if kind == FileKind::Package {
        let whole = std::io::Cursor::new(head).chain(reader);
        return examine_package_from(std::io::BufReader::new(whole), name, options);
    }
    let limit = match kind {
        FileKind::Metadata => crate::metadata::MAX_METADATA_BYTES,
        _ => connection::MAX_CONNECTION_BYTES,
    };
    if head.len() as u64 > limit {
        let mut exam = Examination::new(kind);
        let too_large = FsError::TooLarge {
            path: Path::new(name).to_owned(),
            limit,
        };
        exam.error(name, too_large.to_string(), PeerOutcome::NoLimit);
        return Ok(exam);
    }
    Ok(match kind {
        FileKind::Metadata => examine_metadata(&head),
        _ => examine_connection(Path::new(name), &head, options),
    })
}

/// Examines metadata.json bytes.
pub fn examine_metadata(bytes: &[u8]) -> Examination {
    let mut exam = Examination::new(FileKind::Metadata);
    match Metadata::parse(bytes) {
        Err(e) => exam.error(
            "metadata.json",
            crate::report::chain(&e)
                .trim_start_matches("`metadata.json`: ")
                .to_owned(),
            PeerOutcome::RejectsInstall,
        ),
        Ok(meta) => {
            if meta.dialect().is_none() {
                exam.error(
                    "metadata.json",
                    format!("type `{}` is not a chaincode-as-a-service type (expected `ccaas` or `external`); no chaincode-as-a-service builder would claim it (the peer would hand it to its built-in Docker build)", crate::report::shorten(&meta.chaincode_type)),
                    PeerOutcome::Accepts,
                );
            }
            exam.metadata = Some(meta);
        }
    }
    exam
}

/// Examines a connection.json at `path` (its `*_file` references resolve
/// next to it, then in the TLS directory).
pub fn examine_connection(path: &Path, bytes: &[u8], options: &ExamineOptions) -> Examination {
    let mut exam = Examination::new(FileKind::Connection);
    let file = path.display().to_string();
    let config = match options
        .config
        .as_deref()
        .map(TemplateConfig::parse)
        .transpose()
    {
        Ok(c) => c,
        Err(e) => {
            exam.error(&file, e.to_string(), PeerOutcome::FailsAtLaunch);
            return exam;
        }
    };
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tls_files = TlsFiles::new(base, options.tls_dir.as_deref());
    let load = LoadOptions {
        config: config.as_ref(),
        strict: false,
        tls_files: Some(&tls_files),
        built: false,
    };
    match connection::load(bytes, &load) {
        Ok(checked) => {
            exam.connection_findings(&file, &checked.warnings, &[]);
            exam.accept_connection(
                &file,
                checked.connection,
                options.server_cert.as_deref(),
                options.honours_domain,
            );
        }
        Err(rejected) => exam.connection_findings(&file, &rejected.warnings, &rejected.problems),
    }
    exam
}

/// Examines a package file: the peer's package rules, then what our build
/// step would check, on a copy extracted to a temporary directory.
pub fn examine_package(path: &Path, options: &ExamineOptions) -> Result<Examination, FsError> {
    let file = fs::open_regular(path)?;
    examine_package_from(file, &path.display().to_string(), options)
}

/// [`examine_package`] of a package in memory, or read from any reader
/// (standard input); `name` is how findings name it.
///
/// ```
/// use ccaas_core::examine::{examine_package_from, ExamineOptions};
///
/// let bytes = include_bytes!("../../../fixtures/sample/basic_1.0.tgz");
/// let exam = examine_package_from(&bytes[..], "basic_1.0.tgz", &ExamineOptions::default())?;
/// assert_eq!(exam.metadata.map(|m| m.label.to_string()).as_deref(), Some("basic_1.0"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn examine_package_from<R: std::io::Read>(
    file: R,
    name: &str,
    options: &ExamineOptions,
) -> Result<Examination, FsError> {
    let mut exam = Examination::new(FileKind::Package);
    let work = tempfile::tempdir()
        .map_err(|e| FsError::io("create a temporary directory in", &std::env::temp_dir(), e))?;
    let src = work.path().join("src");
    fs::create_dir_all(&src, 0o700)?;
    let mut entries = Vec::new();
    let read = package::read(file, &options.limits, |entry, contents| {
        entries.push(entry.clone());
        // What the build step reads: connection.json, the metadata folders,
        // tls/, and any file small enough to be a `*_file` target. Large
        // unrelated files are listed, not written.
        if wanted_for_checks(entry) {
            archive::extract_entry(&src, entry, contents)
        } else {
            Ok(())
        }
    });
    let info = match read {
        Ok(info) => info,
        Err(e) => {
            let peer = if e.is_limit() {
                PeerOutcome::NoLimit
            } else {
                PeerOutcome::RejectsInstall
            };
            // A broken code.tar.gz: the top level still says which
            // package this is (the peer's ID does not open code.tar.gz).
            if let Some(info) = e.package_info() {
                exam.entries = entries;
                exam.id = Some(info.id.clone());
                exam.package_bytes = info.package_bytes;
                exam.ignored = info.ignored.clone();
                exam.metadata = Some(info.metadata.clone());
            }
            exam.error(name, crate::report::chain(&e), peer);
            return Ok(exam);
        }
    };
    exam.entries = entries;
    exam.id = Some(info.id.clone());
    exam.package_bytes = info.package_bytes;
    exam.code = info.code;
    exam.code_readable = true;
    for name in &info.ignored {
        exam.findings.push(Finding {
            severity: Severity::Warning,
            file: name.clone(),
            message: format!("`{name}` is not `metadata.json` or `code.tar.gz`; the peer logs a warning and skips it"),
            peer: PeerOutcome::Ignores,
            at_launch: false,
        });
    }
    exam.ignored = info.ignored;
    let dialect = info.metadata.dialect();
    exam.metadata = Some(info.metadata);
    let Some(dialect) = dialect else {
        exam.findings
            .extend(examine_metadata(&info.metadata_bytes).findings);
        return Ok(exam);
    };
    let settings = BuildSettings {
        config: options.config.clone(),
        tls_dir: options.tls_dir.clone(),
        ahead_of_peer: true,
    };
    let check = match steps::check_source(&src, &settings) {
        Ok(check) => check,
        Err(e) => {
            exam.error(
                "connection.json",
                crate::report::chain(&e),
                PeerOutcome::FailsAtLaunch,
            );
            return Ok(exam);
        }
    };
    let SourceCheck {
        connection,
        indexes,
        tls,
        ..
    } = check;
    match connection {
        Ok(checked) => {
            exam.connection_findings("connection.json", &checked.warnings, &[]);
            exam.accept_connection(
                "connection.json",
                checked.connection,
                options.server_cert.as_deref(),
                options.honours_domain,
            );
        }
        Err(StepError::Connection { rejected, .. }) => {
            exam.connection_findings("connection.json", &rejected.warnings, &rejected.problems)
        }
        Err(e) => exam.error(
            "connection.json",
            strip_dir(&crate::report::chain(&e), &src),
            PeerOutcome::FailsAtLaunch,
        ),
    }
    match indexes {
        Ok(found) => {
            exam.indexes = found
                .keys()
                .filter_map(|p| index::locate(p).ok().map(|scope| (p.clone(), scope)))
                .collect();
            let wrong_folder =
                folder_advice(dialect, found.values().map(|(folder, _)| folder.as_str()));
            if let Some(message) = wrong_folder {
                exam.findings.push(Finding {
                    severity: Severity::Warning,
                    file: "code.tar.gz".into(),
                    message,
                    peer: PeerOutcome::Accepts,
                    at_launch: false,
                });
            }
        }
        Err(e) => {
            for line in e.lines() {
                // The peer logs a bad index and carries on without it; this
                // builder refuses the install instead.
                exam.error("code.tar.gz", strip_dir(&line, &src), PeerOutcome::Ignores);
            }
        }
    }
    match tls {
        Ok(files) => exam.tls_files = files.into_iter().map(|(p, _)| p).collect(),
        Err(e) => exam.error(
            "code.tar.gz",
            strip_dir(&crate::report::chain(&e), &src),
            PeerOutcome::RejectsInstall,
        ),
    }
    Ok(exam)
}

/// Advice when indexes sit in the folder of the other dialect: this builder
/// releases both, but Fabric's builder and the v2.0 scripts each read one.
fn folder_advice<'a>(
    dialect: Dialect,
    mut folders: impl Iterator<Item = &'a str>,
) -> Option<String> {
    let expected = dialect.metadata_folder();
    folders.find(|f| *f != expected).map(|other| {
        format!(
            "CouchDB indexes are under `{other}/`; this builder releases them, but for type `{dialect}` other builders read only `{expected}/`"
        )
    })
}

fn wanted_for_checks(entry: &CodeEntry) -> bool {
    if entry.path == "connection.json" {
        return true;
    }
    let in_folder = steps::METADATA_FOLDERS
        .iter()
        .chain([&steps::TLS_FOLDER])
        .any(|f| entry.path == *f || entry.path.starts_with(&format!("{f}/")));
    in_folder
        || entry.kind == archive::CodeEntryKind::Dir
        || entry.size <= crate::tls_files::MAX_TLS_FILE_BYTES
}

/// Messages name files in the temporary extraction; show them relative.
fn strip_dir(text: &str, dir: &Path) -> String {
    text.replace(&format!("{}/", dir.display()), "")
        .replace(&dir.display().to_string(), ".")
}
