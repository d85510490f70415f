//! Merging the files' declarations into one [`Desired`]: duplicates across files, required keys
//! that only the merged view can check, then the merged-configuration rules, and finally the
//! model with an [`Origin`] on every object. The merge rules are documented in `config`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::limits::PROJECT_NICKNAME_MAX;
use crate::model::{AccessKeySpec, Desired, Origin, ProjectSpec, ServiceAccountSpec};

use super::diagnostic::{Loc, Problem, SourceFile};
use super::parse::{FileDecls, ProjectFrag, Section, ServiceAccountFrag};
use super::rules;

fn duplicate(what: String, again: &Loc, first: &Loc, help: Option<&str>) -> Problem {
    let mut problem = Problem::at(again.clone(), format!("{what} is declared twice"))
        .label("declared again here")
        .related(first.clone(), "first declared here");
    if let Some(help) = help {
        problem = problem.help(help);
    }
    problem
}

fn section<T>(
    slot: &mut Option<Section<T>>,
    next: Option<Section<T>>,
    name: &str,
    problems: &mut Vec<Problem>,
) {
    let Some(next) = next else { return };
    match slot {
        Some(first) => problems.push(duplicate(
            format!("`[{name}]`"),
            &next.origin,
            &first.origin,
            Some("it may appear in only one file of the configuration"),
        )),
        None => *slot = Some(next),
    }
}

fn merge_project(
    projects: &mut BTreeMap<String, ProjectFrag>,
    frag: ProjectFrag,
    problems: &mut Vec<Problem>,
) {
    let ProjectFrag {
        name,
        origin,
        declared,
        nickname,
        nickname_written,
        description,
        ignore,
        service_accounts,
    } = frag;
    let project = projects.entry(name.clone()).or_insert_with(|| ProjectFrag {
        name: name.clone(),
        origin: origin.clone(),
        declared: false,
        nickname: None,
        nickname_written: false,
        description: None,
        ignore: Vec::new(),
        service_accounts: BTreeMap::new(),
    });
    if declared {
        if project.declared {
            problems.push(duplicate(
                format!("project `{name}`"),
                &origin,
                &project.origin,
                Some(&format!(
                    "a project may be split across files, but `nickname`, `description` and `ignore` belong in one `[project.{name}]` table; other files may add service accounts with `[project.{name}.service_account.<name>]` headers"
                )),
            ));
        } else {
            project.declared = true;
            project.origin = origin;
            project.nickname = nickname;
            project.nickname_written = nickname_written;
            project.description = description;
            project.ignore = ignore;
        }
    }
    for sa in service_accounts.into_values() {
        merge_service_account(&name, &mut project.service_accounts, sa, problems);
    }
}

fn merge_service_account(
    project: &str,
    accounts: &mut BTreeMap<String, ServiceAccountFrag>,
    frag: ServiceAccountFrag,
    problems: &mut Vec<Problem>,
) {
    let ServiceAccountFrag {
        name,
        key,
        origin,
        declared,
        status,
        protect,
        access_keys,
    } = frag;
    let sa = accounts
        .entry(name.clone())
        .or_insert_with(|| ServiceAccountFrag {
            name: name.clone(),
            key: key.clone(),
            origin: origin.clone(),
            declared: false,
            status: None,
            protect: false,
            access_keys: BTreeMap::new(),
        });
    if declared {
        if sa.declared {
            problems.push(duplicate(
                format!("service account `{project}/{name}`"),
                &origin,
                &sa.origin,
                Some(&format!(
                    "set `status` and `protect` in one `[project.{project}.service_account.{name}]` table; other files may add access keys with `[project.{project}.service_account.{name}.access_key.<name>]` headers"
                )),
            ));
        } else {
            sa.declared = true;
            sa.key = key;
            sa.origin = origin;
            sa.status = status;
            sa.protect = protect;
        }
    }
    for ak in access_keys.into_values() {
        match sa.access_keys.get(&ak.name) {
            Some(first) => problems.push(duplicate(
                format!("access key `{project}/{name}/{}`", ak.name),
                &ak.origin,
                &first.origin,
                None,
            )),
            None => {
                sa.access_keys.insert(ak.name.clone(), ak);
            }
        }
    }
}

/// Merges every file's declarations. `complete` is false when some file could not be checked
/// (syntax errors, unreadable): a project's declaration may be in it, so a missing `nickname`
/// is not reported for projects that are only named.
pub(crate) fn merge(
    files: Vec<FileDecls>,
    sources: &[SourceFile],
    complete: bool,
    config_dir: &Path,
    problems: &mut Vec<Problem>,
) -> Desired {
    let mut provider = None;
    let mut secrets = None;
    let mut lock = None;
    let mut projects = BTreeMap::new();
    for file in files {
        section(&mut provider, file.provider, "provider", problems);
        section(&mut secrets, file.secrets, "secrets", problems);
        section(&mut lock, file.lock, "lock", problems);
        for project in file.projects {
            merge_project(&mut projects, project, problems);
        }
    }

    for project in projects.values() {
        if project.nickname_written || (!project.declared && !complete) {
            continue;
        }
        let name = &project.name;
        let problem = if project.declared {
            Problem::at(
                project.origin.clone(),
                format!("project `{name}` has no `nickname`"),
            )
            .label("declared here without `nickname`")
            .help(format!(
                "add `nickname = \"…\"`, the project's display name (1 to {PROJECT_NICKNAME_MAX} characters)"
            ))
        } else {
            Problem::at(
                project.origin.clone(),
                format!("project `{name}` is used but never declared"),
            )
            .label("named here, but no file declares the project")
            .help(format!(
                "add a `[project.{name}]` table with `nickname = \"…\"` (1 to {PROJECT_NICKNAME_MAX} characters) in one file"
            ))
        };
        problems.push(problem);
    }

    let ordered: Vec<&ProjectFrag> = projects.values().collect();
    rules::check_merged(&ordered, problems);

    let origin = |loc: &Loc| -> Origin {
        match sources.get(loc.file) {
            Some(source) => {
                let (line, column) = source.position(loc.span.start);
                Origin {
                    file: source.path.clone(),
                    line,
                    column,
                }
            }
            None => Origin::default(),
        }
    };
    let projects = projects
        .into_values()
        .map(|p| {
            let service_accounts = p
                .service_accounts
                .into_values()
                .map(|sa| {
                    let access_keys = sa
                        .access_keys
                        .into_values()
                        .map(|ak| {
                            let spec = AccessKeySpec {
                                origin: origin(&ak.origin),
                                name: ak.name,
                                description: ak.description,
                                rotation: ak.rotation,
                                max_age: ak.max_age,
                            };
                            (spec.name.clone(), spec)
                        })
                        .collect();
                    let spec = ServiceAccountSpec {
                        origin: origin(&sa.origin),
                        name: sa.name,
                        status: sa.status.map(|(s, _)| s).unwrap_or_default(),
                        protect: sa.protect,
                        access_keys,
                    };
                    (spec.name.clone(), spec)
                })
                .collect();
            let spec = ProjectSpec {
                origin: origin(&p.origin),
                name: p.name,
                nickname: p.nickname.unwrap_or_default(),
                description: p.description,
                ignore: p.ignore,
                service_accounts,
            };
            (spec.name.clone(), spec)
        })
        .collect();

    Desired {
        provider: provider.map(|s| s.value).unwrap_or_default(),
        secrets: secrets.map(|s| s.value).unwrap_or_default(),
        lock: lock.map(|s| s.value).unwrap_or_default(),
        projects,
        config_dir: config_dir.to_path_buf(),
        files: sources.iter().map(|s| s.path.clone()).collect(),
        digest: String::new(),
    }
}
