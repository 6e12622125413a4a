//! The router: [`ContractChaincode`] is a `ccaas_shim::Chaincode` that
//! sends each transaction to a contract's method, exactly as
//! fabric-contract-api-go's `ContractChaincode.Invoke` does.

use crate::context::Context;
use crate::metadata::{ChaincodeMetadata, Components, ContractMetadata, Info, Transaction};
use ccaas_shim::{Response, Stub};
use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future (what the generated contract code returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The name of the system contract (`org.hyperledger.fabric:GetMetadata`).
pub const SYSTEM_CONTRACT: &str = "org.hyperledger.fabric";

/// A contract: what `#[contract]` implements for a type. Implement it by
/// hand only to route in ways the attribute cannot.
pub trait Contract: Send + Sync + 'static {
    /// The name callers write before `:`.
    fn name(&self) -> String;

    /// The contract's info (title defaults to the name, version to
    /// `latest`).
    fn info(&self) -> Info;

    /// The transactions' metadata (structures go in `components`).
    fn transactions(&self, components: &mut Components) -> Vec<Transaction>;

    /// Runs transaction `function` (its exact name) with the arguments
    /// after the function, as sent; `None` when the contract has no such
    /// transaction.
    fn call<'a>(
        &'a self,
        ctx: &'a Context<'_>,
        function: &'a str,
        args: &'a [Vec<u8>],
    ) -> Option<BoxFuture<'a, Result<Returned, String>>>;

    /// The `#[before]` hook.
    fn before<'a>(&'a self, ctx: &'a Context<'_>) -> Option<BoxFuture<'a, Result<(), String>>> {
        let _ = ctx;
        None
    }

    /// The `#[after]` hook, with the transaction's result.
    fn after<'a>(
        &'a self,
        ctx: &'a Context<'_>,
        result: &'a Returned,
    ) -> Option<BoxFuture<'a, Result<(), String>>> {
        let _ = (ctx, result);
        None
    }

    /// The `#[unknown]` hook, for a function the contract does not have.
    fn unknown<'a>(
        &'a self,
        ctx: &'a Context<'_>,
    ) -> Option<BoxFuture<'a, Result<Returned, String>>> {
        let _ = ctx;
        None
    }
}

/// What a transaction (or the `#[unknown]` hook) returned: the payload
/// sent to the client, and the value itself for the `#[after]` hook.
pub struct Returned {
    payload: Vec<u8>,
    value: Box<dyn Any + Send + Sync>,
}

impl Returned {
    /// A payload and the value it was written from.
    pub fn new<T: Any + Send + Sync>(payload: Vec<u8>, value: T) -> Self {
        Returned {
            payload,
            value: Box::new(value),
        }
    }

    /// The payload the client gets.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The value, if it is a `T` (`()` for a transaction that returns
    /// none).
    pub fn value<T: Any>(&self) -> Option<&T> {
        self.value.downcast_ref()
    }
}

impl std::fmt::Debug for Returned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Returned")
            .field("payload", &String::from_utf8_lossy(&self.payload))
            .finish_non_exhaustive()
    }
}

/// Why the contracts do not make a chaincode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Two contracts share a name (or one is named as the system contract).
    #[error("two contracts are named `{name}`: contract names must be unique (`{SYSTEM_CONTRACT}` is the system contract's)")]
    DuplicateContract {
        /// The name.
        name: String,
    },
    /// `default_contract` names no contract.
    #[error("the default contract `{name}` is not one of the contracts ({known})")]
    UnknownDefault {
        /// The name given.
        name: String,
        /// The contracts, comma-separated.
        known: String,
    },
    /// No contract at all.
    #[error("a chaincode needs at least one contract")]
    NoContract,
}

/// Builds a [`ContractChaincode`].
#[derive(Default)]
pub struct Builder {
    contracts: Vec<Box<dyn Contract>>,
    default: Option<String>,
    info: Option<Info>,
}

impl Builder {
    /// Adds a contract; the first added is the default one unless
    /// [`Builder::default_contract`] says otherwise.
    pub fn contract(mut self, contract: impl Contract) -> Self {
        self.contracts.push(Box::new(contract));
        self
    }

    /// The contract that a function without `Contract:` reaches.
    pub fn default_contract(mut self, name: impl Into<String>) -> Self {
        self.default = Some(name.into());
        self
    }

    /// The chaincode's info in the metadata (title `undefined`, version
    /// `latest` by default, as contract-api-go).
    pub fn info(mut self, info: Info) -> Self {
        self.info = Some(info);
        self
    }

    /// The chaincode, its metadata computed once.
    pub fn build(self) -> Result<ContractChaincode, BuildError> {
        if self.contracts.is_empty() {
            return Err(BuildError::NoContract);
        }
        let mut contracts: BTreeMap<String, Box<dyn Contract>> = BTreeMap::new();
        let mut order = Vec::new();
        for contract in self.contracts {
            let name = contract.name();
            if name == SYSTEM_CONTRACT || contracts.contains_key(&name) {
                return Err(BuildError::DuplicateContract { name });
            }
            order.push(name.clone());
            contracts.insert(name, contract);
        }
        let default = match self.default {
            Some(name) if contracts.contains_key(&name) => name,
            Some(name) => {
                return Err(BuildError::UnknownDefault {
                    name,
                    known: order.join(", "),
                })
            }
            None => order.swap_remove(0),
        };

        let mut components = Components::default();
        let mut described = BTreeMap::new();
        for (name, contract) in &contracts {
            let mut transactions = contract.transactions(&mut components);
            transactions.sort_by(|a, b| a.name.cmp(&b.name));
            let mut info = contract.info();
            if info.title.is_empty() {
                info.title = name.clone();
            }
            if info.version.is_empty() {
                info.version = "latest".to_owned();
            }
            described.insert(
                name.clone(),
                ContractMetadata {
                    info,
                    name: name.clone(),
                    transactions,
                    default: *name == default,
                },
            );
        }
        let system = SystemContract {
            metadata: String::new(),
        };
        described.insert(
            SYSTEM_CONTRACT.to_owned(),
            ContractMetadata {
                info: system.info(),
                name: SYSTEM_CONTRACT.to_owned(),
                transactions: system.transactions(&mut components),
                default: false,
            },
        );
        let metadata = ChaincodeMetadata {
            info: self.info.unwrap_or_else(|| Info::new("undefined")),
            contracts: described,
            components,
        };
        let json = crate::json::to_string(&metadata);
        contracts.insert(
            SYSTEM_CONTRACT.to_owned(),
            Box::new(SystemContract { metadata: json }),
        );
        Ok(ContractChaincode {
            contracts,
            default,
            metadata,
        })
    }
}

/// A chaincode made of contracts: implements `ccaas_shim::Chaincode`, so
/// `ChaincodeServer::from_env(chaincode)` serves it.
///
/// Routing, as contract-api-go:
///
/// 1. The first argument is `Contract:Function`, split at the **last**
///    `:` (`a:b:Fn` is contract `a:b`); without `:` it is the default
///    contract's function. No such contract: `Contract not found with
///    name {contract}`.
/// 2. An empty function: `Blank function name passed`.
/// 3. The contract's `#[before]` hook runs (for any function, known or
///    not); its error is the answer.
/// 4. The function's first letter is upper-cased (Unicode simple case
///    mapping) and the result matched exactly against the transaction
///    names: `CreateAsset` and `createAsset` reach `CreateAsset`;
///    `createasset`, `CREATEASSET` and `create_asset` do not.
/// 5. No match: the `#[unknown]` hook's result is the answer, or without
///    one `Function {function} not found in contract {contract}`.
/// 6. Fewer arguments than parameters: `incorrect number of params.
///    Expected {n}, received {m}` (more are ignored, as Go). Each argument
///    is converted in order; the first failure is `error managing
///    parameter {name}. {why}`.
/// 7. A transaction or hook error is an error answer (status 500) with
///    its message; `#[after]` (with the result) runs only after a success,
///    and its error replaces the result.
/// 8. Success: status 200 with the result's payload.
pub struct ContractChaincode {
    contracts: BTreeMap<String, Box<dyn Contract>>,
    default: String,
    metadata: ChaincodeMetadata,
}

impl ContractChaincode {
    /// A builder, for several contracts.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A chaincode of one contract.
    pub fn new(contract: impl Contract) -> Result<Self, BuildError> {
        Builder::default().contract(contract).build()
    }

    /// The metadata `org.hyperledger.fabric:GetMetadata` answers.
    pub fn metadata(&self) -> &ChaincodeMetadata {
        &self.metadata
    }

    /// The default contract's name.
    pub fn default_contract(&self) -> &str {
        &self.default
    }

    /// Routes and runs one transaction.
    pub async fn dispatch(&self, stub: &Stub) -> Response {
        let first = stub.function_and_parameters().0;
        let (contract_name, function) = match first.rfind(':') {
            Some(i) => (&first[..i], &first[i + 1..]),
            None => (self.default.as_str(), first.as_str()),
        };
        let Some(contract) = self.contracts.get(contract_name) else {
            return Response::error(format!("Contract not found with name {contract_name}"));
        };
        if function.is_empty() {
            return Response::error("Blank function name passed");
        }
        let ctx = Context::new(stub, contract_name, function);
        if let Some(before) = contract.before(&ctx) {
            if let Err(message) = before.await {
                return Response::error(message);
            }
        }
        let exact = first_rune_upper(function);
        let result = match contract.call(&ctx, &exact, stub.parameters()) {
            Some(call) => call.await,
            None => match contract.unknown(&ctx) {
                Some(unknown) => unknown.await,
                None => {
                    return Response::error(format!(
                        "Function {function} not found in contract {contract_name}"
                    ))
                }
            },
        };
        let returned = match result {
            Ok(returned) => returned,
            Err(message) => return Response::error(message),
        };
        if let Some(after) = contract.after(&ctx, &returned) {
            if let Err(message) = after.await {
                return Response::error(message);
            }
        }
        Response::success(returned.payload)
    }
}

impl ccaas_shim::Chaincode for ContractChaincode {
    /// As contract-api-go's `Init`: without a function, success with
    /// `Default initiator successful.`; otherwise as a transaction.
    async fn init(&self, stub: &Stub) -> Response {
        if stub.function_and_parameters().0.is_empty() {
            return Response::success("Default initiator successful.");
        }
        self.dispatch(stub).await
    }

    async fn invoke(&self, stub: &Stub) -> Response {
        self.dispatch(stub).await
    }
}

/// Go's `toFirstRuneUpperCase`: the first character upper-cased when it
/// is not upper case already (simple case mapping: one character for one).
pub fn first_rune_upper(text: &str) -> String {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    if first.is_uppercase() {
        return text.to_owned();
    }
    let mut upper = first.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(single), None) => std::iter::once(single).chain(chars).collect(),
        // Full mapping to several characters (`ß` → `SS`): Go's simple
        // mapping leaves it as it is.
        _ => text.to_owned(),
    }
}

/// `org.hyperledger.fabric`: `GetMetadata`, evaluate, returns a string.
struct SystemContract {
    metadata: String,
}

impl Contract for SystemContract {
    fn name(&self) -> String {
        SYSTEM_CONTRACT.to_owned()
    }

    fn info(&self) -> Info {
        Info::new(SYSTEM_CONTRACT)
    }

    fn transactions(&self, components: &mut Components) -> Vec<Transaction> {
        vec![crate::__private::transaction(
            "GetMetadata",
            true,
            Vec::new(),
            <String as crate::ContractValue>::schema(components, false),
        )]
    }

    fn call<'a>(
        &'a self,
        _: &'a Context<'_>,
        function: &'a str,
        _: &'a [Vec<u8>],
    ) -> Option<BoxFuture<'a, Result<Returned, String>>> {
        (function == "GetMetadata").then(|| {
            let metadata = self.metadata.clone();
            Box::pin(async move { Ok(Returned::new(metadata.clone().into_bytes(), metadata)) })
                as BoxFuture<'a, _>
        })
    }
}

#[cfg(test)]
mod tests {
    use super::first_rune_upper;

    #[test]
    fn first_rune_upper_is_go_to_first_rune_upper_case() {
        assert_eq!(first_rune_upper("createAsset"), "CreateAsset");
        assert_eq!(first_rune_upper("CreateAsset"), "CreateAsset");
        assert_eq!(first_rune_upper("createasset"), "Createasset");
        assert_eq!(first_rune_upper("éclair"), "Éclair");
        assert_eq!(first_rune_upper("ßeta"), "ßeta");
        assert_eq!(first_rune_upper("1abc"), "1abc");
        assert_eq!(first_rune_upper(""), "");
    }
}
