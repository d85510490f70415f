//! The client against answers shaped like a real Keystone 30's (issue 14): Keystone's `404`
//! for an unknown or deleted application credential, create answers that cannot be fully
//! read, error pages that are not Keystone JSON, and routes a plain Keystone does not serve.
//! Real HTTP through the real client and binary against the emulator, which answers as
//! Keystone does or is made to by a fault rule.

use kcform::cloud::{Client, ClientOptions, CloudError, Credential};
use kcform::secret::Secret;

use crate::harness::World;

const CONFIG: &str = r#"
[project.analytics]
nickname = "Analytics"

[project.analytics.service_account.etl]

[project.analytics.service_account.etl.access_key.ci]
description = "GitHub Actions"
"#;

/// The hint kcform prints when the API refuses its credential.
const REFUSED_HINT: &str = "hint: the access key in `KAKAOCLOUD_APPLICATION_CREDENTIAL_ID` and \
                            `KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET` was refused";

/// The emulator's request counters (`GET /_emulator/stats`).
fn stats(world: &World) -> serde_json::Value {
    let url = format!("{}/_emulator/stats", world.endpoint());
    world.block_on(async {
        reqwest::get(url)
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()["stats"]
            .clone()
    })
}

fn client(world: &World, id: &str, secret: &str) -> Client {
    Client::new(
        &world.endpoint(),
        Credential {
            id: id.to_string(),
            secret: Secret::new(secret.to_string()),
        },
        &ClientOptions::default(),
    )
    .unwrap()
}

#[test]
fn an_unknown_credential_id_answers_keystones_404_and_gets_the_refused_key_hint() {
    let mut world = World::new();
    world.write("main.toml", CONFIG);
    let unknown = "0".repeat(32);
    let run = world
        .kcform_as(&["plan", "."], &unknown, "not-the-secret")
        .expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "POST /identity/v3/auth/tokens: 404 Not Found: Could not find Application \
             Credential: {unknown}."
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(REFUSED_HINT), "{}", run.stderr);
    // A wrong secret of a known key is Keystone's 401, with the same hint.
    let admin = world.api.whoami();
    let admin_key = world
        .block_on(admin)
        .unwrap()
        .application_credential
        .unwrap()
        .id;
    let run = world
        .kcform_as(&["plan", "."], &admin_key, "not-the-secret")
        .expect_code(1);
    assert!(
        run.stderr.contains("401 Unauthorized") && run.stderr.contains(REFUSED_HINT),
        "{}",
        run.stderr
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn a_token_whose_key_was_deleted_is_issued_again_once_and_the_refusal_names_the_key() {
    let mut world = World::new();
    world.write("main.toml", CONFIG);
    world.apply();
    let file = world.secret_file("analytics", "etl", "ci");
    let (id, secret) = (
        file["access_key_id"].as_str().unwrap().to_string(),
        file["secret_access_key"].as_str().unwrap().to_string(),
    );
    let account = client(&world, &id, &secret);
    let before = world.block_on(account.list_projects()).unwrap();
    assert_eq!(before.len(), 1, "a service account sees its own project");
    let owner = world.accounts("analytics")[0].id.clone();
    world
        .block_on(world.api.delete_access_key(&owner, &id))
        .unwrap();
    let posts = stats(&world)["post"].as_u64().unwrap();
    let error = world.block_on(account.list_projects()).unwrap_err();
    // The dead token's 404 (Keystone's answer for a token of a deleted credential) made the
    // client issue a new token once; that issue is what reports the key as gone.
    assert_eq!(
        error.to_string(),
        format!(
            "POST /identity/v3/auth/tokens: 404 Not Found: Could not find Application \
             Credential: {id}."
        )
    );
    assert!(error.is_credential_refused());
    assert!(matches!(error, CloudError::Api { status: 404, .. }));
    assert_eq!(
        stats(&world)["post"].as_u64().unwrap(),
        posts + 1,
        "exactly one new token was asked for"
    );
    // kcform itself, given the deleted key, says so with the hint.
    let run = world.kcform_as(&["plan", "."], &id, &secret).expect_code(1);
    assert!(run.stderr.contains(REFUSED_HINT), "{}", run.stderr);
    // The Org Admin creates the deleted key again.
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("# access_key.analytics/etl/ci will be created"),
        "{}",
        plan.stdout
    );
    world.apply();
    world.assert_converged();
}
