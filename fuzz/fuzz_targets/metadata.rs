//! metadata.json: what parses must write back to itself.
#![no_main]

use ccaas_core::metadata::RawMetadata;
use ccaas_core::Metadata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = RawMetadata::parse(data).map(|m| m.dialect());
    match Metadata::parse(data) {
        Ok(meta) => {
            let again = Metadata::parse(&meta.to_json()).expect("written metadata.json reads back");
            assert_eq!(again, meta);
        }
        Err(e) => {
            let _ = ccaas_core::report::chain(&e);
        }
    }
});
