//! Composite keys, byte for byte as the Go shim makes them:
//! `"\x00" + objectType + "\x00" + attr1 + "\x00" + ... + "\x00"`.
//!
//! ```
//! use ccaas_shim::composite::{create_composite_key, split_composite_key};
//!
//! let key = create_composite_key("asset", &["blue", "42"])?;
//! assert_eq!(key, "\u{0}asset\u{0}blue\u{0}42\u{0}");
//! assert_eq!(split_composite_key(&key), ("asset".to_owned(), vec!["blue".to_owned(), "42".to_owned()]));
//! # Ok::<(), ccaas_shim::composite::CompositeKeyError>(())
//! ```
//!
//! (`ccaas_shim::Stub`'s partial composite key queries use
//! [`create_composite_key`], [`COMPOSITE_KEY_NAMESPACE`] and
//! [`MAX_UNICODE_RUNE`].)

/// The first character of every composite key (Go's `compositeKeyNamespace`)
/// and the separator after each component (`minUnicodeRuneValue`).
pub const COMPOSITE_KEY_NAMESPACE: &str = "\u{0}";

/// U+10FFFF (Go's `maxUnicodeRuneValue`): a partial composite key's range
/// runs from the key to the key followed by it.
pub const MAX_UNICODE_RUNE: char = '\u{10FFFF}';

/// A component that cannot be part of a composite key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompositeKeyError {
    /// A component holds U+0000 or U+10FFFF, which delimit components and
    /// ranges.
    #[error("composite key component {component:?} contains {found} at byte {position}: U+0000 and U+10FFFF are not allowed in a component of a composite key")]
    ForbiddenRune {
        /// The component.
        component: String,
        /// The rune found (`U+0000` or `U+10FFFF`).
        found: &'static str,
        /// Its byte offset in the component (Go reports the same).
        position: usize,
    },
}

fn check_component(component: &str) -> Result<(), CompositeKeyError> {
    for (position, c) in component.char_indices() {
        let found = match c {
            '\u{0}' => "U+0000",
            MAX_UNICODE_RUNE => "U+10FFFF",
            _ => continue,
        };
        return Err(CompositeKeyError::ForbiddenRune {
            component: component.to_owned(),
            found,
            position,
        });
    }
    Ok(())
}

/// The composite key of `object_type` and `attributes`, as Go's
/// `CreateCompositeKey` (components are UTF-8 by construction in Rust).
pub fn create_composite_key(
    object_type: &str,
    attributes: &[&str],
) -> Result<String, CompositeKeyError> {
    check_component(object_type)?;
    let mut key = String::with_capacity(
        2 + object_type.len() + attributes.iter().map(|a| a.len() + 1).sum::<usize>(),
    );
    key.push_str(COMPOSITE_KEY_NAMESPACE);
    key.push_str(object_type);
    key.push('\u{0}');
    for attribute in attributes {
        check_component(attribute)?;
        key.push_str(attribute);
        key.push('\u{0}');
    }
    Ok(key)
}

/// The object type and attributes of a composite key, as Go's
/// `SplitCompositeKey`: every component ended by U+0000 after the leading
/// one, empty components kept. A key that is not composite gives an empty
/// object type and no attributes (Go would index out of range).
pub fn split_composite_key(key: &str) -> (String, Vec<String>) {
    let body = key.strip_prefix(COMPOSITE_KEY_NAMESPACE).unwrap_or(key);
    let mut components: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(end) = rest.find('\u{0}') {
        components.push(rest[..end].to_owned());
        rest = &rest[end + 1..];
    }
    if components.is_empty() {
        return (String::new(), Vec::new());
    }
    let object_type = components.remove(0);
    (object_type, components)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_framing() {
        // Go: compositeKeyNamespace + objectType + "\x00", then attr + "\x00" each.
        assert_eq!(create_composite_key("a", &[]).as_deref(), Ok("\u{0}a\u{0}"));
        assert_eq!(
            create_composite_key("a", &["", "b"]).as_deref(),
            Ok("\u{0}a\u{0}\u{0}b\u{0}")
        );
        assert_eq!(create_composite_key("", &[]).as_deref(), Ok("\u{0}\u{0}"));
    }

    #[test]
    fn forbidden_runes_are_named_with_their_byte_position() {
        let err = create_composite_key("ok", &["xé\u{10FFFF}"])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("composite key component \"xé\\u{10ffff}\" contains U+10FFFF at byte 3: U+0000 and U+10FFFF are not allowed in a component of a composite key")
        );
        assert!(create_composite_key("a\u{0}", &[]).is_err());
    }

    #[test]
    fn split_keeps_empty_components() {
        // Go's splitCompositeKey starts after byte 0 and cuts at every 0x00.
        let (object_type, attributes) = split_composite_key("\u{0}a\u{0}\u{0}b\u{0}");
        assert_eq!(object_type, "a");
        assert_eq!(attributes, vec!["".to_owned(), "b".to_owned()]);
    }
}
