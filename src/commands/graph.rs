//! `kcform graph`: the configuration's resource graph in Graphviz DOT (offline), or with
//! `--operations` the operation graph apply would execute for the current plan.

use crate::cli::GraphArgs;
use crate::graph::resource_dot;
use crate::pipeline::{self, Selection};
use crate::settings::GlobalSettings;
use crate::{config, exit};

/// The resource graph.
pub fn run(args: &GraphArgs) -> anyhow::Result<i32> {
    let desired = config::load(&args.path)?;
    print!("{}", resource_dot(&desired));
    Ok(exit::SUCCESS)
}

/// The operation graph of the current plan.
pub async fn run_operations(args: &GraphArgs, settings: &GlobalSettings) -> anyhow::Result<i32> {
    let everything = Selection::everything();
    let planned = pipeline::plan_configuration(&args.path, settings, &everything, None).await?;
    let plan = &planned.plan;
    print!("{}", plan.operations_dot(&plan.operation_graph()));
    Ok(exit::SUCCESS)
}
