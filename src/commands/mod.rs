//! The commands, one file each: views over the pipeline (`crate::pipeline`). Each parses its
//! arguments, calls the pipeline and prints what it gives back; `run` turns the result into the
//! exit code, printing an error once.

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

use anyhow::Context as _;

use crate::cli::{Cli, Command, Format};
use crate::pipeline::PipelineError;
use crate::plan::Plan;
use crate::render::{Palette, human, json, markdown, terraform_json};
use crate::settings::GlobalSettings;
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
    let diagnostics = error.chain().find_map(|cause| {
        cause.downcast_ref::<config::ConfigError>().or_else(|| {
            match cause.downcast_ref::<PipelineError>() {
                Some(PipelineError::Config(config_error)) => Some(config_error),
                _ => None,
            }
        })
    });
    match diagnostics {
        Some(config_error) => eprint!("{}", config_error.render(color)),
        None => eprintln!("error: {error:#}"),
    }
    if let Some(hint) = hints::hint_for(error) {
        eprintln!("hint: {hint}");
    }
    exit::code_for(error)
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
