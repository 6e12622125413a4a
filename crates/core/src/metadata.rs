//! `metadata.json`, the package's description: `path`, `type` and `label`,
//! decoded as the peer decodes it, and the chaincode-as-a-service dialects.
//!
//! ```
//! use ccaas_core::{Dialect, Metadata};
//!
//! let meta = Metadata::parse(br#"{"type": "CCaaS", "label": "basic_1.0"}"#)?;
//! assert_eq!(meta.label.as_str(), "basic_1.0");
//! assert_eq!(meta.dialect(), Some(Dialect::Ccaas));
//! assert!(Metadata::parse(br#"{"type": "ccaas", "label": "-bad"}"#).is_err());
//! # Ok::<(), ccaas_core::metadata::MetadataError>(())
//! ```

use crate::gojson::{kind_of, JsonError, JsonObject};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// The largest `metadata.json` we read: the peer's own are a few hundred bytes.
pub const MAX_METADATA_BYTES: u64 = 64 * 1024;

crate::report::debug_as_chain!(MetadataError);

/// Why `metadata.json` is not one the peer accepts.
#[derive(thiserror::Error)]
pub enum MetadataError {
    /// Not a JSON object the peer can decode.
    #[error("`metadata.json`: {0}")]
    Json(#[from] JsonError),
    /// A key holds the wrong JSON type.
    #[error("`metadata.json`: key `{key}` must be a string, found {found}")]
    WrongType {
        /// The key as written.
        key: String,
        /// What was found.
        found: &'static str,
    },
    /// The label breaks the peer's rule.
    #[error("`metadata.json`: {0}")]
    Label(#[from] LabelError),
}

crate::report::debug_as_chain!(LabelError);

/// A label that is not one the peer accepts.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// Empty or missing.
    #[error("the label is empty; it must match `^[[:alnum:]][[:alnum:]_.+-]*$` (e.g. `mycc_1.0`)")]
    Empty,
    /// A character outside the allowed set, or a bad first character.
    #[error("label `{label}` is invalid: {reason}; it must match `^[[:alnum:]][[:alnum:]_.+-]*$` (ASCII letters and digits, then also `_ . + -`)")]
    Invalid {
        /// The label as given.
        label: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A chaincode label: `^[[:alnum:]][[:alnum:]_.+-]*$`, the first half of a
/// package ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(String);

impl Label {
    /// Checks `label` against the peer's rule.
    pub fn new(label: &str) -> Result<Self, LabelError> {
        let mut chars = label.char_indices();
        let Some((_, first)) = chars.next() else {
            return Err(LabelError::Empty);
        };
        let invalid = |reason: String| LabelError::Invalid {
            label: crate::report::shorten(label),
            reason,
        };
        if !first.is_ascii_alphanumeric() {
            return Err(invalid(format!(
                "it starts with `{}`, but must start with an ASCII letter or digit",
                first.escape_default()
            )));
        }
        for (i, c) in chars {
            if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')) {
                return Err(invalid(format!(
                    "`{}` at byte {i} is not allowed",
                    c.escape_default()
                )));
            }
        }
        Ok(Label(label.to_owned()))
    }

    /// The label text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Label {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Label::new(s)
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two chaincode-as-a-service conventions in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Type `external`, from the Fabric v2.0 documentation: CouchDB indexes
    /// under `metadata/` in code.tar.gz, no templating by Fabric.
    External,
    /// Type `ccaas`, Fabric 2.4+'s built-in builder: indexes under
    /// `META-INF/`, connection.json strings templated.
    Ccaas,
}

impl Dialect {
    /// The dialect of a `type` value, compared case-insensitively.
    pub fn from_type(chaincode_type: &str) -> Option<Self> {
        if chaincode_type.eq_ignore_ascii_case("ccaas") {
            Some(Dialect::Ccaas)
        } else if chaincode_type.eq_ignore_ascii_case("external") {
            Some(Dialect::External)
        } else {
            None
        }
    }

    /// The `type` this dialect writes in metadata.json.
    pub fn type_name(self) -> &'static str {
        match self {
            Dialect::External => "external",
            Dialect::Ccaas => "ccaas",
        }
    }

    /// The folder of code.tar.gz that holds CouchDB indexes (under
    /// `<folder>/statedb/couchdb/...`).
    pub fn metadata_folder(self) -> &'static str {
        match self {
            Dialect::External => "metadata",
            Dialect::Ccaas => "META-INF",
        }
    }
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::from_type(s).ok_or_else(|| {
            format!("`{s}` is not a chaincode-as-a-service type (expected `ccaas` or `external`)")
        })
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

/// A decoded `metadata.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `path`: the chaincode's import path (unused for CCaaS).
    pub path: String,
    /// `type`: `ccaas`, `external`, `golang`, ...
    pub chaincode_type: String,
    /// `label`.
    pub label: Label,
}

/// `metadata.json` decoded without the label check: what `detect` needs,
/// which must not fail on a label the peer has already accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMetadata {
    /// `path`.
    pub path: String,
    /// `type`.
    pub chaincode_type: String,
    /// `label`, unchecked.
    pub label: String,
}

impl RawMetadata {
    /// Decodes `bytes` as the peer does, without checking the label.
    pub fn parse(bytes: &[u8]) -> Result<Self, MetadataError> {
        let object = JsonObject::parse(bytes)?;
        let string = |name: &str| -> Result<String, MetadataError> {
            match object.get(name) {
                None => Ok(String::new()),
                Some(field) => match &field.value {
                    Value::String(s) => Ok(s.clone()),
                    Value::Null => Ok(String::new()),
                    other => Err(MetadataError::WrongType {
                        key: crate::report::shorten(&field.key),
                        found: kind_of(other),
                    }),
                },
            }
        };
        Ok(RawMetadata {
            path: string("path")?,
            chaincode_type: string("type")?,
            label: string("label")?,
        })
    }

    /// The chaincode-as-a-service dialect, if `type` is one.
    pub fn dialect(&self) -> Option<Dialect> {
        Dialect::from_type(&self.chaincode_type)
    }
}

impl Metadata {
    /// Decodes `bytes` as the peer does at install, label rule included.
    pub fn parse(bytes: &[u8]) -> Result<Self, MetadataError> {
        let raw = RawMetadata::parse(bytes)?;
        Ok(Metadata {
            label: Label::new(&raw.label)?,
            path: raw.path,
            chaincode_type: raw.chaincode_type,
        })
    }

    /// A chaincode-as-a-service metadata of `dialect`.
    pub fn new(label: Label, dialect: Dialect) -> Self {
        Metadata {
            path: String::new(),
            chaincode_type: dialect.type_name().to_owned(),
            label,
        }
    }

    /// The chaincode-as-a-service dialect, if `type` is one.
    pub fn dialect(&self) -> Option<Dialect> {
        Dialect::from_type(&self.chaincode_type)
    }

    /// The bytes written into packages: keys in a fixed order, no spaces,
    /// as `peer lifecycle chaincode package` writes them.
    pub fn to_json(&self) -> Vec<u8> {
        let text = serde_json::json!({
            "path": self.path,
            "type": self.chaincode_type,
            "label": self.label.as_str(),
        });
        // Keys of a `json!` object are written sorted: label, path, type.
        text.to_string().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_rule_rows() {
        for good in ["a", "Z9", "mycc_1.0", "a+b-c.d_e", "0"] {
            assert!(Label::new(good).is_ok(), "{good}");
        }
        assert_eq!(Label::new(""), Err(LabelError::Empty));
        for bad in [
            "_a", ".a", "-a", "+a", "a b", "a:b", "a/b", "é", "aé", "a\n",
        ] {
            assert!(
                matches!(Label::new(bad), Err(LabelError::Invalid { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn label_error_shows_label_and_rule() {
        let text = Label::new("my cc").map(|_| ()).unwrap_err().to_string();
        assert!(
            text.contains("`my cc`") && text.contains("^[[:alnum:]][[:alnum:]_.+-]*$"),
            "{text}"
        );
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let m = Metadata::parse(br#"{"type":"ccaas","label":"a","extra":[1]}"#)
            .map_err(|e| e.to_string());
        assert_eq!(m.map(|m| m.label.as_str().to_owned()), Ok("a".to_owned()));
    }

    #[test]
    fn keys_are_case_insensitive() {
        let m = RawMetadata::parse(br#"{"TYPE":"ccaas","Label":"a"}"#).map_err(|e| e.to_string());
        assert_eq!(
            m.map(|m| (m.chaincode_type, m.label)),
            Ok(("ccaas".into(), "a".into()))
        );
    }

    #[test]
    fn wrong_type_names_the_key() {
        match RawMetadata::parse(br#"{"Type": 5}"#) {
            Err(MetadataError::WrongType { key, found }) => {
                assert_eq!((key.as_str(), found), ("Type", "a number"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_label_is_rejected() {
        assert!(matches!(
            Metadata::parse(br#"{"type":"ccaas"}"#),
            Err(MetadataError::Label(LabelError::Empty))
        ));
    }

    #[test]
    fn dialects_compare_case_insensitively() {
        assert_eq!(Dialect::from_type("CCAAS"), Some(Dialect::Ccaas));
        assert_eq!(Dialect::from_type("External"), Some(Dialect::External));
        assert_eq!(Dialect::from_type("golang"), None);
        assert_eq!(Dialect::from_type("ccaas "), None);
    }

    #[test]
    fn writes_what_it_reads() -> Result<(), MetadataError> {
        let m = Metadata::new(Label::new("cc_1")?, Dialect::Ccaas);
        assert_eq!(m.to_json(), br#"{"label":"cc_1","path":"","type":"ccaas"}"#);
        assert_eq!(Metadata::parse(&m.to_json())?, m);
        Ok(())
    }
}
