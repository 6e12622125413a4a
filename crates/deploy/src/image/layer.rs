//! Layers: the chaincode layer written byte for byte the same from the
//! same inputs (sorted entries, fixed headers, fixed gzip settings), and a
//! base layer read from the archive the user gives.

use super::ImageError;
use flate2::bufread::MultiGzDecoder;
use flate2::Compression;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Media type of a gzip-compressed layer.
pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Largest base layer archive read (compressed or not).
pub const MAX_BASE_BYTES: u64 = 2 << 30;

/// A content-addressed blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// Its media type.
    pub media_type: &'static str,
    /// `sha256:<hex>` of `bytes`.
    pub digest: String,
    /// The blob.
    pub bytes: Vec<u8>,
}

impl Blob {
    /// A blob of `bytes`, its digest computed.
    pub fn new(media_type: &'static str, bytes: Vec<u8>) -> Self {
        Blob {
            media_type,
            digest: sha256_digest(&bytes),
            bytes,
        }
    }

    /// The hex part of the digest (the file name under `blobs/sha256/`).
    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

/// A layer: the compressed blob and the digest of the uncompressed tar
/// (the config's `rootfs.diff_ids`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The compressed tar.
    pub blob: Blob,
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Files for the chaincode layer, keyed by their path in the image
/// without the leading `/`, with their mode.
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerFiles {
    files: BTreeMap<String, (Vec<u8>, u32)>,
}

impl LayerFiles {
    pub(crate) fn insert(&mut self, path: String, bytes: Vec<u8>, mode: u32) {
        self.files.insert(path, (bytes, mode));
    }

    pub(crate) fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Whether a file here would be a directory of `path`, or `path` a
    /// directory of a file here.
    pub(crate) fn clashes_with(&self, path: &str) -> bool {
        self.files.keys().any(|file| {
            path.strip_prefix(file.as_str())
                .is_some_and(|r| r.starts_with('/'))
                || file.strip_prefix(path).is_some_and(|r| r.starts_with('/'))
        })
    }

    /// The layer: every parent directory (0755) before its contents, files
    /// sorted by path, uid/gid 0, mtime 0, then gzip with no name, no
    /// timestamp, level 6, as `ccaas package` writes code.tar.gz.
    pub(crate) fn to_layer(&self) -> io::Result<Layer> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut dirs: BTreeSet<String> = BTreeSet::new();
        for (path, (bytes, mode)) in &self.files {
            let mut at = 0;
            while let Some(i) = path[at..].find('/') {
                let dir = format!("{}/", &path[..at + i]);
                if dirs.insert(dir.clone()) {
                    let mut header =
                        ccaas_core::archive::fixed_header(tar::EntryType::Directory, 0, 0o755);
                    tar.append_data(&mut header, &dir, io::empty())?;
                }
                at += i + 1;
            }
            let mut header = ccaas_core::archive::fixed_header(
                tar::EntryType::Regular,
                bytes.len() as u64,
                *mode,
            );
            tar.append_data(&mut header, path, bytes.as_slice())?;
        }
        let raw = tar.into_inner()?;
        let diff_id = sha256_digest(&raw);
        Ok(Layer {
            blob: Blob::new(LAYER_GZIP, gzip(&raw)?),
            diff_id,
        })
    }
}

/// Gzip with fixed settings: no name, mtime 0, OS "unknown", level 6 (the
/// settings of ccaas-core's code.tar.gz).
pub(crate) fn gzip(raw: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::with_capacity(raw.len() / 2), Compression::new(6));
    encoder.write_all(raw)?;
    encoder.finish()
}

/// A base layer read from `path`: a tar, or a gzip-compressed tar. The
/// blob is the file as given when it is gzip, our gzip of it when it is a
/// plain tar. Returns the layer and the paths it holds (without a leading
/// `/` or `./`).
pub(crate) fn read_base(path: &Path) -> Result<(Layer, BTreeSet<String>), ImageError> {
    let bytes =
        ccaas_core::fs::read_limited(path, MAX_BASE_BYTES).map_err(|source| ImageError::File {
            what: "the base layer given with `--base`",
            source,
        })?;
    let bad = |reason: String| ImageError::BadBase {
        path: path.to_owned(),
        reason,
    };
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut hashing = HashingReader::new(MultiGzDecoder::new(bytes.as_slice()));
        let names = tar_names(&mut hashing)
            .map_err(|e| bad(format!("not a readable gzip-compressed tar: {e}")))?;
        // Read what the tar reader left (its end blocks and padding), so
        // the diff ID covers the whole stream.
        io::copy(&mut hashing, &mut io::sink())
            .map_err(|e| bad(format!("not a readable gzip stream: {e}")))?;
        let diff_id = format!("sha256:{}", hex(&hashing.hasher.finalize()));
        Ok((
            Layer {
                blob: Blob::new(LAYER_GZIP, bytes),
                diff_id,
            },
            names,
        ))
    } else {
        let names = tar_names(&mut bytes.as_slice()).map_err(|e| {
            bad(format!(
                "not a readable tar ({e}); give a layer archive: a `.tar` or `.tar.gz` of a root file system"
            ))
        })?;
        let diff_id = sha256_digest(&bytes);
        let blob = gzip(&bytes).map_err(|e| bad(format!("cannot compress it: {e}")))?;
        Ok((
            Layer {
                blob: Blob::new(LAYER_GZIP, blob),
                diff_id,
            },
            names,
        ))
    }
}

/// The names of the entries of a tar, read to its end.
fn tar_names<R: Read>(reader: R) -> io::Result<BTreeSet<String>> {
    let mut archive = tar::Archive::new(reader);
    let mut names = BTreeSet::new();
    let mut count = 0usize;
    for entry in archive.entries()? {
        let entry = entry?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = name.trim_start_matches("./").trim_start_matches('/');
        let name = name.trim_end_matches('/');
        if !name.is_empty() {
            names.insert(name.to_owned());
        }
        count += 1;
    }
    if count == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the archive holds no entries",
        ));
    }
    Ok(names)
}

/// A reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Where a file added with `--add` goes: `SRC:DEST`, DEST absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddFile {
    /// The file on this machine.
    pub source: PathBuf,
    /// The absolute path in the image.
    pub dest: String,
}

impl std::str::FromStr for AddFile {
    type Err = ImageError;

    /// Parses `SRC:DEST`, as `--add` takes it.
    ///
    /// ```
    /// use ccaas_deploy::image::AddFile;
    ///
    /// let add: AddFile = "ca.pem:/etc/chaincode/ca.pem".parse()?;
    /// assert_eq!(add.dest, "/etc/chaincode/ca.pem");
    /// assert!("ca.pem".parse::<AddFile>().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from_str(text: &str) -> Result<Self, ImageError> {
        let bad = |reason: &str| ImageError::BadAdd {
            value: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (source, dest) = text
            .rsplit_once(':')
            .ok_or_else(|| bad("expected SRC:DEST, with DEST an absolute path in the image"))?;
        if source.is_empty() {
            return Err(bad("SRC is empty"));
        }
        clean_dest(dest).map_err(|reason| bad(&reason))?;
        Ok(AddFile {
            source: PathBuf::from(source),
            dest: dest.to_owned(),
        })
    }
}

/// `dest` without its leading `/`, checked: absolute, no empty, `.` or
/// `..` component, not a directory.
pub(crate) fn clean_dest(dest: &str) -> Result<String, String> {
    let Some(rel) = dest.strip_prefix('/') else {
        return Err(format!(
            "DEST `{dest}` is not an absolute path (start it with `/`)"
        ));
    };
    if rel.is_empty() || rel.ends_with('/') {
        return Err(format!(
            "DEST `{dest}` names a directory; give the file's full path"
        ));
    }
    if rel
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return Err(format!("DEST `{dest}` has an empty, `.` or `..` component"));
    }
    if rel.len() > 255 {
        return Err(format!("DEST `{dest}` is longer than 255 bytes"));
    }
    Ok(rel.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layer_is_the_same_bytes_whatever_the_insertion_order() {
        let mut a = LayerFiles::default();
        a.insert("usr/local/bin/kv".into(), b"bin".to_vec(), 0o755);
        a.insert("etc/kv/conf".into(), b"c".to_vec(), 0o644);
        let mut b = LayerFiles::default();
        b.insert("etc/kv/conf".into(), b"c".to_vec(), 0o644);
        b.insert("usr/local/bin/kv".into(), b"bin".to_vec(), 0o755);
        let (la, lb) = (a.to_layer().unwrap(), b.to_layer().unwrap());
        assert_eq!(la, lb);

        let mut tar = tar::Archive::new(MultiGzDecoder::new(la.blob.bytes.as_slice()));
        let names: Vec<(String, u32, u64)> = tar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("etc/".into(), 0o755, 0),
                ("etc/kv/".into(), 0o755, 0),
                ("etc/kv/conf".into(), 0o644, 0),
                ("usr/".into(), 0o755, 0),
                ("usr/local/".into(), 0o755, 0),
                ("usr/local/bin/".into(), 0o755, 0),
                ("usr/local/bin/kv".into(), 0o755, 0),
            ]
        );
    }

    #[test]
    fn dest_paths_are_checked() {
        assert_eq!(clean_dest("/a/b").unwrap(), "a/b");
        for bad in ["a/b", "/", "/a/", "/a/../b", "/a//b", "/./a"] {
            assert!(clean_dest(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_gzip_base_keeps_its_bytes_and_gets_the_digest_of_its_tar() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = LayerFiles::default();
        files.insert("lib/ld.so".into(), b"x".to_vec(), 0o755);
        let layer = files.to_layer().unwrap();
        let path = dir.path().join("base.tar.gz");
        std::fs::write(&path, &layer.blob.bytes).unwrap();
        let (read, names) = read_base(&path).unwrap();
        assert_eq!(read, layer);
        assert!(names.contains("lib/ld.so"));

        std::fs::write(&path, b"not a tar at all, surely").unwrap();
        let err = read_base(&path).unwrap_err().to_string();
        assert!(err.contains("base.tar.gz"), "{err}");
    }
}
