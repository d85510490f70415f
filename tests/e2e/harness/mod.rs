//! The end-to-end harness: a real emulator on 127.0.0.1:0 (in the test's process, or as a
//! `kcform emulator` process that a test can kill and restart), the real `kcform` binary
//! talking to it over HTTP, a temporary configuration directory, and a guard that fails the
//! test if any access-key secret ever shows up in a captured stdout or stderr or outside its
//! secret file.

use std::collections::BTreeSet;
use std::io::{BufRead as _, Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use kcform::cloud::{Client, ClientOptions, Credential};
use kcform::emulator::{self, EmulatorOptions, RunningEmulator};
use kcform::secret::Secret;
use kcform::wire::{AccessKeyCredential, EmulatorUser};

mod emulator_process;
mod running;

pub use emulator_process::EmulatorProcess;
pub use running::RunningKcform;
use running::read_lines_in_background;

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
    /// The in-process emulator of [`World::new`].
    pub emulator: Option<RunningEmulator>,
    /// The emulator process of [`World::with_emulator_process`].
    process: Option<EmulatorProcess>,
    pub dir: tempfile::TempDir,
    pub api: Arc<Client>,
    /// The Org Admin key that kcform and `api` authenticate with.
    admin: AccessKeyCredential,
    outputs: Vec<String>,
    /// What the leak check looks for and how far it got (see [`World::check_secrets`]).
    leaks: LeakCheck,
    /// Directories outside `.kcform/` that a `[secrets] command` delivers to.
    command_sinks: Vec<PathBuf>,
    env: Vec<(String, String)>,
    /// Variables of the test's own environment the kcform runs do not inherit.
    unset: Vec<String>,
}

impl World {
    /// A fresh in-memory emulator and an empty configuration directory.
    pub fn new() -> World {
        let runtime = test_runtime();
        let emulator = runtime
            .block_on(emulator::start(
                "127.0.0.1:0".parse().unwrap(),
                EmulatorOptions::default(),
            ))
            .unwrap();
        let admin = emulator.admin_credential().clone();
        let mut world = World::around(runtime, &emulator.base_url(), admin);
        world.emulator = Some(emulator);
        world
    }

    /// A fresh emulator running as a `kcform emulator` process with a data file (see
    /// [`EmulatorProcess`]), and an empty configuration directory. kcform authenticates as an
    /// Org Admin person rather than with the bootstrap key, which every start of the emulator
    /// replaces: the person's key survives [`World::kill_emulator`] and
    /// [`World::restart_emulator`].
    pub fn with_emulator_process() -> World {
        let runtime = test_runtime();
        let process = EmulatorProcess::start();
        let url = format!("{}/_emulator/users", process.base_url());
        let person: EmulatorUser = runtime.block_on(async {
            let response = control_client()
                .post(url)
                .json(&serde_json::json!({"name": "chaos-admin", "org_role": "org-admin"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 201, "the Org Admin person");
            response.json().await.unwrap()
        });
        let mut world = World::around(runtime, &process.base_url(), person.access_key);
        world.leaks.look_for(process.bootstrap_secret(), false);
        world.process = Some(process);
        world
    }

    /// A world around an emulator at `endpoint` that `admin` can manage.
    fn around(
        runtime: tokio::runtime::Runtime,
        endpoint: &str,
        admin: AccessKeyCredential,
    ) -> World {
        let api = Client::new(
            endpoint,
            Credential {
                id: admin.id.clone(),
                secret: Secret::new(admin.secret.clone()),
            },
            &ClientOptions::default(),
        )
        .unwrap();
        let mut leaks = LeakCheck::default();
        leaks.look_for(admin.secret.clone(), false);
        World {
            runtime,
            emulator: None,
            process: None,
            dir: tempfile::tempdir().unwrap(),
            api: Arc::new(api),
            admin,
            outputs: Vec::new(),
            leaks,
            command_sinks: Vec::new(),
            env: vec![("KCFORM_NOW".to_string(), String::new())],
            unset: Vec::new(),
        }
    }

    /// The emulator's base URL.
    pub fn endpoint(&self) -> String {
        match (&self.emulator, &self.process) {
            (Some(emulator), _) => emulator.base_url(),
            (None, Some(process)) => process.base_url(),
            (None, None) => unreachable!("a world always has an emulator"),
        }
    }

    fn process(&mut self) -> &mut EmulatorProcess {
        self.process
            .as_mut()
            .expect("only a world made by World::with_emulator_process has an emulator process")
    }

    /// Kills the emulator process with SIGKILL (see [`EmulatorProcess::kill`]).
    pub fn kill_emulator(&mut self) {
        self.process().kill();
    }

    /// Starts the emulator process again on its port and data file, and waits until it
    /// answers. Its new bootstrap key joins the secrets that must never show up.
    pub fn restart_emulator(&mut self) {
        let process = self.process();
        process.restart();
        let secret = process.bootstrap_secret();
        self.leaks.look_for(secret, false);
    }

    /// The emulator process's data file (an SQLite database) and its WAL (see `docs/api.md`,
    /// Persistence).
    pub fn emulator_data_files(&mut self) -> [PathBuf; 2] {
        let data = self.process().data_file();
        let mut wal = data.clone().into_os_string();
        wal.push("-wal");
        [data, PathBuf::from(wal)]
    }

    /// Also collects the secrets in the `*.json` files under `dir`, where a `[secrets]
    /// command` delivers them, for the leak checks (`dir` is outside `.kcform/`, so it is never
    /// scanned itself).
    pub fn add_command_sink(&mut self, dir: &Path) {
        self.command_sinks.push(dir.to_path_buf());
    }

    /// Writes a configuration file (replacing it).
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs kcform in the configuration directory against the emulator as Org Admin.
    pub fn kcform(&mut self, args: &[&str]) -> Run {
        let admin = self.admin.clone();
        self.kcform_as(args, &admin.id, &admin.secret)
    }

    /// Keeps a variable of the test's environment from the following runs (e.g. `AWS_*`).
    pub fn unset_env(&mut self, name: &str) {
        self.env.retain(|(k, _)| k != name);
        self.unset.push(name.to_string());
    }

    /// Sets an extra environment variable for the following runs (e.g. `KCFORM_NOW`).
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.unset.retain(|unset| unset != name);
        self.env.push((name.to_string(), value.to_string()));
    }

    /// Runs kcform with the given credential.
    pub fn kcform_as(&mut self, args: &[&str], id: &str, secret: &str) -> Run {
        let mut command = self.command(env!("CARGO_BIN_EXE_kcform"), id, secret);
        command.args(args);
        let output = command.output().unwrap();
        self.record(output)
    }

    /// `program` in the world's directory with the environment every kcform run gets: the
    /// world's endpoint, the credential `id`/`secret`, no colors, none of the test's CI
    /// variables, the extra variables set and without those unset.
    fn command(&self, program: &str, id: &str, secret: &str) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.dir.path())
            .env("KCFORM_ENDPOINT", self.endpoint())
            .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID", id)
            .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET", secret)
            .env("NO_COLOR", "1")
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null());
        for name in &self.unset {
            command.env_remove(name);
        }
        command
    }

    /// Runs a shell script (`bash -e`) in the world's directory with the environment every
    /// kcform run gets and the kcform under test first on `PATH`: for scripts that call
    /// `kcform` the way a CI workflow does. Its output is checked for secrets like kcform's.
    pub fn script(&mut self, script: &str) -> Run {
        let bin = Path::new(env!("CARGO_BIN_EXE_kcform"))
            .parent()
            .expect("the binary is in a directory")
            .to_path_buf();
        let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .unwrap();
        let admin = self.admin.clone();
        let mut command = self.command("bash", &admin.id, &admin.secret);
        command.args(["-e", "-c", script]).env("PATH", path);
        let output = command.output().unwrap();
        self.record(output)
    }

    /// A finished run's output, checked for secrets like every output.
    fn record(&mut self, output: std::process::Output) -> Run {
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
            control_client()
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
        let status =
            self.block_on(async { control_client().delete(url).send().await.unwrap().status() });
        assert_eq!(status.as_u16(), 204);
    }

    /// Starts kcform in the background with the same environment as [`World::kcform`];
    /// hand its output to [`World::finish`].
    pub fn spawn_kcform(&self, args: &[&str]) -> Child {
        let admin = &self.admin;
        self.command(env!("CARGO_BIN_EXE_kcform"), &admin.id, &admin.secret)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Waits for a spawned kcform and checks its output like any other run.
    pub fn finish(&mut self, child: Child) -> Run {
        let output = child.wait_with_output().unwrap();
        self.record(output)
    }

    /// Starts kcform like [`World::spawn_kcform`], reading its output as it comes, so that a
    /// test can act at a given point of the run (see [`RunningKcform::wait_for_lines`]); hand
    /// it to [`World::finish_within`].
    pub fn start_kcform(&self, args: &[&str]) -> RunningKcform {
        let mut child = self.spawn_kcform(args);
        let (line, lines) = mpsc::channel();
        let stdout = read_lines_in_background(child.stdout.take(), line.clone());
        let stderr = read_lines_in_background(child.stderr.take(), line);
        RunningKcform {
            child,
            lines,
            stdout,
            stderr,
        }
    }

    /// Waits for a started kcform and checks its output like any other run; a run still going
    /// after `limit` is killed and fails the test. (A run killed by a signal exits with -1.)
    pub fn finish_within(&mut self, running: RunningKcform, limit: Duration) -> Run {
        let RunningKcform {
            mut child,
            stdout,
            stderr,
            ..
        } = running;
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "kcform did not finish within {limit:?}\n--- stdout\n{}\n--- stderr\n{}",
                    String::from_utf8_lossy(&stdout.join().unwrap()),
                    String::from_utf8_lossy(&stderr.join().unwrap())
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let output = std::process::Output {
            status,
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        };
        self.record(output)
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

    /// The HTTP status of a token issued with the key in a delivered secret file (201 when
    /// the secret is the key's and the key works).
    pub fn token_status(&self, file: &serde_json::Value) -> u16 {
        issue_token(
            &self.endpoint(),
            file["access_key_id"].as_str().unwrap(),
            file["secret_access_key"].as_str().unwrap(),
        )
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
    /// `.kcform/journal/` included), contains one. Each output is checked against each secret
    /// once, and each file again only when it changed (a test that runs kcform hundreds of
    /// times would otherwise spend longer here than in kcform).
    fn check_secrets(&mut self) {
        let secrets_dir = self.dir.path().join(".kcform/secrets");
        let command_files = self.command_sinks.iter().flat_map(|dir| {
            files_under(dir)
                .into_iter()
                .filter(|file| file.extension().is_some_and(|e| e == "json"))
        });
        for file in files_under(&secrets_dir).into_iter().chain(command_files) {
            if let Ok(text) = std::fs::read_to_string(&file)
                && let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
                && let Some(secret) = json["secret_access_key"].as_str()
            {
                self.leaks.look_for(secret.to_string(), true);
            }
        }
        let leaks = &mut self.leaks;
        let secrets = &leaks.secrets;
        for (index, output) in self.outputs.iter().enumerate() {
            let new_to_it = if index < leaks.outputs_checked {
                leaks.secrets_checked
            } else {
                0
            };
            for secret in &secrets[new_to_it..] {
                assert!(
                    !output.contains(secret.as_str()),
                    "a secret appeared in kcform's output:\n{output}"
                );
            }
        }
        leaks.outputs_checked = self.outputs.len();
        leaks.secrets_checked = secrets.len();
        let admin_secret = &self.admin.secret;
        for file in files_under(&self.dir.path().join(".kcform")) {
            if file.starts_with(&secrets_dir) {
                continue;
            }
            let stamp = FileStamp::of(&file);
            let new_to_it = match leaks.files_checked.get(&file) {
                Some((checked, count)) if Some(checked) == stamp.as_ref() => *count,
                _ => 0,
            };
            if new_to_it == secrets.len() {
                continue;
            }
            // Lossy: the embedded emulator's database is binary, its text stored as it is.
            let text =
                String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).into_owned();
            for secret in &secrets[new_to_it..] {
                let allowed = secret == admin_secret && file.ends_with("emulator-admin.json");
                assert!(
                    allowed || !text.contains(secret.as_str()),
                    "a secret appeared in {}",
                    file.display()
                );
            }
            if let Some(stamp) = stamp {
                leaks.files_checked.insert(file, (stamp, secrets.len()));
            }
        }
    }

    /// Adds a secret delivered somewhere the leak check cannot read (a secret store) to the
    /// secrets it looks for, and checks every output and file so far against it.
    pub fn watch_secret(&mut self, secret: &str) {
        self.leaks.look_for(secret.to_string(), true);
        self.check_secrets();
    }

    /// Number of distinct secrets delivered so far (excluding the admin key).
    pub fn secrets_delivered(&self) -> usize {
        self.leaks.delivered
    }
}

/// The secrets the leak check looks for, and what it has checked against them.
#[derive(Default)]
struct LeakCheck {
    /// Every secret, in the order first seen: the admin key's, an emulator process's bootstrap
    /// keys' and every delivered one.
    secrets: Vec<String>,
    /// The same, to tell a new one.
    seen: BTreeSet<String>,
    /// How many of them were delivered.
    delivered: usize,
    /// The outputs before this index are checked against the secrets before `secrets_checked`.
    outputs_checked: usize,
    secrets_checked: usize,
    /// Each file checked, as it was then, and against how many secrets.
    files_checked: std::collections::HashMap<PathBuf, (FileStamp, usize)>,
}

impl LeakCheck {
    fn look_for(&mut self, secret: String, delivered: bool) {
        if self.seen.insert(secret.clone()) {
            self.secrets.push(secret);
            self.delivered += usize::from(delivered);
        }
    }
}

/// What tells whether a file changed since it was checked: kcform replaces its records by
/// renaming a new file over them (a new inode) and appends to none without growing it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    inode: u64,
    len: u64,
    modified: std::time::SystemTime,
}

impl FileStamp {
    fn of(file: &Path) -> Option<FileStamp> {
        use std::os::unix::fs::MetadataExt as _;
        let metadata = std::fs::metadata(file).ok()?;
        Some(FileStamp {
            inode: metadata.ino(),
            len: metadata.len(),
            modified: metadata.modified().ok()?,
        })
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}

/// Every file under `dir` (none if it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
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

/// An HTTP client for the emulator's control routes and raw requests: an emulator that stops
/// answering fails the test instead of hanging it.
fn control_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
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
        control_client()
            .post(format!("{endpoint}/identity/v3/auth/tokens"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}
