//! A chaincode played by hand over the in-memory message pair.
#![allow(dead_code, clippy::unwrap_used)]

use ccaas_peersim::{ChaincodeEnd, Profile, Session, Simulator, Transport};
use ccaas_proto::{ChaincodeId, ChaincodeMessage, Message, MessageType, Response};
use std::time::Duration;

/// Runs the binary `exe` with `args`: its exit code, stdout and stderr.
pub fn run(exe: &str, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(exe).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub const PACKAGE_ID: &str = "kv_1.0:0123abcd";
pub const CHANNEL: &str = "mychannel";

pub struct Chaincode {
    pub end: ChaincodeEnd,
}

impl Chaincode {
    pub async fn send(&self, message: ChaincodeMessage) {
        self.end.tx.send(message).await.unwrap();
    }

    /// The next message from the peer, within 5 s.
    pub async fn recv(&mut self) -> ChaincodeMessage {
        tokio::time::timeout(Duration::from_secs(5), self.end.rx.recv())
            .await
            .expect("no message from the peer within 5 s")
            .expect("the peer ended the stream")
    }

    /// Asserts the peer sends nothing for `wait` (the stream staying open).
    pub async fn expect_silence(&mut self, wait: Duration) {
        match tokio::time::timeout(wait, self.end.rx.recv()).await {
            Err(_) => {}
            Ok(Some(m)) => panic!("expected silence, got {} {:?}", m.kind_name(), m),
            Ok(None) => panic!("expected silence, the peer ended the stream"),
        }
    }

    /// Asserts the peer ends the stream within 5 s.
    pub async fn expect_end(&mut self) {
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.end.rx.recv()).await {
                Err(_) => panic!("the peer did not end the stream"),
                Ok(None) => return,
                Ok(Some(_)) => continue,
            }
        }
    }

    pub async fn register(&self, name: &str) {
        let id = ChaincodeId {
            name: name.into(),
            ..Default::default()
        };
        self.send(ChaincodeMessage::new(
            MessageType::Register,
            id.encode_to_vec(),
        ))
        .await;
    }

    /// Sends a request of `kind` for `tx` and returns the peer's answer.
    pub async fn request(
        &mut self,
        tx: &ChaincodeMessage,
        kind: MessageType,
        payload: Vec<u8>,
    ) -> ChaincodeMessage {
        self.send(ChaincodeMessage::for_tx(
            kind,
            payload,
            &tx.channel_id,
            &tx.txid,
        ))
        .await;
        let answer = self.recv().await;
        assert_eq!(
            (answer.txid.as_str(), answer.channel_id.as_str()),
            (tx.txid.as_str(), tx.channel_id.as_str())
        );
        answer
    }

    pub async fn complete(&self, tx: &ChaincodeMessage, status: i32, payload: &[u8]) {
        let response = Response {
            status,
            message: String::new(),
            payload: payload.to_vec(),
        };
        self.send(ChaincodeMessage::for_tx(
            MessageType::Completed,
            response.encode_to_vec(),
            &tx.channel_id,
            &tx.txid,
        ))
        .await;
    }
}

pub fn simulator(profile: Profile) -> Simulator {
    Simulator::new(PACKAGE_ID)
        .profile(profile)
        .startup_timeout(Duration::from_secs(5))
        .execute_timeout(Duration::from_secs(10))
}

/// A registered session: REGISTERED and READY consumed; READY returned.
pub async fn ready(simulator: Simulator) -> (Session, Chaincode, ChaincodeMessage) {
    ready_as(simulator, PACKAGE_ID).await
}

/// [`ready`] for a chaincode registering as `package_id`.
pub async fn ready_as(
    simulator: Simulator,
    package_id: &str,
) -> (Session, Chaincode, ChaincodeMessage) {
    let (transport, end) = Transport::pair(64);
    let mut cc = Chaincode { end };
    cc.register(package_id).await;
    let session = simulator.attach(transport).await.unwrap();
    assert!(session.is_registered());
    let registered = cc.recv().await;
    assert_eq!(registered.kind(), Some(MessageType::Registered));
    assert!(registered.payload.is_empty());
    let ready = cc.recv().await;
    assert_eq!(ready.kind(), Some(MessageType::Ready));
    (session, cc, ready)
}
