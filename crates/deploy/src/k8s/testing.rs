//! Chaincode packages made in memory, for this crate's examples and tests
//! (and `ccaas k8s`'s): not part of the API.

use ccaas_core::compose::{self, PackageInputs};
use ccaas_core::{Dialect, Label};

/// A `ccaas` package labelled `kv_1.0` holding `connection_json`.
pub fn package(connection_json: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let inputs = PackageInputs {
        label: Label::new("kv_1.0")?,
        dialect: Dialect::Ccaas,
        connection_json: connection_json.as_bytes().to_vec(),
        indexes_dir: None,
        tls_dir: None,
    };
    Ok(compose::compose(&inputs)?.to_bytes()?.1)
}
