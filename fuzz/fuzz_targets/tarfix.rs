//! Shared by the archive targets, and by the replay of their regressions in
//! `crates/core/tests/hostile.rs`: how a fuzz input becomes the archive
//! under test, and the small limits each run uses. Raw tar input is made
//! readable by fixing up header checksums, so that mutations of header
//! fields reach the code under test instead of failing the checksum check.

#![allow(dead_code)]

use ccaas_core::archive::Limits;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;

/// Small limits, so that each run stays fast.
pub const LIMITS: Limits = Limits {
    max_entries: 256,
    max_expanded_bytes: 1 << 20,
    max_depth: 64,
    max_package_bytes: 2 << 20,
};

/// Walks `tar` header by header (by the ustar size field) and writes the
/// correct checksum into each header block.
pub fn fix_checksums(tar: &mut [u8]) {
    let mut at = 0usize;
    while at + 512 <= tar.len() {
        let block = &mut tar[at..at + 512];
        if block.iter().all(|&b| b == 0) {
            at += 512;
            continue;
        }
        block[148..156].fill(b' ');
        let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let size = std::str::from_utf8(&block[124..136])
            .ok()
            .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
            .and_then(|s| u64::from_str_radix(s, 8).ok())
            .unwrap_or(0);
        let data = usize::try_from(size.div_ceil(512).saturating_mul(512)).unwrap_or(usize::MAX);
        at = at.saturating_add(512).saturating_add(data);
    }
}

/// `data` as gzip: as is when it has the gzip magic number, else as a raw
/// tar with its checksums fixed, compressed here.
pub fn gzipped(data: &[u8]) -> Vec<u8> {
    if data.starts_with(&[0x1f, 0x8b]) {
        return data.to_vec();
    }
    let mut tar = data.to_vec();
    fix_checksums(&mut tar);
    gzip(&tar)
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(bytes).expect("gzip into memory");
    gz.finish().expect("gzip into memory")
}

/// The package the `package_read` target reads. The first byte picks how
/// the rest is used, so the fuzzer can mutate tar headers directly instead
/// of a gzip stream:
/// - `0`: a raw tar (checksums fixed up), gzipped here, is the package;
/// - `1`: `metadata.json` bytes, a NUL, then a raw tar (checksums fixed
///   up) gzipped here as code.tar.gz, packaged with a well-formed outer tar;
/// - anything else: the rest is the package as is.
///
/// `None` for empty input.
pub fn package(data: &[u8]) -> Option<Vec<u8>> {
    let (&mode, rest) = data.split_first()?;
    Some(match mode {
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
    })
}

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
