//! `ccaas package`: a deterministic chaincode package from flags or a
//! connection.json, checked as `validate` checks it before a byte is written.

use super::{read_server_cert, ReleaseArg, ServerCert};
use crate::{flags, print_json, Failure};
use ccaas_core::compose::{self, ConnectionFields, PackageInputs};
use ccaas_core::examine::{self, ExamineOptions};
use ccaas_core::{Dialect, Label};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ccaas package`.
#[derive(Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["connection", "address"]))]
pub struct PackageArgs {
    /// The chaincode label (`^[[:alnum:]][[:alnum:]_.+-]*$`).
    #[arg(long)]
    pub label: String,
    /// Where to write the package.
    #[arg(short, long, value_name = "OUT.tgz")]
    pub output: PathBuf,
    /// `ccaas` (Fabric 2.4+, indexes in META-INF/) or `external` (Fabric v2.0 docs, indexes in metadata/).
    #[arg(long = "type", default_value = "ccaas", ignore_case = true,
          value_parser = PossibleValuesParser::new(["ccaas", "external"]).try_map(|s| s.parse::<Dialect>()))]
    pub dialect: Dialect,
    /// A connection.json to package (checked and normalised).
    #[arg(long, value_name = "FILE")]
    pub connection: Option<PathBuf>,
    /// The chaincode server's host:port (may be a template such as `{{.peername}}-cc:9999`).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "connection")]
    pub address: Option<String>,
    /// Dial timeout, a Go duration such as 10s.
    #[arg(
        long,
        value_name = "D",
        requires = "address",
        conflicts_with = "connection"
    )]
    pub dial_timeout: Option<String>,
    /// CA certificate(s) of the chaincode server (PEM file): turns TLS on.
    #[arg(
        long,
        value_name = "F",
        requires = "address",
        conflicts_with = "connection"
    )]
    pub tls_root_cert: Option<PathBuf>,
    /// Client certificate (PEM file) for mutual TLS.
    #[arg(long, value_name = "F", requires_all = ["address", "client_key", "tls_root_cert"], conflicts_with = "connection")]
    pub client_cert: Option<PathBuf>,
    /// Client private key (PEM file) for mutual TLS.
    #[arg(long, value_name = "F", requires_all = ["address", "client_cert", "tls_root_cert"], conflicts_with = "connection")]
    pub client_key: Option<PathBuf>,
    /// TLS server name override (used by the peer with mutual TLS).
    #[arg(
        long,
        value_name = "NAME",
        requires = "address",
        conflicts_with = "connection"
    )]
    pub domain: Option<String>,
    /// CouchDB index files: *.json, or a tree of indexes/ and collections/NAME/indexes/.
    #[arg(long, value_name = "DIR")]
    pub indexes: Option<PathBuf>,
    /// TLS files for connection.json's `*_file` keys: only the files they name (`tls/<file>`) are packed.
    #[arg(long, value_name = "DIR")]
    pub tls_dir: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerCert,
    #[command(flatten)]
    pub release: ReleaseArg,
    /// Print JSON on stdout (the package ID, file, label, type, address, TLS, indexes, TLS files, notes); with `-o -`, not allowed (stdout holds the package).
    #[arg(long)]
    pub json: bool,
}

/// Writes the package and prints its ID.
pub fn run(args: PackageArgs) -> Result<ExitCode, Failure> {
    let not_written = format!("no package written to `{}`", args.output.display());
    let refuse = |line: String| Failure(vec![line, not_written.clone()]);
    if args.json && args.output.as_os_str() == "-" {
        return Err(refuse(
            "--json with `-o -`: standard output cannot hold both the package and the JSON; write the package to a file".into(),
        ));
    }
    // Every note and warning, for --json too.
    let mut said: Vec<(&'static str, String)> = Vec::new();
    let mut tell = |kind: &'static str, line: String| {
        say!("ccaas: {kind}: {line}");
        said.push((kind, line));
    };
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
        honours_domain: args.release.profile.honours_domain(),
        ..ExamineOptions::default()
    };
    let exam = examine::examine_package_from(&bytes[..], "package", &options)?;
    if exam.has_errors() {
        let mut lines: Vec<String> = exam
            .errors()
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
        tell(kind, format!("connection.json: {warning}"));
    }
    // What the examination adds (TLS notes, index advice), once.
    let known: Vec<String> = composed.warnings.iter().map(ToString::to_string).collect();
    for f in exam.findings.iter().filter(|f| !known.contains(&f.message)) {
        tell(f.severity.as_str(), format!("{}: {}", f.file, f.message));
    }
    if args.client_key.is_some() {
        tell("note", "--client-key: the client's private key is embedded in the package, and every organisation that installs it can read it; to keep the key on each peer, name it with `client_key_file` in a --connection file and set `CCAAS_TLS_DIR` on the peer (docs/peer-setup.md)".into());
    }
    for file in composed
        .tls_dir_files
        .iter()
        .filter(|f| f.named_by.is_none())
    {
        let why = match file.named_without_folder {
            Some(key) => format!(
                "key `{key}` names `{0}`, but files from --tls-dir ship as `tls/<file>`: write `tls/{0}` in connection.json",
                file.relative
            ),
            None if file.private_key => "a private key that no `client_key_file` names".to_owned(),
            None => "no `*_file` key names it".to_owned(),
        };
        tell(
            "note",
            format!("--tls-dir: not packed `{}`: {why}", file.relative),
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
    } else if args.json {
        let c = &composed.connection;
        print_json(serde_json::json!({
            "ok": true,
            "file": output.display().to_string(),
            "package_id": id.to_string(),
            "label": id.label.as_str(),
            "hash": id.hash_hex(),
            "type": composed.metadata.chaincode_type,
            "bytes": bytes.len(),
            "mode": format!("{:04o}", composed.file_mode()),
            "address": c.address,
            "tls": c.tls_mode().to_string(),
            "indexes": composed.indexes,
            "tls_files": composed.tls_dir_files.iter().filter_map(|f| f.named_by.map(|k| serde_json::json!({"path": format!("tls/{}", f.relative), "key": k}))).collect::<Vec<_>>(),
            "left_out": composed.tls_dir_files.iter().filter(|f| f.named_by.is_none()).map(|f| f.relative.clone()).collect::<Vec<_>>(),
            "notes": said.iter().map(|(kind, line)| serde_json::json!({"severity": kind, "message": line})).collect::<Vec<_>>(),
        }));
    } else {
        out!("{id}");
    }
    Ok(ExitCode::SUCCESS)
}
