//! The two ends of a chaincode stream, as the session sees them: messages
//! to the chaincode and messages from it. The gRPC Connect stream is one
//! transport; a pair of in-memory channels (in-process chaincode) is the
//! other.

use ccaas_proto::ChaincodeMessage;
use futures_core::Stream;
use futures_util::StreamExt;
use std::any::Any;
use std::pin::Pin;
use tokio::sync::mpsc;

/// Why a transport stopped delivering messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The gRPC stream failed.
    #[error("receive from chaincode stream failed: {0}")]
    Grpc(String),
}

/// The chaincode's messages, in order; `None` when its side closed.
pub type Inbound =
    Pin<Box<dyn Stream<Item = Result<ChaincodeMessage, TransportError>> + Send + 'static>>;

/// A message pair: what the simulator sends and what it receives.
pub struct Transport {
    /// Messages to the chaincode; dropping it ends the stream on our side.
    pub to_chaincode: mpsc::Sender<ChaincodeMessage>,
    /// Messages from the chaincode.
    pub from_chaincode: Inbound,
    /// Kept alive as long as the stream (e.g. the gRPC channel).
    _guard: Option<Box<dyn Any + Send>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

impl Transport {
    /// A transport over any sender and stream.
    pub fn new(to_chaincode: mpsc::Sender<ChaincodeMessage>, from_chaincode: Inbound) -> Self {
        Transport {
            to_chaincode,
            from_chaincode,
            _guard: None,
        }
    }

    /// A transport over a pair of channels (in-process chaincode).
    pub fn from_channels(
        to_chaincode: mpsc::Sender<ChaincodeMessage>,
        from_chaincode: mpsc::Receiver<ChaincodeMessage>,
    ) -> Self {
        let inbound = tokio_stream::wrappers::ReceiverStream::new(from_chaincode).map(Ok);
        Transport::new(to_chaincode, Box::pin(inbound))
    }

    /// A transport over an open gRPC Connect stream.
    pub(crate) fn from_grpc(
        to_chaincode: mpsc::Sender<ChaincodeMessage>,
        inbound: tonic::Streaming<ChaincodeMessage>,
        channel: tonic::transport::Channel,
    ) -> Self {
        let inbound = inbound.map(|item| item.map_err(|s| TransportError::Grpc(s.to_string())));
        Transport {
            to_chaincode,
            from_chaincode: Box::pin(inbound),
            _guard: Some(Box::new(channel)),
        }
    }

    /// A connected pair for tests that play the chaincode by hand: the
    /// transport for the simulator, and the chaincode's ends.
    pub fn pair(capacity: usize) -> (Transport, ChaincodeEnd) {
        let (to_chaincode, chaincode_rx) = mpsc::channel(capacity);
        let (chaincode_tx, from_chaincode) = mpsc::channel(capacity);
        (
            Transport::from_channels(to_chaincode, from_chaincode),
            ChaincodeEnd {
                tx: chaincode_tx,
                rx: chaincode_rx,
            },
        )
    }
}

/// The chaincode's side of [`Transport::pair`].
#[derive(Debug)]
pub struct ChaincodeEnd {
    /// Messages to the simulator (the peer).
    pub tx: mpsc::Sender<ChaincodeMessage>,
    /// Messages from the simulator; `None` once it ended the stream.
    pub rx: mpsc::Receiver<ChaincodeMessage>,
}
