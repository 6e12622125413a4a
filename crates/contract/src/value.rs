//! Values that cross the contract boundary: parameters parsed from the
//! argument strings and results written as the payload, exactly as
//! fabric-contract-api-go's JSON serializer does it.
//!
//! | Rust | Go | argument | payload | schema |
//! |---|---|---|---|---|
//! | `String` | `string` | as given | as is | `string` |
//! | `bool` | `bool` | `strconv.ParseBool`: `1 t T TRUE true True 0 f F FALSE false False` | `true`/`false` | `boolean` |
//! | `i8` … `i64`, `isize` | `int8` … `int64`, `int` | `strconv.ParseInt(s, 10, bits)`: optional sign, decimal digits only | decimal | `integer` (`int8` … `int64`) |
//! | `u8` … `u64`, `usize` | `uint8` … `uint64`, `uint` | `strconv.ParseUint(s, 10, bits)`: no sign | decimal | as Go's (`integer` or `number`, with bounds) |
//! | `f32`, `f64` | `float32`, `float64` | `strconv.ParseFloat`: decimal or hex, `Inf`, `NaN`; out of range fails | `fmt.Sprint` (`%v`: `1e+06`) | `number` (`float`/`double`) |
//! | [`Bytes`] | `[]byte` | the argument's bytes | the bytes | `string`, `byte` |
//! | `Vec<T>`, `BTreeMap<String, T>`, `HashMap<String, T>`, `#[derive(Object)]` | slices, maps, structs | JSON | JSON (as Go's `json.Marshal`) | `array`, `object`, `$ref` |
//! | `Option<T>` | `*T` | `null` or `T` | `None`: empty | `T`'s |
//! | `()` | no value | — | empty | no `returns` |
//!
//! An empty argument is the zero value for numbers and booleans (Go skips
//! the conversion of `""`).

use crate::metadata::Components;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Why an argument did not convert; its text is contract-api-go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// Not a value of the type: `conversion error. cannot convert passed
    /// value abc to int` (basic types) or `conversion error. value {x} was
    /// not passed in expected format Asset` (JSON types).
    #[error("conversion error. {0}")]
    Conversion(String),
    /// Well-formed JSON that breaks the type's schema (a required property
    /// missing, one the structure does not have): `value did not match
    /// schema:` and the problems, numbered.
    #[error("value did not match schema:\n{}", list_problems(.0, "(root)"))]
    Schema(Vec<SchemaProblem>),
}

impl ArgError {
    /// `cannot convert passed value {value} to {type}`.
    pub fn cannot_convert(value: &str, type_name: &str) -> Self {
        ArgError::Conversion(format!(
            "cannot convert passed value {value} to {type_name}"
        ))
    }

    /// `value {value} was not passed in expected format {type}`.
    pub fn bad_format(value: &str, type_name: &str) -> Self {
        ArgError::Conversion(format!(
            "value {value} was not passed in expected format {type_name}"
        ))
    }
}

/// A type a transaction can take as a parameter and return as its result.
///
/// Implemented for the basic types, [`Bytes`], `Vec`, string-keyed maps,
/// `Option` and `()`; `#[derive(Object)]` implements it for structures.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a contract value: a transaction cannot take it or return it",
    label = "not a contract value",
    note = "for a structure of yours, derive it: `#[derive(Serialize, Deserialize, Object)]` (ccaas_contract::Object)",
    note = "contract values: String, bool, the integer and float types, Bytes, Vec<T>, BTreeMap<String, T>, HashMap<String, T>, Option<T>, () and #[derive(Object)] structures"
)]
pub trait ContractValue: Sized + Send + Sync + 'static {
    /// The type's name in error messages, as Go names it (`int64`,
    /// `[]string`, `Asset`).
    fn type_name() -> String;

    /// Parses an argument.
    fn from_arg(arg: &str) -> Result<Self, ArgError>;

    /// Parses an argument as the peer sent it: by default as text (bytes
    /// that are not UTF-8 replaced by U+FFFD); [`Bytes`] takes them as
    /// they are.
    fn from_arg_bytes(arg: &[u8]) -> Result<Self, ArgError> {
        Self::from_arg(&String::from_utf8_lossy(arg))
    }

    /// The payload of a transaction that returns this.
    fn to_payload(&self) -> Vec<u8>;

    /// The JSON schema of the type in the metadata (structures add their
    /// component and answer a `$ref`; `nested` is true inside another
    /// structure, where contract-api-go writes the bare name). `None` for
    /// `()`, which has none.
    fn schema(components: &mut Components, nested: bool) -> Option<Value>;
}

impl ContractValue for String {
    fn type_name() -> String {
        "string".into()
    }
    fn from_arg(arg: &str) -> Result<Self, ArgError> {
        Ok(arg.to_owned())
    }
    fn to_payload(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn schema(_: &mut Components, _: bool) -> Option<Value> {
        Some(json!({"type": "string"}))
    }
}

impl ContractValue for bool {
    fn type_name() -> String {
        "bool".into()
    }
    fn from_arg(arg: &str) -> Result<Self, ArgError> {
        match arg {
            "" => Ok(false),
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            _ => Err(ArgError::cannot_convert(arg, "bool")),
        }
    }
    fn to_payload(&self) -> Vec<u8> {
        if *self {
            b"true".to_vec()
        } else {
            b"false".to_vec()
        }
    }
    fn schema(_: &mut Components, _: bool) -> Option<Value> {
        Some(json!({"type": "boolean"}))
    }
}

macro_rules! signed {
    ($($t:ty => $go:literal, $format:literal;)*) => {$(
        impl ContractValue for $t {
            fn type_name() -> String {
                $go.into()
            }
            fn from_arg(arg: &str) -> Result<Self, ArgError> {
                if arg.is_empty() {
                    return Ok(0);
                }
                // Go's ParseInt(s, 10, bits): an optional sign, then
                // decimal digits (no `_`, no base prefix, no spaces).
                let digits = arg.strip_prefix(['+', '-']).unwrap_or(arg);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ArgError::cannot_convert(arg, $go));
                }
                arg.parse::<$t>().map_err(|_| ArgError::cannot_convert(arg, $go))
            }
            fn to_payload(&self) -> Vec<u8> {
                self.to_string().into_bytes()
            }
            fn schema(_: &mut Components, _: bool) -> Option<Value> {
                Some(json!({"type": "integer", "format": $format}))
            }
        }
    )*};
}

signed! {
    i8 => "int8", "int8";
    i16 => "int16", "int16";
    i32 => "int32", "int32";
    i64 => "int64", "int64";
    isize => "int", "int64";
}

macro_rules! unsigned {
    ($($t:ty => $go:literal, $schema:expr;)*) => {$(
        impl ContractValue for $t {
            fn type_name() -> String {
                $go.into()
            }
            fn from_arg(arg: &str) -> Result<Self, ArgError> {
                if arg.is_empty() {
                    return Ok(0);
                }
                // Go's ParseUint(s, 10, bits): decimal digits, no sign.
                if !arg.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ArgError::cannot_convert(arg, $go));
                }
                arg.parse::<$t>().map_err(|_| ArgError::cannot_convert(arg, $go))
            }
            fn to_payload(&self) -> Vec<u8> {
                self.to_string().into_bytes()
            }
            fn schema(_: &mut Components, _: bool) -> Option<Value> {
                Some($schema)
            }
        }
    )*};
}

// The schemas contract-api-go gives these types (internal/types/types.go).
unsigned! {
    u8 => "uint8", json!({"type": "integer", "format": "int32", "minimum": 0, "maximum": 255});
    u16 => "uint16", json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": 65535});
    u32 => "uint32", json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": 4294967295u64});
    u64 => "uint64", json!({"type": "number", "format": "double", "multipleOf": 1, "minimum": 0, "maximum": 18446744073709551615u64});
    usize => "uint", json!({"type": "number", "format": "double", "multipleOf": 1, "minimum": 0, "maximum": 18446744073709551615u64});
}

impl ContractValue for f64 {
    fn type_name() -> String {
        "float64".into()
    }
    fn from_arg(arg: &str) -> Result<Self, ArgError> {
        if arg.is_empty() {
            return Ok(0.0);
        }
        parse_go_float(arg, false).ok_or_else(|| ArgError::cannot_convert(arg, "float64"))
    }
    fn to_payload(&self) -> Vec<u8> {
        crate::json::go_sprint_float(*self, false).into_bytes()
    }
    fn schema(_: &mut Components, _: bool) -> Option<Value> {
        Some(json!({"type": "number", "format": "double"}))
    }
}

impl ContractValue for f32 {
    fn type_name() -> String {
        "float32".into()
    }
    fn from_arg(arg: &str) -> Result<Self, ArgError> {
        if arg.is_empty() {
            return Ok(0.0);
        }
        parse_go_float(arg, true)
            .map(|v| v as f32)
            .ok_or_else(|| ArgError::cannot_convert(arg, "float32"))
    }
    fn to_payload(&self) -> Vec<u8> {
        crate::json::go_sprint_float(f64::from(*self), true).into_bytes()
    }
    fn schema(_: &mut Components, _: bool) -> Option<Value> {
        Some(json!({"type": "number", "format": "float"}))
    }
}

/// Go's `strconv.ParseFloat(s, 64 or 32)`: the value (rounded to `f32`
/// when `single`), or `None` for bad syntax or out of range.
fn parse_go_float(s: &str, single: bool) -> Option<f64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if lower == "nan" {
        // Go takes "nan" without a sign only.
        return (s.len() == body.len()).then_some(f64::NAN);
    }
    let magnitude = if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex, single)?
    } else {
        // Decimal: digits with at most one `.`, then an optional exponent.
        // (Go allows `_` only after a base prefix.)
        let (mantissa, exponent) = match lower.find('e') {
            Some(i) => (&lower[..i], Some(&lower[i + 1..])),
            None => (lower.as_str(), None),
        };
        let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
        let dots = mantissa.bytes().filter(|&b| b == b'.').count();
        if digits == 0 || dots > 1 || digits + dots != mantissa.len() {
            return None;
        }
        if let Some(exponent) = exponent {
            let e = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
        }
        if single {
            f64::from(lower.parse::<f32>().ok()?)
        } else {
            lower.parse::<f64>().ok()?
        }
    };
    if magnitude.is_infinite() {
        return None; // ErrRange
    }
    Some(if negative { -magnitude } else { magnitude })
}

/// A hex float after `0x`: hex digits (with `_` between them), an optional
/// `.`, then a mandatory `p` exponent.
fn parse_hex_float(s: &str, single: bool) -> Option<f64> {
    let p = s.find('p')?;
    let (mantissa, exponent) = (&s[..p], &s[p + 1..]);
    let exp_digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut exp: i64 = exponent.parse().ok()?;
    let mut bits: u128 = 0;
    let mut digits = 0;
    let mut seen_dot = false;
    let mut sticky = false;
    let mut previous_underscore = true; // no leading `_`
    for c in mantissa.chars() {
        match c {
            '.' if !seen_dot => {
                seen_dot = true;
                previous_underscore = false;
            }
            '_' if !previous_underscore && !seen_dot => previous_underscore = true,
            _ => {
                let d = c.to_digit(16)?;
                previous_underscore = false;
                digits += 1;
                if bits >> 120 == 0 {
                    bits = bits << 4 | u128::from(d);
                    if seen_dot {
                        exp -= 4;
                    }
                } else {
                    sticky |= d != 0;
                    if !seen_dot {
                        exp += 4;
                    }
                }
            }
        }
    }
    if digits == 0 || previous_underscore && mantissa.ends_with('_') {
        return None;
    }
    if sticky {
        bits |= 1;
    }
    let exp = i32::try_from(exp.clamp(-100_000, 100_000)).ok()?;
    let value = if single {
        f64::from((bits as f32) * 2f32.powi(exp.clamp(-300, 300)))
    } else {
        (bits as f64) * 2f64.powi(exp)
    };
    Some(value)
}

/// `[]byte`: as a parameter the argument's bytes as they are, as a result
/// the payload as it is, and inside JSON base64 (as Go).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub Vec<u8>);

/// Inside JSON (a field of an `Object`, an item of a `Vec`), base64 with
/// padding, as Go's `encoding/json` writes and reads a `[]byte`.
impl serde::Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64_encode(&self.0))
    }
}

impl<'de> serde::Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64_decode(&text)
            .map(Bytes)
            .ok_or_else(|| serde::de::Error::custom("not base64 (standard alphabet, padded)"))
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(BASE64[(n >> shift & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's `base64.StdEncoding.DecodeString`, which `encoding/json` uses
/// (it also drops `\r` and `\n`).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    if !clean.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for (index, quad) in clean.chunks(4).enumerate() {
        let last = index == clean.len() / 4 - 1;
        let padding = quad.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 || (padding > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - padding] {
            let v = BASE64.iter().position(|&a| a == c)?;
            n = n << 6 | v as u32;
        }
        n <<= 6 * padding as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - padding]);
    }
    Some(out)
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes(bytes)
    }
}

impl ContractValue for Bytes {
    fn type_name() -> String {
        "[]uint8".into()
    }
    fn from_arg(arg: &str) -> Result<Self, ArgError> {
        Ok(Bytes(arg.as_bytes().to_vec()))
    }
    fn from_arg_bytes(arg: &[u8]) -> Result<Self, ArgError> {
        Ok(Bytes(arg.to_vec()))
    }
    fn to_payload(&self) -> Vec<u8> {
        self.0.clone()
    }
    fn schema(_: &mut Components, _: bool) -> Option<Value> {
        Some(json!({"type": "string", "format": "byte"}))
    }
}

impl ContractValue for () {
    fn type_name() -> String {
        "none".into()
    }
    fn from_arg(_: &str) -> Result<Self, ArgError> {
        Ok(())
    }
    fn to_payload(&self) -> Vec<u8> {
        Vec::new()
    }
    fn schema(_: &mut Components, _: bool) -> Option<Value> {
        None
    }
}

impl<T> ContractValue for Option<T>
where
    T: ContractValue + serde::Serialize + serde::de::DeserializeOwned,
{
    fn type_name() -> String {
        format!("*{}", T::type_name())
    }
    fn from_arg(arg: &str) -> Result<Self, ArgError> {
        if arg.trim() == "null" {
            return Ok(None);
        }
        T::from_arg(arg).map(Some)
    }
    fn to_payload(&self) -> Vec<u8> {
        match self {
            Some(value) => value.to_payload(),
            None => Vec::new(),
        }
    }
    fn schema(components: &mut Components, nested: bool) -> Option<Value> {
        T::schema(components, nested)
    }
}

/// Parses a JSON argument as contract-api-go does: bad JSON or a value of
/// the wrong type is a conversion error; well-formed JSON that breaks the
/// type's schema (a required property missing, one the structure does not
/// have) is a schema error.
pub(crate) fn json_from_arg<T>(arg: &str) -> Result<T, ArgError>
where
    T: ContractValue + serde::de::DeserializeOwned,
{
    let value: Value =
        serde_json::from_str(arg).map_err(|_| ArgError::bad_format(arg, &T::type_name()))?;
    let mut components = Components::default();
    if let Some(schema) = T::schema(&mut components, false) {
        let mut problems = Vec::new();
        crate::metadata::validate(&schema, &components, &value, "", &mut problems);
        if problems
            .iter()
            .any(|p| p.description.starts_with("Invalid type."))
        {
            // Go's json.Unmarshal fails on these before any schema check.
            return Err(ArgError::bad_format(arg, &T::type_name()));
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.to_string());
            return Err(ArgError::Schema(problems));
        }
    }
    serde_json::from_value(value).map_err(|_| ArgError::bad_format(arg, &T::type_name()))
}

/// One way a JSON argument breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    /// Where: `""` for the argument itself, `Owner`, `items.0.Size`.
    pub path: String,
    /// What, as gojsonschema says it (`ID is required`).
    pub description: String,
}

impl SchemaProblem {
    pub(crate) fn new(path: &str, description: String) -> Self {
        SchemaProblem {
            path: path.to_owned(),
            description,
        }
    }

    /// `{root}.{path}: {description}`, `root` naming the argument.
    pub fn describe(&self, root: &str) -> String {
        if self.path.is_empty() {
            format!("{root}: {}", self.description)
        } else {
            format!("{root}.{}: {}", self.path, self.description)
        }
    }
}

impl std::fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe("(root)"))
    }
}

/// The problems, numbered one per line, as contract-api-go lists them.
pub(crate) fn list_problems(problems: &[SchemaProblem], root: &str) -> String {
    problems
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}. {}", i + 1, p.describe(root)))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub(crate) fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl<T> ContractValue for Vec<T>
where
    T: ContractValue + serde::Serialize + serde::de::DeserializeOwned,
{
    fn type_name() -> String {
        format!("[]{}", T::type_name())
    }
    fn from_arg(arg: &str) -> Result<Self, ArgError> {
        json_from_arg(arg)
    }
    fn to_payload(&self) -> Vec<u8> {
        crate::json::to_vec(self)
    }
    fn schema(components: &mut Components, nested: bool) -> Option<Value> {
        let items = T::schema(components, nested).unwrap_or_else(|| json!({}));
        Some(json!({"type": "array", "items": items}))
    }
}

macro_rules! string_map {
    ($($map:ident),*) => {$(
        impl<T> ContractValue for $map<String, T>
        where
            T: ContractValue + serde::Serialize + serde::de::DeserializeOwned,
        {
            fn type_name() -> String {
                format!("map[string]{}", T::type_name())
            }
            fn from_arg(arg: &str) -> Result<Self, ArgError> {
                json_from_arg(arg)
            }
            fn to_payload(&self) -> Vec<u8> {
                // Sorted keys, as Go's json.Marshal writes a map.
                let sorted: BTreeMap<&String, &T> = self.iter().collect();
                crate::json::to_vec(&sorted)
            }
            fn schema(components: &mut Components, nested: bool) -> Option<Value> {
                let values = T::schema(components, nested).unwrap_or_else(|| json!({}));
                Some(json!({"type": "object", "additionalProperties": values}))
            }
        }
    )*};
}

string_map!(BTreeMap, HashMap);

/// What a transaction method returns: `Result<T, E>` with `E: Display`
/// (an error answer with its message), or a value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not what a contract method can return",
    label = "not a contract result",
    note = "return `Result<T, E>` with `E: Display`, or a value `T`, where `T` is a contract value (String, numbers, bool, Bytes, Vec, maps, Option, (), #[derive(Object)] structures)"
)]
pub trait IntoOutcome: Send + 'static {
    /// The value on success.
    type Value: ContractValue;
    /// The value, or the error's message.
    fn into_outcome(self) -> Result<Self::Value, String>;
}

impl<T: ContractValue, E: std::fmt::Display + Send + 'static> IntoOutcome for Result<T, E> {
    type Value = T;
    fn into_outcome(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

impl<T: ContractValue> IntoOutcome for T {
    type Value = T;
    fn into_outcome(self) -> Result<T, String> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_accepts_what_parse_bool_accepts() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(bool::from_arg(t), Ok(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False", ""] {
            assert_eq!(bool::from_arg(f), Ok(false), "{f}");
        }
        for bad in ["yes", "tRUE", " true", "2"] {
            assert_eq!(
                bool::from_arg(bad).map_err(|e| e.to_string()),
                Err(format!(
                    "conversion error. cannot convert passed value {bad} to bool"
                ))
            );
        }
    }

    #[test]
    fn ints_parse_as_parse_int_base_10() {
        assert_eq!(i64::from_arg("+5"), Ok(5));
        assert_eq!(i64::from_arg("-5"), Ok(-5));
        assert_eq!(i64::from_arg("007"), Ok(7));
        assert_eq!(i64::from_arg(""), Ok(0));
        assert_eq!(i8::from_arg("-128"), Ok(-128));
        for bad in ["128", "0x10", "1_000", " 1", "1 ", "1.0", "+", "-", "+-1"] {
            assert!(i8::from_arg(bad).is_err(), "{bad}");
        }
        assert_eq!(
            isize::from_arg("abc").map_err(|e| e.to_string()),
            Err("conversion error. cannot convert passed value abc to int".to_owned())
        );
    }

    #[test]
    fn uints_take_no_sign() {
        assert_eq!(u8::from_arg("255"), Ok(255));
        assert!(u8::from_arg("256").is_err());
        assert!(u64::from_arg("+5").is_err());
        assert!(u64::from_arg("-0").is_err());
        assert_eq!(u64::from_arg("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            u16::from_arg("-1").map_err(|e| e.to_string()),
            Err("conversion error. cannot convert passed value -1 to uint16".to_owned())
        );
    }

    #[test]
    fn floats_parse_as_parse_float() {
        assert_eq!(f64::from_arg("1.5"), Ok(1.5));
        assert_eq!(f64::from_arg(".5"), Ok(0.5));
        assert_eq!(f64::from_arg("5."), Ok(5.0));
        assert_eq!(f64::from_arg("-1e3"), Ok(-1000.0));
        assert_eq!(f64::from_arg("+Inf"), Ok(f64::INFINITY));
        assert_eq!(f64::from_arg("-infinity"), Ok(f64::NEG_INFINITY));
        assert!(f64::from_arg("NaN").is_ok_and(f64::is_nan));
        assert!(f64::from_arg("-nan").is_err());
        assert_eq!(f64::from_arg("0x1p-2"), Ok(0.25));
        assert_eq!(f64::from_arg("0x1.8p1"), Ok(3.0));
        assert_eq!(f64::from_arg("0x_1p0").ok(), None);
        assert!(f64::from_arg("0x1").is_err(), "hex needs a p exponent");
        assert!(f64::from_arg("1e309").is_err(), "out of range");
        assert!(f32::from_arg("3.5e38").is_err(), "out of range for float32");
        assert_eq!(f32::from_arg("0.1"), Ok(0.1f32));
        for bad in ["1_0", "1e", "e5", "1.2.3", "", " 1"] {
            if bad.is_empty() {
                assert_eq!(f64::from_arg(bad), Ok(0.0));
            } else {
                assert!(f64::from_arg(bad).is_err(), "{bad}");
            }
        }
        assert_eq!(
            f32::from_arg("x").map_err(|e| e.to_string()),
            Err("conversion error. cannot convert passed value x to float32".to_owned())
        );
    }

    #[test]
    fn payloads_are_what_fmt_sprint_writes() {
        assert_eq!(true.to_payload(), b"true");
        assert_eq!((-3i32).to_payload(), b"-3");
        assert_eq!(u64::MAX.to_payload(), b"18446744073709551615");
        assert_eq!(1_000_000f64.to_payload(), b"1e+06");
        assert_eq!(123456f64.to_payload(), b"123456");
        assert_eq!(0.1f32.to_payload(), b"0.1");
        assert_eq!(String::from("as is").to_payload(), b"as is");
        assert_eq!(Bytes(vec![0, 255]).to_payload(), vec![0, 255]);
        assert_eq!(().to_payload(), b"");
        assert_eq!(None::<String>.to_payload(), b"");
        assert_eq!(vec![1i64, 2].to_payload(), b"[1,2]");
        let map: HashMap<String, i64> = [("b".into(), 2), ("a".into(), 1)].into();
        assert_eq!(map.to_payload(), br#"{"a":1,"b":2}"#);
    }

    #[test]
    fn bytes_in_json_are_base64_as_go() {
        for (raw, text) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"\xff\x00\xfe", "/wD+"),
        ] {
            assert_eq!(
                crate::json::to_string(&Bytes(raw.to_vec())),
                format!("\"{text}\"")
            );
            assert_eq!(base64_decode(text).as_deref(), Some(raw), "{text}");
        }
        assert_eq!(base64_decode("Zm9v\r\nYmFy"), Some(b"foobar".to_vec()));
        for bad in ["Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9*"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
        assert_eq!(
            Vec::<Bytes>::from_arg(r#"["Zm9v"]"#),
            Ok(vec![Bytes(b"foo".to_vec())])
        );
        // As a parameter or a result, a Bytes is the raw argument or payload.
        assert_eq!(Bytes::from_arg("Zm9v"), Ok(Bytes(b"Zm9v".to_vec())));
    }

    #[test]
    fn json_arguments_name_the_go_type() {
        assert_eq!(
            Vec::<String>::from_arg(r#"["a","b"]"#),
            Ok(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            Vec::<i64>::from_arg("[1,\"x\"]").map_err(|e| e.to_string()),
            Err(
                "conversion error. value [1,\"x\"] was not passed in expected format []int64"
                    .to_owned()
            )
        );
        assert_eq!(
            BTreeMap::<String, bool>::from_arg("nope").map_err(|e| e.to_string()),
            Err(
                "conversion error. value nope was not passed in expected format map[string]bool"
                    .to_owned()
            )
        );
    }
}
