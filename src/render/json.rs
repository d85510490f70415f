//! kcform's own JSON plan (`--format json`), documented in `docs/plan-json.md`: every change
//! with address, action, before, after and reasons, the drift notes, the summary counts, the
//! checksum and a `destructive` flag. Never a secret: plans hold none.

use serde::Serialize;

use crate::plan::{
    Action, Attributes, Denied, Drift, Plan, ReplaceOrder, Summary, Unmanaged, UnrecordedRotation,
};

/// The schema version of this document.
pub const FORMAT_VERSION: &str = "1.0";

#[derive(Serialize)]
struct Document<'a> {
    format_version: &'static str,
    kcform_version: &'static str,
    checksum: &'a str,
    destructive: bool,
    summary: Summary,
    changes: Vec<ChangeView<'a>>,
    drift: &'a [Drift],
    unmanaged: &'a [Unmanaged],
    unrecorded_rotations: &'a [UnrecordedRotation],
    denied: &'a [Denied],
}

#[derive(Serialize)]
struct ChangeView<'a> {
    address: String,
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    replace_order: Option<ReplaceOrder>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deposed: Option<&'a str>,
    before: Option<&'a Attributes>,
    after: Option<&'a Attributes>,
    reasons: &'a [String],
}

/// Renders the plan as kcform's JSON document (pretty, newline-terminated).
pub fn render(plan: &Plan, checksum: &str) -> String {
    let document = Document {
        format_version: FORMAT_VERSION,
        kcform_version: env!("CARGO_PKG_VERSION"),
        checksum,
        destructive: plan.is_destructive(),
        summary: plan.summary(),
        changes: plan
            .changes
            .iter()
            .map(|change| ChangeView {
                address: change.address.to_string(),
                kind: change.address.kind(),
                name: change.address.name(),
                action: change.action.name(),
                replace_order: match change.action {
                    Action::Replace(order) => Some(order),
                    _ => None,
                },
                deposed: change.deposed.as_deref(),
                before: change.before.as_ref(),
                after: change.after.as_ref(),
                reasons: &change.reasons,
            })
            .collect(),
        drift: &plan.drift,
        unmanaged: &plan.unmanaged,
        unrecorded_rotations: &plan.unrecorded_rotations,
        denied: &plan.denied,
    };
    let mut text = serde_json::to_string_pretty(&document).expect("plan serializes");
    text.push('\n');
    text
}
