//! The apply lock as the pipeline holds it: taken before the live objects are read, it ends with
//! the journal record of what the apply did, then is released (the lock and the journal are
//! `state`'s; see docs/design.md#records).

use std::time::Duration;

use super::PipelineError;
use crate::model::Desired;
use crate::plan::Plan;
use crate::state::report::ApplyReport;
use crate::state::{Backend, Guard, journal, lock};

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
        let (backend, guard) = lock::acquire_for_apply(desired, state, timeout).await?;
        Ok(ApplyLock { backend, guard })
    }

    /// Writes the journal record of an apply of `plan` (checksum `checksum`) that ended with
    /// `report`; a failure to write it is a warning, since the changes are made either way.
    pub async fn journal(&self, plan: &Plan, checksum: &str, report: &ApplyReport) {
        journal::write(&self.backend, &self.guard, plan, checksum, report).await;
    }

    /// Releases the lock and passes `result` on; a lock that cannot be released is reported
    /// with the command that removes it.
    pub async fn release<T>(self, result: T) -> T {
        lock::release_after(&self.backend, self.guard, result).await
    }
}
