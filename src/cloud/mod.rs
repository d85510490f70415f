//! The IAM HTTP client (reqwest): Keystone token issue and reuse, bounded concurrency, paged
//! listings, and one typed method per API call. Everything that calls the IAM API does so
//! through this client; `state` (S3) and `emulator` do other network I/O (docs/design.md#io).

mod agents;
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

use crate::model::Status;
use crate::secret::Secret;
use crate::wire;

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

    /// Every project the credential may view.
    pub async fn list_projects(&self) -> Result<Vec<wire::Project>, CloudError> {
        self.list_all(&routes::projects(), &[], project_page).await
    }

    /// A project's service accounts (never its service agents).
    pub async fn list_service_accounts(
        &self,
        project_id: &str,
    ) -> Result<Vec<wire::ServiceAccount>, CloudError> {
        self.list_all(
            &routes::service_accounts(project_id),
            &[],
            |page: wire::ServiceAccountList| {
                (page.service_accounts, Paging::Offsets(page.pagination))
            },
        )
        .await
    }

    /// Looks a service account up by name (used after a lost create answer).
    pub async fn find_service_account(
        &self,
        project_id: &str,
        name: &str,
    ) -> Result<Option<wire::ServiceAccount>, CloudError> {
        let found = self
            .list_all(
                &routes::service_accounts(project_id),
                &[("name", name.to_string())],
                |page: wire::ServiceAccountList| {
                    (page.service_accounts, Paging::Offsets(page.pagination))
                },
            )
            .await?;
        Ok(found.into_iter().find(|account| account.name == name))
    }

    /// Looks a project up by name (used after a lost create answer).
    pub async fn find_project(&self, name: &str) -> Result<Option<wire::Project>, CloudError> {
        let found = self
            .list_all(
                &routes::projects(),
                &[("name", name.to_string())],
                project_page,
            )
            .await?;
        Ok(found.into_iter().find(|project| project.name == name))
    }

    /// Looks a service account's access key up by its remote name (used after a lost create
    /// answer). The answer never holds a secret.
    pub async fn find_access_key(
        &self,
        user_id: &str,
        name: &str,
    ) -> Result<Option<wire::ApplicationCredential>, CloudError> {
        let page: wire::ApplicationCredentialList = self
            .call::<(), _>(
                Method::GET,
                &routes::access_keys(user_id),
                &[("name", name.to_string())],
                None,
            )
            .await?;
        Ok(page
            .application_credentials
            .into_iter()
            .find(|key| key.name == name))
    }

    /// Every access key of a project's service accounts, in one paged listing.
    pub async fn list_project_access_keys(
        &self,
        project_id: &str,
    ) -> Result<Vec<wire::ListedAccessKey>, CloudError> {
        self.list_all(
            &routes::project_access_keys(project_id),
            &[],
            |page: wire::ListedAccessKeyPage| {
                let total = page.application_credentials.len();
                let pagination = page.pagination.unwrap_or(wire::Pagination {
                    total,
                    offset: 0,
                    limit: total,
                });
                (page.application_credentials, Paging::Offsets(pagination))
            },
        )
        .await
    }

    /// Creates a project.
    pub async fn create_project(
        &self,
        name: &str,
        nickname: &str,
        description: &str,
    ) -> Result<wire::Project, CloudError> {
        let body = wire::CreateProjectBody {
            project: wire::CreateProject {
                name: name.to_string(),
                nickname: nickname.to_string(),
                description: description.to_string(),
            },
        };
        let answer: wire::ProjectBody = self
            .call(Method::POST, &routes::projects(), &[], Some(&body))
            .await?;
        Ok(answer.project)
    }

    /// Changes a project's nickname and description.
    pub async fn update_project(
        &self,
        project_id: &str,
        nickname: &str,
        description: &str,
    ) -> Result<wire::Project, CloudError> {
        let body = wire::UpdateProjectBody {
            project: wire::UpdateProject {
                name: None,
                nickname: Some(nickname.to_string()),
                description: Some(description.to_string()),
            },
        };
        let answer: wire::ProjectBody = self
            .call(
                Method::PATCH,
                &routes::project(project_id),
                &[],
                Some(&body),
            )
            .await?;
        Ok(answer.project)
    }

    /// Creates a service account.
    pub async fn create_service_account(
        &self,
        project_id: &str,
        name: &str,
        status: Status,
    ) -> Result<wire::ServiceAccount, CloudError> {
        let body = wire::CreateServiceAccountBody {
            service_account: wire::CreateServiceAccount {
                name: name.to_string(),
                status: Some(status.as_str().to_string()),
            },
        };
        let answer: wire::ServiceAccountBody = self
            .call(
                Method::POST,
                &routes::service_accounts(project_id),
                &[],
                Some(&body),
            )
            .await?;
        Ok(answer.service_account)
    }

    /// Sets a service account's status.
    pub async fn set_service_account_status(
        &self,
        project_id: &str,
        user_id: &str,
        status: Status,
    ) -> Result<wire::ServiceAccount, CloudError> {
        let body = wire::UpdateServiceAccountBody {
            service_account: wire::UpdateServiceAccount {
                name: None,
                status: Some(status.as_str().to_string()),
            },
        };
        let answer: wire::ServiceAccountBody = self
            .call(
                Method::PATCH,
                &routes::service_account(project_id, user_id),
                &[],
                Some(&body),
            )
            .await?;
        Ok(answer.service_account)
    }

    /// Deletes a service account (its keys and tokens go with it).
    pub async fn delete_service_account(
        &self,
        project_id: &str,
        user_id: &str,
    ) -> Result<(), CloudError> {
        self.delete(&routes::service_account(project_id, user_id))
            .await
    }

    /// Creates an access key and returns its secret, which is never shown again.
    pub async fn create_access_key(
        &self,
        user_id: &str,
        name: &str,
        description: &str,
    ) -> Result<CreatedKey, CloudError> {
        let body = wire::CreateApplicationCredentialBody {
            application_credential: wire::CreateApplicationCredential {
                name: name.to_string(),
                description: (!description.is_empty()).then(|| description.to_string()),
                ..Default::default()
            },
        };
        let path = routes::access_keys(user_id);
        let (_, bytes) = self.send(Method::POST, &path, &[], Some(&body)).await?;
        let protocol = |detail: String| CloudError::Protocol {
            method: "POST".into(),
            path: path.clone(),
            detail,
        };
        let error = match serde_json::from_slice::<wire::ApplicationCredentialBody>(&bytes) {
            Ok(mut answer) => {
                let secret = answer.application_credential.secret.take().ok_or_else(|| {
                    protocol("the created access key came without its secret".into())
                })?;
                return Ok(CreatedKey {
                    key: answer.application_credential,
                    secret: Secret::new(secret),
                    unread: None,
                });
            }
            Err(error) => serde_problem(&error),
        };
        // The key exists now, and its secret is only in this answer: whatever else is wrong
        // with it, the ID and the secret are taken from it if they are there at all.
        let loose: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        let created = loose.as_ref().and_then(|v| v.get("application_credential"));
        let text = |field: &str| {
            created
                .and_then(|c| c.get(field))
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        match (text("id"), text("secret")) {
            (Some(id), Some(secret)) => Ok(CreatedKey {
                key: wire::ApplicationCredential {
                    id,
                    name: name.to_string(),
                    description: (!description.is_empty()).then(|| description.to_string()),
                    user_id: user_id.to_string(),
                    project_id: None,
                    roles: Vec::new(),
                    expires_at: None,
                    unrestricted: false,
                    access_rules: Vec::new(),
                    links: serde_json::Value::Null,
                    status: "active".to_string(),
                    created_at: text("created_at").unwrap_or_default(),
                    secret: None,
                },
                secret: Secret::new(secret),
                unread: Some(error),
            }),
            _ => Err(protocol(format!(
                "cannot read the answer to the create, not even the new key's ID and secret: \
                 {error}"
            ))),
        }
    }

    /// Deletes an access key (tokens issued with it expire).
    pub async fn delete_access_key(&self, user_id: &str, key_id: &str) -> Result<(), CloudError> {
        self.delete(&routes::access_key(user_id, key_id)).await
    }
}

/// A decoding error as one short phrase: without serde's position (`at line 1 column 320`),
/// which says nothing to a user, and without the values it quotes, which could be anything
/// the server sent.
fn serde_problem(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => text.as_str(),
    };
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            if !quoted {
                out.push_str("\"…");
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
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

fn api_error(
    method: &str,
    path: &str,
    status: StatusCode,
    headers: &HeaderMap,
    bytes: &[u8],
) -> CloudError {
    let (title, message) = match serde_json::from_slice::<wire::ErrorBody>(bytes) {
        Ok(body) => (
            one_line(&body.error.title, 100),
            one_line(&body.error.message, 1000),
        ),
        Err(_) => summarize_foreign(status, headers, bytes),
    };
    CloudError::Api {
        method: method.to_string(),
        path: path.to_string(),
        status: status.as_u16(),
        title,
        message,
    }
}

/// Whether an error answer is in Keystone's error format.
fn is_keystone_error(bytes: &[u8]) -> bool {
    serde_json::from_slice::<wire::ErrorBody>(bytes).is_ok()
}

/// Longest excerpt of a non-Keystone error answer that an error message quotes.
const EXCERPT_CHARS: usize = 160;

/// The title and a one-line excerpt of an error answer that is not Keystone's error JSON:
/// Flask's `{"message": …}` (a `405`, with its `Allow` header), or an HTML or text page,
/// whose `<title>` is the title and whose text, tags stripped, gives the excerpt.
fn summarize_foreign(status: StatusCode, headers: &HeaderMap, bytes: &[u8]) -> (String, String) {
    let reason = status.canonical_reason().unwrap_or("Error").to_string();
    let allow = headers
        .get(reqwest::header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(|allowed| format!(" (allowed: {})", one_line(allowed, 100)))
        .unwrap_or_default();
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(bytes)
        && let Some(message) = object.get("message").and_then(|m| m.as_str())
    {
        return (
            reason,
            format!("{}{allow}", one_line(message, EXCERPT_CHARS)),
        );
    }
    let text = String::from_utf8_lossy(bytes);
    let page_title = element_text(&text, "title")
        .map(|t| one_line(&strip_tags(&t), 100))
        .unwrap_or_default();
    // `<title>404 Not Found</title>`: the status is shown already.
    let title = page_title
        .strip_prefix(status.as_str())
        .map_or(page_title.as_str(), str::trim)
        .to_string();
    let title = if title.is_empty() { reason } else { title };
    let mut body = text.to_string();
    for element in ["head", "title", "script", "style"] {
        body = remove_element(&body, element);
    }
    let mut excerpt = one_line(&strip_tags(&body), EXCERPT_CHARS);
    // The page's heading usually repeats its title.
    for heading in [&page_title, &title] {
        if let Some(rest) = excerpt.strip_prefix(heading.as_str())
            && !heading.is_empty()
        {
            excerpt = rest.trim_start().to_string();
        }
    }
    if excerpt.is_empty() {
        excerpt = "(no text)".to_string();
    }
    let kind = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| one_line(v, 60))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "no Content-Type".to_string());
    (
        title,
        format!("{excerpt}{allow} [{kind} answer, not a Keystone error]"),
    )
}

/// The text inside the first `<name …>…</name>` of an HTML page (case-insensitive).
fn element_text(html: &str, name: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find(&format!("<{name}"))?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find(&format!("</{name}"))?;
    Some(html[start..end].to_string())
}

/// `html` without its `<name …>…</name>` elements.
fn remove_element(html: &str, name: &str) -> String {
    let mut out = html.to_string();
    loop {
        let lower = out.to_ascii_lowercase();
        let Some(open) = lower.find(&format!("<{name}")) else {
            return out;
        };
        let close = format!("</{name}");
        let end = match lower[open..].find(&close) {
            Some(at) => {
                let at = open + at;
                at + lower[at..].find('>').map_or(close.len(), |gt| gt + 1)
            }
            None => out.len(),
        };
        out.replace_range(open..end, " ");
    }
}

/// Text with every `<…>` tag replaced by a space and the common entities decoded.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => in_tag = true,
            (true, '>') => {
                in_tag = false;
                out.push(' ');
            }
            (false, c) => out.push(c),
            (true, _) => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// `text` on one line: runs of whitespace and control characters become one space, and more
/// than `limit` characters are cut with `…`.
fn one_line(text: &str, limit: usize) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    if joined.chars().count() <= limit {
        joined
    } else {
        let cut: String = joined.chars().take(limit).collect();
        format!("{}…", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/testdata/keystone/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn message(status: u16, headers: &HeaderMap, file: &str, path: &str) -> String {
        let status = StatusCode::from_u16(status).unwrap();
        api_error("GET", path, status, headers, &fixture(file)).to_string()
    }

    #[test]
    fn keystone_errors_keep_their_title_and_message() {
        let json = headers(&[("content-type", "application/json")]);
        assert_eq!(
            message(404, &json, "error_404_unknown_credential.json", AUTH_PATH),
            "GET /identity/v3/auth/tokens: 404 Not Found: Could not find Application \
             Credential: 00000000000000000000000000000000."
        );
        assert_eq!(
            message(409, &json, "error_409_duplicate_name.json", "/x"),
            "GET /x: 409 Conflict: Conflict occurred attempting to store \
             application_credential - Duplicate entry found with name ci."
        );
    }

    const AUTH_PATH: &str = routes::AUTH_TOKENS;

    #[test]
    fn html_and_flask_errors_are_summarized_on_one_line() {
        let html = headers(&[("content-type", "text/html; charset=utf-8")]);
        let unknown = message(
            404,
            &html,
            "error_404_unknown_route.html",
            "/identity/v3/nonexistent",
        );
        assert_eq!(
            unknown,
            "GET /identity/v3/nonexistent: 404 Not Found: The requested URL was not found on \
             the server. If you entered the URL manually please check your spelling and try \
             again. [text/html answer, not a Keystone error]"
        );
        let too_large = message(413, &html, "error_413_too_large.html", "/k");
        assert_eq!(
            too_large,
            "GET /k: 413 Request Entity Too Large: Request is too large. Larger than \
             max_request_body_size (%s). [text/html answer, not a Keystone error]"
        );
        let flask = message(
            405,
            &headers(&[
                ("content-type", "application/json"),
                ("allow", "DELETE, GET, HEAD, OPTIONS"),
            ]),
            "error_405_method_not_allowed.json",
            "/k",
        );
        assert_eq!(
            flask,
            "GET /k: 405 Method Not Allowed: The method is not allowed for the requested URL. \
             (allowed: DELETE, GET, HEAD, OPTIONS)"
        );
        for text in [&unknown, &too_large, &flask] {
            assert!(!text.contains('<') && !text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn long_or_tagless_pages_are_cut() {
        let page = format!(
            "<html><head><style>p {{}}</style></head><body>\n{}\n</body></html>",
            "word ".repeat(500)
        );
        let (title, excerpt) =
            summarize_foreign(StatusCode::BAD_GATEWAY, &HeaderMap::new(), page.as_bytes());
        assert_eq!(title, "Bad Gateway");
        assert!(excerpt.starts_with("word word"), "{excerpt}");
        assert!(excerpt.contains("… [no Content-Type answer"), "{excerpt}");
        assert!(excerpt.chars().count() < EXCERPT_CHARS + 60, "{excerpt}");
        let (_, empty) = summarize_foreign(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"");
        assert_eq!(
            empty,
            "(no text) [no Content-Type answer, not a Keystone error]"
        );
    }

    #[test]
    fn decoding_errors_lose_their_position_and_quoted_values() {
        let missing =
            serde_json::from_str::<wire::ProjectBody>(r#"{"project": {"id": "x"}}"#).unwrap_err();
        assert_eq!(serde_problem(&missing), "missing field `name`");
        let quoted = serde_json::from_str::<wire::ApplicationCredentialBody>(
            r#"{"application_credential": {"id": "k", "name": "n", "user_id": "u",
                    "unrestricted": "s3cr3t"}}"#,
        )
        .unwrap_err();
        let problem = serde_problem(&quoted);
        assert!(
            !problem.contains("s3cr3t") && !problem.contains("line"),
            "{problem}"
        );
        assert!(problem.starts_with("invalid type: string \"…"), "{problem}");
    }

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
