//! `kcform plan`: shows what apply would change, optionally saves it (`--out`) and writes a
//! JSON copy (`--json-out`) and the GitHub job summary. Takes no lock and changes nothing.

use std::io::Write as _;

use anyhow::Context as _;

use super::render;
use crate::cli::{Format, PlanArgs};
use crate::exit;
use crate::pipeline::{self, Selection};
use crate::render::{Palette, json, markdown};
use crate::settings::GlobalSettings;

/// Runs it.
pub async fn run(args: &PlanArgs, settings: &GlobalSettings) -> anyhow::Result<i32> {
    let selection = Selection::new(&args.targets, &args.excludes);
    let palette = Palette::new(settings.color_stdout);
    let human = (args.format == Format::Human).then_some(palette.clone());
    let planned = pipeline::plan_configuration(&args.path, settings, &selection, human).await?;
    match args.format {
        Format::Human => print!("{}", planned.human(&palette)),
        format => print!(
            "{}",
            render(
                &planned.plan,
                format,
                &planned.checksum,
                settings.color_stdout
            )
        ),
    }
    let plan = &planned.plan;
    report_permissions(&planned.authority, plan, args.format == Format::Human);
    if args.format == Format::Human && !plan.is_empty() {
        eprintln!("\nPlan checksum: {}", planned.checksum);
    }
    if let Some(path) = &args.json_out {
        write_file(path, &json::render(plan, &planned.checksum))?;
    }
    if let Some(path) = &args.out {
        let created_at = settings
            .now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let saved = planned.saved(created_at, &args.targets, &args.excludes);
        write_file(path, &saved.to_json())?;
        eprintln!(
            "\nSaved the plan to: {}\n\nTo perform exactly these actions, run:\n    kcform apply --plan {}",
            path.display(),
            path.display()
        );
    }
    if let Some(path) = &settings.step_summary {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the job summary {}", path.display()))?;
        file.write_all(markdown::render(plan, &planned.checksum).as_bytes())
            .with_context(|| format!("cannot write the job summary {}", path.display()))?;
    }
    let code = if args.detailed_exitcode && !plan.is_empty() {
        exit::CHANGES_PRESENT
    } else {
        exit::SUCCESS
    };
    // The process ends right after this.
    planned.forget();
    Ok(code)
}

fn write_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write {}", path.display()))?;
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    temp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Lists the changes the credential may not perform, after the plan: on stdout under the
/// human plan, on stderr for machine formats so their output stays parseable.
fn report_permissions(
    authority: &crate::permissions::Authority,
    plan: &crate::plan::Plan,
    on_stdout: bool,
) {
    if !authority.is_known() {
        eprintln!(
            "warning: the credential's roles ({}) are not roles kcform knows; permissions are \
             not checked before apply",
            authority.unknown_roles.join(", ")
        );
    }
    let denials = authority.check_plan(plan);
    let section = authority.render_denials(&denials, plan.changes.len());
    if on_stdout {
        print!("{section}");
    } else {
        eprint!("{section}");
    }
}
