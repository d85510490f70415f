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

/// The changes of the every-action plan repeated in projects `p000`, `p001`… (in plan order).
fn every_action_in_projects(count: usize) -> Vec<crate::plan::Change> {
    let template = every_action_plan().changes;
    (0..count)
        .flat_map(|i| {
            template.iter().cloned().map(move |mut change| {
                match &mut change.address {
                    crate::address::Address::Project { project }
                    | crate::address::Address::ServiceAccount { project, .. }
                    | crate::address::Address::AccessKey { project, .. } => {
                        *project = format!("p{i:03}");
                    }
                }
                change
            })
        })
        .collect()
}

#[test]
fn a_large_plan_renders_every_change_in_order_on_every_core() {
    let changes = every_action_in_projects(150);
    assert!(changes.len() > 1000);
    let palette = Palette::new(true);
    let one_by_one: String = changes
        .iter()
        .map(|change| format!("\n{}", super::render_change(change, &palette)))
        .collect();
    assert_eq!(super::change_blocks(&changes, &palette), one_by_one);
}

#[test]
fn project_blocks_rendered_ahead_join_into_the_whole_plans_text() {
    let mut plan = every_action_plan();
    plan.changes = every_action_in_projects(4);
    let palette = Palette::plain();
    // Two projects rendered ahead (one of them out of order), two left to the join.
    let ahead = ["p002", "p000"]
        .map(|name| {
            let own: Vec<_> = plan
                .changes
                .iter()
                .filter(|c| c.address.project_name() == name)
                .cloned()
                .collect();
            (name.to_string(), super::change_blocks(&own, &palette))
        })
        .into();
    let joined = super::join_project_blocks(&plan.changes, ahead, &palette);
    assert_eq!(joined, super::change_blocks(&plan.changes, &palette));
    let text = super::render_with_changes(&plan, &palette, &joined);
    assert_eq!(text, render(&plan, &palette));
    assert!(text.contains("# access_key.p003/"));
}
