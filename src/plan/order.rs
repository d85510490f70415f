//! The plan's operations in the order `apply` runs them: each change mapped onto the graph's
//! [`Operation`] (its address, the [`Step`] its action takes, whether it acts on a deposed
//! key), ordered by [`OperationGraph`], and drawn as Graphviz DOT for `graph --operations`.

use crate::graph::{Operation, OperationGraph, Step};

use super::{Action, Change, Plan};

impl Action {
    /// The step this action takes, as the operation graph orders it.
    pub fn step(self) -> Step {
        match self {
            Action::Create => Step::Create,
            Action::Update => Step::Update,
            Action::Activate => Step::Activate,
            Action::Deactivate => Step::Deactivate,
            Action::Delete => Step::Delete,
            Action::Replace(_) => Step::Replace,
        }
    }
}

impl Plan {
    /// The order of the plan's changes: operation `i` is `self.changes[i]`.
    pub fn operation_graph(&self) -> OperationGraph {
        let operations: Vec<Operation<'_>> = self
            .changes
            .iter()
            .map(|change| Operation {
                address: &change.address,
                step: change.action.step(),
                deposed: change.deposed.is_some(),
            })
            .collect();
        OperationGraph::build(&operations)
    }

    /// Graphviz DOT of the order, each change labelled `<symbol> <address>`.
    pub fn operations_dot(&self, graph: &OperationGraph) -> String {
        graph.to_dot(|i| {
            let change = &self.changes[i];
            (node_name(change), change.action.symbol())
        })
    }
}

/// A change's node: its address, and the key ID for a deposed key's.
fn node_name(change: &Change) -> String {
    match &change.deposed {
        Some(id) => format!("{} (deposed {id})", change.address),
        None => change.address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::model::Status;
    use crate::plan::diff;

    fn position(plan: &Plan, address: &str) -> usize {
        plan.changes
            .iter()
            .position(|c| c.address.to_string() == address && c.deposed.is_none())
            .unwrap_or_else(|| panic!("{address} not in plan"))
    }

    #[test]
    fn creates_wait_for_their_parents() {
        let plan = diff(
            &desired(vec![project(
                "p1a",
                "P",
                vec![account("sa", vec![key("k")])],
            )]),
            &live(vec![]),
            NOW,
        )
        .unwrap();
        let graph = plan.operation_graph();
        let (p, s, k) = (
            position(&plan, "project.p1a"),
            position(&plan, "service_account.p1a/sa"),
            position(&plan, "access_key.p1a/sa/k"),
        );
        assert_eq!(graph.dependencies(s), vec![p]);
        assert_eq!(graph.dependencies(k), vec![s]);
        assert!(graph.dependencies(p).is_empty());
    }

    #[test]
    fn key_deletes_precede_their_accounts_delete_and_new_keys() {
        let current = live(vec![live_project(
            "p1a",
            "P",
            vec![
                live_account(
                    "gone",
                    Status::Active,
                    vec![live_key("a", "", 1), live_key("b", "", 1)],
                ),
                live_account("kept", Status::Active, vec![live_key("old", "", 1)]),
            ],
        )]);
        let wanted = desired(vec![project(
            "p1a",
            "P",
            vec![account("kept", vec![key("new")])],
        )]);
        let plan = diff(&wanted, &current, NOW).unwrap();
        let graph = plan.operation_graph();
        let gone = position(&plan, "service_account.p1a/gone");
        let mut expected = vec![
            position(&plan, "access_key.p1a/gone/a"),
            position(&plan, "access_key.p1a/gone/b"),
        ];
        expected.sort_unstable();
        assert_eq!(graph.dependencies(gone), expected);
        let new = position(&plan, "access_key.p1a/kept/new");
        assert_eq!(
            graph.dependencies(new),
            vec![position(&plan, "access_key.p1a/kept/old")]
        );
    }

    #[test]
    fn replacements_in_one_account_run_one_after_another() {
        let wanted = desired(vec![project(
            "p1a",
            "P",
            vec![account(
                "sa",
                vec![key_described("a", "x"), key_described("b", "y")],
            )],
        )]);
        let current = live(vec![live_project(
            "p1a",
            "P",
            vec![live_account(
                "sa",
                Status::Active,
                vec![live_key("a", "", 1), live_key("b", "", 1)],
            )],
        )]);
        let plan = diff(&wanted, &current, NOW).unwrap();
        let graph = plan.operation_graph();
        let (a, b) = (
            position(&plan, "access_key.p1a/sa/a"),
            position(&plan, "access_key.p1a/sa/b"),
        );
        assert_eq!(graph.dependencies(b), vec![a]);
    }
}
