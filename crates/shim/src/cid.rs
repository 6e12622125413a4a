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
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

pub use x509_parser;

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

/// One attribute of a distinguished name, as the certificate encodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NameAttribute {
    /// Dotted OID.
    oid: String,
    /// ASN.1 class (0 universal).
    class: u8,
    /// Whether the value is constructed.
    constructed: bool,
    /// ASN.1 tag number (12 UTF8String, 19 PrintableString, ...).
    tag: u32,
    /// The value's content octets.
    value: Vec<u8>,
}

/// A distinguished name: its RDNs in the certificate's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Name {
    rdns: Vec<Vec<NameAttribute>>,
}

impl Name {
    fn from_x509(name: &X509Name<'_>) -> Self {
        let rdns = name
            .iter()
            .map(|rdn| {
                rdn.iter()
                    .map(|atv| {
                        let value = atv.attr_value();
                        let header = &value.header;
                        NameAttribute {
                            oid: atv.attr_type().to_id_string(),
                            class: header.class() as u8,
                            constructed: header.is_constructed(),
                            tag: header.tag().0,
                            value: value.data.to_vec(),
                        }
                    })
                    .collect()
            })
            .collect();
        Name { rdns }
    }
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

// ASN.1 universal tags of the string types.
const UTF8_STRING: u32 = 12;
const NUMERIC_STRING: u32 = 18;
const PRINTABLE_STRING: u32 = 19;
const T61_STRING: u32 = 20;
const IA5_STRING: u32 = 22;
const GENERAL_STRING: u32 = 27;
const UNIVERSAL_STRING: u32 = 28;
const BMP_STRING: u32 = 30;

fn is_universal_primitive(a: &NameAttribute) -> bool {
    a.class == 0 && !a.constructed
}

/// A value as Go's x509 parser (`parseASN1String`) turns it into a Go
/// string: the bytes of that string, or why Go refuses the certificate.
fn go_value(a: &NameAttribute) -> Result<Vec<u8>, String> {
    let tag = if is_universal_primitive(a) {
        a.tag
    } else {
        u32::MAX
    };
    let v = &a.value;
    match tag {
        // Go keeps a T61String's bytes as they are.
        T61_STRING => Ok(v.clone()),
        PRINTABLE_STRING => {
            // Go's isPrintable, which also lets '*' and '&' through.
            let printable = |b: u8| b.is_ascii_alphanumeric() || b" '()+,-./:=?*&".contains(&b);
            if v.iter().all(|&b| printable(b)) {
                Ok(v.clone())
            } else {
                Err("invalid PrintableString".into())
            }
        }
        UTF8_STRING => match std::str::from_utf8(v) {
            Ok(_) => Ok(v.clone()),
            Err(_) => Err("invalid UTF-8 string".into()),
        },
        BMP_STRING => {
            if !v.len().is_multiple_of(2) {
                return Err("invalid BMPString".into());
            }
            // Go strips one terminating NUL, then decodes UTF-16 with
            // U+FFFD for unpaired surrogates.
            let v = v.strip_suffix(&[0, 0]).unwrap_or(v);
            let units = v.chunks_exact(2).map(|p| u16::from_be_bytes([p[0], p[1]]));
            let s: String = char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
            Ok(s.into_bytes())
        }
        IA5_STRING => {
            if v.is_ascii() {
                Ok(v.clone())
            } else {
                Err("invalid IA5String".into())
            }
        }
        NUMERIC_STRING => {
            if v.iter().all(|&b| b.is_ascii_digit() || b == b' ') {
                Ok(v.clone())
            } else {
                Err("invalid NumericString".into())
            }
        }
        _ => Err(format!(
            "unsupported string type: class {}, tag {}",
            a.class, a.tag
        )),
    }
}

/// `x509::SUBJECT::ISSUER` as Go's `cid.GetID` writes it, before base64.
fn go_id(subject: &Name, issuer: &Name) -> Result<Vec<u8>, CidError> {
    let mut id = b"x509::".to_vec();
    go_dn(subject, "subject", &mut id)?;
    id.extend_from_slice(b"::");
    go_dn(issuer, "issuer", &mut id)?;
    Ok(id)
}

/// A DN as Go's `cid.getDN(&cert.Subject)` writes it. Go's parser fills a
/// `pkix.Name` from the certificate (`FillFromRDNSequence`: a list of
/// values per known type, the last CN, every other type only in `Names`);
/// `ToRDNSequence` rebuilds an RDN sequence from those fields alone, in the
/// order C, ST, L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER, each type's
/// values in one RDN, an empty CN or SERIALNUMBER left out; `getDN` writes
/// it last RDN first, `,` between RDNs, `+` inside one.
fn go_dn(name: &Name, which: &'static str, out: &mut Vec<u8>) -> Result<(), CidError> {
    // (OID arc under 2.5.4, Go's type name), in ToRDNSequence's order.
    const ORDER: [(&str, &str); 9] = [
        ("2.5.4.6", "C"),
        ("2.5.4.8", "ST"),
        ("2.5.4.7", "L"),
        ("2.5.4.9", "STREET"),
        ("2.5.4.17", "POSTALCODE"),
        ("2.5.4.10", "O"),
        ("2.5.4.11", "OU"),
        ("2.5.4.3", "CN"),
        ("2.5.4.5", "SERIALNUMBER"),
    ];
    let mut fields: Vec<Vec<Vec<u8>>> = vec![Vec::new(); ORDER.len()];
    for attribute in name.rdns.iter().flatten() {
        // Go refuses the whole certificate when any value is not a string
        // it can read, even a value of a type it then ignores.
        let value = go_value(attribute).map_err(|reason| CidError::UnformattableName {
            name: which,
            oid: attribute.oid.clone(),
            shim: "Go's x509 parser",
            reason,
        })?;
        if let Some(i) = ORDER.iter().position(|(oid, _)| *oid == attribute.oid) {
            let single = matches!(ORDER[i].1, "CN" | "SERIALNUMBER");
            if single {
                // CommonName and SerialNumber are single strings: the last wins.
                fields[i] = vec![value];
            } else {
                fields[i].push(value);
            }
        }
    }
    let rdns: Vec<(&str, &Vec<Vec<u8>>)> = ORDER
        .iter()
        .zip(&fields)
        .filter(|((_, type_name), values)| match values.first() {
            // ToRDNSequence: `len(values) == 0` skips a type; CN and
            // SERIALNUMBER are added only when `len(n.CommonName) > 0`.
            None => false,
            Some(first) => !(matches!(*type_name, "CN" | "SERIALNUMBER") && first.is_empty()),
        })
        .map(|((_, type_name), values)| (*type_name, values))
        .collect();
    for (i, (type_name, values)) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        for (j, value) in values.iter().enumerate() {
            if j > 0 {
                out.push(b'+');
            }
            out.extend_from_slice(type_name.as_bytes());
            out.push(b'=');
            go_escape(value, out);
        }
    }
    Ok(())
}

/// Go's escaping in `getDN`: a backslash before `,+"\<>;`, before a leading
/// space or `#`, and before a trailing space. Go ranges over runes but
/// copies bytes; every character it escapes is ASCII, so bytes suffice.
fn go_escape(value: &[u8], out: &mut Vec<u8>) {
    let last = value.len().wrapping_sub(1);
    for (i, &b) in value.iter().enumerate() {
        let escape = matches!(b, b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';')
            || (i == 0 && (b == b' ' || b == b'#'))
            || (i == last && b == b' ');
        if escape {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// A DN as Node's `ClientIdentity` writes it with `@fidm/x509`: every
/// attribute in the certificate's order, `/SHORTNAME=value`.
fn node_dn(name: &Name, which: &'static str) -> Result<String, CidError> {
    let mut out = String::new();
    for attribute in name.rdns.iter().flatten() {
        let value = node_value(attribute).map_err(|reason| CidError::UnformattableName {
            name: which,
            oid: attribute.oid.clone(),
            shim: "Node's shim",
            reason,
        })?;
        // `@fidm/x509`'s short names; every other type has "".
        let short = match attribute.oid.as_str() {
            "2.5.4.3" => "CN",
            "2.5.4.6" => "C",
            "2.5.4.7" => "L",
            "2.5.4.8" => "ST",
            "2.5.4.10" => "O",
            "2.5.4.11" => "OU",
            "1.2.840.113549.1.9.1" => "E",
            _ => "",
        };
        out.push('/');
        out.push_str(short);
        out.push('=');
        // `value.replace('/', '\\/')`: a string pattern replaces only the first.
        out.push_str(&value.replacen('/', "\\/", 1));
    }
    Ok(out)
}

/// A value as `@fidm/asn1` decodes it: the string types as UTF-8 (invalid
/// sequences replaced), NumericString and IA5String checked; anything else
/// is not a string, and Node's `.replace` throws on it.
fn node_value(a: &NameAttribute) -> Result<String, String> {
    let tag = if is_universal_primitive(a) {
        a.tag
    } else {
        u32::MAX
    };
    let text = || String::from_utf8_lossy(&a.value).into_owned();
    match tag {
        UTF8_STRING | PRINTABLE_STRING | T61_STRING | GENERAL_STRING => Ok(text()),
        NUMERIC_STRING => {
            let s = text();
            if s.chars().all(|c| c == ' ' || c.is_ascii_digit()) {
                Ok(s)
            } else {
                Err("invalid NumericString".into())
            }
        }
        IA5_STRING => {
            let s = text();
            if s.is_ascii() {
                Ok(s)
            } else {
                Err("invalid IA5String".into())
            }
        }
        _ => Err(format!(
            "not a string @fidm/asn1 decodes: class {}, tag {}",
            a.class, a.tag
        )),
    }
}

/// A DN as the JDK's `X500Name.getName()` writes it (`RDN.toString`,
/// `AVA.toString`): last RDN first, `, ` between RDNs, ` + ` inside one.
fn java_dn(name: &Name) -> String {
    name.rdns
        .iter()
        .rev()
        .map(|rdn| rdn.iter().map(java_ava).collect::<Vec<_>>().join(" + "))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JDK's `AVAKeyword` table for its default format (the last keyword
/// registered for an OID wins: ST, DNQ, EMAILADDRESS).
fn java_keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "T",
        "1.3.6.1.4.1.42.2.11.2.1" => "IP",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "2.5.4.46" => "DNQ",
        "2.5.4.4" => "SURNAME",
        "2.5.4.42" => "GIVENNAME",
        "2.5.4.43" => "INITIALS",
        "2.5.4.44" => "GENERATION",
        "1.2.840.113549.1.9.1" => "EMAILADDRESS",
        "0.9.2342.19200300.100.1.1" => "UID",
        "2.5.4.5" => "SERIALNUMBER",
        _ => return None,
    })
}

/// The JDK's `DerValue.getAsString()`: the string types it knows, each in
/// its charset; `None` for the others.
fn java_string(a: &NameAttribute) -> Option<String> {
    if !is_universal_primitive(a) {
        return None;
    }
    let ascii = || {
        a.value
            .iter()
            .map(|&b| {
                if b.is_ascii() {
                    char::from(b)
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            })
            .collect()
    };
    Some(match a.tag {
        UTF8_STRING => String::from_utf8_lossy(&a.value).into_owned(),
        PRINTABLE_STRING | IA5_STRING | GENERAL_STRING => ascii(),
        // ISO-8859-1: each byte is the code point.
        T61_STRING => a.value.iter().map(|&b| char::from(b)).collect(),
        BMP_STRING => {
            // UTF-16BE; an odd last byte decodes to U+FFFD.
            let pairs = a.value.chunks_exact(2);
            let odd = !pairs.remainder().is_empty();
            let units = pairs.map(|p| u16::from_be_bytes([p[0], p[1]]));
            let mut s: String = char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
            if odd {
                s.push(char::REPLACEMENT_CHARACTER);
            }
            s
        }
        // UTF-32BE.
        UNIVERSAL_STRING => {
            let quads = a.value.chunks_exact(4);
            let odd = !quads.remainder().is_empty();
            let mut s: String = quads
                .map(|q| {
                    char::from_u32(u32::from_be_bytes([q[0], q[1], q[2], q[3]]))
                        .unwrap_or(char::REPLACEMENT_CHARACTER)
                })
                .collect();
            if odd {
                s.push(char::REPLACEMENT_CHARACTER);
            }
            s
        }
        _ => return None,
    })
}

/// The JDK's `AVA.toString()` (`toKeywordValueString`).
fn java_ava(a: &NameAttribute) -> String {
    let keyword = java_keyword(&a.oid)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("OID.{}", a.oid));
    let Some(value) = java_string(a) else {
        // Not a string: '#' and the hex of the whole DER encoding.
        let mut hex = String::new();
        for b in der_tlv(a) {
            hex.push_str(&format!("{b:02x}"));
        }
        return format!("{keyword}=#{hex}");
    };
    const ESCAPEES: &str = ",+=\n<>#;\\\"";
    let printable = |c: char| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c);
    let chars: Vec<char> = value.chars().collect();
    let length = chars.len();
    let already_quoted = length > 1 && chars[0] == '"' && chars[length - 1] == '"';
    let mut quote_needed = false;
    let mut previous_white = false;
    let mut buffer = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if already_quoted && (i == 0 || i == length - 1) {
            buffer.push(c);
            continue;
        }
        let escapee = ESCAPEES.contains(c);
        if printable(c) || escapee {
            // Quote for leading whitespace or any special character.
            if !quote_needed && ((i == 0 && (c == ' ' || c == '\n')) || escapee) {
                quote_needed = true;
            }
            if c == ' ' || c == '\n' {
                // ... and for two whitespace characters in a row.
                if !quote_needed && previous_white {
                    quote_needed = true;
                }
                previous_white = true;
            } else {
                if c == '"' || c == '\\' {
                    buffer.push('\\');
                }
                previous_white = false;
            }
            buffer.push(c);
        } else {
            previous_white = false;
            buffer.push(c);
        }
    }
    if buffer.ends_with([' ', '\n']) {
        quote_needed = true;
    }
    if !already_quoted && quote_needed {
        format!("{keyword}=\"{buffer}\"")
    } else {
        format!("{keyword}={buffer}")
    }
}

/// The DER encoding of an attribute's value: identifier, length, content.
fn der_tlv(a: &NameAttribute) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.value.len() + 6);
    let first = (a.class << 6) | if a.constructed { 0x20 } else { 0 };
    if a.tag < 31 {
        out.push(first | a.tag as u8);
    } else {
        out.push(first | 0x1f);
        let mut arcs = Vec::new();
        let mut n = a.tag;
        loop {
            arcs.push((n & 0x7f) as u8);
            n >>= 7;
            if n == 0 {
                break;
            }
        }
        for (i, arc) in arcs.iter().enumerate().rev() {
            out.push(if i > 0 { arc | 0x80 } else { *arc });
        }
    }
    let len = a.value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(&a.value);
    out
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
