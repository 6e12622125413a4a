//! `bin-scripts/install` lays out statically linked `bin/detect`,
//! `bin/build`, `bin/release` that run with an empty environment (as in an
//! Alpine or Ubuntu peer image, whatever their C library).
#![allow(clippy::unwrap_used)]

use ccaas_testkit::{assert_run, repo_root, run, PeerDirs};
use std::path::Path;
use std::process::Command;

const PT_INTERP: u32 = 3;
const PT_DYNAMIC: u32 = 2;
const DT_NEEDED: u64 = 1;

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Reads a 64-bit little-endian ELF's program headers: whether it asks for
/// a dynamic loader, and how many shared libraries it names.
fn elf_linkage(path: &Path) -> (bool, usize) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..4], b"\x7fELF", "{} is not ELF", path.display());
    assert_eq!((b[4], b[5]), (2, 1), "expected a 64-bit little-endian ELF");
    let (phoff, phentsize, phnum) = (
        u64_at(&b, 0x20) as usize,
        u16_at(&b, 0x36),
        u16_at(&b, 0x38),
    );
    let mut interp = false;
    let mut needed = 0;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        match u32_at(&b, ph) {
            PT_INTERP => interp = true,
            PT_DYNAMIC => {
                let (off, size) = (u64_at(&b, ph + 8) as usize, u64_at(&b, ph + 32) as usize);
                needed += (0..size / 16)
                    .filter(|k| u64_at(&b, off + k * 16) == DT_NEEDED)
                    .count();
            }
            _ => {}
        }
    }
    (interp, needed)
}

#[test]
fn installed_binaries_are_static_and_run_under_env_i() {
    let dest = tempfile::tempdir().unwrap();
    // Inside the target dir the tests were built in, not the source tree's.
    let target_dir = ccaas_testkit::target_dir().join("install-test");
    let out = Command::new(repo_root().join("bin-scripts/install"))
        .arg(dest.path())
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "install failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("externalBuilders:")
            && stdout.contains(&format!("path: {}", dest.path().display())),
        "{stdout}"
    );

    for step in ["detect", "build", "release"] {
        let bin = dest.path().join("bin").join(step);
        assert_eq!(
            elf_linkage(&bin),
            (false, 0),
            "{step} must be statically linked"
        );
    }

    let dirs = PeerDirs::ccaas();
    dirs.write_src(
        "connection.json",
        r#"{"address": "cc:9999", "dial_timeout": "2s"}"#,
    );
    let bin = |s: &str| dest.path().join("bin").join(s).display().to_string();
    assert_run(
        &run(&bin("detect"), &[dirs.src(), dirs.metadata()], &[]),
        0,
        &["detect: claimed `test_1.0` (type ccaas)"],
    );
    assert_run(
        &run(&bin("build"), &[dirs.src(), dirs.metadata(), dirs.bld()], &[]),
        0,
        &[concat!("build: `test_1.0` (ccaas): address cc:9999, TLS off, dial timeout 2s, 0 CouchDB indexes", "; built by ccaas-builder ", env!("CARGO_PKG_VERSION"))],
    );
    assert_run(
        &run(&bin("release"), &[dirs.bld(), dirs.release()], &[]),
        0,
        &["release: address cc:9999, TLS off, dial timeout 2s, 0 CouchDB indexes"],
    );
    assert!(dirs
        .release()
        .join("chaincode/server/connection.json")
        .is_file());
}
