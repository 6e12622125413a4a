//! The transaction context every contract method may take first: the
//! stub, who sent the transaction, its transient data, and a place for
//! the `#[before]` hook to leave values for the transaction.

use ccaas_shim::cid::{CidError, ClientIdentity};
use ccaas_shim::{Creator, Stub};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// One transaction's context, given to its method and to the contract's
/// hooks (the same context to all of them, as contract-api-go).
///
/// ```
/// use ccaas_contract::{contract, Context, Error};
///
/// struct Secrets;
///
/// #[contract]
/// impl Secrets {
///     /// The MSP of the caller and the size of its transient `secret`.
///     #[transaction(evaluate)]
///     async fn who(&self, ctx: &Context<'_>) -> Result<String, Error> {
///         let msp = ctx.client_identity()?.mspid().to_owned();
///         let secret = ctx.transient().get("secret").map(Vec::len).unwrap_or(0);
///         Ok(format!("{msp} {secret}"))
///     }
/// }
/// ```
pub struct Context<'a> {
    stub: &'a Stub,
    contract: String,
    function: String,
    identity: OnceLock<Result<ClientIdentity, CidError>>,
    values: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(stub: &'a Stub, contract: &str, function: &str) -> Self {
        Context {
            stub,
            contract: contract.to_owned(),
            function: function.to_owned(),
            identity: OnceLock::new(),
            values: Mutex::new(HashMap::new()),
        }
    }

    /// The stub: the ledger and the proposal.
    pub fn stub(&self) -> &'a Stub {
        self.stub
    }

    /// Who sent the transaction, as contract-api-go's
    /// `ctx.GetClientIdentity()` (Go's `pkg/cid`: MSP ID, ID, attributes,
    /// OUs), read from the creator the first time it is asked for. An
    /// error when there is no proposal or its creator is neither an X.509
    /// certificate nor an Idemix identity (Go ignores that error and hands
    /// the transaction a nil identity).
    pub fn client_identity(&self) -> Result<&ClientIdentity, &CidError> {
        self.identity
            .get_or_init(|| ClientIdentity::from_stub(self.stub))
            .as_ref()
    }

    /// The creator as the proposal carries it: MSP ID and identity bytes
    /// (a PEM certificate for X.509 identities).
    pub fn creator(&self) -> Option<&'a Creator> {
        self.stub.creator()
    }

    /// The transient data of the proposal (never written to the ledger).
    pub fn transient(&self) -> &'a HashMap<String, Vec<u8>> {
        self.stub.transient()
    }

    /// The contract called, as routed (the default contract's name when
    /// the caller named none).
    pub fn contract(&self) -> &str {
        &self.contract
    }

    /// The function as the caller wrote it, after `Contract:` (for an
    /// `#[unknown]` hook, the name that matched nothing).
    pub fn function(&self) -> &str {
        &self.function
    }

    /// The arguments after the function.
    pub fn parameters(&self) -> Vec<String> {
        self.stub.function_and_parameters().1
    }

    /// Keeps `value` for the rest of the transaction (one per type): a
    /// `#[before]` hook leaves what the transaction then reads with
    /// [`Context::get`].
    pub fn insert<T: Any + Send + Sync + Clone>(&self, value: T) {
        self.values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(TypeId::of::<T>(), Box::new(value));
    }

    /// The value of type `T` kept with [`Context::insert`].
    pub fn get<T: Any + Send + Sync + Clone>(&self) -> Option<T> {
        self.values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }
}
