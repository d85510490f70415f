//! `kcform plan`: shows what apply would change. Takes no lock and changes nothing.

use crate::cli::{Format, PlanArgs};
use crate::exit;
use crate::render::{Palette, human};
use crate::settings::GlobalSettings;

/// Runs it.
pub async fn run(args: &PlanArgs, settings: &GlobalSettings) -> anyhow::Result<i32> {
    let planned = super::make_plan(&args.path, settings, None, &args.targets).await?;
    let text = match args.format {
        Format::Human => human::render(&planned.plan, &Palette::new(settings.color_stdout)),
    };
    print!("{text}");
    let empty = planned.plan.is_empty();
    planned.connection.close().await;
    Ok(if args.detailed_exitcode && !empty {
        exit::CHANGES_PRESENT
    } else {
        exit::SUCCESS
    })
}
