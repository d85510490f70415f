//! The IAM API's JSON bodies, shared by the `cloud` client and the `emulator` server so the two
//! can never drift apart. `docs/api.md` is the prose form of this module.
//!
//! Decoding is as tolerant as Keystone is loose: unknown fields are ignored (a real answer
//! carries `system`, `domain_id`, `options`, `extra`…), and an optional field may be missing
//! or `null` (Keystone 30 answers `"unrestricted": null`, `"description": null`, no
//! `access_rules`). The answers of a real Keystone 30 in `testdata/keystone/` are decoded by
//! the tests below with these very types.

use serde::{Deserialize, Deserializer, Serialize};

/// Reads a field that may be missing or `null` as its type's default: Keystone sends `null`
/// for unset optional fields where kcform's own answers send a value.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Like [`null_as_default`], for a key's `status` (kcform's extension): `active` when absent.
fn null_as_active<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_else(default_key_status))
}

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
    /// The project the token is scoped to. Every token issued from an application credential
    /// has one (the credential is bound to a project), a person's too: it never tells a
    /// service account from a person (see `permissions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<NamedRef>,
    /// Roles: `org-admin`, `org-reader`, `project-admin`, `project-member`, `project-reader`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub roles: Vec<NamedRef>,
    /// kcform extension: project-level roles by project name (`"analytics": "project-admin"`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub project_roles: std::collections::BTreeMap<String, String>,
    /// The credential used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_credential: Option<TokenAppCred>,
    /// Service catalog (identity endpoint only).
    #[serde(default, deserialize_with = "null_as_default")]
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
    #[serde(default, deserialize_with = "null_as_default")]
    pub restricted: bool,
}

/// Service catalog entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// `identity`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `keystone` (a Keystone service may have no name).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Catalog entry ID.
    pub id: String,
    /// Endpoints.
    #[serde(default, deserialize_with = "null_as_default")]
    pub endpoints: Vec<CatalogEndpoint>,
}

/// One endpoint of a catalog entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogEndpoint {
    /// Endpoint ID.
    pub id: String,
    /// `public`.
    pub interface: String,
    /// Region name (`null` for an endpoint without a region).
    #[serde(default, deserialize_with = "null_as_default")]
    pub region: String,
    /// Region ID.
    #[serde(default, deserialize_with = "null_as_default")]
    pub region_id: String,
    /// URL ending in `/identity/v3`.
    pub url: String,
}

/// A project as the API shows it. Keystone's own project shape decodes too: it stores
/// `nickname` as an extra attribute and returns it at the top level, and a project created
/// without one (Keystone's bootstrap `admin`) has none, read as empty.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Project {
    /// 32-hex unique ID.
    pub id: String,
    /// Immutable name.
    pub name: String,
    /// Display name (empty when the project has none).
    #[serde(default, deserialize_with = "null_as_default")]
    pub nickname: String,
    /// Description (empty when unset).
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// RFC 3339 creation time (Keystone sends none).
    #[serde(default, deserialize_with = "null_as_default")]
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

/// A page of a project listing as the client reads it: kcform's `pagination`, or Keystone's
/// `links` (whose `next` names the following page, or is `null` on the last one).
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectPage {
    /// This page.
    pub projects: Vec<Project>,
    /// Paging of kcform's routes (`docs/api.md`).
    #[serde(default)]
    pub pagination: Option<Pagination>,
    /// Keystone's paging links.
    #[serde(default)]
    pub links: Option<KeystoneLinks>,
}

/// Keystone's `links` of a listing.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeystoneLinks {
    /// URL of the next page; `null` or absent on the last page.
    #[serde(default)]
    pub next: Option<String>,
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
/// Its `Debug` never shows the secret.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
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
    /// The project the key is bound to.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Roles it carries.
    #[serde(default, deserialize_with = "null_as_default")]
    pub roles: Vec<NamedRef>,
    /// Always `null`: keys have no expiry setting.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// `false` from kcform's API; Keystone 30 sends `null`, read as `false`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub unrestricted: bool,
    /// Always empty (Keystone 30 leaves the field out).
    #[serde(default, deserialize_with = "null_as_default")]
    pub access_rules: Vec<serde_json::Value>,
    /// Self link.
    #[serde(default)]
    pub links: serde_json::Value,
    /// kcform extension: `active`, or `expired` once its service account was deactivated.
    #[serde(default = "default_key_status", deserialize_with = "null_as_active")]
    pub status: String,
    /// kcform extension: RFC 3339 creation time (Keystone sends none).
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: String,
    /// The secret: present only in the answer to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl std::fmt::Debug for ApplicationCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicationCredential")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("user_id", &self.user_id)
            .field("status", &self.status)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
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
    #[serde(default = "default_key_status", deserialize_with = "null_as_active")]
    pub status: String,
    /// kcform extension: RFC 3339 creation time.
    #[serde(default, deserialize_with = "null_as_default")]
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

#[cfg(test)]
mod tests {
    //! Every answer of a real Keystone 30 in `testdata/keystone/` decodes with the types the
    //! client reads it with.

    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/testdata/keystone/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn decode<T: serde::de::DeserializeOwned>(name: &str) -> T {
        serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn keystone_tokens_decode_with_their_project_and_foreign_roles() {
        let issued: TokenBody = decode("token_issue_application_credential.json");
        let token = issued.token;
        assert_eq!(token.methods, ["application_credential"]);
        assert_eq!(token.user.name.as_deref(), Some("admin"));
        // A person's application credential is bound to a project too.
        assert_eq!(
            token.project.as_ref().map(|p| p.name.as_str()),
            Some("admin")
        );
        let mut roles: Vec<&str> = token.roles.iter().map(|r| r.name.as_str()).collect();
        roles.sort();
        assert_eq!(roles, ["admin", "manager", "member", "reader"]);
        assert!(token.project_roles.is_empty());
        let credential = token
            .application_credential
            .expect("application_credential");
        assert!(credential.restricted);
        assert_eq!(credential.name, "ci");
        assert_eq!(token.catalog[0].endpoints[0].region_id, "RegionOne");
        assert!(token.expires_at.ends_with('Z'));

        let validated: TokenBody = decode("token_validate_password.json");
        assert_eq!(validated.token.methods, ["password"]);
        assert!(validated.token.application_credential.is_none());
    }

    #[test]
    fn keystone_application_credentials_decode_with_null_fields() {
        let created: ApplicationCredentialBody = decode("application_credential_create.json");
        let key = created.application_credential;
        assert_eq!(key.name, "ci");
        assert_eq!(key.description.as_deref(), Some("GitHub Actions"));
        assert!(!key.unrestricted, "`\"unrestricted\": null` reads as false");
        assert!(key.access_rules.is_empty() && key.expires_at.is_none());
        assert_eq!(key.status, "active");
        assert_eq!(key.roles.len(), 4);
        assert!(key.secret.is_some(), "the secret of a create");
        assert!(
            !format!("{key:?}").contains("SCRUBBED"),
            "Debug hides the secret"
        );

        let bare: ApplicationCredentialBody =
            decode("application_credential_create_no_description.json");
        assert_eq!(bare.application_credential.description, None);

        let got: ApplicationCredentialBody = decode("application_credential_get.json");
        assert_eq!(got.application_credential.id, key.id);
        assert!(got.application_credential.secret.is_none());

        let list: ApplicationCredentialList = decode("application_credential_list.json");
        let names: Vec<&str> = list
            .application_credentials
            .iter()
            .map(|k| k.name.as_str())
            .collect();
        assert_eq!(names, ["backup", "ci"]);
        let listed: ListedAccessKeyPage = decode("application_credential_list.json");
        assert_eq!(listed.application_credentials.len(), 2);
        assert!(listed.pagination.is_none());
        assert!(
            listed
                .application_credentials
                .iter()
                .all(|k| k.status == "active" && k.created_at.is_empty())
        );
    }

    #[test]
    fn keystone_projects_decode_with_nickname_as_an_extra_attribute() {
        let created: ProjectBody = decode("project_create.json");
        assert_eq!(
            (
                created.project.name.as_str(),
                created.project.nickname.as_str(),
                created.project.description.as_str()
            ),
            ("analytics", "Analytics", "Data platform")
        );
        let got: ProjectBody = decode("project_get.json");
        assert_eq!(got.project, created.project);
        let updated: ProjectBody = decode("project_update.json");
        assert_eq!(updated.project.nickname, "Analytics 2");
        assert_eq!(updated.project.description, "New");

        let page: ProjectPage = decode("project_list.json");
        let projects: Vec<(&str, &str)> = page
            .projects
            .iter()
            .map(|p| (p.name.as_str(), p.nickname.as_str()))
            .collect();
        // Keystone's bootstrap project has no nickname at all.
        assert_eq!(
            projects,
            [("analytics", "Analytics 2"), ("web", "Web"), ("admin", "")]
        );
        assert!(page.pagination.is_none());
        assert_eq!(page.links.and_then(|l| l.next), None);

        let truncated: ProjectPage = decode("project_list_truncated.json");
        assert_eq!(truncated.projects.len(), 1);
        let next = truncated.links.and_then(|l| l.next).expect("links.next");
        assert!(next.contains("/identity/v3/projects?") && next.contains("marker="));
    }

    #[test]
    fn keystone_json_errors_decode_as_error_bodies() {
        for (name, code, words) in [
            (
                "error_401_wrong_secret.json",
                401,
                "requires authentication",
            ),
            (
                "error_404_unknown_credential.json",
                404,
                "Could not find Application Credential",
            ),
            (
                "error_404_token_of_deleted_credential.json",
                404,
                "Could not find Application Credential",
            ),
            ("error_409_duplicate_name.json", 409, "Duplicate entry"),
            ("error_400_unknown_field.json", 400, "Additional properties"),
        ] {
            let body: ErrorBody = decode(name);
            assert_eq!(body.error.code, code, "{name}");
            assert!(body.error.message.contains(words), "{name}");
        }
        // Keystone's 405 is Flask's, not Keystone's error format.
        assert!(
            serde_json::from_str::<ErrorBody>(&fixture("error_405_method_not_allowed.json"))
                .is_err()
        );
    }
}
