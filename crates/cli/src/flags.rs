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

/// A byte count with an optional unit, for `--max-code-bytes` and
/// `--max-package-bytes`: `1073741824`, `512B`, `64K` or `64KiB` (1024),
/// `512M`/`MiB`, `1G`/`GiB`, `1T`/`TiB` (powers of 1024), and `KB`, `MB`,
/// `GB`, `TB` (powers of 1000). Units are case-insensitive.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let usage = "expected a number of bytes with an optional unit: B, K/KiB, M/MiB, G/GiB, T/TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000), e.g. `512M` or `1G`";
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size; {usage}"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(format!("`{text}` has an unknown unit `{unit}`; {usage}")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is more bytes than fit in 64 bits"))
}

/// Whether `path` is `-`: standard input (or, for `-o`, standard output).
pub fn is_dash(path: &Path) -> bool {
    path.as_os_str() == "-"
}

static STDIN_TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Claims standard input for `flag` (`-`): only one argument can read it.
pub fn claim_stdin(flag: &str) -> Result<(), String> {
    if STDIN_TAKEN.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Err(format!(
            "{flag} -: standard input is already read for another argument; give `-` to one argument only"
        ));
    }
    Ok(())
}

/// The contents of `path` for `flag`, at most `limit` bytes; `-` reads
/// standard input. Errors name the flag.
pub fn read_input(flag: &str, path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    if !is_dash(path) {
        return ccaas_core::fs::read_limited(path, limit)
            .map_err(|e| format!("{flag}: {}", chain(&e)));
    }
    claim_stdin(flag)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::io::stdin().lock(), limit + 1),
        &mut bytes,
    )
    .map_err(|e| format!("{flag} -: cannot read standard input: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{flag} -: standard input is larger than {limit} bytes (the limit for this input)"
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes_accept_units() {
        for (text, bytes) in [
            ("1073741824", 1 << 30),
            ("0", 0),
            ("512B", 512),
            ("64K", 64 << 10),
            ("64KiB", 64 << 10),
            ("64kib", 64 << 10),
            ("512M", 512 << 20),
            ("512MiB", 512 << 20),
            ("1G", 1 << 30),
            ("1GiB", 1 << 30),
            ("2T", 2 << 40),
            ("5KB", 5_000),
            ("5MB", 5_000_000),
            ("1GB", 1_000_000_000),
            ("1TB", 1_000_000_000_000),
            ("1 G", 1 << 30),
        ] {
            assert_eq!(parse_bytes(text), Ok(bytes), "{text}");
        }
        for bad in ["", "G", "1.5G", "-1", "1X", "1GiBs", "99999999999T"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }
}
