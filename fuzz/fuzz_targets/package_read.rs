//! Package reading with the peer's rules (small limits, so that each run
//! stays fast), reading every code.tar.gz entry the visitor is given. The
//! first byte of the input picks how the rest becomes a package: see
//! `tarfix::package`.
#![no_main]

#[path = "tarfix.rs"]
mod tarfix;

use ccaas_core::package;
use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let Some(package) = tarfix::package(data) else {
        return;
    };
    let result = package::read(&package[..], &tarfix::LIMITS, |entry, contents| {
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
