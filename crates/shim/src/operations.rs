//! The operations endpoint: a second port, off by default, in the shapes
//! of the Fabric peer's operations service (`operations.listenAddress`),
//! for the people and programs that run the chaincode server:
//!
//! | path | method | answer |
//! |---|---|---|
//! | `/healthz` | GET | 200 `{"status":"OK","time":...}` while serving; 503 `{"status":"Service Unavailable","time":...,"failed_checks":[...]}` from the moment a shutdown starts |
//! | `/metrics` | GET | Prometheus text ([`crate::metrics`]) |
//! | `/version` | GET | `{"Version":...,"PackageID":...}` |
//! | `/logspec` | GET, PUT | `{"spec":"info"}`; PUT `{"spec":"debug"}` changes the log filter at once (204), 400 `{"error":...}` for a bad one |
//! | `/grpc.health.v1.Health/Check` | gRPC (h2c, or h2 over TLS) | the kubelet's gRPC probe: `SERVING`, `NOT_SERVING` while shutting down |
//!
//! HTTP/1.1 and HTTP/2 are both served on the port, plain or TLS. With
//! TLS and a client CA, as the peer does, a client certificate is checked
//! when one is given, and `/metrics` and `/logspec` answer 401 without a
//! valid one; `/healthz`, `/version` and the gRPC probe stay open, so the
//! kubelet (which presents none) can probe.
//!
//! ```
//! use ccaas_shim::operations::OperationsConfig;
//! let ops = OperationsConfig::new("127.0.0.1:9443".parse()?);
//! assert!(ops.tls.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::metrics::Metrics;
use crate::reload::ReloadingTls;
use crate::tls::{ClientAuth, TlsConfig};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tonic::body::Body;
use tower::Service;
use tracing::{debug, info, warn};

/// The gRPC health service's path prefix, answered on the operations port.
pub const GRPC_HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

/// The largest `PUT /logspec` body read.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Where and how the operations endpoint listens.
#[derive(Debug, Clone)]
pub struct OperationsConfig {
    /// Where to listen (`CHAINCODE_OPERATIONS_ADDRESS`).
    pub address: SocketAddr,
    /// TLS for it; with a client CA, `/metrics` and `/logspec` require a
    /// client certificate issued by it.
    pub tls: Option<TlsConfig>,
}

impl OperationsConfig {
    /// Plain HTTP on `address`.
    pub fn new(address: SocketAddr) -> Self {
        OperationsConfig { address, tls: None }
    }
}

/// Whether the server still serves, as `/healthz` reports it.
#[derive(Debug, Default)]
pub(crate) struct Health {
    draining: AtomicBool,
}

impl Health {
    /// A shutdown started: `/healthz` answers 503 from now on.
    pub(crate) fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

type GrpcHealth =
    tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>;

/// The operations endpoint, bound.
pub(crate) struct Bound {
    listener: TcpListener,
    local: SocketAddr,
    tls: Option<Arc<ReloadingTls>>,
    require_cert: bool,
}

impl Bound {
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

/// Loads the TLS material and binds the address.
pub(crate) async fn bind(
    config: &OperationsConfig,
    metrics: &Arc<Metrics>,
) -> Result<Bound, crate::server::ServerError> {
    let tls = match &config.tls {
        Some(tls) => Some(Arc::new(ReloadingTls::new(
            tls.clone(),
            ClientAuth::Optional,
            &[b"h2", b"http/1.1"],
            "operations",
            Some(Arc::clone(metrics)),
        )?)),
        None => None,
    };
    let bind_error = |source| crate::server::ServerError::Bind {
        address: config.address,
        source,
    };
    let listener = TcpListener::bind(config.address)
        .await
        .map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok(Bound {
        listener,
        local,
        tls,
        require_cert: config.tls.as_ref().is_some_and(TlsConfig::is_mutual),
    })
}

/// What every request handler shares.
struct Context {
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    grpc: GrpcHealth,
    package_id: String,
    require_cert: bool,
}

/// Serves the endpoint until the task is dropped (connections with it).
pub(crate) async fn serve(
    bound: Bound,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    grpc: GrpcHealth,
    package_id: String,
    handshake_timeout: Duration,
) {
    let Bound {
        listener,
        local,
        tls,
        require_cert,
    } = bound;
    info!(
        address = %local,
        tls = match (&tls, require_cert) { (None, _) => "off", (Some(_), true) => "mutual", (Some(_), false) => "on" },
        "operations endpoint listening"
    );
    let context = Arc::new(Context {
        health,
        metrics,
        grpc,
        package_id,
        require_cert,
    });
    // Dropped with this task: every connection ends with it.
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (socket, remote) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                warn!("the operations endpoint could not accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let context = Arc::clone(&context);
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                None => connection(TokioIo::new(socket), context, false).await,
                Some(tls) => {
                    if let Some(stream) = tls.accept(socket, remote, handshake_timeout).await {
                        let verified = stream.get_ref().1.peer_certificates().is_some();
                        connection(TokioIo::new(stream), context, verified).await;
                    }
                }
            }
        });
    }
}

async fn connection<I>(io: TokioIo<I>, context: Arc<Context>, verified: bool)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let context = Arc::clone(&context);
        async move { Ok::<_, Infallible>(route(request, &context, verified).await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    if let Err(e) = builder.serve_connection(io, service).await {
        debug!("an operations connection ended: {e}");
    }
}

async fn route(request: Request<Incoming>, context: &Context, verified: bool) -> Response<Body> {
    let path = request.uri().path().to_owned();
    if path.starts_with(GRPC_HEALTH_PREFIX) {
        let mut grpc = context.grpc.clone();
        return match grpc.call(request.map(Body::new)).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    let method = request.method().clone();
    debug!(%method, path, "operations request");
    let secure = matches!(path.as_str(), "/metrics" | "/logspec");
    if secure && context.require_cert && !verified {
        warn!(%method, path, "an operations request without a valid client certificate: answering 401");
        return json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({"error": "a client certificate issued by CHAINCODE_OPERATIONS_CLIENT_CA_CERT is required"}),
        );
    }
    match path.as_str() {
        "/healthz" => healthz(&method, context),
        "/metrics" => metrics(&method, context),
        "/version" => version(&method, context),
        "/logspec" => logspec(request).await,
        _ => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": format!("no such endpoint `{path}`: expected /healthz, /metrics, /version or /logspec")}),
        ),
    }
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut text = value.to_string();
    text.push('\n');
    respond(status, "application/json", text)
}

fn respond(status: StatusCode, content_type: &'static str, text: String) -> Response<Body> {
    let mut response = Response::new(Body::new(Full::new(Bytes::from(text))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

fn invalid_method(method: &Method, key: &str) -> Response<Body> {
    json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({ key: format!("invalid request method: {method}") }),
    )
}

/// The peer's `healthz` shape.
fn healthz(method: &Method, context: &Context) -> Response<Body> {
    if method != Method::GET {
        return respond(StatusCode::METHOD_NOT_ALLOWED, "text/plain", String::new());
    }
    let time = now();
    if context.health.draining() {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({
                "status": "Service Unavailable",
                "time": time,
                "failed_checks": [{
                    "component": "chaincode-server",
                    "reason": "shutting down: no new streams; transactions in flight may finish",
                }],
            }),
        )
    } else {
        json(
            StatusCode::OK,
            &serde_json::json!({"status": "OK", "time": time}),
        )
    }
}

fn metrics(method: &Method, context: &Context) -> Response<Body> {
    if method != Method::GET {
        return invalid_method(method, "error");
    }
    respond(
        StatusCode::OK,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        context.metrics.encode(),
    )
}

fn version(method: &Method, context: &Context) -> Response<Body> {
    if method != Method::GET {
        return invalid_method(method, "Error");
    }
    json(
        StatusCode::OK,
        &serde_json::json!({
            "Version": env!("CARGO_PKG_VERSION"),
            "PackageID": context.package_id,
        }),
    )
}

#[derive(serde::Deserialize)]
struct LogSpec {
    #[serde(default)]
    spec: String,
}

async fn logspec(request: Request<Incoming>) -> Response<Body> {
    let bad = |text: String| {
        json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({ "error": text }),
        )
    };
    match *request.method() {
        Method::GET => match log_spec() {
            Ok(spec) => json(StatusCode::OK, &serde_json::json!({ "spec": spec })),
            Err(e) => bad(e),
        },
        Method::PUT => {
            let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
            {
                Ok(body) => body.to_bytes(),
                Err(e) => {
                    return bad(format!(
                        "cannot read the request body (at most {MAX_BODY_BYTES} bytes): {e}"
                    ))
                }
            };
            let spec: LogSpec = match serde_json::from_slice(&body) {
                Ok(spec) => spec,
                Err(e) => {
                    return bad(format!(
                        "expected a JSON object such as {{\"spec\":\"debug\"}}: {e}"
                    ))
                }
            };
            match set_log_spec(&spec.spec) {
                Ok(()) => respond(StatusCode::NO_CONTENT, "application/json", String::new()),
                Err(e) => bad(e),
            }
        }
        ref other => invalid_method(other, "error"),
    }
}

#[cfg(feature = "logging")]
fn log_spec() -> Result<String, String> {
    crate::logging::spec().ok_or_else(|| crate::logging::LogSpecError::NotManaged.to_string())
}

#[cfg(feature = "logging")]
fn set_log_spec(spec: &str) -> Result<(), String> {
    crate::logging::set_spec(spec).map_err(|e| e.to_string())
}

#[cfg(not(feature = "logging"))]
const NO_LOGGING: &str =
    "ccaas-shim is built without its `logging` feature: the log filter cannot be changed here";

#[cfg(not(feature = "logging"))]
fn log_spec() -> Result<String, String> {
    Err(NO_LOGGING.to_owned())
}

#[cfg(not(feature = "logging"))]
fn set_log_spec(_spec: &str) -> Result<(), String> {
    Err(NO_LOGGING.to_owned())
}

fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(
        i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        since.subsec_nanos(),
    )
}

/// RFC 3339 in UTC as Go's `time.Time` marshals it; core's, re-exported
/// for the operations endpoint's users.
pub use ccaas_core::time::rfc3339;
