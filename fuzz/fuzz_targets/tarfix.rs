//! Shared by the archive targets: raw tar input made readable by fixing up
//! header checksums, so that mutations of header fields reach the code
//! under test instead of failing the checksum check, then gzipped.

#![allow(dead_code)]

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;

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
