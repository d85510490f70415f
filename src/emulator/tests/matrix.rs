//! The docs/design.md#roles matrix, one test per role per operation kind: each test starts an
//! emulator, performs one call as one kind of credential and checks that it is allowed or
//! refused (403 with a Keystone body naming the missing permission, and no change to the
//! data) exactly as the matrix says. Each test also checks that kcform's own pre-apply
//! check (`crate::permissions`), fed the same token, reaches the same verdict.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Answer, Harness, keys_path, parse, sa_path};
use crate::permissions::{self, Authority};
use crate::wire::{self, AccessKeyCredential, EmulatorUser, TokenBody};

/// The kinds of credential the matrix distinguishes; the project is always `analytics`.
#[derive(Debug, Clone, Copy)]
enum Who {
    OrgAdmin,
    OrgReader,
    ProjectAdmin,
    /// Project Admin of `other`, acting on `analytics`.
    OtherProjectAdmin,
    ProjectMember,
    ProjectReader,
    /// The token of `analytics`'s own service account `etl-runner`.
    ServiceAccount,
    NoRole,
}

/// The operation kinds of the matrix, each as one concrete call.
#[derive(Debug, Clone, Copy)]
enum Op {
    ListProjects,
    ViewProject,
    CreateProject,
    EditProject,
    ViewServiceAccounts,
    ViewKeys,
    ViewAgents,
    CreateServiceAccount,
    ChangeStatus,
    DeleteServiceAccount,
    CreateKey,
    DeleteKey,
}

impl Op {
    fn named(name: &str) -> Op {
        match name {
            "list_projects" => Op::ListProjects,
            "view_project" => Op::ViewProject,
            "create_project" => Op::CreateProject,
            "edit_project" => Op::EditProject,
            "view_service_accounts" => Op::ViewServiceAccounts,
            "view_keys" => Op::ViewKeys,
            "view_agents" => Op::ViewAgents,
            "create_service_account" => Op::CreateServiceAccount,
            "change_status" => Op::ChangeStatus,
            "delete_service_account" => Op::DeleteServiceAccount,
            "create_key" => Op::CreateKey,
            "delete_key" => Op::DeleteKey,
            other => panic!("unknown operation {other}"),
        }
    }

    /// The same operation in kcform's pre-apply check.
    fn kcform(self) -> permissions::Operation {
        use permissions::Operation as K;
        match self {
            Op::ListProjects | Op::ViewProject => K::ViewProject,
            Op::ViewServiceAccounts | Op::ViewKeys | Op::ViewAgents => K::ViewIam,
            Op::CreateProject => K::CreateProject,
            Op::EditProject => K::UpdateProject,
            Op::CreateServiceAccount => K::CreateServiceAccount,
            Op::ChangeStatus => K::ChangeServiceAccountStatus,
            Op::DeleteServiceAccount => K::DeleteServiceAccount,
            Op::CreateKey => K::CreateAccessKey,
            Op::DeleteKey => K::DeleteAccessKey,
        }
    }
}

const ALLOWED: bool = true;
const REFUSED: bool = false;

/// Objects the calls act on.
struct Scene {
    h: Harness,
    project: wire::Project,
    /// `analytics/etl-runner`, whose key is the service-account credential.
    own_key: AccessKeyCredential,
    /// `analytics/victim` and its key `k`: the targets of changes and deletes.
    victim: wire::ServiceAccount,
    victim_key: wire::ApplicationCredential,
}

async fn scene() -> Scene {
    let h = Harness::new().await;
    let (project, _, own_key) = h.fixture().await;
    h.create_project("other").await;
    let victim = h.create_sa(&project.id, "victim").await;
    let victim_key = h.create_key(&victim.id, "k").await;
    h.call(
        Method::POST,
        "/_emulator/projects/analytics/services/compute",
        None,
        None,
    )
    .await
    .ok(201);
    Scene {
        h,
        project,
        own_key,
        victim,
        victim_key,
    }
}

/// A token for `who` and its body.
async fn credential(s: &Scene, who: Who) -> (String, wire::Token) {
    let key = match who {
        Who::ServiceAccount => s.own_key.clone(),
        _ => {
            let body = match who {
                Who::OrgAdmin => json!({"name": "u", "org_role": "org-admin"}),
                Who::OrgReader => json!({"name": "u", "org_role": "org-reader"}),
                Who::ProjectAdmin => {
                    json!({"name": "u", "project_roles": {"analytics": "project-admin"}})
                }
                Who::OtherProjectAdmin => {
                    json!({"name": "u", "project_roles": {"other": "project-admin"}})
                }
                Who::ProjectMember => {
                    json!({"name": "u", "project_roles": {"analytics": "project-member"}})
                }
                Who::ProjectReader => {
                    json!({"name": "u", "project_roles": {"analytics": "project-reader"}})
                }
                Who::NoRole | Who::ServiceAccount => json!({"name": "u"}),
            };
            let answer =
                s.h.call(Method::POST, "/_emulator/users", None, Some(body))
                    .await;
            parse::<EmulatorUser>(answer.ok(201)).access_key
        }
    };
    let answer = s.h.issue(&key).await;
    let body: TokenBody = parse(answer.ok(201));
    (answer.subject_token.expect("X-Subject-Token"), body.token)
}

async fn perform(s: &Scene, token: &str, op: Op) -> Answer {
    let p = &s.project.id;
    let victim = format!("{}/{}", sa_path(p), s.victim.id);
    let (method, path, body): (Method, String, Option<Value>) = match op {
        Op::ListProjects => (Method::GET, "/identity/v3/projects".into(), None),
        Op::ViewProject => (Method::GET, format!("/identity/v3/projects/{p}"), None),
        Op::CreateProject => (
            Method::POST,
            "/identity/v3/projects".into(),
            Some(json!({"project": {"name": "newproj", "nickname": "New"}})),
        ),
        Op::EditProject => (
            Method::PATCH,
            format!("/identity/v3/projects/{p}"),
            Some(json!({"project": {"nickname": "Renamed"}})),
        ),
        Op::ViewServiceAccounts => (Method::GET, sa_path(p), None),
        Op::ViewKeys => (
            Method::GET,
            format!("/identity/v3/projects/{p}/application_credentials"),
            None,
        ),
        Op::ViewAgents => (
            Method::GET,
            format!("/identity/v3/projects/{p}/service_agents"),
            None,
        ),
        Op::CreateServiceAccount => (
            Method::POST,
            sa_path(p),
            Some(json!({"service_account": {"name": "fresh"}})),
        ),
        Op::ChangeStatus => (
            Method::PATCH,
            victim,
            Some(json!({"service_account": {"status": "inactive"}})),
        ),
        Op::DeleteServiceAccount => (Method::DELETE, victim, None),
        Op::CreateKey => (
            Method::POST,
            keys_path(&s.victim.id),
            Some(json!({"application_credential": {"name": "fresh"}})),
        ),
        Op::DeleteKey => (
            Method::DELETE,
            format!("{}/{}", keys_path(&s.victim.id), s.victim_key.id),
            None,
        ),
    };
    s.h.call(method, &path, Some(token), body).await
}

/// Performs `op` as `who` and checks the verdict against `expected` and against kcform.
async fn check(who: Who, op_name: &str, expected: bool) {
    let op = Op::named(op_name);
    let s = scene().await;
    let (token, body) = credential(&s, who).await;
    let before = s.h.emu.state().snapshot();
    let answer = perform(&s, &token, op).await;
    let after = s.h.emu.state().snapshot();
    let allowed = match op {
        // Listing always answers 200; the verdict is whether the project is in it.
        Op::ListProjects => {
            let list: wire::ProjectList = parse(answer.ok(200));
            list.projects.iter().any(|p| p.name == "analytics")
        }
        _ => answer.status.is_success(),
    };
    assert_eq!(
        allowed, expected,
        "{who:?} {op:?}: the emulator answered {answer:?}"
    );
    if !allowed && !matches!(op, Op::ListProjects) {
        let message = answer.error(403);
        assert!(
            message.contains("permission"),
            "{who:?} {op:?}: the 403 names no permission: {message}"
        );
        assert!(
            before == after,
            "{who:?} {op:?}: a refused call changed data"
        );
    }
    let writes = matches!(
        op,
        Op::CreateProject
            | Op::EditProject
            | Op::CreateServiceAccount
            | Op::ChangeStatus
            | Op::DeleteServiceAccount
            | Op::CreateKey
            | Op::DeleteKey
    );
    if allowed && writes {
        assert!(
            before != after,
            "{who:?} {op:?}: an allowed change changed nothing"
        );
    }
    let authority = Authority::from_token(&body);
    assert_eq!(
        authority.may(op.kcform(), "analytics").is_ok(),
        expected,
        "{who:?} {op:?}: kcform's check disagrees with the emulator ({})",
        authority.describe()
    );
}

macro_rules! matrix {
    ($($role:ident => $who:expr, { $($op:ident: $expected:ident),* $(,)? })*) => {
        $(mod $role {
            use super::*;
            $(
                #[tokio::test]
                async fn $op() {
                    check($who, stringify!($op), $expected).await;
                }
            )*
        })*
    };
}

matrix! {
    org_admin => Who::OrgAdmin, {
        list_projects: ALLOWED, view_project: ALLOWED, create_project: ALLOWED,
        edit_project: ALLOWED, view_service_accounts: ALLOWED, view_keys: ALLOWED,
        view_agents: ALLOWED, create_service_account: ALLOWED, change_status: ALLOWED,
        delete_service_account: ALLOWED, create_key: ALLOWED, delete_key: ALLOWED,
    }
    org_reader => Who::OrgReader, {
        list_projects: ALLOWED, view_project: ALLOWED, create_project: REFUSED,
        edit_project: REFUSED, view_service_accounts: ALLOWED, view_keys: ALLOWED,
        view_agents: ALLOWED, create_service_account: REFUSED, change_status: REFUSED,
        delete_service_account: REFUSED, create_key: REFUSED, delete_key: REFUSED,
    }
    project_admin => Who::ProjectAdmin, {
        list_projects: ALLOWED, view_project: ALLOWED, create_project: REFUSED,
        edit_project: REFUSED, view_service_accounts: ALLOWED, view_keys: ALLOWED,
        view_agents: ALLOWED, create_service_account: ALLOWED, change_status: ALLOWED,
        delete_service_account: ALLOWED, create_key: ALLOWED, delete_key: ALLOWED,
    }
    project_admin_of_another_project => Who::OtherProjectAdmin, {
        list_projects: REFUSED, view_project: REFUSED, create_project: REFUSED,
        edit_project: REFUSED, view_service_accounts: REFUSED, view_keys: REFUSED,
        view_agents: REFUSED, create_service_account: REFUSED, change_status: REFUSED,
        delete_service_account: REFUSED, create_key: REFUSED, delete_key: REFUSED,
    }
    project_member => Who::ProjectMember, {
        list_projects: ALLOWED, view_project: ALLOWED, create_project: REFUSED,
        edit_project: REFUSED, view_service_accounts: REFUSED, view_keys: REFUSED,
        view_agents: REFUSED, create_service_account: REFUSED, change_status: REFUSED,
        delete_service_account: REFUSED, create_key: REFUSED, delete_key: REFUSED,
    }
    project_reader => Who::ProjectReader, {
        list_projects: ALLOWED, view_project: ALLOWED, create_project: REFUSED,
        edit_project: REFUSED, view_service_accounts: REFUSED, view_keys: REFUSED,
        view_agents: REFUSED, create_service_account: REFUSED, change_status: REFUSED,
        delete_service_account: REFUSED, create_key: REFUSED, delete_key: REFUSED,
    }
    service_account_token => Who::ServiceAccount, {
        list_projects: ALLOWED, view_project: ALLOWED, create_project: REFUSED,
        edit_project: REFUSED, view_service_accounts: REFUSED, view_keys: REFUSED,
        view_agents: REFUSED, create_service_account: REFUSED, change_status: REFUSED,
        delete_service_account: REFUSED, create_key: REFUSED, delete_key: REFUSED,
    }
    no_role => Who::NoRole, {
        list_projects: REFUSED, view_project: REFUSED, create_project: REFUSED,
        edit_project: REFUSED, view_service_accounts: REFUSED, view_keys: REFUSED,
        view_agents: REFUSED, create_service_account: REFUSED, change_status: REFUSED,
        delete_service_account: REFUSED, create_key: REFUSED, delete_key: REFUSED,
    }
}
