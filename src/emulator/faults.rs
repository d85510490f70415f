//! Fault injection: an axum middleware around the whole router that makes the emulator behave
//! like a rate-limited, flaky cloud, so that kcform's retries, lost-response recovery and
//! partial-failure handling can be tested end to end. Rules are added with
//! `POST /_emulator/faults` (or `kcform emulator` flags) and cleared with
//! `DELETE /_emulator/faults`; each rule is scoped by method and a glob on the request path.
//! `/_emulator/…` routes are never faulted, so a test can always clear what it injected.
//!
//! Dropped connections and lost responses answer with a body that fails on its first poll:
//! hyper then closes the connection without writing a byte (the response head is only
//! buffered until the first body frame), so the client sees a connection error, never a status.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use super::state::EmulatorState;

/// Largest answer body the read-after-write lag rewrites (lists are paged well below this).
const MAX_REWRITE_BODY: usize = 16 * 1024 * 1024;

/// One fault rule, as posted to `POST /_emulator/faults` (documented in `docs/api.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// HTTP method the rule applies to; `None` (or `*`) means every method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Glob on the request path (`*` also matches `/`); default `*`.
    #[serde(default = "any_path")]
    pub path: String,
    /// Fixed time from the request's arrival to its answer (it is handled meanwhile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Extra random delay, uniform in `0..=jitter_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u64>,
    /// Answer this error status (400-599) instead of handling the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` seconds sent with `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Close the connection without handling the request or answering.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop_connection: bool,
    /// Handle the request (its change is committed), then close the connection unanswered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lose_response: bool,
    /// Handle the request (its change is committed), then answer its status with a damaged
    /// body: the answer a client must survive without losing what the call created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mangle_response: Option<Mangle>,
    /// With `status`: answer this body verbatim instead of a Keystone error, as servers in
    /// front of Keystone (and Keystone's own framework) do: an HTML page, `{"message": …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// With `body`: its `Content-Type`; default `text/html; charset=utf-8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// How many matching calls `status`, `drop_connection` or `lose_response` hit; `None` means
    /// every one until the faults are cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Let this many matching calls through before `status`, `drop_connection` or
    /// `lose_response` start (to fail an apply in its middle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u32>,
    /// At most this many matching requests per second; the rest get 429 with `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// An object created by a matching request stays missing from every list for this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_lag_ms: Option<u64>,
}

fn any_path() -> String {
    "*".to_string()
}

/// How `mangle_response` damages an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mangle {
    /// In a JSON answer `{"<kind>": {…}}`, every string field of the inner object except `id`
    /// and `secret` becomes the number `0`: valid JSON that no typed reader accepts, yet the
    /// created object's ID and secret are intact.
    WrongType,
    /// The body is cut to its first half: not JSON at all, nothing can be read from it.
    Truncate,
}

/// `Content-Type` of an injected `body` without one.
const DEFAULT_BODY_TYPE: &str = "text/html; charset=utf-8";

/// Why a fault rule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// The path glob does not parse.
    #[error("`path` is not a valid glob: {0}")]
    Path(String),
    /// The status is not an error status.
    #[error("`status` must be from 400 to 599, got {0}")]
    Status(u16),
    /// More than one way of not answering normally.
    #[error(
        "use only one of `status`, `drop_connection`, `lose_response` and `mangle_response` \
         in one rule"
    )]
    Conflicting,
    /// `body` without `status`, or `content_type` without `body`.
    #[error("`{0}` needs `{1}`")]
    Needs(&'static str, &'static str),
    /// A `content_type` that cannot be a header value.
    #[error("`content_type` is not a valid header value")]
    ContentType,
    /// `retry_after` or `count` without anything they apply to.
    #[error("`{0}` needs `status`, `drop_connection`, `lose_response` or `mangle_response`")]
    Orphan(&'static str),
    /// A zero rate limit would refuse everything forever.
    #[error("`rate_limit` must be at least 1 request per second")]
    ZeroRate,
    /// The rule does nothing.
    #[error("the rule injects nothing: set at least one fault")]
    Empty,
}

impl FaultSpec {
    /// Checks the rule and compiles its path glob.
    fn compile(&self) -> Result<glob::Pattern, FaultError> {
        let pattern =
            glob::Pattern::new(&self.path).map_err(|e| FaultError::Path(e.to_string()))?;
        if let Some(status) = self.status
            && !(400..=599).contains(&status)
        {
            return Err(FaultError::Status(status));
        }
        if self.body.is_some() && self.status.is_none() {
            return Err(FaultError::Needs("body", "status"));
        }
        if let Some(kind) = &self.content_type {
            if self.body.is_none() {
                return Err(FaultError::Needs("content_type", "body"));
            }
            HeaderValue::from_str(kind).map_err(|_| FaultError::ContentType)?;
        }
        let disruptions = [
            self.status.is_some(),
            self.drop_connection,
            self.lose_response,
            self.mangle_response.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count();
        if disruptions > 1 {
            return Err(FaultError::Conflicting);
        }
        if disruptions == 0 {
            if self.retry_after.is_some() {
                return Err(FaultError::Orphan("retry_after"));
            }
            if self.count.is_some() {
                return Err(FaultError::Orphan("count"));
            }
            if self.after.is_some() {
                return Err(FaultError::Orphan("after"));
            }
        }
        if self.rate_limit == Some(0) {
            return Err(FaultError::ZeroRate);
        }
        let delays = self.latency_ms.is_some() || self.jitter_ms.is_some();
        if disruptions == 0 && !delays && self.rate_limit.is_none() && self.list_lag_ms.is_none() {
            return Err(FaultError::Empty);
        }
        Ok(pattern)
    }

    fn matches(&self, pattern: &glob::Pattern, method: &Method, path: &str) -> bool {
        let method_ok = match self.method.as_deref() {
            None | Some("*") => true,
            Some(m) => m.eq_ignore_ascii_case(method.as_str()),
        };
        method_ok && pattern.matches(path)
    }
}

struct Rule {
    spec: FaultSpec,
    pattern: glob::Pattern,
    /// Disruptions left (`None`: unlimited).
    remaining: Option<u32>,
    /// Matching calls still let through before disruptions start.
    skip: u32,
    /// Start of the current one-second rate window and the requests counted in it.
    window: (Instant, u32),
}

#[derive(Default)]
struct Inner {
    rules: Vec<Rule>,
    /// Objects hidden from lists until the given instant (read-after-write lag), by ID.
    lagging: HashMap<String, Instant>,
}

/// The fault rules of one emulator; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
    /// Keeps injected latency exact (see `delay`); its thread ends with the last clone.
    timer: Arc<super::delay::Timer>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").finish_non_exhaustive()
    }
}

/// What to do with one request, decided under the lock and carried out without it.
#[derive(Debug, Default)]
struct Decision {
    delay: Duration,
    refuse: Option<(StatusCode, Option<u64>, String)>,
    /// The body (and its `Content-Type`) to refuse with instead of a Keystone error.
    body: Option<(String, String)>,
    drop_connection: bool,
    lose_response: bool,
    mangle: Option<Mangle>,
    lag: Option<Duration>,
    /// `refuse` is a rate limit's 429.
    rate_limited: bool,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The rules hold no invariant a panic could break halfway.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a rule after checking it.
    pub fn add(&self, spec: FaultSpec) -> Result<(), FaultError> {
        let pattern = spec.compile()?;
        let remaining = spec.count;
        let skip = spec.after.unwrap_or(0);
        self.lock().rules.push(Rule {
            spec,
            pattern,
            remaining,
            skip,
            window: (Instant::now(), 0),
        });
        Ok(())
    }

    /// The rules in force, as posted.
    pub fn list(&self) -> Vec<FaultSpec> {
        self.lock().rules.iter().map(|r| r.spec.clone()).collect()
    }

    /// Removes every rule and forgets the lagging objects.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.rules.clear();
        inner.lagging.clear();
    }

    fn decide(&self, method: &Method, path: &str) -> Decision {
        let mut inner = self.lock();
        let now = Instant::now();
        let mut decision = Decision::default();
        for rule in &mut inner.rules {
            if !rule.spec.matches(&rule.pattern, method, path) {
                continue;
            }
            let jitter = rule
                .spec
                .jitter_ms
                .map_or(0, |max| rand::random_range(0..=max));
            decision.delay += Duration::from_millis(rule.spec.latency_ms.unwrap_or(0) + jitter);
            if let Some(lag) = rule.spec.list_lag_ms {
                decision.lag =
                    Some(Duration::from_millis(lag).max(decision.lag.unwrap_or_default()));
            }
            if let Some(limit) = rule.spec.rate_limit
                && decision.refuse.is_none()
            {
                if now.duration_since(rule.window.0) >= Duration::from_secs(1) {
                    rule.window = (now, 0);
                }
                if rule.window.1 >= limit {
                    decision.rate_limited = true;
                    decision.refuse = Some((
                        StatusCode::TOO_MANY_REQUESTS,
                        Some(1),
                        format!("rate limit of {limit} requests per second exceeded"),
                    ));
                } else {
                    rule.window.1 += 1;
                }
            }
            let disrupts = rule.spec.status.is_some()
                || rule.spec.drop_connection
                || rule.spec.lose_response
                || rule.spec.mangle_response.is_some();
            let already = decision.refuse.is_some()
                || decision.drop_connection
                || decision.lose_response
                || decision.mangle.is_some();
            if disrupts && !already && rule.skip > 0 {
                rule.skip -= 1;
            } else if disrupts && !already && rule.remaining != Some(0) {
                if let Some(left) = rule.remaining.as_mut() {
                    *left -= 1;
                }
                if let Some(code) = rule.spec.status {
                    let status =
                        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    decision.refuse =
                        Some((status, rule.spec.retry_after, "injected fault".to_string()));
                }
                decision.drop_connection = rule.spec.drop_connection;
                decision.lose_response = rule.spec.lose_response;
                decision.mangle = rule.spec.mangle_response;
                decision.body = rule.spec.body.clone().map(|body| {
                    let kind = rule.spec.content_type.as_deref();
                    (body, kind.unwrap_or(DEFAULT_BODY_TYPE).to_string())
                });
            }
        }
        inner.lagging.retain(|_, until| *until > now);
        decision
    }

    fn lag(&self, id: String, lag: Duration) {
        self.lock().lagging.insert(id, Instant::now() + lag);
    }

    fn hidden(&self) -> Vec<String> {
        let now = Instant::now();
        let inner = self.lock();
        inner
            .lagging
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// An error body that fails as soon as hyper polls it, so hyper drops the connection before
/// anything (even the status line) is written.
fn severed() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected fault: connection dropped",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// The middleware: applies every matching rule to a request.
pub async fn inject(State(state): State<EmulatorState>, request: Request, next: Next) -> Response {
    let arrived = Instant::now();
    let path = request.uri().path().to_string();
    if path.starts_with("/_emulator/") {
        return next.run(request).await;
    }
    let faults = state.faults();
    let method = request.method().clone();
    state.stats().request(&method);
    let decision = faults.decide(&method, &path);
    // Latency is the time from a request's arrival to its answer, as a client measures a
    // server's response time: the request is handled while it runs, so the emulator's own
    // work (which shares the machine with the client under test) does not add to it.
    let answer_at = arrived + decision.delay;
    let response = if decision.drop_connection {
        severed()
    } else if let Some((status, retry_after, message)) = decision.refuse {
        if decision.rate_limited {
            state.stats().rate_limited();
        }
        let mut response = match decision.body {
            Some((body, kind)) => {
                let mut page = (status, body).into_response();
                if let Ok(kind) = HeaderValue::from_str(&kind) {
                    page.headers_mut().insert(header::CONTENT_TYPE, kind);
                }
                page
            }
            None => ApiError::new(status, message).into_response(),
        };
        if let Some(seconds) = retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    } else {
        handle(
            &faults,
            &method,
            decision.lose_response,
            decision.mangle,
            decision.lag,
            request,
            next,
        )
        .await
    };
    faults.timer.until(answer_at).await;
    response
}

/// Handles a request that is let through, then applies the faults on its answer.
async fn handle(
    faults: &Faults,
    method: &Method,
    lose_response: bool,
    mangle: Option<Mangle>,
    lag: Option<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if lose_response {
        return severed();
    }
    if let Some(mangle) = mangle {
        return mangled(response, mangle).await;
    }
    let created = method == Method::POST && response.status() == StatusCode::CREATED;
    if let (true, Some(lag)) = (created, lag) {
        return remember_created(faults, response, lag).await;
    }
    if method == Method::GET && response.status() == StatusCode::OK {
        let hidden = faults.hidden();
        if !hidden.is_empty() {
            return hide_lagging(response, &hidden).await;
        }
    }
    response
}

/// The answer with its body damaged as `mangle` says; status and other headers kept.
async fn mangled(response: Response, mangle: Mangle) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REWRITE_BODY).await else {
        return severed();
    };
    let damaged = match mangle {
        Mangle::Truncate => bytes.slice(..bytes.len() / 2),
        Mangle::WrongType => match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(mut top)) => {
                for inner in top.values_mut().filter_map(Value::as_object_mut) {
                    for (name, value) in inner.iter_mut() {
                        if value.is_string() && name != "id" && name != "secret" {
                            *value = Value::from(0);
                        }
                    }
                }
                serde_json::to_vec(&top).map_or(bytes, Bytes::from)
            }
            _ => bytes,
        },
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(damaged))
}

/// Reads a create answer's object ID (`{"<kind>": {"id": …}}`) and hides it from lists.
async fn remember_created(faults: &Faults, response: Response, lag: Duration) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REWRITE_BODY).await else {
        return severed();
    };
    if let Ok(Value::Object(top)) = serde_json::from_slice::<Value>(&bytes)
        && let Some(id) = top
            .values()
            .find_map(|v| v.get("id").and_then(Value::as_str))
    {
        faults.lag(id.to_string(), lag);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Drops hidden objects from every array of a list answer and lowers `pagination.total`.
async fn hide_lagging(response: Response, hidden: &[String]) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REWRITE_BODY).await else {
        return severed();
    };
    let Ok(Value::Object(mut top)) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let mut removed = 0u64;
    for value in top.values_mut() {
        if let Value::Array(items) = value {
            let before = items.len();
            items.retain(|item| {
                item.get("id")
                    .and_then(Value::as_str)
                    .is_none_or(|id| !hidden.iter().any(|h| h == id))
            });
            removed += (before - items.len()) as u64;
        }
    }
    if removed == 0 {
        return Response::from_parts(parts, Body::from(bytes));
    }
    if let Some(total) = top
        .get_mut("pagination")
        .and_then(|p| p.get_mut("total"))
        .and_then(|t| t.as_u64().map(|n| (t, n)))
        .map(|(t, n)| (t, n.saturating_sub(removed)))
    {
        *total.0 = Value::from(total.1);
    }
    let Ok(rewritten) = serde_json::to_vec(&Value::Object(top)) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(rewritten))
}

/// The answer of `GET /_emulator/faults` and `POST /_emulator/faults`.
#[derive(Debug, Serialize, Deserialize)]
pub struct FaultList {
    /// The rules in force.
    pub faults: Vec<FaultSpec>,
}

/// `GET /_emulator/faults`.
pub async fn list(State(state): State<EmulatorState>) -> Json<FaultList> {
    Json(FaultList {
        faults: state.faults().list(),
    })
}

/// `POST /_emulator/faults`: adds one rule; 201 with every rule in force.
pub async fn add(
    State(state): State<EmulatorState>,
    ApiJson(spec): ApiJson<FaultSpec>,
) -> ApiResult<(StatusCode, Json<FaultList>)> {
    let faults = state.faults();
    faults
        .add(spec)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        Json(FaultList {
            faults: faults.list(),
        }),
    ))
}

/// `DELETE /_emulator/faults`: removes every rule; 204.
pub async fn clear(State(state): State<EmulatorState>) -> StatusCode {
    state.faults().clear();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> FaultSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn rules_are_checked() {
        let faults = Faults::default();
        let bad = [
            (serde_json::json!({"status": 200}), FaultError::Status(200)),
            (
                serde_json::json!({"status": 500, "lose_response": true}),
                FaultError::Conflicting,
            ),
            (
                serde_json::json!({"retry_after": 1}),
                FaultError::Orphan("retry_after"),
            ),
            (serde_json::json!({"count": 1}), FaultError::Orphan("count")),
            (serde_json::json!({"rate_limit": 0}), FaultError::ZeroRate),
            (serde_json::json!({"path": "/x"}), FaultError::Empty),
            (
                serde_json::json!({"mangle_response": "truncate", "lose_response": true}),
                FaultError::Conflicting,
            ),
            (
                serde_json::json!({"body": "<html></html>"}),
                FaultError::Needs("body", "status"),
            ),
            (
                serde_json::json!({"status": 404, "content_type": "text/plain"}),
                FaultError::Needs("content_type", "body"),
            ),
            (
                serde_json::json!({"status": 404, "body": "x", "content_type": "a\nb"}),
                FaultError::ContentType,
            ),
        ];
        for (json, expected) in bad {
            assert_eq!(faults.add(spec(json)), Err(expected));
        }
        assert!(faults.list().is_empty());
        assert!(serde_json::from_value::<FaultSpec>(serde_json::json!({"sttaus": 500})).is_err());
        assert!(
            serde_json::from_value::<FaultSpec>(serde_json::json!({"mangle_response": "garble"}))
                .is_err()
        );
        for good in [
            serde_json::json!({"method": "POST", "mangle_response": "wrong_type", "count": 1}),
            serde_json::json!({"mangle_response": "truncate", "after": 2}),
            serde_json::json!({"status": 404, "body": "<html><title>404</title></html>"}),
            serde_json::json!({"status": 405, "body": "{}", "content_type": "application/json"}),
        ] {
            faults
                .add(spec(good.clone()))
                .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    #[test]
    fn a_counted_status_hits_only_matching_calls_and_runs_out() {
        let faults = Faults::default();
        faults
            .add(spec(serde_json::json!({
                "method": "post", "path": "/identity/v3/projects/*/service_accounts",
                "status": 503, "retry_after": 2, "count": 2
            })))
            .unwrap();
        let path = "/identity/v3/projects/p1/service_accounts";
        assert!(faults.decide(&Method::GET, path).refuse.is_none());
        assert!(
            faults
                .decide(&Method::POST, "/identity/v3/projects")
                .refuse
                .is_none()
        );
        for _ in 0..2 {
            let (status, retry, _) = faults.decide(&Method::POST, path).refuse.unwrap();
            assert_eq!((status.as_u16(), retry), (503, Some(2)));
        }
        assert!(faults.decide(&Method::POST, path).refuse.is_none());

        faults.clear();
        faults
            .add(spec(
                serde_json::json!({"status": 403, "after": 2, "count": 1}),
            ))
            .unwrap();
        let refused: Vec<bool> = (0..4)
            .map(|_| faults.decide(&Method::GET, path).refuse.is_some())
            .collect();
        assert_eq!(refused, [false, false, true, false]);
    }

    #[test]
    fn the_rate_limit_refuses_beyond_n_per_second() {
        let faults = Faults::default();
        faults
            .add(spec(serde_json::json!({"rate_limit": 3})))
            .unwrap();
        let refused = (0..5)
            .filter(|_| {
                faults
                    .decide(&Method::GET, "/identity/v3/projects")
                    .refuse
                    .is_some()
            })
            .count();
        assert_eq!(refused, 2);
    }

    #[test]
    fn latency_and_jitter_add_up() {
        let faults = Faults::default();
        faults
            .add(spec(serde_json::json!({"latency_ms": 20, "jitter_ms": 10})))
            .unwrap();
        let delay = faults.decide(&Method::GET, "/identity/v3").delay;
        assert!(delay >= Duration::from_millis(20) && delay <= Duration::from_millis(30));
        faults.clear();
        assert!(faults.decide(&Method::GET, "/identity/v3").delay.is_zero());
    }
}
