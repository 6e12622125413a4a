//! Package `msp` of Fabric's protobufs (`msp/identities.proto`,
//! `msp/msp_principal.proto`).

/// `SerializedIdentity`: a transaction's creator.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SerializedIdentity {
    /// The MSP ID.
    #[prost(string, tag = "1")]
    pub mspid: String,
    /// A PEM X.509 certificate, or a marshalled [`SerializedIdemixIdentity`].
    #[prost(bytes = "vec", tag = "2")]
    pub id_bytes: Vec<u8>,
}

/// `SerializedIdemixIdentity`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SerializedIdemixIdentity {
    /// Pseudonym, x.
    #[prost(bytes = "vec", tag = "1")]
    pub nym_x: Vec<u8>,
    /// Pseudonym, y.
    #[prost(bytes = "vec", tag = "2")]
    pub nym_y: Vec<u8>,
    /// A marshalled `OrganizationUnit`.
    #[prost(bytes = "vec", tag = "3")]
    pub ou: Vec<u8>,
    /// A marshalled `MSPRole`.
    #[prost(bytes = "vec", tag = "4")]
    pub role: Vec<u8>,
    /// The proof.
    #[prost(bytes = "vec", tag = "5")]
    pub proof: Vec<u8>,
}

/// `MSPPrincipal`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MspPrincipal {
    /// `Classification`: ROLE is 0.
    #[prost(int32, tag = "1")]
    pub principal_classification: i32,
    /// A marshalled [`MspRole`] for ROLE.
    #[prost(bytes = "vec", tag = "2")]
    pub principal: Vec<u8>,
}

/// `MSPRole`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MspRole {
    /// The MSP ID.
    #[prost(string, tag = "1")]
    pub msp_identifier: String,
    /// `MSPRoleType`: MEMBER 0, ADMIN 1, CLIENT 2, PEER 3.
    #[prost(int32, tag = "2")]
    pub role: i32,
}

/// `OrganizationUnit` (`msp/msp_principal.proto`): an Idemix identity's OU.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct OrganizationUnit {
    /// The MSP ID.
    #[prost(string, tag = "1")]
    pub msp_identifier: String,
    /// The OU.
    #[prost(string, tag = "2")]
    pub organizational_unit_identifier: String,
    /// The hash of the certificates chain the OU is certified by.
    #[prost(bytes = "vec", tag = "3")]
    pub certifiers_identifier: Vec<u8>,
}
