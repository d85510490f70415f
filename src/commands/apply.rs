//! `kcform apply`: plans, asks for `yes` (unless `--auto-approve`), executes the plan, and
//! reports every operation. The plan goes to stdout; progress and errors to stderr.

use std::io::{BufRead as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, bail};

use super::{Planned, Selection};
use crate::apply::sink::Sink;
use crate::apply::{self, ApplyOptions};
use crate::cli::ApplyArgs;
use crate::exit::{self, CodedError};
use crate::model::Desired;
use crate::plan::Action;
use crate::render::Palette;
use crate::settings::GlobalSettings;
use crate::state::pending::{self, PendingKeys};
use crate::state::report::{ApplyReport, OperationReport, Outcome};
use crate::state::{Backend, Guard, Records, journal, keepers, lock, snapshot};

/// Runs it, holding the configuration's lock from before the live objects are read until the
/// journal record is written.
pub async fn run(args: &ApplyArgs, settings: &GlobalSettings) -> anyhow::Result<i32> {
    // Only the token may come early: the live objects are read under the lock.
    let (desired, early) = super::load(&args.path, settings, args.parallelism, false).await?;
    let (backend, guard) =
        lock::acquire_for_apply(&desired, &settings.state, args.lock_timeout).await?;
    let result = run_locked(desired, early, args, settings, &backend, &guard).await;
    lock::release_after(&backend, guard, result).await
}

async fn run_locked(
    desired: Desired,
    early: Option<super::Early>,
    args: &ApplyArgs,
    settings: &GlobalSettings,
    backend: &Backend,
    guard: &Guard,
) -> anyhow::Result<i32> {
    let planned = match &args.plan {
        Some(file) => from_saved(desired, early, file, args, settings).await?,
        None => fresh(desired, early, args, settings).await?,
    };
    print!("{}", planned.human(&Palette::new(settings.color_stdout)));
    let records = &planned.records;
    let previous = records.load(snapshot::RECORD).await?;
    if planned.plan.is_empty() {
        let report = ApplyReport::default();
        record_outcome(&planned, previous, &report).await?;
        planned.connection.close().await;
        journal::write(
            backend,
            guard,
            &planned.plan,
            &planned.checksum,
            &ApplyReport::default(),
        )
        .await;
        return Ok(exit::SUCCESS);
    }
    if let Err(refused) = planned.authority.permit(&planned.plan) {
        planned.connection.close().await;
        return Err(refused.into());
    }
    if !args.force {
        let problems = crate::plan::safety::mass_deletions(&planned.plan, &planned.live);
        if !problems.is_empty() {
            planned.connection.close().await;
            return Err(CodedError {
                code: exit::SAFETY_RAIL,
                message: format!(
                    "apply refused by the mass-deletion safety rail:\n  - {}\nhint: review the plan; if these deletions are intended, run again with `--force`",
                    problems.join("\n  - ")
                ),
            }
            .into());
        }
    }
    if args.plan.is_none() && !args.auto_approve {
        confirm(settings)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    watch_interrupts(Arc::clone(&stop));
    let options = ApplyOptions {
        parallelism: args
            .parallelism
            .unwrap_or(planned.desired.provider.parallelism),
        sink: Sink::configured(&planned.desired),
        stop,
    };
    let mut progress = crate::apply::progress::Progress::new(planned.plan.changes.len());
    let pending_before: PendingKeys = records.load(pending::RECORD).await?.unwrap_or_default();
    // The API's clock, not `KCFORM_NOW`: it is compared with the keys' creation times.
    let started = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let pending_during = pending_before.during(&planned.plan, &started);
    save_pending(records, &pending_during).await?;
    let report = apply::apply(
        Arc::clone(&planned.connection.client),
        &planned.plan,
        options,
        |op| progress.finished(&progress_lines(op)),
    )
    .await;
    progress.finish();
    let recorded = async {
        let sink = Sink::configured(&planned.desired);
        let pending_after =
            pending_before.after(pending_during, &planned.plan, &report, &planned.live, &sink);
        save_pending(records, &pending_after).await?;
        record_outcome(&planned, previous, &report).await
    }
    .await;
    planned.connection.close().await;
    journal::write(backend, guard, &planned.plan, &planned.checksum, &report).await;
    recorded?;
    finish(&report)
}

/// The plan apply runs: the same pipeline as `kcform plan`, its human blocks rendered as each
/// project is planned.
async fn plan_for_apply(
    desired: Desired,
    early: Option<super::Early>,
    args: &ApplyArgs,
    settings: &GlobalSettings,
    selection: &Selection<'_>,
) -> anyhow::Result<Planned> {
    let palette = Palette::new(settings.color_stdout);
    super::make_plan(
        desired,
        early,
        settings,
        args.parallelism,
        selection,
        Some(palette),
    )
    .await
}

/// A fresh plan, checked against `--expect-checksum`.
async fn fresh(
    desired: Desired,
    early: Option<super::Early>,
    args: &ApplyArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<Planned> {
    let selection = Selection {
        targets: &args.targets,
        excludes: &args.excludes,
    };
    let planned = plan_for_apply(desired, early, args, settings, &selection).await?;
    if let Some(expected) = &args.expect_checksum
        && &planned.checksum != expected
    {
        planned.connection.close().await;
        return Err(CodedError {
            code: exit::STALE_PLAN,
            message: format!(
                "the plan's checksum is {} but --expect-checksum is {expected}: the configuration or the live objects changed since that plan was reviewed; nothing was applied",
                planned.checksum
            ),
        }
        .into());
    }
    Ok(planned)
}

/// The plan of the saved plan in `file`, derived again from the configuration and the live
/// objects: refused when the configuration or any live object it read has changed since, or
/// when the file's changes are not the plan kcform derives now (a forged file whose checksum
/// was recomputed). The file pins what was reviewed; it never tells kcform what to do.
async fn from_saved(
    desired: Desired,
    early: Option<super::Early>,
    file: &std::path::Path,
    args: &ApplyArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<Planned> {
    let saved = super::show::read_saved(file)?;
    let stale = |message: String| -> anyhow::Error {
        CodedError {
            code: exit::STALE_PLAN,
            message: format!(
                "{message}\nNothing was applied. Make a new plan with `kcform plan --out {}`.",
                file.display()
            ),
        }
        .into()
    };
    if desired.digest != saved.config_digest {
        if let Some(early) = early {
            early.close().await;
        }
        return Err(stale(format!(
            "the configuration at {} changed since the plan {} was made",
            args.path.display(),
            file.display()
        )));
    }
    let selection = Selection {
        targets: &saved.targets,
        excludes: &saved.excludes,
    };
    let planned = plan_for_apply(desired, early, args, settings, &selection).await?;
    let changed = saved.stale(&planned.fingerprints);
    if !changed.is_empty() {
        planned.connection.close().await;
        return Err(stale(format!(
            "the saved plan {} is stale: {} live object(s) changed since it was made:\n  - {}",
            file.display(),
            changed.len(),
            changed.join("\n  - ")
        )));
    }
    let differences = saved.differences(&planned.projects, &planned.plan);
    if !differences.is_empty() || planned.checksum != saved.checksum {
        planned.connection.close().await;
        let detail = if differences.is_empty() {
            format!(
                "its checksum is {} but the plan derived now sums to {}",
                saved.checksum, planned.checksum
            )
        } else {
            differences.join("\n  - ")
        };
        return Err(stale(format!(
            "the saved plan {} is not the plan kcform derives from the configuration and the live objects, so it was not made by `kcform plan` from them (or was edited and its checksum recomputed):\n  - {detail}",
            file.display()
        )));
    }
    Ok(planned)
}

fn confirm(settings: &GlobalSettings) -> anyhow::Result<()> {
    if !settings.interactive {
        bail!(
            "apply needs confirmation, but stdin is not a terminal; review the plan and run `kcform apply --auto-approve`"
        );
    }
    eprint!(
        "\nDo you want to perform these actions?\n  kcform will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    if answer.trim() != "yes" {
        bail!("apply cancelled");
    }
    Ok(())
}

/// The first Ctrl-C stops starting operations; the second aborts at once.
fn watch_interrupts(stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        stop.store(true, Ordering::SeqCst);
        eprintln!(
            "\nInterrupt received: no new operations start; waiting for the running ones. Press Ctrl-C again to abort at once."
        );
        if tokio::signal::ctrl_c().await.is_ok() {
            // Delivery commands run in process groups of their own, out of the terminal's reach.
            crate::apply::sink::kill_running();
            eprintln!("Aborted; run `kcform plan` to see what was done.");
            std::process::exit(130);
        }
    });
}

fn verb(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Create => ("Creation", "created"),
        Action::Update => ("Modification", "updated"),
        Action::Activate => ("Activation", "activated"),
        Action::Deactivate => ("Deactivation", "deactivated"),
        Action::Delete => ("Destruction", "destroyed"),
        Action::Replace(_) => ("Replacement", "replaced"),
    }
}

fn label(op: &OperationReport) -> String {
    match &op.deposed {
        Some(id) => format!("{} (deposed object {id})", op.address),
        None => op.address.to_string(),
    }
}

fn progress_lines(op: &OperationReport) -> Vec<String> {
    let (noun, _) = verb(op.action);
    match &op.outcome {
        Outcome::Done(done) => {
            let id = match (&done.created_id, &done.deleted_id) {
                (Some(id), _) => format!(" [id={id}]"),
                _ => String::new(),
            };
            let mut lines = vec![format!("{}: {noun} complete{id}", label(op))];
            for warning in &done.warnings {
                lines.push(format!("warning: {}: {warning}", label(op)));
            }
            lines
        }
        Outcome::Failed(message) => vec![format!("{}: {noun} failed: {message}", label(op))],
        Outcome::NotStarted => Vec::new(),
    }
}

fn finish(report: &ApplyReport) -> anyhow::Result<i32> {
    let done = crate::plan::Summary::of(
        report
            .operations
            .iter()
            .filter(|op| matches!(op.outcome, Outcome::Done(_)))
            .map(|op| op.action),
    );
    let totals = format!(
        "{} added, {} changed, {} deactivated, {} destroyed",
        done.add, done.change, done.deactivate, done.destroy
    );
    if report.succeeded() {
        println!("\nApply complete! Resources: {totals}.");
        return Ok(exit::SUCCESS);
    }
    eprintln!(
        "\nApply stopped{}. Resources: {totals}.",
        if report.interrupted {
            " by an interrupt"
        } else {
            ""
        }
    );
    for op in &report.operations {
        let (_, past) = verb(op.action);
        match &op.outcome {
            Outcome::Done(_) => eprintln!("  done         {} ({past})", label(op)),
            Outcome::Failed(message) => eprintln!("  failed       {}: {message}", label(op)),
            Outcome::NotStarted => eprintln!("  not started  {}", label(op)),
        }
    }
    let failures = report.failures().count();
    bail!(
        "{} operation(s) failed{}; run `kcform apply` again to converge",
        failures,
        if report.interrupted {
            " or were interrupted"
        } else {
            ""
        }
    )
}

/// Writes the pending-delivery record, or removes it when nothing is pending.
async fn save_pending(records: &Records, pending: &PendingKeys) -> anyhow::Result<()> {
    let value = (!pending.keys.is_empty()).then_some(pending);
    Ok(records.save(pending::RECORD, value).await?)
}

/// Records what the apply did: the keepers of the keys it created and the last-applied
/// snapshot.
async fn record_outcome(
    planned: &Planned,
    previous: Option<crate::plan::drift::Snapshot>,
    report: &ApplyReport,
) -> anyhow::Result<()> {
    let records = &planned.records;
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
