//! The signed proposal of a transaction, decoded once: creator, transient
//! data, timestamp, binding.

use ccaas_proto::common::{self, ChannelHeader, Header, SignatureHeader};
use ccaas_proto::msp::SerializedIdentity;
use ccaas_proto::{ChaincodeProposalPayload, Message, Proposal, SignedProposal, Timestamp};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

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

/// What a transaction's signed proposal says.
#[derive(Debug, Clone)]
pub(crate) struct Decoded {
    pub signed: SignedProposal,
    pub creator: Creator,
    pub transient: HashMap<String, Vec<u8>>,
    pub timestamp: Option<Timestamp>,
    pub binding: Binding,
}

/// The proposal's binding, computed the first time it is asked for (few
/// chaincodes ask): hashing about 1 KiB for every transaction was 45 % of
/// the shim's instructions per empty transaction under callgrind (a CPU
/// without SHA instructions), 2.5 % of its CPU time on one with them.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    nonce: Vec<u8>,
    creator: Vec<u8>,
    epoch: u64,
    value: std::sync::OnceLock<Vec<u8>>,
}

impl Binding {
    /// SHA-256 of nonce ‖ creator ‖ epoch.
    pub fn as_slice(&self) -> &[u8] {
        self.value
            .get_or_init(|| binding(&self.nonce, &self.creator, self.epoch))
    }
}

fn decode<M: Message + Default>(
    bytes: &[u8],
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
        let proposal: Proposal = decode(&signed.proposal_bytes, "proposal_bytes", "Proposal")?;
        let header: Header = decode(&proposal.header, "header", "common.Header")?;
        let channel: ChannelHeader = decode(
            &header.channel_header,
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
        let signature: SignatureHeader = decode(
            &header.signature_header,
            "signature_header",
            "common.SignatureHeader",
        )?;
        let identity: SerializedIdentity = decode(
            &signature.creator,
            "signature header's creator",
            "msp.SerializedIdentity",
        )?;
        let payload: ChaincodeProposalPayload =
            decode(&proposal.payload, "payload", "ChaincodeProposalPayload")?;
        let binding = Binding {
            nonce: signature.nonce,
            creator: signature.creator.clone(),
            epoch: channel.epoch,
            value: std::sync::OnceLock::new(),
        };
        Ok(Decoded {
            signed,
            creator: Creator {
                mspid: identity.mspid,
                id_bytes: identity.id_bytes,
                raw: signature.creator,
            },
            transient: payload.transient_map,
            timestamp: channel.timestamp,
            binding,
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
        assert_eq!(decoded.creator.raw, creator);
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
