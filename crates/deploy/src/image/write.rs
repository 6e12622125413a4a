//! Writing an [`Image`]: an OCI image layout directory, and one tar that
//! is both an OCI layout (`index.json`, `oci-layout`, `blobs/`) and a
//! Docker archive (`manifest.json`), as `docker save` writes since 25.

use super::layer::Blob;
use super::{oci, Image, ImageError, ImageName};
use ccaas_core::fs::{self as cfs, EntryKind};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// The containerd annotation naming the image, read by `ctr images import`
/// and Docker 25+.
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";
/// The OCI annotation naming the reference in a layout.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

impl Image {
    /// The blobs by file name under `blobs/sha256/`, sorted (a blob present
    /// twice is written once).
    fn blobs(&self) -> BTreeMap<&str, &Blob> {
        let mut blobs = BTreeMap::new();
        for blob in self
            .layers
            .iter()
            .map(|l| &l.blob)
            .chain([&self.config, &self.manifest])
        {
            blobs.insert(blob.hex(), blob);
        }
        blobs
    }

    /// `index.json`: the manifest, named `name` when given (the tag as
    /// `org.opencontainers.image.ref.name`, the full name as
    /// `io.containerd.image.name`, as `docker save` does).
    pub fn index_json(&self, name: Option<&ImageName>) -> Vec<u8> {
        let mut annotations = BTreeMap::new();
        if let Some(name) = name {
            annotations.insert(CONTAINERD_NAME.to_owned(), name.normalized());
            annotations.insert(REF_NAME.to_owned(), name.tag.clone());
        }
        oci::to_json(&oci::Index {
            schema_version: 2,
            media_type: oci::INDEX,
            manifests: vec![oci::Descriptor {
                media_type: oci::MANIFEST.to_owned(),
                digest: self.manifest.digest.clone(),
                size: self.manifest.bytes.len() as u64,
                annotations,
            }],
        })
    }

    /// Docker's `manifest.json`, for `docker load` before 25 and tools that
    /// read docker-archive.
    pub fn docker_manifest_json(&self, name: Option<&ImageName>) -> Vec<u8> {
        oci::to_json(&[oci::DockerManifest {
            config: format!("blobs/sha256/{}", self.config.hex()),
            repo_tags: name.map(|n| n.to_string()).into_iter().collect(),
            layers: self
                .layers
                .iter()
                .map(|l| format!("blobs/sha256/{}", l.blob.hex()))
                .collect(),
        }])
    }

    /// Writes an OCI image layout directory at `dir`: `oci-layout`,
    /// `index.json` and `blobs/sha256/`. `dir` must not exist, be empty,
    /// or be an image layout (which is replaced whole). Read it with
    /// `skopeo copy oci:DIR ...` (or `oci:DIR:TAG` when named).
    pub fn write_layout(&self, dir: &Path, name: Option<&ImageName>) -> Result<(), ImageError> {
        let replace = match cfs::entry_kind(dir).map_err(ImageError::Write)? {
            None => false,
            Some(EntryKind::Dir) => {
                let entries = cfs::sorted_entries(dir).map_err(ImageError::Write)?;
                let is_layout = cfs::entry_kind(&dir.join("oci-layout"))
                    .map_err(ImageError::Write)?
                    == Some(EntryKind::File);
                if !entries.is_empty() && !is_layout {
                    return Err(ImageError::NotALayout {
                        path: dir.to_owned(),
                    });
                }
                true
            }
            Some(_) => {
                return Err(ImageError::NotALayout {
                    path: dir.to_owned(),
                })
            }
        };
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let staging = tempfile::Builder::new()
            .prefix(".ccaas-image-")
            .tempdir_in(parent)
            .map_err(|e| ImageError::Write(cfs::FsError::io("create a directory in", parent, e)))?;
        let root = staging.path();
        let blobs_dir = root.join("blobs").join("sha256");
        cfs::create_dir_all(&blobs_dir, 0o755).map_err(ImageError::Write)?;
        for (hex, blob) in self.blobs() {
            cfs::write_new(&blobs_dir.join(hex), &blob.bytes, 0o644).map_err(ImageError::Write)?;
        }
        cfs::write_new(&root.join("oci-layout"), oci::OCI_LAYOUT, 0o644)
            .map_err(ImageError::Write)?;
        cfs::write_new(&root.join("index.json"), &self.index_json(name), 0o644)
            .map_err(ImageError::Write)?;
        cfs::set_mode(root, 0o755).map_err(ImageError::Write)?;
        if replace {
            cfs::remove_if_exists(dir).map_err(ImageError::Write)?;
        }
        let staged = staging.keep();
        cfs::rename(&staged, dir).map_err(|e| {
            let _ = std::fs::remove_dir_all(&staged);
            ImageError::Write(e)
        })
    }

    /// The archive's bytes: an uncompressed tar holding the OCI layout and
    /// Docker's `manifest.json`, entries sorted, headers fixed.
    pub fn archive_bytes(&self, name: Option<&ImageName>) -> Result<Vec<u8>, ImageError> {
        let build = |source| ImageError::Build {
            what: "archive",
            source,
        };
        let mut tar = tar::Builder::new(Vec::with_capacity(self.size() as usize + 16 * 1024));
        let dir = |tar: &mut tar::Builder<Vec<u8>>, path: &str| -> io::Result<()> {
            let mut header = header(tar::EntryType::Directory, 0, 0o755);
            tar.append_data(&mut header, path, io::empty())
        };
        dir(&mut tar, "blobs/").map_err(build)?;
        dir(&mut tar, "blobs/sha256/").map_err(build)?;
        let file = |tar: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8]| {
            let mut header = header(tar::EntryType::Regular, bytes.len() as u64, 0o644);
            tar.append_data(&mut header, path, bytes)
        };
        for (hex, blob) in self.blobs() {
            file(&mut tar, &format!("blobs/sha256/{hex}"), &blob.bytes).map_err(build)?;
        }
        file(&mut tar, "index.json", &self.index_json(name)).map_err(build)?;
        file(&mut tar, "manifest.json", &self.docker_manifest_json(name)).map_err(build)?;
        file(&mut tar, "oci-layout", oci::OCI_LAYOUT).map_err(build)?;
        tar.into_inner().map_err(build)
    }

    /// Writes the archive (see [`Image::archive_bytes`]) to `path`,
    /// atomically. `docker load`, `podman load`, `ctr images import`,
    /// `skopeo` (`oci-archive:` and `docker-archive:`) read it.
    pub fn write_archive(&self, path: &Path, name: Option<&ImageName>) -> Result<(), ImageError> {
        let bytes = self.archive_bytes(name)?;
        cfs::write_atomic(path, &bytes, 0o644).map_err(ImageError::Write)
    }
}

/// The archive's headers are ustar, with
/// core's fixed fields.
fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    ccaas_core::archive::fix_header(tar::Header::new_ustar(), kind, size, mode)
}
