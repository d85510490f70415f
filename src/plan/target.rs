//! `--target` and `--exclude`: `--target` narrows a plan to the changes inside the targeted
//! addresses plus everything they need first (a parent's create, the key deletes that free a
//! slot or precede an account's delete); `--exclude` drops the changes inside the excluded
//! addresses plus everything that needs them. Both follow the operation graph. An address that
//! names nothing declared or live is reported by [`unmatched`], never taken as "no changes".

use crate::address::Address;
use crate::config::suggest::edit_distance;
use crate::graph::OperationGraph;
use crate::live::Live;
use crate::model::Desired;

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

/// How many valid addresses an unmatched one suggests.
const SUGGESTIONS: usize = 3;

/// A `--target` or `--exclude` address that names no declared or live object, with the valid
/// addresses of its kind closest to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// The address as given.
    pub address: Address,
    /// Up to three declared or live addresses of the same kind, closest first.
    pub closest: Vec<Address>,
}

/// The addresses of `selection` that contain no object declared in `desired` or found in
/// `live` (keys of older generations included).
pub fn unmatched(selection: &[Address], desired: &Desired, live: &Live) -> Vec<Unmatched> {
    let known = known_addresses(desired, live);
    selection
        .iter()
        .filter(|address| !known.iter().any(|k| address.contains(k)))
        .map(|address| {
            let given = address.to_string();
            let mut same_kind: Vec<(usize, &Address)> = known
                .iter()
                .filter(|k| k.kind() == address.kind())
                .map(|k| (edit_distance(&given, &k.to_string()), k))
                .collect();
            same_kind.sort();
            Unmatched {
                address: address.clone(),
                closest: same_kind
                    .into_iter()
                    .take(SUGGESTIONS)
                    .map(|(_, k)| k.clone())
                    .collect(),
            }
        })
        .collect()
}

fn known_addresses(desired: &Desired, live: &Live) -> std::collections::BTreeSet<Address> {
    let mut known = std::collections::BTreeSet::new();
    for (name, project) in &desired.projects {
        known.insert(Address::project(name));
        for (account, spec) in &project.service_accounts {
            known.insert(Address::service_account(name, account));
            for key in spec.access_keys.keys() {
                known.insert(Address::access_key(name, account, key));
            }
        }
    }
    for (name, project) in &live.projects {
        known.insert(Address::project(name));
        for (account, live_account) in &project.service_accounts {
            known.insert(Address::service_account(name, account));
            let keys = live_account.access_keys.values();
            for key in keys.chain(&live_account.deposed_keys) {
                known.insert(Address::access_key(name, account, &key.name));
            }
        }
    }
    known
}

/// Marks the changes inside `seeds` and everything reachable from them along `next`.
fn closure(
    plan: &Plan,
    seeds: &[Address],
    next: fn(&OperationGraph, usize) -> Vec<usize>,
) -> Vec<bool> {
    let graph = plan.operation_graph();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::model::Status;
    use crate::plan::diff;

    #[test]
    fn targeting_a_key_brings_its_parents_creates() {
        let wanted = desired(vec![project(
            "a1b",
            "A",
            vec![account("etl", vec![key("ci")]), account("other", vec![])],
        )]);
        let plan = diff(&wanted, &live(vec![]), NOW).unwrap();
        let narrowed = targeted(plan, &[Address::access_key("a1b", "etl", "ci")]);
        assert_eq!(
            actions(&narrowed),
            vec![
                ("project.a1b".to_string(), "create"),
                ("service_account.a1b/etl".to_string(), "create"),
                ("access_key.a1b/etl/ci".to_string(), "create"),
            ]
        );
    }

    #[test]
    fn excluding_an_account_drops_its_keys_too() {
        let wanted = desired(vec![project(
            "a1b",
            "A",
            vec![account("etl", vec![key("ci")]), account("other", vec![])],
        )]);
        let plan = diff(&wanted, &live(vec![]), NOW).unwrap();
        let narrowed = excluded(plan, &[Address::service_account("a1b", "etl")]);
        assert_eq!(
            actions(&narrowed),
            vec![
                ("project.a1b".to_string(), "create"),
                ("service_account.a1b/other".to_string(), "create"),
            ]
        );
    }

    #[test]
    fn a_selection_that_names_nothing_is_reported_with_the_closest_addresses() {
        let wanted = desired(vec![project(
            "a1b",
            "A",
            vec![account("etl", vec![key("ci")]), account("other", vec![])],
        )]);
        let current = live(vec![live_project(
            "a1b",
            "A",
            vec![live_account(
                "stray",
                Status::Active,
                vec![live_key("old", "", 1)],
            )],
        )]);
        let selection = [
            Address::project("a1b"),
            Address::service_account("a1b", "etl"),
            // Live only: a delete can be targeted.
            Address::access_key("a1b", "stray", "old"),
            Address::service_account("a1b", "etll"),
            Address::access_key("a1b", "etl", "nope"),
            Address::project("zzz"),
        ];
        let missing = unmatched(&selection, &wanted, &current);
        let shown: Vec<(String, Vec<String>)> = missing
            .iter()
            .map(|m| {
                (
                    m.address.to_string(),
                    m.closest.iter().map(ToString::to_string).collect(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                (
                    "service_account.a1b/etll".to_string(),
                    vec![
                        "service_account.a1b/etl".to_string(),
                        "service_account.a1b/other".to_string(),
                        "service_account.a1b/stray".to_string(),
                    ]
                ),
                (
                    "access_key.a1b/etl/nope".to_string(),
                    vec![
                        "access_key.a1b/etl/ci".to_string(),
                        "access_key.a1b/stray/old".to_string(),
                    ]
                ),
                ("project.zzz".to_string(), vec!["project.a1b".to_string()]),
            ]
        );
    }
}
