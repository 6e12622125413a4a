//! The server's TLS: its key and certificate, and with a client CA, mutual
//! TLS. Loaded and checked at start, every error naming its file; no key
//! material is ever printed.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// TLS material that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read the TLS {what} `{source_name}`")]
    Read {
        /// What the file is (`certificate`, `private key`, `client CA certificate`).
        what: &'static str,
        /// The file.
        source_name: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file holds no PEM block of the kind expected.
    #[error("the TLS {what} `{source_name}` holds no PEM `{expected}` block{found}")]
    NoPem {
        /// What the file is.
        what: &'static str,
        /// The file.
        source_name: String,
        /// The PEM label expected.
        expected: &'static str,
        /// What was found instead, when it can be said (`: it holds a private key`).
        found: &'static str,
    },
    /// The private key is not one rustls can sign with.
    #[error("the TLS private key `{source_name}` is not a usable key (expected an ECDSA P-256/P-384, RSA or Ed25519 key in PKCS#8, SEC1 or PKCS#1 PEM): {reason}")]
    BadKey {
        /// The file.
        source_name: String,
        /// Why.
        reason: String,
    },
    /// The key does not belong to the certificate.
    #[error("the TLS private key `{key}` does not match the certificate `{cert}`")]
    KeyMismatch {
        /// The key's file.
        key: String,
        /// The certificate's file.
        cert: String,
    },
    /// The certificate or client CA was refused by rustls.
    #[error("the TLS {what} `{source_name}` cannot be used: {reason}")]
    Unusable {
        /// What the file is.
        what: &'static str,
        /// The file.
        source_name: String,
        /// Why.
        reason: String,
    },
}

/// Where PEM text comes from: a file, or bytes already in memory.
#[derive(Clone)]
pub enum PemSource {
    /// A PEM file.
    File(PathBuf),
    /// PEM bytes, with a name for messages.
    Memory {
        /// What to call it in messages.
        name: String,
        /// The PEM text.
        pem: Vec<u8>,
    },
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the bytes: they may be a private key.
        f.write_str(&self.name())
    }
}

impl PemSource {
    /// What messages call it: the path, or the given name.
    pub fn name(&self) -> String {
        // A key pasted where a file name belongs is never echoed.
        match self {
            PemSource::File(path) => ccaas_core::report::shorten(&path.display().to_string()),
            PemSource::Memory { name, .. } => ccaas_core::report::shorten(name),
        }
    }

    fn read(&self, what: &'static str) -> Result<Vec<u8>, TlsError> {
        match self {
            PemSource::File(path) => std::fs::read(path).map_err(|source| TlsError::Read {
                what,
                source_name: self.name(),
                source,
            }),
            PemSource::Memory { pem, .. } => Ok(pem.clone()),
        }
    }
}

impl From<PathBuf> for PemSource {
    fn from(path: PathBuf) -> Self {
        PemSource::File(path)
    }
}

impl From<&Path> for PemSource {
    fn from(path: &Path) -> Self {
        PemSource::File(path.to_path_buf())
    }
}

/// The server's TLS settings: certificate (chain) and key, and the CA of
/// the peers' client certificates for mutual TLS.
///
/// ```
/// use ccaas_shim::TlsConfig;
/// let tls = TlsConfig::new("tls/server.pem", "tls/server.key").with_client_ca("tls/peer-ca.pem");
/// assert!(tls.client_ca.is_some());
/// ```
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// The server certificate, then any intermediates.
    pub cert: PemSource,
    /// The server's private key.
    pub key: PemSource,
    /// With it, every client must present a certificate that chains to it.
    pub client_ca: Option<PemSource>,
}

impl TlsConfig {
    /// Server TLS from a certificate file and a key file.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        TlsConfig {
            cert: PemSource::File(cert.into()),
            key: PemSource::File(key.into()),
            client_ca: None,
        }
    }

    /// Requires client certificates issued by the CA(s) in `ca` (mutual TLS).
    pub fn with_client_ca(mut self, ca: impl Into<PathBuf>) -> Self {
        self.client_ca = Some(PemSource::File(ca.into()));
        self
    }

    /// Whether clients must present a certificate.
    pub fn is_mutual(&self) -> bool {
        self.client_ca.is_some()
    }

    /// Loads and checks everything, and makes the rustls configuration:
    /// TLS 1.2 and 1.3, ALPN `h2`, the `ring` provider.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, TlsError> {
        self.build(ClientAuth::Required, &[b"h2"])
    }

    /// As [`TlsConfig::server_config`], with the client CA asking for a
    /// certificate without requiring one (`Optional`, the operations
    /// endpoint's mode) and the ALPN protocols given.
    pub(crate) fn build(
        &self,
        client_auth: ClientAuth,
        alpn: &[&[u8]],
    ) -> Result<rustls::ServerConfig, TlsError> {
        let provider = crypto_provider();
        let certs = load_certs(&self.cert, "certificate")?;
        let key = load_key(&self.key)?;
        match CertifiedKey::from_der(certs.clone(), key.clone_key(), &provider) {
            Ok(_) => {}
            Err(rustls::Error::InconsistentKeys(_)) => {
                return Err(TlsError::KeyMismatch {
                    key: self.key.name(),
                    cert: self.cert.name(),
                })
            }
            Err(e) => {
                return Err(TlsError::BadKey {
                    source_name: self.key.name(),
                    reason: e.to_string(),
                })
            }
        }
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Unusable {
                what: "certificate",
                source_name: self.cert.name(),
                reason: e.to_string(),
            })?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in load_certs(ca, "client CA certificate")? {
                    roots.add(cert).map_err(|e| TlsError::Unusable {
                        what: "client CA certificate",
                        source_name: ca.name(),
                        reason: e.to_string(),
                    })?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                );
                let verifier = match client_auth {
                    ClientAuth::Required => verifier,
                    ClientAuth::Optional => verifier.allow_unauthenticated(),
                };
                let verifier = verifier.build().map_err(|e| TlsError::Unusable {
                    what: "client CA certificate",
                    source_name: ca.name(),
                    reason: e.to_string(),
                })?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Unusable {
                what: "certificate",
                source_name: self.cert.name(),
                reason: e.to_string(),
            })?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// The facts of the server certificate (the first in its file), for
    /// logs and metrics.
    pub fn certificate_facts(&self) -> Result<CertificateFacts, TlsError> {
        let certs = load_certs(&self.cert, "certificate")?;
        let leaf = certs.first().ok_or_else(|| TlsError::NoPem {
            what: "certificate",
            source_name: self.cert.name(),
            expected: "CERTIFICATE",
            found: "",
        })?;
        CertificateFacts::of(leaf).map_err(|reason| TlsError::Unusable {
            what: "certificate",
            source_name: self.cert.name(),
            reason,
        })
    }
}

/// Whether a client CA requires a client certificate or only checks one
/// when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// Every client must present a certificate (the chaincode port).
    Required,
    /// A certificate is checked when given (the operations port, where
    /// `/metrics` and `/logspec` then require one).
    Optional,
}

/// What logs and metrics say about a certificate: never its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    /// The subject, as `CN=..., O=...`.
    pub subject: String,
    /// The serial number, in lower-case hex.
    pub serial: String,
    /// The end of its validity, Unix seconds.
    pub not_after: i64,
    /// The end of its validity, RFC 3339 (UTC).
    pub not_after_text: String,
}

impl CertificateFacts {
    fn of(cert: &CertificateDer<'_>) -> Result<Self, String> {
        use x509_parser::prelude::FromDer;
        let (_, parsed) = x509_parser::certificate::X509Certificate::from_der(cert.as_ref())
            .map_err(|e| format!("its certificate is not valid X.509: {e}"))?;
        let not_after = parsed.validity().not_after;
        Ok(CertificateFacts {
            subject: parsed.subject().to_string(),
            serial: parsed.raw_serial_as_string().replace(':', ""),
            not_after: not_after.timestamp(),
            not_after_text: crate::operations::rfc3339(not_after.timestamp(), 0),
        })
    }
}

/// The `ring` crypto provider every TLS configuration of this crate uses
/// (and what a client talking to it may use).
///
/// rustls 0.23.48 deprecated `rustls::crypto::ring::default_provider` in
/// favour of an API older releases lack; the one call that names it is
/// here, so that the crate builds without warnings with the locked release
/// and with the newest compatible one.
///
/// ```
/// let provider = ccaas_shim::tls::crypto_provider();
/// assert!(!provider.cipher_suites.is_empty());
/// ```
#[allow(deprecated)]
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_certs(
    source: &PemSource,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = source.read(what)?;
    let mut certs: Vec<CertificateDer<'static>> = Vec::new();
    for (index, block) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
        match block {
            Ok(cert) => certs.push(cert),
            Err(e) => {
                return Err(TlsError::Unusable {
                    what,
                    source_name: source.name(),
                    reason: format!("its certificate block {} is not valid PEM: {e}", index + 1),
                })
            }
        }
    }
    if certs.is_empty() {
        let found = if PrivateKeyDer::from_pem_slice(&bytes).is_ok() {
            ": it holds a private key"
        } else {
            ""
        };
        return Err(TlsError::NoPem {
            what,
            source_name: source.name(),
            expected: "CERTIFICATE",
            found,
        });
    }
    Ok(certs)
}

fn load_key(source: &PemSource) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = source.read("private key")?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| {
        let found = if CertificateDer::pem_slice_iter(&bytes).any(|c| c.is_ok()) {
            ": it holds a certificate"
        } else {
            ""
        };
        TlsError::NoPem {
            what: "private key",
            source_name: source.name(),
            expected: "PRIVATE KEY",
            found,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/tls")
            .join(name)
    }

    fn error(tls: TlsConfig) -> String {
        match tls.server_config() {
            Ok(_) => "accepted".to_owned(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_test_server_pair_loads_with_alpn_h2() {
        let config = TlsConfig::new(fixture("server.pem"), fixture("server.key"))
            .with_client_ca(fixture("ca.pem"))
            .server_config();
        assert_eq!(
            config.map(|c| c.alpn_protocols).ok(),
            Some(vec![b"h2".to_vec()])
        );
    }

    #[test]
    fn a_key_of_another_certificate_names_both_files() {
        let message = error(TlsConfig::new(fixture("server.pem"), fixture("other.key")));
        assert!(message.starts_with("the TLS private key `"), "{message}");
        assert!(
            message.contains("other.key` does not match the certificate `"),
            "{message}"
        );
        assert!(message.ends_with("server.pem`"), "{message}");
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let message = error(TlsConfig::new(fixture("absent.pem"), fixture("server.key")));
        assert!(
            message.starts_with("cannot read the TLS certificate `"),
            "{message}"
        );
        assert!(message.ends_with("absent.pem`"), "{message}");
    }

    #[test]
    fn a_key_where_the_certificate_belongs_says_so_without_printing_it() {
        let message = error(TlsConfig::new(fixture("server.key"), fixture("server.key")));
        assert!(
            message.ends_with("holds no PEM `CERTIFICATE` block: it holds a private key"),
            "{message}"
        );
        assert!(!message.contains("BEGIN"), "{message}");
    }

    #[test]
    fn a_certificate_where_the_key_belongs_says_so() {
        let message = error(TlsConfig::new(fixture("server.pem"), fixture("server.pem")));
        assert!(
            message.ends_with("holds no PEM `PRIVATE KEY` block: it holds a certificate"),
            "{message}"
        );
    }

    #[test]
    fn a_bad_client_ca_is_named() {
        let message = error(
            TlsConfig::new(fixture("server.pem"), fixture("server.key"))
                .with_client_ca(fixture("ca.key")),
        );
        assert!(
            message.starts_with("the TLS client CA certificate `"),
            "{message}"
        );
    }
}
