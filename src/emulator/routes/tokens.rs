//! Keystone token routes: `POST /identity/v3/auth/tokens` (application-credential auth, token
//! in `X-Subject-Token`), `GET` of the same path to validate a token and `DELETE` to revoke one.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::BaseUrl;
use crate::emulator::auth::{self, Caller, METHOD, SUBJECT_TOKEN_HEADER};
use crate::emulator::db::OrgRole;
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::extract::ApiJson;
use crate::emulator::state::{EmulatorState, TokenRecord};
use crate::wire::{AuthRequest, TokenBody};

/// `POST /identity/v3/auth/tokens`: 201, token in `X-Subject-Token`, body `{"token"}`.
pub async fn issue(
    State(state): State<EmulatorState>,
    BaseUrl(base): BaseUrl,
    ApiJson(body): ApiJson<AuthRequest>,
) -> ApiResult<Response> {
    let identity = body.auth.identity;
    if !identity.methods.iter().any(|m| m == METHOD) {
        return Err(ApiError::bad_request(format!(
            "unsupported authentication methods {:?}; KakaoCloud accepts only `{METHOD}`",
            identity.methods
        )));
    }
    let cred = identity.application_credential.ok_or_else(|| {
        ApiError::bad_request("`auth.identity.application_credential` is missing")
    })?;
    let (token, body) = auth::issue_token(&state, &cred, &base)?;
    let header = HeaderValue::from_str(&token)
        .map_err(|_| ApiError::internal("issued token is not a valid header value"))?;
    let mut response = (StatusCode::CREATED, Json(TokenBody { token: body })).into_response();
    response.headers_mut().insert(SUBJECT_TOKEN_HEADER, header);
    Ok(response)
}

/// `GET /identity/v3/auth/tokens`: the body of the token in `X-Subject-Token`, or 404 when it
/// is unknown, expired or revoked. As on Keystone, a caller may validate its own tokens, and
/// only an organization role lets it validate another user's (403); without
/// `X-Subject-Token` the answer is 403 too.
pub async fn validate(
    State(state): State<EmulatorState>,
    caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (subject, record) = subject_token(&state, &headers, "validate")?;
    if record.user_id != caller.user_id && caller.org_role().is_none() {
        return Err(ApiError::forbidden(
            "only the token's own user or an organization role (Org Admin, Org Reader) may \
             validate a token",
        ));
    }
    let mut response = Json(TokenBody {
        token: record.body.clone(),
    })
    .into_response();
    response.headers_mut().insert(SUBJECT_TOKEN_HEADER, subject);
    Ok(response)
}

/// `DELETE /identity/v3/auth/tokens`: revokes the token in `X-Subject-Token` (204); the caller's
/// own tokens, or any with the Org Admin role. 404 when it is unknown, expired or revoked,
/// 403 without `X-Subject-Token`.
pub async fn revoke(
    State(state): State<EmulatorState>,
    caller: Caller,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let (subject, record) = subject_token(&state, &headers, "revoke")?;
    if record.user_id != caller.user_id && caller.org_role() != Some(OrgRole::Admin) {
        return Err(ApiError::forbidden(
            "only the token's own user or an Org Admin may revoke a token",
        ));
    }
    let token = subject.to_str().unwrap_or_default();
    if !state.revoke_token(token)? {
        return Err(ApiError::not_found(
            "the token is unknown, expired or revoked",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The token named by `X-Subject-Token` and its record: 403 without the header (Keystone's
/// answer: its policy has no token to check), 404 when the token is unknown, expired or
/// revoked.
fn subject_token(
    state: &EmulatorState,
    headers: &HeaderMap,
    verb: &str,
) -> ApiResult<(HeaderValue, Arc<TokenRecord>)> {
    let subject = headers.get(SUBJECT_TOKEN_HEADER).ok_or_else(|| {
        ApiError::forbidden(format!(
            "put the token to {verb} in the X-Subject-Token header"
        ))
    })?;
    let record = match subject.to_str() {
        Ok(token) => state.lookup_token(token)?,
        Err(_) => None,
    }
    .ok_or_else(|| ApiError::not_found("the token is unknown, expired or revoked"))?;
    Ok((subject.clone(), record))
}
