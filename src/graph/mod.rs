//! Dependency graphs (petgraph): the resource graph of a configuration (key → service account →
//! project), and the operation graph of a plan that `apply` executes — creates after their
//! parent's create or activation, a key's deletes before its account's delete or deactivation
//! and before the account's new keys take their slots, and one account's replacements one after
//! another so a single free slot serves them all. `--target` and `--exclude` narrow a plan
//! along the operation graph (`target`). The graph reads plan types; `plan` depends on nothing
//! here.

mod target;

use std::collections::HashMap;
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::address::Address;
use crate::model::Desired;
use crate::plan::{Action, Plan};

pub use target::{Unmatched, excluded, targeted, unmatched};

/// The operations of a plan: node weights are indexes into `plan.changes`; an edge `a → b`
/// means `b` starts only after `a` succeeded.
#[derive(Debug, Clone)]
pub struct OperationGraph {
    graph: DiGraph<usize, ()>,
}

impl OperationGraph {
    /// Builds the operation graph of `plan`.
    pub fn build(plan: &Plan) -> OperationGraph {
        let mut graph = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..plan.changes.len()).map(|i| graph.add_node(i)).collect();
        let index: HashMap<&Address, usize> = plan
            .changes
            .iter()
            .enumerate()
            .filter(|(_, change)| change.deposed.is_none())
            .map(|(i, change)| (&change.address, i))
            .collect();

        // Key deletes by their service account, so each lookup below is one hash probe rather
        // than a scan of the whole plan (plans reach tens of thousands of changes).
        let mut key_deletes: HashMap<Address, Vec<usize>> = HashMap::new();
        for (j, change) in plan.changes.iter().enumerate() {
            if let (Address::AccessKey { .. }, Action::Delete, Some(account)) =
                (&change.address, change.action, change.address.parent())
            {
                key_deletes.entry(account).or_default().push(j);
            }
        }
        let deletes_in =
            |account: &Address| key_deletes.get(account).into_iter().flatten().copied();

        let mut previous_replace: HashMap<Address, usize> = HashMap::new();
        for (i, change) in plan.changes.iter().enumerate() {
            let parent = change.address.parent();
            let parent_change = parent.as_ref().and_then(|p| index.get(p).copied());
            match change.action {
                Action::Create | Action::Replace(_) | Action::Activate => {
                    if let Some(p) = parent_change
                        && matches!(plan.changes[p].action, Action::Create | Action::Activate)
                    {
                        graph.add_edge(nodes[p], nodes[i], ());
                    }
                }
                _ => {}
            }
            if let (Address::AccessKey { .. }, Some(account)) = (&change.address, &parent) {
                if matches!(change.action, Action::Create | Action::Replace(_)) {
                    for j in deletes_in(account) {
                        graph.add_edge(nodes[j], nodes[i], ());
                    }
                }
                if let Action::Replace(_) = change.action {
                    if let Some(&before) = previous_replace.get(account) {
                        graph.add_edge(nodes[before], nodes[i], ());
                    }
                    previous_replace.insert(account.clone(), i);
                }
            }
            if let Address::ServiceAccount { .. } = change.address
                && matches!(change.action, Action::Delete | Action::Deactivate)
            {
                for j in deletes_in(&change.address) {
                    graph.add_edge(nodes[j], nodes[i], ());
                }
            }
        }
        debug_assert!(!petgraph::algo::is_cyclic_directed(&graph));
        OperationGraph { graph }
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// True when there are no operations.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// The operations `change` waits for.
    pub fn dependencies(&self, change: usize) -> Vec<usize> {
        self.neighbors(change, Direction::Incoming)
    }

    /// The operations that wait for `change`.
    pub fn dependents(&self, change: usize) -> Vec<usize> {
        self.neighbors(change, Direction::Outgoing)
    }

    fn neighbors(&self, change: usize, direction: Direction) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(change), direction)
            .map(|n| self.graph[n])
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Graphviz DOT of the operations, labelled `<action> <address>`.
    pub fn to_dot(&self, plan: &Plan) -> String {
        let mut dot = String::from("digraph operations {\n  rankdir = \"LR\";\n");
        for node in self.graph.node_indices() {
            let change = &plan.changes[self.graph[node]];
            let _ = writeln!(
                dot,
                "  \"{}\" [label=\"{} {}\"];",
                node_name(change),
                change.action.symbol(),
                node_name(change)
            );
        }
        for edge in self.graph.raw_edges() {
            let from = node_name(&plan.changes[self.graph[edge.source()]]);
            let to = node_name(&plan.changes[self.graph[edge.target()]]);
            let _ = writeln!(dot, "  \"{from}\" -> \"{to}\";");
        }
        dot.push_str("}\n");
        dot
    }
}

fn node_name(change: &crate::plan::Change) -> String {
    match &change.deposed {
        Some(id) => format!("{} (deposed {id})", change.address),
        None => change.address.to_string(),
    }
}

/// The resource graph of a configuration in Graphviz DOT: each object points at what it
/// depends on (key → service account → project), like `terraform graph`.
pub fn resource_dot(desired: &Desired) -> String {
    let mut graph: DiGraph<Address, ()> = DiGraph::new();
    for project in desired.projects.values() {
        let project_node = graph.add_node(Address::project(&project.name));
        for account in project.service_accounts.values() {
            let account_node =
                graph.add_node(Address::service_account(&project.name, &account.name));
            graph.add_edge(account_node, project_node, ());
            for key in account.access_keys.values() {
                let key_node =
                    graph.add_node(Address::access_key(&project.name, &account.name, &key.name));
                graph.add_edge(key_node, account_node, ());
            }
        }
    }
    let mut dot = String::from("digraph kcform {\n  compound = \"true\";\n  newrank = \"true\";\n");
    for node in graph.node_indices() {
        let address = &graph[node];
        let shape = match address {
            Address::Project { .. } => "box",
            Address::ServiceAccount { .. } => "ellipse",
            Address::AccessKey { .. } => "note",
        };
        let _ = writeln!(dot, "  \"{address}\" [shape={shape}];");
    }
    for edge in graph.raw_edges() {
        let _ = writeln!(
            dot,
            "  \"{}\" -> \"{}\";",
            graph[edge.source()],
            graph[edge.target()]
        );
    }
    dot.push_str("}\n");
    dot
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
        let graph = OperationGraph::build(&plan);
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
        let graph = OperationGraph::build(&plan);
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
        let graph = OperationGraph::build(&plan);
        let (a, b) = (
            position(&plan, "access_key.p1a/sa/a"),
            position(&plan, "access_key.p1a/sa/b"),
        );
        assert_eq!(graph.dependencies(b), vec![a]);
    }

    #[test]
    fn the_resource_graph_points_from_keys_to_projects() {
        let dot = resource_dot(&desired(vec![project(
            "p1a",
            "P",
            vec![account("sa", vec![key("k")])],
        )]));
        assert!(dot.starts_with("digraph kcform {"));
        assert!(dot.contains("\"access_key.p1a/sa/k\" -> \"service_account.p1a/sa\";"));
        assert!(dot.contains("\"service_account.p1a/sa\" -> \"project.p1a\";"));
        assert!(dot.trim_end().ends_with('}'));
    }
}
