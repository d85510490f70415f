//! Test fixtures: small builders for desired and live state, shared by the pure modules'
//! unit tests (plan, graph, render), and [`file_mode`] for the tests of private files.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::macros::datetime;

use crate::live::{KeyStatus, Live, LiveAccessKey, LiveProject, LiveServiceAccount};
use crate::model::{
    AccessKeySpec, Desired, MaxAge, Origin, ProjectSpec, ServiceAccountSpec, Status,
};
use crate::plan::Plan;

/// The fixed "now" of the fixtures.
pub const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

fn origin(line: usize) -> Origin {
    Origin {
        file: "kcform.toml".into(),
        line,
        column: 1,
    }
}

/// A declared key.
pub fn key(name: &str) -> AccessKeySpec {
    AccessKeySpec {
        name: name.to_string(),
        description: None,
        rotation: None,
        max_age: None,
        origin: origin(10),
    }
}

/// A declared key with a description.
pub fn key_described(name: &str, description: &str) -> AccessKeySpec {
    AccessKeySpec {
        description: Some(description.to_string()),
        ..key(name)
    }
}

/// A declared key with a max age in days.
pub fn key_max_age(name: &str, days: i64) -> AccessKeySpec {
    AccessKeySpec {
        max_age: Some(MaxAge {
            text: format!("{days}d"),
            seconds: days * 86_400,
        }),
        ..key(name)
    }
}

/// A declared key with a rotation keeper.
pub fn key_rotated(name: &str, rotation: &str) -> AccessKeySpec {
    AccessKeySpec {
        rotation: Some(rotation.to_string()),
        ..key(name)
    }
}

/// A declared account.
pub fn account(name: &str, keys: Vec<AccessKeySpec>) -> ServiceAccountSpec {
    ServiceAccountSpec {
        name: name.to_string(),
        status: Status::Active,
        protect: false,
        access_keys: keys.into_iter().map(|k| (k.name.clone(), k)).collect(),
        origin: origin(5),
    }
}

/// A declared project.
pub fn project(name: &str, nickname: &str, accounts: Vec<ServiceAccountSpec>) -> ProjectSpec {
    ProjectSpec {
        name: name.to_string(),
        nickname: nickname.to_string(),
        description: None,
        ignore: Vec::new(),
        service_accounts: accounts.into_iter().map(|a| (a.name.clone(), a)).collect(),
        origin: origin(1),
    }
}

/// A desired state of these projects.
pub fn desired(projects: Vec<ProjectSpec>) -> Desired {
    Desired {
        projects: projects.into_iter().map(|p| (p.name.clone(), p)).collect(),
        ..Desired::default()
    }
}

/// A live key created `age_days` before [`NOW`].
pub fn live_key(name: &str, description: &str, age_days: i64) -> LiveAccessKey {
    LiveAccessKey {
        id: format!("key-{name}"),
        name: name.to_string(),
        remote_name: name.to_string(),
        description: description.to_string(),
        status: KeyStatus::Active,
        created_at: Some(NOW - time::Duration::days(age_days)),
        rotation: None,
        undelivered: false,
    }
}

/// A live account.
pub fn live_account(name: &str, status: Status, keys: Vec<LiveAccessKey>) -> LiveServiceAccount {
    LiveServiceAccount {
        id: format!("user-{name}"),
        name: name.to_string(),
        email: format!("{name}-p1@kc.serviceaccount.com"),
        status,
        access_keys: keys.into_iter().map(|k| (k.name.clone(), k)).collect(),
        deposed_keys: Vec::new(),
    }
}

/// A live project.
pub fn live_project(name: &str, nickname: &str, accounts: Vec<LiveServiceAccount>) -> LiveProject {
    LiveProject {
        id: format!("id-{name}"),
        name: name.to_string(),
        nickname: nickname.to_string(),
        description: String::new(),
        service_accounts: accounts.into_iter().map(|a| (a.name.clone(), a)).collect(),
    }
}

/// A live state of these projects.
pub fn live(projects: Vec<LiveProject>) -> Live {
    Live {
        projects: projects
            .into_iter()
            .map(|p| (p.name.clone(), p))
            .collect::<BTreeMap<_, _>>(),
        undeclared_projects: Vec::new(),
    }
}

/// A plan with every action kind: create, update, activate, deactivate, delete, both replaces.
pub fn every_action_plan() -> Plan {
    let mut described = project(
        "analytics",
        "Analytics",
        vec![
            account("etl", vec![key_rotated("ci", "2026-12")]),
            account(
                "full",
                vec![key_described("a", "GitHub Actions CI"), key("b")],
            ),
            account("sleepy", vec![]),
            account("new-one", vec![key("k")]),
            {
                let mut off = account("off", vec![]);
                off.status = Status::Inactive;
                off
            },
        ],
    );
    described.description = Some("Data platform team".to_string());
    let wanted = desired(vec![described]);
    let mut ci = live_key("ci", "", 3);
    ci.rotation = Some("2026-11".to_string());
    let mut expired = live_key("b", "", 5);
    expired.status = KeyStatus::Expired;
    let mut current_project = live_project(
        "analytics",
        "Analytics (old)",
        vec![
            live_account("etl", Status::Active, vec![ci]),
            live_account(
                "full",
                Status::Active,
                vec![live_key("a", "GitHub Actions", 10), expired],
            ),
            live_account("sleepy", Status::Inactive, vec![]),
            live_account("off", Status::Active, vec![]),
            live_account("stray", Status::Active, vec![live_key("x", "", 1)]),
        ],
    );
    current_project.description = "Data platform".to_string();
    crate::plan::diff(&wanted, &live(vec![current_project]), NOW).unwrap()
}

/// Each change of `plan` as `(address, action)`, in plan order.
pub fn actions(plan: &crate::plan::Plan) -> Vec<(String, &'static str)> {
    plan.changes
        .iter()
        .map(|c| (c.address.to_string(), c.action.name()))
        .collect()
}

/// The permission bits of the file or directory at `path` (a link's own, not its target's).
#[cfg(unix)]
pub fn file_mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}
