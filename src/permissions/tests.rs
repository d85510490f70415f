//! Unit tests of the pure permission checks: roles read from tokens, the docs/design.md#roles matrix
//! for every role and operation kind, plan checks, the read check and the texts.

use serde_json::json;

use super::{Authority, Operation, OrgRole, ProjectRole};
use crate::address::Address;
use crate::plan::{Action, Change, Plan, ReplaceOrder};
use crate::wire;

fn token(value: serde_json::Value) -> wire::Token {
    let mut body = json!({
        "expires_at": "2026-11-27T22:00:00Z",
        "issued_at": "2026-11-27T10:00:00Z",
        "methods": ["application_credential"],
        "user": {"id": "u1", "name": "lead"},
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), value.as_object()) {
        body.extend(extra.clone());
    }
    serde_json::from_value(body).expect("token body")
}

fn roles(names: &[&str]) -> serde_json::Value {
    json!(
        names
            .iter()
            .map(|n| json!({"id": "x", "name": n}))
            .collect::<Vec<_>>()
    )
}

fn org(role: &str) -> Authority {
    Authority::from_token(&token(json!({"roles": roles(&[role])})))
}

fn in_project(role: &str) -> Authority {
    Authority::from_token(&token(json!({
        "roles": roles(&[role]),
        "project_roles": {"analytics": role},
    })))
}

/// The ID of project `analytics` in these tokens.
const ANALYTICS_ID: &str = "0bb96376a146489687c73c9368714ed7";

fn service_account() -> Authority {
    Authority::from_token(&token(json!({
        "user": {"id": "u2", "name": format!("etl-runner-{ANALYTICS_ID}@kc.serviceaccount.com")},
        "project": {"id": ANALYTICS_ID, "name": "analytics"},
        "roles": roles(&["project-member"]),
        "project_roles": {"analytics": "project-member"},
    })))
}

fn nobody() -> Authority {
    Authority::from_token(&token(json!({})))
}

const ALL: [Operation; 10] = [
    Operation::ViewProject,
    Operation::ViewIam,
    Operation::CreateProject,
    Operation::UpdateProject,
    Operation::CreateServiceAccount,
    Operation::ChangeServiceAccountStatus,
    Operation::DeleteServiceAccount,
    Operation::CreateAccessKey,
    Operation::DeleteAccessKey,
    Operation::ReplaceAccessKey,
];

/// The operations `who` may perform on project `analytics`.
fn allowed(who: &Authority) -> Vec<Operation> {
    ALL.into_iter()
        .filter(|op| who.may(*op, "analytics").is_ok())
        .collect()
}

#[test]
fn roles_are_read_from_the_token() {
    let admin = org("org-admin");
    assert_eq!(admin.org_role, Some(OrgRole::Admin));
    assert_eq!(admin.who, "user `lead`");
    let both = Authority::from_token(&token(
        json!({"roles": roles(&["org-reader", "org-admin"])}),
    ));
    assert_eq!(
        both.org_role,
        Some(OrgRole::Admin),
        "the strongest role wins"
    );
    let lead = in_project("project-admin");
    assert_eq!(lead.project_roles["analytics"], ProjectRole::Admin);
    assert_eq!(
        lead.describe(),
        "user `lead` (project-admin of `analytics`)"
    );
    let sa = service_account();
    assert_eq!(sa.service_account_of.as_deref(), Some("analytics"));
    assert_eq!(
        sa.describe(),
        "service account `etl-runner` (project-member of `analytics`)"
    );
    assert_eq!(nobody().describe(), "user `lead` (no role)");
}

#[test]
fn a_persons_token_with_a_project_is_a_persons() {
    // Every token issued from an application credential carries `project`: the credential is
    // bound to one. An Org Admin's or a Project Admin's own key is still a person's.
    let admin = Authority::from_token(&token(json!({
        "project": {"id": ANALYTICS_ID, "name": "analytics"},
        "roles": roles(&["org-admin"]),
    })));
    assert_eq!(admin.service_account_of, None);
    assert_eq!(admin.describe(), "user `lead` (org-admin)");
    assert_eq!(allowed(&admin), ALL);
    let lead = Authority::from_token(&token(json!({
        "project": {"id": ANALYTICS_ID, "name": "analytics"},
        "roles": roles(&["project-admin"]),
        "project_roles": {"analytics": "project-admin"},
    })));
    assert_eq!(lead.service_account_of, None);
    assert!(lead.may(Operation::CreateAccessKey, "analytics").is_ok());
    assert!(
        lead.may(Operation::DeleteServiceAccount, "analytics")
            .is_ok()
    );
}

#[test]
fn service_accounts_are_known_by_their_identity() {
    use super::service_account_identity as identity;
    let sa = format!("etl-runner-{ANALYTICS_ID}@kc.serviceaccount.com");
    assert_eq!(identity(&sa), Some(("etl-runner", ANALYTICS_ID)));
    for person in [
        "lead",
        "lead@example.com",
        "etl-runner@kc.serviceaccount.com",
        "etl-runner-0bb96376@kc.serviceaccount.com",
        &format!("-{ANALYTICS_ID}@kc.serviceaccount.com"),
        // A service agent is not a service account.
        &format!("{ANALYTICS_ID}@compute.kc.serviceaccount.com"),
        &format!("etl-{ANALYTICS_ID}@kc.serviceaccount.com.example.com"),
    ] {
        assert_eq!(identity(person), None, "{person}");
    }
    // Without `project`, the account's one project role, else its project ID, names it.
    let bare = Authority::from_token(&token(json!({
        "user": {"id": "u2", "name": sa},
        "roles": roles(&["project-member"]),
    })));
    assert_eq!(bare.service_account_of.as_deref(), Some(ANALYTICS_ID));
    assert!(bare.may(Operation::CreateAccessKey, ANALYTICS_ID).is_err());
}

#[test]
fn org_admin_may_do_everything() {
    assert_eq!(allowed(&org("org-admin")), ALL);
}

#[test]
fn org_reader_may_only_view() {
    assert_eq!(
        allowed(&org("org-reader")),
        [Operation::ViewProject, Operation::ViewIam]
    );
}

#[test]
fn project_admin_manages_iam_of_its_project_but_not_projects() {
    let lead = in_project("project-admin");
    assert_eq!(
        allowed(&lead),
        [
            Operation::ViewProject,
            Operation::ViewIam,
            Operation::CreateServiceAccount,
            Operation::ChangeServiceAccountStatus,
            Operation::DeleteServiceAccount,
            Operation::CreateAccessKey,
            Operation::DeleteAccessKey,
            Operation::ReplaceAccessKey,
        ]
    );
    let elsewhere: Vec<_> = ALL
        .into_iter()
        .filter(|op| lead.may(*op, "other").is_ok())
        .collect();
    assert!(elsewhere.is_empty(), "{elsewhere:?}");
    let reason = lead
        .may(Operation::CreateAccessKey, "other")
        .expect_err("other project");
    assert_eq!(reason, "needs Org Admin or Project Admin of `other`");
    let reason = lead
        .may(Operation::UpdateProject, "analytics")
        .expect_err("project edit");
    assert_eq!(reason, "needs Org Admin");
}

#[test]
fn project_member_and_reader_only_view_the_project() {
    for role in ["project-member", "project-reader"] {
        assert_eq!(
            allowed(&in_project(role)),
            [Operation::ViewProject],
            "{role}"
        );
    }
}

#[test]
fn a_service_account_token_is_a_restricted_member_of_its_project() {
    let sa = service_account();
    assert_eq!(allowed(&sa), [Operation::ViewProject]);
    let reason = sa
        .may(Operation::CreateAccessKey, "analytics")
        .expect_err("barred");
    assert!(
        reason.contains("service account's own token can never create access keys")
            && reason.contains("Project Admin of `analytics`"),
        "{reason}"
    );
    assert!(sa.may(Operation::ViewProject, "other").is_err());
    // Even a service account's token naming extra roles stays a member of its project only.
    let odd = Authority::from_token(&token(json!({
        "user": {"id": "u2", "name": format!("etl-runner-{ANALYTICS_ID}@kc.serviceaccount.com")},
        "project": {"id": ANALYTICS_ID, "name": "analytics"},
        "roles": roles(&["org-admin"]),
    })));
    assert_eq!(allowed(&odd), [Operation::ViewProject]);
}

#[test]
fn no_role_may_do_nothing() {
    assert!(allowed(&nobody()).is_empty());
}

#[test]
fn unknown_role_names_are_not_judged() {
    let foreign = Authority::from_token(&token(json!({"roles": roles(&["admin", "reader"])})));
    assert!(!foreign.is_known());
    assert_eq!(allowed(&foreign), ALL);
    let mixed = Authority::from_token(&token(json!({"roles": roles(&["admin", "org-reader"])})));
    assert!(mixed.is_known());
    assert_eq!(mixed.unknown_roles, ["admin"]);
    assert_eq!(allowed(&mixed).len(), 2);
}

fn change(address: Address, action: Action) -> Change {
    Change {
        address,
        deposed: None,
        action,
        before: None,
        after: None,
        reasons: Vec::new(),
        remote: Default::default(),
    }
}

fn every_kind_of_change() -> Plan {
    Plan {
        changes: vec![
            change(Address::project("analytics"), Action::Update),
            change(Address::project("newproj"), Action::Create),
            change(
                Address::service_account("analytics", "etl"),
                Action::Deactivate,
            ),
            change(Address::service_account("analytics", "new"), Action::Create),
            change(Address::service_account("analytics", "old"), Action::Delete),
            change(
                Address::access_key("analytics", "etl", "ci"),
                Action::Replace(ReplaceOrder::CreateBeforeDestroy),
            ),
            change(
                Address::access_key("analytics", "new", "ci"),
                Action::Create,
            ),
            change(
                Address::access_key("analytics", "old", "ci"),
                Action::Delete,
            ),
        ],
        ..Plan::default()
    }
}

#[test]
fn each_change_maps_to_its_operation() {
    let ops: Vec<_> = every_kind_of_change()
        .changes
        .iter()
        .map(Operation::of)
        .collect();
    assert_eq!(
        ops,
        [
            Operation::UpdateProject,
            Operation::CreateProject,
            Operation::ChangeServiceAccountStatus,
            Operation::CreateServiceAccount,
            Operation::DeleteServiceAccount,
            Operation::ReplaceAccessKey,
            Operation::CreateAccessKey,
            Operation::DeleteAccessKey,
        ]
    );
}

#[test]
fn a_project_admin_is_refused_only_the_project_changes() {
    let plan = every_kind_of_change();
    let denials = in_project("project-admin").check_plan(&plan);
    let denied: Vec<String> = denials.iter().map(ToString::to_string).collect();
    assert_eq!(
        denied,
        [
            "update project.analytics: needs Org Admin",
            "create project.newproj: needs Org Admin",
        ]
    );
    assert!(org("org-admin").check_plan(&plan).is_empty());
    assert!(org("org-admin").permit(&plan).is_ok());
    assert_eq!(org("org-reader").check_plan(&plan).len(), 8);
}

#[test]
fn apply_refusal_names_each_operation_address_and_role() {
    let plan = every_kind_of_change();
    let refused = service_account().permit(&plan).expect_err("refused");
    assert_eq!(refused.denials.len(), 8);
    let text = refused.to_string();
    assert!(
        text.starts_with(
            "apply refused before any change: the credential, service account `etl-runner` \
             (project-member of `analytics`), cannot perform 8 of the plan's operations:"
        ),
        "{text}"
    );
    assert!(
        text.contains("\n  - create access_key.analytics/new/ci: a service account's own token"),
        "{text}"
    );
    assert!(
        text.contains(
            "\n  - deactivate service_account.analytics/etl: needs Org Admin or Project Admin of `analytics`"
        ),
        "{text}"
    );
    assert!(text.ends_with("limit the run with --target."), "{text}");
}

#[test]
fn the_plan_section_lists_denials_and_warns_about_hidden_projects() {
    let plan = every_kind_of_change();
    let lead = in_project("project-admin");
    let denials = lead.check_plan(&plan);
    let text = lead.render_denials(&denials, plan.changes.len());
    assert!(
        text.contains(
            "The credential cannot perform 2 of these 8 operations; it is user `lead` \
             (project-admin of `analytics`):\n  - update project.analytics: needs Org Admin\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("`newproj`") && text.contains("may already exist"),
        "{text}"
    );
    assert!(
        text.contains("`kcform apply` with this credential refuses"),
        "{text}"
    );
    assert_eq!(lead.render_denials(&[], 8), "");
    // An Org Reader sees every project, so nothing is hidden from it.
    let reader = org("org-reader");
    let text = reader.render_denials(&reader.check_plan(&plan), 8);
    assert!(!text.contains("may already exist"), "{text}");
}

#[test]
fn a_visible_project_whose_accounts_cannot_be_read_is_refused_up_front() {
    let declared = ["analytics".to_string(), "other".to_string()];
    assert!(org("org-reader").check_readable(&declared).is_ok());
    assert!(
        in_project("project-admin")
            .check_readable(&declared)
            .is_ok()
    );
    let err = in_project("project-reader")
        .check_readable(&declared)
        .expect_err("reader cannot read IAM");
    assert_eq!(
        err.projects,
        ["analytics"],
        "`other` is invisible, not unreadable"
    );
    let text = err.to_string();
    assert!(
        text.contains("user `lead` (project-reader of `analytics`)")
            && text.contains("project(s) `analytics`")
            && text.contains("Org Admin, Org Reader or Project Admin"),
        "{text}"
    );
    let err = service_account()
        .check_readable(&declared)
        .expect_err("a service account cannot read its project's accounts");
    assert_eq!(err.projects, ["analytics"]);
}
