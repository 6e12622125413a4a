//! One peer's Connect stream: registration, then transactions, each its own
//! task, and the routing of the peer's answers to the requests waiting for
//! them. Transport-independent: the gRPC server and the in-process mode both
//! run `run`.
//!
//! The state that matters lives here and nowhere else: the map of requests
//! waiting for an answer, keyed by channel and txid. When the stream ends the
//! map is dropped, so every waiting request fails at once with
//! [`StubError::StreamClosed`] and its transaction finishes; nothing waits
//! for an answer that cannot come.

use crate::chaincode::{Chaincode, Response};
use crate::context::TxContext;
use crate::limits::{budgeted, LogBudget};
use crate::metrics::{Metrics, StatusClass};
use crate::proposal::Decoded;
use crate::stub::{Stub, StubError};
use ccaas_proto::{
    ChaincodeAdditionalParams, ChaincodeEvent, ChaincodeId, ChaincodeInput, ChaincodeMessage,
    Message, MessageType, Timestamp,
};
use futures_util::{FutureExt, StreamExt};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn, Instrument};

/// The default deadline of one request to the peer: a little past the
/// peer's own 30 s `chaincode.executetimeout`, after which the peer has
/// given up on the transaction anyway.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(35);

/// How long the shim waits for REGISTERED before it logs that the peer may
/// not know the package ID.
pub const DEFAULT_REGISTRATION_WARNING: Duration = Duration::from_secs(10);

/// The default bound on transactions running at once, per server: a peer's
/// own default endorsement concurrency (`peer.limits.concurrency.endorserService`
/// in core.yaml is 2500), so one peer at its limit never waits on us, while
/// a flood cannot run unbounded chaincode at once. Transactions past it
/// wait their turn (a small task each); none is refused.
pub const DEFAULT_MAX_CONCURRENT_TRANSACTIONS: usize = 2500;

/// The default bound on transactions running at once on one stream: a
/// fifth of the server's, so that one stream whose peer leaves its
/// requests unanswered holds at most that, and the others keep their
/// turn. A peer driving a chaincode hard runs tens at once per stream.
pub const DEFAULT_MAX_TRANSACTIONS_PER_STREAM: usize = 500;

/// How a stream behaves.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The package ID the chaincode registers with (`label:sha256`).
    pub package_id: String,
    /// The deadline of each request to the peer.
    pub request_timeout: Duration,
    /// When to log that the peer has not answered REGISTER.
    pub registration_warning: Duration,
    /// Transactions running at once (shared by every stream of a server).
    pub max_concurrent_transactions: usize,
    /// Transactions running at once on this stream (its fair share of
    /// `max_concurrent_transactions`).
    pub max_transactions_per_stream: usize,
    /// The largest message taken from the peer: past it the stream ends
    /// with `RESOURCE_EXHAUSTED`, naming both sizes.
    pub max_recv_message_bytes: usize,
    /// The server's metrics, when its operations endpoint is on.
    pub(crate) metrics: Option<Arc<Metrics>>,
}

impl StreamConfig {
    /// The defaults, for `package_id`.
    pub fn new(package_id: impl Into<String>) -> Self {
        StreamConfig {
            package_id: package_id.into(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            registration_warning: DEFAULT_REGISTRATION_WARNING,
            max_concurrent_transactions: DEFAULT_MAX_CONCURRENT_TRANSACTIONS,
            max_transactions_per_stream: DEFAULT_MAX_TRANSACTIONS_PER_STREAM,
            max_recv_message_bytes: ccaas_proto::PEER_MAX_MESSAGE_BYTES,
            metrics: None,
        }
    }
}

/// What the peer said about itself in READY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeerCapabilities {
    /// READY's `ChaincodeAdditionalParams` (Fabric v3.1+); `None` from a
    /// v2.5 or v3.0 peer, whose READY is empty.
    pub additional_params: Option<ChaincodeAdditionalParams>,
}

impl PeerCapabilities {
    /// Whether WRITE_BATCH_STATE may be sent, and its most records.
    pub fn write_batch(&self) -> Option<u32> {
        self.additional_params
            .filter(|p| p.use_write_batch && p.max_size_write_batch > 0)
            .map(|p| p.max_size_write_batch)
    }

    /// Whether GET_STATE_MULTIPLE may be sent, and its most keys.
    pub fn get_multiple(&self) -> Option<u32> {
        self.additional_params
            .filter(|p| p.use_get_multiple_keys && p.max_size_get_multiple_keys > 0)
            .map(|p| p.max_size_get_multiple_keys)
    }
}

pub(crate) type TxKey = (String, String);

/// What transactions share with their stream: the way out, and the map of
/// requests waiting for an answer (`None` once the stream has ended).
pub(crate) struct StreamLink {
    out: mpsc::Sender<ChaincodeMessage>,
    pending: Mutex<Option<HashMap<TxKey, oneshot::Sender<ChaincodeMessage>>>>,
    pub(crate) request_timeout: Duration,
    capabilities: RwLock<PeerCapabilities>,
    /// The budget of the lines the peer's messages can trigger (a flood
    /// of them writes a few a second).
    lines: LogBudget,
    metrics: Option<Arc<Metrics>>,
}

impl StreamLink {
    pub(crate) fn capabilities(&self) -> PeerCapabilities {
        self.capabilities
            .read()
            .map(|c| *c)
            .unwrap_or_else(|poisoned| *poisoned.into_inner())
    }

    fn pending(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<HashMap<TxKey, oneshot::Sender<ChaincodeMessage>>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `message` and waits for the peer's answer. The caller holds its
    /// transaction's request lock, so one transaction has at most one.
    pub(crate) async fn request(
        &self,
        message: ChaincodeMessage,
        request: &'static str,
    ) -> Result<ChaincodeMessage, StubError> {
        let key = (message.channel_id.clone(), message.txid.clone());
        let (tx, rx) = oneshot::channel();
        match self.pending().as_mut() {
            Some(map) => {
                map.insert(key.clone(), tx);
            }
            None => return Err(StubError::StreamClosed { request }),
        }
        // Removes the entry however this ends: answered, timed out, or the
        // chaincode dropped the future.
        let mut entry = PendingEntry {
            link: self,
            key,
            routed: false,
        };
        let _timer = self.metrics.as_deref().map(|m| {
            m.sent_bytes(message.payload.len());
            m.ledger_timer(request)
        });
        if self.out.send(message).await.is_err() {
            return Err(StubError::StreamClosed { request });
        }
        match tokio::time::timeout(self.request_timeout, rx).await {
            Ok(Ok(answer)) => {
                // `route` took the entry out to answer it: no second look-up.
                entry.routed = true;
                Ok(answer)
            }
            Ok(Err(_)) => Err(StubError::StreamClosed { request }),
            Err(_) => Err(StubError::Timeout {
                request,
                timeout: self.request_timeout,
            }),
        }
    }

    /// Whether the stream has ended.
    pub(crate) fn is_closed(&self) -> bool {
        self.pending().is_none()
    }

    /// Sends without waiting (COMPLETED, ERROR, KEEPALIVE).
    async fn send(&self, message: ChaincodeMessage) -> bool {
        if let Some(metrics) = &self.metrics {
            metrics.sent_bytes(message.payload.len());
        }
        self.out.send(message).await.is_ok()
    }

    /// Hands the peer's answer to the request waiting for it. The key moves
    /// out of the answer (its channel and txid are not read after this).
    fn route(&self, mut message: ChaincodeMessage) {
        let key = (
            std::mem::take(&mut message.channel_id),
            std::mem::take(&mut message.txid),
        );
        let waiting = self.pending().as_mut().and_then(|map| map.remove(&key));
        match waiting {
            Some(tx) => {
                // The request may have timed out just now; then nobody is
                // listening and the answer is dropped.
                let _ = tx.send(message);
            }
            None => budgeted!(
                self.lines,
                warn!(
                    txid = %key.1,
                    channel = %key.0,
                    kind = %message.kind_name(),
                    "ignoring an answer from the peer that no request is waiting for"
                )
            ),
        }
    }

    /// The stream has ended: every waiting request fails now.
    fn close(&self) {
        let dropped = self.pending().take();
        if let Some(map) = dropped {
            if !map.is_empty() {
                warn!(
                    requests = map.len(),
                    "the stream ended with requests waiting for the peer; they fail now"
                );
            }
        }
    }
}

struct PendingEntry<'a> {
    link: &'a StreamLink,
    key: TxKey,
    /// The answer came: `route` removed the entry already.
    routed: bool,
}

impl Drop for PendingEntry<'_> {
    fn drop(&mut self) {
        if self.routed {
            return;
        }
        if let Some(map) = self.link.pending().as_mut() {
            map.remove(&self.key);
        }
    }
}

/// The state of the registration handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// REGISTER sent, waiting for REGISTERED.
    Registering,
    /// REGISTERED received, waiting for READY.
    Registered,
    /// READY received.
    Ready,
}

/// What the server asks of its streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Lifecycle {
    /// Serve.
    Serving,
    /// Refuse new transactions; end the stream once none is running.
    Draining,
    /// The grace period is over: end now, abandoning what still runs.
    Stopping,
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The peer closed its side.
    PeerClosed,
    /// The transport failed (the peer's side is gone).
    TransportError,
    /// The server is shutting down and no transaction was left running.
    Shutdown,
    /// The peer sent a message past the limit: the stream ends with
    /// `RESOURCE_EXHAUSTED`.
    MessageTooLarge {
        /// The message's size, as its length prefix says.
        size: u64,
        /// The limit (`max_recv_message_bytes`).
        limit: usize,
    },
}

/// An error of the inbound stream: a transport error, or a message tonic
/// refused for its size.
pub(crate) trait InboundError: std::fmt::Display {
    /// The size of a message refused for being past the limit.
    fn too_large(&self) -> Option<u64> {
        None
    }
}

impl InboundError for tonic::Status {
    fn too_large(&self) -> Option<u64> {
        crate::limits::too_large(self)
    }
}

impl InboundError for std::convert::Infallible {}

/// Runs the chaincode on one stream until the peer ends it (or `shutdown`
/// turns true and the transactions in flight have finished).
///
/// `inbound` yields the peer's messages (`Err` for a transport error);
/// `out` takes the chaincode's. `limiter` bounds transactions across every
/// stream that shares it.
pub(crate) async fn run<C, S, E>(
    chaincode: Arc<C>,
    config: StreamConfig,
    limiter: Arc<Semaphore>,
    mut inbound: S,
    out: mpsc::Sender<ChaincodeMessage>,
    mut shutdown: watch::Receiver<Lifecycle>,
) -> StreamEnd
where
    C: Chaincode,
    S: futures_core::Stream<Item = Result<ChaincodeMessage, E>> + Unpin,
    E: InboundError,
{
    let link = Arc::new(StreamLink {
        out,
        pending: Mutex::new(Some(HashMap::new())),
        request_timeout: config.request_timeout,
        capabilities: RwLock::new(PeerCapabilities::default()),
        lines: crate::limits::per_stream_lines(),
        metrics: config.metrics.clone(),
    });
    let _stream_open = config.metrics.as_deref().map(Metrics::stream);
    let register = ChaincodeMessage::new(
        MessageType::Register,
        ChaincodeId {
            name: config.package_id.clone(),
            ..Default::default()
        }
        .encode_to_vec(),
    );
    if !link.send(stamped(register)).await {
        return StreamEnd::TransportError;
    }
    debug!(package_id = %config.package_id, "sent REGISTER");

    let mut phase = Phase::Registering;
    // This stream's fair share of the server's transactions.
    let share = Arc::new(Semaphore::new(config.max_transactions_per_stream.max(1)));
    let mut running: JoinSet<()> = JoinSet::new();
    let mut in_flight: HashMap<TxKey, tokio::task::AbortHandle> = HashMap::new();
    let mut draining = *shutdown.borrow() >= Lifecycle::Draining;
    let warning = tokio::time::sleep(config.registration_warning);
    tokio::pin!(warning);
    let mut warned = false;

    let end = loop {
        if draining && running.is_empty() {
            break StreamEnd::Shutdown;
        }
        tokio::select! {
            // Shutdown first: a transaction that arrives with it is refused.
            biased;
            changed = shutdown.changed() => {
                let now = if changed.is_err() { Lifecycle::Stopping } else { *shutdown.borrow() };
                if now == Lifecycle::Stopping {
                    if !running.is_empty() {
                        warn!(transactions = running.len(), "abandoning the transactions still running");
                    }
                    running.abort_all();
                    break StreamEnd::Shutdown;
                }
                if now == Lifecycle::Draining && !draining {
                    draining = true;
                    if !running.is_empty() {
                        info!(transactions = running.len(), "shutting down: waiting for the transactions in flight");
                    }
                }
            }
            message = inbound.next() => {
                let message = match message {
                    None => break StreamEnd::PeerClosed,
                    Some(Err(e)) => {
                        if let Some(size) = e.too_large() {
                            let limit = config.max_recv_message_bytes;
                            warn!(
                                size,
                                limit,
                                "the peer sent a message of {size} bytes, past the limit of {limit}: the stream \
                                 ends with RESOURCE_EXHAUSTED. If the peer's messages are really this large, \
                                 raise CHAINCODE_MAX_MESSAGE_SIZE (ServerConfig::max_recv_message_bytes)"
                            );
                            break StreamEnd::MessageTooLarge { size, limit };
                        }
                        // A peer that stops or restarts ends its streams this
                        // way: routine, one line (a flood of them, a few).
                        budgeted!(crate::limits::STREAM_LINES, info!(reason = %e, "the stream to the peer broke"));
                        break StreamEnd::TransportError;
                    }
                    Some(Ok(m)) => m,
                };
                if let Some(metrics) = &config.metrics {
                    metrics.received_bytes(message.payload.len());
                }
                match message.kind() {
                    Some(MessageType::Registered) if phase == Phase::Registering => {
                        phase = Phase::Registered;
                        if let Some(metrics) = &config.metrics {
                            metrics.registered();
                        }
                        info!(package_id = %config.package_id, "registered with the peer");
                    }
                    Some(MessageType::Ready) if phase != Phase::Ready => {
                        let capabilities = read_ready(&message.payload);
                        if let Ok(mut c) = link.capabilities.write() {
                            *c = capabilities;
                        }
                        if phase == Phase::Registering {
                            info!(package_id = %config.package_id, "registered with the peer");
                            if let Some(metrics) = &config.metrics {
                                metrics.registered();
                            }
                        }
                        phase = Phase::Ready;
                        match capabilities.additional_params {
                            Some(p) => info!(
                                write_batch = p.use_write_batch,
                                max_write_batch = p.max_size_write_batch,
                                get_multiple = p.use_get_multiple_keys,
                                max_get_multiple = p.max_size_get_multiple_keys,
                                "the peer is ready (Fabric v3.1+ parameters)"
                            ),
                            None => info!("the peer is ready"),
                        }
                    }
                    Some(kind @ (MessageType::Transaction | MessageType::Init)) => {
                        if phase == Phase::Registering {
                            budgeted!(link.lines, warn!(txid = %message.txid, channel = %message.channel_id,
                                "ignoring a {} before the peer answered REGISTER", kind.fabric_name()));
                            continue;
                        }
                        let key = (message.channel_id.clone(), message.txid.clone());
                        if in_flight.get(&key).is_some_and(|task| !task.is_finished()) {
                            budgeted!(link.lines, warn!(txid = %message.txid, channel = %message.channel_id,
                                "the peer sent a transaction that is already running; answering ERROR"));
                            let error = error_message(&message, "transaction already running on this stream");
                            link.send(error).await;
                            continue;
                        }
                        if draining {
                            let error = error_message(&message, "the chaincode server is shutting down");
                            link.send(error).await;
                            continue;
                        }
                        let span = tracing::info_span!("tx", txid = %message.txid, channel = %message.channel_id, function = tracing::field::Empty);
                        let task = execute(Arc::clone(&chaincode), Arc::clone(&link), Arc::clone(&limiter), Arc::clone(&share), kind, message);
                        // Boxed: the future holds the chaincode's, kilobytes
                        // that spawning and finishing a task otherwise copy
                        // several times (issue 21: 4.5 % of a 1 x 1
                        // transaction's instructions, mostly memcpy).
                        let handle = running.spawn(Box::pin(task).instrument(span));
                        in_flight.insert(key, handle);
                    }
                    Some(MessageType::Response | MessageType::Error) => link.route(message),
                    Some(MessageType::Keepalive) => {
                        debug!("KEEPALIVE from the peer; echoing it");
                        link.send(message).await;
                    }
                    _ => budgeted!(link.lines, warn!(
                        kind = %message.kind_name(),
                        txid = %message.txid,
                        channel = %message.channel_id,
                        "ignoring a message the shim does not expect here"
                    )),
                }
            }
            done = running.join_next(), if !running.is_empty() => {
                if let Some(Err(e)) = done {
                    if e.is_panic() {
                        error!("a transaction task failed outside the chaincode");
                    }
                }
                in_flight.retain(|_, handle| !handle.is_finished());
            }
            () = &mut warning, if phase == Phase::Registering && !warned => {
                warned = true;
                if let Some(metrics) = &config.metrics {
                    metrics.registration_warning();
                }
                warn!(
                    package_id = %config.package_id,
                    waited = ?config.registration_warning,
                    "the peer has not answered REGISTER for `{}`: a peer accepts only the ID of a package it \
                     installed (`label:sha256`); get it with `ccaas id PACKAGE.tgz` or `peer lifecycle chaincode \
                     queryinstalled`. Still waiting: the peer may be slow",
                    config.package_id
                );
            }
        }
    };
    link.close();
    // Transactions still running see their requests fail at once and
    // finish on their own; their answers have nowhere to go.
    running.detach_all();
    match end {
        StreamEnd::PeerClosed => {
            budgeted!(
                crate::limits::STREAM_LINES,
                info!("the peer closed the stream")
            );
        }
        StreamEnd::TransportError | StreamEnd::MessageTooLarge { .. } => {}
        StreamEnd::Shutdown => info!("closed the stream: shutting down"),
    }
    end
}

fn read_ready(payload: &[u8]) -> PeerCapabilities {
    if payload.is_empty() {
        return PeerCapabilities::default();
    }
    match ChaincodeAdditionalParams::decode(payload) {
        Ok(params) => PeerCapabilities {
            additional_params: Some(params),
        },
        Err(e) => {
            warn!(error = %e, "READY's payload is not a ChaincodeAdditionalParams; using none of its features");
            PeerCapabilities::default()
        }
    }
}

fn stamped(mut message: ChaincodeMessage) -> ChaincodeMessage {
    message.timestamp = Some(Timestamp::now());
    message
}

fn error_message(to: &ChaincodeMessage, text: &str) -> ChaincodeMessage {
    stamped(ChaincodeMessage::for_tx(
        MessageType::Error,
        text.as_bytes().to_vec(),
        &to.channel_id,
        &to.txid,
    ))
}

/// Runs one transaction and sends its answer.
async fn execute<C: Chaincode>(
    chaincode: Arc<C>,
    link: Arc<StreamLink>,
    limiter: Arc<Semaphore>,
    share: Arc<Semaphore>,
    kind: MessageType,
    mut message: ChaincodeMessage,
) {
    let started = link.metrics.as_ref().map(|_| std::time::Instant::now());
    let waiting = link.metrics.as_deref().map(Metrics::waiting);
    // The stream's share first, then the server's bound: a stream waits
    // for the server's permits with at most its share of transactions, so
    // one stream's backlog never queues ahead of every other stream.
    let Ok(_turn) = share.acquire_owned().await else {
        return;
    };
    let Ok(_permit) = limiter.acquire_owned().await else {
        return;
    };
    drop(waiting);
    let _in_flight = link.metrics.as_deref().map(Metrics::in_flight);
    if link.is_closed() {
        // Its stream ended while it waited: nobody can receive its answer.
        debug!("dropping a transaction whose stream ended before it started");
        return;
    }
    let prepared = prepare(&link, &mut message);
    let function = match &prepared {
        Ok(context) => context
            .input
            .args
            .first()
            .map(|f| String::from_utf8_lossy(f)),
        Err(_) => None,
    };
    tracing::Span::current().record(
        "function",
        tracing::field::display(function.as_deref().unwrap_or("")),
    );
    let series = link.metrics.as_deref().map(|m| {
        let series = m.tx(
            &message.channel_id,
            function
                .as_deref()
                .unwrap_or(crate::metrics::INVALID_FUNCTION),
        );
        series.received();
        series
    });
    drop(function);
    let mut class = StatusClass::Error;
    let answer = match prepared {
        Err(text) => {
            budgeted!(link.lines, warn!("refusing the transaction: {text}"));
            error_message(&message, &text)
        }
        Ok(context) => {
            let context = Arc::new(context);
            let stub = Stub::new(Arc::clone(&context));
            let run = async {
                match kind {
                    MessageType::Init => chaincode.init(&stub).await,
                    _ => chaincode.invoke(&stub).await,
                }
            };
            match AssertUnwindSafe(run).catch_unwind().await {
                // As the Go shim: an INIT that fails is answered ERROR.
                Ok(response)
                    if kind == MessageType::Init && response.status >= crate::chaincode::ERROR =>
                {
                    info!(status = response.status, response = %response.message, "init failed");
                    let mut error = error_message(&message, &response.message);
                    error.chaincode_event = context.take_event();
                    error
                }
                Ok(response) => match context.finish_batch().await {
                    Ok(()) => {
                        class = StatusClass::of(response.status);
                        completed(&message, response, context.take_event())
                    }
                    Err(e) => {
                        warn!("sending the write batch failed: {e}");
                        error_message(&message, &format!("failed send batch: {e}"))
                    }
                },
                Err(panic) => {
                    if let Some(metrics) = &link.metrics {
                        metrics.panicked();
                    }
                    let text = panic_message(panic.as_ref());
                    error!("the chaincode panicked: {text}");
                    error_message(&message, &format!("chaincode panicked: {text}"))
                }
            }
        }
    };
    if let (Some(series), Some(started)) = (series, started) {
        series.completed(class, started.elapsed());
    }
    let status = answer.kind_name();
    if link.send(answer).await {
        debug!("answered {status}");
    } else {
        debug!("the stream ended before the answer could be sent");
    }
}

/// The transaction's context; the proposal moves out of `message` (only
/// its channel and txid are needed for the answer).
fn prepare(link: &Arc<StreamLink>, message: &mut ChaincodeMessage) -> Result<TxContext, String> {
    let input = ChaincodeInput::decode(message.payload.as_slice())
        .map_err(|e| format!("the transaction's payload is not a valid `ChaincodeInput`: {e}"))?;
    let proposal = match message.proposal.take() {
        Some(signed) => Some(Decoded::new(signed).map_err(|e| crate::chaincode::error_chain(&e))?),
        None => None,
    };
    Ok(TxContext::new(
        Arc::clone(link),
        message.channel_id.clone(),
        message.txid.clone(),
        input,
        proposal,
    ))
}

fn completed(
    to: &ChaincodeMessage,
    response: Response,
    event: Option<ChaincodeEvent>,
) -> ChaincodeMessage {
    if !response.is_endorsable() {
        info!(status = response.status, response = %response.message, "the chaincode answered an error");
    }
    let mut message = stamped(ChaincodeMessage::for_tx(
        MessageType::Completed,
        ccaas_proto::Response::from(response).encode_to_vec(),
        &to.channel_id,
        &to.txid,
    ));
    message.chaincode_event = event;
    message
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Both ends of an in-process stream: what [`in_process`] returns.
pub struct InProcess {
    /// Messages to the chaincode, as the peer sends them. Dropping it ends
    /// the stream, as a peer that goes away.
    pub to_chaincode: mpsc::Sender<ChaincodeMessage>,
    /// Messages from the chaincode, REGISTER first.
    pub from_chaincode: mpsc::Receiver<ChaincodeMessage>,
}

/// Runs `chaincode` on a stream of in-memory channels instead of a socket,
/// for a peer simulator in the same process (`ccaas-peersim`'s in-process
/// mode, chaincode unit tests). Needs a tokio runtime.
pub fn in_process<C: Chaincode>(chaincode: Arc<C>, config: StreamConfig) -> InProcess {
    let (to_chaincode, inbound) = mpsc::channel::<ChaincodeMessage>(1024);
    let (out, from_chaincode) = mpsc::channel(1024);
    let limiter = Arc::new(Semaphore::new(config.max_concurrent_transactions.max(1)));
    let (_never, shutdown) = watch::channel(Lifecycle::Serving);
    let inbound =
        tokio_stream::wrappers::ReceiverStream::new(inbound).map(Ok::<_, std::convert::Infallible>);
    tokio::spawn(async move {
        let _keep = _never;
        run(chaincode, config, limiter, inbound, out, shutdown).await;
    });
    InProcess {
        to_chaincode,
        from_chaincode,
    }
}
