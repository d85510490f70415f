//! `kcform completions SHELL`: prints a completion script generated from the command line's own
//! definition, so it never falls behind the commands and flags.

use std::io::Write as _;

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};

/// Runs it.
pub fn run(args: &CompletionsArgs) -> anyhow::Result<i32> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "kcform", &mut script);
    write_stdout(&script)?;
    Ok(crate::exit::SUCCESS)
}

/// Writes generated text to stdout; a reader that stops early (`| head`) is not an error.
pub(crate) fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}
