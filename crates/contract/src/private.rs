//! What the macros' generated code calls. Not a public API.

pub use crate::chaincode::BoxFuture;
use crate::chaincode::Returned;
use crate::metadata::{Components, Info, Parameter, Transaction};
use crate::value::{ArgError, ContractValue, IntoOutcome};
pub use serde_json::Value;

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

pub fn parameter<T: ContractValue>(name: &str, components: &mut Components) -> Parameter {
    Parameter {
        name: name.to_owned(),
        schema: T::schema(components, false).unwrap_or_else(|| serde_json::json!({})),
    }
}

pub fn returns<R: IntoOutcome>(components: &mut Components) -> Option<Value> {
    <R::Value as ContractValue>::schema(components, false)
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

pub fn arg<T: ContractValue>(args: &[Vec<u8>], index: usize, name: &str) -> Result<T, String> {
    let arg = args.get(index).map(Vec::as_slice).unwrap_or(&[]);
    T::from_arg_bytes(arg).map_err(|e| {
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
