//! OCI images of a chaincode server, written without a container daemon.
//!
//! An image is data: a config, a manifest and layers. [`build`] makes them
//! from an [`ImageSpec`] (the server binary, files to add, an optional base
//! layer and chaincode package), with sorted tar entries, fixed timestamps,
//! owners and modes, fixed gzip settings and compact JSON with a fixed field
//! order, so the same binary and options give the same image digest on any
//! machine. The [`Image`] is then written as an OCI image layout directory
//! ([`Image::write_layout`]), as one archive that `docker load`,
//! `podman load` and `ctr images import` read ([`Image::write_archive`]), or
//! pushed to a registry ([`push()`], feature `push`, on by default).
//!
//! What the image holds:
//! - one layer with the binary at `/usr/local/bin/NAME` (mode 0755) and the
//!   files added with [`ImageSpec::add`] (0755 if executable here, else
//!   0644), every entry owned by 0:0 with mtime 0; a base layer below it
//!   when [`ImageSpec::base`] is given;
//! - the entrypoint `/usr/local/bin/NAME`, user `65532:65532` (numeric, so
//!   `runAsNonRoot` can check it without an `/etc/passwd`), working
//!   directory `/`, stop signal `SIGTERM`;
//! - env `PATH`, `CHAINCODE_SERVER_ADDRESS=0.0.0.0:9999` and
//!   `CHAINCODE_OPERATIONS_ADDRESS=0.0.0.0:9443`, and those two ports
//!   exposed (`9999/tcp`, `9443/tcp`; they follow the env if it is changed);
//! - the `org.opencontainers.image.*` annotations (`created` from
//!   [`ImageSpec::created`], `title`, `version`, and any given), as
//!   manifest annotations and as config labels, plus the chaincode label and
//!   package ID of [`ImageSpec::package`].
//!
//! ```
//! use ccaas_deploy::image::{self, ImageName, ImageSpec};
//!
//! # let dir = tempfile::tempdir()?;
//! # let server = dir.path().join("kv");
//! # std::fs::write(&server, image::elf::minimal_static_elf())?;
//! let mut spec = ImageSpec::new(&server);
//! spec.version = Some("1.0".into());
//! let built = image::build(&spec)?;
//! assert!(built.digest().starts_with("sha256:"));
//! assert_eq!(built.entrypoint(), ["/usr/local/bin/kv"]);
//! // The same inputs, the same digest.
//! assert_eq!(image::build(&spec)?.digest(), built.digest());
//!
//! let name = ImageName::parse("kv:1.0")?;
//! built.write_archive(&dir.path().join("kv.tar"), Some(&name))?;
//! built.write_layout(&dir.path().join("kv-oci"), Some(&name))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod elf;
mod layer;
mod name;
mod oci;
#[cfg(feature = "push")]
pub mod push;
mod write;

pub use layer::{sha256_digest, AddFile, Blob, Layer, LAYER_GZIP, MAX_BASE_BYTES};
pub use name::ImageName;
pub use oci::{rfc3339, CONFIG as CONFIG_MEDIA_TYPE, MANIFEST as MANIFEST_MEDIA_TYPE};
#[cfg(feature = "push")]
pub use push::{push, push_blocking, PushAuth, PushError, PushOptions, Pushed};

use ccaas_core::fs::FsError;
use ccaas_core::package::PackageError;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The user the image runs as: numeric, not root (distroless's `nonroot`).
pub const USER: &str = "65532:65532";
/// Where the binary goes in the image.
pub const BIN_DIR: &str = "/usr/local/bin";
/// The default `CHAINCODE_SERVER_ADDRESS`: every interface, port 9999.
pub const SERVER_ADDRESS: &str = "0.0.0.0:9999";
/// The default `CHAINCODE_OPERATIONS_ADDRESS` (`/healthz`, `/metrics`).
pub const OPERATIONS_ADDRESS: &str = "0.0.0.0:9443";
/// The default `PATH`.
pub const PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// Annotation and label holding the chaincode package's label.
pub const LABEL_ANNOTATION: &str = "org.hyperledger.fabric.chaincode.label";
/// Annotation and label holding the chaincode package ID.
pub const PACKAGE_ID_ANNOTATION: &str = "org.hyperledger.fabric.chaincode.package-id";
/// Largest binary or added file read.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The env variables that name a port to expose.
const PORT_VARIABLES: [&str; 2] = ["CHAINCODE_SERVER_ADDRESS", "CHAINCODE_OPERATIONS_ADDRESS"];

/// Why no image was made or written.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A file given by a flag cannot be read.
    #[error("{what}")]
    File {
        /// Which file: `the chaincode server binary`, `the file given
        /// with `--add``, ...
        what: &'static str,
        /// What went wrong, with the path.
        #[source]
        source: FsError,
    },
    /// The binary is not an ELF executable.
    #[error("`{path}` cannot be a chaincode server in an image")]
    NotElf {
        /// The binary.
        path: PathBuf,
        /// What it is instead.
        #[source]
        source: elf::ElfError,
    },
    /// A dynamic binary and no base layer.
    #[error("`{path}` is dynamically linked (its program interpreter is `{interpreter}`), so it cannot run in an image FROM scratch: build it statically, `RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target {target}` (as bin-scripts/install does), or give a base layer holding `{interpreter}` and the libraries it loads with `--base LAYER.tar`")]
    Dynamic {
        /// The binary.
        path: PathBuf,
        /// Its `PT_INTERP`.
        interpreter: String,
        /// The Rust target triple of its architecture.
        target: &'static str,
    },
    /// The base layer is not a tar or tar.gz.
    #[error("`--base` `{path}`: {reason}")]
    BadBase {
        /// The archive.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An `--add` value that is not `SRC:DEST`.
    #[error("`--add {value}`: {reason}")]
    BadAdd {
        /// The value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// Two files for one path.
    #[error("`--add` `{dest}`: the image already has a file there ({first}); each path in the image takes one file")]
    AddCollision {
        /// The path in the image.
        dest: String,
        /// What is there already.
        first: String,
    },
    /// A name that is not a valid image or file name.
    #[error("`{flag}` `{value}`: {reason}")]
    BadName {
        /// The flag.
        flag: &'static str,
        /// The value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// An env or annotation value that is not `KEY=VALUE`, or an address
    /// with no port.
    #[error("`{flag} {value}`: {reason}")]
    BadValue {
        /// The flag.
        flag: &'static str,
        /// The value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The chaincode package cannot be read.
    #[error("`--package` `{path}`")]
    Package {
        /// The package.
        path: PathBuf,
        /// Why.
        #[source]
        source: PackageError,
    },
    /// Writing the layout or the archive failed.
    #[error("cannot write the image")]
    Write(#[source] FsError),
    /// The layout directory exists and is not an image layout.
    #[error("`{path}` exists and is not an empty directory or an OCI image layout; refusing to replace it (remove it or give another path)")]
    NotALayout {
        /// The directory.
        path: PathBuf,
    },
    /// The layer or archive could not be built in memory (cannot happen
    /// short of memory running out).
    #[error("cannot build the {what}")]
    Build {
        /// Which.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What to put in the image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageSpec {
    /// The chaincode server binary: a static Linux ELF executable (or a
    /// dynamic one with [`ImageSpec::base`]).
    pub binary: PathBuf,
    /// Its name in the image (`/usr/local/bin/NAME`) and the title; the
    /// binary's file name when `None`.
    pub name: Option<String>,
    /// Files to add.
    pub add: Vec<AddFile>,
    /// A base layer archive (`.tar` or `.tar.gz`), below the chaincode
    /// layer.
    pub base: Option<PathBuf>,
    /// A chaincode package whose label and package ID go in the labels.
    pub package: Option<PathBuf>,
    /// The creation time, seconds since the Unix epoch (`SOURCE_DATE_EPOCH`,
    /// see [`source_date_epoch`]); 0 by default, so the time of the build
    /// never changes the digest.
    pub created: u64,
    /// `org.opencontainers.image.version`.
    pub version: Option<String>,
    /// More annotations (and labels), or replacements for ours.
    pub annotations: BTreeMap<String, String>,
    /// Env variables to set or replace, in order; an empty value removes
    /// the variable (and, for the two addresses, its exposed port).
    pub env: Vec<(String, String)>,
}

impl ImageSpec {
    /// A spec with only the binary, everything else by default.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        ImageSpec {
            binary: binary.into(),
            ..ImageSpec::default()
        }
    }
}

/// `SOURCE_DATE_EPOCH` from the environment: `None` when unset or empty.
pub fn source_date_epoch() -> Result<Option<u64>, ImageError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => v.trim().parse().map(Some).map_err(|_| ImageError::BadValue {
            flag: "SOURCE_DATE_EPOCH",
            value: v.clone(),
            reason: "expected whole seconds since 1970-01-01 (`date +%s`, or `git log -1 --format=%ct`)".into(),
        }),
        Err(_) => Ok(None),
    }
}

/// An image built in memory, ready to be written or pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    layers: Vec<Layer>,
    config: Blob,
    manifest: Blob,
    architecture: String,
    entrypoint: Vec<String>,
    env: Vec<String>,
    ports: Vec<String>,
    annotations: BTreeMap<String, String>,
    notes: Vec<String>,
}

impl Image {
    /// The manifest digest, `sha256:<hex>`: what a Deployment should pin.
    pub fn digest(&self) -> &str {
        &self.manifest.digest
    }
    /// The manifest.
    pub fn manifest(&self) -> &Blob {
        &self.manifest
    }
    /// The config.
    pub fn config(&self) -> &Blob {
        &self.config
    }
    /// The layers, base first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }
    /// The OCI architecture, from the binary's ELF header.
    pub fn architecture(&self) -> &str {
        &self.architecture
    }
    /// The entrypoint.
    pub fn entrypoint(&self) -> &[String] {
        &self.entrypoint
    }
    /// The env, `KEY=VALUE`.
    pub fn env(&self) -> &[String] {
        &self.env
    }
    /// The exposed ports, `9999/tcp`.
    pub fn ports(&self) -> &[String] {
        &self.ports
    }
    /// The annotations (also the config's labels).
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }
    /// Things the user should know (a dynamic binary on a base layer).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
    /// Total bytes of the blobs (layers, config, manifest).
    pub fn size(&self) -> u64 {
        let layers: usize = self.layers.iter().map(|l| l.blob.bytes.len()).sum();
        (layers + self.config.bytes.len() + self.manifest.bytes.len()) as u64
    }
}

/// Builds the image `spec` describes.
pub fn build(spec: &ImageSpec) -> Result<Image, ImageError> {
    let binary = ccaas_core::fs::read_limited(&spec.binary, MAX_FILE_BYTES).map_err(|source| {
        ImageError::File {
            what: "the chaincode server binary",
            source,
        }
    })?;
    let info = elf::parse(&binary).map_err(|source| ImageError::NotElf {
        path: spec.binary.clone(),
        source,
    })?;
    let name = match &spec.name {
        Some(name) => name.clone(),
        None => spec
            .binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    check_file_name(&name)?;

    let mut notes = Vec::new();
    let mut layers = Vec::new();
    if let Some(base) = &spec.base {
        let (base_layer, names) = layer::read_base(base)?;
        if let Some(interp) = &info.interpreter {
            let inside = interp.trim_start_matches('/');
            if names.contains(inside) {
                notes.push(format!("`{}` is dynamically linked (interpreter `{interp}`); the base layer holds it, and must hold the libraries the binary loads too", spec.binary.display()));
            } else {
                notes.push(format!("`{}` is dynamically linked (interpreter `{interp}`) and the base layer has no `{inside}`: unless a symbolic link in the base leads there, the container fails to start with `no such file or directory`", spec.binary.display()));
            }
        }
        layers.push(base_layer);
    } else if let Some(interpreter) = info.interpreter.clone() {
        return Err(ImageError::Dynamic {
            path: spec.binary.clone(),
            interpreter,
            target: target_triple(info.architecture),
        });
    }

    let mut files = layer::LayerFiles::default();
    let bin_path = format!("{}/{name}", BIN_DIR.trim_start_matches('/'));
    files.insert(bin_path.clone(), binary, 0o755);
    for add in &spec.add {
        let rel = layer::clean_dest(&add.dest).map_err(|reason| ImageError::BadAdd {
            value: format!("{}:{}", add.source.display(), add.dest),
            reason,
        })?;
        if files.contains(&rel) || files.clashes_with(&rel) {
            let first = if rel == bin_path || rel.starts_with(&format!("{bin_path}/")) {
                "the chaincode server".to_owned()
            } else {
                "another `--add`, or a directory of one".to_owned()
            };
            return Err(ImageError::AddCollision {
                dest: add.dest.clone(),
                first,
            });
        }
        let file = ccaas_core::fs::read_file(&add.source, MAX_FILE_BYTES).map_err(|source| {
            ImageError::File {
                what: "the file given with `--add`",
                source,
            }
        })?;
        let executable = std::fs::metadata(&add.source)
            .map(|m| m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false);
        files.insert(rel, file.bytes, if executable { 0o755 } else { 0o644 });
    }
    let ours = files.to_layer().map_err(|source| ImageError::Build {
        what: "chaincode layer",
        source,
    })?;
    layers.push(ours);

    let created = rfc3339(spec.created);
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "org.opencontainers.image.created".to_owned(),
        created.clone(),
    );
    annotations.insert("org.opencontainers.image.title".to_owned(), name.clone());
    if let Some(version) = &spec.version {
        annotations.insert(
            "org.opencontainers.image.version".to_owned(),
            version.clone(),
        );
    }
    if let Some(path) = &spec.package {
        let package = read_package(path)?;
        annotations.insert(
            LABEL_ANNOTATION.to_owned(),
            package.metadata.label.to_string(),
        );
        annotations.insert(PACKAGE_ID_ANNOTATION.to_owned(), package.id.to_string());
    }
    for (key, value) in &spec.annotations {
        check_annotation_key(key)?;
        annotations.insert(key.clone(), value.clone());
    }

    let (env, ports) = env_and_ports(&spec.env)?;
    let entrypoint = vec![format!("{BIN_DIR}/{name}")];
    let mut history = Vec::new();
    if spec.base.is_some() {
        history.push(oci::History {
            created: created.clone(),
            created_by: "ccaas image --base".into(),
            comment: Some("the base layer given".into()),
        });
    }
    history.push(oci::History {
        created: created.clone(),
        created_by: "ccaas image".into(),
        comment: Some(format!(
            "{} and {}",
            entrypoint[0],
            ccaas_core::report::count(spec.add.len() as u64, "added file", "added files")
        )),
    });
    let config = oci::Config {
        created,
        architecture: info.architecture.to_owned(),
        variant: info.variant.map(str::to_owned),
        os: "linux",
        config: oci::RunConfig {
            user: USER.to_owned(),
            exposed_ports: ports.iter().map(|p| (p.clone(), oci::Empty {})).collect(),
            env: env.clone(),
            entrypoint: entrypoint.clone(),
            working_dir: "/",
            labels: annotations.clone(),
            stop_signal: "SIGTERM",
        },
        rootfs: oci::RootFs {
            kind: "layers",
            diff_ids: layers.iter().map(|l| l.diff_id.clone()).collect(),
        },
        history,
    };
    let config = Blob::new(oci::CONFIG, oci::to_json(&config));
    let manifest = oci::Manifest {
        schema_version: 2,
        media_type: oci::MANIFEST,
        config: descriptor(&config),
        layers: layers.iter().map(|l| descriptor(&l.blob)).collect(),
        annotations: annotations.clone(),
    };
    let manifest = Blob::new(oci::MANIFEST, oci::to_json(&manifest));
    Ok(Image {
        layers,
        config,
        manifest,
        architecture: info.architecture.to_owned(),
        entrypoint,
        env,
        ports,
        annotations,
        notes,
    })
}

fn descriptor(blob: &Blob) -> oci::Descriptor {
    oci::Descriptor {
        media_type: blob.media_type.to_owned(),
        digest: blob.digest.clone(),
        size: blob.bytes.len() as u64,
        annotations: BTreeMap::new(),
    }
}

fn read_package(path: &Path) -> Result<ccaas_core::PackageInfo, ImageError> {
    let file = ccaas_core::fs::open_regular(path).map_err(|source| ImageError::File {
        what: "the package given with `--package`",
        source,
    })?;
    ccaas_core::package::identify(
        std::io::BufReader::new(file),
        &ccaas_core::Limits::default(),
    )
    .map_err(|source| ImageError::Package {
        path: path.to_owned(),
        source,
    })
}

/// The default env with `changes` applied, and the ports it exposes.
fn env_and_ports(changes: &[(String, String)]) -> Result<(Vec<String>, Vec<String>), ImageError> {
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), PATH.into()),
        (PORT_VARIABLES[0].into(), SERVER_ADDRESS.into()),
        (PORT_VARIABLES[1].into(), OPERATIONS_ADDRESS.into()),
    ];
    for (key, value) in changes {
        if key.is_empty() || key.contains('=') || key.contains('\0') || value.contains('\0') {
            return Err(ImageError::BadValue {
                flag: "--env",
                value: format!("{key}={value}"),
                reason: "expected KEY=VALUE with a non-empty KEY and no NUL byte".into(),
            });
        }
        env.retain(|(k, _)| k != key);
        if !value.is_empty() {
            env.push((key.clone(), value.clone()));
        }
    }
    let mut ports = BTreeSet::new();
    for (key, value) in &env {
        if PORT_VARIABLES.contains(&key.as_str()) {
            let port = value
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .filter(|p| *p != 0)
                .ok_or_else(|| ImageError::BadValue {
                    flag: "--env",
                    value: format!("{key}={value}"),
                    reason: "expected HOST:PORT with a port from 1 to 65535, such as 0.0.0.0:9999"
                        .into(),
                })?;
            ports.insert(port);
        }
    }
    Ok((
        env.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
        ports.into_iter().map(|p| format!("{p}/tcp")).collect(),
    ))
}

fn check_file_name(name: &str) -> Result<(), ImageError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ImageError::BadName {
            flag: "--name",
            value: name.to_owned(),
            reason: "expected a file name of letters, digits, `.`, `_` and `-` (not starting with `.`), at most 128 bytes".into(),
        })
    }
}

fn check_annotation_key(key: &str) -> Result<(), ImageError> {
    if key.is_empty() || key.contains(char::is_whitespace) || key.contains('=') {
        return Err(ImageError::BadValue {
            flag: "--annotation",
            value: key.to_owned(),
            reason: "expected KEY=VALUE with a key such as `org.opencontainers.image.source`"
                .into(),
        });
    }
    Ok(())
}

/// The Rust target triple for a static glibc build on `arch`.
fn target_triple(arch: &str) -> &'static str {
    match arch {
        "amd64" => "x86_64-unknown-linux-gnu",
        "arm64" => "aarch64-unknown-linux-gnu",
        "386" => "i686-unknown-linux-gnu",
        "arm" => "armv7-unknown-linux-gnueabihf",
        "ppc64le" => "powerpc64le-unknown-linux-gnu",
        "s390x" => "s390x-unknown-linux-gnu",
        "riscv64" => "riscv64gc-unknown-linux-gnu",
        "loong64" => "loongarch64-unknown-linux-gnu",
        _ => "<target>",
    }
}
