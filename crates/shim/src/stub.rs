//! The [`Stub`]: what a transaction sees of the ledger and of its proposal.

use crate::proposal::{Creator, Decoded};
use crate::stream::{PeerCapabilities, StreamLink};
use ccaas_proto::queryresult::Kv;
use ccaas_proto::{
    ChaincodeEvent, ChaincodeInput, ChaincodeMessage, DelState, GetState, GetStateByRange, Message,
    MessageType, PutState, QueryResponse, QueryStateClose, QueryStateNext, SignedProposal,
    Timestamp,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a request to the peer can end in.
#[derive(Debug, thiserror::Error)]
pub enum StubError {
    /// The peer answered ERROR.
    #[error("the peer refused {request}: {message}")]
    Peer {
        /// The request (`GET_STATE`, ...).
        request: &'static str,
        /// The peer's message.
        message: String,
    },
    /// The stream ended before the peer answered.
    #[error("the stream to the peer ended before it answered {request}")]
    StreamClosed {
        /// The request.
        request: &'static str,
    },
    /// The peer did not answer in time.
    #[error("the peer did not answer {request} within {timeout:?}")]
    Timeout {
        /// The request.
        request: &'static str,
        /// The deadline.
        timeout: Duration,
    },
    /// The peer answered with a message of the wrong type.
    #[error("the peer answered {request} with {found}, expected RESPONSE or ERROR")]
    UnexpectedAnswer {
        /// The request.
        request: &'static str,
        /// The type found.
        found: String,
    },
    /// The peer's answer did not decode.
    #[error("the peer's answer to {request} is not a valid `{message}`")]
    Malformed {
        /// The request.
        request: &'static str,
        /// The message expected.
        message: &'static str,
        /// The decoder's error.
        #[source]
        source: prost::DecodeError,
    },
    /// A key the peer or the Go shim would refuse.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// An event needs a name.
    #[error("an event name must not be empty")]
    EmptyEventName,
}

/// One transaction's context, shared by its [`Stub`] and its iterators.
pub(crate) struct TxContext {
    link: Arc<StreamLink>,
    channel_id: String,
    txid: String,
    input: ChaincodeInput,
    proposal: Option<Decoded>,
    event: Mutex<Option<ChaincodeEvent>>,
    /// One request in flight per transaction: the peer drops a second.
    request_lock: tokio::sync::Mutex<()>,
    /// Iterators dropped while still open at the peer, closed before the
    /// next request (the peer closes the rest when the transaction ends).
    to_close: Mutex<Vec<String>>,
}

impl TxContext {
    pub(crate) fn new(
        link: Arc<StreamLink>,
        channel_id: String,
        txid: String,
        input: ChaincodeInput,
        proposal: Option<Decoded>,
    ) -> Self {
        TxContext {
            link,
            channel_id,
            txid,
            input,
            proposal,
            event: Mutex::new(None),
            request_lock: tokio::sync::Mutex::new(()),
            to_close: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn take_event(&self) -> Option<ChaincodeEvent> {
        self.event.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn message(&self, kind: MessageType, payload: Vec<u8>) -> ChaincodeMessage {
        let mut message = ChaincodeMessage::for_tx(kind, payload, &self.channel_id, &self.txid);
        message.timestamp = Some(Timestamp::now());
        message
    }

    /// Sends one request and returns RESPONSE's payload; requests of one
    /// transaction queue here, one at a time.
    pub(crate) async fn call(
        &self,
        kind: MessageType,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, StubError> {
        let _turn = self.request_lock.lock().await;
        let stale: Vec<String> =
            std::mem::take(&mut *self.to_close.lock().unwrap_or_else(|p| p.into_inner()));
        for id in stale {
            let close = self.message(
                MessageType::QueryStateClose,
                QueryStateClose { id }.encode_to_vec(),
            );
            // Best effort: the peer closes it at the end of the transaction anyway.
            if let Err(e) = self.exchange(close, "QUERY_STATE_CLOSE").await {
                tracing::debug!("closing a dropped iterator failed: {e}");
            }
        }
        let request = kind.fabric_name();
        self.exchange(self.message(kind, payload), request).await
    }

    async fn exchange(
        &self,
        message: ChaincodeMessage,
        request: &'static str,
    ) -> Result<Vec<u8>, StubError> {
        let answer = self.link.request(message, request).await?;
        match answer.kind() {
            Some(MessageType::Response) => Ok(answer.payload),
            Some(MessageType::Error) => Err(StubError::Peer {
                request,
                message: String::from_utf8_lossy(&answer.payload).into_owned(),
            }),
            _ => Err(StubError::UnexpectedAnswer {
                request,
                found: answer.kind_name(),
            }),
        }
    }
}

/// A transaction's view of the ledger and of its proposal, as Go's
/// `ChaincodeStubInterface`.
///
/// Every ledger call is a request to the peer; a transaction's requests go
/// one at a time (the peer drops a second one sent while the first is
/// pending), so calls made at once (`join!`) queue here instead of failing.
///
/// ```
/// use ccaas_shim::{Chaincode, Response, Stub};
///
/// struct Counter;
///
/// impl Chaincode for Counter {
///     async fn invoke(&self, stub: &Stub) -> Response {
///         let key = "count";
///         let count = match stub.get_state(key).await {
///             Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).parse::<u64>().unwrap_or(0),
///             Ok(None) => 0,
///             Err(e) => return Response::error(e.to_string()),
///         };
///         let next = (count + 1).to_string();
///         match stub.put_state(key, next.as_bytes()).await {
///             Ok(()) => Response::success(next),
///             Err(e) => Response::error(e.to_string()),
///         }
///     }
/// }
/// ```
pub struct Stub {
    context: Arc<TxContext>,
}

/// Go's `emptyKeySubstitute`: an empty range start is sent as this, so an
/// unbounded range skips the composite keys (which start with U+0000).
pub const EMPTY_KEY_SUBSTITUTE: &str = "\u{1}";

fn check_simple_key(key: &str) -> Result<(), StubError> {
    if key.starts_with('\0') {
        return Err(StubError::InvalidKey {
            key: key.to_owned(),
            reason: "a simple key must not start with U+0000, which marks composite keys",
        });
    }
    Ok(())
}

fn check_not_empty(key: &str) -> Result<(), StubError> {
    if key.is_empty() {
        return Err(StubError::InvalidKey {
            key: String::new(),
            reason: "a key must not be empty",
        });
    }
    Ok(())
}

impl Stub {
    pub(crate) fn new(context: Arc<TxContext>) -> Self {
        Stub { context }
    }

    /// The transaction's arguments, as sent.
    pub fn args(&self) -> &[Vec<u8>] {
        &self.context.input.args
    }

    /// The arguments as strings (invalid UTF-8 replaced by U+FFFD).
    pub fn string_args(&self) -> Vec<String> {
        self.args()
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    /// The first argument as a string (empty when there is none or it is
    /// not UTF-8): the function, by convention.
    pub fn function(&self) -> &str {
        self.args()
            .first()
            .and_then(|a| std::str::from_utf8(a).ok())
            .unwrap_or("")
    }

    /// The function (first argument) and the other arguments, as Go's
    /// `GetFunctionAndParameters`.
    pub fn function_and_parameters(&self) -> (String, Vec<String>) {
        let mut args = self.string_args();
        if args.is_empty() {
            return (String::new(), Vec::new());
        }
        let function = args.remove(0);
        (function, args)
    }

    /// The arguments after the function, as bytes.
    pub fn parameters(&self) -> &[Vec<u8>] {
        self.args().get(1..).unwrap_or(&[])
    }

    /// Whether the peer sent this as INIT.
    pub fn is_init(&self) -> bool {
        self.context.input.is_init
    }

    /// The transaction ID.
    pub fn tx_id(&self) -> &str {
        &self.context.txid
    }

    /// The channel ID.
    pub fn channel_id(&self) -> &str {
        &self.context.channel_id
    }

    /// The decorations the peer's decorator plugins added.
    pub fn decorations(&self) -> &HashMap<String, Vec<u8>> {
        &self.context.input.decorations
    }

    /// The signed proposal (absent for some system-driven calls).
    pub fn signed_proposal(&self) -> Option<&SignedProposal> {
        self.context.proposal.as_ref().map(|p| &p.signed)
    }

    /// Who sent the transaction.
    pub fn creator(&self) -> Option<&Creator> {
        self.context.proposal.as_ref().map(|p| &p.creator)
    }

    /// The transient data (never written to the ledger); empty without a
    /// proposal.
    pub fn transient(&self) -> &HashMap<String, Vec<u8>> {
        static EMPTY: std::sync::OnceLock<HashMap<String, Vec<u8>>> = std::sync::OnceLock::new();
        match &self.context.proposal {
            Some(p) => &p.transient,
            None => EMPTY.get_or_init(HashMap::new),
        }
    }

    /// When the client made the proposal (the channel header's timestamp):
    /// the same on every endorsing peer, unlike the local clock.
    pub fn tx_timestamp(&self) -> Option<Timestamp> {
        self.context.proposal.as_ref().and_then(|p| p.timestamp)
    }

    /// The proposal's binding: SHA-256 of nonce ‖ creator ‖ epoch.
    pub fn binding(&self) -> Option<&[u8]> {
        self.context.proposal.as_ref().map(|p| p.binding.as_slice())
    }

    /// What the peer offered in READY (Fabric v3.1+ features).
    pub fn peer_capabilities(&self) -> PeerCapabilities {
        self.context.link.capabilities()
    }

    /// The value of `key`, `None` when absent (the peer answers absent and
    /// empty alike).
    pub async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>, StubError> {
        check_not_empty(key)?;
        let payload = GetState {
            key: key.to_owned(),
            collection: String::new(),
        }
        .encode_to_vec();
        let value = self.context.call(MessageType::GetState, payload).await?;
        Ok((!value.is_empty()).then_some(value))
    }

    /// Writes `value` under `key` (in the transaction's write set; the
    /// ledger changes when the transaction commits).
    pub async fn put_state(&self, key: &str, value: impl Into<Vec<u8>>) -> Result<(), StubError> {
        check_not_empty(key)?;
        check_simple_key(key)?;
        let payload = PutState {
            key: key.to_owned(),
            value: value.into(),
            collection: String::new(),
        }
        .encode_to_vec();
        self.context
            .call(MessageType::PutState, payload)
            .await
            .map(drop)
    }

    /// Deletes `key`.
    pub async fn del_state(&self, key: &str) -> Result<(), StubError> {
        check_not_empty(key)?;
        let payload = DelState {
            key: key.to_owned(),
            collection: String::new(),
        }
        .encode_to_vec();
        self.context
            .call(MessageType::DelState, payload)
            .await
            .map(drop)
    }

    /// The keys from `start` (inclusive; empty: the first simple key) to
    /// `end` (exclusive; empty: no end), in key order, fetched from the peer
    /// in its batches of 100 as the iterator is read.
    ///
    /// ```
    /// # async fn example(stub: &ccaas_shim::Stub) -> Result<(), ccaas_shim::StubError> {
    /// let mut keys = Vec::new();
    /// let mut range = stub.get_state_by_range("asset0", "asset9").await?;
    /// while let Some(record) = range.next().await {
    ///     keys.push(record?.key);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_state_by_range(
        &self,
        start: &str,
        end: &str,
    ) -> Result<StateIterator, StubError> {
        let start = if start.is_empty() {
            EMPTY_KEY_SUBSTITUTE
        } else {
            start
        };
        check_simple_key(start)?;
        check_simple_key(end)?;
        let payload = GetStateByRange {
            start_key: start.to_owned(),
            end_key: end.to_owned(),
            collection: String::new(),
            metadata: Vec::new(),
        }
        .encode_to_vec();
        let answer = self
            .context
            .call(MessageType::GetStateByRange, payload)
            .await?;
        StateIterator::start(Arc::clone(&self.context), "GET_STATE_BY_RANGE", &answer)
    }

    /// Sets the transaction's event (one per transaction; a later call
    /// replaces it). The peer drops it unless the transaction succeeds.
    pub fn set_event(&self, name: &str, payload: impl Into<Vec<u8>>) -> Result<(), StubError> {
        if name.is_empty() {
            return Err(StubError::EmptyEventName);
        }
        let event = ChaincodeEvent {
            chaincode_id: String::new(),
            tx_id: self.context.txid.clone(),
            event_name: name.to_owned(),
            payload: payload.into(),
        };
        *self.context.event.lock().unwrap_or_else(|p| p.into_inner()) = Some(event);
        Ok(())
    }
}

/// The records of a range query, pulled from the peer batch by batch.
/// Dropping it before the end closes it at the peer.
pub struct StateIterator {
    context: Arc<TxContext>,
    id: String,
    batch: std::vec::IntoIter<Kv>,
    has_more: bool,
}

fn decode_batch(
    request: &'static str,
    bytes: &[u8],
) -> Result<(QueryResponse, Vec<Kv>), StubError> {
    let response = QueryResponse::decode(bytes).map_err(|source| StubError::Malformed {
        request,
        message: "QueryResponse",
        source,
    })?;
    let records = response
        .results
        .iter()
        .map(|r| {
            Kv::decode(r.result_bytes.as_slice()).map_err(|source| StubError::Malformed {
                request,
                message: "queryresult.KV",
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((response, records))
}

impl StateIterator {
    fn start(
        context: Arc<TxContext>,
        request: &'static str,
        answer: &[u8],
    ) -> Result<Self, StubError> {
        let (response, records) = decode_batch(request, answer)?;
        Ok(StateIterator {
            context,
            id: response.id,
            batch: records.into_iter(),
            has_more: response.has_more,
        })
    }

    /// The next record, fetching the next batch when this one is used up;
    /// `None` at the end.
    pub async fn next(&mut self) -> Option<Result<Kv, StubError>> {
        loop {
            if let Some(record) = self.batch.next() {
                return Some(Ok(record));
            }
            if !self.has_more {
                return None;
            }
            let payload = QueryStateNext {
                id: self.id.clone(),
            }
            .encode_to_vec();
            let fetched = self
                .context
                .call(MessageType::QueryStateNext, payload)
                .await
                .and_then(|bytes| decode_batch("QUERY_STATE_NEXT", &bytes));
            match fetched {
                Ok((response, records)) => {
                    self.has_more = response.has_more;
                    self.batch = records.into_iter();
                }
                Err(e) => {
                    self.has_more = false;
                    return Some(Err(e));
                }
            }
        }
    }

    /// Reads every remaining record.
    pub async fn collect_all(mut self) -> Result<Vec<Kv>, StubError> {
        let mut all = Vec::new();
        while let Some(record) = self.next().await {
            all.push(record?);
        }
        Ok(all)
    }

    /// Closes the iterator at the peer now (dropping it closes it before
    /// the transaction's next request).
    pub async fn close(mut self) -> Result<(), StubError> {
        if !self.has_more {
            return Ok(());
        }
        self.has_more = false;
        let payload = QueryStateClose {
            id: self.id.clone(),
        }
        .encode_to_vec();
        self.context
            .call(MessageType::QueryStateClose, payload)
            .await
            .map(drop)
    }
}

impl Drop for StateIterator {
    fn drop(&mut self) {
        if self.has_more {
            self.context
                .to_close
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(std::mem::take(&mut self.id));
        }
    }
}
