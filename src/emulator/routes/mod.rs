//! The HTTP surface: every route of `docs/api.md` in one table ([`router`]), the fallbacks
//! that keep unknown routes (404) and wrong methods (405) in Keystone's error format, the
//! unauthenticated Keystone version documents, and the database → wire conversions every
//! answer is built from.
//!
//! Route patterns are the constants in [`paths`]; the fault-injection layer (`faults`) wraps
//! the whole router (latency, forced statuses, dropped connections, lost responses, rate
//! limits, read-after-write lag), and outside it `control_token::require` guards the control
//! routes when a control token is set.

mod control;
mod keys;
mod projects;
mod service_accounts;
mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, Uri, header};
use axum::routing::{get, post};
use serde_json::json;

use super::auth::{Caller, Permission};
use super::control_token::{self, ControlToken};
use super::db::{Agent, Db, Key, Project, User, UserKind};
use super::error::{ApiError, ApiResult};
use super::faults;
use super::state::EmulatorState;
use crate::wire;

/// Every route pattern the emulator serves (axum syntax).
pub mod paths {
    /// Keystone version list.
    pub const VERSIONS: &str = "/identity";
    /// Same, with the trailing slash.
    pub const VERSIONS_SLASH: &str = "/identity/";
    /// Keystone v3 version document.
    pub const V3: &str = "/identity/v3";
    /// Same, with the trailing slash some clients add.
    pub const V3_SLASH: &str = "/identity/v3/";
    /// Token issue and validation.
    pub const TOKENS: &str = "/identity/v3/auth/tokens";
    /// Project list and create.
    pub const PROJECTS: &str = "/identity/v3/projects";
    /// One project.
    pub const PROJECT: &str = "/identity/v3/projects/{project_id}";
    /// Service accounts of a project.
    pub const SERVICE_ACCOUNTS: &str = "/identity/v3/projects/{project_id}/service_accounts";
    /// One service account.
    pub const SERVICE_ACCOUNT: &str =
        "/identity/v3/projects/{project_id}/service_accounts/{user_id}";
    /// Service agents of a project.
    pub const SERVICE_AGENTS: &str = "/identity/v3/projects/{project_id}/service_agents";
    /// One service agent, or anything below it.
    pub const SERVICE_AGENT: &str = "/identity/v3/projects/{project_id}/service_agents/{*rest}";
    /// Every key of a project (kcform extension).
    pub const PROJECT_KEYS: &str = "/identity/v3/projects/{project_id}/application_credentials";
    /// A user's application credentials.
    pub const USER_KEYS: &str = "/identity/v3/users/{user_id}/application_credentials";
    /// One application credential.
    pub const USER_KEY: &str = "/identity/v3/users/{user_id}/application_credentials/{key_id}";
    /// Emulator health.
    pub const HEALTH: &str = "/_emulator/health";
    /// Emulator: create a user with roles.
    pub const USERS: &str = "/_emulator/users";
    /// Emulator: enable a service in a project (creates its agent).
    pub const SERVICES: &str = "/_emulator/projects/{name}/services/{service}";
    /// Emulator: the organization (its payment method).
    pub const ORGANIZATION: &str = "/_emulator/organization";
    /// Emulator: injected faults (list, add, clear).
    pub const FAULTS: &str = "/_emulator/faults";
    /// Emulator: request counters.
    pub const STATS: &str = "/_emulator/stats";
}

/// The emulator's axum router over `state`, with the control routes open (as on loopback
/// without a token).
pub fn router(state: EmulatorState) -> Router {
    router_with_control_token(state, None)
}

/// The emulator's axum router over `state`; with `control_token`, every `/_emulator/…` route
/// answers `401` unless the request carries `Authorization: Bearer <token>`.
pub fn router_with_control_token(
    state: EmulatorState,
    control_token: Option<ControlToken>,
) -> Router {
    Router::new()
        .route(paths::VERSIONS, get(versions))
        .route(paths::VERSIONS_SLASH, get(versions))
        .route(paths::V3, get(version))
        .route(paths::V3_SLASH, get(version))
        .route(
            paths::TOKENS,
            post(tokens::issue)
                .get(tokens::validate)
                .delete(tokens::revoke),
        )
        .route(paths::PROJECTS, get(projects::list).post(projects::create))
        .route(
            paths::PROJECT,
            get(projects::get)
                .patch(projects::update)
                .delete(projects::delete),
        )
        .route(
            paths::SERVICE_ACCOUNTS,
            get(service_accounts::list).post(service_accounts::create),
        )
        .route(
            paths::SERVICE_ACCOUNT,
            get(service_accounts::get)
                .patch(service_accounts::update)
                .delete(service_accounts::delete),
        )
        .route(
            paths::SERVICE_AGENTS,
            get(service_accounts::list_agents).fallback(service_accounts::agents_read_only),
        )
        .route(
            paths::SERVICE_AGENT,
            get(service_accounts::get_agent).fallback(service_accounts::agents_read_only),
        )
        .route(paths::PROJECT_KEYS, get(keys::list_project))
        .route(paths::USER_KEYS, get(keys::list_user).post(keys::create))
        .route(
            paths::USER_KEY,
            get(keys::get)
                .delete(keys::delete)
                .patch(keys::no_update)
                .put(keys::no_update),
        )
        .route(paths::HEALTH, get(control::health))
        .route(paths::USERS, post(control::create_user))
        .route(paths::SERVICES, post(control::enable_service))
        .route(
            paths::ORGANIZATION,
            get(control::organization).post(control::update_organization),
        )
        .route(
            paths::FAULTS,
            get(faults::list).post(faults::add).delete(faults::clear),
        )
        .route(paths::STATS, get(super::stats::get))
        .fallback(not_found)
        // Must come after every `.route`: it applies to the routes registered so far.
        .method_not_allowed_fallback(method_not_allowed)
        // Keystone's request-size limit; a larger body answers 413 (`extract::ApiJson`).
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::limits::REQUEST_BODY_MAX,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        // Outermost: a refused control request reaches nothing, and is not counted.
        .layer(axum::middleware::from_fn_with_state(
            control_token.map(Arc::new),
            control_token::require,
        ))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("there is no route `{}`", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::method_not_allowed(format!(
        "method {method} is not allowed on `{}`",
        uri.path()
    ))
}

/// The endpoint as the client reached it, e.g. `http://127.0.0.1:8080`; used for links and
/// the service catalog so they work whatever address the emulator was started on.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .ok_or_else(|| ApiError::bad_request("the request has no Host header"))?;
        Ok(BaseUrl(format!("http://{host}")))
    }
}

fn version_value(base: &str) -> serde_json::Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/identity/v3/")}],
        "media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.identity-v3+json"
        }]
    })
}

/// `GET /identity`: Keystone's version list, as Keystone answers it — `300 Multiple Choices`
/// with `Location` naming the one version.
async fn versions(BaseUrl(base): BaseUrl) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let location = format!("{base}/identity/v3/");
    let mut response = (
        axum::http::StatusCode::MULTIPLE_CHOICES,
        axum::Json(json!({"versions": {"values": [version_value(&base)]}})),
    )
        .into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

async fn version(BaseUrl(base): BaseUrl) -> axum::Json<serde_json::Value> {
    axum::Json(json!({"version": version_value(&base)}))
}

/// The API form of a project.
fn project_view(p: Project) -> wire::Project {
    wire::Project {
        id: p.id,
        name: p.name,
        nickname: p.nickname,
        description: p.description,
        created_at: p.created_at,
    }
}

/// The API form of a service account; `None` for a person.
fn service_account_view(u: User) -> Option<wire::ServiceAccount> {
    let UserKind::ServiceAccount { project_id, status } = u.kind else {
        return None;
    };
    Some(wire::ServiceAccount {
        id: u.id,
        email: service_account_identity(&u.name, &project_id),
        name: u.name,
        project_id,
        status: status.as_str().to_string(),
        created_at: u.created_at,
    })
}

/// A service account's identity, `{name}-{project-id}@kc.serviceaccount.com`: its e-mail, and
/// the Keystone user name its tokens carry.
pub(crate) fn service_account_identity(name: &str, project_id: &str) -> String {
    format!("{name}-{project_id}@kc.serviceaccount.com")
}

/// What each key shows about its owner, worked out once per owner.
pub(super) struct Owner {
    project_id: Option<String>,
    roles: Vec<wire::NamedRef>,
}

impl Owner {
    /// A missing owner shows no project and no roles.
    fn of(user: Option<&User>) -> Owner {
        let Some(user) = user else {
            return Owner {
                project_id: None,
                roles: Vec::new(),
            };
        };
        let project_id = match &user.kind {
            UserKind::ServiceAccount { project_id, .. } => Some(project_id.clone()),
            UserKind::Person { .. } => None,
        };
        let roles = super::auth::role_names(user)
            .into_iter()
            .map(super::auth::role_ref)
            .collect();
        Owner { project_id, roles }
    }

    /// The owner of a service account's keys in `project_id` (Project Member there).
    pub(super) fn account_of(project_id: &str) -> Owner {
        Owner {
            project_id: Some(project_id.to_string()),
            roles: vec![super::auth::role_ref(
                crate::roles::ProjectRole::Member.as_str(),
            )],
        }
    }
}

/// The API form of an access key (never with its secret).
pub(super) fn key_view(k: Key, owner: &Owner, base: &str) -> wire::ApplicationCredential {
    let links = json!({
        "self": format!("{base}/identity/v3/users/{}/application_credentials/{}", k.user_id, k.id)
    });
    wire::ApplicationCredential {
        id: k.id,
        name: k.name,
        description: k.description,
        user_id: k.user_id,
        project_id: owner.project_id.clone(),
        roles: owner.roles.clone(),
        expires_at: None,
        unrestricted: false,
        access_rules: Vec::new(),
        links,
        status: k.status.as_str().to_string(),
        created_at: k.created_at,
        secret: None,
    }
}

/// The API form of a service agent.
fn agent_view(a: Agent) -> wire::ServiceAgent {
    wire::ServiceAgent {
        email: format!("{}@{}.kc.serviceaccount.com", a.project_id, a.service),
        id: a.id,
        service: a.service,
        project_id: a.project_id,
        created_at: a.created_at,
    }
}

/// The project with this ID, or 404.
fn find_project(db: &Db, project_id: &str) -> ApiResult<Project> {
    db.project(project_id)?
        .ok_or_else(|| super::state::missing("project", project_id))
}

/// The project `project_id` (or 404) when the caller holds `permission` on it (or 403 with
/// `describe(project name)` as the refused action).
fn authorized_project(
    db: &Db,
    caller: &Caller,
    project_id: &str,
    permission: Permission,
    describe: impl FnOnce(&str) -> String,
) -> ApiResult<Project> {
    let project = find_project(db, project_id)?;
    caller.require(permission, Some(&project), &describe(&project.name))?;
    Ok(project)
}

/// The service account `user_id` of `project_id`, or 404.
fn find_service_account(db: &Db, project_id: &str, user_id: &str) -> ApiResult<User> {
    db.user(user_id)?
        .filter(|u| {
            matches!(&u.kind, UserKind::ServiceAccount { project_id: p, .. } if p == project_id)
        })
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "service account `{user_id}` does not exist in project `{project_id}`"
            ))
        })
}
