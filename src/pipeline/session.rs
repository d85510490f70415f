//! The session: the I/O handles a pipeline run holds — the connection to the IAM API (its
//! client, and the embedded emulator it may have started), kcform's records in the `[lock]`
//! backend, and the project reads already on the wire — as opposed to [`super::Planned`],
//! which is data. [`with_session`] opens one for a scope and [`with_connection`] closes its
//! connection once, at the end, whatever the scope returns: nothing else closes a connection.

use std::sync::Arc;

use time::OffsetDateTime;

use super::PipelineError;
use super::overlap::HeadStart;
use crate::cloud::{Client, ProjectReads};
use crate::connection::Connection;
use crate::model::{Desired, LockBackend};
use crate::settings::GlobalSettings;
use crate::state::Records;

/// What a pipeline run holds open.
pub struct Session {
    client: Arc<Client>,
    records: Records,
    /// Reads of the declared projects started before the session (by the overlap layer);
    /// taken by the first plan.
    reads: Option<ProjectReads>,
    /// The clock plans are made by (`KCFORM_NOW`, else now).
    now: OffsetDateTime,
}

impl Session {
    /// The IAM client.
    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// kcform's records of this configuration.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// The time plans are made at.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The project reads started early, if any (once).
    pub(super) fn take_reads(&mut self) -> Option<ProjectReads> {
        self.reads.take()
    }
}

/// How a session is opened: the settings, `--parallelism` if given (else the configuration's),
/// and the overlap layer's head start, if it made one.
pub struct Open<'a> {
    /// The global settings (endpoint override, credential, clock, CI).
    pub settings: &'a GlobalSettings,
    /// `--parallelism`, overriding `provider.parallelism`.
    pub parallelism: Option<usize>,
    /// The connection made (and the reads started) while the configuration was read.
    pub head_start: Option<HeadStart>,
}

/// Connects for a configuration, with `parallelism` requests at once (default: the
/// configuration's `provider.parallelism`).
pub async fn connect(
    desired: &Desired,
    settings: &GlobalSettings,
    parallelism: Option<usize>,
) -> Result<Connection, PipelineError> {
    let parallelism = parallelism.unwrap_or(desired.provider.parallelism);
    Ok(Connection::open(desired, settings, parallelism).await?)
}

/// Runs `body` with `connection`, then closes it (stopping the embedded emulator, which
/// flushes its state): the one place a connection is closed, whatever `body` returns.
pub async fn with_connection<T>(
    connection: Connection,
    body: impl AsyncFnOnce(&Connection) -> T,
) -> T {
    let result = body(&connection).await;
    connection.close().await;
    result
}

/// Opens a session for `desired` — the head start's connection, or one made now — runs `body`
/// in it (handing `desired` on), and closes it. Connection errors come before kcform's records
/// are opened; under CI with the local `[lock]` backend, a warning says the records will not
/// outlive the runner.
pub async fn with_session<T, E>(
    desired: Desired,
    open: Open<'_>,
    body: impl AsyncFnOnce(&mut Session, Desired) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<PipelineError>,
{
    let Open {
        settings,
        parallelism,
        head_start,
    } = open;
    let (connection, reads) = match head_start {
        Some(head_start) => (head_start.connection, head_start.reads),
        None => (
            connect(&desired, settings, parallelism)
                .await
                .map_err(E::from)?,
            None,
        ),
    };
    with_connection(connection, async move |connection| {
        let records =
            Records::open(&desired, &settings.state).map_err(|e| E::from(e.into()))?;
        if settings.in_ci && desired.lock == LockBackend::Local {
            eprintln!(
                "warning: running under CI with the local `[lock]` backend: kcform's records (which rotation value each key was created with, what was last applied, key creates in flight) live in .kcform/ and will not outlive this runner, so rotations and drift notes go by what this runner has\nhint: set `[lock] backend = \"s3://bucket/prefix\"` (KakaoCloud Object Storage is S3-compatible) so every run shares them"
            );
        }
        let mut session = Session {
            client: Arc::clone(&connection.client),
            records,
            reads,
            now: settings.now,
        };
        body(&mut session, desired).await
    })
    .await
}
