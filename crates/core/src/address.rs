//! `host:port` as the peer dials it: an IPv4 address, a DNS name or a
//! bracketed IPv6 address, and a port from 1 to 65535. Syntax only: nothing
//! here resolves a name.
//!
//! ```
//! use ccaas_core::Address;
//!
//! let a: Address = "mycc.org1.example.com:9999".parse()?;
//! assert_eq!((a.host(), a.port()), ("mycc.org1.example.com", 9999));
//! assert!("[::1]:7052".parse::<Address>().is_ok());
//! assert!("::1:7052".parse::<Address>().is_err());
//! # Ok::<(), ccaas_core::address::AddressError>(())
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

crate::report::debug_as_chain!(AddressError);

/// Why a string is not a `host:port` the peer can dial.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// No `:port` at all.
    #[error("`{found}` has no port (expected `host:port`, e.g. `{found}:9999`)")]
    MissingPort {
        /// The address.
        found: String,
    },
    /// The part before `:` is empty.
    #[error("`{found}` has no host (expected `host:port`, e.g. `mycc.example.com:9999`)")]
    MissingHost {
        /// The address.
        found: String,
    },
    /// The port is not a number from 1 to 65535.
    #[error("`{found}` has port `{port}`, expected a number from 1 to 65535")]
    BadPort {
        /// The address.
        found: String,
        /// The port text.
        port: String,
    },
    /// The host is not an IPv4 address, DNS name or bracketed IPv6 address.
    #[error("`{found}` has host `{host}`, which is not {reason}")]
    BadHost {
        /// The address.
        found: String,
        /// The host text.
        host: String,
        /// What it should have been.
        reason: &'static str,
    },
    /// A URL instead of an address.
    #[error(
        "`{found}` is a URL; the peer dials a plain `host:port` (remove the `{scheme}://` prefix)"
    )]
    Scheme {
        /// The address.
        found: String,
        /// The scheme, e.g. `grpcs`.
        scheme: String,
    },
    /// An IPv6 address without brackets.
    #[error("`{found}` looks like an IPv6 address without brackets (write `[host]:port`, e.g. `[::1]:9999`)")]
    UnbracketedIpv6 {
        /// The address.
        found: String,
    },
}

/// A syntactically valid `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    text: String,
    host_len: usize,
    host_offset: usize,
    port: u16,
}

impl Address {
    /// Checks `text` as `host:port`.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let found = || crate::report::shorten(text);
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(AddressError::Scheme {
                found: found(),
                scheme: crate::report::shorten(scheme),
            });
        }
        let (host_part, port_text) = match text.rfind(':') {
            Some(i) => (&text[..i], &text[i + 1..]),
            None => return Err(AddressError::MissingPort { found: found() }),
        };
        let (host, host_offset) = if let Some(inner) = host_part.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| AddressError::BadHost {
                    found: found(),
                    host: crate::report::shorten(host_part),
                    reason: "a bracketed IPv6 address (missing `]`)",
                })?;
            if inner.parse::<Ipv6Addr>().is_err() {
                return Err(AddressError::BadHost {
                    found: found(),
                    host: crate::report::shorten(inner),
                    reason: "an IPv6 address",
                });
            }
            (inner, 1)
        } else {
            if host_part.contains(':') {
                return Err(AddressError::UnbracketedIpv6 { found: found() });
            }
            if host_part.is_empty() {
                return Err(AddressError::MissingHost { found: found() });
            }
            check_host(host_part).map_err(|reason| AddressError::BadHost {
                found: found(),
                host: crate::report::shorten(host_part),
                reason,
            })?;
            (host_part, 0)
        };
        let port = match port_text.parse::<u16>() {
            Ok(p) if p > 0 && port_text.bytes().all(|b| b.is_ascii_digit()) => p,
            _ => {
                return Err(AddressError::BadPort {
                    found: found(),
                    port: crate::report::shorten(port_text),
                })
            }
        };
        Ok(Address {
            text: text.to_owned(),
            host_len: host.len(),
            host_offset,
            port,
        })
    }

    /// The host, without brackets for IPv6.
    pub fn host(&self) -> &str {
        &self.text[self.host_offset..self.host_offset + self.host_len]
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Checks a DNS name or dotted IPv4 address, returning what it should be.
pub fn check_host(host: &str) -> Result<(), &'static str> {
    let all_numeric = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if all_numeric {
        return host
            .parse::<Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| "an IPv4 address (four numbers from 0 to 255)");
    }
    check_dns_name(host)
}

/// Checks a DNS name: labels of letters, digits, `-` and `_` (as container
/// names use), 1 to 63 bytes each, 253 in all, no label starting or ending
/// with `-`.
pub fn check_dns_name(name: &str) -> Result<(), &'static str> {
    const REASON: &str =
        "a DNS name (letters, digits, `-`, `_`, dot-separated labels of 1 to 63 characters)";
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return Err(REASON);
    }
    for label in name.split('.') {
        let ok = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(REASON);
        }
    }
    Ok(())
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (String, u16) {
        match Address::parse(s) {
            Ok(a) => (a.host().to_owned(), a.port()),
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(ok("127.0.0.1:9999"), ("127.0.0.1".into(), 9999));
        assert_eq!(ok("localhost:1"), ("localhost".into(), 1));
        assert_eq!(
            ok("mycc.org1.example.com:65535"),
            ("mycc.org1.example.com".into(), 65535)
        );
        assert_eq!(ok("peer0_mycc:7052"), ("peer0_mycc".into(), 7052));
        assert_eq!(ok("[::1]:7052"), ("::1".into(), 7052));
        assert_eq!(ok("[fe80::1]:80"), ("fe80::1".into(), 80));
        assert_eq!(ok("example.com.:80"), ("example.com.".into(), 80));
    }

    #[test]
    fn rejected_forms() {
        type Check = fn(&AddressError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("localhost", |e| {
                matches!(e, AddressError::MissingPort { .. })
            }),
            (":9999", |e| matches!(e, AddressError::MissingHost { .. })),
            ("host:", |e| matches!(e, AddressError::BadPort { .. })),
            ("host:0", |e| matches!(e, AddressError::BadPort { .. })),
            ("host:65536", |e| matches!(e, AddressError::BadPort { .. })),
            ("host:+80", |e| matches!(e, AddressError::BadPort { .. })),
            ("host:http", |e| matches!(e, AddressError::BadPort { .. })),
            ("::1:9999", |e| {
                matches!(e, AddressError::UnbracketedIpv6 { .. })
            }),
            ("[::1:9999", |e| matches!(e, AddressError::BadHost { .. })),
            ("[not-ip]:9999", |e| {
                matches!(e, AddressError::BadHost { .. })
            }),
            ("256.0.0.1:9999", |e| {
                matches!(e, AddressError::BadHost { .. })
            }),
            ("my cc:9999", |e| matches!(e, AddressError::BadHost { .. })),
            ("-cc:9999", |e| matches!(e, AddressError::BadHost { .. })),
            ("a..b:9999", |e| matches!(e, AddressError::BadHost { .. })),
            ("grpcs://cc:9999", |e| {
                matches!(e, AddressError::Scheme { .. })
            }),
        ];
        for (text, check) in cases {
            match Address::parse(text) {
                Ok(a) => panic!("{text} accepted as {a:?}"),
                Err(e) => assert!(check(&e), "{text}: {e:?}"),
            }
        }
    }

    #[test]
    fn long_names() {
        let label = "a".repeat(63);
        assert!(Address::parse(&format!("{label}:1")).is_ok());
        assert!(Address::parse(&format!("{label}a:1")).is_err());
        let name = vec!["a".repeat(50); 6].join(".");
        assert!(Address::parse(&format!("{name}:1")).is_err());
    }
}
