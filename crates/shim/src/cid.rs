//! Who sent the transaction: the client identity of its creator, as the Go
//! shim's `pkg/cid` reads it (MSP ID, certificate, ID string, Fabric CA
//! attributes, OUs; Idemix identities' OU and role).
//!
//! ```
//! use ccaas_shim::cid::{ClientIdentity, IdFormat};
//!
//! // A creator as the peer sends it: an MSP ID and a PEM certificate.
//! let pem = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/cid/user1.pem"));
//! let client = ClientIdentity::from_serialized("Org1MSP", pem)?;
//! assert_eq!(client.mspid(), "Org1MSP");
//! assert_eq!(client.attribute_value("hf.EnrollmentID"), Some("user1"));
//! client.assert_attribute_value("role", "auditor")?;
//! assert!(client.has_ou_value("department1")?);
//! // Go's ID: base64 of x509::<subject>::<issuer>, each DN as Go writes it.
//! assert_eq!(
//!     client.id_in(IdFormat::GoDecoded)?,
//!     "x509::CN=user1,OU=client+OU=org1+OU=department1,O=Hyperledger,ST=North Carolina,C=US\
//!      ::CN=ca.org1.example.com,O=org1.example.com,L=Durham,ST=North Carolina,C=US"
//! );
//! // Node's shim writes the same certificate's ID like this.
//! assert_eq!(
//!     client.id_in(IdFormat::Node)?,
//!     "x509::/C=US/ST=North Carolina/O=Hyperledger/OU=client/OU=org1/OU=department1/CN=user1\
//!      ::/C=US/ST=North Carolina/L=Durham/O=org1.example.com/CN=ca.org1.example.com"
//! );
//! # Ok::<(), ccaas_shim::cid::CidError>(())
//! ```
//!
//! In a transaction, [`ClientIdentity::from_stub`] reads the creator of the
//! stub's signed proposal.
//!
//! # The three ID formats
//! Chaincode compares owners it stored as IDs, so a port must write them
//! as the shim it replaces did:
//! - [`IdFormat::Go`] (Go's `cid.GetID`): `x509::SUBJECT::ISSUER`,
//!   base64-encoded. Each DN is not the certificate's: Go rebuilds it from
//!   the fields it knows, in a fixed order (C, ST, L, STREET, POSTALCODE, O,
//!   OU, CN, SERIALNUMBER; reversed when written), every value of one type
//!   in one multi-valued RDN (`OU=a+OU=b`), only the last CN, and drops every
//!   other attribute type (UID, DC, emailAddress, ...). Values are escaped
//!   as RFC 2253 says (`,+"\<>;`, a leading space or `#`, a trailing space).
//!   [`IdFormat::GoDecoded`] is the same string before base64.
//! - [`IdFormat::Node`] (Node's `ClientIdentity.getID()`): `x509::` and each
//!   DN in the certificate's order as `/SHORTNAME=value`, the short name
//!   being one of CN, C, L, ST, O, OU, E or else empty; only the first `/`
//!   of each value escaped (`\/`); not base64-encoded.
//! - [`IdFormat::Java`] (Java's `ClientIdentity.getId()`): `x509::` and each
//!   DN as the JDK's `X500Name.getName()` writes it: reversed, `, ` between
//!   RDNs, ` + ` inside one, the JDK's keywords (CN, C, L, ST, O, OU, T,
//!   STREET, DC, UID, EMAILADDRESS, SERIALNUMBER, ...; `OID.1.2.3` for the
//!   others), values quoted when they hold special characters.

use crate::proposal::Creator;
use crate::stub::Stub;
use base64::Engine as _;
use ccaas_proto::msp::{MspRole, OrganizationUnit, SerializedIdemixIdentity};
use ccaas_proto::Message;
use std::collections::BTreeMap;
use std::fmt;
use x509_parser::prelude::{FromDer, X509Certificate};

pub use x509_parser;

mod dn;
use dn::{go_id, go_value, java_dn, node_dn, Name};

/// The OID of the extension where Fabric CA writes a certificate's
/// attributes, as JSON `{"attrs":{"name":"value",...}}`.
pub const FABRIC_ATTRIBUTES_OID: &str = "1.2.3.4.5.6.7.8.1";

/// A client identity that cannot be read, or a question it cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum CidError {
    /// The transaction has no signed proposal, so no creator.
    #[error("the transaction has no creator: its proposal carries no signed proposal")]
    NoCreator,
    /// The creator's identity holds a PEM block that is no X.509 certificate.
    #[error("the creator's identity (MSP `{mspid}`) is not a valid X.509 certificate: {reason}")]
    Certificate {
        /// The creator's MSP ID.
        mspid: String,
        /// What the parser said.
        reason: String,
    },
    /// The creator's identity is neither PEM nor an Idemix identity.
    #[error(
        "the creator's identity (MSP `{mspid}`) is neither an X.509 PEM certificate nor an \
         Idemix identity: its {part} is not a valid `{message}`"
    )]
    NeitherX509NorIdemix {
        /// The creator's MSP ID.
        mspid: String,
        /// Which layer failed (`id_bytes`, `ou`, `role`).
        part: &'static str,
        /// The message expected there.
        message: &'static str,
        /// The decoder's error.
        #[source]
        source: prost::DecodeError,
    },
    /// The attributes extension is not Fabric CA's JSON.
    #[error(
        "the certificate's Fabric CA attributes (extension {FABRIC_ATTRIBUTES_OID}) are not \
         the JSON {{\"attrs\":{{\"name\":\"value\",...}}}}: {reason}"
    )]
    Attributes {
        /// What is wrong.
        reason: String,
    },
    /// An X.509-only question about an Idemix identity.
    #[error("the creator (MSP `{mspid}`) is an Idemix identity, without an X.509 certificate: {question} needs one")]
    NotX509 {
        /// The creator's MSP ID.
        mspid: String,
        /// What was asked (`an ID`, `an OU check`).
        question: &'static str,
    },
    /// A certificate name the chosen shim's format cannot write, because
    /// that shim fails on it.
    #[error(
        "the certificate's {name} has an attribute {oid} with a value {shim} fails on \
         ({reason}), so it has no ID in that format"
    )]
    UnformattableName {
        /// `subject` or `issuer`.
        name: &'static str,
        /// The attribute's type.
        oid: String,
        /// `Go's x509 parser` or `Node's shim`.
        shim: &'static str,
        /// Why.
        reason: String,
    },
    /// The attribute is not in the identity (Go: "attribute '...' was not found").
    #[error("attribute '{name}' was not found")]
    AttributeNotFound {
        /// The attribute's name.
        name: String,
    },
    /// The attribute has another value (Go: "attribute '...' equals '...', not '...'").
    #[error("attribute '{name}' equals '{found}', not '{expected}'")]
    AttributeMismatch {
        /// The attribute's name.
        name: String,
        /// Its value.
        found: String,
        /// The value asserted.
        expected: String,
    },
}

/// The ID string formats of the three Fabric shims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdFormat {
    /// Go's `cid.GetID`: `x509::SUBJECT::ISSUER` in Go's DN form, base64.
    #[default]
    Go,
    /// Go's string before base64 (what Go chaincode sees when it decodes
    /// it; bytes that are not UTF-8, from a T61String, shown as U+FFFD).
    GoDecoded,
    /// Node's `ClientIdentity.getID()`: `x509::/C=../CN=..::/C=..`.
    Node,
    /// Java's `ClientIdentity.getId()`: `x509::CN=.., O=..::CN=.., O=..`.
    Java,
}

/// An Idemix identity's OU and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdemixIdentity {
    /// The organisational unit.
    pub ou: String,
    /// The `MSPRoleType` number: MEMBER 0, ADMIN 1, CLIENT 2, PEER 3.
    pub role: i32,
}

impl IdemixIdentity {
    /// The role as Go's `attrmgr` names it (`member`, `admin`, `client`,
    /// `peer`; `""` for any other number).
    pub fn role_name(&self) -> &'static str {
        match self.role {
            0 => "member",
            1 => "admin",
            2 => "client",
            3 => "peer",
            _ => "",
        }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    X509 {
        der: Vec<u8>,
        subject: Name,
        issuer: Name,
    },
    Idemix(IdemixIdentity),
}

/// The identity that submitted a transaction.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    mspid: String,
    kind: Kind,
    attributes: BTreeMap<String, String>,
}

impl ClientIdentity {
    /// The creator of the stub's transaction.
    pub fn from_stub(stub: &Stub) -> Result<Self, CidError> {
        Self::from_creator(stub.creator().ok_or(CidError::NoCreator)?)
    }

    /// The identity of a creator (`msp.SerializedIdentity`).
    pub fn from_creator(creator: &Creator) -> Result<Self, CidError> {
        Self::from_serialized(&creator.mspid, &creator.id_bytes)
    }

    /// The identity of an MSP ID and its identity bytes: a PEM X.509
    /// certificate, or else a marshalled `SerializedIdemixIdentity`, as Go's
    /// `cid.New` decides (the first PEM block, whatever its label).
    pub fn from_serialized(mspid: &str, id_bytes: &[u8]) -> Result<Self, CidError> {
        match x509_parser::pem::parse_x509_pem(id_bytes) {
            Ok((_, pem)) => Self::from_der(mspid, pem.contents),
            Err(_) => Self::from_idemix(mspid, id_bytes),
        }
    }

    fn from_der(mspid: &str, der: Vec<u8>) -> Result<Self, CidError> {
        let certificate_error = |reason: String| CidError::Certificate {
            mspid: mspid.to_owned(),
            reason,
        };
        let (subject, issuer, attributes) = {
            let (_, cert) =
                X509Certificate::from_der(&der).map_err(|e| certificate_error(e.to_string()))?;
            let mut attributes = BTreeMap::new();
            for extension in cert.extensions() {
                if extension.oid.to_id_string() == FABRIC_ATTRIBUTES_OID {
                    attributes = parse_attributes(extension.value)?;
                    break;
                }
            }
            (
                Name::from_x509(cert.subject()),
                Name::from_x509(cert.issuer()),
                attributes,
            )
        };
        Ok(ClientIdentity {
            mspid: mspid.to_owned(),
            kind: Kind::X509 {
                der,
                subject,
                issuer,
            },
            attributes,
        })
    }

    fn from_idemix(mspid: &str, id_bytes: &[u8]) -> Result<Self, CidError> {
        let failed = |part, message, source| CidError::NeitherX509NorIdemix {
            mspid: mspid.to_owned(),
            part,
            message,
            source,
        };
        let idemix = SerializedIdemixIdentity::decode(id_bytes)
            .map_err(|e| failed("id_bytes", "msp.SerializedIdemixIdentity", e))?;
        let ou = OrganizationUnit::decode(idemix.ou.as_slice())
            .map_err(|e| failed("ou", "msp.OrganizationUnit", e))?;
        let role = MspRole::decode(idemix.role.as_slice())
            .map_err(|e| failed("role", "msp.MSPRole", e))?;
        let identity = IdemixIdentity {
            ou: ou.organizational_unit_identifier,
            role: role.role,
        };
        // Go's attrmgr.GetAttributesFromIdemix: exactly these two.
        let attributes = BTreeMap::from([
            ("ou".to_owned(), identity.ou.clone()),
            ("role".to_owned(), identity.role_name().to_owned()),
        ]);
        Ok(ClientIdentity {
            mspid: mspid.to_owned(),
            kind: Kind::Idemix(identity),
            attributes,
        })
    }

    /// The MSP ID.
    pub fn mspid(&self) -> &str {
        &self.mspid
    }

    /// The ID in Go's format (`cid.GetID`): see [`IdFormat::Go`].
    pub fn id(&self) -> Result<String, CidError> {
        self.id_in(IdFormat::Go)
    }

    /// The ID in the format of one of the shims. An Idemix identity has
    /// none (Go: "cannot determine identity").
    pub fn id_in(&self, format: IdFormat) -> Result<String, CidError> {
        let Kind::X509 {
            subject, issuer, ..
        } = &self.kind
        else {
            return Err(self.not_x509("an ID"));
        };
        match format {
            IdFormat::Go => {
                let id = go_id(subject, issuer)?;
                Ok(base64::engine::general_purpose::STANDARD.encode(id))
            }
            IdFormat::GoDecoded => {
                Ok(String::from_utf8_lossy(&go_id(subject, issuer)?).into_owned())
            }
            IdFormat::Node => Ok(format!(
                "x509::{}::{}",
                node_dn(subject, "subject")?,
                node_dn(issuer, "issuer")?
            )),
            IdFormat::Java => Ok(format!("x509::{}::{}", java_dn(subject), java_dn(issuer))),
        }
    }

    /// The certificate, DER-encoded; `None` for an Idemix identity.
    pub fn certificate_der(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::X509 { der, .. } => Some(der),
            Kind::Idemix(_) => None,
        }
    }

    /// The certificate, parsed; `None` for an Idemix identity.
    pub fn certificate(&self) -> Option<X509Certificate<'_>> {
        // It parsed when the identity was made.
        X509Certificate::from_der(self.certificate_der()?)
            .ok()
            .map(|(_, cert)| cert)
    }

    /// The Idemix identity's OU and role; `None` for an X.509 identity.
    pub fn idemix(&self) -> Option<&IdemixIdentity> {
        match &self.kind {
            Kind::Idemix(identity) => Some(identity),
            Kind::X509 { .. } => None,
        }
    }

    /// The value of an attribute (Go's `GetAttributeValue`, found or not):
    /// Fabric CA's attributes of a certificate, `ou` and `role` of an
    /// Idemix identity.
    pub fn attribute_value(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// Every attribute, by name.
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.attributes
    }

    /// Whether the attribute has this value, as Go's `AssertAttributeValue`
    /// (with its error texts).
    pub fn assert_attribute_value(&self, name: &str, expected: &str) -> Result<(), CidError> {
        match self.attribute_value(name) {
            None => Err(CidError::AttributeNotFound {
                name: name.to_owned(),
            }),
            Some(found) if found != expected => Err(CidError::AttributeMismatch {
                name: name.to_owned(),
                found: found.to_owned(),
                expected: expected.to_owned(),
            }),
            Some(_) => Ok(()),
        }
    }

    /// Whether the certificate's subject has this OU (Go's `HasOUValue`:
    /// exact match on any `OU` value). An Idemix identity has no
    /// certificate: read its OU with [`idemix`](Self::idemix).
    pub fn has_ou_value(&self, ou: &str) -> Result<bool, CidError> {
        let Kind::X509 { subject, .. } = &self.kind else {
            return Err(self.not_x509("an OU check"));
        };
        Ok(subject
            .rdns
            .iter()
            .flatten()
            .filter(|a| a.oid == "2.5.4.11")
            .any(|a| go_value(a).is_ok_and(|v| v == ou.as_bytes())))
    }

    fn not_x509(&self, question: &'static str) -> CidError {
        CidError::NotX509 {
            mspid: self.mspid.clone(),
            question,
        }
    }
}

/// Fabric CA's attributes, read as Go's `attrmgr` reads them with
/// `encoding/json` into `struct { Attrs map[string]string "json:\"attrs\"" }`:
/// the `attrs` key matched case-insensitively, other keys ignored, a JSON
/// `null` (document, map or value) read as nothing / an empty string.
fn parse_attributes(bytes: &[u8]) -> Result<BTreeMap<String, String>, CidError> {
    let invalid = |reason: String| CidError::Attributes { reason };
    let document: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    let object = match document {
        serde_json::Value::Null => return Ok(BTreeMap::new()),
        serde_json::Value::Object(object) => object,
        other => return Err(invalid(format!("the document is {}", json_kind(&other)))),
    };
    let attrs = object
        .get("attrs")
        .or_else(|| {
            object
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("attrs"))
                .map(|(_, v)| v)
        })
        .unwrap_or(&serde_json::Value::Null);
    let map = match attrs {
        serde_json::Value::Null => return Ok(BTreeMap::new()),
        serde_json::Value::Object(map) => map,
        other => return Err(invalid(format!("`attrs` is {}", json_kind(other)))),
    };
    map.iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(s) => Ok((name.clone(), s.clone())),
            serde_json::Value::Null => Ok((name.clone(), String::new())),
            other => Err(invalid(format!(
                "attribute `{name}` is {}, not a string",
                json_kind(other)
            ))),
        })
        .collect()
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl fmt::Display for IdFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdFormat::Go => "Go",
            IdFormat::GoDecoded => "Go (decoded)",
            IdFormat::Node => "Node",
            IdFormat::Java => "Java",
        })
    }
}

#[cfg(test)]
mod tests;
