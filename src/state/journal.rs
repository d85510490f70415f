//! The apply journal: one JSON record per apply, written to the lock backend
//! (`.kcform/journal/<timestamp>-<lock id>.json`, or `prefix/journal/…` on S3): who applied,
//! when, with which kcform, the plan's checksum, and every operation with its outcome and the
//! remote IDs involved. It is an audit trail; it never holds a secret (operations carry IDs and
//! API messages only, and a key's secret never enters an [`OperationReport`]; a failed
//! `[secrets] command` is quoted by one line of its stderr, with the secret scrubbed from it in
//! its common encodings — see `apply::sink`). The record's types are in `state::report`.

use serde::Serialize;
use time::OffsetDateTime;

use super::backend::{Backend, BackendError};
use super::lock::{Guard, LockInfo, now_rfc3339};
use super::report::{ApplyReport, OperationReport, Outcome};
use crate::address::Address;
use crate::plan::{Plan, RemoteIds};

/// Version of the record format.
pub const FORMAT_VERSION: u32 = 1;

/// One apply.
#[derive(Debug, Serialize)]
pub struct Record {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The kcform that applied.
    pub kcform_version: &'static str,
    /// The lock ID held during the apply.
    pub lock_id: String,
    /// The user.
    pub who: String,
    /// The machine.
    pub host: String,
    /// When the lock was taken (RFC 3339).
    pub started: String,
    /// When the apply ended (RFC 3339).
    pub finished: String,
    /// `sha256:…` of the plan's changes.
    pub plan_checksum: String,
    /// `succeeded`, `failed`, `interrupted` or `no_changes`.
    pub outcome: &'static str,
    /// Every operation of the plan, in plan order.
    pub operations: Vec<OperationRecord>,
}

/// One operation.
#[derive(Debug, Serialize)]
pub struct OperationRecord {
    /// The address.
    pub address: Address,
    /// `create`, `update`, `activate`, `deactivate`, `delete` or `replace`.
    pub action: &'static str,
    /// `done`, `failed` or `not_started`.
    pub outcome: &'static str,
    /// The failure's message (the API's message and route).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Remote IDs known when planning.
    pub remote: RemoteIds,
    /// For a deposed key: its ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    /// The ID of the object created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_id: Option<String>,
    /// The ID of the object deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_id: Option<String>,
    /// What the operation noted (lost answers recovered, files not removed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Record {
    /// The record of an apply of `plan` that ended with `report`, under lock `lock`.
    pub fn new(lock: &LockInfo, plan: &Plan, checksum: &str, report: &ApplyReport) -> Record {
        let operations = plan
            .changes
            .iter()
            .zip(&report.operations)
            .map(|(change, op)| operation(change.remote.clone(), op))
            .collect();
        let outcome = if plan.is_empty() {
            "no_changes"
        } else if report.interrupted {
            "interrupted"
        } else if report.succeeded() {
            "succeeded"
        } else {
            "failed"
        };
        Record {
            format_version: FORMAT_VERSION,
            kcform_version: env!("CARGO_PKG_VERSION"),
            lock_id: lock.id.clone(),
            who: lock.who.clone(),
            host: lock.host.clone(),
            started: lock.created.clone(),
            finished: now_rfc3339(),
            plan_checksum: checksum.to_string(),
            outcome,
            operations,
        }
    }

    /// `<timestamp>-<lock id>.json`: names sort by time and never collide.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}.json",
            compact_timestamp(OffsetDateTime::now_utc()),
            self.lock_id
        )
    }

    /// The record as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

/// Writes the journal record of an apply of `plan` that ended with `report`, under the lock
/// `guard` of `backend`; returns where it was written.
pub async fn write(
    backend: &Backend,
    guard: &Guard,
    plan: &Plan,
    checksum: &str,
    report: &ApplyReport,
) -> Result<String, BackendError> {
    let record = Record::new(&guard.info, plan, checksum, report);
    backend
        .write_journal(&record.file_name(), record.to_json())
        .await
}

/// A timestamp for journal names that sorts by time: `20260101T120000Z`.
pub fn compact_timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

fn operation(remote: RemoteIds, op: &OperationReport) -> OperationRecord {
    let mut record = OperationRecord {
        address: op.address.clone(),
        action: op.action.name(),
        outcome: "not_started",
        error: None,
        remote,
        deposed: op.deposed.clone(),
        created_id: None,
        deleted_id: None,
        notes: Vec::new(),
    };
    match &op.outcome {
        Outcome::Done(done) => {
            record.outcome = "done";
            record.created_id = done.created_id.clone();
            record.deleted_id = done.deleted_id.clone();
            record.notes = done.warnings.clone();
        }
        Outcome::Failed(message) => {
            record.outcome = "failed";
            record.error = Some(message.clone());
        }
        Outcome::NotStarted => {}
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Change};
    use crate::state::report::Done;

    #[test]
    fn a_record_lists_every_operation_with_its_outcome_and_ids() {
        let change = |name: &str| Change {
            address: Address::project(name),
            deposed: None,
            action: Action::Create,
            before: None,
            after: None,
            reasons: Vec::new(),
            remote: RemoteIds::default(),
        };
        let plan = Plan {
            changes: vec![change("a"), change("b"), change("c")],
            ..Plan::default()
        };
        let report = ApplyReport {
            operations: vec![
                OperationReport {
                    address: Address::project("a"),
                    deposed: None,
                    action: Action::Create,
                    outcome: Outcome::Done(Done {
                        created_id: Some("id-a".into()),
                        ..Done::default()
                    }),
                },
                OperationReport {
                    address: Address::project("b"),
                    deposed: None,
                    action: Action::Create,
                    outcome: Outcome::Failed("POST /x: 403 Forbidden".into()),
                },
                OperationReport {
                    address: Address::project("c"),
                    deposed: None,
                    action: Action::Create,
                    outcome: Outcome::NotStarted,
                },
            ],
            interrupted: false,
        };
        let lock = LockInfo::new("apply", &crate::state::StateSettings::default());
        let record = Record::new(&lock, &plan, "sha256:abc", &report);
        let json: serde_json::Value = serde_json::from_slice(&record.to_json()).unwrap();
        assert_eq!(json["outcome"], "failed");
        assert_eq!(json["lock_id"], lock.id.as_str());
        assert_eq!(json["plan_checksum"], "sha256:abc");
        let outcomes: Vec<&str> = json["operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|op| op["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["done", "failed", "not_started"]);
        assert_eq!(json["operations"][0]["created_id"], "id-a");
        assert_eq!(json["operations"][1]["error"], "POST /x: 403 Forbidden");
        assert!(record.file_name().ends_with(&format!("-{}.json", lock.id)));
    }
}
