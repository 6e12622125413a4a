//! `asset-transfer-basic`: serves the chaincode to the peers that dial it
//! (`CHAINCODE_ID` or `CHAINCODE_PACKAGE`, `CHAINCODE_SERVER_ADDRESS`, TLS
//! files: see ccaas-shim's `env`). A failure is one line on stderr with
//! every cause, and exit code 1 (2 for a bad variable or TLS file): see
//! ccaas-shim's `run`.

fn main() -> std::process::ExitCode {
    ccaas_shim::run::main_with(asset_transfer_basic::chaincode)
}
