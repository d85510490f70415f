//! Access-key routes: Keystone application credentials under
//! `/identity/v3/users/{user_id}/application_credentials` (create with the secret shown once,
//! list with Keystone `links`, get, delete, and 405 for any edit) plus kcform's paged
//! project-wide listing.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::{BaseUrl, Owner, authorized_project, find_project, key_view};
use crate::emulator::auth::{Caller, Permission};
use crate::emulator::db::{AccountStatus, Db, Project, User, UserKind};
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::extract::{ApiJson, ApiPath, ApiQuery, ListQuery};
use crate::emulator::state::{self, EmulatorState};
use crate::limits::{
    ACCESS_KEY_DESCRIPTION_MAX, MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT, NameKind, check_length,
    check_name,
};
use crate::wire::{
    ApplicationCredentialBody, ApplicationCredentialList, CreateApplicationCredentialBody,
};

/// The owner of a key route: the user, and its project when it is a service account. A user
/// that does not exist is a 404 only for a caller with an organization role, who may see every
/// user's keys; anyone else gets Keystone's answer, 403 (its policy refuses a caller that is
/// not the user before it looks the user up).
fn owner(db: &Db, caller: &Caller, user_id: &str) -> ApiResult<(User, Option<Project>)> {
    let Some(user) = db.user(user_id)? else {
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
        UserKind::ServiceAccount { project_id, .. } => Some(find_project(db, project_id)?),
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

/// `GET /identity/v3/users/{user_id}/application_credentials?name=`, ordered by name, with
/// Keystone's `links`.
pub async fn list_user(
    State(state): State<EmulatorState>,
    caller: Caller,
    BaseUrl(base): BaseUrl,
    ApiPath(user_id): ApiPath<String>,
    ApiQuery(params): ApiQuery<HashMap<String, String>>,
) -> ApiResult<Json<ApplicationCredentialList>> {
    let name = params.get("name").map(String::as_str);
    let (user, keys) = state.read(|db| {
        let (user, project) = owner(db, &caller, &user_id)?;
        require_view(&caller, &user, project.as_ref())?;
        let keys = db.keys_of(&user.id, name)?;
        Ok::<_, ApiError>((user, keys))
    })?;
    let owner = Owner::of(Some(&user));
    let self_url = format!(
        "{base}/identity/v3/users/{}/application_credentials",
        user.id
    );
    Ok(Json(ApplicationCredentialList {
        application_credentials: keys
            .into_iter()
            .map(|k| key_view(k, &owner, &base))
            .collect(),
        links: Some(serde_json::json!({"self": self_url, "previous": null, "next": null})),
        pagination: None,
    }))
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
    let view = state.write(|db| {
        let (user, project) = owner(db, &caller, &user_id)?;
        let project = require_manage(&caller, &user, project.as_ref(), "create")?;
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
        let owned = db.keys_of(&user_id, None)?;
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
        db.insert_key(&key)?;
        let mut view = key_view(key, &Owner::of(Some(&user)), &base);
        view.secret = Some(secret);
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
    state.read(|db| {
        let (user, project) = owner(db, &caller, &user_id)?;
        require_view(&caller, &user, project.as_ref())?;
        let key = db
            .key(&key_id)?
            .filter(|k| k.user_id == user_id)
            .ok_or_else(|| state::missing("application credential", &key_id))?;
        Ok(Json(ApplicationCredentialBody {
            application_credential: key_view(key, &Owner::of(Some(&user)), &base),
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
    state.write(|db| {
        let (user, project) = owner(db, &caller, &user_id)?;
        require_manage(&caller, &user, project.as_ref(), "delete")?;
        if db.key(&key_id)?.is_none_or(|k| k.user_id != user_id) {
            return Err(state::missing("application credential", &key_id));
        }
        db.delete_key(&key_id)?;
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
) -> ApiResult<Json<ApplicationCredentialList>> {
    let (keys, total) = state.read(|db| {
        authorized_project(db, &caller, &project_id, Permission::ViewIam, |name| {
            format!("view the access keys of project `{name}`")
        })?;
        Ok::<_, ApiError>(db.project_keys(
            &project_id,
            query.name.as_deref(),
            query.offset,
            query.limit,
        )?)
    })?;
    // Every owner is a service account of the project: Project Member there.
    let owner = Owner::account_of(&project_id);
    Ok(Json(ApplicationCredentialList {
        application_credentials: keys
            .into_iter()
            .map(|k| key_view(k, &owner, &base))
            .collect(),
        links: None,
        pagination: Some(query.pagination(total)),
    }))
}
