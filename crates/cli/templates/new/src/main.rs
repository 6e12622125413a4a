//! Serves the contract to the peers that dial it. Configured by the
//! environment: `CHAINCODE_PACKAGE` (or `CHAINCODE_ID`),
//! `CHAINCODE_SERVER_ADDRESS`, and the TLS files (`CHAINCODE_TLS_CERT`,
//! `CHAINCODE_TLS_KEY`, `CHAINCODE_CLIENT_CA_CERT`). A failure is one line
//! on stderr with every cause; exit code 1, or 2 for a bad variable or TLS
//! file.

fn main() -> std::process::ExitCode {
    ccaas_shim::run::main_with({{crate}}::chaincode)
}
