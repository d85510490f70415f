//! `kcform import --project NAME… [PATH]`: reads live projects through the same client and
//! connection as `plan` and prints (or writes, with `--out`) a configuration for them.
//!
//! Where the endpoint and credential come from: `--endpoint`, else `KCFORM_ENDPOINT`, else
//! PATH's `[provider]`; the credential from the environment as for every command. PATH with no
//! configuration yet (a directory without `*.toml` files, `.` by default) is fine: the default
//! endpoint applies, the embedded emulator keeps its state under PATH's `.kcform/`, and the
//! output starts with a `[provider]` table so it is a complete configuration on its own. With a
//! configuration in PATH, the output holds only the projects, to be added next to it.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};

use crate::cli::ImportArgs;
use crate::import::Options;
use crate::limits::{NameKind, check_name};
use crate::model::Endpoint;
use crate::pipeline::import as pipeline;
use crate::settings::GlobalSettings;

/// Runs it.
pub async fn run(args: &ImportArgs, settings: &GlobalSettings) -> anyhow::Result<i32> {
    let requested = check_arguments(args)?;
    if let Some(out) = &args.out
        && out.exists()
    {
        bail!(
            "`{}` already exists; kcform import does not overwrite files\nhint: remove it first, or give another `--out` file",
            out.display()
        );
    }
    let mut settings = settings.clone();
    if let Some(endpoint) = &args.endpoint {
        settings.endpoint_override = Some(endpoint.clone());
    }
    let (desired, has_config) = pipeline::configuration(&args.path)?;
    let provider_endpoint = (!has_config).then(|| match &settings.endpoint_override {
        Some(text) => text.clone(),
        None => match &desired.provider.endpoint {
            Endpoint::Emulator => "emulator".to_string(),
            Endpoint::Url(url) => url.clone(),
        },
    });
    let projects = pipeline::read(&desired, &settings, &requested).await?;

    let imported = crate::import::write(
        &projects,
        &Options {
            ignore: args.ignore.clone(),
            provider_endpoint,
        },
    );
    for name in &requested {
        if let Some(spec) = desired.projects.get(name) {
            eprintln!(
                "warning: project `{name}` is already declared at {}; adding the imported text next to it would declare it twice\nhint: compare the two, then keep one of them",
                spec.origin
            );
        }
    }
    for warning in &imported.warnings {
        eprintln!("warning: {}\nhint: {}", warning.message, warning.hint);
    }
    match &args.out {
        None => super::completions::write_stdout(imported.text.as_bytes())?,
        Some(out) => {
            write_new_file(out, &imported.text)?;
            let dir = if has_config {
                args.path.display().to_string()
            } else {
                out.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| ".".to_string(), |p| p.display().to_string())
            };
            eprintln!(
                "Wrote {}. Check it with `kcform plan {dir}`: it should report no changes.",
                out.display()
            );
        }
    }
    Ok(crate::exit::SUCCESS)
}

/// The requested project names, checked, in name order without repeats.
fn check_arguments(args: &ImportArgs) -> anyhow::Result<BTreeSet<String>> {
    for name in &args.projects {
        if let Err(reason) = check_name(NameKind::Project, name) {
            bail!("`--project {name}`: {reason}; kcform cannot declare such a project");
        }
    }
    for pattern in &args.ignore {
        if let Err(e) = glob::Pattern::new(pattern) {
            bail!(
                "`--ignore {pattern}` is not a valid glob pattern: {} at character {}\nhint: `*` matches any characters, `?` one, `[abc]` one of a set; e.g. `--ignore 'legacy-*'`",
                e.msg,
                e.pos + 1
            );
        }
    }
    Ok(args.projects.iter().cloned().collect())
}

/// Writes `text` to a file that must not exist yet (no other process may have made it since
/// the check at the start either).
fn write_new_file(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write `{}`", path.display()))
}
