//! Service-account routes (list, create within the per-project limit, get, status change that
//! expires keys, delete that removes keys) and the read-only service-agent routes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::views::{self, JsonBody};
use super::{agent_view, authorized_project, find_service_account, service_account_view};
use crate::emulator::auth::{Caller, Permission};
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::extract::{ApiJson, ApiPath, ListQuery, page};
use crate::emulator::state::{self, EmulatorState};
use crate::emulator::store::{AccountStatus, KeyStatus, User, UserKind};
use crate::limits::{MAX_SERVICE_ACCOUNTS_PER_PROJECT, NameKind, check_name};
use crate::wire::{
    CreateServiceAccountBody, ServiceAccountBody, ServiceAgent, ServiceAgentBody, ServiceAgentList,
    UpdateServiceAccountBody,
};

/// `GET …/projects/{project_id}/service_accounts`, ordered by name.
pub async fn list(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiPath(project_id): ApiPath<String>,
    query: ListQuery,
) -> ApiResult<JsonBody> {
    state.read(|data| {
        authorized_project(data, &caller, &project_id, Permission::ViewIam, |name| {
            format!("view the service accounts of project `{name}`")
        })?;
        views::service_accounts(data, &project_id, &query)
    })
}

/// `POST …/projects/{project_id}/service_accounts`.
pub async fn create(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiPath(project_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateServiceAccountBody>,
) -> ApiResult<(StatusCode, Json<ServiceAccountBody>)> {
    caller.forbid_service_account_token("create service accounts")?;
    let req = body.service_account;
    let view = state.write(|data| {
        let project =
            authorized_project(data, &caller, &project_id, Permission::ManageIam, |name| {
                format!("create service accounts in project `{name}`")
            })?;
        check_name(NameKind::ServiceAccount, &req.name).map_err(ApiError::bad_request)?;
        let status = match req.status.as_deref() {
            None => AccountStatus::Active,
            Some(s) => parse_status(s)?,
        };
        if data.users.named(&project_id, &req.name).next().is_some() {
            return Err(ApiError::conflict(format!(
                "a service account named `{}` already exists in project `{}`",
                req.name, project.name
            )));
        }
        let in_project = data.users.group_len(&project_id);
        if in_project >= MAX_SERVICE_ACCOUNTS_PER_PROJECT {
            return Err(ApiError::bad_request(format!(
                "project `{}` already has {} service accounts, the maximum \
                 (inactive ones count too); delete one before creating another",
                project.name, in_project
            )));
        }
        let user = User {
            id: state::new_id(),
            name: req.name.clone(),
            created_at: state::now_rfc3339(),
            kind: UserKind::ServiceAccount {
                project_id: project_id.clone(),
                status,
            },
        };
        let view = service_account_view(&user);
        data.users.insert(user.id.clone(), user);
        view.ok_or_else(|| ApiError::internal("new service account has no view"))
    })?;
    Ok((
        StatusCode::CREATED,
        Json(ServiceAccountBody {
            service_account: view,
        }),
    ))
}

/// `GET …/projects/{project_id}/service_accounts/{user_id}`.
pub async fn get(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiPath((project_id, user_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ServiceAccountBody>> {
    state.read(|data| {
        authorized_project(data, &caller, &project_id, Permission::ViewIam, |name| {
            format!("view the service accounts of project `{name}`")
        })?;
        let user = find_service_account(data, &project_id, &user_id)?;
        let view = service_account_view(user)
            .ok_or_else(|| state::missing("service account", &user_id))?;
        Ok(Json(ServiceAccountBody {
            service_account: view,
        }))
    })
}

/// `PATCH …/service_accounts/{user_id}`: status only. Deactivating expires every key at once
/// (their tokens stop working because token checks look at key status); reactivating does
/// not revive them.
pub async fn update(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiPath((project_id, user_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<UpdateServiceAccountBody>,
) -> ApiResult<Json<ServiceAccountBody>> {
    let req = body.service_account;
    let view = state.write(|data| {
        authorized_project(data, &caller, &project_id, Permission::ManageIam, |name| {
            format!("change service accounts of project `{name}`")
        })?;
        let current = find_service_account(data, &project_id, &user_id)?;
        if let Some(name) = &req.name {
            return Err(ApiError::bad_request(format!(
                "service account names cannot be changed (account `{}`, requested `{name}`); \
                 send only `status`",
                current.name
            )));
        }
        let new_status = req.status.as_deref().map(parse_status).transpose()?;
        if let Some(new) = new_status
            && matches!(&current.kind, UserKind::ServiceAccount { status, .. } if *status != new)
        {
            data.users.update(&user_id, |user| {
                if let UserKind::ServiceAccount { status, .. } = &mut user.kind {
                    *status = new;
                }
            });
        }
        if new_status == Some(AccountStatus::Inactive) {
            let active: Vec<String> = data
                .keys
                .in_group(&user_id)
                .filter(|k| k.status != KeyStatus::Expired)
                .map(|k| k.id.clone())
                .collect();
            for id in active {
                data.keys.update(&id, |key| key.status = KeyStatus::Expired);
            }
        }
        let user = data
            .users
            .get(&user_id)
            .ok_or_else(|| state::missing("service account", &user_id))?;
        service_account_view(user).ok_or_else(|| state::missing("service account", &user_id))
    })?;
    Ok(Json(ServiceAccountBody {
        service_account: view,
    }))
}

/// `DELETE …/service_accounts/{user_id}`: removes the account and its keys (and so revokes
/// their tokens).
pub async fn delete(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiPath((project_id, user_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.forbid_service_account_token("delete service accounts")?;
    state.write(|data| {
        authorized_project(data, &caller, &project_id, Permission::ManageIam, |name| {
            format!("delete service accounts of project `{name}`")
        })?;
        find_service_account(data, &project_id, &user_id)?;
        data.users.remove(&user_id);
        let keys: Vec<String> = data.keys.group(&user_id).map(str::to_string).collect();
        for id in keys {
            data.keys.remove(&id);
        }
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT)
}

fn parse_status(s: &str) -> ApiResult<AccountStatus> {
    AccountStatus::parse(s).ok_or_else(|| {
        ApiError::bad_request(format!(
            "service account status must be `active` or `inactive`, got `{s}`"
        ))
    })
}

/// `GET …/projects/{project_id}/service_agents`, ordered by service.
pub async fn list_agents(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiPath(project_id): ApiPath<String>,
    query: ListQuery,
) -> ApiResult<Json<ServiceAgentList>> {
    let agents: Vec<ServiceAgent> = state.read(|data| {
        authorized_project(data, &caller, &project_id, Permission::ViewIam, |name| {
            format!("view the service agents of project `{name}`")
        })?;
        Ok::<_, ApiError>(
            data.agents
                .in_group(&project_id)
                .filter(|a| query.matches(&a.service))
                .map(agent_view)
                .collect(),
        )
    })?;
    let (service_agents, pagination) = page(agents, &query);
    Ok(Json(ServiceAgentList {
        service_agents,
        pagination,
    }))
}

/// `GET …/projects/{project_id}/service_agents/{agent_id}`.
pub async fn get_agent(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiPath((project_id, agent_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ServiceAgentBody>> {
    state.read(|data| {
        authorized_project(data, &caller, &project_id, Permission::ViewIam, |name| {
            format!("view the service agents of project `{name}`")
        })?;
        data.agents
            .get(&agent_id)
            .filter(|a| a.project_id == project_id)
            .map(|a| {
                Json(ServiceAgentBody {
                    service_agent: agent_view(a),
                })
            })
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "service agent `{agent_id}` does not exist in project `{project_id}`"
                ))
            })
    })
}

/// Any change to a service agent: 403, they belong to KakaoCloud.
pub async fn agents_read_only(_caller: Caller) -> ApiError {
    ApiError::forbidden(
        "service agents are created and managed by KakaoCloud and are read-only; \
         they cannot be created, changed or deleted: no role holds the \
         `service-agent:manage` permission",
    )
}
