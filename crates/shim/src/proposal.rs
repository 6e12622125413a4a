//! The signed proposal of a transaction, decoded once: creator, transient
//! data, timestamp, binding.

use ccaas_proto::common::{self, ChannelHeader};
use ccaas_proto::{Message, SignedProposal, Timestamp};
use prost::bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

/// A proposal the shim could not decode: the transaction fails with ERROR.
#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    /// A layer of the proposal is not the message it should be.
    #[error("the transaction's proposal is malformed: its {part} is not a valid `{message}`")]
    Malformed {
        /// Which part (`proposal_bytes`, `header`, ...).
        part: &'static str,
        /// The protobuf message expected there.
        message: &'static str,
        /// The decoder's error.
        #[source]
        source: prost::DecodeError,
    },
    /// The channel header's type is neither ENDORSER_TRANSACTION nor CONFIG.
    #[error("invalid channel header type: expected ENDORSER_TRANSACTION (3) or CONFIG (1), found {found}")]
    HeaderType {
        /// The type found.
        found: i32,
    },
}

/// Who sent the transaction: `msp.SerializedIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creator {
    /// The MSP ID (`Org1MSP`).
    pub mspid: String,
    /// A PEM X.509 certificate, or a marshalled Idemix identity.
    pub id_bytes: Vec<u8>,
    /// The marshalled `SerializedIdentity`, as Go's `GetCreator` returns it.
    pub raw: Vec<u8>,
}

/// What a transaction's signed proposal says. Every layer is decoded (and
/// checked) when the transaction arrives, as the Go shim does, but without
/// copying: the layers' `bytes` fields slice the proposal's one buffer, and
/// the owned values a chaincode may ask for (the signed proposal, the
/// creator) are made the first time it asks. Copying each nested layer out
/// of the one around it was 7 % of the instructions of a 1 x 1 transaction
/// with one read and one write under callgrind (issue 21).
#[derive(Debug)]
pub(crate) struct Decoded {
    /// `SignedProposal.proposal_bytes`, moved out of the message.
    proposal_bytes: Bytes,
    signature: Vec<u8>,
    signed: OnceLock<SignedProposal>,
    mspid: String,
    id_bytes: Bytes,
    creator_raw: Bytes,
    creator: OnceLock<Creator>,
    pub transient: HashMap<String, Vec<u8>>,
    pub timestamp: Option<Timestamp>,
    pub binding: Binding,
}

/// The proposal's binding, computed the first time it is asked for (few
/// chaincodes ask): hashing about 1 KiB for every transaction was 45 % of
/// the shim's instructions per empty transaction under callgrind (a CPU
/// without SHA instructions), 2.5 % of its CPU time on one with them.
#[derive(Debug)]
pub(crate) struct Binding {
    nonce: Bytes,
    creator: Bytes,
    epoch: u64,
    value: OnceLock<Vec<u8>>,
}

impl Binding {
    /// SHA-256 of nonce ‖ creator ‖ epoch.
    pub fn as_slice(&self) -> &[u8] {
        self.value
            .get_or_init(|| binding(&self.nonce, &self.creator, self.epoch))
    }
}

// The layers of a proposal, with the field numbers and types of
// ccaas-proto's `Proposal`, `common.Header`, `common.SignatureHeader`,
// `msp.SerializedIdentity` and `ChaincodeProposalPayload` (so a proposal
// decodes, or fails to, exactly as with them), but `bytes` fields as
// `Bytes`: decoded from a `Bytes`, they are slices of it, not copies.

#[derive(Clone, PartialEq, prost::Message)]
struct ProposalLayer {
    #[prost(bytes = "bytes", tag = "1")]
    header: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    payload: Bytes,
    #[prost(bytes = "bytes", tag = "3")]
    extension: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HeaderLayer {
    #[prost(bytes = "bytes", tag = "1")]
    channel_header: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    signature_header: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SignatureHeaderLayer {
    #[prost(bytes = "bytes", tag = "1")]
    creator: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    nonce: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
struct IdentityLayer {
    #[prost(string, tag = "1")]
    mspid: String,
    #[prost(bytes = "bytes", tag = "2")]
    id_bytes: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PayloadLayer {
    #[prost(bytes = "bytes", tag = "1")]
    input: Bytes,
    #[prost(map = "string, bytes", tag = "2")]
    transient_map: HashMap<String, Vec<u8>>,
}

fn decode<M: Message + Default>(
    bytes: Bytes,
    part: &'static str,
    message: &'static str,
) -> Result<M, ProposalError> {
    M::decode(bytes).map_err(|source| ProposalError::Malformed {
        part,
        message,
        source,
    })
}

impl Decoded {
    /// Decodes `signed` as the Go shim's `newChaincodeStub` does.
    pub fn new(signed: SignedProposal) -> Result<Self, ProposalError> {
        let proposal_bytes = Bytes::from(signed.proposal_bytes);
        let proposal: ProposalLayer = decode(proposal_bytes.clone(), "proposal_bytes", "Proposal")?;
        let header: HeaderLayer = decode(proposal.header, "header", "common.Header")?;
        let channel: ChannelHeader = decode(
            header.channel_header,
            "channel_header",
            "common.ChannelHeader",
        )?;
        if channel.r#type != common::HEADER_TYPE_ENDORSER_TRANSACTION
            && channel.r#type != common::HEADER_TYPE_CONFIG
        {
            return Err(ProposalError::HeaderType {
                found: channel.r#type,
            });
        }
        let signature: SignatureHeaderLayer = decode(
            header.signature_header,
            "signature_header",
            "common.SignatureHeader",
        )?;
        let identity: IdentityLayer = decode(
            signature.creator.clone(),
            "signature header's creator",
            "msp.SerializedIdentity",
        )?;
        let payload: PayloadLayer =
            decode(proposal.payload, "payload", "ChaincodeProposalPayload")?;
        Ok(Decoded {
            proposal_bytes,
            signature: signed.signature,
            signed: OnceLock::new(),
            mspid: identity.mspid,
            id_bytes: identity.id_bytes,
            creator_raw: signature.creator.clone(),
            creator: OnceLock::new(),
            transient: payload.transient_map,
            timestamp: channel.timestamp,
            binding: Binding {
                nonce: signature.nonce,
                creator: signature.creator,
                epoch: channel.epoch,
                value: OnceLock::new(),
            },
        })
    }

    /// The signed proposal, as the peer sent it.
    pub fn signed(&self) -> &SignedProposal {
        self.signed.get_or_init(|| SignedProposal {
            proposal_bytes: self.proposal_bytes.to_vec(),
            signature: self.signature.clone(),
        })
    }

    /// Who sent the transaction.
    pub fn creator(&self) -> &Creator {
        self.creator.get_or_init(|| Creator {
            mspid: self.mspid.clone(),
            id_bytes: self.id_bytes.to_vec(),
            raw: self.creator_raw.to_vec(),
        })
    }
}

/// The proposal's binding: SHA-256 of nonce ‖ creator ‖ epoch (8 bytes,
/// little-endian), as Fabric's `ComputeProposalBinding`.
pub(crate) fn binding(nonce: &[u8], creator: &[u8], epoch: u64) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(nonce);
    hasher.update(creator);
    hasher.update(epoch.to_le_bytes());
    hasher.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccaas_proto::common::{Header, SignatureHeader};
    use ccaas_proto::msp::SerializedIdentity;
    use ccaas_proto::{ChaincodeProposalPayload, Proposal};

    #[test]
    fn binding_is_sha256_of_nonce_creator_and_little_endian_epoch() {
        // sha256("n" "c" 01 00 00 00 00 00 00 00)
        let mut expected = Sha256::new();
        expected.update([b'n', b'c', 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(binding(b"n", b"c", 1), expected.finalize().to_vec());
    }

    #[test]
    fn the_binding_is_computed_when_first_asked_for() {
        let creator = SerializedIdentity {
            mspid: "Org1MSP".into(),
            id_bytes: b"cert".to_vec(),
        }
        .encode_to_vec();
        let header = Header {
            channel_header: ChannelHeader {
                r#type: common::HEADER_TYPE_ENDORSER_TRANSACTION,
                epoch: 7,
                ..Default::default()
            }
            .encode_to_vec(),
            signature_header: SignatureHeader {
                creator: creator.clone(),
                nonce: b"nonce".to_vec(),
            }
            .encode_to_vec(),
        };
        let proposal = Proposal {
            header: header.encode_to_vec(),
            payload: ChaincodeProposalPayload::default().encode_to_vec(),
            extension: Vec::new(),
        };
        let decoded = Decoded::new(SignedProposal {
            proposal_bytes: proposal.encode_to_vec(),
            signature: Vec::new(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(decoded.binding.value.get().is_none());
        assert_eq!(decoded.binding.as_slice(), binding(b"nonce", &creator, 7));
        assert_eq!(decoded.creator().raw, creator);
        assert_eq!(decoded.creator().mspid, "Org1MSP");
        assert_eq!(decoded.creator().id_bytes, b"cert");
        assert_eq!(
            decoded.signed().proposal_bytes,
            proposal.encode_to_vec(),
            "the signed proposal comes back as sent"
        );
    }

    #[test]
    fn a_garbled_proposal_names_the_layer() {
        let signed = SignedProposal {
            proposal_bytes: vec![0xff, 0xff],
            signature: Vec::new(),
        };
        let err = Decoded::new(signed).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("the transaction's proposal is malformed: its proposal_bytes is not a valid `Proposal`")
        );
    }
}
