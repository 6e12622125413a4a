//! `code.tar.gz`, read and extracted with the peer's rules (regular files and
//! directories only; absolute or `..`-escaping names rejected; directories
//! created 0700 and files with their header's mode) plus limits the peer
//! lacks, and written deterministically.
//!
//! ```
//! use ccaas_core::archive::{self, CodeTree, Limits};
//!
//! let mut tree = CodeTree::new();
//! tree.add_file("connection.json", br#"{"address": "cc:9999"}"#.to_vec(), 0o644)?;
//! let bytes = archive::write_code(&tree)?;
//!
//! let dest = tempfile::tempdir()?;
//! let summary = archive::extract_code(&bytes[..], dest.path(), &Limits::default())?;
//! assert_eq!(summary.files, 1);
//! assert!(dest.path().join("connection.json").is_file());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::fs::{self as cfs, FsError};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Bounds on what we read, so no package can exhaust memory, disk or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most entries in code.tar.gz.
    pub max_entries: u64,
    /// Most bytes code.tar.gz may expand to (the sum of its files).
    pub max_expanded_bytes: u64,
    /// Most directory levels of an entry's path.
    pub max_depth: usize,
    /// Most bytes a package may expand to at the top level.
    pub max_package_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10_000,
            max_expanded_bytes: 1 << 30,
            max_depth: 64,
            max_package_bytes: 2 << 30,
        }
    }
}

crate::report::debug_as_chain!(ArchiveError);

/// Why code.tar.gz is not one the peer (or we) will extract.
#[derive(thiserror::Error)]
pub enum ArchiveError {
    /// Not gzip, truncated, or a broken tar header.
    #[error("`{archive}` is not a readable gzip-compressed tar{}", entry_suffix(.entry))]
    Corrupt {
        /// The archive's name.
        archive: &'static str,
        /// The entry being read when it broke, if any.
        entry: Option<String>,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// An entry that is not a regular file or directory.
    #[error("`{archive}` entry `{name}` is {kind}; the peer accepts only regular files and directories{hint}")]
    EntryType {
        /// The archive.
        archive: &'static str,
        /// The entry's name.
        name: String,
        /// Its type.
        kind: String,
        /// A hint for common causes.
        hint: &'static str,
    },
    /// An absolute name.
    #[error("`{archive}` entry `{name}` has an absolute path; the peer rejects it")]
    Absolute {
        /// The archive.
        archive: &'static str,
        /// The entry's name.
        name: String,
    },
    /// A name that leaves the extraction directory.
    #[error("`{archive}` entry `{name}` escapes the extraction directory with `..`; the peer rejects it")]
    Escapes {
        /// The archive.
        archive: &'static str,
        /// The entry's name.
        name: String,
    },
    /// A name that is not UTF-8, too long or too deep.
    #[error("`{archive}` entry `{name}`: {reason}")]
    BadName {
        /// The archive.
        archive: &'static str,
        /// The entry's name (lossily decoded).
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The same file twice.
    #[error("`{archive}` holds `{name}` twice; refusing an ambiguous archive")]
    Duplicate {
        /// The archive.
        archive: &'static str,
        /// The entry's name.
        name: String,
    },
    /// A file and a directory of the same name.
    #[error("`{archive}` entry `{name}` needs `{parent}` to be a directory, but it is a file")]
    Conflict {
        /// The archive.
        archive: &'static str,
        /// The entry's name.
        name: String,
        /// The path that is a file.
        parent: String,
    },
    /// A limit was exceeded.
    #[error("`{archive}` has more than {limit} {what} (the limit, reached at entry `{entry}`); refusing to read further")]
    Limit {
        /// The archive.
        archive: &'static str,
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: u64,
        /// The entry that went past it.
        entry: String,
    },
    /// Writing the extracted tree failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A name given to the writer is not a clean relative path.
    #[error("cannot add `{name}` to an archive: {reason}")]
    Input {
        /// The name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Writing an archive failed.
    #[error("cannot write the archive")]
    Write(#[source] io::Error),
}

fn entry_suffix(entry: &Option<String>) -> String {
    entry
        .as_ref()
        .map(|e| format!(" (while reading entry `{e}`)"))
        .unwrap_or_default()
}

/// An entry name fit for an error message: lossily decoded, and cut short
/// when long (a hostile archive may carry a name of megabytes).
pub fn display_name(raw: &[u8]) -> String {
    crate::report::shorten(&String::from_utf8_lossy(raw))
}

/// The largest GNU long-name or PAX extended header we read.
pub const MAX_EXTENDED_HEADER: u64 = 64 * 1024;

/// Walks a tar stream and calls `each` with every entry and its full name.
/// GNU long names and PAX `path` records are resolved here, with a size
/// limit, instead of by the tar crate, which reads them whole into memory.
pub(crate) fn each_entry<R, E, F>(archive: &'static str, reader: R, mut each: F) -> Result<(), E>
where
    R: Read,
    E: From<ArchiveError>,
    F: FnMut(&mut tar::Entry<'_, R>, &[u8]) -> Result<(), E>,
{
    let corrupt = |source| ArchiveError::Corrupt {
        archive,
        entry: None,
        source: crate::report::sanitize(source),
    };
    let mut tar = tar::Archive::new(reader);
    let entries = tar.entries().map_err(corrupt)?.raw(true);
    let mut long_name: Option<Vec<u8>> = None;
    let mut pax_path: Option<Vec<u8>> = None;
    for entry in entries {
        let mut entry = entry.map_err(corrupt)?;
        let kind = entry.header().entry_type();
        if kind.is_gnu_longname() || kind.is_gnu_longlink() || kind.is_pax_local_extensions() {
            if entry.size() > MAX_EXTENDED_HEADER {
                return Err(ArchiveError::BadName {
                    archive,
                    name: display_name(&entry.path_bytes()),
                    reason: format!(
                        "it is an extended header (long name or PAX record) of {} bytes; the limit is {MAX_EXTENDED_HEADER} (path components may have at most 255 bytes)",
                        entry.size()
                    ),
                }
                .into());
            }
            let mut data = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut data).map_err(corrupt)?;
            if kind.is_gnu_longname() {
                while data.last() == Some(&0) {
                    data.pop();
                }
                long_name = Some(data);
            } else if kind.is_pax_local_extensions() {
                if pax_record(&data, b"size").map_err(corrupt)?.is_some() {
                    // Only files over 8 GiB need one; honouring it would mean
                    // reading the archive differently from its headers.
                    return Err(ArchiveError::BadName {
                        archive,
                        name: display_name(&entry.path_bytes()),
                        reason: "it is a PAX header with a `size` record, which is not supported (only files over 8 GiB need one, far beyond the limits)".into(),
                    }
                    .into());
                }
                pax_path = pax_record(&data, b"path").map_err(corrupt)?;
            }
            continue;
        }
        // As Go's reader (the peer's): PAX records are merged first, then a
        // GNU long name, if any, replaces the name.
        let name = match (long_name.take(), pax_path.take()) {
            (Some(path), _) | (None, Some(path)) => path,
            (None, None) => entry.path_bytes().into_owned(),
        };
        each(&mut entry, &name)?;
    }
    Ok(())
}

/// The value of `key` in PAX extended header records (`<len> key=value\n`).
fn pax_record(mut data: &[u8], key: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed PAX extended header");
    let mut found = None;
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|l| l.parse().ok())
            .ok_or_else(bad)?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &data[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or_else(bad)?;
        if &record[..eq] == key {
            found = Some(record[eq + 1..].to_vec());
        }
        data = &data[len..];
    }
    Ok(found)
}

/// The kind of an accepted entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeEntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// An accepted entry of code.tar.gz.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeEntry {
    /// The cleaned relative path (`./a//b` is `a/b`), `/`-separated.
    pub path: String,
    /// File or directory.
    pub kind: CodeEntryKind,
    /// The size in bytes (0 for directories).
    pub size: u64,
    /// The permission bits from the header.
    pub mode: u32,
}

/// Counts of what an archive held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CodeSummary {
    /// Regular files.
    pub files: u64,
    /// Directories.
    pub dirs: u64,
    /// Bytes in files.
    pub bytes: u64,
}

const CODE: &str = "code.tar.gz";

/// Cleans a tar entry name the way Go's `filepath.Clean` does and applies
/// the peer's `ValidPath` rule: absolute names and names escaping with `..`
/// are rejected. Returns `None` for the root itself (`.`, `./`).
pub fn clean_entry_name(
    archive: &'static str,
    raw: &[u8],
    limits: &Limits,
) -> Result<Option<String>, ArchiveError> {
    let name = std::str::from_utf8(raw).map_err(|_| ArchiveError::BadName {
        archive,
        name: display_name(raw),
        reason: "the name is not UTF-8".into(),
    })?;
    if name.starts_with('/') {
        return Err(ArchiveError::Absolute {
            archive,
            name: display_name(raw),
        });
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(ArchiveError::Escapes {
                        archive,
                        name: display_name(raw),
                    });
                }
            }
            p => parts.push(p),
        }
    }
    let bad = |reason: String| ArchiveError::BadName {
        archive,
        name: display_name(raw),
        reason,
    };
    if let Some(long) = parts.iter().find(|p| p.len() > 255) {
        return Err(bad(format!(
            "a path component is {} bytes long (the limit is 255)",
            long.len()
        )));
    }
    if parts.len() > limits.max_depth {
        return Err(bad(format!(
            "the path is {} levels deep (the limit is {})",
            parts.len(),
            limits.max_depth
        )));
    }
    if name.contains('\0') {
        return Err(bad("the name holds a NUL byte".into()));
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

fn entry_type_name(t: tar::EntryType) -> String {
    match t {
        tar::EntryType::Symlink => "a symbolic link".into(),
        tar::EntryType::Link => "a hard link".into(),
        tar::EntryType::Char => "a character device".into(),
        tar::EntryType::Block => "a block device".into(),
        tar::EntryType::Fifo => "a FIFO".into(),
        tar::EntryType::XGlobalHeader => "a pax global header".into(),
        tar::EntryType::GNUSparse => "a sparse file".into(),
        other => format!(
            "of tar type `{}`",
            char::from(other.as_byte()).escape_default()
        ),
    }
}

/// Classifies an entry as the peer does, or rejects it.
pub(crate) fn accepted_kind(
    archive: &'static str,
    entry_type: tar::EntryType,
    raw_name: &[u8],
    name: &str,
) -> Result<CodeEntryKind, ArchiveError> {
    match entry_type {
        tar::EntryType::Regular | tar::EntryType::Continuous if !raw_name.ends_with(b"/") => {
            Ok(CodeEntryKind::File)
        }
        // Go's reader turns an old-style regular entry named `x/` into a directory.
        tar::EntryType::Regular => Ok(CodeEntryKind::Dir),
        tar::EntryType::Directory => Ok(CodeEntryKind::Dir),
        other => Err(ArchiveError::EntryType {
            archive,
            name: name.to_owned(),
            kind: entry_type_name(other),
            hint: match other {
                tar::EntryType::XGlobalHeader => {
                    " (`git archive` writes one; build the archive with `ccaas package` or `tar`)"
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    " (copy the target file instead of linking it)"
                }
                _ => "",
            },
        }),
    }
}

/// Reads code.tar.gz from `reader`, checking every entry against the peer's
/// rules and `limits`, and calls `visit` with each accepted entry and a
/// reader of its contents. Rejects duplicate files and file/directory
/// conflicts, which the peer would extract inconsistently.
pub fn walk_code<R, F>(
    reader: R,
    limits: &Limits,
    mut visit: F,
) -> Result<CodeSummary, ArchiveError>
where
    R: Read,
    F: FnMut(&CodeEntry, &mut dyn Read) -> Result<(), ArchiveError>,
{
    let mut seen: HashMap<String, CodeEntryKind> = HashMap::new();
    let mut summary = CodeSummary::default();
    let mut count = 0u64;
    // A tar without gzip (`tar cf code.tar.gz`): say so, not "invalid gzip
    // header".
    let mut reader = std::io::BufReader::new(reader);
    if let Ok(head) = std::io::BufRead::fill_buf(&mut reader) {
        if !head.starts_with(&[0x1f, 0x8b]) && head.get(257..262) == Some(&b"ustar"[..]) {
            return Err(ArchiveError::Corrupt {
                archive: CODE,
                entry: None,
                source: io::Error::new(
                    io::ErrorKind::InvalidData,
                    "it is a tar archive without gzip compression; make it with `tar czf code.tar.gz ...` (`z` for gzip)",
                ),
            });
        }
    }
    let gunzip = MultiGzDecoder::new(reader);
    each_entry(CODE, gunzip, |entry, raw| -> Result<(), ArchiveError> {
        count += 1;
        let shown = display_name(raw);
        if count > limits.max_entries {
            return Err(ArchiveError::Limit {
                archive: CODE,
                what: "entries",
                limit: limits.max_entries,
                entry: shown,
            });
        }
        let kind = accepted_kind(CODE, entry.header().entry_type(), raw, &shown)?;
        let Some(path) = clean_entry_name(CODE, raw, limits)? else {
            if kind == CodeEntryKind::File {
                return Err(ArchiveError::BadName {
                    archive: CODE,
                    name: shown,
                    reason: "a regular file cannot be named `.`".into(),
                });
            }
            return Ok(());
        };
        // Every parent must be (or become) a directory.
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            let parent = &path[..at + i];
            match seen.get(parent) {
                Some(CodeEntryKind::File) => {
                    return Err(ArchiveError::Conflict {
                        archive: CODE,
                        name: path.clone(),
                        parent: parent.to_owned(),
                    })
                }
                Some(CodeEntryKind::Dir) => {}
                None => {
                    seen.insert(parent.to_owned(), CodeEntryKind::Dir);
                }
            }
            at += i + 1;
        }
        match (seen.get(&path), kind) {
            (Some(CodeEntryKind::Dir), CodeEntryKind::Dir) => return Ok(()),
            (Some(CodeEntryKind::File), CodeEntryKind::File) => {
                return Err(ArchiveError::Duplicate {
                    archive: CODE,
                    name: path,
                })
            }
            (Some(_), _) => {
                return Err(ArchiveError::Conflict {
                    archive: CODE,
                    name: path.clone(),
                    parent: path,
                })
            }
            (None, _) => {}
        }
        seen.insert(path.clone(), kind);
        let size = if kind == CodeEntryKind::File {
            entry.size()
        } else {
            0
        };
        summary.bytes += size;
        if summary.bytes > limits.max_expanded_bytes {
            return Err(ArchiveError::Limit {
                archive: CODE,
                what: "expanded bytes",
                limit: limits.max_expanded_bytes,
                entry: path,
            });
        }
        match kind {
            CodeEntryKind::File => summary.files += 1,
            CodeEntryKind::Dir => summary.dirs += 1,
        }
        let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
        let code_entry = CodeEntry {
            path,
            kind,
            size,
            mode,
        };
        // Whatever the visitor leaves unread is skipped by the tar reader.
        visit(&code_entry, entry)
    })?;
    Ok(summary)
}

/// Extracts code.tar.gz into `dest` (which must exist) as the peer does:
/// directories 0700, files with the header's permission bits. Never writes
/// outside `dest`, never through a symbolic link.
pub fn extract_code<R: Read>(
    reader: R,
    dest: &Path,
    limits: &Limits,
) -> Result<CodeSummary, ArchiveError> {
    walk_code(reader, limits, |entry, contents| {
        extract_entry(dest, entry, contents)
    })
}

/// Writes one entry accepted by [`walk_code`] under `dest`, as the peer's
/// untar does (directories 0700, files with their mode), creating a file
/// only where none exists and never through a symbolic link.
pub fn extract_entry(
    dest: &Path,
    entry: &CodeEntry,
    contents: &mut dyn Read,
) -> Result<(), ArchiveError> {
    let target = dest.join(&entry.path);
    if let Some(parent) = Path::new(&entry.path).parent() {
        create_dirs_in(dest, parent)?;
    }
    match entry.kind {
        CodeEntryKind::Dir => create_dirs_in(dest, Path::new(&entry.path)),
        CodeEntryKind::File => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(entry.mode)
                .custom_flags(0o400000) // O_NOFOLLOW
                .open(&target)
                .map_err(|e| FsError::io("create", &target, e))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match contents.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(source) => {
                        return Err(ArchiveError::Corrupt {
                            archive: CODE,
                            entry: Some(entry.path.clone()),
                            source: crate::report::sanitize(source),
                        })
                    }
                };
                file.write_all(&buf[..n])
                    .map_err(|e| FsError::io("write", &target, e))?;
            }
        }
    }
}

/// Creates each missing directory of `relative` under `dest`, mode 0700,
/// refusing to pass through anything but a real directory.
fn create_dirs_in(dest: &Path, relative: &Path) -> Result<(), ArchiveError> {
    let mut at = dest.to_path_buf();
    for part in relative.components() {
        at.push(part);
        match cfs::entry_kind(&at)? {
            Some(cfs::EntryKind::Dir) => {}
            None => {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&at)
                    .map_err(|e| FsError::io("create directory", &at, e))?;
            }
            Some(_) => return Err(FsError::Special { path: at }.into()),
        }
    }
    Ok(())
}

/// Files to put in code.tar.gz, keyed by their `/`-separated relative path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeTree {
    files: BTreeMap<String, (Vec<u8>, u32)>,
}

impl CodeTree {
    /// An empty tree.
    pub fn new() -> Self {
        CodeTree::default()
    }

    /// Adds a file; `path` must be a clean relative path.
    pub fn add_file(
        &mut self,
        path: &str,
        contents: Vec<u8>,
        mode: u32,
    ) -> Result<(), ArchiveError> {
        let input = |reason| ArchiveError::Input {
            name: path.to_owned(),
            reason,
        };
        if path.is_empty() || path.starts_with('/') || path.ends_with('/') {
            return Err(input("expected a relative file path"));
        }
        if path
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(input("the path has an empty, `.` or `..` component"));
        }
        if self.files.contains_key(path) {
            return Err(input("the path is already in the archive"));
        }
        self.files.insert(path.to_owned(), (contents, mode & 0o777));
        Ok(())
    }

    /// The files, sorted by path.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8], u32)> {
        self.files
            .iter()
            .map(|(p, (c, m))| (p.as_str(), c.as_slice(), *m))
    }

    /// Whether a file is at `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
}

/// A gzip encoder with fixed settings: no name, no timestamp, level 6.
pub(crate) fn gzip<W: Write>(out: W) -> GzEncoder<W> {
    flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(out, Compression::new(6))
}

/// A tar writer into [`gzip`], through a buffer: `tar::Builder` writes each
/// entry in small pieces (header, data, padding), and each write into the
/// encoder costs a pass over its output buffer. The bytes are the same.
pub(crate) fn tar_gz<W: Write>(out: W) -> tar::Builder<io::BufWriter<GzEncoder<W>>> {
    tar::Builder::new(io::BufWriter::with_capacity(64 * 1024, gzip(out)))
}

/// Ends what [`tar_gz`] began: the tar's end blocks, the buffer, the gzip
/// trailer. Returns the writer given to [`tar_gz`].
pub(crate) fn finish_tar_gz<W: Write>(
    builder: tar::Builder<io::BufWriter<GzEncoder<W>>>,
) -> io::Result<W> {
    builder
        .into_inner()?
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .finish()
}

/// A tar header with nothing that depends on the machine, the user or the
/// clock: mtime 0, uid/gid 0, no user or group names. Packages and
/// `ccaas-deploy`'s image layers are written with it, so that the same
/// inputs give the same bytes anywhere.
///
/// ```
/// let header = ccaas_core::archive::fixed_header(tar::EntryType::Regular, 3, 0o644);
/// assert_eq!((header.mtime().ok(), header.uid().ok(), header.size().ok()), (Some(0), Some(0), Some(3)));
/// ```
pub fn fixed_header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    fix_header(tar::Header::new_gnu(), kind, size, mode)
}

/// [`fixed_header`]'s fields on a header of another format (an image
/// layer's ustar header, for one).
///
/// ```
/// let header = ccaas_core::archive::fix_header(tar::Header::new_ustar(), tar::EntryType::Directory, 0, 0o755);
/// assert!(header.as_ustar().is_some());
/// assert_eq!((header.mtime().ok(), header.mode().ok()), (Some(0), Some(0o755)));
/// ```
pub fn fix_header(
    mut header: tar::Header,
    kind: tar::EntryType,
    size: u64,
    mode: u32,
) -> tar::Header {
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// Writes `tree` as a deterministic code.tar.gz: sorted entries, a directory
/// entry (0755) before its contents, fixed headers, fixed gzip settings.
pub fn write_code(tree: &CodeTree) -> Result<Vec<u8>, ArchiveError> {
    let mut builder = tar_gz(Vec::new());
    let mut dirs_done: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for (path, contents, mode) in tree.files() {
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            let dir = format!("{}/", &path[..at + i]);
            if dirs_done.insert(dir.clone()) {
                let mut header = fixed_header(tar::EntryType::Directory, 0, 0o755);
                builder
                    .append_data(&mut header, &dir, io::empty())
                    .map_err(ArchiveError::Write)?;
            }
            at += i + 1;
        }
        let mut header = fixed_header(tar::EntryType::Regular, contents.len() as u64, mode);
        builder
            .append_data(&mut header, path, contents)
            .map_err(ArchiveError::Write)?;
    }
    finish_tar_gz(builder).map_err(ArchiveError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Result = std::result::Result<(), Box<dyn std::error::Error>>;

    fn raw_tar(entries: &[(&[u8], tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, kind, data) in entries {
            let mut header = tar::Header::new_old();
            header.as_old_mut().name[..name.len()].copy_from_slice(name);
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            if *kind == tar::EntryType::Symlink {
                header.set_size(0);
                let _ = header.set_link_name("/etc/passwd");
            }
            header.set_cksum();
            out.extend_from_slice(header.as_bytes());
            if *kind != tar::EntryType::Symlink {
                out.extend_from_slice(data);
                out.resize(out.len().div_ceil(512) * 512, 0);
            }
        }
        out.resize(out.len() + 1024, 0);
        let mut gz = gzip(Vec::new());
        let _ = gz.write_all(&out);
        gz.finish().unwrap_or_default()
    }

    fn walk(bytes: &[u8]) -> std::result::Result<Vec<String>, ArchiveError> {
        let mut names = Vec::new();
        walk_code(bytes, &Limits::default(), |e, _| {
            names.push(e.path.clone());
            Ok(())
        })?;
        Ok(names)
    }

    #[test]
    fn names_are_cleaned_like_go() -> Result {
        let l = Limits::default();
        assert_eq!(
            clean_entry_name(CODE, b"./a//b/./c", &l)?,
            Some("a/b/c".into())
        );
        assert_eq!(clean_entry_name(CODE, b"a/../b", &l)?, Some("b".into()));
        assert_eq!(clean_entry_name(CODE, b"./", &l)?, None);
        assert!(matches!(
            clean_entry_name(CODE, b"/etc/passwd", &l),
            Err(ArchiveError::Absolute { .. })
        ));
        assert!(matches!(
            clean_entry_name(CODE, b"../x", &l),
            Err(ArchiveError::Escapes { .. })
        ));
        assert!(matches!(
            clean_entry_name(CODE, b"./../x", &l),
            Err(ArchiveError::Escapes { .. })
        ));
        assert!(matches!(
            clean_entry_name(CODE, b"a/../../x", &l),
            Err(ArchiveError::Escapes { .. })
        ));
        assert!(matches!(
            clean_entry_name(CODE, b"a\xff", &l),
            Err(ArchiveError::BadName { .. })
        ));
        Ok(())
    }

    #[test]
    fn special_entries_are_rejected_by_name() {
        for kind in [
            tar::EntryType::Symlink,
            tar::EntryType::Fifo,
            tar::EntryType::Char,
            tar::EntryType::XGlobalHeader,
        ] {
            let bytes = raw_tar(&[(b"evil", kind, b"")]);
            match walk(&bytes) {
                Err(ArchiveError::EntryType { name, .. }) => assert_eq!(name, "evil"),
                other => panic!("{kind:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn duplicates_and_conflicts_are_rejected() {
        let dup = raw_tar(&[
            (b"a", tar::EntryType::Regular, b"1"),
            (b"./a", tar::EntryType::Regular, b"2"),
        ]);
        assert!(matches!(walk(&dup), Err(ArchiveError::Duplicate { .. })));
        let conflict = raw_tar(&[
            (b"a", tar::EntryType::Regular, b"1"),
            (b"a/b", tar::EntryType::Regular, b"2"),
        ]);
        assert!(matches!(
            walk(&conflict),
            Err(ArchiveError::Conflict { .. })
        ));
    }

    #[test]
    fn old_style_regular_entry_with_slash_is_a_directory() -> Result {
        let bytes = raw_tar(&[
            (b"d/", tar::EntryType::new(0), b""),
            (b"d/f", tar::EntryType::new(0), b"x"),
        ]);
        assert_eq!(walk(&bytes)?, vec!["d".to_owned(), "d/f".to_owned()]);
        Ok(())
    }

    #[test]
    fn limits_stop_reading() {
        let mut tree = CodeTree::new();
        for i in 0..5 {
            let _ = tree.add_file(&format!("f{i}"), vec![b'x'; 100], 0o644);
        }
        let bytes = write_code(&tree).unwrap_or_default();
        let few = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        assert!(matches!(
            walk_code(&bytes[..], &few, |_, _| Ok(())),
            Err(ArchiveError::Limit {
                what: "entries",
                ..
            })
        ));
        let small = Limits {
            max_expanded_bytes: 250,
            ..Limits::default()
        };
        assert!(matches!(
            walk_code(&bytes[..], &small, |_, _| Ok(())),
            Err(ArchiveError::Limit {
                what: "expanded bytes",
                ..
            })
        ));
    }

    #[test]
    fn not_gzip_is_corrupt() {
        assert!(matches!(
            walk(b"plain text"),
            Err(ArchiveError::Corrupt { .. })
        ));
    }

    #[test]
    fn extract_sets_modes_like_the_peer() -> Result {
        use std::os::unix::fs::PermissionsExt;
        let mut tree = CodeTree::new();
        tree.add_file(
            "META-INF/statedb/couchdb/indexes/a.json",
            b"{}".to_vec(),
            0o640,
        )?;
        let dest = tempfile::tempdir()?;
        extract_code(&write_code(&tree)?[..], dest.path(), &Limits::default())?;
        let dir_mode = std::fs::metadata(dest.path().join("META-INF"))?
            .permissions()
            .mode()
            & 0o777;
        let file_mode =
            std::fs::metadata(dest.path().join("META-INF/statedb/couchdb/indexes/a.json"))?
                .permissions()
                .mode()
                & 0o777;
        assert_eq!((dir_mode, file_mode), (0o700, 0o640));
        Ok(())
    }

    #[test]
    fn written_archives_are_identical() -> Result {
        let mut tree = CodeTree::new();
        tree.add_file("b", b"2".to_vec(), 0o644)?;
        tree.add_file("a/x", b"1".to_vec(), 0o600)?;
        assert_eq!(write_code(&tree)?, write_code(&tree.clone())?);
        Ok(())
    }
}
