//! One operation: turns one [`Change`] into API calls, using the IDs of objects created earlier
//! in the same apply. A new key counts as created only once its secret is delivered; if delivery
//! fails the key is deleted again, so no key is left whose secret nobody holds.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::address::Address;
use crate::cloud::{Client, CloudError};
use crate::limits::next_key_generation;
use crate::model::Status;
use crate::plan::{Action, Change, ReplaceOrder};
use crate::state::report::Done;

use super::recover;
use super::sink::{DeliveryError, SecretDocument, Sink};

/// IDs of objects created during this apply, for their children's operations.
#[derive(Debug, Default)]
pub struct CreatedIds {
    ids: Mutex<HashMap<Address, (String, String)>>,
}

impl CreatedIds {
    fn insert(&self, address: Address, id: String, email: String) {
        self.ids
            .lock()
            .expect("no panics while held")
            .insert(address, (id, email));
    }

    fn get(&self, address: &Address) -> Option<(String, String)> {
        self.ids
            .lock()
            .expect("no panics while held")
            .get(address)
            .cloned()
    }
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// The API refused or could not be reached.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// The secret could not be delivered; the new key was deleted again.
    #[error("{0}; the new key was deleted again so that no key without a delivered secret is left")]
    Delivery(DeliveryError),
    /// The secret could not be delivered and deleting the new key failed too.
    #[error(
        "{delivery}; deleting the new key {key_id} failed as well ({cleanup}): delete it by hand"
    )]
    DeliveryAndCleanup {
        /// The delivery failure.
        delivery: Box<DeliveryError>,
        /// The key left behind.
        key_id: String,
        /// Why it could not be deleted.
        cleanup: Box<CloudError>,
    },
    /// A key's create answered, but not even the new key's ID and secret could be read from
    /// the answer; `outcome` says what became of the key it created.
    #[error("{error}; {outcome}")]
    UnreadableKey {
        /// What could not be read.
        error: Box<CloudError>,
        /// The key found and deleted, or none found, or the cleanup's own failure.
        outcome: String,
    },
    /// An ID the operation needs is unknown (its parent was not created).
    #[error("{0}")]
    Missing(String),
}

/// Everything an operation needs.
pub struct Context<'a> {
    /// The IAM client.
    pub client: &'a Client,
    /// Where secrets go.
    pub sink: &'a Sink,
    /// IDs created so far.
    pub created: &'a CreatedIds,
}

fn adopted_warning(adopted: bool, note: &str) -> Vec<String> {
    if adopted {
        vec![note.to_string()]
    } else {
        Vec::new()
    }
}

fn text(attributes: &Option<crate::plan::Attributes>, name: &str) -> String {
    attributes
        .as_ref()
        .and_then(|a| a.get(name))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl Context<'_> {
    fn project_id(&self, change: &Change) -> Result<String, OperationError> {
        if let Some(id) = &change.remote.project_id {
            return Ok(id.clone());
        }
        let project = Address::project(change.address.project_name());
        self.created
            .get(&project)
            .map(|(id, _)| id)
            .ok_or_else(|| OperationError::Missing(format!("the ID of {project} is unknown")))
    }

    fn account(&self, change: &Change) -> Result<(String, String), OperationError> {
        if let (Some(id), Some(email)) = (
            &change.remote.service_account_id,
            &change.remote.service_account_email,
        ) {
            return Ok((id.clone(), email.clone()));
        }
        let account = change.address.parent().ok_or_else(|| {
            OperationError::Missing(format!("{} has no service account", change.address))
        })?;
        self.created
            .get(&account)
            .ok_or_else(|| OperationError::Missing(format!("the ID of {account} is unknown")))
    }

    fn old_key(&self, change: &Change) -> Result<(String, String), OperationError> {
        match (&change.remote.access_key_id, &change.remote.access_key_name) {
            (Some(id), Some(name)) => Ok((id.clone(), name.clone())),
            _ => Err(OperationError::Missing(format!(
                "the ID of {} is unknown",
                change.address
            ))),
        }
    }

    /// Runs one change.
    pub async fn run(&self, change: &Change) -> Result<Done, OperationError> {
        match (&change.address, change.action) {
            (Address::Project { project }, Action::Create) => {
                let (created, adopted) = recover::create_project(
                    self.client,
                    project,
                    &text(&change.after, "nickname"),
                    &text(&change.after, "description"),
                )
                .await?;
                self.created
                    .insert(change.address.clone(), created.id.clone(), String::new());
                Ok(Done {
                    created_id: Some(created.id),
                    warnings: adopted_warning(adopted, recover::ADOPTED),
                    ..Done::default()
                })
            }
            (Address::Project { .. }, Action::Update) => {
                let id = self.project_id(change)?;
                self.client
                    .update_project(
                        &id,
                        &text(&change.after, "nickname"),
                        &text(&change.after, "description"),
                    )
                    .await?;
                Ok(Done::default())
            }
            (
                Address::ServiceAccount {
                    service_account, ..
                },
                Action::Create,
            ) => {
                let project_id = self.project_id(change)?;
                let status = match text(&change.after, "status").as_str() {
                    "inactive" => Status::Inactive,
                    _ => Status::Active,
                };
                let (created, adopted) = recover::create_service_account(
                    self.client,
                    &project_id,
                    service_account,
                    status,
                )
                .await?;
                self.created.insert(
                    change.address.clone(),
                    created.id.clone(),
                    created.email.clone(),
                );
                Ok(Done {
                    created_id: Some(created.id),
                    warnings: adopted_warning(adopted, recover::ADOPTED),
                    ..Done::default()
                })
            }
            (Address::ServiceAccount { .. }, Action::Activate | Action::Deactivate) => {
                let project_id = self.project_id(change)?;
                let (user_id, _) = self.account(change)?;
                let status = if change.action == Action::Activate {
                    Status::Active
                } else {
                    Status::Inactive
                };
                self.client
                    .set_service_account_status(&project_id, &user_id, status)
                    .await?;
                Ok(Done::default())
            }
            (Address::ServiceAccount { .. }, Action::Delete) => {
                let project_id = self.project_id(change)?;
                let (user_id, _) = self.account(change)?;
                self.client
                    .delete_service_account(&project_id, &user_id)
                    .await?;
                Ok(Done {
                    deleted_id: Some(user_id),
                    ..Done::default()
                })
            }
            (Address::AccessKey { .. }, Action::Create) => {
                let Address::AccessKey { key, .. } = &change.address else {
                    unreachable!()
                };
                let (id, warnings) = self.create_key(change, key).await?;
                Ok(Done {
                    created_id: Some(id),
                    warnings,
                    ..Done::default()
                })
            }
            (Address::AccessKey { .. }, Action::Delete) => {
                let (key_id, _) = self.old_key(change)?;
                let warnings = self.delete_key(change, &key_id).await?;
                Ok(Done {
                    deleted_id: Some(key_id),
                    warnings,
                    ..Done::default()
                })
            }
            (Address::AccessKey { key, .. }, Action::Replace(order)) => {
                let (old_id, old_name) = self.old_key(change)?;
                let (new_id, warnings) = match order {
                    ReplaceOrder::CreateBeforeDestroy => {
                        let created = self
                            .create_key(change, &next_key_generation(&old_name))
                            .await?;
                        self.client
                            .delete_access_key(&self.account(change)?.0, &old_id)
                            .await?;
                        created
                    }
                    ReplaceOrder::DestroyBeforeCreate => {
                        self.client
                            .delete_access_key(&self.account(change)?.0, &old_id)
                            .await?;
                        self.create_key(change, key).await?
                    }
                };
                Ok(Done {
                    created_id: Some(new_id),
                    deleted_id: Some(old_id),
                    warnings,
                })
            }
            (address, action) => Err(OperationError::Missing(format!(
                "kcform cannot {} {address}",
                action.name()
            ))),
        }
    }

    /// Creates a key under `remote_name`, delivers its secret, and deletes it again if the
    /// delivery fails. Returns the key's ID and what the report should note.
    async fn create_key(
        &self,
        change: &Change,
        remote_name: &str,
    ) -> Result<(String, Vec<String>), OperationError> {
        let Address::AccessKey {
            project,
            service_account,
            key,
        } = &change.address
        else {
            return Err(OperationError::Missing(format!(
                "{} is not a key",
                change.address
            )));
        };
        let (user_id, email) = self.account(change)?;
        let (created, recreated) = recover::create_access_key(
            self.client,
            &user_id,
            remote_name,
            &text(&change.after, "description"),
        )
        .await?;
        let document = SecretDocument {
            project: project.clone(),
            service_account: service_account.clone(),
            key: key.clone(),
            access_key_id: created.key.id.clone(),
            secret_access_key: created.secret,
            service_account_id: email,
            created_at: created_at_or_now(&created.key.created_at),
        };
        if let Err(delivery) = self.sink.deliver(&document).await {
            return Err(
                match self
                    .client
                    .delete_access_key(&user_id, &created.key.id)
                    .await
                {
                    Ok(()) => OperationError::Delivery(delivery),
                    Err(cleanup) => OperationError::DeliveryAndCleanup {
                        delivery: Box::new(delivery),
                        key_id: created.key.id,
                        cleanup: Box::new(cleanup),
                    },
                },
            );
        }
        let mut warnings = adopted_warning(recreated, recover::KEY_RECREATED);
        if let Some(problem) = &created.unread {
            warnings.push(format!(
                "the answer to the key's create could not be read in full ({problem}); the new \
                 key's ID and secret were taken from it and the secret delivered"
            ));
        }
        Ok((created.key.id, warnings))
    }

    /// Deletes a key and then its secret file; a file that cannot be removed is a warning,
    /// since the key is gone either way.
    async fn delete_key(
        &self,
        change: &Change,
        key_id: &str,
    ) -> Result<Vec<String>, OperationError> {
        let (user_id, _) = self.account(change)?;
        self.client.delete_access_key(&user_id, key_id).await?;
        let mut warnings = Vec::new();
        if let Address::AccessKey {
            project,
            service_account,
            key,
        } = &change.address
            && let Err(error) = self.sink.remove(project, service_account, key, key_id)
        {
            warnings.push(error.to_string());
        }
        Ok(warnings)
    }
}

/// The key's creation time as the API gave it, or kcform's clock when it gave none (a plain
/// Keystone's application credentials carry no `created_at`): the secret file always says
/// when its key was made.
fn created_at_or_now(from_api: &str) -> String {
    if !from_api.is_empty() {
        return from_api.to_string();
    }
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
