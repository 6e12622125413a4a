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

crate::report::debug_as_chain!(PemError);

/// Why text is not the PEM the peer needs. No variant carries the text.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
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
    #[error("the `{label}` block has no END line (was the text cut short?)")]
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
    /// A placeholder (`...`) where the base64 body goes, as in the Fabric
    /// v2.0 documentation's example.
    #[error("expected {expected}, found a placeholder (`...` where the base64 body goes, as in the Fabric documentation's example): paste the whole PEM file, or name it with the `*_file` key")]
    Placeholder {
        /// What was expected.
        expected: &'static str,
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
            .filter(|l| is_label(l))
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
        let der = match base64_decode(&body) {
            Some(der) => der,
            None if is_placeholder(&body) => {
                return Err(PemError::Placeholder {
                    expected: if label.contains("PRIVATE KEY") {
                        PemKind::PrivateKey.expected()
                    } else {
                        PemKind::Certificates.expected()
                    },
                })
            }
            None => {
                return Err(PemError::BadBase64 {
                    label: label.to_owned(),
                })
            }
        };
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
        if text.contains("BEGIN") && is_placeholder(text) {
            return Err(PemError::Placeholder {
                expected: kind.expected(),
            });
        }
        let found = no_block_found(text);
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

/// What text with no well-formed `-----BEGIN <LABEL>-----` line is, in words.
fn no_block_found(text: &str) -> &'static str {
    let one_line = !text.trim().contains('\n');
    if text.trim().is_empty() {
        "an empty string"
    } else if text.contains("\\n") && one_line {
        "a single line with literal `\\n` sequences (the newlines were escaped twice; in JSON write `\\n`, not `\\\\n`)"
    } else if text.contains("BEGIN") && !text.contains("-----BEGIN ") {
        "a `BEGIN` line without exactly five dashes on each side (it must read `-----BEGIN <LABEL>-----`)"
    } else if text.contains("BEGIN") && one_line {
        "PEM text on a single line (its newlines were lost, e.g. by a copy and paste): in JSON write each newline as `\\n` (`\"-----BEGIN CERTIFICATE-----\\nMIIB...\\n-----END CERTIFICATE-----\\n\"`), or name the file with the `*_file` key"
    } else if text.contains("BEGIN") {
        "a `BEGIN` line that is not `-----BEGIN <LABEL>-----` on a line of its own (were newlines replaced by spaces?)"
    } else if one_line
        && text.len() < 4096
        && !text.trim().contains(' ')
        && (text.contains('/') || text.contains(".pem") || text.contains(".crt"))
    {
        "text with no `-----BEGIN` line (a file path? use the `*_file` key for paths)"
    } else {
        "text with no `-----BEGIN` line (not PEM)"
    }
}

/// Whether `label` can be a PEM label (`CERTIFICATE`, `EC PRIVATE KEY`...):
/// anything else after `-----BEGIN ` is broken text, never quoted.
fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 40
        && label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'-')
        && !label.contains("--")
}

/// Whether a PEM body (or a whole PEM text) stands in for one with `...`.
fn is_placeholder(text: &str) -> bool {
    text.contains("...") || text.contains('…')
}

/// Whether `text` may hold private-key material, whatever shape it arrived
/// in: a `PRIVATE KEY` marker with any dashes, newlines or case (one line,
/// spaces for newlines, truncated, glued to a certificate), or, without any
/// marker, a run of base64 that is not a certificate's (bare base64). Used
/// to keep keys out of everything we print and to write such files 0600.
pub fn contains_private_key(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if ["private key", "private-key", "privatekey", "private_key"]
        .iter()
        .any(|m| lower.contains(m))
    {
        return true;
    }
    // A certificate (well formed or not) with no key marker is not a key.
    if lower.contains("certificate") {
        return false;
    }
    base64_runs(text).any(|run| !is_certificate_der(run))
}

/// Runs of base64 in `text` long and mixed enough to be key material
/// rather than a name or a path: at least 32 characters of `A-Za-z0-9+/=`
/// with 24 between two `/` holding upper case, lower case and digits (a
/// path's components are shorter; base64 has one `/` in 64 characters).
pub(crate) fn base64_runs(text: &str) -> impl Iterator<Item = &str> {
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=';
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            while at < bytes.len() && !is_b64(bytes[at]) {
                at += 1;
            }
            let mut start = at;
            while at < bytes.len() && is_b64(bytes[at]) {
                at += 1;
            }
            // The `n` of a JSON `\n` escape is not part of the base64 after it.
            if start > 0 && bytes[start - 1] == b'\\' && matches!(bytes[start], b'n' | b'r' | b't')
            {
                start += 1;
            }
            let run = &text[start..at];
            if is_suspicious_run(run) {
                return Some(run);
            }
        }
        None
    })
}

fn is_suspicious_run(run: &str) -> bool {
    let mixed = |t: &str| {
        t.bytes().any(|b| b.is_ascii_uppercase())
            && t.bytes().any(|b| b.is_ascii_lowercase())
            && t.bytes().any(|b| b.is_ascii_digit())
    };
    // A path's components are short; a key's base64 has a `/` in 64.
    run.len() >= 32 && run.split('/').any(|part| part.len() >= 24 && mixed(part))
}

/// Whether a base64 run decodes to the start of a DER certificate: a
/// SEQUENCE whose first element is a SEQUENCE (tbsCertificate), where every
/// private key form starts with an INTEGER (its version).
fn is_certificate_der(run: &str) -> bool {
    let head: String = run.chars().take(16).collect();
    let Some(der) = base64_decode(&head) else {
        return false;
    };
    let first_element = match der.get(1) {
        Some(&n) if n < 0x80 => 2,
        Some(&n) => 2 + usize::from(n & 0x7f),
        None => return false,
    };
    der.first() == Some(&0x30) && der.get(first_element) == Some(&0x30)
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

    // Regression: the Fabric v2.0 docs' example and one-line PEMs were quoted
    // back garbled (as the label of an "unterminated" block).
    #[test]
    fn placeholders_and_one_line_pems_are_said_in_words() {
        let docs = "-----BEGIN CERTIFICATE---- ... -----END CERTIFICATE-----";
        assert!(matches!(
            parse(docs, PemKind::Certificates),
            Err(PemError::Placeholder { .. })
        ));
        let lines = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            parse(lines, PemKind::Certificates),
            Err(PemError::Placeholder { .. })
        ));
        let one_line = CERT.replace('\n', " ");
        match parse(&one_line, PemKind::Certificates) {
            Err(e @ PemError::NoBlock { .. }) => {
                let text = e.to_string();
                assert!(
                    text.contains("single line") && text.contains("`\\n`"),
                    "{text}"
                );
                assert!(!text.contains("TWFu"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        let four = CERT.replace("-----BEGIN", "----BEGIN");
        match parse(&four, PemKind::Certificates) {
            Err(PemError::NoBlock { found, .. }) => assert!(found.contains("five dashes")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_are_recognised_in_any_shape() {
        let body = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgO/vO7YK9Tiyzccaa";
        let key = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
        for shape in [
            key.clone(),
            key.replace('\n', " "),
            key.replace('\n', ""),
            key.replace("-----", "----"),
            key.to_lowercase(),
            body.to_owned(),
            format!("{CERT}{key}"),
        ] {
            assert!(contains_private_key(&shape), "{shape}");
        }
        for not_a_key in [
            CERT,
            "mycc.example.com:9999",
            "/home/User1/ProjectsDir/chaincodeXyz/tls/ca.pem",
            "basic_1.0:9c90b8f7a1e2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293dddde",
        ] {
            assert!(!contains_private_key(not_a_key), "{not_a_key}");
        }
        // A certificate's body without its markers is not taken for a key.
        let cert_body = "MIIBdzCCARygAwIBAgIUYWDyir9Y/DSGkAlGAY6hmDxVAwEwCgYIKoZIzj0EAwIw";
        assert!(!contains_private_key(cert_body));
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
