//! A seeded chaos campaign: the real kcform against a `kcform emulator` process with a data
//! file. Each step changes the configuration at random (service accounts and keys added and
//! removed in up to two projects, rotations and descriptions changed, accounts deactivated and
//! activated again, the secret sink switched between the directory and a command), injects
//! random faults (lost answers, 429 bursts with `Retry-After`, 500/503, dropped connections,
//! read-after-write lag, latency) and runs `apply --auto-approve`, which may be disturbed: kcform
//! killed with SIGKILL at a random moment (counted from its start, or from the plan's summary
//! line or the n-th finished operation in its output, to strike while keys are created), or the
//! emulator killed with SIGKILL during it and started again on its data file. Then the faults
//! are cleared and kcform's invariants checked:
//!
//! 1. **No key without its secret**, unless the next plan replaces or deletes it with a reason:
//!    every live key whose ID is in no file of the sink is replaced or deleted by
//!    `plan --format json`.
//! 2. **One clean apply converges**: it exits 0, the re-plan reports no changes, the live
//!    objects are the configuration's, and every live key's secret is in the sink and
//!    authenticates.
//! 3. **No duplicate objects**: one service account per name and project; per account, one key
//!    per declared name (two generations of a key being replaced only before the clean apply).
//! 4. **No secret outside the sink**: the harness checks every output and every file under
//!    `.kcform/` (the secrets directory aside) for the secrets delivered so far, after every
//!    run; and after every step this test looks for any secret the emulator ever issued —
//!    delivered or not — in this step's outputs and in those files, by its SHA-256 in the
//!    emulator's data file.
//! 5. **A changed rotation or description replaces the key** (its ID after the step differs).
//!
//! `KCFORM_CHAOS_SEED` replays a campaign and `KCFORM_CHAOS_STEPS` sets its length (default
//! [`DEFAULT_STEPS`]). The seed decides every step (changes, faults, when and what is killed);
//! only where in its work a killed process was is up to timing. The seed and the figures are
//! printed at the end (on stderr, which the test harness does not capture), and a failure names
//! the seed and the step.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::harness::{Run, RunningKcform, World, files_under, issue_token};

mod config;
mod faults;
mod figures;
mod live;

use config::*;
use faults::*;
use figures::*;
use live::*;

/// Steps when `KCFORM_CHAOS_STEPS` is not set: every kind of fault and disturbance comes up,
/// and CI runs it in 10-30 s on two cores.
const DEFAULT_STEPS: usize = 15;

/// A kcform run still going after this has hung: the slowest legitimate one waits out a few
/// one-second `Retry-After`s, retries across an emulator restart and a few 503 backoffs.
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// A disturbance timed from the start strikes this long after it, at most.
const KILL_WINDOW_MS: u64 = 800;

/// A disturbance timed by the apply's progress strikes this long after its line, at most
/// (about a round trip at the latency below).
const OPERATION_KILL_WINDOW_MS: u64 = 150;

/// The latency of every request while a disturbed apply runs (milliseconds).
const STRETCH_LATENCY_MS: std::ops::RangeInclusive<u64> = 20..=100;

/// A killed emulator stays down this long, at most (kcform's retries of one call span about
/// three seconds, so it may or may not ride a restart out).
const MAX_DOWNTIME_MS: u64 = 1200;

/// The projects; the second is declared by a step, and a project once declared stays declared
/// (kcform leaves undeclared projects alone, so their keys would be nobody's).
const PROJECTS: [&str; 2] = ["chaos-a", "chaos-b"];

/// Service-account names a project may declare.
const ACCOUNTS: [&str; 5] = ["sa-1", "sa-2", "sa-3", "sa-4", "sa-5"];

/// At most this many accounts per project: a few, and with their keys below the ten objects
/// at which the mass-deletion rail starts counting (the applies pass `--force` all the same:
/// generations and orphans can add keys, and the rail is not what this test is about).
const MAX_ACCOUNTS: usize = 4;

/// Key names an account may declare, at most [`MAX_KEYS`] at once (the API's limit).
const KEYS: [&str; 3] = ["ci", "ops", "web"];
const MAX_KEYS: usize = 2;

/// Parallelism of the disturbed applies, one picked per step.
const PARALLELISMS: [usize; 4] = [1, 2, 4, 10];

const NO_CHANGES: &str = "No changes. Remote objects match the configuration.";

#[test]
fn a_seeded_chaos_campaign_keeps_every_invariant() {
    let seed = match std::env::var("KCFORM_CHAOS_SEED") {
        Ok(text) => text
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("KCFORM_CHAOS_SEED={text} is not a u64")),
        Err(_) => rand::random(),
    };
    let steps = match std::env::var("KCFORM_CHAOS_STEPS") {
        Ok(text) => text
            .parse::<usize>()
            .unwrap_or_else(|_| panic!("KCFORM_CHAOS_STEPS={text} is not a number")),
        Err(_) => DEFAULT_STEPS,
    };
    let started = Instant::now();
    report(&format!(
        "chaos campaign: seed {seed}, {steps} steps (replay: KCFORM_CHAOS_SEED={seed})"
    ));
    let mut campaign = Campaign::new(seed);
    for step in 1..=steps {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| campaign.step(step))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            report(&campaign.figures.summary(seed, started.elapsed()));
            panic!(
                "chaos campaign failed at step {step} of seed {seed} (replay: KCFORM_CHAOS_SEED={seed} KCFORM_CHAOS_STEPS={step} cargo test --locked --test e2e chaos): {message}"
            );
        }
    }
    report(&campaign.figures.summary(seed, started.elapsed()));
}

/// Writes a line to the real stderr, which libtest does not capture (`eprintln!` it does).
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

struct Campaign {
    rng: StdRng,
    world: World,
    config: Config,
    /// Where the `[secrets] command` delivers: one new file per secret.
    vault: tempfile::TempDir,
    /// Key ID by address after the last step converged (for invariant 5).
    converged_keys: BTreeMap<String, String>,
    /// SHA-256 of every secret the emulator has issued, read from its data files.
    issued_secret_hashes: BTreeSet<String>,
    /// Everything this step's kcform runs printed.
    step_outputs: Vec<String>,
    figures: Figures,
}

impl Campaign {
    fn new(seed: u64) -> Campaign {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut world = World::with_emulator_process();
        let vault = tempfile::tempdir().unwrap();
        world.add_command_sink(vault.path());
        let config = Config::initial(&mut rng);
        Campaign {
            rng,
            world,
            config,
            vault,
            converged_keys: BTreeMap::new(),
            issued_secret_hashes: BTreeSet::new(),
            step_outputs: Vec::new(),
            figures: Figures::default(),
        }
    }

    fn step(&mut self, step: usize) {
        let previous = self.config.clone();
        // Step 1 applies the initial configuration; later steps change it first.
        let changes = if step == 1 {
            vec!["initial configuration".to_string()]
        } else {
            self.config.mutate(&mut self.rng)
        };
        let mut faults = random_faults(&mut self.rng);
        let disturbance = Disturbance::random(&mut self.rng);
        if !matches!(disturbance, Disturbance::None) {
            // Against an emulator answering at once an apply of a few objects takes a tenth of
            // a second: latency spreads it over the kill window, so kills strike its middle.
            faults.push((
                "latency",
                json!({"latency_ms": self.rng.random_range(STRETCH_LATENCY_MS),
                       "jitter_ms": self.rng.random_range(0..=20)}),
            ));
        }
        let parallelism = PARALLELISMS[self.rng.random_range(0..PARALLELISMS.len())];
        eprintln!(
            "step {step}: changes {changes:?}; faults {:?}; {disturbance:?}; parallelism {parallelism}",
            faults
                .iter()
                .map(|(_, rule)| rule.to_string())
                .collect::<Vec<_>>()
        );
        self.figures.changes += changes.len();
        self.step_outputs.clear();
        self.world
            .write("main.toml", &self.config.render(self.vault.path()));
        for (name, rule) in faults {
            self.world.fault(rule);
            *self.figures.faults.entry(name).or_default() += 1;
        }

        let started = Instant::now();
        let ended = self.disturbed_apply(disturbance, parallelism);
        *self.figures.applies.entry(ended).or_default() += 1;
        eprintln!(
            "step {step}: the apply {ended} after {:.1} s",
            started.elapsed().as_secs_f64()
        );
        self.world.clear_faults();
        self.note_issued_secrets();

        let live = self.read_live();
        self.check_no_duplicates(&live, false);
        self.check_undelivered_keys_are_replaced(&live);
        self.converge();
        let live = self.read_live();
        self.check_no_duplicates(&live, true);
        self.check_live_matches_config(&live);
        self.check_every_key_delivered(&live);
        self.check_changed_keys_replaced(&previous, &live);
        self.note_issued_secrets();
        self.check_no_secret_by_hash();
        self.converged_keys = live
            .keys
            .iter()
            .map(|key| (key.address(), key.id.clone()))
            .collect();
        self.figures.steps += 1;
        eprintln!(
            "step {step}: invariants hold, {:.1} s after the apply started",
            started.elapsed().as_secs_f64()
        );
    }

    /// Runs kcform to its end (bounded by [`RUN_LIMIT`]).
    fn kcform(&mut self, args: &[&str]) -> Run {
        let running = self.world.start_kcform(args);
        self.finish(running)
    }

    fn finish(&mut self, running: RunningKcform) -> Run {
        let run = self.world.finish_within(running, RUN_LIMIT);
        self.figures.kcform_runs += 1;
        // The harness has just checked this run's output and kcform's files for every secret
        // delivered so far.
        self.figures
            .check("4: no delivered secret outside the sink");
        self.step_outputs.push(run.stdout.clone());
        self.step_outputs.push(run.stderr.clone());
        run
    }

    /// The step's apply, under its disturbance; returns how it ended.
    fn disturbed_apply(&mut self, disturbance: Disturbance, parallelism: usize) -> &'static str {
        let parallelism = parallelism.to_string();
        let args = [
            "apply",
            "--auto-approve",
            "--force",
            "--parallelism",
            &parallelism,
            ".",
        ];
        let mut killed = false;
        let run = match disturbance {
            Disturbance::None => self.kcform(&args),
            Disturbance::KillKcform(moment) => {
                let mut running = self.world.start_kcform(&args);
                if moment.wait(&mut running) {
                    running.kill();
                    killed = true;
                    self.figures.kcform_kills += 1;
                } else {
                    self.figures.kcform_kills_too_late += 1;
                }
                self.finish(running)
            }
            Disturbance::KillEmulator { at, down_ms } => {
                let mut running = self.world.start_kcform(&args);
                if at.wait(&mut running) {
                    self.figures.emulator_kills_mid_apply += 1;
                }
                // Read the database first: a restart may checkpoint its WAL, and the keys
                // created and deleted since must not be forgotten.
                self.note_issued_secrets();
                self.world.kill_emulator();
                self.figures.emulator_kills += 1;
                std::thread::sleep(Duration::from_millis(down_ms));
                self.world.restart_emulator();
                self.finish(running)
            }
        };
        match run.code {
            _ if killed => "killed",
            0 => "succeeded",
            1 => "failed",
            code => panic!(
                "the disturbed apply exited {code} (0 or 1 expected)\n--- stdout\n{}\n--- stderr\n{}",
                run.stdout, run.stderr
            ),
        }
    }

    /// Invariant 2: a clean apply succeeds and leaves nothing to do.
    fn converge(&mut self) {
        let run = self.kcform(&["apply", "--auto-approve", "--force", "."]);
        assert_eq!(
            run.code, 0,
            "the clean apply failed\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        );
        let run = self.kcform(&["plan", "--detailed-exitcode", "."]);
        assert!(
            run.code == 0 && run.stdout.trim() == NO_CHANGES,
            "the clean apply did not converge: the re-plan exited {}\n--- stdout\n{}\n--- stderr\n{}",
            run.code,
            run.stdout,
            run.stderr
        );
        self.figures.check("2: one clean apply converges");
    }

    /// The live projects, accounts and keys of the declared projects, read as Org Admin.
    fn read_live(&self) -> Live {
        let world = &self.world;
        let mut live = Live::default();
        for project in world.block_on(world.api.list_projects()).unwrap() {
            if !self.config.projects.contains_key(project.name.as_str()) {
                continue;
            }
            let accounts = world
                .block_on(world.api.list_service_accounts(&project.id))
                .unwrap();
            let keys = world
                .block_on(world.api.list_project_access_keys(&project.id))
                .unwrap();
            let names: BTreeMap<&str, &str> = accounts
                .iter()
                .map(|a| (a.id.as_str(), a.name.as_str()))
                .collect();
            for key in keys {
                let account = names
                    .get(key.user_id.as_str())
                    .unwrap_or_else(|| panic!("key {} belongs to no listed account", key.id));
                live.keys.push(LiveKey {
                    project: project.name.clone(),
                    account: account.to_string(),
                    remote_name: key.name,
                    id: key.id,
                    status: key.status,
                    description: key.description.unwrap_or_default(),
                });
            }
            for account in accounts {
                live.accounts.push(LiveAccount {
                    project: project.name.clone(),
                    name: account.name,
                    status: account.status,
                });
            }
            live.projects.insert(project.name);
        }
        live
    }

    /// Key ID → secret of every file in the sink: `.kcform/secrets` and the command's files.
    fn delivered(&self) -> BTreeMap<String, String> {
        let dir_files = files_under(&self.world.dir.path().join(".kcform/secrets"));
        let command_files = files_under(self.vault.path());
        let mut delivered = BTreeMap::new();
        for file in dir_files.into_iter().chain(command_files) {
            // Half-written files (kcform's `.<key>.json.*.tmp`, the command's `.delivery.*`) are
            // no delivery; a `*.json` file is complete, as both write atomically.
            if file.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let json: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("sink file {} is not JSON: {e}", file.display()));
            let (Some(id), Some(secret)) = (
                json["access_key_id"].as_str(),
                json["secret_access_key"].as_str(),
            ) else {
                panic!("sink file {} lacks the key ID or secret", file.display());
            };
            if let Some(other) = delivered.insert(id.to_string(), secret.to_string()) {
                assert_eq!(
                    other,
                    secret,
                    "two secrets delivered for key {id} (one in {})",
                    file.display()
                );
            }
        }
        delivered
    }

    /// Invariant 3: no two accounts of one name in a project, and per account no two keys of
    /// one declared name — unless `converged` is false, when a key may have the two
    /// generations of a replacement that was interrupted.
    fn check_no_duplicates(&mut self, live: &Live, converged: bool) {
        let mut accounts = BTreeSet::new();
        for account in &live.accounts {
            assert!(
                accounts.insert((&account.project, &account.name)),
                "two live service accounts named {} in project {}",
                account.name,
                account.project
            );
        }
        let mut generations: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for key in &live.keys {
            generations
                .entry(key.address())
                .or_default()
                .push(&key.remote_name);
        }
        for (address, names) in generations {
            let allowed = if converged { 1 } else { 2 };
            if names.len() == 2 {
                self.figures.keys_with_two_generations += 1;
            }
            assert!(
                names.len() <= allowed,
                "{} live keys for {address}: {names:?}{}",
                names.len(),
                if converged {
                    " after the clean apply"
                } else {
                    ""
                }
            );
        }
        self.figures.check("3: no duplicate objects");
    }

    /// Invariant 1: every live key whose secret is in no file of the sink is replaced or
    /// deleted, with a reason, by the next plan.
    fn check_undelivered_keys_are_replaced(&mut self, live: &Live) {
        let delivered = self.delivered();
        let run = self.kcform(&["plan", "--format", "json", "."]);
        assert_eq!(run.code, 0, "plan failed\n{}\n{}", run.stdout, run.stderr);
        let plan: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("the JSON plan does not parse: {e}\n{}", run.stdout));
        let changes = plan["changes"].as_array().expect("changes[]");
        for key in live.keys.iter().filter(|k| !delivered.contains_key(&k.id)) {
            self.figures.keys_without_secret += 1;
            let handled = changes.iter().any(|change| {
                change["type"] == "access_key"
                    && (change["action"] == "replace" || change["action"] == "delete")
                    && (change["before"]["id"] == key.id.as_str()
                        || change["deposed"] == key.id.as_str())
                    && change["reasons"]
                        .as_array()
                        .is_some_and(|reasons| !reasons.is_empty())
            });
            assert!(
                handled,
                "live key {} ({}, id {}, {}) has no secret in the sink, and the next plan neither replaces nor deletes it with a reason:\n{}",
                key.address(),
                key.remote_name,
                key.id,
                key.status,
                run.stdout
            );
        }
        self.figures.check("1: no key without its secret");
    }

    /// Invariant 2 (after the clean apply): the live objects are exactly the configuration's.
    fn check_live_matches_config(&mut self, live: &Live) {
        let mut expected_accounts = BTreeSet::new();
        let mut expected_keys = BTreeSet::new();
        for (project, accounts) in &self.config.projects {
            assert!(
                live.projects.contains(*project),
                "project {project} does not exist"
            );
            for (name, account) in accounts {
                let status = if account.active { "active" } else { "inactive" };
                expected_accounts.insert((project.to_string(), name.to_string(), status));
                for (key, spec) in &account.keys {
                    let description = spec
                        .description
                        .map(|n| format!("build {n}"))
                        .unwrap_or_default();
                    expected_keys.insert((
                        format!("access_key.{project}/{name}/{key}"),
                        description,
                        "active",
                    ));
                }
            }
        }
        let live_accounts: BTreeSet<(String, String, &str)> = live
            .accounts
            .iter()
            .map(|a| (a.project.clone(), a.name.clone(), a.status.as_str()))
            .collect();
        assert_eq!(
            live_accounts, expected_accounts,
            "live service accounts (left) differ from the configuration's (right) after the clean apply"
        );
        let live_keys: BTreeSet<(String, String, &str)> = live
            .keys
            .iter()
            .map(|k| (k.address(), k.description.clone(), k.status.as_str()))
            .collect();
        assert_eq!(
            live_keys, expected_keys,
            "live keys (left) differ from the configuration's (right) after the clean apply"
        );
        self.figures
            .check("2: live objects are the configuration's");
    }

    /// Invariant 2 (after the clean apply): every live key's secret is in the sink, and works.
    fn check_every_key_delivered(&mut self, live: &Live) {
        let delivered = self.delivered();
        let endpoint = self.world.endpoint();
        for key in &live.keys {
            let secret = delivered.get(&key.id).unwrap_or_else(|| {
                panic!(
                    "after the clean apply, live key {} (id {}) has no secret in the sink",
                    key.address(),
                    key.id
                )
            });
            assert_eq!(
                issue_token(&endpoint, &key.id, secret),
                201,
                "the secret delivered for {} (id {}) does not authenticate",
                key.address(),
                key.id
            );
        }
        self.figures.check("2: every secret delivered and working");
    }

    /// Invariant 5: a key whose description or rotation changed this step was replaced.
    fn check_changed_keys_replaced(&mut self, previous: &Config, live: &Live) {
        for key in &live.keys {
            let (Some(before), Some(now)) = (
                previous.key(&key.project, &key.account, key.declared_name()),
                self.config
                    .key(&key.project, &key.account, key.declared_name()),
            ) else {
                continue;
            };
            if before.replaced_by(now) {
                assert_ne!(
                    self.converged_keys.get(&key.address()),
                    Some(&key.id),
                    "{} changed from {before:?} to {now:?} but its key was not replaced",
                    key.address()
                );
            }
        }
        self.figures.check("5: a changed key is replaced");
    }

    /// Adds the SHA-256 of every secret in the emulator's data files to the known ones.
    fn note_issued_secrets(&mut self) {
        for file in self.world.emulator_data_files() {
            // Lossy: the database is binary; SQLite stores the hashes as text, as they are.
            let text =
                String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).into_owned();
            for hash in hex64_runs(&text) {
                self.issued_secret_hashes.insert(hash.to_string());
            }
        }
    }

    /// Invariant 4, for every secret the emulator issued (delivered or not): none appears in
    /// this step's outputs or in a file under `.kcform/` outside the secrets directory.
    fn check_no_secret_by_hash(&mut self) {
        let kcform_dir = self.world.dir.path().join(".kcform");
        let secrets_dir = kcform_dir.join("secrets");
        let mut texts: Vec<(String, String)> = self
            .step_outputs
            .iter()
            .map(|output| ("an output of this step".to_string(), output.clone()))
            .collect();
        for file in files_under(&kcform_dir) {
            if !file.starts_with(&secrets_dir) {
                let text =
                    String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).into_owned();
                texts.push((file.display().to_string(), text));
            }
        }
        for (place, text) in &texts {
            for candidate in hex64_runs(text) {
                let hash = hex::encode(Sha256::digest(candidate.as_bytes()));
                assert!(
                    !self.issued_secret_hashes.contains(&hash),
                    "the secret of a key the emulator issued appeared in {place}"
                );
            }
        }
        self.figures.check("4: no issued secret outside the sink");
    }
}

/// The runs of exactly 64 lowercase hex digits in `text` (secrets and SHA-256 digests look so).
fn hex64_runs(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !matches!(c, '0'..='9' | 'a'..='f'))
        .filter(|run| run.len() == 64)
}
