//! Go's `time.Duration`: the grammar of `time.ParseDuration` and the output
//! of `Duration.String()`, to the nanosecond and with Go's overflow limits.
//!
//! The peer decodes `dial_timeout` with `time.ParseDuration`, so a value this
//! module accepts is exactly a value the peer accepts.
//!
//! ```
//! use ccaas_core::GoDuration;
//!
//! let d: GoDuration = "1m30.5s".parse()?;
//! assert_eq!(d.as_nanos(), 90_500_000_000);
//! assert_eq!(d.to_string(), "1m30.5s");
//! assert_eq!("1.5µs".parse::<GoDuration>()?.to_string(), "1.5µs");
//! assert!("10".parse::<GoDuration>().is_err()); // a unit is required
//! # Ok::<(), ccaas_core::duration::DurationError>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// A signed count of nanoseconds, as Go's `time.Duration` (an `int64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(i64);

/// The dial timeout the peer uses when `dial_timeout` is missing or zero.
pub const DEFAULT_DIAL_TIMEOUT: GoDuration = GoDuration(3_000_000_000);

crate::report::debug_as_chain!(DurationError);

/// Why a string is not a Go duration. Each variant mirrors one of the errors
/// `time.ParseDuration` returns, so the peer fails on exactly these inputs.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Empty string, stray characters, or no digits before a unit.
    #[error("`{input}` is not a Go duration (expected a number and a unit, e.g. `10s`, `500ms`, `1m30s`)")]
    Invalid {
        /// The whole input.
        input: String,
    },
    /// A number without a unit, like `10`.
    #[error("`{input}` has no unit (expected one of ns, us, µs, ms, s, m, h, e.g. `{input}s`)")]
    MissingUnit {
        /// The whole input.
        input: String,
    },
    /// A unit Go does not know, like `10sec` or `1d`.
    #[error("`{input}` has unknown unit `{unit}` (expected one of ns, us, µs, ms, s, m, h)")]
    UnknownUnit {
        /// The whole input.
        input: String,
        /// The offending unit.
        unit: String,
    },
    /// More than about 292 years.
    #[error("`{input}` is out of range (a Go duration is at most 2562047h47m16.854775807s)")]
    Overflow {
        /// The whole input.
        input: String,
    },
}

const NANOSECOND: u64 = 1;
const MICROSECOND: u64 = 1_000 * NANOSECOND;
const MILLISECOND: u64 = 1_000 * MICROSECOND;
const SECOND: u64 = 1_000 * MILLISECOND;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
const LIMIT: u64 = 1 << 63;

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => NANOSECOND,
        // U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU, as Go accepts both.
        "us" | "\u{b5}s" | "\u{3bc}s" => MICROSECOND,
        "ms" => MILLISECOND,
        "s" => SECOND,
        "m" => MINUTE,
        "h" => HOUR,
        _ => return None,
    })
}

impl GoDuration {
    /// A duration of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        GoDuration(nanos)
    }

    /// The duration in nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Whether the duration is zero (the peer then uses its 3s default).
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Whether the duration is negative.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The duration as a `std::time::Duration`, or `None` when negative.
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.0)
            .ok()
            .map(std::time::Duration::from_nanos)
    }

    /// Parses `input` exactly as Go's `time.ParseDuration` does.
    pub fn parse(input: &str) -> Result<Self, DurationError> {
        let invalid = || DurationError::Invalid {
            input: crate::report::shorten(input),
        };
        let overflow = || DurationError::Overflow {
            input: crate::report::shorten(input),
        };
        let mut s = input.as_bytes();
        let mut neg = false;
        if let Some((&c, rest)) = s.split_first() {
            if c == b'-' || c == b'+' {
                neg = c == b'-';
                s = rest;
            }
        }
        if s == b"0" {
            return Ok(GoDuration(0));
        }
        if s.is_empty() {
            return Err(invalid());
        }
        let mut total: u64 = 0;
        while !s.is_empty() {
            if !(s[0] == b'.' || s[0].is_ascii_digit()) {
                return Err(invalid());
            }
            let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
            let mut whole: u64 = 0;
            for &c in &s[..digits] {
                if whole > LIMIT / 10 {
                    return Err(invalid());
                }
                whole = whole * 10 + u64::from(c - b'0');
                if whole > LIMIT {
                    return Err(invalid());
                }
            }
            s = &s[digits..];
            let (mut frac, mut scale, mut frac_digits) = (0u64, 1f64, 0usize);
            if s.first() == Some(&b'.') {
                s = &s[1..];
                frac_digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
                let mut saturated = false;
                for &c in &s[..frac_digits] {
                    if saturated {
                        continue;
                    }
                    // Go stops gaining precision once the fraction no longer fits.
                    if frac > (LIMIT - 1) / 10 {
                        saturated = true;
                        continue;
                    }
                    let next = frac * 10 + u64::from(c - b'0');
                    if next > LIMIT {
                        saturated = true;
                        continue;
                    }
                    frac = next;
                    scale *= 10.0;
                }
                s = &s[frac_digits..];
            }
            if digits == 0 && frac_digits == 0 {
                return Err(invalid());
            }
            let unit_len = s
                .iter()
                .take_while(|&&c| c != b'.' && !c.is_ascii_digit())
                .count();
            if unit_len == 0 {
                return Err(DurationError::MissingUnit {
                    input: crate::report::shorten(input),
                });
            }
            let unit_text = String::from_utf8_lossy(&s[..unit_len]);
            let unit = unit_nanos(&unit_text).ok_or_else(|| DurationError::UnknownUnit {
                input: crate::report::shorten(input),
                unit: crate::report::shorten(&unit_text),
            })?;
            s = &s[unit_len..];
            if whole > LIMIT / unit {
                return Err(overflow());
            }
            let mut value = whole * unit;
            if frac > 0 {
                // Go uses float64 here too, to stay exact for fractions of hours.
                value += (frac as f64 * (unit as f64 / scale)) as u64;
                if value > LIMIT {
                    return Err(overflow());
                }
            }
            total += value;
            if total > LIMIT {
                return Err(overflow());
            }
        }
        if neg {
            // -(1<<63) is the one value whose magnitude exceeds i64::MAX.
            return Ok(GoDuration((total as i64).wrapping_neg()));
        }
        if total > LIMIT - 1 {
            return Err(overflow());
        }
        Ok(GoDuration(total as i64))
    }
}

impl FromStr for GoDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GoDuration::parse(s)
    }
}

/// Writes the fraction `v / 10^prec` without trailing zeros (and without the
/// point when it is zero) in front of `out`, returning `v / 10^prec`.
fn push_fraction(out: &mut Vec<u8>, mut v: u64, prec: u32) -> u64 {
    let mut printing = false;
    for _ in 0..prec {
        let digit = (v % 10) as u8;
        printing = printing || digit != 0;
        if printing {
            out.push(b'0' + digit);
        }
        v /= 10;
    }
    if printing {
        out.push(b'.');
    }
    v
}

fn push_int(out: &mut Vec<u8>, mut v: u64) {
    loop {
        out.push(b'0' + (v % 10) as u8);
        v /= 10;
        if v == 0 {
            break;
        }
    }
}

impl fmt::Display for GoDuration {
    /// Formats as Go's `Duration.String()`: `1h0m0s`, `1m30s`, `1.5ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Built back to front, as Go does, then reversed.
        let mut rev: Vec<u8> = Vec::with_capacity(32);
        let mut u = self.0.unsigned_abs();
        if u < SECOND {
            rev.push(b's');
            let prec = match u {
                0 => {
                    rev.push(b'0');
                    0
                }
                _ if u < MICROSECOND => {
                    rev.push(b'n');
                    0
                }
                _ if u < MILLISECOND => {
                    // "µ" is two bytes in UTF-8, pushed reversed.
                    rev.extend_from_slice(&[0xb5, 0xc2]);
                    3
                }
                _ => {
                    rev.push(b'm');
                    6
                }
            };
            if u != 0 {
                u = push_fraction(&mut rev, u, prec);
                push_int(&mut rev, u);
            }
        } else {
            rev.push(b's');
            u = push_fraction(&mut rev, u, 9);
            push_int(&mut rev, u % 60);
            u /= 60;
            if u > 0 {
                rev.push(b'm');
                push_int(&mut rev, u % 60);
                u /= 60;
                if u > 0 {
                    rev.push(b'h');
                    push_int(&mut rev, u);
                }
            }
        }
        if self.0 < 0 {
            rev.push(b'-');
        }
        rev.reverse();
        f.write_str(&String::from_utf8_lossy(&rev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(s: &str) -> i64 {
        match GoDuration::parse(s) {
            Ok(d) => d.as_nanos(),
            Err(e) => panic!("`{s}` should parse: {e}"),
        }
    }

    fn err(s: &str) -> DurationError {
        match GoDuration::parse(s) {
            Ok(d) => panic!("`{s}` should fail, got {d:?}"),
            Err(e) => e,
        }
    }

    // Rows of Go's own parse table (src/time/time_test.go), one per rule.
    #[test]
    fn zero_without_unit() {
        assert_eq!(ns("0"), 0);
        assert_eq!(ns("-0"), 0);
        assert_eq!(ns("+0"), 0);
    }
    #[test]
    fn each_unit() {
        assert_eq!(ns("5ns"), 5);
        assert_eq!(ns("5us"), 5_000);
        assert_eq!(ns("5\u{b5}s"), 5_000);
        assert_eq!(ns("5\u{3bc}s"), 5_000);
        assert_eq!(ns("5ms"), 5_000_000);
        assert_eq!(ns("5s"), 5_000_000_000);
        assert_eq!(ns("5m"), 300_000_000_000);
        assert_eq!(ns("5h"), 18_000_000_000_000);
    }
    #[test]
    fn fractions() {
        assert_eq!(ns("1.5s"), 1_500_000_000);
        assert_eq!(ns(".5s"), 500_000_000);
        assert_eq!(ns("1.s"), 1_000_000_000);
        assert_eq!(ns("1.0040s"), 1_004_000_000);
        assert_eq!(ns("100.00100s"), 100_001_000_000);
        assert_eq!(ns("0.3333333333333333333h"), 20 * 60 * 1_000_000_000);
        assert_eq!(ns("0.100000000000000000000h"), 6 * 60 * 1_000_000_000);
        // Digits beyond int64 precision are dropped, not an error.
        assert_eq!(
            ns("0.830103483285477580700h"),
            (0.830_103_483_285_477_6_f64 * 3_600_000_000_000f64) as i64
        );
    }
    #[test]
    fn several_units() {
        assert_eq!(ns("1h2m3.5s"), 3_723_500_000_000);
        assert_eq!(ns("3h30m"), 12_600_000_000_000);
        assert_eq!(ns("10.5s4m"), 250_500_000_000);
        assert_eq!(ns("-2m3.4s"), -123_400_000_000);
        assert_eq!(ns("1h1m1s1ms1us1ns"), 3_661_001_001_001);
    }
    #[test]
    fn sign() {
        assert_eq!(ns("-5s"), -5_000_000_000);
        assert_eq!(ns("+5s"), 5_000_000_000);
    }
    #[test]
    fn largest_and_smallest() {
        assert_eq!(ns("9223372036854775807ns"), i64::MAX);
        assert_eq!(ns("9223372036.854775807s"), i64::MAX);
        assert_eq!(ns("-9223372036854775808ns"), i64::MIN);
        assert_eq!(ns("2562047h47m16.854775807s"), i64::MAX);
    }
    #[test]
    fn overflow() {
        assert!(matches!(
            err("9223372036854775808ns"),
            DurationError::Invalid { .. } | DurationError::Overflow { .. }
        ));
        assert!(matches!(err("2562048h"), DurationError::Overflow { .. }));
        assert!(matches!(
            err("9223372036854775807ns1ns"),
            DurationError::Overflow { .. }
        ));
        assert!(matches!(
            err("-9223372036854775809ns"),
            DurationError::Invalid { .. }
        ));
        assert!(matches!(
            err("99999999999999999999s"),
            DurationError::Invalid { .. }
        ));
    }
    #[test]
    fn empty_and_sign_only() {
        assert!(matches!(err(""), DurationError::Invalid { .. }));
        assert!(matches!(err("-"), DurationError::Invalid { .. }));
        assert!(matches!(err("+"), DurationError::Invalid { .. }));
    }
    #[test]
    fn no_digits() {
        assert!(matches!(err(".s"), DurationError::Invalid { .. }));
        assert!(matches!(err("-.s"), DurationError::Invalid { .. }));
        assert!(matches!(err("s"), DurationError::Invalid { .. }));
    }
    #[test]
    fn missing_unit() {
        assert!(matches!(err("3"), DurationError::MissingUnit { .. }));
        assert!(matches!(err("1s2"), DurationError::MissingUnit { .. }));
        assert!(matches!(err("1.5"), DurationError::MissingUnit { .. }));
    }
    #[test]
    fn unknown_unit() {
        assert_eq!(
            err("10sec"),
            DurationError::UnknownUnit {
                input: "10sec".into(),
                unit: "sec".into()
            }
        );
        assert!(matches!(err("1d"), DurationError::UnknownUnit { .. }));
        assert!(matches!(err("1 s"), DurationError::UnknownUnit { .. }));
        assert!(matches!(err("1S"), DurationError::UnknownUnit { .. }));
        assert!(matches!(err("10s "), DurationError::UnknownUnit { .. }));
    }
    #[test]
    fn leading_space_is_invalid() {
        assert!(matches!(err(" 10s"), DurationError::Invalid { .. }));
    }

    // Rows of Go's String() table.
    #[test]
    fn formats_like_go() {
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (4 * 60 * 1_000_000_000 + 5_000_000_000, "4m5s"),
            (4 * 60 * 1_000_000_000 + 5_001_000_000, "4m5.001s"),
            (
                5 * 3_600_000_000_000 + 6 * 60_000_000_000 + 7_001_000_000,
                "5h6m7.001s",
            ),
            (8 * 60_000_000_000 + 1, "8m0.000000001s"),
            (3_600_000_000_000, "1h0m0s"),
            (90_000_000_000, "1m30s"),
            (500_000_000, "500ms"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
            (-1_500_000_000, "-1.5s"),
        ];
        for &(nanos, text) in cases {
            assert_eq!(GoDuration::from_nanos(nanos).to_string(), text, "{nanos}ns");
        }
    }

    #[test]
    fn formatted_value_parses_back() {
        for nanos in [1, 999, 1_000, 1_500_000, 59_999_999_999, 3_600_000_000_001] {
            let d = GoDuration::from_nanos(nanos);
            assert_eq!(GoDuration::parse(&d.to_string()), Ok(d));
        }
    }
}
