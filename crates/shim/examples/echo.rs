//! `echo`: the wire floor of a chaincode server. It registers as `kv` does
//! and answers every TRANSACTION (and INIT) with COMPLETED status 200 at
//! once, with no ledger request and no chaincode: what is left is gRPC,
//! HTTP/2, TLS and the sockets, on the same tonic server stack as
//! `ccaas-shim`. `bin-scripts/bench-shim` measures the load driver
//! (`ccaas-load`) against it to show the driver's own ceiling.
//!
//! Configured like `kv` (`CHAINCODE_ID`, `CHAINCODE_SERVER_ADDRESS`, the TLS
//! files: see `ccaas_shim::env`):
//!
//! ```sh
//! cargo build --release -p ccaas-shim --example echo
//! CHAINCODE_ID=kv_1.0:<sha256> CHAINCODE_SERVER_ADDRESS=127.0.0.1:9999 target/release/examples/echo
//! ```
#![allow(clippy::print_stderr)] // an example's main reports on stderr

use ccaas_proto::grpc::{ConnectHandler, ConnectServer};
use ccaas_proto::{ChaincodeId, ChaincodeMessage, Message, MessageType, Response};
use ccaas_shim::{ServerConfig, ServerError};
use futures_util::StreamExt;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tonic::{Request, Status, Streaming};

/// Answers each stream: REGISTER first, then COMPLETED for every transaction.
struct Echo {
    register: ChaincodeMessage,
    completed: Vec<u8>,
}

type Outbound = Pin<Box<dyn futures_core::Stream<Item = Result<ChaincodeMessage, Status>> + Send>>;

impl ConnectHandler for Echo {
    type Outbound = Outbound;

    async fn connect(
        &self,
        request: Request<Streaming<ChaincodeMessage>>,
    ) -> Result<tonic::Response<Outbound>, Status> {
        let mut inbound = request.into_inner();
        let (out, outbound) = mpsc::channel(1024);
        let register = self.register.clone();
        let completed = self.completed.clone();
        tokio::spawn(async move {
            if out.send(register).await.is_err() {
                return;
            }
            while let Some(Ok(message)) = inbound.next().await {
                let answer = match message.kind() {
                    Some(MessageType::Transaction | MessageType::Init) => ChaincodeMessage::for_tx(
                        MessageType::Completed,
                        completed.clone(),
                        &message.channel_id,
                        &message.txid,
                    ),
                    Some(MessageType::Keepalive) => message,
                    _ => continue,
                };
                if out.send(answer).await.is_err() {
                    return;
                }
            }
        });
        let outbound = tokio_stream::wrappers::ReceiverStream::new(outbound).map(Ok);
        Ok(tonic::Response::new(Box::pin(outbound)))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => ccaas_shim::run::report(&e.into()),
    }
}

async fn run() -> Result<(), ServerError> {
    let config = ServerConfig::from_env()?;
    let tls = match &config.tls {
        Some(tls) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(
            tls.server_config()?,
        ))),
        None => None,
    };
    let echo = Echo {
        register: ChaincodeMessage::new(
            MessageType::Register,
            ChaincodeId {
                name: config.package_id.clone(),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        completed: Response {
            status: 200,
            ..Default::default()
        }
        .encode_to_vec(),
    };
    let connect = ConnectServer::new(Arc::new(echo))
        .max_decoding_message_size(config.max_recv_message_bytes)
        .max_encoding_message_size(config.max_send_message_bytes);
    // The shim's HTTP/2 settings (crates/shim/src/server.rs), so that the
    // difference to `kv` is the shim's own work.
    let router = ccaas_shim::server::http2_settings(tonic::transport::Server::builder(), &config)
        .add_service(connect);
    let bind_error = |source| ServerError::Bind {
        address: config.address,
        source,
    };
    let listener = TcpListener::bind(config.address)
        .await
        .map_err(bind_error)?;
    eprintln!(
        "echo server listening address={} tls={}",
        listener.local_addr().map_err(bind_error)?,
        if tls.is_some() { "on" } else { "off" }
    );
    match tls {
        None => {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(|s| {
                if let Ok(s) = &s {
                    let _ = s.set_nodelay(true);
                }
                s
            });
            router
                .serve_with_incoming(incoming)
                .await
                .map_err(ServerError::Transport)?;
        }
        Some(acceptor) => {
            let (tx, rx) = mpsc::channel(16);
            tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let _ = socket.set_nodelay(true);
                    let (acceptor, tx) = (acceptor.clone(), tx.clone());
                    tokio::spawn(async move {
                        match acceptor.accept(socket).await {
                            Ok(stream) => {
                                let _ = tx.send(Ok::<_, std::io::Error>(stream)).await;
                            }
                            Err(e) => eprintln!("echo: TLS handshake failed: {e}"),
                        }
                    });
                }
            });
            router
                .serve_with_incoming(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .map_err(ServerError::Transport)?;
        }
    }
    Ok(())
}
