//! The gRPC plumbing of `protos.Chaincode/Connect`, written by hand where
//! `tonic-build` would generate it: a server wrapper for a
//! [`ConnectHandler`] and a client call for the peer's side.

use crate::{ChaincodeMessage, CHAINCODE_SERVICE, CONNECT_PATH, PEER_MAX_MESSAGE_BYTES};
use futures_core::Stream;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::codegen::{http, Body, BoxFuture, Service, StdError};
use tonic::{Request, Response, Status, Streaming};

/// What serves the Connect stream: one call per peer stream.
pub trait ConnectHandler: Send + Sync + 'static {
    /// The messages sent back to the peer.
    type Outbound: Stream<Item = Result<ChaincodeMessage, Status>> + Send + 'static;

    /// Takes one peer's stream and returns the messages to send it.
    fn connect(
        &self,
        request: Request<Streaming<ChaincodeMessage>>,
    ) -> impl Future<Output = Result<Response<Self::Outbound>, Status>> + Send;
}

/// The `protos.Chaincode` gRPC service around a [`ConnectHandler`], for
/// `tonic::transport::Server::add_service`.
pub struct ConnectServer<H> {
    handler: Arc<H>,
    max_decoding: usize,
    max_encoding: usize,
}

impl<H> ConnectServer<H> {
    /// The service with the peer's 100 MiB limits both ways.
    pub fn new(handler: Arc<H>) -> Self {
        ConnectServer {
            handler,
            max_decoding: PEER_MAX_MESSAGE_BYTES,
            max_encoding: PEER_MAX_MESSAGE_BYTES,
        }
    }

    /// The largest message accepted from the peer.
    pub fn max_decoding_message_size(mut self, bytes: usize) -> Self {
        self.max_decoding = bytes;
        self
    }

    /// The largest message sent to the peer.
    pub fn max_encoding_message_size(mut self, bytes: usize) -> Self {
        self.max_encoding = bytes;
        self
    }
}

impl<H> Clone for ConnectServer<H> {
    fn clone(&self) -> Self {
        ConnectServer {
            handler: Arc::clone(&self.handler),
            max_decoding: self.max_decoding,
            max_encoding: self.max_encoding,
        }
    }
}

impl<H> tonic::server::NamedService for ConnectServer<H> {
    const NAME: &'static str = CHAINCODE_SERVICE;
}

struct ConnectCall<H>(Arc<H>);

impl<H: ConnectHandler> tonic::server::StreamingService<ChaincodeMessage> for ConnectCall<H> {
    type Response = ChaincodeMessage;
    type ResponseStream = H::Outbound;
    type Future = BoxFuture<Response<Self::ResponseStream>, Status>;

    fn call(&mut self, request: Request<Streaming<ChaincodeMessage>>) -> Self::Future {
        let handler = Arc::clone(&self.0);
        Box::pin(async move { handler.connect(request).await })
    }
}

impl<H, B> Service<http::Request<B>> for ConnectServer<H>
where
    H: ConnectHandler,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != CONNECT_PATH {
            return Box::pin(async move { Ok(Status::unimplemented("").into_http()) });
        }
        let handler = Arc::clone(&self.handler);
        let (max_decoding, max_encoding) = (self.max_decoding, self.max_encoding);
        Box::pin(async move {
            let codec = tonic_prost::ProstCodec::<ChaincodeMessage, ChaincodeMessage>::default();
            let mut grpc = tonic::server::Grpc::new(codec)
                .max_decoding_message_size(max_decoding)
                .max_encoding_message_size(max_encoding);
            Ok(grpc.streaming(ConnectCall(handler), request).await)
        })
    }
}

/// The messages the peer side sends, as the client call takes them.
pub type OutboundStream = Pin<Box<dyn Stream<Item = ChaincodeMessage> + Send + 'static>>;

/// Opens `protos.Chaincode/Connect` on `channel` as the peer does: sends
/// `outbound` and returns the chaincode's messages. `max_message_bytes`
/// bounds both ways (the peer's is [`PEER_MAX_MESSAGE_BYTES`]).
pub async fn connect<T>(
    channel: T,
    outbound: OutboundStream,
    max_message_bytes: usize,
) -> Result<Streaming<ChaincodeMessage>, Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("the connection is not ready: {}", e.into())))?;
    let codec = tonic_prost::ProstCodec::<ChaincodeMessage, ChaincodeMessage>::default();
    let path = http::uri::PathAndQuery::from_static(CONNECT_PATH);
    let response = grpc.streaming(Request::new(outbound), path, codec).await?;
    Ok(response.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChaincodeId, Message, MessageType};

    #[test]
    fn unknown_message_types_are_kept_as_numbers() {
        let message = ChaincodeMessage {
            r#type: 99,
            ..Default::default()
        };
        let back = ChaincodeMessage::decode(message.encode_to_vec().as_slice()).unwrap_or_default();
        assert_eq!(back.r#type, 99);
        assert_eq!(back.kind(), None);
        assert_eq!(back.kind_name(), "type 99");
    }

    #[test]
    fn field_numbers_match_fabrics_protos() {
        // REGISTER (1) with ChaincodeID{name (2)} and channel_id (7), txid (4):
        // the bytes a Go shim sends, field by field.
        let message = ChaincodeMessage::for_tx(
            MessageType::Register,
            ChaincodeId {
                name: "a".into(),
                ..Default::default()
            }
            .encode_to_vec(),
            "c",
            "t",
        );
        assert_eq!(
            message.encode_to_vec(),
            vec![0x08, 0x01, 0x1a, 0x03, 0x12, 0x01, b'a', 0x22, 0x01, b't', 0x3a, 0x01, b'c']
        );
    }
}
