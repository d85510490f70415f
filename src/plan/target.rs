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
    let reached = closure(&plan, targets, OperationGraph::dependencies);
    keep(plan, |i| reached[i])
}

/// `plan` without the changes inside `excludes` and without everything that depends on them.
pub fn excluded(plan: Plan, excludes: &[Address]) -> Plan {
    if excludes.is_empty() {
        return plan;
    }
    let reached = closure(&plan, excludes, OperationGraph::dependents);
    keep(plan, |i| !reached[i])
}

/// Marks the changes inside `seeds` and everything reachable from them along `next`.
fn closure(
    plan: &Plan,
    seeds: &[Address],
    next: fn(&OperationGraph, usize) -> Vec<usize>,
) -> Vec<bool> {
    let graph = OperationGraph::build(plan);
    let mut reached = vec![false; plan.changes.len()];
    let mut stack: Vec<usize> = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(_, change)| seeds.iter().any(|s| s.contains(&change.address)))
        .map(|(i, _)| i)
        .collect();
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut reached[i], true) {
            stack.extend(next(&graph, i));
        }
    }
    reached
}

fn keep(plan: Plan, kept: impl Fn(usize) -> bool) -> Plan {
    let changes = plan
        .changes
        .into_iter()
        .enumerate()
        .filter_map(|(i, change)| kept(i).then_some(change))
        .collect();
    Plan { changes, ..plan }
}
