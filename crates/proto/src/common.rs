//! Package `common` of Fabric's protobufs (`common/common.proto`,
//! `common/policies.proto`).

use crate::protos::Timestamp;

/// `Header`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Header {
    /// A marshalled [`ChannelHeader`].
    #[prost(bytes = "vec", tag = "1")]
    pub channel_header: Vec<u8>,
    /// A marshalled [`SignatureHeader`].
    #[prost(bytes = "vec", tag = "2")]
    pub signature_header: Vec<u8>,
}

/// `HeaderType::ENDORSER_TRANSACTION`.
pub const HEADER_TYPE_ENDORSER_TRANSACTION: i32 = 3;
/// `HeaderType::CONFIG`.
pub const HEADER_TYPE_CONFIG: i32 = 1;

/// `ChannelHeader`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChannelHeader {
    /// `HeaderType`: 3 for an endorser transaction.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Version.
    #[prost(int32, tag = "2")]
    pub version: i32,
    /// When the client made the proposal.
    #[prost(message, optional, tag = "3")]
    pub timestamp: Option<Timestamp>,
    /// The channel.
    #[prost(string, tag = "4")]
    pub channel_id: String,
    /// The transaction ID.
    #[prost(string, tag = "5")]
    pub tx_id: String,
    /// The epoch.
    #[prost(uint64, tag = "6")]
    pub epoch: u64,
    /// Extension.
    #[prost(bytes = "vec", tag = "7")]
    pub extension: Vec<u8>,
    /// The client's TLS certificate hash.
    #[prost(bytes = "vec", tag = "8")]
    pub tls_cert_hash: Vec<u8>,
}

/// `SignatureHeader`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignatureHeader {
    /// A marshalled [`crate::msp::SerializedIdentity`].
    #[prost(bytes = "vec", tag = "1")]
    pub creator: Vec<u8>,
    /// A nonce.
    #[prost(bytes = "vec", tag = "2")]
    pub nonce: Vec<u8>,
}

/// `SignaturePolicyEnvelope`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignaturePolicyEnvelope {
    /// Version (0).
    #[prost(int32, tag = "1")]
    pub version: i32,
    /// The rule.
    #[prost(message, optional, tag = "2")]
    pub rule: Option<SignaturePolicy>,
    /// The principals the rule refers to by index.
    #[prost(message, repeated, tag = "3")]
    pub identities: Vec<crate::msp::MspPrincipal>,
}

/// `SignaturePolicy`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignaturePolicy {
    /// The rule's kind.
    #[prost(oneof = "signature_policy::Type", tags = "1, 2")]
    pub r#type: Option<signature_policy::Type>,
}

/// The `oneof` of [`SignaturePolicy`].
pub mod signature_policy {
    /// `SignaturePolicy.Type`.
    #[derive(Clone, PartialEq, Eq, prost::Oneof)]
    pub enum Type {
        /// Signed by the identity at this index.
        #[prost(int32, tag = "1")]
        SignedBy(i32),
        /// N of the rules.
        #[prost(message, tag = "2")]
        NOutOf(super::NOutOf),
    }
}

/// `SignaturePolicy.NOutOf`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct NOutOf {
    /// How many rules must hold.
    #[prost(int32, tag = "1")]
    pub n: i32,
    /// The rules.
    #[prost(message, repeated, tag = "2")]
    pub rules: Vec<SignaturePolicy>,
}
