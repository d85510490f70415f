//! [`plan()`]: the live objects read for a configuration and planned, in a session; and
//! [`plan_configuration`], the whole read-only run of `kcform plan` and `graph --operations`.

use std::collections::BTreeSet;

use super::overlap::{self, Early};
use super::planner::Planner;
use super::{Open, PipelineError, Planned, Selection, Session, authorize, denied, with_session};
use crate::apply::sink::Sink;
use crate::model::Desired;
use crate::plan::drift::Snapshot;
use crate::plan::incremental::{Finished, Incremental};
use crate::plan::saved;
use crate::render::Palette;
use crate::settings::GlobalSettings;
use crate::state::{keepers, pending, snapshot};

/// Loads the configuration at `path` — parsed while the token is issued and the projects are
/// read, when the overlap layer applies — and plans it (see [`plan()`]) in a session of its
/// own, closed before this returns.
pub async fn plan_configuration(
    path: &std::path::Path,
    settings: &GlobalSettings,
    selection: &Selection<'_>,
    human: Option<Palette>,
) -> Result<Planned, PipelineError> {
    let (desired, head_start) = overlap::load(path, settings, None, Early::Reads).await?;
    let open = Open {
        settings,
        parallelism: None,
        head_start,
    };
    with_session(desired, open, async |session, desired| {
        plan(session, desired, selection, human).await
    })
    .await
}

/// Reads the live objects of `desired`'s projects and plans them, keeping `selection`: the
/// token is issued and kcform's records read together, then each project is planned as it
/// arrives (on a planning thread of its own). With `human`, the human blocks of the changes are
/// rendered in that palette on the way, for [`Planned::human`].
pub async fn plan(
    session: &mut Session,
    desired: Desired,
    selection: &Selection<'_>,
    human: Option<Palette>,
) -> Result<Planned, PipelineError> {
    let declared: BTreeSet<String> = desired.projects.keys().cloned().collect();
    let records = session.records();
    // kcform's records are read while the token is issued: at scale they are not free.
    let (authority, keepers, snapshot, pending) = tokio::join!(
        authorize(session.client(), &declared),
        records.load::<keepers::Keepers>(keepers::RECORD),
        records.load::<Snapshot>(snapshot::RECORD),
        records.load::<pending::PendingKeys>(pending::RECORD),
    );
    let authority = authority?;
    let keepers = keepers?.unwrap_or_default();
    let pending = pending?.unwrap_or_default();
    let sink = Sink::configured(&desired);
    let incremental = Incremental::new(desired, snapshot?, session.now());
    let planner = Planner::start(incremental, pending, sink, human);
    let reads = session.take_reads();
    let read =
        crate::cloud::read_live_each(session.client(), reads, &declared, &keepers, |arrival| {
            planner.arrive(arrival)
        })
        .await;
    let (incremental, blocks) = planner.join();
    read.map_err(PipelineError::Read)?;
    let Finished {
        desired,
        live,
        plan,
        fingerprints,
        digests,
    } = incremental.finish();
    selection.check(&desired, &live)?;
    let plan = plan?;
    let mut plan = selection.keep(plan);
    plan.denied = denied(&authority, &plan);
    let projects: Vec<String> = declared.into_iter().collect();
    let whole = selection.is_everything();
    // A selection keeps part of the plan: its blocks are rendered from what is kept.
    let human_changes = blocks
        .filter(|_| whole)
        .map(|blocks| blocks.join(&plan.changes));
    let checksum = if whole {
        saved::checksum_of(&desired.digest, &projects, &digests)
    } else {
        saved::checksum(&desired.digest, &projects, &fingerprints, &plan)
    };
    Ok(Planned {
        desired,
        live,
        plan,
        projects,
        fingerprints,
        checksum,
        authority,
        human_changes,
    })
}
