//! The server's Prometheus metrics, served by the operations endpoint
//! (`GET /metrics`, [`crate::operations`]); docs/operations.md lists them.
//!
//! They exist only when the operations endpoint is on: a server without
//! one carries `None` and every hook is one branch. With one, a
//! transaction costs a few atomic increments and one histogram
//! observation: its `(channel, function)` series are looked up once in a
//! cache (a read lock and a string hash, no allocation) and kept for the
//! transaction.
//!
//! Functions are chosen by clients, so their number is bounded: past
//! [`MAX_TX_SERIES`] `(channel, function)` pairs, new functions count as
//! `function="(other)"`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// The most `(channel, function)` label pairs kept; later functions count
/// as `(other)`.
pub const MAX_TX_SERIES: usize = 500;

/// The function label of functions past [`MAX_TX_SERIES`].
pub const OTHER_FUNCTION: &str = "(other)";

/// The function label of a transaction whose input could not be decoded.
pub const INVALID_FUNCTION: &str = "(invalid)";

/// How a transaction ended, the `status` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusClass {
    /// COMPLETED, status below 400 (the peer endorses it).
    Ok,
    /// COMPLETED, status 400 to 499.
    ClientError,
    /// COMPLETED, status 500 or more.
    ServerError,
    /// ERROR: refused, failed INIT, panic, failed write batch.
    Error,
}

impl StatusClass {
    const ALL: [StatusClass; 4] = [
        StatusClass::Ok,
        StatusClass::ClientError,
        StatusClass::ServerError,
        StatusClass::Error,
    ];

    /// The class of a COMPLETED answer with `status`.
    pub(crate) fn of(status: i32) -> Self {
        match status {
            s if s < 400 => StatusClass::Ok,
            s if s < 500 => StatusClass::ClientError,
            _ => StatusClass::ServerError,
        }
    }

    fn label(self) -> &'static str {
        match self {
            StatusClass::Ok => "2xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
            StatusClass::Error => "error",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TxLabels {
    channel: String,
    function: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TxStatusLabels {
    channel: String,
    function: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabels {
    r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertLabels {
    listener: &'static str,
    subject: String,
    serial: String,
}

/// One `(channel, function)`'s series, shared by its transactions.
pub(crate) struct TxSeries {
    received: Counter,
    completed: [Counter; 4],
    duration: [Histogram; 4],
}

impl TxSeries {
    /// A transaction was received (and decoded).
    pub(crate) fn received(&self) {
        self.received.inc();
    }

    /// A transaction ended.
    pub(crate) fn completed(&self, class: StatusClass, took: Duration) {
        self.completed[class.index()].inc();
        self.duration[class.index()].observe(took.as_secs_f64());
    }
}

type SeriesCache = HashMap<String, HashMap<String, Arc<TxSeries>>>;

/// The registry and every metric of one server.
pub struct Metrics {
    registry: Registry,
    received: Family<TxLabels, Counter>,
    completed: Family<TxStatusLabels, Counter>,
    duration: Family<TxStatusLabels, Histogram, fn() -> Histogram>,
    cache: RwLock<(SeriesCache, usize)>,
    in_flight: Gauge,
    waiting: Gauge,
    ledger_requests: Family<TypeLabels, Counter>,
    ledger_duration: Family<TypeLabels, Histogram, fn() -> Histogram>,
    streams: Gauge,
    registrations: Counter,
    registration_warnings: Counter,
    panics: Counter,
    received_bytes: Counter,
    sent_bytes: Counter,
    certificates: Family<CertLabels, Gauge>,
    current_certs: Mutex<HashMap<&'static str, CertLabels>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Transactions take from a millisecond to the peer's 30 s timeout.
fn tx_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

/// A ledger request is a round trip to the peer: from 100 µs up.
fn ledger_histogram() -> Histogram {
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric, registered, at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let received = Family::<TxLabels, Counter>::default();
        registry.register(
            "chaincode_shim_requests_received",
            "Transactions (TRANSACTION and INIT) received from peers, by channel and function",
            received.clone(),
        );
        let completed = Family::<TxStatusLabels, Counter>::default();
        registry.register(
            "chaincode_shim_requests_completed",
            "Transactions answered, by channel, function and status class (2xx, 4xx, 5xx: COMPLETED with that status; error: ERROR)",
            completed.clone(),
        );
        let duration: Family<TxStatusLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(tx_histogram);
        registry.register(
            "chaincode_shim_request_duration",
            "Seconds from a transaction's arrival to its answer, waiting for the concurrency bound included",
            duration.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "chaincode_shim_transactions_in_flight",
            "Transactions running in the chaincode now",
            in_flight.clone(),
        );
        let waiting = Gauge::default();
        registry.register(
            "chaincode_shim_transactions_waiting",
            "Transactions waiting for the concurrency bound (CHAINCODE_MAX_CONCURRENT_TRANSACTIONS)",
            waiting.clone(),
        );
        let ledger_requests = Family::<TypeLabels, Counter>::default();
        registry.register(
            "chaincode_shim_ledger_requests",
            "Requests sent to the peer (GET_STATE, PUT_STATE, ...), by type",
            ledger_requests.clone(),
        );
        let ledger_duration: Family<TypeLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(ledger_histogram);
        registry.register(
            "chaincode_shim_ledger_request_duration",
            "Seconds from sending a request to the peer to its answer (or its failure), by type",
            ledger_duration.clone(),
        );
        let streams = Gauge::default();
        registry.register(
            "chaincode_shim_peer_streams",
            "Connect streams open with peers now",
            streams.clone(),
        );
        let registrations = Counter::default();
        registry.register(
            "chaincode_shim_registrations",
            "Streams on which the peer accepted REGISTER",
            registrations.clone(),
        );
        let registration_warnings = Counter::default();
        registry.register(
            "chaincode_shim_registration_warnings",
            "Streams on which the peer had not answered REGISTER within CHAINCODE_REGISTRATION_WARNING (a wrong package ID?)",
            registration_warnings.clone(),
        );
        let panics = Counter::default();
        registry.register(
            "chaincode_shim_panics",
            "Transactions whose chaincode panicked (answered ERROR)",
            panics.clone(),
        );
        let message_bytes = Family::<DirectionLabels, Counter>::default();
        registry.register(
            "chaincode_shim_message_payload_bytes",
            "Bytes of message payloads, received from or sent to peers",
            message_bytes.clone(),
        );
        let received_bytes = message_bytes
            .get_or_create(&DirectionLabels {
                direction: "received",
            })
            .clone();
        let sent_bytes = message_bytes
            .get_or_create(&DirectionLabels { direction: "sent" })
            .clone();
        let certificates = Family::<CertLabels, Gauge>::default();
        registry.register(
            "chaincode_shim_tls_certificate_expiry_timestamp_seconds",
            "When the TLS certificate in use expires (Unix time), by listener (chaincode, operations), subject and serial",
            certificates.clone(),
        );
        Metrics {
            registry,
            received,
            completed,
            duration,
            cache: RwLock::new((HashMap::new(), 0)),
            in_flight,
            waiting,
            ledger_requests,
            ledger_duration,
            streams,
            registrations,
            registration_warnings,
            panics,
            received_bytes,
            sent_bytes,
            certificates,
            current_certs: Mutex::new(HashMap::new()),
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(8 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// The series of `(channel, function)`: cached, created on first use.
    pub(crate) fn tx(&self, channel: &str, function: &str) -> Arc<TxSeries> {
        {
            let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
            if let Some(series) = cache.0.get(channel).and_then(|f| f.get(function)) {
                return Arc::clone(series);
            }
        }
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        let (map, count) = &mut *cache;
        if let Some(series) = map.get(channel).and_then(|f| f.get(function)) {
            return Arc::clone(series);
        }
        let function = if *count >= MAX_TX_SERIES {
            OTHER_FUNCTION
        } else {
            function
        };
        let functions = map.entry(channel.to_owned()).or_default();
        if let Some(series) = functions.get(function) {
            return Arc::clone(series);
        }
        let labels = TxLabels {
            channel: channel.to_owned(),
            function: function.to_owned(),
        };
        let status = |class: StatusClass| TxStatusLabels {
            channel: channel.to_owned(),
            function: function.to_owned(),
            status: class.label(),
        };
        let series = Arc::new(TxSeries {
            received: self.received.get_or_create(&labels).clone(),
            completed: StatusClass::ALL.map(|c| self.completed.get_or_create(&status(c)).clone()),
            duration: StatusClass::ALL.map(|c| self.duration.get_or_create(&status(c)).clone()),
        });
        functions.insert(function.to_owned(), Arc::clone(&series));
        *count += 1;
        series
    }

    /// A transaction starts waiting for the concurrency bound; it stops
    /// when the guard drops.
    pub(crate) fn waiting(&self) -> GaugeGuard {
        GaugeGuard::new(&self.waiting)
    }

    /// A transaction runs; it stops when the guard drops.
    pub(crate) fn in_flight(&self) -> GaugeGuard {
        GaugeGuard::new(&self.in_flight)
    }

    /// A stream is open; it closes when the guard drops.
    pub(crate) fn stream(&self) -> GaugeGuard {
        GaugeGuard::new(&self.streams)
    }

    /// A ledger request of `kind` was answered (or failed) after `took`.
    pub(crate) fn ledger_request(&self, kind: &'static str, took: Duration) {
        let labels = TypeLabels { r#type: kind };
        self.ledger_requests.get_or_create(&labels).inc();
        self.ledger_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Times a ledger request of `kind` until the guard drops (answered,
    /// failed or abandoned).
    pub(crate) fn ledger_timer(&self, kind: &'static str) -> LedgerTimer<'_> {
        LedgerTimer {
            metrics: self,
            kind,
            started: std::time::Instant::now(),
        }
    }

    /// The peer accepted REGISTER.
    pub(crate) fn registered(&self) {
        self.registrations.inc();
    }

    /// The peer did not answer REGISTER in time.
    pub(crate) fn registration_warning(&self) {
        self.registration_warnings.inc();
    }

    /// A chaincode panicked.
    pub(crate) fn panicked(&self) {
        self.panics.inc();
    }

    /// A message with `bytes` of payload came from a peer.
    pub(crate) fn received_bytes(&self, bytes: usize) {
        self.received_bytes.inc_by(bytes as u64);
    }

    /// A message with `bytes` of payload went to a peer.
    pub(crate) fn sent_bytes(&self, bytes: usize) {
        self.sent_bytes.inc_by(bytes as u64);
    }

    /// The certificate `listener` serves now: the series of the one it
    /// replaces goes.
    pub(crate) fn certificate(
        &self,
        listener: &'static str,
        subject: &str,
        serial: &str,
        not_after: i64,
    ) {
        let labels = CertLabels {
            listener,
            subject: subject.to_owned(),
            serial: serial.to_owned(),
        };
        let mut current = self.current_certs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = current.insert(listener, labels.clone()) {
            if old != labels {
                self.certificates.remove(&old);
            }
        }
        self.certificates.get_or_create(&labels).set(not_after);
    }
}

/// Records a ledger request when dropped.
pub(crate) struct LedgerTimer<'a> {
    metrics: &'a Metrics,
    kind: &'static str,
    started: std::time::Instant,
}

impl Drop for LedgerTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .ledger_request(self.kind, self.started.elapsed());
    }
}

/// Decrements its gauge when dropped.
pub(crate) struct GaugeGuard(Gauge);

impl GaugeGuard {
    fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        GaugeGuard(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    #[test]
    fn series_are_counted_and_encoded() {
        let metrics = Metrics::new();
        let put = metrics.tx("mychannel", "put");
        put.received();
        put.received();
        put.completed(StatusClass::Ok, Duration::from_millis(3));
        put.completed(StatusClass::of(500), Duration::from_millis(3));
        assert!(Arc::ptr_eq(&put, &metrics.tx("mychannel", "put")));
        metrics.received_bytes(10);
        let text = metrics.encode();
        assert_eq!(
            line(
                &text,
                "chaincode_shim_message_payload_bytes_total{direction=\"received\"}"
            ),
            Some("chaincode_shim_message_payload_bytes_total{direction=\"received\"} 10"),
        );
        assert_eq!(
            line(
                &text,
                "chaincode_shim_requests_received_total{channel=\"mychannel\",function=\"put\"}"
            ),
            Some(
                "chaincode_shim_requests_received_total{channel=\"mychannel\",function=\"put\"} 2"
            ),
            "{text}"
        );
        assert_eq!(
            line(&text, "chaincode_shim_requests_completed_total{channel=\"mychannel\",function=\"put\",status=\"5xx\"}"),
            Some("chaincode_shim_requests_completed_total{channel=\"mychannel\",function=\"put\",status=\"5xx\"} 1"),
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn functions_past_the_bound_count_as_other() {
        let metrics = Metrics::new();
        for n in 0..MAX_TX_SERIES {
            metrics.tx("ch", &format!("f{n}"));
        }
        let late = metrics.tx("ch", "late");
        assert!(Arc::ptr_eq(&late, &metrics.tx("ch", "later")));
        late.received();
        assert!(metrics.encode().contains(
            "chaincode_shim_requests_received_total{channel=\"ch\",function=\"(other)\"} 1"
        ));
    }

    #[test]
    fn a_rotated_certificate_replaces_its_series() {
        let metrics = Metrics::new();
        metrics.certificate("chaincode", "CN=a", "01", 100);
        metrics.certificate("chaincode", "CN=b", "02", 200);
        let text = metrics.encode();
        assert!(!text.contains("CN=a"), "{text}");
        assert!(text.contains(
            "chaincode_shim_tls_certificate_expiry_timestamp_seconds{listener=\"chaincode\",subject=\"CN=b\",serial=\"02\"} 200"
        ), "{text}");
    }
}
