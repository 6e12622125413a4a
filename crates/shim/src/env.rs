//! [`ServerConfig::from_env`]: every environment convention chaincode
//! servers already use (fabric-samples', the Node shim's,
//! fabric-contract-api-go's), plus `CHAINCODE_PACKAGE` to take the package
//! ID from the package file itself, and this shim's own settings.
//!
//! | variable | aliases | meaning |
//! |---|---|---|
//! | `CHAINCODE_ID` | `CORE_CHAINCODE_ID`, `CORE_CHAINCODE_ID_NAME` | the package ID (`label:sha256`) |
//! | `CHAINCODE_PACKAGE` | | a package file: its ID is computed (and must agree with `CHAINCODE_ID` if both are set) |
//! | `CHAINCODE_SERVER_ADDRESS` | `CORE_CHAINCODE_ADDRESS` | where to listen: `IP:PORT` (`0.0.0.0:9999`) |
//! | `CHAINCODE_TLS_DISABLED` | `CORE_PEER_TLS_ENABLED` (inverted) | `true`/`false` (Go's `strconv.ParseBool`) |
//! | `CHAINCODE_TLS_CERT` | `CORE_CHAINCODE_TLS_CERT_FILE`, `CORE_TLS_CLIENT_CERT_FILE` | server certificate file |
//! | `CHAINCODE_TLS_KEY` | `CORE_CHAINCODE_TLS_KEY_FILE`, `CORE_TLS_CLIENT_KEY_FILE` | server key file |
//! | `CHAINCODE_CLIENT_CA_CERT` | `CHAINCODE_TLS_CLIENT_CA`, `CORE_CHAINCODE_TLS_CLIENT_CACERT_FILE`, `CORE_PEER_TLS_ROOTCERT_FILE` | client CA file: mutual TLS |
//! | `CHAINCODE_MAX_MESSAGE_SIZE` | | largest message each way, bytes (default 104857600) |
//! | `CHAINCODE_MAX_CONCURRENT_TRANSACTIONS` | | transactions at once (default 2500) |
//! | `CHAINCODE_REQUEST_TIMEOUT` | | deadline of a request to the peer, Go duration (default `35s`) |
//! | `CHAINCODE_REGISTRATION_WARNING` | | when to warn that the peer has not answered REGISTER (default `10s`) |
//! | `CHAINCODE_SHUTDOWN_GRACE` | | how long transactions may finish at shutdown (default `20s`, inside Kubernetes' default `terminationGracePeriodSeconds` of 30 s) |
//! | `CHAINCODE_DRAIN_DELAY` | | how long to go on serving after SIGTERM, health checks failing, before the port closes and the grace begins: the time a Service takes to stop sending connections to a terminating pod (default `0s`; `ccaas k8s` sets `5s`) |
//! | `CHAINCODE_MAX_TRANSACTIONS_PER_STREAM` | | transactions running at once on one stream, its fair share (default 500) |
//! | `CHAINCODE_MAX_CONNECTIONS` | | connections held at once; past it new ones are closed (default 1024) |
//! | `CHAINCODE_HANDSHAKE_TIMEOUT` | | from accept until the client's HTTP/2 preface and SETTINGS, TLS handshake included, a Go duration (default `10s`) |
//! | `CHAINCODE_OPERATIONS_ADDRESS` | | the operations endpoint (`/healthz`, `/metrics`, `/version`, `/logspec`, gRPC health): `IP:PORT` such as `0.0.0.0:9443`; unset, none |
//! | `CHAINCODE_OPERATIONS_TLS_CERT` | | its TLS certificate file (with the key: HTTPS) |
//! | `CHAINCODE_OPERATIONS_TLS_KEY` | | its TLS key file |
//! | `CHAINCODE_OPERATIONS_CLIENT_CA_CERT` | | the CA of client certificates: `/metrics` and `/logspec` then require one |
//!
//! An empty variable counts as unset. Two aliases that are both set must
//! agree. Every variable that is wrong is reported, at once:
//!
//! ```
//! use ccaas_shim::ServerConfig;
//! let vars = [
//!     ("CHAINCODE_ID", "kv"),
//!     ("CHAINCODE_SERVER_ADDRESS", "localhost:9999"),
//!     ("CHAINCODE_SHUTDOWN_GRACE", "soon"),
//! ];
//! let lookup = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).into());
//! let message = ServerConfig::from_vars(lookup).unwrap_err().to_string();
//! assert!(message.starts_with("3 problems: CHAINCODE_ID is `kv`"), "{message}");
//! assert!(message.contains("; CHAINCODE_SERVER_ADDRESS is `localhost:9999`"), "{message}");
//! assert!(message.contains("; CHAINCODE_SHUTDOWN_GRACE is `soon`"), "{message}");
//! ```

use crate::operations::OperationsConfig;
use crate::server::ServerConfig;
use crate::tls::TlsConfig;
use ccaas_core::GoDuration;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The package ID variables, in order of precedence.
pub const PACKAGE_ID_VARS: [&str; 3] = [
    "CHAINCODE_ID",
    "CORE_CHAINCODE_ID",
    "CORE_CHAINCODE_ID_NAME",
];
/// The package file variable.
pub const PACKAGE_FILE_VAR: &str = "CHAINCODE_PACKAGE";
/// The listen address variables.
pub const ADDRESS_VARS: [&str; 2] = ["CHAINCODE_SERVER_ADDRESS", "CORE_CHAINCODE_ADDRESS"];
/// The server certificate variables.
pub const CERT_VARS: [&str; 3] = [
    "CHAINCODE_TLS_CERT",
    "CORE_CHAINCODE_TLS_CERT_FILE",
    "CORE_TLS_CLIENT_CERT_FILE",
];
/// The server key variables.
pub const KEY_VARS: [&str; 3] = [
    "CHAINCODE_TLS_KEY",
    "CORE_CHAINCODE_TLS_KEY_FILE",
    "CORE_TLS_CLIENT_KEY_FILE",
];
/// The client CA variables.
pub const CLIENT_CA_VARS: [&str; 4] = [
    "CHAINCODE_CLIENT_CA_CERT",
    "CHAINCODE_TLS_CLIENT_CA",
    "CORE_CHAINCODE_TLS_CLIENT_CACERT_FILE",
    "CORE_PEER_TLS_ROOTCERT_FILE",
];

/// The operations endpoint's address variable.
pub const OPERATIONS_ADDRESS_VAR: &str = "CHAINCODE_OPERATIONS_ADDRESS";
/// The operations endpoint's certificate variable.
pub const OPERATIONS_CERT_VAR: &str = "CHAINCODE_OPERATIONS_TLS_CERT";
/// The operations endpoint's key variable.
pub const OPERATIONS_KEY_VAR: &str = "CHAINCODE_OPERATIONS_TLS_KEY";
/// The operations endpoint's client CA variable.
pub const OPERATIONS_CLIENT_CA_VAR: &str = "CHAINCODE_OPERATIONS_CLIENT_CA_CERT";

/// A variable that is missing, malformed or contradicts another.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// More than one variable is wrong: every one, in the order read.
    #[error("{}", list(.0))]
    Several(Vec<EnvError>),
    /// TLS for the operations endpoint without the endpoint.
    #[error("{var} is set but {OPERATIONS_ADDRESS_VAR} is not: TLS for the operations endpoint needs its address")]
    OperationsTlsWithoutAddress {
        /// The TLS variable that is set.
        var: &'static str,
    },
    /// None of the variables is set.
    #[error("{} is not set: {what}", names(.vars))]
    Missing {
        /// The variables, any of which would do.
        vars: &'static [&'static str],
        /// What it should hold.
        what: &'static str,
    },
    /// A variable's value is not what it should be.
    #[error("{var} is `{found}`: expected {expected}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// What it should hold.
        expected: &'static str,
        /// What it holds.
        found: String,
    },
    /// Two variables disagree.
    #[error(
        "{first} is `{first_value}` but {second} is `{second_value}`: set one, or make them agree"
    )]
    Conflict {
        /// One variable.
        first: &'static str,
        /// Its value.
        first_value: String,
        /// The other.
        second: &'static str,
        /// Its value.
        second_value: String,
    },
    /// The package ID given disagrees with the package file's.
    #[error("{var} is `{given}` but the package {PACKAGE_FILE_VAR} `{package}` has the ID `{computed}`: the peer accepts only the ID of the package it installed")]
    PackageMismatch {
        /// The ID variable.
        var: &'static str,
        /// Its value.
        given: String,
        /// The package file.
        package: String,
        /// The file's ID.
        computed: String,
    },
    /// The package file could not be read as a package.
    #[error("{PACKAGE_FILE_VAR} `{package}` is not a chaincode package the peer would install")]
    Package {
        /// The package file.
        package: String,
        /// Why.
        #[source]
        source: ccaas_core::package::PackageError,
    },
    /// The package file could not be opened.
    #[error("cannot open {PACKAGE_FILE_VAR} `{package}`")]
    PackageFile {
        /// The package file.
        package: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// TLS is half configured.
    #[error("{set} is set but {} is not: TLS needs both the server certificate and its key", names(.missing))]
    TlsIncomplete {
        /// The variable that is set.
        set: &'static str,
        /// The variables, one of which is missing.
        missing: &'static [&'static str],
    },
    /// TLS was asked for without a certificate and key.
    #[error("{var} asks for TLS but neither {} nor {} is set", names(&CERT_VARS), names(&KEY_VARS))]
    TlsWithoutFiles {
        /// The variable asking for TLS.
        var: &'static str,
    },
    /// A client CA without TLS.
    #[error("{var} is set (mutual TLS) but TLS is off")]
    ClientCaWithoutTls {
        /// The client CA variable.
        var: &'static str,
    },
}

/// A value as messages may show it: never a private key pasted where a
/// file name was expected (`ccaas_core::report::shorten`).
fn quote(value: &str) -> String {
    ccaas_core::report::shorten(value)
}

/// `N problems: a; b; c`, each with its causes.
fn list(problems: &[EnvError]) -> String {
    format!(
        "{} problems: {}",
        problems.len(),
        problems
            .iter()
            .map(|p| ccaas_core::report::chain(p))
            .collect::<Vec<_>>()
            .join("; ")
    )
}

/// Keeps the value, or the problem to report with the others.
fn take<T>(problems: &mut Vec<EnvError>, result: Result<T, EnvError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            problems.push(e);
            None
        }
    }
}

fn names(vars: &[&str]) -> String {
    match vars {
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        [] => String::new(),
    }
}

/// The environment, through a lookup function (tests pass a map).
struct Vars<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<OsString>> Vars<F> {
    fn get(&self, var: &'static str) -> Result<Option<String>, EnvError> {
        match (self.lookup)(var) {
            None => Ok(None),
            Some(value) if value.is_empty() => Ok(None),
            Some(value) => value
                .into_string()
                .map(Some)
                .map_err(|raw| EnvError::Invalid {
                    var,
                    expected: "UTF-8 text",
                    found: quote(&raw.to_string_lossy()),
                }),
        }
    }

    /// The first of `vars` that is set; every other one set must agree.
    fn one_of(
        &self,
        vars: &'static [&'static str],
    ) -> Result<Option<(&'static str, String)>, EnvError> {
        let mut found: Option<(&'static str, String)> = None;
        for &var in vars {
            if let Some(value) = self.get(var)? {
                match &found {
                    None => found = Some((var, value)),
                    Some((first, first_value)) if *first_value != value => {
                        return Err(EnvError::Conflict {
                            first,
                            first_value: quote(first_value),
                            second: var,
                            second_value: quote(&value),
                        })
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(found)
    }

    fn bool(&self, var: &'static str) -> Result<Option<bool>, EnvError> {
        match self.get(var)? {
            None => Ok(None),
            Some(value) => parse_go_bool(&value).map(Some).ok_or(EnvError::Invalid {
                var,
                expected: "a boolean (true, false, 1, 0, t, f, TRUE, FALSE, True, False)",
                found: quote(&value),
            }),
        }
    }

    fn duration(&self, var: &'static str) -> Result<Option<Duration>, EnvError> {
        self.go_duration(var, false)
    }

    /// A duration that may be zero (`0s`: off).
    fn duration_or_zero(&self, var: &'static str) -> Result<Option<Duration>, EnvError> {
        self.go_duration(var, true)
    }

    fn go_duration(&self, var: &'static str, zero: bool) -> Result<Option<Duration>, EnvError> {
        let Some(value) = self.get(var)? else {
            return Ok(None);
        };
        let invalid = || EnvError::Invalid {
            var,
            expected: if zero {
                "a Go duration such as `5s` or `500ms`, or `0s` for none"
            } else {
                "a positive Go duration such as `30s`, `500ms` or `1m30s`"
            },
            found: quote(&value),
        };
        let parsed: GoDuration = value.parse().map_err(|_| invalid())?;
        match parsed.to_std() {
            Some(d) if zero || !d.is_zero() => Ok(Some(d)),
            _ => Err(invalid()),
        }
    }

    fn count(&self, var: &'static str, expected: &'static str) -> Result<Option<usize>, EnvError> {
        let Some(value) = self.get(var)? else {
            return Ok(None);
        };
        match value.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(EnvError::Invalid {
                var,
                expected,
                found: quote(&value),
            }),
        }
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Whether `id` has the shape of a package ID: a valid label, `:`, 64
/// lower-case hex digits.
pub fn is_package_id(id: &str) -> bool {
    match id.rsplit_once(':') {
        Some((label, hash)) => {
            ccaas_core::Label::new(label).is_ok()
                && hash.len() == 64
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        None => false,
    }
}

const PACKAGE_ID_EXPECTED: &str = "the installed package ID, `label:sha256` (64 lower-case hex digits), as `ccaas id PACKAGE.tgz` or `peer lifecycle chaincode queryinstalled` print it";

pub(crate) fn from_lookup<F>(lookup: F) -> Result<ServerConfig, EnvError>
where
    F: Fn(&str) -> Option<OsString>,
{
    let vars = Vars { lookup };
    let mut problems = Vec::new();
    let package_id = take(&mut problems, package_id(&vars));
    let address = take(&mut problems, address(&vars));
    let tls = take(&mut problems, tls(&vars)).flatten();
    let operations = take(&mut problems, operations(&vars)).flatten();
    let message_size = take(
        &mut problems,
        vars.count(
            "CHAINCODE_MAX_MESSAGE_SIZE",
            "a number of bytes greater than 0",
        ),
    )
    .flatten();
    let concurrency = take(
        &mut problems,
        vars.count(
            "CHAINCODE_MAX_CONCURRENT_TRANSACTIONS",
            "a number of transactions greater than 0",
        ),
    )
    .flatten();
    let per_stream = take(
        &mut problems,
        vars.count(
            "CHAINCODE_MAX_TRANSACTIONS_PER_STREAM",
            "a number of transactions greater than 0",
        ),
    )
    .flatten();
    let connections = take(
        &mut problems,
        vars.count(
            "CHAINCODE_MAX_CONNECTIONS",
            "a number of connections greater than 0",
        ),
    )
    .flatten();
    let mut duration = |var| take(&mut problems, vars.duration(var)).flatten();
    let request_timeout = duration("CHAINCODE_REQUEST_TIMEOUT");
    let registration_warning = duration("CHAINCODE_REGISTRATION_WARNING");
    let shutdown_grace = duration("CHAINCODE_SHUTDOWN_GRACE");
    let handshake_timeout = duration("CHAINCODE_HANDSHAKE_TIMEOUT");
    let drain_delay = take(
        &mut problems,
        vars.duration_or_zero("CHAINCODE_DRAIN_DELAY"),
    )
    .flatten();
    let (Some(package_id), Some(address)) = (package_id, address) else {
        return Err(all(problems));
    };
    if !problems.is_empty() {
        return Err(all(problems));
    }
    let mut config = ServerConfig::new(package_id, address);
    config.tls = tls;
    config.operations = operations;
    if let Some(bytes) = message_size {
        config.max_recv_message_bytes = bytes;
        config.max_send_message_bytes = bytes;
    }
    if let Some(n) = concurrency {
        config.max_concurrent_transactions = n;
    }
    if let Some(d) = request_timeout {
        config.request_timeout = d;
    }
    if let Some(d) = registration_warning {
        config.registration_warning = d;
    }
    if let Some(d) = shutdown_grace {
        config.shutdown_grace = d;
    }
    if let Some(d) = drain_delay {
        config.drain_delay = d;
    }
    // The bounds against hostile clients (docs/security.md).
    if let Some(n) = per_stream {
        config.max_transactions_per_stream = n;
    }
    if let Some(n) = connections {
        config.max_connections = n;
    }
    if let Some(d) = handshake_timeout {
        config.handshake_timeout = d;
    }
    Ok(config)
}

/// One problem as itself, several as [`EnvError::Several`].
fn all(mut problems: Vec<EnvError>) -> EnvError {
    match problems.len() {
        1 => problems.remove(0),
        _ => EnvError::Several(problems),
    }
}

const ADDRESS_EXPECTED: &str = "`IP:PORT` such as `0.0.0.0:9999` (host names are not resolved)";

fn address<F: Fn(&str) -> Option<OsString>>(vars: &Vars<F>) -> Result<SocketAddr, EnvError> {
    let (var, text) = vars.one_of(&ADDRESS_VARS)?.ok_or(EnvError::Missing {
        vars: &ADDRESS_VARS,
        what: "the address to listen on, `IP:PORT` such as `0.0.0.0:9999`",
    })?;
    text.parse().map_err(|_| EnvError::Invalid {
        var,
        expected: ADDRESS_EXPECTED,
        found: quote(&text),
    })
}

/// The operations endpoint: its address, and TLS when both files are set.
fn operations<F: Fn(&str) -> Option<OsString>>(
    vars: &Vars<F>,
) -> Result<Option<OperationsConfig>, EnvError> {
    let address = vars.get(OPERATIONS_ADDRESS_VAR)?;
    let cert = vars.get(OPERATIONS_CERT_VAR)?;
    let key = vars.get(OPERATIONS_KEY_VAR)?;
    let ca = vars.get(OPERATIONS_CLIENT_CA_VAR)?;
    let Some(address) = address else {
        let set = [
            (OPERATIONS_CERT_VAR, &cert),
            (OPERATIONS_KEY_VAR, &key),
            (OPERATIONS_CLIENT_CA_VAR, &ca),
        ];
        return match set.iter().find(|(_, value)| value.is_some()) {
            Some((var, _)) => Err(EnvError::OperationsTlsWithoutAddress { var }),
            None => Ok(None),
        };
    };
    let address: SocketAddr = address.parse().map_err(|_| EnvError::Invalid {
        var: OPERATIONS_ADDRESS_VAR,
        expected: "`IP:PORT` such as `0.0.0.0:9443` (host names are not resolved)",
        found: quote(&address),
    })?;
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => {
            let tls = TlsConfig::new(PathBuf::from(cert), PathBuf::from(key));
            Some(match ca {
                Some(ca) => tls.with_client_ca(PathBuf::from(ca)),
                None => tls,
            })
        }
        (Some(_), None) => {
            return Err(EnvError::TlsIncomplete {
                set: OPERATIONS_CERT_VAR,
                missing: &[OPERATIONS_KEY_VAR],
            })
        }
        (None, Some(_)) => {
            return Err(EnvError::TlsIncomplete {
                set: OPERATIONS_KEY_VAR,
                missing: &[OPERATIONS_CERT_VAR],
            })
        }
        (None, None) => {
            if ca.is_some() {
                return Err(EnvError::ClientCaWithoutTls {
                    var: OPERATIONS_CLIENT_CA_VAR,
                });
            }
            None
        }
    };
    Ok(Some(OperationsConfig { address, tls }))
}

fn package_id<F: Fn(&str) -> Option<OsString>>(vars: &Vars<F>) -> Result<String, EnvError> {
    let given = vars.one_of(&PACKAGE_ID_VARS)?;
    if let Some((var, id)) = &given {
        if !is_package_id(id) {
            return Err(EnvError::Invalid {
                var,
                expected: PACKAGE_ID_EXPECTED,
                found: quote(id),
            });
        }
    }
    let Some(package) = vars.get(PACKAGE_FILE_VAR)? else {
        return given.map(|(_, id)| id).ok_or(EnvError::Missing {
            vars: &[
                "CHAINCODE_ID",
                "CORE_CHAINCODE_ID",
                "CORE_CHAINCODE_ID_NAME",
                PACKAGE_FILE_VAR,
            ],
            what: PACKAGE_ID_EXPECTED,
        });
    };
    let file = std::fs::File::open(&package).map_err(|source| EnvError::PackageFile {
        package: package.clone(),
        source,
    })?;
    let info = ccaas_core::package::identify(std::io::BufReader::new(file), &Default::default())
        .map_err(|source| EnvError::Package {
            package: package.clone(),
            source,
        })?;
    let computed = info.id.to_string();
    match given {
        Some((var, id)) if id != computed => Err(EnvError::PackageMismatch {
            var,
            given: id,
            package,
            computed,
        }),
        _ => Ok(computed),
    }
}

fn tls<F: Fn(&str) -> Option<OsString>>(vars: &Vars<F>) -> Result<Option<TlsConfig>, EnvError> {
    let disabled = vars.bool("CHAINCODE_TLS_DISABLED")?;
    let enabled = vars.bool("CORE_PEER_TLS_ENABLED")?;
    // `Some(true)`: TLS asked for, by that variable; `Some(false)`: refused.
    let asked: Option<(&'static str, bool)> = match (disabled, enabled) {
        (Some(d), Some(e)) if d == e => {
            return Err(EnvError::Conflict {
                first: "CHAINCODE_TLS_DISABLED",
                first_value: d.to_string(),
                second: "CORE_PEER_TLS_ENABLED",
                second_value: e.to_string(),
            })
        }
        (Some(d), _) => Some(("CHAINCODE_TLS_DISABLED", !d)),
        (None, Some(e)) => Some(("CORE_PEER_TLS_ENABLED", e)),
        (None, None) => None,
    };
    let cert = vars.one_of(&CERT_VARS)?;
    let key = vars.one_of(&KEY_VARS)?;
    let client_ca = vars.one_of(&CLIENT_CA_VARS)?;
    let on = match asked {
        Some((_, false)) => false,
        Some((var, true)) => {
            if cert.is_none() && key.is_none() {
                return Err(EnvError::TlsWithoutFiles { var });
            }
            true
        }
        None => cert.is_some() || key.is_some(),
    };
    if !on {
        if let Some((var, _)) = client_ca {
            return Err(EnvError::ClientCaWithoutTls { var });
        }
        return Ok(None);
    }
    let (cert, key) = match (cert, key) {
        (Some((_, cert)), Some((_, key))) => (cert, key),
        (Some((set, _)), None) => {
            return Err(EnvError::TlsIncomplete {
                set,
                missing: &KEY_VARS,
            })
        }
        (None, Some((set, _))) => {
            return Err(EnvError::TlsIncomplete {
                set,
                missing: &CERT_VARS,
            })
        }
        (None, None) => return Ok(None),
    };
    let mut tls = TlsConfig::new(PathBuf::from(cert), PathBuf::from(key));
    if let Some((_, ca)) = client_ca {
        tls = tls.with_client_ca(PathBuf::from(ca));
    }
    Ok(Some(tls))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const ID: &str = "kv_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn load(pairs: &[(&str, &str)]) -> Result<ServerConfig, String> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        from_lookup(|k| map.get(k).cloned()).map_err(|e| e.to_string())
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        match load(pairs) {
            Ok(_) => "accepted".to_owned(),
            Err(e) => e,
        }
    }

    #[test]
    fn fabric_samples_convention() {
        let config = load(&[
            ("CHAINCODE_ID", ID),
            ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
        ]);
        let config = config.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.package_id, ID);
        assert_eq!(config.address.to_string(), "0.0.0.0:9999");
        assert!(config.tls.is_none());
    }

    #[test]
    fn node_shim_convention_with_mutual_tls() {
        let config = load(&[
            ("CORE_CHAINCODE_ID", ID),
            ("CORE_CHAINCODE_ADDRESS", "127.0.0.1:7052"),
            ("CORE_CHAINCODE_TLS_CERT_FILE", "s.pem"),
            ("CORE_CHAINCODE_TLS_KEY_FILE", "s.key"),
            ("CORE_CHAINCODE_TLS_CLIENT_CACERT_FILE", "ca.pem"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.tls.as_ref().map(TlsConfig::is_mutual), Some(true));
    }

    #[test]
    fn contract_api_go_convention() {
        let config = load(&[
            ("CORE_CHAINCODE_ID_NAME", ID),
            ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:7052"),
            ("CORE_PEER_TLS_ENABLED", "true"),
            ("CORE_TLS_CLIENT_CERT_FILE", "s.pem"),
            ("CORE_TLS_CLIENT_KEY_FILE", "s.key"),
            ("CORE_PEER_TLS_ROOTCERT_FILE", "ca.pem"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.tls.as_ref().map(TlsConfig::is_mutual), Some(true));
    }

    #[test]
    fn tls_disabled_wins_over_files() {
        let config = load(&[
            ("CHAINCODE_ID", ID),
            ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
            ("CHAINCODE_TLS_DISABLED", "true"),
            ("CHAINCODE_TLS_CERT", "s.pem"),
            ("CHAINCODE_TLS_KEY", "s.key"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(config.tls.is_none());
    }

    #[test]
    fn missing_package_id() {
        assert_eq!(
            error(&[("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999")]),
            format!("CHAINCODE_ID, CORE_CHAINCODE_ID, CORE_CHAINCODE_ID_NAME or CHAINCODE_PACKAGE is not set: {PACKAGE_ID_EXPECTED}")
        );
    }

    #[test]
    fn a_label_is_not_a_package_id() {
        assert_eq!(
            error(&[
                ("CHAINCODE_ID", "basic_1.0"),
                ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999")
            ]),
            format!("CHAINCODE_ID is `basic_1.0`: expected {PACKAGE_ID_EXPECTED}")
        );
    }

    #[test]
    fn empty_counts_as_unset() {
        let message = error(&[
            ("CHAINCODE_ID", ""),
            ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
        ]);
        assert!(
            message.ends_with(&format!("is not set: {PACKAGE_ID_EXPECTED}")),
            "{message}"
        );
    }

    #[test]
    fn conflicting_ids() {
        let other = ID.replace("kv_1.0", "kv_2.0");
        assert_eq!(
            error(&[
                ("CHAINCODE_ID", ID),
                ("CORE_CHAINCODE_ID_NAME", &other),
                ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999")
            ]),
            format!("CHAINCODE_ID is `{ID}` but CORE_CHAINCODE_ID_NAME is `{other}`: set one, or make them agree")
        );
    }

    #[test]
    fn missing_address() {
        assert_eq!(
            error(&[("CHAINCODE_ID", ID)]),
            "CHAINCODE_SERVER_ADDRESS or CORE_CHAINCODE_ADDRESS is not set: the address to listen on, `IP:PORT` such as `0.0.0.0:9999`"
        );
    }

    #[test]
    fn host_names_are_not_resolved() {
        assert_eq!(
            error(&[("CHAINCODE_ID", ID), ("CHAINCODE_SERVER_ADDRESS", "localhost:9999")]),
            "CHAINCODE_SERVER_ADDRESS is `localhost:9999`: expected `IP:PORT` such as `0.0.0.0:9999` (host names are not resolved)"
        );
    }

    #[test]
    fn bad_boolean() {
        assert_eq!(
            error(&[
                ("CHAINCODE_ID", ID),
                ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
                ("CHAINCODE_TLS_DISABLED", "yes")
            ]),
            "CHAINCODE_TLS_DISABLED is `yes`: expected a boolean (true, false, 1, 0, t, f, TRUE, FALSE, True, False)"
        );
    }

    #[test]
    fn contradicting_tls_switches() {
        assert_eq!(
            error(&[
                ("CHAINCODE_ID", ID),
                ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
                ("CHAINCODE_TLS_DISABLED", "true"),
                ("CORE_PEER_TLS_ENABLED", "true")
            ]),
            "CHAINCODE_TLS_DISABLED is `true` but CORE_PEER_TLS_ENABLED is `true`: set one, or make them agree"
        );
    }

    #[test]
    fn certificate_without_key() {
        assert_eq!(
            error(&[
                ("CHAINCODE_ID", ID),
                ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
                ("CHAINCODE_TLS_CERT", "s.pem")
            ]),
            "CHAINCODE_TLS_CERT is set but CHAINCODE_TLS_KEY, CORE_CHAINCODE_TLS_KEY_FILE or CORE_TLS_CLIENT_KEY_FILE is not: TLS needs both the server certificate and its key"
        );
    }

    #[test]
    fn tls_asked_without_files() {
        assert_eq!(
            error(&[
                ("CHAINCODE_ID", ID),
                ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
                ("CHAINCODE_TLS_DISABLED", "false")
            ]),
            "CHAINCODE_TLS_DISABLED asks for TLS but neither CHAINCODE_TLS_CERT, CORE_CHAINCODE_TLS_CERT_FILE or CORE_TLS_CLIENT_CERT_FILE nor CHAINCODE_TLS_KEY, CORE_CHAINCODE_TLS_KEY_FILE or CORE_TLS_CLIENT_KEY_FILE is set"
        );
    }

    #[test]
    fn client_ca_without_tls() {
        assert_eq!(
            error(&[
                ("CHAINCODE_ID", ID),
                ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
                ("CHAINCODE_CLIENT_CA_CERT", "ca.pem")
            ]),
            "CHAINCODE_CLIENT_CA_CERT is set (mutual TLS) but TLS is off"
        );
    }

    #[test]
    fn bad_durations_and_counts() {
        let base = [
            ("CHAINCODE_ID", ID),
            ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
        ];
        for (var, value, expected) in [
            (
                "CHAINCODE_REQUEST_TIMEOUT",
                "30",
                "a positive Go duration such as `30s`, `500ms` or `1m30s`",
            ),
            (
                "CHAINCODE_SHUTDOWN_GRACE",
                "0s",
                "a positive Go duration such as `30s`, `500ms` or `1m30s`",
            ),
            (
                "CHAINCODE_DRAIN_DELAY",
                "-1s",
                "a Go duration such as `5s` or `500ms`, or `0s` for none",
            ),
            (
                "CHAINCODE_DRAIN_DELAY",
                "5",
                "a Go duration such as `5s` or `500ms`, or `0s` for none",
            ),
            (
                "CHAINCODE_REGISTRATION_WARNING",
                "-1s",
                "a positive Go duration such as `30s`, `500ms` or `1m30s`",
            ),
            (
                "CHAINCODE_MAX_CONCURRENT_TRANSACTIONS",
                "0",
                "a number of transactions greater than 0",
            ),
            (
                "CHAINCODE_MAX_MESSAGE_SIZE",
                "100MB",
                "a number of bytes greater than 0",
            ),
        ] {
            let mut pairs = base.to_vec();
            pairs.push((var, value));
            assert_eq!(
                error(&pairs),
                format!("{var} is `{value}`: expected {expected}")
            );
        }
    }

    #[test]
    fn settings_are_read() {
        let config = load(&[
            ("CHAINCODE_ID", ID),
            ("CHAINCODE_SERVER_ADDRESS", "[::1]:9999"),
            ("CHAINCODE_MAX_MESSAGE_SIZE", "1048576"),
            ("CHAINCODE_MAX_CONCURRENT_TRANSACTIONS", "8"),
            ("CHAINCODE_REQUEST_TIMEOUT", "1m30s"),
            ("CHAINCODE_SHUTDOWN_GRACE", "500ms"),
            ("CHAINCODE_DRAIN_DELAY", "5s"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.drain_delay, Duration::from_secs(5));
        assert_eq!(config.max_recv_message_bytes, 1 << 20);
        assert_eq!(config.max_send_message_bytes, 1 << 20);
        assert_eq!(config.max_concurrent_transactions, 8);
        assert_eq!(config.request_timeout, Duration::from_secs(90));
        assert_eq!(config.shutdown_grace, Duration::from_millis(500));
    }

    #[test]
    fn package_file_missing() {
        let message = error(&[
            ("CHAINCODE_PACKAGE", "/nonexistent/pkg.tgz"),
            ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
        ]);
        assert_eq!(
            message,
            "cannot open CHAINCODE_PACKAGE `/nonexistent/pkg.tgz`"
        );
    }

    fn sample() -> String {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/sample/basic_1.0.tgz")
            .display()
            .to_string()
    }
    use std::path::Path;

    #[test]
    fn package_file_gives_the_id() {
        let package = sample();
        let config = load(&[
            ("CHAINCODE_PACKAGE", &package),
            ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            config.package_id.starts_with("basic_1.0:"),
            "{}",
            config.package_id
        );
        assert!(is_package_id(&config.package_id));
    }

    #[test]
    fn package_file_disagreeing_with_the_id() {
        let package = sample();
        let message = error(&[
            ("CHAINCODE_PACKAGE", &package),
            ("CHAINCODE_ID", ID),
            ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
        ]);
        assert!(message.starts_with(&format!("CHAINCODE_ID is `{ID}` but the package CHAINCODE_PACKAGE `{package}` has the ID `basic_1.0:")), "{message}");
    }

    #[test]
    fn not_a_package() {
        let not_package = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("Cargo.toml")
            .display()
            .to_string();
        let message = error(&[
            ("CHAINCODE_PACKAGE", &not_package),
            ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
        ]);
        assert_eq!(message, format!("CHAINCODE_PACKAGE `{not_package}` is not a chaincode package the peer would install"));
    }

    #[test]
    fn hostile_client_bounds() {
        let base = [
            ("CHAINCODE_ID", ID),
            ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
        ];
        let mut vars = base.to_vec();
        vars.extend([
            ("CHAINCODE_MAX_TRANSACTIONS_PER_STREAM", "64"),
            ("CHAINCODE_MAX_CONNECTIONS", "100"),
            ("CHAINCODE_HANDSHAKE_TIMEOUT", "2s"),
        ]);
        let config = load(&vars).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                config.max_transactions_per_stream,
                config.max_connections,
                config.handshake_timeout
            ),
            (64, 100, Duration::from_secs(2))
        );
        let mut zero = base.to_vec();
        zero.push(("CHAINCODE_MAX_CONNECTIONS", "0"));
        assert_eq!(
            error(&zero),
            "CHAINCODE_MAX_CONNECTIONS is `0`: expected a number of connections greater than 0"
        );
    }

    #[test]
    fn every_bad_variable_is_reported_at_once() {
        let message = error(&[
            ("CHAINCODE_ID", ID),
            ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:99999"),
            ("CHAINCODE_MAX_CONCURRENT_TRANSACTIONS", "many"),
            ("CHAINCODE_REQUEST_TIMEOUT", "-1s"),
        ]);
        assert_eq!(
            message,
            "3 problems: CHAINCODE_SERVER_ADDRESS is `0.0.0.0:99999`: expected `IP:PORT` such as `0.0.0.0:9999` (host names are not resolved); \
             CHAINCODE_MAX_CONCURRENT_TRANSACTIONS is `many`: expected a number of transactions greater than 0; \
             CHAINCODE_REQUEST_TIMEOUT is `-1s`: expected a positive Go duration such as `30s`, `500ms` or `1m30s`"
        );
    }

    #[test]
    fn missing_id_and_address_are_both_reported() {
        let message = error(&[("CHAINCODE_OPERATIONS_ADDRESS", "0.0.0.0:9443")]);
        assert!(message.starts_with("2 problems: CHAINCODE_ID, CORE_CHAINCODE_ID, CORE_CHAINCODE_ID_NAME or CHAINCODE_PACKAGE is not set"), "{message}");
        assert!(
            message.contains("; CHAINCODE_SERVER_ADDRESS or CORE_CHAINCODE_ADDRESS is not set"),
            "{message}"
        );
    }

    const BASE: [(&str, &str); 2] = [
        ("CHAINCODE_ID", ID),
        ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
    ];

    #[test]
    fn operations_endpoint_is_off_by_default_and_read_when_set() {
        let config = load(&BASE).unwrap_or_else(|e| panic!("{e}"));
        assert!(config.operations.is_none());
        let mut vars = BASE.to_vec();
        vars.extend([
            ("CHAINCODE_OPERATIONS_ADDRESS", "0.0.0.0:9443"),
            ("CHAINCODE_OPERATIONS_TLS_CERT", "ops.pem"),
            ("CHAINCODE_OPERATIONS_TLS_KEY", "ops.key"),
            ("CHAINCODE_OPERATIONS_CLIENT_CA_CERT", "ca.pem"),
        ]);
        let config = load(&vars).unwrap_or_else(|e| panic!("{e}"));
        let ops = config.operations.unwrap_or_else(|| panic!("no operations"));
        assert_eq!(ops.address.to_string(), "0.0.0.0:9443");
        assert_eq!(ops.tls.as_ref().map(TlsConfig::is_mutual), Some(true));
        assert!(config.tls.is_none());
    }

    #[test]
    fn operations_misconfigurations_name_their_variable() {
        for (extra, expected) in [
            (
                vec![("CHAINCODE_OPERATIONS_ADDRESS", "localhost:9443")],
                "CHAINCODE_OPERATIONS_ADDRESS is `localhost:9443`: expected `IP:PORT` such as `0.0.0.0:9443` (host names are not resolved)",
            ),
            (
                vec![("CHAINCODE_OPERATIONS_TLS_CERT", "ops.pem")],
                "CHAINCODE_OPERATIONS_TLS_CERT is set but CHAINCODE_OPERATIONS_ADDRESS is not: TLS for the operations endpoint needs its address",
            ),
            (
                vec![
                    ("CHAINCODE_OPERATIONS_ADDRESS", "0.0.0.0:9443"),
                    ("CHAINCODE_OPERATIONS_TLS_CERT", "ops.pem"),
                ],
                "CHAINCODE_OPERATIONS_TLS_CERT is set but CHAINCODE_OPERATIONS_TLS_KEY is not: TLS needs both the server certificate and its key",
            ),
            (
                vec![
                    ("CHAINCODE_OPERATIONS_ADDRESS", "0.0.0.0:9443"),
                    ("CHAINCODE_OPERATIONS_CLIENT_CA_CERT", "ca.pem"),
                ],
                "CHAINCODE_OPERATIONS_CLIENT_CA_CERT is set (mutual TLS) but TLS is off",
            ),
        ] {
            let mut vars = BASE.to_vec();
            vars.extend(extra);
            assert_eq!(error(&vars), expected);
        }
    }

    #[test]
    fn the_default_grace_fits_in_kubernetes_default_termination_grace() {
        let config = load(&BASE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.shutdown_grace, Duration::from_secs(20));
        assert!(config.shutdown_grace + Duration::from_secs(10) <= Duration::from_secs(30));
    }

    #[test]
    fn the_drain_delay_is_off_by_default_and_may_be_set_to_zero() {
        let config = load(&BASE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.drain_delay, Duration::ZERO);
        let mut vars = BASE.to_vec();
        vars.push(("CHAINCODE_DRAIN_DELAY", "0s"));
        let config = load(&vars).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.drain_delay, Duration::ZERO);
    }
}
