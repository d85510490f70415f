//! The apply lock, kept in the state backend: `apply` holds it for its whole run (`plan` takes
//! none) so that two applies of one configuration, on one machine or on several, never
//! interleave; the holder is described by a [`LockInfo`] stored with the lock so that a
//! refused apply can name it. Locally it is an OS file lock on `.kcform/lock` (dropped by the
//! OS when its holder exits, however it exits); on S3 an object `prefix/lock.json` created
//! with `If-None-Match: *` (it stays until released or `kcform unlock`).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::backend::{Backend, BackendError};

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
    /// A new holder description for `operation` by the user and host of `settings`, now.
    pub fn new(operation: &str, settings: &super::StateSettings) -> LockInfo {
        LockInfo {
            id: hex::encode(rand::random::<[u8; 16]>()),
            who: settings.user.clone(),
            operation: operation.to_string(),
            created: now_rfc3339(),
            host: settings.host.clone(),
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

/// A held lock; release it with [`Backend::release`]. A process that dies holding a local lock
/// loses it with its file descriptor; an S3 lock stays until `kcform unlock`.
pub struct Guard {
    /// The holder info stored with the lock.
    pub info: LockInfo,
    local: Option<std::fs::File>,
}

impl Backend {
    async fn try_acquire(&self, info: &LockInfo) -> Result<Guard, BackendError> {
        match self {
            Backend::Local(local) => {
                let file = local.try_acquire(info)?;
                Ok(Guard {
                    info: info.clone(),
                    local: Some(file),
                })
            }
            Backend::S3(s3) => {
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
        settings: &super::StateSettings,
        timeout: Duration,
        mut on_wait: impl FnMut(&LockInfo),
    ) -> Result<Guard, BackendError> {
        let info = LockInfo::new(operation, settings);
        let deadline = Instant::now() + timeout;
        let mut waiting = false;
        loop {
            match self.try_acquire(&info).await {
                Err(BackendError::Held(holder)) if Instant::now() < deadline => {
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

    /// Releases a lock taken with [`Backend::acquire`]: the stored holder must still be us.
    pub async fn release(&self, guard: Guard) -> Result<(), BackendError> {
        match self {
            Backend::Local(local) => local.release(guard.local),
            Backend::S3(s3) => s3.remove(&guard.info.id).await.map(|_| ()),
        }
    }

    /// `kcform unlock`: removes the lock if its ID is `id`; returns the holder removed.
    pub async fn unlock(&self, id: &str) -> Result<LockInfo, BackendError> {
        match self {
            Backend::Local(local) => local.unlock(id),
            Backend::S3(s3) => s3.remove(id).await,
        }
    }
}
