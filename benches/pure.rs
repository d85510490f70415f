//! Benchmark of the pure core at scale: diff and render of 100 projects × 100 service accounts
//! × 2 keys (30,100 objects), with no changes, with 10% drift, and from empty. Prints a table
//! and one line per case: `bench case=pure-<name> objects=<n> changes=<c> cpu_ms=<diff+human>
//! …` (CPU time of every thread — a large plan's human rendering uses every core — the best
//! of five runs). Run with `cargo bench --bench pure`.

use std::collections::BTreeMap;

use kcform::live::{KeyStatus, Live, LiveAccessKey, LiveProject, LiveServiceAccount};
use kcform::model::{AccessKeySpec, Desired, Origin, ProjectSpec, ServiceAccountSpec, Status};
use kcform::plan::diff;
use kcform::render::{Palette, human, json, terraform_json};
use time::OffsetDateTime;

const PROJECTS: usize = 100;
const ACCOUNTS: usize = 100;
const KEYS: usize = 2;

fn desired() -> Desired {
    let projects = (0..PROJECTS)
        .map(|p| {
            let name = format!("project-{p:03}");
            let accounts = (0..ACCOUNTS)
                .map(|a| {
                    let sa = format!("sa-{a:03}");
                    let keys = (0..KEYS)
                        .map(|k| {
                            let key = format!("key-{k}");
                            let spec = AccessKeySpec {
                                name: key.clone(),
                                description: Some(format!("key {k} of {sa}")),
                                rotation: None,
                                max_age: None,
                                origin: Origin::default(),
                            };
                            (key, spec)
                        })
                        .collect();
                    let spec = ServiceAccountSpec {
                        name: sa.clone(),
                        status: Status::Active,
                        protect: false,
                        access_keys: keys,
                        origin: Origin::default(),
                    };
                    (sa, spec)
                })
                .collect();
            let spec = ProjectSpec {
                name: name.clone(),
                nickname: format!("Project {p}"),
                description: Some("benchmark".into()),
                ignore: Vec::new(),
                service_accounts: accounts,
                origin: Origin::default(),
            };
            (name, spec)
        })
        .collect();
    Desired {
        projects,
        ..Desired::default()
    }
}

/// The live state matching `desired`, with every `drift_every`-th account's first key described
/// differently (0 = no drift).
fn live(desired: &Desired, drift_every: usize) -> Live {
    let now = OffsetDateTime::now_utc();
    let mut n = 0;
    let projects = desired
        .projects
        .values()
        .map(|p| {
            let accounts = p
                .service_accounts
                .values()
                .map(|a| {
                    n += 1;
                    let keys = a
                        .access_keys
                        .values()
                        .enumerate()
                        .map(|(i, k)| {
                            let mut description = k.description.clone().unwrap_or_default();
                            if drift_every > 0 && n % drift_every == 0 && i == 0 {
                                description.push_str(" (edited)");
                            }
                            let key = LiveAccessKey {
                                id: format!("{}-{}-{}", p.name, a.name, k.name),
                                name: k.name.clone(),
                                remote_name: k.name.clone(),
                                description,
                                status: KeyStatus::Active,
                                created_at: Some(now),
                                rotation: None,
                                undelivered: false,
                            };
                            (k.name.clone(), key)
                        })
                        .collect();
                    let account = LiveServiceAccount {
                        id: format!("{}-{}", p.name, a.name),
                        name: a.name.clone(),
                        email: format!("{}-x@kc.serviceaccount.com", a.name),
                        status: Status::Active,
                        access_keys: keys,
                        deposed_keys: Vec::new(),
                    };
                    (a.name.clone(), account)
                })
                .collect();
            let project = LiveProject {
                id: p.name.clone(),
                name: p.name.clone(),
                nickname: p.nickname.clone(),
                description: p.description.clone().unwrap_or_default(),
                service_accounts: accounts,
            };
            (p.name.clone(), project)
        })
        .collect::<BTreeMap<_, _>>();
    Live {
        projects,
        undeclared_projects: Vec::new(),
    }
}

/// The least CPU time (ms, all threads) `f` took in `runs` runs, and its last result.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = cpu_ms();
        let out = f();
        best = best.min(cpu_ms() - start);
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}

/// This process's CPU time so far (user + system, every thread), in ms.
fn cpu_ms() -> f64 {
    // SAFETY: rusage is plain old data; zeroed is a valid value that getrusage overwrites.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer to a rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

fn main() {
    let wanted = desired();
    let objects = PROJECTS * (1 + ACCOUNTS * (1 + KEYS));
    let now = OffsetDateTime::now_utc();
    println!(
        "{:<18} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8}",
        "case", "changes", "diff_ms", "human_ms", "json_ms", "tfjson_ms", "total_ms"
    );
    let mut lines = Vec::new();
    for (case, current) in [
        ("plan-no-changes", live(&wanted, 0)),
        ("plan-10pct-drift", live(&wanted, 10)),
        ("plan-from-empty", Live::default()),
    ] {
        let (diff_ms, plan) = best_of(5, || diff(&wanted, &current, now).expect("plans"));
        let (human_ms, _) = best_of(5, || human::render(&plan, &Palette::plain()).len());
        let (json_ms, _) = best_of(5, || json::render(&plan, "sha256:bench").len());
        let (tf_ms, _) = best_of(5, || terraform_json::render(&plan).len());
        println!(
            "{case:<18} {:>8} {diff_ms:>8.0} {human_ms:>8.0} {json_ms:>8.0} {tf_ms:>9.0} {:>8.0}",
            plan.changes.len(),
            diff_ms + human_ms
        );
        lines.push(format!(
            "bench case=pure-{case} objects={objects} changes={} cpu_ms={:.0} diff_ms={diff_ms:.0} human_ms={human_ms:.0} json_ms={json_ms:.0} terraform_json_ms={tf_ms:.0}",
            plan.changes.len(),
            diff_ms + human_ms
        ));
    }
    for line in lines {
        println!("{line}");
    }
}
