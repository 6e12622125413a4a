//! Signed proposals built as Fabric's client libraries build them
//! (`protoutil.CreateChaincodeProposalWithTxIDNonceAndTransient`), with
//! the transaction ID Fabric computes: `hex(sha256(nonce ‖ creator))`.

use ccaas_proto::common::{
    ChannelHeader, Header, SignatureHeader, HEADER_TYPE_ENDORSER_TRANSACTION,
};
use ccaas_proto::msp::SerializedIdentity;
use ccaas_proto::{
    ChaincodeId, ChaincodeInput, ChaincodeInvocationSpec, ChaincodeProposalPayload, ChaincodeSpec,
    Message, Proposal, SignedProposal, Timestamp,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The test-only certificate of the default creator (`fixtures/tls/client.pem`).
pub const TEST_CREATOR_PEM: &[u8] = include_bytes!("../../../fixtures/tls/client.pem");

/// The length of the nonce Fabric's clients draw.
pub const NONCE_BYTES: usize = 24;

/// Why a proposal could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    /// The system random number generator failed.
    #[error("no random bytes for the proposal nonce (the system RNG failed)")]
    Random,
}

/// A transaction's creator: an MSP ID and its identity bytes (a PEM X.509
/// certificate for an X.509 MSP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creator {
    /// The MSP ID, e.g. `Org1MSP`.
    pub msp_id: String,
    /// The identity: PEM certificate bytes.
    pub id_bytes: Vec<u8>,
}

impl Default for Creator {
    /// `Org1MSP` with the test-only `fixtures/tls/client.pem`: for tests only.
    fn default() -> Self {
        Creator {
            msp_id: "Org1MSP".into(),
            id_bytes: TEST_CREATOR_PEM.to_vec(),
        }
    }
}

impl Creator {
    /// A creator of `msp_id` with the PEM certificate `pem`.
    pub fn new(msp_id: impl Into<String>, pem: impl Into<Vec<u8>>) -> Self {
        Creator {
            msp_id: msp_id.into(),
            id_bytes: pem.into(),
        }
    }

    /// The marshalled `msp.SerializedIdentity`, as `SignatureHeader.creator`.
    pub fn serialized(&self) -> Vec<u8> {
        SerializedIdentity {
            mspid: self.msp_id.clone(),
            id_bytes: self.id_bytes.clone(),
        }
        .encode_to_vec()
    }
}

/// `peer.ChaincodeHeaderExtension` (field 1 reserved), the channel
/// header's extension for an endorser transaction.
#[derive(Clone, PartialEq, prost::Message)]
struct ChaincodeHeaderExtension {
    #[prost(message, optional, tag = "2")]
    chaincode_id: Option<ChaincodeId>,
}

/// What a proposal is for.
#[derive(Debug, Clone)]
pub struct ProposalInput<'a> {
    /// The channel.
    pub channel: &'a str,
    /// The chaincode name (its namespace).
    pub chaincode: &'a str,
    /// The chaincode input (args, is_init).
    pub input: &'a ChaincodeInput,
    /// The transient map.
    pub transient: &'a HashMap<String, Vec<u8>>,
    /// Who proposes.
    pub creator: &'a Creator,
}

/// A built proposal and its transaction ID.
#[derive(Debug, Clone)]
pub struct Built {
    /// The transaction ID: `hex(sha256(nonce ‖ creator))`.
    pub txid: String,
    /// The signed proposal (unsigned: `signature` is empty; no shim checks it).
    pub proposal: SignedProposal,
    /// The nonce drawn.
    pub nonce: Vec<u8>,
}

/// Fabric's transaction ID for a nonce and marshalled creator.
pub fn compute_txid(nonce: &[u8], creator: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(nonce);
    hasher.update(creator);
    hex(&hasher.finalize())
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// `n` bytes from the system RNG (through rustls's ring provider).
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, ProposalError> {
    let mut buf = vec![0u8; n];
    crate::dial::crypto_provider()
        .secure_random
        .fill(&mut buf)
        .map_err(|_| ProposalError::Random)?;
    Ok(buf)
}

/// Builds the signed proposal of an invocation, with a fresh nonce.
pub fn build(input: &ProposalInput<'_>) -> Result<Built, ProposalError> {
    let nonce = random_bytes(NONCE_BYTES)?;
    Ok(build_with_nonce(input, nonce))
}

/// Builds the signed proposal of an invocation with a given nonce.
pub fn build_with_nonce(input: &ProposalInput<'_>, nonce: Vec<u8>) -> Built {
    let creator = input.creator.serialized();
    let txid = compute_txid(&nonce, &creator);
    let chaincode_id = ChaincodeId {
        name: input.chaincode.to_owned(),
        ..Default::default()
    };
    let spec = ChaincodeInvocationSpec {
        chaincode_spec: Some(ChaincodeSpec {
            chaincode_id: Some(chaincode_id.clone()),
            input: Some(ChaincodeInput {
                args: input.input.args.clone(),
                decorations: HashMap::new(),
                is_init: input.input.is_init,
            }),
            ..Default::default()
        }),
    };
    let payload = ChaincodeProposalPayload {
        input: spec.encode_to_vec(),
        transient_map: input.transient.clone(),
    };
    let channel_header = ChannelHeader {
        r#type: HEADER_TYPE_ENDORSER_TRANSACTION,
        timestamp: Some(Timestamp::now()),
        channel_id: input.channel.to_owned(),
        tx_id: txid.clone(),
        epoch: 0,
        extension: ChaincodeHeaderExtension {
            chaincode_id: Some(chaincode_id),
        }
        .encode_to_vec(),
        ..Default::default()
    };
    let header = Header {
        channel_header: channel_header.encode_to_vec(),
        signature_header: SignatureHeader {
            creator,
            nonce: nonce.clone(),
        }
        .encode_to_vec(),
    };
    let proposal = Proposal {
        header: header.encode_to_vec(),
        payload: payload.encode_to_vec(),
        extension: Vec::new(),
    };
    Built {
        txid,
        proposal: SignedProposal {
            proposal_bytes: proposal.encode_to_vec(),
            signature: Vec::new(),
        },
        nonce,
    }
}

/// A random version-4 UUID, as the peer names query iterators.
pub(crate) fn uuid() -> String {
    let mut b = random_bytes(16).unwrap_or_else(|_| vec![0; 16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txid_is_sha256_of_nonce_and_creator() {
        // sha256("") is well known; nonce and creator empty.
        assert_eq!(
            compute_txid(b"", b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(compute_txid(b"ab", b"c"), compute_txid(b"a", b"bc"));
    }

    #[test]
    fn the_proposal_decodes_as_fabric_reads_it() {
        let input = ChaincodeInput {
            args: vec![b"put".to_vec(), b"k".to_vec()],
            ..Default::default()
        };
        let transient = HashMap::from([("secret".to_owned(), b"s".to_vec())]);
        let creator = Creator::default();
        let built = build(&ProposalInput {
            channel: "mychannel",
            chaincode: "kv",
            input: &input,
            transient: &transient,
            creator: &creator,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let proposal = Proposal::decode(built.proposal.proposal_bytes.as_slice()).unwrap();
        let header = Header::decode(proposal.header.as_slice()).unwrap();
        let ch = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
        assert_eq!(
            (ch.r#type, ch.channel_id.as_str(), ch.epoch),
            (3, "mychannel", 0)
        );
        assert_eq!(ch.tx_id, built.txid);
        let sh = SignatureHeader::decode(header.signature_header.as_slice()).unwrap();
        assert_eq!(sh.nonce.len(), NONCE_BYTES);
        assert_eq!(built.txid, compute_txid(&sh.nonce, &sh.creator));
        let id = SerializedIdentity::decode(sh.creator.as_slice()).unwrap();
        assert_eq!(id.mspid, "Org1MSP");
        assert!(id.id_bytes.starts_with(b"-----BEGIN CERTIFICATE-----"));
        let payload = ChaincodeProposalPayload::decode(proposal.payload.as_slice()).unwrap();
        assert_eq!(payload.transient_map, transient);
        let cis = ChaincodeInvocationSpec::decode(payload.input.as_slice()).unwrap();
        let spec = cis.chaincode_spec.unwrap();
        assert_eq!(spec.chaincode_id.unwrap().name, "kv");
        assert_eq!(spec.input.unwrap().args, input.args);
    }

    #[test]
    fn uuids_look_like_uuids() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
