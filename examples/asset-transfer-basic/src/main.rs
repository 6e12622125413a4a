//! `asset-transfer-basic`: serves the chaincode to the peers that dial it
//! (`CHAINCODE_ID` or `CHAINCODE_PACKAGE`, `CHAINCODE_SERVER_ADDRESS`, TLS
//! files: see ccaas-shim's `env`).

use ccaas_shim::ChaincodeServer;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    ccaas_shim::logging::init();
    let served = match asset_transfer_basic::chaincode() {
        Ok(chaincode) => match ChaincodeServer::from_env(chaincode) {
            Ok(server) => server.serve().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("asset-transfer-basic: error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
