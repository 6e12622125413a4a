#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::{json, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/tls")
        .join(name)
}

fn pem(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

/// A package holding `connection`, written in `dir`.
fn package(dir: &tempfile::TempDir, connection: &Value) -> PathBuf {
    let path = dir.path().join("kv.tgz");
    std::fs::write(&path, testing::package(&connection.to_string()).unwrap()).unwrap();
    path
}

fn options(package: &Path) -> Options {
    let mut o = Options::new("mycc", package, "kv:1");
    o.namespace = "ccaas".into();
    o
}

fn mutual_connection(address: &str) -> Value {
    json!({
        "address": address, "tls_required": true, "client_auth_required": true,
        "root_cert": pem("ca.pem"), "client_cert": pem("client.pem"), "client_key": pem("client.key"),
    })
}

fn tls_files(cert: &str, key: &str, ca: Option<&str>) -> Tls {
    Tls::Files {
        cert: fixture(cert),
        key: fixture(key),
        ca: ca.map(fixture),
        secret: None,
    }
}

fn mismatches(result: Result<Manifests, K8sError>) -> Vec<Mismatch> {
    match result {
        Err(K8sError::Mismatches { mismatches, .. }) => mismatches,
        other => panic!("expected mismatches, got {other:?}"),
    }
}

fn object<'a>(m: &'a Manifests, kind: &str, name: &str) -> &'a Value {
    &m.objects
        .iter()
        .find(|o| o.kind() == kind && o.name() == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
        .value
}

fn env_of(deployment: &Value) -> Vec<(String, String)> {
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn plain_service_deployment_and_the_production_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(&dir, &json!({"address": "mycc.ccaas:9999"}));
    let m = render(&options(&pkg)).unwrap();
    assert!(m.package_id.starts_with("kv_1.0:"));
    let kinds: Vec<&str> = m.objects.iter().map(Object::kind).collect();
    assert_eq!(kinds, ["Service", "Deployment"]);
    assert!(!m.holds_private_key());
    let svc = object(&m, "Service", "mycc");
    assert_eq!(svc["apiVersion"], "v1");
    assert_eq!(svc["metadata"]["namespace"], "ccaas");
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(svc["spec"]["ports"][0]["port"], 9999);
    let d = object(&m, "Deployment", "mycc");
    assert_eq!(d["apiVersion"], "apps/v1");
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(
        d["spec"]["selector"]["matchLabels"],
        svc["spec"]["selector"]
    );
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["terminationGracePeriodSeconds"], 35);
    let pod_annotations = &d["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(pod_annotations["prometheus.io/scrape"], "true");
    assert_eq!(pod_annotations["prometheus.io/port"], "9443");
    assert_eq!(pod_annotations["prometheus.io/path"], "/metrics");
    assert_eq!(pod_annotations["ccaas/package-id"], m.package_id.as_str());
    assert!(d["metadata"]["annotations"]
        .get("prometheus.io/scrape")
        .is_none());
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"],
        json!(["ALL"])
    );
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    // Kubernetes 1.20 and older probe a terminating pod, whose /healthz is
    // 503: the liveness misses must outlast the pod's grace.
    assert_eq!(container["livenessProbe"]["periodSeconds"], 10);
    assert_eq!(container["livenessProbe"]["failureThreshold"], 5);
    assert_eq!(container["readinessProbe"]["failureThreshold"], 1);
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(container[probe]["httpGet"]["path"], "/healthz");
        assert_eq!(container[probe]["httpGet"]["port"], "operations");
    }
    assert_eq!(
        container["ports"][1],
        json!({"name": "operations", "containerPort": 9443, "protocol": "TCP"})
    );
    assert_eq!(container["resources"]["limits"]["memory"], "256Mi");
    assert_eq!(
        env_of(d),
        [
            ("CHAINCODE_ID".to_owned(), m.package_id.clone()),
            ("CHAINCODE_SERVER_ADDRESS".into(), "0.0.0.0:9999".into()),
            ("CHAINCODE_OPERATIONS_ADDRESS".into(), "0.0.0.0:9443".into()),
            ("CHAINCODE_SHUTDOWN_GRACE".into(), "20s".into()),
            ("CHAINCODE_DRAIN_DELAY".into(), "5s".into()),
        ]
    );
    assert!(pod.get("volumes").is_none());
}

#[test]
fn yaml_carries_a_comment_above_each_default_and_says_the_same_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(
        &dir,
        &json!({"address": "mycc.ccaas.svc.cluster.local:9999"}),
    );
    let m = render(&options(&pkg)).unwrap();
    let yaml = m.to_yaml();
    assert_eq!(
        yaml.matches("\n---\n").count() + usize::from(yaml.starts_with("---")),
        1
    );
    for (comment, key) in [
        (
            "/metrics on the operations port, for a Prometheus",
            "annotations:",
        ),
        (
            "No Kubernetes API token",
            "automountServiceAccountToken: false",
        ),
        (
            "CHAINCODE_DRAIN_DELAY (5s) + CHAINCODE_SHUTDOWN_GRACE (20s) + 10s",
            "terminationGracePeriodSeconds: 35",
        ),
        ("Non-root, numeric UID 65532", "securityContext:"),
        ("Read-only root file system", "securityContext:"),
        ("/healthz: 200 while serving", "readinessProbe:"),
        ("Restart a server", "livenessProbe:"),
        ("Requests reserve", "resources:"),
        ("CHAINCODE_ID is the package's own ID", "- env:"),
    ] {
        let at = yaml
            .find(comment)
            .unwrap_or_else(|| panic!("{comment} in\n{yaml}"));
        let next_key = yaml[at..]
            .lines()
            .skip(1)
            .find(|l| !l.trim_start().starts_with('#'))
            .unwrap();
        assert_eq!(next_key.trim(), key, "the line after `{comment}`");
    }
    let json: Value = serde_json::from_str(&m.to_json()).unwrap();
    assert_eq!(json["kind"], "List");
    assert_eq!(json["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        json["items"][1]["spec"]["template"]["spec"]["securityContext"]["fsGroup"],
        65532
    );
}

#[test]
fn an_address_that_is_not_the_service_names_both() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(&dir, &json!({"address": "kv.example.com:9999"}));
    let found = mismatches(render(&options(&pkg)));
    assert_eq!(found.len(), 1, "{found:?}");
    let text = found[0].to_string();
    assert!(text.contains("`kv.example.com:9999`"), "{text}");
    assert!(
        text.contains("`mycc.ccaas:9999`") && text.contains("`mycc.ccaas.svc.cluster.local:9999`"),
        "{text}"
    );
    // Another namespace is another name.
    let pkg = package(&dir, &json!({"address": "mycc.other:9999"}));
    assert!(matches!(
        &mismatches(render(&options(&pkg)))[..],
        [Mismatch::Host { .. }]
    ));
    // A bare name resolves only from the Service's own namespace.
    let pkg = package(&dir, &json!({"address": "mycc:9999"}));
    assert!(matches!(
        &mismatches(render(&options(&pkg)))[..],
        [Mismatch::Host { .. }]
    ));
}

#[test]
fn a_port_that_is_not_the_service_port_names_both() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(&dir, &json!({"address": "mycc.ccaas:7052"}));
    let found = mismatches(render(&options(&pkg)));
    assert_eq!(
        found,
        [Mismatch::Port {
            address: "mycc.ccaas:7052".into(),
            found: 7052,
            port: 9999
        }]
    );
    assert!(found[0].to_string().contains("--port 9999"));
    let mut o = options(&pkg);
    o.port = 7052;
    assert!(render(&o).is_ok());
}

#[test]
fn one_deployment_and_service_per_peer_from_a_peername_template() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(&dir, &json!({"address": "{{.peername}}-mycc.ccaas:9999"}));
    let found = mismatches(render(&options(&pkg)));
    assert!(
        matches!(&found[..], [Mismatch::Template { .. }]),
        "{found:?}"
    );
    assert!(found[0].to_string().contains("--peer"));
    let mut o = options(&pkg);
    o.peers = vec!["peer0".into(), "peer1".into()];
    let m = render(&o).unwrap();
    let names: Vec<(&str, &str)> = m.objects.iter().map(|o| (o.kind(), o.name())).collect();
    assert_eq!(
        names,
        [
            ("Service", "peer0-mycc"),
            ("Deployment", "peer0-mycc"),
            ("Service", "peer1-mycc"),
            ("Deployment", "peer1-mycc")
        ]
    );
    assert_eq!(m.instances[1].address, "peer1-mycc.ccaas:9999");
    let d1 = object(&m, "Deployment", "peer1-mycc");
    assert_eq!(
        d1["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"],
        "peer1-mycc"
    );
    // A peer the template does not render to its Service.
    let pkg = package(&dir, &json!({"address": "{{.peername}}.mycc.ccaas:9999"}));
    let mut o = options(&pkg);
    o.peers = vec!["peer0".into()];
    let text = mismatches(render(&o))[0].to_string();
    assert!(
        text.contains("peer0.mycc.ccaas:9999")
            && text.contains("peername `peer0`")
            && text.contains("peer0-mycc.ccaas:9999"),
        "{text}"
    );
}

#[test]
fn mutual_tls_secret_in_cert_managers_shape_mounted_for_the_shim() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(&dir, &mutual_connection("mycc.ccaas:9999"));
    let mut o = options(&pkg);
    o.tls = tls_files("k8s-server.pem", "server.key", Some("ca.pem"));
    let m = render(&o).unwrap();
    assert!(m.holds_private_key());
    let secret = object(&m, "Secret", "mycc-tls");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    let keys: Vec<&String> = secret["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ca.crt", "tls.crt", "tls.key"]);
    let d = object(&m, "Deployment", "mycc");
    let env = env_of(d);
    for (name, value) in [
        ("CHAINCODE_TLS_CERT", "/etc/ccaas/tls/tls.crt"),
        ("CHAINCODE_TLS_KEY", "/etc/ccaas/tls/tls.key"),
        ("CHAINCODE_CLIENT_CA_CERT", "/etc/ccaas/tls/ca.crt"),
    ] {
        assert!(
            env.contains(&(name.to_owned(), value.to_owned())),
            "{name} in {env:?}"
        );
    }
    let volume = &d["spec"]["template"]["spec"]["volumes"][0];
    assert_eq!(volume["secret"]["secretName"], "mycc-tls");
    assert_eq!(volume["secret"]["defaultMode"], 0o440);
    // Per peer, one shared Secret: its certificate covers `*.ccaas`.
    let pkg = package(&dir, &mutual_connection("{{.peername}}-mycc.ccaas:9999"));
    o.package = pkg;
    o.peers = vec!["peer0".into(), "peer1".into()];
    let m = render(&o).unwrap();
    assert_eq!(m.objects.iter().filter(|o| o.kind() == "Secret").count(), 1);
}

#[test]
fn a_certificate_that_does_not_cover_the_service_or_was_not_issued_by_root_cert() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(&dir, &mutual_connection("mycc.ccaas:9999"));
    let mut o = options(&pkg);
    o.tls = tls_files("server.pem", "server.key", Some("ca.pem"));
    let found = mismatches(render(&o));
    assert_eq!(found.len(), 1, "{found:?}");
    let text = found[0].to_string();
    assert!(
        text.contains("--tls-cert")
            && text.contains("server.pem")
            && text.contains("does not cover `mycc.ccaas`"),
        "{text}"
    );

    let mut other_root = mutual_connection("mycc.ccaas:9999");
    other_root["root_cert"] = Value::from(pem("client-rsa.pem"));
    o.package = package(&dir, &other_root);
    o.tls = tls_files("k8s-server.pem", "server.key", Some("ca.pem"));
    let text = mismatches(render(&o))[0].to_string();
    assert!(
        text.contains("k8s-server.pem") && text.contains("`root_cert`") && text.contains("issued"),
        "{text}"
    );
}

#[test]
fn a_key_that_is_not_the_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(&package(&dir, &mutual_connection("mycc.ccaas:9999")));
    o.tls = tls_files("k8s-server.pem", "other.key", Some("ca.pem"));
    let text = mismatches(render(&o))[0].to_string();
    assert!(
        text.contains("--tls-key") && text.contains("other.key") && text.contains("k8s-server.pem"),
        "{text}"
    );
}

#[test]
fn tls_on_one_side_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(&package(&dir, &mutual_connection("mycc.ccaas:9999")));
    assert_eq!(mismatches(render(&o)), [Mismatch::TlsMissing]);
    o.tls = tls_files("k8s-server.pem", "server.key", None);
    assert_eq!(mismatches(render(&o)), [Mismatch::ClientCaMissing]);
    o.tls = Tls::Existing {
        secret: "from-cert-manager".into(),
    };
    let m = render(&o).unwrap();
    assert!(m.objects.iter().all(|o| o.kind() != "Secret"));
    assert!(
        m.warnings.iter().any(|w| w.contains("from-cert-manager")),
        "{:?}",
        m.warnings
    );
    assert!(env_of(object(&m, "Deployment", "mycc"))
        .iter()
        .any(|(k, _)| k == "CHAINCODE_CLIENT_CA_CERT"));

    o.package = package(&dir, &json!({"address": "mycc.ccaas:9999"}));
    let text = mismatches(render(&o))[0].to_string();
    assert!(
        text.contains("`tls_required: false`") && text.contains("--tls-secret"),
        "{text}"
    );
    o.tls = tls_files("k8s-server.pem", "server.key", None);
    assert_eq!(
        mismatches(render(&o)),
        [Mismatch::TlsUnwanted { flag: "--tls-cert" }]
    );
}

#[test]
fn the_peers_client_certificate_must_come_from_the_client_ca() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(&package(&dir, &mutual_connection("mycc.ccaas:9999")));
    o.tls = tls_files("k8s-server.pem", "server.key", Some("client-rsa.pem"));
    let found = mismatches(render(&o));
    assert!(
        matches!(&found[..], [Mismatch::ClientCert { .. }]),
        "{found:?}"
    );
}

#[test]
fn disruption_budget_for_current_and_old_kubernetes() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(&package(&dir, &json!({"address": "mycc.ccaas:9999"})));
    o.max_unavailable = Some(1);
    let m = render(&o).unwrap();
    let pdb = object(&m, "PodDisruptionBudget", "mycc");
    assert_eq!(pdb["apiVersion"], "policy/v1");
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    o.kubernetes = "1.20".parse().unwrap();
    let m = render(&o).unwrap();
    assert_eq!(
        object(&m, "PodDisruptionBudget", "mycc")["apiVersion"],
        "policy/v1beta1"
    );
    assert!(m.to_yaml().contains("policy/v1beta1 for Kubernetes 1.20"));
}

#[test]
fn kubernetes_versions() {
    assert_eq!("1.20".parse::<KubeVersion>().unwrap(), KubeVersion(20));
    assert_eq!("v1.30.2".parse::<KubeVersion>().unwrap(), KubeVersion(30));
    for bad in ["1.18", "1.38", "2.0", "1", "1.x", "1.20.2.1", ""] {
        assert!(bad.parse::<KubeVersion>().is_err(), "{bad}");
    }
}

#[test]
fn flags_kubernetes_would_refuse_are_refused_first() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(&dir, &json!({"address": "mycc.ccaas:9999"}));
    let mut o = options(&pkg);
    o.name = "MyCC".into();
    assert!(render(&o)
        .unwrap_err()
        .to_string()
        .starts_with("--name is `MyCC`"));
    let mut o = options(&pkg);
    o.resources.memory_limit = "lots".into();
    assert!(render(&o)
        .unwrap_err()
        .to_string()
        .contains("--memory-limit is `lots`"));
    let mut o = options(&pkg);
    o.shutdown_grace = "1.5s".parse().unwrap();
    assert!(render(&o)
        .unwrap_err()
        .to_string()
        .contains("--shutdown-grace"));
    let mut o = options(&pkg);
    o.shutdown_grace = "45s".parse().unwrap();
    let m = render(&o).unwrap();
    assert_eq!(
        object(&m, "Deployment", "mycc")["spec"]["template"]["spec"]
            ["terminationGracePeriodSeconds"],
        60
    );
    for (grace, drain) in [
        ("1s", "0s"),
        ("20s", "5s"),
        ("45s", "5s"),
        ("30s", "0s"),
        ("59s", "1s"),
    ] {
        let mut o = options(&pkg);
        o.shutdown_grace = grace.parse().unwrap();
        o.drain_delay = drain.parse().unwrap();
        let m = render(&o).unwrap();
        let pod = &object(&m, "Deployment", "mycc")["spec"]["template"]["spec"];
        let termination = pod["terminationGracePeriodSeconds"].as_i64().unwrap();
        let liveness = &pod["containers"][0]["livenessProbe"];
        let (period, misses) = (
            liveness["periodSeconds"].as_i64().unwrap(),
            liveness["failureThreshold"].as_i64().unwrap(),
        );
        // The first miss can come at once; the kill, misses - 1 periods later.
        assert!(
            (misses - 1) * period > termination && misses >= 3,
            "grace {grace}, drain {drain}: {misses} misses of {period}s against {termination}s"
        );
    }
    let mut o = options(&pkg);
    o.drain_delay = "2.5s".parse().unwrap();
    assert_eq!(
        render(&o).unwrap_err().to_string(),
        "--drain-delay is `2.5s`: expected a whole number of seconds, such as `5s`, or `0s` for none"
    );
    // No delay: no variable, and the pod's grace is the shim's plus the margin.
    let mut o = options(&pkg);
    o.drain_delay = "0s".parse().unwrap();
    let m = render(&o).unwrap();
    let d = object(&m, "Deployment", "mycc");
    assert_eq!(
        d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
        30
    );
    assert!(env_of(d)
        .iter()
        .all(|(name, _)| name != "CHAINCODE_DRAIN_DELAY"));
    assert!(m
        .to_yaml()
        .contains("# CHAINCODE_SHUTDOWN_GRACE (20s) + 10s"));
}

#[test]
fn a_package_the_peer_would_refuse_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not.tgz");
    std::fs::write(&path, b"not a package").unwrap();
    let err = render(&options(&path)).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("--package `{}` would not install", path.display())),
        "{err}"
    );
}
