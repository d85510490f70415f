//! Snapshot and property tests of the human plan.

use crate::fixtures::*;
use crate::live::KeyStatus;
use crate::model::Status;
use crate::plan::{Plan, diff};
use crate::render::Palette;

use super::{NO_CHANGES, render};

/// A plan with every action kind: create, update, activate, deactivate, delete, both replaces.
pub(crate) fn every_action_plan() -> Plan {
    let mut described = project(
        "analytics",
        "Analytics",
        vec![
            account("etl", vec![key_rotated("ci", "2026-12")]),
            account(
                "full",
                vec![key_described("a", "GitHub Actions CI"), key("b")],
            ),
            account("sleepy", vec![]),
            account("new-one", vec![key("k")]),
            {
                let mut off = account("off", vec![]);
                off.status = Status::Inactive;
                off
            },
        ],
    );
    described.description = Some("Data platform team".to_string());
    let wanted = desired(vec![described]);
    let mut ci = live_key("ci", "", 3);
    ci.rotation = Some("2026-11".to_string());
    let mut expired = live_key("b", "", 5);
    expired.status = KeyStatus::Expired;
    let mut current_project = live_project(
        "analytics",
        "Analytics (old)",
        vec![
            live_account("etl", Status::Active, vec![ci]),
            live_account(
                "full",
                Status::Active,
                vec![live_key("a", "GitHub Actions", 10), expired],
            ),
            live_account("sleepy", Status::Inactive, vec![]),
            live_account("off", Status::Active, vec![]),
            live_account("stray", Status::Active, vec![live_key("x", "", 1)]),
        ],
    );
    current_project.description = "Data platform".to_string();
    diff(&wanted, &live(vec![current_project]), NOW).unwrap()
}

#[test]
fn the_human_plan_of_every_action_kind() {
    let text = render(&every_action_plan(), &Palette::plain());
    insta::assert_snapshot!(text);
}

#[test]
fn the_summary_line_ends_the_plan_exactly() {
    let text = render(&every_action_plan(), &Palette::plain());
    let last = text.lines().last().unwrap();
    assert_eq!(
        last,
        "Plan: 5 to add, 2 to change, 1 to deactivate, 5 to destroy."
    );
}

#[test]
fn an_empty_plan_says_no_changes() {
    assert_eq!(
        render(&Plan::default(), &Palette::plain()),
        format!("{NO_CHANGES}\n")
    );
}

#[test]
fn colors_appear_only_when_enabled() {
    let plan = every_action_plan();
    assert!(!render(&plan, &Palette::plain()).contains('\u{1b}'));
    assert!(render(&plan, &Palette::new(true)).contains('\u{1b}'));
}
