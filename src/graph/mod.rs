//! Dependency graphs (petgraph): the resource graph of a configuration (key → service account →
//! project), and the operation graph of a plan that `apply` executes — creates after their
//! parent's create or activation, a key's deletes before its account's delete or deactivation
//! and before the account's new keys take their slots, and one account's replacements one after
//! another so a single free slot serves them all.
//!
//! The graph knows neither plans nor their execution: it orders [`Operation`]s — an address,
//! what is done to it ([`Step`]) — and `plan` maps its changes onto them
//! (docs/design.md#order).

use std::collections::HashMap;
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::address::Address;
use crate::model::Desired;

/// What an operation does to its object, as far as its order is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Creates the object.
    Create,
    /// Deletes an access key and creates its successor (in either order).
    Replace,
    /// Sets a service account active.
    Activate,
    /// Sets a service account inactive.
    Deactivate,
    /// Deletes the object.
    Delete,
    /// Changes attributes only (a project's nickname or description).
    Update,
}

/// One operation to order.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// The object it acts on.
    pub address: &'a Address,
    /// What it does.
    pub step: Step,
    /// It acts on an older generation of the key at `address` (a deposed key), not on the
    /// object the address names now: nothing waits for it as a parent.
    pub deposed: bool,
}

/// The operations' order: node weights are indexes into the operations it was built from; an
/// edge `a → b` means `b` starts only after `a` succeeded.
#[derive(Debug, Clone)]
pub struct OperationGraph {
    graph: DiGraph<usize, ()>,
}

impl OperationGraph {
    /// Orders `operations`.
    pub fn build(operations: &[Operation<'_>]) -> OperationGraph {
        let mut graph = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..operations.len()).map(|i| graph.add_node(i)).collect();
        let index: HashMap<&Address, usize> = operations
            .iter()
            .enumerate()
            .filter(|(_, operation)| !operation.deposed)
            .map(|(i, operation)| (operation.address, i))
            .collect();

        // Key deletes by their service account, so each lookup below is one hash probe rather
        // than a scan of every operation (plans reach tens of thousands of changes).
        let mut key_deletes: HashMap<Address, Vec<usize>> = HashMap::new();
        for (j, operation) in operations.iter().enumerate() {
            if let (Address::AccessKey { .. }, Step::Delete, Some(account)) = (
                operation.address,
                operation.step,
                operation.address.parent(),
            ) {
                key_deletes.entry(account).or_default().push(j);
            }
        }
        let deletes_in =
            |account: &Address| key_deletes.get(account).into_iter().flatten().copied();

        let mut previous_replace: HashMap<Address, usize> = HashMap::new();
        for (i, operation) in operations.iter().enumerate() {
            let parent = operation.address.parent();
            let parent_operation = parent.as_ref().and_then(|p| index.get(p).copied());
            match operation.step {
                Step::Create | Step::Replace | Step::Activate => {
                    if let Some(p) = parent_operation
                        && matches!(operations[p].step, Step::Create | Step::Activate)
                    {
                        graph.add_edge(nodes[p], nodes[i], ());
                    }
                }
                _ => {}
            }
            if let (Address::AccessKey { .. }, Some(account)) = (operation.address, &parent) {
                if matches!(operation.step, Step::Create | Step::Replace) {
                    for j in deletes_in(account) {
                        graph.add_edge(nodes[j], nodes[i], ());
                    }
                }
                if operation.step == Step::Replace {
                    if let Some(&before) = previous_replace.get(account) {
                        graph.add_edge(nodes[before], nodes[i], ());
                    }
                    previous_replace.insert(account.clone(), i);
                }
            }
            if let Address::ServiceAccount { .. } = operation.address
                && matches!(operation.step, Step::Delete | Step::Deactivate)
            {
                for j in deletes_in(operation.address) {
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

    /// The operations `operation` waits for.
    pub fn dependencies(&self, operation: usize) -> Vec<usize> {
        self.neighbors(operation, Direction::Incoming)
    }

    /// The operations that wait for `operation`.
    pub fn dependents(&self, operation: usize) -> Vec<usize> {
        self.neighbors(operation, Direction::Outgoing)
    }

    fn neighbors(&self, operation: usize, direction: Direction) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(operation), direction)
            .map(|n| self.graph[n])
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Graphviz DOT of the operations: `label(i)` gives operation `i`'s node name and the
    /// symbol shown before it.
    pub fn to_dot(&self, label: impl Fn(usize) -> (String, &'static str)) -> String {
        let mut dot = String::from("digraph operations {\n  rankdir = \"LR\";\n");
        for node in self.graph.node_indices() {
            let (name, symbol) = label(self.graph[node]);
            let _ = writeln!(dot, "  \"{name}\" [label=\"{symbol} {name}\"];");
        }
        for edge in self.graph.raw_edges() {
            let (from, _) = label(self.graph[edge.source()]);
            let (to, _) = label(self.graph[edge.target()]);
            let _ = writeln!(dot, "  \"{from}\" -> \"{to}\";");
        }
        dot.push_str("}\n");
        dot
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

    fn address(text: &str) -> Address {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// Operations from `(address, step)` pairs; a `~` before the address marks a deposed key.
    fn graph_of(steps: &[(&str, Step)]) -> (Vec<Address>, OperationGraph) {
        let addresses: Vec<Address> = steps
            .iter()
            .map(|(text, _)| address(text.trim_start_matches('~')))
            .collect();
        let operations: Vec<Operation<'_>> = steps
            .iter()
            .zip(&addresses)
            .map(|((text, step), address)| Operation {
                address,
                step: *step,
                deposed: text.starts_with('~'),
            })
            .collect();
        let graph = OperationGraph::build(&operations);
        (addresses.clone(), graph)
    }

    #[test]
    fn a_create_waits_for_its_parents_create_or_activation_only() {
        let (_, graph) = graph_of(&[
            ("project.p1a", Step::Create),
            ("service_account.p1a/new", Step::Create),
            ("access_key.p1a/new/k", Step::Create),
            ("service_account.p1a/back", Step::Activate),
            ("access_key.p1a/back/k", Step::Create),
            ("project.p1b", Step::Update),
            ("service_account.p1b/sa", Step::Create),
        ]);
        assert_eq!(graph.dependencies(1), vec![0]);
        assert_eq!(graph.dependencies(2), vec![1]);
        assert_eq!(graph.dependencies(4), vec![3]);
        assert!(graph.dependencies(6).is_empty(), "an update is no parent");
        assert_eq!(graph.dependents(0), vec![1, 3]);
    }

    #[test]
    fn key_deletes_come_first_and_a_deposed_key_is_nobodys_parent() {
        let (_, graph) = graph_of(&[
            ("access_key.p1a/sa/old", Step::Delete),
            ("~access_key.p1a/sa/k", Step::Delete),
            ("access_key.p1a/sa/k", Step::Replace),
            ("access_key.p1a/sa/j", Step::Replace),
            ("service_account.p1a/sa", Step::Deactivate),
        ]);
        assert_eq!(
            graph.dependencies(2),
            vec![0, 1],
            "deletes free the slots first"
        );
        assert_eq!(
            graph.dependencies(3),
            vec![0, 1, 2],
            "one replacement after another"
        );
        assert_eq!(
            graph.dependencies(4),
            vec![0, 1],
            "keys go before the account's deactivation"
        );
        assert_eq!(graph.len(), 5);
    }

    #[test]
    fn the_operations_dot_uses_the_given_labels() {
        let (addresses, graph) = graph_of(&[
            ("project.p1a", Step::Create),
            ("service_account.p1a/sa", Step::Create),
        ]);
        let dot = graph.to_dot(|i| (addresses[i].to_string(), "+"));
        assert!(
            dot.contains("\"project.p1a\" [label=\"+ project.p1a\"];"),
            "{dot}"
        );
        assert!(
            dot.contains("\"project.p1a\" -> \"service_account.p1a/sa\";"),
            "{dot}"
        );
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
