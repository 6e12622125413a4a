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

/// The peer's HTTP/2 keepalive: a ping every 60 s.
pub const PEER_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
/// The peer's HTTP/2 keepalive: 20 s to answer a ping.
pub const PEER_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

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
    /// with grpc-go 1.67+ (Fabric v2.5.16+, v3.1.5+) do. Default: true.
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
    #[error("TLS server `{target}` did not negotiate ALPN `h2` (peers built with grpc-go 1.67+ refuse it; serve gRPC with ALPN `h2`)")]
    NoAlpn {
        /// The socket address dialled.
        target: SocketAddr,
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
    #[error("gRPC call `/protos.Chaincode/Connect` on `{target}` failed: {status}")]
    Call {
        /// The socket address dialled.
        target: SocketAddr,
        /// The gRPC status.
        status: Box<tonic::Status>,
    },
}

/// Anything the HTTP/2 client can run over.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

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
/// when client auth is on (peer v2.5 uses `domain` only then), unless
/// `options.server_name` overrides it.
pub fn server_name(connection: &Connection, address: &Address, options: &DialOptions) -> String {
    if let Some(name) = &options.server_name {
        return name.clone();
    }
    match (&connection.domain, connection.tls_mode()) {
        (Some(domain), TlsMode::Mutual) if !domain.is_empty() => domain.clone(),
        _ => address.host().to_owned(),
    }
}

/// The rustls client configuration the peer's TLS amounts to.
pub fn tls_config(connection: &Connection) -> Result<rustls::ClientConfig, DialError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
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
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(DialError::TlsConfig)?
        .with_root_certificates(roots);
    let mut config = if connection.tls_mode() == TlsMode::Mutual {
        let cert_pem = connection
            .client_cert
            .as_deref()
            .ok_or(DialError::MissingClientMaterial { key: "client_cert" })?;
        let key = connection
            .client_key
            .as_ref()
            .ok_or(DialError::MissingClientMaterial { key: "client_key" })?;
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|_| DialError::BadClientCert)?;
        if chain.is_empty() {
            return Err(DialError::BadClientCert);
        }
        let key =
            PrivateKeyDer::from_pem_slice(key.0.as_bytes()).map_err(|_| DialError::BadClientKey)?;
        builder
            .with_client_auth_cert(chain, key)
            .map_err(DialError::TlsConfig)?
    } else {
        builder.with_no_client_auth()
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Dials `connection` and opens `protos.Chaincode/Connect`.
pub(crate) async fn dial(
    connection: &Connection,
    options: &DialOptions,
) -> Result<Dialled, DialError> {
    let (address, target) = socket_address(connection, options)?;
    let timeout = connection
        .effective_dial_timeout()
        .to_std()
        .unwrap_or(Duration::from_secs(3));
    let deadline = Instant::now() + timeout;
    let timed_out = |step| DialError::Timeout {
        target,
        after: timeout,
        step,
    };

    let tcp = tokio::time::timeout_at(deadline, TcpStream::connect(target))
        .await
        .map_err(|_| timed_out("TCP connect"))?
        .map_err(|source| DialError::Connect { target, source })?;
    // Like grpc-go; a failure here only costs latency.
    let _ = tcp.set_nodelay(true);

    let io: Pin<Box<dyn Io>> = if connection.tls_mode() == TlsMode::Off {
        Box::pin(tcp)
    } else {
        let config = tls_config(connection)?;
        let name = server_name(connection, &address, options);
        let server = ServerName::try_from(name.clone())
            .map_err(|_| DialError::BadServerName { name: name.clone() })?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tls = tokio::time::timeout_at(deadline, connector.connect(server, tcp))
            .await
            .map_err(|_| timed_out("TLS handshake"))?
            .map_err(|source| DialError::Handshake {
                target,
                name,
                source,
            })?;
        let (_, session) = tls.get_ref();
        if options.require_alpn_h2 && session.alpn_protocol() != Some(b"h2".as_slice()) {
            return Err(DialError::NoAlpn { target });
        }
        Box::pin(tls)
    };

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
                    "the stream was dialled once; the peer does not reconnect",
                )),
            }
        }
    });
    let channel = tokio::time::timeout_at(deadline, endpoint.connect_with_connector(connector))
        .await
        .map_err(|_| timed_out("HTTP/2 handshake"))?
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
    let transport = Transport::from_grpc(to_chaincode, inbound, channel);
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
