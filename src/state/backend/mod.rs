//! The state backend: where kcform keeps its lock, its records and its journal — one
//! [`Backend`] per `[lock] backend`, opened for one configuration. Backends: `local`
//! (`<config dir>/.kcform/`, the lock an OS file lock on `.kcform/lock`) and
//! `s3://bucket/prefix` (the lock an object created with `If-None-Match: *`), so CI runners
//! that start from a fresh checkout share the same state. The lock's protocol is in
//! `state::lock`; what the records mean is in their own modules.

mod local;
mod s3;

use std::path::Path;

use crate::model::LockBackend;

use super::lock::LockInfo;

/// Why the lock (or the journal) could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
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

/// A state backend, opened for one configuration.
pub enum Backend {
    /// `<config dir>/.kcform/`.
    Local(local::Local),
    /// An S3-compatible bucket and prefix.
    S3(s3::S3),
}

impl Backend {
    /// Opens the backend of `[lock]` for the configuration in `config_dir`.
    pub fn open(
        backend: &LockBackend,
        config_dir: &Path,
        settings: &super::StateSettings,
    ) -> Result<Backend, BackendError> {
        Ok(match backend {
            LockBackend::Local => Backend::Local(local::Local::new(config_dir)),
            LockBackend::S3 { bucket, prefix } => Backend::S3(s3::S3::new(
                bucket,
                prefix,
                settings.s3_endpoint.as_deref(),
            )?),
        })
    }

    /// Where the lock lives, for messages.
    pub fn location(&self) -> String {
        match self {
            Backend::Local(local) => local.lock_path().display().to_string(),
            Backend::S3(s3) => s3.lock_location(),
        }
    }

    /// Reads kcform's record `<name>` (keepers, last applied, pending deliveries) from the
    /// backend: `.kcform/<name>` locally, `prefix/<name>` on S3 — so CI runners that start from
    /// a fresh checkout share them; `None` when there is none yet.
    pub async fn read_record(&self, name: &str) -> Result<Option<Vec<u8>>, BackendError> {
        match self {
            Backend::Local(local) => local.read_record(name),
            Backend::S3(s3) => s3.read_record(name).await,
        }
    }

    /// Writes kcform's record `<name>`, or removes it when `bytes` is `None`.
    pub async fn write_record(
        &self,
        name: &str,
        bytes: Option<Vec<u8>>,
    ) -> Result<(), BackendError> {
        match self {
            Backend::Local(local) => local.write_record(name, bytes.as_deref()),
            Backend::S3(s3) => s3.write_record(name, bytes).await,
        }
    }

    /// Stores one journal record under `journal/<name>`; returns where it went.
    pub async fn write_journal(&self, name: &str, bytes: Vec<u8>) -> Result<String, BackendError> {
        match self {
            Backend::Local(local) => local.write_journal(name, &bytes),
            Backend::S3(s3) => s3.write_journal(name, bytes).await,
        }
    }
}

/// The holder as the lock stores it, parsed; `location` names it in errors.
fn parse_info(bytes: &[u8], location: &str) -> Result<LockInfo, BackendError> {
    serde_json::from_slice(bytes).map_err(|_| BackendError::Corrupt(location.to_string()))
}
