//! The stable surface is at the crate root: an operator's tool names
//! these types without knowing the module layout.
#![allow(clippy::unwrap_used)]

use ccaas_core::{
    Address, Checked, Connection, ConnectionFields, Dialect, Examination, ExamineOptions, Finding,
    GoDuration, Label, Limits, LoadOptions, Metadata, PackageError, PackageId, PackageInfo,
    PackageInputs, PeerOutcome, Rejected, Secret, Severity, SimulateOptions, Simulation,
    TemplateConfig, TlsFiles, TlsMode, Verdict,
};

#[test]
fn the_stable_surface_is_at_the_crate_root() {
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/sample/basic_1.0.tgz"
    ))
    .unwrap();
    let options = ExamineOptions {
        config: Some(r#"{"peername":"peer0"}"#.into()),
        limits: Limits::default(),
        ..ExamineOptions::default()
    };
    let exam: Examination =
        ccaas_core::examine::examine_package_from(&sample[..], "basic_1.0.tgz", &options).unwrap();
    let id: &PackageId = exam.id.as_ref().unwrap();
    assert_eq!(id.label, Label::new("basic_1.0").unwrap());
    let errors: Vec<&Finding> = exam
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let info: PackageInfo = ccaas_core::package::identify(&sample[..], &Limits::default()).unwrap();
    assert_eq!(&info.id, id);
    let meta: Metadata = info.metadata;
    assert_eq!(meta.dialect(), Some(Dialect::Ccaas));

    let checked: Checked = ccaas_core::connection::load(
        br#"{"address": "cc:9999", "dial_timeout": "10s"}"#,
        &LoadOptions::default(),
    )
    .unwrap();
    let connection: &Connection = &checked.connection;
    assert_eq!(connection.tls_mode(), TlsMode::Off);
    assert_eq!(
        connection.effective_dial_timeout(),
        "10s".parse::<GoDuration>().unwrap()
    );
    assert_eq!(Address::parse("cc:9999").unwrap().port(), 9999);
    let rejected: Rejected =
        ccaas_core::connection::load(b"{}", &LoadOptions::default()).unwrap_err();
    assert_eq!(rejected.problems.len(), 1);
    assert_eq!(
        rejected.problems[0].peer_outcome(),
        PeerOutcome::FailsAtLaunch
    );

    // The rest are nameable: a tool can hold them.
    fn nameable<T>() {}
    nameable::<(
        ConnectionFields,
        PackageInputs,
        PackageError,
        Secret,
        SimulateOptions,
    )>();
    nameable::<(Simulation, Verdict, TemplateConfig, TlsFiles)>();
}
