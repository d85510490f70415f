//! Unit tests of the pure diff: every action, its reasons, ordering choices and refusals.

use crate::address::Address;
use crate::fixtures::*;
use crate::live::KeyStatus;
use crate::model::Status;

use super::{Action, ReplaceOrder, diff};

#[test]
fn everything_is_created_from_empty_in_parent_first_order() {
    let wanted = desired(vec![project(
        "analytics",
        "Analytics",
        vec![account("etl", vec![key("ci")])],
    )]);
    let plan = diff(&wanted, &live(vec![]), NOW).unwrap();
    assert_eq!(
        actions(&plan),
        vec![
            ("project.analytics".to_string(), "create"),
            ("service_account.analytics/etl".to_string(), "create"),
            ("access_key.analytics/etl/ci".to_string(), "create"),
        ]
    );
    let summary = plan.summary();
    assert_eq!((summary.add, summary.change, summary.destroy), (3, 0, 0));
}

#[test]
fn matching_state_has_no_changes() {
    let wanted = desired(vec![project(
        "a1b",
        "A",
        vec![account("etl", vec![key("ci")])],
    )]);
    let current = live(vec![live_project(
        "a1b",
        "A",
        vec![live_account(
            "etl",
            Status::Active,
            vec![live_key("ci", "", 1)],
        )],
    )]);
    assert!(diff(&wanted, &current, NOW).unwrap().is_empty());
}

#[test]
fn a_nickname_change_is_an_update_with_old_and_new() {
    let wanted = desired(vec![project("a1b", "New", vec![])]);
    let current = live(vec![live_project("a1b", "Old", vec![])]);
    let plan = diff(&wanted, &current, NOW).unwrap();
    let change = plan.change(&Address::project("a1b")).unwrap();
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.before.as_ref().unwrap()["nickname"], "Old");
    assert_eq!(change.after.as_ref().unwrap()["nickname"], "New");
    assert_eq!(plan.summary().change, 1);
}

#[test]
fn status_changes_are_activate_and_deactivate() {
    let mut inactive = account("off", vec![]);
    inactive.status = Status::Inactive;
    let wanted = desired(vec![project(
        "a1b",
        "A",
        vec![account("on", vec![]), inactive],
    )]);
    let current = live(vec![live_project(
        "a1b",
        "A",
        vec![
            live_account("on", Status::Inactive, vec![]),
            live_account("off", Status::Active, vec![live_key("old", "", 1)]),
        ],
    )]);
    let plan = diff(&wanted, &current, NOW).unwrap();
    assert_eq!(
        actions(&plan),
        vec![
            ("service_account.a1b/off".to_string(), "deactivate"),
            ("access_key.a1b/off/old".to_string(), "delete"),
            ("service_account.a1b/on".to_string(), "activate"),
        ]
    );
    let summary = plan.summary();
    assert_eq!(
        (summary.change, summary.deactivate, summary.destroy),
        (1, 1, 1)
    );
}

#[test]
fn a_protected_account_cannot_be_deactivated() {
    let mut guarded = account("guarded", vec![]);
    guarded.status = Status::Inactive;
    guarded.protect = true;
    let wanted = desired(vec![project("a1b", "A", vec![guarded])]);
    let current = live(vec![live_project(
        "a1b",
        "A",
        vec![live_account("guarded", Status::Active, vec![])],
    )]);
    let refused = diff(&wanted, &current, NOW).unwrap_err();
    assert_eq!(refused.problems.len(), 1);
    assert!(refused.problems[0].contains("service_account.a1b/guarded is protected"));
    assert!(refused.problems[0].contains("kcform.toml:5:1"));
}

#[test]
fn undeclared_accounts_are_deleted_with_their_keys_unless_ignored() {
    let mut declared = project("a1b", "A", vec![]);
    declared.ignore = vec!["legacy-*".to_string()];
    let wanted = desired(vec![declared]);
    let current = live(vec![live_project(
        "a1b",
        "A",
        vec![
            live_account("stray", Status::Active, vec![live_key("k", "", 1)]),
            live_account("legacy-batch", Status::Active, vec![live_key("k", "", 1)]),
        ],
    )]);
    let plan = diff(&wanted, &current, NOW).unwrap();
    assert_eq!(
        actions(&plan),
        vec![
            ("service_account.a1b/stray".to_string(), "delete"),
            ("access_key.a1b/stray/k".to_string(), "delete"),
        ]
    );
    assert_eq!(plan.summary().destroy, 2);
}

#[test]
fn a_rotation_change_replaces_create_before_destroy_when_a_slot_is_free() {
    let wanted = desired(vec![project(
        "a1b",
        "A",
        vec![account("etl", vec![key_rotated("ci", "2026-12")])],
    )]);
    let mut old = live_key("ci", "", 1);
    old.rotation = Some("2026-11".to_string());
    let current = live(vec![live_project(
        "a1b",
        "A",
        vec![live_account("etl", Status::Active, vec![old])],
    )]);
    let plan = diff(&wanted, &current, NOW).unwrap();
    let change = plan
        .change(&Address::access_key("a1b", "etl", "ci"))
        .unwrap();
    assert_eq!(
        change.action,
        Action::Replace(ReplaceOrder::CreateBeforeDestroy)
    );
    assert_eq!(
        change.reasons,
        vec![r#"rotation changed from "2026-11" to "2026-12""#]
    );
    let summary = plan.summary();
    assert_eq!((summary.add, summary.destroy), (1, 1));
}

#[test]
fn a_full_account_replaces_destroy_before_create_and_says_why() {
    let wanted = desired(vec![project(
        "a1b",
        "A",
        vec![account("etl", vec![key_described("a", "new"), key("b")])],
    )]);
    let current = live(vec![live_project(
        "a1b",
        "A",
        vec![live_account(
            "etl",
            Status::Active,
            vec![live_key("a", "old", 1), live_key("b", "", 1)],
        )],
    )]);
    let plan = diff(&wanted, &current, NOW).unwrap();
    let change = plan
        .change(&Address::access_key("a1b", "etl", "a"))
        .unwrap();
    assert_eq!(
        change.action,
        Action::Replace(ReplaceOrder::DestroyBeforeCreate)
    );
    assert!(change.reasons[0].contains("description changed"));
    assert!(change.reasons[1].contains("no free key slot"));
}

#[test]
fn an_old_or_expired_key_is_replaced() {
    let wanted = desired(vec![project(
        "a1b",
        "A",
        vec![account("etl", vec![key_max_age("old", 90), key("dead")])],
    )]);
    let mut dead = live_key("dead", "", 1);
    dead.status = KeyStatus::Expired;
    let current = live(vec![live_project(
        "a1b",
        "A",
        vec![live_account(
            "etl",
            Status::Active,
            vec![live_key("old", "", 97), dead],
        )],
    )]);
    let plan = diff(&wanted, &current, NOW).unwrap();
    let old = plan
        .change(&Address::access_key("a1b", "etl", "old"))
        .unwrap();
    assert_eq!(old.reasons[0], "key is 97 days old; max_age is 90d");
    let dead = plan
        .change(&Address::access_key("a1b", "etl", "dead"))
        .unwrap();
    assert!(dead.reasons[0].contains("expired"));
    assert!(matches!(dead.action, Action::Replace(_)));
}

#[test]
fn a_young_key_is_kept() {
    let wanted = desired(vec![project(
        "a1b",
        "A",
        vec![account("etl", vec![key_max_age("k", 90)])],
    )]);
    let current = live(vec![live_project(
        "a1b",
        "A",
        vec![live_account(
            "etl",
            Status::Active,
            vec![live_key("k", "", 89)],
        )],
    )]);
    assert!(diff(&wanted, &current, NOW).unwrap().is_empty());
}

#[test]
fn a_deposed_key_generation_is_deleted() {
    let wanted = desired(vec![project(
        "a1b",
        "A",
        vec![account("etl", vec![key("ci")])],
    )]);
    let mut account_live = live_account("etl", Status::Active, vec![live_key("ci", "", 1)]);
    let mut old = live_key("ci", "", 2);
    old.id = "key-old".to_string();
    old.remote_name = "ci--2".to_string();
    account_live.deposed_keys.push(old);
    let current = live(vec![live_project("a1b", "A", vec![account_live])]);
    let plan = diff(&wanted, &current, NOW).unwrap();
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].action, Action::Delete);
    assert_eq!(plan.changes[0].deposed.as_deref(), Some("key-old"));
}

#[test]
fn a_lookalike_of_an_undeclared_project_is_refused_as_a_rename() {
    let wanted = desired(vec![project("new-name", "Analytics", vec![])]);
    let mut current = live(vec![]);
    current
        .undeclared_projects
        .push(("old-name".to_string(), "Analytics".to_string()));
    let refused = diff(&wanted, &current, NOW).unwrap_err();
    assert!(refused.problems[0].contains("cannot be changed after creation"));
    assert!(refused.problems[0].contains("Help Desk"));
}

#[test]
fn the_hundred_and_first_account_is_refused_at_plan_time() {
    let mut declared = project("a1b", "A", vec![account("one-more", vec![])]);
    declared.ignore = vec!["bulk-*".to_string()];
    let wanted = desired(vec![declared]);
    let accounts = (0..100)
        .map(|i| live_account(&format!("bulk-{i}"), Status::Inactive, vec![]))
        .collect();
    let current = live(vec![live_project("a1b", "A", accounts)]);
    let refused = diff(&wanted, &current, NOW).unwrap_err();
    assert!(
        refused.problems[0].contains("would have 101 service accounts"),
        "{refused}"
    );
}

#[test]
fn an_inactive_accounts_expired_keys_are_left_alone() {
    let mut off = account("off", vec![]);
    off.status = Status::Inactive;
    let wanted = desired(vec![project("a1b", "A", vec![off])]);
    let mut dead = live_key("dead", "", 1);
    dead.status = KeyStatus::Expired;
    let current = live(vec![live_project(
        "a1b",
        "A",
        vec![live_account("off", Status::Inactive, vec![dead])],
    )]);
    assert!(diff(&wanted, &current, NOW).unwrap().is_empty());
}

#[test]
fn projects_put_together_in_any_order_give_the_plan_in_address_order() {
    let wanted = desired(vec![
        project(
            "b2b",
            "B",
            vec![
                account("z", vec![key("k2"), key("k1")]),
                account("a", vec![key("k")]),
            ],
        ),
        project("a1a", "A", vec![account("y", vec![key("k")])]),
        project("c3c", "New", vec![account("x", vec![key("k")])]),
    ]);
    let current = live(vec![
        live_project(
            "b2b",
            "B",
            vec![
                live_account(
                    "z",
                    Status::Active,
                    vec![live_key("k1", "", 1), live_key("k2", "", 1)],
                ),
                live_account("a", Status::Active, vec![live_key("k", "", 1)]),
            ],
        ),
        live_project(
            "a1a",
            "Renamed",
            vec![live_account(
                "y",
                Status::Active,
                vec![live_key("k", "", 1)],
            )],
        ),
    ]);
    let whole = diff(&wanted, &current, NOW).unwrap();
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let specs: Vec<_> = wanted.projects.values().collect();
        let parts = order.map(|i| {
            let spec = specs[i];
            super::diff_project(spec, current.projects.get(&spec.name), &[], NOW)
        });
        let plan = super::assemble(parts).unwrap();
        let unchanged: Vec<String> = plan
            .unchanged
            .iter()
            .map(|u| u.address.to_string())
            .collect();
        let mut sorted = plan.unchanged.clone();
        sorted.sort_by(|a, b| a.address.cmp(&b.address));
        let sorted: Vec<String> = sorted.iter().map(|u| u.address.to_string()).collect();
        assert_eq!(unchanged, sorted);
        assert_eq!(unchanged.first().map(String::as_str), Some("project.b2b"));
        assert_eq!(
            actions(&plan),
            vec![
                ("project.a1a".to_string(), "update"),
                ("project.c3c".to_string(), "create"),
                ("service_account.c3c/x".to_string(), "create"),
                ("access_key.c3c/x/k".to_string(), "create"),
            ]
        );
        assert_eq!(plan, whole);
    }
}

#[test]
fn deleting_an_account_recorded_as_protected_is_refused() {
    let wanted = desired(vec![project("a1b", "A", vec![account("kept", vec![])])]);
    let current = live(vec![live_project(
        "a1b",
        "A",
        vec![
            live_account("kept", Status::Active, vec![]),
            live_account("guarded", Status::Active, vec![]),
            live_account("loose", Status::Active, vec![]),
        ],
    )]);
    let plan = diff(&wanted, &current, NOW).unwrap();
    let mut recorded = crate::plan::drift::Snapshot::default();
    for (name, protect) in [("guarded", true), ("loose", false)] {
        recorded.objects.insert(
            format!("service_account.a1b/{name}"),
            crate::plan::drift::Recorded {
                protect,
                ..Default::default()
            },
        );
    }
    let problems = crate::plan::safety::protected_deletions(&plan.changes, &recorded);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("service_account.a1b/guarded is protected"));
}
