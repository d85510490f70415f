//! `kcform show FILE`: renders a saved plan in any format (offline).

use anyhow::Context as _;

use super::render;
use crate::cli::ShowArgs;
use crate::exit::{self, CodedError};
use crate::plan::saved::SavedPlan;
use crate::settings::GlobalSettings;

/// Runs it.
pub fn run(args: &ShowArgs, settings: &GlobalSettings) -> anyhow::Result<i32> {
    let saved = read_saved(&args.file)?;
    print!(
        "{}",
        render(
            &saved.plan,
            args.format,
            &saved.checksum,
            settings.color_stdout
        )
    );
    Ok(exit::SUCCESS)
}

/// Reads and verifies a plan file; a damaged or edited one exits 4.
pub(crate) fn read_saved(path: &std::path::Path) -> anyhow::Result<SavedPlan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the plan file {}", path.display()))?;
    SavedPlan::parse(&text).map_err(|error| {
        anyhow::Error::new(CodedError {
            code: exit::STALE_PLAN,
            message: format!("{}: {error}", path.display()),
        })
    })
}
