//! The peer's side of one stream as a state machine over messages, after
//! Fabric's `core/chaincode/handler.go`: the states Created and Ready, the
//! transaction contexts, the one-request-per-transaction rule, the query
//! iterators, the simulations (write sets, and the txSimulator's rules on
//! mixing writes with private or paginated queries) committed on success,
//! and chaincode-to-chaincode calls to the ledger's other handlers.

use crate::couch::{go_json, Query};
use crate::proposal::uuid;
use crate::session::{Config, Registration, SessionError, StateDatabase, StreamEnd, TxOutcome};
use crate::transport::Transport;
use crate::world::{CommitInfo, KeyWrite, Metadata, ValueWrite, WriteSet};
use ccaas_proto::common::{ChannelHeader, Header, SignatureHeader};
use ccaas_proto::msp::SerializedIdentity;
use ccaas_proto::queryresult::Kv;
use ccaas_proto::{
    ChaincodeId, ChaincodeInput, ChaincodeMessage, ChaincodeSpec, DelState, GetHistoryForKey,
    GetQueryResult, GetState, GetStateByRange, GetStateMetadata, GetStateMultiple,
    GetStateMultipleResult, Message, MessageType, Proposal, PutState, PutStateMetadata,
    QueryMetadata, QueryResponse, QueryResponseMetadata, QueryResultBytes, QueryStateClose,
    QueryStateNext, Response, SignedProposal, StateMetadata, StateMetadataResult, Timestamp,
    WriteBatchState, WriteRecordType,
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

/// What the session (or a calling chaincode's handler) asks of the handler.
#[derive(Debug)]
pub(crate) enum Command {
    /// Run a transaction (TRANSACTION or INIT) and report its outcome.
    Start {
        message: ChaincodeMessage,
        reply: Reply,
        /// The simulation to run in: the caller's, for a chaincode called
        /// on the caller's channel (the peer shares its `TXSimulator`).
        sim: Option<Simulation>,
    },
    /// Send a message as is.
    Raw(ChaincodeMessage),
    /// The caller gave up on a transaction (execute timeout).
    Abandon(TxKey),
    /// End the stream.
    End,
}

/// Who waits for a transaction's end.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A session's invocation: committed on success.
    Session(oneshot::Sender<Result<TxOutcome, SessionError>>),
    /// Another chaincode's INVOKE_CHAINCODE: not committed here; the
    /// callee's message and simulation go back to the caller.
    Caller(oneshot::Sender<CalleeDone>),
}

/// How a called chaincode's transaction ended.
#[derive(Debug)]
pub(crate) struct CalleeDone {
    /// COMPLETED or ERROR as the callee sent it, or why it did not run
    /// (worded as after the peer's "execute failed: ").
    pub(crate) result: Result<ChaincodeMessage, Failure>,
    /// The simulation it ran in, handed back.
    pub(crate) sim: Option<Simulation>,
}

impl Reply {
    fn fail(self, session: SessionError, caller: Failure, sim: Option<Simulation>) {
        match self {
            Reply::Session(tx) => {
                let _ = tx.send(Err(session));
            }
            Reply::Caller(tx) => {
                let _ = tx.send(CalleeDone {
                    result: Err(caller),
                    sim,
                });
            }
        }
    }
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

/// A query iterator, as the peer's `QueryResponseGenerator` drives it:
/// the marshalled records still to send.
#[derive(Debug)]
struct QueryIter {
    rest: std::vec::IntoIter<Vec<u8>>,
    pending: Vec<QueryResultBytes>,
    returned: u32,
    /// The total return limit (`totalQueryLimit`, or a smaller page size).
    limit: u32,
}

/// A transaction's simulation (the peer's `TXSimulator`): its write set
/// and the flags the peer's `txSimulator` keeps to refuse mixing writes
/// with private data queries or paginated queries.
#[derive(Debug, Default)]
pub(crate) struct Simulation {
    writes: WriteSet,
    wrote: bool,
    private_queried: bool,
    paginated: bool,
}

impl Simulation {
    /// `checkWritePrecondition`.
    fn check_write(&mut self, txid: &str) -> Result<(), Failure> {
        if self.private_queried {
            return Err(format!("txid [{txid}]: unsuppored transaction. Transaction has already performed queries on pvt data. Writes are not allowed"));
        }
        if self.paginated {
            return Err(format!("txid [{txid}]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed"));
        }
        self.wrote = true;
        Ok(())
    }

    /// `checkBeforePvtdataQueries`.
    fn before_private_query(&mut self, txid: &str) -> Result<(), Failure> {
        if self.wrote {
            return Err(format!("txid [{txid}]: unsuppored transaction. Queries on pvt data is supported only in a read-only transaction"));
        }
        self.private_queried = true;
        Ok(())
    }

    /// `checkBeforePaginatedQueries`.
    fn before_paginated(&mut self, txid: &str) -> Result<(), Failure> {
        if self.wrote {
            return Err(format!("txid [{txid}]: unsuppored transaction. Paginated queries are supported only in a read-only transaction"));
        }
        self.paginated = true;
        Ok(())
    }

    fn entry(&mut self, namespace: &str, collection: &str, key: &str) -> &mut KeyWrite {
        self.writes
            .entry((namespace.to_owned(), collection.to_owned(), key.to_owned()))
            .or_default()
    }
}

/// A running transaction (the peer's `TransactionContext`).
#[derive(Debug)]
struct TxContext {
    reply: Reply,
    sim: Simulation,
    iterators: HashMap<String, QueryIter>,
    /// The proposal's timestamp (the history's), or when it started.
    timestamp: Timestamp,
    /// The signed proposal, passed on to called chaincode.
    proposal: Option<SignedProposal>,
    /// An INIT (private data APIs are refused).
    init: bool,
}

/// A callee that did not answer within the execute timeout, as the peer
/// words it after "execute failed: ".
const TIMEOUT: &str = "error sending: timeout expired while executing transaction";

/// A called chaincode's answer, back at the caller's handler.
type Invoked = (TxKey, bool, CalleeDone);

pub(crate) struct Handler {
    /// This handler's own commands, for the ledger's chaincode registry.
    commands: mpsc::WeakUnboundedSender<Command>,
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
    invoked_tx: mpsc::UnboundedSender<Invoked>,
    invoked_rx: mpsc::UnboundedReceiver<Invoked>,
}

/// A request's failure, worded as the peer words it after
/// "`TYPE` failed: transaction ID: `txid`: ".
pub(crate) type Failure = String;

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
        commands: mpsc::WeakUnboundedSender<Command>,
        config: Arc<Config>,
        shared: Arc<Shared>,
        transport: Transport,
        registration: watch::Sender<Option<Registration>>,
        ended: watch::Sender<Option<StreamEnd>>,
    ) -> Self {
        let (delayed_tx, delayed_rx) = mpsc::unbounded_channel();
        let (invoked_tx, invoked_rx) = mpsc::unbounded_channel();
        Handler {
            commands,
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
            invoked_tx,
            invoked_rx,
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
                Some((key, same_channel, done)) = self.invoked_rx.recv() => {
                    if let Err(end) = self.invoked(key, same_channel, done).await {
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
            tx.reply.fail(
                SessionError::StreamTerminated,
                "error sending: chaincode stream terminated".into(),
                Some(tx.sim),
            );
        }
        self.ended.send_replace(Some(end));
    }

    async fn send(&mut self, message: ChaincodeMessage) -> Result<(), StreamEnd> {
        send(&self.transport.to_chaincode, message).await
    }

    async fn command(&mut self, command: Command) -> Result<(), StreamEnd> {
        match command {
            Command::Start {
                message,
                reply,
                sim,
            } => {
                let key = TxKey::of(&message);
                if self.state != State::Ready {
                    let registration = self.registration.borrow().clone();
                    reply.fail(
                        SessionError::NotRegistered {
                            registration: registration.clone(),
                        },
                        format!(
                            "could not launch chaincode {}: the chaincode has not registered (registration: {registration:?})",
                            self.config.package_id
                        ),
                        sim,
                    );
                    return Ok(());
                }
                if self.txs.contains_key(&key) {
                    let text = format!("error sending: txid: {}({}) exists", key.txid, key.channel);
                    reply.fail(
                        SessionError::DuplicateTxid {
                            channel: key.channel,
                            txid: key.txid,
                        },
                        text,
                        sim,
                    );
                    return Ok(());
                }
                self.txs.insert(
                    key,
                    TxContext {
                        reply,
                        sim: sim.unwrap_or_default(),
                        iterators: HashMap::new(),
                        timestamp: proposal_timestamp(message.proposal.as_ref())
                            .unwrap_or_else(Timestamp::now),
                        proposal: message.proposal.clone(),
                        init: message.r#type == MessageType::Init as i32,
                    },
                );
                self.send(message).await
            }
            Command::Raw(message) => self.send(message).await,
            Command::Abandon(key) => {
                // A caller that gave up on a callee still gets its
                // simulation back: the peer's simulator keeps what both
                // wrote so far.
                if let Some(TxContext {
                    reply: Reply::Caller(reply),
                    sim,
                    ..
                }) = self.txs.remove(&key)
                {
                    let _ = reply.send(CalleeDone {
                        result: Err(TIMEOUT.into()),
                        sim: Some(sim),
                    });
                }
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
        // Reachable by INVOKE_CHAINCODE from the ledger's other sessions.
        self.config
            .world
            .register_chaincode(&self.config.chaincode_name, self.commands.clone());
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
        let reply = match tx.reply {
            Reply::Caller(reply) => {
                // The caller's handler decides; nothing is committed here.
                let _ = reply.send(CalleeDone {
                    result: Ok(message),
                    sim: Some(tx.sim),
                });
                return;
            }
            Reply::Session(reply) => reply,
        };
        let outcome = if message.r#type == MessageType::Completed as i32 {
            match Response::decode(message.payload.as_slice()) {
                Ok(response) => {
                    if response.status < 400 {
                        self.config.world.commit(
                            &key.channel,
                            tx.sim.writes,
                            CommitInfo {
                                txid: &key.txid,
                                timestamp: tx.timestamp,
                            },
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
        let _ = reply.send(Ok(outcome));
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
        let invoke = message.r#type == MessageType::InvokeChaincode as i32;
        let result = match self.txs.get_mut(&key) {
            None if invoke => Err("could not get valid transaction".to_owned()),
            None => Err("no ledger context".to_owned()),
            Some(tx) if invoke => {
                match start_invoke(&self.config, &self.invoked_tx, &key, tx, &message) {
                    // The answer comes when the callee ends (`invoked`).
                    Ok(()) => return Ok(()),
                    Err(failure) => Err(failure),
                }
            }
            Some(tx) => serve(&self.config, &key, tx, &message),
        };
        let answer = answer_for(&key, message.r#type, result);
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

    /// The callee ended: answer the caller's INVOKE_CHAINCODE with the
    /// callee's marshalled message in a RESPONSE, or an ERROR.
    async fn invoked(
        &mut self,
        key: TxKey,
        same_channel: bool,
        done: CalleeDone,
    ) -> Result<(), StreamEnd> {
        if same_channel {
            if let (Some(tx), Some(sim)) = (self.txs.get_mut(&key), done.sim) {
                tx.sim = sim;
            }
        }
        let result = match done.result {
            Ok(message) => Ok(message.encode_to_vec()),
            Err(failure) if failure.starts_with("execute failed: ") => Err(failure),
            Err(failure) => Err(format!("execute failed: {failure}")),
        };
        let answer = answer_for(&key, MessageType::InvokeChaincode as i32, result);
        self.active.remove(&key);
        self.send(answer).await
    }
}

/// INVOKE_CHAINCODE, as `HandleInvokeChaincode`: finds the callee,
/// and runs its TRANSACTION with the caller's txid on the target
/// channel in a task (the stream goes on meanwhile); on the caller's
/// channel in the caller's simulation, elsewhere in a fresh one that
/// is thrown away (the peer's `sim.Done()`: writes there never reach a
/// ledger, and the call does not fail for them).
fn start_invoke(
    config: &Config,
    invoked: &mpsc::UnboundedSender<Invoked>,
    key: &TxKey,
    tx: &mut TxContext,
    message: &ChaincodeMessage,
) -> Result<(), Failure> {
    let spec: ChaincodeSpec = decode(&message.payload)?;
    let Some(id) = spec.chaincode_id else {
        return Err("ChaincodeSpec has no chaincode_id (the peer would crash on it)".into());
    };
    let (name, channel) = parse_name(&id.name);
    let channel = channel.unwrap_or_else(|| key.channel.clone());
    let mut input = spec.input.unwrap_or_else(|| ChaincodeInput {
        args: Vec::new(),
        decorations: HashMap::new(),
        is_init: false,
    });
    let not_found = format!("execute failed: invalid invocation: [channel {channel}] failed to get chaincode container info for {name}: chaincode {name} not found");
    let Some(callee) = config.world.chaincode(&name) else {
        return Err(not_found);
    };
    if input.is_init {
        return Err(format!("execute failed: invalid invocation: chaincode '{name}' does not require initialization but called as init"));
    }
    // The peer sets the proposal's decorations, none for a call.
    input.decorations.clear();
    let mut start = ChaincodeMessage::for_tx(
        MessageType::Transaction,
        input.encode_to_vec(),
        &channel,
        &key.txid,
    );
    start.proposal = tx.proposal.clone();
    let same_channel = channel == key.channel;
    let sim = if same_channel {
        std::mem::take(&mut tx.sim)
    } else {
        Simulation::default()
    };
    let callee_key = TxKey::of(&start);
    let caller = key.clone();
    let done = invoked.clone();
    let timeout = config.execute_timeout;
    tokio::spawn(async move {
        let (reply, rx) = oneshot::channel();
        let command = Command::Start {
            message: start,
            reply: Reply::Caller(reply),
            sim: Some(sim),
        };
        let outcome = match callee.send(command) {
            Err(mpsc::error::SendError(Command::Start { sim, .. })) => CalleeDone {
                result: Err(not_found.clone()),
                sim,
            },
            Err(_) => CalleeDone {
                result: Err(not_found.clone()),
                sim: None,
            },
            Ok(()) => {
                let mut rx = rx;
                match tokio::time::timeout(timeout, &mut rx).await {
                    Ok(Ok(done)) => done,
                    Ok(Err(_)) => CalleeDone {
                        result: Err("error sending: chaincode stream terminated".into()),
                        sim: None,
                    },
                    Err(_) => {
                        // The callee's handler answers the abandon with the
                        // simulation (or is gone, and so is the simulation).
                        let _ = callee.send(Command::Abandon(callee_key));
                        let sim = rx.await.ok().and_then(|done| done.sim);
                        CalleeDone {
                            result: Err(TIMEOUT.into()),
                            sim,
                        }
                    }
                }
            }
        };
        let _ = done.send((caller, same_channel, outcome));
    });
    Ok(())
}

/// RESPONSE with the payload, or ERROR worded as `HandleTransaction` does.
fn answer_for(key: &TxKey, kind: i32, result: Result<Vec<u8>, Failure>) -> ChaincodeMessage {
    match result {
        Ok(payload) => {
            ChaincodeMessage::for_tx(MessageType::Response, payload, &key.channel, &key.txid)
        }
        Err(failure) => {
            let text = format!(
                "{} failed: transaction ID: {}: {failure}",
                type_name(kind),
                key.txid
            );
            tracing::error!(
                "[{}] Failed to handle {}. error: {text}",
                short(&key.txid),
                type_name(kind)
            );
            ChaincodeMessage::for_tx(
                MessageType::Error,
                text.into_bytes(),
                &key.channel,
                &key.txid,
            )
        }
    }
}

/// The peer's `ParseName`: `name[:version][/channel]`.
fn parse_name(name: &str) -> (String, Option<String>) {
    let (rest, channel) = match name.split_once('/') {
        // An empty channel is the caller's, as `HandleInvokeChaincode` has it.
        Some((rest, channel)) if !channel.is_empty() => (rest, Some(channel.to_owned())),
        Some((rest, _)) => (rest, None),
        None => (name, None),
    };
    let name = rest.split_once(':').map(|(n, _)| n).unwrap_or(rest);
    (name.to_owned(), channel)
}

/// The channel header's timestamp of a signed proposal.
fn proposal_timestamp(signed: Option<&SignedProposal>) -> Option<Timestamp> {
    let proposal = Proposal::decode(signed?.proposal_bytes.as_slice()).ok()?;
    let header = Header::decode(proposal.header.as_slice()).ok()?;
    ChannelHeader::decode(header.channel_header.as_slice())
        .ok()?
        .timestamp
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

fn init_guard(tx: &TxContext) -> Result<(), Failure> {
    if tx.init {
        return Err("private data APIs are not allowed in chaincode Init()".into());
    }
    Ok(())
}

/// The ledger's `validateCollName`: the collection must be defined for the
/// namespace (any name is, unless the simulator was given a list).
fn validate_collection(config: &Config, collection: &str) -> Result<(), Failure> {
    let defined = !collection.is_empty()
        && config
            .collections
            .as_ref()
            .is_none_or(|names| names.contains(collection));
    if defined {
        Ok(())
    } else {
        Err(format!(
            "collection [{collection}] not defined in the collection config for chaincode [{}]",
            config.chaincode_name
        ))
    }
}

/// What a request does to a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// `errorIfCreatorHasNoReadPermission` / `...WritePermission`: the
/// collection must exist (the collection store's lookup, worded as it
/// words it), and a member-only collection needs a creator of a member
/// organisation.
fn check_access(
    config: &Config,
    key: &TxKey,
    tx: &TxContext,
    collection: &str,
    access: Access,
) -> Result<(), Failure> {
    let namespace = &config.chaincode_name;
    if validate_collection(config, collection).is_err() {
        return Err(format!(
            "collection {}/{namespace}/{collection} could not be found",
            key.channel
        ));
    }
    let Some(members) = config.collection_members.get(collection) else {
        return Ok(());
    };
    let Some(msp_id) = creator_msp_id(tx.proposal.as_ref()) else {
        return Err(format!(
            "no signed proposal to check membership of collection [{collection}]"
        ));
    };
    if members.contains(&msp_id) {
        return Ok(());
    }
    let what = match access {
        Access::Read => "read",
        Access::Write => "write",
    };
    Err(format!("tx creator does not have {what} access permission on privatedata in chaincodeName:{namespace} collectionName: {collection}"))
}

/// The MSP ID of a signed proposal's creator.
fn creator_msp_id(signed: Option<&SignedProposal>) -> Option<String> {
    let proposal = Proposal::decode(signed?.proposal_bytes.as_slice()).ok()?;
    let header = Header::decode(proposal.header.as_slice()).ok()?;
    let signature = SignatureHeader::decode(header.signature_header.as_slice()).ok()?;
    let creator = SerializedIdentity::decode(signature.creator.as_slice()).ok()?;
    Some(creator.mspid)
}

/// PUT_STATE and DEL_STATE (`value` empty: a delete, as Go's nil), public
/// or private, as `HandlePutState`/`HandleDelState` and the simulator.
fn write_value(
    config: &Config,
    key: &TxKey,
    tx: &mut TxContext,
    collection: &str,
    state_key: &str,
    value: Vec<u8>,
) -> Result<(), Failure> {
    if !collection.is_empty() {
        init_guard(tx)?;
        check_access(config, key, tx, collection, Access::Write)?;
    }
    tx.sim.check_write(&key.txid)?;
    validate_key_value(config, state_key, &value)?;
    let write = if value.is_empty() {
        ValueWrite::Delete
    } else {
        ValueWrite::Put(value)
    };
    tx.sim
        .entry(&config.chaincode_name, collection, state_key)
        .value = Some(write);
    Ok(())
}

/// PURGE_PRIVATE_DATA, as `HandlePurgePrivateData`.
fn purge(
    config: &Config,
    key: &TxKey,
    tx: &mut TxContext,
    collection: &str,
    state_key: &str,
) -> Result<(), Failure> {
    if collection.is_empty() {
        return Err("only applicable for private data".into());
    }
    init_guard(tx)?;
    check_access(config, key, tx, collection, Access::Write)?;
    tx.sim.check_write(&key.txid)?;
    validate_key_value(config, state_key, &[])?;
    tx.sim
        .entry(&config.chaincode_name, collection, state_key)
        .value = Some(ValueWrite::Purge);
    Ok(())
}

/// PUT_STATE_METADATA, as `HandlePutStateMetadata`: the write set's
/// metadata of the key becomes this one entry.
fn write_metadata(
    config: &Config,
    key: &TxKey,
    tx: &mut TxContext,
    collection: &str,
    state_key: &str,
    metadata: Option<StateMetadata>,
) -> Result<(), Failure> {
    let Some(entry) = metadata else {
        return Err("PutStateMetadata has no metadata (the peer would crash on it)".into());
    };
    if !collection.is_empty() {
        init_guard(tx)?;
        check_access(config, key, tx, collection, Access::Write)?;
    }
    tx.sim.check_write(&key.txid)?;
    validate_key_value(config, state_key, &[])?;
    tx.sim
        .entry(&config.chaincode_name, collection, state_key)
        .metadata = Some(Metadata::from([(entry.metakey, entry.value)]));
    Ok(())
}

/// Reads a value, public or private.
fn read_value(
    config: &Config,
    key: &TxKey,
    tx: &TxContext,
    collection: &str,
    state_key: &str,
) -> Result<Vec<u8>, Failure> {
    let namespace = &config.chaincode_name;
    if collection.is_empty() {
        let value = config.world.get(&key.channel, namespace, state_key);
        return Ok(stored(config, value.unwrap_or_default()));
    }
    init_guard(tx)?;
    check_access(config, key, tx, collection, Access::Read)?;
    let value = config
        .world
        .get_private(&key.channel, namespace, collection, state_key);
    Ok(stored(config, value.unwrap_or_default()))
}

/// A request's `QueryMetadata`, when it carries one
/// (`getQueryMetadataFromBytes`); [`is_paginated`] says whether it asks
/// for pagination.
fn pagination(metadata: &[u8]) -> Result<Option<QueryMetadata>, Failure> {
    if metadata.is_empty() {
        return Ok(None);
    }
    let meta: QueryMetadata = decode(metadata)?;
    Ok(Some(meta))
}

/// `isMetadataSetForPagination`: a page size or a bookmark.
fn is_paginated(meta: &Option<QueryMetadata>) -> bool {
    meta.as_ref()
        .is_some_and(|m| m.page_size != 0 || !m.bookmark.is_empty())
}

/// `calculateTotalReturnLimit`: the page size when smaller than the total
/// query limit (even for private data queries, which are not paginated).
fn total_limit(config: &Config, meta: &Option<QueryMetadata>) -> u32 {
    let total = config.total_query_limit;
    match meta {
        Some(m) if m.page_size > 0 && (m.page_size as u32) < total => m.page_size as u32,
        _ => total,
    }
}

fn kv_bytes(config: &Config, key: String, value: Vec<u8>) -> Vec<u8> {
    Kv {
        namespace: config.chaincode_name.clone(),
        key,
        value: stored(config, value),
    }
    .encode_to_vec()
}

/// A value as the state database gives it back: CouchDB re-marshals a JSON
/// object (`couchDocToKeyValue`: compact, keys sorted); otherwise the
/// bytes as written.
fn stored(config: &Config, value: Vec<u8>) -> Vec<u8> {
    if config.state_database != StateDatabase::CouchDb {
        return value;
    }
    match serde_json::from_slice::<serde_json::Value>(&value) {
        Ok(json @ serde_json::Value::Object(_)) => go_json(&json).into_bytes(),
        _ => value,
    }
}

/// The state database's `ValidateKeyValue`, run by every write after the
/// simulator's own checks (LevelDB only needs UTF-8 keys, which protobuf
/// strings are).
fn validate_key_value(config: &Config, key: &str, value: &[u8]) -> Result<(), Failure> {
    if config.state_database != StateDatabase::CouchDb {
        return Ok(());
    }
    if key.starts_with('_') {
        return Err(format!("invalid key [{key}], cannot begin with \"_\""));
    }
    if key.is_empty() {
        return Err("invalid key. Empty string is not supported as a key by couchdb".into());
    }
    if let Ok(serde_json::Value::Object(fields)) =
        serde_json::from_slice::<serde_json::Value>(value)
    {
        if let Some(field) = fields
            .keys()
            .find(|f| f.as_str() == "~version" || f.starts_with('_'))
        {
            return Err(format!(
                "field [{field}] is not valid for the CouchDB state database"
            ));
        }
    }
    Ok(())
}

/// Refuses rich queries on a LevelDB state database, as the peer does.
fn rich_queries_served(config: &Config, paginated: bool) -> Result<(), Failure> {
    match config.state_database {
        StateDatabase::LevelDb if paginated => {
            Err("ExecuteQueryWithMetadata not supported for leveldb".into())
        }
        StateDatabase::LevelDb => Err("ExecuteQuery not supported for leveldb".into()),
        _ => Ok(()),
    }
}

/// Opens an iterator over `rows` and answers its first batch.
fn open_iterator(config: &Config, tx: &mut TxContext, rows: Vec<Vec<u8>>, limit: u32) -> Vec<u8> {
    let id = uuid();
    tx.iterators.insert(
        id.clone(),
        QueryIter {
            rest: rows.into_iter(),
            pending: Vec::new(),
            returned: 0,
            limit,
        },
    );
    next_batch(config, tx, &id).encode_to_vec()
}

/// One page, as `createQueryResponse` answers a paginated query: every
/// record at once, `has_more` false, and the records fetched and the
/// bookmark in `metadata`.
fn page_response(rows: Vec<Vec<u8>>, bookmark: String) -> Vec<u8> {
    let count = i32::try_from(rows.len()).unwrap_or(i32::MAX);
    QueryResponse {
        results: rows
            .into_iter()
            .map(|result_bytes| QueryResultBytes { result_bytes })
            .collect(),
        has_more: false,
        id: uuid(),
        metadata: QueryResponseMetadata {
            fetched_records_count: count,
            bookmark,
        }
        .encode_to_vec(),
    }
    .encode_to_vec()
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
        return Err(format!("unknown request type {}", message.r#type));
    };
    match kind {
        MessageType::GetState => {
            let req: GetState = decode(payload)?;
            read_value(config, key, tx, &req.collection, &req.key)
        }
        MessageType::PutState => {
            let req: PutState = decode(payload)?;
            write_value(config, key, tx, &req.collection, &req.key, req.value)?;
            Ok(Vec::new())
        }
        MessageType::DelState => {
            let req: DelState = decode(payload)?;
            write_value(config, key, tx, &req.collection, &req.key, Vec::new())?;
            Ok(Vec::new())
        }
        MessageType::GetPrivateDataHash => {
            let req: GetState = decode(payload)?;
            init_guard(tx)?;
            validate_collection(config, &req.collection)?;
            Ok(world
                .private_hash(&key.channel, namespace, &req.collection, &req.key)
                .unwrap_or_default())
        }
        MessageType::PurgePrivateData => {
            let req: DelState = decode(payload)?;
            purge(config, key, tx, &req.collection, &req.key)?;
            Ok(Vec::new())
        }
        MessageType::GetStateMetadata => {
            let req: GetStateMetadata = decode(payload)?;
            if !req.collection.is_empty() {
                init_guard(tx)?;
                check_access(config, key, tx, &req.collection, Access::Read)?;
            }
            let entries = world
                .metadata(&key.channel, namespace, &req.collection, &req.key)
                .into_iter()
                .map(|(metakey, value)| StateMetadata { metakey, value })
                .collect();
            Ok(StateMetadataResult { entries }.encode_to_vec())
        }
        MessageType::PutStateMetadata => {
            let req: PutStateMetadata = decode(payload)?;
            write_metadata(config, key, tx, &req.collection, &req.key, req.metadata)?;
            Ok(Vec::new())
        }
        MessageType::GetStateByRange => {
            let req: GetStateByRange = decode(payload)?;
            let meta = pagination(&req.metadata)?;
            let limit = total_limit(config, &meta);
            if !req.collection.is_empty() {
                init_guard(tx)?;
                check_access(config, key, tx, &req.collection, Access::Read)?;
                tx.sim.before_private_query(&key.txid)?;
                let rows = world
                    .private_range(
                        &key.channel,
                        namespace,
                        &req.collection,
                        &req.start_key,
                        &req.end_key,
                    )
                    .into_iter()
                    .map(|(k, v)| kv_bytes(config, k, v))
                    .collect();
                return Ok(open_iterator(config, tx, rows, limit));
            }
            if let Some(meta) = meta.as_ref().filter(|_| is_paginated(&meta)) {
                tx.sim.before_paginated(&key.txid)?;
                let start = if meta.bookmark.is_empty() {
                    &req.start_key
                } else {
                    &meta.bookmark
                };
                let mut rows = world
                    .range(&key.channel, namespace, start, &req.end_key)
                    .into_iter();
                let page: Vec<Vec<u8>> = rows
                    .by_ref()
                    .take(limit as usize)
                    .map(|(k, v)| kv_bytes(config, k, v))
                    .collect();
                // LevelDB's bookmark: the key after the page, or none.
                let bookmark = rows.next().map(|(k, _)| k).unwrap_or_default();
                return Ok(page_response(page, bookmark));
            }
            let rows = world
                .range(&key.channel, namespace, &req.start_key, &req.end_key)
                .into_iter()
                .map(|(k, v)| kv_bytes(config, k, v))
                .collect();
            Ok(open_iterator(config, tx, rows, limit))
        }
        MessageType::GetQueryResult => {
            let req: GetQueryResult = decode(payload)?;
            let meta = pagination(&req.metadata)?;
            let limit = total_limit(config, &meta);
            if !req.collection.is_empty() {
                init_guard(tx)?;
                check_access(config, key, tx, &req.collection, Access::Read)?;
                tx.sim.before_private_query(&key.txid)?;
                rich_queries_served(config, false)?;
                let query = Query::parse(&req.query).map_err(|e| e.to_string())?;
                let docs = world.collection(&key.channel, namespace, &req.collection);
                let page = query.run(docs, "", 0).map_err(|e| e.to_string())?;
                let rows = page
                    .records
                    .into_iter()
                    .map(|(k, v)| kv_bytes(config, k, v))
                    .collect();
                return Ok(open_iterator(config, tx, rows, limit));
            }
            if let Some(meta) = meta.as_ref().filter(|_| is_paginated(&meta)) {
                tx.sim.before_paginated(&key.txid)?;
                rich_queries_served(config, true)?;
                let query = Query::parse(&req.query).map_err(|e| e.to_string())?;
                let page_size = usize::try_from(meta.page_size.max(0)).unwrap_or(0);
                let docs = world.namespace(&key.channel, namespace);
                let page = query
                    .run(docs, &meta.bookmark, page_size)
                    .map_err(|e| e.to_string())?;
                let rows = page
                    .records
                    .into_iter()
                    .take(limit as usize)
                    .map(|(k, v)| kv_bytes(config, k, v))
                    .collect();
                return Ok(page_response(rows, page.bookmark));
            }
            rich_queries_served(config, false)?;
            let query = Query::parse(&req.query).map_err(|e| e.to_string())?;
            let docs = world.namespace(&key.channel, namespace);
            let page = query.run(docs, "", 0).map_err(|e| e.to_string())?;
            let rows = page
                .records
                .into_iter()
                .map(|(k, v)| kv_bytes(config, k, v))
                .collect();
            Ok(open_iterator(config, tx, rows, limit))
        }
        MessageType::GetHistoryForKey => {
            let req: GetHistoryForKey = decode(payload)?;
            let rows = world
                .history(&key.channel, namespace, &req.key)
                .into_iter()
                .map(|m| m.encode_to_vec())
                .collect();
            Ok(open_iterator(config, tx, rows, config.total_query_limit))
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
                init_guard(tx)?;
                check_access(config, key, tx, &req.collection, Access::Read)?;
            }
            let values = req
                .keys
                .iter()
                .map(|k| {
                    if req.collection.is_empty() {
                        world.get(&key.channel, namespace, k)
                    } else {
                        world.get_private(&key.channel, namespace, &req.collection, k)
                    }
                    .map(|v| stored(config, v))
                    .unwrap_or_default()
                })
                .collect();
            Ok(GetStateMultipleResult { values }.encode_to_vec())
        }
        MessageType::WriteBatchState => {
            // As v3.1's `HandleWriteBatch`: record by record; the first
            // failure answers ERROR, the records before it stay written.
            let req: WriteBatchState = decode(payload)?;
            for rec in req.rec {
                match WriteRecordType::try_from(rec.r#type) {
                    Ok(WriteRecordType::PutState) => {
                        write_value(config, key, tx, &rec.collection, &rec.key, rec.value)?
                    }
                    Ok(WriteRecordType::DelState) => {
                        write_value(config, key, tx, &rec.collection, &rec.key, Vec::new())?
                    }
                    Ok(WriteRecordType::PutStateMetadata) => write_metadata(
                        config,
                        key,
                        tx,
                        &rec.collection,
                        &rec.key,
                        Some(rec.metadata.unwrap_or_default()),
                    )?,
                    Ok(WriteRecordType::PurgePrivateData) => {
                        purge(config, key, tx, &rec.collection, &rec.key)?
                    }
                    _ => return Err("unknown operation type".into()),
                }
            }
            Ok(Vec::new())
        }
        other => Err(format!("unexpected request type {}", other.fabric_name())),
    }
}

/// The next batch of an iterator, exactly as the peer's
/// `BuildQueryResponse` cuts it: read ahead one record past a full batch to
/// know there is more; close the iterator when it runs out or hits the
/// total limit.
fn next_batch(config: &Config, tx: &mut TxContext, id: &str) -> QueryResponse {
    let Some(iter) = tx.iterators.get_mut(id) else {
        return QueryResponse {
            id: id.to_owned(),
            ..Default::default()
        };
    };
    loop {
        if iter.returned >= iter.limit {
            break;
        }
        match iter.rest.next() {
            None => break,
            Some(result_bytes) => {
                let row = QueryResultBytes { result_bytes };
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

#[cfg(test)]
mod tests {
    use super::parse_name;

    #[test]
    fn names_parse_as_the_peers_parse_name() {
        let parsed = |n: &str| parse_name(n);
        assert_eq!(parsed("cc"), ("cc".into(), None));
        assert_eq!(parsed("cc/ch"), ("cc".into(), Some("ch".into())));
        assert_eq!(parsed("cc:1.0/ch"), ("cc".into(), Some("ch".into())));
        assert_eq!(parsed("cc:1.0"), ("cc".into(), None));
        assert_eq!(parsed("cc/"), ("cc".into(), None));
        assert_eq!(parsed("cc/ch/x"), ("cc".into(), Some("ch/x".into())));
    }
}
