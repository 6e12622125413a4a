//! The subset of Go's `text/template` that Fabric's built-in `ccaas_builder`
//! applies to connection.json: `{{.key}}` and `{{.a.b}}` (spaces allowed
//! inside the braces), rendered from the JSON object in
//! `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`, with `missingkey=error`.
//!
//! ```
//! use ccaas_core::TemplateConfig;
//!
//! let config = TemplateConfig::parse(r#"{"peername": "peer0", "ports": {"cc": 9999}}"#)?;
//! let text = config.render("{{.peername}}-mycc:{{ .ports.cc }}")?;
//! assert_eq!(text, "peer0-mycc:9999");
//! assert!(config.render("{{.missing}}").is_err());
//! # Ok::<(), ccaas_core::template::TemplateError>(())
//! ```

use serde_json::{Map, Value};
use std::borrow::Cow;

/// The environment variable holding the template values (the name Fabric's
/// own builder reads).
pub const CONFIG_ENV: &str = "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG";

crate::report::debug_as_chain!(TemplateError);

/// Why a template could not be rendered.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The config is not JSON.
    #[error("`{CONFIG_ENV}` is not valid JSON (line {line}, column {column}): expected a JSON object such as {{\"peername\": \"peer0\"}}")]
    ConfigNotJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The config is JSON but not an object.
    #[error("`{CONFIG_ENV}` must be a JSON object, found {found}")]
    ConfigNotObject {
        /// What was found.
        found: &'static str,
    },
    /// A template is used but no config was given.
    #[error("`{text}` is a template but `{CONFIG_ENV}` is not set (add it to the peer's environment and to the builder's `propagateEnvironment`)")]
    NoConfig {
        /// The template text.
        text: String,
    },
    /// `{{.key}}` names a key the config does not have.
    #[error("template key `{key}` is not in `{CONFIG_ENV}` (it has: {available}){hint}")]
    MissingKey {
        /// The dotted key, e.g. `.a.b`.
        key: String,
        /// The keys the config has at that level.
        available: String,
        /// A near miss, when there is one (a key that differs only in case).
        hint: String,
    },
    /// The key exists but its value cannot be written into a string.
    #[error("template key `{key}` is {found} in `{CONFIG_ENV}`; only strings, numbers and booleans can be inserted")]
    NotScalar {
        /// The dotted key.
        key: String,
        /// What was found.
        found: &'static str,
    },
    /// A dotted path goes through something that is not an object.
    #[error("template `{key}`: `{prefix}` is {found} in `{CONFIG_ENV}`, not an object, so it has no keys to look up")]
    NotAnObject {
        /// The whole dotted key.
        key: String,
        /// The part that is not an object.
        prefix: String,
        /// What it is.
        found: &'static str,
    },
    /// Syntax we do not support (Go allows it, Fabric's builder would run it).
    #[error("unsupported template syntax `{action}`: only `{{{{.key}}}}` and `{{{{.a.b}}}}` are supported")]
    Unsupported {
        /// The action, braces included.
        action: String,
    },
    /// The rendered text is too long.
    #[error("the template renders to more than {limit} bytes")]
    TooLong {
        /// The limit.
        limit: usize,
    },
    /// `{{` without a closing `}}`.
    #[error("unclosed template action in `{text}` (a `{{{{` has no matching `}}}}`)")]
    Unclosed {
        /// The whole text.
        text: String,
    },
}

/// The longest text a template may render to (connection.json itself is at
/// most 1 MiB).
pub const MAX_RENDERED: usize = 1024 * 1024;

/// The values templates are rendered from: a JSON object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TemplateConfig {
    values: Map<String, Value>,
}

/// Whether `text` holds a template action (`{{`).
pub fn is_template(text: &str) -> bool {
    text.contains("{{")
}

impl TemplateConfig {
    /// Parses the JSON object given in `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`.
    pub fn parse(json: &str) -> Result<Self, TemplateError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| TemplateError::ConfigNotJson {
                line: e.line(),
                column: e.column().max(1),
            })?;
        match value {
            Value::Object(values) => Ok(TemplateConfig { values }),
            other => Err(TemplateError::ConfigNotObject {
                found: crate::gojson::kind_of(&other),
            }),
        }
    }

    /// A config holding `values`.
    pub fn from_map(values: Map<String, Value>) -> Self {
        TemplateConfig { values }
    }

    /// Renders `text`, replacing every `{{.key}}` with its value.
    pub fn render<'a>(&self, text: &'a str) -> Result<Cow<'a, str>, TemplateError> {
        render(text, Some(self))
    }

    fn lookup(&self, path: &[&str]) -> Result<String, TemplateError> {
        let dotted = || format!(".{}", path.join("."));
        let mut level = &self.values;
        for (i, key) in path.iter().enumerate() {
            let value = level.get(*key).ok_or_else(|| TemplateError::MissingKey {
                key: dotted(),
                available: list_keys(level),
                // Go templates match keys exactly: `{{.PeerName}}` is not
                // `peername`.
                hint: level
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(key))
                    .map(|k| {
                        let mut near: Vec<&str> = path[..i].to_vec();
                        near.push(k);
                        format!(
                            "; keys are case-sensitive: did you mean `{{{{.{}}}}}`?",
                            near.join(".")
                        )
                    })
                    .unwrap_or_default(),
            })?;
            if i + 1 == path.len() {
                return scalar_text(value).ok_or_else(|| TemplateError::NotScalar {
                    key: dotted(),
                    found: crate::gojson::kind_of(value),
                });
            }
            level = match value {
                Value::Object(inner) => inner,
                other => {
                    return Err(TemplateError::NotAnObject {
                        key: dotted(),
                        prefix: format!(".{}", path[..=i].join(".")),
                        found: crate::gojson::kind_of(other),
                    })
                }
            };
        }
        Err(TemplateError::Unsupported {
            action: "{{.}}".into(),
        })
    }
}

fn list_keys(level: &Map<String, Value>) -> String {
    if level.is_empty() {
        return "no keys".into();
    }
    let mut keys: Vec<&str> = level.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes a JSON scalar as Go's `fmt` prints the value `encoding/json`
/// decoded it into (`float64` for numbers, so `9999` and `1e+21`).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => n.as_f64().map(go_float),
        _ => None,
    }
}

/// Go's `%v` for a `float64`: the shortest representation, in exponent form
/// when the exponent is below -4 or at least 21.
fn go_float(f: f64) -> String {
    let sci = format!("{f:e}"); // e.g. "1.5e3", "-2e-7"
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => return sci,
    };
    if (-4..21).contains(&exp) {
        return format!("{f}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// Renders `text` with `config`; text without `{{` is returned unchanged and
/// needs no config.
pub fn render<'a>(
    text: &'a str,
    config: Option<&TemplateConfig>,
) -> Result<Cow<'a, str>, TemplateError> {
    if !is_template(text) {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| TemplateError::Unclosed {
            text: crate::report::shorten(text),
        })?;
        let action = &after[..end];
        let path = parse_action(action).ok_or_else(|| TemplateError::Unsupported {
            action: format!("{{{{{action}}}}}"),
        })?;
        let config = config.ok_or_else(|| TemplateError::NoConfig {
            text: crate::report::shorten(text),
        })?;
        out.push_str(&config.lookup(&path)?);
        if out.len() > MAX_RENDERED {
            return Err(TemplateError::TooLong {
                limit: MAX_RENDERED,
            });
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// `.a.b` with optional surrounding spaces → `["a", "b"]`.
fn parse_action(action: &str) -> Option<Vec<&str>> {
    let trimmed = action.trim_matches(|c| c == ' ' || c == '\t');
    let body = trimmed.strip_prefix('.')?;
    let keys: Vec<&str> = body.split('.').collect();
    let identifier = |k: &&str| {
        let mut chars = k.chars();
        matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
            && chars.all(|c| c == '_' || c.is_alphanumeric())
    };
    keys.iter().all(identifier).then_some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> TemplateConfig {
        match TemplateConfig::parse(json) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn plain_text_needs_no_config() {
        assert_eq!(render("host:1", None), Ok(Cow::Borrowed("host:1")));
    }

    #[test]
    fn keys_nested_keys_and_spaces() {
        let c = config(r#"{"a": "x", "b": {"c": "y"}, "n": 7, "f": 1.5, "t": true}"#);
        assert_eq!(c.render("{{.a}}-{{ .b.c }}:{{.n}}").as_deref(), Ok("x-y:7"));
        assert_eq!(c.render("{{.f}} {{.t}}").as_deref(), Ok("1.5 true"));
    }

    #[test]
    fn numbers_print_like_go_float64() {
        assert_eq!(go_float(9999.0), "9999");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1e20), "100000000000000000000");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
    }

    #[test]
    fn missing_key_names_the_key_and_what_exists() {
        let c = config(r#"{"peername": "p"}"#);
        assert_eq!(
            c.render("{{.peer}}"),
            Err(TemplateError::MissingKey {
                key: ".peer".into(),
                available: "`peername`".into(),
                hint: String::new(),
            })
        );
        // A key that differs only in case gets a hint.
        assert_eq!(
            c.render("{{.PeerName}}-cc:9999").map_err(|e| e.to_string()),
            Err("template key `.PeerName` is not in `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` (it has: `peername`); keys are case-sensitive: did you mean `{{.peername}}`?".to_owned())
        );
        assert!(matches!(
            c.render("{{.peername.x}}"),
            Err(TemplateError::NotAnObject { .. })
        ));
    }

    #[test]
    fn keys_are_case_sensitive_as_go_maps() {
        assert!(matches!(
            config(r#"{"Peer": "p"}"#).render("{{.peer}}"),
            Err(TemplateError::MissingKey { .. })
        ));
    }

    #[test]
    fn objects_and_null_are_not_inserted() {
        let c = config(r#"{"o": {}, "z": null}"#);
        assert!(matches!(
            c.render("{{.o}}"),
            Err(TemplateError::NotScalar {
                found: "an object",
                ..
            })
        ));
        assert!(matches!(
            c.render("{{.z}}"),
            Err(TemplateError::NotScalar { found: "null", .. })
        ));
    }

    #[test]
    fn other_syntax_is_unsupported() {
        let c = config("{}");
        for t in [
            "{{.}}",
            "{{printf \"%s\" .a}}",
            "{{- .a}}",
            "{{.a | html}}",
            "{{if .a}}x{{end}}",
            "{{.peer-name}}",
            "{{{{.a}}}}",
        ] {
            assert!(
                matches!(c.render(t), Err(TemplateError::Unsupported { .. })),
                "{t}"
            );
        }
    }

    #[test]
    fn unclosed_action() {
        assert!(matches!(
            config("{}").render("{{.a"),
            Err(TemplateError::Unclosed { .. })
        ));
    }

    #[test]
    fn template_without_config() {
        assert!(matches!(
            render("{{.a}}", None),
            Err(TemplateError::NoConfig { .. })
        ));
    }

    #[test]
    fn config_must_be_a_json_object() {
        assert!(matches!(
            TemplateConfig::parse("peer0"),
            Err(TemplateError::ConfigNotJson { .. })
        ));
        assert!(matches!(
            TemplateConfig::parse("[1]"),
            Err(TemplateError::ConfigNotObject { found: "an array" })
        ));
    }

    #[test]
    fn rendered_values_are_not_rendered_again() {
        let c = config(r#"{"a": "{{.a}}"}"#);
        assert_eq!(c.render("{{.a}}").as_deref(), Ok("{{.a}}"));
    }
}
