//! Property tests (issue 6, section 2): the canonical connection.json reads
//! back to the connection it was written from, every Go duration formats
//! to text that parses back to it, and package writing is deterministic and
//! read back file for file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ccaas_core::archive::{CodeEntryKind, CodeTree, Limits};
use ccaas_core::connection::{self, LoadOptions, Secret, FILE_KEYS};
use ccaas_core::gojson::Field;
use ccaas_core::{package, Connection, Dialect, GoDuration, Label, Metadata};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn fixture(relative: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/");
    std::fs::read_to_string(format!("{path}{relative}")).unwrap()
}

// ------------------------------------------------------------ connection

/// A DNS name, an IPv4 address or a bracketed IPv6 address, and a port.
fn address() -> impl Strategy<Value = String> {
    let dns = "[a-z]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z]([a-z0-9]{0,8}))*";
    let host = prop_oneof![
        4 => dns.prop_map(|s| s),
        1 => any::<[u8; 4]>().prop_map(|o| std::net::Ipv4Addr::from(o).to_string()),
        1 => any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
    ];
    (host, 1u16..=65535).prop_map(|(h, p)| format!("{h}:{p}"))
}

/// Keys the peer does not read, and not close to one it does.
fn extra_fields() -> impl Strategy<Value = Vec<Field>> {
    let value = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "[ -~]{0,20}".prop_map(Value::from),
        Just(Value::Null),
    ];
    proptest::collection::btree_map("x_[a-z0-9_]{1,12}", value, 0..4).prop_map(
        |map: BTreeMap<String, Value>| {
            map.into_iter()
                .map(|(key, value)| Field { key, value })
                .collect()
        },
    )
}

/// A connection that passes `load` with default options: TLS material
/// consistent with its mode, or `*_file` references left for the builder.
fn valid_connection() -> impl Strategy<Value = Connection> {
    let templated = prop_oneof![
        3 => address(),
        1 => "[a-z]{1,8}".prop_map(|k| format!("{{{{.{k}}}}}-cc:9999")),
    ];
    (
        templated,
        proptest::option::of(0i64..=i64::MAX),
        any::<(bool, bool)>(),
        any::<[bool; 3]>(),
        proptest::option::of("[a-z]{1,10}(\\.[a-z]{1,6}){0,2}"),
        extra_fields(),
    )
        .prop_map(
            |(address, timeout, (tls, mutual), use_files, domain, extra)| {
                let mut c = Connection {
                    address,
                    dial_timeout: timeout.map(GoDuration::from_nanos),
                    tls_required: tls,
                    client_auth_required: tls && mutual,
                    extra,
                    ..Connection::default()
                };
                if tls {
                    let pems = [
                        ("tls/ca.pem", true),
                        ("tls/client.pem", c.client_auth_required),
                        ("tls/client.key", c.client_auth_required),
                    ];
                    for (i, ((file_key, _), (pem, needed))) in
                        FILE_KEYS.iter().zip(pems).enumerate()
                    {
                        if !needed {
                            continue;
                        }
                        if use_files[i] {
                            c.files.push((file_key, format!("tls/{file_key}.pem")));
                        } else {
                            let text = fixture(pem);
                            match i {
                                0 => c.root_cert = Some(text),
                                1 => c.client_cert = Some(text),
                                _ => c.client_key = Some(Secret(text)),
                            }
                        }
                    }
                    if c.client_auth_required {
                        c.domain = domain;
                    }
                }
                c
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn canonical_connection_json_reads_back_the_same(c in valid_connection()) {
        let json = c.to_json();
        let loaded = connection::load(&json, &LoadOptions::default());
        let loaded = match loaded {
            Ok(checked) => checked.connection,
            Err(r) => {
                let problems: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
                return Err(TestCaseError::fail(format!(
                    "canonical JSON rejected: {problems:?}\n{}",
                    String::from_utf8_lossy(&json)
                )));
            }
        };
        prop_assert_eq!(&loaded, &c);
        // And writing it again gives the same bytes.
        prop_assert_eq!(loaded.to_json(), json);
    }

    #[test]
    fn key_matching_is_go_folding(
        name in prop::sample::select(vec!["address", "dial_timeout", "client_key", "root_cert_file"]),
        changes in prop::collection::vec(0u8..6, 14),
    ) {
        // A key made from the name: some letters upper-cased, `s` and `k`
        // sometimes as U+017F and the Kelvin sign, sometimes one letter
        // changed. The ASCII fast path of key_matches must agree with
        // Go's folding on each.
        let key: String = name
            .chars()
            .zip(changes.iter().chain(std::iter::repeat(&0)))
            .map(|(c, change)| match (c, change) {
                (_, 1) => c.to_ascii_uppercase(),
                ('s', 2) => '\u{17F}',
                ('k', 2) => '\u{212A}',
                ('_', 3) => '-',
                _ => c,
            })
            .collect();
        let folded = ccaas_core::gojson::fold_key(&key) == ccaas_core::gojson::fold_key(name);
        prop_assert_eq!(ccaas_core::gojson::key_matches(&key, name), folded, "{} vs {}", key, name);
    }

    #[test]
    fn go_duration_formats_and_parses_back(n in any::<i64>()) {
        let d = GoDuration::from_nanos(n);
        let text = d.to_string();
        prop_assert_eq!(GoDuration::parse(&text).map(GoDuration::as_nanos), Ok(n), "{}", text);
    }
}

#[test]
fn go_duration_edges_parse_back() {
    for n in [
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        1,
        999,
        1_000,
        i64::MAX - 1,
        i64::MAX,
    ] {
        let text = GoDuration::from_nanos(n).to_string();
        assert_eq!(
            GoDuration::parse(&text).map(GoDuration::as_nanos),
            Ok(n),
            "{text}"
        );
    }
}

// --------------------------------------------------------------- packages

/// Files at clean relative paths, none a prefix directory of another.
fn code_files() -> impl Strategy<Value = BTreeMap<String, (Vec<u8>, u32)>> {
    let file = (
        proptest::collection::vec(any::<u8>(), 0..2048),
        prop_oneof![Just(0o644u32), Just(0o600), Just(0o755), Just(0o640)],
    );
    proptest::collection::btree_map("[a-zA-Z0-9_.-]{1,8}(/[a-zA-Z0-9_-]{1,8}){0,3}", file, 1..12)
        .prop_map(|files| {
            let mut kept: BTreeMap<String, (Vec<u8>, u32)> = BTreeMap::new();
            for (path, file) in files {
                if path.split('/').any(|p| p == "." || p == "..") {
                    continue;
                }
                let clashes = kept.keys().any(|k| {
                    path.starts_with(&format!("{k}/")) || k.starts_with(&format!("{path}/"))
                });
                if !clashes {
                    kept.insert(path, file);
                }
            }
            kept
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn package_writing_is_deterministic_and_reads_back(
        files in code_files(),
        label in "[a-zA-Z0-9][a-zA-Z0-9_.+-]{0,15}",
        external in any::<bool>(),
    ) {
        let mut tree = CodeTree::new();
        for (path, (contents, mode)) in &files {
            tree.add_file(path, contents.clone(), *mode).unwrap();
        }
        let dialect = if external { Dialect::External } else { Dialect::Ccaas };
        let meta = Metadata::new(Label::new(&label).unwrap(), dialect);
        let mut first = Vec::new();
        let id = package::write(&meta, &tree, &mut first).unwrap();
        let mut second = Vec::new();
        let again = package::write(&meta, &tree.clone(), &mut second).unwrap();
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(&id, &again);

        let mut read_back: BTreeMap<String, (Vec<u8>, u32)> = BTreeMap::new();
        let info = package::read(&first[..], &Limits::default(), |entry, contents| {
            if entry.kind == CodeEntryKind::File {
                let mut bytes = Vec::new();
                contents.read_to_end(&mut bytes).unwrap();
                read_back.insert(entry.path.clone(), (bytes, entry.mode));
            }
            Ok(())
        })
        .unwrap();
        prop_assert_eq!(&read_back, &files);
        prop_assert_eq!(info.id, id);
        prop_assert_eq!(info.metadata, meta);
        prop_assert_eq!(info.package_bytes, first.len() as u64);
    }
}
