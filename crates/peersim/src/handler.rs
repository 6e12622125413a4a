//! The peer's side of one stream as a state machine over messages, after
//! Fabric's `core/chaincode/handler.go`: the states Created and Ready, the
//! transaction contexts, the one-request-per-transaction rule, the query
//! iterators, and the write sets committed on success.

use crate::proposal::uuid;
use crate::session::{Config, Registration, SessionError, StreamEnd, TxOutcome};
use crate::transport::Transport;
use crate::world::Write;
use ccaas_proto::queryresult::Kv;
use ccaas_proto::{
    ChaincodeId, ChaincodeMessage, DelState, GetState, GetStateByRange, GetStateMultiple,
    GetStateMultipleResult, Message, MessageType, PutState, QueryMetadata, QueryResponse,
    QueryResultBytes, QueryStateClose, QueryStateNext, Response, WriteBatchState, WriteRecordType,
};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

/// A transaction's key on a stream: channel and txid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TxKey {
    pub(crate) channel: String,
    pub(crate) txid: String,
}

impl TxKey {
    pub(crate) fn of(message: &ChaincodeMessage) -> Self {
        TxKey {
            channel: message.channel_id.clone(),
            txid: message.txid.clone(),
        }
    }
}

/// What the session asks of the handler.
#[derive(Debug)]
pub(crate) enum Command {
    /// Run a transaction (TRANSACTION or INIT) and report its outcome.
    Start {
        message: ChaincodeMessage,
        reply: oneshot::Sender<Result<TxOutcome, SessionError>>,
    },
    /// Send a message as is.
    Raw(ChaincodeMessage),
    /// The caller gave up on a transaction (execute timeout).
    Abandon(TxKey),
    /// End the stream.
    End,
}

/// State the session reads while the handler runs.
#[derive(Debug)]
pub(crate) struct Shared {
    counts: Mutex<BTreeMap<i32, u64>>,
    ignored: Mutex<Vec<ChaincodeMessage>>,
    pub(crate) dropped: AtomicU64,
    pub(crate) stalled: AtomicBool,
}

impl Shared {
    pub(crate) fn new(stalled: bool) -> Self {
        Shared {
            counts: Mutex::default(),
            ignored: Mutex::default(),
            dropped: AtomicU64::new(0),
            stalled: AtomicBool::new(stalled),
        }
    }

    pub(crate) fn counts(&self) -> BTreeMap<i32, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn ignored(&self) -> Vec<ChaincodeMessage> {
        self.ignored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn count(&self, kind: i32) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_default() += 1;
    }

    fn ignore(&self, message: ChaincodeMessage) {
        self.ignored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Created,
    Ready,
}

/// A query iterator, as the peer's `QueryResponseGenerator` drives it.
#[derive(Debug)]
struct QueryIter {
    rest: std::vec::IntoIter<(String, Vec<u8>)>,
    pending: Vec<QueryResultBytes>,
    returned: u32,
}

/// A running transaction (the peer's `TransactionContext`).
#[derive(Debug)]
struct TxContext {
    reply: oneshot::Sender<Result<TxOutcome, SessionError>>,
    writes: Vec<Write>,
    iterators: HashMap<String, QueryIter>,
}

pub(crate) struct Handler {
    config: Arc<Config>,
    shared: Arc<Shared>,
    transport: Transport,
    registration: watch::Sender<Option<Registration>>,
    ended: watch::Sender<Option<StreamEnd>>,
    state: State,
    txs: HashMap<TxKey, TxContext>,
    active: HashSet<TxKey>,
    delayed_tx: mpsc::UnboundedSender<(TxKey, ChaincodeMessage)>,
    delayed_rx: mpsc::UnboundedReceiver<(TxKey, ChaincodeMessage)>,
}

/// A request's failure, worded as the peer words it after
/// "`TYPE` failed: transaction ID: `txid`: ".
type Failure = String;

fn unsupported(what: &str) -> Failure {
    format!("{what} is not supported by the simulator yet")
}

fn decode<M: Message + Default>(payload: &[u8]) -> Result<M, Failure> {
    M::decode(payload).map_err(|e| format!("unmarshal failed: {e}"))
}

fn type_name(kind: i32) -> String {
    match MessageType::try_from(kind) {
        Ok(k) => k.fabric_name().to_owned(),
        Err(_) => kind.to_string(),
    }
}

impl Handler {
    pub(crate) fn new(
        config: Arc<Config>,
        shared: Arc<Shared>,
        transport: Transport,
        registration: watch::Sender<Option<Registration>>,
        ended: watch::Sender<Option<StreamEnd>>,
    ) -> Self {
        let (delayed_tx, delayed_rx) = mpsc::unbounded_channel();
        Handler {
            config,
            shared,
            transport,
            registration,
            ended,
            state: State::Created,
            txs: HashMap::new(),
            active: HashSet::new(),
            delayed_tx,
            delayed_rx,
        }
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let end = loop {
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    None | Some(Command::End) => break StreamEnd::Closed,
                    Some(command) => if let Err(end) = self.command(command).await {
                        break end;
                    },
                },
                Some((key, answer)) = self.delayed_rx.recv() => {
                    self.active.remove(&key);
                    if let Err(end) = self.send(answer).await {
                        break end;
                    }
                }
                item = self.transport.from_chaincode.next() => match item {
                    None => break StreamEnd::ChaincodeClosed,
                    Some(Err(e)) => break StreamEnd::Transport(e.to_string()),
                    Some(Ok(message)) => if let Err(end) = self.message(message).await {
                        break end;
                    },
                },
            }
        };
        match &end {
            StreamEnd::Protocol { message } => {
                tracing::error!("{message}: error handling message, ending stream")
            }
            other => tracing::debug!("chaincode stream ended: {other}"),
        }
        for (_, tx) in self.txs.drain() {
            let _ = tx.reply.send(Err(SessionError::StreamTerminated));
        }
        self.ended.send_replace(Some(end));
    }

    async fn send(&mut self, message: ChaincodeMessage) -> Result<(), StreamEnd> {
        send(&self.transport.to_chaincode, message).await
    }

    async fn command(&mut self, command: Command) -> Result<(), StreamEnd> {
        match command {
            Command::Start { message, reply } => {
                let key = TxKey::of(&message);
                if self.state != State::Ready {
                    let _ = reply.send(Err(SessionError::NotRegistered {
                        registration: self.registration.borrow().clone(),
                    }));
                    return Ok(());
                }
                if self.txs.contains_key(&key) {
                    let _ = reply.send(Err(SessionError::DuplicateTxid {
                        channel: key.channel,
                        txid: key.txid,
                    }));
                    return Ok(());
                }
                self.txs.insert(
                    key,
                    TxContext {
                        reply,
                        writes: Vec::new(),
                        iterators: HashMap::new(),
                    },
                );
                self.send(message).await
            }
            Command::Raw(message) => self.send(message).await,
            Command::Abandon(key) => {
                self.txs.remove(&key);
                Ok(())
            }
            Command::End => Err(StreamEnd::Closed),
        }
    }

    async fn message(&mut self, message: ChaincodeMessage) -> Result<(), StreamEnd> {
        self.shared.count(message.r#type);
        if message.r#type == MessageType::Keepalive as i32 {
            return Ok(());
        }
        let kind = message.kind();
        match self.state {
            State::Created => match kind {
                Some(MessageType::Register) => self.register(message).await,
                _ => Err(StreamEnd::Protocol {
                    message: format!(
                        "[{}] Fabric side handler cannot handle message ({}) while in created state",
                        message.txid,
                        type_name(message.r#type)
                    ),
                }),
            },
            State::Ready => match kind {
                Some(MessageType::Completed | MessageType::Error) => {
                    self.notify(message);
                    Ok(())
                }
                Some(
                    MessageType::GetState
                    | MessageType::PutState
                    | MessageType::DelState
                    | MessageType::InvokeChaincode
                    | MessageType::GetStateByRange
                    | MessageType::GetQueryResult
                    | MessageType::QueryStateNext
                    | MessageType::QueryStateClose
                    | MessageType::GetHistoryForKey
                    | MessageType::GetStateMetadata
                    | MessageType::PutStateMetadata
                    | MessageType::GetPrivateDataHash
                    | MessageType::PurgePrivateData,
                ) => self.request(message).await,
                Some(MessageType::WriteBatchState | MessageType::GetStateMultiple)
                    if self.config.profile.has_batches() =>
                {
                    self.request(message).await
                }
                _ => Err(StreamEnd::Protocol {
                    message: format!(
                        "[{}] Fabric side handler cannot handle message ({}) while in ready state",
                        message.txid,
                        type_name(message.r#type)
                    ),
                }),
            },
        }
    }

    async fn register(&mut self, message: ChaincodeMessage) -> Result<(), StreamEnd> {
        let id = match ChaincodeId::decode(message.payload.as_slice()) {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(
                    "Error in received REGISTER, could NOT unmarshal registration info: {e}"
                );
                self.registration
                    .send_replace(Some(Registration::Unreadable {
                        error: e.to_string(),
                    }));
                return Ok(());
            }
        };
        if id.name.is_empty() {
            tracing::error!("error in handling register chaincode, chaincodeID name is empty");
            self.registration.send_replace(Some(Registration::Refused {
                registered_as: id.name,
            }));
            return Ok(());
        }
        if id.name != self.config.package_id {
            tracing::warn!(
                registered_as = %id.name,
                expected = %self.config.package_id,
                "peer will not accept external chaincode connection {} (except in dev mode)",
                id.name
            );
            self.registration.send_replace(Some(Registration::Refused {
                registered_as: id.name,
            }));
            return Ok(());
        }
        self.send(ChaincodeMessage::new(MessageType::Registered, Vec::new()))
            .await?;
        let payload = if self.config.profile.has_batches() {
            self.config.ready_params.encode_to_vec()
        } else {
            Vec::new()
        };
        self.send(ChaincodeMessage::new(MessageType::Ready, payload))
            .await?;
        self.state = State::Ready;
        self.registration.send_replace(Some(Registration::Accepted));
        Ok(())
    }

    /// COMPLETED or ERROR: the end of a transaction, or ignored.
    fn notify(&mut self, message: ChaincodeMessage) {
        let key = TxKey::of(&message);
        let Some(tx) = self.txs.remove(&key) else {
            tracing::debug!(
                "notifier Txid:{}, channelID:{} does not exist for handling message {}",
                key.txid,
                key.channel,
                message.kind_name()
            );
            self.shared.ignore(message);
            return;
        };
        let outcome = if message.r#type == MessageType::Completed as i32 {
            match Response::decode(message.payload.as_slice()) {
                Ok(response) => {
                    if response.status < 400 {
                        self.config.world.commit(
                            &key.channel,
                            &self.config.chaincode_name,
                            tx.writes,
                        );
                    }
                    TxOutcome::Completed {
                        response,
                        event: message.chaincode_event,
                    }
                }
                Err(e) => TxOutcome::Unreadable {
                    error: format!(
                        "failed to unmarshal response for transaction {}: {e}",
                        key.txid
                    ),
                },
            }
        } else {
            TxOutcome::Error {
                message: String::from_utf8_lossy(&message.payload).into_owned(),
            }
        };
        // The caller may have gone (timed out); nothing to do then.
        let _ = tx.reply.send(Ok(outcome));
    }

    /// A request of a transaction: one at a time, as `HandleTransaction`.
    async fn request(&mut self, message: ChaincodeMessage) -> Result<(), StreamEnd> {
        let key = TxKey::of(&message);
        if !self.active.insert(key.clone()) {
            tracing::error!(
                "[{}] Another request pending for this CC: {}, Txid: {}, ChannelID: {}. Cannot process.",
                short(&key.txid),
                self.config.package_id,
                key.txid,
                key.channel
            );
            self.shared.dropped.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        if self.shared.stalled.load(Ordering::SeqCst) {
            tracing::debug!(
                "[{}] stalled: not answering {}",
                short(&key.txid),
                message.kind_name()
            );
            return Ok(());
        }
        let result = match self.txs.get_mut(&key) {
            None if message.r#type == MessageType::InvokeChaincode as i32 => {
                Err("could not get valid transaction".to_owned())
            }
            None => Err("no ledger context".to_owned()),
            Some(tx) => serve(&self.config, &key, tx, &message),
        };
        let answer = match result {
            Ok(payload) => {
                ChaincodeMessage::for_tx(MessageType::Response, payload, &key.channel, &key.txid)
            }
            Err(failure) => {
                let text = format!(
                    "{} failed: transaction ID: {}: {failure}",
                    type_name(message.r#type),
                    key.txid
                );
                tracing::error!(
                    "[{}] Failed to handle {}. error: {text}",
                    short(&key.txid),
                    message.kind_name()
                );
                ChaincodeMessage::for_tx(
                    MessageType::Error,
                    text.into_bytes(),
                    &key.channel,
                    &key.txid,
                )
            }
        };
        let delay = self.config.request_delay;
        if delay.is_zero() {
            self.active.remove(&key);
            self.send(answer).await
        } else {
            let delayed = self.delayed_tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = delayed.send((key, answer));
            });
            Ok(())
        }
    }
}

/// Sends to the chaincode (a free function so the handler need not be `Sync`).
async fn send(
    to: &mpsc::Sender<ChaincodeMessage>,
    message: ChaincodeMessage,
) -> Result<(), StreamEnd> {
    to.send(message).await.map_err(|_| StreamEnd::SendFailed)
}

fn short(txid: &str) -> &str {
    txid.get(..8).unwrap_or(txid)
}

/// Serves one request of a running transaction: the RESPONSE payload, or
/// the failure for ERROR.
fn serve(
    config: &Config,
    key: &TxKey,
    tx: &mut TxContext,
    message: &ChaincodeMessage,
) -> Result<Vec<u8>, Failure> {
    let namespace = config.chaincode_name.as_str();
    let world = &config.world;
    let payload = message.payload.as_slice();
    let Some(kind) = message.kind() else {
        return Err(unsupported(&format!("type {}", message.r#type)));
    };
    match kind {
        MessageType::GetState => {
            let req: GetState = decode(payload)?;
            if !req.collection.is_empty() {
                return Err(unsupported("private data"));
            }
            Ok(world
                .get(&key.channel, namespace, &req.key)
                .unwrap_or_default())
        }
        MessageType::PutState => {
            let req: PutState = decode(payload)?;
            if !req.collection.is_empty() {
                return Err(unsupported("private data"));
            }
            tx.writes.push(put(req.key, req.value));
            Ok(Vec::new())
        }
        MessageType::DelState => {
            let req: DelState = decode(payload)?;
            if !req.collection.is_empty() {
                return Err(unsupported("private data"));
            }
            tx.writes.push((req.key, None));
            Ok(Vec::new())
        }
        MessageType::GetStateByRange => {
            let req: GetStateByRange = decode(payload)?;
            if !req.collection.is_empty() {
                return Err(unsupported("private data"));
            }
            if !req.metadata.is_empty() {
                let meta: QueryMetadata = decode(&req.metadata)?;
                if meta.page_size != 0 || !meta.bookmark.is_empty() {
                    return Err(unsupported("pagination"));
                }
            }
            let id = uuid();
            let rows = world.range(&key.channel, namespace, &req.start_key, &req.end_key);
            tx.iterators.insert(
                id.clone(),
                QueryIter {
                    rest: rows.into_iter(),
                    pending: Vec::new(),
                    returned: 0,
                },
            );
            Ok(next_batch(config, tx, &id).encode_to_vec())
        }
        MessageType::QueryStateNext => {
            let req: QueryStateNext = decode(payload)?;
            if !tx.iterators.contains_key(&req.id) {
                return Err("query iterator not found".into());
            }
            Ok(next_batch(config, tx, &req.id).encode_to_vec())
        }
        MessageType::QueryStateClose => {
            let req: QueryStateClose = decode(payload)?;
            tx.iterators.remove(&req.id);
            Ok(QueryResponse {
                has_more: false,
                id: req.id,
                ..Default::default()
            }
            .encode_to_vec())
        }
        MessageType::GetStateMultiple => {
            let req: GetStateMultiple = decode(payload)?;
            if !req.collection.is_empty() {
                return Err(unsupported("private data"));
            }
            let values = req
                .keys
                .iter()
                .map(|k| world.get(&key.channel, namespace, k).unwrap_or_default())
                .collect();
            Ok(GetStateMultipleResult { values }.encode_to_vec())
        }
        MessageType::WriteBatchState => {
            let req: WriteBatchState = decode(payload)?;
            for rec in req.rec {
                if !rec.collection.is_empty() {
                    return Err(unsupported("private data"));
                }
                match WriteRecordType::try_from(rec.r#type) {
                    Ok(WriteRecordType::PutState) => tx.writes.push(put(rec.key, rec.value)),
                    Ok(WriteRecordType::DelState) => tx.writes.push((rec.key, None)),
                    Ok(WriteRecordType::PutStateMetadata) => {
                        return Err(unsupported("state metadata"))
                    }
                    Ok(WriteRecordType::PurgePrivateData) => {
                        return Err(unsupported("private data"))
                    }
                    _ => return Err("unknown operation type".into()),
                }
            }
            Ok(Vec::new())
        }
        MessageType::InvokeChaincode => Err(unsupported("chaincode-to-chaincode invocation")),
        MessageType::GetQueryResult => Err(unsupported("rich query")),
        MessageType::GetHistoryForKey => Err(unsupported("key history")),
        MessageType::GetStateMetadata | MessageType::PutStateMetadata => {
            Err(unsupported("state metadata"))
        }
        MessageType::GetPrivateDataHash | MessageType::PurgePrivateData => {
            Err(unsupported("private data"))
        }
        other => Err(unsupported(other.fabric_name())),
    }
}

/// A PUT_STATE write. Go decodes an empty `bytes` field as nil, and the
/// peer's write set records a nil value as a delete: so does this.
fn put(key: String, value: Vec<u8>) -> Write {
    if value.is_empty() {
        (key, None)
    } else {
        (key, Some(value))
    }
}

/// The next batch of an iterator, exactly as the peer's
/// `BuildQueryResponse` cuts it: read ahead one record past a full batch to
/// know there is more; close the iterator when it runs out or hits the
/// total limit.
fn next_batch(config: &Config, tx: &mut TxContext, id: &str) -> QueryResponse {
    let namespace = &config.chaincode_name;
    let Some(iter) = tx.iterators.get_mut(id) else {
        return QueryResponse {
            id: id.to_owned(),
            ..Default::default()
        };
    };
    loop {
        if iter.returned >= config.total_query_limit {
            break;
        }
        match iter.rest.next() {
            None => break,
            Some((key, value)) => {
                let row = QueryResultBytes {
                    result_bytes: Kv {
                        namespace: namespace.clone(),
                        key,
                        value,
                    }
                    .encode_to_vec(),
                };
                if iter.pending.len() >= config.batch_size {
                    let batch = std::mem::replace(&mut iter.pending, vec![row]);
                    iter.returned += 1;
                    return QueryResponse {
                        results: batch,
                        has_more: true,
                        id: id.to_owned(),
                        metadata: Vec::new(),
                    };
                }
                iter.pending.push(row);
                iter.returned += 1;
            }
        }
    }
    let batch = std::mem::take(&mut iter.pending);
    tx.iterators.remove(id);
    QueryResponse {
        results: batch,
        has_more: false,
        id: id.to_owned(),
        metadata: Vec::new(),
    }
}
