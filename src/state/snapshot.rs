//! The last-applied record (`snapshot.json`, one of kcform's `records`): what kcform applied
//! last, so the next plan can tell drift (changes made outside kcform) from configuration
//! changes. Written after every apply, from the plan and what each operation did; never holds
//! a secret. The record's type, [`Snapshot`], is the plan's input and lives with the code that
//! reads it (`plan::drift`); this module owns its name and how an apply updates it.

use super::report::{ApplyReport, Outcome};
use crate::live::Live;
use crate::model::Desired;
use crate::plan::drift::{Snapshot, record};
use crate::plan::{Action, Plan};

/// The record's name (see `state::records`).
pub const RECORD: &str = "snapshot.json";

/// The record after an apply of `plan`, made from `live`, did what `report` says (failed and
/// unstarted operations leave their object's previous record; objects `live` showed gone are
/// forgotten, see [`Snapshot::forget_gone`], and so are projects `desired` no longer declares,
/// which the plan said are left unmanaged). Each recorded account declared in `desired` takes
/// its `protect` flag from there; an account no longer declared keeps the flag it had, so its
/// deletion stays refused (see `plan::safety::protected_deletions`).
pub fn after_apply(
    previous: Option<Snapshot>,
    plan: &Plan,
    report: &ApplyReport,
    live: &Live,
    desired: &Desired,
) -> Snapshot {
    let mut snapshot = previous.unwrap_or_default();
    snapshot.forget_gone(live);
    snapshot.forget_undeclared(desired);
    for unchanged in &plan.unchanged {
        snapshot.objects.insert(
            unchanged.address.to_string(),
            record(&unchanged.attributes, None),
        );
    }
    for (change, op) in plan.changes.iter().zip(&report.operations) {
        let Outcome::Done(done) = &op.outcome else {
            continue;
        };
        if change.deposed.is_some() {
            continue;
        }
        let address = change.address.to_string();
        match (change.action, &change.after) {
            (Action::Delete, _) | (_, None) => {
                snapshot.objects.remove(&address);
            }
            (_, Some(after)) => {
                let mut recorded = record(after, done.created_id.clone());
                if matches!(change.action, Action::Create | Action::Replace(_))
                    && matches!(change.address, crate::address::Address::AccessKey { .. })
                {
                    recorded
                        .attributes
                        .insert("status".to_string(), serde_json::json!("active"));
                }
                snapshot.objects.insert(address, recorded);
            }
        }
    }
    for (address, recorded) in &mut snapshot.objects {
        let Some((project, account)) = address
            .strip_prefix("service_account.")
            .and_then(|rest| rest.split_once('/'))
        else {
            continue;
        };
        if let Some(spec) = desired
            .projects
            .get(project)
            .and_then(|p| p.service_accounts.get(account))
        {
            recorded.protect = spec.protect;
        }
    }
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::model::Status;
    use crate::plan::diff;
    use crate::plan::drift::{detect, snapshot_of};

    #[test]
    fn an_apply_forgets_what_is_gone_and_keeps_what_it_did_not_read() {
        let applied = live(vec![
            live_project(
                "p1a",
                "P",
                vec![live_account(
                    "sa",
                    Status::Active,
                    vec![live_key("gone", "", 1), live_key("kept", "", 1)],
                )],
            ),
            live_project("p2b", "Q", vec![]),
        ]);
        let previous = snapshot_of(&applied);
        // `gone` was deleted (outside kcform, or by an apply killed before it recorded that)
        // and is no longer declared; p2b is not read this time.
        let now = live(vec![live_project(
            "p1a",
            "P",
            vec![live_account(
                "sa",
                Status::Active,
                vec![live_key("kept", "", 1)],
            )],
        )]);
        let wanted = desired(vec![project(
            "p1a",
            "P",
            vec![account("sa", vec![key("kept")])],
        )]);
        let plan = diff(&wanted, &now, NOW).unwrap();
        assert!(plan.is_empty());
        let before = Some(previous.clone());
        let noted: Vec<String> = detect(&before, &now, &wanted)
            .into_iter()
            .map(|d| format!("{}: {}", d.address, d.notes.join(", ")))
            .collect();
        assert_eq!(noted, ["access_key.p1a/sa/gone: deleted outside kcform"]);

        // p2b is still declared (it was not read this time, as when its read failed).
        let mut declared = wanted.clone();
        declared
            .projects
            .insert("p2b".to_string(), project("p2b", "Q", vec![]));
        let forgetting = after_apply(
            Some(previous.clone()),
            &plan,
            &ApplyReport::default(),
            &now,
            &wanted,
        );
        assert!(
            !forgetting.objects.contains_key("project.p2b"),
            "a project no longer declared is forgotten (the plan said it is left unmanaged)"
        );
        let after = after_apply(
            Some(previous),
            &plan,
            &ApplyReport::default(),
            &now,
            &declared,
        );
        assert!(
            detect(&Some(after.clone()), &now, &wanted).is_empty(),
            "noted once, then forgotten"
        );
        assert!(!after.objects.contains_key("access_key.p1a/sa/gone"));
        assert!(after.objects.contains_key("access_key.p1a/sa/kept"));
        assert!(
            after.objects.contains_key("project.p2b"),
            "a declared project that was not read keeps its record"
        );
    }
}
