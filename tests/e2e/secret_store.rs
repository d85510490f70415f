//! The secrets-command recipe of the README, run as written against a real secret store
//! client: the AWS CLI (`aws`, from PyPI) storing each new key's secret in moto's Secrets
//! Manager (the S3-compatible server `.ci/run` starts also serves Secrets Manager, at
//! `KCFORM_TEST_S3_ENDPOINT`). The stored secret must authenticate; a key whose store entry
//! does not exist must be deleted again and reported; a rotated key's new secret replaces the
//! stored one. Nothing of a secret reaches kcform's output or files.
//!
//! Without `aws` or the server the test is skipped with a note outside CI and fails under
//! `CI=true` (`.ci/run` installs and starts both).

use std::io::Write as _;
use std::process::Command;

use crate::harness::{World, issue_token};

/// The `[secrets]` table of the README's recipe, between its marker and the end of its block.
fn readme_recipe() -> String {
    let readme = include_str!("../../README.md");
    let (_, after) = readme
        .split_once("<!-- secrets-command-recipe -->\n```toml\n")
        .expect("README.md has the secrets-command recipe");
    let (recipe, _) = after.split_once("```").expect("the recipe's block ends");
    recipe.to_string()
}

/// The store's address, or `None` (with a note) when this machine cannot run the test.
fn store() -> Option<String> {
    let endpoint = std::env::var("KCFORM_TEST_S3_ENDPOINT").ok();
    let aws = Command::new("aws").arg("--version").output().is_ok();
    match (endpoint, aws) {
        (Some(endpoint), true) => Some(endpoint),
        (endpoint, aws) => {
            let why = if endpoint.is_none() {
                "KCFORM_TEST_S3_ENDPOINT is not set"
            } else {
                "the `aws` command is not installed"
            };
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but {why}: .ci/run installs awscli and starts moto (aws found: {aws})"
            );
            // Straight to the process's stderr: libtest captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "note: skipping the secret-store recipe test: {why}"
            );
            None
        }
    }
}

/// The AWS CLI against the test store, with throwaway credentials.
fn aws(endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new("aws")
        .args(args)
        .envs(aws_env(endpoint))
        .output()
        .unwrap()
}

fn aws_env(endpoint: &str) -> [(&'static str, String); 5] {
    [
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_CONFIG_FILE", "/dev/null".to_string()),
    ]
}

/// The JSON document stored under `name`.
fn stored(endpoint: &str, name: &str) -> serde_json::Value {
    let out = aws(
        endpoint,
        &[
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            name,
            "--query",
            "SecretString",
            "--output",
            "text",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the stored secret is kcform's JSON")
}

#[test]
fn the_readme_secrets_manager_recipe_stores_secrets_that_authenticate() {
    let Some(endpoint) = store() else {
        return;
    };
    // moto keeps its secrets for the whole CI run: a project name of this run's own.
    let project = format!("ss{:08x}", rand::random::<u32>());
    let config = |rotation: &str| {
        format!(
            "{}\n[project.{project}]\nnickname = \"Store\"\n\n[project.{project}.service_account.etl.access_key.ci]\nrotation = \"{rotation}\"\n\n[project.{project}.service_account.etl.access_key.backup]\n",
            readme_recipe()
        )
    };
    let name = |key: &str| format!("kcform/{project}/etl/{key}");
    // The recipe's one-time setup: the store entry of `ci` only.
    let made = aws(
        &endpoint,
        &["secretsmanager", "create-secret", "--name", &name("ci")],
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let mut world = World::new();
    for (variable, value) in aws_env(&endpoint) {
        world.set_env(variable, &value);
    }
    world.write("main.toml", &config("1"));
    // `backup` has no store entry: its delivery fails, the key is deleted again and reported.
    let failed = world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(1);
    assert!(
        failed
            .stderr
            .contains(&format!("access_key.{project}/etl/backup")),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("ResourceNotFoundException"),
        "{}",
        failed.stderr
    );
    let live: Vec<String> = world.keys(&project).into_iter().map(|k| k.name).collect();
    assert_eq!(live, ["ci"], "the undelivered key was deleted again");

    let ci = stored(&endpoint, &name("ci"));
    assert_eq!(ci["address"], format!("access_key.{project}/etl/ci"));
    assert_eq!(ci["access_key"], "ci");
    let (id, secret) = (
        ci["access_key_id"].as_str().unwrap().to_string(),
        ci["secret_access_key"].as_str().unwrap().to_string(),
    );
    world.watch_secret(&secret);
    assert_eq!(issue_token(&world.endpoint(), &id, &secret), 201);

    // The entry exists now: the next apply delivers `backup`.
    let made = aws(
        &endpoint,
        &["secretsmanager", "create-secret", "--name", &name("backup")],
    );
    assert!(made.status.success());
    world.apply();
    let backup = stored(&endpoint, &name("backup"));
    let backup_secret = backup["secret_access_key"].as_str().unwrap().to_string();
    world.watch_secret(&backup_secret);
    assert_eq!(
        issue_token(
            &world.endpoint(),
            backup["access_key_id"].as_str().unwrap(),
            &backup_secret
        ),
        201
    );

    // A rotation puts the new key's secret in the same entry and deletes the old key.
    world.write("main.toml", &config("2"));
    world.apply();
    let rotated = stored(&endpoint, &name("ci"));
    let new_secret = rotated["secret_access_key"].as_str().unwrap().to_string();
    world.watch_secret(&new_secret);
    assert_ne!(rotated["access_key_id"], ci["access_key_id"]);
    assert_eq!(
        issue_token(
            &world.endpoint(),
            rotated["access_key_id"].as_str().unwrap(),
            &new_secret
        ),
        201
    );
    assert_eq!(
        issue_token(&world.endpoint(), &id, &secret),
        404,
        "old key deleted"
    );
    world.assert_converged();
}

#[test]
fn a_secrets_command_that_cannot_start_deletes_the_new_key_and_says_so() {
    let mut world = World::new();
    world.write(
        "main.toml",
        "[secrets]\ncommand = [\"kcform-no-such-secret-store\", \"{address}\"]\n\n[project.analytics]\nnickname = \"A\"\n\n[project.analytics.service_account.etl.access_key.ci]\n",
    );
    let failed = world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(1);
    assert!(
        failed.stderr.contains("access_key.analytics/etl/ci")
            && failed.stderr.contains("could not start"),
        "{}",
        failed.stderr
    );
    assert!(
        world.keys("analytics").is_empty(),
        "the new key was deleted again"
    );
    // With a sink that works, the key is made and delivered, and the state converges.
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"A\"\n\n[project.analytics.service_account.etl.access_key.ci]\n",
    );
    world.apply();
    assert_eq!(world.keys("analytics").len(), 1);
    world.assert_converged();
}
