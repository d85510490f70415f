//! What an apply did, operation by operation: the [`ApplyReport`] that `apply` returns and
//! that kcform's state is updated from — the journal record (`journal`), the keeper record
//! (`keepers`), the last-applied record (`snapshot`) and the pending creates (`pending`). Plain
//! data: IDs, outcomes and API messages, never a secret.

use crate::address::Address;
use crate::plan::Action;

/// How one operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded.
    Done(Done),
    /// It failed with this message (the API's message and the route).
    Failed(String),
    /// It never started because an earlier operation failed or the apply was interrupted.
    NotStarted,
}

/// One operation's line in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationReport {
    /// The address.
    pub address: Address,
    /// For a deposed key: its ID.
    pub deposed: Option<String>,
    /// The action.
    pub action: Action,
    /// How it ended.
    pub outcome: Outcome,
}

/// The whole apply's outcome, in plan order.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    /// One entry per change of the plan.
    pub operations: Vec<OperationReport>,
    /// True when a Ctrl-C stopped the apply.
    pub interrupted: bool,
}

impl ApplyReport {
    /// True when every operation is done.
    pub fn succeeded(&self) -> bool {
        !self.interrupted
            && self
                .operations
                .iter()
                .all(|op| matches!(op.outcome, Outcome::Done(_)))
    }

    /// The operations that failed.
    pub fn failures(&self) -> impl Iterator<Item = &OperationReport> {
        self.operations
            .iter()
            .filter(|op| matches!(op.outcome, Outcome::Failed(_)))
    }
}

/// What a finished operation did, for the report and the keeper record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Done {
    /// The ID of the object created (a new key's ID for a replace).
    pub created_id: Option<String>,
    /// The ID of the object deleted (the old key's ID for a replace).
    pub deleted_id: Option<String>,
    /// Problems that did not fail the operation (a secret file that could not be removed).
    pub warnings: Vec<String>,
}
