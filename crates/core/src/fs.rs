//! File-system helpers that name the path in every error, never follow a
//! symbolic link they were not asked to, and replace files atomically.
//!
//! ```
//! use ccaas_core::fs;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("connection.json");
//! fs::write_atomic(&path, b"{}", 0o600)?;
//! assert_eq!(fs::read_limited(&path, 1024)?, b"{}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{self as stdfs, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

crate::report::debug_as_chain!(FsError);

/// An I/O failure, with the path it happened on.
#[derive(thiserror::Error)]
pub enum FsError {
    /// An operating-system error on `path`.
    #[error("cannot {action} `{path}`")]
    Io {
        /// What was being done: `read`, `create`, ...
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A file larger than the limit for its kind.
    #[error("`{path}` is larger than {limit} bytes (the limit for this file)")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// A symbolic link where only regular files and directories may be.
    #[error("`{path}` is a symbolic link; refusing to follow it (the peer never extracts symbolic links into a package's source tree)")]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// Something other than a regular file or directory.
    #[error("`{path}` is not a regular file or directory")]
    Special {
        /// The entry.
        path: PathBuf,
    },
    /// Directories nested deeper than the limit.
    #[error("`{path}` is nested more than {limit} directories deep")]
    TooDeep {
        /// The directory.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// More files than the limit.
    #[error("more than {limit} files under `{path}`")]
    TooMany {
        /// Where the walk was.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// A directory where a file was expected.
    #[error("`{path}` is a directory, expected a file")]
    IsDir {
        /// The directory.
        path: PathBuf,
    },
}

impl FsError {
    /// Wraps an `io::Error` with what was done to which path.
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        FsError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    /// Whether this is "the file does not exist".
    pub fn is_not_found(&self) -> bool {
        matches!(self, FsError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// The path the error is about (the walk's position for
    /// [`FsError::TooMany`]).
    pub fn path(&self) -> &Path {
        match self {
            FsError::Io { path, .. }
            | FsError::TooLarge { path, .. }
            | FsError::Symlink { path }
            | FsError::Special { path }
            | FsError::TooDeep { path, .. }
            | FsError::TooMany { path, .. }
            | FsError::IsDir { path } => path,
        }
    }
}

/// Opens a regular file for reading without following a symbolic link at
/// its last component (and without waiting on a FIFO: it is refused like
/// any special file).
pub fn open_regular(path: &Path) -> Result<File, FsError> {
    open_checked(path).map(|(file, _)| file)
}

fn open_checked(path: &Path) -> Result<(File, stdfs::Metadata), FsError> {
    let file = OpenOptions::new()
        .read(true)
        // O_NONBLOCK: opening a FIFO returns at once (and is then refused);
        // it changes nothing for reading a regular file.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                FsError::Symlink {
                    path: path.to_owned(),
                }
            } else {
                FsError::io("open", path, e)
            }
        })?;
    let meta = file.metadata().map_err(|e| FsError::io("stat", path, e))?;
    if meta.is_dir() {
        return Err(FsError::IsDir {
            path: path.to_owned(),
        });
    }
    if !meta.is_file() {
        return Err(FsError::Special {
            path: path.to_owned(),
        });
    }
    Ok((file, meta))
}

/// Reads a whole regular file of at most `limit` bytes, refusing symlinks.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, FsError> {
    read_file(path, limit).map(|file| file.bytes)
}

/// A regular file read whole, and which file it was, so that
/// [`link_or_write`] can hard-link it instead of writing its bytes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Everything it held.
    pub bytes: Vec<u8>,
    /// Which file it was, and when it was last written.
    identity: FileIdentity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
}

impl FileIdentity {
    fn of(meta: &stdfs::Metadata) -> Self {
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        }
    }
}

/// Reads a whole regular file of at most `limit` bytes, refusing symlinks,
/// and remembers which file it was.
pub fn read_file(path: &Path, limit: u64) -> Result<ReadFile, FsError> {
    let (file, meta) = open_checked(path)?;
    // Room for the whole file and one byte more: one read for the data and
    // one that finds the end (or the byte that makes it too large).
    let expected = usize::try_from(meta.len().min(limit)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(expected.saturating_add(1));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| FsError::io("read", path, e))?;
    if bytes.len() as u64 > limit {
        return Err(FsError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(ReadFile {
        path: path.to_owned(),
        bytes,
        identity: FileIdentity::of(&meta),
    })
}

/// How [`link_or_write`] put a file in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// As a hard link to the file read: no data copied.
    Linked,
    /// As a new file holding the bytes read.
    Written,
}

/// Puts what `file` held at `dest` (which must not exist) with exactly
/// `mode`: as a hard link to the very file that was read when the file
/// system allows it, else as a new file written with [`write_new`].
///
/// The link is kept only if `dest` then names the same file, unchanged
/// since it was read (device, inode, size and modification time), and its
/// mode could be set; setting it changes the mode of the source too, as
/// both names are one file. Anything else (another file system, a file
/// owned by someone else, a path that changed) falls back to writing the
/// bytes that were read. Meant for a builder's scratch directories, which
/// only the peer and its builder write. On an error a part of the file may
/// be left at `dest`, as with [`write_new`].
///
/// ```
/// use ccaas_core::fs::{self, Placed};
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.json"), b"{}")?;
/// let file = fs::read_file(&dir.path().join("a.json"), 1024)?;
/// let placed = fs::link_or_write(&file, &dir.path().join("b.json"), 0o640)?;
/// assert_eq!(placed, Placed::Linked);
/// assert_eq!(std::fs::read(dir.path().join("b.json"))?, b"{}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn link_or_write(file: &ReadFile, dest: &Path, mode: u32) -> Result<Placed, FsError> {
    if stdfs::hard_link(&file.path, dest).is_ok() {
        let unchanged = stdfs::symlink_metadata(dest)
            .ok()
            .filter(|meta| FileIdentity::of(meta) == file.identity);
        if let Some(meta) = unchanged {
            if meta.mode() & 0o7777 == mode || set_mode(dest, mode).is_ok() {
                return Ok(Placed::Linked);
            }
        }
        stdfs::remove_file(dest).map_err(|e| FsError::io("remove", dest, e))?;
    }
    write_new(dest, &file.bytes, mode)?;
    Ok(Placed::Written)
}

/// The kind of a directory entry, without following symbolic links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A device, FIFO or socket.
    Special,
}

impl EntryKind {
    /// The kind of a file type, as `lstat` reports it.
    pub fn of(t: stdfs::FileType) -> Self {
        if t.is_symlink() {
            EntryKind::Symlink
        } else if t.is_dir() {
            EntryKind::Dir
        } else if t.is_file() {
            EntryKind::File
        } else {
            EntryKind::Special
        }
    }
}

/// The kind of `path`, or `None` when it does not exist.
pub fn entry_kind(path: &Path) -> Result<Option<EntryKind>, FsError> {
    match stdfs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(EntryKind::of(meta.file_type()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FsError::io("stat", path, e)),
    }
}

/// Whether the directory `path` exists: `false` when absent, an error when
/// it is a symbolic link or anything but a directory.
pub fn dir_exists(path: &Path) -> Result<bool, FsError> {
    match entry_kind(path)? {
        None => Ok(false),
        Some(EntryKind::Dir) => Ok(true),
        Some(EntryKind::Symlink) => Err(FsError::Symlink {
            path: path.to_owned(),
        }),
        Some(_) => Err(FsError::Special {
            path: path.to_owned(),
        }),
    }
}

/// The names in directory `dir`, sorted, so every walk is deterministic.
pub fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, FsError> {
    Ok(sorted_kinds(dir)?
        .into_iter()
        .map(|(name, _)| dir.join(name))
        .collect())
}

/// The names in directory `dir` with their kinds (from the directory entry,
/// without following symbolic links), sorted by name.
fn sorted_kinds(dir: &Path) -> Result<Vec<(std::ffi::OsString, Option<EntryKind>)>, FsError> {
    let mut names = Vec::new();
    for entry in stdfs::read_dir(dir).map_err(|e| FsError::io("list", dir, e))? {
        let entry = entry.map_err(|e| FsError::io("list", dir, e))?;
        let kind = entry.file_type().ok().map(EntryKind::of);
        names.push((entry.file_name(), kind));
    }
    names.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(names)
}

/// Creates `dir` and its missing parents, each new one with `mode`
/// (subject to the umask, as `mkdir -p`), then sets `mode` on `dir` itself.
pub fn create_dir_all(dir: &Path, mode: u32) -> Result<(), FsError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| FsError::io("create directory", dir, e))?;
    set_mode(dir, mode)
}

/// Sets the permission bits of `path`.
pub fn set_mode(path: &Path, mode: u32) -> Result<(), FsError> {
    stdfs::set_permissions(path, stdfs::Permissions::from_mode(mode))
        .map_err(|e| FsError::io("set permissions on", path, e))
}

/// Creates the file `path` (which must not exist) with exactly `mode` and
/// writes `bytes`, never through a symbolic link. For files in a private
/// staging directory, whose contents are published by a rename; no fsync:
/// the peer copies a builder's output itself once the step has exited. On
/// an error a part of the file may be left at `path`: the caller removes
/// what it made (the steps do).
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| FsError::io("create", path, e))?;
    // The umask may have narrowed `mode`; set it exactly.
    file.set_permissions(stdfs::Permissions::from_mode(mode))
        .and_then(|()| file.write_all(bytes))
        .map_err(|e| FsError::io("write", path, e))
}

/// Writes `bytes` to `path` with `mode`, atomically: the data goes to a
/// temporary file in the same directory, is flushed to disk, and is renamed
/// over `path`. A reader (or a crash) sees the old file or the new one,
/// never a part.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ccaas-")
        .suffix(".tmp")
        .permissions(stdfs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(|e| FsError::io("create a temporary file in", dir, without_path(e)))?;
    // The umask may have narrowed `mode`; set it exactly.
    tmp.as_file()
        .set_permissions(stdfs::Permissions::from_mode(mode))
        .map_err(|e| FsError::io("set permissions on", tmp.path(), e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| FsError::io("write", path, e))?;
    tmp.persist(path)
        .map_err(|e| FsError::io("rename into place", path, e.error))?;
    Ok(())
}

/// `tempfile`'s error without the " at path ..." it appends (our message
/// names the directory already, and the temporary name means nothing to an
/// operator).
fn without_path(e: io::Error) -> io::Error {
    let text = e.to_string();
    match text.find(" at path ") {
        Some(i) => io::Error::new(e.kind(), text[..i].to_owned()),
        None => e,
    }
}

/// Removes `path` (file or directory tree) if it exists; a symbolic link is
/// removed itself, never followed.
pub fn remove_if_exists(path: &Path) -> Result<(), FsError> {
    match entry_kind(path)? {
        None => Ok(()),
        Some(EntryKind::Dir) => {
            stdfs::remove_dir_all(path).map_err(|e| FsError::io("remove", path, e))
        }
        Some(_) => stdfs::remove_file(path).map_err(|e| FsError::io("remove", path, e)),
    }
}

/// Renames `from` to `to`, replacing an empty directory or a file at `to`.
pub fn rename(from: &Path, to: &Path) -> Result<(), FsError> {
    stdfs::rename(from, to).map_err(|e| FsError::io("rename into place", to, e))
}

/// Most files [`walk_files`] lists before giving up.
pub const MAX_WALK_FILES: usize = 10_000;
/// Most directory levels [`walk_files`] descends.
pub const MAX_WALK_DEPTH: usize = 64;

/// Every regular file under `root`, as (`/`-separated path relative to
/// `root`, full path), sorted. A symbolic link or special file anywhere is
/// an error naming it: nothing is ever followed out of `root`.
pub fn walk_files(root: &Path) -> Result<Vec<(String, PathBuf)>, FsError> {
    let mut out = Vec::new();
    walk_into(root, "", 0, &mut out)?;
    Ok(out)
}

fn walk_into(
    dir: &Path,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), FsError> {
    if depth > MAX_WALK_DEPTH {
        return Err(FsError::TooDeep {
            path: dir.to_owned(),
            limit: MAX_WALK_DEPTH,
        });
    }
    for (name, kind) in sorted_kinds(dir)? {
        let path = dir.join(&name);
        let name = name.to_string_lossy();
        let relative = if prefix.is_empty() {
            name.into_owned()
        } else {
            format!("{prefix}/{name}")
        };
        // The directory entry's type saves a stat per file; ask when unknown.
        let kind = match kind {
            Some(kind) => Some(kind),
            None => entry_kind(&path)?,
        };
        match kind {
            Some(EntryKind::Dir) => walk_into(&path, &relative, depth + 1, out)?,
            Some(EntryKind::File) => {
                if out.len() >= MAX_WALK_FILES {
                    return Err(FsError::TooMany {
                        path: dir.to_owned(),
                        limit: MAX_WALK_FILES,
                    });
                }
                out.push((relative, path));
            }
            Some(EntryKind::Symlink) => return Err(FsError::Symlink { path }),
            Some(EntryKind::Special) => return Err(FsError::Special { path }),
            None => {}
        }
    }
    Ok(())
}

/// Copies the tree `from` into `to` (created 0750), preserving file modes;
/// refuses symbolic links and special files.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), FsError> {
    create_dir_all(to, 0o750)?;
    for (relative, path) in walk_files(from)? {
        let target = to.join(&relative);
        if let Some(parent) = target.parent() {
            create_dir_all(parent, 0o750)?;
        }
        stdfs::copy(&path, &target).map_err(|e| FsError::io("copy", &path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_sets_mode_exactly() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("key.json");
        write_atomic(&path, b"secret", 0o600)?;
        assert_eq!(stdfs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        write_atomic(&path, b"again", 0o644)?;
        assert_eq!(stdfs::read(&path)?, b"again");
        assert_eq!(stdfs::metadata(&path)?.permissions().mode() & 0o777, 0o644);
        // No temporary file is left behind.
        assert_eq!(sorted_entries(dir.path())?.len(), 1);
        Ok(())
    }

    #[test]
    fn read_limited_refuses_symlinks_and_large_files() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("f");
        stdfs::write(&file, b"0123456789")?;
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link)?;
        assert!(matches!(
            read_limited(&link, 100),
            Err(FsError::Symlink { .. })
        ));
        assert!(matches!(
            read_limited(&file, 5),
            Err(FsError::TooLarge { limit: 5, .. })
        ));
        assert!(matches!(
            read_limited(dir.path(), 5),
            Err(FsError::IsDir { .. })
        ));
        assert!(read_limited(&dir.path().join("missing"), 5).is_err_and(|e| e.is_not_found()));
        Ok(())
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let fifo = dir.path().join("connection.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
        assert!(made.success());
        assert!(matches!(
            read_limited(&fifo, 100),
            Err(FsError::Special { .. })
        ));
        Ok(())
    }

    fn read_one(dir: &Path, bytes: &[u8]) -> Result<ReadFile, Box<dyn std::error::Error>> {
        let source = dir.join("source.json");
        stdfs::write(&source, bytes)?;
        stdfs::set_permissions(&source, stdfs::Permissions::from_mode(0o644))?;
        Ok(read_file(&source, 100)?)
    }

    #[test]
    fn link_or_write_links_the_file_read_with_the_mode_asked(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = read_one(dir.path(), b"{}")?;
        let dest = dir.path().join("dest.json");
        assert_eq!(link_or_write(&file, &dest, 0o600)?, Placed::Linked);
        assert_eq!(stdfs::symlink_metadata(&dest)?.ino(), file.identity.ino);
        assert_eq!(stdfs::metadata(&dest)?.permissions().mode() & 0o7777, 0o600);
        Ok(())
    }

    #[test]
    fn link_or_write_writes_what_was_read_when_the_source_changed(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        type Change = fn(&Path) -> io::Result<()>;
        let changes: [(&str, Change); 3] = [
            ("removed", |p| stdfs::remove_file(p)),
            ("replaced by another file", |p| {
                stdfs::write(p.with_extension("new"), b"{\"other\": 1}")?;
                stdfs::rename(p.with_extension("new"), p)
            }),
            ("written to", |p| stdfs::write(p, b"{\"other\": 1}")),
        ];
        for (how, change) in changes {
            let file = read_one(dir.path(), b"{}")?;
            change(&file.path)?;
            let dest = dir.path().join(format!("dest-{}.json", how.len()));
            assert_eq!(
                link_or_write(&file, &dest, 0o640)?,
                Placed::Written,
                "{how}"
            );
            assert_eq!(stdfs::read(&dest)?, b"{}", "{how}");
            assert_eq!(
                stdfs::metadata(&dest)?.permissions().mode() & 0o7777,
                0o640,
                "{how}"
            );
        }
        Ok(())
    }

    #[test]
    fn walk_lists_files_sorted_and_refuses_links() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        create_dir_all(&dir.path().join("b/c"), 0o750)?;
        stdfs::write(dir.path().join("b/c/x"), b"")?;
        stdfs::write(dir.path().join("a"), b"")?;
        let names: Vec<String> = walk_files(dir.path())?
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        assert_eq!(names, ["a", "b/c/x"]);
        std::os::unix::fs::symlink("/etc", dir.path().join("b/link"))?;
        assert!(matches!(
            walk_files(dir.path()),
            Err(FsError::Symlink { .. })
        ));
        Ok(())
    }
}
