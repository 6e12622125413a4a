//! One test per row of the peer contract's connection.json table and per Go
//! `encoding/json` quirk it lists.

use super::*;

const CA: &str = include_str!("../../../../fixtures/tls/ca.pem");
const CLIENT_CERT: &str = include_str!("../../../../fixtures/tls/client.pem");
const CLIENT_KEY: &str = include_str!("../../../../fixtures/tls/client.key");

fn ok(json: &str) -> Checked {
    match load(json.as_bytes(), &LoadOptions::default()) {
        Ok(c) => c,
        Err(r) => panic!("{json}: {:?}", r.problems),
    }
}

fn problems(json: &str) -> Vec<ConnectionError> {
    match load(json.as_bytes(), &LoadOptions::default()) {
        Ok(c) => panic!("{json} accepted: {:?}", c.connection),
        Err(r) => r.problems,
    }
}

fn one_problem(json: &str) -> String {
    let p = problems(json);
    assert_eq!(p.len(), 1, "{json}: {p:?}");
    p[0].to_string()
}

fn mtls(extra: &str) -> String {
    serde_json::json!({
        "address": "127.0.0.1:9999",
        "tls_required": true,
        "client_auth_required": true,
        "root_cert": CA,
        "client_cert": CLIENT_CERT,
        "client_key": CLIENT_KEY,
    })
    .to_string()
    .replacen('{', &format!("{{{extra}"), 1)
}

// address
#[test]
fn address_missing_fails() {
    assert!(one_problem("{}").contains("`address` is missing"));
}
#[test]
fn address_empty_fails() {
    assert!(one_problem(r#"{"address": ""}"#).contains("`address` is empty"));
}
#[test]
fn address_null_is_missing() {
    assert!(one_problem(r#"{"address": null}"#).contains("missing"));
}
#[test]
fn address_must_be_host_port() {
    assert!(one_problem(r#"{"address": "mycc"}"#).contains("no port"));
}
#[test]
fn address_must_be_a_string() {
    assert!(one_problem(r#"{"address": 9999}"#).contains("must be a string, found a number"));
}

// dial_timeout
#[test]
fn dial_timeout_string() {
    assert_eq!(
        ok(r#"{"address": "a:1", "dial_timeout": "1m30s"}"#)
            .connection
            .dial_timeout,
        Some(GoDuration::from_nanos(90_000_000_000))
    );
}
#[test]
fn dial_timeout_number_of_nanoseconds() {
    assert_eq!(
        ok(r#"{"address": "a:1", "dial_timeout": 500000000}"#)
            .connection
            .effective_dial_timeout()
            .to_string(),
        "500ms"
    );
}
#[test]
fn dial_timeout_missing_is_3s() {
    assert_eq!(
        ok(r#"{"address": "a:1"}"#)
            .connection
            .effective_dial_timeout()
            .to_string(),
        "3s"
    );
}
#[test]
fn dial_timeout_zero_is_3s() {
    assert_eq!(
        ok(r#"{"address": "a:1", "dial_timeout": 0}"#)
            .connection
            .effective_dial_timeout()
            .to_string(),
        "3s"
    );
    assert_eq!(
        ok(r#"{"address": "a:1", "dial_timeout": "0"}"#)
            .connection
            .effective_dial_timeout()
            .to_string(),
        "3s"
    );
}
#[test]
fn dial_timeout_null_fails() {
    assert!(one_problem(r#"{"address": "a:1", "dial_timeout": null}"#).contains("rejects null"));
}
#[test]
fn dial_timeout_empty_string_fails() {
    assert!(one_problem(r#"{"address": "a:1", "dial_timeout": ""}"#).contains("empty string"));
}
#[test]
fn dial_timeout_without_unit_fails() {
    assert!(one_problem(r#"{"address": "a:1", "dial_timeout": "10"}"#).contains("no unit"));
}
#[test]
fn dial_timeout_boolean_fails() {
    assert!(one_problem(r#"{"address": "a:1", "dial_timeout": true}"#).contains("found a boolean"));
}
#[test]
fn dial_timeout_negative_fails() {
    assert!(one_problem(r#"{"address": "a:1", "dial_timeout": "-1s"}"#).contains("negative"));
    assert_eq!(
        problems(r#"{"address": "a:1", "dial_timeout": -5}"#).len(),
        1
    );
}
#[test]
fn dial_timeout_fraction_of_nanosecond_is_truncated() {
    let c = ok(r#"{"address": "a:1", "dial_timeout": 1500.7}"#);
    assert_eq!(
        c.connection.dial_timeout,
        Some(GoDuration::from_nanos(1500))
    );
    assert!(matches!(
        c.warnings[..],
        [ConnectionWarning::FractionalTimeout { .. }]
    ));
}
#[test]
fn dial_timeout_out_of_int64_range_fails() {
    assert_eq!(
        problems(r#"{"address": "a:1", "dial_timeout": 1e19}"#).len(),
        1
    );
}

// booleans
#[test]
fn tls_required_defaults_to_false() {
    assert_eq!(
        ok(r#"{"address": "a:1"}"#).connection.tls_mode(),
        TlsMode::Off
    );
}
#[test]
fn seed_string_booleans_are_normalised_with_a_warning() {
    let c = ok(r#"{"address": "a:1", "tls_required": "false", "client_auth_required": "false"}"#);
    assert!(!c.connection.tls_required);
    assert_eq!(c.warnings.len(), 2);
    assert!(c.warnings[0]
        .to_string()
        .contains("the peer itself rejects a string"));
    assert_eq!(c.warnings[0].peer_outcome(), PeerOutcome::FailsAtLaunch);
}
#[test]
fn other_strings_are_not_booleans() {
    assert!(
        one_problem(r#"{"address": "a:1", "tls_required": "yes"}"#).contains("must be a boolean")
    );
}
#[test]
fn number_is_not_a_boolean() {
    assert!(one_problem(r#"{"address": "a:1", "tls_required": 1}"#).contains("found a number"));
}
#[test]
fn null_boolean_is_false() {
    assert!(
        !ok(r#"{"address": "a:1", "tls_required": null}"#)
            .connection
            .tls_required
    );
}

// TLS requirements
#[test]
fn tls_needs_root_cert() {
    assert!(one_problem(r#"{"address": "a:1", "tls_required": true}"#)
        .contains("`root_cert` is missing"));
}
#[test]
fn client_auth_needs_key_and_cert() {
    let json = serde_json::json!({"address": "a:1", "tls_required": true, "client_auth_required": true, "root_cert": CA}).to_string();
    let p: Vec<String> = problems(&json).iter().map(ToString::to_string).collect();
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].contains("`client_cert` is missing") && p[1].contains("`client_key` is missing"),
        "{p:?}"
    );
}
#[test]
fn mutual_tls_is_accepted() {
    let c = ok(&mtls(""));
    assert_eq!(c.connection.tls_mode(), TlsMode::Mutual);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}
#[test]
fn rsa_and_ec_key_forms_are_accepted() {
    let ec = include_str!("../../../../fixtures/tls/client-ec.key");
    let rsa = include_str!("../../../../fixtures/tls/client-rsa.key");
    for key in [ec, rsa] {
        let json = serde_json::json!({"address": "a:1", "tls_required": true, "client_auth_required": true, "root_cert": CA, "client_cert": CLIENT_CERT, "client_key": key}).to_string();
        ok(&json);
    }
}
#[test]
fn key_in_cert_field_is_rejected_without_showing_it() {
    let json = serde_json::json!({"address": "a:1", "tls_required": true, "root_cert": CLIENT_KEY})
        .to_string();
    let text = one_problem(&json);
    assert!(
        text.contains("`root_cert` holds a private key (not shown)"),
        "{text}"
    );
    assert!(
        !text.contains(CLIENT_KEY.lines().nth(1).unwrap_or("-")),
        "{text}"
    );
}
#[test]
fn cert_in_key_field_is_rejected() {
    let json = mtls("").replace(
        &serde_json::to_string(CLIENT_KEY).unwrap_or_default()[1..20],
        "x",
    );
    assert!(!problems(&json).is_empty());
}
#[test]
fn tls_off_ignores_tls_fields_with_warnings() {
    let json = serde_json::json!({"address": "a:1", "client_auth_required": true, "root_cert": "junk", "domain": "x"}).to_string();
    let c = ok(&json);
    assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    assert!(c
        .warnings
        .iter()
        .all(|w| w.peer_outcome() == PeerOutcome::Ignores));
}
#[test]
fn domain_without_client_auth_warns() {
    let json = serde_json::json!({"address": "a:1", "tls_required": true, "root_cert": CA, "domain": "mycc"}).to_string();
    assert_eq!(ok(&json).warnings, vec![ConnectionWarning::DomainIgnored]);
}
#[test]
fn domain_is_kept_with_client_auth() {
    let c = ok(&mtls(r#""domain": "mycc.example.com","#));
    assert_eq!(c.connection.domain.as_deref(), Some("mycc.example.com"));
    assert!(String::from_utf8_lossy(&c.connection.to_json())
        .contains("\"domain\": \"mycc.example.com\""));
}
#[test]
fn bad_domain_fails() {
    assert!(one_problem(&mtls(r#""domain": "not a name","#)).contains("not a DNS name"));
}

// Go encoding/json quirks
#[test]
fn keys_match_case_insensitively() {
    assert_eq!(
        ok(r#"{"Address": "a:1", "TLS_REQUIRED": false}"#)
            .connection
            .address,
        "a:1"
    );
}
#[test]
fn unknown_keys_are_kept() {
    let c = ok(r#"{"address": "a:1", "x-owner": "team-a"}"#);
    assert!(c.warnings.is_empty());
    assert!(String::from_utf8_lossy(&c.connection.to_json()).contains("\"x-owner\": \"team-a\""));
}
#[test]
fn last_duplicate_wins() {
    let c = ok(r#"{"address": "a:1", "ADDRESS": "b:2"}"#);
    assert_eq!(c.connection.address, "b:2");
    assert!(matches!(
        c.warnings[..],
        [ConnectionWarning::Duplicate {
            key: "address",
            count: 2
        }]
    ));
}
#[test]
fn byte_order_mark_fails() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(br#"{"address": "a:1"}"#);
    assert!(matches!(
        load(&bytes, &LoadOptions::default())
            .map(|_| ())
            .unwrap_err()
            .problems[..],
        [ConnectionError::Json(JsonError::ByteOrderMark)]
    ));
}
#[test]
fn not_an_object_fails() {
    assert!(one_problem("[]").contains("found an array"));
}
#[test]
fn every_problem_is_reported_at_once() {
    assert_eq!(problems(r#"{"address": "x", "dial_timeout": "1d", "tls_required": true, "client_auth_required": "maybe"}"#).len(), 4);
}

// did you mean
#[test]
fn near_misses_get_did_you_mean() {
    for (typo, meant) in [
        ("tls_requried", "tls_required"),
        ("dial-timeout", "dial_timeout"),
        ("Adress", "address"),
        ("rootcert", "root_cert"),
    ] {
        let json = format!(r#"{{"address": "a:1", "{typo}": true}}"#);
        let c = ok(&json);
        assert!(
            matches!(&c.warnings[..], [ConnectionWarning::UnknownKey { suggestion, .. }] if *suggestion == meant),
            "{typo}: {:?}",
            c.warnings
        );
    }
}
#[test]
fn far_keys_get_no_suggestion() {
    assert!(ok(r#"{"address": "a:1", "owner": 1}"#).warnings.is_empty());
}

// canonical output
#[test]
fn canonical_output_is_stable_and_peer_shaped() {
    let c = ok(
        r#"{"tls_required": "false", "dial_timeout": 90000000000, "address": "a:1", "zz": 1, "aa": 2}"#,
    );
    let text = String::from_utf8(c.connection.to_json()).unwrap_or_default();
    assert_eq!(
        text,
        "{\n  \"address\": \"a:1\",\n  \"dial_timeout\": \"1m30s\",\n  \"tls_required\": false,\n  \"client_auth_required\": false,\n  \"zz\": 1,\n  \"aa\": 2\n}\n"
    );
}
#[test]
fn canonical_output_never_writes_an_empty_timeout() {
    let text =
        String::from_utf8(ok(r#"{"address": "a:1"}"#).connection.to_json()).unwrap_or_default();
    assert!(!text.contains("dial_timeout"), "{text}");
}
#[test]
fn canonical_output_loads_back_identically() {
    for json in [
        mtls(r#""domain": "mycc","dial_timeout": "2.5s","#),
        r#"{"address": "[::1]:1", "extra": {"a": [1]}}"#.to_owned(),
    ] {
        let first = ok(&json).connection;
        let again = ok(std::str::from_utf8(&first.to_json()).unwrap_or_default()).connection;
        assert_eq!(first, again);
    }
}
#[test]
fn debug_and_redacted_output_hide_the_key() {
    let c = ok(&mtls("")).connection;
    let marker = CLIENT_KEY.lines().nth(1).unwrap_or("-");
    assert!(!format!("{c:?}").contains(marker));
    assert!(!c.redacted_json().to_string().contains(marker));
    assert!(c.holds_private_key());
}

// templates
#[test]
fn templates_render_in_every_string_field() -> Result<(), Box<dyn std::error::Error>> {
    let config = TemplateConfig::parse(r#"{"peer": "peer0", "t": "5s", "tls": "false"}"#)?;
    let opts = LoadOptions {
        config: Some(&config),
        strict: true,
        ..LoadOptions::default()
    };
    let c = load(br#"{"address": "{{.peer}}-cc:9999", "dial_timeout": "{{ .t }}", "tls_required": "{{.tls}}"}"#, &opts)?;
    assert_eq!(c.connection.address, "peer0-cc:9999");
    assert_eq!(c.connection.effective_dial_timeout().to_string(), "5s");
    Ok(())
}
#[test]
fn template_missing_key_names_key_and_field() -> Result<(), Box<dyn std::error::Error>> {
    let config = TemplateConfig::parse(r#"{"peername": "p"}"#)?;
    let opts = LoadOptions {
        config: Some(&config),
        strict: true,
        ..LoadOptions::default()
    };
    let err = load(br#"{"address": "{{.peer}}:1"}"#, &opts)
        .map(|_| ())
        .unwrap_err();
    let text = err.problems[0].to_string();
    assert!(
        text.contains("key `address`") && text.contains("`.peer`"),
        "{text}"
    );
    Ok(())
}
#[test]
fn template_without_config_fails_at_build() {
    let opts = LoadOptions {
        strict: true,
        ..LoadOptions::default()
    };
    assert!(load(br#"{"address": "{{.peer}}:1"}"#, &opts).is_err());
}
#[test]
fn template_without_config_is_reported_when_packaging() {
    let c = ok(r#"{"address": "{{.peer}}:1"}"#);
    assert!(matches!(
        &c.warnings[..],
        [ConnectionWarning::Unrendered { key: "address", .. }]
    ));
    assert!(String::from_utf8_lossy(&c.connection.to_json()).contains("{{.peer}}:1"));
}

/// Loads `json` with `*_file` references read from the package tree `src`.
fn load_in(src: &std::path::Path, json: &[u8], strict: bool) -> Result<Checked, Rejected> {
    let files = TlsFiles::new(src, None);
    let opts = LoadOptions {
        tls_files: Some(&files),
        strict,
        ..LoadOptions::default()
    };
    load(json, &opts)
}

// TLS files
#[test]
fn tls_files_are_inlined() -> Result<(), Box<dyn std::error::Error>> {
    let src = tempfile::tempdir()?;
    std::fs::create_dir(src.path().join("tls"))?;
    std::fs::write(src.path().join("tls/ca.pem"), CA)?;
    let c = load_in(
        src.path(),
        br#"{"address": "a:1", "tls_required": true, "root_cert_file": "tls/ca.pem"}"#,
        true,
    )?;
    assert_eq!(c.connection.root_cert.as_deref(), Some(CA));
    assert!(!String::from_utf8_lossy(&c.connection.to_json()).contains("root_cert_file"));
    Ok(())
}
#[test]
fn tls_file_and_inline_conflict() -> Result<(), Box<dyn std::error::Error>> {
    let src = tempfile::tempdir()?;
    let json = serde_json::json!({"address": "a:1", "tls_required": true, "root_cert": CA, "root_cert_file": "ca.pem"}).to_string();
    let err = load_in(src.path(), json.as_bytes(), false)
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(
        err.problems[..],
        [ConnectionError::Both {
            key: "root_cert",
            ..
        }]
    ));
    Ok(())
}
#[test]
fn unresolved_tls_file_counts_as_present() {
    let c = ok(r#"{"address": "a:1", "tls_required": true, "root_cert_file": "tls/ca.pem"}"#);
    assert!(matches!(
        &c.warnings[..],
        [ConnectionWarning::Unresolved {
            key: "root_cert_file",
            ..
        }]
    ));
    assert!(String::from_utf8_lossy(&c.connection.to_json())
        .contains("\"root_cert_file\": \"tls/ca.pem\""));
}

// What the peer ignores is not read, checked or failed on.
#[test]
fn tls_files_are_not_read_when_tls_is_off() -> Result<(), Box<dyn std::error::Error>> {
    let src = tempfile::tempdir()?;
    let c = load_in(
        src.path(),
        br#"{"address": "a:1", "root_cert_file": "missing.pem"}"#,
        true,
    )?;
    assert!(matches!(
        &c.warnings[..],
        [ConnectionWarning::TlsIgnored {
            key: "root_cert",
            ..
        }]
    ));
    Ok(())
}
#[test]
fn client_material_is_ignored_without_client_auth() {
    let json = serde_json::json!({"address": "a:1", "tls_required": true, "root_cert": CA, "client_cert": "junk", "client_key": "junk"}).to_string();
    let c = ok(&json);
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(c.warnings[0]
        .to_string()
        .contains("`client_auth_required` is false, so the peer ignores it"));
}
#[test]
fn unreadable_tls_file_is_reported_once() -> Result<(), Box<dyn std::error::Error>> {
    let src = tempfile::tempdir()?;
    let err = load_in(
        src.path(),
        br#"{"address": "a:1", "tls_required": true, "root_cert_file": "missing.pem"}"#,
        true,
    )
    .map(|_| ())
    .unwrap_err();
    assert!(
        matches!(err.problems[..], [ConnectionError::TlsFile { .. }]),
        "{:?}",
        err.problems
    );
    Ok(())
}
#[test]
fn strict_loading_without_files_refuses_references() {
    let opts = LoadOptions {
        strict: true,
        ..LoadOptions::default()
    };
    let err = load(
        br#"{"address": "a:1", "tls_required": true, "root_cert_file": "ca.pem"}"#,
        &opts,
    )
    .map(|_| ())
    .unwrap_err();
    assert!(
        matches!(
            err.problems[..],
            [ConnectionError::NotInlined {
                key: "root_cert_file",
                ..
            }]
        ),
        "{:?}",
        err.problems
    );
}
#[test]
fn templated_booleans_are_not_a_mistake() -> Result<(), Box<dyn std::error::Error>> {
    let config = TemplateConfig::parse(r#"{"tls": "false"}"#)?;
    let opts = LoadOptions {
        config: Some(&config),
        strict: true,
        ..LoadOptions::default()
    };
    let c = load(br#"{"address": "a:1", "tls_required": "{{.tls}}"}"#, &opts)?;
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    Ok(())
}
#[test]
fn string_boolean_warning_shows_what_was_written() {
    let c = ok(r#"{"address": "a:1", "tls_required": "FALSE"}"#);
    assert!(c.warnings[0]
        .to_string()
        .contains("the string `\"FALSE\"`; written as the boolean false"));
}
