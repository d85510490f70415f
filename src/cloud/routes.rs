//! Every IAM route the client calls, in one place, so the client can be pointed at
//! KakaoCloud's real routes by editing only this file (see `docs/api.md`).

/// Token issue and validation.
pub const AUTH_TOKENS: &str = "/identity/v3/auth/tokens";

/// All projects (paged, `name=` filter).
pub fn projects() -> String {
    "/identity/v3/projects".to_string()
}

/// One project.
pub fn project(project_id: &str) -> String {
    format!("/identity/v3/projects/{project_id}")
}

/// A project's service accounts.
pub fn service_accounts(project_id: &str) -> String {
    format!("/identity/v3/projects/{project_id}/service_accounts")
}

/// One service account.
pub fn service_account(project_id: &str, user_id: &str) -> String {
    format!("/identity/v3/projects/{project_id}/service_accounts/{user_id}")
}

/// Every access key of a project's service accounts (one paged listing).
pub fn project_access_keys(project_id: &str) -> String {
    format!("/identity/v3/projects/{project_id}/application_credentials")
}

/// A service account's access keys (Keystone application credentials).
pub fn access_keys(user_id: &str) -> String {
    format!("/identity/v3/users/{user_id}/application_credentials")
}

/// One access key.
pub fn access_key(user_id: &str, key_id: &str) -> String {
    format!("/identity/v3/users/{user_id}/application_credentials/{key_id}")
}

/// Page size the client asks for (the API's maximum).
pub const PAGE_LIMIT: usize = crate::limits::PAGE_LIMIT_MAX;

/// A project's service agents (read-only).
pub fn service_agents(project_id: &str) -> String {
    format!("/identity/v3/projects/{project_id}/service_agents")
}
