//! Exit codes (docs/design.md#exit-codes), and the one place that maps an error to its code.

use crate::pipeline::PipelineError;
use crate::state::{BackendError, RecordError};

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

/// The exit code for an error that reached the command edge: the first cause in its chain
/// that has a code of its own decides; anything else is [`ERROR`].
pub fn code_for(error: &anyhow::Error) -> i32 {
    error
        .chain()
        .find_map(|cause| {
            if let Some(error) = cause.downcast_ref::<PipelineError>() {
                return pipeline_code(error);
            }
            cause.downcast_ref::<BackendError>().and_then(backend_code)
        })
        .unwrap_or(ERROR)
}

fn pipeline_code(error: &PipelineError) -> Option<i32> {
    match error {
        PipelineError::NotReviewed(_) => Some(STALE_PLAN),
        PipelineError::SafetyRail(_) => Some(SAFETY_RAIL),
        PipelineError::Refused(refused) if refused.by_safety_rail => Some(SAFETY_RAIL),
        PipelineError::Lock(backend) => backend_code(backend),
        PipelineError::Records(RecordError::Backend(backend)) => backend_code(backend),
        _ => None,
    }
}

fn backend_code(error: &BackendError) -> Option<i32> {
    matches!(error, BackendError::Held(_)).then_some(LOCK_HELD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlanRefused;
    use crate::state::LockInfo;

    fn held() -> BackendError {
        BackendError::Held(Box::new(LockInfo {
            id: "id".into(),
            who: "someone".into(),
            operation: "apply".into(),
            created: "2026-12-01T00:00:00Z".into(),
            host: "ci".into(),
        }))
    }

    fn refused(by_safety_rail: bool) -> PipelineError {
        PipelineError::Refused(PlanRefused {
            problems: vec!["no".into()],
            by_safety_rail,
        })
    }

    #[test]
    fn each_error_with_a_code_of_its_own_gets_it_and_everything_else_exits_1() {
        let cases: Vec<(anyhow::Error, i32)> = vec![
            (
                PipelineError::NotReviewed("stale".into()).into(),
                STALE_PLAN,
            ),
            (
                PipelineError::SafetyRail("mass deletion".into()).into(),
                SAFETY_RAIL,
            ),
            (refused(true).into(), SAFETY_RAIL),
            (refused(false).into(), ERROR),
            (PipelineError::Lock(held()).into(), LOCK_HELD),
            (
                PipelineError::Records(RecordError::Backend(held())).into(),
                LOCK_HELD,
            ),
            (held().into(), LOCK_HELD),
            (PipelineError::Selection("--target x".into()).into(), ERROR),
            (anyhow::anyhow!("anything else"), ERROR),
            // Words added on the way keep the code.
            (
                anyhow::Error::from(PipelineError::NotReviewed("stale".into()))
                    .context("while applying"),
                STALE_PLAN,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(code_for(&error), code, "{error:#}");
        }
    }
}
