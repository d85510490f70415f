//! Keystone token routes: `POST /identity/v3/auth/tokens` (application-credential auth, token
//! in `X-Subject-Token`) and `GET` of the same path to validate a token.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::BaseUrl;
use crate::emulator::auth::{self, Caller, METHOD, SUBJECT_TOKEN_HEADER};
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::extract::ApiJson;
use crate::emulator::state::EmulatorState;
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
/// is unknown, expired or revoked.
pub async fn validate(
    State(state): State<EmulatorState>,
    _caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let subject = headers.get(SUBJECT_TOKEN_HEADER).ok_or_else(|| {
        ApiError::bad_request("put the token to validate in the X-Subject-Token header")
    })?;
    let record = subject
        .to_str()
        .ok()
        .and_then(|t| state.lookup_token(t))
        .ok_or_else(|| ApiError::not_found("the token is unknown, expired or revoked"))?;
    let mut response = Json(TokenBody { token: record.body }).into_response();
    response
        .headers_mut()
        .insert(SUBJECT_TOKEN_HEADER, subject.clone());
    Ok(response)
}
