//! The last-applied record (`.kcform/snapshot.json`): what kcform applied last, so the next plan
//! can tell drift (changes made outside kcform) from configuration changes. Written after every
//! apply, from the plan and what each operation did; never holds a secret.

use std::path::{Path, PathBuf};

use crate::apply::{ApplyReport, Outcome};
use crate::plan::drift::{Snapshot, record};
use crate::plan::{Action, Plan};

/// Why the record cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("last-applied record {path}: {detail}")]
pub struct SnapshotError {
    path: PathBuf,
    detail: String,
}

fn path(config_dir: &Path) -> PathBuf {
    config_dir.join(".kcform").join("snapshot.json")
}

/// Reads the record; `None` when kcform never applied here.
pub fn load(config_dir: &Path) -> Result<Option<Snapshot>, SnapshotError> {
    let path = path(config_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| SnapshotError {
                path,
                detail: format!("not valid JSON ({e}); fix or remove it"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SnapshotError {
            path,
            detail: e.to_string(),
        }),
    }
}

/// Updates the record with what an apply of `plan` did (failed and unstarted operations leave
/// their object's previous record) and writes it.
pub fn record_apply(
    config_dir: &Path,
    previous: Option<Snapshot>,
    plan: &Plan,
    report: &ApplyReport,
) -> Result<(), SnapshotError> {
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
    let path = path(config_dir);
    let mut text = serde_json::to_string_pretty(&snapshot).expect("snapshot serializes");
    text.push('\n');
    crate::apply::sink::write_private_file(&path, text.as_bytes()).map_err(|e| SnapshotError {
        path,
        detail: e.to_string(),
    })
}
