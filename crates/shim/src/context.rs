//! One transaction's context, shared by its [`Stub`](crate::Stub) and its
//! iterators: the way to the peer, one request at a time, and the pending
//! write batch.

use crate::proposal::Decoded;
use crate::stream::StreamLink;
use crate::stub::StubError;
use ccaas_proto::{
    ChaincodeEvent, ChaincodeInput, ChaincodeMessage, Message, MessageType, QueryStateClose,
    Timestamp, WriteRecord,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What a write batch keys its records by: collection, key, and whether the
/// record is the key's data or its metadata (as the Go shim's `batchKey`),
/// so a later write of the same kind replaces an earlier one.
pub(crate) type BatchKey = (String, String, bool);

pub(crate) struct TxContext {
    pub(crate) link: Arc<StreamLink>,
    pub(crate) channel_id: String,
    pub(crate) txid: String,
    pub(crate) input: ChaincodeInput,
    pub(crate) proposal: Option<Decoded>,
    pub(crate) event: Mutex<Option<ChaincodeEvent>>,
    /// One request in flight per transaction: the peer drops a second.
    request_lock: tokio::sync::Mutex<()>,
    /// Iterators dropped while still open at the peer, closed before the
    /// next request (the peer closes the rest when the transaction ends).
    pub(crate) to_close: Mutex<Vec<String>>,
    /// The write batch, when one was started and the peer offers batches.
    pub(crate) batch: Mutex<Option<BTreeMap<BatchKey, WriteRecord>>>,
    /// A request the peer never answered (timed out, or abandoned by the
    /// chaincode): the peer may still answer it, or still hold it and drop
    /// the next, so no later request of this transaction is sent.
    unanswered: Mutex<Option<&'static str>>,
}

impl TxContext {
    pub(crate) fn new(
        link: Arc<StreamLink>,
        channel_id: String,
        txid: String,
        input: ChaincodeInput,
        proposal: Option<Decoded>,
    ) -> Self {
        TxContext {
            link,
            channel_id,
            txid,
            input,
            proposal,
            event: Mutex::new(None),
            request_lock: tokio::sync::Mutex::new(()),
            to_close: Mutex::new(Vec::new()),
            batch: Mutex::new(None),
            unanswered: Mutex::new(None),
        }
    }

    pub(crate) fn take_event(&self) -> Option<ChaincodeEvent> {
        self.event.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn message(&self, kind: MessageType, payload: Vec<u8>) -> ChaincodeMessage {
        let mut message = ChaincodeMessage::for_tx(kind, payload, &self.channel_id, &self.txid);
        message.timestamp = Some(Timestamp::now());
        message
    }

    /// Puts `record` in the batch and returns `true`, or returns `false`
    /// when no batch is open (the caller sends it on its own).
    pub(crate) fn batched(&self, record: &WriteRecord, metadata: bool) -> bool {
        let mut batch = self.batch.lock().unwrap_or_else(|p| p.into_inner());
        match batch.as_mut() {
            Some(records) => {
                let key = (record.collection.clone(), record.key.clone(), metadata);
                records.insert(key, record.clone());
                true
            }
            None => false,
        }
    }

    /// Sends the open batch, if any, in WRITE_BATCH_STATE messages of at
    /// most the peer's maximum records, and closes it.
    pub(crate) async fn finish_batch(&self) -> Result<(), StubError> {
        let records: Vec<WriteRecord> =
            match self.batch.lock().unwrap_or_else(|p| p.into_inner()).take() {
                Some(records) => records.into_values().collect(),
                None => return Ok(()),
            };
        let most = self
            .link
            .capabilities()
            .write_batch()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(usize::MAX)
            .max(1);
        for chunk in records.chunks(most) {
            let payload = ccaas_proto::WriteBatchState {
                rec: chunk.to_vec(),
            }
            .encode_to_vec();
            self.call(MessageType::WriteBatchState, payload).await?;
        }
        Ok(())
    }

    /// Sends one request and returns RESPONSE's payload; requests of one
    /// transaction queue here, one at a time.
    pub(crate) async fn call(
        &self,
        kind: MessageType,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, StubError> {
        let _turn = self.request_lock.lock().await;
        let stale: Vec<String> =
            std::mem::take(&mut *self.to_close.lock().unwrap_or_else(|p| p.into_inner()));
        for id in stale {
            let close = self.message(
                MessageType::QueryStateClose,
                QueryStateClose { id }.encode_to_vec(),
            );
            // Best effort: the peer closes it at the end of the transaction anyway.
            if let Err(e) = self.exchange(close, "QUERY_STATE_CLOSE").await {
                tracing::debug!("closing a dropped iterator failed: {e}");
            }
        }
        let request = kind.fabric_name();
        self.exchange(self.message(kind, payload), request).await
    }

    async fn exchange(
        &self,
        message: ChaincodeMessage,
        request: &'static str,
    ) -> Result<Vec<u8>, StubError> {
        if let Some(earlier) = *self.unanswered.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(StubError::EarlierUnanswered { request, earlier });
        }
        // Marks the transaction if this request ends without an answer,
        // whether by its deadline or because the chaincode dropped it.
        let mut guard = Unanswered {
            slot: &self.unanswered,
            request,
            armed: true,
        };
        let answer = self.link.request(message, request).await;
        if !matches!(answer, Err(StubError::Timeout { .. })) {
            guard.armed = false;
        }
        let answer = answer?;
        match answer.kind() {
            Some(MessageType::Response) => Ok(answer.payload),
            Some(MessageType::Error) => Err(StubError::Peer {
                request,
                message: String::from_utf8_lossy(&answer.payload).into_owned(),
            }),
            _ => Err(StubError::UnexpectedAnswer {
                request,
                found: answer.kind_name(),
            }),
        }
    }
}

/// Records a request that ended without the peer's answer.
struct Unanswered<'a> {
    slot: &'a Mutex<Option<&'static str>>,
    request: &'static str,
    armed: bool,
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(self.request);
        }
    }
}
