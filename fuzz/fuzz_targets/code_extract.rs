//! code.tar.gz extraction into a temporary directory (small limits): never
//! a panic, never a file outside the target directory. Input without the
//! gzip magic number is a raw tar (checksums fixed up), gzipped here, so the
//! fuzzer can mutate tar headers directly.
#![no_main]

#[path = "tarfix.rs"]
mod tarfix;

use ccaas_core::archive;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let code = tarfix::gzipped(data);
    let limits = tarfix::LIMITS;
    let root = tempfile::tempdir().expect("temporary directory");
    let dest = root.path().join("dest");
    let canary = root.path().join("canary");
    std::fs::create_dir(&dest).expect("dest");
    std::fs::create_dir(&canary).expect("canary");
    if let Err(e) = archive::extract_code(&code[..], &dest, &limits) {
        let _ = ccaas_core::report::chain(&e);
    }
    let outside: Vec<_> = std::fs::read_dir(root.path())
        .expect("list root")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n != "dest" && n != "canary")
        .collect();
    assert!(outside.is_empty(), "written outside: {outside:?}");
    assert_eq!(
        std::fs::read_dir(&canary).expect("list canary").count(),
        0,
        "written into the canary"
    );
});
