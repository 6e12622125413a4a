//! `ccaas validate`: what the peer would do with a package,
//! connection.json or metadata.json.

use super::{config_text, read_server_cert, tls_dir_arg, LimitArgs, PeerSettings, ServerCert};
use crate::{flags, output, print_json, Failure};
use ccaas_core::examine::{self, ExamineOptions};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags of `ccaas validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// A package (.tgz), a connection.json or a metadata.json.
    pub file: PathBuf,
    #[command(flatten)]
    pub peer: PeerSettings,
    #[command(flatten)]
    pub server: ServerCert,
    /// Print JSON (shape in docs/cli.md).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Checks the file and prints the findings (JSON with --json).
pub fn run(args: &ValidateArgs) -> Result<ExitCode, Failure> {
    let (path, peer, server, json, limits) = (
        args.file.as_path(),
        &args.peer,
        &args.server,
        args.json,
        &args.limits.limits(),
    );
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
