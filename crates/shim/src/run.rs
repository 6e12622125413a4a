//! A chaincode binary's whole `main` in one line: [`main`] (or
//! [`main_with`], for a chaincode that is built fallibly, as a contract)
//! starts the logs, builds the runtime, reads the configuration from the
//! environment, serves until SIGTERM, and on failure prints the error with
//! every cause on standard error and picks the exit code.
//!
//! ```no_run
//! use ccaas_shim::{Chaincode, Response, Stub};
//!
//! struct Ping;
//! impl Chaincode for Ping {
//!     async fn invoke(&self, _stub: &Stub) -> Response {
//!         Response::success("pong")
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     ccaas_shim::run::main(Ping)
//! }
//! ```
//!
//! A failure is one line, `<program>: error: <message>: <cause>: <cause>`:
//!
//! ```text
//! mycc: error: cannot listen on 127.0.0.1:9999: Address already in use (os error 98)
//! mycc: error: cannot open CHAINCODE_PACKAGE `mycc.tgz`: No such file or directory (os error 2)
//! mycc: error: cannot read the TLS private key `/tls/server.key`: Permission denied (os error 13)
//! ```
//!
//! | exit code | when |
//! |---|---|
//! | 0 | the server stopped gracefully (SIGTERM, SIGINT) |
//! | 1 | it could not serve: the address could not be bound, the signals not listened for, the gRPC server failed, the chaincode could not be built, the runtime not started |
//! | 2 | the configuration is not usable: a variable of [`crate::env`] or a TLS file (nothing was bound), or [`RunError::Configuration`] |
//!
//! For a runtime of your own (a current-thread one, say), serve as usual
//! and end with [`report`]:
//!
//! ```no_run
//! # use ccaas_shim::{Chaincode, ChaincodeServer, Response, Stub};
//! # struct Ping;
//! # impl Chaincode for Ping {
//! #     async fn invoke(&self, _stub: &Stub) -> Response { Response::success("pong") }
//! # }
//! fn main() -> std::process::ExitCode {
//!     ccaas_shim::logging::init();
//!     let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
//!         Ok(runtime) => runtime,
//!         Err(e) => return ccaas_shim::run::report(&ccaas_shim::run::RunError::Runtime(e)),
//!     };
//!     match runtime.block_on(async { ChaincodeServer::from_env(Ping)?.serve().await }) {
//!         Ok(()) => std::process::ExitCode::SUCCESS,
//!         Err(e) => ccaas_shim::run::report(&e.into()),
//!     }
//! }
//! ```

use crate::chaincode::Chaincode;
use crate::server::{ChaincodeServer, ServerError};
use std::convert::Infallible;
use std::process::ExitCode;

/// Exit code 1: the server could not serve.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code 2: the configuration (environment, TLS files) is not usable.
pub const EXIT_CONFIGURATION: u8 = 2;

/// Why [`main`] or [`main_with`] stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The tokio runtime could not be started.
    #[error("cannot start the tokio runtime")]
    Runtime(#[source] std::io::Error),
    /// The chaincode could not be built (`main_with`'s closure failed).
    #[error("cannot build the chaincode")]
    Chaincode(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The server could not start or run.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// A setting of the chaincode's own is not usable (a variable it reads
    /// beside those of [`crate::env`]): exits as a configuration error.
    #[error(transparent)]
    Configuration(Box<dyn std::error::Error + Send + Sync>),
}

impl RunError {
    /// The exit code for this error: [`EXIT_CONFIGURATION`] for a variable
    /// or a TLS file (and [`RunError::Configuration`]), [`EXIT_FAILURE`]
    /// otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Server(ServerError::Env(_) | ServerError::Tls(_))
            | RunError::Configuration(_) => EXIT_CONFIGURATION,
            _ => EXIT_FAILURE,
        }
    }
}

/// Serves `chaincode` as the environment says, until SIGTERM or SIGINT:
/// the whole `main` of a chaincode binary. See the [module](self).
pub fn main<C: Chaincode>(chaincode: C) -> ExitCode {
    main_with(move || Ok::<C, Infallible>(chaincode))
}

/// [`main`] for a chaincode that is built fallibly, after the logs are
/// started (a contract: `run::main_with(|| ContractChaincode::new(MyContract))`);
/// an error from `build` is reported as `cannot build the chaincode: ...`.
pub fn main_with<C, E>(build: impl FnOnce() -> Result<C, E>) -> ExitCode
where
    C: Chaincode,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    #[cfg(feature = "logging")]
    crate::logging::init();
    match serve(build) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

fn serve<C, E>(build: impl FnOnce() -> Result<C, E>) -> Result<(), RunError>
where
    C: Chaincode,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let chaincode = build().map_err(|e| RunError::Chaincode(e.into()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    runtime.block_on(async { ChaincodeServer::from_env(chaincode)?.serve().await })?;
    Ok(())
}

/// Prints `error` on standard error as one line, `<program>: error:
/// <message>: <cause>...` (every cause, as [`ccaas_core::report::chain`]
/// joins them), and returns its exit code ([`RunError::exit_code`]).
pub fn report(error: &RunError) -> ExitCode {
    #[allow(clippy::print_stderr)] // the one line a chaincode binary's main prints
    {
        eprintln!("{}: error: {}", program(), ccaas_core::report::chain(error));
    }
    ExitCode::from(error.exit_code())
}

/// The running executable's file name (`chaincode` when it has none).
fn program() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(std::path::Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chaincode".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_exit_2_and_the_rest_1() {
        let env = crate::ServerConfig::from_vars(|_| None).map_err(ServerError::from);
        let Err(env) = env else {
            panic!("an empty environment is a configuration")
        };
        assert_eq!(RunError::from(env).exit_code(), EXIT_CONFIGURATION);
        let bind = ServerError::Bind {
            address: ([127, 0, 0, 1], 9999).into(),
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        };
        let bind = RunError::from(bind);
        assert_eq!(bind.exit_code(), EXIT_FAILURE);
        assert_eq!(
            ccaas_core::report::chain(&bind),
            "cannot listen on 127.0.0.1:9999: address in use"
        );
        let built = RunError::Chaincode("two transactions are named `A`".into());
        assert_eq!(built.exit_code(), EXIT_FAILURE);
        assert_eq!(
            ccaas_core::report::chain(&built),
            "cannot build the chaincode: two transactions are named `A`"
        );
    }
}
