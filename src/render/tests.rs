//! Snapshots of every machine format for a plan with every action kind, the Terraform JSON read
//! by an independent consumer (a Rego policy in regorus), markdown's length cap, and hostile
//! values read through a CommonMark/GFM renderer (pulldown-cmark) the way a reviewer sees them.

use crate::fixtures::*;
use crate::plan::{Action, Change, Drift, Plan, RemoteIds};

use super::{json, markdown, terraform_json};

const CHECKSUM: &str = "sha256:0000";

fn with_drift() -> Plan {
    let mut plan = every_action_plan();
    plan.drift.push(Drift {
        address: crate::address::Address::project("analytics"),
        notes: vec![r#"nickname changed from "Analytics" to "Analytics (old)""#.into()],
    });
    plan
}

fn versionless(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}

#[test]
fn json_of_every_action_kind() {
    let text = json::render(&with_drift(), CHECKSUM);
    insta::assert_snapshot!(versionless(&text));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["destructive"], true);
    assert_eq!(value["summary"]["destroy"], 5);
    assert_eq!(
        value["changes"].as_array().unwrap().len(),
        with_drift().changes.len()
    );
}

#[test]
fn terraform_json_of_every_action_kind() {
    insta::assert_snapshot!(versionless(&terraform_json::render(&with_drift())));
}

#[test]
fn markdown_of_every_action_kind() {
    insta::assert_snapshot!(markdown::render(&with_drift(), CHECKSUM));
}

#[test]
fn an_empty_plan_is_not_destructive() {
    let value: serde_json::Value =
        serde_json::from_str(&json::render(&Plan::default(), CHECKSUM)).unwrap();
    assert_eq!(value["destructive"], false);
    assert!(!markdown::render(&Plan::default(), CHECKSUM).contains("[!WARNING]"));
}

#[test]
fn a_rego_policy_written_for_terraform_reads_the_plan() {
    let policy = r#"
package terraform.kcform

import rego.v1

deny contains msg if {
    some rc in input.resource_changes
    "delete" in rc.change.actions
    msg := sprintf("%s would be destroyed", [rc.address])
}

secret_values contains rc.address if {
    some rc in input.resource_changes
    rc.change.after.secret
}

unknown_secrets contains rc.address if {
    some rc in input.resource_changes
    rc.type == "kakaocloud_access_key"
    rc.change.after_unknown.secret == true
}

destructive := input.destructive
"#;
    let mut engine = regorus::Engine::new();
    engine
        .add_policy("deny.rego".to_string(), policy.to_string())
        .unwrap();
    engine
        .set_input_json(&terraform_json::render(&every_action_plan()))
        .unwrap();
    let deny = engine
        .eval_rule("data.terraform.kcform.deny".to_string())
        .unwrap();
    let denied: Vec<String> = deny
        .as_set()
        .unwrap()
        .iter()
        .map(|v| v.as_string().unwrap().to_string())
        .collect();
    // Two deletes and three replacements, whichever order they take.
    assert_eq!(denied.len(), 5, "{denied:?}");
    assert!(denied.contains(
        &r#"kakaocloud_service_account.this["analytics/stray"] would be destroyed"#.to_string()
    ));
    assert!(denied.contains(
        &r#"kakaocloud_access_key.this["analytics/etl/ci"] would be destroyed"#.to_string()
    ));
    let destructive = engine
        .eval_rule("data.terraform.kcform.destructive".to_string())
        .unwrap();
    assert_eq!(destructive, regorus::Value::from(true));
    let leaks = engine
        .eval_rule("data.terraform.kcform.secret_values".to_string())
        .unwrap();
    assert!(
        leaks.as_set().unwrap().is_empty(),
        "no secret value may appear"
    );
    let unknown = engine
        .eval_rule("data.terraform.kcform.unknown_secrets".to_string())
        .unwrap();
    assert_eq!(
        unknown.as_set().unwrap().len(),
        4,
        "new keys: 1 create + 3 replacements"
    );
}

#[test]
fn unchanged_objects_are_terraform_no_ops() {
    let mut engine = regorus::Engine::new();
    engine
        .add_policy(
            "noop.rego".to_string(),
            "package t\nimport rego.v1\nno_ops contains rc.address if {\n some rc in input.resource_changes\n rc.change.actions == [\"no-op\"]\n}\n".to_string(),
        )
        .unwrap();
    let wanted = desired(vec![project(
        "p1a",
        "P",
        vec![account("sa", vec![key("k")])],
    )]);
    let current = live(vec![live_project(
        "p1a",
        "P",
        vec![live_account(
            "sa",
            crate::model::Status::Active,
            vec![live_key("k", "", 1)],
        )],
    )]);
    let plan = crate::plan::diff(&wanted, &current, NOW).unwrap();
    engine
        .set_input_json(&terraform_json::render(&plan))
        .unwrap();
    let no_ops = engine.eval_rule("data.t.no_ops".to_string()).unwrap();
    assert_eq!(no_ops.as_set().unwrap().len(), 3);
}

#[test]
fn markdown_of_thousands_of_changes_stays_under_the_comment_limit() {
    let changes: Vec<Change> = (0..5_000)
        .map(|i| Change {
            address: crate::address::Address::service_account("big", &format!("account-{i:05}")),
            deposed: None,
            action: Action::Delete,
            before: Some(crate::plan::Attributes::from([(
                "name".to_string(),
                serde_json::json!(format!("account-{i:05}")),
            )])),
            after: None,
            reasons: vec!["not declared in the configuration".into()],
            remote: RemoteIds::default(),
        })
        .collect();
    let plan = Plan {
        changes,
        ..Plan::default()
    };
    let text = markdown::render(&plan, CHECKSUM);
    assert!(text.chars().count() <= markdown::MAX_LEN, "{}", text.len());
    assert!(
        text.starts_with(
            "### kcform plan: 0 to add, 0 to change, 0 to deactivate, 5000 to destroy"
        )
    );
    assert!(text.contains("[!WARNING]"));
    assert!(text.contains("more change(s) not listed"));
    assert!(text.contains("The full plan was cut after"));
    assert!(
        text.trim_end()
            .ends_with(&format!("Plan checksum: `{CHECKSUM}`"))
    );
}

/// Values a pull request (or someone with console access) could slip into a plan to make the
/// comment say something else: an HTML comment that hides the rest, a cell break, closing tags,
/// an image, a fence, a bidirectional override.
const HOSTILE: [&str; 6] = [
    "v2 <!-- hidden",
    "Ops | <img src=x onerror=alert(1)> </details>",
    "```\n# Approved by security",
    "</summary></details><b>no changes</b>",
    "[click](https://evil.example) *bold* &amp; `tick`",
    "safe\u{202e}txt.exe",
];

fn hostile_plan() -> Plan {
    let mut plan = every_action_plan();
    for (change, value) in plan.changes.iter_mut().zip(HOSTILE.iter().cycle()) {
        change.reasons.push((*value).to_string());
    }
    plan.changes[0].deposed = Some("id`|`x".to_string());
    plan.drift.push(Drift {
        address: crate::address::Address::project("analytics"),
        notes: HOSTILE.iter().map(|v| (*v).to_string()).collect(),
    });
    plan
}

#[test]
fn hostile_values_in_the_markdown_plan_stay_text_a_reviewer_can_see() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

    let plan = hostile_plan();
    let comment = markdown::render(&plan, CHECKSUM);
    let mut html = Vec::new();
    let mut seen = String::new();
    let mut rows = 0;
    let mut code_blocks = Vec::new();
    let mut in_code = false;
    let mut list_items = 0;
    for event in Parser::new_ext(&comment, Options::ENABLE_TABLES | Options::ENABLE_GFM) {
        match event {
            Event::Html(tag) | Event::InlineHtml(tag) => html.push(tag.trim().to_string()),
            Event::Start(Tag::TableRow) => rows += 1,
            Event::Start(Tag::Item) => list_items += 1,
            Event::Start(Tag::CodeBlock(_)) => {
                in_code = true;
                code_blocks.push(String::new());
            }
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Text(text) | Event::Code(text) if in_code => {
                code_blocks.last_mut().unwrap().push_str(&text);
            }
            Event::Text(text) | Event::Code(text) => seen.push_str(&text),
            Event::SoftBreak | Event::HardBreak => seen.push('\n'),
            _ => {}
        }
    }
    // The only HTML is the comment's own `<details>` wrapper.
    assert_eq!(
        html,
        ["<details><summary>Full plan</summary>", "</details>"],
        "{comment}"
    );
    // One row per change, no more, no fewer: no value split or ended a row.
    assert_eq!(rows, plan.changes.len(), "{comment}");
    // The drift list has one item, holding every note.
    assert_eq!(list_items, 1, "{comment}");
    // Every hostile value reads as written (line breaks and overrides made visible).
    for value in HOSTILE {
        let shown = value.replace('\n', " ").replace('\u{202e}', "\u{fffd}");
        assert!(
            seen.contains(&shown),
            "`{shown}` not shown as written:\n{comment}"
        );
    }
    assert!(seen.contains("id`|`x"), "{comment}");
    // The full plan is one code block holding every line of the human plan.
    assert_eq!(code_blocks.len(), 1, "{comment}");
    let human_lines = super::human::render(&plan, &super::Palette::plain())
        .lines()
        .count();
    assert_eq!(code_blocks[0].lines().count(), human_lines, "{comment}");
    assert!(
        comment
            .trim_end()
            .ends_with(&format!("Plan checksum: `{CHECKSUM}`"))
    );
}
