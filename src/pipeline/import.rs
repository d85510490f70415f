//! What `kcform import` reads (see docs/design.md#import): the configuration at PATH, if there is
//! one yet, and the requested live projects — their service accounts, keys and service agents
//! — through the same connection as a plan. Turning them into TOML is `import`'s (pure).

use std::collections::BTreeSet;
use std::path::Path;

use super::{PipelineError, authorize, connect, with_connection};
use crate::connection::Connection;
use crate::import::ImportedProject;
use crate::model::Desired;
use crate::settings::GlobalSettings;

/// The configuration at `path`, or the defaults when there is none yet (a directory without
/// `*.toml` files), and whether there was one.
pub fn configuration(path: &Path) -> Result<(Desired, bool), PipelineError> {
    let no_toml = path.is_dir()
        && std::fs::read_dir(path)
            .map_err(|source| PipelineError::ListDirectory {
                path: path.to_path_buf(),
                source,
            })?
            .flatten()
            .all(|entry| entry.path().extension().is_none_or(|e| e != "toml"));
    if no_toml {
        let desired = Desired {
            config_dir: path.to_path_buf(),
            ..Desired::default()
        };
        return Ok((desired, false));
    }
    Ok((crate::config::load(path)?, true))
}

/// Connects for `desired` and reads the `requested` projects, their service accounts, keys and
/// service agents; a project that cannot be found is an error naming the projects the
/// credential can see.
pub async fn read(
    desired: &Desired,
    settings: &GlobalSettings,
    requested: &BTreeSet<String>,
) -> Result<Vec<ImportedProject>, PipelineError> {
    let connection = connect(desired, settings, None).await?;
    with_connection(connection, async |connection| {
        read_projects(connection, requested, &desired.config_dir).await
    })
    .await
}

async fn read_projects(
    connection: &Connection,
    requested: &BTreeSet<String>,
    config_dir: &Path,
) -> Result<Vec<ImportedProject>, PipelineError> {
    let client = &connection.client;
    let authority = authorize(client, requested).await?;
    let live = crate::cloud::read_live(client, requested, &Default::default())
        .await
        .map_err(PipelineError::Read)?;
    let missing: Vec<&String> = requested
        .iter()
        .filter(|name| !live.projects.contains_key(*name))
        .collect();
    if !missing.is_empty() {
        let visible: Vec<String> = live
            .undeclared_projects
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .chain(live.projects.keys().map(|name| format!("`{name}`")))
            .collect();
        let names: Vec<String> = missing.iter().map(|n| format!("`{n}`")).collect();
        let (place, hint) = match connection.embedded_data_file(config_dir) {
            Some(data_file) => (
                "the built-in emulator".to_string(),
                format!(
                    "the built-in emulator keeps its state per configuration directory (here `{}`); give import the PATH of the configuration that created the project",
                    data_file.display()
                ),
            ),
            None => (client.endpoint().to_string(), String::new()),
        };
        let hint = if !hint.is_empty() && visible.is_empty() {
            hint
        } else if visible.is_empty() {
            format!(
                "the credential ({}) sees no project at all; check the endpoint and the credential",
                authority.describe()
            )
        } else {
            format!(
                "projects the credential can see: {}",
                sorted(visible).join(", ")
            )
        };
        return Err(PipelineError::ProjectNotFound(format!(
            "no project named {} at {place} (or the credential cannot view it)\nhint: {hint}",
            names.join(", "),
        )));
    }
    let mut projects = Vec::with_capacity(live.projects.len());
    for (name, project) in live.projects {
        let agents = client
            .list_service_agents(&project.id)
            .await
            .map_err(|source| PipelineError::ServiceAgents {
                project: name.as_str().into(),
                source,
            })?;
        projects.push(ImportedProject {
            live: project,
            agents,
        });
    }
    Ok(projects)
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}
