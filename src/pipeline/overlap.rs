//! The optional layer over the straight pipeline: loading the configuration while the token
//! is issued — and, for a plan, the projects listed and each declared project's reads started
//! as soon as the files are parsed — instead of after. It applies when the connection does not
//! depend on the configuration ([`Connection::before_config`]: `KCFORM_ENDPOINT` names a URL);
//! otherwise [`load`] is [`config::load`] and the session connects as usual. Only reads run
//! early: a configuration error stops them, and nothing is changed before the whole
//! configuration is checked.

use std::collections::BTreeSet;
use std::path::Path;

use super::PipelineError;
use crate::cloud::ProjectReads;
use crate::config;
use crate::connection::Connection;
use crate::model::Desired;
use crate::settings::GlobalSettings;

/// What runs while the configuration is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Early {
    /// Only the token (`apply`: the live objects are read under the lock).
    Token,
    /// The token, the project listing and the declared projects' reads.
    Reads,
}

/// A connection made before the configuration was read, and the project reads started with
/// it; [`super::with_session`] starts from it. It never holds the embedded emulator (it is
/// made only for a URL), so one dropped unused leaves nothing to close.
pub struct HeadStart {
    pub(super) connection: Connection,
    pub(super) reads: Option<ProjectReads>,
}

/// Loads the configuration at `path`, with a head start when the connection allows one (see
/// the module documentation). `parallelism` is `--parallelism`, if given.
pub async fn load(
    path: &Path,
    settings: &GlobalSettings,
    parallelism: Option<usize>,
    early: Early,
) -> Result<(Desired, Option<HeadStart>), PipelineError> {
    let hint = parallelism.unwrap_or(crate::limits::DEFAULT_PARALLELISM);
    // A connection that cannot be made early is made, and its error reported, after the
    // configuration: configuration errors come first.
    let Ok(Some(connection)) = Connection::before_config(settings, hint) else {
        return Ok((config::load(path)?, None));
    };
    let client = std::sync::Arc::clone(&connection.client);
    let (announce, announced) = tokio::sync::oneshot::channel::<BTreeSet<String>>();
    let warm_up = async {
        client.whoami().await.map_err(PipelineError::Authenticate)?;
        if early == Early::Token {
            return Ok(None);
        }
        let projects = client.list_projects().await.map_err(PipelineError::Read)?;
        let mut reads = ProjectReads::new(&client, projects);
        // The names come before the files are merged and checked, which at scale takes
        // longer than the first reads' round trip. (No names: the files have errors.)
        if let Ok(declared) = announced.await {
            for name in &declared {
                reads.start(name);
            }
        }
        Ok::<_, PipelineError>(Some(reads))
    };
    let path = path.to_path_buf();
    let mut parse = tokio::task::spawn_blocking(move || {
        config::load_announcing(&path, |declared| {
            // Nobody listens when the warm-up failed; its error is reported instead.
            let _ = announce.send(declared);
        })
    });
    let mut warm_up = std::pin::pin!(warm_up);
    // A configuration error is reported as soon as it is known, not after an endpoint that
    // does not answer has timed out; and before any error of the warm-up.
    let (desired, reads) = tokio::select! {
        parsed = &mut parse => {
            let desired = parsed.map_err(PipelineError::ReaderStopped)??;
            (desired, warm_up.await)
        }
        warmed = &mut warm_up => {
            let desired = parse.await.map_err(PipelineError::ReaderStopped)??;
            (desired, warmed)
        }
    };
    let reads = reads?;
    connection
        .client
        .set_parallelism(parallelism.unwrap_or(desired.provider.parallelism));
    Ok((desired, Some(HeadStart { connection, reads })))
}
