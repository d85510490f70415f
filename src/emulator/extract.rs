//! Request extractors whose rejections are Keystone error bodies: [`ApiJson`] (bad or missing
//! JSON → 400 naming the problem), [`ApiPath`], [`ApiQuery`], and [`ListQuery`] (`name`,
//! `limit`, `offset` of list routes) with [`page`] to cut a stable page.

use std::collections::HashMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::wire::Pagination;

pub use crate::limits::{PAGE_LIMIT_DEFAULT as DEFAULT_LIMIT, PAGE_LIMIT_MAX as MAX_LIMIT};

/// A JSON request body; any problem answers 400 with the Keystone error body.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    let message = match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "the request body must be JSON sent with `Content-Type: application/json`".to_string()
        }
        JsonRejection::JsonSyntaxError(_) => {
            format!(
                "the request body is not valid JSON: {}",
                rejection.body_text()
            )
        }
        JsonRejection::JsonDataError(_) => {
            format!(
                "the request body does not have the expected fields: {}",
                rejection.body_text()
            )
        }
        // Too large (413) or unreadable: keep axum's status, in Keystone's format.
        _ => {
            return ApiError::new(
                rejection.status(),
                format!("cannot read the request body: {}", rejection.body_text()),
            );
        }
    };
    ApiError::bad_request(message)
}

/// Path parameters; a malformed one answers 400.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|r| ApiError::bad_request(format!("invalid path: {}", r.body_text())))
    }
}

/// Query parameters; a malformed query string answers 400.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|r| ApiError::bad_request(format!("invalid query string: {}", r.body_text())))
    }
}

/// `?name=&limit=&offset=` of list routes, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Exact-name filter.
    pub name: Option<String>,
    /// Page size, 1 to [`MAX_LIMIT`].
    pub limit: usize,
    /// Objects to skip.
    pub offset: usize,
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ApiQuery(params) =
            ApiQuery::<HashMap<String, String>>::from_request_parts(parts, state).await?;
        ListQuery::from_params(&params)
    }
}

impl ListQuery {
    /// Parses and checks the parameters.
    pub fn from_params(params: &HashMap<String, String>) -> Result<Self, ApiError> {
        let number = |key: &str, default: usize| -> Result<usize, ApiError> {
            match params.get(key) {
                None => Ok(default),
                Some(v) => v.parse::<usize>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "query parameter `{key}` must be a whole number, got `{v}`"
                    ))
                }),
            }
        };
        let limit = number("limit", DEFAULT_LIMIT)?;
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::bad_request(format!(
                "query parameter `limit` must be from 1 to {MAX_LIMIT}, got {limit}"
            )));
        }
        let offset = number("offset", 0)?;
        Ok(ListQuery {
            name: params.get("name").cloned(),
            limit,
            offset,
        })
    }

    /// Whether `name` passes the `name=` filter.
    pub fn matches(&self, name: &str) -> bool {
        self.name.as_deref().is_none_or(|n| n == name)
    }

    /// The `pagination` of this query's page out of `total` matching objects.
    pub fn pagination(&self, total: usize) -> Pagination {
        Pagination {
            total,
            offset: self.offset,
            limit: self.limit,
        }
    }
}

/// Cuts the page `query` asks for out of `items` (already filtered and in their stable order),
/// counting them all for `pagination.total`.
pub fn page<T>(items: impl IntoIterator<Item = T>, query: &ListQuery) -> (Vec<T>, Pagination) {
    let mut total = 0;
    let mut page = Vec::new();
    for item in items {
        if total >= query.offset && page.len() < query.limit {
            page.push(item);
        }
        total += 1;
    }
    (page, query.pagination(total))
}
