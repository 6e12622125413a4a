//! The package against the Service: what the peer will dial (connection.json,
//! rendered as the builder renders it) must be what `ccaas k8s` serves.

use super::{Instance, K8sError, Options, Tls};
use ccaas_core::examine::{self, ExamineOptions};
use ccaas_core::pem::{self, PemKind};
use ccaas_core::template::is_template;
use ccaas_core::tls_check::{self, KeyMatch};
use ccaas_core::{Address, Connection};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One way the package and the Kubernetes objects disagree: each names both
/// sides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// connection.json's address is not the Service's DNS name.
    #[error("connection.json's address is `{address}`{rendered}, but the Service {service} is reached as `{short}` or `{fqdn}` (set --name, --namespace{peer_flag} to match the package, or repackage with one of those)")]
    Host {
        /// The address, as rendered.
        address: String,
        /// ` (rendered from `...` with peername `p`)`, or empty.
        rendered: String,
        /// `NAME` in namespace `NS`.
        service: String,
        /// `NAME.NAMESPACE:PORT`.
        short: String,
        /// `NAME.NAMESPACE.svc.DOMAIN:PORT`.
        fqdn: String,
        /// `, --peer` when peers are given.
        peer_flag: &'static str,
    },
    /// connection.json's port is not the Service's.
    #[error("connection.json's address `{address}` has port {found}, but the Service listens on --port {port}")]
    Port {
        /// The address.
        address: String,
        /// Its port.
        found: u16,
        /// The Service's.
        port: u16,
    },
    /// The address is still a template.
    #[error("connection.json's address `{address}` is a template, and nothing given renders it: add --peer NAME (for `{{{{.peername}}}}`) or --config JSON, as the peer's CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG holds")]
    Template {
        /// The template.
        address: String,
    },
    /// TLS on in the package, off in the objects.
    #[error("connection.json has `tls_required: true`, but no TLS Secret is given: add --tls-cert, --tls-key (and --tls-ca for mutual TLS), or --tls-secret NAME for an existing one")]
    TlsMissing,
    /// TLS off in the package, on in the objects.
    #[error("connection.json has `tls_required: false` (the peer dials without TLS), but {flag} gives the chaincode server TLS, and the peer's handshake would fail: drop {flag}, or repackage with TLS")]
    TlsUnwanted {
        /// The flag that turned TLS on.
        flag: &'static str,
    },
    /// Mutual TLS without a client CA.
    #[error("connection.json has `client_auth_required: true` (the peer presents `client_cert`), but no --tls-ca gives the chaincode server the CA to check it (CHAINCODE_CLIENT_CA_CERT)")]
    ClientCaMissing,
    /// A client CA the package does not use.
    #[error("--tls-ca `{ca}` turns on mutual TLS, but connection.json has `client_auth_required: false`: the peer presents no client certificate and the handshake would fail; drop --tls-ca, or repackage with client auth")]
    ClientCaUnwanted {
        /// The file.
        ca: PathBuf,
    },
    /// The server certificate does not fit connection.json.
    #[error("--tls-cert `{cert}` against connection.json: {detail}")]
    Certificate {
        /// The certificate file.
        cert: PathBuf,
        /// What does not fit, naming the connection.json key.
        detail: String,
    },
    /// The key is not the certificate's.
    #[error("--tls-key `{key}` does not belong to --tls-cert `{cert}` (the chaincode server would fail to start TLS)")]
    Key {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// The peer's client certificate was not issued by the client CA.
    #[error("connection.json's `client_cert` (what the peer presents) was not issued by --tls-ca `{ca}` (what the chaincode server trusts): the server would refuse the peer's handshake")]
    ClientCert {
        /// The CA file.
        ca: PathBuf,
    },
}

/// The package, checked against every instance.
pub(crate) struct Checked {
    pub package_id: String,
    pub label: String,
    pub instances: Vec<Instance>,
    pub mutual: bool,
    pub tls: Option<TlsMaterial>,
    pub warnings: Vec<String>,
}

/// The Secret's files, read.
pub(crate) struct TlsMaterial {
    pub cert: String,
    pub key: String,
    pub ca: Option<String>,
}

/// A DNS-1035 label (Service names): lower-case letters, digits and `-`,
/// starting with a letter, at most 63.
fn check_label(flag: &'static str, value: &str, dns1035: bool) -> Result<(), K8sError> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
        && (!dns1035 || value.starts_with(|c: char| c.is_ascii_lowercase()));
    if ok {
        return Ok(());
    }
    Err(K8sError::InvalidFlag {
        flag,
        value: ccaas_core::report::shorten(value),
        expected: if dns1035 {
            "a DNS label as Kubernetes names Services: lower-case letters, digits and `-`, starting with a letter, at most 63 characters"
        } else {
            "a DNS label as Kubernetes names namespaces: lower-case letters, digits and `-`, at most 63 characters"
        },
    })
}

/// Kubernetes quantities as `resources` takes them: a decimal number and
/// an optional suffix.
fn check_quantity(flag: &'static str, value: &str) -> Result<(), K8sError> {
    const SUFFIXES: [&str; 15] = [
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n",
    ];
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &value[digits.len()..];
    let number_ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if number_ok && SUFFIXES.contains(&suffix) {
        return Ok(());
    }
    Err(K8sError::InvalidFlag {
        flag,
        value: ccaas_core::report::shorten(value),
        expected: "a Kubernetes quantity such as `250m`, `1`, `128Mi` or `1Gi`",
    })
}

fn check_flags(o: &Options) -> Result<(), K8sError> {
    check_label("--name", &o.name, true)?;
    check_label("--namespace", &o.namespace, false)?;
    for peer in &o.peers {
        check_label("--peer", peer, true)?;
        check_label("--peer (with --name)", &format!("{peer}-{}", o.name), true)?;
    }
    if o.port == 0 {
        return Err(K8sError::InvalidFlag {
            flag: "--port",
            value: "0".into(),
            expected: "a port from 1 to 65535",
        });
    }
    if o.replicas < 0 {
        return Err(K8sError::InvalidFlag {
            flag: "--replicas",
            value: o.replicas.to_string(),
            expected: "0 or more",
        });
    }
    if o.image.is_empty() || o.image.contains(char::is_whitespace) {
        return Err(K8sError::InvalidFlag {
            flag: "--image",
            value: ccaas_core::report::shorten(&o.image),
            expected: "an image reference such as `registry.example.com/kv@sha256:…` or `kv:1.0`",
        });
    }
    let r = &o.resources;
    check_quantity("--cpu-request", &r.cpu_request)?;
    check_quantity("--memory-request", &r.memory_request)?;
    check_quantity("--memory-limit", &r.memory_limit)?;
    if let Some(limit) = &r.cpu_limit {
        check_quantity("--cpu-limit", limit)?;
    }
    let grace_ok = o
        .shutdown_grace
        .to_std()
        .is_some_and(|d| !d.is_zero() && d.subsec_nanos() == 0);
    if !grace_ok {
        return Err(K8sError::InvalidFlag {
            flag: "--shutdown-grace",
            value: o.shutdown_grace.to_string(),
            expected: "a positive whole number of seconds, such as `20s` or `1m`",
        });
    }
    let drain_ok = o
        .drain_delay
        .to_std()
        .is_some_and(|d| d.subsec_nanos() == 0);
    if !drain_ok {
        return Err(K8sError::InvalidFlag {
            flag: "--drain-delay",
            value: o.drain_delay.to_string(),
            expected: "a whole number of seconds, such as `5s`, or `0s` for none",
        });
    }
    if let Some(n) = o.max_unavailable {
        if n < 0 {
            return Err(K8sError::InvalidFlag {
                flag: "--max-unavailable",
                value: n.to_string(),
                expected: "0 or more",
            });
        }
    }
    if o.cluster_domain.is_empty()
        || ccaas_core::address::check_dns_name(&o.cluster_domain).is_err()
    {
        return Err(K8sError::InvalidFlag {
            flag: "--cluster-domain",
            value: ccaas_core::report::shorten(&o.cluster_domain),
            expected: "a DNS name such as `cluster.local`",
        });
    }
    Ok(())
}

fn read_pem(flag: &'static str, path: &Path, kind: PemKind) -> Result<String, K8sError> {
    let bytes = ccaas_core::fs::read_limited(path, ccaas_core::tls_files::MAX_TLS_FILE_BYTES)
        .map_err(|source| K8sError::TlsFile { flag, source })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    pem::parse(&text, kind).map_err(|source| K8sError::TlsPem {
        flag,
        path: path.to_owned(),
        expected: match kind {
            PemKind::PrivateKey => "a PEM private key",
            _ => "PEM certificates",
        },
        source,
    })?;
    Ok(text)
}

/// The template values for one instance: `--config`, plus `peername`.
fn config_for(options: &Options, peer: Option<&str>) -> Result<Option<String>, K8sError> {
    let Some(peer) = peer else {
        return Ok(options.config.clone());
    };
    let mut map = match options.config.as_deref() {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(K8sError::InvalidFlag {
                    flag: "--config",
                    value: ccaas_core::report::shorten(text),
                    expected: "a JSON object such as {\"peername\": \"peer0\"}",
                })
            }
        },
    };
    map.insert("peername".into(), Value::from(peer));
    Ok(Some(Value::Object(map).to_string()))
}

pub(crate) fn check(options: &Options) -> Result<Checked, K8sError> {
    check_flags(options)?;
    let tls = match &options.tls {
        Tls::Files { cert, key, ca, .. } => Some(TlsMaterial {
            cert: read_pem("--tls-cert", cert, PemKind::Certificates)?,
            key: read_pem("--tls-key", key, PemKind::PrivateKey)?,
            ca: ca
                .as_deref()
                .map(|p| read_pem("--tls-ca", p, PemKind::Certificates))
                .transpose()?,
        }),
        _ => None,
    };
    let peers: Vec<Option<&str>> = if options.peers.is_empty() {
        vec![None]
    } else {
        options.peers.iter().map(|p| Some(p.as_str())).collect()
    };
    let mut mismatches = Vec::new();
    let mut warnings = Vec::new();
    let mut instances = Vec::new();
    let mut package_id = String::new();
    let mut label = String::new();
    let mut mutual = false;
    for peer in peers {
        let exam_options = ExamineOptions {
            config: config_for(options, peer)?,
            tls_dir: options.tls_dir.clone(),
            limits: options.limits,
            server_cert: None,
            // The Service's DNS name is what every peer release checks
            // without `domain` (v2.5 never reads it).
            honours_domain: false,
        };
        let exam = examine::examine_package(&options.package, &exam_options).map_err(|source| {
            K8sError::Package {
                path: options.package.clone(),
                source,
            }
        })?;
        let errors: Vec<String> = exam
            .errors()
            .map(|f| format!("{}: {}", f.file, f.message))
            .collect();
        let (Some(id), Some(connection), true) = (&exam.id, &exam.connection, errors.is_empty())
        else {
            return Err(K8sError::PackageInvalid {
                path: options.package.clone(),
                findings: if errors.is_empty() {
                    vec!["no connection.json the peer would load".into()]
                } else {
                    errors
                },
            });
        };
        package_id = id.to_string();
        label = id.label.to_string();
        mutual = connection.client_auth_required;
        let name = match peer {
            Some(p) => format!("{p}-{}", options.name),
            None => options.name.clone(),
        };
        let before = mismatches.len();
        check_address(options, peer, &name, connection, &mut mismatches);
        if instances.is_empty() {
            check_tls(
                options,
                connection,
                tls.as_ref(),
                &mut mismatches,
                &mut warnings,
            );
        } else if let (Some(material), true) = (&tls, mismatches.len() == before) {
            // The Secret is shared: its certificate must cover each name.
            certificate(options, connection, material, &mut mismatches);
        }
        instances.push(Instance {
            name,
            peer: peer.map(str::to_owned),
            address: connection.address.clone(),
        });
    }
    if !mismatches.is_empty() {
        mismatches.dedup();
        return Err(K8sError::Mismatches {
            path: options.package.clone(),
            mismatches,
        });
    }
    if let Tls::Existing { secret } = &options.tls {
        warnings.push(format!("the Secret `{secret}` (--tls-secret) is not read here: check that its `tls.crt` covers {} and was issued by connection.json's `root_cert`{}", instances.iter().map(|i| format!("`{}`", i.address)).collect::<Vec<_>>().join(", "), if mutual { ", and that its `ca.crt` issued the peer's `client_cert`" } else { "" }));
    }
    if options.image.ends_with(":latest")
        || !options
            .image
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':') || last.contains('@'))
    {
        warnings.push(format!("--image `{}` has no tag or the tag `latest`: with imagePullPolicy IfNotPresent a node keeps the image it has; pin it by digest (`repo@sha256:…`, as `ccaas image --push` prints) or by a tag you never reuse", options.image));
    }
    Ok(Checked {
        package_id,
        label,
        instances,
        mutual,
        tls,
        warnings,
    })
}

fn check_address(
    options: &Options,
    peer: Option<&str>,
    name: &str,
    connection: &Connection,
    out: &mut Vec<Mismatch>,
) {
    if is_template(&connection.address) {
        out.push(Mismatch::Template {
            address: connection.address.clone(),
        });
        return;
    }
    let Ok(address) = Address::parse(&connection.address) else {
        return; // examine reported it already
    };
    let short_host = format!("{name}.{}", options.namespace);
    let fqdn_host = format!("{short_host}.svc.{}", options.cluster_domain);
    let host = address.host().trim_end_matches('.').to_ascii_lowercase();
    if host != short_host && host != fqdn_host {
        out.push(Mismatch::Host {
            address: connection.address.clone(),
            rendered: match peer {
                Some(p) => format!(" (rendered with peername `{p}`)"),
                None if options.config.is_some() => " (rendered with --config)".into(),
                None => String::new(),
            },
            service: format!("`{name}` in namespace `{}`", options.namespace),
            short: format!("{short_host}:{}", options.port),
            fqdn: format!("{fqdn_host}:{}", options.port),
            peer_flag: if peer.is_some() { ", --peer" } else { "" },
        });
    }
    if address.port() != options.port {
        out.push(Mismatch::Port {
            address: connection.address.clone(),
            found: address.port(),
            port: options.port,
        });
    }
}

fn check_tls(
    options: &Options,
    connection: &Connection,
    material: Option<&TlsMaterial>,
    out: &mut Vec<Mismatch>,
    warnings: &mut Vec<String>,
) {
    let (ca_file, key_file, cert_file) = match &options.tls {
        Tls::Files { ca, key, cert, .. } => (ca.clone(), Some(key.clone()), Some(cert.clone())),
        _ => (None, None, None),
    };
    match (&options.tls, connection.tls_required) {
        (Tls::Off, true) => out.push(Mismatch::TlsMissing),
        (Tls::Files { .. }, false) => out.push(Mismatch::TlsUnwanted { flag: "--tls-cert" }),
        (Tls::Existing { .. }, false) => out.push(Mismatch::TlsUnwanted {
            flag: "--tls-secret",
        }),
        _ => {}
    }
    if !connection.tls_required {
        return;
    }
    match (&ca_file, connection.client_auth_required) {
        (None, true) if matches!(options.tls, Tls::Files { .. }) => {
            out.push(Mismatch::ClientCaMissing)
        }
        (Some(ca), false) => out.push(Mismatch::ClientCaUnwanted { ca: ca.clone() }),
        _ => {}
    }
    let (Some(material), Some(key_file), Some(cert_file)) = (material, key_file, cert_file) else {
        return;
    };
    match tls_check::key_matches_certificate(&material.key, &material.cert) {
        KeyMatch::Matches => {}
        KeyMatch::Differs => out.push(Mismatch::Key {
            key: key_file,
            cert: cert_file.clone(),
        }),
        KeyMatch::Unknown => warnings.push(format!(
            "could not check that --tls-key `{}` belongs to --tls-cert `{}` (the key does not carry its public half)",
            key_file.display(),
            cert_file.display()
        )),
    }
    certificate(options, connection, material, out);
    if connection.client_auth_required {
        if let (Some(ca), Some(ca_file), Some(client)) =
            (&material.ca, &ca_file, &connection.client_cert)
        {
            if tls_check::issued_by(client, ca) == Some(false) {
                out.push(Mismatch::ClientCert {
                    ca: ca_file.clone(),
                });
            }
        }
    }
    if connection.root_cert.is_none() {
        warnings.push("connection.json's `root_cert` is read from the peer's TLS directory (`root_cert_file`): give --tls-dir to check that it issued --tls-cert".into());
    }
}

/// What the server certificate adds to the findings on connection.json
/// alone: the names it covers, its validity, and its issuer.
fn certificate(
    options: &Options,
    connection: &Connection,
    material: &TlsMaterial,
    out: &mut Vec<Mismatch>,
) {
    let Tls::Files { cert, .. } = &options.tls else {
        return;
    };
    // connection.json's own failures were refused with the package (its
    // examination runs these checks without a server certificate), so a
    // failure here is the certificate's.
    for finding in tls_check::check(connection, Some(&material.cert), SystemTime::now(), false) {
        if finding.fails {
            out.push(Mismatch::Certificate {
                cert: cert.clone(),
                detail: finding.describe(),
            });
        }
    }
}
