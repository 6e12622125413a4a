//! Chaincode packages, the `.tar.gz` that `peer lifecycle chaincode install`
//! takes: read in one streaming pass with the peer's rules (and its package
//! ID computed on the way), and written deterministically, so every
//! organisation that builds the same package gets the same package ID.
//!
//! ```
//! use ccaas_core::archive::{CodeTree, Limits};
//! use ccaas_core::package::{self, PackageId};
//! use ccaas_core::{Dialect, Label, Metadata};
//!
//! let mut code = CodeTree::new();
//! code.add_file("connection.json", br#"{"address": "basic:9999"}"#.to_vec(), 0o644)?;
//! let meta = Metadata::new(Label::new("basic_1.0")?, Dialect::Ccaas);
//! let mut bytes = Vec::new();
//! let id = package::write(&meta, &code, &mut bytes)?;
//! assert!(id.to_string().starts_with("basic_1.0:"));
//!
//! let read = package::read(&bytes[..], &Limits::default(), |_, _| Ok(()))?;
//! assert_eq!(read.id, id);
//! assert_eq!(PackageId::of_bytes(&read.metadata.label, &bytes), id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::archive::{self, ArchiveError, CodeEntry, CodeEntryKind, CodeSummary, CodeTree, Limits};
use crate::metadata::{Label, Metadata, MetadataError, MAX_METADATA_BYTES};
use flate2::bufread::MultiGzDecoder;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// Name of the metadata file at the package's top level.
pub const METADATA_FILE: &str = "metadata.json";
/// Name of the code archive at the package's top level.
pub const CODE_FILE: &str = "code.tar.gz";
const PACKAGE: &str = "the package";

crate::report::debug_as_chain!(PackageError);

/// Why a package is not one the peer installs.
#[derive(thiserror::Error)]
pub enum PackageError {
    /// Not gzip, truncated, or a broken tar.
    #[error("the package is not a readable gzip-compressed tar (is it a chaincode package made by `peer lifecycle chaincode package` or `ccaas package`?)")]
    Corrupt(#[source] io::Error),
    /// A tar that is not gzip-compressed: a near miss of a package.
    #[error("the package is a tar archive but not gzip-compressed; the peer reads only gzip-compressed packages (make it with `tar czf NAME.tgz metadata.json code.tar.gz`, `z` for gzip)")]
    Uncompressed,
    /// A top-level entry that is not a regular file.
    #[error("package entry `{name}` is {kind}; the peer rejects packages with anything but regular files at the top level")]
    NotRegular {
        /// The entry.
        name: String,
        /// What it is.
        kind: String,
    },
    /// `metadata.json` or `code.tar.gz` missing.
    #[error("the package has no `{file}` at its top level{hint}")]
    Missing {
        /// The missing file.
        file: &'static str,
        /// A hint when a near name was found.
        hint: String,
    },
    /// Two `metadata.json` or `code.tar.gz` entries.
    #[error("the package holds `{name}` twice; the peer takes the last at install but the first when it reads the stored package, so this package is ambiguous")]
    Duplicate {
        /// The entry.
        name: &'static str,
    },
    /// `metadata.json` larger than the limit.
    #[error("`metadata.json` is {size} bytes; the limit is {limit}")]
    MetadataTooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// `metadata.json` invalid.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// `code.tar.gz` invalid.
    #[error(transparent)]
    Code(#[from] ArchiveError),
    /// `code.tar.gz` cannot be read, but the package's top level can: its
    /// ID and metadata are known (the peer computes the ID without opening
    /// code.tar.gz), so tools can still say which package this is.
    #[error("{source}")]
    BrokenCode {
        /// What the top level says: ID, metadata, sizes (the code summary
        /// is empty).
        info: Box<PackageInfo>,
        /// Why code.tar.gz cannot be read.
        #[source]
        source: ArchiveError,
    },
    /// The package goes past a limit.
    #[error("the package has more than {limit} {what} (the limit, reached at entry `{entry}`); refusing to read further")]
    TooLarge {
        /// Which limit.
        what: &'static str,
        /// The limit.
        limit: u64,
        /// The entry that went past it.
        entry: String,
    },
    /// Writing failed.
    #[error("cannot write the package")]
    Write(#[source] io::Error),
    /// The thread hashing the package stopped before the end (it cannot,
    /// short of the system failing).
    #[error("cannot compute the package ID: the hashing thread stopped")]
    Hashing,
}

impl PackageError {
    /// Whether this is one of our bounds on sizes and counts (the peer has
    /// none), not a rule of the peer's.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            PackageError::TooLarge { .. }
                | PackageError::MetadataTooLarge { .. }
                | PackageError::Code(ArchiveError::Limit { .. })
                | PackageError::BrokenCode {
                    source: ArchiveError::Limit { .. },
                    ..
                }
        )
    }

    /// The package's ID and metadata when its top level was read although
    /// `code.tar.gz` was not ([`PackageError::BrokenCode`]).
    pub fn package_info(&self) -> Option<&PackageInfo> {
        match self {
            PackageError::BrokenCode { info, .. } => Some(info),
            _ => None,
        }
    }
}

/// A package ID: `<label>:<hex SHA-256 of the package file>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageId {
    /// The label.
    pub label: Label,
    /// The SHA-256 of the whole package file.
    pub hash: [u8; 32],
}

impl PackageId {
    /// The ID of the package `bytes` with `label`.
    pub fn of_bytes(label: &Label, bytes: &[u8]) -> Self {
        PackageId {
            label: label.clone(),
            hash: Sha256::digest(bytes).into(),
        }
    }

    /// The hash as lower-case hex.
    pub fn hash_hex(&self) -> String {
        self.hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The ID with the characters the peer replaces in directory names
    /// (`<>:"/\|?*&`) replaced by `-`, as in its scratch and build dirs.
    pub fn sanitized(&self) -> String {
        crate::peer::sanitize_id(&self.to_string())
    }
}

impl fmt::Display for PackageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.label, self.hash_hex())
    }
}

/// What reading a package found.
#[derive(Debug, Clone)]
pub struct PackageInfo {
    /// The package ID.
    pub id: PackageId,
    /// The decoded metadata.json.
    pub metadata: Metadata,
    /// metadata.json byte for byte.
    pub metadata_bytes: Vec<u8>,
    /// Size of the package file.
    pub package_bytes: u64,
    /// Size of code.tar.gz (compressed).
    pub code_bytes: u64,
    /// What code.tar.gz holds.
    pub code: CodeSummary,
    /// Top-level entries the peer ignores (with a warning in its log).
    pub ignored: Vec<String>,
}

/// Chunks of the package travel to the hashing thread in pieces this big.
const CHUNK: usize = 256 * 1024;
/// At most this many chunks wait for the hasher: bounds memory at ~4 MiB.
const CHUNKS_IN_FLIGHT: usize = 16;
/// Packages up to this size are hashed on the reading thread: a thread
/// costs more than it saves on a package of a few kilobytes.
const HASH_INLINE_UP_TO: u64 = 1024 * 1024;

/// Where the bytes read are hashed: inline at first, on a thread of its own
/// once the package proves large, so that SHA-256 (on one core) and
/// decompression (on another) overlap.
enum Hashing<'scope> {
    /// On the reading thread: the state, the bytes hashed, and the size
    /// past which to move to a thread (`u64::MAX` once starting one failed).
    Inline(Sha256, u64, u64),
    Thread {
        to_hasher: SyncSender<Arc<Vec<u8>>>,
        /// Buffers the hasher is done with, for reuse (no allocation or
        /// zeroing per chunk).
        returned: Receiver<Vec<u8>>,
        hasher: std::thread::ScopedJoinHandle<'scope, Option<([u8; 32], u64)>>,
    },
}

impl<'scope> Hashing<'scope> {
    /// Hashes `chunk`, moving to a thread when the package passes
    /// [`HASH_INLINE_UP_TO`].
    fn feed<'env>(
        &mut self,
        chunk: &Arc<Vec<u8>>,
        scope: &'scope std::thread::Scope<'scope, 'env>,
    ) {
        match self {
            Hashing::Inline(hasher, count, up_to)
                if (*count).saturating_add(chunk.len() as u64) <= *up_to =>
            {
                hasher.update(chunk.as_slice());
                *count += chunk.len() as u64;
            }
            Hashing::Inline(hasher, count, up_to) => {
                // The hasher's state goes over once the thread runs: if no
                // thread can be started, hashing stays here for good.
                let (start, started) = sync_channel::<(Sha256, u64)>(1);
                let (to_hasher, rx) = sync_channel::<Arc<Vec<u8>>>(CHUNKS_IN_FLIGHT);
                let (give_back, returned) = sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
                let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                    let (mut hasher, mut count) = started.recv().ok()?;
                    for chunk in rx {
                        hasher.update(chunk.as_slice());
                        count += chunk.len() as u64;
                        if let Ok(buffer) = Arc::try_unwrap(chunk) {
                            let _ = give_back.try_send(buffer);
                        }
                    }
                    Some((<[u8; 32]>::from(hasher.finalize()), count))
                });
                let Ok(thread) = spawned else {
                    hasher.update(chunk.as_slice());
                    *count += chunk.len() as u64;
                    *up_to = u64::MAX;
                    return;
                };
                let state = (std::mem::take(hasher), *count);
                // The thread only stops when we drop the senders.
                let _ = start.send(state);
                let _ = to_hasher.send(Arc::clone(chunk));
                *self = Hashing::Thread {
                    to_hasher,
                    returned,
                    hasher: thread,
                };
            }
            Hashing::Thread { to_hasher, .. } => {
                let _ = to_hasher.send(Arc::clone(chunk));
            }
        }
    }

    /// A buffer the hasher has finished with, if any.
    fn spare(&self) -> Option<Vec<u8>> {
        match self {
            Hashing::Thread { returned, .. } => returned.try_recv().ok(),
            _ => None,
        }
    }

    /// The hash and the number of bytes hashed.
    fn finish(self) -> Option<([u8; 32], u64)> {
        match self {
            Hashing::Inline(hasher, count, _) => Some((hasher.finalize().into(), count)),
            Hashing::Thread {
                to_hasher, hasher, ..
            } => {
                drop(to_hasher);
                hasher.join().ok().flatten()
            }
        }
    }
}

/// A reader that hands every byte it reads to the hasher.
struct Tee<'scope, 'env, R> {
    inner: R,
    hashing: Hashing<'scope>,
    scope: &'scope std::thread::Scope<'scope, 'env>,
    chunk: Arc<Vec<u8>>,
    pos: usize,
}

impl<R: Read> Tee<'_, '_, R> {
    /// Reads the next chunk and hands it to the hasher; `false` at the end.
    fn refill(&mut self) -> io::Result<bool> {
        let old = std::mem::take(&mut self.chunk);
        let mut next = Arc::try_unwrap(old)
            .ok()
            .or_else(|| self.hashing.spare())
            .unwrap_or_default();
        if next.len() < CHUNK {
            next.resize(CHUNK, 0);
        }
        let n = loop {
            match self.inner.read(&mut next[..CHUNK]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        next.truncate(n);
        self.chunk = Arc::new(next);
        self.pos = 0;
        if n == 0 {
            return Ok(false);
        }
        self.hashing.feed(&self.chunk, self.scope);
        Ok(true)
    }
}

impl<R: Read> Read for Tee<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Tee<'_, '_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.chunk.len() && !self.refill()? {
            return Ok(&[]);
        }
        Ok(&self.chunk[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.chunk.len());
    }
}

/// Hashes a whole stream: the package ID's hash, without parsing.
pub fn hash_stream<R: Read>(mut reader: R) -> io::Result<([u8; 32], u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher.finalize().into(), total))
}

/// Reads a package from `reader` in one streaming pass: checks it with the
/// peer's rules, calls `visit_code` for each entry of code.tar.gz (see
/// [`archive::walk_code`]), and computes the package ID.
pub fn read<R, F>(reader: R, limits: &Limits, visit_code: F) -> Result<PackageInfo, PackageError>
where
    R: Read,
    F: FnMut(&CodeEntry, &mut dyn Read) -> Result<(), ArchiveError>,
{
    read_with(reader, limits, Some(visit_code))
}

/// The package ID, as `peer lifecycle chaincode calculatepackageid` gives
/// it: the package is checked with the peer's rules at its top level, and
/// code.tar.gz is hashed but not opened (the peer does not open it either).
pub fn identify<R: Read>(reader: R, limits: &Limits) -> Result<PackageInfo, PackageError> {
    read_with(
        reader,
        limits,
        None::<fn(&CodeEntry, &mut dyn Read) -> Result<(), ArchiveError>>,
    )
}

fn read_with<R, F>(
    reader: R,
    limits: &Limits,
    visit_code: Option<F>,
) -> Result<PackageInfo, PackageError>
where
    R: Read,
    F: FnMut(&CodeEntry, &mut dyn Read) -> Result<(), ArchiveError>,
{
    std::thread::scope(|scope| {
        let mut tee = Tee {
            inner: reader,
            hashing: Hashing::Inline(Sha256::new(), 0, HASH_INLINE_UP_TO),
            scope,
            chunk: Arc::new(Vec::new()),
            pos: 0,
        };
        let parsed = parse_top_level(&mut tee, limits, visit_code)
            // The ID covers every byte of the file, including what follows the tar.
            .and_then(|parsed| {
                io::copy(&mut tee, &mut io::sink())
                    .map(|_| parsed)
                    .map_err(|e| PackageError::Corrupt(crate::report::sanitize(e)))
            });
        let hashed = tee.hashing.finish();
        let ((metadata_bytes, metadata, code_bytes, code, ignored), code_error) = parsed?;
        let (hash, count) = hashed.ok_or(PackageError::Hashing)?;
        let info = PackageInfo {
            id: PackageId {
                label: metadata.label.clone(),
                hash,
            },
            metadata,
            metadata_bytes,
            package_bytes: count,
            code_bytes,
            code,
            ignored,
        };
        match code_error {
            None => Ok(info),
            Some(source) => Err(PackageError::BrokenCode {
                info: Box::new(info),
                source,
            }),
        }
    })
}

type TopLevel = (Vec<u8>, Metadata, u64, CodeSummary, Vec<String>);

/// The top level, and why code.tar.gz could not be read when it could not:
/// the rest of the top level is still read, so that the ID and metadata
/// are known.
fn parse_top_level<R, F>(
    mut reader: R,
    limits: &Limits,
    mut visit_code: Option<F>,
) -> Result<(TopLevel, Option<ArchiveError>), PackageError>
where
    R: BufRead,
    F: FnMut(&CodeEntry, &mut dyn Read) -> Result<(), ArchiveError>,
{
    // A tar without gzip (`tar cf` for `tar czf`): say so, not "invalid
    // gzip header".
    if let Ok(head) = reader.fill_buf() {
        if !head.starts_with(&[0x1f, 0x8b]) && head.get(257..262) == Some(&b"ustar"[..]) {
            return Err(PackageError::Uncompressed);
        }
    }
    let mut metadata_bytes: Option<Vec<u8>> = None;
    let mut code: Option<(u64, CodeSummary)> = None;
    let mut ignored = Vec::new();
    let mut code_error = None;
    let mut expanded = 0u64;
    let mut count = 0u64;
    let walked = archive::each_entry(
        PACKAGE,
        MultiGzDecoder::new(reader),
        |entry, raw| -> Result<(), PackageError> {
            let name = archive::display_name(raw);
            count += 1;
            if count > limits.max_entries {
                return Err(PackageError::TooLarge {
                    what: "entries",
                    limit: limits.max_entries,
                    entry: name,
                });
            }
            let kind = archive::accepted_kind(PACKAGE, entry.header().entry_type(), raw, &name);
            if !matches!(kind, Ok(CodeEntryKind::File)) {
                let kind = match kind {
                    Ok(_) => "a directory".to_owned(),
                    Err(ArchiveError::EntryType { kind, .. }) => kind,
                    Err(other) => other.to_string(),
                };
                return Err(PackageError::NotRegular { name, kind });
            }
            expanded += entry.size();
            if expanded > limits.max_package_bytes {
                return Err(PackageError::TooLarge {
                    what: "expanded bytes",
                    limit: limits.max_package_bytes,
                    entry: name,
                });
            }
            match raw {
                b"metadata.json" => {
                    if metadata_bytes.is_some() {
                        return Err(PackageError::Duplicate {
                            name: METADATA_FILE,
                        });
                    }
                    if entry.size() > MAX_METADATA_BYTES {
                        return Err(PackageError::MetadataTooLarge {
                            size: entry.size(),
                            limit: MAX_METADATA_BYTES,
                        });
                    }
                    let mut bytes = Vec::with_capacity(entry.size() as usize);
                    entry
                        .read_to_end(&mut bytes)
                        .map_err(|e| PackageError::Corrupt(crate::report::sanitize(e)))?;
                    metadata_bytes = Some(bytes);
                }
                b"code.tar.gz" => {
                    if code.is_some() {
                        return Err(PackageError::Duplicate { name: CODE_FILE });
                    }
                    let size = entry.size();
                    let summary = match visit_code.as_mut() {
                        // The outer tar reader skips what was not read.
                        Some(visit) => archive::walk_code(&mut *entry, limits, visit)
                            .unwrap_or_else(|e| {
                                code_error = Some(e);
                                CodeSummary::default()
                            }),
                        // Skipped unread: the tar reader moves past it.
                        None => CodeSummary::default(),
                    };
                    code = Some((size, summary));
                }
                _ => ignored.push(String::from_utf8_lossy(raw).into_owned()),
            }
            Ok(())
        },
    );
    walked.map_err(|e| match e {
        PackageError::Code(ArchiveError::Corrupt {
            archive: PACKAGE,
            source,
            ..
        }) => PackageError::Corrupt(source),
        other => other,
    })?;
    let near = |file: &str| -> String {
        match ignored.iter().find(|n| n.trim_start_matches("./") == file) {
            Some(n) => format!(" (found `{n}`: the peer matches the name exactly; create the package without a `./` prefix, e.g. `tar czf pkg.tgz metadata.json code.tar.gz`)"),
            None => String::new(),
        }
    };
    let metadata_bytes = metadata_bytes.ok_or_else(|| PackageError::Missing {
        file: METADATA_FILE,
        hint: near(METADATA_FILE),
    })?;
    let (code_bytes, code) = code.ok_or_else(|| PackageError::Missing {
        file: CODE_FILE,
        hint: near(CODE_FILE),
    })?;
    let metadata = Metadata::parse(&metadata_bytes)?;
    Ok((
        (metadata_bytes, metadata, code_bytes, code, ignored),
        code_error,
    ))
}

/// A writer that hashes what passes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a deterministic package of `metadata` and `code` to `out` and
/// returns its package ID: the same inputs give the same bytes on any
/// machine, any day, under any umask or user.
pub fn write<W: Write>(
    metadata: &Metadata,
    code: &CodeTree,
    out: W,
) -> Result<PackageId, PackageError> {
    let code_bytes = archive::write_code(code)?;
    let metadata_bytes = metadata.to_json();
    let hashing = HashingWriter {
        inner: out,
        hasher: Sha256::new(),
    };
    let mut builder = archive::tar_gz(hashing);
    for (name, bytes) in [(METADATA_FILE, &metadata_bytes), (CODE_FILE, &code_bytes)] {
        let mut header = archive::fixed_header(tar::EntryType::Regular, bytes.len() as u64, 0o644);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .map_err(PackageError::Write)?;
    }
    let mut hashing = archive::finish_tar_gz(builder).map_err(PackageError::Write)?;
    hashing.flush().map_err(PackageError::Write)?;
    Ok(PackageId {
        label: metadata.label.clone(),
        hash: hashing.hasher.finalize().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Dialect;

    type Result = std::result::Result<(), Box<dyn std::error::Error>>;

    fn outer(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(archive::gzip(Vec::new()));
        for (name, kind, data) in entries {
            let mut header = archive::fixed_header(*kind, data.len() as u64, 0o644);
            // Raw name bytes: `append_data` would normalise `./x` to `x`.
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            let _ = builder.append(&header, *data);
        }
        builder
            .into_inner()
            .and_then(|gz| gz.finish())
            .unwrap_or_default()
    }

    fn code() -> Vec<u8> {
        let mut tree = CodeTree::new();
        let _ = tree.add_file("connection.json", br#"{"address": "a:1"}"#.to_vec(), 0o644);
        archive::write_code(&tree).unwrap_or_default()
    }

    const META: &[u8] = br#"{"type":"ccaas","label":"cc"}"#;

    // A broken code.tar.gz still leaves the package's ID and label known,
    // as the peer computes the ID without opening it; the top level after
    // it is still read.
    #[test]
    fn a_broken_code_tar_gz_keeps_the_id_and_metadata() -> Result {
        let broken = &code()[..20];
        let bytes = outer(&[
            ("code.tar.gz", tar::EntryType::Regular, broken),
            ("metadata.json", tar::EntryType::Regular, META),
        ]);
        let err = read_err(&bytes);
        let info = err.package_info().ok_or("no package info")?;
        assert_eq!(info.id, PackageId::of_bytes(&Label::new("cc")?, &bytes));
        assert_eq!(info.metadata.label.as_str(), "cc");
        assert!(err.to_string().contains("code.tar.gz"), "{err}");
        assert!(!err.is_limit());
        Ok(())
    }

    fn read_err(bytes: &[u8]) -> PackageError {
        match read(bytes, &Limits::default(), |_, _| Ok(())) {
            Ok(info) => panic!("accepted: {:?}", info.id),
            Err(e) => e,
        }
    }

    #[test]
    fn peer_rules_rows() {
        let code = code();
        let reg = tar::EntryType::Regular;
        assert!(matches!(
            read_err(&outer(&[(CODE_FILE, reg, &code)])),
            PackageError::Missing {
                file: METADATA_FILE,
                ..
            }
        ));
        assert!(matches!(
            read_err(&outer(&[(METADATA_FILE, reg, META)])),
            PackageError::Missing {
                file: CODE_FILE,
                ..
            }
        ));
        assert!(matches!(
            read_err(&outer(&[
                ("dir/", tar::EntryType::Directory, b""),
                (METADATA_FILE, reg, META),
                (CODE_FILE, reg, &code)
            ])),
            PackageError::NotRegular { .. }
        ));
        assert!(matches!(
            read_err(&outer(&[
                (METADATA_FILE, reg, META),
                (METADATA_FILE, reg, META),
                (CODE_FILE, reg, &code)
            ])),
            PackageError::Duplicate {
                name: METADATA_FILE
            }
        ));
        assert!(matches!(
            read_err(&outer(&[
                (METADATA_FILE, reg, META),
                (CODE_FILE, reg, &code),
                (CODE_FILE, reg, &code)
            ])),
            PackageError::Duplicate { name: CODE_FILE }
        ));
        assert!(matches!(
            read_err(&outer(&[
                (METADATA_FILE, reg, br#"{"label":"-x"}"#),
                (CODE_FILE, reg, &code)
            ])),
            PackageError::Metadata(_)
        ));
        assert!(matches!(
            read_err(b"not gzip at all"),
            PackageError::Corrupt(_)
        ));
        assert!(matches!(
            read_err(b""),
            PackageError::Missing { .. } | PackageError::Corrupt(_)
        ));
    }

    #[test]
    fn dot_slash_names_are_ignored_like_the_peer_with_a_hint() {
        let code = code();
        let reg = tar::EntryType::Regular;
        match read_err(&outer(&[
            ("./metadata.json", reg, META),
            ("./code.tar.gz", reg, &code),
        ])) {
            PackageError::Missing { hint, .. } => {
                assert!(hint.contains("./metadata.json"), "{hint}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_top_level_files_are_ignored() -> Result {
        let code = code();
        let reg = tar::EntryType::Regular;
        let bytes = outer(&[
            ("README", reg, b"hi"),
            (METADATA_FILE, reg, META),
            (CODE_FILE, reg, &code),
        ]);
        let info = read(&bytes[..], &Limits::default(), |_, _| Ok(()))?;
        assert_eq!(info.ignored, vec!["README".to_owned()]);
        Ok(())
    }

    #[test]
    fn id_is_label_and_sha256_of_the_whole_file() -> Result {
        let mut tree = CodeTree::new();
        tree.add_file("connection.json", br#"{"address": "a:1"}"#.to_vec(), 0o644)?;
        let meta = Metadata::new(Label::new("cc_1")?, Dialect::Ccaas);
        let mut bytes = Vec::new();
        let id = write(&meta, &tree, &mut bytes)?;
        let info = read(&bytes[..], &Limits::default(), |_, _| Ok(()))?;
        assert_eq!(info.id, id);
        assert_eq!(id.hash, <[u8; 32]>::from(Sha256::digest(&bytes)));
        assert_eq!(info.package_bytes, bytes.len() as u64);
        // Trailing bytes after the gzip stream are part of the hash too.
        assert_eq!(hash_stream(&bytes[..])?.0, id.hash);
        Ok(())
    }

    #[test]
    fn large_packages_are_hashed_on_a_thread_to_the_same_id() -> Result {
        // Incompressible, so the package itself passes the inline limit and
        // the hashing moves to its thread part-way.
        let mut state = 0x9e37_79b9_u32;
        let noise: Vec<u8> = (0..3 * HASH_INLINE_UP_TO)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let mut tree = CodeTree::new();
        tree.add_file("connection.json", br#"{"address": "a:1"}"#.to_vec(), 0o644)?;
        tree.add_file("noise.bin", noise, 0o644)?;
        let meta = Metadata::new(Label::new("big_1")?, Dialect::Ccaas);
        let mut bytes = Vec::new();
        let id = write(&meta, &tree, &mut bytes)?;
        assert!(bytes.len() as u64 > 2 * HASH_INLINE_UP_TO);
        assert_eq!(id.hash, <[u8; 32]>::from(Sha256::digest(&bytes)));
        // Read in odd-sized pieces, as a pipe would deliver them.
        struct Dribble<'a>(&'a [u8]);
        impl Read for Dribble<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.0.len()).min(4093);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let info = read(Dribble(&bytes), &Limits::default(), |_, _| Ok(()))?;
        assert_eq!(
            (info.id, info.package_bytes),
            (id.clone(), bytes.len() as u64)
        );
        assert_eq!(identify(&bytes[..], &Limits::default())?.id, id);
        Ok(())
    }

    #[test]
    fn written_bytes_never_change() -> Result {
        // A package ID is a promise: the same inputs must give the same
        // bytes with every version of this library. 300 KB of files (text
        // and incompressible bytes) so every buffer on the way is filled
        // many times; the ID was taken when the code was first written.
        let mut tree = CodeTree::new();
        tree.add_file("connection.json", br#"{"address": "a:1"}"#.to_vec(), 0o644)?;
        let mut state = 0x2545_f491_u32;
        for i in 0..30 {
            let contents: Vec<u8> = if i % 2 == 0 {
                format!("{{\"index\": {{\"fields\": [\"f{i}\"]}}}}\n")
                    .repeat(300)
                    .into_bytes()
            } else {
                (0..10_000)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 17;
                        state ^= state << 5;
                        state as u8
                    })
                    .collect()
            };
            tree.add_file(
                &format!("META-INF/statedb/couchdb/indexes/i{i:02}.json"),
                contents,
                0o644,
            )?;
        }
        let meta = Metadata::new(Label::new("golden_1.0")?, Dialect::Ccaas);
        let mut bytes = Vec::new();
        let id = write(&meta, &tree, &mut bytes)?;
        assert_eq!(
            id.to_string(),
            "golden_1.0:d84821be9f4bfc4965449a4bcad81d856d48c6c4bcbe5509d8fe4ec23c0232e3"
        );
        Ok(())
    }

    #[test]
    fn sanitized_id_replaces_what_the_peer_replaces() -> Result {
        let id = PackageId {
            label: Label::new("a")?,
            hash: [0; 32],
        };
        assert!(id.sanitized().starts_with("a-0000"));
        Ok(())
    }
}
