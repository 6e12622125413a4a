//! Dialling over real TCP and TLS on 127.0.0.1, against a tiny chaincode
//! server written here on the proto crate's Connect plumbing.
#![allow(clippy::unwrap_used)]

use ccaas_core::connection::Secret;
use ccaas_core::Connection;
use ccaas_peersim::{DialError, DialOptions, SessionError, Simulator};
use ccaas_proto::grpc::{ConnectHandler, ConnectServer};
use ccaas_proto::{
    ChaincodeId, ChaincodeInput, ChaincodeMessage, Message, MessageType, PutState, Response,
};
use futures_core::Stream;
use futures_util::StreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const PACKAGE_ID: &str = "kv_1.0:0123abcd";
const CA: &str = include_str!("../../../fixtures/tls/ca.pem");
const SERVER_PEM: &str = include_str!("../../../fixtures/tls/server.pem");
const SERVER_KEY: &str = include_str!("../../../fixtures/tls/server.key");
const CLIENT_PEM: &str = include_str!("../../../fixtures/tls/client.pem");
const CLIENT_KEY: &str = include_str!("../../../fixtures/tls/client.key");

/// Registers, then answers `put K V` with PUT_STATE then COMPLETED "OK",
/// anything else with COMPLETED "pong". One transaction at a time.
struct TinyChaincode;

type Outbound = Pin<Box<dyn Stream<Item = Result<ChaincodeMessage, tonic::Status>> + Send>>;

impl ConnectHandler for TinyChaincode {
    type Outbound = Outbound;

    async fn connect(
        &self,
        request: tonic::Request<tonic::Streaming<ChaincodeMessage>>,
    ) -> Result<tonic::Response<Outbound>, tonic::Status> {
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(16);
        let id = ChaincodeId {
            name: PACKAGE_ID.into(),
            ..Default::default()
        };
        tx.send(ChaincodeMessage::new(
            MessageType::Register,
            id.encode_to_vec(),
        ))
        .await
        .unwrap();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = inbound.next().await {
                if msg.kind() != Some(MessageType::Transaction) {
                    continue;
                }
                let input = ChaincodeInput::decode(msg.payload.as_slice()).unwrap();
                let mut payload = b"pong".to_vec();
                if input.args.first().map(Vec::as_slice) == Some(b"put") {
                    let put = PutState {
                        key: String::from_utf8(input.args[1].clone()).unwrap(),
                        value: input.args[2].clone(),
                        ..Default::default()
                    };
                    let req = ChaincodeMessage::for_tx(
                        MessageType::PutState,
                        put.encode_to_vec(),
                        &msg.channel_id,
                        &msg.txid,
                    );
                    tx.send(req).await.unwrap();
                    let answer = inbound.next().await.unwrap().unwrap();
                    assert_eq!(answer.kind(), Some(MessageType::Response));
                    payload = b"OK".to_vec();
                }
                let done = Response {
                    status: 200,
                    message: String::new(),
                    payload,
                };
                let reply = ChaincodeMessage::for_tx(
                    MessageType::Completed,
                    done.encode_to_vec(),
                    &msg.channel_id,
                    &msg.txid,
                );
                if tx.send(reply).await.is_err() {
                    break;
                }
            }
        });
        Ok(tonic::Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok),
        )))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    ccaas_peersim::dial::crypto_provider()
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

enum Tls {
    Off,
    On { alpn: bool, client_auth: bool },
}

async fn serve(tls: Tls) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = ConnectServer::new(Arc::new(TinyChaincode));
    let server = tonic::transport::Server::builder().add_service(service);
    match tls {
        Tls::Off => {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            tokio::spawn(server.serve_with_incoming(incoming));
        }
        Tls::On { alpn, client_auth } => {
            let builder = rustls::ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap();
            let builder = if client_auth {
                let mut roots = rustls::RootCertStore::empty();
                for c in certs(CA) {
                    roots.add(c).unwrap();
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider(),
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            } else {
                builder.with_no_client_auth()
            };
            let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).unwrap();
            let mut config = builder.with_single_cert(certs(SERVER_PEM), key).unwrap();
            if alpn {
                config.alpn_protocols = vec![b"h2".to_vec()];
            }
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            let incoming = futures_util::stream::unfold(
                (listener, acceptor),
                |(listener, acceptor)| async move {
                    loop {
                        let (tcp, _) = listener.accept().await.ok()?;
                        // A failed handshake is the client's problem: accept the next.
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            return Some((Ok::<_, std::io::Error>(tls), (listener, acceptor)));
                        }
                    }
                },
            );
            tokio::spawn(server.serve_with_incoming(incoming));
        }
    }
    addr
}

fn connection(address: String) -> Connection {
    Connection {
        address,
        ..Default::default()
    }
}

fn tls_connection(address: String, mutual: bool) -> Connection {
    let mut c = connection(address);
    c.tls_required = true;
    c.root_cert = Some(CA.into());
    if mutual {
        c.client_auth_required = true;
        c.client_cert = Some(CLIENT_PEM.into());
        c.client_key = Some(Secret(CLIENT_KEY.into()));
    }
    c
}

async fn exercise(connection: &Connection, options: &DialOptions) {
    let session = Simulator::new(PACKAGE_ID)
        .connect(connection, options)
        .await
        .unwrap();
    assert!(session.is_registered());
    let put = session.invoke("ch", ["put", "k", "v"]).await.unwrap();
    assert_eq!(put.payload(), b"OK");
    assert_eq!(session.get_state("ch", "k").as_deref(), Some(&b"v"[..]));
    assert_eq!(
        session.invoke("ch", ["ping"]).await.unwrap().payload(),
        b"pong"
    );
    session.close().await;
}

#[tokio::test]
async fn plain_tcp() {
    let addr = serve(Tls::Off).await;
    exercise(&connection(addr.to_string()), &DialOptions::default()).await;
}

#[tokio::test]
async fn tls_checks_the_ip_literal_as_the_server_name() {
    let addr = serve(Tls::On {
        alpn: true,
        client_auth: false,
    })
    .await;
    exercise(
        &tls_connection(addr.to_string(), false),
        &DialOptions::default(),
    )
    .await;
}

#[tokio::test]
async fn mutual_tls_checks_domain_as_the_server_name() {
    let addr = serve(Tls::On {
        alpn: true,
        client_auth: true,
    })
    .await;
    let mut c = tls_connection(addr.to_string(), true);
    c.domain = Some("mycc.example.com".into());
    exercise(&c, &DialOptions::default()).await;
}

#[tokio::test]
async fn a_host_name_is_dialled_only_at_an_explicit_socket_address() {
    let addr = serve(Tls::On {
        alpn: true,
        client_auth: false,
    })
    .await;
    let c = tls_connection(format!("localhost:{}", addr.port()), false);
    let err = Simulator::new(PACKAGE_ID)
        .connect(&c, &DialOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SessionError::Dial(DialError::NeedsSocketAddress { .. })
        ),
        "{err}"
    );
    let options = DialOptions {
        connect_to: Some(addr),
        ..Default::default()
    };
    exercise(&c, &options).await;
}

#[tokio::test]
async fn a_server_name_the_certificate_lacks_fails_the_tls_handshake() {
    let addr = serve(Tls::On {
        alpn: true,
        client_auth: false,
    })
    .await;
    let options = DialOptions {
        server_name: Some("other.example.org".into()),
        ..Default::default()
    };
    let err = Simulator::new(PACKAGE_ID)
        .connect(&tls_connection(addr.to_string(), false), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SessionError::Dial(DialError::Handshake { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("TLS handshake"), "{err}");
}

#[tokio::test]
async fn a_tls_server_without_alpn_h2_is_refused() {
    let addr = serve(Tls::On {
        alpn: false,
        client_auth: false,
    })
    .await;
    let err = Simulator::new(PACKAGE_ID)
        .connect(
            &tls_connection(addr.to_string(), false),
            &DialOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, SessionError::Dial(DialError::NoAlpn { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = Simulator::new(PACKAGE_ID)
        .connect(&connection(addr.to_string()), &DialOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SessionError::Dial(DialError::Connect { .. })),
        "{err}"
    );
}
