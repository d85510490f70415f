//! The commands, one file each, and what plan and apply share: load, connect, read, diff.

mod apply;
mod completions;
mod emulator;
mod graph;
mod hints;
mod import;
mod init;
mod plan;
mod schema;
mod show;
mod unlock;
mod validate;

use std::collections::BTreeSet;

use anyhow::Context as _;

use crate::address::Address;
use crate::cli::{Cli, Command, Format};
use crate::cloud::{Arrival, ProjectReads};
use crate::connection::Connection;
use crate::live::Live;
use crate::model::Desired;
use crate::permissions::Authority;
use crate::plan::Plan;
use crate::plan::incremental::{Finished, Incremental};
use crate::render::{Palette, human, json, markdown, terraform_json};
use crate::settings::GlobalSettings;
use crate::state::snapshot;
use crate::state::{Records, keepers, pending};
use crate::{config, exit};

/// Runs the command line and returns the process exit code. Errors are printed here, once.
pub fn run(cli: Cli) -> i32 {
    let settings = match GlobalSettings::from_env(cli.no_color) {
        Ok(settings) => settings,
        Err(error) => return report(&anyhow::Error::from(error), false),
    };
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Graph(args) if args.operations => {
            runtime().and_then(|rt| rt.block_on(graph::run_operations(&args, &settings)))
        }
        Command::Graph(args) => graph::run(&args),
        Command::Plan(args) => runtime().and_then(|rt| rt.block_on(plan::run(&args, &settings))),
        Command::Apply(args) => runtime().and_then(|rt| rt.block_on(apply::run(&args, &settings))),
        Command::Show(args) => show::run(&args, &settings),
        Command::Emulator(args) => runtime().and_then(|rt| rt.block_on(emulator::run(&args))),
        Command::Unlock(args) => {
            runtime().and_then(|rt| rt.block_on(unlock::run(&args, &settings)))
        }
        Command::Import(args) => {
            runtime().and_then(|rt| rt.block_on(import::run(&args, &settings)))
        }
        Command::Init(args) => init::run(&args),
        Command::Schema => schema::run(),
        Command::Completions(args) => completions::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => report(&error, settings.color_stderr),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Prints an error on stderr: configuration diagnostics as they render themselves, anything
/// else as `error: ` and its chain of causes.
fn report(error: &anyhow::Error, color: bool) -> i32 {
    match error.downcast_ref::<config::ConfigError>() {
        Some(config_error) => eprint!("{}", config_error.render(color)),
        None => eprintln!("error: {error:#}"),
    }
    if let Some(hint) = hints::hint_for(error) {
        eprintln!("hint: {hint}");
    }
    exit::code_for(error)
}

/// What plan and apply both start from.
pub(crate) struct Planned {
    pub desired: Desired,
    pub connection: Connection,
    pub live: Live,
    pub plan: Plan,
    /// The declared projects that were read, in name order.
    pub projects: Vec<String>,
    /// Fingerprints of every live object read.
    pub fingerprints: std::collections::BTreeMap<String, String>,
    /// The plan's checksum (what `--expect-checksum` compares).
    pub checksum: String,
    /// What the credential may do, from its token.
    pub authority: Authority,
    /// kcform's records in the `[lock]` backend.
    pub records: Records,
    /// The human blocks of `plan.changes`, when they were rendered as the projects were planned
    /// (see [`make_plan`]).
    pub human_changes: Option<String>,
}

impl Planned {
    /// The human plan (the same text as [`human::render`]).
    pub fn human(&self, palette: &Palette) -> String {
        match &self.human_changes {
            Some(blocks) => human::render_with_changes(&self.plan, palette, blocks),
            None => human::render(&self.plan, palette),
        }
    }
}

/// Which part of the plan to keep.
pub(crate) struct Selection<'a> {
    pub targets: &'a [Address],
    pub excludes: &'a [Address],
}

impl Selection<'_> {
    /// Fails, naming the closest valid addresses, when a `--target` or `--exclude` names no
    /// declared or live object: a typo must not read as "No changes".
    fn check(&self, desired: &Desired, live: &crate::live::Live) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        for (flag, addresses) in [("--target", self.targets), ("--exclude", self.excludes)] {
            for missing in crate::graph::unmatched(addresses, desired, live) {
                let mut line = format!(
                    "{flag} {} matches nothing declared or live",
                    missing.address
                );
                if !missing.closest.is_empty() {
                    let closest: Vec<String> =
                        missing.closest.iter().map(ToString::to_string).collect();
                    line.push_str(&format!("; closest: {}", closest.join(", ")));
                }
                problems.push(line);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("{}", problems.join("\n"))
        }
    }
}

/// Connects for a configuration.
pub(crate) async fn connect(
    desired: &Desired,
    settings: &GlobalSettings,
    parallelism: Option<usize>,
) -> anyhow::Result<Connection> {
    let parallelism = parallelism.unwrap_or(desired.provider.parallelism);
    Ok(Connection::open(desired, settings, parallelism).await?)
}

/// Learns from its token what the credential may do, refusing (with the role needed) when it
/// cannot read every project in `projects`.
pub(crate) async fn authorize(
    client: &crate::cloud::Client,
    projects: &BTreeSet<String>,
) -> anyhow::Result<Authority> {
    let token = client
        .whoami()
        .await
        .context("cannot authenticate with the access key")?;
    let authority = Authority::from_token(&token);
    authority.check_readable(projects)?;
    Ok(authority)
}

/// A connection made before the configuration was read (see [`load`]).
pub(crate) struct Early {
    connection: Connection,
    /// The reads of the declared projects, when they were started early too.
    reads: Option<ProjectReads>,
}

impl Early {
    /// Closes the connection unused.
    pub(crate) async fn close(self) {
        self.connection.close().await;
    }
}

/// Loads the configuration at `path`. When the connection does not depend on it (see
/// [`Connection::before_config`]), the token is issued — and with `read_projects`, the project
/// listing read and each declared project's reads started as soon as the files are parsed —
/// while the configuration is loaded, instead of after. Only reads: a configuration error
/// stops them, and nothing is changed before the whole configuration is checked.
pub(crate) async fn load(
    path: &std::path::Path,
    settings: &GlobalSettings,
    parallelism: Option<usize>,
    read_projects: bool,
) -> anyhow::Result<(Desired, Option<Early>)> {
    let hint = parallelism.unwrap_or(crate::limits::DEFAULT_PARALLELISM);
    // A connection that cannot be made early is made, and its error reported, after the
    // configuration: configuration errors come first.
    let Ok(Some(connection)) = Connection::before_config(settings, hint) else {
        return Ok((config::load(path)?, None));
    };
    let client = std::sync::Arc::clone(&connection.client);
    let (announce, announced) = tokio::sync::oneshot::channel::<BTreeSet<String>>();
    let warm_up = async {
        client
            .whoami()
            .await
            .context("cannot authenticate with the access key")?;
        if !read_projects {
            return Ok(None);
        }
        let projects = client
            .list_projects()
            .await
            .context("cannot read the live objects")?;
        let mut reads = ProjectReads::new(&client, projects);
        // The names come before the files are merged and checked, which at scale takes
        // longer than the first reads' round trip. (No names: the files have errors.)
        if let Ok(declared) = announced.await {
            for name in &declared {
                reads.start(name);
            }
        }
        anyhow::Ok(Some(reads))
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
            let desired = parsed.context("the configuration reader stopped")??;
            (desired, warm_up.await)
        }
        warmed = &mut warm_up => {
            let desired = parse.await.context("the configuration reader stopped")??;
            (desired, warmed)
        }
    };
    let reads = reads?;
    connection
        .client
        .set_parallelism(parallelism.unwrap_or(desired.provider.parallelism));
    Ok((desired, Some(Early { connection, reads })))
}

/// The early connection, or one made now for `desired`; and the project reads if they were
/// started early.
pub(crate) async fn connection_for(
    desired: &Desired,
    early: Option<Early>,
    settings: &GlobalSettings,
    parallelism: Option<usize>,
) -> anyhow::Result<(Connection, Option<ProjectReads>)> {
    match early {
        Some(early) => Ok((early.connection, early.reads)),
        None => Ok((connect(desired, settings, parallelism).await?, None)),
    }
}

/// Reads the live objects for a configuration and makes the (selected) plan. With `human`, the
/// human blocks of each project's changes are rendered (in that palette) as soon as the project
/// is planned, while the others are still being read: with thousands of changes they are a
/// good part of a plan's time (see [`Planned::human`]).
pub(crate) async fn make_plan(
    desired: Desired,
    early: Option<Early>,
    settings: &GlobalSettings,
    parallelism: Option<usize>,
    selection: &Selection<'_>,
    human: Option<Palette>,
) -> anyhow::Result<Planned> {
    let (connection, reads) = connection_for(&desired, early, settings, parallelism).await?;
    let records = Records::open(&desired, &settings.state)?;
    if settings.in_ci && desired.lock == crate::model::LockBackend::Local {
        eprintln!(
            "warning: running under CI with the local `[lock]` backend: kcform's records (which rotation value each key was created with, what was last applied, key creates in flight) live in .kcform/ and will not outlive this runner, so rotations and drift notes go by what this runner has\nhint: set `[lock] backend = \"s3://bucket/prefix\"` (KakaoCloud Object Storage is S3-compatible) so every run shares them"
        );
    }
    let client = &connection.client;
    // kcform's records are read while the token is issued: at scale they are not free.
    let declared: BTreeSet<String> = desired.projects.keys().cloned().collect();
    let (authority, keepers, snapshot, pending) = tokio::join!(
        authorize(client, &declared),
        records.load::<keepers::Keepers>(keepers::RECORD),
        records.load::<crate::plan::drift::Snapshot>(snapshot::RECORD),
        records.load::<pending::PendingKeys>(pending::RECORD),
    );
    let authority = authority?;
    let keepers = keepers?.unwrap_or_default();
    let pending = pending?.unwrap_or_default();
    let sink = crate::apply::sink::Sink::configured(&desired);
    let mut planner = Incremental::new(desired, snapshot?, settings.now);
    // Each project is planned on this thread as soon as it is read, while the others are
    // still on the wire, so little is left to do once the last listing arrives.
    let (arrive, arrivals) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let mut blocks = std::collections::BTreeMap::new();
        for arrival in arrivals {
            match arrival {
                Arrival::Undeclared(projects) => planner.undeclared(projects),
                Arrival::Project(mut project) => {
                    pending::mark_undelivered(&pending, &mut project, &sink);
                    let name = project.name.clone();
                    let changes = planner.project(project);
                    if let Some(palette) = human.as_ref().filter(|_| !changes.is_empty()) {
                        blocks.insert(name, human::change_blocks(changes, palette));
                    }
                }
            }
        }
        (planner, human.map(|palette| (blocks, palette)))
    });
    let read = crate::cloud::read_live_each(client, reads, &declared, &keepers, |arrival| {
        // The worker only stops when this sender is dropped, so it is there to receive.
        let _ = arrive.send(arrival);
    })
    .await;
    drop(arrive);
    let (planner, rendered) = worker.join().expect("planning a project does not panic");
    read.context("cannot read the live objects")?;
    let Finished {
        desired,
        live,
        plan,
        fingerprints,
        digests,
    } = planner.finish();
    selection.check(&desired, &live)?;
    let plan = plan.map_err(|refused| {
        if refused.by_safety_rail {
            anyhow::Error::new(crate::exit::CodedError {
                code: crate::exit::SAFETY_RAIL,
                message: refused.to_string(),
            })
        } else {
            anyhow::Error::new(refused)
        }
    })?;
    let plan = crate::graph::targeted(plan, selection.targets);
    let mut plan = crate::graph::excluded(plan, selection.excludes);
    plan.denied = denied(&authority, &plan);
    let projects: Vec<String> = declared.into_iter().collect();
    let whole = selection.targets.is_empty() && selection.excludes.is_empty();
    // A selection keeps part of the plan: its blocks are rendered from what is kept.
    let human_changes = rendered
        .filter(|_| whole)
        .map(|(blocks, palette)| human::join_project_blocks(&plan.changes, blocks, &palette));
    let checksum = if whole {
        crate::plan::saved::checksum_of(&desired.digest, &projects, &digests)
    } else {
        crate::plan::saved::checksum(&desired.digest, &projects, &fingerprints, &plan)
    };
    Ok(Planned {
        desired,
        connection,
        live,
        plan,
        projects,
        fingerprints,
        checksum,
        authority,
        records,
        human_changes,
    })
}

/// The plan's changes that `authority` may not perform, as plan data for the renderers.
pub(crate) fn denied(authority: &Authority, plan: &Plan) -> Vec<crate::plan::Denied> {
    authority
        .check_plan(plan)
        .into_iter()
        .map(|denial| crate::plan::Denied {
            address: denial.address,
            deposed: denial.deposed,
            action: denial.action.name().to_string(),
            reason: denial.reason,
        })
        .collect()
}

/// Renders a plan in the chosen format.
pub(crate) fn render(plan: &Plan, format: Format, checksum: &str, color: bool) -> String {
    match format {
        Format::Human => human::render(plan, &Palette::new(color)),
        Format::Json => json::render(plan, checksum),
        Format::Markdown => markdown::render(plan, checksum),
        Format::TerraformJson => terraform_json::render(plan),
    }
}
