//! Every example file under `fixtures/metadata/` and `fixtures/connection/`
//! checked against what the peer does with it (see
//! `/work/shared/peer-contract.md`, sections 1 and 3): one row per file, one
//! expectation per row, and a test that no file lacks a row.

use ccaas_core::address::AddressError;
use ccaas_core::connection::{self, Checked, ConnectionError, ConnectionWarning, LoadOptions};
use ccaas_core::duration::DurationError;
use ccaas_core::gojson::JsonError;
use ccaas_core::metadata::{LabelError, MetadataError};
use ccaas_core::pem::PemError;
use ccaas_core::{Dialect, Metadata, TlsMode};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures")).to_path_buf()
}

fn read(file: &str) -> Result<Vec<u8>, String> {
    let path = fixtures().join(file);
    std::fs::read(&path).map_err(|e| format!("{file}: cannot read {}: {e}", path.display()))
}

// ---------------------------------------------------------------- connection

/// What `connection::load(_, &LoadOptions::default())` must do with a file.
enum Conn {
    /// Accepted; the predicate checks the warnings (exactly, by variant) and
    /// anything else worth pinning.
    Accepted(fn(&Checked) -> bool),
    /// Rejected with exactly one problem matching the predicate, whose
    /// `Display` contains the text (the key, or for a file that is not a JSON
    /// object at all, what is wrong with it).
    Rejected(fn(&[ConnectionError]) -> bool, &'static str),
}

use Conn::{Accepted, Rejected};

const CONNECTION: &[(&str, Conn)] = &[
    // valid
    (
        "connection/valid/plain.json",
        Accepted(|c| c.warnings.is_empty() && c.connection.tls_mode() == TlsMode::Off),
    ),
    (
        // The Fabric v2.0 doc writes booleans as strings: the peer itself
        // rejects that, we normalise it and warn.
        "connection/valid/seed-v2.0-doc.json",
        Accepted(|c| {
            matches!(&c.warnings[..], [ConnectionWarning::StringBoolean { key, value: false, text }] if key == "tls_required" && text == "false")
                && c.connection.effective_dial_timeout().to_string() == "10s"
        }),
    ),
    (
        "connection/valid/server-tls.json",
        Accepted(|c| c.warnings.is_empty() && c.connection.tls_mode() == TlsMode::ServerOnly),
    ),
    (
        "connection/valid/mutual-tls.json",
        Accepted(|c| {
            c.warnings.is_empty()
                && c.connection.tls_mode() == TlsMode::Mutual
                && c.connection.domain.as_deref() == Some("mycc.example.com")
        }),
    ),
    (
        "connection/valid/numeric-timeout.json",
        Accepted(|c| {
            c.warnings.is_empty() && c.connection.effective_dial_timeout().to_string() == "2.5s"
        }),
    ),
    (
        "connection/valid/templated.json",
        Accepted(
            |c| matches!(&c.warnings[..], [ConnectionWarning::Unrendered { key: "address", text }] if text == "{{.peername}}-mycc:9999"),
        ),
    ),
    (
        "connection/valid/tls-files.json",
        Accepted(|c| {
            matches!(
                &c.warnings[..],
                [
                    ConnectionWarning::Unresolved {
                        key: "root_cert_file",
                        ..
                    },
                    ConnectionWarning::Unresolved {
                        key: "client_cert_file",
                        ..
                    },
                    ConnectionWarning::Unresolved {
                        key: "client_key_file",
                        ..
                    },
                ]
            ) && c.connection.tls_mode() == TlsMode::Mutual
        }),
    ),
    (
        "connection/valid/ipv6.json",
        Accepted(|c| c.warnings.is_empty() && c.connection.address == "[::1]:7052"),
    ),
    // invalid
    (
        "connection/invalid/missing-address.json",
        Rejected(
            |p| matches!(p, [ConnectionError::MissingAddress { found: "missing" }]),
            "`address`",
        ),
    ),
    (
        "connection/invalid/empty-address.json",
        Rejected(
            |p| matches!(p, [ConnectionError::MissingAddress { found: "empty" }]),
            "`address`",
        ),
    ),
    (
        "connection/invalid/no-port.json",
        Rejected(
            |p| {
                matches!(
                    p,
                    [ConnectionError::Address(AddressError::MissingPort { .. })]
                )
            },
            "`address`",
        ),
    ),
    (
        "connection/invalid/bad-port.json",
        Rejected(
            |p| matches!(p, [ConnectionError::Address(AddressError::BadPort { .. })]),
            "`address`",
        ),
    ),
    (
        "connection/invalid/unbracketed-ipv6.json",
        Rejected(
            |p| {
                matches!(
                    p,
                    [ConnectionError::Address(
                        AddressError::UnbracketedIpv6 { .. }
                    )]
                )
            },
            "`address`",
        ),
    ),
    (
        "connection/invalid/url-address.json",
        Rejected(
            |p| matches!(p, [ConnectionError::Address(AddressError::Scheme { .. })]),
            "`address`",
        ),
    ),
    (
        "connection/invalid/duration-no-unit.json",
        Rejected(
            |p| {
                matches!(
                    p,
                    [ConnectionError::DialTimeout(
                        DurationError::MissingUnit { .. }
                    )]
                )
            },
            "`dial_timeout`",
        ),
    ),
    (
        "connection/invalid/duration-unknown-unit.json",
        Rejected(
            |p| {
                matches!(
                    p,
                    [ConnectionError::DialTimeout(
                        DurationError::UnknownUnit { .. }
                    )]
                )
            },
            "`dial_timeout`",
        ),
    ),
    (
        // What Fabric's own ccaas builder writes when `dial_timeout` is absent.
        "connection/invalid/duration-empty.json",
        Rejected(
            |p| matches!(p, [ConnectionError::DialTimeoutValue { .. }]),
            "`dial_timeout`",
        ),
    ),
    (
        "connection/invalid/duration-null.json",
        Rejected(
            |p| matches!(p, [ConnectionError::DialTimeoutValue { .. }]),
            "`dial_timeout`",
        ),
    ),
    (
        "connection/invalid/bool-as-number.json",
        Rejected(
            |p| matches!(p, [ConnectionError::WrongType { key, found: "a number", .. }] if key == "tls_required"),
            "`tls_required`",
        ),
    ),
    (
        "connection/invalid/tls-without-root-cert.json",
        Rejected(
            |p| {
                matches!(
                    p,
                    [ConnectionError::MissingTls {
                        key: "root_cert",
                        ..
                    }]
                )
            },
            "`root_cert`",
        ),
    ),
    (
        "connection/invalid/client-auth-without-key.json",
        Rejected(
            |p| {
                matches!(
                    p,
                    [ConnectionError::MissingTls {
                        key: "client_key",
                        ..
                    }]
                )
            },
            "`client_key`",
        ),
    ),
    (
        "connection/invalid/key-in-cert-field.json",
        Rejected(
            |p| matches!(p, [ConnectionError::MisplacedKey { key }] if key == "root_cert"),
            "`root_cert`",
        ),
    ),
    (
        "connection/invalid/escaped-newlines-pem.json",
        Rejected(
            |p| matches!(p, [ConnectionError::Pem { key, source: PemError::NoBlock { .. } }] if key == "root_cert"),
            "`root_cert`",
        ),
    ),
    (
        "connection/invalid/array-top-level.json",
        Rejected(
            |p| {
                matches!(
                    p,
                    [ConnectionError::Json(JsonError::NotAnObject {
                        found: "an array"
                    })]
                )
            },
            "found an array",
        ),
    ),
    (
        "connection/invalid/bom.json",
        Rejected(
            |p| matches!(p, [ConnectionError::Json(JsonError::ByteOrderMark)]),
            "byte order mark",
        ),
    ),
    (
        "connection/invalid/trailing-comma.json",
        Rejected(
            |p| {
                matches!(
                    p,
                    [ConnectionError::Json(JsonError::Syntax { line: 4, .. })]
                )
            },
            "invalid JSON at line 4",
        ),
    ),
];

/// `None` when the file does what its row says, else why not (naming it).
fn check_connection(file: &str, expect: &Conn) -> Option<String> {
    let bytes = match read(file) {
        Ok(b) => b,
        Err(e) => return Some(e),
    };
    match (connection::load(&bytes, &LoadOptions::default()), expect) {
        (Ok(checked), Accepted(ok)) => (!ok(&checked)).then(|| {
            format!(
                "{file}: accepted, but not as expected: warnings {:?}, tls {}, timeout {}",
                checked.warnings,
                checked.connection.tls_mode(),
                checked.connection.effective_dial_timeout()
            )
        }),
        (Ok(checked), Rejected(..)) => Some(format!(
            "{file}: accepted (warnings {:?}), expected a rejection",
            checked.warnings
        )),
        (Err(rejected), Accepted(_)) => Some(format!(
            "{file}: rejected with {:?}, expected it to load",
            rejected.problems
        )),
        (Err(rejected), Rejected(ok, needle)) => {
            let shown: Vec<String> = rejected.problems.iter().map(ToString::to_string).collect();
            let fine = ok(&rejected.problems) && shown.iter().any(|s| s.contains(needle));
            (!fine).then(|| {
                format!(
                    "{file}: rejected with {:?} (shown as {shown:?}); expected the row's single variant, displayed with {needle:?}",
                    rejected.problems
                )
            })
        }
    }
}

#[test]
fn connection_fixtures_behave_as_the_peer_would() {
    let failures: Vec<String> = CONNECTION
        .iter()
        .filter_map(|(file, expect)| check_connection(file, expect))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ------------------------------------------------------------------ metadata

/// What `Metadata::parse` must do with a file.
enum Meta {
    /// Accepted, with this dialect (`None`: not chaincode as a service).
    Parses(Option<Dialect>),
    /// Rejected with an error matching the predicate, whose `Display`
    /// contains the text.
    Fails(fn(&MetadataError) -> bool, &'static str),
}

use Meta::{Fails, Parses};

const METADATA: &[(&str, Meta)] = &[
    ("metadata/ccaas.json", Parses(Some(Dialect::Ccaas))),
    ("metadata/external.json", Parses(Some(Dialect::External))),
    (
        "metadata/ccaas-uppercase.json",
        Parses(Some(Dialect::Ccaas)),
    ),
    // A label and shape the peer accepts, but not a type we build.
    ("metadata/golang.json", Parses(None)),
    (
        "metadata/bad-label.json",
        Fails(
            |e| matches!(e, MetadataError::Label(LabelError::Invalid { label, .. }) if label == "my cc"),
            "label `my cc`",
        ),
    ),
    (
        "metadata/empty-label.json",
        Fails(
            |e| matches!(e, MetadataError::Label(LabelError::Empty)),
            "label is empty",
        ),
    ),
    (
        "metadata/type-not-string.json",
        Fails(
            |e| matches!(e, MetadataError::WrongType { key, found: "a number" } if key == "type"),
            "`type`",
        ),
    ),
    (
        "metadata/not-an-object.json",
        Fails(
            |e| {
                matches!(
                    e,
                    MetadataError::Json(JsonError::NotAnObject { found: "an array" })
                )
            },
            "found an array",
        ),
    ),
    (
        "metadata/bom.json",
        Fails(
            |e| matches!(e, MetadataError::Json(JsonError::ByteOrderMark)),
            "byte order mark",
        ),
    ),
];

fn check_metadata(file: &str, expect: &Meta) -> Option<String> {
    let bytes = match read(file) {
        Ok(b) => b,
        Err(e) => return Some(e),
    };
    match (Metadata::parse(&bytes), expect) {
        (Ok(meta), Parses(dialect)) => (meta.dialect() != *dialect).then(|| {
            format!(
                "{file}: parsed with dialect {:?}, expected {dialect:?}",
                meta.dialect()
            )
        }),
        (Ok(meta), Fails(..)) => Some(format!("{file}: parsed as {meta:?}, expected an error")),
        (Err(e), Parses(_)) => Some(format!("{file}: failed with {e:?} ({e}), expected it to parse")),
        (Err(e), Fails(ok, needle)) => (!(ok(&e) && e.to_string().contains(needle))).then(|| {
            format!("{file}: failed with {e:?} (shown as {:?}); expected the row's variant, displayed with {needle:?}", e.to_string())
        }),
    }
}

#[test]
fn metadata_fixtures_behave_as_the_peer_would() {
    let failures: Vec<String> = METADATA
        .iter()
        .filter_map(|(file, expect)| check_metadata(file, expect))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ------------------------------------------------------------------ coverage

/// Every file under `dir` (relative to the fixtures root), recursively.
fn files_under(dir: &str, out: &mut BTreeSet<String>) -> Result<(), String> {
    let path = fixtures().join(dir);
    let entries = std::fs::read_dir(&path)
        .map_err(|e| format!("{dir}: cannot list {}: {e}", path.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{dir}: cannot list: {e}"))?;
        let name = format!("{dir}/{}", entry.file_name().to_string_lossy());
        let kind = entry
            .file_type()
            .map_err(|e| format!("{name}: cannot stat: {e}"))?;
        if kind.is_dir() {
            files_under(&name, out)?;
        } else {
            out.insert(name);
        }
    }
    Ok(())
}

#[test]
fn every_fixture_has_a_row_and_every_row_a_fixture() -> Result<(), String> {
    let mut on_disk = BTreeSet::new();
    files_under("metadata", &mut on_disk)?;
    files_under("connection", &mut on_disk)?;
    let rows: Vec<&str> = CONNECTION
        .iter()
        .map(|(f, _)| *f)
        .chain(METADATA.iter().map(|(f, _)| *f))
        .collect();
    let in_table: BTreeSet<String> = rows.iter().map(|f| (*f).to_owned()).collect();
    let mut problems: Vec<String> = Vec::new();
    if in_table.len() != rows.len() {
        problems.push("a file has more than one row".into());
    }
    for file in on_disk.difference(&in_table) {
        problems.push(format!("{file}: no row in tests/fixtures.rs"));
    }
    for file in in_table.difference(&on_disk) {
        problems.push(format!("{file}: has a row but no file"));
    }
    // A file's directory says what it demonstrates; its row must agree.
    for (file, expect) in CONNECTION {
        let agrees = match expect {
            Accepted(_) => file.starts_with("connection/valid/"),
            Rejected(..) => file.starts_with("connection/invalid/"),
        };
        if !agrees {
            problems.push(format!("{file}: its row disagrees with its directory"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    Ok(())
}
