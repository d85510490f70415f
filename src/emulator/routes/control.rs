//! `/_emulator/…` control routes (no Keystone token; open on loopback, behind the control token
//! of `control_token` when one is set): health, creating users with roles, enabling a service
//! in a project, which creates its agent, and registering or removing the organization's
//! payment method.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::agent_view;
use crate::emulator::db::{Agent, OrgRole, Organization, ProjectRole, User, UserKind};
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::extract::{ApiJson, ApiPath};
use crate::emulator::state::{self, EmulatorState};
use crate::limits::check_length;
use crate::wire::ServiceAgentBody;
use crate::wire::{AccessKeyCredential, EmulatorUser, EmulatorUserRequest};

/// Longest user name `POST /_emulator/users` accepts (an emulator-only rule: KakaoCloud users
/// are created in its console).
const USER_NAME_MAX: usize = 64;
/// Longest service name (a DNS label, since it forms the agent's e-mail domain).
const SERVICE_NAME_MAX: usize = 63;
/// Name of the key `POST /_emulator/users` issues.
const USER_KEY_NAME: &str = "default";

/// `GET /_emulator/health`.
pub async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `POST /_emulator/users`: a person with roles and one access key.
pub async fn create_user(
    State(state): State<EmulatorState>,
    ApiJson(req): ApiJson<EmulatorUserRequest>,
) -> ApiResult<(StatusCode, Json<EmulatorUser>)> {
    check_length("user name", &req.name, 1, USER_NAME_MAX).map_err(ApiError::bad_request)?;
    let org_role = req
        .org_role
        .as_deref()
        .map(|r| {
            OrgRole::parse(r).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "org_role must be `org-admin` or `org-reader`, got `{r}`"
                ))
            })
        })
        .transpose()?;
    let mut project_roles = BTreeMap::new();
    for (project, role) in &req.project_roles {
        let role = ProjectRole::parse(role).ok_or_else(|| {
            ApiError::bad_request(format!(
                "the role for project `{project}` must be `project-admin`, `project-member` or \
                 `project-reader`, got `{role}`"
            ))
        })?;
        project_roles.insert(project.clone(), role);
    }
    let answer = state.write(|db| {
        for project in project_roles.keys() {
            if db.project_named(project)?.is_none() {
                return Err(ApiError::bad_request(format!(
                    "there is no project named `{project}`"
                )));
            }
        }
        let taken = db.person_named(&req.name)?.is_some();
        if taken {
            return Err(ApiError::conflict(format!(
                "a user named `{}` already exists",
                req.name
            )));
        }
        let user = User {
            id: state::new_id(),
            name: req.name.clone(),
            created_at: state::now_rfc3339(),
            kind: UserKind::Person {
                org_role,
                project_roles: project_roles.clone(),
            },
        };
        let (key, secret) = state::new_key(&user.id, USER_KEY_NAME, None, None);
        let answer = EmulatorUser {
            user_id: user.id.clone(),
            access_key: AccessKeyCredential {
                id: key.id.clone(),
                secret,
            },
        };
        db.insert_user(&user)?;
        db.insert_key(&key)?;
        Ok(answer)
    })?;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `POST /_emulator/projects/{name}/services/{service}`: 201 with the new agent, or 200 with
/// the existing one when the service is already enabled.
pub async fn enable_service(
    State(state): State<EmulatorState>,
    ApiPath((name, service)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<ServiceAgentBody>)> {
    check_service_name(&service)?;
    let (created, agent) = state.write(|db| {
        let project = db
            .project_named(&name)?
            .ok_or_else(|| ApiError::not_found(format!("there is no project named `{name}`")))?;
        let project_id = project.id;
        if let Some(existing) = db.agent_for(&project_id, &service)? {
            return Ok((false, existing));
        }
        let agent = Agent {
            id: state::new_id(),
            service: service.clone(),
            project_id,
            created_at: state::now_rfc3339(),
        };
        db.insert_agent(&agent)?;
        Ok((true, agent))
    })?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(ServiceAgentBody {
            service_agent: agent_view(agent),
        }),
    ))
}

fn check_service_name(service: &str) -> ApiResult<()> {
    let valid = !service.is_empty()
        && service.len() <= SERVICE_NAME_MAX
        && service.starts_with(|c: char| c.is_ascii_lowercase())
        && !service.ends_with('-')
        && service
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "service name `{service}` is invalid: use 1 to {SERVICE_NAME_MAX} characters \
             `a-z 0-9 -`, starting with a letter and not ending with `-`"
        )))
    }
}

/// `POST /_emulator/organization` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationRequest {
    /// Whether a payment method is registered.
    pub payment_method: bool,
}

/// `{"organization": …}` answer of the organization routes.
#[derive(Debug, Serialize)]
pub struct OrganizationBody {
    /// The organization.
    pub organization: OrganizationView,
}

/// The organization as the control routes show it.
#[derive(Debug, Serialize)]
pub struct OrganizationView {
    /// 32-hex ID (the Keystone domain ID in tokens).
    pub id: String,
    /// Name.
    pub name: String,
    /// Whether a payment method is registered (needed to create projects).
    pub payment_method: bool,
}

fn organization_body(org: Organization) -> Json<OrganizationBody> {
    Json(OrganizationBody {
        organization: OrganizationView {
            id: org.id,
            name: org.name,
            payment_method: org.payment_method,
        },
    })
}

/// `GET /_emulator/organization`.
pub async fn organization(State(state): State<EmulatorState>) -> ApiResult<Json<OrganizationBody>> {
    Ok(organization_body(state.read(|db| db.organization())?))
}

/// `POST /_emulator/organization`: registers (`true`) or removes (`false`) the payment method,
/// so tests can exercise the rule that projects need one. Persisted like any other change.
pub async fn update_organization(
    State(state): State<EmulatorState>,
    ApiJson(req): ApiJson<OrganizationRequest>,
) -> ApiResult<Json<OrganizationBody>> {
    state.write(|db| {
        db.set_payment_method(req.payment_method)?;
        Ok(organization_body(db.organization()?))
    })
}
