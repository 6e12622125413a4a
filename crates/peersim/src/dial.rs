//! Dialling a chaincode server the way the peer's Go client does: a TCP
//! connection bounded by the dial timeout, TLS 1.2+ verified against
//! `root_cert` with ALPN `h2`, an optional client certificate, then HTTP/2
//! with the peer's keepalive and `protos.Chaincode/Connect`.
//!
//! Host names are never resolved: an address whose host is not an IP
//! literal needs [`DialOptions::connect_to`].

use crate::transport::Transport;
use ccaas_core::{Address, Connection, TlsMode};
use ccaas_proto::PEER_MAX_MESSAGE_BYTES;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;

pub use ccaas_proto::{PEER_KEEPALIVE_INTERVAL, PEER_KEEPALIVE_TIMEOUT};

/// How to dial, beyond what `connection.json` says.
#[derive(Debug, Clone)]
pub struct DialOptions {
    /// The socket address to dial when the address host is a name (we never
    /// resolve names). When set it is dialled even for an IP literal; TLS
    /// still checks the name from the address (or `domain`).
    pub connect_to: Option<SocketAddr>,
    /// Overrides the TLS server name checked (otherwise the address host,
    /// or `domain` with client auth, as the peer does).
    pub server_name: Option<String>,
    /// Refuse a TLS server that does not negotiate ALPN `h2`, as peers built
    /// with grpc-go 1.67+ (Fabric v2.5.12+ and v3.1+, by their `go.mod`)
    /// do. Default: true.
    pub require_alpn_h2: bool,
    /// The largest message either way. Default: the peer's 100 MiB.
    pub max_message_bytes: usize,
    /// HTTP/2 ping interval. Default: 60 s.
    pub keepalive_interval: Duration,
    /// HTTP/2 ping timeout. Default: 20 s.
    pub keepalive_timeout: Duration,
}

impl Default for DialOptions {
    fn default() -> Self {
        DialOptions {
            connect_to: None,
            server_name: None,
            require_alpn_h2: true,
            max_message_bytes: PEER_MAX_MESSAGE_BYTES,
            keepalive_interval: PEER_KEEPALIVE_INTERVAL,
            keepalive_timeout: PEER_KEEPALIVE_TIMEOUT,
        }
    }
}

/// Why a dial failed, by step: address, connect, TLS, gRPC.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// `address` is not `host:port`.
    #[error("address `{address}`: {source}")]
    Address {
        /// The address as written.
        address: String,
        /// Why.
        #[source]
        source: ccaas_core::address::AddressError,
    },
    /// A host name without a socket address to dial.
    #[error("address `{address}`: host `{host}` is a name and the simulator never resolves names; give the socket address to dial (`connect_to`, `--connect-to 127.0.0.1:PORT`)")]
    NeedsSocketAddress {
        /// The address as written.
        address: String,
        /// The host.
        host: String,
    },
    /// The TCP connection failed.
    #[error("connect to `{target}` failed")]
    Connect {
        /// The socket address dialled.
        target: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The dial timeout expired (TCP, TLS and HTTP/2 together, as the peer's blocking dial).
    #[error("dial of `{target}` timed out after {after:?} during the {step}")]
    Timeout {
        /// The socket address dialled.
        target: SocketAddr,
        /// The dial timeout.
        after: Duration,
        /// `TCP connect`, `TLS handshake` or `HTTP/2 handshake`.
        step: &'static str,
    },
    /// TLS is required but `root_cert` is missing.
    #[error("TLS is required but `root_cert` is missing (the peer verifies the server chain against it)")]
    MissingRootCert,
    /// `root_cert` holds no usable certificate.
    #[error("`root_cert` holds no usable PEM certificate: {reason}")]
    BadRootCert {
        /// Why.
        reason: String,
    },
    /// Client auth is required but a client certificate or key is missing.
    #[error("client authentication is required but `{key}` is missing")]
    MissingClientMaterial {
        /// `client_cert` or `client_key`.
        key: &'static str,
    },
    /// `client_cert` holds no PEM certificate.
    #[error("`client_cert` holds no usable PEM certificate")]
    BadClientCert,
    /// `client_key` holds no PEM private key (its text is never shown).
    #[error("`client_key` holds no usable PEM private key (not shown)")]
    BadClientKey,
    /// rustls refused the configuration (e.g. the key does not fit the certificate).
    #[error("TLS configuration refused")]
    TlsConfig(#[source] rustls::Error),
    /// The server name is not a DNS name or IP literal.
    #[error("TLS server name `{name}` is neither a DNS name nor an IP address")]
    BadServerName {
        /// The name.
        name: String,
    },
    /// The TLS handshake failed.
    #[error("TLS handshake with `{target}` (server name `{name}`) failed")]
    Handshake {
        /// The socket address dialled.
        target: SocketAddr,
        /// The server name checked.
        name: String,
        /// Why (rustls's reason).
        #[source]
        source: std::io::Error,
    },
    /// The server did not negotiate ALPN `h2`.
    #[error("TLS server `{target}` did not negotiate ALPN `h2` (peers built with grpc-go 1.67+, Fabric v2.5.12+ and v3.1+, refuse it; serve gRPC with ALPN `h2`)")]
    NoAlpn {
        /// The socket address dialled.
        target: SocketAddr,
    },
    /// A certificate chain that does not verify for a name (checked
    /// without a connection, by [`verify_chain_for`]).
    #[error("the server certificate does not verify for `{name}`")]
    CertificateRefused {
        /// The server name checked.
        name: String,
        /// rustls's reason.
        #[source]
        source: rustls::Error,
    },
    /// The HTTP/2 connection could not be set up.
    #[error("gRPC (HTTP/2) connection to `{target}` failed")]
    Http2 {
        /// The socket address dialled.
        target: SocketAddr,
        /// Why.
        #[source]
        source: tonic::transport::Error,
    },
    /// `protos.Chaincode/Connect` was refused.
    #[error(
        "gRPC call `/protos.Chaincode/Connect` on `{target}` failed: {}",
        status_words(status)
    )]
    Call {
        /// The socket address dialled.
        target: SocketAddr,
        /// The gRPC status.
        status: Box<tonic::Status>,
    },
}

/// A gRPC status in words: its message (or its code's description), the
/// code's name, and the chain of causes (not tonic's debug dump).
pub fn status_words(status: &tonic::Status) -> String {
    let message = if status.message().is_empty() {
        status.code().description()
    } else {
        status.message()
    };
    let mut text = format!("{message} (gRPC status {:?})", status.code());
    if let Some(source) = std::error::Error::source(status) {
        let causes = ccaas_core::report::chain(source);
        if !causes.contains(message) {
            text.push_str(": ");
            text.push_str(&causes);
        }
    }
    text
}

/// Anything the HTTP/2 client can run over.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A connected stream, plain or TLS.
pub(crate) type BoxedIo = Pin<Box<dyn Io>>;

/// What a dial produced: where it went and the open stream.
pub(crate) struct Dialled {
    /// The socket address dialled.
    pub(crate) target: SocketAddr,
    /// The Connect stream as a transport.
    pub(crate) transport: Transport,
}

/// Where to dial `connection`: its IP literal, or `connect_to`.
pub fn socket_address(
    connection: &Connection,
    options: &DialOptions,
) -> Result<(Address, SocketAddr), DialError> {
    let address = Address::parse(&connection.address).map_err(|source| DialError::Address {
        address: connection.address.clone(),
        source,
    })?;
    if let Some(target) = options.connect_to {
        return Ok((address, target));
    }
    match address.host().parse::<IpAddr>() {
        Ok(ip) => {
            let port = address.port();
            Ok((address, SocketAddr::new(ip, port)))
        }
        Err(_) => Err(DialError::NeedsSocketAddress {
            address: connection.address.clone(),
            host: address.host().to_owned(),
        }),
    }
}

/// The TLS server name the peer checks: the address host, or `domain`
/// when client auth is on (Fabric v3.0+ uses `domain` only then; v2.5
/// never reads it), unless `options.server_name` overrides it.
pub fn server_name(connection: &Connection, address: &Address, options: &DialOptions) -> String {
    if let Some(name) = &options.server_name {
        return name.clone();
    }
    match (&connection.domain, connection.tls_mode()) {
        (Some(domain), TlsMode::Mutual) if !domain.is_empty() => domain.clone(),
        _ => address.host().to_owned(),
    }
}

/// What a TLS handshake showed of the server, recorded as it happens, so
/// that a failed handshake still tells which certificate was presented.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsObservation {
    /// The chain the server sent, its own certificate first (empty: none
    /// arrived).
    pub server_chain: Vec<CertificateDer<'static>>,
    /// The server asked for a client certificate.
    pub client_cert_requested: bool,
    /// The protocol version negotiated (`TLS 1.3`), once the handshake is done.
    pub protocol: Option<String>,
    /// The ALPN protocol the server chose, once the handshake is done.
    pub alpn: Option<Vec<u8>>,
}

/// Records the chain before handing it to the standard verifier.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    seen: Arc<Mutex<TlsObservation>>,
}

impl rustls::client::danger::ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.server_chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Without client auth: sends no certificate, as the peer, but records
/// that the server asked for one.
#[derive(Debug)]
struct NoClientCert {
    seen: Arc<Mutex<TlsObservation>>,
}

impl rustls::client::ResolvesClientCert for NoClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.client_cert_requested = true;
        }
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

/// The certificates `root_cert` holds, as a rustls root store.
fn root_store(connection: &Connection) -> Result<rustls::RootCertStore, DialError> {
    let root_pem = connection
        .root_cert
        .as_deref()
        .ok_or(DialError::MissingRootCert)?;
    let mut roots = rustls::RootCertStore::empty();
    let mut count = 0usize;
    for cert in CertificateDer::pem_slice_iter(root_pem.as_bytes()) {
        let cert = cert.map_err(|e| DialError::BadRootCert {
            reason: e.to_string(),
        })?;
        roots.add(cert).map_err(|e| DialError::BadRootCert {
            reason: e.to_string(),
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(DialError::BadRootCert {
            reason: "no `CERTIFICATE` block".into(),
        });
    }
    Ok(roots)
}

/// The peer's client certificate and key, when client auth is on.
fn client_identity(
    connection: &Connection,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), DialError> {
    let cert_pem = connection
        .client_cert
        .as_deref()
        .ok_or(DialError::MissingClientMaterial { key: "client_cert" })?;
    let key = connection
        .client_key
        .as_ref()
        .ok_or(DialError::MissingClientMaterial { key: "client_key" })?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|_| DialError::BadClientCert)?;
    if chain.is_empty() {
        return Err(DialError::BadClientCert);
    }
    let key =
        PrivateKeyDer::from_pem_slice(key.0.as_bytes()).map_err(|_| DialError::BadClientKey)?;
    Ok((chain, key))
}

/// The rustls crypto provider the simulator dials with: the one
/// `ccaas-shim` serves with ([`ccaas_shim::tls::crypto_provider`]), so the
/// choice of *ring* (and the allowance for rustls 0.23.48's deprecation of
/// its constructor) is made in one place for both sides and the tests.
pub use ccaas_shim::tls::crypto_provider;

/// The rustls client configuration the peer's TLS amounts to.
pub fn tls_config(connection: &Connection) -> Result<rustls::ClientConfig, DialError> {
    build_tls_config(connection, None)
}

/// [`tls_config`], recording into `seen` what the server shows.
fn build_tls_config(
    connection: &Connection,
    seen: Option<&Arc<Mutex<TlsObservation>>>,
) -> Result<rustls::ClientConfig, DialError> {
    let provider = crypto_provider();
    let roots = root_store(connection)?;
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(DialError::TlsConfig)?;
    let builder = match seen {
        None => builder.with_root_certificates(roots),
        Some(seen) => {
            let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| DialError::BadRootCert {
                reason: e.to_string(),
            })?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(RecordingVerifier {
                    inner,
                    seen: Arc::clone(seen),
                }))
        }
    };
    let mut config = if connection.tls_mode() == TlsMode::Mutual {
        let (chain, key) = client_identity(connection)?;
        builder
            .with_client_auth_cert(chain, key)
            .map_err(DialError::TlsConfig)?
    } else {
        match seen {
            None => builder.with_no_client_auth(),
            Some(seen) => builder.with_client_cert_resolver(Arc::new(NoClientCert {
                seen: Arc::clone(seen),
            })),
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Verifies `chain` (as a server sent it) against `root_cert` for `name`,
/// without a connection: to tell whether another name (the one another
/// Fabric release checks) would pass too.
pub fn verify_chain_for(
    connection: &Connection,
    chain: &[CertificateDer<'static>],
    name: &str,
) -> Result<(), DialError> {
    use rustls::client::danger::ServerCertVerifier;
    let provider = crypto_provider();
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(root_store(connection)?),
        provider,
    )
    .build()
    .map_err(|e| DialError::BadRootCert {
        reason: e.to_string(),
    })?;
    let server = ServerName::try_from(name.to_owned()).map_err(|_| DialError::BadServerName {
        name: name.to_owned(),
    })?;
    let refused = |source| DialError::CertificateRefused {
        name: name.to_owned(),
        source,
    };
    let (end_entity, intermediates) = chain
        .split_first()
        .ok_or_else(|| refused(rustls::Error::NoCertificatesPresented))?;
    verifier
        .verify_server_cert(
            end_entity,
            intermediates,
            &server,
            &[],
            rustls::pki_types::UnixTime::now(),
        )
        .map(|_| ())
        .map_err(refused)
}

/// The dial timeout the peer uses for `connection` (3 s when unset or zero).
pub fn dial_timeout(connection: &Connection) -> Duration {
    connection
        .effective_dial_timeout()
        .to_std()
        .unwrap_or(Duration::from_secs(3))
}

/// Step 1 of a dial: TCP to `target` before `deadline`.
pub(crate) async fn tcp_connect(
    target: SocketAddr,
    deadline: Instant,
    timeout: Duration,
) -> Result<TcpStream, DialError> {
    let tcp = tokio::time::timeout_at(deadline, TcpStream::connect(target))
        .await
        .map_err(|_| DialError::Timeout {
            target,
            after: timeout,
            step: "TCP connect",
        })?
        .map_err(|source| DialError::Connect { target, source })?;
    // Like grpc-go; a failure here only costs latency.
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// Step 2 of a dial (TLS on): the handshake as the peer's Go client does
/// it, checking `name`, then ALPN `h2` when `require_alpn_h2`. What the
/// server showed is returned whether or not the handshake passed.
pub(crate) async fn tls_handshake(
    connection: &Connection,
    name: &str,
    tcp: TcpStream,
    deadline: Instant,
    timeout: Duration,
    require_alpn_h2: bool,
) -> (Result<BoxedIo, DialError>, TlsObservation) {
    let seen = Arc::new(Mutex::new(TlsObservation::default()));
    let result = tls_handshake_into(
        connection,
        name,
        tcp,
        deadline,
        timeout,
        require_alpn_h2,
        &seen,
    )
    .await;
    let observation = seen.lock().map(|s| s.clone()).unwrap_or_default();
    (result, observation)
}

async fn tls_handshake_into(
    connection: &Connection,
    name: &str,
    tcp: TcpStream,
    deadline: Instant,
    timeout: Duration,
    require_alpn_h2: bool,
    seen: &Arc<Mutex<TlsObservation>>,
) -> Result<BoxedIo, DialError> {
    let target = tcp.peer_addr().map_err(|source| DialError::Connect {
        target: SocketAddr::from(([0, 0, 0, 0], 0)),
        source,
    })?;
    let config = build_tls_config(connection, Some(seen))?;
    let server = ServerName::try_from(name.to_owned()).map_err(|_| DialError::BadServerName {
        name: name.to_owned(),
    })?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tls = tokio::time::timeout_at(deadline, connector.connect(server, tcp))
        .await
        .map_err(|_| DialError::Timeout {
            target,
            after: timeout,
            step: "TLS handshake",
        })?
        .map_err(|source| DialError::Handshake {
            target,
            name: name.to_owned(),
            source,
        })?;
    let (_, session) = tls.get_ref();
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    if let Ok(mut seen) = seen.lock() {
        seen.protocol = session.protocol_version().map(|v| match v {
            rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".to_owned(),
            rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".to_owned(),
            other => format!("{other:?}"),
        });
        seen.alpn = alpn.clone();
    }
    if require_alpn_h2 && alpn.as_deref() != Some(b"h2".as_slice()) {
        return Err(DialError::NoAlpn { target });
    }
    Ok(Box::pin(tls))
}

/// Step 3 of a dial: HTTP/2 over `io` (before `deadline`), then the
/// `protos.Chaincode/Connect` call.
pub(crate) async fn open_connect(
    io: BoxedIo,
    address: &Address,
    target: SocketAddr,
    deadline: Instant,
    timeout: Duration,
    options: &DialOptions,
) -> Result<Transport, DialError> {
    // The URI only names the authority; the connector below yields the
    // stream already connected, once (the peer never reconnects a stream).
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{}", address.as_str()))
        .or_else(|_| tonic::transport::Endpoint::from_shared(format!("http://{target}")))
        .map_err(|source| DialError::Http2 { target, source })?
        .http2_keep_alive_interval(options.keepalive_interval)
        .keep_alive_timeout(options.keepalive_timeout)
        .keep_alive_while_idle(true);
    let slot = Arc::new(Mutex::new(Some(io)));
    let connector = tower::service_fn(move |_uri| {
        let io = slot.lock().map(|mut s| s.take()).unwrap_or(None);
        async move {
            match io {
                Some(io) => Ok(TokioIo::new(io)),
                None => Err(std::io::Error::new(
                    std::io::ErrorKind::NotConnected,
                    "the server ended the connection before the call (a stream is dialled once: the peer does not redial it)",
                )),
            }
        }
    });
    let channel = tokio::time::timeout_at(deadline, endpoint.connect_with_connector(connector))
        .await
        .map_err(|_| DialError::Timeout {
            target,
            after: timeout,
            step: "HTTP/2 handshake",
        })?
        .map_err(|source| DialError::Http2 { target, source })?;

    let (to_chaincode, outbound) = tokio::sync::mpsc::channel(64);
    let outbound: ccaas_proto::grpc::OutboundStream =
        Box::pin(tokio_stream::wrappers::ReceiverStream::new(outbound));
    let inbound = ccaas_proto::grpc::connect(channel.clone(), outbound, options.max_message_bytes)
        .await
        .map_err(|status| DialError::Call {
            target,
            status: Box::new(status),
        })?;
    Ok(Transport::from_grpc(to_chaincode, inbound, channel))
}

/// Dials `connection` and opens `protos.Chaincode/Connect`.
pub(crate) async fn dial(
    connection: &Connection,
    options: &DialOptions,
) -> Result<Dialled, DialError> {
    let (address, target) = socket_address(connection, options)?;
    let timeout = dial_timeout(connection);
    let deadline = Instant::now() + timeout;
    let tcp = tcp_connect(target, deadline, timeout).await?;
    let io: BoxedIo = if connection.tls_mode() == TlsMode::Off {
        Box::pin(tcp)
    } else {
        let name = server_name(connection, &address, options);
        tls_handshake(
            connection,
            &name,
            tcp,
            deadline,
            timeout,
            options.require_alpn_h2,
        )
        .await
        .0?
    };
    let transport = open_connect(io, &address, target, deadline, timeout, options).await?;
    Ok(Dialled { target, transport })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(address: &str) -> Connection {
        Connection {
            address: address.into(),
            ..Default::default()
        }
    }

    #[test]
    fn ip_literals_are_dialled_as_written() {
        let (_, target) = socket_address(&connection("127.0.0.1:7052"), &DialOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            target,
            "127.0.0.1:7052".parse().unwrap_or_else(|e| panic!("{e}"))
        );
    }

    #[test]
    fn names_are_never_resolved() {
        let err = socket_address(&connection("localhost:7052"), &DialOptions::default())
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(err, DialError::NeedsSocketAddress { .. }), "{err}");
        assert!(err.to_string().contains("connect_to"));
    }

    #[test]
    fn domain_is_the_server_name_only_with_client_auth() {
        let mut c = connection("127.0.0.1:7052");
        c.tls_required = true;
        c.domain = Some("mycc.example.com".into());
        let address = Address::parse(&c.address).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            server_name(&c, &address, &DialOptions::default()),
            "127.0.0.1"
        );
        c.client_auth_required = true;
        assert_eq!(
            server_name(&c, &address, &DialOptions::default()),
            "mycc.example.com"
        );
    }

    #[test]
    fn a_bad_client_key_is_not_shown() {
        let mut c = connection("127.0.0.1:7052");
        c.tls_required = true;
        c.client_auth_required = true;
        c.root_cert = Some(include_str!("../../../fixtures/tls/ca.pem").into());
        c.client_cert = Some(include_str!("../../../fixtures/tls/client.pem").into());
        c.client_key = Some(ccaas_core::connection::Secret(
            "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n".into(),
        ));
        let err = tls_config(&c).map(|_| ()).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("SECRETSECRET"));
    }
}
