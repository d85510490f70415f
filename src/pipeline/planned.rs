//! What [`super::plan()`] gives back: the plan and everything it was derived from, as data (the
//! connection and the records stay in the [`super::Session`]).

use std::collections::BTreeMap;

use crate::address::Address;
use crate::live::Live;
use crate::model::Desired;
use crate::permissions::Authority;
use crate::plan::Plan;
use crate::plan::saved::SavedPlan;
use crate::render::{Palette, human};

/// A plan, and what it was made from.
pub struct Planned {
    /// The configuration.
    pub desired: Desired,
    /// The live objects read.
    pub live: Live,
    /// The plan (the selection kept, its denied changes noted).
    pub plan: Plan,
    /// The declared projects that were read, in name order.
    pub projects: Vec<String>,
    /// Fingerprints of every live object read.
    pub fingerprints: BTreeMap<String, String>,
    /// The plan's checksum (what `--expect-checksum` compares).
    pub checksum: String,
    /// What the credential may do, from its token.
    pub authority: Authority,
    /// The human blocks of `plan.changes` in the palette the caller asked for, when they were
    /// rendered as the projects were planned (see [`super::planner`]).
    pub(super) human_changes: Option<String>,
}

impl Planned {
    /// The human plan (the same text as [`human::render`]).
    pub fn human(&self, palette: &Palette) -> String {
        match &self.human_changes {
            Some(blocks) => human::render_with_changes(&self.plan, palette, blocks),
            None => human::render(&self.plan, palette),
        }
    }

    /// The saved plan (`kcform plan --out`) of this plan, made at `created_at` (RFC 3339) with
    /// the selection `targets`/`excludes`.
    pub fn saved(
        &self,
        created_at: String,
        targets: &[Address],
        excludes: &[Address],
    ) -> SavedPlan {
        SavedPlan::new(
            self.plan.clone(),
            self.desired.digest.clone(),
            self.projects.clone(),
            self.fingerprints.clone(),
            created_at,
        )
        .with_selection(targets, excludes)
    }

    /// Lets go of it without freeing it, for a process that ends right after: freeing tens of
    /// thousands of objects one by one would only add to the wall time of every plan.
    pub fn forget(self) {
        std::mem::forget(self);
    }
}
