//! Drift: what changed outside kcform since the last apply. kcform keeps a record of what it
//! last applied (the [`Snapshot`]); a live object that differs from it was changed by someone
//! else, and the plan says so in one short note per object. Without a record (kcform never
//! applied here) there is nothing to compare with, and no drift is reported.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::address::Address;
use crate::live::{KeyStatus, Live};
use crate::model::Desired;

use super::{Attributes, Drift};

/// The attributes drift is about: the ones a person can change in the console.
const TRACKED: &[&str] = &["nickname", "description", "status"];

/// What kcform last applied, by address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Recorded objects by address.
    pub objects: BTreeMap<String, Recorded>,
}

/// One recorded object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// Its remote ID, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its tracked attributes.
    pub attributes: BTreeMap<String, Value>,
}

/// The tracked part of an object's attributes, with its ID.
pub fn record(attributes: &Attributes, id: Option<String>) -> Recorded {
    Recorded {
        id: id.or_else(|| {
            attributes
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
        }),
        attributes: attributes
            .iter()
            .filter(|(name, _)| TRACKED.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
    }
}

fn live_objects(live: &Live) -> BTreeMap<String, (Address, Recorded)> {
    let mut out = BTreeMap::new();
    for project in live.projects.values() {
        let address = Address::project(&project.name);
        let attributes = Attributes::from([
            ("nickname".to_string(), json!(project.nickname)),
            ("description".to_string(), json!(project.description)),
        ]);
        out.insert(
            address.to_string(),
            (address, record(&attributes, Some(project.id.clone()))),
        );
        for account in project.service_accounts.values() {
            let address = Address::service_account(&project.name, &account.name);
            let attributes =
                Attributes::from([("status".to_string(), json!(account.status.as_str()))]);
            out.insert(
                address.to_string(),
                (address, record(&attributes, Some(account.id.clone()))),
            );
            for key in account.access_keys.values() {
                let address = Address::access_key(&project.name, &account.name, &key.name);
                let status = match key.status {
                    KeyStatus::Active => "active",
                    KeyStatus::Expired => "expired",
                };
                let attributes = Attributes::from([
                    ("description".to_string(), json!(key.description)),
                    ("status".to_string(), json!(status)),
                ]);
                out.insert(
                    address.to_string(),
                    (address, record(&attributes, Some(key.id.clone()))),
                );
            }
        }
    }
    out
}

/// The drift of `live` against the last applied `snapshot`, one entry per object; accounts
/// that `desired` ignores (and their keys) are left out, as kcform leaves them alone.
pub fn detect(snapshot: &Option<Snapshot>, live: &Live, desired: &Desired) -> Vec<Drift> {
    let Some(snapshot) = snapshot else {
        return Vec::new();
    };
    let current = live_objects(live);
    let recorded_project = |address: &Address| {
        snapshot
            .objects
            .contains_key(&Address::project(address.project_name()).to_string())
    };
    let ignored = |address: &Address| match address {
        Address::ServiceAccount {
            project,
            service_account,
        }
        | Address::AccessKey {
            project,
            service_account,
            ..
        } => desired
            .projects
            .get(project)
            .is_some_and(|p| p.ignores(service_account)),
        Address::Project { .. } => false,
    };
    let mut drift = Vec::new();
    for (key, (address, now)) in &current {
        if !recorded_project(address) || ignored(address) {
            continue;
        }
        let notes = match snapshot.objects.get(key) {
            None => vec!["created outside kcform".to_string()],
            Some(before) => compare(before, now),
        };
        if !notes.is_empty() {
            drift.push(Drift {
                address: address.clone(),
                notes,
            });
        }
    }
    for key in snapshot.objects.keys() {
        let Ok(address) = key.parse::<Address>() else {
            continue;
        };
        if !current.contains_key(key) && live.projects.contains_key(address.project_name()) {
            drift.push(Drift {
                address,
                notes: vec!["deleted outside kcform".to_string()],
            });
        }
    }
    drift.sort_by(|a, b| a.address.cmp(&b.address));
    drift
}

fn compare(before: &Recorded, now: &Recorded) -> Vec<String> {
    if let (Some(old), Some(new)) = (&before.id, &now.id)
        && old != new
    {
        return vec![format!("replaced outside kcform (ID {old} is now {new})")];
    }
    before
        .attributes
        .iter()
        .filter_map(|(name, old)| match now.attributes.get(name) {
            Some(new) if new != old => Some(format!("{name} changed from {old} to {new}")),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::model::Status;

    fn snapshot_of(live: &Live) -> Snapshot {
        Snapshot {
            objects: live_objects(live)
                .into_iter()
                .map(|(key, (_, recorded))| (key, recorded))
                .collect(),
        }
    }

    #[test]
    fn no_record_means_no_drift() {
        let current = live(vec![live_project("p1a", "P", vec![])]);
        assert!(detect(&None, &current, &desired(vec![])).is_empty());
    }

    #[test]
    fn ignored_accounts_do_not_drift() {
        let before = live(vec![live_project("p1a", "P", vec![])]);
        let snapshot = Some(snapshot_of(&before));
        let after = live(vec![live_project(
            "p1a",
            "P",
            vec![live_account(
                "legacy-x",
                Status::Active,
                vec![live_key("k", "", 1)],
            )],
        )]);
        let mut declared = project("p1a", "P", vec![]);
        declared.ignore = vec!["legacy-*".into()];
        assert!(detect(&snapshot, &after, &desired(vec![declared])).is_empty());
        assert_eq!(detect(&snapshot, &after, &desired(vec![])).len(), 2);
    }

    #[test]
    fn outside_changes_are_noted_once_per_object() {
        let before = live(vec![live_project(
            "p1a",
            "Old",
            vec![live_account(
                "sa",
                Status::Active,
                vec![live_key("k", "", 1)],
            )],
        )]);
        let snapshot = Some(snapshot_of(&before));
        assert!(detect(&snapshot, &before, &desired(vec![])).is_empty());

        let mut after = live(vec![live_project(
            "p1a",
            "New",
            vec![
                live_account("sa", Status::Inactive, vec![]),
                live_account("extra", Status::Active, vec![]),
            ],
        )]);
        after.projects.get_mut("p1a").unwrap().description = "x".into();
        let drift = detect(&snapshot, &after, &desired(vec![]));
        let notes: Vec<(String, Vec<String>)> = drift
            .into_iter()
            .map(|d| (d.address.to_string(), d.notes))
            .collect();
        assert_eq!(
            notes,
            vec![
                (
                    "project.p1a".to_string(),
                    vec![
                        r#"description changed from "" to "x""#.to_string(),
                        r#"nickname changed from "Old" to "New""#.to_string()
                    ]
                ),
                (
                    "service_account.p1a/extra".to_string(),
                    vec!["created outside kcform".to_string()]
                ),
                (
                    "service_account.p1a/sa".to_string(),
                    vec![r#"status changed from "active" to "inactive""#.to_string()]
                ),
                (
                    "access_key.p1a/sa/k".to_string(),
                    vec!["deleted outside kcform".to_string()]
                ),
            ]
        );
    }
}
