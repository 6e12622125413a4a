//! [`ChaincodeServer`]: the gRPC server a peer dials, `protos.Chaincode/Connect`
//! and `grpc.health.v1.Health` on one port, plain or TLS.

use crate::accept::{self, Accepted, Slots};
use crate::chaincode::Chaincode;
use crate::env::EnvError;
use crate::metrics::Metrics;
use crate::operations::{self, Health, OperationsConfig};
use crate::reload::ReloadingTls;
use crate::stream::{self, Lifecycle, StreamConfig, StreamEnd};
use crate::tls::{ClientAuth, TlsConfig, TlsError};
use ccaas_proto::grpc::{ConnectHandler, ConnectServer};
use ccaas_proto::{ChaincodeMessage, PEER_MAX_MESSAGE_BYTES};
use futures_util::StreamExt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tonic::{Request, Status, Streaming};
use tracing::{debug, info, warn, Instrument};

/// The default time transactions in flight get to finish at shutdown:
/// 20 s, inside Kubernetes' default `terminationGracePeriodSeconds` (30 s),
/// so that the server has ended every stream itself before the kubelet's
/// SIGKILL. Set `terminationGracePeriodSeconds` to the grace + 10 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
pub use ccaas_proto::{PEER_KEEPALIVE_INTERVAL, PEER_KEEPALIVE_TIMEOUT};

/// The default time from accept until the client's HTTP/2 preface and
/// first SETTINGS (the TLS handshake included). A peer on a slow network
/// needs a few round trips of it.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default bound on connections held at once. A peer holds one per
/// chaincode it launched; health probes one each, briefly: a real
/// deployment holds a handful, so the bound is there for the fds a flood
/// would take.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The default `SETTINGS_MAX_CONCURRENT_STREAMS`. A peer opens one
/// Connect stream per connection (it dials anew for each chaincode
/// launch) and a health probe one stream on its own connection; 16 leaves
/// room for a proxy that multiplexes several peers and probes onto one
/// connection (it opens another past the limit, as HTTP/2 asks), while one
/// connection can no longer open thousands of streams at once.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 16;

/// The default bound on streams the server resets on one connection
/// because the client broke the protocol on them (h2's own default is
/// 1024, which tonic turns off). A peer never provokes one.
pub const DEFAULT_MAX_LOCAL_ERROR_RESETS: usize = 100;

/// Streams a client may open and reset before the server has even taken
/// them (rapid reset, CVE-2023-44487) before GOAWAY: h2's default, set
/// here so that it shows.
pub const MAX_PENDING_ACCEPT_RESETS: usize = 20;

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The environment is not a usable configuration.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The TLS material is not usable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The address could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// SIGTERM/SIGINT could not be listened for.
    #[error("cannot listen for SIGTERM and SIGINT")]
    Signal(#[source] std::io::Error),
    /// The gRPC server failed.
    #[error("the gRPC server failed")]
    Transport(#[source] tonic::transport::Error),
}

/// Everything a [`ChaincodeServer`] needs, with the peer's defaults.
///
/// ```
/// use ccaas_shim::ServerConfig;
/// let config = ServerConfig::new(
///     "kv_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
///     "127.0.0.1:9999".parse()?,
/// );
/// assert_eq!(config.max_recv_message_bytes, 100 * 1024 * 1024);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The package ID to register with (`label:sha256`).
    pub package_id: String,
    /// Where to listen.
    pub address: SocketAddr,
    /// TLS; `None` for plain gRPC.
    pub tls: Option<TlsConfig>,
    /// Largest message taken from the peer (default: the peer's 100 MiB).
    pub max_recv_message_bytes: usize,
    /// Largest message sent to the peer (default: the peer's 100 MiB).
    pub max_send_message_bytes: usize,
    /// Transactions running at once, across every peer's stream (for
    /// memory).
    pub max_concurrent_transactions: usize,
    /// Transactions running at once on one stream: its fair share, so that
    /// one peer (or a stranger) cannot take every other stream's turn.
    pub max_transactions_per_stream: usize,
    /// Deadline of each request to the peer.
    pub request_timeout: Duration,
    /// When to warn that the peer has not answered REGISTER.
    pub registration_warning: Duration,
    /// How long transactions in flight may finish at shutdown.
    pub shutdown_grace: Duration,
    /// How long to go on serving after SIGTERM, with the health checks
    /// already failing, before the port closes and the grace begins.
    /// Kubernetes takes a terminating pod out of a Service's endpoints
    /// while it stops, not before: in that window kube-proxy still sends
    /// new connections to it, and a closed port refuses them. Zero (the
    /// default) closes the port at once, as a process run by hand wants.
    pub drain_delay: Duration,
    /// How often to ping a peer whose connection is quiet (dead peer detection).
    pub keepalive_interval: Duration,
    /// How long a ping may go unanswered before the connection is dropped.
    pub keepalive_timeout: Duration,
    /// How long a new connection may take to start HTTP/2: from accept,
    /// through the TLS handshake, until the client's preface and first
    /// SETTINGS frame have arrived. A connection that is silent longer is
    /// closed.
    pub handshake_timeout: Duration,
    /// Connections held at once, from accept on (fds). Past it, new
    /// connections are closed at once, with a rate-limited WARN line.
    pub max_connections: usize,
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`: streams one connection may have
    /// open at once. Streams beyond it are refused (`REFUSED_STREAM`).
    pub max_concurrent_streams: u32,
    /// Streams the server may reset on one connection because the client
    /// broke the protocol on them (MadeYouReset, CVE-2025-8671) before it
    /// closes the connection with GOAWAY `ENHANCE_YOUR_CALM`.
    pub max_local_error_resets: usize,
    /// The operations endpoint (`/healthz`, `/metrics`, ...); `None`, the
    /// default, for none.
    pub operations: Option<OperationsConfig>,
}

impl ServerConfig {
    /// The defaults, for `package_id` on `address`, without TLS.
    pub fn new(package_id: impl Into<String>, address: SocketAddr) -> Self {
        ServerConfig {
            package_id: package_id.into(),
            address,
            tls: None,
            max_recv_message_bytes: PEER_MAX_MESSAGE_BYTES,
            max_send_message_bytes: PEER_MAX_MESSAGE_BYTES,
            max_concurrent_transactions: stream::DEFAULT_MAX_CONCURRENT_TRANSACTIONS,
            request_timeout: stream::DEFAULT_REQUEST_TIMEOUT,
            registration_warning: stream::DEFAULT_REGISTRATION_WARNING,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            drain_delay: Duration::ZERO,
            keepalive_interval: PEER_KEEPALIVE_INTERVAL,
            keepalive_timeout: PEER_KEEPALIVE_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_transactions_per_stream: stream::DEFAULT_MAX_TRANSACTIONS_PER_STREAM,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_local_error_resets: DEFAULT_MAX_LOCAL_ERROR_RESETS,
            operations: None,
        }
    }

    /// The configuration the environment gives; see [`crate::env`] for
    /// every variable.
    pub fn from_env() -> Result<Self, EnvError> {
        crate::env::from_lookup(|name| std::env::var_os(name))
    }

    /// The configuration `lookup` gives, as [`ServerConfig::from_env`] reads
    /// the environment (for tests and for settings from elsewhere).
    pub fn from_vars(
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, EnvError> {
        crate::env::from_lookup(lookup)
    }

    fn stream_config(&self, metrics: Option<Arc<Metrics>>) -> StreamConfig {
        let mut config = StreamConfig::new(self.package_id.clone());
        config.request_timeout = self.request_timeout;
        config.registration_warning = self.registration_warning;
        config.max_concurrent_transactions = self.max_concurrent_transactions;
        config.max_transactions_per_stream = self.max_transactions_per_stream;
        config.max_recv_message_bytes = self.max_recv_message_bytes;
        config.metrics = metrics;
        config
    }
}

/// A chaincode served to peers.
///
/// ```no_run
/// use ccaas_shim::{Chaincode, ChaincodeServer, Response, Stub};
///
/// struct Ping;
/// impl Chaincode for Ping {
///     async fn invoke(&self, _stub: &Stub) -> Response {
///         Response::success("pong")
///     }
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     // CHAINCODE_ID, CHAINCODE_SERVER_ADDRESS, TLS files...: see `ccaas_shim::env`.
///     ChaincodeServer::from_env(Ping)?.serve().await?;
///     Ok(())
/// }
/// ```
pub struct ChaincodeServer<C> {
    chaincode: Arc<C>,
    config: ServerConfig,
}

impl<C: Chaincode> ChaincodeServer<C> {
    /// Serves `chaincode` with `config`.
    pub fn new(config: ServerConfig, chaincode: C) -> Self {
        ChaincodeServer {
            chaincode: Arc::new(chaincode),
            config,
        }
    }

    /// Serves `chaincode` as the environment says ([`ServerConfig::from_env`]).
    pub fn from_env(chaincode: C) -> Result<Self, ServerError> {
        Ok(Self::new(ServerConfig::from_env()?, chaincode))
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The configuration, to change.
    pub fn config_mut(&mut self) -> &mut ServerConfig {
        &mut self.config
    }

    /// Loads the TLS material and binds the address: every configuration
    /// error shows here, before any peer dials.
    pub async fn bind(self) -> Result<BoundServer<C>, ServerError> {
        let metrics = self
            .config
            .operations
            .as_ref()
            .map(|_| Arc::new(Metrics::new()));
        let tls = match &self.config.tls {
            Some(tls) => Some(Arc::new(ReloadingTls::new(
                tls.clone(),
                ClientAuth::Required,
                &[b"h2"],
                "chaincode",
                metrics.clone(),
            )?)),
            None => None,
        };
        let operations = match (&self.config.operations, &metrics) {
            (Some(ops), Some(metrics)) => Some(operations::bind(ops, metrics).await?),
            _ => None,
        };
        let listener = accept::listen(self.config.address).map_err(|source| ServerError::Bind {
            address: self.config.address,
            source,
        })?;
        let local = listener.local_addr().map_err(|source| ServerError::Bind {
            address: self.config.address,
            source,
        })?;
        Ok(BoundServer {
            chaincode: self.chaincode,
            config: self.config,
            listener,
            local,
            tls,
            operations: operations.zip(metrics),
        })
    }

    /// Serves until SIGTERM or SIGINT, then stops gracefully.
    pub async fn serve(self) -> Result<(), ServerError> {
        self.bind().await?.serve().await
    }

    /// Serves until `signal` completes, then stops gracefully.
    pub async fn serve_with_shutdown(
        self,
        signal: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        self.bind().await?.serve_with_shutdown(signal).await
    }
}

/// A server whose address is bound and whose TLS material is loaded.
pub struct BoundServer<C> {
    chaincode: Arc<C>,
    config: ServerConfig,
    listener: TcpListener,
    local: SocketAddr,
    tls: Option<Arc<ReloadingTls>>,
    operations: Option<(operations::Bound, Arc<Metrics>)>,
}

impl<C: Chaincode> BoundServer<C> {
    /// The address bound (with the port chosen when the configuration said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The operations endpoint's address, when there is one.
    pub fn operations_addr(&self) -> Option<SocketAddr> {
        self.operations
            .as_ref()
            .map(|(bound, _)| bound.local_addr())
    }

    /// Serves until SIGTERM or SIGINT, then stops gracefully.
    pub async fn serve(self) -> Result<(), ServerError> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(ServerError::Signal)?;
        let mut int = signal(SignalKind::interrupt()).map_err(ServerError::Signal)?;
        self.serve_with_shutdown(async move {
            tokio::select! {
                _ = term.recv() => info!("SIGTERM received"),
                _ = int.recv() => info!("SIGINT received"),
            }
        })
        .await
    }

    /// Serves until `signal` completes. Then its health checks fail; after
    /// the `drain_delay` it stops accepting streams, answers new
    /// transactions ERROR, lets the ones in flight finish within
    /// the grace period, closes every stream and returns `Ok`.
    pub async fn serve_with_shutdown(
        self,
        signal: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        let BoundServer {
            chaincode,
            config,
            listener,
            local,
            tls,
            operations,
        } = self;
        let (shutdown_tx, shutdown_rx) = watch::channel(Lifecycle::Serving);
        let metrics = operations.as_ref().map(|(_, m)| Arc::clone(m));
        let handler = Arc::new(StreamHandler {
            chaincode,
            config: config.stream_config(metrics),
            limiter: Arc::new(Semaphore::new(config.max_concurrent_transactions.max(1))),
            shutdown: shutdown_rx.clone(),
        });
        // One reporter for both ports: the chaincode port's health service
        // and the operations port's gRPC probe say the same.
        let health = tonic_health::server::HealthReporter::new();
        let health_service = tonic_health::pb::health_server::HealthServer::new(
            tonic_health::server::HealthService::from_health_reporter(health.clone()),
        );
        health
            .set_serving::<ConnectServer<StreamHandler<C>>>()
            .await;
        let connect = ConnectServer::new(handler)
            .max_decoding_message_size(config.max_recv_message_bytes)
            .max_encoding_message_size(config.max_send_message_bytes);
        let health_state = Arc::new(Health::default());
        let _operations = operations.map(|(bound, metrics)| {
            AbortOnDrop(tokio::spawn(operations::serve(
                bound,
                Arc::clone(&health_state),
                metrics,
                health_service.clone(),
                config.package_id.clone(),
                config.handshake_timeout,
            )))
        });
        let router = http2_settings(tonic::transport::Server::builder(), &config)
            .add_service(health_service)
            .add_service(connect);

        let (connections_tx, connections_rx) = mpsc::channel(64);
        let accept = tokio::spawn(accept_loop(
            listener,
            tls.clone(),
            config.handshake_timeout,
            Slots::new(config.max_connections),
            connections_tx,
        ));
        let accepting = AbortOnDrop(accept);
        let incoming = tokio_stream::wrappers::ReceiverStream::new(connections_rx);

        let mut tonic_stop = shutdown_rx.clone();
        let serving = router.serve_with_incoming_shutdown(incoming, async move {
            let _ = tonic_stop
                .wait_for(|state| *state >= Lifecycle::Draining)
                .await;
        });
        tokio::pin!(serving);
        tokio::pin!(signal);
        info!(
            address = %local,
            package_id = %config.package_id,
            tls = match &config.tls { None => "off", Some(t) if t.is_mutual() => "mutual", Some(_) => "on" },
            "chaincode server listening"
        );
        tokio::select! {
            result = &mut serving => return result.map_err(ServerError::Transport),
            () = &mut signal => {}
        }
        // First of all: load balancers and the kubelet stop sending peers.
        health_state.drain();
        health
            .set_not_serving::<ConnectServer<StreamHandler<C>>>()
            .await;
        health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        // Until the Service has stopped sending connections here, refusing
        // them would fail a peer's launch: serve on, health checks failing.
        if !config.drain_delay.is_zero() {
            info!(delay = ?config.drain_delay, "draining: still serving while load balancers stop sending connections here");
            tokio::select! {
                result = &mut serving => return result.map_err(ServerError::Transport),
                () = tokio::time::sleep(config.drain_delay) => {}
            }
        }
        // Streams learn before the line below, so that no transaction is
        // started after it says none will be; the port closes at once.
        let _ = shutdown_tx.send(Lifecycle::Draining);
        drop(accepting);
        info!(grace = ?config.shutdown_grace, "shutting down: no new streams; transactions in flight may finish");
        match tokio::time::timeout(config.shutdown_grace, &mut serving).await {
            Ok(result) => result.map_err(ServerError::Transport)?,
            Err(_) => {
                warn!(grace = ?config.shutdown_grace, "the grace period is over: stopping with transactions still running");
                // Every stream ends now and abandons its transactions, so
                // nothing of this server outlives the call.
                let _ = shutdown_tx.send(Lifecycle::Stopping);
            }
        }
        info!("chaincode server stopped");
        Ok(())
    }
}

/// The HTTP/2 settings of the server a [`ChaincodeServer`] runs: the
/// peer's keepalive, the streams one connection may open
/// (`SETTINGS_MAX_CONCURRENT_STREAMS`), and the resets one connection may
/// cause before GOAWAY (tonic turns h2's own bounds off). Public so that a
/// floor measurement (the `echo` example) runs the same stack.
pub fn http2_settings(
    builder: tonic::transport::Server,
    config: &ServerConfig,
) -> tonic::transport::Server {
    builder
        .http2_keepalive_interval(Some(config.keepalive_interval))
        .http2_keepalive_timeout(Some(config.keepalive_timeout))
        .max_concurrent_streams(config.max_concurrent_streams.max(1))
        .http2_max_local_error_reset_streams(Some(config.max_local_error_resets))
        .http2_max_pending_accept_reset_streams(Some(MAX_PENDING_ACCEPT_RESETS))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Accepts connections and hands them to tonic once HTTP/2 has started:
/// one deadline, `handshake_timeout`, from accept through the TLS
/// handshake to the client's preface and first SETTINGS; at most
/// `slots` connections held at once.
async fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<ReloadingTls>>,
    handshake_timeout: Duration,
    slots: Slots,
    connections: mpsc::Sender<Result<accept::Conn, std::io::Error>>,
) {
    loop {
        let (socket, remote) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                // EMFILE and friends: wait a little instead of spinning.
                warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = slots.take(remote) else {
            // Closed at once: the client sees its connection end instead
            // of waiting in the backlog.
            drop(socket);
            continue;
        };
        let _ = socket.set_nodelay(true);
        let connections = connections.clone();
        let tls = tls.clone();
        let deadline = tokio::time::Instant::now() + handshake_timeout;
        tokio::spawn(async move {
            let mut stream = match tls {
                None => Accepted::Plain(socket),
                // Bounded by the same deadline; logs its failures (a TCP
                // probe that closes before its ClientHello at debug only).
                Some(tls) => match tls.accept(socket, remote, handshake_timeout).await {
                    Some(stream) => Accepted::Tls(Box::new(stream)),
                    None => return,
                },
            };
            match tokio::time::timeout_at(deadline, accept::first_frames(&mut stream)).await {
                Ok(Ok(read)) => {
                    let _ = connections
                        .send(Ok(accept::Conn::new(stream, read, slot)))
                        .await;
                }
                Ok(Err(e)) => {
                    debug!(peer = %remote, "closed a connection: {e}");
                    if !matches!(e, accept::PrefaceError::Io(_)) {
                        let _ =
                            tokio::time::timeout_at(deadline, accept::refuse(&mut stream)).await;
                    }
                }
                Err(_) => debug!(
                    peer = %remote,
                    "closed a connection that did not start HTTP/2 within {handshake_timeout:?}"
                ),
            }
        });
    }
}

/// Serves each peer's Connect call: one [`stream::run`] per stream.
struct StreamHandler<C> {
    chaincode: Arc<C>,
    config: StreamConfig,
    limiter: Arc<Semaphore>,
    shutdown: watch::Receiver<Lifecycle>,
}

type Outbound = Pin<Box<dyn futures_core::Stream<Item = Result<ChaincodeMessage, Status>> + Send>>;

impl<C: Chaincode> ConnectHandler for StreamHandler<C> {
    type Outbound = Outbound;

    async fn connect(
        &self,
        request: Request<Streaming<ChaincodeMessage>>,
    ) -> Result<tonic::Response<Outbound>, Status> {
        let peer = request
            .remote_addr()
            .map_or_else(|| "unknown".to_owned(), |a| a.to_string());
        let inbound = request.into_inner();
        let (out, outbound) = mpsc::channel(1024);
        let span = tracing::info_span!("stream", peer = %peer);
        // A flood of streams writes a few lines a second, not one each.
        span.in_scope(|| match crate::limits::STREAM_LINES.take() {
            Some(0) => info!("a peer opened a stream"),
            Some(left_out) => info!(
                left_out,
                "a peer opened a stream ({left_out} lines about streams left out before this one: too many at once)"
            ),
            None => {}
        });
        let (end_tx, end_rx) = oneshot::channel();
        let run = stream::run(
            Arc::clone(&self.chaincode),
            self.config.clone(),
            Arc::clone(&self.limiter),
            inbound,
            out,
            self.shutdown.clone(),
        );
        tokio::spawn(
            async move {
                let _ = end_tx.send(run.await);
            }
            .instrument(span),
        );
        // How the stream ended decides its status: OK, or what the peer
        // must be told (a message past the limit).
        let status = futures_util::stream::once(end_rx).filter_map(|end| {
            std::future::ready(match end {
                Ok(StreamEnd::MessageTooLarge { size, limit }) => {
                    Some(Err(crate::limits::too_large_status(size, limit)))
                }
                _ => None,
            })
        });
        let outbound = tokio_stream::wrappers::ReceiverStream::new(outbound)
            .map(Ok)
            .chain(status);
        Ok(tonic::Response::new(Box::pin(outbound)))
    }
}
