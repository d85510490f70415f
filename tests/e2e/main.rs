//! End-to-end tests: the real binary against a real emulator over HTTP. Every scenario ends by
//! planning again and expecting "No changes", and the harness fails any test in which a secret
//! reaches an output.

/// The text of `testdata/e2e/<name>.toml`, a configuration scenarios apply (see
/// testdata/README.md), compiled into the test.
macro_rules! e2e_config {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/e2e/",
            $name,
            ".toml"
        ))
    };
}

mod harness;
#[path = "../../benches/scale/harness/mod.rs"]
mod scale_harness;

mod adopt;
mod chaos;
mod commands;
mod conformance;
mod examples;
mod keys;
mod keystone;
mod keystone_answers;
mod keystone_client;
mod keystone_server;
mod lifecycle;
mod locks;
mod output;
mod payment;
mod reliability;
mod review;
mod roles;
mod safety;
mod scale;
mod secret_store;
mod secrets;
mod workflow;
