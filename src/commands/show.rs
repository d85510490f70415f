//! `kcform show FILE`: renders a saved plan in any format (offline).

use super::render;
use crate::cli::ShowArgs;
use crate::exit;
use crate::pipeline::review::read_saved;
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
