//! Permissions before apply: `plan` run with a credential that lacks roles lists what it cannot
//! do and the role each operation needs; `apply` refuses before changing anything; a
//! credential that cannot even read a declared project gets an error naming it. Credentials
//! are people from `POST /_emulator/users` and a service-account key kcform created.

use crate::harness::World;

const BASE: &str = e2e_config!("two-projects");

/// BASE plus a new account with a key, and a new nickname for `analytics`.
const CHANGED: &str = e2e_config!("two-projects-changed");

/// A person with roles, created through the emulator's control route: (key ID, secret).
fn person(world: &World, body: serde_json::Value) -> (String, String) {
    let url = format!("{}/_emulator/users", world.endpoint());
    let answer: serde_json::Value = world.block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        response.json().await.unwrap()
    });
    let key = &answer["access_key"];
    (
        key["id"].as_str().unwrap().to_string(),
        key["secret"].as_str().unwrap().to_string(),
    )
}

/// The key kcform created for `analytics/etl/ci`: (key ID, secret).
fn service_account_key(world: &World) -> (String, String) {
    let file = world.secret_file("analytics", "etl", "ci");
    (
        file["access_key_id"].as_str().unwrap().to_string(),
        file["secret_access_key"].as_str().unwrap().to_string(),
    )
}

/// Applies BASE as Org Admin, then switches the configuration to CHANGED.
fn world_with_pending_changes() -> World {
    let mut world = World::new();
    world.write("main.toml", BASE);
    world.apply();
    world.write("main.toml", CHANGED);
    world
}

/// Asserts that the Org Admin still sees exactly CHANGED's pending changes: nothing was done.
fn assert_nothing_changed(world: &mut World) {
    let names: Vec<String> = world
        .accounts("analytics")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["etl"]);
    let plan = world.plan();
    assert!(
        plan.stdout
            .ends_with("Plan: 2 to add, 1 to change, 0 to deactivate, 0 to destroy.\n"),
        "{}",
        plan.stdout
    );
}

#[test]
fn a_project_admin_of_another_project_is_shown_what_it_cannot_do_and_apply_changes_nothing() {
    let mut world = world_with_pending_changes();
    let (id, secret) = person(
        &world,
        serde_json::json!({"name": "lead", "project_roles": {"other": "project-admin"}}),
    );
    let plan = world.kcform_as(&["plan", "."], &id, &secret).expect_code(0);
    // `analytics` is invisible to this credential, so it looks absent and is planned anew.
    assert!(
        plan.stdout.contains(
            "The credential cannot perform 5 of these 5 operations; it is user `lead` \
             (project-admin of `other`):\n  \
             - create project.analytics: needs Org Admin\n  \
             - create service_account.analytics/etl: needs Org Admin or Project Admin of `analytics`\n"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("- create access_key.analytics/loader/main: needs Org Admin or Project Admin of `analytics`"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Project(s) `analytics` cannot be seen by this credential"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Note: `kcform apply` with this credential refuses to start"),
        "{}",
        plan.stdout
    );

    let apply = world
        .kcform_as(&["apply", "--auto-approve", "."], &id, &secret)
        .expect_code(1);
    assert!(
        apply.stderr.contains(
            "apply refused before any change: the credential, user `lead` (project-admin of \
             `other`), cannot perform 5 of the plan's operations:"
        ),
        "{}",
        apply.stderr
    );
    assert!(
        apply.stderr.contains(
            "  - create service_account.analytics/loader: needs Org Admin or Project Admin of `analytics`"
        ),
        "{}",
        apply.stderr
    );
    assert!(!apply.stdout.contains("Apply complete"), "{}", apply.stdout);
    assert_nothing_changed(&mut world);
    world.apply();
    world.assert_converged();
}

#[test]
fn a_project_admin_is_refused_the_project_edit_and_may_apply_the_rest_with_target() {
    let mut world = world_with_pending_changes();
    let (id, secret) = person(
        &world,
        serde_json::json!({"name": "lead", "project_roles":
            {"analytics": "project-admin", "other": "project-admin"}}),
    );
    let plan = world.kcform_as(&["plan", "."], &id, &secret).expect_code(0);
    assert!(
        plan.stdout.contains(
            "The credential cannot perform 1 of these 3 operations; it is user `lead` \
             (project-admin of `analytics`, project-admin of `other`):\n  \
             - update project.analytics: needs Org Admin\n"
        ),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("cannot be seen"), "{}", plan.stdout);

    let apply = world
        .kcform_as(&["apply", "--auto-approve", "."], &id, &secret)
        .expect_code(1);
    assert!(
        apply
            .stderr
            .contains("  - update project.analytics: needs Org Admin"),
        "{}",
        apply.stderr
    );
    assert_nothing_changed(&mut world);

    // The operations it may perform go through when targeted.
    world
        .kcform_as(
            &[
                "apply",
                "--auto-approve",
                "--target",
                "service_account.analytics/loader",
                ".",
            ],
            &id,
            &secret,
        )
        .expect_code(0);
    assert!(
        world
            .secret_file("analytics", "loader", "main")
            .get("secret_access_key")
            .is_some()
    );
    let rest = world.plan();
    assert!(
        rest.stdout
            .ends_with("Plan: 0 to add, 1 to change, 0 to deactivate, 0 to destroy.\n"),
        "{}",
        rest.stdout
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn an_org_reader_is_refused_every_change() {
    let mut world = world_with_pending_changes();
    let (id, secret) = person(
        &world,
        serde_json::json!({"name": "auditor", "org_role": "org-reader"}),
    );
    let plan = world.kcform_as(&["plan", "."], &id, &secret).expect_code(0);
    assert!(
        plan.stdout
            .contains("The credential cannot perform 3 of these 3 operations; it is user `auditor` (org-reader):"),
        "{}",
        plan.stdout
    );
    let json = world
        .kcform_as(&["plan", "--format", "json", "."], &id, &secret)
        .expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["denied"].as_array().unwrap().len(), 3, "{json}");
    let markdown = world
        .kcform_as(&["plan", "--format", "markdown", "."], &id, &secret)
        .expect_code(0);
    assert!(
        markdown
            .stdout
            .contains("> The credential cannot perform 3 of these 3 operation(s)"),
        "{}",
        markdown.stdout
    );
    world
        .kcform_as(&["apply", "--auto-approve", "."], &id, &secret)
        .expect_code(1);
    assert_nothing_changed(&mut world);
    // With nothing to do, a read-only credential plans cleanly.
    world.write("main.toml", BASE);
    let clean = world.kcform_as(&["plan", "."], &id, &secret).expect_code(0);
    assert_eq!(
        clean.stdout.trim(),
        "No changes. Remote objects match the configuration."
    );
}

#[test]
fn credentials_that_cannot_read_a_declared_project_get_an_error_naming_it() {
    let mut world = world_with_pending_changes();
    let (sa_id, sa_secret) = service_account_key(&world);
    let (member_id, member_secret) = person(
        &world,
        serde_json::json!({"name": "dev", "project_roles": {"analytics": "project-member"}}),
    );
    for (id, secret, who) in [
        (
            sa_id.as_str(),
            sa_secret.as_str(),
            "service account `etl` (project-member of `analytics`)",
        ),
        (
            member_id.as_str(),
            member_secret.as_str(),
            "user `dev` (project-member of `analytics`)",
        ),
    ] {
        for command in [&["plan", "."][..], &["apply", "--auto-approve", "."][..]] {
            let run = world.kcform_as(command, id, secret).expect_code(1);
            assert!(
                run.stderr.contains(&format!(
                    "the credential, {who}, cannot read the service accounts and access keys \
                     of project(s) `analytics`"
                )) && run
                    .stderr
                    .contains("needs Org Admin, Org Reader or Project Admin of that project"),
                "{command:?}: {}",
                run.stderr
            );
            assert!(!run.stderr.contains("403"), "no raw 403: {}", run.stderr);
        }
    }
    assert_nothing_changed(&mut world);
}

#[test]
fn a_service_accounts_own_key_is_shown_what_it_cannot_do_and_apply_changes_nothing() {
    let mut world = World::new();
    world.write("main.toml", BASE);
    world.apply();
    let (id, secret) = service_account_key(&world);
    world.write("main.toml", e2e_config!("new-project-with-key"));
    let plan = world.kcform_as(&["plan", "."], &id, &secret).expect_code(0);
    for line in [
        "The credential cannot perform 3 of these 3 operations; it is service account `etl` \
         (project-member of `analytics`):",
        "  - create project.newproj: needs Org Admin",
        "  - create service_account.newproj/bot: a service account's own token can never create \
         service accounts; this needs a person's credential with Org Admin or Project Admin of \
         `newproj`",
        "  - create access_key.newproj/bot/main: a service account's own token can never create \
         access keys",
    ] {
        assert!(plan.stdout.contains(line), "{line}\n{}", plan.stdout);
    }
    let apply = world
        .kcform_as(&["apply", "--auto-approve", "."], &id, &secret)
        .expect_code(1);
    assert!(
        apply.stderr.contains("apply refused before any change")
            && apply
                .stderr
                .contains("  - create access_key.newproj/bot/main: a service account's own token"),
        "{}",
        apply.stderr
    );
    let projects = world.block_on(world.api.list_projects()).unwrap();
    assert!(projects.iter().all(|p| p.name != "newproj"));
    // The key still works: the refused apply did nothing to it either.
    assert_eq!(
        crate::harness::issue_token(&world.endpoint(), &id, &secret),
        201
    );
    // The Org Admin applies what the service account could not, and the plan converges.
    world.apply();
    world.assert_converged();
}

/// A person's token carries `project` like every Keystone token issued from an application
/// credential: a Project Admin's own key is still a person's, and manages its project's
/// service accounts and keys. (Told apart by its user, never by `project`.)
#[test]
fn a_project_admins_own_key_scoped_to_its_project_is_a_persons_and_applies() {
    let mut world = world_with_pending_changes();
    let (id, secret) = person(
        &world,
        serde_json::json!({"name": "lead", "project_roles": {"analytics": "project-admin"}}),
    );
    let token = world.block_on(async {
        let client = kcform::cloud::Client::new(
            &world.endpoint(),
            kcform::cloud::Credential {
                id: id.clone(),
                secret: kcform::secret::Secret::new(secret.clone()),
            },
            &kcform::cloud::ClientOptions::default(),
        )
        .unwrap();
        client.whoami().await.unwrap()
    });
    assert_eq!(
        token.project.map(|p| p.name).as_deref(),
        Some("analytics"),
        "the person's key is bound to its project"
    );
    let plan = world.kcform_as(&["plan", "."], &id, &secret).expect_code(0);
    assert!(
        !plan.stdout.contains("service account's own token"),
        "{}",
        plan.stdout
    );
    world
        .kcform_as(
            &[
                "apply",
                "--auto-approve",
                "--target",
                "service_account.analytics/loader",
                ".",
            ],
            &id,
            &secret,
        )
        .expect_code(0);
    world.assert_delivered("analytics", &["etl".into(), "loader".into()], 1);
    world.write("main.toml", BASE);
    world.apply();
    world.assert_converged();
}
