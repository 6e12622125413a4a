//! The contract run in process by the peer simulator (`ccaas-peersim`):
//! real transactions and ledger requests, no socket and no peer.

use ccaas_peersim::{Session, Simulator};
use std::sync::Arc;

type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

const CHANNEL: &str = "mychannel";

/// A simulated peer with the chaincode installed.
async fn peer() -> Result<Session> {
    let id = "{{name}}_1.0:0000000000000000000000000000000000000000000000000000000000000000";
    let chaincode = {{crate}}::chaincode()?;
    Ok(Simulator::new(id).in_process(Arc::new(chaincode)).await?)
}

#[tokio::test]
async fn an_asset_created_can_be_read() -> Result {
    let peer = peer().await?;
    let created = peer
        .invoke(CHANNEL, ["CreateAsset", "asset1", "Tomoko"])
        .await?;
    assert!(created.is_success(), "{created:?}");
    assert_eq!(
        peer.get_state(CHANNEL, "asset1").as_deref(),
        Some(&br#"{"ID":"asset1","Owner":"Tomoko"}"#[..])
    );
    // The contract's name, then the transaction's, first letter in any case.
    let read = peer
        .invoke(CHANNEL, ["{{contract}}:readAsset", "asset1"])
        .await?;
    assert_eq!(read.payload(), br#"{"ID":"asset1","Owner":"Tomoko"}"#);
    Ok(())
}

#[tokio::test]
async fn creating_an_asset_sets_the_event() -> Result {
    let peer = peer().await?;
    let created = peer
        .invoke(CHANNEL, ["CreateAsset", "asset1", "Tomoko"])
        .await?;
    assert_eq!(created.event_name(), Some({{crate}}::ASSET_CREATED));
    assert_eq!(
        created.event_payload(),
        Some(&br#"{"ID":"asset1","Owner":"Tomoko"}"#[..])
    );
    Ok(())
}

#[tokio::test]
async fn errors_are_answers_with_a_message() -> Result {
    let peer = peer().await?;
    peer.invoke(CHANNEL, ["CreateAsset", "asset1", "Tomoko"])
        .await?;
    let again = peer
        .invoke(CHANNEL, ["CreateAsset", "asset1", "Max"])
        .await?;
    assert!(!again.is_success());
    let message = again.response().map(|r| r.message.as_str());
    assert_eq!(message, Some("the asset asset1 already exists"));
    let missing = peer.invoke(CHANNEL, ["ReadAsset", "asset2"]).await?;
    let message = missing.response().map(|r| r.message.as_str());
    assert_eq!(message, Some("the asset asset2 does not exist"));
    Ok(())
}
