//! The live state: what the IAM API says exists, for the declared projects only. `cloud` fills
//! it; `plan` diffs it against [`crate::model::Desired`]. Pure data.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

use time::OffsetDateTime;

use crate::model::Status;

/// Every live object kcform may manage, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    /// Declared projects that exist, by name.
    pub projects: BTreeMap<String, LiveProject>,
    /// Names and nicknames of live projects that are not declared (never planned; used only to
    /// explain a create that looks like a rename).
    pub undeclared_projects: Vec<(String, String)>,
}

/// A live project.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveProject {
    /// 32-hex unique ID.
    pub id: String,
    /// Immutable name.
    pub name: String,
    /// Display name.
    pub nickname: String,
    /// Description, empty when unset.
    pub description: String,
    /// Service accounts by name (service agents are not here).
    pub service_accounts: BTreeMap<String, LiveServiceAccount>,
}

/// A live service account.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveServiceAccount {
    /// Keystone user ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// `{name}-{project-id}@kc.serviceaccount.com`.
    pub email: String,
    /// Status.
    pub status: Status,
    /// Keys by declared name.
    pub access_keys: BTreeMap<String, LiveAccessKey>,
    /// Older generations of a key whose replacement was interrupted after the new key was
    /// made (Terraform's "deposed objects"): always deleted.
    pub deposed_keys: Vec<LiveAccessKey>,
}

/// Whether a key can still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Usable.
    Active,
    /// Expired by its account's deactivation; can never be used again.
    Expired,
}

/// A live access key (never its secret: the API shows that only once).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveAccessKey {
    /// Access key ID.
    pub id: String,
    /// The declared name it stands for (the remote name without a generation suffix).
    pub name: String,
    /// The name the API knows it by: `name`, or `name` plus
    /// [`crate::limits::KEY_GENERATION_SUFFIX`] after a create-before-destroy replacement.
    pub remote_name: String,
    /// Description, empty when unset.
    pub description: String,
    /// Status.
    pub status: KeyStatus,
    /// Creation time, when the API reports it.
    pub created_at: Option<OffsetDateTime>,
    /// The `rotation` keeper value the key was created with, when kcform recorded it.
    pub rotation: Option<String>,
    /// kcform created it in an apply that did not settle the create — aborted, or failed before
    /// the secret was delivered or the key deleted again (see `state::pending`): nobody holds its
    /// secret.
    pub undelivered: bool,
}

impl Live {
    /// A fingerprint (`<hex>`: SHA-256, truncated to 128 bits, of its attributes) of every live
    /// object read, by address (a deposed key as `<address>#<id>`), so a saved plan can tell
    /// whether anything changed between plan and apply. Fields are fed to the hash directly,
    /// length-prefixed, since this runs over every object of every plan.
    pub fn fingerprints(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for project in self.projects.values() {
            project.fingerprints_into(&mut out);
        }
        out
    }
}

impl LiveProject {
    /// Sets each key's `rotation` from `keepers` (access-key ID → the `rotation` value it was
    /// created with, as recorded by earlier applies; the API does not store it).
    pub fn set_rotations(&mut self, keepers: &BTreeMap<String, String>) {
        for account in self.service_accounts.values_mut() {
            let keys = account
                .access_keys
                .values_mut()
                .chain(account.deposed_keys.iter_mut());
            for key in keys {
                key.rotation = keepers.get(&key.id).cloned();
            }
        }
    }

    /// Adds the fingerprints of this project and its objects to `out` (see
    /// [`Live::fingerprints`]).
    pub fn fingerprints_into(&self, out: &mut BTreeMap<String, String>) {
        let project = self;
        out.insert(
            format!("project.{}", project.name),
            fingerprint(&[
                project.id.as_bytes(),
                project.name.as_bytes(),
                project.nickname.as_bytes(),
                project.description.as_bytes(),
            ]),
        );
        for account in project.service_accounts.values() {
            let account_name = format!("{}/{}", project.name, account.name);
            out.insert(
                format!("service_account.{account_name}"),
                fingerprint(&[
                    account.id.as_bytes(),
                    account.name.as_bytes(),
                    account.email.as_bytes(),
                    account.status.as_str().as_bytes(),
                ]),
            );
            for key in account.access_keys.values() {
                out.insert(
                    format!("access_key.{account_name}/{}", key.name),
                    key_fingerprint(key),
                );
            }
            for key in &account.deposed_keys {
                out.insert(
                    format!("access_key.{account_name}/{}#{}", key.name, key.id),
                    key_fingerprint(key),
                );
            }
        }
    }
}

fn key_fingerprint(key: &LiveAccessKey) -> String {
    let status = match key.status {
        KeyStatus::Active => "active",
        KeyStatus::Expired => "expired",
    };
    let created = key
        .created_at
        .map(|t| t.unix_timestamp().to_le_bytes())
        .unwrap_or_default();
    fingerprint(&[
        key.id.as_bytes(),
        key.remote_name.as_bytes(),
        key.description.as_bytes(),
        status.as_bytes(),
        &created,
        key.rotation.as_deref().unwrap_or("\u{0}").as_bytes(),
    ])
}

fn fingerprint(fields: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for field in fields {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field);
    }
    hex::encode(&hasher.finalize()[..16])
}
