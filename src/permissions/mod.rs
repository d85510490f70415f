//! What a credential may do, decided from its token alone (pure: no I/O). The token's user
//! and roles (`roles`, the kcform extension `project_roles`) give an [`Authority`]. A service
//! account's token is told from a person's by its user's name, the service account's identity
//! `{name}-{project id}@kc.serviceaccount.com` — never by `project`, which every token issued
//! from an application credential carries, a person's too. It checks docs/design.md#roles for
//! every change of a plan ([`Authority::check_plan`]) and whether the declared projects can be
//! read at all ([`Authority::check_readable`]), so that `plan` can mark what the credential
//! cannot do and `apply` can refuse before it changes anything.
//!
//! The emulator enforces the same matrix on its side (`emulator::auth`); its tests check that
//! the two agree for every role and operation kind.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::address::Address;
use crate::plan::{Action, Change, Plan};
use crate::wire;

pub use crate::roles::{OrgRole, ProjectRole};

/// The kinds of calls the docs/design.md#roles matrix distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// See a project (list, get).
    ViewProject,
    /// Read a project's service accounts, keys (never secrets) and service agents.
    ViewIam,
    /// Create a project.
    CreateProject,
    /// Edit a project's nickname or description.
    UpdateProject,
    /// Create a service account.
    CreateServiceAccount,
    /// Activate or deactivate a service account.
    ChangeServiceAccountStatus,
    /// Delete a service account.
    DeleteServiceAccount,
    /// Create an access key.
    CreateAccessKey,
    /// Delete an access key.
    DeleteAccessKey,
    /// Replace an access key (create one and delete the other).
    ReplaceAccessKey,
}

impl Operation {
    /// The operation a plan change performs.
    pub fn of(change: &Change) -> Operation {
        match (&change.address, change.action) {
            (Address::Project { .. }, Action::Create) => Operation::CreateProject,
            // A plan never deletes or deactivates a project; anything else on one is an edit.
            (Address::Project { .. }, _) => Operation::UpdateProject,
            (Address::ServiceAccount { .. }, Action::Create) => Operation::CreateServiceAccount,
            (Address::ServiceAccount { .. }, Action::Delete) => Operation::DeleteServiceAccount,
            (Address::ServiceAccount { .. }, _) => Operation::ChangeServiceAccountStatus,
            (Address::AccessKey { .. }, Action::Create) => Operation::CreateAccessKey,
            (Address::AccessKey { .. }, Action::Delete) => Operation::DeleteAccessKey,
            (Address::AccessKey { .. }, _) => Operation::ReplaceAccessKey,
        }
    }

    /// What it does, completing "may not …".
    pub fn describe(self) -> &'static str {
        match self {
            Operation::ViewProject => "view the project",
            Operation::ViewIam => "read service accounts and access keys",
            Operation::CreateProject => "create projects",
            Operation::UpdateProject => "edit projects",
            Operation::CreateServiceAccount => "create service accounts",
            Operation::ChangeServiceAccountStatus => "change a service account's status",
            Operation::DeleteServiceAccount => "delete service accounts",
            Operation::CreateAccessKey => "create access keys",
            Operation::DeleteAccessKey => "delete access keys",
            Operation::ReplaceAccessKey => "replace access keys",
        }
    }

    /// The operations a service account's own token can never perform, whatever its role
    /// (docs/design.md#roles: it cannot add keys, delete the service account, delete keys,
    /// create service accounts, or delete other service accounts or their keys).
    fn barred_for_service_accounts(self) -> bool {
        matches!(
            self,
            Operation::CreateServiceAccount
                | Operation::DeleteServiceAccount
                | Operation::CreateAccessKey
                | Operation::DeleteAccessKey
                | Operation::ReplaceAccessKey
        )
    }

    /// Who may perform it on `project`, as a phrase: `Org Admin or Project Admin of `p``.
    pub fn needed_roles(self, project: &str) -> String {
        match self {
            Operation::ViewProject => {
                format!("Org Admin, Org Reader or any role in project `{project}`")
            }
            Operation::ViewIam => {
                format!("Org Admin, Org Reader or Project Admin of `{project}`")
            }
            Operation::CreateProject | Operation::UpdateProject => "Org Admin".to_string(),
            _ => format!("Org Admin or Project Admin of `{project}`"),
        }
    }
}

/// The domain of every service account's identity.
const SERVICE_ACCOUNT_DOMAIN: &str = "kc.serviceaccount.com";

/// `(name, project id)` when `user` is a service account's identity,
/// `{name}-{32-hex project id}@kc.serviceaccount.com` (docs/design.md#roles). A service agent's
/// `{project id}@{service}.kc.serviceaccount.com` and any person's name are not.
pub fn service_account_identity(user: &str) -> Option<(&str, &str)> {
    let (local, domain) = user.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(SERVICE_ACCOUNT_DOMAIN) {
        return None;
    }
    let (name, project_id) = local.rsplit_once('-')?;
    let hex = project_id.len() == 32 && project_id.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && !name.is_empty()).then_some((name, project_id))
}

/// What a credential may do: its roles as its token states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// `user `lead`` or `service account `etl-runner``.
    pub who: String,
    /// Organization-wide role.
    pub org_role: Option<OrgRole>,
    /// Roles by project name.
    pub project_roles: BTreeMap<String, ProjectRole>,
    /// For a service account's own token: its project's name.
    pub service_account_of: Option<String>,
    /// Role names in the token that kcform does not know.
    pub unknown_roles: Vec<String>,
}

impl Authority {
    /// Reads the roles out of a token body. A token whose user is a service account (see
    /// [`service_account_identity`]) was issued from that account's key: it is Project Member
    /// of the account's project only.
    pub fn from_token(token: &wire::Token) -> Authority {
        let mut org_role: Option<OrgRole> = None;
        let mut unknown_roles = Vec::new();
        let mut unscoped_project_roles = Vec::new();
        for role in &token.roles {
            if let Some(org) = OrgRole::parse(&role.name) {
                // Admin sorts before Reader: the strongest role wins.
                org_role = Some(org_role.map_or(org, |held| held.min(org)));
            } else if let Some(project_role) = ProjectRole::parse(&role.name) {
                unscoped_project_roles.push(project_role);
            } else {
                unknown_roles.push(role.name.clone());
            }
        }
        let user = token
            .user
            .name
            .clone()
            .or_else(|| token.user.id.clone())
            .unwrap_or_else(|| "unknown".to_string());
        if let Some((name, project_id)) = service_account_identity(&user) {
            // Its key is bound to its own project, whose name the token carries; without it,
            // the one project of its roles, or at worst the ID from its identity.
            let project = token
                .project
                .as_ref()
                .filter(|p| p.id == project_id)
                .map(|p| p.name.clone())
                .or_else(|| {
                    let mut names = token.project_roles.keys();
                    match (names.next(), names.next()) {
                        (Some(only), None) => Some(only.clone()),
                        _ => None,
                    }
                })
                .unwrap_or_else(|| project_id.to_string());
            return Authority {
                who: format!("service account `{name}`"),
                org_role: None,
                project_roles: BTreeMap::from([(project.clone(), ProjectRole::Member)]),
                service_account_of: Some(project),
                unknown_roles,
            };
        }
        let mut project_roles = BTreeMap::new();
        for (project, name) in &token.project_roles {
            match ProjectRole::parse(name) {
                Some(role) => {
                    project_roles.insert(project.clone(), role);
                }
                None => unknown_roles.push(name.clone()),
            }
        }
        Authority {
            who: format!("user `{user}`"),
            org_role,
            project_roles,
            service_account_of: None,
            unknown_roles,
        }
    }

    /// Whether kcform can judge this credential: false when its token carries roles, but none
    /// that kcform knows (an endpoint with other role names), in which case nothing is checked
    /// ahead and the API decides.
    pub fn is_known(&self) -> bool {
        self.unknown_roles.is_empty()
            || self.org_role.is_some()
            || !self.project_roles.is_empty()
            || self.service_account_of.is_some()
    }

    /// The credential's roles as a phrase: `org-reader`, `project-admin of `other``, `no role`.
    pub fn roles(&self) -> String {
        let mut roles = Vec::new();
        if let Some(org) = self.org_role {
            roles.push(org.as_str().to_string());
        }
        for (project, role) in &self.project_roles {
            roles.push(format!("{} of `{project}`", role.as_str()));
        }
        if roles.is_empty() {
            "no role".to_string()
        } else {
            roles.join(", ")
        }
    }

    /// `user `lead` (project-admin of `other`)`.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.who, self.roles())
    }

    /// Whether the credential may perform `operation` on `project`; `Err` says why not.
    pub fn may(&self, operation: Operation, project: &str) -> Result<(), String> {
        if !self.is_known() {
            return Ok(());
        }
        if self.service_account_of.is_some() && operation.barred_for_service_accounts() {
            return Err(format!(
                "a service account's own token can never {}; this needs a person's credential \
                 with {}",
                operation.describe(),
                operation.needed_roles(project)
            ));
        }
        let org = self.org_role;
        let role = self.project_roles.get(project).copied();
        let allowed = match operation {
            Operation::ViewProject => org.is_some() || role.is_some(),
            Operation::ViewIam => org.is_some() || role == Some(ProjectRole::Admin),
            Operation::CreateProject | Operation::UpdateProject => org == Some(OrgRole::Admin),
            Operation::CreateServiceAccount
            | Operation::ChangeServiceAccountStatus
            | Operation::DeleteServiceAccount
            | Operation::CreateAccessKey
            | Operation::DeleteAccessKey
            | Operation::ReplaceAccessKey => {
                org == Some(OrgRole::Admin) || role == Some(ProjectRole::Admin)
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(format!("needs {}", operation.needed_roles(project)))
        }
    }

    /// Every change of `plan` the credential may not perform, in plan order.
    pub fn check_plan(&self, plan: &Plan) -> Vec<Denial> {
        plan.changes
            .iter()
            .filter_map(|change| {
                let operation = Operation::of(change);
                let project = change.address.project_name();
                self.may(operation, project).err().map(|reason| Denial {
                    address: change.address.clone(),
                    deposed: change.deposed.clone(),
                    action: change.action,
                    operation,
                    reason,
                })
            })
            .collect()
    }

    /// Refuses when a declared project is visible to the credential but its service accounts
    /// and keys are not: kcform could not read them, so it could not plan. (A project the
    /// credential cannot see at all looks absent, and its planned creation is then refused by
    /// [`Authority::check_plan`].)
    pub fn check_readable<'a>(
        &self,
        declared: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), UnreadableProjects> {
        let projects: Vec<String> = declared
            .into_iter()
            .filter(|p| {
                self.may(Operation::ViewProject, p).is_ok()
                    && self.may(Operation::ViewIam, p).is_err()
            })
            .cloned()
            .collect();
        if projects.is_empty() {
            Ok(())
        } else {
            Err(UnreadableProjects {
                credential: self.describe(),
                projects,
            })
        }
    }

    /// Projects among `denials` that the plan creates although the credential cannot see
    /// projects it has no role in: they may exist already.
    fn possibly_hidden_projects(&self, denials: &[Denial]) -> Vec<String> {
        if self.org_role.is_some() {
            return Vec::new();
        }
        denials
            .iter()
            .filter(|d| d.operation == Operation::CreateProject)
            .map(|d| d.address.project_name().to_string())
            .collect()
    }

    /// The section `plan` prints after the plan when some changes are not permitted: one line
    /// per change with the role it needs, then a note on what `apply` will do.
    pub fn render_denials(&self, denials: &[Denial], total: usize) -> String {
        if denials.is_empty() {
            return String::new();
        }
        let mut out = format!(
            "\nThe credential cannot perform {} of these {total} operations; it is {}:\n",
            denials.len(),
            self.describe()
        );
        for denial in denials {
            let _ = writeln!(out, "  - {denial}");
        }
        let hidden = self.possibly_hidden_projects(denials);
        if !hidden.is_empty() {
            let _ = writeln!(
                out,
                "\nProject(s) {} cannot be seen by this credential: they may already exist \
                 (only Org Admin, Org Reader and the project's own roles see a project).",
                quoted(&hidden)
            );
        }
        let _ = writeln!(
            out,
            "\nNote: `kcform apply` with this credential refuses to start and changes nothing; \
             use a credential with the roles named above, or limit the run with --target."
        );
        out
    }
}

/// A change the credential may not perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The change's address.
    pub address: Address,
    /// The deposed key's ID, for a deposed object.
    pub deposed: Option<String>,
    /// The change's action.
    pub action: Action,
    /// The operation kind.
    pub operation: Operation,
    /// Why not, naming the role needed.
    pub reason: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.action.name(), self.address)?;
        if let Some(id) = &self.deposed {
            write!(f, " (deposed object {id})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// `apply` refused because the credential may not perform some of the plan's changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ApplyRefused {
    /// The credential, with its roles.
    pub credential: String,
    /// What it may not do.
    pub denials: Vec<Denial>,
}

impl fmt::Display for ApplyRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "apply refused before any change: the credential, {}, cannot perform {} of the \
             plan's operations:",
            self.credential,
            self.denials.len()
        )?;
        for denial in &self.denials {
            write!(f, "\n  - {denial}")?;
        }
        write!(
            f,
            "\nNothing was changed. Use a credential with the roles named above, or limit the \
             run with --target."
        )
    }
}

/// Planning is impossible because the credential cannot read declared projects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the credential, {credential}, cannot read the service accounts and access keys of \
     project(s) {}, so kcform cannot plan them: reading a project's service accounts and keys \
     needs Org Admin, Org Reader or Project Admin of that project",
    quoted(projects)
)]
pub struct UnreadableProjects {
    /// The credential, with its roles.
    pub credential: String,
    /// The declared projects it cannot read.
    pub projects: Vec<String>,
}

impl Authority {
    /// `Err` listing every change the credential may not perform.
    pub fn permit(&self, plan: &Plan) -> Result<(), ApplyRefused> {
        let denials = self.check_plan(plan);
        if denials.is_empty() {
            Ok(())
        } else {
            Err(ApplyRefused {
                credential: self.describe(),
                denials,
            })
        }
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
