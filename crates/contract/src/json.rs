//! JSON as Go's `encoding/json.Marshal` writes it, so a Rust contract puts
//! the same bytes in the ledger as the Go chaincode it replaces (peers of
//! different organisations running the two then endorse alike).
//!
//! The differences from `serde_json::to_vec`: `<`, `>` and `&` are written
//! `\u003c`, `\u003e`, `\u0026`, and U+2028, U+2029 `\u2028`, `\u2029`;
//! floats use Go's format (`1e+21`, `1e-7`, never `1.0`); a NaN or an
//! infinity, which Go refuses, is written `null`. Field order is the
//! structure's declaration order in both; a `HashMap`'s order is not
//! sorted by serde (use `BTreeMap`, or return the map itself: contract
//! values sort it).
//!
//! ```
//! #[derive(serde::Serialize)]
//! struct Asset { #[serde(rename = "ID")] id: String, #[serde(rename = "Size")] size: f64 }
//!
//! let asset = Asset { id: "<a&b>".into(), size: 1e21 };
//! assert_eq!(
//!     ccaas_contract::json::to_vec(&asset),
//!     br#"{"ID":"\u003ca\u0026b\u003e","Size":1e+21}"#
//! );
//! ```

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use std::io::{self, Write};

/// `value` as Go's `json.Marshal` writes it. A value serde cannot write
/// (a map with non-string keys) gives `null`.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    if value.serialize(&mut serializer).is_err() {
        return b"null".to_vec();
    }
    out
}

/// `value` as a string, as [`to_vec`].
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    String::from_utf8_lossy(&to_vec(value)).into_owned()
}

struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape: &[u8] = match c {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escape)?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(go_json_float(value, false).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(go_json_float(f64::from(value), true).as_bytes())
    }

    fn write_number_str<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        value: &str,
    ) -> io::Result<()> {
        CompactFormatter.write_number_str(writer, value)
    }
}

/// The shortest digits and decimal exponent of `value` (`1.5e-7` →
/// `("1.5", -7)`), for its own width.
fn shortest(value: f64, single: bool) -> (String, i32) {
    let text = if single {
        format!("{:e}", value.abs() as f32)
    } else {
        format!("{:e}", value.abs())
    };
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    (mantissa.to_owned(), exponent.parse().unwrap_or(0))
}

fn sign(value: f64) -> &'static str {
    if value.is_sign_negative() {
        "-"
    } else {
        ""
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, bits)`.
fn fixed(value: f64, single: bool) -> String {
    if single {
        format!("{}", value as f32)
    } else {
        format!("{value}")
    }
}

/// Go's encoding/json float: `'f'` unless below 1e-6 or from 1e21 on,
/// then `'e'` with `e-07` cleaned to `e-7`.
fn go_json_float(value: f64, single: bool) -> String {
    if !value.is_finite() {
        return "null".to_owned();
    }
    let abs = value.abs();
    let exponential = abs != 0.0
        && if single {
            let a = abs as f32;
            !(1e-6..1e21).contains(&a)
        } else {
            !(1e-6..1e21).contains(&abs)
        };
    if !exponential {
        return fixed(value, single);
    }
    let (mantissa, exp) = shortest(value, single);
    let exp_sign = if exp < 0 { '-' } else { '+' };
    format!("{}{mantissa}e{exp_sign}{}", sign(value), exp.abs())
}

/// Go's `fmt.Sprint` of a float (`%v`, that is `%g` with the shortest
/// digits): the exponent form below 1e-4 and from 1e6 on, with at least
/// two exponent digits (`1e+06`); `NaN`, `+Inf`, `-Inf`.
pub(crate) fn go_sprint_float(value: f64, single: bool) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if value == 0.0 {
        return format!("{}0", sign(value));
    }
    let (mantissa, exp) = shortest(value, single);
    // strconv's 'g' with the shortest digits decides with eprec = 6.
    let eprec = 6;
    if exp < -4 || exp >= eprec {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{}{mantissa}e{exp_sign}{:02}", sign(value), exp.abs())
    } else {
        fixed(value, single)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_as_go() {
        assert_eq!(
            to_string("a<b>&c\u{2028}\u{2029}"),
            r#""a\u003cb\u003e\u0026c\u2028\u2029""#
        );
        assert_eq!(to_string("line\nquote\"back\\"), r#""line\nquote\"back\\""#);
        assert_eq!(to_string("é"), "\"é\"");
    }

    #[test]
    fn floats_format_as_go_json() {
        assert_eq!(to_string(&1.0f64), "1");
        assert_eq!(to_string(&1.5f64), "1.5");
        assert_eq!(to_string(&1e20f64), "100000000000000000000");
        assert_eq!(to_string(&1e21f64), "1e+21");
        assert_eq!(to_string(&1.5e-7f64), "1.5e-7");
        assert_eq!(to_string(&1e-10f64), "1e-10");
        assert_eq!(to_string(&0.000001f64), "0.000001");
        assert_eq!(to_string(&-0.0f64), "-0");
        assert_eq!(to_string(&0.1f32), "0.1");
        assert_eq!(to_string(&f64::NAN), "null");
    }

    #[test]
    fn floats_sprint_as_go_fmt() {
        assert_eq!(go_sprint_float(1e6, false), "1e+06");
        assert_eq!(go_sprint_float(123456.0, false), "123456");
        assert_eq!(go_sprint_float(1234567.0, false), "1.234567e+06");
        assert_eq!(go_sprint_float(0.0001, false), "0.0001");
        assert_eq!(go_sprint_float(0.00001, false), "1e-05");
        assert_eq!(go_sprint_float(3.5, false), "3.5");
        assert_eq!(go_sprint_float(-2.0, false), "-2");
        assert_eq!(go_sprint_float(1e100, false), "1e+100");
        assert_eq!(go_sprint_float(f64::INFINITY, false), "+Inf");
        assert_eq!(go_sprint_float(f64::NAN, false), "NaN");
        assert_eq!(go_sprint_float(f64::from(0.1f32), true), "0.1");
    }
}
