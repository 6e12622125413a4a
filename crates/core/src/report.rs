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
/// echoing a value from a (possibly hostile) input in a message. Text that
/// holds a PEM private key is never echoed, whatever field it was put in.
pub fn shorten(text: &str) -> String {
    if crate::pem::contains_private_key(text) {
        return format!("<{} bytes holding a private key, not shown>", text.len());
    }
    const SHOWN: usize = 300;
    match text.char_indices().nth(SHOWN) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
    }
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
