//! What the credential may do, learnt from its token ([`authorize`]), and the plan's changes
//! it may not perform as plan data for the renderers ([`denied`]); the rules themselves are
//! `permissions`' (see docs/design.md#roles).

use std::collections::BTreeSet;

use super::PipelineError;
use crate::cloud::Client;
use crate::permissions::Authority;
use crate::plan::Plan;

/// Learns from its token what the credential may do, refusing (with the role needed) when it
/// cannot read every project in `projects`.
pub async fn authorize(
    client: &Client,
    projects: &BTreeSet<String>,
) -> Result<Authority, PipelineError> {
    let token = client.whoami().await.map_err(PipelineError::Authenticate)?;
    let authority = Authority::from_token(&token);
    authority.check_readable(projects)?;
    Ok(authority)
}

/// The plan's changes that `authority` may not perform, as plan data for the renderers.
pub fn denied(authority: &Authority, plan: &Plan) -> Vec<crate::plan::Denied> {
    authority
        .check_plan(plan)
        .into_iter()
        .map(|denial| crate::plan::Denied {
            address: denial.address,
            deposed: denial.deposed,
            action: denial.action.name().to_string(),
            reason: denial.reason,
        })
        .collect()
}
