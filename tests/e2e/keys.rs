//! Access keys: replacement in both orders, deletion, and secret delivery.

use crate::harness::World;

fn config(keys: &str) -> String {
    format!(
        "[project.analytics]\nnickname = \"Analytics\"\n\n[project.analytics.service_account.etl]\n{keys}"
    )
}

#[test]
fn a_rotation_change_creates_the_new_key_before_deleting_the_old_one() {
    let mut world = World::new();
    world.write(
        "main.toml",
        &config("[project.analytics.service_account.etl.access_key.ci]\nrotation = \"2026-11\"\n"),
    );
    world.apply();
    let old = world.secret_file("analytics", "etl", "ci");

    world.write(
        "main.toml",
        &config("[project.analytics.service_account.etl.access_key.ci]\nrotation = \"2026-12\"\n"),
    );
    let plan = world.plan();
    assert!(
        plan.stdout.contains("+/- access_key \"analytics/etl/ci\""),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains(r#"# (rotation changed from "2026-11" to "2026-12")"#)
    );
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to deactivate, 1 to destroy.")
    );
    world.apply();
    world.assert_converged();

    let new = world.secret_file("analytics", "etl", "ci");
    assert_ne!(new["access_key_id"], old["access_key_id"]);
    assert_eq!(world.token_status(&new), 201);
    // Keystone's answer for a deleted application credential's ID.
    assert_eq!(world.token_status(&old), 404, "the old key must be deleted");
    let keys = world.keys("analytics");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].id, new["access_key_id"].as_str().unwrap());

    // A second rotation goes back to the plain name: generations alternate.
    world.write(
        "main.toml",
        &config("[project.analytics.service_account.etl.access_key.ci]\nrotation = \"2027-01\"\n"),
    );
    world.apply();
    world.assert_converged();
    assert_eq!(world.keys("analytics")[0].name, "ci");
}

#[test]
fn a_full_account_deletes_the_old_key_first() {
    let mut world = World::new();
    let two = "[project.analytics.service_account.etl.access_key.a]\ndescription = \"first\"\n\n[project.analytics.service_account.etl.access_key.b]\n";
    world.write("main.toml", &config(two));
    world.apply();
    let old_a = world.secret_file("analytics", "etl", "a");
    let b = world.secret_file("analytics", "etl", "b");

    world.write(
        "main.toml",
        &config(&two.replace("\"first\"", "\"first key\"")),
    );
    let plan = world.plan();
    assert!(
        plan.stdout.contains("-/+ access_key \"analytics/etl/a\""),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("has no free key slot"));
    assert!(plan.stdout.contains("# words: first {+key+}"));
    world.apply();
    world.assert_converged();
    let new_a = world.secret_file("analytics", "etl", "a");
    assert_ne!(new_a["access_key_id"], old_a["access_key_id"]);
    assert_eq!(world.token_status(&new_a), 201);
    assert_eq!(world.token_status(&b), 201, "the other key is untouched");
    assert_eq!(world.secret_file("analytics", "etl", "b"), b);
    assert_eq!(world.keys("analytics").len(), 2);
}

#[test]
fn an_undeclared_key_is_deleted_with_its_secret_file() {
    let mut world = World::new();
    let two = "[project.analytics.service_account.etl.access_key.a]\n\n[project.analytics.service_account.etl.access_key.b]\n";
    world.write("main.toml", &config(two));
    world.apply();
    let b = world.secret_file("analytics", "etl", "b");
    world.write(
        "main.toml",
        &config("[project.analytics.service_account.etl.access_key.a]\n"),
    );
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("# access_key.analytics/etl/b will be destroyed")
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to deactivate, 1 to destroy.")
    );
    world.apply();
    world.assert_converged();
    assert!(!world.secret_path("analytics", "etl", "b").exists());
    assert!(world.secret_path("analytics", "etl", "a").exists());
    assert_eq!(world.token_status(&b), 404, "deleted: Keystone's 404");
}

#[test]
fn a_failed_secret_delivery_leaves_no_key_behind_and_a_rerun_converges() {
    let mut world = World::new();
    let keys = "[project.analytics.service_account.etl.access_key.ci]\n";
    world.write(
        "main.toml",
        &format!("[secrets]\ncommand = [\"sh\", \"-c\", \"cat > /dev/null; echo vault is sealed >&2; exit 7\"]\n\n{}", config(keys)),
    );
    let failed = world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(1);
    assert!(
        failed.stderr.contains("vault is sealed"),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("the new key was deleted again"),
        "{}",
        failed.stderr
    );
    assert!(
        world.keys("analytics").is_empty(),
        "no key without a delivered secret may remain"
    );

    let sink = world.dir.path().join("delivered.json");
    world.write(
        "main.toml",
        &format!(
            "[secrets]\ncommand = [\"sh\", \"-c\", \"cat > {}\"]\n\n{}",
            sink.display(),
            config(keys)
        ),
    );
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to deactivate, 0 to destroy."),
        "{}",
        plan.stdout
    );
    world.apply();
    world.assert_converged();
    let delivered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sink).unwrap()).unwrap();
    assert_eq!(world.token_status(&delivered), 201);
    assert!(
        !world.dir.path().join(".kcform/secrets").exists(),
        "the command sink writes no file"
    );
}

#[test]
fn a_key_older_than_max_age_is_replaced() {
    let mut world = World::new();
    world.write(
        "main.toml",
        &config("[project.analytics.service_account.etl.access_key.ci]\nmax_age = \"90d\"\n"),
    );
    world.apply();
    world.assert_converged();
    let future = (time::OffsetDateTime::now_utc() + time::Duration::days(97))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    world.set_env("KCFORM_NOW", &future);
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains("# (key is 97 days old; max_age is 90d)"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("+/- access_key \"analytics/etl/ci\""));
    let old = world.secret_file("analytics", "etl", "ci");
    world.apply();
    // The emulator stamps the new key with the real time, so plan at the real time again.
    world.set_env("KCFORM_NOW", "");
    world.assert_converged();
    assert_ne!(
        world.secret_file("analytics", "etl", "ci")["access_key_id"],
        old["access_key_id"]
    );
}
