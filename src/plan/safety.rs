//! Safety rails that look at a whole plan: the mass-deletion threshold, and the deletion of a
//! service account the last apply recorded as protected. (Deactivating a declared protected
//! account is refused by the diff itself.)

use std::collections::BTreeMap;

use crate::address::Address;
use crate::limits::{MASS_DELETE_MIN_OBJECTS, MASS_DELETE_RATIO};
use crate::live::Live;

use super::drift::Snapshot;
use super::{Action, Change, Plan};

/// One message per service account that `changes` delete although the last apply recorded it
/// with `protect = true` (its table was removed from the configuration since).
pub fn protected_deletions(changes: &[Change], recorded: &Snapshot) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c.action == Action::Delete && c.deposed.is_none())
        .filter(|c| matches!(c.address, Address::ServiceAccount { .. }))
        .filter(|c| {
            recorded
                .objects
                .get(&c.address.to_string())
                .is_some_and(|r| r.protect)
        })
        .map(|c| {
            format!(
                "{} is protected: it was last applied with `protect = true`, and its table is no longer in the configuration, so it cannot be deleted.\n\
                 hint: declare it again with `protect = false` and apply that reviewed change first if the deletion is intended.",
                c.address
            )
        })
        .collect()
}

/// One message per project whose service accounts or keys this plan deletes in bulk: more than
/// [`MASS_DELETE_RATIO`] of them, when it has at least [`MASS_DELETE_MIN_OBJECTS`].
pub fn mass_deletions(plan: &Plan, live: &Live) -> Vec<String> {
    let mut deletes: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for change in plan.changes.iter().filter(|c| c.action == Action::Delete) {
        let kind = match change.address {
            Address::ServiceAccount { .. } => "service accounts",
            Address::AccessKey { .. } => "access keys",
            Address::Project { .. } => continue,
        };
        *deletes
            .entry((change.address.project_name(), kind))
            .or_default() += 1;
    }
    let mut problems = Vec::new();
    for ((project, kind), deleted) in deletes {
        let Some(live_project) = live.projects.get(project) else {
            continue;
        };
        let existing = match kind {
            "service accounts" => live_project.service_accounts.len(),
            _ => live_project
                .service_accounts
                .values()
                .map(|a| a.access_keys.len() + a.deposed_keys.len())
                .sum(),
        };
        if existing >= MASS_DELETE_MIN_OBJECTS
            && deleted as f64 > MASS_DELETE_RATIO * existing as f64
        {
            problems.push(format!(
                "project `{project}`: this plan deletes {deleted} of its {existing} {kind} ({:.0}%), more than the {:.0}% safety threshold",
                100.0 * deleted as f64 / existing as f64,
                100.0 * MASS_DELETE_RATIO
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::model::Status;
    use crate::plan::diff;

    fn accounts(n: usize) -> Vec<crate::live::LiveServiceAccount> {
        (0..n)
            .map(|i| live_account(&format!("sa{i:02}"), Status::Active, vec![]))
            .collect()
    }

    fn declared(keep: usize) -> crate::model::Desired {
        desired(vec![project(
            "p1a",
            "P",
            (0..keep)
                .map(|i| account(&format!("sa{i:02}"), vec![]))
                .collect(),
        )])
    }

    #[test]
    fn deleting_more_than_thirty_percent_of_ten_is_refused() {
        let current = live(vec![live_project("p1a", "P", accounts(10))]);
        let plan = diff(&declared(6), &current, NOW).unwrap();
        let problems = mass_deletions(&plan, &current);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("deletes 4 of its 10 service accounts"),
            "{problems:?}"
        );
    }

    #[test]
    fn thirty_percent_exactly_or_a_small_project_passes() {
        let current = live(vec![live_project("p1a", "P", accounts(10))]);
        let plan = diff(&declared(7), &current, NOW).unwrap();
        assert!(mass_deletions(&plan, &current).is_empty());
        let small = live(vec![live_project("p1a", "P", accounts(9))]);
        let plan = diff(&declared(0), &small, NOW).unwrap();
        assert!(mass_deletions(&plan, &small).is_empty());
    }
}
