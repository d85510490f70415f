//! One typed method per IAM API call (projects, service accounts, access keys), on top of the
//! client's token, retry and paging machinery in `mod.rs`.

use reqwest::Method;

use crate::model::Status;
use crate::secret::Secret;
use crate::wire;

use super::answers::serde_problem;
use super::{Client, CloudError, CreatedKey, Paging, project_page, routes};

impl Client {
    /// Every project the credential may view.
    pub async fn list_projects(&self) -> Result<Vec<wire::Project>, CloudError> {
        self.list_all(&routes::projects(), &[], project_page).await
    }

    /// A project's service accounts (never its service agents).
    pub async fn list_service_accounts(
        &self,
        project_id: &str,
    ) -> Result<Vec<wire::ServiceAccount>, CloudError> {
        self.list_all(
            &routes::service_accounts(project_id),
            &[],
            |page: wire::ServiceAccountList| {
                (page.service_accounts, Paging::Offsets(page.pagination))
            },
        )
        .await
    }

    /// Looks a service account up by name (used after a lost create answer).
    pub async fn find_service_account(
        &self,
        project_id: &str,
        name: &str,
    ) -> Result<Option<wire::ServiceAccount>, CloudError> {
        let found = self
            .list_all(
                &routes::service_accounts(project_id),
                &[("name", name.to_string())],
                |page: wire::ServiceAccountList| {
                    (page.service_accounts, Paging::Offsets(page.pagination))
                },
            )
            .await?;
        Ok(found.into_iter().find(|account| account.name == name))
    }

    /// Looks a project up by name (used after a lost create answer).
    pub async fn find_project(&self, name: &str) -> Result<Option<wire::Project>, CloudError> {
        let found = self
            .list_all(
                &routes::projects(),
                &[("name", name.to_string())],
                project_page,
            )
            .await?;
        Ok(found.into_iter().find(|project| project.name == name))
    }

    /// Looks a service account's access key up by its remote name (used after a lost create
    /// answer). The answer never holds a secret.
    pub async fn find_access_key(
        &self,
        user_id: &str,
        name: &str,
    ) -> Result<Option<wire::ApplicationCredential>, CloudError> {
        let page: wire::ApplicationCredentialList = self
            .call::<(), _>(
                Method::GET,
                &routes::access_keys(user_id),
                &[("name", name.to_string())],
                None,
            )
            .await?;
        Ok(page
            .application_credentials
            .into_iter()
            .find(|key| key.name == name))
    }

    /// Every access key of a project's service accounts, in one paged listing.
    pub async fn list_project_access_keys(
        &self,
        project_id: &str,
    ) -> Result<Vec<wire::ListedAccessKey>, CloudError> {
        self.list_all(
            &routes::project_access_keys(project_id),
            &[],
            |page: wire::ListedAccessKeyPage| {
                let total = page.application_credentials.len();
                let pagination = page.pagination.unwrap_or(wire::Pagination {
                    total,
                    offset: 0,
                    limit: total,
                });
                (page.application_credentials, Paging::Offsets(pagination))
            },
        )
        .await
    }

    /// Creates a project.
    pub async fn create_project(
        &self,
        name: &str,
        nickname: &str,
        description: &str,
    ) -> Result<wire::Project, CloudError> {
        let body = wire::CreateProjectBody {
            project: wire::CreateProject {
                name: name.to_string(),
                nickname: nickname.to_string(),
                description: description.to_string(),
            },
        };
        let answer: wire::ProjectBody = self
            .call(Method::POST, &routes::projects(), &[], Some(&body))
            .await?;
        Ok(answer.project)
    }

    /// Changes a project's nickname and description.
    pub async fn update_project(
        &self,
        project_id: &str,
        nickname: &str,
        description: &str,
    ) -> Result<wire::Project, CloudError> {
        let body = wire::UpdateProjectBody {
            project: wire::UpdateProject {
                name: None,
                nickname: Some(nickname.to_string()),
                description: Some(description.to_string()),
            },
        };
        let answer: wire::ProjectBody = self
            .call(
                Method::PATCH,
                &routes::project(project_id),
                &[],
                Some(&body),
            )
            .await?;
        Ok(answer.project)
    }

    /// Creates a service account.
    pub async fn create_service_account(
        &self,
        project_id: &str,
        name: &str,
        status: Status,
    ) -> Result<wire::ServiceAccount, CloudError> {
        let body = wire::CreateServiceAccountBody {
            service_account: wire::CreateServiceAccount {
                name: name.to_string(),
                status: Some(status.as_str().to_string()),
            },
        };
        let answer: wire::ServiceAccountBody = self
            .call(
                Method::POST,
                &routes::service_accounts(project_id),
                &[],
                Some(&body),
            )
            .await?;
        Ok(answer.service_account)
    }

    /// Sets a service account's status.
    pub async fn set_service_account_status(
        &self,
        project_id: &str,
        user_id: &str,
        status: Status,
    ) -> Result<wire::ServiceAccount, CloudError> {
        let body = wire::UpdateServiceAccountBody {
            service_account: wire::UpdateServiceAccount {
                name: None,
                status: Some(status.as_str().to_string()),
            },
        };
        let answer: wire::ServiceAccountBody = self
            .call(
                Method::PATCH,
                &routes::service_account(project_id, user_id),
                &[],
                Some(&body),
            )
            .await?;
        Ok(answer.service_account)
    }

    /// Deletes a service account (its keys and tokens go with it).
    pub async fn delete_service_account(
        &self,
        project_id: &str,
        user_id: &str,
    ) -> Result<(), CloudError> {
        self.delete(&routes::service_account(project_id, user_id))
            .await
    }

    /// Creates an access key and returns its secret, which is never shown again.
    pub async fn create_access_key(
        &self,
        user_id: &str,
        name: &str,
        description: &str,
    ) -> Result<CreatedKey, CloudError> {
        let body = wire::CreateApplicationCredentialBody {
            application_credential: wire::CreateApplicationCredential {
                name: name.to_string(),
                description: (!description.is_empty()).then(|| description.to_string()),
                ..Default::default()
            },
        };
        let path = routes::access_keys(user_id);
        let (_, bytes) = self.send(Method::POST, &path, &[], Some(&body)).await?;
        let protocol = |detail: String| CloudError::Protocol {
            method: "POST".into(),
            path: path.clone(),
            detail,
        };
        let error = match serde_json::from_slice::<wire::ApplicationCredentialBody>(&bytes) {
            Ok(mut answer) => {
                let secret = answer.application_credential.secret.take().ok_or_else(|| {
                    protocol("the created access key came without its secret".into())
                })?;
                return Ok(CreatedKey {
                    key: answer.application_credential,
                    secret: Secret::new(secret),
                    unread: None,
                });
            }
            Err(error) => serde_problem(&error),
        };
        // The key exists now, and its secret is only in this answer: whatever else is wrong
        // with it, the ID and the secret are taken from it if they are there at all.
        let loose: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        let created = loose.as_ref().and_then(|v| v.get("application_credential"));
        let text = |field: &str| {
            created
                .and_then(|c| c.get(field))
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        match (text("id"), text("secret")) {
            (Some(id), Some(secret)) => Ok(CreatedKey {
                key: wire::ApplicationCredential {
                    id,
                    name: name.to_string(),
                    description: (!description.is_empty()).then(|| description.to_string()),
                    user_id: user_id.to_string(),
                    project_id: None,
                    roles: Vec::new(),
                    expires_at: None,
                    unrestricted: false,
                    access_rules: Vec::new(),
                    links: serde_json::Value::Null,
                    status: "active".to_string(),
                    created_at: text("created_at").unwrap_or_default(),
                    secret: None,
                },
                secret: Secret::new(secret),
                unread: Some(error),
            }),
            _ => Err(protocol(format!(
                "cannot read the answer to the create, not even the new key's ID and secret: \
                 {error}"
            ))),
        }
    }

    /// Deletes an access key (tokens issued with it expire).
    pub async fn delete_access_key(&self, user_id: &str, key_id: &str) -> Result<(), CloudError> {
        self.delete(&routes::access_key(user_id, key_id)).await
    }
}
