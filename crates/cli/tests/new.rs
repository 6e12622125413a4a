//! `ccaas new` as a developer runs it: the crate it writes builds and
//! passes its own tests at once, with no warning, against this checkout.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use ccaas_testkit::{repo_root as workspace, target_dir};

#[test]
fn a_new_crate_passes_its_tests_with_no_warning() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("asset-registry");
    let output = Command::cargo_bin("ccaas")
        .unwrap()
        .args(["new", "asset-registry", "--path"])
        .arg(&crate_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.contains("Created the chaincode crate `asset-registry`"),
        "{stdout}"
    );

    // The dependencies are this checkout's crates, by absolute path.
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    let checkout = std::fs::canonicalize(workspace()).unwrap();
    assert!(
        manifest.contains(&format!(
            "ccaas-contract = {{ path = \"{}/crates/contract\" }}",
            checkout.display()
        )),
        "{manifest}"
    );
    let readme = std::fs::read_to_string(crate_dir.join("README.md")).unwrap();
    for command in [
        "RUSTFLAGS=\"-C target-feature=+crt-static\" cargo build --release --target x86_64-unknown-linux-gnu",
        "ccaas package --label asset-registry_1.0 --address asset-registry.chaincode:9999 -o asset-registry.tgz",
        "ccaas image target/x86_64-unknown-linux-gnu/release/asset-registry --tag asset-registry:1.0 --package asset-registry.tgz -o asset-registry.oci.tar",
        "ccaas k8s --package asset-registry.tgz --name asset-registry --namespace chaincode \\\n    --image ",
    ] {
        assert!(readme.contains(command), "{command}\n{readme}");
    }

    // The versions this workspace is tested with (and built with already:
    // --offline), and a target directory kept between runs, so that the
    // dependencies build once.
    std::fs::copy(workspace().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let tested = std::process::Command::new(cargo)
        .args(["test", "--offline", "--all-targets"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", target_dir().join("scaffold-check"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&tested.stderr);
    let stdout = String::from_utf8_lossy(&tested.stdout);
    assert!(tested.status.success(), "{stderr}\n{stdout}");
    assert!(stdout.contains("test result: ok. 3 passed"), "{stdout}");
    assert!(
        stdout.contains("creating_an_asset_sets_the_event ... ok"),
        "{stdout}"
    );
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning"))
        .collect();
    assert!(warnings.is_empty(), "{stderr}");
}

#[test]
fn a_crate_is_not_written_over_another() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    Command::cargo_bin("ccaas")
        .unwrap()
        .args(["new", "token", "--path"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(format!(
            "ccaas: error: `{}` exists and is not an empty directory: give another NAME or --path DIR\n",
            dir.path().display()
        ));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_checkout_without_the_crates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("ccaas")
        .unwrap()
        .args(["new", "token", "--path"])
        .arg(dir.path().join("token"))
        .arg("--checkout")
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(format!(
            "ccaas: error: `{}` is not a ccaas checkout (no `crates/contract/Cargo.toml`): give --checkout DIR, a checkout of this repository\n",
            dir.path().display()
        ));
}
