//! TLS material that follows its files: certificates rotated in place by
//! cert-manager or a Kubernetes Secret volume (an atomic swap of the
//! `..data` symlink) are used by the next handshake, with no restart.
//!
//! Every handshake first reads the ClientHello ([`LazyConfigAcceptor`]),
//! then asks [`ReloadingTls::current`] for the configuration to answer
//! with. That call stats the key, certificate and client CA files (their
//! target, through symlinks: device, inode, size, modification time;
//! a few microseconds) and, when one changed, builds a whole new
//! `rustls::ServerConfig` with the same checks as at start (the key must
//! match the certificate, the CA must parse). A new configuration replaces
//! the old one for the handshakes that follow; connections already
//! established keep theirs. A configuration that fails is logged once per
//! change (which file, why) and the previous one stays in use, so a
//! half-written rotation costs nothing; the next change of the files is
//! tried again.
//!
//! Why a whole configuration and not a `ResolvesServerCert` beside a
//! reloadable client verifier: the key, the certificate and the CA are
//! then checked together and swapped together, and a verifier never has to
//! lend out the CA names of a configuration that may be replaced.

use crate::metrics::Metrics;
use crate::tls::{CertificateFacts, ClientAuth, PemSource, TlsConfig, TlsError};
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;
use tracing::{debug, info, warn};

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<SystemTime>,
}

/// The identities of the files a configuration was built from (`None`:
/// in memory, or unreadable).
type Stamp = Vec<Option<FileId>>;

struct State {
    config: Arc<rustls::ServerConfig>,
    /// The files' identities when `config` was built.
    stamp: Stamp,
    /// The identities of the last failed attempt, logged already.
    failed: Option<Stamp>,
}

/// A listener's TLS, reloaded when its files change.
pub(crate) struct ReloadingTls {
    tls: TlsConfig,
    client_auth: ClientAuth,
    alpn: &'static [&'static [u8]],
    /// `chaincode` or `operations`: in logs and the expiry metric.
    listener: &'static str,
    metrics: Option<Arc<Metrics>>,
    state: Mutex<State>,
}

impl ReloadingTls {
    /// Loads `tls` (every error here stops the start, as before).
    pub(crate) fn new(
        tls: TlsConfig,
        client_auth: ClientAuth,
        alpn: &'static [&'static [u8]],
        listener: &'static str,
        metrics: Option<Arc<Metrics>>,
    ) -> Result<Self, TlsError> {
        let stamp = stamp(&tls);
        let config = Arc::new(tls.build(client_auth, alpn)?);
        let facts = tls.certificate_facts()?;
        let reloading = ReloadingTls {
            tls,
            client_auth,
            alpn,
            listener,
            metrics,
            state: Mutex::new(State {
                config,
                stamp,
                failed: None,
            }),
        };
        reloading.announce(&facts, "TLS certificate in use");
        Ok(reloading)
    }

    fn announce(&self, facts: &CertificateFacts, what: &'static str) {
        info!(
            listener = self.listener,
            subject = %facts.subject,
            serial = %facts.serial,
            not_after = %facts.not_after_text,
            file = %self.tls.cert.name(),
            "{what}"
        );
        if let Some(metrics) = &self.metrics {
            metrics.certificate(
                self.listener,
                &facts.subject,
                &facts.serial,
                facts.not_after,
            );
        }
    }

    /// The configuration for the next handshake: rebuilt first when a
    /// file changed and the new material is good.
    pub(crate) fn current(&self) -> Arc<rustls::ServerConfig> {
        let now = stamp(&self.tls);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if now == state.stamp || state.failed.as_ref() == Some(&now) {
            return Arc::clone(&state.config);
        }
        let built = self
            .tls
            .build(self.client_auth, self.alpn)
            .and_then(|config| Ok((config, self.tls.certificate_facts()?)));
        match built {
            Ok((config, facts)) => {
                state.config = Arc::new(config);
                state.stamp = now;
                state.failed = None;
                self.announce(
                    &facts,
                    "TLS material changed on disk: new handshakes use it",
                );
            }
            Err(e) => {
                warn!(
                    listener = self.listener,
                    reason = %ccaas_core::report::chain(&e),
                    "TLS material changed on disk but cannot be used: keeping the previous material"
                );
                state.failed = Some(now);
            }
        }
        Arc::clone(&state.config)
    }

    /// A TLS handshake on `socket`, within `timeout`. A connection that
    /// closes before its ClientHello (a TCP probe, a port check) is logged
    /// at debug; a handshake that fails, at WARN with the reason and the
    /// peer's address.
    pub(crate) async fn accept(
        &self,
        socket: TcpStream,
        remote: SocketAddr,
        timeout: Duration,
    ) -> Option<TlsStream<TcpStream>> {
        let handshake = async {
            let start = match LazyConfigAcceptor::new(rustls::server::Acceptor::default(), socket)
                .await
            {
                Ok(start) => start,
                Err(e) if closed_before_hello(&e) => {
                    debug!(listener = self.listener, peer = %remote, reason = %e,
                            "a connection closed before its TLS ClientHello (a TCP probe or port check)");
                    return None;
                }
                Err(e) => {
                    warn!(listener = self.listener, peer = %remote, reason = %e, "TLS handshake failed");
                    return None;
                }
            };
            match start.into_stream(self.current()).await {
                Ok(stream) => Some(stream),
                Err(e) => {
                    warn!(listener = self.listener, peer = %remote, reason = %e, "TLS handshake failed");
                    None
                }
            }
        };
        match tokio::time::timeout(timeout, handshake).await {
            Ok(stream) => stream,
            Err(_) => {
                warn!(listener = self.listener, peer = %remote, "TLS handshake did not finish within {timeout:?}");
                None
            }
        }
    }
}

/// An end of the connection before a whole ClientHello: what a TCP probe
/// does (a close, or a reset).
fn closed_before_hello(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe
    )
}

fn stamp(tls: &TlsConfig) -> Stamp {
    let mut sources = vec![&tls.cert, &tls.key];
    sources.extend(tls.client_ca.as_ref());
    sources.into_iter().map(file_id).collect()
}

fn file_id(source: &PemSource) -> Option<FileId> {
    match source {
        PemSource::Memory { .. } => None,
        PemSource::File(path) => std::fs::metadata(path).ok().map(|m| FileId {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            modified: m.modified().ok(),
        }),
    }
}
