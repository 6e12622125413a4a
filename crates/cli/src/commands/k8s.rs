//! `ccaas k8s`: the Kubernetes objects that run a chaincode server, checked
//! against its package (`ccaas_deploy::k8s`), as YAML for `kubectl apply -f
//! -` or JSON.

use super::{config_text, tls_dir_arg, LimitArgs, PeerSettings};
use crate::Failure;
use ccaas_core::GoDuration;
use ccaas_deploy::k8s::{self, KubeVersion, Options, Resources, Tls};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ccaas k8s`.
#[derive(Args)]
pub struct K8sArgs {
    /// The chaincode package the peers install: its ID becomes CHAINCODE_ID, its connection.json is checked against the Service.
    #[arg(long, value_name = "PKG.tgz")]
    pub package: PathBuf,
    /// The Service and Deployment name (`PEER-NAME` with --peer).
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The namespace.
    #[arg(long, value_name = "NS", default_value = "default")]
    pub namespace: String,
    /// The Service's port, and the chaincode server's (connection.json's address port).
    #[arg(long, value_name = "PORT", default_value_t = 9999)]
    pub port: u16,
    /// The chaincode server's image; pin it by digest (`repo@sha256:…`, as `ccaas image --push` prints).
    #[arg(long, value_name = "REF")]
    pub image: String,
    /// Replicas per Deployment.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub replicas: i32,
    /// One Deployment and Service per peer, `PEER-NAME`, with `peername` set for connection.json's templates; repeatable.
    #[arg(long = "peer", value_name = "PEER")]
    pub peers: Vec<String>,
    #[command(flatten)]
    pub peer_settings: PeerSettings,
    /// The server certificate (PEM), written to the Secret as `tls.crt`.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Its private key (PEM), `tls.key`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The CA of the peer's client certificate (PEM), `ca.crt`: mutual TLS.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_ca: Option<PathBuf>,
    /// The TLS Secret's name: with --tls-cert, the Secret written (default NAME-tls); alone, an existing one (cert-manager's), used as it is.
    #[arg(long, value_name = "NAME")]
    pub tls_secret: Option<String>,
    /// requests.cpu.
    #[arg(long, value_name = "Q", default_value = "100m")]
    pub cpu_request: String,
    /// requests.memory.
    #[arg(long, value_name = "Q", default_value = "64Mi")]
    pub memory_request: String,
    /// limits.cpu (`none`: no CPU limit).
    #[arg(long, value_name = "Q", default_value = "1")]
    pub cpu_limit: String,
    /// limits.memory.
    #[arg(long, value_name = "Q", default_value = "256Mi")]
    pub memory_limit: String,
    /// CHAINCODE_SHUTDOWN_GRACE, whole seconds; the pod's terminationGracePeriodSeconds is the drain delay plus this plus 10s.
    #[arg(long, value_name = "D", default_value = "20s")]
    pub shutdown_grace: GoDuration,
    /// CHAINCODE_DRAIN_DELAY, whole seconds: how long a terminating pod serves on while the Service stops sending it connections (0s: none).
    #[arg(long, value_name = "D", default_value = "5s")]
    pub drain_delay: GoDuration,
    /// Add a PodDisruptionBudget with this maxUnavailable.
    #[arg(long, value_name = "N")]
    pub max_unavailable: Option<i32>,
    /// The Kubernetes version to write for: 1.19 and 1.20 get policy/v1beta1 (default: 1.37; the output is valid from 1.21).
    #[arg(long, value_name = "1.N")]
    pub kubernetes: Option<String>,
    /// The cluster's DNS domain, for `NAME.NAMESPACE.svc.DOMAIN` addresses.
    #[arg(long, value_name = "DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,
    /// Print a JSON `List` instead of YAML.
    #[arg(long)]
    pub json: bool,
    /// Write to FILE (mode 0600 when it holds the Secret's key) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl K8sArgs {
    fn options(&self) -> Result<Options, Failure> {
        let tls = match (&self.tls_cert, &self.tls_key, &self.tls_secret) {
            (Some(cert), Some(key), secret) => Tls::Files {
                cert: cert.clone(),
                key: key.clone(),
                ca: self.tls_ca.clone(),
                secret: secret.clone(),
            },
            (None, _, Some(secret)) => Tls::Existing {
                secret: secret.clone(),
            },
            _ => Tls::Off,
        };
        let kubernetes = match &self.kubernetes {
            Some(text) => text.parse::<KubeVersion>()?,
            None => KubeVersion::default(),
        };
        let mut options = Options::new(&self.name, &self.package, &self.image);
        options.namespace = self.namespace.clone();
        options.port = self.port;
        options.replicas = self.replicas;
        options.peers = self.peers.clone();
        options.config = config_text(&self.peer_settings.config)?;
        options.tls_dir = tls_dir_arg(&self.peer_settings)?;
        options.tls = tls;
        options.resources = Resources {
            cpu_request: self.cpu_request.clone(),
            memory_request: self.memory_request.clone(),
            cpu_limit: Some(self.cpu_limit.clone()).filter(|l| l != "none"),
            memory_limit: self.memory_limit.clone(),
        };
        options.shutdown_grace = self.shutdown_grace;
        options.drain_delay = self.drain_delay;
        options.max_unavailable = self.max_unavailable;
        options.kubernetes = kubernetes;
        options.cluster_domain = self.cluster_domain.clone();
        options.limits = self.limits.limits();
        Ok(options)
    }
}

/// Renders the objects and writes them (YAML, or JSON with --json).
pub fn run(args: &K8sArgs) -> Result<ExitCode, Failure> {
    let manifests = match k8s::render(&args.options()?) {
        Ok(m) => m,
        Err(k8s::K8sError::Mismatches { path, mismatches }) => {
            let mut lines = vec![format!(
                "--package `{}` and the Kubernetes objects disagree ({}); nothing written:",
                path.display(),
                ccaas_core::report::count(mismatches.len() as u64, "mismatch", "mismatches")
            )];
            lines.extend(mismatches.iter().map(|m| format!("  {m}")));
            return Err(Failure(lines));
        }
        Err(e) => return Err(e.into()),
    };
    for warning in &manifests.warnings {
        say!("ccaas: warning: {warning}");
    }
    let text = if args.json {
        manifests.to_json()
    } else {
        manifests.to_yaml()
    };
    match &args.output {
        Some(path) => {
            let mode = if manifests.holds_private_key() { 0o600 } else { 0o644 };
            ccaas_core::fs::write_atomic(path, text.as_bytes(), mode)?;
            say!(
                "ccaas: wrote {} ({}) for package {}",
                path.display(),
                describe(&manifests),
                manifests.package_id
            );
            Ok(ExitCode::SUCCESS)
        }
        None if manifests.holds_private_key() && std::io::stdout().is_terminal() => {
            Err(Failure(vec![format!(
                "the output holds the private key of --tls-key `{}` (the Secret's `tls.key`), and standard output is a terminal: pipe it to `kubectl apply -f -`, or give -o FILE (written 0600)",
                args.tls_key.as_deref().unwrap_or_else(|| std::path::Path::new("")).display()
            )]))
        }
        // The one output not passed through `report::redact`: the Secret's
        // key is what it is for, and it goes to kubectl, not a terminal.
        None => super::write_stdout(text.as_bytes()),
    }
}

fn describe(manifests: &k8s::Manifests) -> String {
    manifests
        .objects
        .iter()
        .map(|o| format!("{} {}", o.kind(), o.name()))
        .collect::<Vec<_>>()
        .join(", ")
}
