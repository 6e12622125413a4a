//! The contract metadata `org.hyperledger.fabric:GetMetadata` answers: every
//! contract, its transactions (tagged submit or evaluate), their parameters
//! and return types as JSON schemas, and the structures as components, in
//! the shape of Fabric's contract metadata schema (fabric-contract-api-go's
//! `metadata/schema/schema.json`) and with the values contract-api-go
//! writes (`"latest"` versions, tags `["submit", "SUBMIT"]`, components
//! with `additionalProperties: false`).
//!
//! Parameters carry their Rust names (contract-api-go, which cannot see
//! Go's parameter names, writes `param0`, `param1`, ...).

use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// General information about a contract or the chaincode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Info {
    /// A longer description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The title (a contract's name by default; `undefined` for the
    /// chaincode, as contract-api-go).
    pub title: String,
    /// The version (`latest` by default).
    pub version: String,
}

impl Info {
    /// `title`, version `latest`.
    pub fn new(title: impl Into<String>) -> Self {
        Info {
            description: None,
            title: title.into(),
            version: "latest".to_owned(),
        }
    }
}

/// The whole chaincode's metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChaincodeMetadata {
    /// The chaincode's info.
    pub info: Info,
    /// Every contract by name, the system contract included.
    pub contracts: BTreeMap<String, ContractMetadata>,
    /// The structures' schemas.
    pub components: Components,
}

/// One contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractMetadata {
    /// The contract's info.
    pub info: Info,
    /// Its name, as callers write it before `:`.
    pub name: String,
    /// Its transactions, sorted by name.
    pub transactions: Vec<Transaction>,
    /// Whether a function without `Contract:` reaches it.
    pub default: bool,
}

/// One transaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transaction {
    /// Its parameters, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    /// `["submit", "SUBMIT"]` or `["evaluate", "EVALUATE"]`.
    pub tag: Vec<String>,
    /// Its name (`CreateAsset`).
    pub name: String,
    /// The schema of its result; absent when it returns none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returns: Option<Value>,
}

impl Transaction {
    /// Whether it is tagged evaluate (a query) rather than submit.
    pub fn is_evaluate(&self) -> bool {
        self.tag.iter().any(|t| t == "evaluate")
    }
}

/// One parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// Its JSON schema.
    pub schema: Value,
}

/// The structures' schemas, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Components {
    /// The schemas.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub schemas: BTreeMap<String, ObjectSchema>,
}

/// A structure's schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectSchema {
    /// Its name.
    #[serde(rename = "$id")]
    pub id: String,
    /// Its properties' schemas.
    pub properties: BTreeMap<String, Value>,
    /// The properties it must have.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// Always `false`: no other property is allowed.
    #[serde(rename = "additionalProperties")]
    pub additional_properties: bool,
}

/// A structure's schema for a transaction (`#/components/schemas/Name`)
/// or inside another structure (`Name`, as contract-api-go), added to
/// `components` the first time (structures that refer to themselves
/// included).
pub(crate) fn object_schema(
    components: &mut Components,
    nested: bool,
    name: &str,
    properties: impl FnOnce(&mut Components) -> Vec<(&'static str, bool, Option<Value>)>,
) -> Value {
    if !components.schemas.contains_key(name) {
        let placeholder = ObjectSchema {
            id: name.to_owned(),
            properties: BTreeMap::new(),
            required: Vec::new(),
            additional_properties: false,
        };
        components.schemas.insert(name.to_owned(), placeholder);
        let mut schema = ObjectSchema {
            id: name.to_owned(),
            properties: BTreeMap::new(),
            required: Vec::new(),
            additional_properties: false,
        };
        for (property, required, property_schema) in properties(components) {
            if required {
                schema.required.push(property.to_owned());
            }
            schema.properties.insert(
                property.to_owned(),
                property_schema.unwrap_or_else(|| json!({})),
            );
        }
        components.schemas.insert(name.to_owned(), schema);
    }
    if nested {
        json!({"$ref": name})
    } else {
        json!({"$ref": format!("#/components/schemas/{name}")})
    }
}

/// Checks `value` against `schema` (the subset these schemas use: `$ref`,
/// `type`, `items`, `properties`, `required`, `additionalProperties`), the
/// problems as gojsonschema words them.
pub(crate) fn validate(
    schema: &Value,
    components: &Components,
    value: &Value,
    path: &str,
    problems: &mut Vec<crate::value::SchemaProblem>,
) {
    use crate::value::{child_path, json_kind, SchemaProblem};
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or(reference);
        let Some(object) = components.schemas.get(name) else {
            return;
        };
        let Value::Object(map) = value else {
            problems.push(SchemaProblem::new(
                path,
                format!(
                    "Invalid type. Expected: object, given: {}",
                    json_kind(value)
                ),
            ));
            return;
        };
        for required in &object.required {
            if !map.contains_key(required) {
                problems.push(SchemaProblem::new(path, format!("{required} is required")));
            }
        }
        for (key, item) in map {
            match object.properties.get(key) {
                Some(property) => {
                    validate(property, components, item, &child_path(path, key), problems)
                }
                None => problems.push(SchemaProblem::new(
                    path,
                    format!("Additional property {key} is not allowed"),
                )),
            }
        }
        return;
    }
    let Some(expected) = schema.get("type").and_then(Value::as_str) else {
        return;
    };
    let given = json_kind(value);
    if !(given == expected || expected == "number" && given == "integer") {
        problems.push(SchemaProblem::new(
            path,
            format!("Invalid type. Expected: {expected}, given: {given}"),
        ));
        return;
    }
    match (
        value,
        schema.get("items"),
        schema.get("additionalProperties"),
    ) {
        (Value::Array(items), Some(item_schema), _) => {
            for (i, item) in items.iter().enumerate() {
                validate(
                    item_schema,
                    components,
                    item,
                    &child_path(path, &i.to_string()),
                    problems,
                );
            }
        }
        (Value::Object(map), _, Some(value_schema)) if value_schema.is_object() => {
            for (key, item) in map {
                validate(
                    value_schema,
                    components,
                    item,
                    &child_path(path, key),
                    problems,
                );
            }
        }
        _ => {}
    }
}
