//! The data-driven tests of `testdata/`, in cargo's UI-test style: each case is a folder of
//! inputs with its expected outputs next to them, run through kcform's pure stages.
//!
//! - `testdata/validate/<case>/`: `*.toml` files (read as one configuration) and `expected.txt`:
//!   the diagnostics exactly as `kcform validate` prints them, or a summary of what a valid
//!   configuration declares.
//! - `testdata/plan/<case>/`: `*.toml` files, `live.json` (the live objects, in the shape
//!   described on [`LiveJson`]) and the expected plan in every format: `plan.txt` (human),
//!   `plan.json`, `plan.md` (markdown) and `plan.tf.json` (Terraform's plan JSON).
//!
//! `UPDATE_EXPECT=1 cargo test --test testdata` rewrites the expected files from what kcform
//! now gives; review the diff before committing it. Without it a difference fails the test,
//! showing the case, the file and the first differing line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kcform::live::{KeyStatus, Live, LiveAccessKey, LiveProject, LiveServiceAccount};
use kcform::model::Status;
use kcform::render::{Palette, human, json, markdown, terraform_json};
use serde::Deserialize;
use time::OffsetDateTime;

/// The time every plan case is made at (for `max_age`).
const NOW: &str = "2026-12-01T00:00:00Z";
/// The checksum rendered into the formats that show one.
const CHECKSUM: &str = "sha256:testdata";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// The case folders under `testdata/<kind>/`, sorted.
fn cases(kind: &str) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root().join(kind))
        .unwrap_or_else(|e| panic!("testdata/{kind}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "testdata/{kind} has no cases");
    cases
}

/// The case's `*.toml` files, as the loader takes them (paths relative to the case).
fn sources(case: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(case)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no .toml file", case.display());
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (PathBuf::from(path.file_name().unwrap()), text)
        })
        .collect()
}

/// Compares `actual` with the case's `file`, or writes it under `UPDATE_EXPECT`. Returns a
/// description of the difference, if any.
fn expect(case: &Path, file: &str, actual: &str) -> Option<String> {
    let path = case.join(file);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, actual).unwrap();
        return None;
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) => {
            return Some(format!(
                "{}: missing (run with UPDATE_EXPECT=1 to create it)",
                path.display()
            ));
        }
    };
    if expected == actual {
        return None;
    }
    let line = expected
        .lines()
        .zip(actual.lines())
        .position(|(e, a)| e != a)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    Some(format!(
        "{} differs at line {}:\n  expected: {:?}\n  actual:   {:?}\n--- actual output\n{actual}",
        path.display(),
        line + 1,
        expected.lines().nth(line).unwrap_or("<end>"),
        actual.lines().nth(line).unwrap_or("<end>"),
    ))
}

/// What a valid configuration declares, in one line per project.
fn summary(desired: &kcform::model::Desired) -> String {
    let mut out = String::from("valid\n");
    for project in desired.projects.values() {
        let keys: usize = project
            .service_accounts
            .values()
            .map(|account| account.access_keys.len())
            .sum();
        out.push_str(&format!(
            "project.{}: {} service account(s), {} access key(s)\n",
            project.name,
            project.service_accounts.len(),
            keys
        ));
    }
    out
}

#[test]
fn validate_cases_give_their_expected_diagnostics() {
    let mut failures = Vec::new();
    for case in cases("validate") {
        let rendered = match kcform::config::load_sources(sources(&case), &case) {
            Ok(desired) => summary(&desired),
            Err(error) => error.rendered,
        };
        failures.extend(expect(&case, "expected.txt", &rendered));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `live.json`: the live objects of a plan case. IDs are made from the names when absent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveJson {
    #[serde(default)]
    projects: Vec<ProjectJson>,
    /// Live projects that are not declared, as `[name, nickname]`.
    #[serde(default)]
    undeclared_projects: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectJson {
    name: String,
    nickname: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    service_accounts: Vec<AccountJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountJson {
    name: String,
    #[serde(default = "active")]
    status: String,
    #[serde(default)]
    access_keys: Vec<KeyJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    name: String,
    #[serde(default)]
    description: String,
    /// RFC 3339.
    created_at: Option<String>,
    /// The recorded `rotation` keeper value, if any.
    rotation: Option<String>,
    #[serde(default = "active")]
    status: String,
}

fn active() -> String {
    "active".to_string()
}

fn time(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

impl LiveJson {
    fn into_live(self) -> Live {
        let projects = self
            .projects
            .into_iter()
            .map(|p| {
                let project_id = format!("{:0>32}", hex(&p.name));
                let service_accounts: BTreeMap<String, LiveServiceAccount> = p
                    .service_accounts
                    .into_iter()
                    .map(|a| {
                        let access_keys = a
                            .access_keys
                            .into_iter()
                            .map(|k| {
                                let key = LiveAccessKey {
                                    id: format!("{:0>32}", hex(&format!("{}/{}", a.name, k.name))),
                                    name: k.name.clone(),
                                    remote_name: k.name.clone(),
                                    description: k.description,
                                    status: match k.status.as_str() {
                                        "expired" => KeyStatus::Expired,
                                        _ => KeyStatus::Active,
                                    },
                                    created_at: k.created_at.as_deref().map(time),
                                    rotation: k.rotation,
                                    undelivered: false,
                                };
                                (k.name, key)
                            })
                            .collect();
                        let account = LiveServiceAccount {
                            id: format!("{:0>32}", hex(&format!("user/{}", a.name))),
                            name: a.name.clone(),
                            email: format!("{}-{project_id}@kc.serviceaccount.com", a.name),
                            status: match a.status.as_str() {
                                "inactive" => Status::Inactive,
                                _ => Status::Active,
                            },
                            access_keys,
                            deposed_keys: Vec::new(),
                        };
                        (a.name, account)
                    })
                    .collect();
                let project = LiveProject {
                    id: project_id,
                    name: p.name.clone(),
                    nickname: p.nickname,
                    description: p.description,
                    service_accounts,
                };
                (p.name, project)
            })
            .collect();
        Live {
            projects,
            undeclared_projects: self.undeclared_projects,
        }
    }
}

/// Hex of the first 16 bytes of `text`: a readable, deterministic stand-in for a remote ID.
fn hex(text: &str) -> String {
    text.bytes().take(16).map(|b| format!("{b:02x}")).collect()
}

#[test]
fn plan_cases_give_their_expected_plan_in_every_format() {
    let mut failures = Vec::new();
    for case in cases("plan") {
        let desired = kcform::config::load_sources(sources(&case), &case)
            .unwrap_or_else(|e| panic!("{}: {}", case.display(), e.rendered));
        let live_text = std::fs::read_to_string(case.join("live.json"))
            .unwrap_or_else(|e| panic!("{}/live.json: {e}", case.display()));
        let live: LiveJson = serde_json::from_str(&live_text)
            .unwrap_or_else(|e| panic!("{}/live.json: {e}", case.display()));
        let plan = match kcform::plan::diff(&desired, &live.into_live(), time(NOW)) {
            Ok(plan) => plan,
            Err(refused) => {
                failures.extend(expect(&case, "plan.txt", &format!("refused\n{refused}\n")));
                continue;
            }
        };
        let outputs = [
            ("plan.txt", human::render(&plan, &Palette::plain())),
            ("plan.json", json::render(&plan, CHECKSUM)),
            ("plan.md", markdown::render(&plan, CHECKSUM)),
            ("plan.tf.json", terraform_json::render(&plan)),
        ];
        for (file, actual) in outputs {
            let actual = actual.replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
            failures.extend(expect(&case, file, &actual));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn e2e_configurations_are_valid_and_each_is_used_by_a_scenario() {
    let dir = root().join("e2e");
    let mut scenarios = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e"),
        &mut scenarios,
    );
    let sources: String = scenarios
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect();
    let mut configurations: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    configurations.sort();
    assert!(
        configurations.len() >= 10,
        "testdata/e2e holds the scenarios' configurations"
    );
    let mut failures = Vec::new();
    for path in configurations {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".toml") else {
            failures.push(format!("testdata/e2e/{name}: only .toml files belong here"));
            continue;
        };
        if !sources.contains(&format!("e2e_config!(\"{stem}\")")) {
            failures.push(format!("testdata/e2e/{name}: no scenario uses it"));
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(error) = kcform::config::load_sources(vec![(PathBuf::from(&name), text)], &dir) {
            failures.push(format!(
                "testdata/e2e/{name} is not valid:\n{}",
                error.rendered
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
