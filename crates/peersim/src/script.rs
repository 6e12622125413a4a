//! The `ccaas-peersim` command's invocations and output: a script is one
//! invocation per line, arguments separated by spaces, `"..."` for an
//! argument with spaces (`\"` and `\\` inside), `#` starting a comment line.
//! Each outcome prints as one line a script can match:
//!
//! ```text
//! COMPLETED status=200 message="" payload="OK"
//! ERROR message="..."
//! FAILED error="chaincode stream terminated"
//! ```
//!
//! ```
//! use ccaas_peersim::script;
//!
//! let invocations = script::parse("put k \"a value\"\n# a comment\n\nget k\n")?;
//! assert_eq!(invocations, vec![vec!["put", "k", "a value"], vec!["get", "k"]]);
//! assert_eq!(script::escape(b"a\"b\n\xff"), r#"a\"b\n\xff"#);
//! # Ok::<(), script::ScriptError>(())
//! ```

use crate::session::{Session, SessionError, TxOutcome};

/// Why a script cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The file cannot be read.
    #[error("cannot read script `{path}`")]
    Read {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A quote is not closed.
    #[error("script line {line}: unterminated `\"`")]
    Unterminated {
        /// The line number, from 1.
        line: usize,
    },
}

/// Reads and parses the script at `path`.
pub fn read(path: &str) -> Result<Vec<Vec<String>>, ScriptError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text)
}

/// Parses a script: one invocation per non-blank, non-comment line.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, ScriptError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        out.push(words(trimmed).ok_or(ScriptError::Unterminated { line: i + 1 })?);
    }
    Ok(out)
}

fn words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => word.push(chars.next()?),
                    c => word.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
}

/// Splits command-line arguments into invocations at each `--`.
pub fn split(args: &[String]) -> Vec<Vec<String>> {
    args.split(|a| a == "--")
        .filter(|group| !group.is_empty())
        .map(<[String]>::to_vec)
        .collect()
}

/// Runs `invocations` on `channel` one after another, each proposal with
/// the `transient` map; one result each.
pub async fn run(
    session: &Session,
    channel: &str,
    invocations: &[Vec<String>],
    transient: &[(String, Vec<u8>)],
) -> Vec<Result<TxOutcome, SessionError>> {
    let mut results = Vec::with_capacity(invocations.len());
    for args in invocations {
        let mut invocation = session.invoke(channel, args.iter().map(String::as_bytes));
        for (key, value) in transient {
            invocation = invocation.transient(key.clone(), value.clone());
        }
        results.push(invocation.await);
    }
    results
}

/// True when every result is a COMPLETED below 400.
pub fn all_succeeded(results: &[Result<TxOutcome, SessionError>]) -> bool {
    results
        .iter()
        .all(|r| r.as_ref().is_ok_and(TxOutcome::is_success))
}

/// Bytes as text: printable ASCII as is, `"` and `\` escaped, newlines as
/// `\n`, anything else as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// Message counts by type as `NAME=N` words, in type order.
pub fn format_counts(counts: &std::collections::BTreeMap<i32, u64>) -> String {
    counts
        .iter()
        .map(
            |(kind, n)| match ccaas_proto::MessageType::try_from(*kind) {
                Ok(k) => format!("{}={n}", k.fabric_name()),
                Err(_) => format!("{kind}={n}"),
            },
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// One outcome as one line.
pub fn format(result: &Result<TxOutcome, SessionError>) -> String {
    match result {
        Ok(TxOutcome::Completed { response, event }) => {
            let mut line = format!(
                "COMPLETED status={} message=\"{}\" payload=\"{}\"",
                response.status,
                escape(response.message.as_bytes()),
                escape(&response.payload)
            );
            if let Some(event) = event {
                line.push_str(&format!(
                    " event=\"{}\" event_payload=\"{}\"",
                    escape(event.event_name.as_bytes()),
                    escape(&event.payload)
                ));
            }
            line
        }
        Ok(TxOutcome::Error { message }) => {
            format!("ERROR message=\"{}\"", escape(message.as_bytes()))
        }
        Ok(TxOutcome::Unreadable { error }) => {
            format!("UNREADABLE error=\"{}\"", escape(error.as_bytes()))
        }
        Err(e) => format!("FAILED error=\"{}\"", escape(e.to_string().as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccaas_proto::Response;

    #[test]
    fn arguments_split_at_double_dash() {
        let args: Vec<String> = ["put", "k", "v", "--", "get", "k", "--"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(split(&args), vec![vec!["put", "k", "v"], vec!["get", "k"]]);
    }

    #[test]
    fn an_open_quote_names_its_line() {
        let err = parse("ping\nput k \"v\n").map(|_| ()).unwrap_err();
        assert_eq!(err.to_string(), "script line 2: unterminated `\"`");
    }

    #[test]
    fn outcomes_print_on_one_line() {
        let ok = Ok(TxOutcome::Completed {
            response: Response {
                status: 200,
                message: String::new(),
                payload: b"OK".to_vec(),
            },
            event: None,
        });
        assert_eq!(
            format(&ok),
            "COMPLETED status=200 message=\"\" payload=\"OK\""
        );
        let failed = Err(SessionError::StreamTerminated);
        assert_eq!(
            format(&failed),
            "FAILED error=\"chaincode stream terminated\""
        );
    }
}
