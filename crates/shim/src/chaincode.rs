//! What a chaincode is: the [`Chaincode`] trait and the [`Response`] it
//! gives the peer.

use crate::stub::Stub;
use std::fmt;
use std::future::Future;

/// The status of a successful [`Response`] (Go's `shim.OK`).
pub const OK: i32 = 200;
/// The status of a failed [`Response`] (Go's `shim.ERROR`).
pub const ERROR: i32 = 500;
/// Statuses from this one on are not endorsable: the peer fails the
/// proposal and drops the transaction's event.
pub const ERROR_THRESHOLD: i32 = 400;

/// A chaincode: what the peer's INIT and TRANSACTION messages run.
///
/// Each transaction runs as its own task, so `invoke` may be running many
/// times at once; state lives in the ledger (through the [`Stub`]), not in
/// `self`.
///
/// ```
/// use ccaas_shim::{Chaincode, Response, Stub};
///
/// struct Hello;
///
/// impl Chaincode for Hello {
///     async fn invoke(&self, stub: &Stub) -> Response {
///         match stub.function() {
///             "hello" => Response::success("world"),
///             other => Response::error(format!("unknown function `{other}`")),
///         }
///     }
/// }
/// ```
pub trait Chaincode: Send + Sync + 'static {
    /// Runs an INIT (a definition committed with `--init-required`, invoked
    /// with `--isInit`). By default: success with an empty payload.
    fn init(&self, stub: &Stub) -> impl Future<Output = Response> + Send {
        let _ = stub;
        async { Response::success(Vec::new()) }
    }

    /// Runs a TRANSACTION (an invoke or a query).
    fn invoke(&self, stub: &Stub) -> impl Future<Output = Response> + Send;
}

/// The answer to a transaction: `protos.Response`.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Status: below 400 is endorsable ([`OK`] by convention), 400 and above
    /// is not ([`ERROR`] by convention).
    pub status: i32,
    /// The error message.
    pub message: String,
    /// The result.
    pub payload: Vec<u8>,
}

impl Response {
    /// Success (status 200) with `payload`.
    pub fn success(payload: impl Into<Vec<u8>>) -> Self {
        Response {
            status: OK,
            message: String::new(),
            payload: payload.into(),
        }
    }

    /// An error (status 500) with `message`.
    pub fn error(message: impl Into<String>) -> Self {
        Response {
            status: ERROR,
            message: message.into(),
            payload: Vec::new(),
        }
    }

    /// Success with the `Ok` value, or an error with the `Err`'s message
    /// (its whole source chain, `: `-separated).
    ///
    /// ```
    /// use ccaas_shim::Response;
    /// let failed: Result<Vec<u8>, std::io::Error> = Err(std::io::Error::other("no such key"));
    /// assert_eq!(Response::from_result(failed).message, "no such key");
    /// ```
    pub fn from_result<T, E>(result: Result<T, E>) -> Self
    where
        T: Into<Vec<u8>>,
        E: std::error::Error,
    {
        match result {
            Ok(payload) => Response::success(payload),
            Err(e) => Response::error(error_chain(&e)),
        }
    }

    /// Whether the peer can endorse it (status below 400).
    pub fn is_endorsable(&self) -> bool {
        self.status < ERROR_THRESHOLD
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("message", &self.message)
            .field("payload", &String::from_utf8_lossy(&self.payload))
            .finish()
    }
}

impl From<Response> for ccaas_proto::Response {
    fn from(r: Response) -> Self {
        ccaas_proto::Response {
            status: r.status,
            message: r.message,
            payload: r.payload,
        }
    }
}

impl From<ccaas_proto::Response> for Response {
    fn from(r: ccaas_proto::Response) -> Self {
        Response {
            status: r.status,
            message: r.message,
            payload: r.payload,
        }
    }
}

/// An error and its sources, `: `-separated (one way for the workspace:
/// `ccaas_core::report::chain`).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    ccaas_core::report::chain(error)
}
