//! Project routes: list, create (Org Admin with a payment method), get, update of nickname and
//! description (names are immutable), and the delete route that always answers 405 because
//! projects are deleted only through the Help Desk.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::{authorized_project, find_project, project_view};
use crate::emulator::auth::{Caller, Permission};
use crate::emulator::db::Project;
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::extract::{ApiJson, ApiPath, ListQuery, page};
use crate::emulator::state::{self, EmulatorState};
use crate::limits::{
    NameKind, PROJECT_DESCRIPTION_MAX, PROJECT_NICKNAME_MAX, check_length, check_name,
};
use crate::wire::{CreateProjectBody, ProjectBody, ProjectList, UpdateProjectBody};

/// `GET /identity/v3/projects`: the projects the caller may view, by name, paged.
pub async fn list(
    State(state): State<EmulatorState>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<ProjectList>> {
    let projects = state.read(|db| db.projects())?;
    let visible = projects
        .into_iter()
        .filter(|p| caller.has(Permission::ViewProject, Some(p)) && query.matches(&p.name));
    let (projects, pagination) = page(visible, &query);
    Ok(Json(ProjectList {
        projects: projects.into_iter().map(project_view).collect(),
        pagination,
    }))
}

/// `POST /identity/v3/projects`.
pub async fn create(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateProjectBody>,
) -> ApiResult<(StatusCode, Json<ProjectBody>)> {
    caller.require(Permission::ManageProjects, None, "create projects")?;
    let req = body.project;
    let project = state.write(|db| {
        if !db.organization()?.payment_method {
            return Err(ApiError::forbidden(
                "the organization has no payment method registered; \
                 register one before creating projects",
            ));
        }
        check_name(NameKind::Project, &req.name).map_err(ApiError::bad_request)?;
        check_nickname(&req.nickname)?;
        check_description(&req.description)?;
        if db.project_named(&req.name)?.is_some() {
            return Err(ApiError::conflict(format!(
                "a project named `{}` already exists",
                req.name
            )));
        }
        let project = Project {
            id: state::new_id(),
            name: req.name.clone(),
            nickname: req.nickname.clone(),
            description: req.description.clone(),
            created_at: state::now_rfc3339(),
        };
        db.insert_project(&project)?;
        Ok(project)
    })?;
    Ok((
        StatusCode::CREATED,
        Json(ProjectBody {
            project: project_view(project),
        }),
    ))
}

/// `GET /identity/v3/projects/{project_id}`.
pub async fn get(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiPath(project_id): ApiPath<String>,
) -> ApiResult<Json<ProjectBody>> {
    state.read(|db| {
        let project =
            authorized_project(db, &caller, &project_id, Permission::ViewProject, |name| {
                format!("view project `{name}`")
            })?;
        Ok(Json(ProjectBody {
            project: project_view(project),
        }))
    })
}

/// `PATCH /identity/v3/projects/{project_id}`: nickname and description only.
pub async fn update(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiPath(project_id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateProjectBody>,
) -> ApiResult<Json<ProjectBody>> {
    let req = body.project;
    let project = state.write(|db| {
        let mut current = find_project(db, &project_id)?;
        caller.require(
            Permission::ManageProjects,
            Some(&current),
            &format!("edit project `{}`", current.name),
        )?;
        if let Some(name) = &req.name {
            return Err(ApiError::bad_request(format!(
                "project names cannot be changed (project `{}`, requested `{name}`); \
                 send only `nickname` and `description`",
                current.name
            )));
        }
        if let Some(nickname) = &req.nickname {
            check_nickname(nickname)?;
        }
        if let Some(description) = &req.description {
            check_description(description)?;
        }
        let unchanged = req.nickname.as_ref().is_none_or(|n| *n == current.nickname)
            && req
                .description
                .as_ref()
                .is_none_or(|d| *d == current.description);
        if unchanged {
            return Ok(current);
        }
        if let Some(nickname) = req.nickname {
            current.nickname = nickname;
        }
        if let Some(description) = req.description {
            current.description = description;
        }
        db.update_project(&current)?;
        Ok(current)
    })?;
    Ok(Json(ProjectBody {
        project: project_view(project),
    }))
}

/// `DELETE /identity/v3/projects/{project_id}`: always 405.
pub async fn delete(_caller: Caller) -> ApiError {
    ApiError::method_not_allowed(
        "projects cannot be deleted through the API; deleting a project is a request to the \
         KakaoCloud Help Desk",
    )
}

fn check_nickname(nickname: &str) -> ApiResult<()> {
    check_length("project nickname", nickname, 1, PROJECT_NICKNAME_MAX)
        .map_err(ApiError::bad_request)
}

fn check_description(description: &str) -> ApiResult<()> {
    check_length(
        "project description",
        description,
        0,
        PROJECT_DESCRIPTION_MAX,
    )
    .map_err(ApiError::bad_request)
}
