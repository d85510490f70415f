//! Service-account routes (list, create within the per-project limit, get, status change that
//! expires keys, delete that removes keys) and the read-only service-agent routes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::{agent_view, authorized_project, find_service_account, service_account_view};
use crate::emulator::auth::{Caller, Permission};
use crate::emulator::db::{AccountStatus, User, UserKind};
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::extract::{ApiJson, ApiPath, ListQuery, page};
use crate::emulator::state::{self, EmulatorState};
use crate::limits::{MAX_SERVICE_ACCOUNTS_PER_PROJECT, NameKind, check_name};
use crate::wire::{
    CreateServiceAccountBody, ServiceAccountBody, ServiceAccountList, ServiceAgentBody,
    ServiceAgentList, UpdateServiceAccountBody,
};

/// `GET …/projects/{project_id}/service_accounts`, ordered by name, paged by the index.
pub async fn list(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiPath(project_id): ApiPath<String>,
    query: ListQuery,
) -> ApiResult<Json<ServiceAccountList>> {
    let (users, total) = state.read(|db| {
        authorized_project(db, &caller, &project_id, Permission::ViewIam, |name| {
            format!("view the service accounts of project `{name}`")
        })?;
        Ok::<_, ApiError>(db.accounts(
            &project_id,
            query.name.as_deref(),
            query.offset,
            query.limit,
        )?)
    })?;
    Ok(Json(ServiceAccountList {
        service_accounts: users.into_iter().filter_map(service_account_view).collect(),
        pagination: query.pagination(total),
    }))
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
    let view = state.write(|db| {
        let project =
            authorized_project(db, &caller, &project_id, Permission::ManageIam, |name| {
                format!("create service accounts in project `{name}`")
            })?;
        check_name(NameKind::ServiceAccount, &req.name).map_err(ApiError::bad_request)?;
        let status = match req.status.as_deref() {
            None => AccountStatus::Active,
            Some(s) => parse_status(s)?,
        };
        if db.account_named(&project_id, &req.name)?.is_some() {
            return Err(ApiError::conflict(format!(
                "a service account named `{}` already exists in project `{}`",
                req.name, project.name
            )));
        }
        let in_project = db.account_count(&project_id)?;
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
        db.insert_user(&user)?;
        service_account_view(user)
            .ok_or_else(|| ApiError::internal("new service account has no view"))
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
    state.read(|db| {
        authorized_project(db, &caller, &project_id, Permission::ViewIam, |name| {
            format!("view the service accounts of project `{name}`")
        })?;
        let user = find_service_account(db, &project_id, &user_id)?;
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
    let view = state.write(|db| {
        authorized_project(db, &caller, &project_id, Permission::ManageIam, |name| {
            format!("change service accounts of project `{name}`")
        })?;
        let current = find_service_account(db, &project_id, &user_id)?;
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
            db.set_account_status(&user_id, new)?;
        }
        if new_status == Some(AccountStatus::Inactive) {
            db.expire_keys_of(&user_id)?;
        }
        let user = db
            .user(&user_id)?
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
    state.write(|db| {
        authorized_project(db, &caller, &project_id, Permission::ManageIam, |name| {
            format!("delete service accounts of project `{name}`")
        })?;
        find_service_account(db, &project_id, &user_id)?;
        db.delete_user(&user_id)?;
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
    let agents = state.read(|db| {
        authorized_project(db, &caller, &project_id, Permission::ViewIam, |name| {
            format!("view the service agents of project `{name}`")
        })?;
        Ok::<_, ApiError>(db.agents_of(&project_id)?)
    })?;
    let matching = agents
        .into_iter()
        .filter(|a| query.matches(&a.service))
        .map(agent_view);
    let (service_agents, pagination) = page(matching, &query);
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
    state.read(|db| {
        authorized_project(db, &caller, &project_id, Permission::ViewIam, |name| {
            format!("view the service agents of project `{name}`")
        })?;
        db.agent(&agent_id)?
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
