//! `--target` and `--exclude`: `--target` narrows a plan to the changes inside the targeted
//! addresses plus everything they need first (a parent's create, the key deletes that free a
//! slot or precede an account's delete); `--exclude` drops the changes inside the excluded
//! addresses plus everything that needs them. Both follow the operation graph.

use crate::address::Address;
use crate::graph::OperationGraph;

use super::Plan;

/// The part of `plan` that `targets` need; the whole plan when `targets` is empty.
pub fn targeted(plan: Plan, targets: &[Address]) -> Plan {
    if targets.is_empty() {
        return plan;
    }
    let graph = OperationGraph::build(&plan);
    let mut keep = vec![false; plan.changes.len()];
    let mut stack: Vec<usize> = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(_, change)| targets.iter().any(|t| t.contains(&change.address)))
        .map(|(i, _)| i)
        .collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut keep[i], true) {
            continue;
        }
        stack.extend(graph.dependencies(i));
    }
    let changes = plan
        .changes
        .into_iter()
        .zip(keep)
        .filter_map(|(change, kept)| kept.then_some(change))
        .collect();
    Plan { changes, ..plan }
}

/// `plan` without the changes inside `excludes` and without everything that depends on them.
pub fn excluded(plan: Plan, excludes: &[Address]) -> Plan {
    if excludes.is_empty() {
        return plan;
    }
    let graph = OperationGraph::build(&plan);
    let mut drop = vec![false; plan.changes.len()];
    let mut stack: Vec<usize> = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(_, change)| excludes.iter().any(|e| e.contains(&change.address)))
        .map(|(i, _)| i)
        .collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut drop[i], true) {
            continue;
        }
        stack.extend(graph.dependents(i));
    }
    let changes = plan
        .changes
        .into_iter()
        .zip(drop)
        .filter_map(|(change, dropped)| (!dropped).then_some(change))
        .collect();
    Plan { changes, ..plan }
}
