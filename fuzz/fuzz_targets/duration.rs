//! Go durations: parse anything; what parses formats back to itself.
#![no_main]

use ccaas_core::GoDuration;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 8 {
        let n = i64::from_le_bytes(data[..8].try_into().unwrap_or_default());
        let d = GoDuration::from_nanos(n);
        assert_eq!(GoDuration::parse(&d.to_string()), Ok(d), "{n}");
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match GoDuration::parse(text) {
        Ok(d) => assert_eq!(GoDuration::parse(&d.to_string()), Ok(d), "{text:?}"),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
