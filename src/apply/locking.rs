//! The lock and journal around one apply: take the configuration's lock (waiting up to
//! `--lock-timeout` with a message on stderr), write the journal record when the apply ends,
//! and release the lock whatever the outcome.

use std::time::Duration;

use crate::apply::ApplyReport;
use crate::journal::Record;
use crate::lock::{Guard, Store};
use crate::model::Desired;
use crate::plan::Plan;

/// Takes the lock of the configuration `desired` for an apply.
pub async fn acquire(desired: &Desired, timeout: Duration) -> anyhow::Result<(Store, Guard)> {
    let store = Store::open(&desired.lock, &desired.config_dir).map_err(|e| e.into_anyhow())?;
    let guard = store
        .acquire("apply", timeout, |holder| {
            eprintln!(
                "Waiting up to {} for the lock at {}, held by {} on {} since {} for `{}` (lock ID {})...",
                humanize(timeout),
                store.location(),
                holder.who,
                holder.host,
                holder.created,
                holder.operation,
                holder.id
            );
        })
        .await
        .map_err(|e| e.into_anyhow())?;
    Ok((store, guard))
}

/// Releases the lock and passes `result` on; a lock that cannot be released is reported with
/// the command that removes it.
pub async fn release(
    store: &Store,
    guard: Guard,
    result: anyhow::Result<i32>,
) -> anyhow::Result<i32> {
    let id = guard.info.id.clone();
    if let Err(error) = store.release(guard).await {
        eprintln!("warning: could not release lock {id}: {error}; run `kcform unlock {id}`");
    }
    result
}

/// Writes the apply's journal record; a failure to write it is a warning, since the changes
/// are made either way.
pub async fn journal(
    store: &Store,
    guard: &Guard,
    plan: &Plan,
    checksum: &str,
    report: &ApplyReport,
) {
    let record = Record::new(&guard.info, plan, checksum, report);
    if let Err(error) = store
        .write_journal(&record.file_name(), record.to_json())
        .await
    {
        eprintln!("warning: the journal record was not written: {error}");
    }
}

fn humanize(duration: Duration) -> String {
    match duration.as_millis() {
        ms if ms % 1000 != 0 => format!("{ms}ms"),
        ms => format!("{}s", ms / 1000),
    }
}
