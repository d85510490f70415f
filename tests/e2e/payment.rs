//! The payment-method rule through the standalone emulator: `kcform emulator
//! --no-payment-method` starts an organization in which creating a project is refused, and
//! `POST /_emulator/organization` registers a payment method at run time.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

/// Kills the server when the test ends, even by a failed assertion.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn without_a_payment_method_no_project_is_created_until_one_is_registered() {
    let work = tempfile::tempdir().unwrap();
    let credentials = work.path().join("admin.json");
    let mut server = Command::new(env!("CARGO_BIN_EXE_kcform"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--no-payment-method"])
        .arg("--bootstrap-credentials")
        .arg(&credentials)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = server.stderr.take().unwrap();
    let _server = Server(server);
    let mut banner = String::new();
    let mut stderr = std::io::BufReader::new(stderr);
    stderr.read_line(&mut banner).unwrap();
    let url = banner
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {banner:?}"))
        .to_string();
    let admin: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&credentials).unwrap()).unwrap();
    std::fs::write(
        work.path().join("main.toml"),
        "[project.analytics]\nnickname = \"Analytics\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kcform"))
            .args(args)
            .current_dir(work.path())
            .env("KCFORM_ENDPOINT", &url)
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
            .unwrap()
    };
    let apply = || run(&["apply", "--auto-approve", "."]);
    let register = |on: bool| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let response = reqwest::Client::new()
                .post(format!("{url}/_emulator/organization"))
                .json(&serde_json::json!({"payment_method": on}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
        });
    };

    let refused = apply();
    let stderr_text = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(refused.status.code(), Some(1), "{stderr_text}");
    assert!(stderr_text.contains("payment method"), "{stderr_text}");

    register(true);
    let applied = apply();
    let stdout = String::from_utf8_lossy(&applied.stdout).into_owned();
    assert_eq!(applied.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("Apply complete! Resources: 1 added"),
        "{stdout}"
    );
    let replan = run(&["plan", "--detailed-exitcode", "."]);
    assert_eq!(
        String::from_utf8_lossy(&replan.stdout).trim(),
        "No changes. Remote objects match the configuration."
    );
    assert_eq!(replan.status.code(), Some(0));
}
