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
    report_permissions(&planned, args.format == Format::Human);
    let empty = planned.plan.is_empty();
    planned.connection.close().await;
    Ok(if args.detailed_exitcode && !empty {
        exit::CHANGES_PRESENT
    } else {
        exit::SUCCESS
    })
}

/// Lists the changes the credential may not perform, after the plan: on stdout under the
/// human plan, on stderr for machine formats so their output stays parseable.
fn report_permissions(planned: &super::Planned, on_stdout: bool) {
    let authority = &planned.authority;
    if !authority.is_known() {
        eprintln!(
            "warning: the credential's roles ({}) are not roles kcform knows; permissions are \
             not checked before apply",
            authority.unknown_roles.join(", ")
        );
    }
    let denials = authority.check_plan(&planned.plan);
    let section = authority.render_denials(&denials, planned.plan.changes.len());
    if on_stdout {
        print!("{section}");
    } else {
        eprint!("{section}");
    }
}
