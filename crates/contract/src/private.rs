//! What the macros' generated code calls. Not a public API.

pub use crate::chaincode::BoxFuture;
use crate::chaincode::Returned;
use crate::metadata::{Components, Info, Parameter, Transaction};
use crate::value::ArgError;
pub use crate::value::{ContractValue, IntoOutcome};
pub use serde_json::Value;
use std::any::Any;

pub fn info(title: Option<String>, version: Option<String>, description: Option<String>) -> Info {
    Info {
        description,
        title: title.unwrap_or_default(),
        version: version.unwrap_or_else(|| "latest".to_owned()),
    }
}

pub fn transaction(
    name: &str,
    evaluate: bool,
    parameters: Vec<Parameter>,
    returns: Option<Value>,
) -> Transaction {
    let tag = if evaluate {
        ["evaluate", "EVALUATE"]
    } else {
        ["submit", "SUBMIT"]
    };
    Transaction {
        parameters,
        tag: tag.iter().map(|t| (*t).to_owned()).collect(),
        name: name.to_owned(),
        returns,
    }
}

// The generated code names each parameter's and result's type once per
// use as `<T as ContractValue>::method`, spanned at the type, and passes
// that method here: a type that is not a contract value then gives one
// error (rustc prints identical errors once), at the type, with the
// trait's `on_unimplemented` text, instead of one per helper's bound.

pub fn parameter(name: &str, schema: Option<Value>) -> Parameter {
    Parameter {
        name: name.to_owned(),
        schema: schema.unwrap_or_else(|| serde_json::json!({})),
    }
}

pub fn check_count(args: &[Vec<u8>], expected: usize) -> Result<(), String> {
    if args.len() < expected {
        return Err(format!(
            "incorrect number of params. Expected {expected}, received {}",
            args.len()
        ));
    }
    Ok(())
}

pub fn arg<T>(
    args: &[Vec<u8>],
    index: usize,
    name: &str,
    parse: fn(&[u8]) -> Result<T, ArgError>,
) -> Result<T, String> {
    let arg = args.get(index).map(Vec::as_slice).unwrap_or(&[]);
    parse(arg).map_err(|e| {
        let why = match &e {
            ArgError::Schema(problems) => format!(
                "value did not match schema:\n{}",
                crate::value::list_problems(problems, name)
            ),
            other => other.to_string(),
        };
        format!("error managing parameter {name}. {why}")
    })
}

/// A transaction's value, written with its type's `to_payload`.
pub fn value_outcome<T: Any + Send + Sync>(
    value: T,
    to_payload: fn(&T) -> Vec<u8>,
) -> Result<Returned, String> {
    Ok(Returned::new(to_payload(&value), value))
}

/// A transaction's `Result`: the value written with its type's
/// `to_payload`, or the error's message.
pub fn result_outcome<T: Any + Send + Sync, E: std::fmt::Display>(
    result: Result<T, E>,
    to_payload: fn(&T) -> Vec<u8>,
) -> Result<Returned, String> {
    let value = result.map_err(|e| e.to_string())?;
    Ok(Returned::new(to_payload(&value), value))
}

pub fn outcome<R: IntoOutcome>(result: R) -> Result<Returned, String> {
    let value = result.into_outcome()?;
    Ok(Returned::new(value.to_payload(), value))
}

pub fn hook<R: IntoOutcome>(result: R) -> Result<(), String> {
    result.into_outcome().map(drop)
}

pub fn object_from_arg<T>(arg: &str) -> Result<T, ArgError>
where
    T: ContractValue + serde::de::DeserializeOwned,
{
    crate::value::json_from_arg(arg)
}

pub fn object_schema(
    components: &mut Components,
    nested: bool,
    name: &str,
    properties: impl FnOnce(&mut Components) -> Vec<(&'static str, bool, Option<Value>)>,
) -> Option<Value> {
    Some(crate::metadata::object_schema(
        components, nested, name, properties,
    ))
}
