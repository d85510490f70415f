//! Projects and service accounts: create from empty, update, deactivate/activate, authority.

use kcform::model::Status;

use crate::harness::{World, issue_token};

const BASE: &str = e2e_config!("etl-runner");

#[test]
fn create_from_empty_then_no_changes_and_the_key_authenticates() {
    let mut world = World::new();
    world.write("main.toml", BASE);
    let plan = world.plan();
    assert!(plan.stdout.contains("# project.analytics will be created"));
    assert!(
        plan.stdout
            .contains("# access_key.analytics/etl-runner/ci will be created")
    );
    assert!(
        plan.stdout
            .ends_with("Plan: 3 to add, 0 to change, 0 to deactivate, 0 to destroy.\n")
    );

    let applied = world.apply();
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 3 added, 0 changed, 0 deactivated, 0 destroyed.")
    );
    world.assert_converged();

    let file = world.secret_file("analytics", "etl-runner", "ci");
    let id = file["access_key_id"].as_str().unwrap();
    let secret = file["secret_access_key"].as_str().unwrap();
    assert_eq!(file["project"], "analytics");
    let project_id = world.project_id("analytics");
    assert_eq!(
        file["service_account_id"],
        format!("etl-runner-{project_id}@kc.serviceaccount.com")
    );
    assert_eq!(issue_token(&world.endpoint(), id, secret), 201);
    assert_eq!(issue_token(&world.endpoint(), id, "wrong"), 401);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let path = world.secret_path("analytics", "etl-runner", "ci");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(world.secrets_delivered(), 1);
}

#[test]
fn a_nickname_change_updates_in_place() {
    let mut world = World::new();
    world.write("main.toml", BASE);
    world.apply();
    world.write(
        "main.toml",
        &BASE.replace("\"Analytics\"", "\"Analytics Platform\""),
    );
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("# project.analytics will be updated in-place")
    );
    assert!(
        plan.stdout
            .contains(r#"~ nickname    = "Analytics" -> "Analytics Platform""#),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to deactivate, 0 to destroy.")
    );
    world.apply();
    world.assert_converged();
    let projects = world.block_on(world.api.list_projects()).unwrap();
    assert_eq!(projects[0].nickname, "Analytics Platform");
}

#[test]
fn deactivate_then_activate_a_service_account() {
    let mut world = World::new();
    world.write("main.toml", BASE);
    world.apply();

    // An inactive account may not declare keys: its keys go first, then it is deactivated.
    let inactive = r#"
[project.analytics]
nickname = "Analytics"
description = "Data platform"

[project.analytics.service_account.etl-runner]
status = "inactive"
"#;
    world.write("main.toml", inactive);
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("# service_account.analytics/etl-runner will be deactivated")
    );
    assert!(
        plan.stdout
            .contains("# access_key.analytics/etl-runner/ci will be destroyed")
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 1 to deactivate, 1 to destroy.")
    );
    let applied = world.apply();
    let key_done = applied
        .stderr
        .find("access_key.analytics/etl-runner/ci: Destruction complete")
        .unwrap();
    let account_done = applied
        .stderr
        .find("service_account.analytics/etl-runner: Deactivation complete")
        .unwrap();
    assert!(key_done < account_done, "{}", applied.stderr);
    assert!(
        !world.secret_path("analytics", "etl-runner", "ci").exists(),
        "the deleted key's secret file must go"
    );
    world.assert_converged();
    assert_eq!(world.accounts("analytics")[0].status, "inactive");

    world.write("main.toml", BASE);
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("# service_account.analytics/etl-runner will be activated")
    );
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 1 to change, 0 to deactivate, 0 to destroy.")
    );
    world.apply();
    world.assert_converged();
    assert_eq!(world.accounts("analytics")[0].status, "active");
}

#[test]
fn keys_expired_by_an_outside_deactivation_are_replaced_after_activation() {
    let mut world = World::new();
    world.write("main.toml", BASE);
    world.apply();
    let project_id = world.project_id("analytics");
    let account = world.accounts("analytics").remove(0);
    world
        .block_on(
            world
                .api
                .set_service_account_status(&project_id, &account.id, Status::Inactive),
        )
        .unwrap();
    let old = world.secret_file("analytics", "etl-runner", "ci");
    let old_id = old["access_key_id"].as_str().unwrap().to_string();
    assert_eq!(
        issue_token(
            &world.endpoint(),
            &old_id,
            old["secret_access_key"].as_str().unwrap()
        ),
        401,
        "a deactivated account's key must not issue tokens"
    );

    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("# service_account.analytics/etl-runner will be activated")
    );
    assert!(
        plan.stdout
            .contains("# access_key.analytics/etl-runner/ci must be replaced")
    );
    assert!(plan.stdout.contains("key is expired"), "{}", plan.stdout);
    world.apply();
    world.assert_converged();
    let new = world.secret_file("analytics", "etl-runner", "ci");
    assert_ne!(new["access_key_id"], old_id);
    assert_eq!(world.token_status(&new), 201);
}

#[test]
fn an_undeclared_service_account_is_deleted_after_its_keys() {
    let mut world = World::new();
    world.write("main.toml", BASE);
    world.apply();
    let project_id = world.project_id("analytics");
    let stray = world
        .block_on(
            world
                .api
                .create_service_account(&project_id, "stray", Status::Active),
        )
        .unwrap();
    let key = world
        .block_on(world.api.create_access_key(&stray.id, "made-by-hand", ""))
        .unwrap();
    drop(key);

    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("# service_account.analytics/stray will be destroyed")
    );
    assert!(
        plan.stdout
            .contains("# access_key.analytics/stray/made-by-hand will be destroyed")
    );
    assert!(
        plan.stdout
            .contains("# (not declared in the configuration)")
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to deactivate, 2 to destroy.")
    );
    let applied = world.apply();
    let key_done = applied
        .stderr
        .find("access_key.analytics/stray/made-by-hand: Destruction complete")
        .unwrap();
    let account_done = applied
        .stderr
        .find("service_account.analytics/stray: Destruction complete")
        .unwrap();
    assert!(key_done < account_done);
    world.assert_converged();
    assert_eq!(world.accounts("analytics").len(), 1);
}

#[test]
fn ignored_service_accounts_are_left_alone() {
    let mut world = World::new();
    world.write("main.toml", BASE);
    world.apply();
    let project_id = world.project_id("analytics");
    world
        .block_on(
            world
                .api
                .create_service_account(&project_id, "legacy-batch", Status::Active),
        )
        .unwrap();
    world.write(
        "main.toml",
        &BASE.replace(
            "description = \"Data platform\"",
            "description = \"Data platform\"\nignore = [\"legacy-*\"]",
        ),
    );
    world.assert_converged();
    assert_eq!(world.accounts("analytics").len(), 2);
}

#[test]
fn a_directory_of_files_is_merged() {
    let mut world = World::new();
    world.write(
        "10-projects.toml",
        "[project.analytics]\nnickname = \"Analytics\"\n\n[project.web]\nnickname = \"Web\"\n",
    );
    world.write(
        "20-accounts.toml",
        "[project.analytics.service_account.etl]\n\n[project.web.service_account.deployer.access_key.ci]\n",
    );
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("Plan: 5 to add, 0 to change, 0 to deactivate, 0 to destroy."),
        "{}",
        plan.stdout
    );
    world.apply();
    world.assert_converged();
    assert_eq!(world.accounts("web")[0].name, "deployer");
}
