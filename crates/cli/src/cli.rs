//! The command line: `ccaas` and its commands, as clap reads them. Each
//! command's flags are its own `Args` struct, in its module under
//! `commands/`; the help texts that frame them are here, in one place.

use crate::commands;
use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "Exit codes: 0 ok; 1 invalid input or the peer would fail; 2 usage error.";

/// `ccaas`.
#[derive(Parser)]
#[command(name = "ccaas", version, about = "Chaincode-as-a-service packages for Hyperledger Fabric: make them, check them, and see what a peer will do with them.", after_help = EXIT_CODES)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// One `ccaas` command and its flags.
#[derive(Subcommand)]
pub enum Command {
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        display_order = 100,
        after_help = "Examples:\n  ccaas completions bash > ~/.local/share/bash-completion/completions/ccaas\n  ccaas completions zsh > ~/.zfunc/_ccaas\n  ccaas completions fish > ~/.config/fish/completions/ccaas.fish"
    )]
    Completions(commands::completions::CompletionsArgs),
    /// Print the man page (roff) of ccaas, or of one command.
    #[command(
        display_order = 101,
        after_help = "Examples:\n  ccaas man | man -l -\n  ccaas man package > ccaas-package.1"
    )]
    Man(commands::man::ManArgs),
    /// Make a deterministic chaincode package and print its package ID.
    #[command(
        after_help = "Examples:\n  ccaas package --label basic_1.0 --address basic.example.com:9999 -o basic.tgz\n  ccaas package --label basic_1.0 --address '{{.peername}}-basic:9999' --tls-root-cert ca.pem \\\n      --client-cert client.pem --client-key client.key --indexes META-INF/statedb/couchdb -o basic.tgz\n  ccaas package --label basic_1.0 --connection connection.json --type external -o basic.tgz\n\nThe same inputs give the same bytes, so every organisation gets the same package ID.\nExit codes: 0 written; 1 invalid input (nothing written); 2 usage error."
    )]
    Package(commands::package::PackageArgs),
    /// Print package IDs, as `peer lifecycle chaincode calculatepackageid` does.
    #[command(
        after_help = "Example:\n  ccaas id basic.tgz\n  cat basic.tgz | ccaas id -\n\nExit codes: 0 ok; 1 a package is unreadable or invalid; 2 usage error."
    )]
    Id(commands::id::IdArgs),
    /// Show what a package holds: ID, metadata, connection (keys redacted), indexes, TLS files, findings.
    #[command(
        after_help = "Example:\n  ccaas inspect basic.tgz\n  ccaas inspect basic.tgz --json | jq .connection\n\nExit codes: 0 shown (even with findings); 1 the package is unreadable; 2 usage error."
    )]
    Inspect(commands::inspect::InspectArgs),
    /// Check a package, connection.json or metadata.json and say what the peer would do.
    #[command(
        after_help = "Examples:\n  ccaas validate basic.tgz\n  ccaas validate connection.json --config '{\"peername\":\"peer0\"}'\n  ccaas validate metadata.json --json\n  ccaas validate basic.tgz --config '{\"peername\":\"peer0\"}' --server-cert server.pem\n\nExit codes: 0 installs with this builder (warnings may be listed); 1 the install would fail with this builder; 2 usage error."
    )]
    Validate(commands::validate::ValidateArgs),
    /// Install a package as a peer would, with real builders, and show what it would dial.
    #[command(
        after_help = "Examples:\n  ccaas simulate                      # the bundled sample package\n  ccaas simulate basic.tgz --config '{\"peername\":\"peer0\"}'\n  ccaas simulate basic.tgz --builder /opt/ccaas-builder --builder /opt/other\n\nWithout --builder it uses this workspace's detect, build and release (next to this executable), or, without them, the same steps in this process.\nExit codes: 0 installed and launchable; 1 the install or the first invoke would fail; 2 usage error."
    )]
    Simulate(commands::simulate::SimulateArgs),
    /// Dial the chaincode server as the peer would at the first invoke, step by step, and say whether it would work.
    #[command(
        after_help = "Examples:\n  ccaas probe basic.tgz --config '{\"peername\":\"peer0\"}' --connect 127.0.0.1:9999\n  ccaas probe connection.json --id basic_1.0:9c90b8f7... --invoke ping\n  ccaas probe basic.tgz --profile v3.1 --invoke 'org.hyperledger.fabric:GetMetadata' --json\n\nNames are never resolved without --resolve.\nExit codes: 0 the peer's first invoke would work; 1 it would fail (or the file is invalid); 2 usage error."
    )]
    Probe(commands::probe::ProbeCommandArgs),
    /// Make an OCI image of a chaincode server without a daemon: an archive, a layout directory, or a push.
    #[command(
        after_help = "Examples:\n  ccaas image target/x86_64-unknown-linux-gnu/release/kv --tag kv:1.0 -o kv.tar\n  ccaas image kv --tag kv:1.0 --package kv.tgz --add ca.pem:/etc/kv/ca.pem --layout kv-oci\n  CCAAS_REGISTRY_PASSWORD=... ccaas image kv --push registry.example.com/team/kv:1.0 --registry-user ci\n\nThe same binary and flags give the same digest (SOURCE_DATE_EPOCH sets the creation time, 0 by default).\nExit codes: 0 built (and written or pushed); 1 invalid input, or a write or push failed; 2 usage error."
    )]
    Image(commands::image::ImageArgs),
    /// Write a chaincode crate that builds and passes its tests at once: a contract, its tests, a server main.
    #[command(
        after_help = "Examples:\n  ccaas new token && cd token && cargo test\n  ccaas new asset-registry --path ~/src/registry --checkout ~/src/ccaas\n\nThe crate's dependencies are path dependencies on a ccaas checkout (ccaas is not published):\nthe one this ccaas was built from, or --checkout DIR.\nExit codes: 0 written; 1 not written (a bad name, DIR not empty, not a checkout); 2 usage error."
    )]
    New(commands::new::NewArgs),
    /// Write the Kubernetes objects that run the chaincode server, checked against its package.
    #[command(
        after_help = "Examples:\n  ccaas k8s --package kv.tgz --name kv --namespace chaincode --image registry.example.com/kv@sha256:... | kubectl apply -f -\n  ccaas k8s --package kv.tgz --name kv --namespace chaincode --image kv:1 \\\n      --tls-cert server.pem --tls-key server.key --tls-ca ca.pem --max-unavailable 1 | kubectl apply -f -\n  ccaas k8s --package kv.tgz --name kv --namespace org1 --image kv:1 --peer peer0 --peer peer1 --tls-secret kv-tls\n\nCHAINCODE_ID is the package's ID; connection.json's address must be the Service's DNS name\n(NAME.NAMESPACE:PORT or NAME.NAMESPACE.svc.cluster.local:PORT), and its TLS must match the Secret's.\nExit codes: 0 written; 1 the package and the objects disagree (nothing written); 2 usage error."
    )]
    K8s(commands::k8s::K8sArgs),
}

impl Command {
    /// With --json, an error is a JSON document too, so that a script that
    /// reads stdout always gets one (`{"ok": false, "errors": [...]}`).
    pub fn json_errors(&self) -> bool {
        match self {
            Command::Package(a) => a.json,
            Command::Inspect(a) => a.json,
            Command::Validate(a) => a.json,
            Command::Simulate(a) => a.json,
            Command::Probe(a) => a.json,
            Command::Image(a) => a.json,
            Command::K8s(a) => a.json,
            _ => false,
        }
    }
}
