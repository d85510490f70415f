//! [`apply()`]: a plan executed in a session, and kcform's records brought up to date with what
//! it did — the pending key creates before and after, the keepers and the last-applied
//! snapshot (each record's own logic is `state`'s; this only calls it). [`refuse`] is what
//! stops an apply before anything runs.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{PipelineError, Planned, Session};
use crate::apply::sink::Sink;
use crate::plan::drift::Snapshot;
use crate::state::pending::{self, PendingKeys};
use crate::state::report::{ApplyReport, OperationReport};
use crate::state::{RecordError, Records, keepers, snapshot};

/// How to apply.
pub struct ApplyOptions {
    /// `--parallelism`: operations at once (default: the configuration's).
    pub parallelism: Option<usize>,
    /// Set to stop starting new operations (the first Ctrl-C).
    pub stop: Arc<AtomicBool>,
}

/// What an apply did.
pub struct ApplyOutcome {
    /// Every operation's outcome.
    pub report: ApplyReport,
    /// Whether kcform's records were updated after the operations ran: a failure is reported
    /// once the journal record of the operations is written.
    pub recorded: Result<(), RecordError>,
}

/// Refuses to apply `planned` when the credential may not perform it, or — unless `force` —
/// when it trips the mass-deletion safety rail (see docs/design.md#safety-rails).
pub fn refuse(planned: &Planned, force: bool) -> Result<(), PipelineError> {
    planned.authority.permit(&planned.plan)?;
    if force {
        return Ok(());
    }
    let problems = crate::plan::safety::mass_deletions(&planned.plan, &planned.live);
    if problems.is_empty() {
        return Ok(());
    }
    Err(PipelineError::SafetyRail(format!(
        "apply refused by the mass-deletion safety rail:\n  - {}\nhint: review the plan; if these deletions are intended, run again with `--force`",
        problems.join("\n  - ")
    )))
}

/// Executes `planned` in `session`, calling `on_finished` as each operation ends, and records
/// what it did. Every key the plan creates is recorded as pending before anything runs (see
/// `state::pending`); an empty plan runs nothing and only refreshes the keepers and the
/// last-applied snapshot. An error before the operations start is returned as such; one while
/// recording after them is in [`ApplyOutcome::recorded`].
pub async fn apply(
    session: &Session,
    planned: &Planned,
    options: ApplyOptions,
    on_finished: impl FnMut(&OperationReport),
) -> Result<ApplyOutcome, PipelineError> {
    let records = session.records();
    let previous: Option<Snapshot> = records.load(snapshot::RECORD).await?;
    if planned.plan.is_empty() {
        let report = ApplyReport::default();
        record_outcome(records, planned, previous, &report).await?;
        return Ok(ApplyOutcome {
            report,
            recorded: Ok(()),
        });
    }
    let pending_before: PendingKeys = records.load(pending::RECORD).await?.unwrap_or_default();
    // The API's clock, not `KCFORM_NOW`: it is compared with the keys' creation times.
    let started = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let pending_during = pending_before.during(&planned.plan, &started);
    save_pending(records, &pending_during).await?;
    let options = crate::apply::ApplyOptions {
        parallelism: options
            .parallelism
            .unwrap_or(planned.desired.provider.parallelism),
        sink: Sink::configured(&planned.desired),
        stop: options.stop,
    };
    let report = crate::apply::apply(
        Arc::clone(session.client()),
        &planned.plan,
        options,
        on_finished,
    )
    .await;
    let recorded = async {
        let sink = Sink::configured(&planned.desired);
        let pending_after =
            pending_before.after(pending_during, &planned.plan, &report, &planned.live, &sink);
        save_pending(records, &pending_after).await?;
        record_outcome(records, planned, previous, &report).await
    }
    .await;
    Ok(ApplyOutcome { report, recorded })
}

/// Writes the pending-delivery record, or removes it when nothing is pending.
async fn save_pending(records: &Records, pending: &PendingKeys) -> Result<(), RecordError> {
    let value = (!pending.keys.is_empty()).then_some(pending);
    records.save(pending::RECORD, value).await
}

/// Records what the apply did: the keepers of the keys it created and the last-applied
/// snapshot.
async fn record_outcome(
    records: &Records,
    planned: &Planned,
    previous: Option<Snapshot>,
    report: &ApplyReport,
) -> Result<(), RecordError> {
    let before: keepers::Keepers = records.load(keepers::RECORD).await?.unwrap_or_default();
    let after = keepers::after_apply(
        before.clone(),
        &planned.desired,
        &planned.live,
        &planned.plan,
        report,
    );
    if after != before {
        records.save(keepers::RECORD, Some(&after)).await?;
    }
    let snapshot = snapshot::after_apply(
        previous,
        &planned.plan,
        report,
        &planned.live,
        &planned.desired,
    );
    records.save(snapshot::RECORD, Some(&snapshot)).await?;
    Ok(())
}
