//! The emulator's persistent state ([`Data`]) and its JSON data file: loading with strict
//! checks (a corrupt file is refused, never reset) and atomic writes (temp file in the same
//! directory, fsync, rename). Only SHA-256 hashes of secrets are ever stored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::EmulatorError;
use super::table::{Indexed, Table};

/// Format version of the data file; bump it when [`Data`] changes incompatibly.
pub const FILE_VERSION: u32 = 1;

/// Everything the emulator remembers across restarts. Tokens are not in here: they live in
/// memory only, so a restart revokes them all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Data {
    /// [`FILE_VERSION`].
    pub version: u32,
    /// The one organization.
    pub organization: Organization,
    /// The bootstrap Org Admin and its current key.
    pub bootstrap: Bootstrap,
    /// Users (people and service accounts) by ID; indexed by project (people: by
    /// [`PEOPLE`]) and name.
    #[serde(default)]
    pub users: Table<User>,
    /// Projects by ID; indexed by name (group [`PROJECTS`]).
    #[serde(default)]
    pub projects: Table<Project>,
    /// Access keys (application credentials) by ID; indexed by owner user ID and name.
    #[serde(default)]
    pub keys: Table<Key>,
    /// Service agents by ID; indexed by project ID and service.
    #[serde(default)]
    pub agents: Table<Agent>,
}

/// Index group of people in [`Data::users`] (service accounts are grouped by project ID).
pub const PEOPLE: &str = "";
/// Index group of every project in [`Data::projects`].
pub const PROJECTS: &str = "";

impl Indexed for User {
    fn index_entry(&self) -> Option<(String, String)> {
        let group = match &self.kind {
            UserKind::Person { .. } => PEOPLE.to_string(),
            UserKind::ServiceAccount { project_id, .. } => project_id.clone(),
        };
        Some((group, self.name.clone()))
    }
}

impl Indexed for Project {
    fn index_entry(&self) -> Option<(String, String)> {
        Some((PROJECTS.to_string(), self.name.clone()))
    }
}

impl Indexed for Key {
    fn index_entry(&self) -> Option<(String, String)> {
        Some((self.user_id.clone(), self.name.clone()))
    }
}

impl Indexed for Agent {
    fn index_entry(&self) -> Option<(String, String)> {
        Some((self.project_id.clone(), self.service.clone()))
    }
}

/// The organization (a Keystone domain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// 32-hex ID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether a payment method is registered (needed to create projects).
    pub payment_method: bool,
}

/// The bootstrap Org Admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// Its user ID.
    pub admin_user_id: String,
    /// Its current key, revoked and replaced on each start.
    pub key_id: Option<String>,
}

/// A Keystone user: a person with roles, or a service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// 32-hex ID.
    pub id: String,
    /// Name (unique among people; unique per project among service accounts).
    pub name: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// What kind of user.
    pub kind: UserKind,
}

/// The two kinds of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserKind {
    /// A person of the organization, with roles.
    Person {
        /// Organization-wide role.
        org_role: Option<OrgRole>,
        /// Project roles by project name (names are immutable, so this is stable).
        #[serde(default)]
        project_roles: BTreeMap<String, ProjectRole>,
    },
    /// A service account of one project.
    ServiceAccount {
        /// Its project's ID.
        project_id: String,
        /// `active` or `inactive`.
        status: AccountStatus,
    },
}

pub use crate::roles::{OrgRole, ProjectRole};

/// A service account's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// Active.
    Active,
    /// Inactive: its keys are expired and it cannot get tokens.
    Inactive,
}

impl AccountStatus {
    /// API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Inactive => "inactive",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(AccountStatus::Active),
            "inactive" => Some(AccountStatus::Inactive),
            _ => None,
        }
    }
}

/// An access key's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Usable.
    Active,
    /// Its service account was deactivated; it stays listed but never works again.
    Expired,
}

impl KeyStatus {
    /// API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Expired => "expired",
        }
    }
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// 32-hex ID.
    pub id: String,
    /// Immutable unique name.
    pub name: String,
    /// Display name.
    pub nickname: String,
    /// Description, empty when unset.
    pub description: String,
    /// RFC 3339 creation time.
    pub created_at: String,
}

/// An access key (Keystone application credential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// 32-hex ID.
    pub id: String,
    /// Name, unique per user.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Owner.
    pub user_id: String,
    /// Hex SHA-256 of the secret; the secret itself is never stored.
    pub secret_sha256: String,
    /// Active or expired.
    pub status: KeyStatus,
    /// RFC 3339 creation time.
    pub created_at: String,
}

/// A service agent (read-only through the API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// 32-hex ID.
    pub id: String,
    /// The service that created it.
    pub service: String,
    /// Its project's ID.
    pub project_id: String,
    /// RFC 3339 creation time.
    pub created_at: String,
}

#[derive(Deserialize)]
struct VersionProbe {
    version: Option<serde_json::Value>,
}

/// Reads the data file. `Ok(None)` when it does not exist yet; any other problem is an error
/// naming the file.
pub fn load(path: &Path) -> Result<Option<Data>, EmulatorError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(EmulatorError::ReadDataFile {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let corrupt = |reason: String| EmulatorError::CorruptDataFile {
        path: path.to_path_buf(),
        reason,
    };
    if text.trim().is_empty() {
        return Err(corrupt("the file is empty".to_string()));
    }
    let probe: VersionProbe =
        serde_json::from_str(&text).map_err(|e| corrupt(format!("not a JSON object: {e}")))?;
    match probe.version {
        None => return Err(corrupt("it has no `version` field".to_string())),
        Some(v) => match v.as_u64() {
            Some(found) if found == u64::from(FILE_VERSION) => {}
            Some(found) => {
                return Err(EmulatorError::UnsupportedVersion {
                    path: path.to_path_buf(),
                    found,
                    expected: FILE_VERSION,
                });
            }
            None => return Err(corrupt(format!("`version` is {v}, not a number"))),
        },
    }
    let data: Data = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    data.check_integrity().map_err(corrupt)?;
    Ok(Some(data))
}

/// Writes `bytes` to `path` atomically with kcform's private-file writer
/// (`state::file::write_private_file`: a 0600 temp file in the same directory, fsync, rename,
/// then fsync of the directory; a link at `path` is replaced, never followed). The file gets
/// mode 0600 (it may hold a secret).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EmulatorError> {
    crate::state::file::write_private_file(path, bytes).map_err(|source| EmulatorError::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

impl Data {
    /// Checks that every reference points at an existing object, so a hand-edited or
    /// truncated-but-valid file is caught at load time instead of answering nonsense later.
    pub fn check_integrity(&self) -> Result<(), String> {
        for (id, user) in &self.users {
            if *id != user.id {
                return Err(format!("user stored under `{id}` has ID `{}`", user.id));
            }
            if let UserKind::ServiceAccount { project_id, .. } = &user.kind
                && !self.projects.contains_key(project_id)
            {
                return Err(format!(
                    "service account `{}` belongs to the unknown project `{project_id}`",
                    user.name
                ));
            }
        }
        for (id, project) in &self.projects {
            if *id != project.id {
                return Err(format!(
                    "project stored under `{id}` has ID `{}`",
                    project.id
                ));
            }
        }
        for (id, key) in &self.keys {
            if *id != key.id {
                return Err(format!(
                    "access key stored under `{id}` has ID `{}`",
                    key.id
                ));
            }
            if !self.users.contains_key(&key.user_id) {
                return Err(format!(
                    "access key `{id}` belongs to the unknown user `{}`",
                    key.user_id
                ));
            }
        }
        for (id, agent) in &self.agents {
            if *id != agent.id || !self.projects.contains_key(&agent.project_id) {
                return Err(format!("service agent `{id}` is inconsistent"));
            }
        }
        match self.users.get(&self.bootstrap.admin_user_id) {
            Some(User {
                kind:
                    UserKind::Person {
                        org_role: Some(OrgRole::Admin),
                        ..
                    },
                ..
            }) => {}
            _ => {
                return Err(format!(
                    "the bootstrap Org Admin `{}` is missing or not an Org Admin",
                    self.bootstrap.admin_user_id
                ));
            }
        }
        Ok(())
    }
}

/// How long a second process waits for the data file before giving up.
pub const DATA_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes the exclusive lock `<data file>.lock` (an OS file lock, released when the returned
/// file is dropped or the process dies), waiting up to `wait` for another holder.
pub fn lock_data_file(
    path: &Path,
    wait: std::time::Duration,
) -> Result<std::fs::File, EmulatorError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| EmulatorError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let file = crate::state::file::open_private_file(&lock_path, false).map_err(|source| {
        EmulatorError::WriteFile {
            path: lock_path.clone(),
            source,
        }
    })?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(EmulatorError::DataFileInUse {
                    path: path.to_path_buf(),
                    lock: lock_path,
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(EmulatorError::WriteFile {
                    path: lock_path,
                    source,
                });
            }
        }
    }
}
