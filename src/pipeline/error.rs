//! What stops a pipeline run: one variant per cause, each worded for the user, with the error
//! under it as its source. The exit code of each is `exit::code_for`'s to decide (a stale
//! reviewed plan exits 4, a safety rail 5, a held lock 3; see docs/design.md#exit-codes).

use std::path::PathBuf;

use crate::cloud::CloudError;
use crate::config::ConfigError;
use crate::connection::ConnectionError;
use crate::permissions::{ApplyRefused, UnreadableProjects};
use crate::plan::PlanRefused;
use crate::state::{BackendError, RecordError};

/// Why a pipeline run stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The configuration has errors (rendered as diagnostics by the command).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No connection could be made (endpoint, credential, the embedded emulator).
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The access key did not give a token.
    #[error("cannot authenticate with the access key")]
    Authenticate(#[source] CloudError),
    /// The credential cannot read every declared project.
    #[error(transparent)]
    Unreadable(#[from] UnreadableProjects),
    /// The live objects could not be read.
    #[error("cannot read the live objects")]
    Read(#[source] CloudError),
    /// A project's service agents could not be read (`kcform import`).
    #[error("cannot list the service agents of project `{project}`")]
    ServiceAgents {
        /// The project (boxed: it sits beside a `CloudError`, and the error stays small).
        project: Box<str>,
        /// Why.
        #[source]
        source: CloudError,
    },
    /// A requested project does not exist or cannot be seen (`kcform import`); the message
    /// names what the credential can see.
    #[error("{0}")]
    ProjectNotFound(String),
    /// A directory could not be listed.
    #[error("cannot list directory `{path}`")]
    ListDirectory {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The thread reading the configuration stopped before it finished.
    #[error("the configuration reader stopped")]
    ReaderStopped(#[source] tokio::task::JoinError),
    /// kcform's records could not be read or written.
    #[error(transparent)]
    Records(#[from] RecordError),
    /// The `[lock]` backend, or its lock (held by another run: exit 3).
    #[error(transparent)]
    Lock(#[from] BackendError),
    /// A `--target` or `--exclude` names nothing declared or live; one line per address.
    #[error("{0}")]
    Selection(String),
    /// The diff refuses the configuration against the live objects (a protected account's
    /// refusal is a safety rail's: exit 5).
    #[error(transparent)]
    Refused(#[from] PlanRefused),
    /// The credential may not perform some of the plan's changes.
    #[error(transparent)]
    Denied(#[from] ApplyRefused),
    /// The mass-deletion safety rail refused the apply (exit 5).
    #[error("{0}")]
    SafetyRail(String),
    /// The plan file could not be read.
    #[error("cannot read the plan file {path}")]
    ReadPlanFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// What was reviewed is not the plan kcform derives now, or the plan file is damaged or
    /// edited (exit 4); the message says how to make a new plan.
    #[error("{0}")]
    NotReviewed(String),
}
