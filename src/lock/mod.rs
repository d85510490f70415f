//! The apply lock and the journal's storage: one [`Store`] per `[lock] backend`. `apply` holds
//! the lock for its whole run (`plan` takes none) so that two applies of one configuration,
//! on one machine or on several, never interleave; the holder is described by a [`LockInfo`]
//! so that a refused apply can name it. Backends: `local` (an OS file lock on
//! `<config dir>/.kcform/lock`) and `s3://bucket/prefix` (an object created with
//! `If-None-Match: *`).

mod local;
mod s3;

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::exit::{self, CodedError};
use crate::model::LockBackend;

/// How often a waiting apply tries the lock again.
const POLL: Duration = Duration::from_millis(250);

/// Who holds a lock, stored with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random lock ID; `kcform unlock` needs it.
    pub id: String,
    /// The user that took it.
    pub who: String,
    /// The command that holds it (`apply`).
    pub operation: String,
    /// When it was taken (RFC 3339, UTC).
    pub created: String,
    /// The machine that took it.
    pub host: String,
}

impl LockInfo {
    /// A new holder description for `operation` by this user on this machine, now.
    pub fn new(operation: &str) -> LockInfo {
        let who = ["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "unknown".to_string());
        LockInfo {
            id: hex::encode(rand::random::<[u8; 16]>()),
            who,
            operation: operation.to_string(),
            created: now_rfc3339(),
            host: hostname(),
        }
    }
}

/// Now in RFC 3339, UTC, whole seconds.
pub fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// Why the lock (or the journal) could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds the lock.
    #[error(
        "the lock is held by {who} on {host} since {created} for `{operation}` (lock ID {id}); \
         wait for it to finish (see --lock-timeout), or if it is stale run `kcform unlock {id}`",
        who = .0.who, host = .0.host, created = .0.created, operation = .0.operation, id = .0.id
    )]
    Held(Box<LockInfo>),
    /// `kcform unlock` was given another lock's ID.
    #[error("lock ID `{given}` does not match the lock held (ID {}, by {} since {}); nothing was removed", .holder.id, .holder.who, .holder.created)]
    IdMismatch {
        /// The ID given.
        given: String,
        /// The holder.
        holder: Box<LockInfo>,
    },
    /// `kcform unlock` found no lock.
    #[error("there is no lock at {0}")]
    NotLocked(String),
    /// A local file could not be used.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The object store refused or could not be reached.
    #[error("lock backend {location}: {detail}")]
    Remote {
        /// `s3://bucket/key`.
        location: String,
        /// What went wrong (never a credential).
        detail: String,
    },
    /// The stored holder info does not parse.
    #[error("the lock at {0} holds no readable holder information; remove it with `kcform unlock`")]
    Corrupt(String),
}

impl LockError {
    /// A held lock as the exit-code carrying error (exit 3); anything else unchanged.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            LockError::Held(_) => anyhow::Error::new(CodedError {
                code: exit::LOCK_HELD,
                message: self.to_string(),
            }),
            other => anyhow::Error::new(other),
        }
    }
}

/// A lock backend, opened for one configuration.
pub enum Store {
    /// `<config dir>/.kcform/`.
    Local(local::Local),
    /// An S3-compatible bucket and prefix.
    S3(s3::S3),
}

/// A held lock; release it with [`Guard::release`]. A process that dies holding a local lock
/// loses it with its file descriptor; an S3 lock stays until `kcform unlock`.
pub struct Guard {
    /// The holder info stored with the lock.
    pub info: LockInfo,
    local: Option<std::fs::File>,
}

impl Store {
    /// Opens the backend of `[lock]` for the configuration in `config_dir`.
    pub fn open(backend: &LockBackend, config_dir: &Path) -> Result<Store, LockError> {
        Ok(match backend {
            LockBackend::Local => Store::Local(local::Local::new(config_dir)),
            LockBackend::S3 { bucket, prefix } => Store::S3(s3::S3::new(bucket, prefix)?),
        })
    }

    /// Where the lock lives, for messages.
    pub fn location(&self) -> String {
        match self {
            Store::Local(local) => local.lock_path().display().to_string(),
            Store::S3(s3) => s3.lock_location(),
        }
    }

    async fn try_acquire(&self, info: &LockInfo) -> Result<Guard, LockError> {
        match self {
            Store::Local(local) => {
                let file = local.try_acquire(info)?;
                Ok(Guard {
                    info: info.clone(),
                    local: Some(file),
                })
            }
            Store::S3(s3) => {
                s3.try_acquire(info).await?;
                Ok(Guard {
                    info: info.clone(),
                    local: None,
                })
            }
        }
    }

    /// Takes the lock for `operation`, waiting up to `timeout` while someone else holds it;
    /// `on_wait` is called once, with the holder, when waiting starts.
    pub async fn acquire(
        &self,
        operation: &str,
        timeout: Duration,
        mut on_wait: impl FnMut(&LockInfo),
    ) -> Result<Guard, LockError> {
        let info = LockInfo::new(operation);
        let deadline = Instant::now() + timeout;
        let mut waiting = false;
        loop {
            match self.try_acquire(&info).await {
                Err(LockError::Held(holder)) if Instant::now() < deadline => {
                    if !waiting {
                        waiting = true;
                        on_wait(&holder);
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    tokio::time::sleep(POLL.min(left)).await;
                }
                other => return other,
            }
        }
    }

    /// Releases a lock taken with [`Store::acquire`]: the stored holder must still be us.
    pub async fn release(&self, guard: Guard) -> Result<(), LockError> {
        match self {
            Store::Local(local) => local.release(guard.local),
            Store::S3(s3) => s3.remove(&guard.info.id).await.map(|_| ()),
        }
    }

    /// `kcform unlock`: removes the lock if its ID is `id`; returns the holder removed.
    pub async fn unlock(&self, id: &str) -> Result<LockInfo, LockError> {
        match self {
            Store::Local(local) => local.unlock(id),
            Store::S3(s3) => s3.remove(id).await,
        }
    }

    /// Reads kcform's record `<name>` (keepers, last applied, pending deliveries) from the
    /// backend: `.kcform/<name>` locally, `prefix/<name>` on S3 — so CI runners that start from
    /// a fresh checkout share them; `None` when there is none yet.
    pub async fn read_record(&self, name: &str) -> Result<Option<Vec<u8>>, LockError> {
        match self {
            Store::Local(local) => local.read_record(name),
            Store::S3(s3) => s3.read_record(name).await,
        }
    }

    /// Writes kcform's record `<name>`, or removes it when `bytes` is `None`.
    pub async fn write_record(&self, name: &str, bytes: Option<Vec<u8>>) -> Result<(), LockError> {
        match self {
            Store::Local(local) => local.write_record(name, bytes.as_deref()),
            Store::S3(s3) => s3.write_record(name, bytes).await,
        }
    }

    /// Stores one journal record under `journal/<name>`; returns where it went.
    pub async fn write_journal(&self, name: &str, bytes: Vec<u8>) -> Result<String, LockError> {
        match self {
            Store::Local(local) => local.write_journal(name, &bytes),
            Store::S3(s3) => s3.write_journal(name, bytes).await,
        }
    }
}

/// The holder as the lock stores it, parsed; `location` names it in errors.
fn parse_info(bytes: &[u8], location: &str) -> Result<LockInfo, LockError> {
    serde_json::from_slice(bytes).map_err(|_| LockError::Corrupt(location.to_string()))
}

/// A timestamp for journal names that sorts by time: `20260101T120000Z`.
pub fn compact_timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
