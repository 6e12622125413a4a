//! Structured logs on standard error for a chaincode binary: one line per
//! event, with the txid and channel of the transaction it concerns.

/// The variable that sets the log filter (`info` by default; `debug`,
/// `ccaas_shim=debug,warn`: tracing's `EnvFilter` syntax). `RUST_LOG` is
/// read when it is not set.
pub const LOG_VAR: &str = "CHAINCODE_LOG";

/// Installs a subscriber that writes to standard error. Does nothing when
/// one is installed already.
pub fn init() {
    let filter = std::env::var(LOG_VAR)
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let (parsed, refused) = match tracing_subscriber::EnvFilter::try_new(&filter) {
        Ok(parsed) => (parsed, None),
        Err(e) => (
            tracing_subscriber::EnvFilter::new("info"),
            Some((filter, e)),
        ),
    };
    let installed = tracing_subscriber::fmt()
        .with_env_filter(parsed)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    if let (Ok(()), Some((filter, e))) = (installed, refused) {
        tracing::warn!("{LOG_VAR} (or RUST_LOG) is `{filter}`: expected a tracing filter such as `info` or `ccaas_shim=debug,warn` ({e}); logging at `info`");
    }
}
