//! `ccaas new`: a chaincode crate that builds and passes its tests at once.
//! A contract (`ccaas-contract`) with two transactions and an event, its
//! tests on the in-process peer simulator (`ccaas-peersim`), a `main` that
//! serves it (`ccaas_shim::run`), the static release profile, and a README
//! with the build, package, image and manifest commands. Its dependencies
//! are path dependencies on a ccaas checkout: the one this `ccaas` was
//! built from, or `--checkout DIR`. The files are templates under
//! `crates/cli/templates/new/`, built into the binary.

use crate::Failure;
use ccaas_core::fs::{self, FsError};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The flags of `ccaas new`.
#[derive(Args)]
pub struct NewArgs {
    /// The crate's name: letters, digits, `-` and `_`, starting with a letter (`token`, `asset-registry`).
    pub name: String,
    /// Where to write the crate [default: ./NAME]. It must not exist, or be an empty directory.
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// The ccaas checkout the crate's dependencies point at [default: the one this ccaas was built from].
    #[arg(long, value_name = "DIR")]
    pub checkout: Option<PathBuf>,
}

/// Why `ccaas new` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    /// The name cannot be a crate's.
    #[error("`{name}` cannot be the crate's name: {why}")]
    BadName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        why: String,
    },
    /// The destination holds something already.
    #[error("`{path}` exists and is not an empty directory: give another NAME or --path DIR")]
    Exists {
        /// The destination.
        path: PathBuf,
    },
    /// The checkout lacks a crate the new one depends on.
    #[error("`{checkout}` is not a ccaas checkout (no `{missing}`): give --checkout DIR, a checkout of this repository")]
    NoCheckout {
        /// The checkout.
        checkout: PathBuf,
        /// The file that is not there.
        missing: String,
    },
    /// A path that Cargo.toml cannot name.
    #[error("`{path}` is not UTF-8: Cargo.toml cannot name it; move the checkout to a UTF-8 path")]
    NotUtf8 {
        /// The path.
        path: PathBuf,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// The crate's files: where each goes, and its template.
const TEMPLATES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../templates/new/Cargo.toml")),
    (".gitignore", include_str!("../../templates/new/gitignore")),
    ("README.md", include_str!("../../templates/new/README.md")),
    ("src/lib.rs", include_str!("../../templates/new/src/lib.rs")),
    (
        "src/main.rs",
        include_str!("../../templates/new/src/main.rs"),
    ),
    (
        "tests/contract.rs",
        include_str!("../../templates/new/tests/contract.rs"),
    ),
];

/// The crates of the checkout the new crate depends on.
const DEPENDENCIES: &[&str] = &["contract", "shim", "peersim"];

/// Names a new crate cannot take: Rust's keywords (the library's name is
/// a Rust identifier), the standard crates, and the crates it depends on.
#[rustfmt::skip]
const RESERVED: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
    "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "gen",
    "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield", "test",
    "core", "std", "alloc", "proc_macro", "ccaas_contract", "ccaas_shim", "ccaas_peersim",
    "serde", "serde_json", "tokio",
];

/// Writes the crate and says what to do next.
pub fn run(args: &NewArgs) -> Result<ExitCode, Failure> {
    let dest = args
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let checkout = match &args.checkout {
        Some(dir) => dir.clone(),
        None => built_from(),
    };
    let written = write(&args.name, &dest, &checkout)?;
    out!(
        "Created the chaincode crate `{}` in {}, on the ccaas checkout {}",
        args.name,
        dest.display(),
        written.display()
    );
    out!("Next: cd {} && cargo test", dest.display());
    Ok(ExitCode::SUCCESS)
}

/// The checkout this binary was built from (crates/cli/../..).
pub fn built_from() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Writes the crate `name` into `dest`, its dependencies on `checkout`;
/// returns the checkout's absolute path, as the crate names it. Nothing is
/// left behind on an error.
pub fn write(name: &str, dest: &Path, checkout: &Path) -> Result<PathBuf, NewError> {
    check_name(name)?;
    let checkout = absolute_checkout(checkout)?;
    let checkout_text = checkout.to_str().ok_or_else(|| NewError::NotUtf8 {
        path: checkout.clone(),
    })?;
    // An empty directory is used, a missing one made; a stat or listing
    // that fails says why (the path and the errno), not "exists".
    let created = match fs::entry_kind(dest)? {
        None => true,
        Some(fs::EntryKind::Dir) if fs::sorted_entries(dest)?.is_empty() => false,
        Some(_) => {
            return Err(NewError::Exists {
                path: dest.to_owned(),
            })
        }
    };
    let result = write_files(name, dest, checkout_text);
    if result.is_err() {
        // Leave nothing half written: the directory if we made it, else the files.
        if created {
            let _ = std::fs::remove_dir_all(dest);
        } else {
            for (relative, _) in TEMPLATES {
                let _ = std::fs::remove_file(dest.join(relative));
            }
            for dir in ["src", "tests"] {
                let _ = std::fs::remove_dir(dest.join(dir));
            }
        }
    }
    result.map(|()| checkout)
}

fn write_files(name: &str, dest: &Path, checkout: &str) -> Result<(), NewError> {
    for (relative, template) in TEMPLATES {
        let path = dest.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent, 0o755)?;
        }
        let text = render(template, name, checkout);
        fs::write_new(&path, text.as_bytes(), 0o644)?;
    }
    Ok(())
}

/// A Cargo package name the new crate can have.
fn check_name(name: &str) -> Result<(), NewError> {
    let bad = |why: &str| NewError::BadName {
        name: name.to_owned(),
        why: why.to_owned(),
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(bad("it is empty")),
        Some(c) if !c.is_ascii_alphabetic() => {
            return Err(bad("it must start with a letter (a-z, A-Z)"))
        }
        Some(_) => {}
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err(bad(&format!(
            "`{c}` is not allowed: only letters, digits, `-` and `_`"
        )));
    }
    if name.len() > 64 {
        return Err(bad("it is longer than 64 characters"));
    }
    let ident = crate_ident(name);
    if RESERVED.contains(&ident.as_str()) {
        return Err(bad(&format!(
            "`{ident}` is a Rust keyword, a standard crate or a crate it depends on"
        )));
    }
    Ok(())
}

/// The checkout as an absolute path, with the crates the new one uses.
fn absolute_checkout(checkout: &Path) -> Result<PathBuf, NewError> {
    for krate in DEPENDENCIES {
        let manifest = checkout.join("crates").join(krate).join("Cargo.toml");
        if !manifest.is_file() {
            return Err(NewError::NoCheckout {
                checkout: checkout.to_owned(),
                missing: format!("crates/{krate}/Cargo.toml"),
            });
        }
    }
    std::fs::canonicalize(checkout).map_err(|e| NewError::Fs(FsError::io("resolve", checkout, e)))
}

/// `asset-registry` → `asset_registry` (the library's name in Rust).
fn crate_ident(name: &str) -> String {
    name.replace('-', "_")
}

/// `asset-registry` → `AssetRegistryContract` (the contract's type and
/// its name in the metadata).
fn contract_type(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(['-', '_']).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    if !out.ends_with("Contract") {
        out.push_str("Contract");
    }
    out
}

/// `text` as a TOML basic string's contents.
fn toml_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// A template with its placeholders filled in.
fn render(template: &str, name: &str, checkout: &str) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{crate}}", &crate_ident(name))
        .replace("{{contract}}", &contract_type(name))
        .replace("{{checkout}}", &toml_escaped(checkout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        for (relative, template) in TEMPLATES {
            let text = render(template, "asset-registry", "/src/ccaas");
            assert!(!text.contains("{{"), "{relative}: {text}");
        }
    }

    #[test]
    fn names_become_rust_names() {
        assert_eq!(crate_ident("asset-registry"), "asset_registry");
        assert_eq!(contract_type("asset-registry"), "AssetRegistryContract");
        assert_eq!(contract_type("token"), "TokenContract");
        assert_eq!(contract_type("my_contract"), "MyContract");
        assert_eq!(contract_type("a--b"), "ABContract");
    }

    #[test]
    fn names_cargo_or_rust_would_refuse_are_refused() {
        for (name, why) in [
            ("", "it is empty"),
            ("1token", "must start with a letter"),
            ("-token", "must start with a letter"),
            ("to ken", "` ` is not allowed"),
            ("tokén", "`é` is not allowed"),
            ("type", "is a Rust keyword"),
            (
                "ccaas-shim",
                "`ccaas_shim` is a Rust keyword, a standard crate or a crate it depends on",
            ),
        ] {
            let message = check_name(name).map_err(|e| e.to_string());
            assert!(
                message.as_ref().is_err_and(|m| m.contains(why)),
                "{name:?}: {message:?}"
            );
        }
        for name in ["token", "asset-registry", "Basic_2"] {
            assert!(check_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn the_checkout_path_is_a_toml_string() {
        assert_eq!(toml_escaped(r#"/a "b"\c"#), r#"/a \"b\"\\c"#);
        assert_eq!(toml_escaped("/a\tb"), "/a\\u0009b");
    }

    #[test]
    fn it_writes_into_a_new_or_empty_directory_only() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dest = dir.path().join("token");
        let written = write("token", &dest, &built_from());
        assert!(written.is_ok(), "{written:?}");
        assert!(dest.join("tests/contract.rs").is_file());
        let again = write("token", &dest, &built_from()).map_err(|e| e.to_string());
        assert_eq!(
            again,
            Err(format!(
                "`{}` exists and is not an empty directory: give another NAME or --path DIR",
                dest.display()
            ))
        );
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap_or_else(|e| panic!("{e}"));
        assert!(write("token", &empty, &built_from()).is_ok());
    }

    #[test]
    fn a_directory_that_is_not_a_checkout_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dest = dir.path().join("token");
        let refused = write("token", &dest, dir.path()).map_err(|e| e.to_string());
        assert_eq!(
            refused,
            Err(format!(
                "`{}` is not a ccaas checkout (no `crates/contract/Cargo.toml`): give --checkout DIR, a checkout of this repository",
                dir.path().display()
            ))
        );
        assert!(!dest.exists());
    }
}
