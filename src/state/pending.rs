//! Key creates whose outcome kcform has not settled (`pending-keys.json`, one of kcform's
//! `records`). Apply adds every key it is about to create before it starts; an entry leaves the
//! record only once kcform knows how its create ended: the key was created and its secret
//! delivered, the key was deleted again, or a later read saw the key with its secret in the
//! sink. A create that failed in a way kcform could not clean up (a lost answer whose look-up or
//! delete failed too, a delivery whose clean-up delete failed, the server gone mid-call), and
//! every create in flight when kcform was killed, stays listed. The next plan replaces every
//! listed key that was created since its entry and whose secret cannot be shown to have been
//! delivered — so a key whose secret nobody holds is never adopted as if it were in order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::report::{ApplyReport, Outcome};
use crate::address::Address;
use crate::live::{Live, LiveAccessKey, LiveProject};
use crate::plan::{Action, Change, Plan};

/// Where delivered secrets can be looked for: the secret sink (`apply::sink::Sink`) answers
/// for a file sink by reading the key's file, and never for a command sink (its deliveries
/// cannot be checked). A trait, so that the record does not depend on the sink.
pub trait Delivered {
    /// Whether the secret of key `key_id`, declared as `project`/`service_account`/`key`, is
    /// known to have been delivered.
    fn holds(&self, project: &str, service_account: &str, key: &str, key_id: &str) -> bool;
}

/// Key addresses being created, each with the time its apply started (RFC 3339).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingKeys {
    /// Address → when the apply that creates it started.
    pub keys: BTreeMap<Address, String>,
}

/// The record's name (see `state::records`).
pub const RECORD: &str = "pending-keys.json";

/// True when `change` creates a key under its own address (a create or a replacement; not the
/// deletion of a deposed generation).
fn creates_key(change: &Change) -> bool {
    matches!(change.address, Address::AccessKey { .. })
        && change.deposed.is_none()
        && matches!(change.action, Action::Create | Action::Replace(_))
}

/// True when `change` deletes the key standing for its address.
fn deletes_key(change: &Change) -> bool {
    matches!(change.address, Address::AccessKey { .. })
        && change.deposed.is_none()
        && change.action == Action::Delete
}

/// Whether `key` was created at or after `since` (an entry's time); a time that cannot be
/// read counts as "since", which errs on the side of replacing.
fn created_since(key: &LiveAccessKey, since: &str) -> bool {
    let since = OffsetDateTime::parse(since, &Rfc3339)
        .ok()
        // The API stamps creation to the second.
        .map(|t| t.replace_nanosecond(0).unwrap_or(t));
    match (key.created_at, since) {
        (Some(created), Some(since)) => created >= since,
        _ => true,
    }
}

impl PendingKeys {
    /// The record while an apply of `plan` runs: what earlier applies left unsettled, plus
    /// every key the plan creates, stamped `started` (RFC 3339, the API's clock). An address
    /// listed already keeps its earlier stamp: the key that entry stands for was created
    /// before this apply started, and must still count as created since.
    pub fn during(&self, plan: &Plan, started: &str) -> PendingKeys {
        let mut during = self.clone();
        for change in plan.changes.iter().filter(|c| creates_key(c)) {
            during
                .keys
                .entry(change.address.clone())
                .or_insert_with(|| started.to_string());
        }
        during
    }

    /// The record after an apply of `plan` ended with `report`; `self` is the record before
    /// it started, `during` what it wrote then. Settled, and dropped: a key created and
    /// delivered, a key deleted, a create that never started (unless an earlier apply left it
    /// listed), and an earlier entry whose key `live` (read before this apply) showed created
    /// since and held by `sink`. Everything else stays — above all a create that failed,
    /// since kcform cannot tell whether it left a key behind.
    pub fn after(
        &self,
        during: PendingKeys,
        plan: &Plan,
        report: &ApplyReport,
        live: &Live,
        sink: &impl Delivered,
    ) -> PendingKeys {
        let mut after = during;
        let mut touched = std::collections::HashSet::new();
        for (change, op) in plan.changes.iter().zip(&report.operations) {
            if !creates_key(change) && !deletes_key(change) {
                continue;
            }
            touched.insert(&change.address);
            match op.outcome {
                Outcome::Done(_) => {
                    after.keys.remove(&change.address);
                }
                Outcome::NotStarted if !self.keys.contains_key(&change.address) => {
                    after.keys.remove(&change.address);
                }
                Outcome::NotStarted | Outcome::Failed(_) => {}
            }
        }
        after.keys.retain(|address, since| {
            touched.contains(address) || !held_since(live, sink, address, since)
        });
        after
    }
}

/// Whether `live` holds a key at `address` created since `since` whose secret is in `sink`.
fn held_since(live: &Live, sink: &impl Delivered, address: &Address, since: &str) -> bool {
    let Address::AccessKey {
        project,
        service_account,
        key,
    } = address
    else {
        return false;
    };
    live.projects
        .get(project)
        .and_then(|p| p.service_accounts.get(service_account))
        .and_then(|a| a.access_keys.get(key))
        .is_some_and(|live_key| {
            created_since(live_key, since)
                && sink.holds(project, service_account, key, &live_key.id)
        })
}

/// Marks the keys of a live project that are listed in `pending`, were created since their
/// entry and whose secret is not in the sink (a command sink cannot be checked, so those count
/// as not delivered). Returns the addresses marked.
pub fn mark_undelivered(
    pending: &PendingKeys,
    project: &mut LiveProject,
    sink: &impl Delivered,
) -> Vec<Address> {
    let mut marked = Vec::new();
    for (address, since) in &pending.keys {
        let Address::AccessKey {
            project: project_name,
            service_account,
            key,
        } = address
        else {
            continue;
        };
        if *project_name != project.name {
            continue;
        }
        let Some(live_key) = project
            .service_accounts
            .get_mut(service_account)
            .and_then(|a| a.access_keys.get_mut(key))
        else {
            continue;
        };
        if created_since(live_key, since)
            && !sink.holds(project_name, service_account, key, &live_key.id)
        {
            live_key.undelivered = true;
            marked.push(address.clone());
        }
    }
    marked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::sink::Sink;
    use crate::fixtures::*;
    use crate::model::Status;
    use crate::plan::diff;
    use crate::state::report::{Done, OperationReport};

    const EARLIER: &str = "2026-11-20T00:00:00Z";
    const STARTED: &str = "2026-11-27T12:00:00Z";

    fn addr(key: &str) -> Address {
        Address::access_key("p1a", "sa", key)
    }

    /// Creates of keys `a`, `b`, `c` and `d` in an existing account.
    fn plan() -> Plan {
        let wanted = desired(vec![project(
            "p1a",
            "P",
            vec![account("sa", vec![key("a"), key("b"), key("c"), key("d")])],
        )]);
        let current = live(vec![live_project(
            "p1a",
            "P",
            vec![live_account("sa", Status::Active, vec![])],
        )]);
        diff(&wanted, &current, NOW).unwrap()
    }

    fn report(plan: &Plan, outcomes: &[(&str, Outcome)]) -> ApplyReport {
        let operations = plan
            .changes
            .iter()
            .map(|change| OperationReport {
                address: change.address.clone(),
                deposed: None,
                action: change.action,
                outcome: outcomes
                    .iter()
                    .find(|(key, _)| change.address == addr(key))
                    .map_or(Outcome::NotStarted, |(_, outcome)| outcome.clone()),
            })
            .collect();
        ApplyReport {
            operations,
            interrupted: false,
        }
    }

    fn no_sink() -> Sink {
        Sink::Dir(std::path::PathBuf::from("/nonexistent/kcform-secrets"))
    }

    #[test]
    fn an_apply_lists_every_key_it_creates_and_keeps_earlier_stamps() {
        let before = PendingKeys {
            keys: [(addr("a"), EARLIER.to_string())].into(),
        };
        let during = before.during(&plan(), STARTED);
        assert_eq!(
            during.keys[&addr("a")],
            EARLIER,
            "an earlier entry keeps its time"
        );
        for key in ["b", "c", "d"] {
            assert_eq!(during.keys[&addr(key)], STARTED);
        }
    }

    #[test]
    fn only_settled_creates_leave_the_record() {
        let plan = plan();
        let before = PendingKeys {
            keys: [(addr("d"), EARLIER.to_string())].into(),
        };
        let during = before.during(&plan, STARTED);
        let report = report(
            &plan,
            &[
                ("a", Outcome::Done(Done::default())),
                ("b", Outcome::Failed("lost answer, look-up failed".into())),
            ],
        );
        let after = before.after(during, &plan, &report, &live(vec![]), &no_sink());
        let kept: Vec<&Address> = after.keys.keys().collect();
        // a: delivered; b: failed, may have left a key; c: never started; d: never started
        // this time, but an earlier apply's create of it is still unsettled.
        assert_eq!(kept, vec![&addr("b"), &addr("d")]);
        assert_eq!(after.keys[&addr("b")], STARTED);
        assert_eq!(after.keys[&addr("d")], EARLIER);
    }

    #[test]
    fn an_earlier_entry_is_settled_once_its_key_is_seen_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::Dir(dir.path().to_path_buf());
        let mut held = live_key("held", "", 0);
        held.id = "key-held".into();
        let mut unheld = live_key("unheld", "", 0);
        unheld.id = "key-unheld".into();
        let old = live_key("old", "", 30);
        let current = live(vec![live_project(
            "p1a",
            "P",
            vec![live_account("sa", Status::Active, vec![held, unheld, old])],
        )]);
        std::fs::create_dir_all(dir.path().join("p1a/sa")).unwrap();
        std::fs::write(
            dir.path().join("p1a/sa/held.json"),
            r#"{"access_key_id": "key-held"}"#,
        )
        .unwrap();
        let before = PendingKeys {
            keys: ["held", "unheld", "old", "gone"]
                .into_iter()
                .map(|k| (addr(k), "2026-11-27T11:00:00Z".to_string()))
                .collect(),
        };
        let empty = Plan::default();
        let after = before.after(
            before.clone(),
            &empty,
            &ApplyReport::default(),
            &current,
            &sink,
        );
        let kept: Vec<&Address> = after.keys.keys().collect();
        // Not settled: a key with no secret, a key older than the entry (the create it stands
        // for may still show up), no key at all (it may be hidden by a listing's lag).
        assert_eq!(kept, vec![&addr("gone"), &addr("old"), &addr("unheld")]);
    }

    #[test]
    fn the_plan_marks_keys_created_since_their_entry_without_a_secret() {
        let pending = PendingKeys {
            keys: ["new", "old"]
                .into_iter()
                .map(|k| (addr(k), "2026-11-27T11:00:00Z".to_string()))
                .collect(),
        };
        let mut project = live_project(
            "p1a",
            "P",
            vec![live_account(
                "sa",
                Status::Active,
                vec![live_key("new", "", 0), live_key("old", "", 2)],
            )],
        );
        let marked = mark_undelivered(&pending, &mut project, &no_sink());
        assert_eq!(marked, vec![addr("new")]);
        let keys = &project.service_accounts["sa"].access_keys;
        assert!(keys["new"].undelivered && !keys["old"].undelivered);
    }
}
