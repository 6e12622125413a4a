//! Package reading with the peer's rules (small limits, so that each run
//! stays fast), reading every code.tar.gz entry the visitor is given.
//!
//! The first byte picks how the rest is used, so the fuzzer can mutate tar
//! headers directly instead of a gzip stream:
//! - `0`: a raw tar (checksums fixed up), gzipped here, is the package;
//! - `1`: `metadata.json` bytes, a NUL, then a raw tar (checksums fixed
//!   up) gzipped here as code.tar.gz, packaged with a well-formed outer tar;
//! - anything else: the rest is the package as is.
#![no_main]

#[path = "tarfix.rs"]
mod tarfix;

use ccaas_core::archive::Limits;
use ccaas_core::package;
use libfuzzer_sys::fuzz_target;
use std::io::Read;
use tarfix::{fix_checksums, gzip};

fn package_of(meta: &[u8], code: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in [("metadata.json", meta), ("code.tar.gz", code)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, data)
            .expect("tar into memory");
    }
    gzip(&builder.into_inner().expect("tar into memory"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let package = match mode {
        0 => {
            let mut tar = rest.to_vec();
            fix_checksums(&mut tar);
            gzip(&tar)
        }
        1 => {
            let (meta, code) = match rest.iter().position(|&b| b == 0) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            let mut code = code.to_vec();
            fix_checksums(&mut code);
            package_of(meta, &gzip(&code))
        }
        _ => rest.to_vec(),
    };
    let limits = Limits {
        max_entries: 256,
        max_expanded_bytes: 1 << 20,
        max_depth: 64,
        max_package_bytes: 2 << 20,
    };
    let result = package::read(&package[..], &limits, |entry, contents| {
        assert!(
            !entry.path.starts_with('/')
                && !entry.path.split('/').any(|p| p == ".." || p.is_empty()),
            "{:?}",
            entry.path
        );
        let mut sink = Vec::new();
        let _ = contents.take(entry.size + 1).read_to_end(&mut sink);
        Ok(())
    });
    match result {
        Ok(info) => {
            let _ = (info.id.to_string(), info.id.sanitized());
        }
        Err(e) => {
            let _ = ccaas_core::report::chain(&e);
        }
    }
});
