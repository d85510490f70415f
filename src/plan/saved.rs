//! Saved plans (`plan --out FILE`): a secret-free JSON file holding the changes, the digest of
//! the configuration they were made from, a fingerprint of every live object that was read,
//! the `--target`/`--exclude` selection, and a checksum. `apply --plan FILE` refuses a damaged
//! or edited file and a plan whose live objects changed since (see [`SavedPlan::stale`]). The
//! file pins what was reviewed; it never tells kcform what to do: the checksum is unkeyed, so
//! anyone can recompute it, and apply derives the plan again from the configuration and the
//! live objects and applies only when that plan is the one in the file (see
//! [`SavedPlan::differences`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{Change, Plan};
use crate::address::Address;

/// The saved-plan format this kcform writes and reads (2: the checksum sums each project's
/// share first).
pub const FORMAT_VERSION: u32 = 2;

/// A saved plan, as written to disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The kcform that made it.
    pub kcform_version: String,
    /// When it was made (RFC 3339); informative, not covered by the checksum.
    pub created_at: String,
    /// `sha256:` digest of the configuration files it was made from.
    pub config_digest: String,
    /// The declared projects whose live objects were read.
    pub projects: Vec<String>,
    /// Fingerprint of every live object read, by address.
    pub fingerprints: BTreeMap<String, String>,
    /// The plan.
    pub plan: Plan,
    /// `--target` addresses the plan was made with (apply derives it again with the same).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Address>,
    /// `--exclude` addresses the plan was made with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<Address>,
    /// `sha256:` over the configuration digest, the projects, the fingerprints and the
    /// changes (the selection is not covered: a different one derives a different plan).
    pub checksum: String,
}

/// Why a saved plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// Not a kcform plan file at all, or cut short.
    #[error("the plan file is damaged or not a kcform plan: {0}")]
    Damaged(String),
    /// Written by an incompatible kcform.
    #[error("the plan file has format version {found}; this kcform reads version {FORMAT_VERSION}")]
    Version {
        /// The version in the file.
        found: u32,
    },
    /// The checksum does not match the content: the file was edited or damaged.
    #[error(
        "the plan file was edited or damaged: its checksum is {recorded} but its content sums to {actual}"
    )]
    Checksum {
        /// The checksum in the file.
        recorded: String,
        /// The checksum of the content.
        actual: String,
    },
}

/// The checksum of a plan made from `config_digest` against live objects with `fingerprints`:
/// what `plan` prints and what `apply --expect-checksum` compares. The parts are fed to the
/// hash length-prefixed (no intermediate document), since every plan computes it.
pub fn checksum(
    config_digest: &str,
    projects: &[String],
    fingerprints: &BTreeMap<String, String>,
    plan: &Plan,
) -> String {
    checksum_of(
        config_digest,
        projects,
        &project_digests(fingerprints, &plan.changes),
    )
}

/// One project's share of a plan's checksum (see [`project_digest`]).
pub type ProjectDigest = [u8; 32];

/// The checksum of [`checksum`] from each project's share, by project name: at scale the
/// shares are worked out as each project is planned, leaving almost nothing to sum once the
/// last one has been read.
pub fn checksum_of(
    config_digest: &str,
    projects: &[String],
    digests: &BTreeMap<String, ProjectDigest>,
) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(&FORMAT_VERSION.to_le_bytes());
    field(config_digest.as_bytes());
    field(&(projects.len() as u64).to_le_bytes());
    for project in projects {
        field(project.as_bytes());
    }
    field(&(digests.len() as u64).to_le_bytes());
    for (project, digest) in digests {
        field(project.as_bytes());
        field(digest);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// A project's share of the checksum: the fingerprints of its live objects (by address, in
/// address order) and its changes (in plan order).
pub fn project_digest<'a>(
    fingerprints: impl IntoIterator<Item = (&'a String, &'a String)>,
    changes: &[&Change],
) -> ProjectDigest {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    for (address, fingerprint) in fingerprints {
        field(address.as_bytes());
        field(fingerprint.as_bytes());
    }
    field(&serde_json::to_vec(changes).expect("plan changes serialize"));
    hasher.finalize().into()
}

/// Every project's share of the checksum of a whole plan: `fingerprints` and `changes`
/// grouped by the project of their address.
pub fn project_digests(
    fingerprints: &BTreeMap<String, String>,
    changes: &[Change],
) -> BTreeMap<String, ProjectDigest> {
    type Share<'a> = (Vec<(&'a String, &'a String)>, Vec<&'a Change>);
    let mut shares: BTreeMap<&str, Share<'_>> = BTreeMap::new();
    for (address, fingerprint) in fingerprints {
        // `kind.project[/account[/key]]`
        let path = address.split_once('.').map_or("", |(_, path)| path);
        let project = path.split('/').next().unwrap_or(path);
        shares
            .entry(project)
            .or_default()
            .0
            .push((address, fingerprint));
    }
    for change in changes {
        shares
            .entry(change.address.project_name())
            .or_default()
            .1
            .push(change);
    }
    shares
        .into_iter()
        .map(|(project, (fingerprints, changes))| {
            (project.to_string(), project_digest(fingerprints, &changes))
        })
        .collect()
}

impl SavedPlan {
    /// Wraps a plan for saving.
    pub fn new(
        plan: Plan,
        config_digest: String,
        projects: Vec<String>,
        fingerprints: BTreeMap<String, String>,
        created_at: String,
    ) -> SavedPlan {
        let checksum = checksum(&config_digest, &projects, &fingerprints, &plan);
        SavedPlan {
            format_version: FORMAT_VERSION,
            kcform_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at,
            config_digest,
            projects,
            fingerprints,
            plan,
            targets: Vec::new(),
            excludes: Vec::new(),
            checksum,
        }
    }

    /// The same, recording the selection it was made with.
    pub fn with_selection(mut self, targets: &[Address], excludes: &[Address]) -> SavedPlan {
        self.targets = targets.to_vec();
        self.excludes = excludes.to_vec();
        self
    }

    /// The file's text.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("plan serializes");
        text.push('\n');
        text
    }

    /// Reads a plan file and verifies its version and checksum.
    pub fn parse(text: &str) -> Result<SavedPlan, SavedPlanError> {
        let version: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SavedPlanError::Damaged(e.to_string()))?;
        if let Some(found) = version.get("format_version").and_then(|v| v.as_u64())
            && found != u64::from(FORMAT_VERSION)
        {
            return Err(SavedPlanError::Version {
                found: u32::try_from(found).unwrap_or(u32::MAX),
            });
        }
        let saved: SavedPlan =
            serde_json::from_value(version).map_err(|e| SavedPlanError::Damaged(e.to_string()))?;
        let actual = checksum(
            &saved.config_digest,
            &saved.projects,
            &saved.fingerprints,
            &saved.plan,
        );
        if actual != saved.checksum {
            return Err(SavedPlanError::Checksum {
                recorded: saved.checksum,
                actual,
            });
        }
        Ok(saved)
    }

    /// The objects whose fingerprints differ between this plan and `live_now` (changed,
    /// appeared or disappeared), each with what happened.
    pub fn stale(&self, live_now: &BTreeMap<String, String>) -> Vec<String> {
        let mut out = Vec::new();
        for (address, fingerprint) in &self.fingerprints {
            match live_now.get(address) {
                None => out.push(format!("{address} was deleted")),
                Some(now) if now != fingerprint => out.push(format!("{address} changed")),
                Some(_) => {}
            }
        }
        for address in live_now.keys() {
            if !self.fingerprints.contains_key(address) {
                out.push(format!("{address} appeared"));
            }
        }
        out
    }
}

impl SavedPlan {
    /// How the plan in this file differs from `derived`, the plan made now from the
    /// configuration and the live objects (empty when they are the same plan: the same
    /// projects and the same changes, remote IDs included), one line per difference.
    pub fn differences(&self, projects: &[String], derived: &Plan) -> Vec<String> {
        let mut out = Vec::new();
        if self.projects != projects {
            out.push(format!(
                "the file names the projects [{}], the configuration declares [{}]",
                self.projects.join(", "),
                projects.join(", ")
            ));
        }
        let describe = |change: &Change| match &change.deposed {
            Some(id) => format!(
                "{} {} (deposed object {id})",
                change.action.name(),
                change.address
            ),
            None => format!("{} {}", change.action.name(), change.address),
        };
        for change in &self.plan.changes {
            if !derived.changes.contains(change) {
                out.push(format!(
                    "the file's change `{}` is not what the configuration and the live objects call for",
                    describe(change)
                ));
            }
        }
        for change in &derived.changes {
            if !self.plan.changes.contains(change) {
                out.push(format!("the file lacks the change `{}`", describe(change)));
            }
        }
        if out.is_empty() && self.plan.changes != derived.changes {
            out.push("the file's changes are in another order".to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::plan::diff;

    fn saved() -> SavedPlan {
        let wanted = desired(vec![project(
            "p1a",
            "New",
            vec![account("sa", vec![key("k")])],
        )]);
        let current = live(vec![live_project("p1a", "Old", vec![])]);
        let plan = diff(&wanted, &current, NOW).unwrap();
        SavedPlan::new(
            plan,
            "sha256:config".into(),
            vec!["p1a".into()],
            current.fingerprints(),
            "2026-11-27T12:00:00Z".into(),
        )
    }

    #[test]
    fn a_saved_plan_reads_back_identically() {
        let plan = saved();
        assert_eq!(SavedPlan::parse(&plan.to_json()).unwrap(), plan);
    }

    #[test]
    fn an_edited_plan_is_refused() {
        let text = saved().to_json().replace("\"New\"", "\"Evil\"");
        let error = SavedPlan::parse(&text).unwrap_err();
        assert!(matches!(error, SavedPlanError::Checksum { .. }), "{error}");
    }

    #[test]
    fn a_damaged_plan_is_refused() {
        let text = saved().to_json();
        let error = SavedPlan::parse(&text[..text.len() / 2]).unwrap_err();
        assert!(matches!(error, SavedPlanError::Damaged(_)), "{error}");
        let error = SavedPlan::parse(&text.replace(
            &format!("\"format_version\": {FORMAT_VERSION}"),
            "\"format_version\": 9",
        ))
        .unwrap_err();
        assert!(
            matches!(error, SavedPlanError::Version { found: 9 }),
            "{error}"
        );
    }

    #[test]
    fn the_checksum_ignores_metadata_but_not_content() {
        let a = saved();
        let mut b = saved();
        b.created_at = "2030-01-01T00:00:00Z".into();
        assert_eq!(SavedPlan::parse(&b.to_json()).unwrap().checksum, a.checksum);
        let other = checksum("sha256:other", &a.projects, &a.fingerprints, &a.plan);
        assert_ne!(other, a.checksum);
    }

    #[test]
    fn the_checksum_covers_every_fingerprint_and_every_change() {
        let a = saved();
        let sum = |s: &SavedPlan| checksum(&s.config_digest, &s.projects, &s.fingerprints, &s.plan);
        assert_eq!(sum(&a), a.checksum);
        let mut b = saved();
        let first = b.fingerprints.keys().next().unwrap().clone();
        b.fingerprints.insert(first, "other".into());
        assert_ne!(sum(&b), a.checksum);
        let mut c = saved();
        c.plan.changes[1].reasons.push("edited".into());
        assert_ne!(sum(&c), a.checksum);
        let mut d = saved();
        d.fingerprints.insert("project.zz9".into(), "new".into());
        assert_ne!(sum(&d), a.checksum);
    }

    #[test]
    fn staleness_names_changed_and_new_objects() {
        let plan = saved();
        let mut now = plan.fingerprints.clone();
        assert!(plan.stale(&now).is_empty());
        now.insert("project.p1a".into(), "sha256:different".into());
        now.insert("service_account.p1a/new".into(), "sha256:x".into());
        assert_eq!(
            plan.stale(&now),
            vec!["project.p1a changed", "service_account.p1a/new appeared"]
        );
    }
}
