//! What makes a chaincode launch fail in practice even when connection.json
//! is well formed: a client key that does not match its certificate, a
//! certificate expired or not yet valid, and a server certificate whose
//! names do not cover the address the peer dials. Used by `ccaas validate`;
//! the peer-facing binaries do not carry it (feature `tls-checks`).
//!
//! ```
//! use ccaas_core::tls_check::{key_matches_certificate, KeyMatch};
//!
//! let cert = include_str!("../../../fixtures/tls/client.pem");
//! let key = include_str!("../../../fixtures/tls/client.key");
//! let other = include_str!("../../../fixtures/tls/other.key");
//! assert_eq!(key_matches_certificate(key, cert), KeyMatch::Matches);
//! assert_eq!(key_matches_certificate(other, cert), KeyMatch::Differs);
//! ```

use crate::pem::{self, PemKind};
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// A problem found in TLS material, by the connection.json key it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFinding {
    /// Whether the launch would fail (true) or this is advice (false).
    pub fails: bool,
    /// The key (`root_cert`, `client_cert`, `client_key`, or `server certificate`).
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

impl TlsFinding {
    /// The finding in the words `validate`, `package` and `simulate` all
    /// use: `key `client_key`: ...` or `the server certificate ...`.
    pub fn describe(&self) -> String {
        if self.key == "server certificate" {
            format!("the server certificate {}", self.message)
        } else {
            format!("key `{}`: {}", self.key, self.message)
        }
    }
}

/// Whether a private key belongs to a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMatch {
    /// The key's public half is the certificate's.
    Matches,
    /// It is another key.
    Differs,
    /// The key does not carry its public half (e.g. Ed25519 PKCS#8 v1), or
    /// either side could not be read.
    Unknown,
}

/// One DER element: tag, contents, and what follows.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The elements inside a constructed element's contents.
fn children(mut content: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let Some((tag, value, rest)) = tlv(content) {
        out.push((tag, value));
        content = rest;
    }
    out
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// The public half a private key carries, in the form a certificate's
/// subjectPublicKey holds it (EC point, or DER RSAPublicKey's n and e).
#[derive(Debug, PartialEq, Eq)]
enum PublicHalf<'a> {
    Ec(&'a [u8]),
    Rsa { n: &'a [u8], e: &'a [u8] },
}

fn strip_zero(int: &[u8]) -> &[u8] {
    let mut i = int;
    while i.len() > 1 && i[0] == 0 {
        i = &i[1..];
    }
    i
}

fn ec_private_key(der: &[u8]) -> Option<PublicHalf<'_>> {
    let (0x30, seq, _) = tlv(der)? else {
        return None;
    };
    children(seq)
        .into_iter()
        .find_map(|(tag, value)| match tag {
            // [1] EXPLICIT BIT STRING publicKey
            0xa1 => match tlv(value)? {
                (0x03, bits, _) if !bits.is_empty() => Some(PublicHalf::Ec(&bits[1..])),
                _ => None,
            },
            _ => None,
        })
}

fn rsa_private_key(der: &[u8]) -> Option<PublicHalf<'_>> {
    let (0x30, seq, _) = tlv(der)? else {
        return None;
    };
    match children(seq).as_slice() {
        [(0x02, _version), (0x02, n), (0x02, e), ..] => Some(PublicHalf::Rsa {
            n: strip_zero(n),
            e: strip_zero(e),
        }),
        _ => None,
    }
}

fn pkcs8(der: &[u8]) -> Option<PublicHalf<'_>> {
    let (0x30, seq, _) = tlv(der)? else {
        return None;
    };
    let parts = children(seq);
    let [(0x02, _), (0x30, alg), (0x04, inner), ..] = parts.as_slice() else {
        return None;
    };
    let (0x06, oid, _) = tlv(alg)? else {
        return None;
    };
    if oid == OID_EC {
        ec_private_key(inner)
    } else if oid == OID_RSA {
        rsa_private_key(inner)
    } else {
        None
    }
}

fn public_half_of_key<'a>(label: &str, der: &'a [u8]) -> Option<PublicHalf<'a>> {
    match label {
        "EC PRIVATE KEY" => ec_private_key(der),
        "RSA PRIVATE KEY" => rsa_private_key(der),
        _ => pkcs8(der),
    }
}

fn public_half_of_cert<'a>(cert: &'a X509Certificate<'a>) -> Option<PublicHalf<'a>> {
    let spki = cert.public_key();
    let bits: &[u8] = &spki.subject_public_key.data;
    if spki.algorithm.algorithm.as_bytes() == OID_RSA {
        let (0x30, seq, _) = tlv(bits)? else {
            return None;
        };
        match children(seq).as_slice() {
            [(0x02, n), (0x02, e)] => Some(PublicHalf::Rsa {
                n: strip_zero(n),
                e: strip_zero(e),
            }),
            _ => None,
        }
    } else {
        Some(PublicHalf::Ec(bits))
    }
}

/// Whether the PEM private key `key` belongs to the first certificate of
/// the PEM `cert`.
pub fn key_matches_certificate(key: &str, cert: &str) -> KeyMatch {
    let (Ok(keys), Ok(certs)) = (
        pem::parse(key, PemKind::PrivateKey),
        pem::parse(cert, PemKind::Certificates),
    ) else {
        return KeyMatch::Unknown;
    };
    let Ok((_, parsed)) = X509Certificate::from_der(&certs[0].der) else {
        return KeyMatch::Unknown;
    };
    match (
        public_half_of_key(&keys[0].label, &keys[0].der),
        public_half_of_cert(&parsed),
    ) {
        (Some(a), Some(b)) if a == b => KeyMatch::Matches,
        (Some(_), Some(_)) => KeyMatch::Differs,
        _ => KeyMatch::Unknown,
    }
}

fn unix_now(now: SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Parses every certificate of `pem_text`, reporting unreadable ones and
/// ones outside their validity period at `now`.
fn check_certificates(key: &'static str, pem_text: &str, now: i64, out: &mut Vec<TlsFinding>) {
    let Ok(blocks) = pem::parse(pem_text, PemKind::Certificates) else {
        return; // the PEM check of connection.json already reports this
    };
    for (i, block) in blocks.iter().enumerate() {
        let which = if blocks.len() > 1 {
            format!("certificate {} of {}", i + 1, blocks.len())
        } else {
            "the certificate".to_owned()
        };
        let cert = match X509Certificate::from_der(&block.der) {
            Ok((_, cert)) => cert,
            Err(_) => {
                out.push(TlsFinding {
                    fails: true,
                    key,
                    message: format!("{which} is not a readable X.509 certificate"),
                });
                continue;
            }
        };
        let validity = cert.validity();
        let subject = cert.subject().to_string();
        if now > validity.not_after.timestamp() {
            out.push(TlsFinding {
                fails: true,
                key,
                message: format!("{which} (`{subject}`) expired on {}", validity.not_after),
            });
        } else if now < validity.not_before.timestamp() {
            out.push(TlsFinding {
                fails: true,
                key,
                message: format!(
                    "{which} (`{subject}`) is not valid before {}",
                    validity.not_before
                ),
            });
        }
    }
}

/// Whether the certificate's names cover `host` (a DNS name or IP address),
/// with one-label wildcards as TLS allows them.
pub fn certificate_covers(cert_pem: &str, host: &str) -> Option<bool> {
    let blocks = pem::parse(cert_pem, PemKind::Certificates).ok()?;
    let (_, cert) = X509Certificate::from_der(&blocks[0].der).ok()?;
    let ip: Option<IpAddr> = host.parse().ok();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let names = cert.subject_alternative_name().ok().flatten()?;
    Some(
        names
            .value
            .general_names
            .iter()
            .any(|name| match (name, ip) {
                (GeneralName::IPAddress(bytes), Some(IpAddr::V4(v4))) => *bytes == v4.octets(),
                (GeneralName::IPAddress(bytes), Some(IpAddr::V6(v6))) => *bytes == v6.octets(),
                (GeneralName::DNSName(pattern), None) => {
                    dns_matches(&pattern.to_ascii_lowercase(), &host)
                }
                _ => false,
            }),
    )
}

fn dns_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

/// The TLS server name a peer checks: `domain` with client auth when the
/// peer's release reads it (`honours_domain`: Fabric v3.0+, by
/// `core/container/externalbuilder/instance.go`), else the address host
/// (Fabric v2.5 never reads `domain`).
///
/// ```
/// use ccaas_core::{tls_check, Connection};
///
/// let c = Connection {
///     address: "peer0-cc:9999".into(),
///     tls_required: true,
///     client_auth_required: true,
///     domain: Some("cc.example.com".into()),
///     ..Default::default()
/// };
/// assert_eq!(tls_check::server_name(&c, false), "peer0-cc"); // v2.5
/// assert_eq!(tls_check::server_name(&c, true), "cc.example.com"); // v3.0+
/// ```
pub fn server_name(connection: &crate::Connection, honours_domain: bool) -> String {
    match (&connection.domain, connection.client_auth_required) {
        (Some(domain), true) if honours_domain && !domain.is_empty() => domain.clone(),
        _ => crate::Address::parse(&connection.address)
            .map(|a| a.host().to_owned())
            .unwrap_or_default(),
    }
}

/// Whether a certificate in the PEM `roots` issued the first certificate
/// of the PEM `leaf` (its issuer is a root's subject); `None` when `leaf`
/// is not a readable certificate.
///
/// ```
/// use ccaas_core::tls_check::issued_by;
///
/// let ca = include_str!("../../../fixtures/tls/ca.pem");
/// let server = include_str!("../../../fixtures/tls/server.pem");
/// assert_eq!(issued_by(server, ca), Some(true));
/// assert_eq!(issued_by(ca, server), Some(false));
/// ```
pub fn issued_by(leaf: &str, roots: &str) -> Option<bool> {
    let blocks = pem::parse(leaf, PemKind::Certificates).ok()?;
    let (_, leaf) = X509Certificate::from_der(&blocks[0].der).ok()?;
    Some(
        pem::parse(roots, PemKind::Certificates)
            .unwrap_or_default()
            .iter()
            .any(|b| {
                X509Certificate::from_der(&b.der)
                    .is_ok_and(|(_, ca)| ca.subject().as_raw() == leaf.issuer().as_raw())
            }),
    )
}

/// Checks the TLS material of a loaded connection at `now`; `server_cert`
/// is the chaincode server's certificate, when the operator has it, checked
/// against the name a peer of the release `honours_domain` describes (see
/// [`server_name`]).
pub fn check(
    connection: &crate::Connection,
    server_cert: Option<&str>,
    now: SystemTime,
    honours_domain: bool,
) -> Vec<TlsFinding> {
    let mut out = Vec::new();
    if !connection.tls_required {
        return out;
    }
    let now = unix_now(now);
    if let Some(root) = &connection.root_cert {
        check_certificates("root_cert", root, now, &mut out);
    }
    if connection.client_auth_required {
        if let Some(cert) = &connection.client_cert {
            check_certificates("client_cert", cert, now, &mut out);
            if let Some(key) = &connection.client_key {
                match key_matches_certificate(&key.0, cert) {
                    KeyMatch::Matches => {}
                    KeyMatch::Differs => out.push(TlsFinding {
                        fails: true,
                        key: "client_key",
                        message: "the private key does not belong to `client_cert` (the TLS handshake would fail)".into(),
                    }),
                    KeyMatch::Unknown => out.push(TlsFinding {
                        fails: false,
                        key: "client_key",
                        message: "could not check that the private key belongs to `client_cert` (the key does not carry its public half)".into(),
                    }),
                }
            }
        }
    }
    if let Some(server) = server_cert {
        if pem::parse(server, PemKind::Certificates).is_err() {
            out.push(TlsFinding {
                fails: true,
                key: "server certificate",
                message: "is not a PEM certificate".into(),
            });
            return out;
        }
        check_certificates("server certificate", server, now, &mut out);
        // The peer checks the address host, or `domain` when it uses it.
        let name = server_name(connection, honours_domain);
        if !name.is_empty() {
            match certificate_covers(server, &name) {
                Some(true) => {}
                Some(false) => {
                    let domain_used = connection.domain.is_some() && connection.client_auth_required;
                    let fix = match (honours_domain, domain_used) {
                        (true, true) => "reissue the certificate, or change `domain`",
                        (true, false) => "set `domain` with client auth, which Fabric v3.0+ checks instead, or reissue the certificate",
                        (false, true) => "a Fabric v2.5 peer never reads `domain` (v3.0+ checks it with client auth): reissue the certificate with this name",
                        (false, false) => "reissue the certificate with this name; a Fabric v2.5 peer never reads `domain`",
                    };
                    out.push(TlsFinding {
                        fails: true,
                        key: "server certificate",
                        message: format!("does not cover `{name}`, the name the peer checks ({fix})"),
                    })
                }
                None => out.push(TlsFinding {
                    fails: true,
                    key: "server certificate",
                    message: "has no subject alternative names; the peer's Go TLS stack ignores the Common Name, so no name can match".into(),
                }),
            }
        }
        if let Some(root) = &connection.root_cert {
            if issued_by(server, root) != Some(true) {
                out.push(TlsFinding {
                    fails: true,
                    key: "root_cert",
                    message: "no certificate in `root_cert` issued the server certificate (the peer would not trust the chaincode server)".into(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = include_str!("../../../fixtures/tls/ca.pem");
    const SERVER: &str = include_str!("../../../fixtures/tls/server.pem");
    const CLIENT: &str = include_str!("../../../fixtures/tls/client.pem");
    const CLIENT_KEY: &str = include_str!("../../../fixtures/tls/client.key");

    #[test]
    fn key_forms_match_their_certificates() {
        assert_eq!(
            key_matches_certificate(include_str!("../../../fixtures/tls/client-ec.key"), CLIENT),
            KeyMatch::Matches
        );
        assert_eq!(
            key_matches_certificate(
                include_str!("../../../fixtures/tls/client-rsa.key"),
                include_str!("../../../fixtures/tls/client-rsa.pem")
            ),
            KeyMatch::Matches
        );
        assert_eq!(
            key_matches_certificate(include_str!("../../../fixtures/tls/client-rsa.key"), CLIENT),
            KeyMatch::Differs
        );
        assert_eq!(
            key_matches_certificate(include_str!("../../../fixtures/tls/server.key"), SERVER),
            KeyMatch::Matches
        );
    }

    #[test]
    fn names_and_wildcards() {
        assert_eq!(certificate_covers(SERVER, "localhost"), Some(true));
        assert_eq!(certificate_covers(SERVER, "127.0.0.1"), Some(true));
        assert_eq!(
            certificate_covers(SERVER, "a.chaincode.example.com"),
            Some(true)
        );
        assert_eq!(
            certificate_covers(SERVER, "a.b.chaincode.example.com"),
            Some(false)
        );
        assert_eq!(
            certificate_covers(SERVER, "chaincode.example.com"),
            Some(false)
        );
        assert_eq!(certificate_covers(SERVER, "10.0.0.1"), Some(false));
    }

    #[test]
    fn validity_periods() {
        let now = unix_now(SystemTime::now());
        let mut out = Vec::new();
        check_certificates(
            "root_cert",
            include_str!("../../../fixtures/tls/expired.pem"),
            now,
            &mut out,
        );
        check_certificates(
            "root_cert",
            include_str!("../../../fixtures/tls/notyet.pem"),
            now,
            &mut out,
        );
        check_certificates("root_cert", CA, now, &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].message.contains("expired on"));
        assert!(out[1].message.contains("is not valid before"));
    }

    #[test]
    fn check_a_connection() {
        let json = serde_json::json!({
            "address": "mycc.example.com:9999", "tls_required": true, "client_auth_required": true,
            "root_cert": CA, "client_cert": CLIENT, "client_key": include_str!("../../../fixtures/tls/other.key"),
        });
        let c = crate::connection::load(json.to_string().as_bytes(), &Default::default())
            .map(|c| c.connection)
            .unwrap_or_default();
        let found = check(&c, Some(SERVER), SystemTime::now(), true);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "client_key");
        let other_host = crate::Connection {
            address: "elsewhere.org:1".into(),
            ..c.clone()
        };
        let found = check(&other_host, Some(SERVER), SystemTime::now(), true);
        assert!(
            found.iter().any(|f| f.key == "server certificate"),
            "{found:?}"
        );
        let _ = CLIENT_KEY;
    }
}
