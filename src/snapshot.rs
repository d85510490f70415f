//! The last-applied record (`snapshot.json`, one of kcform's `records`): what kcform applied
//! last, so the next plan can tell drift (changes made outside kcform) from configuration
//! changes. Written after every apply, from the plan and what each operation did; never holds
//! a secret.

use crate::apply::{ApplyReport, Outcome};
use crate::plan::drift::{Snapshot, record};
use crate::plan::{Action, Plan};

/// The record's name (see `records`).
pub const RECORD: &str = "snapshot.json";

/// The record after an apply of `plan` did what `report` says (failed and unstarted operations
/// leave their object's previous record).
pub fn after_apply(previous: Option<Snapshot>, plan: &Plan, report: &ApplyReport) -> Snapshot {
    let mut snapshot = previous.unwrap_or_default();
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
    snapshot
}
