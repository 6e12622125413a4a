//! fabric-samples' `asset-transfer-basic` chaincode (`chaincode-go`), in
//! Rust on `ccaas-contract`: the same transactions, arguments, JSON and
//! error texts, so the samples' client applications work against it
//! unchanged, and the same bytes in the ledger as the Go chaincode.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use asset_transfer_basic::chaincode;
//!
//! let id = "basic_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
//! let peer = ccaas_peersim::Simulator::new(id).in_process(std::sync::Arc::new(chaincode()?)).await?;
//! peer.invoke("mychannel", ["InitLedger"]).await?;
//! let read = peer.invoke("mychannel", ["ReadAsset", "asset1"]).await?;
//! assert_eq!(
//!     read.payload(),
//!     br#"{"AppraisedValue":300,"Color":"blue","ID":"asset1","Owner":"Tomoko","Size":5}"#
//! );
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

use ccaas_contract::{contract, json, BuildError, Context, ContractChaincode, Error, Object};
use serde::{Deserialize, Serialize};

/// An asset. The fields are in alphabetical order, as in the Go sample
/// (Go's `json.Marshal` writes them in declaration order, and so does
/// serde): the JSON, and so the ledger's bytes, are the Go chaincode's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Object)]
pub struct Asset {
    /// `AppraisedValue` (Go `int`: `isize`, as wide as Go's `int`).
    #[serde(rename = "AppraisedValue")]
    pub appraised_value: isize,
    /// `Color`.
    #[serde(rename = "Color")]
    pub color: String,
    /// `ID`, the asset's key.
    #[serde(rename = "ID")]
    pub id: String,
    /// `Owner`.
    #[serde(rename = "Owner")]
    pub owner: String,
    /// `Size` (Go `int`: `isize`, as wide as Go's `int`).
    #[serde(rename = "Size")]
    pub size: isize,
}

/// The contract, named `SmartContract` as the Go type.
pub struct SmartContract;

#[contract]
impl SmartContract {
    /// Adds the six sample assets.
    #[transaction]
    pub async fn init_ledger(&self, ctx: &Context<'_>) -> Result<(), Error> {
        let assets = [
            ("asset1", "blue", 5, "Tomoko", 300),
            ("asset2", "red", 5, "Brad", 400),
            ("asset3", "green", 10, "Jin Soo", 500),
            ("asset4", "yellow", 10, "Max", 600),
            ("asset5", "black", 15, "Adriana", 700),
            ("asset6", "white", 15, "Michel", 800),
        ];
        for (id, color, size, owner, appraised_value) in assets {
            let asset = Asset {
                id: id.into(),
                color: color.into(),
                size,
                owner: owner.into(),
                appraised_value,
            };
            ctx.stub()
                .put_state(id, json::to_vec(&asset))
                .await
                .map_err(|e| Error::new(format!("failed to put to world state. {e}")))?;
        }
        Ok(())
    }

    /// Issues a new asset.
    #[transaction]
    pub async fn create_asset(
        &self,
        ctx: &Context<'_>,
        id: String,
        color: String,
        size: isize,
        owner: String,
        appraised_value: isize,
    ) -> Result<(), Error> {
        if self.asset_exists(ctx, id.clone()).await? {
            return Err(Error::new(format!("the asset {id} already exists")));
        }
        let asset = Asset {
            id,
            color,
            size,
            owner,
            appraised_value,
        };
        ctx.stub()
            .put_state(&asset.id, json::to_vec(&asset))
            .await?;
        Ok(())
    }

    /// The asset stored under `id`.
    #[transaction(evaluate)]
    pub async fn read_asset(&self, ctx: &Context<'_>, id: String) -> Result<Asset, Error> {
        let bytes = ctx
            .stub()
            .get_state(&id)
            .await
            .map_err(|e| Error::new(format!("failed to read from world state: {e}")))?
            .ok_or_else(|| Error::new(format!("the asset {id} does not exist")))?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Overwrites an existing asset.
    #[transaction]
    pub async fn update_asset(
        &self,
        ctx: &Context<'_>,
        id: String,
        color: String,
        size: isize,
        owner: String,
        appraised_value: isize,
    ) -> Result<(), Error> {
        if !self.asset_exists(ctx, id.clone()).await? {
            return Err(Error::new(format!("the asset {id} does not exist")));
        }
        let asset = Asset {
            id,
            color,
            size,
            owner,
            appraised_value,
        };
        ctx.stub()
            .put_state(&asset.id, json::to_vec(&asset))
            .await?;
        Ok(())
    }

    /// Deletes an asset.
    #[transaction]
    pub async fn delete_asset(&self, ctx: &Context<'_>, id: String) -> Result<(), Error> {
        if !self.asset_exists(ctx, id.clone()).await? {
            return Err(Error::new(format!("the asset {id} does not exist")));
        }
        ctx.stub().del_state(&id).await?;
        Ok(())
    }

    /// Whether an asset is stored under `id`.
    #[transaction(evaluate)]
    pub async fn asset_exists(&self, ctx: &Context<'_>, id: String) -> Result<bool, Error> {
        let found = ctx
            .stub()
            .get_state(&id)
            .await
            .map_err(|e| Error::new(format!("failed to read from world state: {e}")))?;
        Ok(found.is_some())
    }

    /// Gives the asset to `new_owner`; returns the old owner.
    #[transaction]
    pub async fn transfer_asset(
        &self,
        ctx: &Context<'_>,
        id: String,
        new_owner: String,
    ) -> Result<String, Error> {
        let mut asset = self.read_asset(ctx, id.clone()).await?;
        let old_owner = std::mem::replace(&mut asset.owner, new_owner);
        ctx.stub().put_state(&id, json::to_vec(&asset)).await?;
        Ok(old_owner)
    }

    /// Every asset, in key order (the range `""` to `""`). Without any,
    /// the payload is empty, as the Go sample's nil slice.
    #[transaction(evaluate)]
    pub async fn get_all_assets(&self, ctx: &Context<'_>) -> Result<Option<Vec<Asset>>, Error> {
        let mut range = ctx.stub().get_state_by_range("", "").await?;
        let mut assets = Vec::new();
        while let Some(record) = range.next().await {
            assets.push(serde_json::from_slice(&record?.value)?);
        }
        Ok((!assets.is_empty()).then_some(assets))
    }
}

/// The chaincode: `SmartContract`, the default contract.
pub fn chaincode() -> Result<ContractChaincode, BuildError> {
    ContractChaincode::new(SmartContract)
}
