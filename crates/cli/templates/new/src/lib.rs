//! `{{name}}`: a Hyperledger Fabric contract in Rust, served to peers as
//! an external service (chaincode as a service).
//!
//! Transactions (the first argument of an invoke):
//! - `CreateAsset ID OWNER` (submit): stores a new asset and sets the
//!   event `AssetCreated`, its payload the asset's JSON;
//! - `ReadAsset ID` (evaluate): the asset's JSON.
//!
//! The contract API is fabric-contract-api-go's: a Go client calls this
//! contract as it would call a Go one.

use ccaas_contract::{contract, json, BuildError, Context, ContractChaincode, Error, Object};
use serde::{Deserialize, Serialize};

/// The event `CreateAsset` sets.
pub const ASSET_CREATED: &str = "AssetCreated";

/// What the ledger holds under an asset's ID: its JSON, as Go's
/// `json.Marshal` writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
pub struct Asset {
    /// The key.
    #[serde(rename = "ID")]
    pub id: String,
    /// Who owns it.
    #[serde(rename = "Owner")]
    pub owner: String,
}

/// The contract; its name in the metadata and in `{{contract}}:ReadAsset`.
pub struct {{contract}};

#[contract]
impl {{contract}} {
    /// `CreateAsset ID OWNER`: a new asset, announced with the event
    /// `AssetCreated`.
    #[transaction]
    async fn create_asset(
        &self,
        ctx: &Context<'_>,
        id: String,
        owner: String,
    ) -> Result<(), Error> {
        if ctx.stub().get_state(&id).await?.is_some() {
            return Err(Error::new(format!("the asset {id} already exists")));
        }
        let asset = Asset { id, owner };
        let bytes = json::to_vec(&asset);
        ctx.stub().put_state(&asset.id, bytes.clone()).await?;
        ctx.stub().set_event(ASSET_CREATED, bytes)?;
        Ok(())
    }

    /// `ReadAsset ID`: the asset's JSON.
    #[transaction(evaluate)]
    async fn read_asset(&self, ctx: &Context<'_>, id: String) -> Result<Asset, Error> {
        let bytes = ctx
            .stub()
            .get_state(&id)
            .await?
            .ok_or_else(|| Error::new(format!("the asset {id} does not exist")))?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// The chaincode a peer talks to: the contract, routed as
/// fabric-contract-api-go routes it (and `org.hyperledger.fabric:GetMetadata`).
pub fn chaincode() -> Result<ContractChaincode, BuildError> {
    ContractChaincode::new({{contract}})
}
