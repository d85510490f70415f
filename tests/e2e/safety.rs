//! Refusals: protect, limits, configuration errors, unconfirmed applies — each changes nothing.

use kcform::model::Status;

use crate::harness::World;

const ACCOUNT: &str = e2e_config!("protected-account");

#[test]
fn a_protected_account_whose_table_is_removed_is_not_deleted() {
    let mut world = World::new();
    world.write(
        "main.toml",
        &format!("{ACCOUNT}\n[project.analytics.service_account.etl.access_key.ci]\n"),
    );
    world.apply();
    // The table goes; the record of the last apply still says the account is protected.
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"Analytics\"\n",
    );
    for args in [&["plan", "."][..], &["apply", "--auto-approve", "."][..]] {
        let refused = world.kcform(args).expect_code(5);
        assert!(
            refused.stderr.contains(
                "service_account.analytics/etl is protected: it was last applied with `protect = true`"
            ),
            "{}",
            refused.stderr
        );
        assert!(!refused.stdout.contains("No changes"), "{}", refused.stdout);
    }
    assert_eq!(world.accounts("analytics").len(), 1, "nothing was deleted");
    // The way out: apply `protect = false` first, then remove the table.
    world.write(
        "main.toml",
        &format!(
            "{}\n[project.analytics.service_account.etl.access_key.ci]\n",
            ACCOUNT.replace("protect = true", "protect = false")
        ),
    );
    world.apply();
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"Analytics\"\n",
    );
    world.apply();
    assert!(world.accounts("analytics").is_empty());
    world.assert_converged();
}

#[test]
fn a_protected_account_is_not_deactivated() {
    let mut world = World::new();
    world.write("main.toml", ACCOUNT);
    world.apply();
    world.write(
        "main.toml",
        &ACCOUNT.replace("protect = true", "protect = true\nstatus = \"inactive\""),
    );
    let refused = world.kcform(&["plan", "."]).expect_code(5);
    assert!(
        refused
            .stderr
            .contains("service_account.analytics/etl is protected"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("main.toml:4:1"),
        "{}",
        refused.stderr
    );
    world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(5);
    assert_eq!(world.accounts("analytics")[0].status, "active");
    world.write("main.toml", ACCOUNT);
    world.assert_converged();
}

#[test]
fn the_hundred_and_first_service_account_is_refused_and_nothing_is_applied() {
    let mut world = World::new();
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"Analytics\"\nignore = [\"bulk-*\"]\n",
    );
    world.apply();
    let project_id = world.project_id("analytics");
    let api = world.api.clone();
    world.block_on(async {
        let creates = (0..100).map(|i| {
            let api = api.clone();
            let project_id = project_id.clone();
            async move {
                api.create_service_account(&project_id, &format!("bulk-{i:03}"), Status::Inactive)
                    .await
            }
        });
        for result in futures_util::future::join_all(creates).await {
            result.unwrap();
        }
    });
    // The emulator itself refuses a 101st account …
    let direct = world.block_on(api.create_service_account(&project_id, "direct", Status::Active));
    let message = direct.unwrap_err().to_string();
    assert!(message.contains("400"), "{message}");

    // … and kcform refuses at plan time, before any call that changes something.
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"Analytics (renamed)\"\nignore = [\"bulk-*\"]\n\n[project.analytics.service_account.one-more]\n",
    );
    let refused = world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(1);
    assert!(
        refused.stderr.contains("would have 101 service accounts"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("at most 100"), "{}", refused.stderr);
    let projects = world.block_on(world.api.list_projects()).unwrap();
    assert_eq!(projects[0].nickname, "Analytics", "nothing may be applied");
    assert_eq!(world.accounts("analytics").len(), 100);

    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"Analytics\"\nignore = [\"bulk-*\"]\n",
    );
    world.assert_converged();
}

#[test]
fn a_third_key_is_a_configuration_error_with_its_location() {
    let mut world = World::new();
    let text = "[project.analytics]\nnickname = \"Analytics\"\n\n[project.analytics.service_account.etl.access_key.a]\n[project.analytics.service_account.etl.access_key.b]\n[project.analytics.service_account.etl.access_key.c]\n";
    world.write("main.toml", text);
    for command in ["validate", "plan"] {
        let refused = world.kcform(&[command, "."]).expect_code(1);
        assert!(
            refused.stderr.contains("main.toml:6:"),
            "{}",
            refused.stderr
        );
        assert!(refused.stderr.contains("at most 2"), "{}", refused.stderr);
    }
    let refused = world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(1);
    assert!(refused.stderr.contains("main.toml:6:"));
    let projects = world.block_on(world.api.list_projects()).unwrap();
    assert!(projects.is_empty(), "nothing may be applied");
    world.write(
        "main.toml",
        &text.replace("[project.analytics.service_account.etl.access_key.c]\n", ""),
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn every_configuration_error_is_reported_at_once_without_touching_the_api() {
    let mut world = World::new();
    world.write(
        "main.toml",
        "[project.analytics]\nnicknme = \"Analytics\"\n\n[project.analytics.service_account.Bad_Name]\n",
    );
    let refused = world.kcform(&["plan", "."]).expect_code(1);
    assert!(
        refused.stderr.contains("main.toml:2:1"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("did you mean `nickname`"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("main.toml:4:"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("Bad_Name"), "{}", refused.stderr);
    let projects = world.block_on(world.api.list_projects()).unwrap();
    assert!(projects.is_empty());
}

#[test]
fn apply_without_a_terminal_refuses_instead_of_waiting() {
    let mut world = World::new();
    world.write("main.toml", ACCOUNT);
    let refused = world.kcform(&["apply", "."]).expect_code(1);
    assert!(
        refused.stderr.contains("--auto-approve"),
        "{}",
        refused.stderr
    );
    assert!(
        world
            .block_on(world.api.list_projects())
            .unwrap()
            .is_empty()
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn detailed_exitcode_tells_changes_from_none() {
    let mut world = World::new();
    world.write("main.toml", ACCOUNT);
    world
        .kcform(&["plan", "--detailed-exitcode", "."])
        .expect_code(2);
    world.apply();
    world
        .kcform(&["plan", "--detailed-exitcode", "."])
        .expect_code(0);
    world.assert_converged();
}

#[test]
fn a_target_or_exclude_that_names_nothing_is_an_error_not_no_changes() {
    let mut world = World::new();
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"Analytics\"\n\n[project.analytics.service_account.etl]\n",
    );
    world.apply();
    for (flag, command) in [
        ("--target", "plan"),
        ("--exclude", "plan"),
        ("--target", "apply"),
    ] {
        let mut args = vec![command, flag, "service_account.analytics/nope", "."];
        if command == "apply" {
            args.insert(1, "--auto-approve");
        }
        let out = world.kcform(&args).expect_code(1);
        assert!(
            out.stderr.contains(&format!(
                "{flag} service_account.analytics/nope matches nothing declared or live; closest: service_account.analytics/etl"
            )),
            "{}",
            out.stderr
        );
        assert!(!out.stdout.contains("No changes"), "{}", out.stdout);
    }
    // A live object that is no longer declared can still be targeted (its delete).
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"Analytics\"\n",
    );
    let out = world
        .kcform(&["plan", "--target", "service_account.analytics/etl", "."])
        .expect_code(0);
    assert!(
        out.stdout.contains("0 to deactivate, 1 to destroy."),
        "{}",
        out.stdout
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn a_targeted_apply_changes_only_the_target_and_its_parents() {
    let mut world = World::new();
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"Analytics\"\n\n[project.analytics.service_account.etl.access_key.ci]\n\n[project.analytics.service_account.other]\n",
    );
    world
        .kcform(&[
            "apply",
            "--auto-approve",
            "--target",
            "access_key.analytics/etl/ci",
            ".",
        ])
        .expect_code(0);
    let names: Vec<String> = world
        .accounts("analytics")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, vec!["etl"]);
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to deactivate, 0 to destroy.")
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn a_project_no_longer_declared_is_named_as_left_unmanaged() {
    let mut world = World::new();
    let both = "[project.analytics]\nnickname = \"Analytics\"\n\n[project.legacy]\nnickname = \"Legacy\"\n\n[project.legacy.service_account.etl.access_key.ci]\n";
    world.write("main.toml", both);
    world.apply();
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"Analytics\"\n",
    );
    let plan = world.kcform(&["plan", "."]).expect_code(0);
    assert!(
        plan.stdout
            .contains("Note: Projects applied before are no longer declared"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "# project.legacy: it and its 1 service account (etl) and 1 access key are left as they are and no longer managed by kcform"
        ),
        "{}",
        plan.stdout
    );
    let json = world
        .kcform(&["plan", "--format", "json", "."])
        .expect_code(0);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["unmanaged"][0]["address"], "project.legacy");
    // Nothing in it is deleted; the apply acknowledges and forgets it.
    world.apply();
    assert_eq!(world.accounts("legacy").len(), 1);
    let again = world.plan();
    assert!(
        !again.stdout.contains("no longer declared"),
        "{}",
        again.stdout
    );
    world.assert_converged();
}
