//! The end-to-end harness: a real emulator on 127.0.0.1:0, the real `kcform` binary talking to
//! it over HTTP, a temporary configuration directory, and a guard that fails the test if any
//! access-key secret ever shows up in a captured stdout or stderr or outside its secret file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use kcform::cloud::{Client, ClientOptions, Credential};
use kcform::emulator::{self, EmulatorOptions, RunningEmulator};
use kcform::secret::Secret;

/// What one kcform run printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with both streams unless the run exited with `code`.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// One test's world: emulator, configuration directory, admin API client.
pub struct World {
    pub runtime: tokio::runtime::Runtime,
    pub emulator: Option<RunningEmulator>,
    pub dir: tempfile::TempDir,
    pub api: Arc<Client>,
    outputs: Vec<String>,
    secrets_seen: BTreeSet<String>,
    env: Vec<(String, String)>,
}

impl World {
    /// A fresh in-memory emulator and an empty configuration directory.
    pub fn new() -> World {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emulator = runtime
            .block_on(emulator::start(
                "127.0.0.1:0".parse().unwrap(),
                EmulatorOptions::default(),
            ))
            .unwrap();
        let admin = emulator.admin_credential().clone();
        let api = Client::new(
            &emulator.base_url(),
            Credential {
                id: admin.id.clone(),
                secret: Secret::new(admin.secret.clone()),
            },
            &ClientOptions::default(),
        )
        .unwrap();
        let mut secrets_seen = BTreeSet::new();
        secrets_seen.insert(admin.secret.clone());
        World {
            runtime,
            emulator: Some(emulator),
            dir: tempfile::tempdir().unwrap(),
            api: Arc::new(api),
            outputs: Vec::new(),
            secrets_seen,
            env: vec![("KCFORM_NOW".to_string(), String::new())],
        }
    }

    fn emulator(&self) -> &RunningEmulator {
        self.emulator.as_ref().unwrap()
    }

    /// The emulator's base URL.
    pub fn endpoint(&self) -> String {
        self.emulator().base_url()
    }

    /// Writes a configuration file (replacing it).
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs kcform in the configuration directory against the emulator as Org Admin.
    pub fn kcform(&mut self, args: &[&str]) -> Run {
        let admin = self.emulator().admin_credential().clone();
        self.kcform_as(args, &admin.id, &admin.secret)
    }

    /// Sets an extra environment variable for the following runs (e.g. `KCFORM_NOW`).
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.push((name.to_string(), value.to_string()));
    }

    /// Runs kcform with the given credential.
    pub fn kcform_as(&mut self, args: &[&str], id: &str, secret: &str) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_kcform"))
            .args(args)
            .current_dir(self.dir.path())
            .env("KCFORM_ENDPOINT", self.endpoint())
            .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID", id)
            .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET", secret)
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_STEP_SUMMARY")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        self.outputs.push(run.stdout.clone());
        self.outputs.push(run.stderr.clone());
        self.check_secrets();
        run
    }

    /// `kcform plan .`, expected to succeed.
    pub fn plan(&mut self) -> Run {
        self.kcform(&["plan", "."]).expect_code(0)
    }

    /// `kcform apply --auto-approve .`, expected to succeed.
    pub fn apply(&mut self) -> Run {
        self.kcform(&["apply", "--auto-approve", "."])
            .expect_code(0)
    }

    /// Injects a fault rule (`POST /_emulator/faults`).
    pub fn fault(&self, rule: serde_json::Value) {
        let url = format!("{}/_emulator/faults", self.endpoint());
        let status = self.block_on(async {
            reqwest::Client::new()
                .post(url)
                .json(&rule)
                .send()
                .await
                .unwrap()
                .status()
        });
        assert_eq!(status.as_u16(), 201, "fault {rule} refused");
    }

    /// Clears every injected fault (`DELETE /_emulator/faults`).
    pub fn clear_faults(&self) {
        let url = format!("{}/_emulator/faults", self.endpoint());
        let status = self.block_on(async {
            reqwest::Client::new()
                .delete(url)
                .send()
                .await
                .unwrap()
                .status()
        });
        assert_eq!(status.as_u16(), 204);
    }

    /// Starts kcform in the background with the same environment as [`World::kcform`];
    /// hand its output to [`World::finish`].
    pub fn spawn_kcform(&self, args: &[&str]) -> std::process::Child {
        let admin = self.emulator().admin_credential().clone();
        Command::new(env!("CARGO_BIN_EXE_kcform"))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(args)
            .current_dir(self.dir.path())
            .env("KCFORM_ENDPOINT", self.endpoint())
            .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID", &admin.id)
            .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET", &admin.secret)
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_STEP_SUMMARY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Waits for a spawned kcform and checks its output like any other run.
    pub fn finish(&mut self, child: std::process::Child) -> Run {
        let output = child.wait_with_output().unwrap();
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        self.outputs.push(run.stdout.clone());
        self.outputs.push(run.stderr.clone());
        self.check_secrets();
        run
    }

    /// Asserts that the project holds exactly these service accounts, each with exactly
    /// `keys_each` keys, and that every live key's secret was delivered to a secret file.
    pub fn assert_delivered(&self, project: &str, accounts: &[String], keys_each: usize) {
        let live = self.accounts(project);
        let mut names: Vec<String> = live.iter().map(|a| a.name.clone()).collect();
        names.sort();
        let mut expected = accounts.to_vec();
        expected.sort();
        assert_eq!(names, expected, "service accounts of {project}");
        let keys = self.keys(project);
        assert_eq!(keys.len(), accounts.len() * keys_each, "keys of {project}");
        let mut delivered = BTreeSet::new();
        for file in files_under(&self.dir.path().join(".kcform/secrets").join(project)) {
            let text = std::fs::read_to_string(&file).unwrap();
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            delivered.insert(json["access_key_id"].as_str().unwrap().to_string());
        }
        for key in &keys {
            assert!(
                delivered.contains(&key.id),
                "key {} ({}) has no delivered secret",
                key.id,
                key.name
            );
        }
    }

    /// Plans again and asserts that nothing is left to do.
    pub fn assert_converged(&mut self) {
        let run = self.kcform(&["plan", "--detailed-exitcode", "."]);
        assert_eq!(
            run.stdout.trim(),
            "No changes. Remote objects match the configuration.",
            "re-plan is not empty:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        assert_eq!(run.code, 0);
    }

    /// Runs a future on the world's runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The secret file of a key, parsed.
    pub fn secret_file(&self, project: &str, account: &str, key: &str) -> serde_json::Value {
        let path = self.secret_path(project, account, key);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    /// Where a key's secret file is.
    pub fn secret_path(&self, project: &str, account: &str, key: &str) -> PathBuf {
        self.dir
            .path()
            .join(".kcform/secrets")
            .join(project)
            .join(account)
            .join(format!("{key}.json"))
    }

    /// The project's ID.
    pub fn project_id(&self, name: &str) -> String {
        let projects = self.block_on(self.api.list_projects()).unwrap();
        projects
            .into_iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("project {name} does not exist"))
            .id
    }

    /// The live service accounts of a project.
    pub fn accounts(&self, project: &str) -> Vec<kcform::wire::ServiceAccount> {
        let id = self.project_id(project);
        self.block_on(self.api.list_service_accounts(&id)).unwrap()
    }

    /// The live keys of a project.
    pub fn keys(&self, project: &str) -> Vec<kcform::wire::ListedAccessKey> {
        let id = self.project_id(project);
        self.block_on(self.api.list_project_access_keys(&id))
            .unwrap()
    }

    /// Collects every secret now in a secret file and fails if any captured output, or any
    /// file under `.kcform/` other than its own secret file (the journal records under
    /// `.kcform/journal/` included), contains one.
    fn check_secrets(&mut self) {
        let secrets_dir = self.dir.path().join(".kcform/secrets");
        for file in files_under(&secrets_dir) {
            if let Ok(text) = std::fs::read_to_string(&file)
                && let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
                && let Some(secret) = json["secret_access_key"].as_str()
            {
                self.secrets_seen.insert(secret.to_string());
            }
        }
        let admin_secret = self.emulator().admin_credential().secret.clone();
        for secret in &self.secrets_seen {
            for output in &self.outputs {
                assert!(
                    !output.contains(secret.as_str()),
                    "a secret appeared in kcform's output:\n{output}"
                );
            }
            for file in files_under(&self.dir.path().join(".kcform")) {
                if file.starts_with(&secrets_dir) {
                    continue;
                }
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                let allowed = *secret == admin_secret && file.ends_with("emulator-admin.json");
                assert!(
                    allowed || !text.contains(secret.as_str()),
                    "a secret appeared in {}",
                    file.display()
                );
            }
        }
    }

    /// Number of distinct secrets delivered so far (excluding the admin key).
    pub fn secrets_delivered(&self) -> usize {
        self.secrets_seen.len() - 1
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Issues a token with an access key's ID and secret, over plain HTTP as any Keystone client
/// would; returns the HTTP status.
pub fn issue_token(endpoint: &str, id: &str, secret: &str) -> u16 {
    let body = serde_json::json!({"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": id, "secret": secret}
    }}});
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{endpoint}/identity/v3/auth/tokens"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}
