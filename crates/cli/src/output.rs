//! Human-readable renderings of what `ccaas-core` found. Key material never
//! reaches here: connections are shown through `redacted_json`.

use ccaas_core::examine::{Examination, FileKind, Finding};
use ccaas_core::index::IndexScope;
use ccaas_core::report::count;
use ccaas_core::simulate::{Simulation, Verdict};
use std::fmt::Write;
use std::path::Path;

fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

fn finding_line(f: &Finding) -> String {
    format!(
        "{:<8} {}: {} ({})",
        f.severity.as_str(),
        f.file,
        f.message,
        f.outcome()
    )
}

/// One certificate of a connection, by key, with its facts.
pub struct ShownCertificate {
    /// `root_cert` or `client_cert`.
    pub key: &'static str,
    /// Its place among the key's certificates, from 1, and how many.
    pub index: usize,
    /// How many certificates the key holds.
    pub of: usize,
    /// Subject, SANs, issuer, validity; `None` when it is not X.509.
    pub info: Option<ccaas_peersim::probe::CertificateInfo>,
}

/// The public certificates of a connection (`root_cert`, `client_cert`),
/// read as the probe reads the server's. Keys are never read here.
pub fn certificates(c: &ccaas_core::Connection) -> Vec<ShownCertificate> {
    let mut out = Vec::new();
    for (key, text) in [("root_cert", &c.root_cert), ("client_cert", &c.client_cert)] {
        let Some(text) = text else { continue };
        let Ok(blocks) = ccaas_core::pem::parse(text, ccaas_core::pem::PemKind::Certificates)
        else {
            continue;
        };
        let of = blocks.len();
        for (i, block) in blocks.iter().enumerate() {
            out.push(ShownCertificate {
                key,
                index: i + 1,
                of,
                info: ccaas_peersim::probe::CertificateInfo::from_der(&block.der),
            });
        }
    }
    out
}

fn certificate_lines(head: &str, cert: &ShownCertificate) -> String {
    let which = if cert.of > 1 {
        format!("{} ({} of {})", cert.key, cert.index, cert.of)
    } else {
        cert.key.to_owned()
    };
    let Some(info) = &cert.info else {
        return format!("{head:<14}{which}: not a readable X.509 certificate\n");
    };
    let sans = if info.sans.is_empty() {
        "none".to_owned()
    } else {
        info.sans.join(", ")
    };
    format!(
        "{head:<14}{which}: subject `{}`\n{:16}names (SAN): {sans}\n{:16}issuer: `{}`\n{:16}valid {} to {} ({})\n",
        info.subject, "", "", info.issuer, "", info.not_before, info.not_after, info.validity
    )
}

/// The certificates as `inspect --json` gives them.
pub fn certificates_json(c: &ccaas_core::Connection) -> serde_json::Value {
    certificates(c)
        .iter()
        .map(|cert| match &cert.info {
            Some(info) => serde_json::json!({
                "key": cert.key,
                "index": cert.index,
                "subject": info.subject,
                "issuer": info.issuer,
                "sans": info.sans,
                "not_before": info.not_before,
                "not_after": info.not_after,
                "validity": info.validity,
            }),
            None => serde_json::json!({"key": cert.key, "index": cert.index, "readable": false}),
        })
        .collect()
}

/// `ccaas inspect`.
pub fn inspection(path: &Path, exam: &Examination) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "file          {}", path.display());
    if let Some(id) = &exam.id {
        let _ = writeln!(out, "package ID    {id}");
        let _ = writeln!(out, "size          {}", size(exam.package_bytes));
    }
    if let Some(meta) = &exam.metadata {
        let _ = writeln!(out, "label         {}", meta.label);
        let dialect = match meta.dialect() {
            Some(d) => format!(
                "{} (chaincode as a service; indexes in `{}/`)",
                ccaas_core::report::shorten(&meta.chaincode_type),
                d.metadata_folder()
            ),
            None => format!(
                "{} (not chaincode as a service)",
                ccaas_core::report::shorten(&meta.chaincode_type)
            ),
        };
        let _ = writeln!(out, "type          {dialect}");
    }
    if exam.kind == FileKind::Package && exam.id.is_some() && !exam.code_readable {
        let _ = writeln!(out, "code.tar.gz   unreadable (see findings)");
    }
    if exam.kind == FileKind::Package && exam.id.is_some() && exam.code_readable {
        let _ = writeln!(
            out,
            "code.tar.gz   {}, {}, {}",
            count(exam.code.files, "file", "files"),
            count(exam.code.dirs, "directory", "directories"),
            size(exam.code.bytes)
        );
        for entry in &exam.entries {
            let _ = writeln!(
                out,
                "              {:04o} {:>9}  {}",
                entry.mode,
                size(entry.size),
                entry.path
            );
        }
    }
    for name in &exam.ignored {
        let _ = writeln!(out, "ignored       {name} (not read by the peer)");
    }
    if let Some(c) = &exam.connection {
        let _ = writeln!(
            out,
            "connection    {}, TLS {}, dial timeout {}",
            ccaas_core::report::shorten(&c.address),
            c.tls_mode(),
            c.effective_dial_timeout()
        );
        // Certificates are shown by their facts, below, not as PEM.
        let certs = certificates(c);
        let mut json = c.redacted_json();
        for key in ["root_cert", "client_cert"] {
            let n = certs.iter().filter(|cert| cert.key == key).count();
            if let Some(value) = json.get_mut(key).filter(|_| n > 0) {
                *value = serde_json::Value::from(format!(
                    "<{}: see `certificates` below>",
                    count(n as u64, "certificate", "certificates")
                ));
            }
        }
        let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
        for line in pretty.lines() {
            let _ = writeln!(out, "              {line}");
        }
        for (i, cert) in certs.iter().enumerate() {
            let head = if i == 0 { "certificates" } else { "" };
            let _ = write!(out, "{}", certificate_lines(head, cert));
        }
    }
    if exam.indexes.is_empty() && exam.connection.is_some() {
        let _ = writeln!(out, "indexes       none");
    }
    for (path, scope) in &exam.indexes {
        let db = match scope {
            IndexScope::State => "state database".to_owned(),
            IndexScope::Collection(c) => format!("collection `{c}`"),
        };
        let _ = writeln!(out, "index         {path} ({db})");
    }
    for file in &exam.tls_files {
        let _ = writeln!(out, "tls file      tls/{file}");
    }
    if exam.findings.is_empty() {
        let _ = writeln!(out, "findings      none");
    } else {
        let _ = writeln!(out, "findings");
        for f in &exam.findings {
            let _ = writeln!(out, "  {}", finding_line(f));
        }
    }
    out
}

/// `ccaas validate`.
pub fn validation(path: &Path, exam: &Examination) -> String {
    let mut out = String::new();
    for f in &exam.findings {
        let _ = writeln!(out, "{}", finding_line(f));
    }
    let errors = exam.errors().count();
    let warnings = exam
        .findings
        .iter()
        .filter(|f| f.severity == ccaas_core::examine::Severity::Warning)
        .count();
    let what = match exam.kind {
        FileKind::Package => "package",
        FileKind::Connection => "connection.json",
        FileKind::Metadata => "metadata.json",
    };
    let verdict = exam.verdict();
    let id = exam
        .id
        .as_ref()
        .map(|id| format!(" (package ID {id})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}: {what}{id}: {}, {}: {verdict}",
        path.display(),
        count(errors as u64, "error", "errors"),
        count(warnings as u64, "warning", "warnings"),
    );
    out
}

/// `ccaas simulate`.
pub fn simulation(sim: &Simulation, release: ccaas_peersim::probe::PeerRelease) -> String {
    let mut out = String::new();
    if let Some(p) = &sim.package {
        let _ = writeln!(
            out,
            "package   {} (type {}, {})",
            p.id,
            ccaas_core::report::shorten(&p.metadata.chaincode_type),
            size(p.package_bytes)
        );
    }
    for step in &sim.steps {
        let code = step
            .run
            .code
            .map_or("killed by a signal".to_owned(), |c| format!("exit {c}"));
        let _ = writeln!(
            out,
            "{:<9} {:<10} {code}, {:.1} ms",
            step.step,
            step.builder,
            step.run.duration.as_secs_f64() * 1000.0
        );
        for line in &step.run.stderr {
            let _ = writeln!(out, "          | {line}");
        }
    }
    if !sim.durable_files.is_empty() {
        let _ = writeln!(
            out,
            "durable   the peer keeps externalbuilder/builds/<id>/:"
        );
        for file in &sim.durable_files {
            let _ = writeln!(out, "          {file}");
        }
    }
    let result = match &sim.verdict {
        Verdict::Rejected(why) => format!("FAIL: the peer rejects the package: {why}"),
        Verdict::NoBuilder => {
            let ccaas = sim.package.as_ref().is_some_and(|p| p.metadata.dialect().is_some());
            if ccaas {
                "FAIL: no builder claimed the package; the peer would fail the install (its Docker build does not handle this type)".to_owned()
            } else {
                "FAIL: no external builder claimed the package; the peer would hand it to its built-in Docker build, if configured".to_owned()
            }
        }
        Verdict::BuildFailed => "FAIL: build exited non-zero; the peer would fail the install (\"external builder failed to build\")".to_owned(),
        Verdict::ReleaseFailed => "FAIL: release exited non-zero; the peer would fail the install".to_owned(),
        Verdict::LaunchFails(why) => format!("FAIL: installed, but the first invoke would fail: {why}"),
        Verdict::Launches(l) => {
            let id = sim.package.as_ref().map(|p| p.id.to_string()).unwrap_or_default();
            let host = ccaas_core::Address::parse(&l.address).map(|a| a.host().to_owned()).unwrap_or_default();
            let domain = match &l.domain {
                Some(d) if release.honours_domain() => format!(", server name {d} (`domain`, with client auth, as Fabric {release} checks it)"),
                Some(d) if *d != host => format!(", server name {host} (Fabric v2.5 never reads `domain`; v3.0+ checks {d})"),
                Some(d) => format!(", server name {d}"),
                None => String::new(),
            };
            let mut text = format!("launch    the peer would dial {} with TLS {}{domain}, dial timeout {}\n", l.address, l.tls, l.dial_timeout);
            text.push_str(&format!("OK: installed; start the chaincode server with CHAINCODE_ID={id}"));
            text
        }
    };
    let _ = writeln!(out, "{result}");
    out
}
