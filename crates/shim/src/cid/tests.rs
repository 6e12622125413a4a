//! Golden vectors for the three ID formats, each derived by reading the
//! shim's source (Go 1.19 `crypto/x509` and `crypto/x509/pkix`,
//! fabric-chaincode-go `pkg/cid/cid.go` `getDN`; fabric-chaincode-node
//! `lib/chaincode.js` with `@fidm/x509` 1.2.1; fabric-chaincode-java
//! `ClientIdentity` with the JDK's `sun.security.x509.X500Name`, `RDN`,
//! `AVA`), then checked once by running each (Go 1.19, Node with
//! `@fidm/x509`, OpenJDK 17) on the same certificates (fixtures/cid/).

use super::dn::*;
use super::*;
use crate::proposal::Creator;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../fixtures/cid/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn identity(name: &str) -> ClientIdentity {
    ClientIdentity::from_serialized("Org1MSP", &fixture(name)).unwrap()
}

const ISSUER_GO: &str = "CN=ca.org1.example.com,O=org1.example.com,L=Durham,ST=North Carolina,C=US";
const ISSUER_NODE: &str =
    "/C=US/ST=North Carolina/L=Durham/O=org1.example.com/CN=ca.org1.example.com";
const ISSUER_JAVA: &str =
    "CN=ca.org1.example.com, O=org1.example.com, L=Durham, ST=North Carolina, C=US";

/// The issuer of every leaf, fixtures/cid/ca.pem, written in the order of
/// the certificate `C, ST, L, O, CN`:
/// - Go: FillFromRDNSequence puts each value in its field; ToRDNSequence
///   rebuilds C, ST, L, O, CN (no STREET, POSTALCODE, OU, SERIALNUMBER);
///   getDN writes them last first, joined by ",". Nothing to escape.
/// - Node: the attributes in order, `/C=US/ST=...`.
/// - Java: RDNs last first, joined by ", "; no value needs quotes.
#[test]
fn issuer_in_every_format() {
    let ca = identity("ca.pem");
    assert_eq!(
        ca.id_in(IdFormat::GoDecoded).unwrap(),
        format!("x509::{ISSUER_GO}::{ISSUER_GO}")
    );
    assert_eq!(
        ca.id_in(IdFormat::Node).unwrap(),
        format!("x509::{ISSUER_NODE}::{ISSUER_NODE}")
    );
    assert_eq!(
        ca.id_in(IdFormat::Java).unwrap(),
        format!("x509::{ISSUER_JAVA}::{ISSUER_JAVA}")
    );
}

/// user1.pem: subject `C=US, ST=North Carolina, O=Hyperledger, OU=client,
/// OU=org1, OU=department1, CN=user1`, each in its own RDN.
/// - Go: the three OUs land in `Name.OrganizationalUnit`; ToRDNSequence
///   makes ONE RDN of them (appendRDNs puts all values of a type in one
///   set), so getDN writes `OU=client+OU=org1+OU=department1`, in the
///   certificate's order, between CN and O. Then base64 (StdEncoding,
///   padded) of the whole `x509::...::...`.
/// - Node: the attributes in the certificate's order, one `/OU=` each.
/// - Java: one RDN each, reversed: `OU=department1, OU=org1, OU=client`.
#[test]
fn fabric_ca_enrollment() {
    let user1 = identity("user1.pem");
    let go = "x509::CN=user1,OU=client+OU=org1+OU=department1,O=Hyperledger,ST=North Carolina,C=US";
    assert_eq!(
        user1.id_in(IdFormat::GoDecoded).unwrap(),
        format!("{go}::{ISSUER_GO}")
    );
    assert_eq!(
        user1.id().unwrap(),
        "eDUwOTo6Q049dXNlcjEsT1U9Y2xpZW50K09VPW9yZzErT1U9ZGVwYXJ0bWVudDEsTz1IeXBlcmxlZGdlcixTVD1Ob3J0aCBDYXJvbGluYSxDPVVTOjpDTj1jYS5vcmcxLmV4YW1wbGUuY29tLE89b3JnMS5leGFtcGxlLmNvbSxMPUR1cmhhbSxTVD1Ob3J0aCBDYXJvbGluYSxDPVVT"
    );
    assert_eq!(
        user1.id_in(IdFormat::Node).unwrap(),
        format!("x509::/C=US/ST=North Carolina/O=Hyperledger/OU=client/OU=org1/OU=department1/CN=user1::{ISSUER_NODE}")
    );
    assert_eq!(
        user1.id_in(IdFormat::Java).unwrap(),
        format!("x509::CN=user1, OU=department1, OU=org1, OU=client, O=Hyperledger, ST=North Carolina, C=US::{ISSUER_JAVA}")
    );
    // Go's HasOUValue: exact match on any of Subject.OrganizationalUnit.
    assert!(user1.has_ou_value("org1").unwrap());
    assert!(user1.has_ou_value("department1").unwrap());
    assert!(!user1.has_ou_value("Org1").unwrap());
    assert!(!user1.has_ou_value("org1.department1").unwrap());
}

/// escaping.pem: subject `C=US, ST="a=b", L=" spaced ", O="Acme, Inc.",
/// OU="R+D", OU="#tag", OU="x/y/z", CN='say "hi" \ <b>;'`.
/// - Go (getDN): `,+"\<>;` get a backslash anywhere; a space only first or
///   last; `#` only first; `=` and `/` never. So `L=\ spaced\ `,
///   `O=Acme\, Inc.`, `OU=R\+D+OU=\#tag+OU=x/y/z` (one RDN, as above),
///   `CN=say \"hi\" \\ \<b\>\;`.
/// - Node: nothing escaped but the first `/` of a value: `x\/y/z`.
/// - Java (AVA.toKeywordValueString): any of `,+=\n<>#;\"` or a leading or
///   trailing space quotes the whole value, inside which `"` and `\` get a
///   backslash; `/` is a PrintableString character, left alone.
#[test]
fn escaping_in_every_format() {
    let e = identity("escaping.pem");
    let go = r#"CN=say \"hi\" \\ \<b\>\;,OU=R\+D+OU=\#tag+OU=x/y/z,O=Acme\, Inc.,L=\ spaced\ ,ST=a=b,C=US"#;
    assert_eq!(
        e.id_in(IdFormat::GoDecoded).unwrap(),
        format!("x509::{go}::{ISSUER_GO}")
    );
    assert_eq!(
        e.id().unwrap(),
        "eDUwOTo6Q049c2F5IFwiaGlcIiBcXCBcPGJcPlw7LE9VPVJcK0QrT1U9XCN0YWcrT1U9eC95L3osTz1BY21lXCwgSW5jLixMPVwgc3BhY2VkXCAsU1Q9YT1iLEM9VVM6OkNOPWNhLm9yZzEuZXhhbXBsZS5jb20sTz1vcmcxLmV4YW1wbGUuY29tLEw9RHVyaGFtLFNUPU5vcnRoIENhcm9saW5hLEM9VVM="
    );
    let node =
        r#"/C=US/ST=a=b/L= spaced /O=Acme, Inc./OU=R+D/OU=#tag/OU=x\/y/z/CN=say "hi" \ <b>;"#;
    assert_eq!(
        e.id_in(IdFormat::Node).unwrap(),
        format!("x509::{node}::{ISSUER_NODE}")
    );
    let java = r##"CN="say \"hi\" \\ <b>;", OU=x/y/z, OU="#tag", OU="R+D", O="Acme, Inc.", L=" spaced ", ST="a=b", C=US"##;
    assert_eq!(
        e.id_in(IdFormat::Java).unwrap(),
        format!("x509::{java}::{ISSUER_JAVA}")
    );
    assert!(e.has_ou_value("R+D").unwrap());
    assert!(e.attributes().is_empty());
}

/// multivalued.pem: subject `DC=org, DC=example, O=Example, {CN=bob +
/// OU=ops}, UID=b0b, emailAddress=bob@example.org, street=1 Main St,
/// postalCode=27701, serialNumber=42, title=eng, 1.2.3.4=custom,
/// CN=rôbert` (OpenSSL sorts the multi-valued RDN's SET by DER: CN first).
/// - Go: FillFromRDNSequence keeps only 2.5.4.{3,5,6,7,8,9,10,11,17}; DC,
///   UID, emailAddress, title and 1.2.3.4 are only in `Names`, which
///   ToRDNSequence does not read (it reads ExtraNames, empty after
///   parsing), so they vanish; so does the multi-valued RDN: CN is a single
///   string, the last one (`rôbert`) wins, and OU=ops is an RDN of its own.
///   Order: STREET, POSTALCODE, O, OU, CN, SERIALNUMBER, written reversed.
///   (Go's `1.2.3.4=#hex` form is never reached from a parsed certificate.)
///   `ô` is copied as its UTF-8 bytes.
/// - Node: every attribute, in order; short names exist only for CN, C,
///   L, ST, O, OU and E (emailAddress), so DC, UID, street, postalCode,
///   serialNumber, title and 1.2.3.4 are written `/=value`.
/// - Java: RDNs reversed, the multi-valued one as `CN=bob + OU=ops` (DER
///   order), keywords T (title), SERIALNUMBER, STREET, EMAILADDRESS, UID,
///   DC; postalCode and 1.2.3.4 have none: `OID.2.5.4.17`, `OID.1.2.3.4`.
///   `ô` is not a PrintableString character: copied, no quotes.
#[test]
fn multivalued_rdns_and_unknown_types() {
    let m = identity("multivalued.pem");
    let go = "SERIALNUMBER=42,CN=rôbert,OU=ops,O=Example,POSTALCODE=27701,STREET=1 Main St";
    assert_eq!(
        m.id_in(IdFormat::GoDecoded).unwrap(),
        format!("x509::{go}::{ISSUER_GO}")
    );
    assert_eq!(
        m.id().unwrap(),
        "eDUwOTo6U0VSSUFMTlVNQkVSPTQyLENOPXLDtGJlcnQsT1U9b3BzLE89RXhhbXBsZSxQT1NUQUxDT0RFPTI3NzAxLFNUUkVFVD0xIE1haW4gU3Q6OkNOPWNhLm9yZzEuZXhhbXBsZS5jb20sTz1vcmcxLmV4YW1wbGUuY29tLEw9RHVyaGFtLFNUPU5vcnRoIENhcm9saW5hLEM9VVM="
    );
    let node = "/=org/=example/O=Example/CN=bob/OU=ops/=b0b/E=bob@example.org/=1 Main St/=27701/=42/=eng/=custom/CN=rôbert";
    assert_eq!(
        m.id_in(IdFormat::Node).unwrap(),
        format!("x509::{node}::{ISSUER_NODE}")
    );
    let java = "CN=rôbert, OID.1.2.3.4=custom, T=eng, SERIALNUMBER=42, OID.2.5.4.17=27701, STREET=1 Main St, EMAILADDRESS=bob@example.org, UID=b0b, CN=bob + OU=ops, O=Example, DC=example, DC=org";
    assert_eq!(
        m.id_in(IdFormat::Java).unwrap(),
        format!("x509::{java}::{ISSUER_JAVA}")
    );
}

fn attr(oid: &str, tag: u32, value: &[u8]) -> NameAttribute {
    NameAttribute {
        oid: oid.into(),
        class: 0,
        constructed: false,
        tag,
        value: value.to_vec(),
    }
}

fn go_string(rdns: Vec<Vec<NameAttribute>>) -> Result<String, CidError> {
    let mut out = Vec::new();
    go_dn(&Name { rdns }, "subject", &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Shapes no fixture has, on names built in memory. The string results
/// (not the parser's refusals) were also checked with Go 1.19 running cid's
/// `getDN` on a `pkix.Name` filled by `FillFromRDNSequence`.
#[test]
fn go_dn_edge_cases() {
    // ToRDNSequence: `if len(n.CommonName) > 0`: an empty CN is left out;
    // an empty O is a value like any other (`len(values) == 0` is false).
    assert_eq!(
        go_string(vec![
            vec![attr("2.5.4.10", UTF8_STRING, b"")],
            vec![attr("2.5.4.3", UTF8_STRING, b"")]
        ])
        .unwrap(),
        "O="
    );
    // A single space is both first and last: one backslash (getDN's one test).
    assert_eq!(
        go_string(vec![vec![attr("2.5.4.3", UTF8_STRING, b" ")]]).unwrap(),
        "CN=\\ "
    );
    // A '#' inside a value is not escaped; a trailing '#' neither.
    assert_eq!(
        go_string(vec![vec![attr("2.5.4.3", UTF8_STRING, b"a#b#")]]).unwrap(),
        "CN=a#b#"
    );
    // BMPString: UTF-16BE, a terminating 00 00 dropped (parseASN1String).
    assert_eq!(
        go_string(vec![vec![attr(
            "2.5.4.3",
            BMP_STRING,
            b"\x00Z\x00\xf6\x00\x00"
        )]])
        .unwrap(),
        "CN=Zö"
    );
    // T61String: Go keeps the bytes, even when they are not UTF-8.
    let mut out = Vec::new();
    go_dn(
        &Name {
            rdns: vec![vec![attr("2.5.4.3", T61_STRING, b"\xe9")]],
        },
        "subject",
        &mut out,
    )
    .unwrap();
    assert_eq!(out, b"CN=\xe9");
    // A multi-valued RDN in the certificate becomes separate RDNs, in Go's
    // order (O before CN whatever the certificate says).
    assert_eq!(
        go_string(vec![vec![
            attr("2.5.4.3", UTF8_STRING, b"a"),
            attr("2.5.4.10", UTF8_STRING, b"o")
        ]])
        .unwrap(),
        "CN=a,O=o"
    );
    // Go refuses the certificate for a value it cannot read, even of a type
    // it then ignores: here an OCTET STRING under 1.2.3.4.
    let err = go_string(vec![vec![attr("1.2.3.4", 4, b"\x01")]]).unwrap_err();
    assert!(err.to_string().contains("1.2.3.4"), "{err}");
    assert!(err.to_string().contains("Go's x509 parser"), "{err}");
    // ... and a PrintableString holding a character PrintableString lacks.
    assert!(go_string(vec![vec![attr("2.5.4.3", PRINTABLE_STRING, b"a_b")]]).is_err());
    // '*' and '&' Go lets through.
    assert_eq!(
        go_string(vec![vec![attr("2.5.4.3", PRINTABLE_STRING, b"*&")]]).unwrap(),
        "CN=*&"
    );
}

/// The Java vectors here were also checked with OpenJDK 17's
/// `sun.security.x509.X500Name(der).getName()` on the same DER names.
#[test]
fn node_and_java_edge_cases() {
    let name = |a: NameAttribute| Name {
        rdns: vec![vec![a]],
    };
    // Node: `.replace('/', '\\/')` replaces the first '/' only.
    assert_eq!(
        node_dn(&name(attr("2.5.4.3", UTF8_STRING, b"/a/b")), "subject").unwrap(),
        "/CN=\\/a/b"
    );
    // Node: a BMPString is a Buffer to @fidm/asn1, and Buffer has no replace.
    assert!(node_dn(&name(attr("2.5.4.3", BMP_STRING, b"\x00a")), "subject").is_err());
    // Java: two spaces in a row quote the value.
    assert_eq!(
        java_dn(&name(attr("2.5.4.3", UTF8_STRING, b"a  b"))),
        "CN=\"a  b\""
    );
    // Java: a value already in quotes is not quoted again.
    assert_eq!(
        java_dn(&name(attr("2.5.4.3", UTF8_STRING, b"\"a,b\""))),
        "CN=\"a,b\""
    );
    // Java: a value that is not a string it knows: '#' and its DER, in hex.
    assert_eq!(
        java_dn(&name(attr("1.2.3.4", 4, b"\x01\x02"))),
        "OID.1.2.3.4=#04020102"
    );
    // Java: '\n' is one of the characters that quote a value.
    assert_eq!(
        java_dn(&name(attr("2.5.4.3", UTF8_STRING, "Zoë\n".as_bytes()))),
        "CN=\"Zoë\n\""
    );
    // Java: a BMPString is UTF-16BE.
    assert_eq!(
        java_dn(&name(attr("2.5.4.3", BMP_STRING, b"\x00Z\x00\xf6"))),
        "CN=Zö"
    );
    // Java: T61String is ISO-8859-1, PrintableString US-ASCII (U+FFFD for
    // anything else), an odd BMPString byte U+FFFD, UniversalString
    // UTF-32BE; NumericString is not among its strings: hex.
    let cn = |tag, value: &[u8]| java_dn(&name(attr("2.5.4.3", tag, value)));
    assert_eq!(cn(T61_STRING, b"caf\xe9"), "CN=café");
    assert_eq!(cn(PRINTABLE_STRING, b"caf\xe9"), "CN=caf\u{FFFD}");
    assert_eq!(cn(BMP_STRING, b"\x00Z\x00"), "CN=Z\u{FFFD}");
    assert_eq!(cn(UNIVERSAL_STRING, b"\x00\x00\x00Z"), "CN=Z");
    assert_eq!(cn(NUMERIC_STRING, b"12"), "CN=#12023132");
    // Java: the empty name.
    assert_eq!(java_dn(&Name::default()), "");
}

/// Go's attrmgr: `json.Unmarshal(ext.Value, &Attributes{})`.
#[test]
fn fabric_ca_attributes() {
    let user1 = identity("user1.pem");
    assert_eq!(
        user1.attribute_value("hf.Affiliation"),
        Some("org1.department1")
    );
    assert_eq!(user1.attribute_value("hf.Type"), Some("client"));
    assert_eq!(user1.attribute_value("missing"), None);
    assert_eq!(user1.attributes().len(), 4);
    user1.assert_attribute_value("role", "auditor").unwrap();
    // Go's texts, word for word.
    assert_eq!(
        user1
            .assert_attribute_value("missing", "x")
            .unwrap_err()
            .to_string(),
        "attribute 'missing' was not found"
    );
    assert_eq!(
        user1
            .assert_attribute_value("role", "admin")
            .unwrap_err()
            .to_string(),
        "attribute 'role' equals 'auditor', not 'admin'"
    );

    let parse = |s: &str| parse_attributes(s.as_bytes());
    assert!(parse("null").unwrap().is_empty());
    assert!(parse(r#"{"attrs":null}"#).unwrap().is_empty());
    assert!(parse(r#"{"other":1}"#).unwrap().is_empty());
    // encoding/json matches field names case-insensitively; null is "".
    let attrs = parse(r#"{"ATTRS":{"a":"1","b":null}}"#).unwrap();
    assert_eq!(attrs.get("a").map(String::as_str), Some("1"));
    assert_eq!(attrs.get("b").map(String::as_str), Some(""));
    // Go fails on a value that is not a string, and on a document that is
    // not an object.
    let err = parse(r#"{"attrs":{"n":1}}"#).unwrap_err();
    assert!(
        err.to_string().contains("attribute `n` is a number"),
        "{err}"
    );
    assert!(parse("[1]").is_err());
    assert!(parse("{").is_err());
}

fn idemix_creator(ou: &str, role: i32) -> Creator {
    let id_bytes = SerializedIdemixIdentity {
        nym_x: vec![1],
        nym_y: vec![2],
        ou: OrganizationUnit {
            msp_identifier: "IdemixOrg".into(),
            organizational_unit_identifier: ou.into(),
            certifiers_identifier: vec![3],
        }
        .encode_to_vec(),
        role: MspRole {
            msp_identifier: "IdemixOrg".into(),
            role,
        }
        .encode_to_vec(),
        proof: vec![4],
    }
    .encode_to_vec();
    Creator {
        mspid: "IdemixOrg".into(),
        id_bytes,
        raw: Vec::new(),
    }
}

/// Go: no PEM block, so `getAttributesFromIdemix`: attributes `ou` (the
/// OrganizationUnit's organizational_unit_identifier) and `role` (MSPRole
/// 0..3 as member/admin/client/peer, else ""); GetID fails ("cannot
/// determine identity"), and so does HasOUValue.
#[test]
fn idemix_identities() {
    let client = ClientIdentity::from_creator(&idemix_creator("org1.department1", 2)).unwrap();
    assert_eq!(client.mspid(), "IdemixOrg");
    assert_eq!(
        client.idemix(),
        Some(&IdemixIdentity {
            ou: "org1.department1".into(),
            role: 2
        })
    );
    assert_eq!(client.attribute_value("ou"), Some("org1.department1"));
    assert_eq!(client.attribute_value("role"), Some("client"));
    assert!(client.certificate().is_none());
    assert!(matches!(client.id(), Err(CidError::NotX509 { .. })));
    assert!(matches!(
        client.has_ou_value("org1.department1"),
        Err(CidError::NotX509 { .. })
    ));
    for (role, name) in [(0, "member"), (1, "admin"), (3, "peer"), (4, ""), (-1, "")] {
        let client = ClientIdentity::from_creator(&idemix_creator("x", role)).unwrap();
        assert_eq!(client.attribute_value("role"), Some(name), "{role}");
    }
}

#[test]
fn identities_that_are_neither() {
    // A PEM block that is no certificate.
    let err = ClientIdentity::from_serialized(
        "Org1MSP",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap_err();
    assert!(matches!(err, CidError::Certificate { .. }), "{err}");
    assert!(err.to_string().contains("MSP `Org1MSP`"), "{err}");
    // Bytes that are neither PEM nor protobuf.
    let err = ClientIdentity::from_serialized("Org1MSP", b"\xff\xff\xff").unwrap_err();
    assert!(
        matches!(
            err,
            CidError::NeitherX509NorIdemix {
                part: "id_bytes",
                ..
            }
        ),
        "{err}"
    );
    // The parsed certificate is available.
    let user1 = identity("user1.pem");
    let cert = user1.certificate().unwrap();
    assert_eq!(cert.subject().iter_common_name().count(), 1);
}
