//! The keeper record: which `rotation` value each access key was created with. The IAM API
//! cannot store it (keys cannot be edited), so kcform keeps it among its records (see
//! `state::records`). A key without a record is taken to match its configuration, and is
//! recorded by the next apply ([`after_apply`]).

use std::collections::BTreeMap;

use super::report::{ApplyReport, Outcome};
use crate::address::Address;
use crate::live::Live;
use crate::model::Desired;
use crate::plan::Plan;

/// Key ID → rotation value.
pub type Keepers = BTreeMap<String, String>;

/// The record's name.
pub const RECORD: &str = "keepers.json";

/// The keeper record after `report`: which rotation value each declared key was created with
/// (see the module documentation).
pub fn after_apply(
    mut record: Keepers,
    desired: &Desired,
    live: &Live,
    plan: &Plan,
    report: &ApplyReport,
) -> Keepers {
    for (change, op) in plan.changes.iter().zip(&report.operations) {
        let Outcome::Done(done) = &op.outcome else {
            continue;
        };
        if let Some(id) = &done.deleted_id {
            record.remove(id);
        }
        let rotation = change
            .after
            .as_ref()
            .and_then(|after| after.get("rotation"))
            .and_then(|v| v.as_str());
        if let (Some(id), Some(rotation)) = (&done.created_id, rotation) {
            record.insert(id.clone(), rotation.to_string());
        }
    }
    // A key being replaced keeps no record: were its replacement to fail, recording the new
    // rotation value against the old key would hide the rotation that is still due.
    let changing: std::collections::HashSet<&Address> =
        plan.changes.iter().map(|c| &c.address).collect();
    for project in desired.projects.values() {
        for account in project.service_accounts.values() {
            for key in account.access_keys.values() {
                let live_key = live
                    .projects
                    .get(&project.name)
                    .and_then(|p| p.service_accounts.get(&account.name))
                    .and_then(|s| s.access_keys.get(&key.name));
                if let (Some(rotation), Some(live_key)) = (&key.rotation, live_key)
                    && live_key.rotation.is_none()
                    && !record.contains_key(&live_key.id)
                    && !changing.contains(&Address::access_key(
                        &project.name,
                        &account.name,
                        &key.name,
                    ))
                {
                    record.insert(live_key.id.clone(), rotation.clone());
                }
            }
        }
    }
    record
}
