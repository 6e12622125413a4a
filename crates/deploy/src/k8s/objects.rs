//! The typed objects, and the comment above each production default.

use super::check::{Checked, TlsMaterial};
use super::{yaml, Options, Tls, GRACE_MARGIN_SECONDS, OPERATIONS_PORT, TLS_MOUNT, USER_ID};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, Container, ContainerPort, EnvVar, HTTPGetAction, PodAffinityTerm,
    PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SeccompProfile, Secret, SecretVolumeSource, SecurityContext, Service, ServicePort, ServiceSpec,
    Volume, VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use serde_json::Value;
use std::collections::BTreeMap;

/// One object, as JSON, with the comments its YAML carries.
#[derive(Debug, Clone)]
pub struct Object {
    /// The object (`apiVersion`, `kind`, `metadata`, ...).
    pub value: Value,
    /// Comments by key path (see [`yaml::Comments`]).
    pub comments: Vec<(String, String)>,
    /// Whether it holds a private key.
    pub private: bool,
}

impl Object {
    fn new<T: serde::Serialize>(object: &T, comments: Vec<(String, String)>) -> Object {
        Object {
            // Serialising k8s-openapi's types into a Value cannot fail:
            // they hold strings, numbers, maps and lists only.
            value: serde_json::to_value(object).unwrap_or(Value::Null),
            comments,
            private: false,
        }
    }

    /// The object's YAML document (no `---`).
    pub fn to_yaml(&self) -> String {
        let lookup = |path: &str| {
            self.comments
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, c)| c.as_str())
        };
        yaml::to_yaml(&self.value, &lookup)
    }

    /// `kind`, e.g. `Deployment`.
    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
}

const POD: &str = "spec.template.spec";
const CONTAINER: &str = "spec.template.spec.containers[]";

fn c(path: &str, text: impl Into<String>) -> (String, String) {
    (path.to_owned(), text.into())
}

/// A label value may hold `[A-Za-z0-9_.-]`, 63 at most, alphanumeric at
/// both ends: a Fabric label may not fit (`+`).
fn label_value(text: &str) -> Option<String> {
    let ok = !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric());
    ok.then(|| text.to_owned())
}

fn selector(options: &Options, instance: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), options.name.clone()),
        ("app.kubernetes.io/instance".to_owned(), instance.to_owned()),
    ])
}

fn labels(options: &Options, checked: &Checked, instance: &str) -> BTreeMap<String, String> {
    let mut labels = selector(options, instance);
    labels.insert(
        "app.kubernetes.io/component".into(),
        "chaincode-server".into(),
    );
    labels.insert("app.kubernetes.io/managed-by".into(), "ccaas".into());
    if let Some(version) = label_value(&checked.label) {
        labels.insert("app.kubernetes.io/version".into(), version);
    }
    labels
}

fn meta(options: &Options, name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(options.namespace.clone()),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

fn secret_name(options: &Options) -> Option<String> {
    match &options.tls {
        Tls::Off => None,
        Tls::Files { secret, .. } => Some(
            secret
                .clone()
                .unwrap_or_else(|| format!("{}-tls", options.name)),
        ),
        Tls::Existing { secret } => Some(secret.clone()),
    }
}

fn secret(options: &Options, checked: &Checked, material: &TlsMaterial) -> Option<Object> {
    let name = secret_name(options)?;
    let mut data = BTreeMap::from([
        (
            "tls.crt".to_owned(),
            ByteString(material.cert.clone().into_bytes()),
        ),
        (
            "tls.key".to_owned(),
            ByteString(material.key.clone().into_bytes()),
        ),
    ]);
    if let Some(ca) = &material.ca {
        data.insert("ca.crt".into(), ByteString(ca.clone().into_bytes()));
    }
    let secret = Secret {
        metadata: meta(options, &name, labels(options, checked, &options.name)),
        type_: Some("kubernetes.io/tls".into()),
        data: Some(data),
        ..Secret::default()
    };
    let mut object = Object::new(
        &secret,
        vec![c(
            "",
            "The chaincode server's TLS material, in cert-manager's shape (tls.crt, tls.key, ca.crt).\nIt holds a private key: apply it, never commit it. Rotate it in place (kubectl apply, or\ncert-manager): the pods see the new files and new handshakes use them, no restart.",
        )],
    );
    object.private = true;
    Some(object)
}

fn service(options: &Options, checked: &Checked, name: &str, address: &str) -> Object {
    let service = Service {
        metadata: meta(options, name, labels(options, checked, name)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector(options, name)),
            ports: Some(vec![ServicePort {
                name: Some("chaincode".into()),
                port: i32::from(options.port),
                target_port: Some(IntOrString::String("chaincode".into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    Object::new(
        &service,
        vec![
            c("", format!("The address the peer dials, from the package's connection.json: {address}")),
            c("spec.ports", "One port: the chaincode server's. The operations port (/healthz, /metrics) stays on the pods."),
        ],
    )
}

fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.into()),
        ..EnvVar::default()
    }
}

/// How often the liveness probe runs.
const LIVENESS_PERIOD_SECONDS: i32 = 10;

/// The liveness probe's `failureThreshold`: at least 3, and enough that
/// the misses span more than the pod's `termination` grace (seconds), so
/// that a kubelet that still probes a terminating pod (Kubernetes 1.20 and
/// older) never kills a server for draining.
fn liveness_misses(termination: i64) -> i32 {
    let period = i64::from(LIVENESS_PERIOD_SECONDS);
    let spanning = termination.div_euclid(period) + 2;
    i32::try_from(spanning.max(3)).unwrap_or(i32::MAX)
}

fn probe(period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/healthz".into()),
            port: IntOrString::String("operations".into()),
            scheme: Some("HTTP".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

fn quantities(pairs: &[(&str, Option<&String>)]) -> BTreeMap<String, Quantity> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| ((*k).to_owned(), Quantity(v.clone()))))
        .collect()
}

/// `1 replica`, `2 replicas`.
fn replicas(n: i32) -> String {
    ccaas_core::report::count(u64::try_from(n).unwrap_or(0), "replica", "replicas")
}

/// A duration as whole seconds for the manifest (`fallback` if it does not fit).
fn whole_seconds(duration: ccaas_core::GoDuration, fallback: i64) -> i64 {
    duration
        .to_std()
        .map_or(fallback, |d| i64::try_from(d.as_secs()).unwrap_or(fallback))
}

fn deployment(options: &Options, checked: &Checked, name: &str) -> Object {
    let grace = whole_seconds(options.shutdown_grace, 20);
    let drain = whole_seconds(options.drain_delay, 0);
    let termination = drain + grace + GRACE_MARGIN_SECONDS;
    let mut vars = vec![
        env("CHAINCODE_ID", checked.package_id.clone()),
        env(
            "CHAINCODE_SERVER_ADDRESS",
            format!("0.0.0.0:{}", options.port),
        ),
        env(
            "CHAINCODE_OPERATIONS_ADDRESS",
            format!("0.0.0.0:{OPERATIONS_PORT}"),
        ),
        env("CHAINCODE_SHUTDOWN_GRACE", format!("{grace}s")),
    ];
    if drain > 0 {
        vars.push(env("CHAINCODE_DRAIN_DELAY", format!("{drain}s")));
    }
    let secret = secret_name(options);
    if secret.is_some() {
        vars.push(env("CHAINCODE_TLS_CERT", format!("{TLS_MOUNT}/tls.crt")));
        vars.push(env("CHAINCODE_TLS_KEY", format!("{TLS_MOUNT}/tls.key")));
        if checked.mutual {
            vars.push(env(
                "CHAINCODE_CLIENT_CA_CERT",
                format!("{TLS_MOUNT}/ca.crt"),
            ));
        }
    }
    let r = &options.resources;
    let container = Container {
        name: "chaincode".into(),
        image: Some(options.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        ports: Some(vec![
            ContainerPort {
                name: Some("chaincode".into()),
                container_port: i32::from(options.port),
                protocol: Some("TCP".into()),
                ..ContainerPort::default()
            },
            ContainerPort {
                name: Some("operations".into()),
                container_port: i32::from(OPERATIONS_PORT),
                protocol: Some("TCP".into()),
                ..ContainerPort::default()
            },
        ]),
        env: Some(vars),
        readiness_probe: Some(probe(5, 1)),
        liveness_probe: Some(probe(LIVENESS_PERIOD_SECONDS, liveness_misses(termination))),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(&[
                ("cpu", Some(&r.cpu_request)),
                ("memory", Some(&r.memory_request)),
            ])),
            limits: Some(quantities(&[
                ("cpu", r.cpu_limit.as_ref()),
                ("memory", Some(&r.memory_limit)),
            ])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: secret.as_ref().map(|_| {
            vec![VolumeMount {
                name: "tls".into(),
                mount_path: TLS_MOUNT.into(),
                read_only: Some(true),
                ..VolumeMount::default()
            }]
        }),
        ..Container::default()
    };
    let pod_labels = labels(options, checked, name);
    let annotations = BTreeMap::from([("ccaas/package-id".to_owned(), checked.package_id.clone())]);
    // The convention Prometheus' Kubernetes discovery examples (and most
    // scrape configurations) select pods by.
    let mut pod_annotations = annotations.clone();
    pod_annotations.extend([
        ("prometheus.io/scrape".to_owned(), "true".to_owned()),
        ("prometheus.io/port".to_owned(), OPERATIONS_PORT.to_string()),
        ("prometheus.io/path".to_owned(), "/metrics".to_owned()),
    ]);
    let deployment = Deployment {
        metadata: ObjectMeta {
            annotations: Some(annotations),
            ..meta(options, name, pod_labels.clone())
        },
        spec: DeploymentSpec {
            replicas: Some(options.replicas),
            selector: LabelSelector {
                match_labels: Some(selector(options, name)),
                ..LabelSelector::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(pod_annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    termination_grace_period_seconds: Some(termination),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(USER_ID),
                        run_as_group: Some(USER_ID),
                        fs_group: Some(USER_ID),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..SeccompProfile::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    affinity: Some(Affinity {
                        pod_anti_affinity: Some(PodAntiAffinity {
                            preferred_during_scheduling_ignored_during_execution: Some(vec![
                                WeightedPodAffinityTerm {
                                    weight: 100,
                                    pod_affinity_term: PodAffinityTerm {
                                        label_selector: Some(LabelSelector {
                                            match_labels: Some(selector(options, name)),
                                            ..LabelSelector::default()
                                        }),
                                        topology_key: "kubernetes.io/hostname".into(),
                                        ..PodAffinityTerm::default()
                                    },
                                },
                            ]),
                            ..PodAntiAffinity::default()
                        }),
                        ..Affinity::default()
                    }),
                    containers: vec![container],
                    volumes: secret.map(|secret_name| {
                        vec![Volume {
                            name: "tls".into(),
                            secret: Some(SecretVolumeSource {
                                secret_name: Some(secret_name),
                                default_mode: Some(0o440),
                                ..SecretVolumeSource::default()
                            }),
                            ..Volume::default()
                        }]
                    }),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    };
    let comments = vec![
        c("", format!("The chaincode server, {} of package {}.", replicas(options.replicas), checked.package_id)),
        c("spec.strategy", "Rolling updates start a new pod before stopping an old one, and take none away before\nits replacement is Ready: capacity never drops."),
        c("spec.template.metadata.annotations", "/metrics on the operations port, for a Prometheus that discovers pods by these annotations."),
        c(&format!("{POD}.automountServiceAccountToken"), "No Kubernetes API token in the pod: the chaincode server never calls the API."),
        c(&format!("{POD}.enableServiceLinks"), "No *_SERVICE_HOST variables: a Service named `chaincode` would set CHAINCODE_PORT."),
        c(&format!("{POD}.terminationGracePeriodSeconds"), if drain > 0 {
            format!("CHAINCODE_DRAIN_DELAY ({drain}s) + CHAINCODE_SHUTDOWN_GRACE ({grace}s) + {GRACE_MARGIN_SECONDS}s: the pod serves on while the\nService stops sending connections here, then transactions in flight finish, all before SIGKILL.")
        } else {
            format!("CHAINCODE_SHUTDOWN_GRACE ({grace}s) + {GRACE_MARGIN_SECONDS}s: transactions in flight finish before SIGKILL.")
        }),
        c(&format!("{POD}.securityContext"), format!("Non-root, numeric UID {USER_ID} (the image's user), the runtime's default seccomp filter;\nfsGroup lets that user read the Secret's files (mode 0440).")),
        c(&format!("{POD}.affinity"), "Replicas on different nodes when there are several."),
        c(&format!("{POD}.volumes"), "The TLS Secret as files: a rotated Secret is swapped in place (an atomic symlink swap),\nand the server's new handshakes use the new files with no restart."),
        c(&format!("{CONTAINER}.env"), "CHAINCODE_ID is the package's own ID (--package): the peer accepts no other.\nThe operations endpoint (/healthz for the probes, /metrics) listens on 9443, plain HTTP."),
        c(&format!("{CONTAINER}.imagePullPolicy"), "Pull once per node; pin the image by digest (repo@sha256:...) or a tag never reused."),
        c(&format!("{CONTAINER}.readinessProbe"), "/healthz: 200 while serving, 503 from SIGTERM on, so no new peer is sent here while\nit drains. Plain HTTP on the operations port, whatever the chaincode port's TLS."),
        c(&format!("{CONTAINER}.livenessProbe"), format!("Restart a server that stops answering: {misses} misses, {LIVENESS_PERIOD_SECONDS}s apart. /healthz is 503 while a pod\nstops, and Kubernetes 1.20 and older still probe a terminating pod: the misses outlast\nterminationGracePeriodSeconds, so a draining server is never killed for them.", misses = liveness_misses(termination))),
        c(&format!("{CONTAINER}.resources"), "Requests reserve, limits cap (--cpu-request, --memory-request, --cpu-limit, --memory-limit)."),
        c(&format!("{CONTAINER}.securityContext"), "Read-only root file system, every capability dropped, no privilege escalation."),
    ];
    Object::new(&deployment, comments)
}

fn disruption_budget(options: &Options, checked: &Checked, name: &str, max: i32) -> Object {
    let pdb = PodDisruptionBudget {
        metadata: meta(options, name, labels(options, checked, name)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(max)),
            selector: Some(LabelSelector {
                match_labels: Some(selector(options, name)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    };
    let mut object = Object::new(
        &pdb,
        vec![c(
            "",
            format!(
                "Node drains and other voluntary evictions leave at most {} of {name} down.",
                replicas(max)
            ),
        )],
    );
    if !options.kubernetes.has_policy_v1() {
        // Kubernetes 1.19 and 1.20 serve only policy/v1beta1, whose
        // PodDisruptionBudget has the same fields as used here.
        object.value["apiVersion"] = Value::from("policy/v1beta1");
        object.comments.push(c(
            "apiVersion",
            format!(
                "policy/v1beta1 for Kubernetes {} (--kubernetes); policy/v1 from 1.21.",
                options.kubernetes
            ),
        ));
    }
    object
}

pub(crate) fn build(options: &Options, checked: Checked) -> super::Manifests {
    let mut objects = Vec::new();
    if let Some(material) = &checked.tls {
        objects.extend(secret(options, &checked, material));
    }
    for instance in &checked.instances {
        objects.push(service(
            options,
            &checked,
            &instance.name,
            &instance.address,
        ));
        objects.push(deployment(options, &checked, &instance.name));
        if let Some(max) = options.max_unavailable {
            objects.push(disruption_budget(options, &checked, &instance.name, max));
        }
    }
    super::Manifests {
        package_id: checked.package_id.clone(),
        instances: checked.instances,
        objects,
        warnings: checked.warnings,
    }
}
