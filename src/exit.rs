//! Exit codes (docs/design.md#exit-codes), and the one place that maps an error to its code.

/// Success (and, with `--detailed-exitcode`, no changes).
pub const SUCCESS: i32 = 0;
/// Any error.
pub const ERROR: i32 = 1;
/// `plan --detailed-exitcode`: changes are present.
pub const CHANGES_PRESENT: i32 = 2;
/// The lock is held by someone else.
pub const LOCK_HELD: i32 = 3;
/// A saved plan no longer matches the live objects.
pub const STALE_PLAN: i32 = 4;
/// A safety rail refused the apply.
pub const SAFETY_RAIL: i32 = 5;

/// An error that carries its own exit code (safety rails, lock held, stale plan).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CodedError {
    /// The exit code.
    pub code: i32,
    /// What to print.
    pub message: String,
}

/// The exit code for an error that reached the command edge.
pub fn code_for(error: &anyhow::Error) -> i32 {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<CodedError>())
        .map_or(ERROR, |coded| coded.code)
}
