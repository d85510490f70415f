//! Snapshot and property tests of the human plan.

use crate::fixtures::*;
use crate::plan::Plan;
use crate::render::Palette;

use super::{NO_CHANGES, render};

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
