//! kcform's state: everything it keeps between runs, and where it keeps it. None of it holds
//! a secret (the private-file writer also writes the secret sink's files, which are the
//! user's, not kcform's state).
//!
//! - [`backend`]: where the state lives — `<config dir>/.kcform/` ([`DIR`]) or an S3 bucket
//!   and prefix (`[lock] backend`) — read and written by name.
//! - [`lock`]: the apply lock in that backend, and who holds it.
//! - [`records`]: kcform's JSON records in the backend, each owned by its own module:
//!   [`keepers`] (which `rotation` value each key was created with), [`snapshot`] (what the last
//!   apply left, for drift notes) and [`pending`] (key creates whose outcome is not settled).
//! - [`report`] and [`journal`]: what an apply did, operation by operation, and the audit
//!   record of it written to `journal/` in the backend.
//! - [`file`](mod@file): the one atomic private-file writer (0600 files in 0700 directories,
//!   no link followed at the last component) used by the local backend, the secret sink and
//!   the emulator's data files.
//!
//! The module sits below `apply`, `pipeline`, `commands` and `emulator` (they use it) and
//! above the plan types (`plan::Plan`, `plan::drift::Snapshot`), which it reads: it depends on
//! none of its users. It prints nothing and returns typed errors: what a user reads about it
//! (waiting for the lock, a journal record not written) is the pipeline's to say.

pub mod backend;
pub mod file;
pub mod journal;
pub mod keepers;
pub mod lock;
pub mod pending;
pub mod records;
pub mod report;
pub mod snapshot;

pub use backend::{Backend, BackendError};
pub use lock::{Guard, LockInfo};
pub use records::{RecordError, Records};

/// What the state backends take from kcform's settings (read from the environment by
/// `crate::settings`, once): who and where, for the lock holder, and the S3 endpoint override.
#[derive(Debug, Clone)]
pub struct StateSettings {
    /// Who takes a lock (the user's name, or `unknown`).
    pub user: String,
    /// Where a lock is taken (the host's name, or `unknown`).
    pub host: String,
    /// The S3 backend's endpoint, for S3-compatible stores (`None`: AWS).
    pub s3_endpoint: Option<String>,
}

impl Default for StateSettings {
    fn default() -> Self {
        StateSettings {
            user: "unknown".to_string(),
            host: "unknown".to_string(),
            s3_endpoint: None,
        }
    }
}

/// The directory under the configuration directory that holds kcform's local state: the
/// local backend's lock, records and journal, and the embedded emulator's files.
pub const DIR: &str = ".kcform";
