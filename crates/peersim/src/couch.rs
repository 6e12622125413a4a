//! CouchDB-style rich queries (Mango) over JSON values, as a peer with a
//! CouchDB state database runs GET_QUERY_RESULT: enough of the selector
//! language for tests.
//!
//! ```
//! use ccaas_peersim::couch::Query;
//!
//! let query = Query::parse(r#"{"selector": {"owner": "tom", "size": {"$gte": 10}},
//!                              "sort": [{"size": "desc"}], "fields": ["size"]}"#)?;
//! let docs = vec![
//!     ("a".to_owned(), br#"{"owner":"tom","size":5}"#.to_vec()),
//!     ("b".to_owned(), br#"{"owner":"tom","size":15}"#.to_vec()),
//!     ("c".to_owned(), br#"{"owner":"tom","size":12}"#.to_vec()),
//!     ("d".to_owned(), b"not json".to_vec()),
//! ];
//! let page = query.run(docs, "", 0)?;
//! let keys: Vec<&str> = page.records.iter().map(|(k, _)| k.as_str()).collect();
//! assert_eq!(keys, ["b", "c"]);
//! assert_eq!(page.records[0].1, br#"{"size":15}"#);
//! # Ok::<(), ccaas_peersim::couch::QueryError>(())
//! ```
//!
//! What is supported:
//! - `selector` (required): `{"field": value}` is equality, fields joined
//!   by an implicit `$and`; nested fields as dot paths (`"a.b"`) or nested
//!   objects (`{"a": {"b": 1}}`); `_id` is the key. Operators `$eq`, `$ne`,
//!   `$gt`, `$gte`, `$lt`, `$lte`, `$exists`, `$in`, `$nin`, and the
//!   combinators `$and`, `$or`, `$nor`, `$not`. Comparisons follow
//!   CouchDB's collation across types: null < false < true < numbers <
//!   strings < arrays < objects; numbers compare by value; strings by
//!   code point (CouchDB uses ICU collation, where `"a" < "B"`: keep test
//!   data to one case where the order matters). A field that is missing
//!   matches only `$exists: false`.
//! - `sort`: `[{"field": "asc"}]`, `["field"]`, several fields in one
//!   direction (mixed directions are refused, as CouchDB refuses them);
//!   documents without a sort field are left out, as a CouchDB index leaves
//!   them out; ties go by key. CouchDB needs an index for a sort; the
//!   simulator does not check indexes.
//! - `fields`: a projection (dot paths); it must be an array, as the
//!   peer checks.
//! - `skip`, and `bookmark` (used when the request's `QueryMetadata` has
//!   none).
//! - `limit` is accepted and ignored: the peer replaces any `limit` in a
//!   query with its own (`applyAdditionalQueryOptions` in
//!   `statecouchdb.go`: "This will override any limit passed in the
//!   query"); page with `QueryMetadata.pageSize` instead.
//!
//! Values that are not JSON objects (other bytes, JSON arrays or scalars)
//! are kept by the peer as attachments: a document with only `_id`, so a
//! selector on a field never matches them. Matching values come back as
//! CouchDB gives them to the peer, which re-marshals them with Go's
//! `encoding/json`: compact, keys sorted, `<`, `>`, `&` escaped.
//!
//! Bookmarks are opaque: `sim1:` and the hex of the last key of a page
//! (`nil` after an empty page, as CouchDB answers), resuming after that
//! document in the query's order.

use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Why a rich query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The query is not JSON.
    #[error("the query is not valid JSON: {message} at line {line}, column {column}")]
    Json {
        /// serde_json's message.
        message: String,
        /// The line of the error.
        line: usize,
        /// The column of the error.
        column: usize,
    },
    /// The query is JSON but not an object.
    #[error("the query must be a JSON object with a `selector`, found {found}")]
    NotAnObject {
        /// What was found (the JSON type).
        found: &'static str,
    },
    /// No `selector`.
    #[error("the query has no `selector` (CouchDB: \"Missing required key: selector\")")]
    MissingSelector,
    /// A top-level key CouchDB's `_find` does not know.
    #[error("unknown query key `{key}` (expected selector, sort, fields, limit, skip, bookmark, use_index)")]
    UnknownKey {
        /// The key.
        key: String,
    },
    /// A selector (or part of one) that is not an object.
    #[error("`{at}`: a selector must be a JSON object, found {found}")]
    SelectorNotAnObject {
        /// Where in the query.
        at: String,
        /// The JSON type found.
        found: &'static str,
    },
    /// An operator the simulator does not know.
    #[error("`{at}`: unknown operator `{operator}` (supported: $eq $ne $gt $gte $lt $lte $exists $in $nin $and $or $nor $not)")]
    UnknownOperator {
        /// Where in the query.
        at: String,
        /// The operator.
        operator: String,
    },
    /// An operator's argument of the wrong type.
    #[error("`{at}`: `{operator}` expects {expected}, found {found}")]
    BadArgument {
        /// Where in the query.
        at: String,
        /// The operator.
        operator: String,
        /// What it takes.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// `sort` is malformed.
    #[error("`sort` {problem}")]
    BadSort {
        /// What is wrong.
        problem: String,
    },
    /// `fields` is not an array of strings (the peer: "fields definition must be an array").
    #[error("fields definition must be an array of field names")]
    BadFields,
    /// `skip` or `limit` is not a non-negative integer.
    #[error("`{key}` must be a non-negative integer, found {found}")]
    BadNumber {
        /// `skip` or `limit`.
        key: &'static str,
        /// The JSON found.
        found: String,
    },
    /// `bookmark` is not a string.
    #[error("`bookmark` must be a string")]
    BadBookmark,
    /// A bookmark this simulator did not make (CouchDB: "Invalid
    /// bookmark value").
    #[error(
        "invalid bookmark value `{found}` (pass the bookmark of the previous page's response)"
    )]
    InvalidBookmark {
        /// The bookmark given.
        found: String,
    },
}

/// A selector condition on one field path.
#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Eq(Value),
    Ne(Value),
    Gt(Value),
    Gte(Value),
    Lt(Value),
    Lte(Value),
    Exists(bool),
    In(Vec<Value>),
    Nin(Vec<Value>),
}

/// A parsed selector.
#[derive(Debug, Clone, PartialEq)]
enum Selector {
    And(Vec<Selector>),
    Or(Vec<Selector>),
    Nor(Vec<Selector>),
    Not(Box<Selector>),
    Field(Vec<String>, Condition),
}

/// The direction of a sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// A parsed rich query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    selector: Selector,
    sort: Vec<Vec<String>>,
    direction: Direction,
    fields: Option<Vec<Vec<String>>>,
    skip: usize,
    bookmark: String,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Key and value (as CouchDB gives it back) of each record, in order.
    pub records: Vec<(String, Vec<u8>)>,
    /// Where the next page starts.
    pub bookmark: String,
}

/// A JSON value's type in messages, as the rest of the workspace says it.
fn type_name(v: &Value) -> &'static str {
    ccaas_core::gojson::kind_of(v)
}

fn path_of(field: &str) -> Vec<String> {
    field.split('.').map(str::to_owned).collect()
}

impl Query {
    /// Parses a query as GET_QUERY_RESULT carries it.
    pub fn parse(query: &str) -> Result<Query, QueryError> {
        let value: Value = serde_json::from_str(query).map_err(|e| QueryError::Json {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        let Value::Object(top) = value else {
            return Err(QueryError::NotAnObject {
                found: type_name(&value),
            });
        };
        let mut selector = None;
        let mut sort = Vec::new();
        let mut direction = Direction::Asc;
        let mut fields = None;
        let mut skip = 0;
        let mut bookmark = String::new();
        for (key, value) in top {
            match key.as_str() {
                "selector" => selector = Some(parse_selector(&value, "selector", &[])?),
                "sort" => (sort, direction) = parse_sort(&value)?,
                "fields" => {
                    let Value::Array(list) = value else {
                        return Err(QueryError::BadFields);
                    };
                    let mut paths = Vec::new();
                    for f in list {
                        let Value::String(f) = f else {
                            return Err(QueryError::BadFields);
                        };
                        paths.push(path_of(&f));
                    }
                    fields = Some(paths);
                }
                "skip" => skip = count(&value, "skip")?,
                "limit" => {
                    count(&value, "limit")?;
                }
                "bookmark" => {
                    let Value::String(b) = value else {
                        return Err(QueryError::BadBookmark);
                    };
                    bookmark = b;
                }
                "use_index" | "r" | "conflicts" | "update" | "stable" | "stale"
                | "execution_stats" => {}
                _ => return Err(QueryError::UnknownKey { key }),
            }
        }
        Ok(Query {
            selector: selector.ok_or(QueryError::MissingSelector)?,
            sort,
            direction,
            fields,
            skip,
            bookmark,
        })
    }

    /// Whether the value stored under `key` matches the selector.
    pub fn matches(&self, key: &str, value: &[u8]) -> bool {
        matches(&self.selector, &document(key, value))
    }

    /// Runs the query over `docs` (key and stored value, any order): the
    /// matching records in the query's order, from `bookmark` (empty: the
    /// query's own, or the start), at most `page_size` of them (0: all).
    pub fn run(
        &self,
        docs: impl IntoIterator<Item = (String, Vec<u8>)>,
        bookmark: &str,
        page_size: usize,
    ) -> Result<Page, QueryError> {
        let bookmark = if bookmark.is_empty() {
            self.bookmark.as_str()
        } else {
            bookmark
        };
        let mut hits: Vec<(String, Vec<u8>, Value)> = docs
            .into_iter()
            .filter_map(|(key, value)| {
                let doc = document(&key, &value);
                if !matches(&self.selector, &doc) {
                    return None;
                }
                if self.sort.iter().any(|p| lookup(&doc, p).is_none()) {
                    return None;
                }
                Some((key, value, doc))
            })
            .collect();
        hits.sort_by(|a, b| {
            let mut order = Ordering::Equal;
            for path in &self.sort {
                order = order.then_with(|| match (lookup(&a.2, path), lookup(&b.2, path)) {
                    (Some(x), Some(y)) => collate(x, y),
                    _ => Ordering::Equal,
                });
            }
            let order = order.then_with(|| a.0.cmp(&b.0));
            match self.direction {
                Direction::Asc => order,
                Direction::Desc => order.reverse(),
            }
        });
        let start = if bookmark.is_empty() {
            0
        } else if bookmark == "nil" {
            hits.len()
        } else {
            let last = decode_bookmark(bookmark).ok_or_else(|| QueryError::InvalidBookmark {
                found: bookmark.to_owned(),
            })?;
            match hits.iter().position(|h| h.0 == last) {
                Some(i) => i + 1,
                // The bookmarked document no longer matches: resume after
                // its key when the order is the key order.
                None if self.sort.is_empty() => hits
                    .iter()
                    .position(|h| match self.direction {
                        Direction::Asc => h.0 > last,
                        Direction::Desc => h.0 < last,
                    })
                    .unwrap_or(hits.len()),
                None => 0,
            }
        };
        let rest = hits.into_iter().skip(start).skip(self.skip);
        let records: Vec<(String, Vec<u8>)> = if page_size == 0 {
            rest.map(|h| self.output(h)).collect()
        } else {
            rest.take(page_size).map(|h| self.output(h)).collect()
        };
        let bookmark = match records.last() {
            Some((key, _)) => encode_bookmark(key),
            None => "nil".to_owned(),
        };
        Ok(Page { records, bookmark })
    }

    fn output(&self, (key, value, doc): (String, Vec<u8>, Value)) -> (String, Vec<u8>) {
        let Value::Object(mut map) = doc else {
            return (key, value);
        };
        if !is_json_object(&value) {
            // An attachment: the peer returns the stored bytes.
            return (key, value);
        }
        map.remove("_id");
        let out = match &self.fields {
            None => Value::Object(map),
            Some(paths) => {
                let source = Value::Object(map);
                let mut projected = Map::new();
                for path in paths {
                    if let Some(v) = lookup(&source, path) {
                        insert_path(&mut projected, path, v.clone());
                    }
                }
                Value::Object(projected)
            }
        };
        (key, go_json(&out).into_bytes())
    }
}

fn count(value: &Value, key: &'static str) -> Result<usize, QueryError> {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| QueryError::BadNumber {
            key,
            found: value.to_string(),
        })
}

fn parse_sort(value: &Value) -> Result<(Vec<Vec<String>>, Direction), QueryError> {
    let Value::Array(items) = value else {
        return Err(QueryError::BadSort {
            problem: format!("must be an array, found {}", type_name(value)),
        });
    };
    let mut paths = Vec::new();
    let mut direction = None;
    for item in items {
        let (field, dir) = match item {
            Value::String(f) => (f.clone(), Direction::Asc),
            Value::Object(m) if m.len() == 1 && m.iter().next().is_some() => {
                let Some((f, d)) = m.iter().next() else {
                    continue;
                };
                let dir = match d.as_str() {
                    Some("asc") => Direction::Asc,
                    Some("desc") => Direction::Desc,
                    _ => {
                        return Err(QueryError::BadSort {
                            problem: format!("direction of `{f}` must be \"asc\" or \"desc\", found {d}"),
                        })
                    }
                };
                (f.clone(), dir)
            }
            other => {
                return Err(QueryError::BadSort {
                    problem: format!(
                        "entries must be a field name or {{\"field\": \"asc\"|\"desc\"}}, found {other}"
                    ),
                })
            }
        };
        if direction.is_some_and(|d| d != dir) {
            return Err(QueryError::BadSort {
                problem: "mixes asc and desc (CouchDB: \"Sorts currently only support a single direction for all fields\")".into(),
            });
        }
        direction = Some(dir);
        paths.push(path_of(&field));
    }
    Ok((paths, direction.unwrap_or(Direction::Asc)))
}

fn parse_list(value: &Value, at: &str, operator: &str) -> Result<Vec<Selector>, QueryError> {
    let Value::Array(items) = value else {
        return Err(QueryError::BadArgument {
            at: at.to_owned(),
            operator: operator.to_owned(),
            expected: "an array of selectors",
            found: type_name(value),
        });
    };
    items
        .iter()
        .enumerate()
        .map(|(i, s)| parse_selector(s, &format!("{at}.{operator}[{i}]"), &[]))
        .collect()
}

/// Parses a selector object whose fields sit under `prefix`.
fn parse_selector(value: &Value, at: &str, prefix: &[String]) -> Result<Selector, QueryError> {
    let Value::Object(map) = value else {
        return Err(QueryError::SelectorNotAnObject {
            at: at.to_owned(),
            found: type_name(value),
        });
    };
    let mut all = Vec::new();
    for (key, arg) in map {
        if let Some(op) = key.strip_prefix('$') {
            let here = format!("{at}.{key}");
            match op {
                "and" => all.push(Selector::And(parse_list(arg, at, key)?)),
                "or" => all.push(Selector::Or(parse_list(arg, at, key)?)),
                "nor" => all.push(Selector::Nor(parse_list(arg, at, key)?)),
                "not" => all.push(Selector::Not(Box::new(parse_selector(arg, &here, prefix)?))),
                _ if !prefix.is_empty() => all.push(Selector::Field(
                    prefix.to_vec(),
                    parse_condition(key, arg, at)?,
                )),
                _ => {
                    return Err(QueryError::UnknownOperator {
                        at: at.to_owned(),
                        operator: key.clone(),
                    })
                }
            }
            continue;
        }
        let mut path = prefix.to_vec();
        path.extend(path_of(key));
        let here = format!("{at}.{key}");
        match arg {
            Value::Object(inner) if !inner.is_empty() => {
                all.push(parse_selector(arg, &here, &path)?)
            }
            other => all.push(Selector::Field(path, Condition::Eq(other.clone()))),
        }
    }
    Ok(if all.len() == 1 {
        all.pop().unwrap_or(Selector::And(Vec::new()))
    } else {
        Selector::And(all)
    })
}

fn parse_condition(operator: &str, arg: &Value, at: &str) -> Result<Condition, QueryError> {
    let bad = |expected| QueryError::BadArgument {
        at: at.to_owned(),
        operator: operator.to_owned(),
        expected,
        found: type_name(arg),
    };
    Ok(match operator {
        "$eq" => Condition::Eq(arg.clone()),
        "$ne" => Condition::Ne(arg.clone()),
        "$gt" => Condition::Gt(arg.clone()),
        "$gte" => Condition::Gte(arg.clone()),
        "$lt" => Condition::Lt(arg.clone()),
        "$lte" => Condition::Lte(arg.clone()),
        "$exists" => Condition::Exists(arg.as_bool().ok_or_else(|| bad("a boolean"))?),
        "$in" => Condition::In(arg.as_array().ok_or_else(|| bad("an array"))?.clone()),
        "$nin" => Condition::Nin(arg.as_array().ok_or_else(|| bad("an array"))?.clone()),
        _ => {
            return Err(QueryError::UnknownOperator {
                at: at.to_owned(),
                operator: operator.to_owned(),
            })
        }
    })
}

fn is_json_object(value: &[u8]) -> bool {
    matches!(serde_json::from_slice::<Value>(value), Ok(Value::Object(_)))
}

/// The CouchDB document of a stored value: the JSON object with `_id`, or
/// `{"_id": key}` alone for an attachment.
fn document(key: &str, value: &[u8]) -> Value {
    let mut map = match serde_json::from_slice::<Value>(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    map.insert("_id".into(), Value::String(key.to_owned()));
    Value::Object(map)
}

fn lookup<'v>(doc: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter()
        .try_fold(doc, |v, part| v.as_object()?.get(part))
}

fn insert_path(into: &mut Map<String, Value>, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            into.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = into
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

fn matches(selector: &Selector, doc: &Value) -> bool {
    match selector {
        Selector::And(all) => all.iter().all(|s| matches(s, doc)),
        Selector::Or(any) => any.iter().any(|s| matches(s, doc)),
        Selector::Nor(none) => !none.iter().any(|s| matches(s, doc)),
        Selector::Not(s) => !matches(s, doc),
        Selector::Field(path, condition) => {
            let value = lookup(doc, path);
            match (condition, value) {
                (Condition::Exists(want), v) => v.is_some() == *want,
                (_, None) => false,
                (Condition::Eq(a), Some(v)) => collate(v, a) == Ordering::Equal,
                (Condition::Ne(a), Some(v)) => collate(v, a) != Ordering::Equal,
                (Condition::Gt(a), Some(v)) => collate(v, a) == Ordering::Greater,
                (Condition::Gte(a), Some(v)) => collate(v, a) != Ordering::Less,
                (Condition::Lt(a), Some(v)) => collate(v, a) == Ordering::Less,
                (Condition::Lte(a), Some(v)) => collate(v, a) != Ordering::Greater,
                (Condition::In(list), Some(v)) => {
                    list.iter().any(|a| collate(v, a) == Ordering::Equal)
                }
                (Condition::Nin(list), Some(v)) => {
                    !list.iter().any(|a| collate(v, a) == Ordering::Equal)
                }
            }
        }
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(false) => 1,
        Value::Bool(true) => 2,
        Value::Number(_) => 3,
        Value::String(_) => 4,
        Value::Array(_) => 5,
        Value::Object(_) => 6,
    }
}

/// CouchDB's collation of JSON values (strings by code point here).
pub fn collate(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = collate(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            // Key by key in the document's order, then by size.
            for ((kx, vx), (ky, vy)) in x.iter().zip(y) {
                let o = kx.cmp(ky).then_with(|| collate(vx, vy));
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn encode_bookmark(key: &str) -> String {
    let mut out = String::from("sim1:");
    for b in key.as_bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn decode_bookmark(bookmark: &str) -> Option<String> {
    let hex = bookmark.strip_prefix("sim1:")?;
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// JSON as Go's `encoding/json` marshals a decoded map: compact, object
/// keys sorted, numbers as written, and `<`, `>`, `&`, U+2028, U+2029
/// escaped.
pub fn go_json(value: &Value) -> String {
    let mut out = String::new();
    write_go(value, &mut out);
    out
}

fn write_go(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_go_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push(':');
                write_go(v, out);
            }
            out.push('}');
        }
    }
}

fn write_go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> Vec<(String, Vec<u8>)> {
        [
            (
                "a1",
                r#"{"owner":"tom","size":5,"color":"red","meta":{"tier":1}}"#,
            ),
            (
                "a2",
                r#"{"owner":"ann","size":15,"color":"blue","meta":{"tier":2}}"#,
            ),
            (
                "a3",
                r#"{"owner":"tom","size":12,"color":"blue","meta":{"tier":3}}"#,
            ),
            ("a4", r#"{"owner":"bob","size":12.5,"color":"green"}"#),
            ("b1", "plain bytes"),
            ("b2", "[1,2,3]"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec()))
        .collect()
    }

    fn keys(query: &str) -> Vec<String> {
        let q = Query::parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
        q.run(docs(), "", 0)
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .records
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    #[test]
    fn implicit_equality() {
        assert_eq!(keys(r#"{"selector":{"owner":"tom"}}"#), ["a1", "a3"]);
    }

    #[test]
    fn eq_operator() {
        assert_eq!(keys(r#"{"selector":{"size":{"$eq":12}}}"#), ["a3"]);
    }

    #[test]
    fn ne_operator_needs_the_field() {
        assert_eq!(
            keys(r#"{"selector":{"owner":{"$ne":"tom"}}}"#),
            ["a2", "a4"]
        );
    }

    #[test]
    fn gt_operator() {
        assert_eq!(keys(r#"{"selector":{"size":{"$gt":12}}}"#), ["a2", "a4"]);
    }

    #[test]
    fn gte_operator() {
        assert_eq!(
            keys(r#"{"selector":{"size":{"$gte":12}}}"#),
            ["a2", "a3", "a4"]
        );
    }

    #[test]
    fn lt_operator() {
        assert_eq!(keys(r#"{"selector":{"size":{"$lt":12}}}"#), ["a1"]);
    }

    #[test]
    fn lte_operator() {
        assert_eq!(keys(r#"{"selector":{"size":{"$lte":12}}}"#), ["a1", "a3"]);
    }

    #[test]
    fn comparisons_collate_across_types() {
        // Strings sort after numbers: every color is greater than 100.
        assert_eq!(
            keys(r#"{"selector":{"color":{"$gt":100}}}"#),
            ["a1", "a2", "a3", "a4"]
        );
        assert!(keys(r#"{"selector":{"size":{"$gt":"a"}}}"#).is_empty());
    }

    #[test]
    fn implicit_and() {
        assert_eq!(
            keys(r#"{"selector":{"owner":"tom","color":"blue"}}"#),
            ["a3"]
        );
    }

    #[test]
    fn explicit_and() {
        assert_eq!(
            keys(r#"{"selector":{"$and":[{"size":{"$gt":5}},{"size":{"$lt":13}}]}}"#),
            ["a3", "a4"]
        );
    }

    #[test]
    fn or_nor_and_not() {
        assert_eq!(
            keys(r#"{"selector":{"$or":[{"owner":"ann"},{"owner":"bob"}]}}"#),
            ["a2", "a4"]
        );
        assert_eq!(
            keys(
                r#"{"selector":{"owner":{"$exists":true},"$nor":[{"owner":"ann"},{"owner":"bob"}]}}"#
            ),
            ["a1", "a3"]
        );
        assert_eq!(
            keys(r#"{"selector":{"owner":{"$exists":true},"$not":{"owner":"tom"}}}"#),
            ["a2", "a4"]
        );
    }

    #[test]
    fn exists_in_and_nin() {
        assert_eq!(
            keys(r#"{"selector":{"meta":{"$exists":false}}}"#),
            ["a4", "b1", "b2"]
        );
        assert_eq!(
            keys(r#"{"selector":{"owner":{"$in":["ann","bob"]}}}"#),
            ["a2", "a4"]
        );
        assert_eq!(
            keys(r#"{"selector":{"owner":{"$nin":["ann","bob"]}}}"#),
            ["a1", "a3"]
        );
    }

    #[test]
    fn nested_fields_by_dot_path_or_nested_object() {
        assert_eq!(
            keys(r#"{"selector":{"meta.tier":{"$gte":2}}}"#),
            ["a2", "a3"]
        );
        assert_eq!(keys(r#"{"selector":{"meta":{"tier":2}}}"#), ["a2"]);
    }

    #[test]
    fn id_is_the_key_and_matches_attachments_too() {
        assert_eq!(
            keys(r#"{"selector":{"_id":{"$gt":"a3"}}}"#),
            ["a4", "b1", "b2"]
        );
        assert_eq!(keys(r#"{"selector":{}}"#).len(), 6);
    }

    #[test]
    fn non_json_values_never_match_a_field() {
        assert!(keys(r#"{"selector":{"size":{"$exists":true}}}"#)
            .iter()
            .all(|k| k.starts_with('a')));
    }

    #[test]
    fn sort_ascending_and_descending() {
        assert_eq!(
            keys(r#"{"selector":{"size":{"$gt":0}},"sort":[{"size":"asc"}]}"#),
            ["a1", "a3", "a4", "a2"]
        );
        assert_eq!(
            keys(r#"{"selector":{"size":{"$gt":0}},"sort":[{"size":"desc"}]}"#),
            ["a2", "a4", "a3", "a1"]
        );
        assert_eq!(
            keys(r#"{"selector":{},"sort":["owner"]}"#),
            ["a2", "a4", "a1", "a3"]
        );
    }

    #[test]
    fn mixed_sort_directions_are_refused() {
        let err = Query::parse(r#"{"selector":{},"sort":[{"a":"asc"},{"b":"desc"}]}"#).unwrap_err();
        assert!(err.to_string().contains("single direction"), "{err}");
    }

    #[test]
    fn fields_project_and_values_come_back_as_go_marshals_them() {
        let q =
            Query::parse(r#"{"selector":{"owner":"tom"},"fields":["size","meta.tier"]}"#).unwrap();
        let page = q.run(docs(), "", 0).unwrap();
        assert_eq!(page.records[0].1, br#"{"meta":{"tier":1},"size":5}"#);
        let q = Query::parse(r#"{"selector":{"_id":"a4"}}"#).unwrap();
        assert_eq!(
            q.run(docs(), "", 0).unwrap().records[0].1,
            br#"{"color":"green","owner":"bob","size":12.5}"#
        );
        let q = Query::parse(r#"{"selector":{"_id":"b1"}}"#).unwrap();
        assert_eq!(q.run(docs(), "", 0).unwrap().records[0].1, b"plain bytes");
    }

    #[test]
    fn fields_must_be_an_array() {
        assert_eq!(
            Query::parse(r#"{"selector":{},"fields":"size"}"#).unwrap_err(),
            QueryError::BadFields
        );
    }

    #[test]
    fn limit_is_ignored_as_the_peer_overrides_it() {
        assert_eq!(
            keys(r#"{"selector":{"owner":"tom"},"limit":1}"#),
            ["a1", "a3"]
        );
    }

    #[test]
    fn skip_skips() {
        assert_eq!(keys(r#"{"selector":{"owner":"tom"},"skip":1}"#), ["a3"]);
    }

    #[test]
    fn pages_resume_from_the_bookmark() {
        let q =
            Query::parse(r#"{"selector":{"size":{"$gt":0}},"sort":[{"size":"desc"}]}"#).unwrap();
        let first = q.run(docs(), "", 3).unwrap();
        assert_eq!(first.records.len(), 3);
        let second = q.run(docs(), &first.bookmark, 3).unwrap();
        assert_eq!(
            second
                .records
                .iter()
                .map(|r| r.0.as_str())
                .collect::<Vec<_>>(),
            ["a1"]
        );
        let third = q.run(docs(), &second.bookmark, 3).unwrap();
        assert!(third.records.is_empty());
        assert_eq!(third.bookmark, "nil");
        let err = q.run(docs(), "g1AAAA", 3).unwrap_err();
        assert_eq!(
            err,
            QueryError::InvalidBookmark {
                found: "g1AAAA".into()
            }
        );
        // The query's own bookmark is used when the request has none.
        let own = format!(
            r#"{{"selector":{{"size":{{"$gt":0}}}},"sort":[{{"size":"desc"}}],"bookmark":"{}"}}"#,
            first.bookmark
        );
        assert_eq!(
            Query::parse(&own)
                .unwrap()
                .run(docs(), "", 0)
                .unwrap()
                .records
                .len(),
            1
        );
    }

    #[test]
    fn malformed_queries_say_what_is_wrong() {
        let err = Query::parse("{\"selector\": ").unwrap_err();
        assert!(matches!(err, QueryError::Json { line: 1, .. }), "{err}");
        assert_eq!(
            Query::parse("[]").unwrap_err(),
            QueryError::NotAnObject { found: "an array" }
        );
        assert_eq!(
            Query::parse(r#"{"sort":[]}"#).unwrap_err(),
            QueryError::MissingSelector
        );
        let err = Query::parse(r#"{"selector":{"a":{"$regexp":"x"}}}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown operator `$regexp`"),
            "{err}"
        );
        let err = Query::parse(r#"{"selector":{"$and":{"a":1}}}"#).unwrap_err();
        assert!(
            err.to_string().contains("expects an array of selectors"),
            "{err}"
        );
        let err = Query::parse(r#"{"selector":{},"selctor":{}}"#).unwrap_err();
        assert_eq!(
            err,
            QueryError::UnknownKey {
                key: "selctor".into()
            }
        );
    }

    #[test]
    fn go_json_sorts_keys_and_escapes_html() {
        let v: Value = serde_json::from_str(r#"{"b":1.50,"a":"<&>","c":[true,null]}"#).unwrap();
        assert_eq!(
            go_json(&v),
            r#"{"a":"\u003c\u0026\u003e","b":1.50,"c":[true,null]}"#
        );
    }
}
