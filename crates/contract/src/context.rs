//! The transaction context every contract method may take first: the
//! stub, who sent the transaction, its transient data, and a place for
//! the `#[before]` hook to leave values for the transaction.

use ccaas_shim::Stub;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Mutex;

/// Who sent the transaction (contract-api-go's `ClientIdentity`): the
/// creator of the signed proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The MSP ID (`Org1MSP`).
    pub msp_id: String,
    /// The identity bytes: for X.509 identities, the PEM certificate.
    pub id_bytes: Vec<u8>,
}

impl ClientIdentity {
    /// The MSP ID (Go's `GetMSPID`).
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// The certificate as PEM text, when the identity bytes are one.
    pub fn certificate_pem(&self) -> Option<&str> {
        std::str::from_utf8(&self.id_bytes)
            .ok()
            .filter(|text| text.contains("-----BEGIN CERTIFICATE-----"))
    }
}

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
///         let msp = ctx.client_identity().map(|id| id.msp_id.clone()).unwrap_or_default();
///         let secret = ctx.transient().get("secret").map(Vec::len).unwrap_or(0);
///         Ok(format!("{msp} {secret}"))
///     }
/// }
/// ```
pub struct Context<'a> {
    stub: &'a Stub,
    contract: String,
    function: String,
    identity: Option<ClientIdentity>,
    values: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(stub: &'a Stub, contract: &str, function: &str) -> Self {
        Context {
            stub,
            contract: contract.to_owned(),
            function: function.to_owned(),
            identity: stub.creator().map(|c| ClientIdentity {
                msp_id: c.mspid.clone(),
                id_bytes: c.id_bytes.clone(),
            }),
            values: Mutex::new(HashMap::new()),
        }
    }

    /// The stub: the ledger and the proposal.
    pub fn stub(&self) -> &'a Stub {
        self.stub
    }

    /// Who sent the transaction (absent when the peer sent no proposal).
    pub fn client_identity(&self) -> Option<&ClientIdentity> {
        self.identity.as_ref()
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
