//! Template rendering: a config (JSON) and a text, separated by the first
//! NUL byte.
#![no_main]

use ccaas_core::template::{self, TemplateConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(i) = data.iter().position(|&b| b == 0) else {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = template::render(text, None);
        }
        return;
    };
    let (Ok(config), Ok(text)) = (
        std::str::from_utf8(&data[..i]),
        std::str::from_utf8(&data[i + 1..]),
    ) else {
        return;
    };
    match TemplateConfig::parse(config) {
        Ok(config) => match config.render(text) {
            Ok(out) => {
                if !template::is_template(text) {
                    assert_eq!(out, text);
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        },
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
