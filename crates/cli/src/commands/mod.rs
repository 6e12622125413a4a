//! One module per `ccaas` command: its flags (a clap `Args` struct) and
//! its body, `run`. What several commands share (the peer's settings, the
//! read limits, the server certificate flag) is here.

pub mod completions;
pub mod id;
pub mod image;
pub mod inspect;
pub mod k8s;
pub mod man;
pub mod new;
pub mod package;
pub mod probe;
pub mod sample;
pub mod simulate;
pub mod validate;

use crate::{flags, Failure};
use ccaas_core::archive::Limits;
use ccaas_peersim::probe::PeerRelease;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The settings the peer gives the builder.
#[derive(Args)]
pub struct PeerSettings {
    /// Template values, as CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG on the peer (JSON object, or @FILE).
    #[arg(long, value_name = "JSON")]
    pub config: Option<String>,
    /// The operator's TLS directory, as CCAAS_TLS_DIR on the peer.
    #[arg(long, value_name = "DIR")]
    pub tls_dir: Option<PathBuf>,
}

/// Bounds on reading a package (defaults in docs/security.md).
#[derive(Args)]
pub struct LimitArgs {
    /// Most entries in code.tar.gz (and at the package's top level).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_entries)]
    pub max_entries: u64,
    /// Most bytes code.tar.gz may expand to (units: 512M, 1G, 1GiB, 1GB, ...).
    #[arg(long, value_name = "BYTES", default_value = "1GiB", value_parser = flags::parse_bytes)]
    pub max_code_bytes: u64,
    /// Most bytes the package may expand to at its top level (units as --max-code-bytes).
    #[arg(long, value_name = "BYTES", default_value = "2GiB", value_parser = flags::parse_bytes)]
    pub max_package_bytes: u64,
}

impl LimitArgs {
    /// The limits, for `ccaas_core`.
    pub fn limits(&self) -> Limits {
        Limits {
            max_entries: self.max_entries,
            max_expanded_bytes: self.max_code_bytes,
            max_package_bytes: self.max_package_bytes,
            ..Limits::default()
        }
    }
}

/// `--profile`'s values, completed by the shells: the Fabric releases a
/// peer can be played as.
pub fn release_parser() -> impl TypedValueParser<Value = PeerRelease> {
    PossibleValuesParser::new(["v2.5", "v3.0", "v3.1"]).try_map(|s| s.parse::<PeerRelease>())
}

/// `--profile` where only the TLS server name depends on it (`validate`,
/// `package --server-cert`).
#[derive(Args)]
pub struct ReleaseArg {
    /// The peer's Fabric release: v2.5 checks the address host as the TLS server name (it never reads `domain`); v3.0 and v3.1 check `domain` with client auth.
    #[arg(long, value_name = "RELEASE", default_value = "v2.5", value_parser = release_parser())]
    pub profile: PeerRelease,
}

/// `--server-cert`.
#[derive(Args)]
pub struct ServerCert {
    /// The chaincode server's certificate (PEM): check it covers the name the peer dials and that root_cert issued it.
    #[arg(long, value_name = "F")]
    pub server_cert: Option<PathBuf>,
}

/// `--config`: JSON or @FILE, checked to be a JSON object.
pub fn config_text(config: &Option<String>) -> Result<Option<String>, Failure> {
    let text = match config.as_deref() {
        Some(at) if at.starts_with('@') => {
            let path = Path::new(&at[1..]);
            let bytes = flags::read_input(&format!("--config {at}"), path, 1024 * 1024)
                .map_err(|e| Failure(vec![e]))?;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        other => other.map(str::to_owned),
    };
    // Empty counts as unset, as on the peer.
    let Some(text) = text.filter(|c| !c.trim().is_empty()) else {
        return Ok(None);
    };
    // The operator's flag: a mistake in it is theirs, named after it.
    use ccaas_core::template::{TemplateConfig, TemplateError};
    let what = match TemplateConfig::parse(&text) {
        Ok(_) => return Ok(Some(text)),
        Err(TemplateError::ConfigNotJson { line, column }) => {
            format!("not valid JSON (line {line}, column {column})")
        }
        Err(TemplateError::ConfigNotObject { found }) => format!("{found}, not a JSON object"),
        Err(e) => ccaas_core::report::chain(&e),
    };
    Err(Failure(vec![format!(
        "--config `{}`: {what}; expected a JSON object of template values such as {{\"peername\":\"peer0\"}} (as the peer's `{}`), or @FILE",
        ccaas_core::report::shorten(&text),
        ccaas_core::template::CONFIG_ENV
    )]))
}

/// `--tls-dir`, checked to be a directory before anything reads it.
pub fn tls_dir_arg(peer: &PeerSettings) -> Result<Option<PathBuf>, Failure> {
    // Empty counts as unset, as `CCAAS_TLS_DIR` does on the peer.
    let dir = peer.tls_dir.clone().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = &dir {
        flags::require_dir("--tls-dir", dir).map_err(|e| Failure(vec![e]))?;
    }
    Ok(dir)
}

/// `--server-cert`: read, and checked to be certificates, not a key.
pub fn read_server_cert(server: &ServerCert) -> Result<Option<String>, Failure> {
    let Some(path) = &server.server_cert else {
        return Ok(None);
    };
    let bytes = flags::read_input(
        "--server-cert",
        path,
        ccaas_core::tls_files::MAX_TLS_FILE_BYTES,
    )
    .map_err(|e| Failure(vec![e]))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if ccaas_core::pem::contains_private_key(&text) {
        return Err(Failure(vec![format!(
            "--server-cert `{}`: found a private key where the chaincode server's certificate was expected (give the server's certificate, e.g. server.pem, not its key)",
            path.display()
        )]));
    }
    if let Err(e) = ccaas_core::pem::parse(&text, ccaas_core::pem::PemKind::Certificates) {
        return Err(Failure(vec![format!(
            "--server-cert `{}`: {}",
            path.display(),
            ccaas_core::report::chain(&e)
        )]));
    }
    Ok(Some(text))
}

/// Writes `bytes` to standard output, as one command's whole output.
pub fn write_stdout(bytes: &[u8]) -> Result<ExitCode, Failure> {
    std::io::stdout()
        .lock()
        .write_all(bytes)
        .map_err(|e| Failure(vec![format!("cannot write to standard output: {e}")]))?;
    Ok(ExitCode::SUCCESS)
}
