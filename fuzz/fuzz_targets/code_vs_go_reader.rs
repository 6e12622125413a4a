//! Differential: the entries `walk_code` accepts must be the entries the
//! peer's Go reader (archive/tar) extracts. The tar crate outside raw mode
//! applies PAX records (`path`, `size`) and GNU long names as Go does, so it
//! stands in for Go here: whenever both read an archive, they must list the
//! same files with the same contents. Input without the gzip magic number
//! is a raw tar (checksums fixed up), gzipped here.
#![no_main]

#[path = "tarfix.rs"]
mod tarfix;

use ccaas_core::archive::{self, CodeEntryKind};
use flate2::read::MultiGzDecoder;
use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let code = tarfix::gzipped(data);
    let code = &code[..];
    let limits = tarfix::LIMITS;
    let mut ours: Vec<(String, Vec<u8>)> = Vec::new();
    let walked = archive::walk_code(code, &limits, |entry, contents| {
        if entry.kind == CodeEntryKind::File {
            let mut bytes = Vec::new();
            contents
                .read_to_end(&mut bytes)
                .map_err(|e| archive::ArchiveError::Write(e))?;
            ours.push((entry.path.clone(), bytes));
        }
        Ok(())
    });
    if walked.is_err() {
        return;
    }
    let mut reference: Vec<(String, Vec<u8>)> = Vec::new();
    let mut tar = tar::Archive::new(MultiGzDecoder::new(code));
    let Ok(entries) = tar.entries() else {
        return;
    };
    for entry in entries {
        let Ok(mut entry) = entry else {
            return;
        };
        let kind = entry.header().entry_type();
        let raw = entry.path_bytes().into_owned();
        let is_file = matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous)
            && !raw.ends_with(b"/");
        if !is_file {
            continue;
        }
        let Ok(Some(path)) = archive::clean_entry_name("code.tar.gz", &raw, &limits) else {
            return;
        };
        let mut bytes = Vec::new();
        if entry.read_to_end(&mut bytes).is_err() {
            return;
        }
        reference.push((path, bytes));
    }
    assert_eq!(
        ours.iter()
            .map(|(p, b)| (p.as_str(), b.len()))
            .collect::<Vec<_>>(),
        reference
            .iter()
            .map(|(p, b)| (p.as_str(), b.len()))
            .collect::<Vec<_>>(),
        "walk_code lists other files than a Go-like reader"
    );
    assert!(
        ours == reference,
        "walk_code reads other contents than a Go-like reader"
    );
});
