//! Reading the live state of the declared projects with list calls only: one paged project
//! listing, then per declared project one paged service-account listing and one paged
//! project-wide key listing, all concurrently.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::live::{KeyStatus, Live, LiveAccessKey, LiveProject, LiveServiceAccount};
use crate::model::Status;
use crate::wire;

use super::{Client, CloudError};

/// What [`read_live_each`] hands over, in this order: once, the live projects that are not
/// declared (with their nicknames); then each declared project that exists, as soon as its
/// objects have been read.
#[derive(Debug)]
pub enum Arrival {
    /// The live projects not named in `declared`: `(name, nickname)`.
    Undeclared(Vec<(String, String)>),
    /// One declared project, complete.
    Project(LiveProject),
}

/// Reads the live objects of every project named in `declared`. `keepers` maps an access-key
/// ID to the `rotation` value it was created with, as recorded by earlier applies.
pub async fn read_live(
    client: &Arc<Client>,
    declared: &BTreeSet<String>,
    keepers: &BTreeMap<String, String>,
) -> Result<Live, CloudError> {
    let mut live = Live::default();
    read_live_each(client, None, declared, keepers, |arrival| match arrival {
        Arrival::Undeclared(projects) => live.undeclared_projects = projects,
        Arrival::Project(project) => {
            live.projects.insert(project.name.clone(), project);
        }
    })
    .await?;
    Ok(live)
}

/// Like [`read_live`], but hands each project to `arrived` as soon as it is read, so the
/// caller can work on it while the others are still on the wire. `reads` are the reads the
/// caller has started already (see [`ProjectReads`]); the declared projects not started yet
/// are started here.
pub async fn read_live_each(
    client: &Arc<Client>,
    reads: Option<ProjectReads>,
    declared: &BTreeSet<String>,
    keepers: &BTreeMap<String, String>,
    mut arrived: impl FnMut(Arrival),
) -> Result<(), CloudError> {
    let mut reads = match reads {
        Some(reads) => reads,
        None => ProjectReads::new(client, client.list_projects().await?),
    };
    for name in declared {
        reads.start(name);
    }
    arrived(Arrival::Undeclared(reads.undeclared(declared)));
    while let Some(project) = reads.next().await {
        let mut project = project?;
        project.set_rotations(keepers);
        arrived(Arrival::Project(project));
    }
    Ok(())
}

/// The reads of the live projects' objects, each started on its own as soon as the project is
/// known to be declared — possibly before the configuration is fully checked — and handed
/// over as they complete. Dropping it stops the reads still running.
pub struct ProjectReads {
    client: Arc<Client>,
    /// The project listing, in its order.
    listed: Vec<wire::Project>,
    /// Where each listed project is in `listed`, until its read starts.
    waiting: BTreeMap<String, usize>,
    /// One task per project, so that answers are decoded and assembled on every worker thread
    /// as they come in, rather than one after the other on the thread awaiting them (which
    /// would hold up the next requests).
    reads: tokio::task::JoinSet<Result<LiveProject, CloudError>>,
}

impl ProjectReads {
    /// Reads to come for the projects of `listed` (the project listing).
    pub fn new(client: &Arc<Client>, listed: Vec<wire::Project>) -> ProjectReads {
        let waiting = listed
            .iter()
            .enumerate()
            .map(|(index, project)| (project.name.clone(), index))
            .collect();
        ProjectReads {
            client: Arc::clone(client),
            listed,
            waiting,
            reads: tokio::task::JoinSet::new(),
        }
    }

    /// Starts reading project `name`'s service accounts and keys, unless it has started or the
    /// project does not exist.
    pub fn start(&mut self, name: &str) {
        let Some(index) = self.waiting.remove(name) else {
            return;
        };
        let project = self.listed[index].clone();
        let client = Arc::clone(&self.client);
        self.reads.spawn(async move {
            let (accounts, keys) = tokio::try_join!(
                client.list_service_accounts(&project.id),
                client.list_project_access_keys(&project.id)
            )?;
            Ok(assemble(project, accounts, keys))
        });
    }

    /// The listed projects not named in `declared`: `(name, nickname)`, in listing order.
    pub fn undeclared(&self, declared: &BTreeSet<String>) -> Vec<(String, String)> {
        self.listed
            .iter()
            .filter(|project| !declared.contains(&project.name))
            .map(|project| (project.name.clone(), project.nickname.clone()))
            .collect()
    }

    /// The next project read (`None` when every started read has been handed over).
    pub async fn next(&mut self) -> Option<Result<LiveProject, CloudError>> {
        let read = self.reads.join_next().await?;
        Some(read.expect("reading a project does not panic"))
    }
}

fn assemble(
    project: wire::Project,
    accounts: Vec<wire::ServiceAccount>,
    keys: Vec<wire::ListedAccessKey>,
) -> LiveProject {
    let mut by_user: BTreeMap<String, (BTreeMap<String, LiveAccessKey>, Vec<LiveAccessKey>)> =
        BTreeMap::new();
    // Newest first, so that when an interrupted replacement left two generations of one key,
    // the newer one stands for the declared key and the older one is an undeclared leftover.
    let mut keys: Vec<wire::ListedAccessKey> = keys;
    keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.name.cmp(&b.name)));
    for key in keys {
        let declared = crate::limits::declared_key_name(&key.name).to_string();
        let live_key = LiveAccessKey {
            rotation: None,
            undelivered: false,
            created_at: OffsetDateTime::parse(&key.created_at, &Rfc3339).ok(),
            status: if key.status == "expired" {
                KeyStatus::Expired
            } else {
                KeyStatus::Active
            },
            description: key.description.unwrap_or_default(),
            name: declared,
            remote_name: key.name,
            id: key.id,
        };
        let account = by_user.entry(key.user_id).or_default();
        if account.0.contains_key(&live_key.name) {
            account.1.push(live_key);
        } else {
            account.0.insert(live_key.name.clone(), live_key);
        }
    }
    let service_accounts = accounts
        .into_iter()
        .map(|account| {
            let (access_keys, deposed_keys) = by_user.remove(&account.id).unwrap_or_default();
            let status = if account.status == "inactive" {
                Status::Inactive
            } else {
                Status::Active
            };
            (
                account.name.clone(),
                LiveServiceAccount {
                    id: account.id,
                    name: account.name,
                    email: account.email,
                    status,
                    access_keys,
                    deposed_keys,
                },
            )
        })
        .collect();
    LiveProject {
        id: project.id,
        name: project.name,
        nickname: project.nickname,
        description: project.description,
        service_accounts,
    }
}
