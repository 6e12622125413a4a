//! JSON objects decoded the way Go's `encoding/json` decodes them into a
//! struct: keys match field names case-insensitively (with Unicode simple
//! folding), the last of duplicated keys wins, unknown keys are ignored, and a
//! UTF-8 byte order mark is an error.
//!
//! Both files the peer reads from a package, `metadata.json` and
//! `connection.json`, go through here, so they are read alike.
//!
//! ```
//! use ccaas_core::gojson::JsonObject;
//!
//! let obj = JsonObject::parse(br#"{"Label": "a", "label": "b", "x": 1}"#)?;
//! assert_eq!(obj.get("label").map(|f| f.value.as_str()), Some(Some("b")));
//! assert_eq!(obj.get("LABEL").map(|f| f.key.as_str()), Some("label"));
//! # Ok::<(), ccaas_core::gojson::JsonError>(())
//! ```

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;

crate::report::debug_as_chain!(JsonError);

/// Why bytes are not a JSON object the peer would decode.
#[derive(thiserror::Error)]
pub enum JsonError {
    /// The file is empty (or only white space).
    #[error("the file is empty (expected a JSON object)")]
    Empty,
    /// The file starts with a UTF-8 byte order mark, which Go rejects.
    #[error("the file starts with a UTF-8 byte order mark, which the peer's JSON decoder rejects (save it as UTF-8 without BOM)")]
    ByteOrderMark,
    /// Not well-formed JSON.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's description, without its position suffix.
        message: String,
    },
    /// Well-formed JSON of another shape than an object.
    #[error("expected a JSON object at the top level, found {found}")]
    NotAnObject {
        /// What was found: `an array`, `a string`, ...
        found: &'static str,
    },
}

/// One `"key": value` member, as written in the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The key as written (its case preserved).
    pub key: String,
    /// The value.
    pub value: Value,
}

/// A JSON object with its members in document order, duplicates kept.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JsonObject {
    fields: Vec<Field>,
}

/// Describes a JSON value's type for error messages: `a string`, `null`, ...
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Folds a key the way Go's `encoding/json` does before comparing it with a
/// field name: ASCII upper-cased, other characters through lower then upper
/// case, so that `ſ` (U+017F) matches `s` and the Kelvin sign matches `k`.
pub fn fold_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_uppercase());
        } else {
            for lower in c.to_lowercase() {
                out.extend(lower.to_uppercase());
            }
        }
    }
    out
}

/// Whether `key` in a document selects the struct field named `name`.
pub fn key_matches(key: &str, name: &str) -> bool {
    if key.is_ascii() && name.is_ascii() {
        // Folding ASCII is upper-casing it: compare without allocating.
        return key.eq_ignore_ascii_case(name);
    }
    fold_key(key) == fold_key(name)
}

impl JsonObject {
    /// Parses `bytes` as one JSON object, keeping every member in order.
    pub fn parse(bytes: &[u8]) -> Result<Self, JsonError> {
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            return Err(JsonError::ByteOrderMark);
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(JsonError::Empty);
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let top = de
            .deserialize_any(TopVisitor)
            .and_then(|top| de.end().map(|()| top))
            .map_err(|e| {
                let text = e.to_string();
                let message = match text.rfind(" at line ") {
                    Some(i) => text[..i].to_owned(),
                    None => text,
                };
                JsonError::Syntax {
                    line: e.line(),
                    column: e.column().max(1),
                    message,
                }
            })?;
        match top {
            Top::Object(fields) => Ok(JsonObject { fields }),
            Top::Other(found) => Err(JsonError::NotAnObject { found }),
        }
    }

    /// Builds an object from members (for tests and for writers).
    pub fn from_fields(fields: Vec<Field>) -> Self {
        JsonObject { fields }
    }

    /// Every member, in document order, duplicates included.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Mutable access to every member.
    pub fn fields_mut(&mut self) -> &mut [Field] {
        &mut self.fields
    }

    /// The member Go would decode into the field `name`: the last one whose
    /// key matches it case-insensitively.
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().rev().find(|f| key_matches(&f.key, name))
    }

    /// How many members select the field `name` (more than one means the
    /// document repeats it and only the last counts).
    pub fn count(&self, name: &str) -> usize {
        self.fields
            .iter()
            .filter(|f| key_matches(&f.key, name))
            .count()
    }
}

enum Top {
    Object(Vec<Field>),
    Other(&'static str),
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut fields = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            fields.push(Field { key, value });
        }
        Ok(Top::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Top::Other("an array"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Top, E> {
        Ok(Top::Other("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
        Ok(Top::Other("null"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> JsonObject {
        match JsonObject::parse(text.as_bytes()) {
            Ok(o) => o,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn keys_match_case_insensitively() {
        assert_eq!(
            parse(r#"{"ADDRESS": "a:1"}"#)
                .get("address")
                .map(|f| &f.value),
            Some(&Value::from("a:1"))
        );
    }

    #[test]
    fn unicode_folding_matches_go() {
        // U+017F LATIN SMALL LETTER LONG S folds to `s`, U+212A KELVIN SIGN to `k`.
        assert!(parse("{\"addre\u{17f}\u{17f}\": 1}")
            .get("address")
            .is_some());
        assert!(parse("{\"client_\u{212a}ey\": 1}")
            .get("client_key")
            .is_some());
        assert!(parse(r#"{"adress": 1}"#).get("address").is_none());
    }

    #[test]
    fn last_duplicate_wins_across_cases() {
        let o = parse(r#"{"label": "a", "LABEL": "b", "Label": "c"}"#);
        assert_eq!(o.get("label").map(|f| &f.value), Some(&Value::from("c")));
        assert_eq!(o.count("label"), 3);
    }

    #[test]
    fn byte_order_mark_is_an_error() {
        assert!(matches!(
            JsonObject::parse(b"\xEF\xBB\xBF{}"),
            Err(JsonError::ByteOrderMark)
        ));
    }

    #[test]
    fn syntax_error_keeps_line_and_column() {
        match JsonObject::parse(b"{\n  \"a\": 1,\n}") {
            Err(JsonError::Syntax { line, column, .. }) => assert_eq!((line, column), (3, 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_shapes_are_named() {
        for (text, found) in [
            ("[1]", "an array"),
            ("3", "a number"),
            ("\"x\"", "a string"),
            ("null", "null"),
            ("true", "a boolean"),
        ] {
            match JsonObject::parse(text.as_bytes()) {
                Err(JsonError::NotAnObject { found: f }) => assert_eq!(f, found),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn empty_is_its_own_error() {
        assert!(matches!(JsonObject::parse(b" \n"), Err(JsonError::Empty)));
    }

    #[test]
    fn trailing_data_is_an_error() {
        assert!(matches!(
            JsonObject::parse(b"{} {}"),
            Err(JsonError::Syntax { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(
            JsonObject::parse(deep.as_bytes()),
            Err(JsonError::Syntax { .. })
        ));
    }
}
