//! Drift: what changed outside kcform since the last apply. kcform keeps a record of what it
//! last applied (the [`Snapshot`]); a live object that differs from it was changed by someone
//! else, and the plan says so in one short note per object. Without a record (kcform never
//! applied here) there is nothing to compare with, and no drift is reported.
//!
//! The [`Snapshot`] type lives here because the plan reads it; the record itself — its name,
//! its storage and how an apply updates it — is `state::snapshot`'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::Address;
use crate::live::{KeyStatus, Live, LiveProject};
use crate::model::{Desired, ProjectSpec};

use super::{Attributes, Drift};

/// The attributes drift is about: the ones a person can change in the console.
const TRACKED: &[&str] = &["nickname", "description", "status"];

/// What kcform last applied, by address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Recorded objects by address.
    pub objects: BTreeMap<String, Recorded>,
}

impl Snapshot {
    /// The snapshot split by the project each address is in (`project.<p>`,
    /// `service_account.<p>/…`, `access_key.<p>/…`): what [`detect_project`] needs of it, one
    /// project at a time.
    pub fn by_project(self) -> BTreeMap<String, Snapshot> {
        let mut parts: BTreeMap<String, Snapshot> = BTreeMap::new();
        for (key, recorded) in self.objects {
            let project = project_of(&key);
            // The project's name is copied once, for its first address only.
            match parts.get_mut(project) {
                Some(part) => part.objects.insert(key, recorded),
                None => parts
                    .entry(project.to_string())
                    .or_default()
                    .objects
                    .insert(key, recorded),
            };
        }
        parts
    }

    /// What this record of the project `name` (one part of [`Snapshot::by_project`]) says is
    /// left unmanaged when the project is no longer declared.
    pub fn unmanaged(&self, name: &str) -> super::Unmanaged {
        let prefix = format!("service_account.{name}/");
        super::Unmanaged {
            address: crate::address::Address::project(name),
            service_accounts: self
                .objects
                .keys()
                .filter_map(|key| key.strip_prefix(&prefix))
                .map(str::to_string)
                .collect(),
            access_keys: self
                .objects
                .keys()
                .filter(|key| key.starts_with("access_key."))
                .count(),
        }
    }

    /// Forgets the records of the projects `desired` no longer declares: the plans before this
    /// apply said they are left unmanaged.
    pub fn forget_undeclared(&mut self, desired: &crate::model::Desired) {
        self.objects
            .retain(|key, _| desired.projects.contains_key(project_of(key)));
    }

    /// Forgets the recorded objects that the live read of their project no longer found
    /// (projects `live` does not hold keep their records). An object gone without an apply
    /// recording it — deleted outside kcform, or by an apply that was killed before it could
    /// record what it did — is noted as deleted in the plans until an apply runs; after that
    /// the record is what kcform left, which is without it. (Kept, an object no longer
    /// declared would be noted as deleted outside kcform in every plan from then on: no
    /// change ever touches its record again.)
    pub fn forget_gone(&mut self, live: &Live) {
        let present: std::collections::HashSet<String> = live
            .projects
            .values()
            .flat_map(current_objects)
            .map(|object| object.key)
            .collect();
        self.objects
            .retain(|key, _| !live.projects.contains_key(project_of(key)) || present.contains(key));
    }
}

/// The project a recorded address is in (`project.<p>`, `service_account.<p>/…`,
/// `access_key.<p>/…`).
fn project_of(address: &str) -> &str {
    address
        .split_once('.')
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or_default()
}

/// One recorded object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// Its remote ID, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its tracked attributes.
    pub attributes: BTreeMap<String, Value>,
    /// A service account applied with `protect = true`: kept after its table is removed, so
    /// its deletion is refused until `protect = false` is applied first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
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
        protect: false,
    }
}

/// One live object as drift sees it: borrowed, so checking 30,000 objects allocates little.
struct Current<'a> {
    key: String,
    account: Option<&'a str>,
    id: &'a str,
    attributes: Vec<(&'static str, &'a str)>,
}

fn key_status(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "active",
        KeyStatus::Expired => "expired",
    }
}

fn current_objects(project: &LiveProject) -> Vec<Current<'_>> {
    let mut out = Vec::new();
    {
        out.push(Current {
            key: format!("project.{}", project.name),
            account: None,
            id: &project.id,
            attributes: vec![
                ("nickname", project.nickname.as_str()),
                ("description", project.description.as_str()),
            ],
        });
        for account in project.service_accounts.values() {
            let name = format!("{}/{}", project.name, account.name);
            for key in account.access_keys.values() {
                out.push(Current {
                    key: format!("access_key.{name}/{}", key.name),
                    account: Some(&account.name),
                    id: &key.id,
                    attributes: vec![
                        ("description", key.description.as_str()),
                        ("status", key_status(key.status)),
                    ],
                });
            }
            out.push(Current {
                key: format!("service_account.{name}"),
                account: Some(&account.name),
                id: &account.id,
                attributes: vec![("status", account.status.as_str())],
            });
        }
    }
    out
}

/// The drift of `live` against the last applied `snapshot`, one entry per object; accounts
/// that `desired` ignores (and their keys) are left out, as kcform leaves them alone.
pub fn detect(snapshot: &Option<Snapshot>, live: &Live, desired: &Desired) -> Vec<Drift> {
    let mut drift: Vec<Drift> = live
        .projects
        .values()
        .flat_map(|project| detect_project(snapshot, project, desired.projects.get(&project.name)))
        .collect();
    drift.sort_by(|a, b| a.address.cmp(&b.address));
    drift
}

/// The drift of one live project (see [`detect`]), in no particular order; `declared` is its
/// declaration, if any.
pub fn detect_project(
    snapshot: &Option<Snapshot>,
    project: &LiveProject,
    declared: Option<&ProjectSpec>,
) -> Vec<Drift> {
    let Some(snapshot) = snapshot else {
        return Vec::new();
    };
    let current = current_objects(project);
    let mut seen = std::collections::HashSet::with_capacity(current.len());
    let mut drift = Vec::new();
    let recorded_project = snapshot
        .objects
        .contains_key(&format!("project.{}", project.name));
    for object in &current {
        seen.insert(object.key.as_str());
        let ignored = object
            .account
            .is_some_and(|account| declared.is_some_and(|p| p.ignores(account)));
        if !recorded_project || ignored {
            continue;
        }
        let notes = match snapshot.objects.get(&object.key) {
            None => vec!["created outside kcform".to_string()],
            Some(before) => compare(before, object),
        };
        if !notes.is_empty()
            && let Ok(address) = object.key.parse::<Address>()
        {
            drift.push(Drift { address, notes });
        }
    }
    for key in recorded_in(snapshot, &project.name) {
        if seen.contains(key.as_str()) {
            continue;
        }
        if let Ok(address) = key.parse::<Address>() {
            drift.push(Drift {
                address,
                notes: vec!["deleted outside kcform".to_string()],
            });
        }
    }
    drift
}

/// The recorded addresses in `project`: its own and, by key prefix, its accounts' and keys'.
fn recorded_in<'s>(snapshot: &'s Snapshot, project: &str) -> impl Iterator<Item = &'s String> {
    let own = format!("project.{project}");
    let prefixes = [
        format!("service_account.{project}/"),
        format!("access_key.{project}/"),
    ];
    let own = snapshot.objects.get_key_value(&own).map(|(key, _)| key);
    own.into_iter()
        .chain(prefixes.into_iter().flat_map(move |prefix| {
            snapshot
                .objects
                .range(prefix.clone()..)
                .map(|(key, _)| key)
                .take_while(move |key| key.starts_with(&prefix))
        }))
}

fn compare(before: &Recorded, now: &Current<'_>) -> Vec<String> {
    if let Some(old) = &before.id
        && old != now.id
    {
        return vec![format!(
            "replaced outside kcform (ID {old} is now {})",
            now.id
        )];
    }
    before
        .attributes
        .iter()
        .filter_map(|(name, old)| {
            let (_, new) = now.attributes.iter().find(|(n, _)| n == name)?;
            (old.as_str() != Some(new)).then(|| {
                format!(
                    "{name} changed from {old} to {}",
                    Value::String((*new).to_string())
                )
            })
        })
        .collect()
}

/// The snapshot an apply would record for `live` (for tests).
#[cfg(test)]
pub(crate) fn snapshot_of(live: &Live) -> Snapshot {
    Snapshot {
        objects: live
            .projects
            .values()
            .flat_map(current_objects)
            .map(|object| {
                let recorded = Recorded {
                    id: Some(object.id.to_string()),
                    attributes: object
                        .attributes
                        .iter()
                        .map(|(name, value)| (name.to_string(), Value::from(*value)))
                        .collect(),
                    protect: false,
                };
                (object.key, recorded)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::model::Status;

    #[test]
    fn a_snapshot_splits_by_the_project_of_each_address() {
        let both = live(vec![
            live_project(
                "p1a",
                "P",
                vec![live_account(
                    "sa",
                    Status::Active,
                    vec![live_key("k", "", 1)],
                )],
            ),
            live_project("p2b", "Q", vec![]),
        ]);
        let whole = snapshot_of(&both);
        let parts = whole.clone().by_project();
        assert_eq!(parts.keys().collect::<Vec<_>>(), ["p1a", "p2b"]);
        assert_eq!(
            parts["p1a"].objects.keys().collect::<Vec<_>>(),
            [
                "access_key.p1a/sa/k",
                "project.p1a",
                "service_account.p1a/sa"
            ]
        );
        assert_eq!(
            parts["p2b"].objects.keys().collect::<Vec<_>>(),
            ["project.p2b"]
        );
        // Nothing lost or changed: the parts are the whole.
        let mut joined = Snapshot::default();
        for part in parts.into_values() {
            joined.objects.extend(part.objects);
        }
        assert_eq!(joined, whole);
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
