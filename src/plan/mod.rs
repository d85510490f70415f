//! The plan model: one [`Plan`] value holding every change kcform would make, built by the pure
//! [`diff`] of desired against live state. Every renderer and `apply` read this one value, so
//! what a reviewer sees is exactly what runs.

mod diff;
pub mod drift;
pub mod incremental;
mod order;
pub mod safety;
pub mod saved;
mod slots;
mod target;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::address::Address;

pub use diff::{PlanRefused, ProjectDiff, assemble, diff, diff_project};
pub use target::{Unmatched, excluded, targeted, unmatched};

/// An object's attributes as shown in a plan (never a secret).
pub type Attributes = BTreeMap<String, serde_json::Value>;

/// Which order a replaced access key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceOrder {
    /// `+/-`: the new key is created (and its secret delivered) before the old one is deleted.
    CreateBeforeDestroy,
    /// `-/+`: the old key is deleted first, because its account has no free key slot.
    DestroyBeforeCreate,
}

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create a project, service account or access key.
    Create,
    /// Change a project's nickname or description.
    Update,
    /// Set a service account active.
    Activate,
    /// Set a service account inactive (expires its keys and tokens).
    Deactivate,
    /// Delete a service account or access key.
    Delete,
    /// Delete and create an access key, in the given order.
    Replace(ReplaceOrder),
}

impl Action {
    /// Terraform-style symbol: `+ ~ - +/- -/+`.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update | Action::Activate | Action::Deactivate => "~",
            Action::Delete => "-",
            Action::Replace(ReplaceOrder::CreateBeforeDestroy) => "+/-",
            Action::Replace(ReplaceOrder::DestroyBeforeCreate) => "-/+",
        }
    }

    /// The phrase after the address in a header: `will be created`.
    pub fn phrase(self) -> &'static str {
        match self {
            Action::Create => "will be created",
            Action::Update => "will be updated in-place",
            Action::Activate => "will be activated",
            Action::Deactivate => "will be deactivated",
            Action::Delete => "will be destroyed",
            Action::Replace(_) => "must be replaced",
        }
    }

    /// A stable one-word name (`create`, `replace`, …) for tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Activate => "activate",
            Action::Deactivate => "deactivate",
            Action::Delete => "delete",
            Action::Replace(_) => "replace",
        }
    }
}

/// Remote identifiers already known when planning (for objects that exist).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteIds {
    /// The project's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The service account's user ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_id: Option<String>,
    /// The service account's ID as KakaoCloud shows it (`name-projectid@kc.serviceaccount.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_email: Option<String>,
    /// The access key's ID (the old key, for a replace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The access key's remote name (its declared name, or that plus a generation suffix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_name: Option<String>,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// What it is about.
    pub address: Address,
    /// For an older generation of a key left by an interrupted replacement (Terraform's
    /// "deposed object"): that key's ID. Such a change is always a delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    /// What it does.
    pub action: Action,
    /// Attributes before (`None` for a create).
    pub before: Option<Attributes>,
    /// Attributes after (`None` for a delete).
    pub after: Option<Attributes>,
    /// Why, when it is not obvious (shown on `# (...)` lines).
    pub reasons: Vec<String>,
    /// Remote IDs known at plan time.
    pub remote: RemoteIds,
}

/// The counts of the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Creates and replaces.
    pub add: usize,
    /// Updates and activations.
    pub change: usize,
    /// Deactivations.
    pub deactivate: usize,
    /// Deletes and replaces.
    pub destroy: usize,
}

/// A declared object that exists and needs no change (Terraform's `no-op`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unchanged {
    /// Its address.
    pub address: Address,
    /// Its live attributes.
    pub attributes: Attributes,
}

/// A live object that changed outside kcform since the last apply recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// Its address.
    pub address: Address,
    /// What changed, one short note each (`nickname changed from "A" to "B"`).
    pub notes: Vec<String>,
}

/// A project kcform applied before that is no longer declared: kcform leaves its objects as
/// they are and no longer manages them (they are forgotten from the record at the next apply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmanaged {
    /// The project's address.
    pub address: Address,
    /// The service accounts the last apply recorded in it, by name.
    pub service_accounts: Vec<String>,
    /// How many access keys the last apply recorded in it.
    pub access_keys: usize,
}

/// A declared key with a `rotation` value kcform has no record of (the keeper record is
/// missing, as on a fresh CI runner with the local backend): the key is taken to match its
/// configuration and the value is recorded by the next apply; it is not replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnrecordedRotation {
    /// The key's address.
    pub address: Address,
    /// The configured `rotation` value that will be recorded for it.
    pub rotation: String,
}

/// A change the credential may not perform (from its token's roles), and the role it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denied {
    /// The change's address.
    pub address: Address,
    /// For a deposed key: its ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    /// The change's action name (`create`, `delete`, …).
    pub action: String,
    /// Why not, naming the role needed.
    pub reason: String,
}

impl Summary {
    /// The counts for these actions (a replace counts in both add and destroy).
    pub fn of(actions: impl IntoIterator<Item = Action>) -> Summary {
        let mut summary = Summary::default();
        for action in actions {
            match action {
                Action::Create => summary.add += 1,
                Action::Update | Action::Activate => summary.change += 1,
                Action::Deactivate => summary.deactivate += 1,
                Action::Delete => summary.destroy += 1,
                Action::Replace(_) => {
                    summary.add += 1;
                    summary.destroy += 1;
                }
            }
        }
        summary
    }
}

/// Every change kcform would make, in display order (grouped by project, then account), plus
/// what needs no change and what drifted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The changes.
    pub changes: Vec<Change>,
    /// Declared objects that need no change.
    #[serde(default)]
    pub unchanged: Vec<Unchanged>,
    /// Objects changed outside kcform since the last apply.
    #[serde(default)]
    pub drift: Vec<Drift>,
    /// Projects applied before that are no longer declared.
    #[serde(default)]
    pub unmanaged: Vec<Unmanaged>,
    /// Keys whose `rotation` value kcform has no record of.
    #[serde(default)]
    pub unrecorded_rotations: Vec<UnrecordedRotation>,
    /// Changes the credential may not perform; `apply` refuses while any remain.
    #[serde(default)]
    pub denied: Vec<Denied>,
}

impl Plan {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// True when the plan deletes, deactivates or replaces anything.
    pub fn is_destructive(&self) -> bool {
        self.changes.iter().any(|change| {
            matches!(
                change.action,
                Action::Delete | Action::Deactivate | Action::Replace(_)
            )
        })
    }

    /// The summary-line counts (a replace counts in both add and destroy).
    pub fn summary(&self) -> Summary {
        Summary::of(self.changes.iter().map(|change| change.action))
    }

    /// The change for an address (not a deposed object), if any.
    pub fn change(&self, address: &Address) -> Option<&Change> {
        self.changes
            .iter()
            .find(|change| &change.address == address && change.deposed.is_none())
    }
}

/// The order changes are listed in: by project, then account, then key; the container first.
pub(crate) fn display_order(a: &Change, b: &Change) -> std::cmp::Ordering {
    fn path(address: &Address) -> (&str, &str, &str) {
        match address {
            Address::Project { project } => (project, "", ""),
            Address::ServiceAccount {
                project,
                service_account,
            } => (project, service_account, ""),
            Address::AccessKey {
                project,
                service_account,
                key,
            } => (project, service_account, key),
        }
    }
    path(&a.address)
        .cmp(&path(&b.address))
        .then_with(|| a.deposed.cmp(&b.deposed))
}
