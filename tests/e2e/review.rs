//! Plan review in pull requests and CI: saved plans bound to the live objects, checksum pins,
//! machine formats, the job summary, exclusion, the mass-deletion rail and drift notes.

use kcform::model::Status;

use crate::harness::World;

const CONFIG: &str = e2e_config!("analytics-etl-ci-described");

fn with_reporting(world: &mut World) -> String {
    world.write("main.toml", CONFIG);
    world.apply();
    let more = format!("{CONFIG}\n[project.analytics.service_account.reporting]\n");
    world.write("main.toml", &more);
    more
}

#[test]
fn a_saved_plan_applies_exactly_and_without_a_prompt() {
    let mut world = World::new();
    with_reporting(&mut world);
    let planned = world
        .kcform(&["plan", "--out", "review.plan", "."])
        .expect_code(0);
    assert!(
        planned.stderr.contains("kcform apply --plan review.plan"),
        "{}",
        planned.stderr
    );
    let saved = std::fs::read_to_string(world.dir.path().join("review.plan")).unwrap();
    assert!(saved.contains("\"checksum\": \"sha256:"));
    assert!(saved.contains("service_account.analytics/reporting"));

    let shown = world.kcform(&["show", "review.plan"]).expect_code(0);
    assert_eq!(
        shown.stdout, planned.stdout,
        "show renders the saved plan as plan did"
    );

    // No --auto-approve and no terminal: a saved plan is already approved.
    let applied = world
        .kcform(&["apply", "--plan", "review.plan", "."])
        .expect_code(0);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 1 added"),
        "{}",
        applied.stdout
    );
    world.assert_converged();
}

#[test]
fn a_stale_saved_plan_is_refused_and_nothing_is_applied() {
    let mut world = World::new();
    with_reporting(&mut world);
    world
        .kcform(&["plan", "--out", "review.plan", "."])
        .expect_code(0);
    let project_id = world.project_id("analytics");
    world
        .block_on(
            world
                .api
                .update_project(&project_id, "Changed meanwhile", ""),
        )
        .unwrap();
    let refused = world
        .kcform(&["apply", "--plan", "review.plan", "."])
        .expect_code(4);
    assert!(refused.stderr.contains("is stale"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("project.analytics changed"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        world.accounts("analytics").len(),
        1,
        "nothing may be applied"
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn an_edited_or_damaged_plan_file_is_refused() {
    let mut world = World::new();
    with_reporting(&mut world);
    world
        .kcform(&["plan", "--out", "review.plan", "."])
        .expect_code(0);
    let path = world.dir.path().join("review.plan");
    let original = std::fs::read_to_string(&path).unwrap();

    std::fs::write(&path, original.replace("\"reporting\"", "\"reportinh\"")).unwrap();
    let refused = world
        .kcform(&["apply", "--plan", "review.plan", "."])
        .expect_code(4);
    assert!(
        refused.stderr.contains("edited or damaged"),
        "{}",
        refused.stderr
    );
    world.kcform(&["show", "review.plan"]).expect_code(4);

    std::fs::write(&path, &original[..original.len() / 3]).unwrap();
    let refused = world
        .kcform(&["apply", "--plan", "review.plan", "."])
        .expect_code(4);
    assert!(refused.stderr.contains("damaged"), "{}", refused.stderr);
    assert_eq!(
        world.accounts("analytics").len(),
        1,
        "nothing may be applied"
    );

    // A configuration edited after the plan was made is refused too.
    std::fs::write(&path, &original).unwrap();
    world.write(
        "main.toml",
        &format!("{CONFIG}\n[project.analytics.service_account.other]\n"),
    );
    let refused = world
        .kcform(&["apply", "--plan", "review.plan", "."])
        .expect_code(4);
    assert!(
        refused.stderr.contains("configuration"),
        "{}",
        refused.stderr
    );
    assert_eq!(world.accounts("analytics").len(), 1);
    world.apply();
    world.assert_converged();
}

#[test]
fn a_checksum_pin_is_honoured() {
    let mut world = World::new();
    with_reporting(&mut world);
    let planned = world.kcform(&["plan", "."]).expect_code(0);
    let checksum = planned
        .stderr
        .lines()
        .find_map(|line| line.strip_prefix("Plan checksum: "))
        .unwrap_or_else(|| panic!("no checksum in {}", planned.stderr))
        .to_string();
    let last = if checksum.ends_with('0') { "1" } else { "0" };
    let wrong = format!("{}{last}", &checksum[..checksum.len() - 1]);
    assert_ne!(wrong, checksum);
    let refused = world
        .kcform(&["apply", "--auto-approve", "--expect-checksum", &wrong, "."])
        .expect_code(4);
    assert!(
        refused.stderr.contains("--expect-checksum"),
        "{}",
        refused.stderr
    );
    assert_eq!(world.accounts("analytics").len(), 1);
    world
        .kcform(&[
            "apply",
            "--auto-approve",
            "--expect-checksum",
            &checksum,
            ".",
        ])
        .expect_code(0);
    assert_eq!(world.accounts("analytics").len(), 2);
    world.assert_converged();
}

#[test]
fn machine_formats_and_the_job_summary() {
    let mut world = World::new();
    with_reporting(&mut world);
    let summary = world.dir.path().join("summary.md");
    world.set_env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    let planned = world
        .kcform(&["plan", "--json-out", "plan.json", "."])
        .expect_code(0);
    assert!(
        planned
            .stdout
            .contains("# service_account.analytics/reporting will be created")
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(world.dir.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(json["format_version"], "1.0");
    assert_eq!(json["summary"]["add"], 1);
    assert_eq!(json["destructive"], false);
    assert_eq!(
        json["changes"][0]["address"],
        "service_account.analytics/reporting"
    );
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(
        markdown.starts_with("### kcform plan: 1 to add"),
        "{markdown}"
    );
    assert!(markdown.contains("```diff"));

    for (format, probe) in [
        ("json", "\"format_version\": \"1.0\""),
        ("terraform-json", "\"format_version\": \"1.2\""),
        ("markdown", "<details><summary>Full plan</summary>"),
    ] {
        let run = world
            .kcform(&["plan", "--format", format, "."])
            .expect_code(0);
        assert!(run.stdout.contains(probe), "{format}: {}", run.stdout);
    }
    let tf = world
        .kcform(&["plan", "--format", "terraform-json", "."])
        .expect_code(0);
    let tf: serde_json::Value = serde_json::from_str(&tf.stdout).unwrap();
    let changes = tf["resource_changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["change"]["actions"] == serde_json::json!(["create"])
                && c["address"] == "kakaocloud_service_account.this[\"analytics/reporting\"]")
    );
    assert!(
        changes
            .iter()
            .any(|c| c["change"]["actions"] == serde_json::json!(["no-op"])
                && c["type"] == "kakaocloud_access_key")
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn an_excluded_address_and_what_depends_on_it_are_left_out() {
    let mut world = World::new();
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"A\"\n\n[project.analytics.service_account.etl.access_key.ci]\n\n[project.analytics.service_account.web]\n",
    );
    world
        .kcform(&[
            "apply",
            "--auto-approve",
            "--exclude",
            "service_account.analytics/etl",
            ".",
        ])
        .expect_code(0);
    let names: Vec<String> = world
        .accounts("analytics")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, vec!["web"]);
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("Plan: 2 to add, 0 to change, 0 to deactivate, 0 to destroy."),
        "{}",
        plan.stdout
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn mass_deletion_is_refused_without_force() {
    let mut world = World::new();
    let mut config = String::from("[project.analytics]\nnickname = \"A\"\n");
    for i in 0..10 {
        config.push_str(&format!("\n[project.analytics.service_account.sa{i}]\n"));
    }
    world.write("main.toml", &config);
    world.apply();
    let mut fewer = String::from("[project.analytics]\nnickname = \"A\"\n");
    for i in 0..6 {
        fewer.push_str(&format!("\n[project.analytics.service_account.sa{i}]\n"));
    }
    world.write("main.toml", &fewer);
    let plan = world
        .kcform(&["plan", "--format", "json", "."])
        .expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["destructive"], true);
    let refused = world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(5);
    assert!(
        refused
            .stderr
            .contains("deletes 4 of its 10 service accounts"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(
        world.accounts("analytics").len(),
        10,
        "nothing may be deleted"
    );
    world
        .kcform(&["apply", "--auto-approve", "--force", "."])
        .expect_code(0);
    assert_eq!(world.accounts("analytics").len(), 6);
    world.assert_converged();
}

#[test]
fn changes_made_outside_kcform_are_noted() {
    let mut world = World::new();
    world.write("main.toml", CONFIG);
    world.apply();
    let project_id = world.project_id("analytics");
    world
        .block_on(
            world
                .api
                .update_project(&project_id, "Renamed in the console", ""),
        )
        .unwrap();
    let account = world.accounts("analytics").remove(0);
    world
        .block_on(
            world
                .api
                .set_service_account_status(&project_id, &account.id, Status::Inactive),
        )
        .unwrap();
    let plan = world.plan();
    assert!(
        plan.stdout
            .starts_with("Note: Objects have changed outside of kcform since the last apply"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            r#"# project.analytics: nickname changed from "Analytics" to "Renamed in the console""#
        ),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains(
        r#"# service_account.analytics/etl: status changed from "active" to "inactive""#
    ));
    assert!(
        plan.stdout.contains(
            r#"# access_key.analytics/etl/ci: status changed from "active" to "expired""#
        )
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn an_object_deleted_outside_kcform_is_noted_until_the_next_apply() {
    let mut world = World::new();
    world.write("main.toml", CONFIG);
    world.apply();
    let key = world.keys("analytics").remove(0);
    world
        .block_on(world.api.delete_access_key(&key.user_id, &key.id))
        .unwrap();
    let without_key = CONFIG.replace(
        "\n[project.analytics.service_account.etl.access_key.ci]\ndescription = \"CI\"\n",
        "",
    );
    world.write("main.toml", &without_key);
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("# access_key.analytics/etl/ci: deleted outside kcform"),
        "{}",
        plan.stdout
    );
    // Nothing to do, but the apply records what it found: the note is not repeated forever.
    world.apply();
    world.assert_converged();
}

/// Rewrites the saved plan at `path` with `forge` applied to its plan, and recomputes its
/// checksum as anyone can (it is unkeyed): what an attacker who can swap the artifact does.
fn forge(world: &World, path: &str, forge: impl FnOnce(&mut kcform::plan::Plan)) {
    use kcform::plan::saved::SavedPlan;
    let path = world.dir.path().join(path);
    let saved = SavedPlan::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut plan = saved.plan.clone();
    forge(&mut plan);
    let forged = SavedPlan::new(
        plan,
        saved.config_digest.clone(),
        saved.projects.clone(),
        saved.fingerprints.clone(),
        saved.created_at.clone(),
    );
    assert_ne!(forged.checksum, saved.checksum);
    std::fs::write(&path, forged.to_json()).unwrap();
    SavedPlan::parse(&std::fs::read_to_string(&path).unwrap())
        .expect("the forged file passes the file's own checksum check");
}

/// A delete of a service account, with the remote IDs the attacker looked up.
fn delete_of(
    address: kcform::address::Address,
    account: &kcform::wire::ServiceAccount,
    project_id: &str,
) -> kcform::plan::Change {
    kcform::plan::Change {
        address,
        deposed: None,
        action: kcform::plan::Action::Delete,
        before: None,
        after: None,
        reasons: Vec::new(),
        remote: kcform::plan::RemoteIds {
            project_id: Some(project_id.to_string()),
            service_account_id: Some(account.id.clone()),
            service_account_email: Some(account.email.clone()),
            ..Default::default()
        },
    }
}

#[test]
fn a_forged_plan_that_deletes_a_declared_account_is_refused() {
    let mut world = World::new();
    with_reporting(&mut world);
    world
        .kcform(&["plan", "--out", "review.plan", "."])
        .expect_code(0);
    let project_id = world.project_id("analytics");
    let etl = world
        .accounts("analytics")
        .into_iter()
        .find(|a| a.name == "etl")
        .unwrap();
    forge(&world, "review.plan", |plan| {
        plan.changes.push(delete_of(
            kcform::address::Address::service_account("analytics", "etl"),
            &etl,
            &project_id,
        ));
    });
    let refused = world
        .kcform(&["apply", "--plan", "review.plan", "."])
        .expect_code(4);
    assert!(
        refused.stderr.contains("is not the plan kcform derives"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("`delete service_account.analytics/etl`"),
        "{}",
        refused.stderr
    );
    let names: Vec<String> = world
        .accounts("analytics")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, vec!["etl".to_string()], "nothing was applied");
    world.apply();
    world.assert_converged();
}

#[test]
fn a_forged_plan_that_reaches_into_an_undeclared_project_is_refused() {
    let mut world = World::new();
    with_reporting(&mut world);
    let payroll = world
        .block_on(world.api.create_project("payroll", "Payroll", ""))
        .unwrap();
    let bob = world
        .block_on(
            world
                .api
                .create_service_account(&payroll.id, "bob", Status::Active),
        )
        .unwrap();
    world
        .kcform(&["plan", "--out", "review.plan", "."])
        .expect_code(0);
    // The reviewed create of analytics/reporting becomes, under the same address, the delete
    // of an account in a project the configuration does not declare.
    forge(&world, "review.plan", |plan| {
        let index = plan
            .changes
            .iter()
            .position(|c| c.address.to_string() == "service_account.analytics/reporting")
            .unwrap();
        plan.changes[index] = delete_of(plan.changes[index].address.clone(), &bob, &payroll.id);
    });
    let refused = world
        .kcform(&["apply", "--plan", "review.plan", "."])
        .expect_code(4);
    assert!(
        refused.stderr.contains("is not the plan kcform derives"),
        "{}",
        refused.stderr
    );
    assert_eq!(world.accounts("payroll").len(), 1, "bob is still there");
    assert_eq!(world.accounts("analytics").len(), 1, "nothing was applied");
    world.apply();
    world.assert_converged();
    assert_eq!(world.accounts("payroll").len(), 1);
}
