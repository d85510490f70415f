//! Planning project by project as the live objects arrive. Declared projects are independent
//! of each other, so each one's diff, drift and fingerprints can be worked out as soon as its
//! listings are read, while the others are still on the wire; the result is exactly what
//! [`super::diff`], [`super::drift::detect`] and [`Live::fingerprints`] give for the whole live
//! state at once.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::live::{Live, LiveProject};
use crate::model::Desired;

use super::diff::{ProjectDiff, assemble, diff_project};
use super::drift::{Snapshot, detect_project};
use super::safety::protected_deletions;
use super::saved::{ProjectDigest, project_digest};
use super::{Change, Drift, Plan, PlanRefused, Unmanaged};

/// A plan being put together one live project at a time.
#[derive(Debug)]
pub struct Incremental {
    desired: Desired,
    /// The last applied state, by project (see [`Snapshot::by_project`]).
    snapshot: Option<BTreeMap<String, Snapshot>>,
    now: OffsetDateTime,
    live: Live,
    diffs: Vec<ProjectDiff>,
    drift: Vec<Drift>,
    fingerprints: BTreeMap<String, String>,
    digests: BTreeMap<String, ProjectDigest>,
    /// Deletions of accounts the last apply recorded as protected.
    protected: Vec<String>,
}

/// What [`Incremental::finish`] gives back.
#[derive(Debug)]
pub struct Finished {
    /// The configuration it planned.
    pub desired: Desired,
    /// Every live project it was given.
    pub live: Live,
    /// The plan (with its drift), or why it is refused.
    pub plan: Result<Plan, PlanRefused>,
    /// Fingerprints of every live object (see [`Live::fingerprints`]).
    pub fingerprints: BTreeMap<String, String>,
    /// Each project's share of the plan's checksum: what
    /// [`super::saved::project_digests`] gives for the whole plan and `fingerprints`.
    pub digests: BTreeMap<String, ProjectDigest>,
}

impl Incremental {
    /// Starts planning `desired` at time `now` against the last applied `snapshot` (for
    /// drift).
    pub fn new(desired: Desired, snapshot: Option<Snapshot>, now: OffsetDateTime) -> Incremental {
        Incremental {
            desired,
            snapshot: snapshot.map(Snapshot::by_project),
            now,
            live: Live::default(),
            diffs: Vec::new(),
            drift: Vec::new(),
            fingerprints: BTreeMap::new(),
            digests: BTreeMap::new(),
            protected: Vec::new(),
        }
    }

    /// Notes the live projects that are not declared, as `(name, nickname)`.
    pub fn undeclared(&mut self, projects: Vec<(String, String)>) {
        self.live.undeclared_projects = projects;
    }

    /// Plans one live project and returns its changes (in plan order). A project that is not
    /// declared is kept in the live state but plans nothing, as with [`super::diff`].
    pub fn project(&mut self, project: LiveProject) -> &[Change] {
        let declared = self.desired.projects.get(&project.name);
        let diff = declared.map(|spec| {
            diff_project(
                spec,
                Some(&project),
                &self.live.undeclared_projects,
                self.now,
            )
        });
        // A project's share of the last applied state is only needed here: taken out, it is
        // freed as the projects arrive rather than all at once after the last one (at scale,
        // milliseconds of freeing on the way to the plan).
        let recorded = self
            .snapshot
            .as_mut()
            .map(|parts| parts.remove(&project.name).unwrap_or_default());
        if let (Some(diff), Some(recorded)) = (&diff, &recorded) {
            self.protected
                .extend(protected_deletions(diff.changes(), recorded));
        }
        self.drift
            .extend(detect_project(&recorded, &project, declared));
        let mut fingerprints = BTreeMap::new();
        project.fingerprints_into(&mut fingerprints);
        let changes: Vec<_> = diff.iter().flat_map(|d| d.changes()).collect();
        self.digests.insert(
            project.name.clone(),
            project_digest(&fingerprints, &changes),
        );
        self.fingerprints.extend(fingerprints);
        self.live.projects.insert(project.name.clone(), project);
        match diff {
            Some(diff) => {
                self.diffs.push(diff);
                self.diffs.last().map_or(&[], ProjectDiff::changes)
            }
            None => &[],
        }
    }

    /// Plans the declared projects that were not read (they do not exist yet) and puts the
    /// plan together.
    pub fn finish(mut self) -> Finished {
        for spec in self.desired.projects.values() {
            if !self.live.projects.contains_key(&spec.name) {
                let diff = diff_project(spec, None, &self.live.undeclared_projects, self.now);
                let changes: Vec<_> = diff.changes().iter().collect();
                self.digests
                    .insert(spec.name.clone(), project_digest([], &changes));
                self.diffs.push(diff);
            }
        }
        let mut drift = self.drift;
        drift.sort_by(|a, b| a.address.cmp(&b.address));
        // What is left of the record after every read project took its share: projects not
        // read, among them those no longer declared.
        let unmanaged: Vec<Unmanaged> = self
            .snapshot
            .unwrap_or_default()
            .into_iter()
            .filter(|(name, _)| !self.desired.projects.contains_key(name))
            .map(|(name, part)| part.unmanaged(&name))
            .collect();
        let plan = match assemble(self.diffs) {
            Err(mut refused) => {
                refused.by_safety_rail |= !self.protected.is_empty();
                refused.problems.extend(self.protected);
                Err(refused)
            }
            Ok(_) if !self.protected.is_empty() => Err(PlanRefused {
                problems: self.protected,
                by_safety_rail: true,
            }),
            Ok(mut plan) => {
                plan.drift = drift;
                plan.unmanaged = unmanaged;
                Ok(plan)
            }
        };
        Finished {
            desired: self.desired,
            live: self.live,
            plan,
            fingerprints: self.fingerprints,
            digests: self.digests,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::model::Status;

    /// Live projects: one in step, one drifted, one undeclared; and a declared project that
    /// does not exist.
    fn world() -> (Desired, Live, Snapshot) {
        let desired = desired(vec![
            project("p1a", "Same", vec![account("sa", vec![key("k")])]),
            project(
                "p2b",
                "Changed",
                vec![account("sb", vec![key_described("k", "new")])],
            ),
            project("p3c", "New", vec![]),
        ]);
        let before = live(vec![
            live_project(
                "p1a",
                "Same",
                vec![live_account(
                    "sa",
                    Status::Active,
                    vec![live_key("k", "", 1)],
                )],
            ),
            live_project(
                "p2b",
                "Old",
                vec![live_account(
                    "sb",
                    Status::Active,
                    vec![live_key("k", "old", 2)],
                )],
            ),
        ]);
        let snapshot = crate::plan::drift::snapshot_of(&before);
        let mut now = before.clone();
        now.projects.get_mut("p2b").unwrap().description = "edited".into();
        now.projects.insert(
            "zz9".into(),
            live_project(
                "zz9",
                "Other",
                vec![live_account("x", Status::Active, vec![])],
            ),
        );
        now.undeclared_projects = vec![("old1".into(), "Elsewhere".into())];
        (desired, now, snapshot)
    }

    #[test]
    fn project_by_project_in_any_order_is_the_whole_plan() {
        let (desired, live, snapshot) = world();
        let mut whole = crate::plan::diff(&desired, &live, NOW).unwrap();
        whole.drift = crate::plan::drift::detect(&Some(snapshot.clone()), &live, &desired);
        assert!(!whole.changes.is_empty() && !whole.drift.is_empty());

        let mut incremental = Incremental::new(desired, Some(snapshot), NOW);
        incremental.undeclared(live.undeclared_projects.clone());
        for name in ["zz9", "p2b", "p1a"] {
            incremental.project(live.projects[name].clone());
        }
        let finished = incremental.finish();
        // Every project's share of the checksum: the live ones (one undeclared), and p3c,
        // which is only created.
        assert_eq!(
            finished.digests.keys().collect::<Vec<_>>(),
            ["p1a", "p2b", "p3c", "zz9"]
        );
        assert_eq!(
            finished.digests,
            crate::plan::saved::project_digests(&live.fingerprints(), &whole.changes)
        );
        assert_eq!(finished.plan.unwrap(), whole);
        assert_eq!(finished.fingerprints, live.fingerprints());
        assert_eq!(finished.live, live);
    }

    #[test]
    fn refusals_are_the_whole_plans_too() {
        let (desired, mut live, _) = world();
        live.undeclared_projects = vec![("old1".into(), "New".into())];
        let whole = crate::plan::diff(&desired, &live, NOW).unwrap_err();
        let mut incremental = Incremental::new(desired, None, NOW);
        incremental.undeclared(live.undeclared_projects.clone());
        for project in live.projects.values() {
            incremental.project(project.clone());
        }
        assert_eq!(incremental.finish().plan.unwrap_err(), whole);
    }
}
