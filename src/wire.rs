//! The IAM API's JSON bodies, shared by the `cloud` client and the `emulator` server so the two
//! can never drift apart. `docs/api.md` is the prose form of this module. Unknown fields are
//! ignored on input (a real KakaoCloud answer may carry more).

use serde::{Deserialize, Serialize};

/// Keystone error body: `{"error": {"code", "message", "title"}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// HTTP status code.
    pub code: u16,
    /// Human-readable message.
    pub message: String,
    /// Short title (`Bad Request`, `Conflict`, …).
    pub title: String,
}

/// `pagination` object of kcform-defined list routes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pagination {
    /// Number of matching objects in all pages.
    pub total: usize,
    /// Offset of this page.
    pub offset: usize,
    /// Page size used.
    pub limit: usize,
}

/// `POST /identity/v3/auth/tokens` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    /// `auth`.
    pub auth: Auth,
}

/// `auth` of [`AuthRequest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Auth {
    /// `identity`.
    pub identity: Identity,
}

/// `identity` of [`Auth`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    /// Must contain `application_credential`.
    pub methods: Vec<String>,
    /// The credential.
    pub application_credential: Option<AppCredAuth>,
}

/// Application-credential identity: `id`+`secret`, or `name`+`secret`+`user.id`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AppCredAuth {
    /// Credential ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Credential name (with `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The secret.
    pub secret: String,
    /// The owner, when authenticating by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
}

/// `{"id": …, "name": …}` reference to a user.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserRef {
    /// User ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<NamedRef>,
}

/// `{"id", "name"}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NamedRef {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
}

/// `{"token": …}` answer of token issue and validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenBody {
    /// The token.
    pub token: Token,
}

/// A Keystone token body (the token string itself travels in `X-Subject-Token`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    /// RFC 3339 expiry.
    pub expires_at: String,
    /// RFC 3339 issue time.
    pub issued_at: String,
    /// `["application_credential"]`.
    pub methods: Vec<String>,
    /// The user the token acts as.
    pub user: UserRef,
    /// The project the token is scoped to (a service account's project), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<NamedRef>,
    /// Roles: `org-admin`, `org-reader`, `project-admin`, `project-member`, `project-reader`.
    #[serde(default)]
    pub roles: Vec<NamedRef>,
    /// kcform extension: project-level roles by project name (`"analytics": "project-admin"`).
    #[serde(default)]
    pub project_roles: std::collections::BTreeMap<String, String>,
    /// The credential used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_credential: Option<TokenAppCred>,
    /// Service catalog (identity endpoint only).
    #[serde(default)]
    pub catalog: Vec<CatalogEntry>,
}

/// `application_credential` inside a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenAppCred {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Always `true`: an access key cannot create other credentials.
    pub restricted: bool,
}

/// Service catalog entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// `identity`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `keystone`.
    pub name: String,
    /// Catalog entry ID.
    pub id: String,
    /// Endpoints.
    pub endpoints: Vec<CatalogEndpoint>,
}

/// One endpoint of a catalog entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogEndpoint {
    /// Endpoint ID.
    pub id: String,
    /// `public`.
    pub interface: String,
    /// Region name.
    pub region: String,
    /// Region ID.
    pub region_id: String,
    /// URL ending in `/identity/v3`.
    pub url: String,
}

/// A project as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Project {
    /// 32-hex unique ID.
    pub id: String,
    /// Immutable name.
    pub name: String,
    /// Display name.
    pub nickname: String,
    /// Description (empty when unset).
    #[serde(default)]
    pub description: String,
    /// RFC 3339 creation time.
    #[serde(default)]
    pub created_at: String,
}

/// `{"project": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectBody {
    /// The project.
    pub project: Project,
}

/// `{"projects": […], "pagination": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectList {
    /// This page.
    pub projects: Vec<Project>,
    /// Paging.
    pub pagination: Pagination,
}

/// `POST /identity/v3/projects` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateProjectBody {
    /// The new project.
    pub project: CreateProject,
}

/// Inside [`CreateProjectBody`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateProject {
    /// Name.
    pub name: String,
    /// Nickname.
    pub nickname: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

/// `PATCH /identity/v3/projects/{id}` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateProjectBody {
    /// The fields to change.
    pub project: UpdateProject,
}

/// Inside [`UpdateProjectBody`]; `name` is accepted only to be refused.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateProject {
    /// Refused: names are immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A service account as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServiceAccount {
    /// The Keystone user ID (32 hex).
    pub id: String,
    /// Name.
    pub name: String,
    /// `{name}-{project-id}@kc.serviceaccount.com`.
    pub email: String,
    /// Owning project ID.
    pub project_id: String,
    /// `active` or `inactive`.
    pub status: String,
    /// RFC 3339 creation time.
    #[serde(default)]
    pub created_at: String,
}

/// `{"service_account": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceAccountBody {
    /// The service account.
    pub service_account: ServiceAccount,
}

/// `{"service_accounts": […], "pagination": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceAccountList {
    /// This page.
    pub service_accounts: Vec<ServiceAccount>,
    /// Paging.
    pub pagination: Pagination,
}

/// `POST …/service_accounts` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateServiceAccountBody {
    /// The new account.
    pub service_account: CreateServiceAccount,
}

/// Inside [`CreateServiceAccountBody`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateServiceAccount {
    /// Name.
    pub name: String,
    /// `active` (default) or `inactive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// `PATCH …/service_accounts/{id}` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateServiceAccountBody {
    /// The fields to change.
    pub service_account: UpdateServiceAccount,
}

/// Inside [`UpdateServiceAccountBody`]; only `status` may change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateServiceAccount {
    /// Refused: names are immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A service agent (read-only).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServiceAgent {
    /// User ID.
    pub id: String,
    /// `{project-id}@{service}.kc.serviceaccount.com`.
    pub email: String,
    /// The service that created it.
    pub service: String,
    /// Owning project ID.
    pub project_id: String,
    /// RFC 3339 creation time.
    #[serde(default)]
    pub created_at: String,
}

/// `{"service_agent": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceAgentBody {
    /// The agent.
    pub service_agent: ServiceAgent,
}

/// `{"service_agents": […], "pagination": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceAgentList {
    /// This page.
    pub service_agents: Vec<ServiceAgent>,
    /// Paging.
    pub pagination: Pagination,
}

/// An access key: a Keystone application credential (plus kcform's `status`, `created_at`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApplicationCredential {
    /// Access key ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description (Keystone sends `null` when unset).
    #[serde(default)]
    pub description: Option<String>,
    /// Owning user (service account) ID.
    pub user_id: String,
    /// The service account's project ID.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Roles it carries.
    #[serde(default)]
    pub roles: Vec<NamedRef>,
    /// Always `null`: keys have no expiry setting.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Always `false`.
    #[serde(default)]
    pub unrestricted: bool,
    /// Always empty.
    #[serde(default)]
    pub access_rules: Vec<serde_json::Value>,
    /// Self link.
    #[serde(default)]
    pub links: serde_json::Value,
    /// kcform extension: `active`, or `expired` once its service account was deactivated.
    #[serde(default = "default_key_status")]
    pub status: String,
    /// kcform extension: RFC 3339 creation time.
    #[serde(default)]
    pub created_at: String,
    /// The secret: present only in the answer to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn default_key_status() -> String {
    "active".to_string()
}

/// `{"application_credential": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplicationCredentialBody {
    /// The credential.
    pub application_credential: ApplicationCredential,
}

/// `{"application_credentials": […], "links"?, "pagination"?}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplicationCredentialList {
    /// This page.
    pub application_credentials: Vec<ApplicationCredential>,
    /// Keystone links (per-user listing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<serde_json::Value>,
    /// Paging (project-wide listing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
}

/// An access key as kcform reads it from a listing: only the fields a plan uses. Serde skips
/// the rest (`roles`, `links`, …) without allocating, which matters at tens of thousands of
/// keys.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ListedAccessKey {
    /// Access key ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description (Keystone sends `null` when unset).
    #[serde(default)]
    pub description: Option<String>,
    /// Owning user (service account) ID.
    pub user_id: String,
    /// kcform extension: `active`, or `expired` once its service account was deactivated.
    #[serde(default = "default_key_status")]
    pub status: String,
    /// kcform extension: RFC 3339 creation time.
    #[serde(default)]
    pub created_at: String,
}

/// A page of a key listing, read as [`ListedAccessKey`]s.
#[derive(Debug, Clone, Deserialize)]
pub struct ListedAccessKeyPage {
    /// This page.
    pub application_credentials: Vec<ListedAccessKey>,
    /// Paging (project-wide listing).
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

/// `POST /identity/v3/users/{user_id}/application_credentials` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateApplicationCredentialBody {
    /// The new credential.
    pub application_credential: CreateApplicationCredential,
}

/// Inside [`CreateApplicationCredentialBody`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateApplicationCredential {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Client-chosen secret (Keystone allows it; generated when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Must be absent or `null`: keys have no expiry setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Ignored roles request (the key carries its account's roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<serde_json::Value>>,
    /// Must be absent or `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unrestricted: Option<bool>,
}

/// `POST /_emulator/users` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EmulatorUserRequest {
    /// User name.
    pub name: String,
    /// `org-admin` or `org-reader`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_role: Option<String>,
    /// Project name → `project-admin` | `project-member` | `project-reader`.
    #[serde(default)]
    pub project_roles: std::collections::BTreeMap<String, String>,
}

/// `POST /_emulator/users` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmulatorUser {
    /// The user's ID.
    pub user_id: String,
    /// Its access key.
    pub access_key: AccessKeyCredential,
}

/// An access key ID and secret, as written by `--bootstrap-credentials`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessKeyCredential {
    /// Access key ID.
    pub id: String,
    /// Secret access key.
    pub secret: String,
}
