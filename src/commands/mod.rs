//! The commands, one file each, and what plan and apply share: load, connect, read, diff.

mod apply;
mod emulator;
mod graph;
mod plan;
mod unlock;
mod validate;

use std::collections::BTreeSet;

use anyhow::Context as _;

use crate::address::Address;
use crate::cli::{Cli, Command};
use crate::connection::Connection;
use crate::live::Live;
use crate::model::Desired;
use crate::plan::Plan;
use crate::settings::GlobalSettings;
use crate::{config, exit, keepers};

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
        Command::Emulator(args) => runtime().and_then(|rt| rt.block_on(emulator::run(&args))),
        Command::Unlock(args) => runtime().and_then(|rt| rt.block_on(unlock::run(&args))),
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
    exit::code_for(error)
}

/// What plan and apply both start from.
pub(crate) struct Planned {
    pub desired: Desired,
    pub connection: Connection,
    pub live: Live,
    pub plan: Plan,
}

/// Loads the configuration, reads the live objects and makes the plan.
pub(crate) async fn make_plan(
    path: &std::path::Path,
    settings: &GlobalSettings,
    parallelism: Option<usize>,
    targets: &[Address],
) -> anyhow::Result<Planned> {
    let desired = config::load(path)?;
    let keepers = keepers::load(&desired.config_dir)?;
    let parallelism = parallelism.unwrap_or(desired.provider.parallelism);
    let connection = Connection::open(&desired, settings, parallelism).await?;
    let declared: BTreeSet<String> = desired.projects.keys().cloned().collect();
    let live = crate::cloud::read_live(&connection.client, &declared, &keepers)
        .await
        .context("cannot read the live objects")?;
    let plan = crate::plan::diff(&desired, &live, settings.now)?;
    let plan = crate::plan::targeted(plan, targets);
    Ok(Planned {
        desired,
        connection,
        live,
        plan,
    })
}
