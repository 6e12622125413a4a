//! CouchDB index validation: never panics, and (built with `--cfg fuzzing`,
//! as cargo-fuzz builds) `index::validate` asserts that its typed fast path
//! accepts only what the full `Value` check accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for path in [
        "statedb/couchdb/indexes/a.json",
        "statedb/couchdb/collections/c/indexes/a.json",
    ] {
        if let Err(e) = ccaas_core::index::validate(path, data) {
            let _ = e.to_string();
        }
    }
});
