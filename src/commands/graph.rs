//! `kcform graph`: the configuration's dependency graph in Graphviz DOT (offline).

use crate::cli::PathArg;
use crate::{config, exit, graph};

/// Runs it.
pub fn run(args: &PathArg) -> anyhow::Result<i32> {
    let desired = config::load(&args.path)?;
    print!("{}", graph::resource_dot(&desired));
    Ok(exit::SUCCESS)
}
