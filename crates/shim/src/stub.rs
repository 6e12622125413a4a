//! The [`Stub`]: what a transaction sees of the ledger and of its proposal,
//! the whole of Go's `ChaincodeStubInterface` in Rust's idiom.

use crate::chaincode::Response;
use crate::composite;
use crate::context::TxContext;
use crate::proposal::Creator;
use crate::query::{self, HistoryIterator, Page, StateIterator};
use crate::stream::PeerCapabilities;
use ccaas_proto::{
    ChaincodeEvent, ChaincodeId, ChaincodeInput, ChaincodeMessage, ChaincodeSpec, DelState,
    GetHistoryForKey, GetQueryResult, GetState, GetStateByRange, GetStateMetadata,
    GetStateMultiple, GetStateMultipleResult, Message, MessageType, PutState, PutStateMetadata,
    QueryMetadata, SignedProposal, StateMetadata, StateMetadataResult, Timestamp, WriteRecord,
    WriteRecordType,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The metakey of a key's endorsement policy in its state metadata.
pub const VALIDATION_PARAMETER: &str = "VALIDATION_PARAMETER";

pub use crate::composite::EMPTY_KEY_SUBSTITUTE;

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
    /// An earlier request of the transaction got no answer: the peer takes
    /// one request per transaction at a time and may still hold it.
    #[error("{request} was not sent: the peer never answered this transaction's earlier {earlier}, and it takes one request per transaction at a time")]
    EarlierUnanswered {
        /// The request not sent.
        request: &'static str,
        /// The request that got no answer.
        earlier: &'static str,
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
    /// The peer answered with another number of values than keys asked.
    #[error("the peer answered {request} for {expected} keys with {found} values")]
    WrongCount {
        /// The request.
        request: &'static str,
        /// Keys asked.
        expected: usize,
        /// Values answered.
        found: usize,
    },
    /// Private data needs a collection.
    #[error("collection must not be an empty string")]
    EmptyCollection,
    /// An event needs a name.
    #[error("an event name must not be empty")]
    EmptyEventName,
    /// A page size the peer would not take.
    #[error("page size must be greater than 0, found {found}")]
    PageSize {
        /// The size given.
        found: i32,
    },
    /// A composite key could not be made.
    #[error(transparent)]
    CompositeKey(#[from] crate::composite::CompositeKeyError),
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

fn check_collection(collection: &str) -> Result<(), StubError> {
    if collection.is_empty() {
        return Err(StubError::EmptyCollection);
    }
    Ok(())
}

fn pagination(page_size: i32, bookmark: &str) -> Result<Vec<u8>, StubError> {
    if page_size <= 0 {
        return Err(StubError::PageSize { found: page_size });
    }
    Ok(QueryMetadata {
        page_size,
        bookmark: bookmark.to_owned(),
    }
    .encode_to_vec())
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

impl Stub {
    pub(crate) fn new(context: Arc<TxContext>) -> Self {
        Stub { context }
    }

    // ---- the transaction and its proposal ----

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

    /// Every argument concatenated, as Go's `GetArgsSlice`.
    pub fn args_slice(&self) -> Vec<u8> {
        self.args().concat()
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
        self.context.proposal.as_ref().map(|p| p.signed())
    }

    /// Who sent the transaction (Go's `GetCreator`, decoded; `raw` holds
    /// the bytes Go returns).
    pub fn creator(&self) -> Option<&Creator> {
        self.context.proposal.as_ref().map(|p| p.creator())
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

    // ---- reads ----

    async fn read(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, StubError> {
        let payload = GetState {
            key: key.to_owned(),
            collection: collection.to_owned(),
        }
        .encode_to_vec();
        let value = self.context.call(MessageType::GetState, payload).await?;
        Ok((!value.is_empty()).then_some(value))
    }

    async fn read_many(
        &self,
        collection: &str,
        keys: &[&str],
    ) -> Result<Vec<Option<Vec<u8>>>, StubError> {
        let Some(most) = self.peer_capabilities().get_multiple() else {
            // One GET_STATE at a time, as the peer requires without it.
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                values.push(self.read(collection, key).await?);
            }
            return Ok(values);
        };
        let most = usize::try_from(most).unwrap_or(usize::MAX).max(1);
        let mut values = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(most) {
            let payload = GetStateMultiple {
                keys: chunk.iter().map(|k| (*k).to_owned()).collect(),
                collection: collection.to_owned(),
            }
            .encode_to_vec();
            let answer = self
                .context
                .call(MessageType::GetStateMultiple, payload)
                .await?;
            let result = GetStateMultipleResult::decode(answer.as_slice()).map_err(|source| {
                StubError::Malformed {
                    request: "GET_STATE_MULTIPLE",
                    message: "GetStateMultipleResult",
                    source,
                }
            })?;
            if result.values.len() != chunk.len() {
                return Err(StubError::WrongCount {
                    request: "GET_STATE_MULTIPLE",
                    expected: chunk.len(),
                    found: result.values.len(),
                });
            }
            values.extend(
                result
                    .values
                    .into_iter()
                    .map(|v| (!v.is_empty()).then_some(v)),
            );
        }
        Ok(values)
    }

    /// The value of `key`, `None` when absent (the peer answers absent and
    /// empty alike).
    pub async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>, StubError> {
        self.read("", key).await
    }

    /// The values of `keys`, in order: with GET_STATE_MULTIPLE when the peer
    /// offers it (Fabric v3.1+), in requests of at most its maximum;
    /// otherwise one GET_STATE after another. Same answers either way.
    pub async fn get_multiple_states(
        &self,
        keys: &[&str],
    ) -> Result<Vec<Option<Vec<u8>>>, StubError> {
        self.read_many("", keys).await
    }

    /// The value of `key` in the private data `collection`.
    pub async fn get_private_data(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        check_collection(collection)?;
        self.read(collection, key).await
    }

    /// The values of `keys` in the private data `collection`, as
    /// [`Stub::get_multiple_states`].
    pub async fn get_multiple_private_data(
        &self,
        collection: &str,
        keys: &[&str],
    ) -> Result<Vec<Option<Vec<u8>>>, StubError> {
        check_collection(collection)?;
        self.read_many(collection, keys).await
    }

    /// The SHA-256 of `key`'s value in `collection` (readable by every
    /// member of the channel, also those outside the collection).
    pub async fn get_private_data_hash(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        check_collection(collection)?;
        let payload = GetState {
            key: key.to_owned(),
            collection: collection.to_owned(),
        }
        .encode_to_vec();
        let hash = self
            .context
            .call(MessageType::GetPrivateDataHash, payload)
            .await?;
        Ok((!hash.is_empty()).then_some(hash))
    }

    // ---- writes ----

    async fn write(&self, record: WriteRecord) -> Result<(), StubError> {
        let metadata = record.r#type == WriteRecordType::PutStateMetadata as i32;
        if self.context.batched(&record, metadata) {
            return Ok(());
        }
        let (kind, payload) = match WriteRecordType::try_from(record.r#type) {
            Ok(WriteRecordType::PutState) => (
                MessageType::PutState,
                PutState {
                    key: record.key,
                    value: record.value,
                    collection: record.collection,
                }
                .encode_to_vec(),
            ),
            Ok(WriteRecordType::PutStateMetadata) => (
                MessageType::PutStateMetadata,
                PutStateMetadata {
                    key: record.key,
                    collection: record.collection,
                    metadata: record.metadata,
                }
                .encode_to_vec(),
            ),
            Ok(WriteRecordType::PurgePrivateData) => (
                MessageType::PurgePrivateData,
                DelState {
                    key: record.key,
                    collection: record.collection,
                }
                .encode_to_vec(),
            ),
            _ => (
                MessageType::DelState,
                DelState {
                    key: record.key,
                    collection: record.collection,
                }
                .encode_to_vec(),
            ),
        };
        self.context.call(kind, payload).await.map(drop)
    }

    fn record(kind: WriteRecordType, collection: &str, key: &str) -> WriteRecord {
        WriteRecord {
            key: key.to_owned(),
            collection: collection.to_owned(),
            r#type: kind as i32,
            ..Default::default()
        }
    }

    /// Writes `value` under `key` (in the transaction's write set; the
    /// ledger changes when the transaction commits). Composite keys (from
    /// [`composite::create_composite_key`]) are written this way too.
    pub async fn put_state(&self, key: &str, value: impl Into<Vec<u8>>) -> Result<(), StubError> {
        check_not_empty(key)?;
        let mut record = Self::record(WriteRecordType::PutState, "", key);
        record.value = value.into();
        self.write(record).await
    }

    /// Deletes `key`.
    pub async fn del_state(&self, key: &str) -> Result<(), StubError> {
        self.write(Self::record(WriteRecordType::DelState, "", key))
            .await
    }

    /// Writes `value` under `key` in the private data `collection`.
    pub async fn put_private_data(
        &self,
        collection: &str,
        key: &str,
        value: impl Into<Vec<u8>>,
    ) -> Result<(), StubError> {
        check_collection(collection)?;
        check_not_empty(key)?;
        let mut record = Self::record(WriteRecordType::PutState, collection, key);
        record.value = value.into();
        self.write(record).await
    }

    /// Deletes `key` from the private data `collection`.
    pub async fn del_private_data(&self, collection: &str, key: &str) -> Result<(), StubError> {
        check_collection(collection)?;
        self.write(Self::record(WriteRecordType::DelState, collection, key))
            .await
    }

    /// Deletes `key` from `collection` and purges its history from the
    /// private data store (Fabric v2.5+).
    pub async fn purge_private_data(&self, collection: &str, key: &str) -> Result<(), StubError> {
        check_collection(collection)?;
        self.write(Self::record(
            WriteRecordType::PurgePrivateData,
            collection,
            key,
        ))
        .await
    }

    // ---- write batches (Fabric v3.1) ----

    /// Starts a write batch: until [`Stub::finish_write_batch`] (or the end of
    /// the transaction, which finishes it), writes are collected and sent
    /// in WRITE_BATCH_STATE messages of at most the peer's maximum records.
    /// A peer that did not offer batches (v2.5, v3.0) gets each write on
    /// its own, as without a batch: the ledger ends the same either way.
    pub fn start_write_batch(&self) {
        if self.peer_capabilities().write_batch().is_none() {
            return;
        }
        let mut batch = self.context.batch.lock().unwrap_or_else(|p| p.into_inner());
        if batch.is_none() {
            *batch = Some(Default::default());
        }
    }

    /// Sends the writes of the batch started with [`Stub::start_write_batch`].
    pub async fn finish_write_batch(&self) -> Result<(), StubError> {
        self.context.finish_batch().await
    }

    // ---- state metadata and key-level endorsement ----

    async fn metadata(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<HashMap<String, Vec<u8>>, StubError> {
        let payload = GetStateMetadata {
            key: key.to_owned(),
            collection: collection.to_owned(),
        }
        .encode_to_vec();
        let answer = self
            .context
            .call(MessageType::GetStateMetadata, payload)
            .await?;
        let result = StateMetadataResult::decode(answer.as_slice()).map_err(|source| {
            StubError::Malformed {
                request: "GET_STATE_METADATA",
                message: "StateMetadataResult",
                source,
            }
        })?;
        Ok(result
            .entries
            .into_iter()
            .map(|e| (e.metakey, e.value))
            .collect())
    }

    async fn put_metadata(
        &self,
        collection: &str,
        key: &str,
        metakey: &str,
        value: Vec<u8>,
    ) -> Result<(), StubError> {
        let mut record = Self::record(WriteRecordType::PutStateMetadata, collection, key);
        record.metadata = Some(StateMetadata {
            metakey: metakey.to_owned(),
            value,
        });
        self.write(record).await
    }

    /// Every metadata entry of `key`.
    pub async fn get_state_metadata(
        &self,
        key: &str,
    ) -> Result<HashMap<String, Vec<u8>>, StubError> {
        self.metadata("", key).await
    }

    /// Sets the metadata entry `metakey` of `key`.
    pub async fn put_state_metadata(
        &self,
        key: &str,
        metakey: &str,
        value: impl Into<Vec<u8>>,
    ) -> Result<(), StubError> {
        self.put_metadata("", key, metakey, value.into()).await
    }

    /// Every metadata entry of `key` in `collection`.
    pub async fn get_private_data_metadata(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<HashMap<String, Vec<u8>>, StubError> {
        check_collection(collection)?;
        self.metadata(collection, key).await
    }

    /// Sets the metadata entry `metakey` of `key` in `collection`.
    pub async fn put_private_data_metadata(
        &self,
        collection: &str,
        key: &str,
        metakey: &str,
        value: impl Into<Vec<u8>>,
    ) -> Result<(), StubError> {
        check_collection(collection)?;
        self.put_metadata(collection, key, metakey, value.into())
            .await
    }

    /// `key`'s endorsement policy (a marshalled `SignaturePolicyEnvelope`,
    /// see [`crate::statebased`]), `None` when it has none.
    pub async fn get_state_validation_parameter(
        &self,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        Ok(self.metadata("", key).await?.remove(VALIDATION_PARAMETER))
    }

    /// Sets `key`'s endorsement policy.
    pub async fn set_state_validation_parameter(
        &self,
        key: &str,
        policy: impl Into<Vec<u8>>,
    ) -> Result<(), StubError> {
        self.put_metadata("", key, VALIDATION_PARAMETER, policy.into())
            .await
    }

    /// `key`'s endorsement policy in `collection`.
    pub async fn get_private_data_validation_parameter(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        Ok(self
            .metadata(collection, key)
            .await?
            .remove(VALIDATION_PARAMETER))
    }

    /// Sets `key`'s endorsement policy in `collection`.
    pub async fn set_private_data_validation_parameter(
        &self,
        collection: &str,
        key: &str,
        policy: impl Into<Vec<u8>>,
    ) -> Result<(), StubError> {
        self.put_metadata(collection, key, VALIDATION_PARAMETER, policy.into())
            .await
    }

    // ---- queries ----

    async fn range(
        &self,
        collection: &str,
        start: &str,
        end: &str,
        metadata: Vec<u8>,
    ) -> Result<Vec<u8>, StubError> {
        let payload = GetStateByRange {
            start_key: start.to_owned(),
            end_key: end.to_owned(),
            collection: collection.to_owned(),
            metadata,
        }
        .encode_to_vec();
        self.context
            .call(MessageType::GetStateByRange, payload)
            .await
    }

    async fn rich(
        &self,
        collection: &str,
        query: &str,
        metadata: Vec<u8>,
    ) -> Result<Vec<u8>, StubError> {
        let payload = GetQueryResult {
            query: query.to_owned(),
            collection: collection.to_owned(),
            metadata,
        }
        .encode_to_vec();
        self.context
            .call(MessageType::GetQueryResult, payload)
            .await
    }

    fn iterator(&self, request: &'static str, answer: &[u8]) -> Result<StateIterator, StubError> {
        StateIterator::start(Arc::clone(&self.context), request, answer)
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
        let start = composite::simple_range_start(start);
        composite::validate_simple_key(start)?;
        composite::validate_simple_key(end)?;
        let answer = self.range("", start, end, Vec::new()).await?;
        self.iterator("GET_STATE_BY_RANGE", &answer)
    }

    /// One page of at most `page_size` keys of a range, from `bookmark`
    /// (empty for the first page). The peer allows pagination only in a
    /// transaction that writes nothing.
    pub async fn get_state_by_range_with_pagination(
        &self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, StubError> {
        let start = composite::simple_range_start(start);
        composite::validate_simple_key(start)?;
        composite::validate_simple_key(end)?;
        let answer = self
            .range("", start, end, pagination(page_size, bookmark)?)
            .await?;
        query::page(Arc::clone(&self.context), "GET_STATE_BY_RANGE", &answer).await
    }

    /// The composite keys of `object_type` whose first attributes are
    /// `attributes`.
    pub async fn get_state_by_partial_composite_key(
        &self,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<StateIterator, StubError> {
        let (start, end) = composite::partial_composite_key_range(object_type, attributes)?;
        let answer = self.range("", &start, &end, Vec::new()).await?;
        self.iterator("GET_STATE_BY_RANGE", &answer)
    }

    /// One page of [`Stub::get_state_by_partial_composite_key`].
    pub async fn get_state_by_partial_composite_key_with_pagination(
        &self,
        object_type: &str,
        attributes: &[&str],
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, StubError> {
        let metadata = pagination(page_size, bookmark)?;
        let (start, end) = composite::partial_composite_key_range(object_type, attributes)?;
        let answer = self.range("", &start, &end, metadata).await?;
        query::page(Arc::clone(&self.context), "GET_STATE_BY_RANGE", &answer).await
    }

    /// One page of every composite key (`"\x00"` to `"\x00\u{10FFFF}"`).
    pub async fn get_all_states_composite_key_with_pagination(
        &self,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, StubError> {
        let metadata = pagination(page_size, bookmark)?;
        let (start, end) = composite::all_composite_keys_range();
        let answer = self.range("", &start, &end, metadata).await?;
        query::page(Arc::clone(&self.context), "GET_STATE_BY_RANGE", &answer).await
    }

    /// The records a rich query (a CouchDB selector, JSON) selects; only on
    /// a CouchDB state database.
    pub async fn get_query_result(&self, query: &str) -> Result<StateIterator, StubError> {
        let answer = self.rich("", query, Vec::new()).await?;
        self.iterator("GET_QUERY_RESULT", &answer)
    }

    /// One page of a rich query.
    pub async fn get_query_result_with_pagination(
        &self,
        query: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, StubError> {
        let answer = self
            .rich("", query, pagination(page_size, bookmark)?)
            .await?;
        query::page(Arc::clone(&self.context), "GET_QUERY_RESULT", &answer).await
    }

    /// The keys of a range in the private data `collection`.
    pub async fn get_private_data_by_range(
        &self,
        collection: &str,
        start: &str,
        end: &str,
    ) -> Result<StateIterator, StubError> {
        check_collection(collection)?;
        let start = composite::simple_range_start(start);
        composite::validate_simple_key(start)?;
        composite::validate_simple_key(end)?;
        let answer = self.range(collection, start, end, Vec::new()).await?;
        self.iterator("GET_STATE_BY_RANGE", &answer)
    }

    /// The composite keys of `object_type` with `attributes` first, in `collection`.
    pub async fn get_private_data_by_partial_composite_key(
        &self,
        collection: &str,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<StateIterator, StubError> {
        check_collection(collection)?;
        let (start, end) = composite::partial_composite_key_range(object_type, attributes)?;
        let answer = self.range(collection, &start, &end, Vec::new()).await?;
        self.iterator("GET_STATE_BY_RANGE", &answer)
    }

    /// A rich query over the private data `collection`.
    pub async fn get_private_data_query_result(
        &self,
        collection: &str,
        query: &str,
    ) -> Result<StateIterator, StubError> {
        check_collection(collection)?;
        let answer = self.rich(collection, query, Vec::new()).await?;
        self.iterator("GET_QUERY_RESULT", &answer)
    }

    /// Every committed value of `key`, with the transaction that wrote it,
    /// when, and whether it was a delete (the peer's history database must
    /// be on).
    pub async fn get_history_for_key(&self, key: &str) -> Result<HistoryIterator, StubError> {
        let payload = GetHistoryForKey {
            key: key.to_owned(),
        }
        .encode_to_vec();
        let answer = self
            .context
            .call(MessageType::GetHistoryForKey, payload)
            .await?;
        HistoryIterator::start(Arc::clone(&self.context), "GET_HISTORY_FOR_KEY", &answer)
    }

    // ---- other chaincode ----

    /// Invokes `chaincode` (on `channel`, or this transaction's channel when
    /// `None`) with `args`, within this transaction, and returns its
    /// response. On another channel the call may only read. A callee that
    /// answers ERROR gives a status-500 response with its message.
    pub async fn invoke_chaincode<A: AsRef<[u8]>>(
        &self,
        chaincode: &str,
        args: &[A],
        channel: Option<&str>,
    ) -> Result<Response, StubError> {
        let name = match channel {
            Some(channel) if !channel.is_empty() => format!("{chaincode}/{channel}"),
            _ => chaincode.to_owned(),
        };
        let payload = ChaincodeSpec {
            chaincode_id: Some(ChaincodeId {
                name,
                ..Default::default()
            }),
            input: Some(ChaincodeInput {
                args: args.iter().map(|a| a.as_ref().to_vec()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec();
        let answer = self
            .context
            .call(MessageType::InvokeChaincode, payload)
            .await?;
        let callee =
            ChaincodeMessage::decode(answer.as_slice()).map_err(|source| StubError::Malformed {
                request: "INVOKE_CHAINCODE",
                message: "ChaincodeMessage",
                source,
            })?;
        match callee.kind() {
            Some(MessageType::Completed) => {
                let response =
                    ccaas_proto::Response::decode(callee.payload.as_slice()).map_err(|source| {
                        StubError::Malformed {
                            request: "INVOKE_CHAINCODE",
                            message: "Response",
                            source,
                        }
                    })?;
                Ok(response.into())
            }
            _ => Ok(Response::error(
                String::from_utf8_lossy(&callee.payload).into_owned(),
            )),
        }
    }
}
