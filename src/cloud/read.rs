//! Reading the live state of the declared projects with list calls only: one paged project
//! listing, then per declared project one paged service-account listing and one paged
//! project-wide key listing, all concurrently.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::live::{KeyStatus, Live, LiveAccessKey, LiveProject, LiveServiceAccount};
use crate::model::Status;
use crate::wire;

use super::{Client, CloudError};

/// Reads the live objects of every project named in `declared`. `keepers` maps an access-key
/// ID to the `rotation` value it was created with, as recorded by earlier applies.
pub async fn read_live(
    client: &Client,
    declared: &BTreeSet<String>,
    keepers: &BTreeMap<String, String>,
) -> Result<Live, CloudError> {
    let projects = client.list_projects().await?;
    let mut live = Live::default();
    let mut wanted = Vec::new();
    for project in projects {
        if declared.contains(&project.name) {
            wanted.push(project);
        } else {
            live.undeclared_projects
                .push((project.name, project.nickname));
        }
    }
    let reads = wanted.into_iter().map(|project| async move {
        let (accounts, keys) = tokio::try_join!(
            client.list_service_accounts(&project.id),
            client.list_project_access_keys(&project.id)
        )?;
        Ok::<_, CloudError>(assemble(project, accounts, keys, keepers))
    });
    for project in futures_util::future::try_join_all(reads).await? {
        live.projects.insert(project.name.clone(), project);
    }
    Ok(live)
}

fn assemble(
    project: wire::Project,
    accounts: Vec<wire::ServiceAccount>,
    keys: Vec<wire::ApplicationCredential>,
    keepers: &BTreeMap<String, String>,
) -> LiveProject {
    let mut by_user: BTreeMap<String, (BTreeMap<String, LiveAccessKey>, Vec<LiveAccessKey>)> =
        BTreeMap::new();
    // Newest first, so that when an interrupted replacement left two generations of one key,
    // the newer one stands for the declared key and the older one is an undeclared leftover.
    let mut keys: Vec<wire::ApplicationCredential> = keys;
    keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.name.cmp(&b.name)));
    for key in keys {
        let declared = crate::limits::declared_key_name(&key.name).to_string();
        let live_key = LiveAccessKey {
            rotation: keepers.get(&key.id).cloned(),
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
