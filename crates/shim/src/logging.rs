//! Structured logs on standard error for a chaincode binary: one line per
//! event, with the txid, channel and function of the transaction it
//! concerns.
//!
//! Two formats, chosen by [`FORMAT_VAR`]: `text` (the default),
//!
//! ```text
//! 2026-01-01T10:00:00.000000Z  INFO stream{peer=10.0.0.7:51234}:tx{txid=ab12 channel=mychannel function=get}: ccaas_shim::stream: the chaincode answered an error status=500 response="no such key"
//! ```
//!
//! and `json`, one object per line, the fields of the event and of every
//! span it is in at the top level:
//!
//! ```text
//! {"time":"2026-01-01T10:00:00.000000Z","level":"INFO","target":"ccaas_shim::stream","peer":"10.0.0.7:51234","txid":"ab12","channel":"mychannel","function":"get","message":"the chaincode answered an error","status":500,"response":"no such key"}
//! ```
//!
//! The filter ([`LOG_VAR`]) can be changed while the server runs, through
//! the operations endpoint's `PUT /logspec` ([`set_spec`]).

use std::fmt;
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Layer, Registry};

/// The variable that sets the log filter (`info` by default; `debug`,
/// `ccaas_shim=debug,warn`: tracing's `EnvFilter` syntax). `RUST_LOG` is
/// read when it is not set.
pub const LOG_VAR: &str = "CHAINCODE_LOG";

/// The variable that sets the format: `text` (the default) or `json`.
pub const FORMAT_VAR: &str = "CHAINCODE_LOG_FORMAT";

/// The filter when none is set.
pub const DEFAULT_SPEC: &str = "info";

/// A log filter that could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum LogSpecError {
    /// The text is not a tracing filter.
    #[error("the log spec `{spec}` is not a tracing filter (expected such as `info`, `debug` or `ccaas_shim=debug,warn`): {reason}")]
    Invalid {
        /// The text given.
        spec: String,
        /// Why.
        reason: String,
    },
    /// The process's logs are not set up by [`init`].
    #[error("the logs of this process are not set up by `ccaas_shim::logging::init`: their filter cannot be changed here")]
    NotManaged,
}

/// What [`init`] installed: the handle to swap the filter, and its text.
struct Control {
    handle: reload::Handle<EnvFilter, Registry>,
    spec: Mutex<String>,
}

static CONTROL: OnceLock<Control> = OnceLock::new();

/// Installs a subscriber that writes to standard error, in the format
/// [`FORMAT_VAR`] names, filtered as [`LOG_VAR`] says. Does nothing when
/// one is installed already.
pub fn init() {
    let spec = std::env::var(LOG_VAR)
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| DEFAULT_SPEC.to_owned());
    let format = std::env::var(FORMAT_VAR).unwrap_or_default();
    let (parsed, refused) = match parse(&spec) {
        Ok(parsed) => (parsed, None),
        Err(e) => (EnvFilter::new(DEFAULT_SPEC), Some(e)),
    };
    let applied = if refused.is_some() {
        DEFAULT_SPEC.to_owned()
    } else {
        spec.clone()
    };
    let (filter, handle) = reload::Layer::new(parsed);
    let json = format.eq_ignore_ascii_case("json");
    let output = if json {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .boxed()
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .try_init();
    if installed.is_err() {
        return;
    }
    let _ = CONTROL.set(Control {
        handle,
        spec: Mutex::new(applied),
    });
    if let Some(e) = refused {
        tracing::warn!("{LOG_VAR} (or RUST_LOG): {e}; logging at `{DEFAULT_SPEC}`");
    }
    if !json && !format.is_empty() && !format.eq_ignore_ascii_case("text") {
        tracing::warn!("{FORMAT_VAR} is `{format}`: expected `text` or `json`; logging as text");
    }
}

fn parse(spec: &str) -> Result<EnvFilter, LogSpecError> {
    EnvFilter::try_new(spec).map_err(|e| LogSpecError::Invalid {
        spec: ccaas_core::report::shorten(spec),
        reason: e.to_string(),
    })
}

/// The filter in force, when [`init`] installed the logs.
pub fn spec() -> Option<String> {
    CONTROL
        .get()
        .map(|c| c.spec.lock().unwrap_or_else(|p| p.into_inner()).clone())
}

/// Changes the filter of the logs [`init`] installed, at once; an empty
/// `spec` restores [`DEFAULT_SPEC`].
///
/// ```
/// // Without `init`, there is nothing to change.
/// assert!(ccaas_shim::logging::set_spec("debug").is_err());
/// ```
pub fn set_spec(spec: &str) -> Result<(), LogSpecError> {
    let spec = match spec.trim() {
        "" => DEFAULT_SPEC,
        s => s,
    };
    let filter = parse(spec)?;
    let control = CONTROL.get().ok_or(LogSpecError::NotManaged)?;
    let mut current = control.spec.lock().unwrap_or_else(|p| p.into_inner());
    control
        .handle
        .reload(filter)
        .map_err(|_| LogSpecError::NotManaged)?;
    let before = std::mem::replace(&mut *current, spec.to_owned());
    drop(current);
    tracing::info!(spec, before, "log spec changed");
    Ok(())
}

/// The `json` format: one object per line, span fields (txid, channel,
/// function, peer) and event fields at the top level.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut object = serde_json::Map::new();
        let mut time = String::new();
        tracing_subscriber::fmt::time::SystemTime.format_time(&mut Writer::new(&mut time))?;
        object.insert("time".into(), time.into());
        let meta = event.metadata();
        object.insert("level".into(), meta.level().as_str().into());
        object.insert("target".into(), meta.target().into());
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(serde_json::Value::Object(fields)) =
                    serde_json::from_str::<serde_json::Value>(&fields.fields)
                {
                    object.extend(fields);
                }
            }
        }
        event.record(&mut JsonVisitor(&mut object));
        writeln!(writer, "{}", serde_json::Value::Object(object))
    }
}

struct JsonVisitor<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().into(), ccaas_core::report::chain(value).into());
    }
}
