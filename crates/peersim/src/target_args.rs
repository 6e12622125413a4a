//! The flags that say which chaincode server to dial, shared by the
//! `ccaas-peersim` and `ccaas-load` commands (included by both with
//! `#[path]`; not part of the library).

use ccaas_core::connection::Secret;
use ccaas_core::{Connection, GoDuration};
use ccaas_peersim::DialOptions;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the chaincode server is, and how to reach it.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The chaincode server's `host:port` (connection.json `address`).
    #[arg(long)]
    pub address: String,
    /// The package ID the peer is launching; REGISTER must carry exactly it.
    #[arg(
        long = "id",
        value_name = "PACKAGE_ID",
        required_unless_present = "package",
        conflicts_with = "package"
    )]
    pub package_id: Option<String>,
    /// The package the peer installed: its ID (label and SHA-256, as `peer
    /// lifecycle chaincode calculatepackageid`) instead of --id.
    #[arg(long, value_name = "PKG.tgz")]
    pub package: Option<PathBuf>,
    /// The socket address to dial when the address host is a name (names are never resolved).
    #[arg(long, value_name = "IP:PORT")]
    pub connect_to: Option<SocketAddr>,
    /// Turns TLS on: the CA certificate (PEM) the server chain must verify against.
    #[arg(long, value_name = "FILE")]
    pub tls_root_cert: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(long, value_name = "FILE", requires_all = ["client_key", "tls_root_cert"])]
    pub client_cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// The TLS server name to check (default: the address host).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
}

fn read(flag: &str, path: &Option<PathBuf>) -> Result<Option<String>, String> {
    path.as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .map_err(|e| format!("{flag} `{}`: cannot read it: {e}", p.display()))
        })
        .transpose()
}

impl Target {
    /// The package ID: --id as given, or the ID of --package.
    pub fn package_id(&self) -> Result<String, String> {
        if let Some(id) = &self.package_id {
            return Ok(id.clone());
        }
        let Some(path) = &self.package else {
            return Err("give the package ID with --id, or the package with --package".into());
        };
        let file = ccaas_core::fs::open_regular(path).map_err(|e| {
            format!(
                "--package `{}`: {}",
                path.display(),
                ccaas_core::report::chain(&e)
            )
        })?;
        let info =
            ccaas_core::package::identify(std::io::BufReader::new(file), &Default::default())
                .map_err(|e| {
                    format!(
                        "--package `{}`: not a chaincode package the peer would install: {}",
                        path.display(),
                        ccaas_core::report::chain(&e)
                    )
                })?;
        Ok(info.id.to_string())
    }

    /// The connection the flags describe, with the TLS files read, and the
    /// dial options.
    pub fn connection(
        &self,
        dial_timeout: Option<GoDuration>,
    ) -> Result<(Connection, DialOptions), String> {
        let connection = Connection {
            address: self.address.clone(),
            dial_timeout,
            tls_required: self.tls_root_cert.is_some(),
            client_auth_required: self.client_cert.is_some(),
            root_cert: read("--tls-root-cert", &self.tls_root_cert)?,
            client_cert: read("--client-cert", &self.client_cert)?,
            client_key: read("--client-key", &self.client_key)?.map(Secret),
            ..Default::default()
        };
        let options = DialOptions {
            connect_to: self.connect_to,
            server_name: self.server_name.clone(),
            ..Default::default()
        };
        Ok((connection, options))
    }
}

/// A flag's Go duration as a std one (negative: zero).
pub fn std_duration(d: GoDuration) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO)
}
