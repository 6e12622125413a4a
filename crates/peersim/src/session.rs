//! A simulated peer's stream to one chaincode: registration, transactions,
//! and the test hooks around them.

use crate::dial::{self, DialError, DialOptions};
use crate::handler::{Command, Handler, Reply, Shared, TxKey};
use crate::proposal::{self, Creator, ProposalError, ProposalInput};
use crate::transport::Transport;
use crate::world::{Metadata, WorldState};
use ccaas_core::Connection;
use ccaas_proto::queryresult::KeyModification;
use ccaas_proto::{
    ChaincodeAdditionalParams, ChaincodeEvent, ChaincodeInput, ChaincodeMessage, Message,
    MessageType, Response,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Which peer the simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// Fabric v2.5 (and v3.0): READY is empty; types 24 and 25 end the stream.
    #[default]
    V2_5,
    /// Fabric v3.1+: READY carries `ChaincodeAdditionalParams`;
    /// WRITE_BATCH_STATE and GET_STATE_MULTIPLE are served.
    V3_1,
}

impl Profile {
    /// Whether this peer serves WRITE_BATCH_STATE and GET_STATE_MULTIPLE.
    pub fn has_batches(self) -> bool {
        self == Profile::V3_1
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Profile::V2_5 => "v2.5",
            Profile::V3_1 => "v3.1",
        })
    }
}

impl std::str::FromStr for Profile {
    type Err = SessionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v2.5" | "2.5" | "v3.0" | "3.0" => Ok(Profile::V2_5),
            "v3.1" | "3.1" => Ok(Profile::V3_1),
            _ => Err(SessionError::UnknownProfile {
                found: s.to_owned(),
            }),
        }
    }
}

/// Which state database the simulated peer keeps its world state in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateDatabase {
    /// For unit tests (the default): values read back byte for byte as
    /// written, as LevelDB keeps them, and rich queries served as CouchDB
    /// would; neither database's key or value rules.
    #[default]
    Lenient,
    /// LevelDB, as a peer with `stateDatabase: goleveldb`: rich queries
    /// fail as they do there ("ExecuteQuery not supported for leveldb").
    LevelDb,
    /// CouchDB, as a peer with `stateDatabase: CouchDB`: writes refused as
    /// CouchDB's `ValidateKeyValue` refuses them (keys empty or starting
    /// with `_`, JSON objects with a `_` field or `~version`), and JSON
    /// object values read back as CouchDB gives them to the peer
    /// (re-marshalled by Go: compact, keys sorted), by gets, ranges and
    /// queries alike.
    CouchDb,
}

/// The peer's `chaincode.runtimeParams` defaults: true/1000/true/1000.
pub const DEFAULT_READY_PARAMS: ChaincodeAdditionalParams = ChaincodeAdditionalParams {
    use_write_batch: true,
    max_size_write_batch: 1000,
    use_get_multiple_keys: true,
    max_size_get_multiple_keys: 1000,
};

/// How the simulated peer behaves. Build it with [`Simulator`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The package ID the peer is launching; REGISTER must carry exactly it.
    pub package_id: String,
    /// The chaincode name: the world state namespace and the proposal's
    /// chaincode ID. Default: the package ID's label.
    pub chaincode_name: String,
    /// Which peer to play.
    pub profile: Profile,
    /// READY's payload under [`Profile::V3_1`].
    pub ready_params: ChaincodeAdditionalParams,
    /// The ledger (shared by clones).
    pub world: WorldState,
    /// How long to wait for REGISTER (`chaincode.startuptimeout`, 300 s on a peer).
    pub startup_timeout: Duration,
    /// How long a transaction may run (`chaincode.executetimeout`, 30 s).
    pub execute_timeout: Duration,
    /// Delay before each answer: a request is pending that long, so a
    /// second request of the same transaction is dropped as the peer does.
    pub request_delay: Duration,
    /// Never answer requests (a stalled peer). Also [`Session::set_stalled`].
    pub stalled: bool,
    /// Records per query batch (the peer's `maxResultLimit`, 100).
    pub batch_size: usize,
    /// Most records one query returns (`ledger.state.totalQueryLimit`, 100000).
    pub total_query_limit: u32,
    /// The creator of invocations that name none.
    pub default_creator: Creator,
    /// The private data collections defined for this chaincode; `None`
    /// (the default): any non-empty name is a collection. Requests on
    /// another name fail as the peer's do (`collection [x] not defined in
    /// the collection config for chaincode [cc]`).
    pub collections: Option<BTreeSet<String>>,
    /// Member-only collections (`memberOnlyRead` and `memberOnlyWrite`):
    /// the MSP IDs of their member organisations. A creator of another
    /// organisation is refused as on a peer ("tx creator does not have read
    /// access permission on privatedata ..."). Other collections let every
    /// creator read and write.
    pub collection_members: BTreeMap<String, BTreeSet<String>>,
    /// The state database's rules: [`StateDatabase::Lenient`] by default.
    pub state_database: StateDatabase,
}

/// A simulated peer: its configuration and the ways to open a session.
#[derive(Debug, Clone)]
pub struct Simulator {
    config: Config,
}

impl Simulator {
    /// A v2.5 peer launching `package_id`, with the peer's defaults.
    pub fn new(package_id: impl Into<String>) -> Self {
        let package_id = package_id.into();
        let chaincode_name = match package_id.split_once(':') {
            Some((label, _)) => label.to_owned(),
            None => package_id.clone(),
        };
        Simulator {
            config: Config {
                package_id,
                chaincode_name,
                profile: Profile::V2_5,
                ready_params: DEFAULT_READY_PARAMS,
                world: WorldState::new(),
                startup_timeout: Duration::from_secs(300),
                execute_timeout: Duration::from_secs(30),
                request_delay: Duration::ZERO,
                stalled: false,
                batch_size: 100,
                total_query_limit: 100_000,
                default_creator: Creator::default(),
                collections: None,
                collection_members: BTreeMap::new(),
                state_database: StateDatabase::Lenient,
            },
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Plays `profile`.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.config.profile = profile;
        self
    }

    /// READY's payload under v3.1.
    pub fn ready_params(mut self, params: ChaincodeAdditionalParams) -> Self {
        self.config.ready_params = params;
        self
    }

    /// Uses `world` as the ledger (to share it between sessions).
    pub fn world(mut self, world: WorldState) -> Self {
        self.config.world = world;
        self
    }

    /// The chaincode name (namespace).
    pub fn chaincode_name(mut self, name: impl Into<String>) -> Self {
        self.config.chaincode_name = name.into();
        self
    }

    /// How long to wait for REGISTER.
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.config.startup_timeout = timeout;
        self
    }

    /// How long a transaction may run.
    pub fn execute_timeout(mut self, timeout: Duration) -> Self {
        self.config.execute_timeout = timeout;
        self
    }

    /// How long each request stays pending before its answer.
    pub fn request_delay(mut self, delay: Duration) -> Self {
        self.config.request_delay = delay;
        self
    }

    /// Never answer requests.
    pub fn stalled(mut self, stalled: bool) -> Self {
        self.config.stalled = stalled;
        self
    }

    /// Records per query batch.
    pub fn batch_size(mut self, size: usize) -> Self {
        self.config.batch_size = size.max(1);
        self
    }

    /// The creator of invocations that name none.
    pub fn default_creator(mut self, creator: Creator) -> Self {
        self.config.default_creator = creator;
        self
    }

    /// Defines the chaincode's private data collections: requests on any
    /// other collection fail as on a peer. Without it every name is one.
    pub fn collections<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.collections = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Plays a peer with this state database (see [`StateDatabase`]).
    pub fn state_database(mut self, database: StateDatabase) -> Self {
        self.config.state_database = database;
        self
    }

    /// Makes `collection` member-only (`memberOnlyRead`, `memberOnlyWrite`)
    /// with the organisations `msp_ids` as members: creators of other
    /// organisations may neither read nor write it (its hash stays
    /// readable, as on a peer). Defines the collection too when
    /// [`Simulator::collections`] was given.
    pub fn member_only_collection<I, S>(mut self, collection: impl Into<String>, msp_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let collection = collection.into();
        if let Some(defined) = self.config.collections.as_mut() {
            defined.insert(collection.clone());
        }
        self.config
            .collection_members
            .insert(collection, msp_ids.into_iter().map(Into::into).collect());
        self
    }

    /// Dials the chaincode server of `connection` as the peer does and
    /// waits for its registration.
    pub async fn connect(
        &self,
        connection: &Connection,
        options: &DialOptions,
    ) -> Result<Session, SessionError> {
        let dialled = dial::dial(connection, options).await?;
        let mut session = self.attach(dialled.transport).await?;
        session.target = Some(dialled.target);
        Ok(session)
    }

    /// Plays the peer over `transport` and waits for the chaincode's
    /// registration (accepted or refused) for at most the startup timeout.
    pub async fn attach(&self, transport: Transport) -> Result<Session, SessionError> {
        let session = self.spawn(transport);
        let mut registration = session.registration.clone();
        let mut ended = session.ended.clone();
        let wait = async {
            loop {
                if let Some(reg) = registration.borrow_and_update().clone() {
                    return Ok(reg);
                }
                if let Some(end) = ended.borrow_and_update().clone() {
                    return Err(SessionError::EndedBeforeRegistration { end });
                }
                let gone = tokio::select! {
                    changed = registration.changed() => changed.is_err(),
                    changed = ended.changed() => changed.is_err(),
                };
                if gone {
                    // The handler is gone; it said why before it went.
                    let end = ended.borrow().clone().unwrap_or(StreamEnd::Closed);
                    return Err(SessionError::EndedBeforeRegistration { end });
                }
            }
        };
        match tokio::time::timeout(self.config.startup_timeout, wait).await {
            Ok(Ok(_)) => Ok(session),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(SessionError::StartupTimeout {
                after: self.config.startup_timeout,
            }),
        }
    }

    /// Runs `chaincode` in this process (no socket) with the shim's
    /// defaults for this package ID, and waits for its registration.
    pub async fn in_process<C: ccaas_shim::Chaincode>(
        &self,
        chaincode: Arc<C>,
    ) -> Result<Session, SessionError> {
        let config = ccaas_shim::StreamConfig::new(self.config.package_id.clone());
        self.in_process_with(chaincode, config).await
    }

    /// Runs `chaincode` in this process with the shim's `config` (e.g.
    /// another package ID, to see the registration refused).
    pub async fn in_process_with<C: ccaas_shim::Chaincode>(
        &self,
        chaincode: Arc<C>,
        config: ccaas_shim::StreamConfig,
    ) -> Result<Session, SessionError> {
        let ends = ccaas_shim::in_process(chaincode, config);
        self.attach(Transport::from_channels(
            ends.to_chaincode,
            ends.from_chaincode,
        ))
        .await
    }

    /// Starts the handler over `transport` without waiting for REGISTER.
    pub fn spawn(&self, transport: Transport) -> Session {
        let config = Arc::new(self.config.clone());
        let shared = Arc::new(Shared::new(config.stalled));
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (registration_tx, registration) = watch::channel(None);
        let (ended_tx, ended) = watch::channel(None);
        let handler = Handler::new(
            commands.downgrade(),
            Arc::clone(&config),
            Arc::clone(&shared),
            transport,
            registration_tx,
            ended_tx,
        );
        let task = tokio::spawn(handler.run(commands_rx));
        Session {
            config,
            shared,
            commands,
            registration,
            ended,
            task: AbortOnDrop(task),
            target: None,
        }
    }
}

/// What the peer made of the chaincode's REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// The package ID matched: REGISTERED and READY were sent.
    Accepted,
    /// Another name: the peer logged it and sent nothing; the stream stays
    /// open (until the session is dropped).
    Refused {
        /// The name the chaincode registered with.
        registered_as: String,
    },
    /// The REGISTER payload is not a `ChaincodeID`: logged, nothing sent.
    Unreadable {
        /// The decode error.
        error: String,
    },
}

/// Why a stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The chaincode closed its side.
    ChaincodeClosed,
    /// Receiving from the chaincode failed.
    Transport(String),
    /// Sending to the chaincode failed.
    SendFailed,
    /// The peer ended it for a message it cannot handle.
    Protocol {
        /// The peer's reason, as it logs it.
        message: String,
    },
    /// Ended on our side ([`Session::end_stream`] or the session dropped).
    Closed,
}

impl std::fmt::Display for StreamEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamEnd::ChaincodeClosed => f.write_str("the chaincode closed the stream"),
            StreamEnd::Transport(e) => write!(f, "{e}"),
            StreamEnd::SendFailed => f.write_str("sending to the chaincode failed"),
            StreamEnd::Protocol { message } => {
                write!(f, "{message}: error handling message, ending stream")
            }
            StreamEnd::Closed => f.write_str("the simulator ended the stream"),
        }
    }
}

/// The chaincode's answer to a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum TxOutcome {
    /// COMPLETED with its `Response` (and event).
    Completed {
        /// The response.
        response: Response,
        /// The chaincode event, if any.
        event: Option<ChaincodeEvent>,
    },
    /// ERROR with its message.
    Error {
        /// The message (the ERROR payload as text).
        message: String,
    },
    /// COMPLETED whose payload is not a `Response` (the peer fails the
    /// transaction: "failed to unmarshal response").
    Unreadable {
        /// The decode error.
        error: String,
    },
}

impl TxOutcome {
    /// True for COMPLETED with a status below 400 (endorsable).
    pub fn is_success(&self) -> bool {
        matches!(self, TxOutcome::Completed { response, .. } if response.status < 400)
    }

    /// The response of a COMPLETED.
    pub fn response(&self) -> Option<&Response> {
        match self {
            TxOutcome::Completed { response, .. } => Some(response),
            _ => None,
        }
    }

    /// The payload of a COMPLETED (empty otherwise).
    pub fn payload(&self) -> &[u8] {
        self.response().map(|r| r.payload.as_slice()).unwrap_or(&[])
    }

    /// The chaincode event a COMPLETED carries (`stub.set_event`), as the
    /// chaincode sent it: `None` when the transaction set none, or did not
    /// complete. A peer keeps it only for an endorsable answer (status
    /// below 400): check [`TxOutcome::is_success`] too.
    ///
    /// ```
    /// use ccaas_peersim::Simulator;
    /// use ccaas_shim::{Chaincode, Response, Stub};
    /// use std::sync::Arc;
    ///
    /// struct Minter;
    /// impl Chaincode for Minter {
    ///     async fn invoke(&self, stub: &Stub) -> Response {
    ///         if stub.function() == "mint" {
    ///             return match stub.set_event("Minted", b"42".to_vec()) {
    ///                 Ok(()) => Response::success("OK"),
    ///                 Err(e) => Response::error(e.to_string()),
    ///             };
    ///         }
    ///         Response::error("unknown function")
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let id = "minter_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    /// let peer = Simulator::new(id).in_process(Arc::new(Minter)).await?;
    /// let minted = peer.invoke("mychannel", ["mint"]).await?;
    /// assert_eq!(minted.event_name(), Some("Minted"));
    /// assert_eq!(minted.event_payload(), Some(&b"42"[..]));
    /// let failed = peer.invoke("mychannel", ["burn"]).await?;
    /// assert!(failed.event().is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn event(&self) -> Option<&ChaincodeEvent> {
        match self {
            TxOutcome::Completed { event, .. } => event.as_ref(),
            _ => None,
        }
    }

    /// The event's name ([`TxOutcome::event`]).
    pub fn event_name(&self) -> Option<&str> {
        self.event().map(|e| e.event_name.as_str())
    }

    /// The event's payload ([`TxOutcome::event`]).
    pub fn event_payload(&self) -> Option<&[u8]> {
        self.event().map(|e| e.payload.as_slice())
    }
}

/// Why a session or transaction failed, on the peer's side.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Dialling failed.
    #[error(transparent)]
    Dial(#[from] DialError),
    /// No REGISTER within the startup timeout.
    #[error("timeout expired while starting chaincode: no REGISTER within {after:?}")]
    StartupTimeout {
        /// The startup timeout.
        after: Duration,
    },
    /// The stream ended before the chaincode registered.
    #[error("the stream ended before registration: {end}")]
    EndedBeforeRegistration {
        /// How it ended.
        end: StreamEnd,
    },
    /// A transaction on a stream whose registration was not accepted.
    #[error("the chaincode is not registered (registration: {registration:?}); the peer sends no transaction")]
    NotRegistered {
        /// The registration state.
        registration: Option<Registration>,
    },
    /// A transaction ID already running on the channel.
    #[error("txid: {txid}({channel}) exists")]
    DuplicateTxid {
        /// The channel.
        channel: String,
        /// The transaction ID.
        txid: String,
    },
    /// The stream ended while the transaction ran.
    #[error("chaincode stream terminated")]
    StreamTerminated,
    /// The chaincode did not answer in time.
    #[error("timeout expired while executing transaction `{txid}` (after {after:?})")]
    ExecuteTimeout {
        /// The transaction ID.
        txid: String,
        /// The execute timeout.
        after: Duration,
    },
    /// The stream has ended; nothing more can be sent.
    #[error("the stream has ended: {end}")]
    Ended {
        /// How it ended.
        end: StreamEnd,
    },
    /// Building the proposal failed.
    #[error(transparent)]
    Proposal(#[from] ProposalError),
    /// A profile name that is neither `v2.5` nor `v3.1`.
    #[error("unknown profile `{found}` (expected `v2.5` or `v3.1`)")]
    UnknownProfile {
        /// What was given.
        found: String,
    },
}

/// Aborts the handler task when the session goes.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One stream between the simulated peer and a chaincode. Dropping it ends
/// the stream; transactions still running fail with "chaincode stream
/// terminated".
#[derive(Debug)]
pub struct Session {
    config: Arc<Config>,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    registration: watch::Receiver<Option<Registration>>,
    ended: watch::Receiver<Option<StreamEnd>>,
    task: AbortOnDrop,
    target: Option<SocketAddr>,
}

impl Session {
    /// What the peer made of the chaincode's REGISTER (`None`: none yet).
    pub fn registration(&self) -> Option<Registration> {
        self.registration.borrow().clone()
    }

    /// The name the chaincode registered with, accepted or not.
    pub fn registered_as(&self) -> Option<String> {
        match self.registration()? {
            Registration::Accepted => Some(self.config.package_id.clone()),
            Registration::Refused { registered_as } => Some(registered_as),
            Registration::Unreadable { .. } => None,
        }
    }

    /// True once REGISTERED and READY were sent.
    pub fn is_registered(&self) -> bool {
        self.registration() == Some(Registration::Accepted)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The socket address dialled (TCP sessions).
    pub fn target(&self) -> Option<SocketAddr> {
        self.target
    }

    /// The ledger.
    pub fn world(&self) -> &WorldState {
        &self.config.world
    }

    /// The committed value of `key` in this chaincode's namespace.
    pub fn get_state(&self, channel: &str, key: &str) -> Option<Vec<u8>> {
        self.config
            .world
            .get(channel, &self.config.chaincode_name, key)
    }

    /// Commits `value` under `key` in this chaincode's namespace.
    pub fn put_state(&self, channel: &str, key: &str, value: impl Into<Vec<u8>>) {
        self.config
            .world
            .put(channel, &self.config.chaincode_name, key, value)
    }

    /// The committed private value of `key` in this chaincode's
    /// `collection`.
    pub fn get_private_data(&self, channel: &str, collection: &str, key: &str) -> Option<Vec<u8>> {
        self.config
            .world
            .get_private(channel, &self.config.chaincode_name, collection, key)
    }

    /// The hash the peer keeps of a private value (SHA-256), as
    /// GET_PRIVATE_DATA_HASH answers it; `None` when the key is absent.
    pub fn private_hash(&self, channel: &str, collection: &str, key: &str) -> Option<Vec<u8>> {
        self.config
            .world
            .private_hash(channel, &self.config.chaincode_name, collection, key)
    }

    /// Commits a private `value` under `key` in this chaincode's `collection`.
    pub fn put_private_data(
        &self,
        channel: &str,
        collection: &str,
        key: &str,
        value: impl Into<Vec<u8>>,
    ) {
        self.config
            .world
            .put_private(channel, &self.config.chaincode_name, collection, key, value)
    }

    /// The committed metadata of a public `key` (e.g. its
    /// `VALIDATION_PARAMETER`).
    pub fn state_metadata(&self, channel: &str, key: &str) -> Metadata {
        self.config
            .world
            .metadata(channel, &self.config.chaincode_name, "", key)
    }

    /// The committed metadata of a private `key` in `collection`.
    pub fn private_metadata(&self, channel: &str, collection: &str, key: &str) -> Metadata {
        self.config
            .world
            .metadata(channel, &self.config.chaincode_name, collection, key)
    }

    /// Every committed write of a public `key`, newest first, as
    /// GET_HISTORY_FOR_KEY returns them.
    pub fn history(&self, channel: &str, key: &str) -> Vec<KeyModification> {
        self.config
            .world
            .history(channel, &self.config.chaincode_name, key)
    }

    /// An invocation of the chaincode on `channel` with `args` (first the
    /// function); `.await` it, or [`Invocation::start`] it.
    pub fn invoke<I, A>(&self, channel: &str, args: I) -> Invocation<'_>
    where
        I: IntoIterator<Item = A>,
        A: Into<Vec<u8>>,
    {
        Invocation {
            session: self,
            channel: channel.to_owned(),
            args: args.into_iter().map(Into::into).collect(),
            transient: HashMap::new(),
            decorations: HashMap::new(),
            creator: None,
            init: false,
            proposal: true,
        }
    }

    /// Runs `message` as a transaction exactly as given (type, payload,
    /// proposal untouched): the simulator tracks its channel and txid like
    /// any transaction. For malformed TRANSACTION or INIT messages.
    pub fn transact_raw(&self, message: ChaincodeMessage) -> Result<PendingTx, SessionError> {
        let key = TxKey::of(&message);
        let (reply, rx) = oneshot::channel();
        self.command(Command::Start {
            message,
            reply: Reply::Session(reply),
            sim: None,
        })?;
        Ok(PendingTx {
            key,
            rx,
            commands: self.commands.clone(),
            timeout: self.config.execute_timeout,
        })
    }

    /// Sends `message` to the chaincode as is (unknown types, unmatched
    /// txids, malformed payloads). Its answer, if any, is handled as the
    /// peer would: unknown COMPLETED or ERROR land in [`Session::ignored`].
    pub fn send_raw(&self, message: ChaincodeMessage) -> Result<(), SessionError> {
        self.command(Command::Raw(message))
    }

    fn command(&self, command: Command) -> Result<(), SessionError> {
        self.commands
            .send(command)
            .map_err(|_| SessionError::Ended {
                end: self.ended().unwrap_or(StreamEnd::Closed),
            })
    }

    /// Messages of `kind` received from the chaincode so far.
    pub fn received(&self, kind: MessageType) -> u64 {
        self.received_type(kind as i32)
    }

    /// Messages of type number `kind` received from the chaincode so far.
    pub fn received_type(&self, kind: i32) -> u64 {
        self.shared.counts().get(&kind).copied().unwrap_or(0)
    }

    /// Every message type received so far, with its count.
    pub fn received_counts(&self) -> BTreeMap<i32, u64> {
        self.shared.counts()
    }

    /// Requests dropped because another of the same transaction was pending.
    pub fn dropped_requests(&self) -> u64 {
        self.shared.dropped.load(Ordering::SeqCst)
    }

    /// COMPLETED and ERROR messages for no running transaction (ignored).
    pub fn ignored(&self) -> Vec<ChaincodeMessage> {
        self.shared.ignored()
    }

    /// Stops (or resumes) answering requests; requests left unanswered
    /// stay pending for good.
    pub fn set_stalled(&self, stalled: bool) {
        self.shared.stalled.store(stalled, Ordering::SeqCst);
    }

    /// Ends the stream now, as a peer restart would: pending requests are
    /// never answered; running transactions fail.
    pub fn end_stream(&self) {
        // A send error means the handler is gone: ended already.
        let _ = self.commands.send(Command::End);
    }

    /// How the stream ended, if it has.
    pub fn ended(&self) -> Option<StreamEnd> {
        self.ended.borrow().clone()
    }

    /// Waits for the stream to end, at most `timeout`.
    pub async fn wait_ended(&self, timeout: Duration) -> Option<StreamEnd> {
        let mut ended = self.ended.clone();
        let wait = async {
            loop {
                if let Some(end) = ended.borrow_and_update().clone() {
                    return end;
                }
                if ended.changed().await.is_err() {
                    return StreamEnd::Closed;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok()
    }

    /// Polls `condition` every few milliseconds for at most `timeout`;
    /// true when it held.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        condition: impl Fn(&Session) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if condition(self) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Ends the stream and waits for the handler to finish.
    pub async fn close(self) {
        self.end_stream();
        let _ = self.wait_ended(Duration::from_secs(5)).await;
        drop(self.task);
    }
}

/// A transaction to send; `.await` runs it to its outcome.
#[derive(Debug)]
#[must_use = "an invocation does nothing until awaited or started"]
pub struct Invocation<'s> {
    session: &'s Session,
    channel: String,
    args: Vec<Vec<u8>>,
    transient: HashMap<String, Vec<u8>>,
    decorations: HashMap<String, Vec<u8>>,
    creator: Option<Creator>,
    init: bool,
    proposal: bool,
}

impl Invocation<'_> {
    /// Adds a transient map entry.
    pub fn transient(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.transient.insert(key.into(), value.into());
        self
    }

    /// Adds a decoration (`ChaincodeInput.decorations`).
    pub fn decoration(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.decorations.insert(key.into(), value.into());
        self
    }

    /// The creator (default: the simulator's default creator).
    pub fn creator(mut self, creator: Creator) -> Self {
        self.creator = Some(creator);
        self
    }

    /// Sends INIT (with `is_init`) instead of TRANSACTION.
    pub fn init(mut self, init: bool) -> Self {
        self.init = init;
        self
    }

    /// Sends no proposal (as for some system-driven calls).
    pub fn without_proposal(mut self) -> Self {
        self.proposal = false;
        self
    }

    /// Sends the transaction and returns it running.
    pub fn start(self) -> Result<PendingTx, SessionError> {
        let session = self.session;
        let config = &session.config;
        let input = ChaincodeInput {
            args: self.args,
            decorations: self.decorations,
            is_init: self.init,
        };
        let creator = self.creator.as_ref().unwrap_or(&config.default_creator);
        let built = proposal::build(&ProposalInput {
            channel: &self.channel,
            chaincode: &config.chaincode_name,
            input: &input,
            transient: &self.transient,
            creator,
        })?;
        let kind = if self.init {
            MessageType::Init
        } else {
            MessageType::Transaction
        };
        let mut message =
            ChaincodeMessage::for_tx(kind, input.encode_to_vec(), &self.channel, &built.txid);
        if self.proposal {
            message.proposal = Some(built.proposal);
        }
        session.transact_raw(message)
    }
}

impl<'s> IntoFuture for Invocation<'s> {
    type Output = Result<TxOutcome, SessionError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 's>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.start()?.await })
    }
}

/// A running transaction; `.await` gives its outcome, bounded by the
/// execute timeout (after which, as on a peer, its later requests get
/// "no ledger context" and a late COMPLETED is ignored).
#[derive(Debug)]
pub struct PendingTx {
    key: TxKey,
    rx: oneshot::Receiver<Result<TxOutcome, SessionError>>,
    commands: mpsc::UnboundedSender<Command>,
    timeout: Duration,
}

impl PendingTx {
    /// The transaction ID.
    pub fn txid(&self) -> &str {
        &self.key.txid
    }

    /// The channel.
    pub fn channel(&self) -> &str {
        &self.key.channel
    }
}

impl IntoFuture for PendingTx {
    type Output = Result<TxOutcome, SessionError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.rx).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => Err(SessionError::StreamTerminated),
                Err(_) => {
                    let _ = self.commands.send(Command::Abandon(self.key.clone()));
                    Err(SessionError::ExecuteTimeout {
                        txid: self.key.txid,
                        after: self.timeout,
                    })
                }
            }
        })
    }
}
