//! The other commands as a user runs them: `graph`, and `emulator` as a standalone server that
//! kcform then plans and applies against.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use crate::harness::World;

#[test]
fn graph_prints_dot_offline() {
    let mut world = World::new();
    world.write(
        "main.toml",
        "[provider]\nendpoint = \"https://iam.invalid\"\n\n[project.analytics]\nnickname = \"A\"\n\n[project.analytics.service_account.etl.access_key.ci]\n",
    );
    let run = world.kcform(&["graph", "."]).expect_code(0);
    assert!(run.stdout.starts_with("digraph kcform {"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("\"access_key.analytics/etl/ci\" -> \"service_account.analytics/etl\";")
    );
    assert!(
        run.stdout
            .contains("\"service_account.analytics/etl\" -> \"project.analytics\";")
    );
}

#[test]
fn graph_operations_shows_the_apply_order_of_the_plan() {
    let mut world = World::new();
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"A\"\n\n[project.analytics.service_account.etl.access_key.ci]\n",
    );
    let run = world.kcform(&["graph", "--operations", "."]).expect_code(0);
    assert!(
        run.stdout.starts_with("digraph operations {"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\"project.analytics\" -> \"service_account.analytics/etl\";")
    );
    assert!(
        run.stdout
            .contains("\"service_account.analytics/etl\" -> \"access_key.analytics/etl/ci\";")
    );
    assert!(
        run.stdout
            .contains("\"access_key.analytics/etl/ci\" [label=\"+ access_key.analytics/etl/ci\"];"),
        "{}",
        run.stdout
    );
    world.apply();
    world.assert_converged();
}

#[test]
fn the_standalone_emulator_serves_kcform_and_keeps_its_state() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("state.json");
    let credentials = work.path().join("admin.json");
    let start = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kcform"))
            .args(["emulator", "--listen", "127.0.0.1:0", "--data"])
            .arg(&data)
            .arg("--bootstrap-credentials")
            .arg(&credentials)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        stderr.read_line(&mut first).unwrap();
        let url = first
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_string();
        (child, url, stderr)
    };
    let run = |url: &str, args: &[&str]| {
        let admin: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&credentials).unwrap()).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_kcform"))
            .args(args)
            .current_dir(work.path())
            .env("KCFORM_ENDPOINT", url)
            .env(
                "KAKAOCLOUD_APPLICATION_CREDENTIAL_ID",
                admin["id"].as_str().unwrap(),
            )
            .env(
                "KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET",
                admin["secret"].as_str().unwrap(),
            )
            .env("NO_COLOR", "1")
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    std::fs::write(
        work.path().join("main.toml"),
        "[project.analytics]\nnickname = \"Analytics\"\n\n[project.analytics.service_account.etl]\n",
    )
    .unwrap();

    let (mut server, url, _stderr) = start();
    let (code, stdout) = run(&url, &["apply", "--auto-approve", "."]);
    assert_eq!(code, Some(0), "{stdout}");
    server.kill().unwrap();
    server.wait().unwrap();

    // A restarted server keeps the state and issues a fresh admin key.
    let (mut server, url, _stderr) = start();
    let (code, stdout) = run(&url, &["plan", "--detailed-exitcode", "."]);
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(
        stdout.trim(),
        "No changes. Remote objects match the configuration."
    );
    assert_eq!(code, Some(0));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&credentials)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn configuration_errors_come_first_when_authentication_starts_early() {
    // KCFORM_ENDPOINT names the endpoint, so plan and apply authenticate while the files are
    // parsed. A configuration error is still what is reported, and nothing is changed.
    let mut world = World::new();
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"A\"\nbogus = 1\n",
    );
    for command in [&["plan", "."][..], &["apply", "--auto-approve", "."]] {
        let run = world
            .kcform_as(command, "not-a-key", "not-a-secret")
            .expect_code(1);
        assert!(run.stderr.contains("main.toml:3:1"), "{}", run.stderr);
        assert!(!run.stderr.contains("authenticate"), "{}", run.stderr);
    }
    let projects = world.block_on(world.api.list_projects()).unwrap();
    assert!(
        projects.iter().all(|p| p.name != "analytics"),
        "nothing was created"
    );
    // With the configuration fixed, the refused credential is what is reported.
    world.write("main.toml", "[project.analytics]\nnickname = \"A\"\n");
    let run = world
        .kcform_as(&["plan", "."], "not-a-key", "not-a-secret")
        .expect_code(1);
    assert!(
        run.stderr
            .contains("cannot authenticate with the access key"),
        "{}",
        run.stderr
    );
    world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(0);
    world.assert_converged();
}

#[test]
fn a_configuration_error_does_not_wait_for_an_endpoint_that_never_answers() {
    // Connections to it are accepted (by the kernel) and never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let world = World::new();
    world.write(
        "main.toml",
        "[project.analytics]\nnickname = \"A\"\nbogus = 1\n",
    );
    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_kcform"))
        .args(["plan", "."])
        .current_dir(world.dir.path())
        .env("KCFORM_ENDPOINT", &endpoint)
        .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID", "not-a-key")
        .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET", "not-a-secret")
        .env("KCFORM_HTTP_TIMEOUT", "20s")
        .env("KCFORM_HTTP_ATTEMPTS", "1")
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("main.toml:3:1"), "{stderr}");
    // Waiting for the answer would take the 20 s timeout; the configuration error takes
    // milliseconds.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "waited {:?} for the endpoint",
        started.elapsed()
    );
    drop(silent);
}

#[test]
fn the_emulator_refuses_a_non_loopback_address_without_allow_remote() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kcform"))
        .args(["emulator", "--listen", "0.0.0.0:0", "--data"])
        .arg(&data)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A server that started would run until killed: give it a bounded time to exit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("kcform emulator is serving on 0.0.0.0 without --allow-remote");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-remote"), "{stderr}");
    assert!(!data.exists(), "nothing was started");
}

/// Starts `kcform emulator` with `args`; returns the child and the first stderr line.
fn start_emulator(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kcform"))
        .arg("emulator")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    (child, first)
}

/// The port of the first `http://HOST:PORT` in `line`.
fn port_in(line: &str) -> u16 {
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let authority = url.trim_start_matches("http://");
    authority.rsplit(':').next().unwrap().parse().unwrap()
}

/// `POST /_emulator/users` creating an Org Admin over loopback; returns the status.
fn create_org_admin(port: u16, name: &str, bearer: Option<&str>) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/_emulator/users"))
            .json(&serde_json::json!({"name": name, "org_role": "org-admin"}));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().status().as_u16()
    })
}

#[test]
fn allow_remote_prints_a_generated_control_token_once_and_requires_it() {
    let (mut server, first) = start_emulator(&["--listen", "0.0.0.0:0", "--allow-remote"]);
    let token = first
        .split("Authorization: Bearer ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no control token in {first:?}"))
        .to_string();
    assert_eq!(token.len(), 64, "{first:?}");
    let port = port_in(&first);
    assert_eq!(create_org_admin(port, "mallory", None), 401);
    assert_eq!(
        create_org_admin(port, "mallory", Some("not-the-token")),
        401
    );
    assert_eq!(create_org_admin(port, "mallory", Some(&token)), 201);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn a_control_token_file_protects_a_loopback_emulator_too() {
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("control-token");
    let token = "file-control-token-0123456789";
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let file_arg = file.to_str().unwrap();
    let (mut server, first) =
        start_emulator(&["--listen", "127.0.0.1:0", "--control-token-file", file_arg]);
    assert!(
        !first.contains(token),
        "the file's token is never printed: {first}"
    );
    assert!(first.contains(file_arg), "{first}");
    let port = port_in(&first);
    assert_eq!(create_org_admin(port, "mallory", None), 401);
    assert_eq!(create_org_admin(port, "mallory", Some(token)), 201);
    server.kill().unwrap();
    server.wait().unwrap();

    // A weak token is refused at start, naming the file and not the token.
    std::fs::write(&file, "hunter2\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kcform"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--control-token-file",
        ])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(file_arg), "{stderr}");
    assert!(stderr.contains("fewer than the 16"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// The emulator's request counters (`GET /_emulator/stats`).
fn stats(world: &World) -> serde_json::Value {
    let url = format!("{}/_emulator/stats", world.endpoint());
    world.block_on(async {
        let body: serde_json::Value = reqwest::Client::new()
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["stats"].clone()
    })
}

#[cfg(unix)]
#[test]
fn a_dangling_toml_symlink_stops_plan_and_apply_instead_of_deleting_what_it_declared() {
    let mut world = World::new();
    // The endpoint is in the file, so that without KCFORM_ENDPOINT nothing is sent before the
    // configuration is checked.
    world.write(
        "a.toml",
        &format!(
            "[provider]\nendpoint = \"{}\"\n\n[project.analytics]\nnickname = \"A\"\n\n\
             [project.analytics.service_account.etl]\n",
            world.endpoint()
        ),
    );
    let accounts = world.write("b.toml", "[project.analytics.service_account.web]\n");
    world.apply();
    let names = |world: &World| {
        let mut names: Vec<String> = world
            .accounts("analytics")
            .into_iter()
            .map(|a| a.name)
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&world), ["etl", "web"]);

    // b.toml becomes a link to a file that is not there (a moved shared file, a checkout
    // without a submodule): its service account must not be planned for deletion.
    std::fs::remove_file(&accounts).unwrap();
    std::os::unix::fs::symlink("shared/web.toml", &accounts).unwrap();
    let before = stats(&world);
    for command in [&["plan", "."][..], &["apply", "--auto-approve", "."]] {
        let run = world.kcform(command).expect_code(1);
        assert!(
            run.stderr.contains(
                "error: `./b.toml` is a symbolic link to `shared/web.toml`, which does not exist"
            ),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.ends_with("1 error in configuration\n"),
            "{}",
            run.stderr
        );
        assert!(!run.stdout.contains("destroy"), "{}", run.stdout);
    }
    assert_eq!(names(&world), ["etl", "web"]);
    assert_eq!(
        stats(&world)["changes"],
        before["changes"],
        "nothing changed"
    );

    // With the endpoint from the configuration, not one request is sent.
    world.set_env("KCFORM_ENDPOINT", "");
    let before = stats(&world);
    world.kcform(&["plan", "."]).expect_code(1);
    world.kcform(&["validate", "."]).expect_code(1);
    assert_eq!(
        stats(&world)["requests"],
        before["requests"],
        "nothing sent"
    );

    // The link restored, everything is in place again.
    std::fs::create_dir(world.dir.path().join("shared")).unwrap();
    world.write(
        "shared/web.toml",
        "[project.analytics.service_account.web]\n",
    );
    world.assert_converged();
}
