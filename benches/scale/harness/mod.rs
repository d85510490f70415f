//! The scale benchmark harness, shared by `cargo bench --bench scale` (`main.rs`) and the CI
//! smoke test (`tests/e2e/scale.rs`, which includes this folder by path).
//!
//! It starts the emulator in this process (persisted to a data file, like a real run), seeds
//! P projects × M service accounts × K keys through the API with no latency, then runs the
//! real `kcform` binary as a child process against it with a chosen latency (the emulator's
//! `latency_ms` fault) and measures each case: wall time, the API requests the emulator
//! counted (`GET /_emulator/stats`), the fewest requests this API allows and the lower bound
//! they imply (minimum requests × latency ÷ parallelism, or ÷ the rate limit when one is
//! set), and kcform's CPU time and peak memory (its rusage, read with `wait4`).
//!
//! Cases: `plan` (no changes), `plan-drift` (10% of the keys replaced through the API with
//! another description first), `apply` (everything created from empty in a fresh emulator),
//! `apply-rate-limited` (the same from empty at a smaller scale, against an emulator that
//! refuses more than R requests per second).

// Shared by the bench and the CI smoke test (`tests/e2e/scale.rs`), each using part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use kcform::cloud::{Client, ClientOptions, Credential};
use kcform::emulator::stats::StatsBody;
use kcform::emulator::{self, EmulatorOptions, RunningEmulator};
use kcform::model::Status;
use kcform::secret::Secret;

pub mod results;

pub use results::CaseResult;

/// Requests in flight while seeding (no latency then).
const SEED_PARALLELISM: usize = 32;
/// Page size of kcform's listings (the API's maximum).
const PAGE: usize = kcform::limits::PAGE_LIMIT_MAX;

/// P projects × M service accounts × K keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// Projects.
    pub projects: usize,
    /// Service accounts per project.
    pub accounts: usize,
    /// Keys per service account.
    pub keys: usize,
}

impl Scale {
    /// Parses `PxMxK`, e.g. `100x100x2`.
    pub fn parse(text: &str) -> Result<Scale, String> {
        let parts: Vec<usize> = text
            .split('x')
            .map(|p| p.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("scale `{text}` is not PxMxK, e.g. 100x100x2"))?;
        match parts[..] {
            [projects, accounts, keys]
                if projects >= 1
                    && (1..=kcform::limits::MAX_SERVICE_ACCOUNTS_PER_PROJECT)
                        .contains(&accounts)
                    && keys <= kcform::limits::MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT =>
            {
                Ok(Scale {
                    projects,
                    accounts,
                    keys,
                })
            }
            _ => Err(format!(
                "scale `{text}`: need at least 1 project, 1-100 accounts, 0-2 keys"
            )),
        }
    }

    /// Every object: projects, accounts, keys.
    pub fn objects(&self) -> usize {
        self.projects * (1 + self.accounts * (1 + self.keys))
    }

    /// The fewest requests a plan needs: a token, the project listing, and per project one
    /// account listing and one project-wide key listing (pages of 1000).
    pub fn plan_min_requests(&self) -> usize {
        1 + self.projects.div_ceil(PAGE)
            + self.projects
                * (self.accounts.div_ceil(PAGE) + (self.accounts * self.keys).max(1).div_ceil(PAGE))
    }

    /// The fewest requests an apply from empty needs: a token, the project listing, one create
    /// per object.
    pub fn apply_min_requests(&self) -> usize {
        1 + self.projects.div_ceil(PAGE) + self.objects()
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Scale of the plan and apply cases.
    pub scale: Scale,
    /// Latency of every request while measuring, in milliseconds.
    pub latency_ms: u64,
    /// kcform's `parallelism`.
    pub parallelism: usize,
    /// The cases to run, by name.
    pub cases: Vec<String>,
    /// Scale of `apply-rate-limited`.
    pub rate_scale: Scale,
    /// Requests per second the emulator allows in `apply-rate-limited` and
    /// `apply-rate-burst`.
    pub rate: u32,
    /// Scale of `apply-rate-burst`.
    pub burst_scale: Scale,
    /// Runs of each plan case; the one with the median wall time is reported.
    pub runs: usize,
    /// The kcform binary.
    pub kcform: PathBuf,
    /// Another kcform binary to compare with in the plan cases (`name@compare` rows).
    pub compare: Option<PathBuf>,
}

/// Every case, in the order they run.
pub const CASES: [&str; 5] = [
    "plan",
    "plan-drift",
    "apply",
    "apply-rate-limited",
    "apply-rate-burst",
];

/// The burst of `apply-rate-burst`: the first service-account creates are refused with this
/// `Retry-After`.
pub const BURST_RETRY_AFTER_S: u64 = 2;
/// How many creates the burst refuses.
pub const BURST_COUNT: u64 = 10;

/// Why the harness stopped.
#[derive(Debug)]
pub struct BenchError(pub String);

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

fn fail(what: &str, error: impl std::fmt::Display) -> BenchError {
    BenchError(format!("{what}: {error}"))
}

/// An emulator in this process, its data directory and an Org Admin API client.
struct Bench {
    runtime: tokio::runtime::Runtime,
    emulator: Option<RunningEmulator>,
    _dir: tempfile::TempDir,
    api: Arc<Client>,
    http: reqwest::Client,
}

impl Bench {
    fn start() -> Result<Bench, BenchError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| fail("runtime", e))?;
        let dir = tempfile::tempdir().map_err(|e| fail("temp dir", e))?;
        let options = EmulatorOptions {
            data_file: Some(dir.path().join("emulator.db")),
            ..Default::default()
        };
        let emulator = runtime
            .block_on(emulator::start(
                "127.0.0.1:0".parse().expect("address"),
                options,
            ))
            .map_err(|e| fail("emulator", e))?;
        let admin = emulator.admin_credential().clone();
        let api = Client::new(
            &emulator.base_url(),
            Credential {
                id: admin.id,
                secret: Secret::new(admin.secret),
            },
            &ClientOptions {
                parallelism: SEED_PARALLELISM,
                ..Default::default()
            },
        )
        .map_err(|e| fail("client", e))?;
        Ok(Bench {
            runtime,
            emulator: Some(emulator),
            _dir: dir,
            api: Arc::new(api),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .map_err(|e| fail("http", e))?,
        })
    }

    fn emulator(&self) -> &RunningEmulator {
        self.emulator.as_ref().expect("running until dropped")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator().base_url())
    }

    fn faults(&self, rules: &[serde_json::Value]) -> Result<(), BenchError> {
        self.runtime.block_on(async {
            let clear = self.http.delete(self.url("/_emulator/faults")).send().await;
            clear.map_err(|e| fail("clear faults", e))?;
            for rule in rules {
                let answer = self
                    .http
                    .post(self.url("/_emulator/faults"))
                    .json(&rule)
                    .send()
                    .await
                    .map_err(|e| fail("fault", e))?;
                if answer.status().as_u16() != 201 {
                    return Err(fail("fault refused", answer.status()));
                }
            }
            Ok(())
        })
    }

    fn stats(&self) -> Result<StatsBody, BenchError> {
        self.runtime.block_on(async {
            self.http
                .get(self.url("/_emulator/stats"))
                .send()
                .await
                .map_err(|e| fail("stats", e))?
                .json::<StatsBody>()
                .await
                .map_err(|e| fail("stats", e))
        })
    }

    /// Creates every object of `scale` through the API.
    fn seed(&self, scale: Scale) -> Result<(), BenchError> {
        let api = &self.api;
        self.runtime.block_on(async {
            let projects: Vec<(usize, String)> = futures_util::stream::iter(0..scale.projects)
                .map(|p| async move {
                    let project = api
                        .create_project(&project_name(p), &format!("Project {p}"), "")
                        .await?;
                    Ok::<_, kcform::cloud::CloudError>((p, project.id))
                })
                .buffer_unordered(SEED_PARALLELISM)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_, _>>()
                .map_err(|e| fail("seed projects", e))?;
            let accounts = projects
                .iter()
                .flat_map(|(p, id)| (0..scale.accounts).map(move |a| (*p, id.clone(), a)));
            let accounts: Vec<(usize, usize, String)> = futures_util::stream::iter(accounts)
                .map(|(p, project_id, a)| async move {
                    let account = api
                        .create_service_account(&project_id, &account_name(a), Status::Active)
                        .await?;
                    Ok::<_, kcform::cloud::CloudError>((p, a, account.id))
                })
                .buffer_unordered(SEED_PARALLELISM)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_, _>>()
                .map_err(|e| fail("seed service accounts", e))?;
            let keys = accounts
                .iter()
                .flat_map(|(p, a, id)| (0..scale.keys).map(move |k| (*p, *a, id.clone(), k)));
            futures_util::stream::iter(keys)
                .map(|(p, a, user_id, k)| async move {
                    api.create_access_key(&user_id, &key_name(k), &key_description(p, a, k))
                        .await
                })
                .buffer_unordered(SEED_PARALLELISM)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fail("seed access keys", e))?;
            Ok(())
        })
    }

    /// Replaces every tenth key with one of the same name and another description: a plan
    /// then replaces 10% of the keys.
    fn drift(&self, scale: Scale) -> Result<usize, BenchError> {
        let api = &self.api;
        self.runtime.block_on(async {
            let projects = api
                .list_projects()
                .await
                .map_err(|e| fail("drift projects", e))?;
            let mut keys = Vec::new();
            for project in projects.iter().filter(|p| p.name.starts_with("bench-")) {
                let listed = api
                    .list_project_access_keys(&project.id)
                    .await
                    .map_err(|e| fail("drift keys", e))?;
                keys.extend(listed);
            }
            keys.sort_by(|a, b| (&a.user_id, &a.name).cmp(&(&b.user_id, &b.name)));
            let drifted: Vec<_> = keys.into_iter().step_by(10).collect();
            let count = drifted.len();
            futures_util::stream::iter(drifted)
                .map(|key| async move {
                    api.delete_access_key(&key.user_id, &key.id).await?;
                    api.create_access_key(&key.user_id, &key.name, "drifted")
                        .await
                        .map(|_| ())
                })
                .buffer_unordered(SEED_PARALLELISM)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fail("drift", e))?;
            let _ = scale;
            Ok(count)
        })
    }

    /// Runs `kcform` in `dir` with `args` while `rules` are in force and measures it.
    #[allow(clippy::too_many_arguments)]
    fn measure(
        &self,
        kcform: &Path,
        name: &str,
        dir: &Path,
        args: &[&str],
        rules: &[serde_json::Value],
        objects: usize,
        min_requests: usize,
        bound_ms: u64,
    ) -> Result<CaseResult, BenchError> {
        self.faults(rules)?;
        let before = self.stats()?.stats;
        let admin = self.emulator().admin_credential().clone();
        let out_path = dir.join(format!(".bench-{name}.stdout"));
        let err_path = dir.join(format!(".bench-{name}.stderr"));
        let stdout = std::fs::File::create(&out_path).map_err(|e| fail("stdout file", e))?;
        let stderr = std::fs::File::create(&err_path).map_err(|e| fail("stderr file", e))?;
        let started = Instant::now();
        let child = Command::new(kcform)
            .args(args)
            .current_dir(dir)
            .env("KCFORM_ENDPOINT", self.emulator().base_url())
            .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID", &admin.id)
            .env("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET", &admin.secret)
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_STEP_SUMMARY")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| fail("cannot start kcform", e))?;
        let usage = wait_with_usage(child.id()).map_err(|e| fail("wait4", e))?;
        let wall = started.elapsed();
        let after = self.stats()?.stats;
        self.faults(&[])?;
        Ok(CaseResult {
            name: name.to_string(),
            objects,
            requests: after.requests - before.requests,
            rate_limited: after.rate_limited - before.rate_limited,
            min_requests,
            wall_ms: wall.as_millis() as u64,
            bound_ms,
            cpu_ms: usage.cpu.as_millis() as u64,
            peak_rss_mb: usage.peak_rss_kb as f64 / 1024.0,
            exit_code: usage.exit_code,
            limit_share: None,
            stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        })
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}

/// A child's exit code and resource usage.
struct Usage {
    exit_code: i32,
    cpu: Duration,
    peak_rss_kb: i64,
}

/// Waits for child `pid` and reads its rusage (`wait4`).
fn wait_with_usage(pid: u32) -> std::io::Result<Usage> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; zeroed is a valid value that wait4 overwrites.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; pid is our own child, not yet reaped.
        let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        if rc == pid as libc::pid_t {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let exit_code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(Usage {
        exit_code,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_rss_kb: usage.ru_maxrss,
    })
}

fn project_name(p: usize) -> String {
    format!("bench-p{p:03}")
}

fn account_name(a: usize) -> String {
    format!("sa-{a:03}")
}

fn key_name(k: usize) -> String {
    format!("k{k}")
}

fn key_description(p: usize, a: usize, k: usize) -> String {
    format!("key {k} of sa {a} in {p}")
}

/// Writes the configuration of `scale`: `main.toml` with the provider, one file per project.
fn write_config(dir: &Path, scale: Scale, parallelism: usize) -> Result<(), BenchError> {
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| fail("config", e))
    };
    write(
        "main.toml",
        &format!("[provider]\nparallelism = {parallelism}\n"),
    )?;
    for p in 0..scale.projects {
        let name = project_name(p);
        let mut text = format!("[project.{name}]\nnickname = \"Project {p}\"\n");
        for a in 0..scale.accounts {
            let sa = account_name(a);
            text.push_str(&format!("\n[project.{name}.service_account.{sa}]\n"));
            for k in 0..scale.keys {
                text.push_str(&format!(
                    "[project.{name}.service_account.{sa}.access_key.{}]\ndescription = \"{}\"\n",
                    key_name(k),
                    key_description(p, a, k)
                ));
            }
        }
        write(&format!("{name}.toml"), &text)?;
    }
    Ok(())
}

fn latency_rule(latency_ms: u64) -> serde_json::Value {
    serde_json::json!({"latency_ms": latency_ms})
}

fn bound_ms(min_requests: usize, latency_ms: u64, parallelism: usize) -> u64 {
    (min_requests as u64 * latency_ms).div_ceil(parallelism.max(1) as u64)
}

fn expect_success(result: &CaseResult) -> Result<(), BenchError> {
    if result.exit_code == 0 {
        return Ok(());
    }
    let tail: String = result
        .stderr
        .lines()
        .rev()
        .take(15)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    Err(BenchError(format!(
        "case {}: kcform exited with {}:\n{tail}",
        result.name, result.exit_code
    )))
}

/// The run with the median wall time: one run on a shared 2-core machine can be off by a
/// scheduling hiccup either way.
fn median(mut runs: Vec<CaseResult>) -> CaseResult {
    runs.sort_by_key(|r| r.wall_ms);
    runs.swap_remove(runs.len() / 2)
}

/// Runs the chosen cases; `progress` gets a line as each step starts.
pub fn run(
    options: &Options,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<CaseResult>, BenchError> {
    let wants = |case: &str| options.cases.iter().any(|c| c == case);
    let scale = options.scale;
    let mut results = Vec::new();
    let config = tempfile::tempdir().map_err(|e| fail("temp dir", e))?;
    write_config(config.path(), scale, options.parallelism)?;

    if wants("plan") || wants("plan-drift") {
        let bench = Bench::start()?;
        let started = Instant::now();
        progress(&format!("seeding {} objects", scale.objects()));
        bench.seed(scale)?;
        progress(&format!("seeded in {} ms", started.elapsed().as_millis()));
        let min = scale.plan_min_requests();
        let bound = bound_ms(min, options.latency_ms, options.parallelism);
        // Each plan case: the median of `runs` plans, every one checked for `expected`; with a
        // binary to compare, the two take turns, so both see the same swings of the machine.
        let plan_case = |name: &str, expected: &str| -> Result<Vec<CaseResult>, BenchError> {
            let binaries: Vec<(String, &Path)> =
                std::iter::once((name.to_string(), &*options.kcform))
                    .chain(
                        options
                            .compare
                            .as_deref()
                            .map(|other| (format!("{name}@compare"), other)),
                    )
                    .collect();
            let mut runs = vec![Vec::new(); binaries.len()];
            for _ in 0..options.runs.max(1) {
                for ((label, kcform), runs) in binaries.iter().zip(&mut runs) {
                    let result = bench.measure(
                        kcform,
                        label,
                        config.path(),
                        &["plan", "."],
                        &[latency_rule(options.latency_ms)],
                        scale.objects(),
                        min,
                        bound,
                    )?;
                    expect_success(&result)?;
                    if !result.stdout.contains(expected) {
                        let lines: Vec<&str> = result.stdout.lines().collect();
                        return Err(BenchError(format!(
                            "case {label}: expected `{expected}`, got (last lines):\n{}",
                            lines[lines.len().saturating_sub(20)..].join("\n")
                        )));
                    }
                    runs.push(result);
                }
            }
            Ok(runs.into_iter().map(median).collect())
        };
        if wants("plan") {
            progress("plan (no changes)");
            results.extend(plan_case("plan", "No changes.")?);
        }
        if wants("plan-drift") {
            progress("drifting 10% of the keys");
            let drifted = bench.drift(scale)?;
            progress("plan (10% drift)");
            results.extend(plan_case(
                "plan-drift",
                &format!(
                    "Plan: {drifted} to add, 0 to change, 0 to deactivate, {drifted} to destroy."
                ),
            )?);
        }
    }

    if wants("apply") {
        progress("apply from empty");
        let bench = Bench::start()?;
        let dir = tempfile::tempdir().map_err(|e| fail("temp dir", e))?;
        write_config(dir.path(), scale, options.parallelism)?;
        let min = scale.apply_min_requests();
        let result = bench.measure(
            &options.kcform,
            "apply",
            dir.path(),
            &["apply", "--auto-approve", "."],
            &[latency_rule(options.latency_ms)],
            scale.objects(),
            min,
            bound_ms(min, options.latency_ms, options.parallelism),
        )?;
        expect_success(&result)?;
        results.push(result);
    }

    if wants("apply-rate-limited") {
        progress(&format!("apply from empty at {} requests/s", options.rate));
        let mut result =
            rate_limited_apply(options, "apply-rate-limited", options.rate_scale, None)?;
        result.limit_share = Some(limit_share(&result, options.rate, 0, 0));
        results.push(result);
    }

    if wants("apply-rate-burst") {
        progress(&format!(
            "apply from empty at {} requests/s after a burst of {BURST_COUNT} 429s",
            options.rate
        ));
        // Account creates run `parallelism` at once: the burst refuses a whole round.
        let burst = serde_json::json!({
            "method": "POST",
            "path": "/identity/v3/projects/*/service_accounts",
            "status": 429,
            "retry_after": BURST_RETRY_AFTER_S,
            "count": BURST_COUNT,
        });
        let mut result = rate_limited_apply(
            options,
            "apply-rate-burst",
            options.burst_scale,
            Some(burst),
        )?;
        result.limit_share = Some(limit_share(
            &result,
            options.rate,
            BURST_COUNT,
            BURST_RETRY_AFTER_S * 1000,
        ));
        results.push(result);
    }
    Ok(results)
}

/// An apply from empty at `scale` against the emulator's rate limit (and `burst`, if any),
/// with the case's latency on every request.
fn rate_limited_apply(
    options: &Options,
    name: &str,
    scale: Scale,
    burst: Option<serde_json::Value>,
) -> Result<CaseResult, BenchError> {
    let bench = Bench::start()?;
    let dir = tempfile::tempdir().map_err(|e| fail("temp dir", e))?;
    write_config(dir.path(), scale, options.parallelism)?;
    let min = scale.apply_min_requests();
    let by_latency = bound_ms(min, options.latency_ms, options.parallelism);
    let by_rate = (min as u64 * 1000).div_ceil(u64::from(options.rate.max(1)));
    let pause = if burst.is_some() {
        BURST_RETRY_AFTER_S * 1000
    } else {
        0
    };
    let mut rules =
        vec![serde_json::json!({"latency_ms": options.latency_ms, "rate_limit": options.rate})];
    rules.extend(burst);
    let result = bench.measure(
        &options.kcform,
        name,
        dir.path(),
        &["apply", "--auto-approve", "."],
        &rules,
        scale.objects(),
        min,
        by_latency.max(by_rate) + pause,
    )?;
    expect_success(&result)?;
    Ok(result)
}

/// The share of the rate limit a run reached: the requests the server accepted (neither
/// refused by the limit nor by the `refused` injected ones) per second of the run, less the
/// `paused_ms` the server asked for, ÷ `rate`.
fn limit_share(result: &CaseResult, rate: u32, refused: u64, paused_ms: u64) -> f64 {
    let accepted = result
        .requests
        .saturating_sub(result.rate_limited + refused) as f64;
    let allowed_ms = result.wall_ms.saturating_sub(paused_ms).max(1) as f64;
    accepted * 1000.0 / allowed_ms / f64::from(rate.max(1))
}

/// Options from the environment (`KCFORM_BENCH_*`, see docs/scale.md), with these defaults.
pub fn options_from_env(kcform: PathBuf) -> Result<Options, BenchError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let number = |name: &str, default: u64| -> Result<u64, BenchError> {
        match var(name) {
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| BenchError(format!("{name}=`{v}` is not a whole number"))),
            None => Ok(default),
        }
    };
    let scale = Scale::parse(&var("KCFORM_BENCH_SCALE").unwrap_or_else(|| "100x100x2".into()))
        .map_err(BenchError)?;
    let rate_scale =
        Scale::parse(&var("KCFORM_BENCH_RATE_SCALE").unwrap_or_else(|| "10x20x2".into()))
            .map_err(BenchError)?;
    let burst_scale =
        Scale::parse(&var("KCFORM_BENCH_BURST_SCALE").unwrap_or_else(|| "5x100x1".into()))
            .map_err(BenchError)?;
    let cases: Vec<String> = match var("KCFORM_BENCH_CASES") {
        Some(list) => list.split(',').map(|c| c.trim().to_string()).collect(),
        None => CASES.iter().map(|c| c.to_string()).collect(),
    };
    if let Some(bad) = cases.iter().find(|c| !CASES.contains(&c.as_str())) {
        return Err(BenchError(format!(
            "unknown case `{bad}`; the cases are {}",
            CASES.join(", ")
        )));
    }
    Ok(Options {
        scale,
        latency_ms: number("KCFORM_BENCH_LATENCY_MS", 20)?,
        parallelism: number("KCFORM_BENCH_PARALLELISM", 10)?.max(1) as usize,
        cases,
        rate_scale,
        rate: number("KCFORM_BENCH_RATE", 200)?.max(1) as u32,
        burst_scale,
        runs: number("KCFORM_BENCH_RUNS", 5)?.max(1) as usize,
        kcform: var("KCFORM_BENCH_BIN").map_or(kcform, PathBuf::from),
        compare: var("KCFORM_BENCH_COMPARE").map(PathBuf::from),
    })
}
