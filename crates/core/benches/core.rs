//! In-process benchmarks of `ccaas-core` (issue 5): connection.json
//! parse+validate+render, package write, package read and package ID
//! (`hash_stream`, and `identify`, which `ccaas id` runs).
//!
//! `cargo bench -p ccaas-core` runs them all (about two minutes on a 2-core
//! machine, most of it the 100 MB cases); `cargo bench -p ccaas-core --
//! 'package write'` runs one group. The whole-process comparisons with the
//! exec floor, the Fabric v2.0 sample scripts, `openssl`, `sha256sum` and
//! `gzip` are in `bin-scripts/bench`; results in `docs/performance.md`.
#![allow(missing_docs)]
// A benchmark prints the sizes it measures; it is not the library.
#![allow(clippy::print_stderr)]

use ccaas_core::archive::{CodeTree, Limits};
use ccaas_core::connection::{self, LoadOptions};
use ccaas_core::{package, Dialect, Label, Metadata, TemplateConfig};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

const CA_PEM: &str = include_str!("../../../fixtures/tls/ca.pem");
const CLIENT_PEM: &str = include_str!("../../../fixtures/tls/client.pem");
const CLIENT_KEY: &str = include_str!("../../../fixtures/tls/client.key");

/// Indexes in a realistic package (the issue's "20 CouchDB index files").
const INDEXES: usize = 20;
/// Bytes of text in the large package's code.tar.gz: about 100 MB once
/// compressed (base64-like text compresses to about 76 %).
const LARGE_TEXT: usize = 132_000_000;

/// A mutual-TLS connection.json with the PEMs inline and a templated address,
/// as an operator writes it for Fabric 2.4+'s `ccaas` type.
fn connection_json() -> Vec<u8> {
    let value = serde_json::json!({
        "address": "{{.peername}}-marbles.example.com:9999",
        "dial_timeout": "10s",
        "tls_required": true,
        "client_auth_required": true,
        "root_cert": CA_PEM,
        "client_cert": CLIENT_PEM,
        "client_key": CLIENT_KEY,
        "domain": "marbles.example.com",
    });
    serde_json::to_vec_pretty(&value).expect("a JSON value serialises")
}

fn index_json(i: usize) -> Vec<u8> {
    format!(
        r#"{{"index":{{"fields":["docType","owner{i}","size{i}"]}},"ddoc":"index{i}Doc","name":"index{i}","type":"json"}}"#
    )
    .into_bytes()
}

/// connection.json plus 20 CouchDB indexes under `metadata/` (type external).
fn realistic_tree() -> CodeTree {
    let mut tree = CodeTree::new();
    tree.add_file("connection.json", connection_json(), 0o600)
        .expect("valid path");
    for i in 0..INDEXES {
        tree.add_file(
            &format!("metadata/statedb/couchdb/indexes/index{i:02}.json"),
            index_json(i),
            0o644,
        )
        .expect("valid path");
    }
    tree
}

fn metadata() -> Metadata {
    Metadata::new(
        Label::new("marbles_1.0").expect("valid label"),
        Dialect::External,
    )
}

/// Deterministic base64-alphabet text: compressible like real text is, but
/// not trivially, so inflate does real Huffman decoding.
fn text(len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let mut word = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        for _ in 0..10 {
            out.push(ALPHABET[(word & 63) as usize]);
            word >>= 6;
        }
        if out.len() % 77 == 76 {
            out.push(b'\n');
        }
    }
    out.truncate(len);
    out
}

fn write_package(meta: &Metadata, tree: &CodeTree) -> Vec<u8> {
    let mut bytes = Vec::new();
    package::write(meta, tree, &mut bytes).expect("package written");
    bytes
}

fn connection_bench(c: &mut Criterion) {
    let json = connection_json();
    let config = TemplateConfig::parse(r#"{"peername":"peer0"}"#).expect("config");
    let options = LoadOptions {
        config: Some(&config),
        strict: true,
        tls_files: None,
        built: false,
    };
    let mut group = c.benchmark_group("connection");
    group.throughput(Throughput::Elements(1));
    group.bench_function("load (parse+validate+render template)", |b| {
        b.iter(|| connection::load(black_box(&json), &options).expect("valid"))
    });
    group.bench_function("load + to_json (what build writes)", |b| {
        b.iter(|| {
            let checked = connection::load(black_box(&json), &options).expect("valid");
            checked.connection.to_json()
        })
    });
    group.finish();
}

fn package_small_bench(c: &mut Criterion) {
    let meta = metadata();
    let tree = realistic_tree();
    let bytes = write_package(&meta, &tree);

    let mut group = c.benchmark_group("package write");
    group.throughput(Throughput::Elements(1));
    group.bench_function("connection.json + 20 indexes", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(16 * 1024),
            |out| package::write(black_box(&meta), black_box(&tree), out).expect("written"),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("package read");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("connection.json + 20 indexes", |b| {
        b.iter(|| {
            package::read(black_box(&bytes[..]), &Limits::default(), |_, _| Ok(()))
                .expect("valid package")
        })
    });
    group.finish();
}

/// The 100 MB package, made once and only when a 100 MB case runs (so a
/// filtered run such as `-- 'package write'` does not pay for it).
fn large_package() -> &'static [u8] {
    static LARGE: OnceLock<Vec<u8>> = OnceLock::new();
    LARGE.get_or_init(|| {
        let mut tree = realistic_tree();
        tree.add_file("blob.txt", text(LARGE_TEXT), 0o644)
            .expect("valid path");
        let bytes = write_package(&metadata(), &tree);
        eprintln!(
            "large package: {} bytes ({:.1} MB), {LARGE_TEXT} bytes of text inside",
            bytes.len(),
            bytes.len() as f64 / 1e6,
        );
        bytes
    })
}

/// The large package's nominal size, for criterion's throughput (which must
/// be set before the package is made): the real size, printed when it is
/// made, is 100.5 MB with flate2's miniz_oxide backend.
const LARGE_BYTES: u64 = 100_000_000;

fn package_large_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("package read 100 MB");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Bytes(LARGE_BYTES));
    group.bench_function("read (both gzip layers, ID on the way)", |b| {
        let bytes = large_package();
        b.iter(|| {
            package::read(black_box(bytes), &Limits::default(), |_, _| Ok(()))
                .expect("valid package")
        })
    });
    group.finish();

    let mut group = c.benchmark_group("package id 100 MB");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Bytes(LARGE_BYTES));
    group.bench_function("hash_stream", |b| {
        let bytes = large_package();
        b.iter(|| package::hash_stream(black_box(bytes)).expect("in memory"))
    });
    group.bench_function("identify (what `ccaas id` runs)", |b| {
        let bytes = large_package();
        b.iter(|| package::identify(black_box(bytes), &Limits::default()).expect("valid package"))
    });
    group.finish();
}

criterion_group!(
    benches,
    connection_bench,
    package_small_bench,
    package_large_bench
);
criterion_main!(benches);
