//! The apply lock as the pipeline holds it: taken before the live objects are read, it ends with
//! the journal record of what the apply did, then is released (the lock and the journal are
//! `state`'s; see docs/design.md#records).

use std::time::Duration;

use super::PipelineError;
use crate::model::Desired;
use crate::plan::Plan;
use crate::state::report::ApplyReport;
use crate::state::{Backend, Guard, journal};

/// The held apply lock of a configuration, in its `[lock]` backend.
pub struct ApplyLock {
    backend: Backend,
    guard: Guard,
}

impl ApplyLock {
    /// Takes the lock of `desired`'s configuration, waiting up to `timeout` (`--lock-timeout`)
    /// with a message on stderr naming the holder.
    pub async fn acquire(
        desired: &Desired,
        state: &crate::state::StateSettings,
        timeout: Duration,
    ) -> Result<ApplyLock, PipelineError> {
        let backend = Backend::open(&desired.lock, &desired.config_dir, state)?;
        let guard = backend
            .acquire("apply", state, timeout, |holder| {
                eprintln!(
                    "Waiting up to {} for the lock at {}, held by {} on {} since {} for `{}` (lock ID {})...",
                    humanize(timeout),
                    backend.location(),
                    holder.who,
                    holder.host,
                    holder.created,
                    holder.operation,
                    holder.id
                );
            })
            .await?;
        Ok(ApplyLock { backend, guard })
    }

    /// Writes the journal record of an apply of `plan` (checksum `checksum`) that ended with
    /// `report`; a failure to write it is a warning, since the changes are made either way.
    pub async fn journal(&self, plan: &Plan, checksum: &str, report: &ApplyReport) {
        if let Err(error) = journal::write(&self.backend, &self.guard, plan, checksum, report).await
        {
            eprintln!("warning: the journal record was not written: {error}");
        }
    }

    /// Releases the lock and passes `result` on; a lock that cannot be released is reported
    /// with the command that removes it.
    pub async fn release<T>(self, result: T) -> T {
        let id = self.guard.info.id.clone();
        if let Err(error) = self.backend.release(self.guard).await {
            eprintln!("warning: could not release lock {id}: {error}; run `kcform unlock {id}`");
        }
        result
    }
}

/// `--lock-timeout` as written: `500ms`, `30s`.
fn humanize(duration: Duration) -> String {
    match duration.as_millis() {
        ms if ms % 1000 != 0 => format!("{ms}ms"),
        ms => format!("{}s", ms / 1000),
    }
}
