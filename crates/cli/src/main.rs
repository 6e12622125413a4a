//! `ccaas`: package, identify, inspect, validate and simulate
//! chaincode-as-a-service packages. All logic is in `ccaas-core`; this file
//! parses arguments, calls it, and prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod flags;
mod generate;
mod output;
mod probe;

use ccaas_core::archive::Limits;
use ccaas_core::compose::{self, ConnectionFields, PackageInputs};
use ccaas_core::examine::{self, ExamineOptions};
use ccaas_core::simulate::{self, Builder, SimulateOptions, OUR_ENVIRONMENT};
use ccaas_core::{package, Dialect, Label};
use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Every line `ccaas` prints goes through `report::redact`: no key
/// material reaches a terminal, whatever a message quoted.
macro_rules! out {
    ($($arg:tt)*) => {
        println!("{}", ccaas_core::report::redact(&format!($($arg)*)))
    };
}
macro_rules! out_text {
    ($text:expr) => {
        print!("{}", ccaas_core::report::redact(&$text))
    };
}
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", ccaas_core::report::redact(&format!($($arg)*)))
    };
}

/// JSON for stdout, every string redacted.
fn print_json(mut value: serde_json::Value) {
    ccaas_core::report::redact_json(&mut value);
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
}

const EXIT_CODES: &str = "Exit codes: 0 ok; 1 invalid input or the peer would fail; 2 usage error.";

/// The sample package `simulate` installs when given none: type ccaas,
/// templated address, mutual TLS from files shipped in the package, two
/// CouchDB indexes. Rebuilt byte for byte by a test from fixtures/sample/.
const SAMPLE_PACKAGE: &[u8] = include_bytes!("../../../fixtures/sample/basic_1.0.tgz");
const SAMPLE_CONFIG: &str = r#"{"peername":"peer0"}"#;

#[derive(Parser)]
#[command(name = "ccaas", version, about = "Chaincode-as-a-service packages for Hyperledger Fabric: make them, check them, and see what a peer will do with them.", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        display_order = 100,
        after_help = "Examples:\n  ccaas completions bash > ~/.local/share/bash-completion/completions/ccaas\n  ccaas completions zsh > ~/.zfunc/_ccaas\n  ccaas completions fish > ~/.config/fish/completions/ccaas.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of ccaas, or of one command.
    #[command(
        display_order = 101,
        after_help = "Examples:\n  ccaas man | man -l -\n  ccaas man package > ccaas-package.1"
    )]
    Man {
        /// A command (package, id, ...): its own page, `ccaas-COMMAND(1)`.
        command: Option<String>,
    },
    /// Make a deterministic chaincode package and print its package ID.
    #[command(
        after_help = "Examples:\n  ccaas package --label basic_1.0 --address basic.example.com:9999 -o basic.tgz\n  ccaas package --label basic_1.0 --address '{{.peername}}-basic:9999' --tls-root-cert ca.pem \\\n      --client-cert client.pem --client-key client.key --indexes META-INF/statedb/couchdb -o basic.tgz\n  ccaas package --label basic_1.0 --connection connection.json --type external -o basic.tgz\n\nThe same inputs give the same bytes, so every organisation gets the same package ID.\nExit codes: 0 written; 1 invalid input (nothing written); 2 usage error."
    )]
    Package(PackageArgs),
    /// Print package IDs, as `peer lifecycle chaincode calculatepackageid` does.
    #[command(
        after_help = "Example:\n  ccaas id basic.tgz\n  cat basic.tgz | ccaas id -\n\nExit codes: 0 ok; 1 a package is unreadable or invalid; 2 usage error."
    )]
    Id {
        /// Package files; `-` reads standard input.
        #[arg(required = true)]
        packages: Vec<PathBuf>,
        /// Print a JSON array of {file, package_id, label, hash}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Show what a package holds: ID, metadata, connection (keys redacted), indexes, TLS files, findings.
    #[command(
        after_help = "Example:\n  ccaas inspect basic.tgz\n  ccaas inspect basic.tgz --json | jq .connection\n\nExit codes: 0 shown (even with findings); 1 the package is unreadable; 2 usage error."
    )]
    Inspect {
        /// The package file.
        package: PathBuf,
        /// Print JSON (shape in docs/cli.md).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Check a package, connection.json or metadata.json and say what the peer would do.
    #[command(
        after_help = "Examples:\n  ccaas validate basic.tgz\n  ccaas validate connection.json --config '{\"peername\":\"peer0\"}'\n  ccaas validate metadata.json --json\n  ccaas validate basic.tgz --config '{\"peername\":\"peer0\"}' --server-cert server.pem\n\nExit codes: 0 installs with this builder (warnings may be listed); 1 the install would fail with this builder; 2 usage error."
    )]
    Validate {
        /// A package (.tgz), a connection.json or a metadata.json.
        file: PathBuf,
        #[command(flatten)]
        peer: PeerSettings,
        #[command(flatten)]
        server: ServerCert,
        /// Print JSON (shape in docs/cli.md).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Install a package as a peer would, with real builders, and show what it would dial.
    #[command(
        after_help = "Examples:\n  ccaas simulate                      # the bundled sample package\n  ccaas simulate basic.tgz --config '{\"peername\":\"peer0\"}'\n  ccaas simulate basic.tgz --builder /opt/ccaas-builder --builder /opt/other\n\nWithout --builder it uses this workspace's detect, build and release (next to this executable), or, without them, the same steps in this process.\nExit codes: 0 installed and launchable; 1 the install or the first invoke would fail; 2 usage error."
    )]
    Simulate {
        /// The package file; the bundled sample when omitted.
        package: Option<PathBuf>,
        /// A builder directory (bin/detect, bin/build, bin/release), in core.yaml order; repeatable.
        #[arg(long = "builder", value_name = "DIR")]
        builders: Vec<PathBuf>,
        #[command(flatten)]
        peer: PeerSettings,
        #[command(flatten)]
        server: ServerCert,
        /// Print JSON (shape in docs/cli.md).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        limits: LimitArgs,
        /// After a successful install, probe the chaincode server as the peer would (`ccaas probe`, with the flags below).
        #[arg(long)]
        launch: bool,
        #[command(flatten)]
        probe: probe::ProbeArgs,
    },
    /// Dial the chaincode server as the peer would at the first invoke, step by step, and say whether it would work.
    #[command(
        after_help = "Examples:\n  ccaas probe basic.tgz --config '{\"peername\":\"peer0\"}' --connect 127.0.0.1:9999\n  ccaas probe connection.json --id basic_1.0:9c90b8f7... --invoke ping\n  ccaas probe basic.tgz --profile v3.1 --invoke 'org.hyperledger.fabric:GetMetadata' --json\n\nNames are never resolved without --resolve.\nExit codes: 0 the peer's first invoke would work; 1 it would fail (or the file is invalid); 2 usage error."
    )]
    Probe {
        /// A package (.tgz), or a connection.json with --id.
        file: PathBuf,
        /// The package ID the peer launches (default: the package's own ID; required for a connection.json).
        #[arg(long, value_name = "LABEL:HASH")]
        id: Option<String>,
        #[command(flatten)]
        peer: PeerSettings,
        #[command(flatten)]
        probe: probe::ProbeArgs,
        /// Print JSON (shape in docs/cli.md).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

#[derive(Args)]
struct PeerSettings {
    /// Template values, as CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG on the peer (JSON object, or @FILE).
    #[arg(long, value_name = "JSON")]
    config: Option<String>,
    /// The operator's TLS directory, as CCAAS_TLS_DIR on the peer.
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
}

/// Bounds on reading a package (defaults in docs/security.md).
#[derive(Args)]
struct LimitArgs {
    /// Most entries in code.tar.gz (and at the package's top level).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_entries)]
    max_entries: u64,
    /// Most bytes code.tar.gz may expand to (units: 512M, 1G, 1GiB, 1GB, ...).
    #[arg(long, value_name = "BYTES", default_value = "1GiB", value_parser = flags::parse_bytes)]
    max_code_bytes: u64,
    /// Most bytes the package may expand to at its top level (units as --max-code-bytes).
    #[arg(long, value_name = "BYTES", default_value = "2GiB", value_parser = flags::parse_bytes)]
    max_package_bytes: u64,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_entries: self.max_entries,
            max_expanded_bytes: self.max_code_bytes,
            max_package_bytes: self.max_package_bytes,
            ..Limits::default()
        }
    }
}

#[derive(Args)]
struct ServerCert {
    /// The chaincode server's certificate (PEM): check it covers the name the peer dials and that root_cert issued it.
    #[arg(long, value_name = "F")]
    server_cert: Option<PathBuf>,
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["connection", "address"]))]
struct PackageArgs {
    /// The chaincode label (`^[[:alnum:]][[:alnum:]_.+-]*$`).
    #[arg(long)]
    label: String,
    /// Where to write the package.
    #[arg(short, long, value_name = "OUT.tgz")]
    output: PathBuf,
    /// `ccaas` (Fabric 2.4+, indexes in META-INF/) or `external` (Fabric v2.0 docs, indexes in metadata/).
    #[arg(long = "type", default_value = "ccaas", value_parser = parse_dialect)]
    dialect: Dialect,
    /// A connection.json to package (checked and normalised).
    #[arg(long, value_name = "FILE")]
    connection: Option<PathBuf>,
    /// The chaincode server's host:port (may be a template such as `{{.peername}}-cc:9999`).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "connection")]
    address: Option<String>,
    /// Dial timeout, a Go duration such as 10s.
    #[arg(
        long,
        value_name = "D",
        requires = "address",
        conflicts_with = "connection"
    )]
    dial_timeout: Option<String>,
    /// CA certificate(s) of the chaincode server (PEM file): turns TLS on.
    #[arg(
        long,
        value_name = "F",
        requires = "address",
        conflicts_with = "connection"
    )]
    tls_root_cert: Option<PathBuf>,
    /// Client certificate (PEM file) for mutual TLS.
    #[arg(long, value_name = "F", requires_all = ["address", "client_key", "tls_root_cert"], conflicts_with = "connection")]
    client_cert: Option<PathBuf>,
    /// Client private key (PEM file) for mutual TLS.
    #[arg(long, value_name = "F", requires_all = ["address", "client_cert", "tls_root_cert"], conflicts_with = "connection")]
    client_key: Option<PathBuf>,
    /// TLS server name override (used by the peer with mutual TLS).
    #[arg(
        long,
        value_name = "NAME",
        requires = "address",
        conflicts_with = "connection"
    )]
    domain: Option<String>,
    /// CouchDB index files: *.json, or a tree of indexes/ and collections/NAME/indexes/.
    #[arg(long, value_name = "DIR")]
    indexes: Option<PathBuf>,
    /// TLS files for connection.json's `*_file` keys: only the files they name (`tls/<file>`) are packed.
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
    #[command(flatten)]
    server: ServerCert,
}

fn parse_dialect(s: &str) -> Result<Dialect, String> {
    s.parse()
}

/// An error for the operator, already worded; printed as `ccaas: error: ...`.
struct Failure(Vec<String>);

impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(vec![ccaas_core::report::chain(&e)])
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // With --json, an error is a JSON document too, so that a script that
    // reads stdout always gets one (`{"ok": false, "errors": [...]}`).
    let json_errors = matches!(
        &cli.command,
        Command::Inspect { json: true, .. }
            | Command::Validate { json: true, .. }
            | Command::Simulate { json: true, .. }
            | Command::Probe { json: true, .. }
    );
    let result = match cli.command {
        Command::Completions { shell } => generate::completions(shell),
        Command::Man { command } => generate::man(command.as_deref()),
        Command::Package(args) => package_cmd(args),
        Command::Id {
            packages,
            json,
            limits,
        } => id_cmd(&packages, json, &limits.limits()),
        Command::Inspect {
            package,
            json,
            limits,
        } => inspect_cmd(&package, json, &limits.limits()),
        Command::Validate {
            file,
            peer,
            server,
            json,
            limits,
        } => validate_cmd(&file, &peer, &server, json, &limits.limits()),
        Command::Simulate {
            package,
            builders,
            peer,
            server,
            json,
            limits,
            launch,
            probe,
        } => simulate_cmd(
            package.as_deref(),
            &builders,
            &peer,
            &server,
            json,
            &limits.limits(),
            launch.then_some(&probe),
        ),
        Command::Probe {
            file,
            id,
            peer,
            probe,
            json,
            limits,
        } => probe::probe_cmd(&file, id.as_deref(), &peer, &probe, json, &limits),
    };
    match result {
        Ok(code) => code,
        Err(Failure(lines)) => {
            if json_errors {
                print_json(serde_json::json!({ "ok": false, "errors": lines }));
            }
            for line in lines {
                say!("ccaas: error: {line}");
            }
            ExitCode::from(1)
        }
    }
}

fn config_text(config: &Option<String>) -> Result<Option<String>, Failure> {
    let text = match config.as_deref() {
        Some(at) if at.starts_with('@') => {
            let path = Path::new(&at[1..]);
            let bytes = flags::read_input(&format!("--config {at}"), path, 1024 * 1024)
                .map_err(|e| Failure(vec![e]))?;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        other => other.map(str::to_owned),
    };
    // Empty counts as unset, as on the peer.
    let Some(text) = text.filter(|c| !c.trim().is_empty()) else {
        return Ok(None);
    };
    // The operator's flag: a mistake in it is theirs, named after it.
    use ccaas_core::template::{TemplateConfig, TemplateError};
    let what = match TemplateConfig::parse(&text) {
        Ok(_) => return Ok(Some(text)),
        Err(TemplateError::ConfigNotJson { line, column }) => {
            format!("not valid JSON (line {line}, column {column})")
        }
        Err(TemplateError::ConfigNotObject { found }) => format!("{found}, not a JSON object"),
        Err(e) => ccaas_core::report::chain(&e),
    };
    Err(Failure(vec![format!(
        "--config `{}`: {what}; expected a JSON object of template values such as {{\"peername\":\"peer0\"}} (as the peer's `{}`), or @FILE",
        ccaas_core::report::shorten(&text),
        ccaas_core::template::CONFIG_ENV
    )]))
}

/// `--tls-dir`, checked to be a directory before anything reads it.
fn tls_dir_arg(peer: &PeerSettings) -> Result<Option<PathBuf>, Failure> {
    // Empty counts as unset, as `CCAAS_TLS_DIR` does on the peer.
    let dir = peer.tls_dir.clone().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = &dir {
        flags::require_dir("--tls-dir", dir).map_err(|e| Failure(vec![e]))?;
    }
    Ok(dir)
}

fn package_cmd(args: PackageArgs) -> Result<ExitCode, Failure> {
    let not_written = format!("no package written to `{}`", args.output.display());
    let refuse = |line: String| Failure(vec![line, not_written.clone()]);
    let label = Label::new(&args.label).map_err(|e| refuse(format!("--label: {e}")))?;
    if args.output.is_dir() {
        return Err(refuse(format!(
            "-o `{}`: is a directory; give the package's file name (e.g. `{}`)",
            args.output.display(),
            args.output.join(format!("{}.tgz", args.label)).display()
        )));
    }
    // The files the operator named, to name the flag in an error.
    let given_file = |flag: &'static str, file: &Option<PathBuf>| flags::Given {
        flag,
        file: file.clone(),
    };
    let given = [
        given_file("--connection", &args.connection),
        given_file("--tls-root-cert", &args.tls_root_cert),
        given_file("--client-cert", &args.client_cert),
        given_file("--client-key", &args.client_key),
        given_file("--indexes", &args.indexes),
        given_file("--tls-dir", &args.tls_dir),
    ];
    for (flag, dir) in [("--indexes", &args.indexes), ("--tls-dir", &args.tls_dir)] {
        if let Some(dir) = dir {
            flags::require_dir(flag, dir).map_err(refuse)?;
        }
    }
    // `-` is standard input, for one file flag at most.
    let dashed: Vec<&str> = given
        .iter()
        .chain([&given_file("--server-cert", &args.server.server_cert)])
        .filter(|g| g.file.as_deref().is_some_and(flags::is_dash))
        .map(|g| g.flag)
        .collect();
    if dashed.len() > 1 {
        return Err(refuse(format!(
            "`-` (standard input) is given to {}; only one of them can read it",
            dashed.join(" and ")
        )));
    }
    let connection_json = match (&args.connection, &args.address) {
        (Some(path), _) => flags::read_input(
            "--connection",
            path,
            ccaas_core::connection::MAX_CONNECTION_BYTES,
        )
        .map_err(refuse)?,
        (None, Some(address)) => ConnectionFields {
            address: address.clone(),
            dial_timeout: args.dial_timeout.clone(),
            root_cert: args.tls_root_cert.clone(),
            client_cert: args.client_cert.clone(),
            client_key: args.client_key.clone(),
            domain: args.domain.clone(),
        }
        .to_json_with(|path| {
            let flag = given
                .iter()
                .find(|g| g.file.as_deref() == Some(path))
                .map_or("--tls-root-cert", |g| g.flag);
            flags::read_input(flag, path, ccaas_core::tls_files::MAX_TLS_FILE_BYTES)
        })
        .map_err(refuse)?,
        (None, None) => {
            return Err(Failure(vec![
                "give --connection FILE or --address HOST:PORT".into(),
            ]))
        }
    };
    let inputs = PackageInputs {
        label,
        dialect: args.dialect,
        connection_json,
        indexes_dir: args.indexes.clone(),
        tls_dir: args.tls_dir.clone(),
    };
    let source = args
        .connection
        .as_ref()
        .map_or("connection.json (from the flags)".to_owned(), |p| {
            format!("`{}`", p.display())
        });
    let composed = match compose::compose(&inputs) {
        Ok(c) => c,
        Err(compose::ComposeError::Invalid(problems)) => {
            let mut lines: Vec<String> = problems
                .iter()
                .map(|p| match p {
                    compose::ComposeProblem::Connection(e) => {
                        // From the flags: name the flag that filled the key.
                        let flag = args
                            .connection
                            .is_none()
                            .then_some(())
                            .and(e.key().and_then(|key| {
                                flags::flag_of_key(
                                    key,
                                    &args.tls_root_cert,
                                    &args.client_cert,
                                    &args.client_key,
                                )
                            }));
                        match flag {
                            Some(given) => flags::connection_problem(&given, e),
                            None => format!("{source}: {}", ccaas_core::report::chain(e)),
                        }
                    }
                    compose::ComposeProblem::Fs(e) => flags::fs_problem(&given, e),
                    compose::ComposeProblem::Index { file, .. }
                    | compose::ComposeProblem::KeyInTlsDir { file, .. } => {
                        flags::about_path(&given, file, &ccaas_core::report::chain(p))
                    }
                    other => ccaas_core::report::chain(other),
                })
                .collect();
            lines.push(not_written);
            return Err(Failure(lines));
        }
        Err(compose::ComposeError::Fs(e)) => {
            return Err(refuse(flags::fs_problem(&given, &e)));
        }
        Err(e) => return Err(refuse(ccaas_core::report::chain(&e))),
    };
    // One verdict: the package is checked as `ccaas validate` checks it
    // (key against certificate, validity, server name), before writing.
    let server_cert = read_server_cert(&args.server).map_err(|Failure(mut lines)| {
        lines.push(not_written.clone());
        Failure(lines)
    })?;
    let (id, bytes) = composed
        .to_bytes()
        .map_err(|e| Failure(vec![ccaas_core::report::chain(&e), not_written.clone()]))?;
    let options = ExamineOptions {
        server_cert,
        ..ExamineOptions::default()
    };
    let exam = examine::examine_package_from(&bytes[..], "package", &options)?;
    if exam.has_errors() {
        let mut lines: Vec<String> = exam
            .findings
            .iter()
            .filter(|f| f.severity == examine::Severity::Error)
            .map(|f| {
                let file = if f.file == "connection.json" {
                    &source
                } else {
                    &f.file
                };
                format!("{file}: {} ({})", f.message, f.outcome())
            })
            .collect();
        lines.push(not_written);
        return Err(Failure(lines));
    }
    for warning in &composed.warnings {
        let kind = if warning.is_note() { "note" } else { "warning" };
        say!("ccaas: {kind}: connection.json: {warning}");
    }
    // What the examination adds (TLS notes, index advice), once.
    let said: Vec<String> = composed.warnings.iter().map(ToString::to_string).collect();
    for f in exam.findings.iter().filter(|f| !said.contains(&f.message)) {
        say!("ccaas: {}: {}: {}", f.severity.as_str(), f.file, f.message);
    }
    if args.client_key.is_some() {
        say!("ccaas: note: --client-key: the client's private key is embedded in the package, and every organisation that installs it can read it; to keep the key on each peer, name it with `client_key_file` in a --connection file and set `CCAAS_TLS_DIR` on the peer (docs/peer-setup.md)");
    }
    for file in composed
        .tls_dir_files
        .iter()
        .filter(|f| f.named_by.is_none())
    {
        let why = if file.private_key {
            "a private key that no `client_key_file` names"
        } else {
            "no `*_file` key names it"
        };
        say!(
            "ccaas: note: --tls-dir: not packed `{}`: {why}",
            file.relative
        );
    }
    let output = &args.output;
    if output.as_os_str() == "-" {
        use std::io::Write;
        std::io::stdout().lock().write_all(&bytes).map_err(|e| {
            Failure(vec![format!(
                "-o -: cannot write the package to standard output: {e}"
            )])
        })?;
    } else {
        ccaas_core::fs::write_atomic(output, &bytes, composed.file_mode()).map_err(|e| {
            refuse(format!(
                "-o `{}`: {}",
                output.display(),
                ccaas_core::report::chain(&e)
            ))
        })?;
    }
    let packed: Vec<String> = composed
        .tls_dir_files
        .iter()
        .filter_map(|f| f.named_by.map(|k| format!("tls/{} ({k})", f.relative)))
        .collect();
    let tls_files = if packed.is_empty() {
        String::new()
    } else {
        format!(
            ", {}: {}",
            ccaas_core::report::count(packed.len() as u64, "TLS file", "TLS files"),
            packed.join(", ")
        )
    };
    let to = if output.as_os_str() == "-" {
        "the package to standard output".to_owned()
    } else {
        format!("`{}`", output.display())
    };
    say!(
        "ccaas: wrote {to}: type {}, address {}, TLS {}, {}{tls_files}",
        composed.metadata.chaincode_type,
        ccaas_core::report::shorten(&composed.connection.address),
        composed.connection.tls_mode(),
        ccaas_core::report::count(
            composed.indexes.len() as u64,
            "CouchDB index",
            "CouchDB indexes"
        ),
    );
    if output.as_os_str() == "-" {
        say!("ccaas: package ID {id}");
    } else {
        out!("{id}");
    }
    Ok(ExitCode::SUCCESS)
}

fn read_server_cert(server: &ServerCert) -> Result<Option<String>, Failure> {
    let Some(path) = &server.server_cert else {
        return Ok(None);
    };
    let bytes = flags::read_input(
        "--server-cert",
        path,
        ccaas_core::tls_files::MAX_TLS_FILE_BYTES,
    )
    .map_err(|e| Failure(vec![e]))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if ccaas_core::pem::contains_private_key(&text) {
        return Err(Failure(vec![format!(
            "--server-cert `{}`: found a private key where the chaincode server's certificate was expected (give the server's certificate, e.g. server.pem, not its key)",
            path.display()
        )]));
    }
    if let Err(e) = ccaas_core::pem::parse(&text, ccaas_core::pem::PemKind::Certificates) {
        return Err(Failure(vec![format!(
            "--server-cert `{}`: {}",
            path.display(),
            ccaas_core::report::chain(&e)
        )]));
    }
    Ok(Some(text))
}

fn id_cmd(packages: &[PathBuf], json: bool, limits: &Limits) -> Result<ExitCode, Failure> {
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for path in packages {
        let result = if path.as_os_str() == "-" {
            package::identify(std::io::stdin().lock(), limits)
        } else {
            match ccaas_core::fs::open_regular(path) {
                Ok(file) => package::identify(file, limits),
                Err(e) => {
                    failures.push(ccaas_core::report::chain(&e));
                    continue;
                }
            }
        };
        match result {
            Ok(info) => rows.push((path.display().to_string(), info.id)),
            Err(e) => failures.push(format!(
                "`{}`: {}",
                path.display(),
                ccaas_core::report::chain(&e)
            )),
        }
    }
    if json {
        let array: Vec<_> = rows
            .iter()
            .map(|(file, id)| serde_json::json!({"file": file, "package_id": id.to_string(), "label": id.label.as_str(), "hash": id.hash_hex()}))
            .collect();
        out!("{}", serde_json::Value::Array(array));
    } else {
        for (_, id) in &rows {
            out!("{id}");
        }
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure(failures))
    }
}

fn inspect_cmd(path: &Path, json: bool, limits: &Limits) -> Result<ExitCode, Failure> {
    let options = ExamineOptions {
        limits: *limits,
        ..ExamineOptions::default()
    };
    let exam = if flags::is_dash(path) {
        flags::claim_stdin("PACKAGE").map_err(|e| Failure(vec![e]))?;
        examine::examine_package_from(std::io::stdin().lock(), "-", &options)?
    } else {
        examine::examine_package(path, &options)?
    };
    if json {
        print_json(exam.to_json());
    } else {
        out_text!(output::inspection(path, &exam));
    }
    Ok(if exam.id.is_some() && exam.code_readable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn validate_cmd(
    path: &Path,
    peer: &PeerSettings,
    server: &ServerCert,
    json: bool,
    limits: &Limits,
) -> Result<ExitCode, Failure> {
    let server_cert = read_server_cert(server)?;
    let options = ExamineOptions {
        config: config_text(&peer.config)?,
        tls_dir: tls_dir_arg(peer)?,
        limits: *limits,
        server_cert,
    };
    let exam = if flags::is_dash(path) {
        flags::claim_stdin("FILE").map_err(|e| Failure(vec![e]))?;
        examine::examine_from(std::io::stdin().lock(), "-", &options)?
    } else {
        examine::examine_file(path, &options)?
    };
    if json {
        print_json(exam.to_json());
    } else {
        out_text!(output::validation(path, &exam));
    }
    Ok(if exam.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// This workspace's `detect`, `ccaas-build` and `release` next to this
/// executable (as `cargo build` leaves them); without them (a `ccaas`
/// installed alone), the same steps in this process, and a line saying so.
fn default_builder() -> Result<(Builder, Option<String>), Failure> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let names = ["detect", "ccaas-build", "release"];
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !dir.join(name).is_file())
        .collect();
    if !missing.is_empty() {
        let note = format!(
            "No builder programs next to `{}` (no {}): running this ccaas's own detect, build and release in this process. Pass --builder DIR (made by `bin-scripts/install DIR`) to run real programs.",
            exe.display(),
            missing
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok((Builder::in_process("ccaas"), Some(note)));
    }
    Ok((
        Builder {
            name: "ccaas".into(),
            detect: dir.join("detect"),
            build: dir.join("ccaas-build"),
            release: Some(dir.join("release")),
            propagate: OUR_ENVIRONMENT.map(str::to_owned).to_vec(),
            in_process: false,
        },
        None,
    ))
}

fn simulate_cmd(
    package: Option<&Path>,
    builder_dirs: &[PathBuf],
    peer: &PeerSettings,
    server: &ServerCert,
    json: bool,
    limits: &Limits,
    launch: Option<&probe::ProbeArgs>,
) -> Result<ExitCode, Failure> {
    let mut config = config_text(&peer.config)?;
    tls_dir_arg(peer)?;
    let sample_dir;
    let path = match package {
        // Standard input: the builders need a file, as on a peer.
        Some(p) if flags::is_dash(p) => {
            flags::claim_stdin("PACKAGE").map_err(|e| Failure(vec![e]))?;
            sample_dir = tempfile::tempdir()?;
            let path = sample_dir.path().join("package.tgz");
            let mut file = std::fs::File::create(&path)
                .map_err(|e| ccaas_core::fs::FsError::io("create", &path, e))?;
            let limit = limits.max_package_bytes;
            let copied = std::io::copy(
                &mut std::io::Read::take(std::io::stdin().lock(), limit + 1),
                &mut file,
            )
            .map_err(|e| Failure(vec![format!("PACKAGE -: cannot read standard input: {e}")]))?;
            if copied > limit {
                return Err(Failure(vec![format!(
                    "PACKAGE -: standard input is larger than {limit} bytes (--max-package-bytes)"
                )]));
            }
            path
        }
        Some(p) => p.to_owned(),
        None => {
            sample_dir = tempfile::tempdir()?;
            let path = sample_dir.path().join("basic_1.0.tgz");
            ccaas_core::fs::write_atomic(&path, SAMPLE_PACKAGE, 0o600)?;
            if config.is_none() {
                config = Some(SAMPLE_CONFIG.to_owned());
                if !json {
                    out!(
                        "Simulating the bundled sample package with {}='{SAMPLE_CONFIG}'.\n",
                        ccaas_core::template::CONFIG_ENV
                    );
                }
            }
            path
        }
    };
    let builders = if builder_dirs.is_empty() {
        let (builder, note) = default_builder()?;
        match note {
            Some(note) if json => say!("ccaas: note: {note}"),
            Some(note) => out!("{note}\n"),
            None => {}
        }
        vec![builder]
    } else {
        builder_dirs
            .iter()
            .map(|dir| {
                let name = dir
                    .file_name()
                    .map_or("builder".into(), |n| n.to_string_lossy().into_owned());
                Builder::from_dir(&name, dir, OUR_ENVIRONMENT.map(str::to_owned).to_vec()).map_err(
                    |e| {
                        Failure(vec![format!(
                            "--builder: {}",
                            ccaas_core::report::chain(&e)
                        )])
                    },
                )
            })
            .collect::<Result<_, _>>()?
    };
    // The simulated peer's environment is ours; the flags override it.
    let overridden = |k: &OsString| {
        (config.is_some() && k == ccaas_core::template::CONFIG_ENV)
            || (peer.tls_dir.is_some() && k == ccaas_core::tls_files::TLS_DIR_ENV)
    };
    let mut peer_env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !overridden(k))
        .collect();
    let probe_config = config.clone();
    if let Some(config) = config {
        peer_env.push((ccaas_core::template::CONFIG_ENV.into(), config.into()));
    }
    if let Some(dir) = &peer.tls_dir {
        peer_env.push((
            ccaas_core::tls_files::TLS_DIR_ENV.into(),
            dir.clone().into(),
        ));
    }
    let options = SimulateOptions {
        limits: *limits,
        server_cert: read_server_cert(server)?,
        ..SimulateOptions::new(builders, peer_env)
    };
    let sim = simulate::simulate(&path, &options)?;
    // --launch: the probe, once the install succeeded.
    let launched = match (launch, &sim.package) {
        (Some(args), Some(package)) if sim.verdict.is_success() => {
            let id = package.id.to_string();
            let tls_dir = peer.tls_dir.clone();
            match probe::launch(&path, id, probe_config, tls_dir, limits, args)? {
                probe::Probed::Report(report) => Some(report),
                probe::Probed::Usage(line) => {
                    say!("ccaas: error: {line}");
                    return Ok(ExitCode::from(2));
                }
            }
        }
        _ => None,
    };
    let probed_ok = launched.as_ref().is_none_or(|r| r.verdict.works());
    if json {
        let mut value = sim.to_json();
        if let Some(report) = &launched {
            value["probe"] = report.to_json();
            value["ok"] = serde_json::json!(sim.verdict.is_success() && probed_ok);
        }
        print_json(value);
    } else {
        out_text!(output::simulation(&sim));
        if let Some(report) = &launched {
            out_text!(probe::text(report));
        }
    }
    Ok(if sim.verdict.is_success() && probed_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
