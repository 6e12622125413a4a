//! Composite keys, byte for byte as the Go shim builds them: U+0000, the
//! object type, U+0000, then each attribute followed by U+0000.
//!
//! ```
//! use ccaas_shim::composite::{create_composite_key, split_composite_key};
//!
//! let key = create_composite_key("asset", &["blue", "42"])?;
//! assert_eq!(key, "\u{0}asset\u{0}blue\u{0}42\u{0}");
//! let (object_type, attributes) = split_composite_key(&key)?;
//! assert_eq!((object_type.as_str(), attributes), ("asset", vec!["blue".to_string(), "42".to_string()]));
//! # Ok::<(), ccaas_shim::composite::CompositeKeyError>(())
//! ```
//!
//! Composite keys live in their own part of the key space (they start with
//! U+0000), so a simple key may not start with U+0000 ([`validate_simple_key`]),
//! and a range over simple keys that starts at `""` starts at
//! [`EMPTY_KEY_SUBSTITUTE`] instead, past every composite key.

use std::fmt;

/// The first character of every composite key, and the separator after each
/// of its components (Go's `compositeKeyNamespace`, `minUnicodeRuneValue`).
pub const COMPOSITE_KEY_NAMESPACE: &str = "\u{0}";

/// The separator after each component (Go's `minUnicodeRuneValue`).
const SEPARATOR: char = '\u{0}';

/// The largest code point (Go's `maxUnicodeRuneValue`, `utf8.MaxRune`): the
/// end of a partial composite key's range. Refused in components.
pub const MAX_UNICODE_RUNE: char = '\u{10FFFF}';

/// What the Go shim sends as the start of a range over simple keys when the
/// caller gives `""` (Go's `emptyKeySubstitute`): the first key after every
/// composite key.
pub const EMPTY_KEY_SUBSTITUTE: &str = "\u{1}";

/// Which part of a composite key an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    /// The object type.
    ObjectType,
    /// The attribute at this index (0-based).
    Attribute(usize),
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Component::ObjectType => f.write_str("object type"),
            Component::Attribute(index) => write!(f, "attribute {index}"),
        }
    }
}

/// A composite key that cannot be built or split, or a simple key in the
/// composite key space.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompositeKeyError {
    /// A component holds U+0000 or U+10FFFF (Go: "input contains unicode
    /// U+0000 starting at position \[n\]. U+0000 and U+10FFFF are not allowed
    /// in the input attribute of a composite key").
    #[error(
        "the composite key's {component} {value:?} contains {found} at byte {position}: \
         U+0000 and U+10FFFF are not allowed in a composite key's object type or attributes"
    )]
    ForbiddenCharacter {
        /// Which component.
        component: Component,
        /// The component as given.
        value: String,
        /// `U+0000` or `U+10FFFF`.
        found: Codepoint,
        /// Its byte offset in the component.
        position: usize,
    },
    /// The key does not start with U+0000.
    #[error("{key:?} is not a composite key: a composite key starts with U+0000")]
    NotComposite {
        /// The key.
        key: String,
    },
    /// The key has no component, or its last component is not followed by
    /// U+0000.
    #[error(
        "{key:?} is not a whole composite key: expected U+0000, an object type and U+0000, \
         then each attribute followed by U+0000"
    )]
    Truncated {
        /// The key.
        key: String,
    },
    /// A simple key starts with U+0000 (Go: "first character of the key
    /// \[...\] contains a null character which is not allowed").
    #[error(
        "invalid key {key:?}: a simple key must not start with U+0000, which marks composite keys"
    )]
    SimpleKeyInCompositeSpace {
        /// The key.
        key: String,
    },
}

/// A code point, shown as `U+XXXX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codepoint(pub char);

impl fmt::Display for Codepoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U+{:04X}", u32::from(self.0))
    }
}

fn validate_component(component: Component, value: &str) -> Result<(), CompositeKeyError> {
    // Go also refuses invalid UTF-8; a `&str` cannot hold any.
    match value
        .char_indices()
        .find(|&(_, c)| c == SEPARATOR || c == MAX_UNICODE_RUNE)
    {
        Some((position, c)) => Err(CompositeKeyError::ForbiddenCharacter {
            component,
            value: value.to_owned(),
            found: Codepoint(c),
            position,
        }),
        None => Ok(()),
    }
}

/// Builds the composite key of `object_type` and `attributes`, as Go's
/// `CreateCompositeKey`: U+0000, the object type, U+0000, and each attribute
/// followed by U+0000. Empty components are allowed (Go allows them).
pub fn create_composite_key<S: AsRef<str>>(
    object_type: &str,
    attributes: &[S],
) -> Result<String, CompositeKeyError> {
    validate_component(Component::ObjectType, object_type)?;
    let mut key = String::with_capacity(
        2 + object_type.len()
            + attributes
                .iter()
                .map(|a| a.as_ref().len() + 1)
                .sum::<usize>(),
    );
    key.push_str(COMPOSITE_KEY_NAMESPACE);
    key.push_str(object_type);
    key.push(SEPARATOR);
    for (index, attribute) in attributes.iter().enumerate() {
        let attribute = attribute.as_ref();
        validate_component(Component::Attribute(index), attribute)?;
        key.push_str(attribute);
        key.push(SEPARATOR);
    }
    Ok(key)
}

/// Splits a composite key into its object type and attributes, as Go's
/// `SplitCompositeKey`: every component ends at the next U+0000, and empty
/// components are kept (`"\0a\0\0"` is object type `a` with one empty
/// attribute).
///
/// Go does not check its input: it skips the first byte whatever it is,
/// silently drops a last component that no U+0000 ends, and panics on `""`
/// and `"\0"`. For every key [`create_composite_key`] builds the results
/// are the same; for the others this returns an error instead.
pub fn split_composite_key(key: &str) -> Result<(String, Vec<String>), CompositeKeyError> {
    let Some(rest) = key.strip_prefix(COMPOSITE_KEY_NAMESPACE) else {
        return Err(CompositeKeyError::NotComposite {
            key: key.to_owned(),
        });
    };
    let Some(body) = rest.strip_suffix(SEPARATOR) else {
        return Err(CompositeKeyError::Truncated {
            key: key.to_owned(),
        });
    };
    let mut components = body.split(SEPARATOR).map(str::to_owned);
    let object_type = components.next().unwrap_or_default();
    Ok((object_type, components.collect()))
}

/// The range `[start, end)` of every key whose leading components are
/// `object_type` and `attributes`, as Go's `GetStateByPartialCompositeKey`
/// asks the peer for: the partial key, and the partial key followed by
/// U+10FFFF.
pub fn partial_composite_key_range<S: AsRef<str>>(
    object_type: &str,
    attributes: &[S],
) -> Result<(String, String), CompositeKeyError> {
    let start = create_composite_key(object_type, attributes)?;
    let mut end = start.clone();
    end.push(MAX_UNICODE_RUNE);
    Ok((start, end))
}

/// The range `[start, end)` of every composite key, as Go's
/// `GetAllStatesCompositeKeyWithPagination` asks the peer for: `"\0"` to
/// `"\0\u{10FFFF}"`.
pub fn all_composite_keys_range() -> (String, String) {
    let start = COMPOSITE_KEY_NAMESPACE.to_owned();
    let end = format!("{start}{MAX_UNICODE_RUNE}");
    (start, end)
}

/// Refuses a simple key that starts with U+0000 (the composite key space),
/// as Go's `validateSimpleKeys` does for range bounds.
pub fn validate_simple_key(key: &str) -> Result<(), CompositeKeyError> {
    if key.starts_with(COMPOSITE_KEY_NAMESPACE) {
        return Err(CompositeKeyError::SimpleKeyInCompositeSpace {
            key: key.to_owned(),
        });
    }
    Ok(())
}

/// The start of a range over simple keys as Go sends it: `""` becomes
/// [`EMPTY_KEY_SUBSTITUTE`], so that the range skips every composite key.
pub fn simple_range_start(start: &str) -> &str {
    if start.is_empty() {
        EMPTY_KEY_SUBSTITUTE
    } else {
        start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_ATTRIBUTES: &[&str] = &[];

    // Go: ck := compositeKeyNamespace + objectType + string(rune(minUnicodeRuneValue)),
    // then ck += att + string(rune(minUnicodeRuneValue)) for each attribute;
    // compositeKeyNamespace is "\x00" and minUnicodeRuneValue 0.
    #[test]
    fn create_golden_vectors() {
        let cases: &[(&str, &[&str], &[u8])] = &[
            // "\x00" + "asset" + "\x00" + "blue" + "\x00" + "42" + "\x00".
            ("asset", &["blue", "42"], b"\x00asset\x00blue\x0042\x00"),
            // No attributes: the object type framed by two U+0000.
            ("asset", NO_ATTRIBUTES, b"\x00asset\x00"),
            // An empty object type is not refused by Go's validation.
            ("", NO_ATTRIBUTES, b"\x00\x00"),
            // Empty attributes are framed like any other.
            ("t", &["", "x", ""], b"\x00t\x00\x00x\x00\x00"),
            // Non-ASCII is UTF-8, as Go strings: "é" is C3 A9.
            (
                "é",
                &["\u{10FFFE}"],
                b"\x00\xc3\xa9\x00\xf4\x8f\xbf\xbe\x00",
            ),
        ];
        for (object_type, attributes, expected) in cases {
            let key = create_composite_key(object_type, attributes).unwrap();
            assert_eq!(key.as_bytes(), *expected, "{object_type:?} {attributes:?}");
        }
    }

    // Go's validateCompositeKeyAttribute ranges over the runes of each
    // component and refuses minUnicodeRuneValue (0) and maxUnicodeRuneValue
    // (utf8.MaxRune, 0x10FFFF), naming the byte index of the rune.
    #[test]
    fn u0000_and_u10ffff_are_refused_naming_the_component() {
        let err = create_composite_key("a\u{0}b", NO_ATTRIBUTES).unwrap_err();
        assert_eq!(
            err,
            CompositeKeyError::ForbiddenCharacter {
                component: Component::ObjectType,
                value: "a\u{0}b".into(),
                found: Codepoint('\u{0}'),
                position: 1,
            }
        );
        assert_eq!(
            err.to_string(),
            "the composite key's object type \"a\\0b\" contains U+0000 at byte 1: \
             U+0000 and U+10FFFF are not allowed in a composite key's object type or attributes"
        );
        let err = create_composite_key("t", &["ok", "éé\u{10FFFF}"]).unwrap_err();
        assert_eq!(
            err,
            CompositeKeyError::ForbiddenCharacter {
                component: Component::Attribute(1),
                value: "éé\u{10FFFF}".into(),
                found: Codepoint('\u{10FFFF}'),
                position: 4,
            }
        );
        assert!(err.to_string().contains("attribute 1 "), "{err}");
        assert!(err.to_string().contains("U+10FFFF at byte 4"), "{err}");
        // The code point just below is allowed (vector above).
    }

    // Go's splitCompositeKey starts at index 1 and cuts at every 0x00
    // byte: components are the bytes between two separators, so empty ones
    // are kept; the first is the object type.
    #[test]
    fn split_golden_vectors() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("\u{0}asset\u{0}blue\u{0}42\u{0}", "asset", &["blue", "42"]),
            ("\u{0}asset\u{0}", "asset", &[]),
            ("\u{0}\u{0}", "", &[]),
            ("\u{0}t\u{0}\u{0}x\u{0}\u{0}", "t", &["", "x", ""]),
            ("\u{0}é\u{0}\u{10FFFE}\u{0}", "é", &["\u{10FFFE}"]),
        ];
        for (key, object_type, attributes) in cases {
            let (got_type, got_attributes) = split_composite_key(key).unwrap();
            assert_eq!(got_type, *object_type, "{key:?}");
            assert_eq!(got_attributes, *attributes, "{key:?}");
        }
    }

    #[test]
    fn split_inverts_create() {
        let attributes = ["", "a b", "ü", ""];
        let key = create_composite_key("x", &attributes).unwrap();
        let (object_type, back) = split_composite_key(&key).unwrap();
        assert_eq!(object_type, "x");
        assert_eq!(back, attributes);
    }

    // Where Go would misread or panic, we refuse.
    #[test]
    fn split_refuses_what_is_not_a_whole_composite_key() {
        for key in ["", "simple", "a\u{0}b\u{0}"] {
            assert_eq!(
                split_composite_key(key),
                Err(CompositeKeyError::NotComposite { key: key.into() }),
                "{key:?}"
            );
        }
        // Go returns ("a", []) for the first, dropping "b"; panics on "\0".
        for key in ["\u{0}a\u{0}b", "\u{0}", "\u{0}a"] {
            assert_eq!(
                split_composite_key(key),
                Err(CompositeKeyError::Truncated { key: key.into() }),
                "{key:?}"
            );
        }
    }

    // Go's createRangeKeysForPartialCompositeKey: startKey is the partial
    // composite key, endKey = partialCompositeKey + string(maxUnicodeRuneValue);
    // U+10FFFF is F4 8F BF BF in UTF-8.
    #[test]
    fn partial_key_range_golden_vector() {
        let (start, end) = partial_composite_key_range("asset", &["blue"]).unwrap();
        assert_eq!(start.as_bytes(), b"\x00asset\x00blue\x00");
        assert_eq!(end.as_bytes(), b"\x00asset\x00blue\x00\xf4\x8f\xbf\xbf");
        let (start, end) = partial_composite_key_range("asset", NO_ATTRIBUTES).unwrap();
        assert_eq!(start.as_bytes(), b"\x00asset\x00");
        assert_eq!(end.as_bytes(), b"\x00asset\x00\xf4\x8f\xbf\xbf");
        assert!(partial_composite_key_range("a\u{0}", NO_ATTRIBUTES).is_err());
    }

    // Go's GetAllStatesCompositeKeyWithPagination: startKey :=
    // compositeKeyNamespace, endKey := compositeKeyNamespace +
    // string(maxUnicodeRuneValue).
    #[test]
    fn all_composite_keys_range_golden_vector() {
        let (start, end) = all_composite_keys_range();
        assert_eq!(start.as_bytes(), b"\x00");
        assert_eq!(end.as_bytes(), b"\x00\xf4\x8f\xbf\xbf");
        // Every composite key falls inside, every simple key outside.
        let key = create_composite_key("zz", &["\u{10FFFE}"]).unwrap();
        assert!(start.as_str() <= key.as_str() && key.as_str() < end.as_str());
        assert!("\u{1}" >= end.as_str());
    }

    // Go's validateSimpleKeys: len(key) > 0 && key[0] == compositeKeyNamespace[0].
    #[test]
    fn simple_keys_may_not_start_with_u0000() {
        assert!(validate_simple_key("").is_ok());
        assert!(validate_simple_key("a\u{0}").is_ok());
        let err = validate_simple_key("\u{0}a").unwrap_err();
        assert_eq!(
            err,
            CompositeKeyError::SimpleKeyInCompositeSpace {
                key: "\u{0}a".into()
            }
        );
        // Go: if startKey == "" { startKey = emptyKeySubstitute } ("\x01").
        assert_eq!(simple_range_start(""), "\u{1}");
        assert_eq!(simple_range_start("k"), "k");
    }
}
