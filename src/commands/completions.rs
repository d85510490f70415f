//! `kcform completions SHELL`: prints a completion script generated from the command line's own
//! definition, so it never falls behind the commands and flags.

use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};

/// Runs it.
pub fn run(args: &CompletionsArgs) -> anyhow::Result<i32> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "kcform", &mut std::io::stdout());
    Ok(crate::exit::SUCCESS)
}
