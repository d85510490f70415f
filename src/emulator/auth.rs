//! Authentication and authorization: issuing Keystone tokens from access keys, the
//! [`Caller`] extractor that turns `X-Auth-Token` into the acting user (401 otherwise), and
//! the docs/design.md#roles matrix as `require_*` checks that answer 403 naming the missing
//! permission.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use time::{Duration, OffsetDateTime};

use super::db::{Db, Key, KeyStatus, OrgRole, Organization, Project, ProjectRole, User, UserKind};
use super::error::{ApiError, ApiResult};
use super::state::{self, EmulatorState, TokenRecord, Unusable};
use crate::limits::TOKEN_LIFETIME_SECS;
use crate::wire::{
    AppCredAuth, CatalogEndpoint, CatalogEntry, NamedRef, Token, TokenAppCred, UserRef,
};

/// Header carrying the caller's token.
pub const AUTH_TOKEN_HEADER: &str = "x-auth-token";
/// Header carrying the issued token, or the token to validate.
pub const SUBJECT_TOKEN_HEADER: &str = "x-subject-token";
/// The only authentication method KakaoCloud accepts.
pub const METHOD: &str = "application_credential";
/// Region shown in the service catalog.
pub const REGION: &str = "kr-central-2";

/// The authenticated user of a request, resolved against the current state.
#[derive(Debug, Clone)]
pub struct Caller {
    /// User ID.
    pub user_id: String,
    /// User name.
    pub name: String,
    /// Who the caller is, with its roles.
    pub kind: CallerKind,
}

/// A person with roles, or a service account acting through its own key.
#[derive(Debug, Clone)]
pub enum CallerKind {
    /// A person of the organization.
    Person {
        /// Organization-wide role.
        org_role: Option<OrgRole>,
        /// Roles by project name.
        project_roles: BTreeMap<String, ProjectRole>,
    },
    /// A service account: Project Member of its project, with extra restrictions.
    ServiceAccount {
        /// Its project's ID.
        project_id: String,
    },
}

/// Named permissions, used in 403 messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// View a project.
    ViewProject,
    /// Create projects, edit nickname/description.
    ManageProjects,
    /// View service accounts, keys and service agents of a project.
    ViewIam,
    /// Create/delete service accounts, change their status, create/delete keys.
    ManageIam,
}

impl Permission {
    fn name(self) -> &'static str {
        match self {
            Permission::ViewProject => "project:view",
            Permission::ManageProjects => "project:manage",
            Permission::ViewIam => "iam:view",
            Permission::ManageIam => "iam:manage",
        }
    }

    fn holders(self, project: Option<&str>) -> String {
        match (self, project) {
            (Permission::ManageProjects, _) => "held by Org Admin".to_string(),
            (Permission::ViewProject, Some(p)) => {
                format!("held by Org Admin, Org Reader and every role in project `{p}`")
            }
            (Permission::ViewIam, Some(p)) => {
                format!("held by Org Admin, Org Reader and Project Admin of `{p}`")
            }
            (Permission::ManageIam, Some(p)) => {
                format!("held by Org Admin and Project Admin of `{p}`")
            }
            (Permission::ViewProject | Permission::ViewIam, None) => {
                "held by Org Admin and Org Reader".to_string()
            }
            (Permission::ManageIam, None) => "held by Org Admin".to_string(),
        }
    }
}

impl Caller {
    /// The caller acting as `user`.
    fn of(user: User) -> Caller {
        let kind = match user.kind {
            UserKind::Person {
                org_role,
                project_roles,
            } => CallerKind::Person {
                org_role,
                project_roles,
            },
            UserKind::ServiceAccount { project_id, .. } => {
                CallerKind::ServiceAccount { project_id }
            }
        };
        Caller {
            user_id: user.id,
            name: user.name,
            kind,
        }
    }

    /// The caller's organization-wide role.
    pub fn org_role(&self) -> Option<OrgRole> {
        match &self.kind {
            CallerKind::Person { org_role, .. } => *org_role,
            CallerKind::ServiceAccount { .. } => None,
        }
    }

    /// The caller's role in `project`.
    pub fn project_role(&self, project: &Project) -> Option<ProjectRole> {
        match &self.kind {
            CallerKind::Person { project_roles, .. } => project_roles.get(&project.name).copied(),
            CallerKind::ServiceAccount { project_id } => {
                (*project_id == project.id).then_some(ProjectRole::Member)
            }
        }
    }

    /// Whether the caller acts through a service account's key.
    pub fn is_service_account(&self) -> bool {
        matches!(self.kind, CallerKind::ServiceAccount { .. })
    }

    /// Whether the caller holds `permission` (on `project` for project-level permissions).
    pub fn has(&self, permission: Permission, project: Option<&Project>) -> bool {
        let org = self.org_role();
        let role = project.and_then(|p| self.project_role(p));
        match permission {
            Permission::ViewProject => org.is_some() || role.is_some(),
            Permission::ManageProjects => org == Some(OrgRole::Admin),
            Permission::ViewIam => org.is_some() || role == Some(ProjectRole::Admin),
            Permission::ManageIam => {
                org == Some(OrgRole::Admin) || role == Some(ProjectRole::Admin)
            }
        }
    }

    /// 403 unless the caller holds `permission`; `action` completes "may not …".
    pub fn require(
        &self,
        permission: Permission,
        project: Option<&Project>,
        action: &str,
    ) -> ApiResult<()> {
        if self.has(permission, project) {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "{} may not {action}: this needs the `{}` permission ({}); the caller has {}",
            self.describe(),
            permission.name(),
            permission.holders(project.map(|p| p.name.as_str())),
            self.roles_summary(project),
        )))
    }

    /// 403 if the caller acts through a service account's key: such a token cannot add or
    /// delete keys, create service accounts, or delete service accounts (docs/design.md#roles).
    pub fn forbid_service_account_token(&self, action: &str) -> ApiResult<()> {
        if self.is_service_account() {
            return Err(ApiError::forbidden(format!(
                "a token issued from a service account's access key cannot {action}: \
                 the `{}` permission this needs is never granted to such tokens \
                 (caller: service account `{}`, project-member of its own project only)",
                Permission::ManageIam.name(),
                self.name
            )));
        }
        Ok(())
    }

    /// How messages name the caller: its kind and name.
    pub(crate) fn describe(&self) -> String {
        match self.kind {
            CallerKind::Person { .. } => format!("user `{}`", self.name),
            CallerKind::ServiceAccount { .. } => format!("service account `{}`", self.name),
        }
    }

    fn roles_summary(&self, project: Option<&Project>) -> String {
        let mut roles = Vec::new();
        if let Some(org) = self.org_role() {
            roles.push(org.as_str().to_string());
        }
        match &self.kind {
            CallerKind::Person { project_roles, .. } => {
                for (name, role) in project_roles {
                    roles.push(format!("{} of `{name}`", role.as_str()));
                }
            }
            CallerKind::ServiceAccount { .. } => match project {
                Some(p) if self.project_role(p).is_some() => {
                    roles.push(format!("project-member of `{}`", p.name));
                }
                _ => roles.push("project-member of its own project only".to_string()),
            },
        }
        if roles.is_empty() {
            "no role".to_string()
        } else {
            format!("role {}", roles.join(", "))
        }
    }
}

impl FromRequestParts<EmulatorState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &EmulatorState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTH_TOKEN_HEADER)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "this request needs a token in the X-Auth-Token header \
                     (issue one with POST /identity/v3/auth/tokens)",
                )
            })?
            .to_str()
            .map_err(|_| ApiError::unauthorized("the X-Auth-Token header is not valid text"))?;
        match state.token_user(token)? {
            Ok((_, user)) => Ok(Caller::of(user)),
            // Keystone answers a token whose application credential was deleted with the
            // credential's 404, not a 401.
            Err(Unusable::KeyDeleted(key_id)) => Err(unknown_credential(&key_id)),
            Err(Unusable::Invalid) => Err(ApiError::unauthorized(
                "the token is invalid, expired or revoked",
            )),
        }
    }
}

/// Every role name the emulator grants, with its ID, hashed once: key lists show the owner's
/// roles on every key.
static ROLE_IDS: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    let names = [OrgRole::Admin, OrgRole::Reader]
        .map(OrgRole::as_str)
        .into_iter()
        .chain(
            [ProjectRole::Admin, ProjectRole::Member, ProjectRole::Reader].map(ProjectRole::as_str),
        );
    names.map(|name| (name, hash_role_id(name))).collect()
});

/// The ID of role `name`, derived from the name so it is stable across runs.
pub fn role_id(name: &str) -> Cow<'static, str> {
    match ROLE_IDS.iter().find(|(known, _)| *known == name) {
        Some((_, id)) => Cow::Borrowed(id.as_str()),
        None => Cow::Owned(hash_role_id(name)),
    }
}

fn hash_role_id(name: &str) -> String {
    state::sha256_hex(&format!("kcform-emulator-role:{name}"))[..32].to_string()
}

/// A role as `{"id", "name"}` (see [`role_id`]).
pub fn role_ref(name: &str) -> NamedRef {
    NamedRef {
        id: role_id(name).into_owned(),
        name: name.to_string(),
    }
}

/// The names of the roles a user's keys carry, in the order Keystone lists them (by name).
pub fn role_names(user: &User) -> Vec<&'static str> {
    match &user.kind {
        UserKind::Person {
            org_role,
            project_roles,
        } => {
            let mut names: BTreeSet<&'static str> =
                project_roles.values().map(|r| r.as_str()).collect();
            if let Some(org) = org_role {
                names.insert(org.as_str());
            }
            names.into_iter().collect()
        }
        UserKind::ServiceAccount { .. } => vec![ProjectRole::Member.as_str()],
    }
}

/// The roles a key carries, as Keystone lists them on the key and in tokens.
pub fn user_roles(
    db: &Db,
    user: &User,
) -> rusqlite::Result<(Vec<NamedRef>, BTreeMap<String, String>)> {
    let roles = role_names(user).into_iter().map(role_ref).collect();
    let by_project = match &user.kind {
        UserKind::Person { project_roles, .. } => project_roles
            .iter()
            .map(|(p, r)| (p.clone(), r.as_str().to_string()))
            .collect(),
        UserKind::ServiceAccount { project_id, .. } => db
            .project(project_id)?
            .map(|p| BTreeMap::from([(p.name, ProjectRole::Member.as_str().to_string())]))
            .unwrap_or_default(),
    };
    Ok((roles, by_project))
}

/// Checks an application-credential identity and issues a token. Answers 404 for an unknown
/// ID (as Keystone does), 401 for an unknown name, a wrong secret, an expired key, or an
/// inactive service account.
pub fn issue_token(
    state: &EmulatorState,
    cred: &AppCredAuth,
    base_url: &str,
) -> ApiResult<(String, Token)> {
    let (record, token) = state.read(|db| -> ApiResult<_> {
        let key = find_key(db, cred)?;
        if key.secret_sha256 != state::sha256_hex(&cred.secret) {
            return Err(ApiError::unauthorized("invalid access key ID or secret"));
        }
        let user = db
            .user(&key.user_id)?
            .ok_or_else(|| ApiError::unauthorized("invalid access key ID or secret"))?;
        if !state::user_can_authenticate(&user) {
            return Err(ApiError::unauthorized(format!(
                "service account `{}` is inactive; its access keys cannot issue tokens",
                user.name
            )));
        }
        if key.status != KeyStatus::Active {
            return Err(ApiError::unauthorized(format!(
                "access key `{}` is expired (its service account was deactivated)",
                key.id
            )));
        }
        let issued = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let expires = issued + Duration::seconds(TOKEN_LIFETIME_SECS);
        let body = token_body(db, &user, &key, issued, expires, base_url)?;
        let record = TokenRecord {
            user_id: user.id.clone(),
            key_id: key.id.clone(),
            expires_at: expires,
            body,
        };
        Ok((record, state::new_token()))
    })?;
    let body = record.body.clone();
    state.insert_token(&token, record);
    Ok((token, body))
}

/// Keystone's answer for an application credential ID it does not know: `404`, at token
/// issue and for a token whose credential was deleted.
fn unknown_credential(id: &str) -> ApiError {
    ApiError::not_found(format!("Could not find Application Credential: {id}."))
}

fn find_key(db: &Db, cred: &AppCredAuth) -> ApiResult<Key> {
    let invalid = || ApiError::unauthorized("invalid access key ID or secret");
    if let Some(id) = &cred.id {
        // As Keystone: an unknown ID is a 404; a wrong secret, or an unknown name, a 401.
        return db.key(id)?.ok_or_else(|| unknown_credential(id));
    }
    let (Some(name), Some(user_id)) = (&cred.name, cred.user.as_ref().and_then(|u| u.id.as_ref()))
    else {
        return Err(ApiError::bad_request(
            "application_credential needs `id`, or `name` together with `user.id`",
        ));
    };
    db.keys_of(user_id, Some(name))?
        .into_iter()
        .next()
        .ok_or_else(invalid)
}

fn token_body(
    db: &Db,
    user: &User,
    key: &Key,
    issued: OffsetDateTime,
    expires: OffsetDateTime,
    base_url: &str,
) -> rusqlite::Result<Token> {
    let (roles, project_roles) = user_roles(db, user)?;
    let org = db.organization()?;
    let project = Some(token_scope(db, user, &org)?);
    // A service account's Keystone user name is its identity (docs/design.md#roles), which tells
    // its tokens from a person's: never the presence of `project`.
    let user_name = match &user.kind {
        UserKind::ServiceAccount { project_id, .. } => {
            super::routes::service_account_identity(&user.name, project_id)
        }
        UserKind::Person { .. } => user.name.clone(),
    };
    Ok(Token {
        expires_at: state::rfc3339(expires),
        issued_at: state::rfc3339(issued),
        methods: vec![METHOD.to_string()],
        user: UserRef {
            id: Some(user.id.clone()),
            name: Some(user_name),
            domain: Some(NamedRef {
                id: org.id.clone(),
                name: org.name.clone(),
            }),
        },
        project,
        roles,
        project_roles,
        application_credential: Some(TokenAppCred {
            id: key.id.clone(),
            name: key.name.clone(),
            restricted: true,
        }),
        catalog: catalog(base_url),
    })
}

/// The project a key's tokens are scoped to. Keystone binds every application credential to a
/// project, and so every token issued from one carries `project`, a person's too: a service
/// account's key is bound to its own project; a person's to the first project (by name) it
/// holds a role in, or, for a person with organization-wide roles only, to the organization's
/// own scope (its ID and name), which a fresh organization has before any project exists.
fn token_scope(db: &Db, user: &User, org: &Organization) -> rusqlite::Result<NamedRef> {
    let scope = |p: Project| NamedRef {
        id: p.id,
        name: p.name,
    };
    let bound = match &user.kind {
        UserKind::ServiceAccount { project_id, .. } => db.project(project_id)?.map(scope),
        UserKind::Person { project_roles, .. } => {
            let mut bound = None;
            for name in project_roles.keys() {
                if let Some(project) = db.project_named(name)? {
                    bound = Some(scope(project));
                    break;
                }
            }
            bound
        }
    };
    Ok(bound.unwrap_or_else(|| NamedRef {
        id: org.id.clone(),
        name: org.name.clone(),
    }))
}

/// The service catalog: one identity endpoint at `<base>/identity/v3`.
pub fn catalog(base_url: &str) -> Vec<CatalogEntry> {
    let id = |what: &str| {
        state::sha256_hex(&format!("kcform-emulator-catalog:{what}"))[..32].to_string()
    };
    vec![CatalogEntry {
        kind: "identity".to_string(),
        name: "keystone".to_string(),
        id: id("identity"),
        endpoints: vec![CatalogEndpoint {
            id: id("identity-public"),
            interface: "public".to_string(),
            region: REGION.to_string(),
            region_id: REGION.to_string(),
            url: format!("{base_url}/identity/v3"),
        }],
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_ids_are_the_hash_of_the_name_known_or_not() {
        let names = [
            "org-admin",
            "org-reader",
            "project-admin",
            "project-member",
            "project-reader",
            "someday-role",
        ];
        for name in names {
            let hashed =
                state::sha256_hex(&format!("kcform-emulator-role:{name}"))[..32].to_string();
            assert_eq!(role_id(name), hashed, "{name}");
            assert_eq!(
                role_ref(name),
                NamedRef {
                    id: hashed,
                    name: name.to_string()
                }
            );
        }
        assert_eq!(ROLE_IDS.len(), 5);
        assert!(matches!(role_id("org-admin"), Cow::Borrowed(_)));
    }
}
