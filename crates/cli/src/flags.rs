//! Errors worded after the flag the operator gave: which flag (and which
//! file) an error is about, and what was found there.

use ccaas_core::connection::ConnectionError;
use ccaas_core::fs::FsError;
use ccaas_core::report::chain;
use std::path::{Path, PathBuf};

/// A flag and the value given to it, as the operator typed them.
#[derive(Debug, Clone)]
pub struct Given {
    /// The flag, e.g. `--tls-root-cert`.
    pub flag: &'static str,
    /// Its value, when it is a file (quoted in messages).
    pub file: Option<PathBuf>,
}

impl Given {
    /// `--flag `file`` (or `--flag` alone).
    pub fn describe(&self) -> String {
        match &self.file {
            Some(file) => format!("{} `{}`", self.flag, file.display()),
            None => self.flag.to_owned(),
        }
    }
}

/// For `package --address ...`: the flag that filled connection.json's
/// `key`.
pub fn flag_of_key(
    key: &str,
    root_cert: &Option<PathBuf>,
    client_cert: &Option<PathBuf>,
    client_key: &Option<PathBuf>,
) -> Option<Given> {
    let (flag, file) = match key.to_ascii_lowercase().as_str() {
        "address" => ("--address", None),
        "dial_timeout" => ("--dial-timeout", None),
        "domain" => ("--domain", None),
        "root_cert" => ("--tls-root-cert", root_cert.clone()),
        "client_cert" => ("--client-cert", client_cert.clone()),
        "client_key" => ("--client-key", client_key.clone()),
        _ => return None,
    };
    Some(Given { flag, file })
}

/// A connection.json problem, worded for the flag that caused it.
pub fn connection_problem(given: &Given, error: &ConnectionError) -> String {
    if let ConnectionError::MisplacedKey { key } = error {
        let expected = if key.eq_ignore_ascii_case("root_cert") {
            "the chaincode server's CA certificate (PEM)"
        } else {
            "a PEM certificate"
        };
        return format!(
            "{}: found a private key (not shown) where {expected} was expected; a private key goes only to --client-key",
            given.describe()
        );
    }
    let text = chain(error);
    let text = match error.key() {
        Some(key) => text
            .strip_prefix(&format!("key `{key}`: "))
            .map(str::to_owned)
            .unwrap_or(text),
        None => text,
    };
    format!("{}: {text}", given.describe())
}

/// A file-system error, prefixed with the flag whose file (or directory)
/// it is about, when one of `given` holds its path.
pub fn fs_problem(given: &[Given], error: &FsError) -> String {
    about_path(given, error.path(), &chain(error))
}

/// `message`, about `path`, prefixed with the flag that named `path` (or
/// the directory holding it), when one of `given` did.
pub fn about_path(given: &[Given], path: &Path, message: &str) -> String {
    let flag = given.iter().find(|g| {
        g.file
            .as_deref()
            .is_some_and(|f| path == f || path.starts_with(f))
    });
    match flag {
        Some(g) => format!("{}: {message}", g.flag),
        None => message.to_owned(),
    }
}

/// Checks that a directory flag names a directory, before anything reads
/// it.
pub fn require_dir(flag: &str, dir: &Path) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(format!(
            "{flag} `{}`: not a directory (give the directory holding the files)",
            dir.display()
        )),
        Err(e) => Err(format!("{flag} `{}`: {e}", dir.display())),
    }
}
