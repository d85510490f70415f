//! The client against answers shaped like a real Keystone 30's (issue 14): Keystone's `404`
//! for an unknown or deleted application credential, create answers that cannot be fully
//! read, error pages that are not Keystone JSON, and routes a plain Keystone does not serve.
//! Real HTTP through the real client and binary against the emulator, which answers as
//! Keystone does or is made to by a fault rule.

use kcform::cloud::{Client, ClientOptions, CloudError, Credential};
use kcform::secret::Secret;

use crate::harness::World;

const CONFIG: &str = e2e_config!("analytics-etl-ci-github");

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

/// Keys' create route, for fault rules.
const KEY_CREATE: &str = "/identity/v3/users/*/application_credentials";

#[test]
fn a_create_answer_with_wrong_types_still_delivers_the_keys_secret() {
    let mut world = World::new();
    world.write("main.toml", CONFIG);
    world.fault(serde_json::json!({
        "method": "POST", "path": KEY_CREATE, "mangle_response": "wrong_type", "count": 1
    }));
    let run = world.apply();
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(
        output.contains(
            "warning: access_key.analytics/etl/ci: the answer to the key's create could not be \
             read in full (invalid type: integer `0`, expected a string)"
        ),
        "{output}"
    );
    assert!(!output.contains(" at line "), "{output}");
    world.assert_delivered("analytics", &["etl".to_string()], 1);
    let file = world.secret_file("analytics", "etl", "ci");
    // The answer's `created_at` was unreadable (as a plain Keystone gives none): the file
    // still says when the key was made, by kcform's clock.
    let created_at = file["created_at"].as_str().unwrap_or_default();
    let created_at =
        time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("created_at {created_at:?}: {e}"));
    let age = time::OffsetDateTime::now_utc() - created_at;
    assert!(
        age >= time::Duration::ZERO && age < time::Duration::minutes(5),
        "{created_at}"
    );
    assert_eq!(
        world.token_status(&file),
        201,
        "the delivered secret is the key's"
    );
    world.assert_converged();
}

#[test]
fn a_create_answer_that_cannot_be_read_at_all_leaves_no_key_behind_and_says_so() {
    let mut world = World::new();
    world.write("main.toml", CONFIG);
    world.fault(serde_json::json!({
        "method": "POST", "path": KEY_CREATE, "mangle_response": "truncate", "count": 1
    }));
    let run = world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(1);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(
        output.contains("access_key.analytics/etl/ci")
            && output.contains("cannot read the answer to the create")
            && output.contains("the key it created was found by name and deleted"),
        "{output}"
    );
    assert!(
        world.keys("analytics").is_empty(),
        "no key without its secret"
    );
    assert!(!world.secret_path("analytics", "etl", "ci").exists());
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("# access_key.analytics/etl/ci will be created"),
        "{}",
        plan.stdout
    );
    world.apply();
    world.assert_delivered("analytics", &["etl".to_string()], 1);
    world.assert_converged();
}

/// Keystone 30's own pages (`testdata/keystone/`).
const HTML_404: &str = include_str!("../../testdata/keystone/error_404_unknown_route.html");
const HTML_413: &str = include_str!("../../testdata/keystone/error_413_too_large.html");

#[test]
fn error_pages_that_are_not_keystone_json_are_summarized_on_one_line() {
    let mut world = World::new();
    world.write("main.toml", CONFIG);
    world.fault(serde_json::json!({
        "method": "POST", "path": KEY_CREATE, "status": 413, "body": HTML_413, "count": 1
    }));
    let run = world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(1);
    let output = format!("{}{}", run.stdout, run.stderr);
    let line = output
        .lines()
        .find(|l| l.contains("413"))
        .unwrap_or_else(|| panic!("no 413 line:\n{output}"));
    assert!(
        line.contains("access_key.analytics/etl/ci")
            && line.contains(
                "413 Request Entity Too Large: Request is too large. Larger than \
                 max_request_body_size (%s). [text/html answer, not a Keystone error]"
            ),
        "{line}"
    );
    assert!(
        !output.contains('<'),
        "no markup reaches the user:\n{output}"
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn a_route_answered_with_keystones_404_page_says_the_endpoint_is_a_plain_keystone() {
    let mut world = World::new();
    world.write("main.toml", CONFIG);
    world.apply();
    // A plain Keystone serves no `…/service_accounts`: its framework's HTML 404 page.
    world.fault(serde_json::json!({
        "method": "GET", "path": "*/service_accounts", "status": 404, "body": HTML_404
    }));
    let run = world.kcform(&["plan", "."]).expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "/service_accounts: the endpoint {} speaks Keystone but not the KakaoCloud IAM routes \
             of kcform's docs/api.md (this route answered 404 Not Found: The requested URL was \
             not found on the server.",
            world.endpoint()
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('<'), "{}", run.stderr);
    world.clear_faults();
    world.assert_converged();
}
