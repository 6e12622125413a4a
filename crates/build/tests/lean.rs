//! The builder binaries stay lean: the chaincode server side of the
//! workspace (tokio, tonic, rustls...) never enters detect, build or
//! release, and their dependencies are exactly the ones reviewed.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;
use std::process::Command;

/// What detect, build and release link, by crate name: reviewed when the
/// chaincode server crates joined the workspace. A change here is a change
/// to what every peer image runs.
const REVIEWED: &[&str] = &[
    "adler2",
    "bitflags",
    "block-buffer",
    "cfg-if",
    "cpufeatures",
    "crc32fast",
    "crypto-common",
    "digest",
    "fastrand",
    "filetime",
    "flate2",
    "generic-array",
    "getrandom",
    "itoa",
    "libc",
    "linux-raw-sys",
    "memchr",
    "miniz_oxide",
    "once_cell",
    "proc-macro2",
    "quote",
    "rustix",
    "serde",
    "serde_core",
    "serde_derive",
    "serde_json",
    "sha2",
    "simd-adler32",
    "syn",
    "tar",
    "tempfile",
    "thiserror",
    "thiserror-impl",
    "typenum",
    "unicode-ident",
    "zmij",
];

const SERVER_SIDE: &[&str] = &[
    "tokio",
    "tonic",
    "prost",
    "hyper",
    "h2",
    "rustls",
    "ring",
    "aws-lc-rs",
    "tracing",
    "ccaas-shim",
    "ccaas-proto",
    "ccaas-peersim",
    "x509-parser",
];

fn dependencies(package: &str) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--locked",
            "--offline",
            "-q",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn detect_build_and_release_link_only_the_reviewed_crates() {
    for package in ["ccaas-detect", "ccaas-build", "ccaas-release"] {
        let found = dependencies(package);
        for heavy in SERVER_SIDE {
            assert!(!found.contains(*heavy), "{package} now depends on {heavy}");
        }
        let mut reviewed: BTreeSet<String> = REVIEWED.iter().map(|s| s.to_string()).collect();
        reviewed.insert("ccaas-core".to_owned());
        reviewed.insert(package.to_owned());
        let added: Vec<_> = found.difference(&reviewed).collect();
        assert!(added.is_empty(), "{package} gained dependencies: {added:?}");
    }
}
