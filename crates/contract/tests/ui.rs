//! The compile errors of `#[contract]` and `#[derive(Object)]`, as a
//! developer reads them: each in `tests/ui/NAME.stderr`, printed once,
//! pointing at the code to change, with the fix when there is one.
//! `TRYBUILD=overwrite cargo test -p ccaas-contract --test ui` rewrites them
//! after a deliberate change (then read the diff).

#[test]
fn macro_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
