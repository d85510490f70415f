//! Access-key routes: Keystone application credentials under
//! `/identity/v3/users/{user_id}/application_credentials` (create with the secret shown once,
//! list with Keystone `links`, get, delete, and 405 for any edit) plus kcform's paged
//! project-wide listing.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::views::{self, JsonBody};
use super::{BaseUrl, authorized_project, find_project, key_view};
use crate::emulator::auth::{Caller, Permission};
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::extract::{ApiJson, ApiPath, ApiQuery, ListQuery};
use crate::emulator::state::{self, EmulatorState};
use crate::emulator::store::{AccountStatus, Data, Project, User, UserKind};
use crate::limits::{
    ACCESS_KEY_DESCRIPTION_MAX, MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT, NameKind, check_length,
    check_name,
};
use crate::wire::{ApplicationCredentialBody, CreateApplicationCredentialBody};

/// The owner of a key route: the user, and its project when it is a service account. A user
/// that does not exist is a 404 only for a caller with an organization role, who may see every
/// user's keys; anyone else gets Keystone's answer, 403 (its policy refuses a caller that is
/// not the user before it looks the user up).
fn owner<'d>(
    data: &'d Data,
    caller: &Caller,
    user_id: &str,
) -> ApiResult<(&'d User, Option<&'d Project>)> {
    let Some(user) = data.users.get(user_id) else {
        if caller.org_role().is_some() {
            return Err(state::missing("user", user_id));
        }
        return Err(ApiError::forbidden(format!(
            "{} may not use the access keys of user `{user_id}`: only the user itself or an \
             organization role may",
            caller.describe()
        )));
    };
    let project = match &user.kind {
        UserKind::ServiceAccount { project_id, .. } => Some(find_project(data, project_id)?),
        UserKind::Person { .. } => None,
    };
    Ok((user, project))
}

/// Viewing a user's keys: the user itself (Keystone lets anyone list their own application
/// credentials, which OpenStack clients rely on), or the `iam:view` permission.
fn require_view(caller: &Caller, user: &User, project: Option<&Project>) -> ApiResult<()> {
    if caller.user_id == user.id {
        return Ok(());
    }
    caller.require(
        Permission::ViewIam,
        project,
        &format!("view the access keys of `{}`", user.name),
    )
}

/// Changing a user's keys: only service accounts' keys are managed through the API, never by
/// a service account's own token, and only with `iam:manage` on the project.
fn require_manage<'d>(
    caller: &Caller,
    user: &User,
    project: Option<&'d Project>,
    verb: &str,
) -> ApiResult<&'d Project> {
    let Some(project) = project else {
        return Err(ApiError::forbidden(format!(
            "`{}` is not a service account; the access keys of organization users are managed \
             in the KakaoCloud console, not through this API",
            user.name
        )));
    };
    caller.require(
        Permission::ManageIam,
        Some(project),
        &format!("{verb} access keys in project `{}`", project.name),
    )?;
    Ok(project)
}

/// `GET /identity/v3/users/{user_id}/application_credentials?name=`, ordered by name.
pub async fn list_user(
    State(state): State<EmulatorState>,
    caller: Caller,
    BaseUrl(base): BaseUrl,
    ApiPath(user_id): ApiPath<String>,
    ApiQuery(params): ApiQuery<HashMap<String, String>>,
) -> ApiResult<JsonBody> {
    let name = params.get("name").map(String::as_str);
    state.read(|data| {
        let (user, project) = owner(data, &caller, &user_id)?;
        require_view(&caller, user, project)?;
        views::user_keys(data, user, name, &base)
    })
}

/// `POST /identity/v3/users/{user_id}/application_credentials`: 201 with the secret, the only
/// time it is shown.
pub async fn create(
    State(state): State<EmulatorState>,
    caller: Caller,
    BaseUrl(base): BaseUrl,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<ApplicationCredentialBody>)> {
    caller.forbid_service_account_token("add access keys")?;
    let req = create_request(body)?.application_credential;
    let view = state.write(|data| {
        let (user, project) = owner(data, &caller, &user_id)?;
        let project = require_manage(&caller, user, project, "create")?;
        if matches!(
            user.kind,
            UserKind::ServiceAccount {
                status: AccountStatus::Inactive,
                ..
            }
        ) {
            return Err(ApiError::bad_request(format!(
                "service account `{}` is inactive; activate it before adding access keys",
                user.name
            )));
        }
        check_name(NameKind::AccessKey, &req.name).map_err(ApiError::bad_request)?;
        if let Some(description) = &req.description {
            check_length(
                "access key description",
                description,
                0,
                ACCESS_KEY_DESCRIPTION_MAX,
            )
            .map_err(ApiError::bad_request)?;
        }
        if let Some(expires_at) = &req.expires_at {
            return Err(ApiError::bad_request(format!(
                "access keys have no expiry setting: `expires_at` must be null, got `{expires_at}`"
            )));
        }
        if req.unrestricted == Some(true) {
            return Err(ApiError::bad_request(
                "access keys cannot be unrestricted: `unrestricted` must be false",
            ));
        }
        if req.secret.as_deref() == Some("") {
            return Err(ApiError::bad_request(
                "`secret` must not be empty when given",
            ));
        }
        let owned = data.keys.in_group(&user_id).collect::<Vec<_>>();
        if owned.iter().any(|k| k.name == req.name) {
            return Err(ApiError::conflict(format!(
                "service account `{}` already has an access key named `{}`",
                user.name, req.name
            )));
        }
        if owned.len() >= MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT {
            return Err(ApiError::bad_request(format!(
                "service account `{}` of project `{}` already has {} access keys, the maximum \
                 (expired ones count too); delete one before creating another",
                user.name,
                project.name,
                owned.len()
            )));
        }
        let (key, secret) = state::new_key(
            &user_id,
            &req.name,
            req.description.clone(),
            req.secret.clone(),
        );
        let mut view = key_view(data, &key, &base);
        view.secret = Some(secret);
        data.keys.insert(key.id.clone(), key);
        Ok(view)
    })?;
    Ok((
        StatusCode::CREATED,
        Json(ApplicationCredentialBody {
            application_credential: view,
        }),
    ))
}

/// The fields Keystone's schema allows in `application_credential` of a create; it refuses
/// any other (400), and so does the emulator, so that a field kcform starts sending fails here
/// as it would on the cloud.
const CREATE_FIELDS: [&str; 7] = [
    "name",
    "description",
    "secret",
    "expires_at",
    "roles",
    "unrestricted",
    "access_rules",
];

/// A create body checked as Keystone's schema checks it: no unknown field at either level.
fn create_request(body: serde_json::Value) -> ApiResult<CreateApplicationCredentialBody> {
    let unexpected = |object: &serde_json::Value, allowed: &[&str], what: &str| {
        object.as_object().and_then(|map| {
            map.keys()
                .find(|key| !allowed.contains(&key.as_str()))
                .map(|key| {
                    ApiError::bad_request(format!(
                        "unknown field `{key}` in {what}; allowed: {}",
                        allowed.join(", ")
                    ))
                })
        })
    };
    if let Some(error) = unexpected(&body, &["application_credential"], "the request body") {
        return Err(error);
    }
    if let Some(error) = unexpected(
        &body["application_credential"],
        &CREATE_FIELDS,
        "`application_credential`",
    ) {
        return Err(error);
    }
    serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the request body does not have the expected fields: {e}"
        ))
    })
}

/// `GET /identity/v3/users/{user_id}/application_credentials/{key_id}`.
pub async fn get(
    State(state): State<EmulatorState>,
    caller: Caller,
    BaseUrl(base): BaseUrl,
    ApiPath((user_id, key_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ApplicationCredentialBody>> {
    state.read(|data| {
        let (user, project) = owner(data, &caller, &user_id)?;
        require_view(&caller, user, project)?;
        let key = data
            .keys
            .get(&key_id)
            .filter(|k| k.user_id == user_id)
            .ok_or_else(|| state::missing("application credential", &key_id))?;
        Ok(Json(ApplicationCredentialBody {
            application_credential: key_view(data, key, &base),
        }))
    })
}

/// `DELETE /identity/v3/users/{user_id}/application_credentials/{key_id}`: 204; tokens issued
/// with the key stop working at once.
pub async fn delete(
    State(state): State<EmulatorState>,
    caller: Caller,
    ApiPath((user_id, key_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.forbid_service_account_token("delete access keys")?;
    state.write(|data| {
        let (user, project) = owner(data, &caller, &user_id)?;
        require_manage(&caller, user, project, "delete")?;
        if data.keys.get(&key_id).is_none_or(|k| k.user_id != user_id) {
            return Err(state::missing("application credential", &key_id));
        }
        data.keys.remove(&key_id);
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH`/`PUT` on a key: 405 with the methods the route has in `Allow`, as Keystone answers;
/// keys cannot be edited or disabled.
pub async fn no_update(_caller: Caller) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let mut response = ApiError::method_not_allowed(
        "access keys cannot be edited or disabled; delete the key and create a new one",
    )
    .into_response();
    response.headers_mut().insert(
        axum::http::header::ALLOW,
        axum::http::HeaderValue::from_static("GET,HEAD,DELETE"),
    );
    response
}

/// `GET /identity/v3/projects/{project_id}/application_credentials`: every key of every
/// service account of the project, by owner ID then name, paged.
pub async fn list_project(
    State(state): State<EmulatorState>,
    caller: Caller,
    BaseUrl(base): BaseUrl,
    ApiPath(project_id): ApiPath<String>,
    query: ListQuery,
) -> ApiResult<JsonBody> {
    state.read(|data| {
        authorized_project(data, &caller, &project_id, Permission::ViewIam, |name| {
            format!("view the access keys of project `{name}`")
        })?;
        views::project_keys(data, &project_id, &query, &base)
    })
}
