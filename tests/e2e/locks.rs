//! Locks: two applies of one configuration never run at once. The second exits 3 naming the
//! holder, or with `--lock-timeout` waits and then runs; `plan` takes no lock; `kcform unlock`
//! removes a stale lock only when given its ID. On the local backend and, against the S3
//! server that `.ci/run` starts (`KCFORM_TEST_S3_ENDPOINT`), on the S3 backend. Every apply
//! leaves one journal record.

use std::io::Write as _;

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::World;

const CONFIG: &str = e2e_config!("analytics-etl-ci-web");

/// Polls `probe` until it returns `Some` (at most 20 s).
fn wait_for<T>(mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn local_holder(world: &World) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(world.dir.path().join(".kcform/lock")).ok()?;
    serde_json::from_str(&text).ok()
}

fn journal_records(world: &World) -> Vec<serde_json::Value> {
    let Ok(entries) = std::fs::read_dir(world.dir.path().join(".kcform/journal")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap())
        .collect()
}

#[test]
fn a_second_apply_exits_3_naming_the_holder_while_plan_runs_unlocked() {
    let mut world = World::new();
    world.write("main.toml", CONFIG);
    world.fault(json!({"method": "POST", "path": "/identity/v3/projects*", "latency_ms": 400}));
    let first = world.spawn_kcform(&["apply", "--auto-approve", "."]);
    let holder = wait_for(|| local_holder(&world));
    let id = holder["id"].as_str().unwrap().to_string();

    let second = world.kcform(&["apply", "--auto-approve", "."]);
    assert_eq!(second.code, 3, "{}", second.stderr);
    assert!(
        second.stderr.contains("the lock is held by"),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains(&format!("lock ID {id}")),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("for `apply`"), "{}", second.stderr);
    assert!(
        second.stderr.contains(holder["who"].as_str().unwrap()),
        "{}",
        second.stderr
    );
    let plan = world.kcform(&["plan", "."]);
    assert_eq!(plan.code, 0, "plan takes no lock: {}", plan.stderr);

    world.finish(first).expect_code(0);
    world.clear_faults();
    world.assert_converged();
    let records = journal_records(&world);
    assert_eq!(records.len(), 1, "only the apply that ran is journaled");
    assert_eq!(records[0]["lock_id"], id.as_str());
    assert_eq!(records[0]["outcome"], "succeeded");
    assert_eq!(records[0]["operations"].as_array().unwrap().len(), 4);
    assert!(
        records[0]["plan_checksum"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[test]
fn with_lock_timeout_the_second_apply_waits_then_runs() {
    let mut world = World::new();
    world.write("main.toml", CONFIG);
    world.fault(json!({"method": "POST", "path": "/identity/v3/projects*", "latency_ms": 400}));
    let first = world.spawn_kcform(&["apply", "--auto-approve", "."]);
    wait_for(|| local_holder(&world));
    let second = world
        .kcform(&["apply", "--auto-approve", "--lock-timeout", "30s", "."])
        .expect_code(0);
    assert!(
        second.stderr.contains("Waiting up to 30s for the lock"),
        "{}",
        second.stderr
    );
    assert!(
        second
            .stdout
            .contains("No changes. Remote objects match the configuration."),
        "the second apply ran after the first: {}",
        second.stdout
    );
    world.finish(first).expect_code(0);
    world.clear_faults();
    world.assert_converged();
    let mut outcomes: Vec<String> = journal_records(&world)
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_string())
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, ["no_changes", "succeeded"]);
}

#[test]
fn unlock_removes_a_lock_only_with_its_id() {
    let mut world = World::new();
    world.write("main.toml", CONFIG);
    std::fs::create_dir_all(world.dir.path().join(".kcform")).unwrap();
    let stale = json!({"id": "0123456789abcdef", "who": "ci", "operation": "apply",
                       "created": "2026-01-01T00:00:00Z", "host": "runner-7"});
    world.write(".kcform/lock", &stale.to_string());
    let wrong = world.kcform(&["unlock", "fedcba9876543210", "."]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong
            .stderr
            .contains("does not match the lock held (ID 0123456789abcdef"),
        "{}",
        wrong.stderr
    );
    assert!(
        local_holder(&world).is_some(),
        "a mismatched unlock removes nothing"
    );
    let right = world
        .kcform(&["unlock", "0123456789abcdef", "."])
        .expect_code(0);
    assert!(right.stderr.contains("Removed lock 0123456789abcdef"));
    assert!(local_holder(&world).is_none());
    let again = world.kcform(&["unlock", "0123456789abcdef", "."]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("there is no lock"),
        "{}",
        again.stderr
    );
    // Unlocked, the configuration applies and converges.
    world.apply();
    world.assert_converged();
}

/// The S3-compatible server for these tests: `KCFORM_TEST_S3_ENDPOINT`. Without it the S3
/// tests fail in CI (`CI=true`) and are skipped, with a note, elsewhere.
fn s3_endpoint() -> Option<String> {
    match std::env::var("KCFORM_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI=true but KCFORM_TEST_S3_ENDPOINT is not set: .ci/run must start the S3 server"
            )
        }
        _ => {
            // Straight to the process's stderr: libtest captures `eprintln!`, and a skip must
            // show in plain `cargo test` output.
            let _ = writeln!(
                std::io::stderr(),
                "note: KCFORM_TEST_S3_ENDPOINT is not set; skipping the S3 lock test"
            );
            None
        }
    }
}

/// A fresh bucket on the test server, and the world configured to lock in it.
fn s3_world(endpoint: &str) -> (World, String) {
    let mut world = World::new();
    let bucket = format!("kcform-{}", hex::encode(rand::random::<[u8; 6]>()));
    let status = world.block_on(async {
        reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(
        status.is_success(),
        "cannot create bucket {bucket}: {status}"
    );
    world.set_env("AWS_ENDPOINT_URL", endpoint);
    world.set_env("AWS_ACCESS_KEY_ID", "testing");
    world.set_env("AWS_SECRET_ACCESS_KEY", "testing");
    world.set_env("AWS_REGION", "us-east-1");
    world.write(
        "main.toml",
        &format!("[lock]\nbackend = \"s3://{bucket}/team-a\"\n\n{CONFIG}"),
    );
    (world, bucket)
}

/// A signed client for the test bucket (the server refuses anonymous reads of objects that
/// kcform wrote).
fn s3_store(endpoint: &str, bucket: &str) -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .unwrap()
}

fn s3_get(world: &World, store: &object_store::aws::AmazonS3, key: &str) -> Option<String> {
    use object_store::ObjectStore as _;
    world.block_on(async {
        let found = store.get(&object_store::path::Path::from(key)).await.ok()?;
        let bytes = found.bytes().await.ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    })
}

fn s3_holder(world: &World, store: &object_store::aws::AmazonS3) -> Option<serde_json::Value> {
    let text = s3_get(world, store, "team-a/lock.json")?;
    serde_json::from_str(&text).ok()
}

#[test]
fn s3_locks_exclude_concurrent_applies_and_journal_to_the_bucket() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let (mut world, bucket) = s3_world(&endpoint);
    let store = s3_store(&endpoint, &bucket);
    world.fault(json!({"method": "POST", "path": "/identity/v3/projects*", "latency_ms": 600}));
    let first = world.spawn_kcform(&["apply", "--auto-approve", "."]);
    let holder = wait_for(|| s3_holder(&world, &store));
    let id = holder["id"].as_str().unwrap().to_string();

    let second = world.kcform(&["apply", "--auto-approve", "."]);
    assert_eq!(second.code, 3, "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!("lock ID {id}")),
        "{}",
        second.stderr
    );
    let third = world
        .kcform(&["apply", "--auto-approve", "--lock-timeout", "30s", "."])
        .expect_code(0);
    assert!(
        third
            .stderr
            .contains("Waiting up to 30s for the lock at s3://")
    );
    world.finish(first).expect_code(0);
    world.clear_faults();
    world.assert_converged();
    assert!(
        s3_holder(&world, &store).is_none(),
        "the lock object is deleted on release"
    );

    let keys: Vec<String> = world.block_on(async {
        use futures_util::TryStreamExt as _;
        use object_store::ObjectStore as _;
        store
            .list(Some(&object_store::path::Path::from("team-a/journal")))
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .unwrap()
    });
    assert_eq!(keys.len(), 2, "{keys:?}");
    let secret = world.secret_file("analytics", "etl", "ci")["secret_access_key"]
        .as_str()
        .unwrap()
        .to_string();
    for key in keys {
        let record = s3_get(&world, &store, &key).unwrap();
        assert!(!record.contains(&secret), "a secret in journal {key}");
        assert!(record.contains("\"plan_checksum\""), "{record}");
    }
}

#[test]
fn s3_a_stale_lock_blocks_until_unlocked_by_its_id() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let (mut world, bucket) = s3_world(&endpoint);
    let stale = json!({"id": "5ca1ab1e5ca1ab1e", "who": "ci", "operation": "apply",
                       "created": "2026-01-01T00:00:00Z", "host": "runner-7"});
    let status = world.block_on(async {
        reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}/team-a/lock.json"))
            .body(stale.to_string())
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success());
    let refused = world.kcform(&["apply", "--auto-approve", "."]);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("held by ci on runner-7 since 2026-01-01T00:00:00Z")
    );
    assert_eq!(world.kcform(&["unlock", "nope", "."]).code, 1);
    world
        .kcform(&["unlock", "5ca1ab1e5ca1ab1e", "."])
        .expect_code(0);
    world.apply();
    world.assert_converged();
}

#[test]
fn s3_records_are_shared_by_runners_that_start_from_a_fresh_checkout() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let (mut world, bucket) = s3_world(&endpoint);
    let store = s3_store(&endpoint, &bucket);
    let config = |rotation: &str| {
        format!(
            "[lock]\nbackend = \"s3://{bucket}/team-a\"\n\n[project.analytics]\nnickname = \"Analytics\"\n\n[project.analytics.service_account.etl.access_key.ci]\nrotation = \"{rotation}\"\n"
        )
    };
    world.write("main.toml", &config("2026-11"));
    world.apply();
    let keepers = s3_get(&world, &store, "team-a/keepers.json").expect("keepers in the bucket");
    assert!(keepers.contains("\"2026-11\""), "{keepers}");
    assert!(s3_get(&world, &store, "team-a/snapshot.json").is_some());
    for local in ["keepers.json", "snapshot.json"] {
        assert!(
            !world.dir.path().join(".kcform").join(local).exists(),
            "{local} must live in the backend, not on this runner"
        );
    }

    // Another runner: a fresh checkout knows nothing locally, yet sees the rotation change.
    std::fs::remove_dir_all(world.dir.path().join(".kcform/journal")).ok();
    world.write("main.toml", &config("2026-12"));
    let plan = world.plan();
    assert!(
        plan.stdout
            .contains(r#"# (rotation changed from "2026-11" to "2026-12")"#),
        "{}",
        plan.stdout
    );
    world.apply();
    world.assert_converged();
    let keepers = s3_get(&world, &store, "team-a/keepers.json").unwrap();
    assert!(
        keepers.contains("\"2026-12\"") && !keepers.contains("\"2026-11\""),
        "{keepers}"
    );
}

const ROTATED: &str = e2e_config!("analytics-ci-rotation");

/// A CI runner that starts from a fresh checkout: everything kcform kept next to the
/// configuration is gone (secrets are delivered elsewhere in CI, so they are kept here only for
/// the leak check).
fn fresh_runner(world: &World) {
    let kept = world.dir.path().join(".kcform");
    for entry in std::fs::read_dir(&kept).into_iter().flatten().flatten() {
        if entry.file_name() != "secrets" {
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
}

#[test]
fn a_fresh_runner_with_the_local_backend_says_what_it_does_without_records() {
    let mut world = World::new();
    world.write("main.toml", ROTATED);
    world.apply();
    let first = world.keys("analytics")[0].id.clone();
    // The rotation is changed in the commit a fresh runner applies.
    fresh_runner(&world);
    world.write(
        "main.toml",
        &ROTATED.replace("rotation = \"1\"", "rotation = \"2\""),
    );
    world.set_env("GITHUB_ACTIONS", "true");
    let plan = world.kcform(&["plan", "."]).expect_code(0);
    assert!(
        plan.stdout
            .contains("Note: No record of the rotation value these keys were created with"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "# access_key.analytics/etl/ci: taken to match rotation = \"2\" and not replaced"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stderr
            .contains("warning: running under CI with the local `[lock]` backend"),
        "{}",
        plan.stderr
    );
    world.apply();
    assert_eq!(
        world.keys("analytics")[0].id,
        first,
        "not replaced, as the note said"
    );
    // Recorded now: the note is gone, and the next change of the value rotates the key.
    let again = world.plan();
    assert!(!again.stdout.contains("No record"), "{}", again.stdout);
    world.write(
        "main.toml",
        &ROTATED.replace("rotation = \"1\"", "rotation = \"3\""),
    );
    world.apply();
    assert_ne!(world.keys("analytics")[0].id, first);
    world.assert_converged();
}

#[test]
fn a_fresh_runner_with_the_s3_backend_rotates_what_the_commit_rotates() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let (mut world, bucket) = s3_world(&endpoint);
    let with_lock =
        |config: &str| format!("[lock]\nbackend = \"s3://{bucket}/team-a\"\n\n{config}");
    world.write("main.toml", &with_lock(ROTATED));
    world.apply();
    let first = world.keys("analytics")[0].id.clone();
    fresh_runner(&world);
    world.write(
        "main.toml",
        &with_lock(&ROTATED.replace("rotation = \"1\"", "rotation = \"2\"")),
    );
    world.set_env("GITHUB_ACTIONS", "true");
    let plan = world.kcform(&["plan", "."]).expect_code(0);
    assert!(
        plan.stdout.contains("rotation changed from \"1\" to \"2\""),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("No record"), "{}", plan.stdout);
    assert!(
        !plan.stderr.contains("warning: running under CI"),
        "{}",
        plan.stderr
    );
    world.apply();
    assert_ne!(
        world.keys("analytics")[0].id,
        first,
        "rotated on the fresh runner"
    );
    fresh_runner(&world);
    world.assert_converged();
}

#[test]
fn an_s3_backend_without_credentials_or_bucket_says_what_to_set_and_plans_nothing() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let (mut world, bucket) = s3_world(&endpoint);
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        world.unset_env(name);
    }
    let failed = world.kcform(&["plan", "."]).expect_code(1);
    assert!(
        failed.stderr.contains(&format!("lock backend s3://{bucket}/team-a: no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")),
        "{}",
        failed.stderr
    );
    assert!(!failed.stderr.contains("169.254"), "{}", failed.stderr);
    assert!(!failed.stdout.contains("Plan:"), "{}", failed.stdout);

    world.set_env("AWS_ACCESS_KEY_ID", "testing");
    world.set_env("AWS_SECRET_ACCESS_KEY", "testing");
    world.write(
        "main.toml",
        &format!("[lock]\nbackend = \"s3://{bucket}-missing/team-a\"\n\n{CONFIG}"),
    );
    // A bucket that does not exist is not "no records yet".
    for args in [&["plan", "."][..], &["apply", "--auto-approve", "."][..]] {
        let failed = world.kcform(args).expect_code(1);
        assert!(
            failed
                .stderr
                .contains(&format!("bucket `{bucket}-missing` does not exist")),
            "{}",
            failed.stderr
        );
        assert!(!failed.stdout.contains("Plan:"), "{}", failed.stdout);
    }
    let projects = world.block_on(world.api.list_projects()).unwrap();
    assert!(projects.is_empty(), "nothing was applied: {projects:?}");
    // The bucket named right again, the configuration applies and converges.
    world.write(
        "main.toml",
        &format!("[lock]\nbackend = \"s3://{bucket}/team-a\"\n\n{CONFIG}"),
    );
    world.apply();
    world.assert_converged();
}
