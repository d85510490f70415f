//! Apply: executes a [`Plan`] along its operation graph with up to `parallelism` operations at
//! once. On the first failure (or a Ctrl-C) no new operation starts, the running ones finish,
//! and every operation's outcome is reported; the next apply converges from there.

mod operation;
pub mod progress;
mod recover;
pub mod sink;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::task::JoinSet;

use crate::cloud::Client;
use crate::plan::{Change, Plan};
use crate::state::report::{ApplyReport, OperationReport, Outcome};

use operation::{Context, CreatedIds};
use sink::Sink;

/// Apply settings.
pub struct ApplyOptions {
    /// Operations at once.
    pub parallelism: usize,
    /// Where new secrets go.
    pub sink: Sink,
    /// Set to stop starting new operations (the first Ctrl-C).
    pub stop: Arc<AtomicBool>,
}

/// Executes `plan`, calling `on_finished` as each operation ends.
pub async fn apply(
    client: Arc<Client>,
    plan: &Plan,
    options: ApplyOptions,
    mut on_finished: impl FnMut(&OperationReport),
) -> ApplyReport {
    let graph = plan.operation_graph();
    let changes: Arc<Vec<Change>> = Arc::new(plan.changes.clone());
    let sink = Arc::new(options.sink);
    let created = Arc::new(CreatedIds::default());
    let mut waiting: Vec<usize> = (0..graph.len())
        .map(|i| graph.dependencies(i).len())
        .collect();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; graph.len()];
    let mut ready: std::collections::VecDeque<usize> =
        (0..graph.len()).filter(|&i| waiting[i] == 0).collect();
    let mut running = JoinSet::new();
    let mut failed = false;

    loop {
        let stopping = failed || options.stop.load(Ordering::SeqCst);
        while !stopping && running.len() < options.parallelism.max(1) {
            let Some(index) = ready.pop_front() else {
                break;
            };
            let client = Arc::clone(&client);
            let sink = Arc::clone(&sink);
            let created = Arc::clone(&created);
            let changes = Arc::clone(&changes);
            running.spawn(async move {
                let context = Context {
                    client: &client,
                    sink: &sink,
                    created: &created,
                };
                let result = context.run(&changes[index]).await;
                (index, result)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (index, outcome) = match joined {
            Ok((index, Ok(done))) => (index, Outcome::Done(done)),
            Ok((index, Err(error))) => (index, Outcome::Failed(error.to_string())),
            Err(panic) => std::panic::resume_unwind(panic.into_panic()),
        };
        if matches!(outcome, Outcome::Failed(_)) {
            failed = true;
        } else {
            for dependent in graph.dependents(index) {
                waiting[dependent] -= 1;
                if waiting[dependent] == 0 {
                    ready.push_back(dependent);
                }
            }
        }
        let change = &changes[index];
        let report = OperationReport {
            address: change.address.clone(),
            deposed: change.deposed.clone(),
            action: change.action,
            outcome,
        };
        on_finished(&report);
        outcomes[index] = Some(report.outcome);
    }

    let operations = changes
        .iter()
        .zip(outcomes)
        .map(|(change, outcome)| OperationReport {
            address: change.address.clone(),
            deposed: change.deposed.clone(),
            action: change.action,
            outcome: outcome.unwrap_or(Outcome::NotStarted),
        })
        .collect();
    ApplyReport {
        operations,
        interrupted: options.stop.load(Ordering::SeqCst),
    }
}
