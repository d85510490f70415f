//! kcform's own client and binary against the real Keystone 30 that `.ci/run` starts (see
//! `keystone_server`): what `conformance` cannot show, since it compares the servers and never
//! runs kcform. A person here is a Keystone user with a role on project `admin` and its own
//! application credential — an access key as a person's KakaoCloud key is one.
//!
//! - `kcform plan` (the binary, with the endpoint and the key in the environment variables a
//!   user sets) authenticates with a person's key, reads Keystone's project listing, and stops
//!   at the first route of kcform's own with the one sentence of `docs/api.md`.
//! - The library client issues tokens from a person's key, creates, lists, reads and deletes the
//!   person's own keys (Keystone answers `"unrestricted": null`, `"description": null`), is
//!   refused with the hint on a wrong secret (`401`) or an unknown key (`404`), and, when its
//!   key is deleted mid-session, issues a new token once and reports the key as gone; a token
//!   Keystone revoked (`401`) is replaced and the call goes through.
//! - Projects round-trip through the client on Keystone, with `nickname` as Keystone's extra
//!   attribute.
//!
//! No secret (key or password) may appear in anything kcform prints.

use std::process::{Command, Stdio};

use kcform::cloud::{Client, ClientOptions, CloudError, Credential};
use kcform::permissions::Authority;
use kcform::secret::Secret;
use kcform::wire;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Run;
use crate::keystone_server::{self, KeystoneAppCred, KeystoneServer, KeystoneUser, random_hex};

/// The hint kcform prints when the API refuses its credential (`src/commands/hints.rs`).
const REFUSED_HINT: &str = "hint: the access key in `KAKAOCLOUD_APPLICATION_CREDENTIAL_ID` and \
                            `KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET` was refused";

/// What kcform says when an endpoint speaks Keystone but not kcform's own routes.
const NOT_SERVED: &str = "speaks Keystone but not the KakaoCloud IAM routes of kcform's \
                          docs/api.md";

/// An ID Keystone never issued.
const UNKNOWN_ID: &str = "0123456789abcdef0123456789abcdef";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A person on Keystone: a user with a role on project `admin`, its password token (which
/// Keystone requires for managing its credentials unless the credential is unrestricted), and
/// its own restricted key `ci`.
struct Person {
    user: KeystoneUser,
    password_token: String,
    key: KeystoneAppCred,
}

/// The bootstrap admin's token and the ID of project `admin`.
async fn admin(keystone: &KeystoneServer) -> (String, String) {
    let token = keystone.admin_token().await;
    let project = keystone
        .project_id(&token, keystone_server::ADMIN_PROJECT)
        .await;
    (token, project)
}

/// A new person with `role` (`admin`, `member`…) on project `admin` and its key `ci`.
async fn person(keystone: &KeystoneServer, admin: &str, project: &str, role: &str) -> Person {
    let user = keystone
        .create_user(admin, "kcform-client", project, role)
        .await;
    let password_token = keystone.user_token(&user).await;
    let key = keystone
        .create_app_cred(&password_token, &user.id, "ci")
        .await;
    Person {
        user,
        password_token,
        key,
    }
}

/// An unrestricted key of `person`: Keystone lets a token issued from one manage the user's
/// application credentials, which a restricted key's token may not.
async fn unrestricted_key(keystone: &KeystoneServer, person: &Person) -> KeystoneAppCred {
    let name = format!("manager-{}", random_hex(6));
    let answer = keystone
        .call(
            Method::POST,
            &format!("/users/{}/application_credentials", person.user.id),
            Some(&person.password_token),
            Some(&json!({"application_credential": {"name": name, "unrestricted": true}})),
        )
        .await;
    assert_eq!(
        answer.status,
        201,
        "an unrestricted application credential: {:?}",
        answer.json.as_ref().map(|j| j["error"].clone())
    );
    let created = &answer.json.expect("JSON")["application_credential"];
    KeystoneAppCred {
        id: created["id"].as_str().unwrap().to_string(),
        name,
        secret: created["secret"].as_str().unwrap().to_string(),
        user_id: person.user.id.clone(),
    }
}

/// kcform's client for Keystone, authenticating with `id` and `secret`. The endpoint is given
/// as an OpenStack `auth_url` is, `…/identity/v3`.
fn client(keystone: &KeystoneServer, id: &str, secret: &str) -> Client {
    Client::new(
        &keystone.v3(),
        Credential {
            id: id.to_string(),
            secret: Secret::new(secret.to_string()),
        },
        &ClientOptions::default(),
    )
    .unwrap()
}

/// Keystone's host, `http://127.0.0.1:PORT`: the endpoint as kcform names it.
fn host(keystone: &KeystoneServer) -> &str {
    keystone
        .url
        .strip_suffix("/identity")
        .expect("Keystone's address ends in /identity")
}

/// Runs the kcform binary as the e2e harness does — in `dir`, with the endpoint (Keystone's host)
/// and the key in the environment variables a user sets — and checks that no secret in
/// `secrets` is in its output.
fn kcform(
    keystone: &KeystoneServer,
    dir: &std::path::Path,
    args: &[&str],
    key: (&str, &str),
    secrets: &[&str],
) -> Run {
    kcform_at(host(keystone), dir, args, key, secrets)
}

/// [`kcform`] with another form of the endpoint.
fn kcform_at(
    endpoint: &str,
    dir: &std::path::Path,
    args: &[&str],
    (id, secret): (&str, &str),
    secrets: &[&str],
) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_kcform"))
        .args(args)
        .current_dir(dir)
        .env("KCFORM_ENDPOINT", endpoint)
        .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID", id)
        .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET", secret)
        .env("KCFORM_NOW", "")
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    for secret in secrets.iter().chain([&secret]) {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret appeared in kcform's output:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

/// Fails on what a user must never read: a serde message, an HTML page.
fn assert_readable(text: &str) {
    let lower = text.to_ascii_lowercase();
    for bad in [
        "missing field",
        "at line",
        "invalid type",
        "<html",
        "<!doctype",
        "<title",
    ] {
        assert!(!lower.contains(bad), "`{bad}` in kcform's output:\n{text}");
    }
}

/// A configuration declaring `project` and one service account in it.
fn config(project: &str, nickname: &str) -> String {
    format!(
        "[project.{project}]\nnickname = \"{nickname}\"\n\n\
         [project.{project}.service_account.etl-runner]\n\n\
         [project.{project}.service_account.etl-runner.access_key.ci]\n"
    )
}

#[test]
fn plan_authenticates_a_persons_key_reads_the_projects_and_stops_at_kcforms_own_routes() {
    let Some(keystone) = KeystoneServer::from_env("kcform plan against Keystone") else {
        return;
    };
    let rt = runtime();
    let (admin_token, admin_project) = rt.block_on(admin(&keystone));
    // A project of the organization, with a nickname as Keystone's extra attribute, and a
    // person who administers project `admin` (Keystone's `admin` role lets it list projects).
    let name = format!("kcf-{}", random_hex(8));
    let created = rt.block_on(keystone.call(
        Method::POST,
        "/projects",
        Some(&admin_token),
        Some(
            &json!({"project": {"name": name, "nickname": "Keystone Made",
            "domain_id": "default"}}),
        ),
    ));
    assert_eq!(created.status, 201, "the project");
    let project_id = created.json.unwrap()["project"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lead = rt.block_on(person(&keystone, &admin_token, &admin_project, "admin"));
    let key = (lead.key.id.as_str(), lead.key.secret.as_str());
    let secrets = [lead.key.secret.as_str(), lead.user.password.as_str()];

    // The endpoint as the host, and as Keystone's address (`…/identity`), which means the same.
    for (project, id, endpoint) in [
        (name.as_str(), &project_id, host(&keystone)),
        ("admin", &admin_project, keystone.url.as_str()),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.toml"), config(project, "Made")).unwrap();
        let run = kcform_at(endpoint, dir.path(), &["plan", "."], key, &secrets).expect_code(1);
        let stderr = run.stderr.trim();
        // One error, one line: the endpoint, and that it speaks Keystone but not kcform's
        // routes.
        assert_eq!(stderr.lines().count(), 1, "one line:\n{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(
            stderr.contains(&format!("the endpoint {} {NOT_SERVED}", host(&keystone))),
            "{stderr}"
        );
        // It authenticated as the person (a service account's token would have been refused
        // the reading of service accounts before any read), and read the listing: the route
        // it stopped at is one of kcform's own under the declared project's Keystone ID.
        assert!(
            stderr.contains(&format!("GET /identity/v3/projects/{id}/")),
            "{stderr}"
        );
        assert!(!stderr.contains("service account"), "{stderr}");
        assert!(!stderr.contains("hint:"), "{stderr}");
        assert_readable(stderr);
        assert!(run.stdout.trim().is_empty(), "{}", run.stdout);
    }

    // A person whose role does not let it list projects gets Keystone's own 403, read as such.
    let member = rt.block_on(person(&keystone, &admin_token, &admin_project, "member"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.toml"), config(&name, "Made")).unwrap();
    let run = kcform(
        &keystone,
        dir.path(),
        &["plan", "."],
        (&member.key.id, &member.key.secret),
        &[&member.user.password],
    )
    .expect_code(1);
    assert!(
        run.stderr.contains(
            "GET /identity/v3/projects: 403 Forbidden: You are not authorized to perform the \
             requested action: identity:list_projects."
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("service account"), "{}", run.stderr);
    assert_readable(&run.stderr);
}

#[test]
fn the_client_issues_tokens_from_a_persons_key_by_id_and_by_name_and_reads_a_person() {
    let Some(keystone) = KeystoneServer::from_env("kcform's client against Keystone") else {
        return;
    };
    let rt = runtime();
    let (admin_token, admin_project) = rt.block_on(admin(&keystone));
    let lead = rt.block_on(person(&keystone, &admin_token, &admin_project, "member"));

    // By ID, as the client always authenticates.
    let api = client(&keystone, &lead.key.id, &lead.key.secret);
    let token = rt
        .block_on(api.whoami())
        .expect("a token from the person's key");
    assert_eq!(token.user.id.as_deref(), Some(lead.user.id.as_str()));
    assert_eq!(token.user.name.as_deref(), Some(lead.user.name.as_str()));
    assert_eq!(token.methods, ["application_credential"]);
    let project = token
        .project
        .as_ref()
        .expect("Keystone binds the key to a project");
    assert_eq!(
        (project.id.as_str(), project.name.as_str()),
        (admin_project.as_str(), "admin")
    );
    let used = token.application_credential.as_ref().expect("the key used");
    assert_eq!(
        (used.id.as_str(), used.name.as_str()),
        (lead.key.id.as_str(), "ci")
    );
    assert!(
        used.restricted,
        "a key made without `unrestricted` is restricted"
    );
    // A token with `project` from a person's key is a person's (not a service account's).
    let authority = Authority::from_token(&token);
    assert_eq!(authority.service_account_of, None, "{authority:?}");
    assert_eq!(authority.who, format!("user `{}`", lead.user.name));
    // Keystone's role names are not kcform's: nothing is judged ahead, the API decides.
    assert!(!authority.is_known(), "{authority:?}");

    // By name and user ID, with kcform's own request and token types.
    let body = wire::AuthRequest {
        auth: wire::Auth {
            identity: wire::Identity {
                methods: vec!["application_credential".to_string()],
                application_credential: Some(wire::AppCredAuth {
                    name: Some(lead.key.name.clone()),
                    secret: lead.key.secret.clone(),
                    user: Some(wire::UserRef {
                        id: Some(lead.user.id.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            },
        },
    };
    let body = serde_json::to_value(&body).unwrap();
    let answer = rt.block_on(keystone.call(Method::POST, "/auth/tokens", None, Some(&body)));
    assert_eq!(answer.status, 201, "a token by name");
    assert!(answer.headers.contains_key("X-Subject-Token"));
    let by_name: wire::TokenBody =
        serde_json::from_value(answer.json.expect("JSON")).expect("kcform reads the token");
    assert_eq!(by_name.token.user.id, token.user.id);
    assert_eq!(
        by_name
            .token
            .application_credential
            .as_ref()
            .map(|c| c.id.clone()),
        Some(lead.key.id.clone())
    );
    assert_eq!(
        Authority::from_token(&by_name.token).service_account_of,
        None
    );
}

#[test]
fn the_client_creates_lists_reads_and_deletes_a_persons_own_keys() {
    let Some(keystone) = KeystoneServer::from_env("kcform's client against Keystone") else {
        return;
    };
    let rt = runtime();
    let (admin_token, admin_project) = rt.block_on(admin(&keystone));
    let lead = rt.block_on(person(&keystone, &admin_token, &admin_project, "member"));
    let manager = rt.block_on(unrestricted_key(&keystone, &lead));
    let api = client(&keystone, &manager.id, &manager.secret);
    let user = lead.user.id.as_str();

    // Create: Keystone answers `"unrestricted": null` and `"description": null`, and the
    // answer is read whole (`unread` is set only when kcform had to fall back to loose JSON).
    let plain = rt
        .block_on(api.create_access_key(user, "deploy", ""))
        .expect("a key created through kcform's client");
    assert_eq!(plain.unread, None, "the create's answer was read in full");
    assert_eq!(
        (plain.key.name.as_str(), plain.key.user_id.as_str()),
        ("deploy", user)
    );
    assert_eq!(plain.key.description, None);
    assert!(!plain.key.unrestricted);
    assert_eq!(
        plain.key.project_id.as_deref(),
        Some(admin_project.as_str())
    );
    assert!(
        !plain.key.roles.is_empty(),
        "the key carries its user's roles"
    );
    assert!(plain.key.secret.is_none(), "the secret is kept apart");
    let described = rt
        .block_on(api.create_access_key(user, "described", "GitHub Actions"))
        .expect("a key with a description");
    assert_eq!(described.unread, None);
    assert_eq!(described.key.description.as_deref(), Some("GitHub Actions"));

    // What Keystone really sent: the nulls the types must read.
    let raw = rt.block_on(keystone.call(
        Method::GET,
        &format!("/users/{user}/application_credentials/{}", plain.key.id),
        Some(&lead.password_token),
        None,
    ));
    assert_eq!(raw.status, 200);
    let raw = raw.json.expect("JSON");
    assert_eq!(raw["application_credential"]["unrestricted"], Value::Null);
    assert_eq!(raw["application_credential"]["description"], Value::Null);
    let read: wire::ApplicationCredentialBody =
        serde_json::from_value(raw).expect("kcform reads Keystone's key");
    assert_eq!(read.application_credential.id, plain.key.id);
    assert_eq!(read.application_credential.status, "active");

    // The delivered secret is the key's: a token is issued from it.
    let made = client(&keystone, &plain.key.id, plain.secret.expose());
    let token = rt
        .block_on(made.whoami())
        .expect("a token from the new key");
    assert_eq!(
        token.application_credential.map(|c| c.id),
        Some(plain.key.id.clone())
    );

    // List (by name, as kcform looks a key up after a lost answer) and the whole listing.
    let found = rt
        .block_on(api.find_access_key(user, "described"))
        .expect("the listing by name")
        .expect("the key is listed");
    assert_eq!(found.id, described.key.id);
    assert_eq!(found.description.as_deref(), Some("GitHub Actions"));
    assert_eq!(
        rt.block_on(api.find_access_key(user, "absent")).unwrap(),
        None
    );
    let listing = rt.block_on(keystone.call(
        Method::GET,
        &format!("/users/{user}/application_credentials"),
        Some(&lead.password_token),
        None,
    ));
    let listing: wire::ApplicationCredentialList =
        serde_json::from_value(listing.json.expect("JSON")).expect("kcform reads the listing");
    let mut names: Vec<&str> = listing
        .application_credentials
        .iter()
        .map(|k| k.name.as_str())
        .collect();
    names.sort_unstable();
    let mut expected = vec!["ci", "deploy", "described", manager.name.as_str()];
    expected.sort_unstable();
    assert_eq!(names, expected);

    // Delete; then the key is gone, and deleting it again is Keystone's 404 about that key —
    // not taken for the client's own credential (no new token, no hint).
    rt.block_on(api.delete_access_key(user, &plain.key.id))
        .expect("the key deleted");
    assert_eq!(
        rt.block_on(api.find_access_key(user, "deploy")).unwrap(),
        None
    );
    let again = rt
        .block_on(api.delete_access_key(user, &plain.key.id))
        .unwrap_err();
    assert_eq!(
        again.to_string(),
        format!(
            "DELETE /identity/v3/users/{user}/application_credentials/{0}: 404 Not Found: \
             Could not find Application Credential: {0}.",
            plain.key.id
        )
    );
    assert!(!again.is_credential_refused());
    // The token of the deleted key is dead: Keystone's 404 names that key.
    let dead = rt.block_on(made.list_projects()).unwrap_err();
    assert!(dead.is_credential_refused(), "{dead}");
    rt.block_on(api.delete_access_key(user, &described.key.id))
        .expect("the second key deleted");
}

#[test]
fn a_wrong_secret_or_an_unknown_key_is_refused_with_the_hint() {
    let Some(keystone) = KeystoneServer::from_env("kcform's client against Keystone") else {
        return;
    };
    let rt = runtime();
    let (admin_token, admin_project) = rt.block_on(admin(&keystone));
    let lead = rt.block_on(person(&keystone, &admin_token, &admin_project, "admin"));
    let secrets = [lead.key.secret.as_str(), lead.user.password.as_str()];

    // The client: 401 for a wrong secret, 404 naming the key for an unknown ID; both are the
    // credential refused.
    let wrong = rt
        .block_on(client(&keystone, &lead.key.id, "not-the-secret").whoami())
        .unwrap_err();
    assert!(
        matches!(wrong, CloudError::Api { status: 401, .. }),
        "{wrong}"
    );
    assert!(wrong.to_string().starts_with(
        "POST /identity/v3/auth/tokens: 401 Unauthorized: The request you have made requires \
         authentication."
    ));
    assert!(wrong.is_credential_refused());
    let unknown = rt
        .block_on(client(&keystone, UNKNOWN_ID, &lead.key.secret).whoami())
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        format!(
            "POST /identity/v3/auth/tokens: 404 Not Found: Could not find Application \
             Credential: {UNKNOWN_ID}."
        )
    );
    assert!(unknown.is_credential_refused());

    // The binary: the same errors, each with the hint about the key.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.toml"), config("admin", "Admin")).unwrap();
    for (id, secret, expected) in [
        (
            lead.key.id.as_str(),
            "not-the-secret",
            "401 Unauthorized".to_string(),
        ),
        (
            UNKNOWN_ID,
            lead.key.secret.as_str(),
            format!("404 Not Found: Could not find Application Credential: {UNKNOWN_ID}."),
        ),
    ] {
        let run = kcform(
            &keystone,
            dir.path(),
            &["plan", "."],
            (id, secret),
            &secrets,
        )
        .expect_code(1);
        assert!(run.stderr.contains(&expected), "{}", run.stderr);
        assert!(run.stderr.contains(REFUSED_HINT), "{}", run.stderr);
        assert_readable(&run.stderr);
    }
}

#[test]
fn a_key_deleted_mid_session_gets_one_new_token_and_is_reported_by_its_id() {
    let Some(keystone) = KeystoneServer::from_env("kcform's client against Keystone") else {
        return;
    };
    let rt = runtime();
    let (admin_token, admin_project) = rt.block_on(admin(&keystone));
    let lead = rt.block_on(person(&keystone, &admin_token, &admin_project, "admin"));
    let manager = rt.block_on(unrestricted_key(&keystone, &lead));
    let user = lead.user.id.as_str();

    let session = client(&keystone, &lead.key.id, &lead.key.secret);
    let before = rt.block_on(session.list_projects()).expect("projects");
    assert!(before.iter().any(|p| p.name == "admin"), "{before:?}");
    let listed = rt
        .block_on(session.find_access_key(user, "ci"))
        .expect("the session works");
    assert_eq!(listed.map(|k| k.id), Some(lead.key.id.clone()));

    // Another token of the same user (kcform's client, with the user's unrestricted key)
    // deletes the session's key.
    rt.block_on(
        client(&keystone, &manager.id, &manager.secret).delete_access_key(user, &lead.key.id),
    )
    .expect("the session's key deleted");

    // The session's next call: Keystone answers the dead token `404 Could not find Application
    // Credential: <the key>`; the client issues a new token (once), and that issue is what
    // reports the key as gone — not the 404 of the route it called.
    let error = rt.block_on(session.list_projects()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "POST /identity/v3/auth/tokens: 404 Not Found: Could not find Application \
             Credential: {}.",
            lead.key.id
        )
    );
    assert!(error.is_credential_refused());
    let error = rt
        .block_on(session.find_access_key(user, "ci"))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("POST /identity/v3/auth/tokens: 404"),
        "{error}"
    );

    // The binary with that key: refused, naming the key, with the hint.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.toml"), config("admin", "Admin")).unwrap();
    let run = kcform(
        &keystone,
        dir.path(),
        &["plan", "."],
        (&lead.key.id, &lead.key.secret),
        &[&manager.secret, &lead.user.password],
    )
    .expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "Could not find Application Credential: {}.",
            lead.key.id
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(REFUSED_HINT), "{}", run.stderr);
    assert_readable(&run.stderr);
}

#[test]
fn projects_round_trip_through_the_client_with_nickname_as_an_extra_attribute() {
    let Some(keystone) = KeystoneServer::from_env("kcform's client against Keystone") else {
        return;
    };
    let rt = runtime();
    let (admin_token, admin_project) = rt.block_on(admin(&keystone));
    let lead = rt.block_on(person(&keystone, &admin_token, &admin_project, "admin"));
    let api = client(&keystone, &lead.key.id, &lead.key.secret);
    let name = format!("kcf-{}", random_hex(8));

    let created = rt
        .block_on(api.create_project(&name, "First Name", "made by kcform"))
        .expect("a project created through kcform's client");
    assert_eq!(
        (
            created.name.as_str(),
            created.nickname.as_str(),
            created.description.as_str()
        ),
        (name.as_str(), "First Name", "made by kcform")
    );
    assert_eq!(created.id.len(), 32, "{created:?}");

    // Get (Keystone's own answer, read with kcform's type), find by name, and the listing.
    let get = |expected_nickname: &str, expected_description: &str| {
        let answer = rt.block_on(keystone.call(
            Method::GET,
            &format!("/projects/{}", created.id),
            Some(&admin_token),
            None,
        ));
        assert_eq!(answer.status, 200);
        let raw = answer.json.expect("JSON");
        assert_eq!(raw["project"]["nickname"], expected_nickname, "{raw}");
        let read: wire::ProjectBody = serde_json::from_value(raw).expect("kcform reads it");
        assert_eq!(read.project.nickname, expected_nickname);
        assert_eq!(read.project.description, expected_description);
    };
    get("First Name", "made by kcform");
    let found = rt
        .block_on(api.find_project(&name))
        .expect("the listing by name")
        .expect("the project is listed");
    assert_eq!(found, created);
    let all = rt.block_on(api.list_projects()).expect("the listing");
    assert!(all.contains(&created), "{all:?}");
    let bootstrap = all
        .iter()
        .find(|p| p.name == "admin")
        .expect("project `admin`");
    assert_eq!(
        bootstrap.nickname, "",
        "a project without a nickname reads as an empty one"
    );

    // Update: the nickname and description change, the rest stays.
    let updated = rt
        .block_on(api.update_project(&created.id, "Second Name", "changed"))
        .expect("the project updated");
    assert_eq!(
        (
            updated.id.as_str(),
            updated.name.as_str(),
            updated.nickname.as_str(),
            updated.description.as_str()
        ),
        (created.id.as_str(), name.as_str(), "Second Name", "changed")
    );
    get("Second Name", "changed");
    let found = rt.block_on(api.find_project(&name)).unwrap().unwrap();
    assert_eq!(
        (found.nickname.as_str(), found.description.as_str()),
        ("Second Name", "changed")
    );

    // A name taken: Keystone's 409, as kcform's API answers it.
    let taken = rt
        .block_on(api.create_project(&name, "Again", ""))
        .unwrap_err();
    assert!(
        matches!(taken, CloudError::Api { status: 409, .. }),
        "{taken}"
    );
    assert_readable(&taken.to_string());
}

#[test]
fn a_revoked_token_is_replaced_and_the_call_goes_through() {
    let Some(keystone) = KeystoneServer::from_env("kcform's client against Keystone") else {
        return;
    };
    let rt = runtime();
    let (admin_token, admin_project) = rt.block_on(admin(&keystone));
    let lead = rt.block_on(person(&keystone, &admin_token, &admin_project, "admin"));
    let session = client(&keystone, &lead.key.id, &lead.key.secret);
    let first = rt.block_on(session.whoami()).expect("a token");
    // Disabling the user revokes every token it holds; its key survives, and works again once
    // the user is enabled. (Keystone's revocation has a resolution of one second: a token
    // issued in the same second as the revocation would be revoked too.)
    rt.block_on(keystone.set_user_enabled(&admin_token, &lead.user.id, false));
    rt.block_on(keystone.set_user_enabled(&admin_token, &lead.user.id, true));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // The cached token answers 401; the client issues a new one and the call succeeds.
    let projects = rt
        .block_on(session.list_projects())
        .expect("the call goes through with a new token");
    assert!(projects.iter().any(|p| p.name == "admin"), "{projects:?}");
    let second = rt.block_on(session.whoami()).expect("the new token");
    assert_ne!(
        first.issued_at, second.issued_at,
        "the client holds a token issued after the revocation"
    );
}
