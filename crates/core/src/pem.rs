//! PEM text as the peer's TLS stack reads it: `-----BEGIN <LABEL>-----`,
//! base64, `-----END <LABEL>-----`. Errors describe the shape of what was
//! found, never its content, since the text may be a private key.
//!
//! ```
//! use ccaas_core::pem::{parse, PemKind};
//!
//! let cert = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
//! let blocks = parse(cert, PemKind::Certificates)?;
//! assert_eq!(blocks[0].der, [0, 1, 2]);
//! assert!(parse(cert, PemKind::PrivateKey).is_err());
//! # Ok::<(), ccaas_core::pem::PemError>(())
//! ```

/// What a PEM field must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemKind {
    /// One or more `CERTIFICATE` blocks.
    Certificates,
    /// One unencrypted private key: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY`
    /// (PKCS#1) or `EC PRIVATE KEY` (SEC1).
    PrivateKey,
}

impl PemKind {
    fn expected(self) -> &'static str {
        match self {
            PemKind::Certificates => "one or more `CERTIFICATE` blocks",
            PemKind::PrivateKey => "a `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block",
        }
    }
}

/// Why text is not the PEM the peer needs. No variant carries the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    /// No `-----BEGIN` line at all.
    #[error("expected {expected}, found {found}")]
    NoBlock {
        /// What was expected.
        expected: &'static str,
        /// A description of what was found.
        found: &'static str,
    },
    /// Blocks of the wrong type.
    #[error("expected {expected}, found a `{label}` block")]
    WrongLabel {
        /// What was expected.
        expected: &'static str,
        /// The label found.
        label: String,
    },
    /// `BEGIN` without a matching `END`.
    #[error("the `{label}` block has no `-----END {label}-----` line")]
    Unterminated {
        /// The block's label.
        label: String,
    },
    /// The body is not base64.
    #[error("the `{label}` block's body is not valid base64")]
    BadBase64 {
        /// The block's label.
        label: String,
    },
    /// An encrypted key, which the peer cannot use.
    #[error("the private key is encrypted; the peer needs an unencrypted key (decrypt it with `openssl pkey -in key.pem -out key-plain.pem`)")]
    Encrypted,
}

/// One decoded PEM block.
#[derive(Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The label between `BEGIN ` and `-----`.
    pub label: String,
    /// The decoded body.
    pub der: Vec<u8>,
}

impl std::fmt::Debug for PemBlock {
    // The body may be a private key: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PemBlock({}, {} bytes)", self.label, self.der.len())
    }
}

/// Every PEM block in `text`, in order.
pub fn blocks(text: &str) -> Result<Vec<PemBlock>, PemError> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line
            .trim_end()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut terminated = false;
        let mut encrypted = false;
        for line in lines.by_ref() {
            let line = line.trim();
            if line == end {
                terminated = true;
                break;
            }
            if line.starts_with("Proc-Type:") && line.contains("ENCRYPTED") {
                encrypted = true;
            }
            if line.contains(':') {
                continue; // an RFC 1421 header line
            }
            body.push_str(line);
        }
        if !terminated {
            return Err(PemError::Unterminated {
                label: label.to_owned(),
            });
        }
        if encrypted || label == "ENCRYPTED PRIVATE KEY" {
            return Err(PemError::Encrypted);
        }
        let der = base64_decode(&body).ok_or_else(|| PemError::BadBase64 {
            label: label.to_owned(),
        })?;
        out.push(PemBlock {
            label: label.to_owned(),
            der,
        });
    }
    Ok(out)
}

/// Checks that `text` is PEM of `kind` and returns the matching blocks.
pub fn parse(text: &str, kind: PemKind) -> Result<Vec<PemBlock>, PemError> {
    let all = blocks(text)?;
    if all.is_empty() {
        let found = if text.trim().is_empty() {
            "an empty string"
        } else if text.contains("\\n") && !text.contains('\n') {
            "a single line with literal `\\n` sequences (the newlines were escaped twice; in JSON write `\\n`, not `\\\\n`)"
        } else if text.contains("-----BEGIN") {
            "a `-----BEGIN` line that is not `-----BEGIN <LABEL>-----` on a line of its own"
        } else {
            "text with no `-----BEGIN` line (a file path? use the `*_file` key for paths)"
        };
        return Err(PemError::NoBlock {
            expected: kind.expected(),
            found,
        });
    }
    let wanted = |label: &str| match kind {
        PemKind::Certificates => label == "CERTIFICATE",
        PemKind::PrivateKey => {
            matches!(label, "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY")
        }
    };
    if let Some(other) = all.iter().find(|b| !wanted(&b.label)) {
        return Err(PemError::WrongLabel {
            expected: kind.expected(),
            label: other.label.clone(),
        });
    }
    if kind == PemKind::PrivateKey && all.len() > 1 {
        return Err(PemError::WrongLabel {
            expected: kind.expected(),
            label: format!("{} blocks; expected one", all.len()),
        });
    }
    Ok(all)
}

/// Whether `text` holds a PEM private-key marker (used to keep keys out of
/// everything we print).
pub fn contains_private_key(text: &str) -> bool {
    text.contains("PRIVATE KEY-----")
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits, mut padding) = (0u32, 0u32, 0usize);
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if padding > 0 {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // 2 leftover bits follow 3 characters (`=` pads), 4 follow 2 (`==`).
    let valid_tail = matches!((bits, padding), (0, 0) | (2, 1) | (2, 0) | (4, 2) | (4, 0));
    (valid_tail && padding <= 2).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nTWFu\n-----END CERTIFICATE-----\n";

    #[test]
    fn base64_rows() {
        assert_eq!(base64_decode("TWFu"), Some(b"Man".to_vec()));
        assert_eq!(base64_decode("TWE="), Some(b"Ma".to_vec()));
        assert_eq!(base64_decode("TQ=="), Some(b"M".to_vec()));
        assert_eq!(base64_decode("TQ==TQ=="), None);
        assert_eq!(base64_decode("T$=="), None);
        assert_eq!(base64_decode("T"), None);
    }

    #[test]
    fn certificates_chain() {
        let two = format!("{CERT}{CERT}");
        assert_eq!(parse(&two, PemKind::Certificates).map(|b| b.len()), Ok(2));
    }

    #[test]
    fn key_labels() {
        for label in ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"] {
            let key = format!("-----BEGIN {label}-----\nTWFu\n-----END {label}-----\n");
            assert!(parse(&key, PemKind::PrivateKey).is_ok(), "{label}");
            assert!(matches!(
                parse(&key, PemKind::Certificates),
                Err(PemError::WrongLabel { .. })
            ));
        }
    }

    #[test]
    fn encrypted_keys_are_refused() {
        let pkcs8 =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nTWFu\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(parse(pkcs8, PemKind::PrivateKey), Err(PemError::Encrypted));
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nTWFu\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(parse(legacy, PemKind::PrivateKey), Err(PemError::Encrypted));
    }

    #[test]
    fn escaped_newlines_are_explained() {
        let once = CERT.replace('\n', "\\n");
        match parse(&once, PemKind::Certificates) {
            Err(PemError::NoBlock { found, .. }) => assert!(found.contains("literal")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unterminated_and_bad_body() {
        assert!(matches!(
            parse("-----BEGIN CERTIFICATE-----\nTWFu\n", PemKind::Certificates),
            Err(PemError::Unterminated { .. })
        ));
        assert!(matches!(
            parse(
                "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----",
                PemKind::Certificates
            ),
            Err(PemError::BadBase64 { .. })
        ));
    }

    #[test]
    fn a_path_is_not_pem() {
        assert!(matches!(
            parse("/etc/tls/ca.pem", PemKind::Certificates),
            Err(PemError::NoBlock { .. })
        ));
    }

    #[test]
    fn debug_never_shows_the_body() {
        let b = PemBlock {
            label: "PRIVATE KEY".into(),
            der: vec![1, 2, 3],
        };
        assert_eq!(format!("{b:?}"), "PemBlock(PRIVATE KEY, 3 bytes)");
    }
}
