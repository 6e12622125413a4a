//! Package `protos` of Fabric's protobufs (`peer/chaincode_shim.proto`,
//! `peer/chaincode.proto`, `peer/proposal.proto`,
//! `peer/proposal_response.proto`, `peer/chaincode_event.proto`).

use std::collections::HashMap;

/// `google.protobuf.Timestamp`, wire-identical.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp {
            seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(since.subsec_nanos()).unwrap_or(0),
        }
    }
}

/// The type of a [`ChaincodeMessage`] (`ChaincodeMessage.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MessageType {
    /// UNDEFINED.
    Undefined = 0,
    /// REGISTER: the chaincode's first message, with its package ID.
    Register = 1,
    /// REGISTERED: the peer accepted the package ID.
    Registered = 2,
    /// INIT: run the chaincode's init.
    Init = 3,
    /// READY: the peer is ready (v3.1+: with `ChaincodeAdditionalParams`).
    Ready = 4,
    /// TRANSACTION: run the chaincode.
    Transaction = 5,
    /// COMPLETED: a transaction's answer, with a `Response`.
    Completed = 6,
    /// ERROR: a failed transaction or request.
    Error = 7,
    /// GET_STATE.
    GetState = 8,
    /// PUT_STATE.
    PutState = 9,
    /// DEL_STATE.
    DelState = 10,
    /// INVOKE_CHAINCODE.
    InvokeChaincode = 11,
    /// RESPONSE: a request's answer.
    Response = 13,
    /// GET_STATE_BY_RANGE.
    GetStateByRange = 14,
    /// GET_QUERY_RESULT.
    GetQueryResult = 15,
    /// QUERY_STATE_NEXT.
    QueryStateNext = 16,
    /// QUERY_STATE_CLOSE.
    QueryStateClose = 17,
    /// KEEPALIVE.
    Keepalive = 18,
    /// GET_HISTORY_FOR_KEY.
    GetHistoryForKey = 19,
    /// GET_STATE_METADATA.
    GetStateMetadata = 20,
    /// PUT_STATE_METADATA.
    PutStateMetadata = 21,
    /// GET_PRIVATE_DATA_HASH.
    GetPrivateDataHash = 22,
    /// PURGE_PRIVATE_DATA (v2.5+).
    PurgePrivateData = 23,
    /// WRITE_BATCH_STATE (v3.1+, when READY offered it).
    WriteBatchState = 24,
    /// GET_STATE_MULTIPLE (v3.1+, when READY offered it).
    GetStateMultiple = 25,
}

impl MessageType {
    /// The name Fabric's logs use (`GET_STATE`, ...).
    pub fn fabric_name(self) -> &'static str {
        match self {
            MessageType::Undefined => "UNDEFINED",
            MessageType::Register => "REGISTER",
            MessageType::Registered => "REGISTERED",
            MessageType::Init => "INIT",
            MessageType::Ready => "READY",
            MessageType::Transaction => "TRANSACTION",
            MessageType::Completed => "COMPLETED",
            MessageType::Error => "ERROR",
            MessageType::GetState => "GET_STATE",
            MessageType::PutState => "PUT_STATE",
            MessageType::DelState => "DEL_STATE",
            MessageType::InvokeChaincode => "INVOKE_CHAINCODE",
            MessageType::Response => "RESPONSE",
            MessageType::GetStateByRange => "GET_STATE_BY_RANGE",
            MessageType::GetQueryResult => "GET_QUERY_RESULT",
            MessageType::QueryStateNext => "QUERY_STATE_NEXT",
            MessageType::QueryStateClose => "QUERY_STATE_CLOSE",
            MessageType::Keepalive => "KEEPALIVE",
            MessageType::GetHistoryForKey => "GET_HISTORY_FOR_KEY",
            MessageType::GetStateMetadata => "GET_STATE_METADATA",
            MessageType::PutStateMetadata => "PUT_STATE_METADATA",
            MessageType::GetPrivateDataHash => "GET_PRIVATE_DATA_HASH",
            MessageType::PurgePrivateData => "PURGE_PRIVATE_DATA",
            MessageType::WriteBatchState => "WRITE_BATCH_STATE",
            MessageType::GetStateMultiple => "GET_STATE_MULTIPLE",
        }
    }
}

/// The one message of the Connect stream, both ways.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChaincodeMessage {
    /// The [`MessageType`], as its number (unknown numbers are kept).
    #[prost(enumeration = "MessageType", tag = "1")]
    pub r#type: i32,
    /// When the message was made.
    #[prost(message, optional, tag = "2")]
    pub timestamp: Option<Timestamp>,
    /// The type's payload, itself a marshalled message.
    #[prost(bytes = "vec", tag = "3")]
    pub payload: Vec<u8>,
    /// The transaction ID.
    #[prost(string, tag = "4")]
    pub txid: String,
    /// The signed proposal of a TRANSACTION or INIT.
    #[prost(message, optional, tag = "5")]
    pub proposal: Option<SignedProposal>,
    /// The event a COMPLETED carries.
    #[prost(message, optional, tag = "6")]
    pub chaincode_event: Option<ChaincodeEvent>,
    /// The channel ID.
    #[prost(string, tag = "7")]
    pub channel_id: String,
}

impl ChaincodeMessage {
    /// A message of `kind` with `payload`, no transaction.
    pub fn new(kind: MessageType, payload: Vec<u8>) -> Self {
        ChaincodeMessage {
            r#type: kind as i32,
            payload,
            ..Default::default()
        }
    }

    /// A message of `kind` for the transaction `txid` on `channel_id`.
    pub fn for_tx(kind: MessageType, payload: Vec<u8>, channel_id: &str, txid: &str) -> Self {
        ChaincodeMessage {
            r#type: kind as i32,
            payload,
            txid: txid.to_owned(),
            channel_id: channel_id.to_owned(),
            ..Default::default()
        }
    }

    /// The type, when it is one this crate knows.
    pub fn kind(&self) -> Option<MessageType> {
        MessageType::try_from(self.r#type).ok()
    }

    /// The type's Fabric name, or its number when unknown.
    pub fn kind_name(&self) -> String {
        match self.kind() {
            Some(kind) => kind.fabric_name().to_owned(),
            None => format!("type {}", self.r#type),
        }
    }
}

/// `ChaincodeID`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChaincodeId {
    /// Path (unused by CCaaS).
    #[prost(string, tag = "1")]
    pub path: String,
    /// Name: the package ID in REGISTER; `cc` or `cc/channel` in INVOKE_CHAINCODE.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Version (unused by CCaaS).
    #[prost(string, tag = "3")]
    pub version: String,
}

/// `ChaincodeInput`: a transaction's arguments.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChaincodeInput {
    /// The arguments; the first is usually the function.
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub args: Vec<Vec<u8>>,
    /// Decorations added by the peer's decoration plugins.
    #[prost(map = "string, bytes", tag = "2")]
    pub decorations: HashMap<String, Vec<u8>>,
    /// Whether this is an init.
    #[prost(bool, tag = "3")]
    pub is_init: bool,
}

/// `ChaincodeSpec`: what INVOKE_CHAINCODE calls.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChaincodeSpec {
    /// The language (unused here).
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// The callee: `name` is `cc` or `cc/channel`.
    #[prost(message, optional, tag = "2")]
    pub chaincode_id: Option<ChaincodeId>,
    /// The callee's arguments.
    #[prost(message, optional, tag = "3")]
    pub input: Option<ChaincodeInput>,
    /// Timeout (unused by the peer).
    #[prost(int32, tag = "4")]
    pub timeout: i32,
}

/// `ChaincodeAdditionalParams`: READY's payload from Fabric v3.1.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct ChaincodeAdditionalParams {
    /// The peer accepts WRITE_BATCH_STATE.
    #[prost(bool, tag = "1")]
    pub use_write_batch: bool,
    /// Most records in one WRITE_BATCH_STATE.
    #[prost(uint32, tag = "2")]
    pub max_size_write_batch: u32,
    /// The peer accepts GET_STATE_MULTIPLE.
    #[prost(bool, tag = "3")]
    pub use_get_multiple_keys: bool,
    /// Most keys in one GET_STATE_MULTIPLE.
    #[prost(uint32, tag = "4")]
    pub max_size_get_multiple_keys: u32,
}

/// `ChaincodeEvent`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChaincodeEvent {
    /// The chaincode's name.
    #[prost(string, tag = "1")]
    pub chaincode_id: String,
    /// The transaction ID.
    #[prost(string, tag = "2")]
    pub tx_id: String,
    /// The event's name.
    #[prost(string, tag = "3")]
    pub event_name: String,
    /// The event's payload.
    #[prost(bytes = "vec", tag = "4")]
    pub payload: Vec<u8>,
}

/// `Response`: what COMPLETED carries.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Response {
    /// Status: below 400 is endorsable (200 OK, 500 error by convention).
    #[prost(int32, tag = "1")]
    pub status: i32,
    /// Message (errors).
    #[prost(string, tag = "2")]
    pub message: String,
    /// Payload (results).
    #[prost(bytes = "vec", tag = "3")]
    pub payload: Vec<u8>,
}

/// `GetState` (also GET_PRIVATE_DATA_HASH's payload).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GetState {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The private data collection; empty for public state.
    #[prost(string, tag = "2")]
    pub collection: String,
}

/// `PutState`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PutState {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
    /// The private data collection; empty for public state.
    #[prost(string, tag = "3")]
    pub collection: String,
}

/// `DelState` (also PURGE_PRIVATE_DATA's payload).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct DelState {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The private data collection; empty for public state.
    #[prost(string, tag = "2")]
    pub collection: String,
}

/// `GetStateByRange`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GetStateByRange {
    /// First key, inclusive.
    #[prost(string, tag = "1")]
    pub start_key: String,
    /// Last key, exclusive; empty means unbounded.
    #[prost(string, tag = "2")]
    pub end_key: String,
    /// The private data collection; empty for public state.
    #[prost(string, tag = "3")]
    pub collection: String,
    /// A marshalled [`QueryMetadata`] (pagination), or empty.
    #[prost(bytes = "vec", tag = "4")]
    pub metadata: Vec<u8>,
}

/// `GetQueryResult`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GetQueryResult {
    /// The rich query (CouchDB selector JSON).
    #[prost(string, tag = "1")]
    pub query: String,
    /// The private data collection; empty for public state.
    #[prost(string, tag = "2")]
    pub collection: String,
    /// A marshalled [`QueryMetadata`] (pagination), or empty.
    #[prost(bytes = "vec", tag = "3")]
    pub metadata: Vec<u8>,
}

/// `QueryMetadata`: pagination of a query.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct QueryMetadata {
    /// Records per page.
    #[prost(int32, tag = "1")]
    pub page_size: i32,
    /// Where the page starts.
    #[prost(string, tag = "2")]
    pub bookmark: String,
}

/// `GetHistoryForKey`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GetHistoryForKey {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
}

/// `QueryStateNext`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct QueryStateNext {
    /// The iterator's ID.
    #[prost(string, tag = "1")]
    pub id: String,
}

/// `QueryStateClose`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct QueryStateClose {
    /// The iterator's ID.
    #[prost(string, tag = "1")]
    pub id: String,
}

/// `QueryResultBytes`: one marshalled `KV` or `KeyModification`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct QueryResultBytes {
    /// The marshalled record.
    #[prost(bytes = "vec", tag = "1")]
    pub result_bytes: Vec<u8>,
}

/// `QueryResponse`: a batch of query results.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct QueryResponse {
    /// The records of this batch.
    #[prost(message, repeated, tag = "1")]
    pub results: Vec<QueryResultBytes>,
    /// More records follow (pull them with QUERY_STATE_NEXT).
    #[prost(bool, tag = "2")]
    pub has_more: bool,
    /// The iterator's ID.
    #[prost(string, tag = "3")]
    pub id: String,
    /// A marshalled [`QueryResponseMetadata`] (pagination), or empty.
    #[prost(bytes = "vec", tag = "4")]
    pub metadata: Vec<u8>,
}

/// `QueryResponseMetadata`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct QueryResponseMetadata {
    /// Records in this page.
    #[prost(int32, tag = "1")]
    pub fetched_records_count: i32,
    /// Where the next page starts.
    #[prost(string, tag = "2")]
    pub bookmark: String,
}

/// `StateMetadata`: one metadata entry of a key.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StateMetadata {
    /// The entry's name (`VALIDATION_PARAMETER` for key-level endorsement).
    #[prost(string, tag = "1")]
    pub metakey: String,
    /// The entry's value.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `StateMetadataResult`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StateMetadataResult {
    /// Every entry of the key.
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<StateMetadata>,
}

/// `GetStateMetadata`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GetStateMetadata {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The private data collection; empty for public state.
    #[prost(string, tag = "2")]
    pub collection: String,
}

/// `PutStateMetadata`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PutStateMetadata {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The private data collection; empty for public state.
    #[prost(string, tag = "3")]
    pub collection: String,
    /// The entry.
    #[prost(message, optional, tag = "4")]
    pub metadata: Option<StateMetadata>,
}

/// `WriteRecord.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WriteRecordType {
    /// UNDEFINED.
    Undefined = 0,
    /// PUT_STATE.
    PutState = 9,
    /// DEL_STATE.
    DelState = 10,
    /// PUT_STATE_METADATA.
    PutStateMetadata = 21,
    /// PURGE_PRIVATE_DATA.
    PurgePrivateData = 23,
}

/// `WriteRecord`: one write of a WRITE_BATCH_STATE.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct WriteRecord {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value (PUT_STATE).
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
    /// The private data collection; empty for public state.
    #[prost(string, tag = "3")]
    pub collection: String,
    /// The metadata entry (PUT_STATE_METADATA).
    #[prost(message, optional, tag = "4")]
    pub metadata: Option<StateMetadata>,
    /// The kind of write.
    #[prost(enumeration = "WriteRecordType", tag = "5")]
    pub r#type: i32,
}

/// `WriteBatchState`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct WriteBatchState {
    /// The writes, in order.
    #[prost(message, repeated, tag = "1")]
    pub rec: Vec<WriteRecord>,
}

/// `GetStateMultiple`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GetStateMultiple {
    /// The keys.
    #[prost(string, repeated, tag = "1")]
    pub keys: Vec<String>,
    /// The private data collection; empty for public state.
    #[prost(string, tag = "2")]
    pub collection: String,
}

/// `GetStateMultipleResult`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GetStateMultipleResult {
    /// The values, in the order of the keys; empty = absent.
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub values: Vec<Vec<u8>>,
}

/// `SignedProposal`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignedProposal {
    /// A marshalled [`Proposal`].
    #[prost(bytes = "vec", tag = "1")]
    pub proposal_bytes: Vec<u8>,
    /// The creator's signature over `proposal_bytes`.
    #[prost(bytes = "vec", tag = "2")]
    pub signature: Vec<u8>,
}

/// `Proposal`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Proposal {
    /// A marshalled [`crate::common::Header`].
    #[prost(bytes = "vec", tag = "1")]
    pub header: Vec<u8>,
    /// A marshalled [`ChaincodeProposalPayload`].
    #[prost(bytes = "vec", tag = "2")]
    pub payload: Vec<u8>,
    /// Extension.
    #[prost(bytes = "vec", tag = "3")]
    pub extension: Vec<u8>,
}

/// `ChaincodeProposalPayload`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChaincodeProposalPayload {
    /// A marshalled `ChaincodeInvocationSpec`.
    #[prost(bytes = "vec", tag = "1")]
    pub input: Vec<u8>,
    /// The transient data (never written to the ledger).
    #[prost(map = "string, bytes", tag = "2")]
    pub transient_map: HashMap<String, Vec<u8>>,
}

/// `ChaincodeInvocationSpec`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChaincodeInvocationSpec {
    /// The invoked chaincode and its input.
    #[prost(message, optional, tag = "1")]
    pub chaincode_spec: Option<ChaincodeSpec>,
}
