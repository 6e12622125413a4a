//! Errors carry their sources, and `?` in an operator's own `main` prints
//! the chain: `Error: <message>: <cause>`, never a structure dump.
#![allow(clippy::unwrap_used)]

use ccaas_core::connection::{self, LoadOptions};
use ccaas_core::report::chain;
use std::error::Error;

/// What `fn main() -> Result<(), Box<dyn Error>>` prints on an error (the
/// standard library's `Termination` writes `Error: {err:?}`).
fn as_main_prints(err: Box<dyn Error>) -> String {
    format!("Error: {err:?}")
}

#[test]
fn question_mark_in_main_prints_the_chain() {
    fn run() -> Result<(), Box<dyn Error>> {
        ccaas_core::fs::read_limited("/nonexistent/connection.json".as_ref(), 10)?;
        Ok(())
    }
    assert_eq!(
        as_main_prints(run().unwrap_err()),
        "Error: cannot open `/nonexistent/connection.json`: No such file or directory (os error 2)"
    );
}

#[test]
fn a_rejected_connection_says_every_problem_alone() {
    fn run() -> Result<(), Box<dyn Error>> {
        connection::load(
            br#"{"address": "basic", "dial_timeout": "10"}"#,
            &LoadOptions::default(),
        )?;
        Ok(())
    }
    let err = run().unwrap_err();
    // Display alone is useful: both problems, not "2 problems".
    assert_eq!(
        err.to_string(),
        "2 problems: key `address`: `basic` has no port (expected `host:port`, e.g. `basic:9999`); key `dial_timeout`: `10` has no unit (expected one of ns, us, µs, ms, s, m, h, e.g. `10s`)"
    );
    assert_eq!(
        as_main_prints(err),
        format!("Error: {}", {
            let again = run().unwrap_err();
            chain(&*again)
        })
    );
}

#[test]
fn sources_chain_to_the_cause() {
    // One problem: its cause is the source, so a reporter walking
    // `source()` (anyhow, eyre, ours) reaches it.
    let rejected =
        connection::load(br#"{"address": "basic"}"#, &LoadOptions::default()).unwrap_err();
    let source = rejected.source().expect("a source");
    assert_eq!(
        source.to_string(),
        "`basic` has no port (expected `host:port`, e.g. `basic:9999`)"
    );
    // An I/O error: message, then the operating system's words.
    let fs = ccaas_core::fs::read_limited("/nonexistent".as_ref(), 10).unwrap_err();
    assert_eq!(fs.to_string(), "cannot open `/nonexistent`");
    assert_eq!(
        fs.source().map(ToString::to_string).as_deref(),
        Some("No such file or directory (os error 2)")
    );
    assert_eq!(format!("{fs:?}"), chain(&fs));
    // A package that is not gzip: the reason, then gzip's.
    let err =
        ccaas_core::package::identify(&b"not a package"[..], &Default::default()).unwrap_err();
    assert!(err.source().is_some(), "{err}");
    assert_eq!(format!("{err:?}"), chain(&err));
    assert!(
        chain(&err).starts_with("the package is not a readable gzip-compressed tar"),
        "{err:?}"
    );
}
