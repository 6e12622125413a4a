//! `bin-scripts/install`: `--help` and bad arguments print usage and build
//! nothing (issue 15).
#![allow(clippy::unwrap_used)]

use std::process::Command;

// Regression: `install --help` took `--help` as DEST and started a release
// build into a directory named `--help`.
#[test]
fn install_help_and_bad_arguments_build_nothing() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], i32); 5] = [
        (&["--help"], 0),
        (&["-h"], 0),
        (&["--bogus"], 2),
        (&[], 2),
        (&["a", "b"], 2),
    ];
    for (args, code) in cases {
        let out = Command::new("bash")
            .arg(root.join("bin-scripts/install"))
            .args(args)
            .current_dir(dir.path())
            // A build would need cargo: make sure none can start.
            .env("PATH", "/usr/bin:/bin")
            .env("CARGO_TARGET_DIR", dir.path().join("target"))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{args:?}: {text}");
        assert!(
            text.contains("usage: bin-scripts/install DEST"),
            "{args:?}: {text}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{args:?} wrote files"
        );
    }
}
