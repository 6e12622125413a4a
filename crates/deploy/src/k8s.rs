//! The Kubernetes objects that run a chaincode server, from the same inputs
//! as its chaincode package, so that the two cannot disagree: `ccaas k8s`.
//!
//! [`render`] reads the package (`--package`), takes the package ID from it
//! (`CHAINCODE_ID` is never typed by hand), and checks its `connection.json`
//! against the Service it is about to write: the address must be the
//! Service's DNS name and port, TLS must be on exactly when the package says
//! so, and the server certificate must cover the name the peer checks and
//! be issued by the package's `root_cert`. Every mismatch is an error naming
//! both sides. Then it builds, as typed `k8s-openapi` objects, a Deployment,
//! a ClusterIP Service, the TLS Secret (cert-manager's shape) or a reference
//! to one, and optionally a PodDisruptionBudget, one Deployment and Service
//! per peer for the one-package-per-organisation pattern
//! (`{{.peername}}-NAME`).
//!
//! The objects use only fields every Kubernetes from 1.21 to 1.37 serves
//! (`k8s-openapi`'s `v1_37` types); [`KubeVersion`] 1.19 or 1.20 writes the
//! PodDisruptionBudget as `policy/v1beta1`, the one object that differs.
//!
//! ```
//! use ccaas_deploy::k8s::{render, Options};
//!
//! let dir = tempfile::tempdir()?;
//! let package = dir.path().join("kv.tgz");
//! std::fs::write(&package, ccaas_deploy::k8s::testing::package(r#"{"address": "kv.chaincode:9999"}"#)?)?;
//! let mut options = Options::new("kv", &package, "kv:1");
//! options.namespace = "chaincode".into();
//! let manifests = render(&options)?;
//! let yaml = manifests.to_yaml();
//! assert!(yaml.contains("kind: \"Deployment\""));
//! assert!(yaml.contains(&format!("value: \"{}\"", manifests.package_id)));
//!
//! options.port = 7052;
//! let err = render(&options).unwrap_err().to_string();
//! assert!(err.contains("port 9999") && err.contains("--port 7052"), "{err}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod check;
mod objects;
#[doc(hidden)]
pub mod testing;
pub mod yaml;

use ccaas_core::archive::Limits;
use ccaas_core::fs::FsError;
use ccaas_core::pem::PemError;
use ccaas_core::GoDuration;
use std::fmt;
use std::path::{Path, PathBuf};

pub use check::Mismatch;
pub use objects::Object;

/// The operations port the probes use (`CHAINCODE_OPERATIONS_ADDRESS`).
pub const OPERATIONS_PORT: u16 = 9443;
/// The numeric user (and group) the chaincode server runs as: the image's.
pub const USER_ID: i64 = 65532;
/// Where the TLS Secret is mounted.
pub const TLS_MOUNT: &str = "/etc/ccaas/tls";
/// How much longer than the shim's shutdown grace the pod's
/// `terminationGracePeriodSeconds` is.
pub const GRACE_MARGIN_SECONDS: i64 = 10;

/// The TLS Secret of the chaincode server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    /// No TLS (the package's `tls_required` must be false).
    Off,
    /// A Secret written from files, in cert-manager's shape.
    Files {
        /// `tls.crt`: the server certificate (PEM).
        cert: PathBuf,
        /// `tls.key`: its private key (PEM).
        key: PathBuf,
        /// `ca.crt`: the CA of the peer's client certificates (mutual TLS).
        ca: Option<PathBuf>,
        /// The Secret's name (default `NAME-tls`).
        secret: Option<String>,
    },
    /// A Secret that exists (cert-manager's, say), by name: not checked.
    Existing {
        /// Its name.
        secret: String,
    },
}

/// Resource requests and limits, as Kubernetes quantities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    /// `requests.cpu`.
    pub cpu_request: String,
    /// `requests.memory`.
    pub memory_request: String,
    /// `limits.cpu` (none: no CPU limit).
    pub cpu_limit: Option<String>,
    /// `limits.memory`.
    pub memory_limit: String,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            cpu_request: "100m".into(),
            memory_request: "64Mi".into(),
            cpu_limit: Some("1".into()),
            memory_limit: "256Mi".into(),
        }
    }
}

/// The Kubernetes minor version (1.x) the output is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KubeVersion(pub u32);

impl KubeVersion {
    /// The oldest we write for: `seccompProfile` arrived in 1.19.
    pub const OLDEST: KubeVersion = KubeVersion(19);
    /// The newest, and the default: `k8s-openapi`'s `v1_37`.
    pub const NEWEST: KubeVersion = KubeVersion(37);

    /// Whether `policy/v1` (PodDisruptionBudget) is served: 1.21+.
    pub fn has_policy_v1(self) -> bool {
        self.0 >= 21
    }
}

impl Default for KubeVersion {
    fn default() -> Self {
        KubeVersion::NEWEST
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.0)
    }
}

impl std::str::FromStr for KubeVersion {
    type Err = K8sError;

    /// `1.20`, `v1.20` or `1.20.2`.
    fn from_str(text: &str) -> Result<Self, K8sError> {
        let invalid = || K8sError::InvalidFlag {
            flag: "--kubernetes",
            value: ccaas_core::report::shorten(text),
            expected: "a Kubernetes version from 1.19 to 1.37, such as `1.20` or `v1.30.2`",
        };
        let t = text.trim().trim_start_matches('v');
        let mut parts = t.split('.');
        let (Some("1"), Some(minor)) = (parts.next(), parts.next()) else {
            return Err(invalid());
        };
        if parts.clone().count() > 1 || parts.any(|p| p.parse::<u32>().is_err()) {
            return Err(invalid());
        }
        let version = KubeVersion(minor.parse().map_err(|_| invalid())?);
        if version < KubeVersion::OLDEST || version > KubeVersion::NEWEST {
            return Err(invalid());
        }
        Ok(version)
    }
}

/// Everything `ccaas k8s` takes.
#[derive(Debug, Clone)]
pub struct Options {
    /// The chaincode's name: the Service and Deployment (`PEER-NAME` per peer).
    pub name: String,
    /// The namespace.
    pub namespace: String,
    /// The Service's port, and the chaincode server's.
    pub port: u16,
    /// The image (pin it: `repo@sha256:…`).
    pub image: String,
    /// Replicas per Deployment.
    pub replicas: i32,
    /// Peer names: one Deployment and Service each, `PEER-NAME`, with
    /// `peername` set for the templates.
    pub peers: Vec<String>,
    /// The chaincode package.
    pub package: PathBuf,
    /// Template values, as `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` on the peer.
    pub config: Option<String>,
    /// The peer's `CCAAS_TLS_DIR`, for `*_file` references outside the package.
    pub tls_dir: Option<PathBuf>,
    /// The TLS Secret.
    pub tls: Tls,
    /// Requests and limits.
    pub resources: Resources,
    /// `CHAINCODE_SHUTDOWN_GRACE`; the pod's grace is this plus the
    /// drain delay plus [`GRACE_MARGIN_SECONDS`].
    pub shutdown_grace: GoDuration,
    /// `CHAINCODE_DRAIN_DELAY`: how long a terminating pod goes on
    /// serving, its readiness failing, while the Service's endpoints and
    /// kube-proxy catch up (zero: not set).
    pub drain_delay: GoDuration,
    /// A PodDisruptionBudget with this `maxUnavailable`.
    pub max_unavailable: Option<i32>,
    /// The Kubernetes version to write for.
    pub kubernetes: KubeVersion,
    /// The cluster's DNS domain (`cluster.local`).
    pub cluster_domain: String,
    /// Limits on reading the package.
    pub limits: Limits,
}

impl Options {
    /// The defaults: namespace `default`, port 9999, 2 replicas, no TLS,
    /// a 5s drain delay and a 20s shutdown grace, no PodDisruptionBudget,
    /// the newest Kubernetes.
    pub fn new(name: &str, package: &Path, image: &str) -> Self {
        Options {
            name: name.to_owned(),
            namespace: "default".into(),
            port: 9999,
            image: image.to_owned(),
            replicas: 2,
            peers: Vec::new(),
            package: package.to_owned(),
            config: None,
            tls_dir: None,
            tls: Tls::Off,
            resources: Resources::default(),
            shutdown_grace: GoDuration::from_nanos(20_000_000_000),
            drain_delay: GoDuration::from_nanos(5_000_000_000),
            max_unavailable: None,
            kubernetes: KubeVersion::default(),
            cluster_domain: "cluster.local".into(),
            limits: Limits::default(),
        }
    }
}

impl fmt::Debug for K8sError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&ccaas_core::report::chain(self))
    }
}

/// Why no manifests were written.
#[derive(thiserror::Error)]
pub enum K8sError {
    /// A flag's value is not what it should be.
    #[error("{flag} is `{value}`: expected {expected}")]
    InvalidFlag {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// The package could not be read.
    #[error("cannot read --package `{path}`")]
    Package {
        /// The package.
        path: PathBuf,
        /// Why.
        #[source]
        source: FsError,
    },
    /// The package would not install or launch on a peer.
    #[error("--package `{path}` would not install or launch ({}): {}", ccaas_core::report::count(.findings.len() as u64, "error", "errors"), .findings.join("; "))]
    PackageInvalid {
        /// The package.
        path: PathBuf,
        /// `file: message`, each.
        findings: Vec<String>,
    },
    /// A TLS file could not be read.
    #[error("cannot read {flag}")]
    TlsFile {
        /// The flag.
        flag: &'static str,
        /// Why (names the file).
        #[source]
        source: FsError,
    },
    /// A TLS file is not the PEM it should be.
    #[error("{flag} `{path}` is not {expected}")]
    TlsPem {
        /// The flag.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// What it should hold.
        expected: &'static str,
        /// Why (never the key material).
        #[source]
        source: PemError,
    },
    /// The package and the objects disagree.
    #[error("--package `{path}` and the Kubernetes objects disagree ({}): {}", ccaas_core::report::count(.mismatches.len() as u64, "mismatch", "mismatches"), list(.mismatches))]
    Mismatches {
        /// The package.
        path: PathBuf,
        /// Every mismatch.
        mismatches: Vec<Mismatch>,
    },
}

fn list(mismatches: &[Mismatch]) -> String {
    mismatches
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One chaincode server instance: a Service and its Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The Service's (and Deployment's) name.
    pub name: String,
    /// The peer it is for, with `--peer`.
    pub peer: Option<String>,
    /// The address the peer dials (connection.json's, rendered).
    pub address: String,
}

/// What [`render`] made.
#[derive(Debug, Clone)]
pub struct Manifests {
    /// The package ID every Deployment's `CHAINCODE_ID` holds.
    pub package_id: String,
    /// The instances, in order.
    pub instances: Vec<Instance>,
    /// The objects, in apply order (Secret, then Service, Deployment and
    /// PodDisruptionBudget per instance), each with its YAML comments.
    pub objects: Vec<Object>,
    /// Things the operator should know (nothing that stops the output).
    pub warnings: Vec<String>,
}

impl Manifests {
    /// `---`-separated YAML documents with a comment above each production
    /// default, for `kubectl apply -f -`.
    pub fn to_yaml(&self) -> String {
        self.objects
            .iter()
            .map(Object::to_yaml)
            .collect::<Vec<_>>()
            .join("---\n")
    }

    /// A `v1` `List` of the objects, pretty JSON (`kubectl apply -f -`
    /// takes it too).
    pub fn to_json(&self) -> String {
        let list = serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": self.objects.iter().map(|o| o.value.clone()).collect::<Vec<_>>(),
        });
        let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Whether the output holds a private key (a Secret written from
    /// `--tls-key`): write it only to `kubectl` or a 0600 file.
    pub fn holds_private_key(&self) -> bool {
        self.objects.iter().any(|o| o.private)
    }
}

/// Reads the package, checks it against the Service, and builds the
/// objects.
pub fn render(options: &Options) -> Result<Manifests, K8sError> {
    let checked = check::check(options)?;
    Ok(objects::build(options, checked))
}

#[cfg(test)]
mod tests;
