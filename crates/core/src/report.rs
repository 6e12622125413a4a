//! Turning errors into the one-line messages operators read in the peer's
//! log and on their terminal: `<message>: <cause>: <cause>`.
//!
//! ```
//! use ccaas_core::report::chain;
//!
//! let err = ccaas_core::fs::read_limited("/nonexistent/connection.json".as_ref(), 10).unwrap_err();
//! assert_eq!(chain(&err), "cannot open `/nonexistent/connection.json`: No such file or directory (os error 2)");
//! ```

use std::error::Error;

/// `Debug` for an error type as its [`chain`]: `?` in a `main` that
/// returns `Result<(), Box<dyn Error>>` prints `Error: <message>: <cause>`
/// rather than a structure dump, and no derived `Debug` can show a field
/// holding input text.
macro_rules! debug_as_chain {
    ($t:ty) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&$crate::report::chain(self))
            }
        }
    };
}
pub(crate) use debug_as_chain;

/// `problems` as one message: the one, or `N problems: a; b; c`.
pub(crate) fn list_problems<E: Error>(problems: &[E]) -> String {
    match problems {
        [one] => one.to_string(),
        many => format!(
            "{} problems: {}",
            many.len(),
            many.iter().map(|p| chain(p)).collect::<Vec<_>>().join("; ")
        ),
    }
}

/// `n` and the noun that goes with it: `1 file`, `3 files`, `0 files`.
///
/// ```
/// use ccaas_core::report::count;
///
/// assert_eq!(count(1, "CouchDB index", "CouchDB indexes"), "1 CouchDB index");
/// assert_eq!(count(20, "CouchDB index", "CouchDB indexes"), "20 CouchDB indexes");
/// ```
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The error's message followed by each of its sources, joined by `: `.
/// A source whose text the message already holds is skipped.
pub fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

/// `text` cut to its first 300 characters, with the full length said, for
/// echoing a value from a (possibly hostile) input in a message: the one
/// way input is quoted. Text that may hold a private key, in whatever shape
/// ([`crate::pem::contains_private_key`]), is never echoed, whatever field
/// it was put in; other runs of base64 (a certificate's body) are replaced
/// by their length, as [`redact`] does.
///
/// ```
/// use ccaas_core::report::shorten;
///
/// let key = "-----BEGIN PRIVATE KEY----- MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg -----END PRIVATE KEY-----";
/// assert_eq!(shorten(key), "<102 bytes holding a private key, not shown>");
/// assert_eq!(shorten("mycc:9999"), "mycc:9999");
/// ```
pub fn shorten(text: &str) -> String {
    if crate::pem::contains_private_key(text) {
        return format!("<{} bytes holding a private key, not shown>", text.len());
    }
    const SHOWN: usize = 300;
    let cut = match text.char_indices().nth(SHOWN) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
    };
    redact(&cut).into_owned()
}

/// `line` with anything that may be key material taken out: every block
/// from a `PRIVATE KEY` marker's line to its end marker (or the end), and
/// every run of base64 long enough to be a key's body, whatever the
/// newlines, dashes or field. The binaries pass every line they print
/// through this, after messages have quoted input through [`shorten`].
///
/// ```
/// use ccaas_core::report::redact;
///
/// let line = "key `domain` is `MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgO/vO7YK9Tiyzccaa`";
/// assert_eq!(redact(line), "key `domain` is `<64 characters of base64, not shown>`");
/// assert_eq!(redact("address mycc:9999"), "address mycc:9999");
/// ```
pub fn redact(line: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let mut out: Cow<'_, str> = Cow::Borrowed(line);
    // Whole key blocks first: their short last lines are key material too.
    if let Some(redacted) = redact_key_blocks(&out) {
        out = Cow::Owned(redacted);
    }
    let runs: Vec<(usize, usize)> = crate::pem::base64_runs(&out)
        .map(|run| {
            let start = run.as_ptr() as usize - out.as_ptr() as usize;
            (start, start + run.len())
        })
        .collect();
    if runs.is_empty() {
        return out;
    }
    let mut text = String::with_capacity(out.len());
    let mut at = 0;
    for (start, end) in runs {
        text.push_str(&out[at..start]);
        text.push_str(&format!(
            "<{} characters of base64, not shown>",
            end - start
        ));
        at = end;
    }
    text.push_str(&out[at..]);
    Cow::Owned(text)
}

/// [`redact`] applied to every string of a JSON document, for `--json`
/// output: a string that may hold a private key becomes `<redacted>`; a
/// well-formed certificate is kept (it is public, and `inspect --json`
/// shows it).
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if crate::pem::contains_private_key(s) {
                *s = "<redacted>".into();
            } else if crate::pem::parse(s, crate::pem::PemKind::Certificates).is_err() {
                if let std::borrow::Cow::Owned(r) = redact(s) {
                    *s = r;
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

/// `text` with everything from a `BEGIN ... PRIVATE KEY` marker to the
/// matching end marker (or the end of the text) replaced; `None` when it
/// holds no such marker.
fn redact_key_blocks(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let begin = lower.find("begin")?;
    if !lower[begin..].contains("private key") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut search = begin;
    while let Some(b) = lower[search..].find("begin").map(|i| i + search) {
        let Some(k) = lower[b..].find("private key").map(|i| i + b) else {
            break;
        };
        // The block ends after `END <label>` and its dashes, or at the end.
        let end = match lower[k..].find("end").map(|i| i + k) {
            Some(e) => lower[e..]
                .find("private key")
                .map(|i| e + i + "private key".len())
                .map(|i| i + lower[i..].bytes().take_while(|&c| c == b'-').count())
                .unwrap_or(text.len()),
            None => text.len(),
        };
        let start = lower[rest..b]
            .rfind(|c: char| c != '-')
            .map_or(rest, |i| rest + i + 1);
        out.push_str(&text[rest..start]);
        out.push_str(&format!(
            "<{} bytes of a private key, not shown>",
            end - start
        ));
        rest = end;
        search = end;
        if search >= text.len() {
            break;
        }
    }
    out.push_str(&text[rest..]);
    Some(out)
}

/// An I/O error from a decoder whose message may quote raw bytes of a
/// (possibly hostile) archive: the same kind, with the message cut,
/// stripped of control characters and never holding key material.
pub fn sanitize(err: std::io::Error) -> std::io::Error {
    let text: String = err
        .to_string()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    std::io::Error::new(err.kind(), shorten(&text))
}
