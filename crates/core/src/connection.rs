//! `connection.json`: where the peer dials the chaincode server, checked
//! with the peer's own acceptance rules at install time instead of at the
//! first invoke, and written back in a canonical form the peer accepts.
//!
//! ```
//! use ccaas_core::connection::{self, LoadOptions};
//!
//! let json = br#"{"address": "mycc:9999", "dial_timeout": "10s", "tls_required": "false"}"#;
//! let checked = connection::load(json, &LoadOptions::default())?;
//! assert_eq!(checked.connection.address, "mycc:9999");
//! assert_eq!(checked.warnings.len(), 1); // the peer itself rejects "false" as a string
//! assert!(String::from_utf8(checked.connection.to_json())?.contains("\"tls_required\": false"));
//!
//! let bad = connection::load(br#"{"address": "mycc", "dial_timeout": "10"}"#, &LoadOptions::default());
//! assert_eq!(bad.map(|_| ()).unwrap_err().problems.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::address::{check_dns_name, Address, AddressError};
use crate::duration::{DurationError, GoDuration, DEFAULT_DIAL_TIMEOUT};
use crate::gojson::{key_matches, kind_of, Field, JsonError, JsonObject};
use crate::outcome::PeerOutcome;
use crate::pem::{self, PemError, PemKind};
use crate::template::{self, is_template, TemplateConfig, TemplateError};
use crate::tls_files::{TlsFileError, TlsFiles};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use std::fmt;

/// The largest connection.json we read.
pub const MAX_CONNECTION_BYTES: u64 = 1024 * 1024;

/// The keys the peer reads, in canonical order.
pub const PEER_KEYS: [&str; 8] = [
    "address",
    "dial_timeout",
    "tls_required",
    "client_auth_required",
    "root_cert",
    "client_cert",
    "client_key",
    "domain",
];

/// Our keys naming TLS files to inline, and the PEM key each fills.
pub const FILE_KEYS: [(&str, &str); 3] = [
    ("root_cert_file", "root_cert"),
    ("client_cert_file", "client_cert"),
    ("client_key_file", "client_key"),
];

crate::report::debug_as_chain!(ConnectionError);

/// A problem that makes the peer fail (or our build refuse) the connection.
#[derive(thiserror::Error)]
pub enum ConnectionError {
    /// Not a JSON object the peer can decode.
    #[error("{0}")]
    Json(#[from] JsonError),
    /// A key holds the wrong JSON type.
    #[error("key `{key}` must be {expected}, found {found}")]
    WrongType {
        /// The key as written.
        key: String,
        /// The JSON type the peer decodes.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// `address` missing or empty.
    #[error("key `address` is {found}; the peer needs the chaincode server's `host:port` (e.g. `mycc.example.com:9999`)")]
    MissingAddress {
        /// `missing` or `empty`.
        found: &'static str,
    },
    /// `address` is not `host:port`.
    #[error("key `address`: {0}")]
    Address(#[source] AddressError),
    /// `dial_timeout` is not a Go duration.
    #[error("key `dial_timeout`: {0}")]
    DialTimeout(#[source] DurationError),
    /// `dial_timeout` is a number out of range or negative.
    #[error("key `dial_timeout` is {found}; expected a Go duration string such as `\"10s\"` or a non-negative number of nanoseconds")]
    DialTimeoutValue {
        /// The value as written.
        found: String,
    },
    /// A key needed for the TLS mode is missing.
    #[error("key `{key}` is missing, but {because} (set `{key}` to the PEM text, or `{key}_file` to a file)")]
    MissingTls {
        /// The missing key.
        key: &'static str,
        /// Why it is needed.
        because: &'static str,
    },
    /// A PEM key does not hold the right PEM.
    #[error("key `{key}`: {source}")]
    Pem {
        /// The key.
        key: String,
        /// What is wrong (never the key material).
        #[source]
        source: PemError,
    },
    /// Both a PEM key and its `_file` key.
    #[error("keys `{key}` and `{file_key}` are both set; keep one")]
    Both {
        /// The PEM key.
        key: &'static str,
        /// The file key.
        file_key: &'static str,
    },
    /// A `*_file` reference cannot be read.
    #[error("key `{key}`: {source}")]
    TlsFile {
        /// The file key.
        key: String,
        /// Why.
        #[source]
        source: TlsFileError,
    },
    /// A private key in a key that is not `client_key`.
    #[error(
        "key `{key}` holds a private key (not shown); a private key belongs only in `client_key`"
    )]
    MisplacedKey {
        /// The key.
        key: String,
    },
    /// A `*_file` reference where files cannot be read (release).
    #[error("key `{key}` still names file `{path}`: the peer reads no `*_file` keys, and only the build step inlines them (this BLD was not written by it; rebuild)")]
    NotInlined {
        /// The file key.
        key: &'static str,
        /// The reference.
        path: String,
    },
    /// A template in a build step's output (release).
    #[error("key `{key}` is still a template (`{text}`): only the build step renders templates (this BLD was not written by it; rebuild)")]
    NotRendered {
        /// The key.
        key: String,
        /// The template text (`<redacted>` for `client_key`).
        text: String,
    },
    /// A template could not be rendered.
    #[error("key `{key}`: {source}")]
    Template {
        /// The key.
        key: String,
        /// Why.
        #[source]
        source: TemplateError,
    },
    /// `domain` is not a DNS name.
    #[error("key `domain` is `{found}`, which is not a DNS name (the TLS server name the peer expects in the chaincode server's certificate)")]
    Domain {
        /// The value.
        found: String,
    },
}

impl ConnectionError {
    /// The connection.json key the problem is about, when it is about one
    /// (`None` for JSON that does not parse and for two keys at once).
    pub fn key(&self) -> Option<&str> {
        match self {
            ConnectionError::Json(_) | ConnectionError::Both { .. } => None,
            ConnectionError::MissingAddress { .. } | ConnectionError::Address(_) => Some("address"),
            ConnectionError::DialTimeout(_) | ConnectionError::DialTimeoutValue { .. } => {
                Some("dial_timeout")
            }
            ConnectionError::Domain { .. } => Some("domain"),
            ConnectionError::MissingTls { key, .. } | ConnectionError::NotInlined { key, .. } => {
                Some(key)
            }
            ConnectionError::WrongType { key, .. }
            | ConnectionError::Pem { key, .. }
            | ConnectionError::TlsFile { key, .. }
            | ConnectionError::MisplacedKey { key }
            | ConnectionError::NotRendered { key, .. }
            | ConnectionError::Template { key, .. } => Some(key),
        }
    }

    /// What the peer would do with a connection.json that has this problem.
    pub fn peer_outcome(&self) -> PeerOutcome {
        PeerOutcome::FailsAtLaunch
    }
}

crate::report::debug_as_chain!(ConnectionWarning);

/// Something the peer accepts, ignores or reads differently from what the
/// author probably meant.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionWarning {
    /// `"true"`/`"false"` as strings (the Fabric v2.0 documentation example).
    #[error("key `{key}` is the string `\"{text}\"`; written as the boolean {value}, but the peer itself rejects a string here (fails at the first invoke), so fix the source")]
    StringBoolean {
        /// The key.
        key: String,
        /// The string as written.
        text: String,
        /// What it was read as.
        value: bool,
    },
    /// A key the peer does not know, close to one it does.
    #[error(
        "key `{key}` is not a key the peer reads and is ignored; did you mean `{suggestion}`?"
    )]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The closest known key.
        suggestion: &'static str,
    },
    /// A key given several times.
    #[error("key `{key}` appears {count} times (keys match case-insensitively); the peer uses the last one")]
    Duplicate {
        /// The key.
        key: &'static str,
        /// How often.
        count: usize,
    },
    /// A fractional number of nanoseconds.
    #[error(
        "key `dial_timeout` is {found} nanoseconds; the fraction is dropped, as the peer does"
    )]
    FractionalTimeout {
        /// The number as written.
        found: String,
    },
    /// TLS settings with `tls_required` false.
    #[error("key `{key}` is set but {because}, so the peer ignores it")]
    TlsIgnored {
        /// The key.
        key: &'static str,
        /// The setting that makes the peer ignore it.
        because: &'static str,
    },
    /// `domain` without client auth.
    #[error("key `domain` is set, but the peer uses it only when `tls_required` and `client_auth_required` are both true (and only from Fabric v2.5)")]
    DomainIgnored,
    /// A template left for the build step.
    #[error("key `{key}` is a template (`{text}`); it is rendered by the builder from `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` and checked then")]
    Unrendered {
        /// The key.
        key: &'static str,
        /// The template text.
        text: String,
    },
    /// A `*_file` reference to a file the package does not hold.
    #[error("key `{key}` names `{path}`, which is not in the package: the build fails unless the peer's `CCAAS_TLS_DIR` holds it{hint}")]
    NotInPackage {
        /// The key.
        key: &'static str,
        /// The reference.
        path: String,
        /// A near miss: the same file name elsewhere in the package.
        hint: String,
    },
    /// A `*_file` reference left for the build step.
    #[error("key `{key}` names file `{path}`, read and checked by the builder on the peer")]
    Unresolved {
        /// The key.
        key: &'static str,
        /// The reference.
        path: String,
    },
}

impl ConnectionWarning {
    /// Whether this is information rather than something to fix: how the
    /// builder will treat a template or a file reference.
    pub fn is_note(&self) -> bool {
        matches!(
            self,
            ConnectionWarning::Unrendered { .. } | ConnectionWarning::Unresolved { .. }
        )
    }

    /// What the peer would do.
    pub fn peer_outcome(&self) -> PeerOutcome {
        match self {
            ConnectionWarning::StringBoolean { .. } => PeerOutcome::FailsAtLaunch,
            ConnectionWarning::UnknownKey { .. }
            | ConnectionWarning::TlsIgnored { .. }
            | ConnectionWarning::DomainIgnored => PeerOutcome::Ignores,
            _ => PeerOutcome::Accepts,
        }
    }
}

/// A string that may hold a private key: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// A `connection.json` the peer will accept.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Connection {
    /// `address`: `host:port` (or a template, before rendering).
    pub address: String,
    /// `dial_timeout`, when given (zero means the peer's 3s default).
    pub dial_timeout: Option<GoDuration>,
    /// `dial_timeout` when it is a template not yet rendered.
    pub dial_timeout_template: Option<String>,
    /// `tls_required`.
    pub tls_required: bool,
    /// `client_auth_required`.
    pub client_auth_required: bool,
    /// `root_cert`: PEM CA certificate(s).
    pub root_cert: Option<String>,
    /// `client_cert`: PEM certificate.
    pub client_cert: Option<String>,
    /// `client_key`: PEM private key.
    pub client_key: Option<Secret>,
    /// `domain`: TLS server name override.
    pub domain: Option<String>,
    /// `*_file` references not (yet) inlined, by file key.
    pub files: Vec<(&'static str, String)>,
    /// Keys the peer does not read, kept as written (the last of duplicates).
    pub extra: Vec<Field>,
}

/// How to load a connection.json.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions<'a> {
    /// Values for `{{.key}}` templates.
    pub config: Option<&'a TemplateConfig>,
    /// The build step's rules: every template must be rendered and every
    /// `*_file` found. Otherwise (packaging, validation) a template without
    /// config, or a file not found where it is looked for, is a warning: the
    /// builder on the peer resolves it.
    pub strict: bool,
    /// Where `*_file` references are read; `None` leaves them as they are.
    pub tls_files: Option<&'a TlsFiles>,
    /// The file is a build step's output, loaded again by release: a
    /// template there is one the build step never rendered, and is reported
    /// as that (not as a missing `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`).
    pub built: bool,
}

/// A connection.json that passed every check, with the warnings found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The connection.
    pub connection: Connection,
    /// Everything worth telling the operator.
    pub warnings: Vec<ConnectionWarning>,
}

/// A connection.json the peer would not accept: every problem at once.
/// `Display` lists them all (`3 problems: a; b; c`); with one problem,
/// `source()` is that problem's cause.
pub struct Rejected {
    /// The problems, in key order.
    pub problems: Vec<ConnectionError>,
    /// Warnings found on the way.
    pub warnings: Vec<ConnectionWarning>,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::report::list_problems(&self.problems))
    }
}

impl fmt::Debug for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::report::chain(self))
    }
}

impl std::error::Error for Rejected {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.problems.as_slice() {
            [one] => one.source(),
            _ => None,
        }
    }
}

/// Reads, renders, resolves and validates a connection.json.
pub fn load(bytes: &[u8], options: &LoadOptions<'_>) -> Result<Checked, Rejected> {
    let object = JsonObject::parse(bytes).map_err(|e| Rejected {
        problems: vec![e.into()],
        warnings: Vec::new(),
    })?;
    let mut loader = Loader {
        options,
        problems: Vec::new(),
        warnings: Vec::new(),
        object: &object,
        invalid: Vec::new(),
    };
    let connection = loader.read();
    let Loader {
        problems, warnings, ..
    } = loader;
    if problems.is_empty() {
        Ok(Checked {
            connection,
            warnings,
        })
    } else {
        Err(Rejected { problems, warnings })
    }
}

struct Loader<'a, 'o> {
    options: &'a LoadOptions<'a>,
    object: &'o JsonObject,
    problems: Vec<ConnectionError>,
    warnings: Vec<ConnectionWarning>,
    /// Keys already reported as a problem: not reported again as missing.
    invalid: Vec<&'static str>,
}

/// A string field after templating.
enum Text {
    Absent,
    /// Already reported as a problem.
    Invalid,
    Rendered(String),
    Template(String),
}

impl Loader<'_, '_> {
    fn read(&mut self) -> Connection {
        for name in PEER_KEYS.iter().chain(FILE_KEYS.iter().map(|(k, _)| k)) {
            let count = self.object.count(name);
            if count > 1 {
                self.warnings
                    .push(ConnectionWarning::Duplicate { key: name, count });
            }
        }
        let mut c = Connection {
            extra: self.unknown_keys(),
            ..Connection::default()
        };
        match self.text("address") {
            Text::Absent => self
                .problems
                .push(ConnectionError::MissingAddress { found: "missing" }),
            Text::Rendered(a) if a.is_empty() => self
                .problems
                .push(ConnectionError::MissingAddress { found: "empty" }),
            Text::Rendered(a) => {
                if let Err(e) = Address::parse(&a) {
                    self.problems.push(ConnectionError::Address(e));
                }
                c.address = a;
            }
            Text::Template(t) => c.address = t,
            Text::Invalid => {}
        }
        self.dial_timeout(&mut c);
        c.tls_required = self.boolean("tls_required");
        c.client_auth_required = self.boolean("client_auth_required");
        c.domain = self.rendered("domain");
        c.root_cert = self.rendered("root_cert");
        c.client_cert = self.rendered("client_cert");
        c.client_key = self.rendered("client_key").map(Secret);
        self.resolve_files(&mut c);
        self.check_tls(&c);
        c
    }

    fn unknown_keys(&mut self) -> Vec<Field> {
        let mut extra: Vec<Field> = Vec::new();
        for field in self.object.fields() {
            let known = PEER_KEYS
                .iter()
                .chain(FILE_KEYS.iter().map(|(k, _)| k))
                .any(|k| key_matches(&field.key, k));
            if known {
                continue;
            }
            match extra.iter_mut().find(|f| f.key == field.key) {
                Some(kept) => kept.value = field.value.clone(),
                None => {
                    if let Some(suggestion) = suggest(&field.key) {
                        self.warnings.push(ConnectionWarning::UnknownKey {
                            key: crate::report::shorten(&field.key),
                            suggestion,
                        });
                    }
                    extra.push(field.clone());
                }
            }
        }
        extra
    }

    /// A string key: absent, rendered, or a template left for later.
    fn text(&mut self, name: &'static str) -> Text {
        let Some(field) = self.object.get(name) else {
            return Text::Absent;
        };
        match &field.value {
            Value::Null => Text::Absent,
            Value::String(s) => self.render(name, &field.key, s),
            other => {
                self.problems.push(ConnectionError::WrongType {
                    key: crate::report::shorten(&field.key),
                    expected: "a string",
                    found: kind_of(other),
                });
                Text::Invalid
            }
        }
    }

    fn render(&mut self, name: &'static str, key: &str, s: &str) -> Text {
        if name != "client_key" && crate::pem::contains_private_key(s) {
            self.problems.push(ConnectionError::MisplacedKey {
                key: key.to_owned(),
            });
            self.invalid.push(name);
            return Text::Invalid;
        }
        if !is_template(s) {
            return Text::Rendered(s.to_owned());
        }
        if self.options.config.is_none() && !self.options.strict {
            self.warnings.push(ConnectionWarning::Unrendered {
                key: name,
                text: if name == "client_key" {
                    "<redacted>".into()
                } else {
                    s.to_owned()
                },
            });
            return Text::Template(s.to_owned());
        }
        if self.options.config.is_none() && self.options.built {
            self.problems.push(ConnectionError::NotRendered {
                key: key.to_owned(),
                text: if name == "client_key" {
                    "<redacted>".into()
                } else {
                    crate::report::shorten(s)
                },
            });
            return Text::Invalid;
        }
        match template::render(s, self.options.config) {
            Ok(text) => Text::Rendered(text.into_owned()),
            Err(source) => {
                self.problems.push(ConnectionError::Template {
                    key: key.to_owned(),
                    source,
                });
                Text::Invalid
            }
        }
    }

    /// A string key, `None` when absent or empty.
    fn rendered(&mut self, name: &'static str) -> Option<String> {
        match self.text(name) {
            Text::Rendered(s) | Text::Template(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    fn boolean(&mut self, name: &'static str) -> bool {
        let Some(field) = self.object.get(name) else {
            return false;
        };
        let key = crate::report::shorten(&field.key);
        let (text, templated) = match &field.value {
            Value::Bool(b) => return *b,
            Value::Null => return false,
            Value::String(s) => match self.render(name, &key, s) {
                Text::Rendered(t) => (t, is_template(s)),
                Text::Template(_) | Text::Absent | Text::Invalid => return false,
            },
            other => {
                self.problems.push(ConnectionError::WrongType {
                    key,
                    expected: "a boolean (`true` or `false`, without quotes)",
                    found: kind_of(other),
                });
                return false;
            }
        };
        let value = if text.eq_ignore_ascii_case("true") {
            true
        } else if text.eq_ignore_ascii_case("false") {
            false
        } else {
            self.problems.push(ConnectionError::WrongType {
                key,
                expected: "a boolean (`true` or `false`, without quotes)",
                found: "a string",
            });
            return false;
        };
        // A template can only produce a string; rendering it into a real
        // boolean is this builder's job, not a mistake in the source.
        if !templated {
            self.warnings
                .push(ConnectionWarning::StringBoolean { key, text, value });
        }
        value
    }

    fn dial_timeout(&mut self, c: &mut Connection) {
        let Some(field) = self.object.get("dial_timeout") else {
            return;
        };
        let key = crate::report::shorten(&field.key);
        match &field.value {
            Value::String(s) => match self.render("dial_timeout", &key, s) {
                Text::Rendered(text) if text.is_empty() => {
                    self.problems.push(ConnectionError::DialTimeoutValue {
                        found: "an empty string (Fabric's own ccaas builder writes this when `dial_timeout` is absent)".into(),
                    })
                }
                Text::Rendered(text) => match GoDuration::parse(&text) {
                    Ok(d) if d.is_negative() => self.problems.push(ConnectionError::DialTimeoutValue {
                        found: format!("`{}`, a negative duration", crate::report::shorten(&text)),
                    }),
                    Ok(d) => c.dial_timeout = Some(d),
                    Err(e) => self.problems.push(ConnectionError::DialTimeout(e)),
                },
                Text::Template(t) => c.dial_timeout_template = Some(t),
                Text::Absent | Text::Invalid => {}
            },
            Value::Number(n) => {
                let found = n.to_string();
                let Some(f) = n.as_f64().filter(|f| (0.0..9.223_372_036_854_775e18).contains(f)) else {
                    self.problems.push(ConnectionError::DialTimeoutValue { found });
                    return;
                };
                if f.fract() != 0.0 {
                    self.warnings.push(ConnectionWarning::FractionalTimeout { found });
                }
                // Go converts the float64 to an int64 count of nanoseconds.
                let nanos = n.as_i64().unwrap_or(f as i64);
                c.dial_timeout = Some(GoDuration::from_nanos(nanos));
            }
            Value::Null => self.problems.push(ConnectionError::DialTimeoutValue {
                found: "null (the peer's duration decoder rejects null; remove the key for the 3s default)".into(),
            }),
            other => self.problems.push(ConnectionError::WrongType {
                key,
                expected: "a Go duration string such as `\"10s\"`, or a number of nanoseconds",
                found: kind_of(other),
            }),
        }
    }

    fn resolve_files(&mut self, c: &mut Connection) {
        for (file_key, pem_key) in FILE_KEYS {
            let Some(reference) = self.rendered(file_key) else {
                continue;
            };
            // The peer ignores TLS material it does not use: so do we.
            let used = c.tls_required && (pem_key == "root_cert" || c.client_auth_required);
            if !used {
                c.files.push((file_key, reference));
                continue;
            }
            let inline_set = match pem_key {
                "root_cert" => c.root_cert.is_some(),
                "client_cert" => c.client_cert.is_some(),
                _ => c.client_key.is_some(),
            };
            if inline_set {
                self.problems.push(ConnectionError::Both {
                    key: pem_key,
                    file_key,
                });
                continue;
            }
            let Some(files) = self.options.tls_files.filter(|_| !is_template(&reference)) else {
                if self.options.strict && !is_template(&reference) {
                    self.problems.push(ConnectionError::NotInlined {
                        key: file_key,
                        path: reference.clone(),
                    });
                } else {
                    self.warnings.push(ConnectionWarning::Unresolved {
                        key: file_key,
                        path: reference.clone(),
                    });
                }
                c.files.push((file_key, reference));
                continue;
            };
            match files.read(&reference) {
                Ok((_, text)) => match pem_key {
                    "root_cert" => c.root_cert = Some(text),
                    "client_cert" => c.client_cert = Some(text),
                    _ => c.client_key = Some(Secret(text)),
                },
                Err(TlsFileError::NotFound { .. }) if !self.options.strict => {
                    self.warnings.push(ConnectionWarning::NotInPackage {
                        key: file_key,
                        path: reference.clone(),
                        hint: files.near_miss(std::path::Path::new(&reference)),
                    });
                    c.files.push((file_key, reference));
                }
                Err(source) => {
                    self.problems.push(ConnectionError::TlsFile {
                        key: file_key.to_owned(),
                        source,
                    });
                    // Reported once: not again as a missing PEM key.
                    c.files.push((file_key, reference));
                }
            }
        }
    }

    fn check_tls(&mut self, c: &Connection) {
        let has_file = |pem_key: &str| {
            c.files
                .iter()
                .any(|(k, _)| k.strip_suffix("_file") == Some(pem_key))
        };
        let pem_fields: [(&'static str, Option<&str>, PemKind); 3] = [
            ("root_cert", c.root_cert.as_deref(), PemKind::Certificates),
            (
                "client_cert",
                c.client_cert.as_deref(),
                PemKind::Certificates,
            ),
            (
                "client_key",
                c.client_key.as_ref().map(|s| s.0.as_str()),
                PemKind::PrivateKey,
            ),
        ];
        if !c.tls_required {
            let because = "`tls_required` is false (the peer dials without TLS)";
            if c.client_auth_required {
                self.warnings.push(ConnectionWarning::TlsIgnored {
                    key: "client_auth_required",
                    because,
                });
            }
            for (key, value, _) in pem_fields {
                if value.is_some() || has_file(key) {
                    self.warnings
                        .push(ConnectionWarning::TlsIgnored { key, because });
                }
            }
            if c.domain.is_some() {
                self.warnings.push(ConnectionWarning::DomainIgnored);
            }
            return;
        }
        for (key, value, kind) in pem_fields {
            if key != "root_cert" && !c.client_auth_required {
                if value.is_some() || has_file(key) {
                    self.warnings.push(ConnectionWarning::TlsIgnored {
                        key,
                        because: "`client_auth_required` is false",
                    });
                }
                continue;
            }
            let needed = match key {
                "root_cert" => Some("`tls_required` is true"),
                _ if c.client_auth_required => Some("`client_auth_required` is true"),
                _ => None,
            };
            match value {
                None if has_file(key) || self.invalid.contains(&key) => {}
                None => {
                    if let Some(because) = needed {
                        self.problems
                            .push(ConnectionError::MissingTls { key, because });
                    }
                }
                Some(text) if is_template(text) => {}
                Some(text) => {
                    if let Err(source) = pem::parse(text, kind) {
                        self.problems.push(ConnectionError::Pem {
                            key: key.to_owned(),
                            source,
                        });
                    }
                }
            }
        }
        if let Some(domain) = &c.domain {
            if !c.client_auth_required {
                self.warnings.push(ConnectionWarning::DomainIgnored);
            } else if !is_template(domain) && check_dns_name(domain).is_err() {
                self.problems.push(ConnectionError::Domain {
                    found: crate::report::shorten(domain),
                });
            }
        }
    }
}

/// The known key `key` was probably meant to be, if any.
fn suggest(key: &str) -> Option<&'static str> {
    let normalised: String = key
        .trim()
        .chars()
        .map(|c| {
            if c == '-' || c == ' ' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    PEER_KEYS
        .iter()
        .chain(FILE_KEYS.iter().map(|(k, _)| k))
        .map(|k| (edit_distance(&normalised, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

/// Optimal string alignment distance (Levenshtein plus adjacent swaps).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// How the peer will protect the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain gRPC.
    Off,
    /// TLS, server authenticated.
    ServerOnly,
    /// Mutual TLS.
    Mutual,
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsMode::Off => "off",
            TlsMode::ServerOnly => "on",
            TlsMode::Mutual => "mutual",
        })
    }
}

impl Connection {
    /// The TLS mode the peer will use.
    pub fn tls_mode(&self) -> TlsMode {
        match (self.tls_required, self.client_auth_required) {
            (false, _) => TlsMode::Off,
            (true, false) => TlsMode::ServerOnly,
            (true, true) => TlsMode::Mutual,
        }
    }

    /// The dial timeout the peer will use: the 3s default for absent or zero.
    pub fn effective_dial_timeout(&self) -> GoDuration {
        match self.dial_timeout {
            Some(d) if !d.is_zero() => d,
            _ => DEFAULT_DIAL_TIMEOUT,
        }
    }

    /// Whether the canonical JSON holds a private key (write it 0600).
    pub fn holds_private_key(&self) -> bool {
        // Wherever it was put: a key pasted under a wrong or unknown key
        // is still a key.
        crate::pem::contains_private_key(&String::from_utf8_lossy(&self.to_json()))
    }

    /// The canonical JSON: peer keys in a fixed order, booleans as booleans,
    /// `dial_timeout` as a Go duration string (absent stays absent), then
    /// unresolved `*_file` references and unknown keys as written. Ends with
    /// a newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut fields: Vec<(&str, Value)> = vec![("address", Value::from(self.address.as_str()))];
        if let Some(t) = &self.dial_timeout_template {
            fields.push(("dial_timeout", Value::from(t.as_str())));
        } else if let Some(d) = self.dial_timeout {
            fields.push(("dial_timeout", Value::from(d.to_string())));
        }
        fields.push(("tls_required", Value::from(self.tls_required)));
        fields.push((
            "client_auth_required",
            Value::from(self.client_auth_required),
        ));
        let optional = [
            ("root_cert", self.root_cert.as_deref()),
            ("client_cert", self.client_cert.as_deref()),
            ("client_key", self.client_key.as_ref().map(|s| s.0.as_str())),
            ("domain", self.domain.as_deref()),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                fields.push((key, Value::from(v)));
            }
        }
        for (key, reference) in &self.files {
            fields.push((key, Value::from(reference.as_str())));
        }
        for field in &self.extra {
            fields.push((field.key.as_str(), field.value.clone()));
        }
        let mut out = Vec::with_capacity(256);
        let mut ser = serde_json::Serializer::with_formatter(
            &mut out,
            serde_json::ser::PrettyFormatter::with_indent(b"  "),
        );
        // Serializing owned `Value`s into a Vec cannot fail.
        let _ = Ordered(&fields).serialize(&mut ser);
        out.push(b'\n');
        out
    }

    /// The connection as the peer reads it, with key material redacted: for
    /// `inspect` and logs.
    pub fn redacted_json(&self) -> Value {
        fn redact(value: &mut Value) {
            match value {
                Value::String(s) if crate::pem::contains_private_key(s) => *s = "<redacted>".into(),
                Value::Array(items) => items.iter_mut().for_each(redact),
                Value::Object(map) => map.values_mut().for_each(redact),
                _ => {}
            }
        }
        let mut json = serde_json::from_slice(&self.to_json()).unwrap_or(Value::Null);
        if let Some(key) = json.get_mut("client_key") {
            *key = Value::from("<redacted>");
        }
        redact(&mut json);
        json
    }
}

struct Ordered<'a>(&'a [(&'a str, Value)]);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests;
