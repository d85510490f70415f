//! Adoption and key lifecycle: `import` of objects made through the API plans to no changes;
//! rotation by keeper and by age in both slot situations, with the new secret delivered while
//! the old key still exists when a slot is free; a nightly apply rotates only what is due; and
//! `init`, `schema` and `completions`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kcform::cloud::{Client, ClientOptions, Credential};
use kcform::model::Status;
use kcform::secret::Secret;

use crate::harness::World;

/// Makes objects through the IAM API, as a team would have in the console.
struct Console<'a> {
    world: &'a World,
}

impl Console<'_> {
    fn project(&self, name: &str, nickname: &str, description: &str) -> String {
        self.world
            .block_on(self.world.api.create_project(name, nickname, description))
            .unwrap()
            .id
    }

    fn account(&self, project_id: &str, name: &str, status: Status) -> String {
        self.world
            .block_on(
                self.world
                    .api
                    .create_service_account(project_id, name, status),
            )
            .unwrap()
            .id
    }

    fn key(&self, user_id: &str, name: &str, description: &str) -> String {
        // The secret is dropped here, as the console shows it once to someone else.
        self.world
            .block_on(self.world.api.create_access_key(user_id, name, description))
            .unwrap()
            .key
            .id
    }

    fn deactivate(&self, project_id: &str, user_id: &str) {
        self.world
            .block_on(self.world.api.set_service_account_status(
                project_id,
                user_id,
                Status::Inactive,
            ))
            .unwrap();
    }

    fn enable_service(&self, project: &str, service: &str) {
        let url = format!(
            "{}/_emulator/projects/{project}/services/{service}",
            self.world.endpoint()
        );
        let status = self.world.block_on(async {
            reqwest::Client::new()
                .post(url)
                .send()
                .await
                .unwrap()
                .status()
        });
        assert!(status.is_success(), "{status}");
    }
}

fn adopted_world() -> World {
    let world = World::new();
    let console = Console { world: &world };
    let analytics = console.project("analytics", "Analytics \"Data\"", "Data platform");
    let etl = console.account(&analytics, "etl-runner", Status::Active);
    console.key(&etl, "ci", "GitHub Actions");
    console.key(&etl, "airflow", "");
    let dashboards = console.account(&analytics, "dashboards", Status::Active);
    console.key(&dashboards, "grafana", "Grafana datasource");
    console.account(&analytics, "idle", Status::Active);
    console.account(&analytics, "retired", Status::Inactive);
    let legacy = console.account(&analytics, "legacy-batch", Status::Active);
    console.key(&legacy, "cron", "");
    console.account(&analytics, "legacy-old", Status::Inactive);
    console.enable_service("analytics", "compute");
    let web = console.project("web-platform", "Web Platform", "");
    let deployer = console.account(&web, "deployer", Status::Active);
    console.key(&deployer, "github", "Deploys");
    // A project that is not imported, to show that it stays out of the output.
    console.project("billing", "Billing", "");
    world
}

#[test]
fn an_imported_configuration_plans_no_changes() {
    let mut world = adopted_world();
    let run = world
        .kcform(&[
            "import",
            "--project",
            "analytics",
            "--project",
            "web-platform",
            "--ignore",
            "legacy-*",
            "--out",
            "imported.toml",
        ])
        .expect_code(0);
    assert!(
        run.stderr
            .contains("Wrote imported.toml. Check it with `kcform plan .`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let text = std::fs::read_to_string(world.dir.path().join("imported.toml")).unwrap();
    for expected in [
        "secrets cannot be recovered",
        "[provider]\nendpoint = \"http://127.0.0.1:",
        "[project.analytics]\nnickname = \"Analytics \\\"Data\\\"\"\ndescription = \"Data platform\"\nignore = [\"legacy-*\"]\n",
        "# ignored: legacy-batch (matches \"legacy-*\")",
        "@compute.kc.serviceaccount.com (compute)",
        "[project.analytics.service_account.etl-runner.access_key.ci]\ndescription = \"GitHub Actions\"\n",
        "[project.analytics.service_account.etl-runner.access_key.airflow]\n",
        "[project.analytics.service_account.idle]\n",
        "[project.analytics.service_account.retired]\nstatus = \"inactive\"",
        "[project.web-platform.service_account.deployer.access_key.github]",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    for absent in [
        "billing",
        "service_account.legacy",
        "rotation =",
        "max_age =",
        "protect",
    ] {
        assert!(!text.contains(absent), "unexpected {absent:?} in:\n{text}");
    }

    world.assert_converged();
    let keys_before = world.keys("analytics");
    let applied = world.apply();
    assert!(applied.stdout.contains("No changes"), "{}", applied.stdout);
    assert_eq!(world.keys("analytics"), keys_before);
    assert_eq!(world.accounts("analytics").len(), 6);
}

#[test]
fn import_prints_to_stdout_and_uses_an_existing_configuration() {
    let mut world = adopted_world();
    world.write(
        "main.toml",
        "[project.billing]\nnickname = \"Billing\"\n\n[project.analytics]\nnickname = \"Old\"\n",
    );
    let run = world
        .kcform(&[
            "import",
            "--project",
            "web-platform",
            "--project",
            "analytics",
        ])
        .expect_code(0);
    assert!(
        !run.stdout.contains("[provider]"),
        "a configuration exists, so the output holds projects only:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("[project.web-platform]"));
    assert!(
        run.stderr.contains(
            "warning: project `analytics` is already declared at ./main.toml:4:1; adding the imported text next to it would declare it twice"
        ),
        "{}",
        run.stderr
    );
    // Without `--ignore`, the legacy accounts are declared like the others.
    assert!(
        run.stdout
            .contains("[project.analytics.service_account.legacy-batch.access_key.cron]")
    );
}

#[test]
fn import_explains_a_project_it_cannot_find() {
    let mut world = adopted_world();
    let run = world
        .kcform(&["import", "--project", "analitycs"])
        .expect_code(1);
    assert_eq!(
        run.stderr,
        format!(
            "error: no project named `analitycs` at {} (or the credential cannot view it)\n\
             hint: projects the credential can see: `analytics`, `billing`, `web-platform`\n",
            world.endpoint()
        )
    );
    let bad = world
        .kcform(&["import", "--project", "Analytics"])
        .expect_code(1);
    assert!(
        bad.stderr.contains("project name `Analytics` contains `A`"),
        "{}",
        bad.stderr
    );
    let glob = world
        .kcform(&["import", "--project", "analytics", "--ignore", "legacy-[*"])
        .expect_code(1);
    assert!(glob.stderr.contains("hint: `*` matches"), "{}", glob.stderr);
    std::fs::write(world.dir.path().join("taken.toml"), "").unwrap();
    let taken = world
        .kcform(&["import", "--project", "analytics", "--out", "taken.toml"])
        .expect_code(1);
    assert!(taken.stderr.contains("already exists"), "{}", taken.stderr);
}

#[test]
fn import_of_an_inactive_account_with_expired_keys_round_trips() {
    let mut world = World::new();
    let console = Console { world: &world };
    let analytics = console.project("analytics", "Analytics", "");
    let paused = console.account(&analytics, "paused", Status::Active);
    let expired = console.key(&paused, "old", "");
    console.deactivate(&analytics, &paused);
    let etl = console.account(&analytics, "etl", Status::Active);
    console.key(&etl, "ci", "");

    let run = world
        .kcform(&["import", "--project", "analytics", "--out", "imported.toml"])
        .expect_code(0);
    assert!(!run.stderr.contains("warning:"), "{}", run.stderr);
    let text = std::fs::read_to_string(world.dir.path().join("imported.toml")).unwrap();
    assert!(
        text.contains(&format!(
            "# Expired keys, left alone until the account is deleted or activated:\n#   old ({expired})"
        )),
        "{text}"
    );
    assert!(text.contains("status = \"inactive\""), "{text}");
    world.assert_converged();
    assert_eq!(world.keys("analytics").len(), 2, "the expired key stays");
}

fn config(keys: &str) -> String {
    format!(
        "[project.analytics]\nnickname = \"Analytics\"\n\n[project.analytics.service_account.etl]\n{keys}"
    )
}

fn key_ids(world: &World) -> BTreeSet<String> {
    world.keys("analytics").into_iter().map(|k| k.id).collect()
}

#[test]
fn a_rotation_change_on_a_full_account_deletes_first_and_converges() {
    let mut world = World::new();
    let keys = |rotation: &str| {
        config(&format!(
            "[project.analytics.service_account.etl.access_key.a]\nrotation = \"{rotation}\"\n\n[project.analytics.service_account.etl.access_key.b]\n"
        ))
    };
    world.write("main.toml", &keys("2026-11"));
    world.apply();
    world.assert_converged();
    let old_a = world.secret_file("analytics", "etl", "a");
    let b = world.secret_file("analytics", "etl", "b");

    world.write("main.toml", &keys("2026-12"));
    let plan = world.plan();
    assert!(
        plan.stdout.contains(
            "  # access_key.analytics/etl/a must be replaced\n  # (rotation changed from \"2026-11\" to \"2026-12\")\n  # (service account etl has no free key slot (at most 2 keys), so the old key is deleted before the new one is created)\n-/+ access_key \"analytics/etl/a\""
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to deactivate, 1 to destroy.")
    );
    world.apply();
    world.assert_converged();
    let new_a = world.secret_file("analytics", "etl", "a");
    assert_ne!(new_a["access_key_id"], old_a["access_key_id"]);
    assert_eq!(world.secret_file("analytics", "etl", "b"), b);
    let ids = key_ids(&world);
    assert_eq!(
        ids,
        BTreeSet::from([
            new_a["access_key_id"].as_str().unwrap().to_string(),
            b["access_key_id"].as_str().unwrap().to_string(),
        ])
    );
}

fn days_from_now(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
fn a_nightly_apply_rotates_only_the_keys_that_are_due_in_both_slot_situations() {
    let mut world = World::new();
    world.write("main.toml", e2e_config!("nightly-rotation"));
    world.apply();
    world.assert_converged();
    let before: Vec<(String, String, String)> = ["etl/ci", "full/a", "full/b", "plain/k", "kept/k"]
        .iter()
        .map(|path| {
            let (account, key) = path.split_once('/').unwrap();
            let file = world.secret_file("analytics", account, key);
            (
                account.to_string(),
                key.to_string(),
                file["access_key_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();

    // 89 days later nothing is due.
    world.set_env("KCFORM_NOW", &days_from_now(89));
    world.assert_converged();

    world.set_env("KCFORM_NOW", &days_from_now(97));
    let plan = world.plan();
    assert!(
        plan.stdout.contains(
            "  # access_key.analytics/etl/ci must be replaced\n  # (key is 97 days old; max_age is 90d)\n+/- access_key \"analytics/etl/ci\""
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "  # access_key.analytics/full/a must be replaced\n  # (key is 97 days old; max_age is 90d)\n  # (service account full has no free key slot (at most 2 keys), so the old key is deleted before the new one is created)\n-/+ access_key \"analytics/full/a\""
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 2 to add, 0 to change, 0 to deactivate, 2 to destroy."),
        "{}",
        plan.stdout
    );
    let applied = world.apply();
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 2 added, 0 changed, 0 deactivated, 2 destroyed."),
        "{}",
        applied.stdout
    );
    // The emulator stamps new keys with the real time: back at the real time nothing is due.
    world.set_env("KCFORM_NOW", "");
    world.assert_converged();
    for (account, key, old_id) in before {
        let new_id = world.secret_file("analytics", &account, &key)["access_key_id"]
            .as_str()
            .unwrap()
            .to_string();
        let due = matches!(
            (account.as_str(), key.as_str()),
            ("etl", "ci") | ("full", "a")
        );
        assert_eq!(new_id != old_id, due, "{account}/{key}");
    }
    assert_eq!(world.keys("analytics").len(), 5);
}

/// A secrets command that writes each delivery to `delivered.json` in `dir`, then waits for
/// `go` there: while it waits, the test looks at the live keys.
fn blocking_sink(dir: &Path) -> String {
    format!(
        "[secrets]\ncommand = [\"sh\", \"-c\", \"cat > \\\"$0/delivery.tmp\\\" && mv \\\"$0/delivery.tmp\\\" \\\"$0/delivered.json\\\" && while [ ! -e \\\"$0/go\\\" ]; do sleep 0.05; done; rm \\\"$0/go\\\"\", \"{}\"]\n\n",
        dir.display()
    )
}

/// Waits for one delivery, reads the live key IDs at that moment, and lets the command finish.
/// Returns the delivered key's ID and the live key IDs seen during the delivery.
fn observe_delivery(
    endpoint: String,
    credential: Credential,
    project_id: String,
    dir: PathBuf,
) -> std::thread::JoinHandle<(String, BTreeSet<String>)> {
    std::thread::spawn(move || {
        let delivered = dir.join("delivered.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !delivered.exists() {
            assert!(Instant::now() < deadline, "no secret was delivered");
            std::thread::sleep(Duration::from_millis(20));
        }
        let document: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&delivered).unwrap()).unwrap();
        std::fs::remove_file(&delivered).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = Client::new(&endpoint, credential, &ClientOptions::default()).unwrap();
        let live: BTreeSet<String> = runtime
            .block_on(client.list_project_access_keys(&project_id))
            .unwrap()
            .into_iter()
            .map(|k| k.id)
            .collect();
        std::fs::write(dir.join("go"), "").unwrap();
        (
            document["access_key_id"].as_str().unwrap().to_string(),
            live,
        )
    })
}

fn admin(world: &World) -> Credential {
    let admin = world.emulator.as_ref().unwrap().admin_credential().clone();
    Credential {
        id: admin.id,
        secret: Secret::new(admin.secret),
    }
}

#[test]
fn the_new_secret_is_delivered_while_the_old_key_still_exists_when_a_slot_is_free() {
    let mut world = World::new();
    let sink_dir = world.dir.path().join("sink");
    std::fs::create_dir(&sink_dir).unwrap();
    let sink = blocking_sink(&sink_dir);
    let keys = |rotation: &str, second: bool| {
        let mut text = format!(
            "{sink}{}",
            config(&format!(
                "[project.analytics.service_account.etl.access_key.ci]\nrotation = \"{rotation}\"\n"
            ))
        );
        if second {
            text.push_str("\n[project.analytics.service_account.etl.access_key.other]\n");
        }
        text
    };

    // The first key: let every delivery through.
    world.write("main.toml", &keys("1", false));
    std::fs::write(sink_dir.join("go"), "").unwrap();
    world.apply();
    let _ = std::fs::remove_file(sink_dir.join("delivered.json"));
    let project_id = world.project_id("analytics");
    let old: BTreeSet<String> = key_ids(&world);
    assert_eq!(old.len(), 1);

    // +/-: at the moment of delivery both the old and the new key exist.
    world.write("main.toml", &keys("2", false));
    let observer = observe_delivery(
        world.endpoint(),
        admin(&world),
        project_id.clone(),
        sink_dir.clone(),
    );
    world.apply();
    let (new_id, during) = observer.join().unwrap();
    assert!(during.is_superset(&old), "old key gone before delivery");
    assert!(during.contains(&new_id));
    assert_eq!(key_ids(&world), BTreeSet::from([new_id.clone()]));
    world.assert_converged();

    // Fill the account, then -/+: the old key is deleted before the new one exists.
    world.write("main.toml", &keys("2", true));
    let observer = observe_delivery(
        world.endpoint(),
        admin(&world),
        project_id.clone(),
        sink_dir.clone(),
    );
    world.apply();
    let (other_id, _) = observer.join().unwrap();
    world.write("main.toml", &keys("3", true));
    let observer = observe_delivery(world.endpoint(), admin(&world), project_id, sink_dir);
    let plan = world.plan();
    assert!(plan.stdout.contains("-/+ access_key \"analytics/etl/ci\""));
    world.apply();
    let (newest_id, during) = observer.join().unwrap();
    assert_eq!(
        during,
        BTreeSet::from([other_id.clone(), newest_id.clone()]),
        "with no free slot the old key {new_id} is deleted before the new one is made"
    );
    world.assert_converged();
}

#[test]
fn init_writes_a_starter_that_plans_at_once_and_ignores_kcform_state() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("iam");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join(".gitignore"), "target/").unwrap();
    let kcform = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_kcform"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("KCFORM_ENDPOINT")
            .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID")
            .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET")
            .env("NO_COLOR", "1")
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (code, _, stderr) = kcform(&["init", "iam"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("Added `.kcform/` to iam/.gitignore."),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(target.join(".gitignore")).unwrap(),
        "target/\n# kcform: secrets, emulator state and records; never commit them\n.kcform/\n"
    );

    let (code, stdout, stderr) = kcform(&["plan", "iam"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Plan: 3 to add, 0 to change, 0 to deactivate, 0 to destroy."),
        "{stdout}"
    );

    // The starter validates against `kcform schema`.
    let (code, schema, _) = kcform(&["schema"]);
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&schema).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let starter: toml::Table =
        toml::from_str(&std::fs::read_to_string(target.join("kcform.toml")).unwrap()).unwrap();
    assert!(validator.is_valid(&serde_json::to_value(starter).unwrap()));

    // A second init refuses, and leaves .gitignore alone.
    let (code, _, stderr) = kcform(&["init", "iam"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(target.join(".gitignore"))
            .unwrap()
            .matches(".kcform/")
            .count(),
        1
    );

    // In a new directory, .gitignore is created.
    let (code, _, stderr) = kcform(&["init", "fresh"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("fresh/.gitignore")).unwrap(),
        "# kcform: secrets, emulator state and records; never commit them\n.kcform/\n"
    );
}

#[test]
fn completions_cover_every_command() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kcform"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let script = String::from_utf8(output.stdout).unwrap();
    for command in [
        "validate",
        "plan",
        "apply",
        "show",
        "import",
        "init",
        "schema",
        "completions",
        "graph",
        "emulator",
    ] {
        assert!(script.contains(command), "{command} missing");
    }
    assert!(script.contains("--project"));
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_kcform"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("import"),
            "{shell}"
        );
    }
}

#[test]
fn common_errors_name_the_fix_in_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kcform.toml"),
        "[project.analytics]\nnickname = \"Analytics\"\n",
    )
    .unwrap();
    let run = |env: &[(&str, &str)]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_kcform"))
            .args(["plan", "."])
            .current_dir(dir.path())
            .env_remove("KCFORM_ENDPOINT")
            .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID")
            .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET")
            .env_remove("KCFORM_NOW")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        String::from_utf8(output.stderr).unwrap()
    };
    let missing = run(&[]);
    assert!(
        missing.starts_with("error: no credential: set `KAKAOCLOUD_APPLICATION_CREDENTIAL_ID` and `KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET`"),
        "{missing}"
    );
    assert!(
        missing.contains("\nhint: to try kcform without a KakaoCloud account"),
        "{missing}"
    );
    let credential = [
        ("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID", "id"),
        ("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET", "not-a-secret"),
    ];
    let http = run(&[
        credential[0],
        credential[1],
        ("KCFORM_ENDPOINT", "http://iam.example.com"),
    ]);
    assert!(http.contains("\nhint: use `https://`"), "{http}");
    // A loopback port nobody listens on: unreachable.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}");
    let unreachable = run(&[
        credential[0],
        credential[1],
        ("KCFORM_ENDPOINT", url.as_str()),
    ]);
    assert!(
        unreachable.contains("could not reach the IAM API"),
        "{unreachable}"
    );
    assert!(
        unreachable.contains("\nhint: check the endpoint"),
        "{unreachable}"
    );
    let half = run(&[credential[0]]);
    assert!(half.contains("\nhint: set both"), "{half}");
    for stderr in [missing, http, unreachable, half] {
        assert!(
            !stderr.contains('\u{1b}'),
            "colored without a terminal: {stderr}"
        );
        assert_eq!(stderr.matches("hint: ").count(), 1, "{stderr}");
    }
}

#[test]
fn import_with_endpoint_emulator_reads_the_embedded_emulator_of_path() {
    let dir = tempfile::tempdir().unwrap();
    // `--endpoint` wins over KCFORM_ENDPOINT, as over `provider.endpoint`.
    let kcform = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kcform"))
            .args(args)
            .current_dir(dir.path())
            .env("KCFORM_ENDPOINT", "https://iam.example.invalid")
            .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID")
            .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET")
            .env("NO_COLOR", "1")
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .output()
            .unwrap()
    };
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let missing = kcform(&[
        "import",
        "--endpoint",
        "emulator",
        "--project",
        "analytics",
        "empty",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8(missing.stderr).unwrap();
    assert!(
        stderr.starts_with("error: no project named `analytics` at the built-in emulator"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: the built-in emulator keeps its state per configuration directory"),
        "{stderr}"
    );

    // The quickstart applied into `app`, then imported from `app`'s emulator into a new file.
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart/kcform.toml"),
        app.join("kcform.toml"),
    )
    .unwrap();
    let applied = std::process::Command::new(env!("CARGO_BIN_EXE_kcform"))
        .args(["apply", "--auto-approve", "app"])
        .current_dir(dir.path())
        .env_remove("KCFORM_ENDPOINT")
        .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID")
        .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET")
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    std::fs::rename(app.join("kcform.toml"), dir.path().join("original.toml")).unwrap();
    let imported = kcform(&[
        "import",
        "--endpoint",
        "emulator",
        "--project",
        "analytics",
        "app",
        "--out",
        "app/imported.toml",
    ]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let text = std::fs::read_to_string(app.join("imported.toml")).unwrap();
    assert!(
        text.contains("[provider]\nendpoint = \"emulator\"\n"),
        "{text}"
    );
    let plan = std::process::Command::new(env!("CARGO_BIN_EXE_kcform"))
        .args(["plan", "--detailed-exitcode", "app"])
        .current_dir(dir.path())
        .env_remove("KCFORM_ENDPOINT")
        .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID")
        .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET")
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&plan.stdout).trim(),
        "No changes. Remote objects match the configuration.",
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    assert_eq!(plan.status.code(), Some(0));
}
