//! `kcform apply`: plans, asks for `yes` (unless `--auto-approve`), executes the plan, and
//! reports every operation. The plan goes to stdout; progress and errors to stderr.

use std::io::{BufRead as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, bail};

use crate::apply::progress::Progress;
use crate::cli::ApplyArgs;
use crate::exit;
use crate::model::Desired;
use crate::pipeline::overlap::{self, Early, HeadStart};
use crate::pipeline::review::Reviewed;
use crate::pipeline::{self, ApplyLock, ApplyOptions, ApplyOutcome, Open, Planned, Session};
use crate::plan::Action;
use crate::render::Palette;
use crate::settings::GlobalSettings;
use crate::state::report::{ApplyReport, OperationReport, Outcome};

/// Runs it, holding the configuration's lock from before the live objects are read until the
/// journal record is written.
pub async fn run(args: &ApplyArgs, settings: &GlobalSettings) -> anyhow::Result<i32> {
    // Only the token may come early: the live objects are read under the lock.
    let (desired, head_start) =
        overlap::load(&args.path, settings, args.parallelism, Early::Token).await?;
    let lock = ApplyLock::acquire(&desired, &settings.state, args.lock_timeout).await?;
    let result = run_locked(desired, head_start, args, settings, &lock).await;
    lock.release(result).await
}

/// Plans and applies under the lock; the journal record is written once the session is closed.
async fn run_locked(
    desired: Desired,
    head_start: Option<HeadStart>,
    args: &ApplyArgs,
    settings: &GlobalSettings,
    lock: &ApplyLock,
) -> anyhow::Result<i32> {
    let reviewed = match (&args.plan, &args.expect_checksum) {
        (Some(file), _) => Reviewed::saved(file, &desired, &args.path)?,
        (None, Some(checksum)) => Reviewed::Checksum(checksum.clone()),
        (None, None) => Reviewed::Nothing,
    };
    let open = Open {
        settings,
        parallelism: args.parallelism,
        head_start,
    };
    let (planned, outcome) = pipeline::with_session(desired, open, async |session, desired| {
        plan_and_apply(session, desired, &reviewed, args, settings).await
    })
    .await?;
    let ApplyOutcome { report, recorded } = outcome;
    lock.journal(&planned.plan, &planned.checksum, &report)
        .await;
    recorded?;
    if planned.plan.is_empty() {
        return Ok(exit::SUCCESS);
    }
    finish(&report)
}

/// The plan apply runs — the same pipeline as `kcform plan`, its human blocks rendered as each
/// project is planned — shown, checked, confirmed and applied.
async fn plan_and_apply(
    session: &mut Session,
    desired: Desired,
    reviewed: &Reviewed,
    args: &ApplyArgs,
    settings: &GlobalSettings,
) -> anyhow::Result<(Planned, ApplyOutcome)> {
    let palette = Palette::new(settings.color_stdout);
    let selection = reviewed.selection(&args.targets, &args.excludes);
    let planned = pipeline::plan(session, desired, &selection, Some(palette.clone())).await?;
    reviewed.check(&planned)?;
    print!("{}", planned.human(&palette));
    let stop = Arc::new(AtomicBool::new(false));
    if !planned.plan.is_empty() {
        pipeline::apply::refuse(&planned, args.force)?;
        if !reviewed.is_saved() && !args.auto_approve {
            confirm(settings)?;
        }
        watch_interrupts(Arc::clone(&stop));
    }
    let options = ApplyOptions {
        parallelism: args.parallelism,
        stop,
    };
    let mut progress = Progress::new(planned.plan.changes.len());
    let outcome = pipeline::apply(session, &planned, options, |op| {
        progress.finished(&progress_lines(op));
    })
    .await?;
    progress.finish();
    Ok((planned, outcome))
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
