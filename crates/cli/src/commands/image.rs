//! `ccaas image`: an OCI image of a chaincode server, built without a
//! daemon (`ccaas_deploy::image`), written as an archive or a layout
//! directory, or pushed to a registry.

use crate::Failure;
use ccaas_deploy::image::{self, AddFile, Image, ImageName, ImageSpec, PushAuth, PushOptions};
use clap::Args;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// The variable `--registry-user`'s password is read from (unless
/// `--registry-password-stdin`).
pub const PASSWORD_ENV: &str = "CCAAS_REGISTRY_PASSWORD";
/// The variable a bearer token is read from, without `--registry-user`.
pub const TOKEN_ENV: &str = "CCAAS_REGISTRY_TOKEN";

/// The flags of `ccaas image`.
#[derive(Args)]
pub struct ImageArgs {
    /// The chaincode server: a static Linux executable (RUSTFLAGS='-C target-feature=+crt-static').
    #[arg(value_name = "BINARY")]
    pub binary: PathBuf,
    /// The image's name, for the archive and the layout (`kv:1.0`, `registry.example.com/team/kv:1.0`).
    #[arg(short, long, value_name = "NAME:TAG")]
    pub tag: Option<String>,
    /// Write one archive for `docker load`, `podman load` and `ctr images import` (an OCI layout and a docker-archive in one tar).
    #[arg(short, long, value_name = "FILE.tar")]
    pub output: Option<PathBuf>,
    /// Write an OCI image layout directory (`skopeo copy oci:DIR ...`).
    #[arg(long, value_name = "DIR")]
    pub layout: Option<PathBuf>,
    /// Push to a registry with the OCI distribution API and print REGISTRY/REPO@sha256:...
    #[arg(long, value_name = "REGISTRY/REPO:TAG")]
    pub push: Option<String>,
    /// The binary's name in the image, /usr/local/bin/NAME (default: its file name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Add a file to the image at the absolute path DEST (repeatable).
    #[arg(long, value_name = "SRC:DEST")]
    pub add: Vec<String>,
    /// A base layer archive (.tar or .tar.gz of a root file system) below the chaincode layer; a dynamic binary needs one with its libraries.
    #[arg(long, value_name = "LAYER.tar")]
    pub base: Option<PathBuf>,
    /// The chaincode package: its label and package ID go in the labels.
    #[arg(long, value_name = "PKG.tgz")]
    pub package: Option<PathBuf>,
    /// org.opencontainers.image.version.
    #[arg(long = "image-version", value_name = "VERSION")]
    pub version: Option<String>,
    /// An annotation (also a label), such as org.opencontainers.image.source=URL (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub annotation: Vec<String>,
    /// Set an env variable in the image; an empty VALUE removes it (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Trust only these CA certificates (PEM) for the registry's TLS.
    #[arg(long, value_name = "FILE", requires = "push")]
    pub registry_ca: Option<PathBuf>,
    /// Log in to the registry as USER; the password is read from CCAAS_REGISTRY_PASSWORD, or standard input with --registry-password-stdin.
    #[arg(long, value_name = "USER", requires = "push")]
    pub registry_user: Option<String>,
    /// Read the registry password from standard input (one line).
    #[arg(long, requires = "registry_user")]
    pub registry_password_stdin: bool,
    /// Speak plain HTTP to the registry: only for one at `127.0.0.1:PORT` or `[::1]:PORT`.
    #[arg(long, requires = "push")]
    pub plain_http: bool,
    /// Print JSON (shape in docs/image.md).
    #[arg(long)]
    pub json: bool,
}

/// Builds the image, writes and pushes it, and prints its reference.
pub fn run(args: &ImageArgs) -> Result<ExitCode, Failure> {
    let push_name = args
        .push
        .as_deref()
        .map(|p| ImageName::parse_for("--push", p))
        .transpose()?;
    let tag = match (&args.tag, &push_name) {
        (Some(t), _) => Some(ImageName::parse_for("--tag", t)?),
        (None, Some(p)) => Some(p.clone()),
        (None, None) => None,
    };
    if args.output.is_some() && tag.is_none() {
        return Err(Failure(vec!["--output needs --tag NAME:TAG: `docker load`, `podman load` and `ctr images import` name the image from it (a tag other than `latest`, such as `kv:1.0`)".into()]));
    }
    let auth = push_auth(args)?;

    let spec = spec(args)?;
    let built = image::build(&spec)?;
    for note in built.notes() {
        say!("ccaas: note: {note}");
    }
    let mut written = serde_json::Map::new();
    if let Some(path) = &args.output {
        built.write_archive(path, tag.as_ref())?;
        say!(
            "ccaas: wrote `{}` ({}): `docker load -i`, `podman load -i`, `ctr images import` read it",
            path.display(),
            tag.as_ref().map(|t| t.to_string()).unwrap_or_default()
        );
        written.insert("archive".into(), path.display().to_string().into());
    }
    if let Some(dir) = &args.layout {
        built.write_layout(dir, tag.as_ref())?;
        say!("ccaas: wrote the OCI image layout `{}`", dir.display());
        written.insert("layout".into(), dir.display().to_string().into());
    }
    let mut pushed = None;
    if let Some(name) = &push_name {
        let options = PushOptions {
            auth,
            ca_file: args.registry_ca.clone(),
            plain_http: args.plain_http,
            timeout: None,
        };
        let done = image::push_blocking(&built, name, &options)?;
        say!("ccaas: pushed {}", done.tagged);
        pushed = Some(done);
    }

    let reference = match (&pushed, &tag) {
        (Some(p), _) => p.pinned.clone(),
        (None, Some(t)) => t.pinned(built.digest()),
        (None, None) => built.digest().to_owned(),
    };
    if args.json {
        let mut value = describe(&built);
        value["ok"] = true.into();
        value["reference"] = reference.into();
        value["written"] = written.into();
        if let Some(p) = &pushed {
            value["pushed"] = serde_json::json!({"pinned": p.pinned, "tagged": p.tagged});
        }
        crate::print_json(value);
    } else {
        say!(
            "ccaas: image {} ({}, {}, {} bytes)",
            built.digest(),
            built.architecture(),
            ccaas_core::report::count(built.layers().len() as u64, "layer", "layers"),
            built.size()
        );
        out!("{reference}");
    }
    Ok(ExitCode::SUCCESS)
}

fn spec(args: &ImageArgs) -> Result<ImageSpec, Failure> {
    let mut spec = ImageSpec::new(&args.binary);
    spec.name = args.name.clone();
    spec.base = args.base.clone();
    spec.package = args.package.clone();
    spec.version = args.version.clone();
    spec.created = image::source_date_epoch()?.unwrap_or(0);
    for add in &args.add {
        spec.add.push(add.parse::<AddFile>()?);
    }
    let mut annotations = BTreeMap::new();
    for pair in &args.annotation {
        let (k, v) = key_value("--annotation", pair)?;
        annotations.insert(k, v);
    }
    spec.annotations = annotations;
    for pair in &args.env {
        spec.env.push(key_value("--env", pair)?);
    }
    Ok(spec)
}

fn key_value(flag: &str, pair: &str) -> Result<(String, String), Failure> {
    match pair.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(Failure(vec![format!(
            "{flag} `{}`: expected KEY=VALUE",
            ccaas_core::report::shorten(pair)
        )])),
    }
}

/// The credentials: a user with a password from the environment or
/// standard input, or a bearer token from the environment. Never printed.
fn push_auth(args: &ImageArgs) -> Result<PushAuth, Failure> {
    let Some(user) = &args.registry_user else {
        return Ok(match std::env::var(TOKEN_ENV) {
            Ok(token) if !token.is_empty() && args.push.is_some() => PushAuth::Bearer(token),
            _ => PushAuth::Anonymous,
        });
    };
    let password = if args.registry_password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .map_err(|e| {
                Failure(vec![format!(
                    "--registry-password-stdin: cannot read standard input: {e}"
                )])
            })?;
        text.lines().next().unwrap_or_default().to_owned()
    } else {
        std::env::var(PASSWORD_ENV).unwrap_or_default()
    };
    if password.is_empty() {
        return Err(Failure(vec![format!(
            "--registry-user `{user}`: no password: set {PASSWORD_ENV}, or pipe it with --registry-password-stdin"
        )]));
    }
    Ok(PushAuth::Basic {
        user: user.clone(),
        password,
    })
}

/// The image as JSON: what `--json` prints besides the outputs.
fn describe(built: &Image) -> serde_json::Value {
    let layers: Vec<_> = built
        .layers()
        .iter()
        .map(|l| serde_json::json!({"digest": l.blob.digest, "size": l.blob.bytes.len(), "diff_id": l.diff_id}))
        .collect();
    serde_json::json!({
        "digest": built.digest(),
        "architecture": built.architecture(),
        "size": built.size(),
        "config": {"digest": built.config().digest, "size": built.config().bytes.len()},
        "layers": layers,
        "user": image::USER,
        "entrypoint": built.entrypoint(),
        "env": built.env(),
        "ports": built.ports(),
        "annotations": built.annotations(),
        "notes": built.notes(),
    })
}
