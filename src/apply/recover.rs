//! Creates that survive a lost answer. The client never repeats a POST blindly (see
//! `cloud::retry`); when a create fails without a clear answer (no answer, 500, 502, 504),
//! the object is looked up by name first: a project or service account that exists was
//! created by the lost call and is adopted; an access key that exists is deleted, because its
//! secret was only in the lost answer, and the key is created again.
//!
//! A create answered `201` whose answer cannot be read is no better than a lost one: the client
//! takes a key's ID and secret from whatever it can read (`Client::create_access_key`); when
//! not even those are there, the key it created is found by name and deleted, and the
//! operation fails saying so.

use super::operation::OperationError;
use crate::cloud::{Client, CloudError, CreatedKey};
use crate::model::Status;
use crate::wire;

/// Create calls per object before giving up on a cloud that keeps losing answers.
const CREATE_ATTEMPTS: u32 = 3;

/// What a recovered create adds to the report.
pub(super) const ADOPTED: &str =
    "the answer to the create was lost; the object was found by name and adopted";
/// Same, for a key.
pub(super) const KEY_RECREATED: &str = "the answer to the key's create was lost with its secret; that key was deleted and a new one created";

/// Runs `create` until it answers; after an ambiguous failure, `find` decides whether the
/// lost call took effect (`Some`: done) or not (`None`: create again). Returns the object and
/// whether it was recovered by `find`.
async fn create_or_find<T, C, CF, F, FF>(
    mut create: C,
    mut find: F,
) -> Result<(T, bool), CloudError>
where
    C: FnMut() -> CF,
    CF: Future<Output = Result<T, CloudError>>,
    F: FnMut() -> FF,
    FF: Future<Output = Result<Option<T>, CloudError>>,
{
    let mut lost = false;
    for attempt in 1..=CREATE_ATTEMPTS {
        match create().await {
            Ok(created) => return Ok((created, false)),
            // A 409 after a lost answer is the lost call's object, seen late.
            Err(error) if error.is_ambiguous() || (lost && error.status() == Some(409)) => {
                lost = true;
                if let Some(found) = find().await? {
                    return Ok((found, true));
                }
                if attempt == CREATE_ATTEMPTS {
                    return Err(error);
                }
            }
            Err(error) => return Err(error),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// Creates a project, adopting it if the answer was lost.
pub(super) async fn create_project(
    client: &Client,
    name: &str,
    nickname: &str,
    description: &str,
) -> Result<(wire::Project, bool), CloudError> {
    create_or_find(
        || client.create_project(name, nickname, description),
        || client.find_project(name),
    )
    .await
}

/// Creates a service account, adopting it if the answer was lost.
pub(super) async fn create_service_account(
    client: &Client,
    project_id: &str,
    name: &str,
    status: Status,
) -> Result<(wire::ServiceAccount, bool), CloudError> {
    create_or_find(
        || client.create_service_account(project_id, name, status),
        || client.find_service_account(project_id, name),
    )
    .await
}

/// Creates an access key. If an answer is lost, the key it created (if any) is deleted and the
/// key is created again, so the key returned always comes with its secret. If an answer came
/// but not even the key's ID and secret could be read from it, the key it created is deleted
/// and the create fails.
pub(super) async fn create_access_key(
    client: &Client,
    user_id: &str,
    name: &str,
    description: &str,
) -> Result<(CreatedKey, bool), OperationError> {
    let mut recreated = false;
    for attempt in 1..=CREATE_ATTEMPTS {
        match client.create_access_key(user_id, name, description).await {
            Ok(created) => return Ok((created, recreated)),
            Err(error @ CloudError::Protocol { .. }) => {
                let outcome = match delete_unreadable(client, user_id, name).await {
                    Ok(true) => "the key it created was found by name and deleted, so that no \
                                 key whose secret nobody holds is left; the next apply creates \
                                 it again"
                        .to_string(),
                    Ok(false) => "no key of that name exists, so none was left behind".to_string(),
                    Err(cleanup) => format!(
                        "finding and deleting the key it created failed as well ({cleanup}): \
                         delete the service account's key `{name}` by hand"
                    ),
                };
                return Err(OperationError::UnreadableKey {
                    error: Box::new(error),
                    outcome,
                });
            }
            Err(error) if error.is_ambiguous() || (recreated && error.status() == Some(409)) => {
                recreated = true;
                if let Some(orphan) = client.find_access_key(user_id, name).await? {
                    client.delete_access_key(user_id, &orphan.id).await?;
                }
                if attempt == CREATE_ATTEMPTS {
                    return Err(error.into());
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// Deletes the key named `name` that a create whose answer could not be read made; whether
/// there was one.
async fn delete_unreadable(client: &Client, user_id: &str, name: &str) -> Result<bool, CloudError> {
    match client.find_access_key(user_id, name).await? {
        Some(orphan) => {
            client.delete_access_key(user_id, &orphan.id).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}
