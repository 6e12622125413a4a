//! Distinguished names as each shim writes them: Go's `cid.getDN` over
//! the `pkix.Name` Go's parser fills, Node's `@fidm/x509` attributes, the
//! JDK's `X500Name.getName()`. See [`IdFormat`](super::IdFormat).

use super::CidError;
use x509_parser::prelude::X509Name;

/// One attribute of a distinguished name, as the certificate encodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NameAttribute {
    /// Dotted OID.
    pub(super) oid: String,
    /// ASN.1 class (0 universal).
    pub(super) class: u8,
    /// Whether the value is constructed.
    pub(super) constructed: bool,
    /// ASN.1 tag number (12 UTF8String, 19 PrintableString, ...).
    pub(super) tag: u32,
    /// The value's content octets.
    pub(super) value: Vec<u8>,
}

/// A distinguished name: its RDNs in the certificate's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Name {
    pub(super) rdns: Vec<Vec<NameAttribute>>,
}

impl Name {
    pub(super) fn from_x509(name: &X509Name<'_>) -> Self {
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

// ASN.1 universal tags of the string types.
pub(super) const UTF8_STRING: u32 = 12;
pub(super) const NUMERIC_STRING: u32 = 18;
pub(super) const PRINTABLE_STRING: u32 = 19;
pub(super) const T61_STRING: u32 = 20;
pub(super) const IA5_STRING: u32 = 22;
pub(super) const GENERAL_STRING: u32 = 27;
pub(super) const UNIVERSAL_STRING: u32 = 28;
pub(super) const BMP_STRING: u32 = 30;

pub(super) fn is_universal_primitive(a: &NameAttribute) -> bool {
    a.class == 0 && !a.constructed
}

/// A value as Go's x509 parser (`parseASN1String`) turns it into a Go
/// string: the bytes of that string, or why Go refuses the certificate.
pub(super) fn go_value(a: &NameAttribute) -> Result<Vec<u8>, String> {
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
pub(super) fn go_id(subject: &Name, issuer: &Name) -> Result<Vec<u8>, CidError> {
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
pub(super) fn go_dn(name: &Name, which: &'static str, out: &mut Vec<u8>) -> Result<(), CidError> {
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
pub(super) fn go_escape(value: &[u8], out: &mut Vec<u8>) {
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
pub(super) fn node_dn(name: &Name, which: &'static str) -> Result<String, CidError> {
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
pub(super) fn node_value(a: &NameAttribute) -> Result<String, String> {
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
pub(super) fn java_dn(name: &Name) -> String {
    name.rdns
        .iter()
        .rev()
        .map(|rdn| rdn.iter().map(java_ava).collect::<Vec<_>>().join(" + "))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JDK's `AVAKeyword` table for its default format (the last keyword
/// registered for an OID wins: ST, DNQ, EMAILADDRESS).
pub(super) fn java_keyword(oid: &str) -> Option<&'static str> {
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
pub(super) fn java_string(a: &NameAttribute) -> Option<String> {
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
pub(super) fn java_ava(a: &NameAttribute) -> String {
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
pub(super) fn der_tlv(a: &NameAttribute) -> Vec<u8> {
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
