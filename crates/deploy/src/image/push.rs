//! Pushing an [`Image`] to a registry with the OCI distribution API,
//! through `oci-client` (rustls with ring: no OpenSSL, so `ccaas` stays
//! one static binary).
//!
//! The blobs and the manifest are uploaded byte for byte as built, so the
//! digest printed before the push is the digest the registry stores.
//! Authentication is what registries do: anonymous, HTTP basic, or the
//! bearer-token flow (the registry answers `401` with a
//! `WWW-Authenticate: Bearer realm=...` challenge, and the client fetches a
//! token from the realm with the basic credentials, if any). TLS is
//! verified against the system roots, or only against a CA file; plain HTTP
//! is allowed only for a registry on a loopback address.

use super::{Image, ImageName};
use ccaas_core::fs::FsError;
use ccaas_core::pem::{self, PemError, PemKind};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How to log in to the registry.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum PushAuth {
    /// No credentials.
    #[default]
    Anonymous,
    /// A user and password: sent as HTTP basic, or to the token realm.
    Basic {
        /// The user.
        user: String,
        /// The password (never printed: `Debug` hides it).
        password: String,
    },
    /// A bearer token obtained elsewhere (never printed).
    Bearer(String),
}

impl fmt::Debug for PushAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushAuth::Anonymous => f.write_str("Anonymous"),
            PushAuth::Basic { user, .. } => write!(f, "Basic({user}, <password not shown>)"),
            PushAuth::Bearer(_) => f.write_str("Bearer(<token not shown>)"),
        }
    }
}

/// How to reach the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// Credentials.
    pub auth: PushAuth,
    /// Trust only the CA certificates in this PEM file (instead of the
    /// system's roots).
    pub ca_file: Option<PathBuf>,
    /// Speak plain HTTP: only for a registry at a loopback address
    /// (`127.0.0.1:PORT`, `[::1]:PORT`).
    pub plain_http: bool,
    /// Connect and read timeout; 30 s when `None`.
    pub timeout: Option<Duration>,
}

/// What was pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `REGISTRY/REPO@sha256:...`: what a manifest should pin.
    pub pinned: String,
    /// `REGISTRY/REPO:TAG`.
    pub tagged: String,
    /// The manifest digest.
    pub digest: String,
}

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The name has no registry.
    #[error("`--push` `{name}` names no registry; give REGISTRY/REPO:TAG, such as `registry.example.com/team/kv:1.0` (`docker.io/...` for Docker Hub)")]
    NoRegistry {
        /// The name given.
        name: String,
    },
    /// Plain HTTP to a registry that is not on a loopback address.
    #[error("`--plain-http` is allowed only for a registry at a loopback address (`127.0.0.1:PORT` or `[::1]:PORT`), not `{registry}`: use TLS, with `--registry-ca FILE` for a private CA")]
    PlainHttp {
        /// The registry.
        registry: String,
    },
    /// The CA file cannot be read.
    #[error("the file given with `--registry-ca`")]
    CaFile(#[source] FsError),
    /// The CA file holds no certificate.
    #[error("`--registry-ca` `{path}`")]
    CaPem {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: PemError,
    },
    /// The HTTP client could not be set up.
    #[error("cannot set up the registry client")]
    Client(#[source] OciDistributionError),
    /// The registry refused or failed a step.
    #[error("`{registry}`: {step} failed")]
    Registry {
        /// The registry.
        registry: String,
        /// Which step: `logging in`, `uploading blob sha256:...`,
        /// `uploading the manifest`.
        step: String,
        /// The registry's or the network's error.
        #[source]
        source: OciDistributionError,
    },
    /// The registry, or its token server, refused the credentials (`401`,
    /// `403`, or a token request that failed).
    #[error("`{registry}`: {step} was refused {who} ({fix})")]
    Refused {
        /// The registry.
        registry: String,
        /// Which step, as in [`PushError::Registry`].
        step: String,
        /// Whose credentials: `for user `ci``, `for the bearer token`,
        /// `without credentials`.
        who: String,
        /// What to check.
        fix: String,
        /// The registry's or the token server's answer (boxed: it is
        /// large).
        #[source]
        source: Box<OciDistributionError>,
    },
    /// The runtime for the blocking push could not start.
    #[error("cannot start the runtime for the push")]
    Runtime(#[source] std::io::Error),
}

/// Pushes `image` as `name` (which must name a registry) and returns the
/// pinned reference.
pub async fn push(
    image: &Image,
    name: &ImageName,
    options: &PushOptions,
) -> Result<Pushed, PushError> {
    let Some(registry) = name.registry.clone() else {
        return Err(PushError::NoRegistry {
            name: name.to_string(),
        });
    };
    if options.plain_http && !is_loopback(&registry) {
        return Err(PushError::PlainHttp { registry });
    }
    let mut tls_certs_only = Vec::new();
    if let Some(path) = &options.ca_file {
        let bytes = ccaas_core::fs::read_limited(path, ccaas_core::tls_files::MAX_TLS_FILE_BYTES)
            .map_err(PushError::CaFile)?;
        let text = String::from_utf8_lossy(&bytes);
        let blocks =
            pem::parse(&text, PemKind::Certificates).map_err(|source| PushError::CaPem {
                path: path.clone(),
                source,
            })?;
        tls_certs_only = blocks
            .into_iter()
            .map(|b| Certificate {
                encoding: CertificateEncoding::Der,
                data: b.der,
            })
            .collect();
    }
    // reqwest is built without a crypto provider of its own: ring, as the
    // rest of the workspace. An error means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let timeout = options.timeout.unwrap_or(Duration::from_secs(30));
    let config = ClientConfig {
        protocol: if options.plain_http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        tls_certs_only,
        connect_timeout: Some(timeout),
        read_timeout: Some(timeout),
        user_agent: concat!("ccaas/", env!("CARGO_PKG_VERSION")),
        // One upload at a time: the layers are few and the order is then
        // the same on every run.
        max_concurrent_upload: 1,
        ..ClientConfig::default()
    };
    let client = Client::try_from(config).map_err(PushError::Client)?;
    let reference =
        Reference::with_tag(registry.clone(), name.repository.clone(), name.tag.clone());
    let auth = match &options.auth {
        PushAuth::Anonymous => RegistryAuth::Anonymous,
        PushAuth::Basic { user, password } => RegistryAuth::Basic(user.clone(), password.clone()),
        PushAuth::Bearer(token) => RegistryAuth::Bearer(token.clone()),
    };
    let failed = |step: String| {
        let registry = registry.clone();
        let (auth, repository) = (&options.auth, &name.repository);
        move |source| {
            if !is_refusal(&source) {
                return PushError::Registry {
                    registry,
                    step,
                    source,
                };
            }
            let (who, fix) = match auth {
                PushAuth::Basic { user, .. } => (
                    format!("for user `{user}`"),
                    format!("check `--registry-user` and the password in `CCAAS_REGISTRY_PASSWORD` or given with `--registry-password-stdin`, and that the user may push to `{repository}`"),
                ),
                PushAuth::Bearer(_) => (
                    "for the bearer token".to_owned(),
                    format!("the token in `CCAAS_REGISTRY_TOKEN` may have expired, be for another registry or repository, or not grant push: get one for `repository:{repository}:pull,push`"),
                ),
                PushAuth::Anonymous => (
                    "without credentials".to_owned(),
                    "this registry wants a login: `--registry-user USER` with the password in `CCAAS_REGISTRY_PASSWORD`, or a token in `CCAAS_REGISTRY_TOKEN`".to_owned(),
                ),
            };
            PushError::Refused {
                registry,
                step,
                who,
                fix,
                source: Box::new(source),
            }
        }
    };
    client
        .auth(&reference, &auth, RegistryOperation::Push)
        .await
        .map_err(failed("logging in".into()))?;
    for blob in image
        .layers()
        .iter()
        .map(|l| &l.blob)
        .chain([image.config()])
    {
        let exists = client
            .blob_exists(&reference, &blob.digest)
            .await
            .unwrap_or(false);
        if !exists {
            client
                .push_blob(&reference, blob.bytes.clone(), &blob.digest)
                .await
                .map_err(failed(format!("uploading blob {}", blob.digest)))?;
        }
    }
    let content_type = http::HeaderValue::from_static(super::oci::MANIFEST);
    client
        .push_manifest_raw(&reference, image.manifest().bytes.clone(), content_type)
        .await
        .map_err(failed("uploading the manifest".into()))?;
    Ok(Pushed {
        pinned: name.pinned(image.digest()),
        tagged: name.to_string(),
        digest: image.digest().to_owned(),
    })
}

/// [`push`] on a runtime of its own, for callers without one.
pub fn push_blocking(
    image: &Image,
    name: &ImageName,
    options: &PushOptions,
) -> Result<Pushed, PushError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(PushError::Runtime)?
        .block_on(push(image, name, options))
}

/// Whether `error` is the registry, or its token server, refusing the
/// credentials rather than failing.
fn is_refusal(error: &OciDistributionError) -> bool {
    use oci_client::errors::OciErrorCode;
    match error {
        OciDistributionError::AuthenticationFailure(_)
        | OciDistributionError::UnauthorizedError { .. } => true,
        OciDistributionError::ServerError { code, .. } => matches!(code, 401 | 403),
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied)),
        _ => false,
    }
}

/// Whether `registry` (`HOST:PORT`) is a loopback IP address literal.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_literals() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("127.1.2.3:5000"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("localhost:5000"));
        assert!(!is_loopback("10.0.0.1:5000"));
        assert!(!is_loopback("registry.example.com"));
    }

    #[test]
    fn debug_hides_secrets() {
        let auth = PushAuth::Basic {
            user: "me".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
        assert!(!format!("{:?}", PushAuth::Bearer("s3cr3t".into())).contains("s3cr3t"));
    }
}
