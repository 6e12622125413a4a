//! Package `queryresult` of Fabric's protobufs (`ledger/queryresult/kv_query_result.proto`).

use crate::protos::Timestamp;

/// `KV`: one record of a range or rich query.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Kv {
    /// The chaincode's namespace.
    #[prost(string, tag = "1")]
    pub namespace: String,
    /// The key.
    #[prost(string, tag = "2")]
    pub key: String,
    /// The value.
    #[prost(bytes = "vec", tag = "3")]
    pub value: Vec<u8>,
}

/// `KeyModification`: one entry of a key's history.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct KeyModification {
    /// The transaction that wrote it.
    #[prost(string, tag = "1")]
    pub tx_id: String,
    /// The value written.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
    /// When.
    #[prost(message, optional, tag = "3")]
    pub timestamp: Option<Timestamp>,
    /// Whether it was a delete.
    #[prost(bool, tag = "4")]
    pub is_delete: bool,
}
