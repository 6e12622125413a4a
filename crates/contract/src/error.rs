//! [`Error`]: an error message for a transaction's answer.

use std::fmt;

/// A transaction's error: its message is the answer's (status 500).
/// Anything that is a `std::error::Error` converts with `?` (its source
/// chain joined with `: `), and [`Error::new`] takes a message.
///
/// ```
/// use ccaas_contract::Error;
///
/// fn check(exists: bool, id: &str) -> Result<(), Error> {
///     if exists {
///         return Err(Error::new(format!("the asset {id} already exists")));
///     }
///     Ok(())
/// }
/// assert_eq!(check(true, "asset1").unwrap_err().to_string(), "the asset asset1 already exists");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with `message`.
    pub fn new(message: impl fmt::Display) -> Self {
        Error {
            message: message.to_string(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Error { message }
    }
}
