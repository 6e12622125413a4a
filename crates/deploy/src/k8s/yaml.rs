//! YAML for `kubectl apply -f -`, written from the JSON value of typed
//! objects: block style, every string double-quoted (so no value is ever
//! read as a number, a boolean or a date, whatever the YAML version of the
//! reader), and a `# comment` above the keys a caller names.
//!
//! ```
//! use ccaas_deploy::k8s::yaml::to_yaml;
//! use serde_json::json;
//!
//! let doc = json!({"kind": "Service", "spec": {"ports": [{"port": 9999, "name": "chaincode"}]}});
//! let text = to_yaml(&doc, &|path| (path == "spec.ports").then_some("the chaincode port"));
//! assert_eq!(text, "kind: \"Service\"\nspec:\n  # the chaincode port\n  ports:\n    - name: \"chaincode\"\n      port: 9999\n");
//! ```

use serde_json::{Map, Value};
use std::fmt::Write;

/// A comment for a key, by its path: keys joined by `.`, `[]` after an
/// array (`spec.template.spec.containers[].image`); `""` is the document.
pub type Comments<'a> = dyn Fn(&str) -> Option<&'a str> + 'a;

/// One YAML document (no `---`), ending with a newline.
pub fn to_yaml(value: &Value, comments: &Comments<'_>) -> String {
    let mut out = String::new();
    comment(&mut out, 0, comments(""));
    match value {
        Value::Object(map) if !map.is_empty() => {
            first_comment(&mut out, map, 0, "", comments);
            object(&mut out, map, 0, "", comments)
        }
        Value::Array(items) if !items.is_empty() => array(&mut out, items, 0, "", comments),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

fn comment(out: &mut String, indent: usize, text: Option<&str>) {
    for line in text.into_iter().flat_map(str::lines) {
        let _ = writeln!(out, "{:indent$}# {line}", "");
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The entries of `map`, the first at the cursor (already indented), the
/// others at `indent`.
fn object(
    out: &mut String,
    map: &Map<String, Value>,
    indent: usize,
    path: &str,
    comments: &Comments<'_>,
) {
    for (i, (key, value)) in map.iter().enumerate() {
        let here = join(path, key);
        if i > 0 {
            comment(out, indent, comments(&here));
            let _ = write!(out, "{:indent$}", "");
        }
        out.push_str(&plain_key(key));
        out.push(':');
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                first_comment(out, inner, indent + 2, &here, comments);
                let _ = write!(out, "{:width$}", "", width = indent + 2);
                object(out, inner, indent + 2, &here, comments);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                array(out, items, indent + 2, &format!("{here}[]"), comments);
            }
            scalar => {
                out.push(' ');
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

/// The comment of a map's first key, written before the map starts.
fn first_comment(
    out: &mut String,
    map: &Map<String, Value>,
    indent: usize,
    path: &str,
    comments: &Comments<'_>,
) {
    if let Some((key, _)) = map.iter().next() {
        comment(out, indent, comments(&join(path, key)));
    }
}

/// The items of `items`, each on its own line at `indent`. The comment of
/// an item's first key goes above its `- `.
fn array(out: &mut String, items: &[Value], indent: usize, path: &str, comments: &Comments<'_>) {
    for item in items {
        match item {
            Value::Object(inner) if !inner.is_empty() => {
                first_comment(out, inner, indent + 2, path, comments);
                let _ = write!(out, "{:indent$}- ", "");
                object(out, inner, indent + 2, path, comments);
            }
            Value::Array(inner) if !inner.is_empty() => {
                let _ = writeln!(out, "{:indent$}-", "");
                array(out, inner, indent + 2, &format!("{path}[]"), comments);
            }
            scalar => {
                let _ = writeln!(out, "{:indent$}- {}", "", inline(scalar));
            }
        }
    }
}

/// A scalar, or an empty map or list, on one line.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quoted(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A YAML double-quoted scalar: printable ASCII as is, `"` and `\`
/// escaped, everything else as `\uXXXX` or `\UXXXXXXXX` (so no line break
/// of any YAML version hides in it).
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if u32::from(c) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// A key as written: plain when it cannot be read as anything but a
/// string (YAML 1.1 readers, as kubectl's, take `on`, `y` or `no` for
/// booleans), quoted otherwise.
fn plain_key(key: &str) -> String {
    const SPECIAL: [&str; 11] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "",
    ];
    let simple = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'));
    if simple && !SPECIAL.contains(&key.to_ascii_lowercase().as_str()) {
        key.to_owned()
    } else {
        quoted(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn none(_: &str) -> Option<&'static str> {
        None
    }

    #[test]
    fn nested_maps_and_lists() {
        let doc = json!({
            "a": {"b": 1, "c": [1, "two", {"d": true, "e": null}], "f": {}},
            "g": [], "h": [[1, 2], []],
        });
        assert_eq!(
            to_yaml(&doc, &none),
            "a:\n  b: 1\n  c:\n    - 1\n    - \"two\"\n    - d: true\n      e: null\n  f: {}\ng: []\nh:\n  -\n    - 1\n    - 2\n  - []\n"
        );
    }

    #[test]
    fn strings_are_quoted_and_escaped() {
        assert_eq!(quoted("yes"), "\"yes\"");
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quoted("l1\nl2\t"), "\"l1\\u000al2\\u0009\"");
        assert_eq!(quoted("é\u{2028}"), "\"\\u00e9\\u2028\"");
        assert_eq!(quoted("🦀"), "\"\\U0001f980\"");
    }

    #[test]
    fn keys_that_a_yaml_1_1_reader_would_not_take_as_strings_are_quoted() {
        let doc = json!({"on": 1, "Y": 2, "app.kubernetes.io/name": 3, "9999": 4, "a b": 5, "tls.crt": 6});
        let text = to_yaml(&doc, &none);
        for line in [
            "\"on\": 1",
            "\"Y\": 2",
            "app.kubernetes.io/name: 3",
            "\"9999\": 4",
            "\"a b\": 5",
            "tls.crt: 6",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn comments_go_above_their_key_at_its_indent() {
        let doc = json!({"spec": {"x": 1, "list": [{"k": 1, "v": 2}]}});
        let comments = |path: &str| match path {
            "" => Some("the document"),
            "spec.x" => Some("a key\nsecond line"),
            "spec.list[].v" => Some("inside a list"),
            "spec.list[].k" => Some("a list item's first key"),
            _ => None,
        };
        assert_eq!(
            to_yaml(&doc, &comments),
            "# the document\nspec:\n  list:\n      # a list item's first key\n    - k: 1\n      # inside a list\n      v: 2\n  # a key\n  # second line\n  x: 1\n"
        );
    }
}
