//! connection.json: parse + validate + render. The input is an optional
//! template config and the connection.json, separated by the first NUL
//! byte. Whatever loads must write a canonical JSON that loads back to the
//! same connection, and no error may panic while being displayed.
#![no_main]

use ccaas_core::connection::{self, LoadOptions};
use ccaas_core::TemplateConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (config, json) = match data.iter().position(|&b| b == 0) {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    };
    let config = config.and_then(|c| TemplateConfig::parse(c).ok());
    for (strict, built) in [(false, false), (true, false), (true, true)] {
        let options = LoadOptions {
            config: config.as_ref(),
            strict,
            tls_files: None,
            built,
        };
        match connection::load(json, &options) {
            Ok(checked) => {
                let c = &checked.connection;
                let _ = (c.tls_mode(), c.effective_dial_timeout().to_string());
                let _ = c.redacted_json();
                for w in &checked.warnings {
                    let _ = (w.to_string(), w.peer_outcome());
                }
                let canonical = c.to_json();
                match connection::load(&canonical, &options) {
                    Ok(again) => assert_eq!(
                        &again.connection, c,
                        "canonical form reads back differently"
                    ),
                    Err(e) => panic!(
                        "canonical form rejected: {}",
                        e.problems
                            .iter()
                            .map(|p| ccaas_core::report::chain(p))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                }
            }
            Err(rejected) => {
                for p in &rejected.problems {
                    let _ = (ccaas_core::report::chain(p), p.peer_outcome());
                }
                let _ = rejected.to_string();
            }
        }
    }
});
