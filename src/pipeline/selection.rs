//! Which part of the plan to keep: `--target` and `--exclude` (see docs/design.md#selection).

use super::PipelineError;
use crate::address::Address;
use crate::live::Live;
use crate::model::Desired;
use crate::plan::Plan;

/// The `--target` and `--exclude` addresses of a plan.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    /// `--target`: keep only these and what they depend on.
    pub targets: &'a [Address],
    /// `--exclude`: leave these and what depends on them out.
    pub excludes: &'a [Address],
}

impl<'a> Selection<'a> {
    /// The selection of `targets` and `excludes`.
    pub fn new(targets: &'a [Address], excludes: &'a [Address]) -> Selection<'a> {
        Selection { targets, excludes }
    }

    /// The whole plan.
    pub fn everything() -> Selection<'static> {
        Selection {
            targets: &[],
            excludes: &[],
        }
    }

    /// Whether it keeps the whole plan.
    pub fn is_everything(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }

    /// Fails, naming the closest valid addresses, when a `--target` or `--exclude` names no
    /// declared or live object: a typo must not read as "No changes".
    pub fn check(&self, desired: &Desired, live: &Live) -> Result<(), PipelineError> {
        let mut problems = Vec::new();
        for (flag, addresses) in [("--target", self.targets), ("--exclude", self.excludes)] {
            for missing in crate::plan::unmatched(addresses, desired, live) {
                let mut line = format!(
                    "{flag} {} matches nothing declared or live",
                    missing.address
                );
                if !missing.closest.is_empty() {
                    let closest: Vec<String> =
                        missing.closest.iter().map(ToString::to_string).collect();
                    line.push_str(&format!("; closest: {}", closest.join(", ")));
                }
                problems.push(line);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(PipelineError::Selection(problems.join("\n")))
        }
    }

    /// The part of `plan` it keeps.
    pub fn keep(&self, plan: Plan) -> Plan {
        let plan = crate::plan::targeted(plan, self.targets);
        crate::plan::excluded(plan, self.excludes)
    }
}
