//! Key-level endorsement policies, as the Go shim's `pkg/statebased`
//! builds them: every listed organisation must endorse, each with its role.
//!
//! ```
//! use ccaas_shim::statebased::{KeyEndorsementPolicy, RoleType};
//!
//! let mut policy = KeyEndorsementPolicy::new();
//! policy.add_orgs(RoleType::Member, ["Org2MSP", "Org1MSP"]);
//! assert_eq!(policy.list_orgs(), ["Org1MSP", "Org2MSP"]);
//! let bytes = policy.policy();
//! // What `stub.set_state_validation_parameter(key, bytes)` stores, and
//! // what Go's `statebased` makes of the same organisations.
//! let back = KeyEndorsementPolicy::from_policy(&bytes)?;
//! assert_eq!(back, policy);
//! # Ok::<(), ccaas_shim::statebased::StateBasedError>(())
//! ```

use ccaas_proto::common::{signature_policy, NOutOf, SignaturePolicy, SignaturePolicyEnvelope};
use ccaas_proto::msp::{MspPrincipal, MspRole};
use ccaas_proto::Message;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// `MSPPrincipal.Classification` ROLE: the only kind Go reads back.
const CLASSIFICATION_ROLE: i32 = 0;

/// A policy that cannot be read, or a role that does not exist.
#[derive(Debug, thiserror::Error)]
pub enum StateBasedError {
    /// The bytes are not a `SignaturePolicyEnvelope` (Go: "Error
    /// unmarshaling to SignaturePolicy").
    #[error("the key-level endorsement policy is not a valid `common.SignaturePolicyEnvelope`")]
    Envelope(#[source] prost::DecodeError),
    /// A ROLE principal is not an `MSPRole` (Go: "error unmarshaling msp
    /// principal").
    #[error("identity {index} of the key-level endorsement policy is a ROLE principal but not a valid `msp.MSPRole`")]
    Principal {
        /// Its index in the envelope's identities.
        index: usize,
        /// The decoder's error.
        #[source]
        source: prost::DecodeError,
    },
    /// A role name Go's `RoleType` does not have (Go: "role type X does not
    /// exist").
    #[error("role type {0} does not exist: expected MEMBER or PEER")]
    UnknownRoleType(String),
}

/// The roles an organisation can be added with (Go's `RoleType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleType {
    /// `MEMBER`: any identity of the organisation.
    Member,
    /// `PEER`: a peer of the organisation (channels with node OUs).
    Peer,
}

impl RoleType {
    /// The `MSPRole.MSPRoleType` number.
    pub fn msp_role(self) -> MspRoleType {
        match self {
            RoleType::Member => MspRoleType::MEMBER,
            RoleType::Peer => MspRoleType::PEER,
        }
    }
}

impl FromStr for RoleType {
    type Err = StateBasedError;

    /// `MEMBER` or `PEER`, as Go's `RoleTypeMember` and `RoleTypePeer`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "MEMBER" => Ok(RoleType::Member),
            "PEER" => Ok(RoleType::Peer),
            other => Err(StateBasedError::UnknownRoleType(other.to_owned())),
        }
    }
}

impl fmt::Display for RoleType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RoleType::Member => "MEMBER",
            RoleType::Peer => "PEER",
        })
    }
}

/// An `MSPRole.MSPRoleType` as found in a policy: MEMBER 0, ADMIN 1,
/// CLIENT 2, PEER 3, ORDERER 4, or any other number a policy holds (kept as
/// is, as Go keeps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MspRoleType(pub i32);

impl MspRoleType {
    /// Any identity of the organisation.
    pub const MEMBER: Self = MspRoleType(0);
    /// An administrator.
    pub const ADMIN: Self = MspRoleType(1);
    /// A client.
    pub const CLIENT: Self = MspRoleType(2);
    /// A peer.
    pub const PEER: Self = MspRoleType(3);
    /// An orderer.
    pub const ORDERER: Self = MspRoleType(4);
}

/// The organisations whose endorsement a key needs (Go's `stateEP`): each
/// MSP ID once, with its role.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyEndorsementPolicy {
    orgs: BTreeMap<String, MspRoleType>,
}

impl KeyEndorsementPolicy {
    /// A policy without organisations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a policy as Go's `NewStateEP`: the MSP ID and role of every
    /// ROLE principal among the envelope's identities (a later one for the
    /// same MSP ID wins). Like Go, it reads neither the rule nor principals
    /// of other kinds: the policy it gives back requires every organisation
    /// it names, whatever the rule said.
    pub fn from_policy(bytes: &[u8]) -> Result<Self, StateBasedError> {
        let envelope = SignaturePolicyEnvelope::decode(bytes).map_err(StateBasedError::Envelope)?;
        let mut orgs = BTreeMap::new();
        for (index, identity) in envelope.identities.iter().enumerate() {
            if identity.principal_classification != CLASSIFICATION_ROLE {
                continue;
            }
            let role = MspRole::decode(identity.principal.as_slice())
                .map_err(|source| StateBasedError::Principal { index, source })?;
            orgs.insert(role.msp_identifier, MspRoleType(role.role));
        }
        Ok(KeyEndorsementPolicy { orgs })
    }

    /// Adds organisations with a role (Go's `AddOrgs`); an organisation
    /// already present takes the new role.
    pub fn add_orgs<I, S>(&mut self, role: RoleType, orgs: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for org in orgs {
            self.orgs.insert(org.into(), role.msp_role());
        }
        self
    }

    /// Removes organisations (Go's `DelOrgs`); absent ones are ignored.
    pub fn del_orgs<I, S>(&mut self, orgs: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for org in orgs {
            self.orgs.remove(org.as_ref());
        }
        self
    }

    /// The MSP IDs, sorted (Go's `ListOrgs` returns them in map order).
    pub fn list_orgs(&self) -> Vec<String> {
        self.orgs.keys().cloned().collect()
    }

    /// The role of an organisation, if it is in the policy.
    pub fn role(&self, mspid: &str) -> Option<MspRoleType> {
        self.orgs.get(mspid).copied()
    }

    /// The policy as Go's `Policy()` marshals it: a version-0
    /// `SignaturePolicyEnvelope` whose identities are the organisations
    /// sorted by MSP ID, each a ROLE principal holding a marshalled
    /// `MSPRole`, and whose rule is N out of N `signed_by` rules, one per
    /// identity in that order. Byte for byte what Go writes (proto3: zero
    /// values omitted, except a `signed_by` of 0, which is a set oneof).
    pub fn policy(&self) -> Vec<u8> {
        let identities: Vec<MspPrincipal> = self
            .orgs
            .iter()
            .map(|(mspid, role)| MspPrincipal {
                principal_classification: CLASSIFICATION_ROLE,
                principal: MspRole {
                    msp_identifier: mspid.clone(),
                    role: role.0,
                }
                .encode_to_vec(),
            })
            .collect();
        let rules = (0..identities.len())
            .map(|i| SignaturePolicy {
                r#type: Some(signature_policy::Type::SignedBy(index_i32(i))),
            })
            .collect();
        SignaturePolicyEnvelope {
            version: 0,
            rule: Some(SignaturePolicy {
                r#type: Some(signature_policy::Type::NOutOf(NOutOf {
                    n: index_i32(identities.len()),
                    rules,
                })),
            }),
            identities,
        }
        .encode_to_vec()
    }
}

/// An index as the int32 the protobuf holds (a policy of more than 2^31
/// organisations cannot be built in memory anyway).
fn index_i32(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes as the golden vectors write them: hex pairs, spaced.
    fn hex(bytes: &[u8]) -> String {
        let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        pairs.join(" ")
    }

    // Go, for AddOrgs(RoleTypeMember, "Org1MSP") then Policy():
    //   MSPRole{MspIdentifier: "Org1MSP", Role: MEMBER (0)}: field 1 (string)
    //     is key 0x0a, length 7, "Org1MSP" = 4f 72 67 31 4d 53 50; field 2 is 0
    //     and proto3 omits it: 0a 07 4f 72 67 31 4d 53 50 (9 bytes).
    //   MSPPrincipal{PrincipalClassification: ROLE (0), Principal: those 9}:
    //     field 1 is 0, omitted; field 2 (bytes) key 0x12, length 9: 12 09 ...
    //     (11 bytes).
    //   SignaturePolicy{SignedBy: 0}: a set oneof member is written even when
    //     zero: field 1 (varint) key 0x08, value 0: 08 00.
    //   NOutOf{N: 1, Rules: [that]}: 08 01, then field 2 key 0x12, length 2,
    //     08 00: 08 01 12 02 08 00 (6 bytes).
    //   SignaturePolicy{NOutOf: ...}: oneof field 2, key 0x12, length 6:
    //     12 06 08 01 12 02 08 00 (8 bytes).
    //   SignaturePolicyEnvelope{Version: 0 (omitted), Rule: (field 2, key
    //     0x12, length 8), Identities: [(field 3, key 0x1a, length 11)]}.
    const ONE_ORG_MEMBER: &str = "\
        12 08 12 06 08 01 12 02 08 00 \
        1a 0b 12 09 0a 07 4f 72 67 31 4d 53 50";

    // Go, for AddOrgs(RoleTypePeer, "Org2MSP", "Org1MSP"): ListOrgs then
    // sort.Strings gives Org1MSP, Org2MSP; principals and signed_by follow
    // that order.
    //   MSPRole{"Org1MSP", PEER (3)}: 0a 07 "Org1MSP" 10 03 (11 bytes); the
    //     principal around it: 12 0b ... (13 bytes); as identity: 1a 0d ...
    //   signed_by 0: 08 00; signed_by 1: 08 01; each rule 12 02 08 0i.
    //   NOutOf{N: 2, ...}: 08 02 12 02 08 00 12 02 08 01 (10 bytes);
    //     SignaturePolicy around it: 12 0a ... (12 bytes); envelope rule 12 0c.
    const TWO_ORGS_PEER: &str = "\
        12 0c 12 0a 08 02 12 02 08 00 12 02 08 01 \
        1a 0d 12 0b 0a 07 4f 72 67 31 4d 53 50 10 03 \
        1a 0d 12 0b 0a 07 4f 72 67 32 4d 53 50 10 03";

    #[test]
    fn one_org_member_golden_bytes() {
        let mut policy = KeyEndorsementPolicy::new();
        policy.add_orgs(RoleType::Member, ["Org1MSP"]);
        assert_eq!(hex(&policy.policy()), ONE_ORG_MEMBER);
    }

    #[test]
    fn two_orgs_peer_golden_bytes_sorted() {
        let mut policy = KeyEndorsementPolicy::new();
        policy.add_orgs(RoleType::Peer, ["Org2MSP", "Org1MSP"]);
        assert_eq!(policy.list_orgs(), ["Org1MSP", "Org2MSP"]);
        assert_eq!(hex(&policy.policy()), TWO_ORGS_PEER);
    }

    // No organisation: NOutOf{N: 0, Rules: []} is an empty message, but the
    // oneof is set, so the rule is 12 00 and the envelope 12 02 12 00.
    #[test]
    fn empty_policy_golden_bytes() {
        assert_eq!(hex(&KeyEndorsementPolicy::new().policy()), "12 02 12 00");
    }

    #[test]
    fn mixed_roles_and_deletions() {
        let mut policy = KeyEndorsementPolicy::new();
        policy
            .add_orgs(RoleType::Member, ["B", "A", "C"])
            .add_orgs(RoleType::Peer, ["B"])
            .del_orgs(["C", "nobody"]);
        assert_eq!(policy.list_orgs(), ["A", "B"]);
        assert_eq!(policy.role("A"), Some(MspRoleType::MEMBER));
        assert_eq!(policy.role("B"), Some(MspRoleType::PEER));
        assert_eq!(policy.role("C"), None);
        let back = KeyEndorsementPolicy::from_policy(&policy.policy()).unwrap();
        assert_eq!(back, policy);
    }

    #[test]
    fn parses_the_golden_bytes_back() {
        let bytes: Vec<u8> = TWO_ORGS_PEER
            .split_whitespace()
            .map(|pair| u8::from_str_radix(pair, 16).unwrap())
            .collect();
        let policy = KeyEndorsementPolicy::from_policy(&bytes).unwrap();
        assert_eq!(policy.list_orgs(), ["Org1MSP", "Org2MSP"]);
        assert_eq!(policy.role("Org2MSP"), Some(MspRoleType::PEER));
        assert_eq!(policy.policy(), bytes);
    }

    // Go's setMSPIDsFromSP reads only the identities: a 1-out-of-2 rule
    // comes back as 2 out of 2; ADMIN roles are kept; non-ROLE principals
    // are skipped.
    #[test]
    fn reading_ignores_the_rule_and_other_principals_as_go() {
        let role = |id: &str, role: i32| MspPrincipal {
            principal_classification: CLASSIFICATION_ROLE,
            principal: MspRole {
                msp_identifier: id.into(),
                role,
            }
            .encode_to_vec(),
        };
        let envelope = SignaturePolicyEnvelope {
            version: 0,
            rule: Some(SignaturePolicy {
                r#type: Some(signature_policy::Type::NOutOf(NOutOf {
                    n: 1,
                    rules: vec![],
                })),
            }),
            identities: vec![
                role("X", 1),
                MspPrincipal {
                    principal_classification: 1, // ORGANIZATION_UNIT
                    principal: b"not an MSPRole".to_vec(),
                },
                role("Y", 0),
            ],
        };
        let policy = KeyEndorsementPolicy::from_policy(&envelope.encode_to_vec()).unwrap();
        assert_eq!(policy.list_orgs(), ["X", "Y"]);
        assert_eq!(policy.role("X"), Some(MspRoleType::ADMIN));
        let rebuilt = SignaturePolicyEnvelope::decode(policy.policy().as_slice()).unwrap();
        let Some(SignaturePolicy {
            r#type: Some(signature_policy::Type::NOutOf(rule)),
        }) = rebuilt.rule
        else {
            panic!("{rebuilt:?}");
        };
        assert_eq!(rule.n, 2);
    }

    #[test]
    fn malformed_policies_are_named() {
        let err = KeyEndorsementPolicy::from_policy(b"\xff\xff").unwrap_err();
        assert!(matches!(err, StateBasedError::Envelope(_)), "{err}");
        assert_eq!(
            err.to_string(),
            "the key-level endorsement policy is not a valid `common.SignaturePolicyEnvelope`"
        );
        let envelope = SignaturePolicyEnvelope {
            version: 0,
            rule: None,
            identities: vec![MspPrincipal {
                principal_classification: CLASSIFICATION_ROLE,
                principal: b"\xff".to_vec(),
            }],
        };
        let err = KeyEndorsementPolicy::from_policy(&envelope.encode_to_vec()).unwrap_err();
        assert!(
            matches!(err, StateBasedError::Principal { index: 0, .. }),
            "{err}"
        );
        // Go: NewStateEP(nil) is an empty policy; empty bytes decode to one.
        assert_eq!(
            KeyEndorsementPolicy::from_policy(b"").unwrap(),
            KeyEndorsementPolicy::new()
        );
    }

    #[test]
    fn role_types_as_go_names_them() {
        assert_eq!("MEMBER".parse::<RoleType>().unwrap(), RoleType::Member);
        assert_eq!("PEER".parse::<RoleType>().unwrap(), RoleType::Peer);
        let err = "ADMIN".parse::<RoleType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "role type ADMIN does not exist: expected MEMBER or PEER"
        );
        assert_eq!(RoleType::Peer.to_string(), "PEER");
    }
}
