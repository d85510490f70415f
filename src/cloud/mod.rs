//! The IAM HTTP client (reqwest): Keystone token issue and reuse, bounded concurrency, paged
//! listings, and one typed method per API call. Everything that calls the IAM API does so
//! through this client; `state` (S3) and `emulator` do other network I/O (docs/design.md#io).

mod agents;
mod answers;
mod calls;
mod error;
pub mod limiter;
mod read;
pub mod retry;
pub mod routes;

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::secret::Secret;
use crate::wire;

use answers::{api_error, is_keystone_error, serde_problem};
pub use error::CloudError;
pub use read::{Arrival, ProjectReads, read_live, read_live_each};
pub use retry::RetryPolicy;
use retry::{Failure, Verdict};

/// An access key used to authenticate (Keystone application credential).
#[derive(Debug, Clone)]
pub struct Credential {
    /// Access key ID.
    pub id: String,
    /// Secret access key.
    pub secret: Secret,
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Requests in flight at once.
    pub parallelism: usize,
    /// Timeout of one request.
    pub timeout: Duration,
    /// How failed calls are retried.
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            parallelism: crate::limits::DEFAULT_PARALLELISM,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientOptions {
    /// The defaults, with the timeout and attempts given (from `KCFORM_HTTP_TIMEOUT` and
    /// `KCFORM_HTTP_ATTEMPTS`, read by the settings) when set.
    pub fn tuned(timeout: Option<Duration>, attempts: Option<u32>) -> ClientOptions {
        let defaults = ClientOptions::default();
        ClientOptions {
            timeout: timeout.unwrap_or(defaults.timeout),
            retry: RetryPolicy {
                attempts: attempts.unwrap_or(defaults.retry.attempts),
                ..defaults.retry
            },
            ..defaults
        }
    }
}

/// One answered attempt: status, headers and body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    bytes: bytes::Bytes,
}

struct CachedToken {
    value: Secret,
    expires_at: OffsetDateTime,
    body: wire::Token,
}

/// Tokens are renewed this long before they expire, so a long apply never sends a dead one.
const TOKEN_RENEW_MARGIN: time::Duration = time::Duration::minutes(5);

/// The IAM client. Cheap to share behind an `Arc`.
pub struct Client {
    http: reqwest::Client,
    base: String,
    credential: Credential,
    token: Mutex<Option<CachedToken>>,
    /// Requests in flight: at most `parallelism`, fewer while the API answers 429.
    limiter: limiter::Limiter,
    retry: RetryPolicy,
}

/// A newly created access key and its secret, which the API shows only this once.
#[derive(Debug)]
pub struct CreatedKey {
    /// The key as the API describes it (without secret).
    pub key: wire::ApplicationCredential,
    /// The secret.
    pub secret: Secret,
    /// Why the create's answer could not be read in full, when the key's ID and secret were
    /// taken from it all the same (so that the key is not lost).
    pub unread: Option<String>,
}

/// Checks an endpoint by the rule of [`crate::endpoint`] and gives its base URL (without a
/// trailing `/identity/v3` or `/identity`).
pub fn check_endpoint(endpoint: &str) -> Result<String, CloudError> {
    let base = crate::endpoint::parse(endpoint).map_err(|e| CloudError::Endpoint {
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    })?;
    // The routes begin with `/identity/v3`: an endpoint given as Keystone's address
    // (`…/identity`) or as an OpenStack `auth_url` (`…/identity/v3`) means its host.
    Ok(base
        .strip_suffix("/identity/v3")
        .or_else(|| base.strip_suffix("/identity"))
        .unwrap_or(&base)
        .to_string())
}

impl Client {
    /// A client for `endpoint` that authenticates with `credential`.
    pub fn new(
        endpoint: &str,
        credential: Credential,
        options: &ClientOptions,
    ) -> Result<Client, CloudError> {
        let base = check_endpoint(endpoint)?;
        // `check_endpoint` allows plain http only on a loopback address, where no TLS is ever
        // spoken; reading the system's root certificates would cost every run milliseconds
        // before its first request. (A redirect to https would then fail verification: closed.)
        let tls = base.starts_with("https://");
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .user_agent(concat!("kcform/", env!("CARGO_PKG_VERSION")))
            .tls_built_in_root_certs(tls)
            .build()
            .map_err(|e| CloudError::Endpoint {
                endpoint: endpoint.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Client {
            http,
            base,
            credential,
            token: Mutex::new(None),
            limiter: limiter::Limiter::new(options.parallelism),
            retry: options.retry.clone(),
        })
    }

    /// The base URL.
    pub fn endpoint(&self) -> &str {
        &self.base
    }

    /// Sets the most requests in flight (see [`limiter::Limiter::set_max`]).
    pub fn set_parallelism(&self, parallelism: usize) {
        self.limiter.set_max(parallelism);
    }

    /// The token body of the current token (issuing one if needed): who the credential is and
    /// which roles it holds.
    pub async fn whoami(&self) -> Result<wire::Token, CloudError> {
        self.token().await?;
        let guard = self.token.lock().await;
        guard
            .as_ref()
            .map(|cached| cached.body.clone())
            .ok_or_else(|| CloudError::Protocol {
                method: "POST".into(),
                path: routes::AUTH_TOKENS.into(),
                detail: "no token after authentication".into(),
            })
    }

    async fn token(&self) -> Result<Secret, CloudError> {
        let mut guard = self.token.lock().await;
        if let Some(cached) = guard.as_ref()
            && cached.expires_at - TOKEN_RENEW_MARGIN > OffsetDateTime::now_utc()
        {
            return Ok(cached.value.clone());
        }
        let issued = self.issue_token().await?;
        let value = issued.value.clone();
        *guard = Some(issued);
        Ok(value)
    }

    async fn issue_token(&self) -> Result<CachedToken, CloudError> {
        let body = wire::AuthRequest {
            auth: wire::Auth {
                identity: wire::Identity {
                    methods: vec!["application_credential".to_string()],
                    application_credential: Some(wire::AppCredAuth {
                        id: Some(self.credential.id.clone()),
                        secret: self.credential.secret.expose().to_string(),
                        ..Default::default()
                    }),
                },
            },
        };
        let path = routes::AUTH_TOKENS;
        // Issuing a token twice is harmless, so this POST is retried like a read.
        let answer = self
            .with_retries(true, || {
                self.exchange(Method::POST, path, &[], Some(&body), None)
            })
            .await?;
        let (status, bytes) = (answer.status, &answer.bytes);
        let header = answer
            .headers
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if status != StatusCode::CREATED {
            return Err(api_error("POST", path, status, &answer.headers, bytes));
        }
        let protocol = |detail: String| CloudError::Protocol {
            method: "POST".into(),
            path: path.into(),
            detail,
        };
        let value = header.ok_or_else(|| protocol("no X-Subject-Token header".into()))?;
        let token: wire::TokenBody =
            serde_json::from_slice(bytes).map_err(|e| protocol(format!("token body: {e}")))?;
        let expires_at = OffsetDateTime::parse(
            &token.token.expires_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| protocol(format!("token expires_at: {e}")))?;
        Ok(CachedToken {
            value: Secret::new(value),
            expires_at,
            body: token.token,
        })
    }

    fn transport(&self, method: &str, path: &str, error: reqwest::Error) -> CloudError {
        // reqwest's Display names the URL, which may carry a query but never a secret; the
        // source chain holds the useful part (connection refused, timed out…).
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(inner) = source {
            detail = format!("{detail}: {inner}");
            source = inner.source();
        }
        CloudError::Transport {
            method: method.to_string(),
            path: path.to_string(),
            endpoint: self.base.clone(),
            detail,
            maybe_sent: !error.is_connect(),
        }
    }

    /// One attempt: sends the request and reads the whole answer, whatever its status.
    async fn exchange<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        token: Option<&Secret>,
    ) -> Result<Answer, CloudError> {
        let permit = self.limiter.acquire().await;
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token.expose());
        }
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.transport(method.as_str(), path, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| retry::parse_retry_after(v, OffsetDateTime::now_utc()))
                .filter(|wait| *wait <= self.retry.max_retry_after);
            permit.throttled(retry_after);
        } else {
            permit.succeeded();
        }
        let bytes = response.bytes().await.map_err(|e| {
            let mut error = self.transport(method.as_str(), path, e);
            if let CloudError::Transport { maybe_sent, .. } = &mut error {
                *maybe_sent = true;
            }
            error
        })?;
        Ok(Answer {
            status,
            headers,
            bytes,
        })
    }

    /// Runs `attempt` until it answers with a status that is not worth retrying, retrying
    /// transient failures (see [`retry::verdict`]) after a backoff or the server's
    /// `Retry-After`. The last answer is returned as is, success or not; only a failure with no
    /// answer at all is an error.
    async fn with_retries<F, Fut>(
        &self,
        repeatable: bool,
        mut attempt: F,
    ) -> Result<Answer, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Answer, CloudError>>,
    {
        let mut tries = 0;
        let mut throttled = 0;
        loop {
            tries += 1;
            let result = attempt().await;
            let (failure, retry_after) = match &result {
                Ok(answer) if answer.status.is_success() => return result,
                Ok(answer) => (
                    Failure::Status(answer.status.as_u16()),
                    answer
                        .headers
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| retry::parse_retry_after(v, OffsetDateTime::now_utc())),
                ),
                Err(CloudError::Transport { maybe_sent, .. }) => (
                    if *maybe_sent {
                        Failure::NoAnswer
                    } else {
                        Failure::NotSent
                    },
                    None,
                ),
                Err(_) => return result,
            };
            // A 429 says the server did nothing and wants fewer requests: the limiter adapts,
            // and such refusals do not use up the call's attempts (up to a bound).
            if failure == Failure::Status(429) && throttled < retry::MAX_THROTTLED_RETRIES {
                throttled += 1;
                tries -= 1;
            }
            if tries >= self.retry.attempts || retry::verdict(repeatable, failure) == Verdict::Fail
            {
                return result;
            }
            let wait = match retry_after {
                Some(wait) if wait > self.retry.max_retry_after => return result,
                Some(wait) => wait,
                None => self.retry.backoff(tries),
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends one authenticated request, retrying transient failures of calls that are safe to
    /// repeat; a 401 re-issues the token once and retries. A DELETE answering 404 after an
    /// attempt whose answer was lost counts as done: that attempt deleted the object.
    async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<(StatusCode, bytes::Bytes), CloudError> {
        let repeatable = retry::idempotent(&method);
        let mut reissued = false;
        let lost_earlier = std::sync::atomic::AtomicBool::new(false);
        loop {
            let token = self.token().await?;
            let answer = self
                .with_retries(repeatable, || {
                    let attempt = self.exchange(method.clone(), path, query, body, Some(&token));
                    let lost_earlier = &lost_earlier;
                    async move {
                        let result = attempt.await;
                        let lost = match &result {
                            Err(error) => error.is_ambiguous(),
                            Ok(answer) => matches!(answer.status.as_u16(), 500 | 502 | 504),
                        };
                        if lost {
                            lost_earlier.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                        result
                    }
                })
                .await?;
            let status = answer.status;
            // A token whose key was deleted: Keystone answers `404 Could not find Application
            // Credential: <its ID>` rather than 401. Either way the token is dead; a new one is
            // tried once, and if the key is really gone, its issue reports that.
            let token_dead = status == StatusCode::UNAUTHORIZED
                || (status == StatusCode::NOT_FOUND && self.names_own_credential(&answer.bytes));
            if token_dead && !reissued {
                reissued = true;
                *self.token.lock().await = None;
                continue;
            }
            if status == StatusCode::NOT_FOUND
                && method == Method::DELETE
                && lost_earlier.load(std::sync::atomic::Ordering::Relaxed)
            {
                return Ok((StatusCode::NO_CONTENT, bytes::Bytes::new()));
            }
            if !status.is_success() {
                let error = api_error(
                    method.as_str(),
                    path,
                    status,
                    &answer.headers,
                    &answer.bytes,
                );
                // The token was issued, so the endpoint speaks Keystone; a 404 that is not a
                // Keystone error is a route it does not have at all.
                if status == StatusCode::NOT_FOUND
                    && !is_keystone_error(&answer.bytes)
                    && let CloudError::Api { title, message, .. } = error
                {
                    return Err(CloudError::NotServed {
                        method: method.to_string(),
                        path: path.to_string(),
                        endpoint: self.base.clone(),
                        answer: format!("{} {title}: {message}", status.as_u16()),
                    });
                }
                return Err(error);
            }
            return Ok((status, answer.bytes));
        }
    }

    /// Whether an error answer is Keystone's "Could not find Application Credential" about
    /// the credential this client authenticates with.
    fn names_own_credential(&self, bytes: &[u8]) -> bool {
        serde_json::from_slice::<wire::ErrorBody>(bytes).is_ok_and(|body| {
            body.error.message.contains(UNKNOWN_CREDENTIAL)
                && body.error.message.contains(&self.credential.id)
        })
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, CloudError> {
        let (_, bytes) = self.send(method.clone(), path, query, body).await?;
        // The request's permit is free again and may have woken a waiting request, queued
        // behind this task on this thread; decoding a page first would hold that request
        // back (at scale, a quarter of a millisecond on every round trip).
        tokio::task::yield_now().await;
        serde_json::from_slice(&bytes).map_err(|e| CloudError::Protocol {
            method: method.to_string(),
            path: path.to_string(),
            detail: format!(
                "the answer is not in the shape of docs/api.md: {}",
                serde_problem(&e)
            ),
        })
    }

    async fn delete(&self, path: &str) -> Result<(), CloudError> {
        self.send::<()>(Method::DELETE, path, &[], None).await?;
        Ok(())
    }

    /// Reads every page of a listing. A kcform-paged one (`pagination`): the first page tells
    /// the total, the rest are fetched concurrently. A Keystone-paged one (`links.next`, as
    /// Keystone's own `GET /identity/v3/projects` answers): each page names the next.
    async fn list_all<P, T>(
        &self,
        path: &str,
        filter: &[(&str, String)],
        items: fn(P) -> (Vec<T>, Paging),
    ) -> Result<Vec<T>, CloudError>
    where
        P: DeserializeOwned,
    {
        let page = |offset: usize| {
            let mut query: Vec<(&str, String)> = filter.to_vec();
            query.push(("limit", routes::PAGE_LIMIT.to_string()));
            query.push(("offset", offset.to_string()));
            async move {
                let page: P = self.call::<(), P>(Method::GET, path, &query, None).await?;
                Ok::<_, CloudError>(items(page))
            }
        };
        let (mut all, paging) = page(0).await?;
        match paging {
            Paging::Offsets(pagination) => {
                let step = pagination.limit.max(1);
                if pagination.total > all.len() {
                    let offsets: Vec<usize> = (all.len().max(step)..pagination.total)
                        .step_by(step)
                        .collect();
                    let pages =
                        futures_util::future::try_join_all(offsets.into_iter().map(page)).await?;
                    for (items, _) in pages {
                        all.extend(items);
                    }
                }
            }
            Paging::Linked(mut next) => {
                let mut followed = 0;
                while let Some(link) = next.take() {
                    followed += 1;
                    let (next_path, query) =
                        link_route(&link).ok_or_else(|| CloudError::Protocol {
                            method: "GET".into(),
                            path: path.to_string(),
                            detail: format!(
                                "the listing's `links.next` ({link}) is not a route under \
                                 /identity/v3/"
                            ),
                        })?;
                    if followed > MAX_LINKED_PAGES {
                        return Err(CloudError::Protocol {
                            method: "GET".into(),
                            path: path.to_string(),
                            detail: format!(
                                "the listing goes on for more than {MAX_LINKED_PAGES} pages"
                            ),
                        });
                    }
                    let query: Vec<(&str, String)> =
                        query.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                    let page: P = self
                        .call::<(), P>(Method::GET, &next_path, &query, None)
                        .await?;
                    let (items, paging) = items(page);
                    // A page that adds nothing would be followed forever.
                    if !items.is_empty()
                        && let Paging::Linked(following) = paging
                    {
                        next = following;
                    }
                    all.extend(items);
                }
            }
        }
        Ok(all)
    }
}

/// How Keystone's `404` for an unknown application credential begins.
const UNKNOWN_CREDENTIAL: &str = "Could not find Application Credential";

/// How a listing page says what follows it.
enum Paging {
    /// kcform's `pagination {total, offset, limit}`.
    Offsets(wire::Pagination),
    /// Keystone's `links.next`: the URL of the next page, `None` on the last.
    Linked(Option<String>),
}

/// Most pages of a Keystone-paged listing followed, so that a server whose `next` never ends
/// cannot keep kcform reading forever.
const MAX_LINKED_PAGES: usize = 10_000;

/// A project page, in kcform's shape or Keystone's (no `pagination`: `links`, or nothing when
/// the answer holds the whole listing).
fn project_page(page: wire::ProjectPage) -> (Vec<wire::Project>, Paging) {
    let paging = match page.pagination {
        Some(pagination) => Paging::Offsets(pagination),
        None => Paging::Linked(page.links.and_then(|links| links.next)),
    };
    (page.projects, paging)
}

/// The route and query of a Keystone `links.next` URL, from `/identity/v3/` on: the link names
/// Keystone's own public URL, which may differ from the endpoint kcform was given.
fn link_route(link: &str) -> Option<(String, Vec<(String, String)>)> {
    let url = reqwest::Url::parse(link).ok()?;
    let at = url.path().find("/identity/v3/")?;
    let path = url.path()[at..].to_string();
    let query = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Some((path, query))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_may_name_the_identity_service_or_its_v3() {
        for endpoint in [
            "https://iam.example.com",
            "https://iam.example.com/",
            "https://iam.example.com/identity",
            "https://iam.example.com/identity/",
            "https://iam.example.com/identity/v3",
            "https://iam.example.com/identity/v3/",
        ] {
            assert_eq!(
                check_endpoint(endpoint).unwrap(),
                "https://iam.example.com",
                "{endpoint}"
            );
        }
        assert_eq!(
            check_endpoint("https://proxy.example.com/kc/identity/v3").unwrap(),
            "https://proxy.example.com/kc"
        );
    }

    #[test]
    fn keystone_next_links_become_routes() {
        let (path, query) = link_route(
            "http://keystone.example:5000/identity/v3/projects?limit=1&offset=0&marker=ab12",
        )
        .unwrap();
        assert_eq!(path, "/identity/v3/projects");
        assert_eq!(
            query,
            [
                ("limit".to_string(), "1".to_string()),
                ("offset".to_string(), "0".to_string()),
                ("marker".to_string(), "ab12".to_string())
            ]
        );
        assert_eq!(link_route("http://h/elsewhere/projects"), None);
        assert_eq!(link_route("not a url"), None);
    }
}
