//! A `ccaas-shim` chaincode run in process against the simulator.
#![allow(clippy::unwrap_used)]

use ccaas_peersim::{Profile, Registration, Simulator};
use ccaas_shim::{Chaincode, Response, StreamConfig, Stub};
use std::sync::Arc;

const PACKAGE_ID: &str = "kv_1.0:0123abcd";

/// The kv functions the Node check uses, on the Rust shim.
struct Kv;

impl Chaincode for Kv {
    async fn invoke(&self, stub: &Stub) -> Response {
        let (function, args) = stub.function_and_parameters();
        let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
        let result = match function.as_str() {
            "put" => stub
                .put_state(&arg(0), arg(1))
                .await
                .map(|_| b"OK".to_vec()),
            "get" => match stub.get_state(&arg(0)).await {
                Ok(Some(v)) => Ok(v),
                Ok(None) => return Response::error("no such key"),
                Err(e) => Err(e),
            },
            "range" => match stub.get_state_by_range(&arg(0), &arg(1)).await {
                Ok(iter) => iter
                    .collect_all()
                    .await
                    .map(|kvs| kvs.len().to_string().into_bytes()),
                Err(e) => Err(e),
            },
            "ping" => Ok(b"pong".to_vec()),
            other => return Response::error(format!("unknown function `{other}`")),
        };
        match result {
            Ok(payload) => Response::success(payload),
            Err(e) => Response::error(e.to_string()),
        }
    }
}

#[tokio::test]
async fn a_shim_chaincode_runs_in_process() {
    for profile in [Profile::V2_5, Profile::V3_1] {
        let session = Simulator::new(PACKAGE_ID)
            .profile(profile)
            .in_process(Arc::new(Kv))
            .await
            .unwrap();
        assert!(session.is_registered());
        let put = session.invoke("ch", ["put", "k", "v"]).await.unwrap();
        assert_eq!(put.payload(), b"OK", "{put:?}");
        assert_eq!(session.get_state("ch", "k").as_deref(), Some(&b"v"[..]));
        let get = session.invoke("ch", ["get", "k"]).await.unwrap();
        assert_eq!(get.payload(), b"v");
        let missing = session.invoke("ch", ["get", "nope"]).await.unwrap();
        assert_eq!(
            missing.response().map(|r| (r.status, r.message.as_str())),
            Some((500, "no such key"))
        );
        for i in 0..250 {
            session.put_state("ch", &format!("r{i:04}"), "x");
        }
        let range = session
            .invoke("ch", ["range", "r0000", "r0201"])
            .await
            .unwrap();
        assert_eq!(range.payload(), b"201", "{range:?}");
        assert!(session.received(ccaas_proto::MessageType::QueryStateNext) >= 2);
    }
}

#[tokio::test]
async fn many_in_process_transactions_at_once() {
    let session = Simulator::new(PACKAGE_ID)
        .in_process(Arc::new(Kv))
        .await
        .unwrap();
    let pending: Vec<_> = (0..50)
        .map(|i| {
            session
                .invoke("ch", ["put".to_owned(), format!("k{i}"), format!("{i}")])
                .start()
                .unwrap()
        })
        .collect();
    for p in pending {
        assert!(p.await.unwrap().is_success());
    }
    assert_eq!(session.world().namespace("ch", "kv_1.0").len(), 50);
}

#[tokio::test]
async fn a_wrong_package_id_in_process_is_refused() {
    let session = Simulator::new(PACKAGE_ID)
        .in_process_with(Arc::new(Kv), StreamConfig::new("kv_1.0"))
        .await
        .unwrap();
    assert_eq!(
        session.registration(),
        Some(Registration::Refused {
            registered_as: "kv_1.0".into()
        })
    );
}

/// Calls `bank` with its own arguments (the channel first, `-` for this
/// one) and answers the bank's payload.
struct Shop;

impl Chaincode for Shop {
    async fn invoke(&self, stub: &Stub) -> Response {
        let args = stub.string_args();
        let Some((channel, rest)) = args.split_first() else {
            return Response::error("CHANNEL ARGS...");
        };
        let channel = (channel != "-").then_some(channel.as_str());
        match stub.invoke_chaincode("bank", rest, channel).await {
            Ok(answer) if answer.status < 400 => Response::success(answer.payload),
            Ok(answer) => Response::error(format!("bank: {}", answer.message)),
            Err(e) => Response::error(e.to_string()),
        }
    }
}

#[tokio::test]
async fn in_process_chaincode_calls_another_on_its_channel_and_on_another() {
    for profile in [Profile::V2_5, Profile::V3_1] {
        let world = ccaas_peersim::WorldState::new();
        let bank = Simulator::new("bank:0123")
            .profile(profile)
            .world(world.clone())
            .in_process(Arc::new(Kv))
            .await
            .unwrap();
        let shop = Simulator::new("shop:4567")
            .profile(profile)
            .world(world.clone())
            .in_process(Arc::new(Shop))
            .await
            .unwrap();
        // Same channel: the bank's write commits with the shop's transaction.
        let here = shop
            .invoke("ch", ["-", "put", "alice", "10"])
            .await
            .unwrap();
        assert_eq!(here.payload(), b"OK", "{here:?}");
        assert_eq!(bank.get_state("ch", "alice").as_deref(), Some(&b"10"[..]));
        assert_eq!(shop.get_state("ch", "alice"), None);
        // Another channel: it runs there, reads there, writes nowhere.
        bank.put_state("other", "bob", "7");
        let read = shop.invoke("ch", ["other", "get", "bob"]).await.unwrap();
        assert_eq!(read.payload(), b"7", "{read:?}");
        let write = shop
            .invoke("ch", ["other", "put", "carol", "1"])
            .await
            .unwrap();
        assert!(write.is_success(), "{write:?}");
        assert_eq!(bank.get_state("other", "carol"), None);
        assert_eq!(bank.get_state("ch", "carol"), None);
        // A callee's error status comes back as the caller's to handle.
        let missing = shop.invoke("ch", ["-", "get", "nobody"]).await.unwrap();
        assert_eq!(
            missing.response().map(|r| r.message.as_str()),
            Some("bank: no such key")
        );
    }
}
