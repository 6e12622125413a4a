//! Times as text.

/// `unix_secs` (plus `nanos`) as RFC 3339 in UTC, as Go's `time.Time`
/// marshals to JSON: `2026-01-02T03:04:05.123456789Z`, the fraction only
/// when not zero.
///
/// ```
/// # use ccaas_core::time::rfc3339;
/// assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00Z");
/// assert_eq!(rfc3339(4_733_510_399, 0), "2119-12-31T23:59:59Z");
/// assert_eq!(rfc3339(1_700_000_000, 5_000_000), "2023-11-14T22:13:20.005Z");
/// ```
pub fn rfc3339(unix_secs: i64, nanos: u32) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut text = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    );
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}
