//! `ccaas_deploy::image` as a platform team's tool links it: images built
//! from files on disk, the same digest from the same inputs, and the
//! binaries that cannot run FROM scratch refused with the fix.
#![allow(clippy::unwrap_used)]

use ccaas_deploy::image::{self, elf, AddFile, ImageError, ImageName, ImageSpec};
use flate2::read::MultiGzDecoder;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

fn write(path: &Path, bytes: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A static ELF with a PT_INTERP header naming `interp`.
fn dynamic_elf(interp: &str) -> Vec<u8> {
    let mut b = elf::minimal_static_elf();
    b[64..68].copy_from_slice(&3u32.to_le_bytes());
    let off = b.len() as u64;
    b[72..80].copy_from_slice(&off.to_le_bytes());
    b[96..104].copy_from_slice(&(interp.len() as u64 + 1).to_le_bytes());
    b.extend_from_slice(interp.as_bytes());
    b.push(0);
    b
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn the_same_inputs_give_the_same_digest_in_another_directory_at_another_time() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut digests = Vec::new();
    for (dir, mode) in [(a.path(), 0o755), (b.path(), 0o700)] {
        write(&dir.join("kv"), &elf::minimal_static_elf(), mode);
        write(&dir.join("app.conf"), b"level=info\n", 0o600);
        let mut spec = ImageSpec::new(dir.join("kv"));
        spec.add.push(AddFile {
            source: dir.join("app.conf"),
            dest: "/etc/kv/app.conf".into(),
        });
        spec.version = Some("1.0".into());
        digests.push(image::build(&spec).unwrap().digest().to_owned());
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    assert_eq!(digests[0], digests[1]);

    // And a different input gives a different digest.
    write(&a.path().join("app.conf"), b"level=debug\n", 0o644);
    let mut spec = ImageSpec::new(a.path().join("kv"));
    spec.add.push(AddFile {
        source: a.path().join("app.conf"),
        dest: "/etc/kv/app.conf".into(),
    });
    spec.version = Some("1.0".into());
    assert_ne!(image::build(&spec).unwrap().digest(), digests[0]);
}

#[test]
fn the_config_says_user_entrypoint_ports_env_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("kv"), &elf::minimal_static_elf(), 0o755);
    let mut spec = ImageSpec::new(dir.path().join("kv"));
    spec.created = 1_700_000_000;
    spec.annotations.insert(
        "org.opencontainers.image.source".into(),
        "https://example.invalid/kv".into(),
    );
    let built = image::build(&spec).unwrap();
    let config = json(&built.config().bytes);
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["os"], "linux");
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    let run = &config["config"];
    assert_eq!(run["User"], "65532:65532");
    assert_eq!(run["Entrypoint"], serde_json::json!(["/usr/local/bin/kv"]));
    assert_eq!(
        run["ExposedPorts"],
        serde_json::json!({"9443/tcp": {}, "9999/tcp": {}})
    );
    let env: Vec<&str> = run["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"CHAINCODE_SERVER_ADDRESS=0.0.0.0:9999"),
        "{env:?}"
    );
    assert!(
        env.contains(&"CHAINCODE_OPERATIONS_ADDRESS=0.0.0.0:9443"),
        "{env:?}"
    );
    assert_eq!(run["Labels"]["org.opencontainers.image.title"], "kv");
    assert_eq!(
        run["Labels"]["org.opencontainers.image.source"],
        "https://example.invalid/kv"
    );
    let manifest = json(&built.manifest().bytes);
    assert_eq!(manifest["annotations"], run["Labels"]);
    assert_eq!(manifest["config"]["digest"], built.config().digest.as_str());
    // The layer's diff ID is the digest of the uncompressed tar.
    let mut raw = Vec::new();
    MultiGzDecoder::new(built.layers()[0].blob.bytes.as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        image::sha256_digest(&raw).as_str()
    );
}

#[test]
fn changing_the_server_address_moves_the_exposed_port_and_empty_removes() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("kv"), &elf::minimal_static_elf(), 0o755);
    let mut spec = ImageSpec::new(dir.path().join("kv"));
    spec.env = vec![
        ("CHAINCODE_SERVER_ADDRESS".into(), "0.0.0.0:7052".into()),
        ("CHAINCODE_OPERATIONS_ADDRESS".into(), String::new()),
        ("RUST_LOG".into(), "info".into()),
    ];
    let built = image::build(&spec).unwrap();
    assert_eq!(built.ports(), ["7052/tcp"]);
    assert!(built.env().contains(&"RUST_LOG=info".to_owned()));
    assert!(!built
        .env()
        .iter()
        .any(|e| e.starts_with("CHAINCODE_OPERATIONS_ADDRESS")));

    spec.env = vec![("CHAINCODE_SERVER_ADDRESS".into(), "0.0.0.0".into())];
    let err = image::build(&spec).unwrap_err().to_string();
    assert!(
        err.contains("CHAINCODE_SERVER_ADDRESS=0.0.0.0") && err.contains("HOST:PORT"),
        "{err}"
    );
}

#[test]
fn a_dynamic_binary_is_refused_with_the_interpreter_and_the_static_build_line() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("kv");
    write(&bin, &dynamic_elf("/lib64/ld-linux-x86-64.so.2"), 0o755);
    let err = image::build(&ImageSpec::new(&bin)).unwrap_err();
    assert!(matches!(err, ImageError::Dynamic { .. }));
    let text = err.to_string();
    for needle in [
        bin.to_str().unwrap(),
        "/lib64/ld-linux-x86-64.so.2",
        "RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu",
        "--base",
    ] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }
}

#[test]
fn a_dynamic_binary_on_a_base_layer_is_built_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("kv");
    write(&bin, &dynamic_elf("/lib64/ld-linux-x86-64.so.2"), 0o755);
    // A base layer: a plain tar holding the interpreter.
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(3);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append_data(&mut header, "lib64/ld-linux-x86-64.so.2", &b"ld\n"[..])
        .unwrap();
    let base = dir.path().join("base.tar");
    std::fs::write(&base, tar.into_inner().unwrap()).unwrap();
    let mut spec = ImageSpec::new(&bin);
    spec.base = Some(base.clone());
    let built = image::build(&spec).unwrap();
    assert_eq!(built.layers().len(), 2);
    assert_eq!(built.notes().len(), 1);
    assert!(
        built.notes()[0].contains("the base layer holds it"),
        "{:?}",
        built.notes()
    );
    let config = json(&built.config().bytes);
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        image::sha256_digest(&std::fs::read(&base).unwrap()).as_str()
    );
}

#[test]
fn non_elf_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("run.sh");
    write(&script, b"#!/bin/sh\nexec kv\n", 0o755);
    let err = ccaas_core::report::chain(&image::build(&ImageSpec::new(&script)).unwrap_err());
    assert!(err.contains("run.sh") && err.contains("script"), "{err}");

    let missing = dir.path().join("missing");
    let err = ccaas_core::report::chain(&image::build(&ImageSpec::new(&missing)).unwrap_err());
    assert!(
        err.contains("the chaincode server binary") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn add_collisions_and_bad_destinations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("kv"), &elf::minimal_static_elf(), 0o755);
    write(&dir.path().join("f"), b"x", 0o644);
    let mut spec = ImageSpec::new(dir.path().join("kv"));
    let f = dir.path().join("f").display().to_string();
    spec.add
        .push(format!("{f}:/usr/local/bin/kv").parse().unwrap());
    let err = image::build(&spec).unwrap_err().to_string();
    assert!(err.contains("the chaincode server"), "{err}");
    spec.add = vec![format!("{f}:/usr/local/bin/kv/x").parse().unwrap()];
    assert!(matches!(
        image::build(&spec),
        Err(ImageError::AddCollision { .. })
    ));
    assert!("f:relative/path".parse::<AddFile>().is_err());
}

#[test]
fn the_archive_and_the_layout_hold_the_same_blobs_and_names() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("kv"), &elf::minimal_static_elf(), 0o755);
    let built = image::build(&ImageSpec::new(dir.path().join("kv"))).unwrap();
    let name = ImageName::parse("kv:1.0").unwrap();
    let archive = dir.path().join("kv.tar");
    built.write_archive(&archive, Some(&name)).unwrap();
    let first = std::fs::read(&archive).unwrap();
    built.write_archive(&archive, Some(&name)).unwrap();
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        first,
        "the archive is reproducible too"
    );

    let mut entries = BTreeMap::new();
    let mut tar = tar::Archive::new(first.as_slice());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        entries.insert(path, bytes);
    }
    let index = json(&entries["index.json"]);
    assert_eq!(index["manifests"][0]["digest"], built.digest());
    assert_eq!(
        index["manifests"][0]["annotations"]["io.containerd.image.name"],
        "docker.io/library/kv:1.0"
    );
    let docker = json(&entries["manifest.json"]);
    assert_eq!(docker[0]["RepoTags"], serde_json::json!(["kv:1.0"]));

    let layout = dir.path().join("layout");
    built.write_layout(&layout, Some(&name)).unwrap();
    // Written again over itself: a layout is replaced.
    built.write_layout(&layout, Some(&name)).unwrap();
    for (path, bytes) in &entries {
        if path.ends_with('/') || path == "manifest.json" {
            continue;
        }
        assert_eq!(&std::fs::read(layout.join(path)).unwrap(), bytes, "{path}");
    }
    // A directory that is not a layout is never replaced.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep"), b"mine").unwrap();
    assert!(matches!(
        built.write_layout(&other, None),
        Err(ImageError::NotALayout { .. })
    ));
    assert_eq!(std::fs::read(other.join("keep")).unwrap(), b"mine");
}
