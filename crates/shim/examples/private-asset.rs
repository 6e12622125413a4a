//! `private-asset`: assets with a public record and a private price, in
//! the spirit of fabric-samples' asset-transfer-private-data, served as an
//! external service (same environment as `kv`: see `ccaas_shim::env`).
//!
//! The public record `{"id","color","owner"}` is in the world state under
//! the asset's ID; its price is in the private data collection
//! `assetPrices`, written from the transient map (never in the proposal's
//! arguments, which every peer and orderer sees) and readable only by the
//! collection's members. Every channel member can still check a price it
//! was told, against the hash the ledger keeps of every private value.
//! The owner is the client identity's ID (Go's format) of whoever created
//! the asset; only the owner may transfer or delete it.
//!
//! Functions (first argument):
//! - `create ID COLOR`, transient `price` -> "OK"; the creator owns it.
//! - `read ID` -> the public record (JSON).
//! - `price ID` -> the price (members of `assetPrices` only).
//! - `verify ID PRICE` -> "true" or "false": whether PRICE is the price,
//!   by its SHA-256 against the ledger's hash, without reading it.
//! - `transfer ID NEW_OWNER_ID` -> "OK" (owner only).
//! - `delete ID` -> "OK" (owner only): the record deleted, the price purged
//!   from the private data store.
//!
//! The collection must be defined for the chaincode (its collection config
//! at approval), e.g. `assetPrices` with `Org1MSP` and `Org2MSP` as members.

use ccaas_shim::cid::{CidError, ClientIdentity};
use ccaas_shim::{Chaincode, Response, Stub, StubError};
use sha2::{Digest, Sha256};
use std::process::ExitCode;

/// The private data collection of the prices.
const PRICES: &str = "assetPrices";

/// The transient map key of the price at creation.
const PRICE_KEY: &str = "price";

struct PrivateAsset;

/// What a function can fail with: the message is the answer's.
#[derive(Debug, thiserror::Error)]
enum AssetError {
    #[error("usage: {0}")]
    Usage(&'static str),
    #[error("asset `{0}` does not exist")]
    NoSuchAsset(String),
    #[error("asset `{0}` already exists")]
    Exists(String),
    #[error("the price must be in the transient map under `{PRICE_KEY}`, as a decimal number")]
    NoPrice,
    #[error("only the owner of asset `{0}` may do that")]
    NotOwner(String),
    #[error("asset `{id}` is stored in a form this chaincode cannot read: {source}")]
    Corrupt {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("unknown function `{0}`: expected create, read, price, verify, transfer or delete")]
    UnknownFunction(String),
    #[error(transparent)]
    Identity(#[from] CidError),
    #[error(transparent)]
    Ledger(#[from] StubError),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Asset {
    id: String,
    color: String,
    owner: String,
}

impl PrivateAsset {
    async fn run(&self, stub: &Stub) -> Result<Vec<u8>, AssetError> {
        let (function, args) = stub.function_and_parameters();
        match (function.as_str(), args.as_slice()) {
            ("create", [id, color]) => {
                if stub.get_state(id).await?.is_some() {
                    return Err(AssetError::Exists(id.clone()));
                }
                let price = stub
                    .transient()
                    .get(PRICE_KEY)
                    .filter(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit))
                    .ok_or(AssetError::NoPrice)?
                    .clone();
                let asset = Asset {
                    id: id.clone(),
                    color: color.clone(),
                    owner: ClientIdentity::from_stub(stub)?.id()?,
                };
                stub.put_state(id, to_json(&asset)).await?;
                stub.put_private_data(PRICES, id, price).await?;
                Ok(b"OK".to_vec())
            }
            ("create", _) => Err(AssetError::Usage("create ID COLOR (transient: price)")),
            ("read", [id]) => Ok(to_json(&read(stub, id).await?)),
            ("read", _) => Err(AssetError::Usage("read ID")),
            ("price", [id]) => stub
                .get_private_data(PRICES, id)
                .await?
                .ok_or_else(|| AssetError::NoSuchAsset(id.clone())),
            ("price", _) => Err(AssetError::Usage("price ID")),
            ("verify", [id, price]) => {
                let hash = stub
                    .get_private_data_hash(PRICES, id)
                    .await?
                    .ok_or_else(|| AssetError::NoSuchAsset(id.clone()))?;
                let matches = Sha256::digest(price.as_bytes()).as_slice() == hash.as_slice();
                Ok(matches.to_string().into_bytes())
            }
            ("verify", _) => Err(AssetError::Usage("verify ID PRICE")),
            ("transfer", [id, new_owner]) => {
                let mut asset = owned(stub, id).await?;
                asset.owner = new_owner.clone();
                stub.put_state(id, to_json(&asset)).await?;
                Ok(b"OK".to_vec())
            }
            ("transfer", _) => Err(AssetError::Usage("transfer ID NEW_OWNER_ID")),
            ("delete", [id]) => {
                owned(stub, id).await?;
                stub.del_state(id).await?;
                stub.purge_private_data(PRICES, id).await?;
                Ok(b"OK".to_vec())
            }
            ("delete", _) => Err(AssetError::Usage("delete ID")),
            _ => Err(AssetError::UnknownFunction(function)),
        }
    }
}

async fn read(stub: &Stub, id: &str) -> Result<Asset, AssetError> {
    let bytes = stub
        .get_state(id)
        .await?
        .ok_or_else(|| AssetError::NoSuchAsset(id.to_owned()))?;
    serde_json::from_slice(&bytes).map_err(|source| AssetError::Corrupt {
        id: id.to_owned(),
        source,
    })
}

/// The asset, if the creator of this transaction owns it.
async fn owned(stub: &Stub, id: &str) -> Result<Asset, AssetError> {
    let asset = read(stub, id).await?;
    if asset.owner != ClientIdentity::from_stub(stub)?.id()? {
        return Err(AssetError::NotOwner(id.to_owned()));
    }
    Ok(asset)
}

fn to_json(asset: &Asset) -> Vec<u8> {
    // Three strings: serialising cannot fail.
    serde_json::to_vec(asset).unwrap_or_default()
}

impl Chaincode for PrivateAsset {
    async fn invoke(&self, stub: &Stub) -> Response {
        Response::from_result(self.run(stub).await)
    }
}

fn main() -> ExitCode {
    ccaas_shim::run::main(PrivateAsset)
}
