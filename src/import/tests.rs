//! The writer's output parses, validates, and plans to no changes against the live state it was
//! written from; what it cannot express is commented, warned about, and never deleted by accident.

use super::*;
use crate::fixtures::{NOW, live, live_account, live_key, live_project};
use crate::live::LiveProject;
use crate::plan::{Action, Plan};

fn plan_of(text: &str, live_projects: Vec<LiveProject>) -> Plan {
    let desired = crate::config::load_sources(
        vec![("imported.toml".into(), text.to_string())],
        std::path::Path::new("."),
    )
    .unwrap_or_else(|e| panic!("the imported text is invalid:\n{}\n{text}", e.rendered));
    crate::plan::diff(&desired, &live(live_projects), NOW).unwrap()
}

fn imported(project: LiveProject, options: &Options) -> Imported {
    write(
        &[ImportedProject {
            live: project,
            agents: Vec::new(),
        }],
        options,
    )
}

fn mixed_project() -> LiveProject {
    let mut project = live_project(
        "analytics",
        "Analytics \"team\"",
        vec![
            live_account(
                "etl-runner",
                Status::Active,
                vec![
                    live_key("ci", "GitHub Actions", 3),
                    live_key("airflow", "", 200),
                ],
            ),
            live_account("dashboards", Status::Active, vec![]),
            live_account("retired", Status::Inactive, vec![]),
            live_account("legacy-batch", Status::Active, vec![live_key("x", "", 1)]),
        ],
    );
    project.description = "Data platform\nand more".to_string();
    project
}

#[test]
fn a_mixed_project_round_trips_to_no_changes() {
    let options = Options {
        ignore: vec!["legacy-*".to_string()],
        provider_endpoint: None,
    };
    let out = imported(mixed_project(), &options);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    let plan = plan_of(&out.text, vec![mixed_project()]);
    assert!(plan.is_empty(), "{:#?}\n{}", plan.changes, out.text);
    assert!(out.text.contains("ignore = [\"legacy-*\"]"), "{}", out.text);
    assert!(!out.text.contains("service_account.legacy-batch]"));
    assert!(
        out.text
            .contains("# ignored: legacy-batch (matches \"legacy-*\")")
    );
    assert!(out.text.contains("status = \"inactive\""));
    assert!(out.text.contains("secrets cannot be recovered"));
    assert!(!out.text.contains("rotation ="));
}

#[test]
fn the_layout_reads_like_a_hand_written_file() {
    let project = live_project(
        "web",
        "Web",
        vec![live_account(
            "deployer",
            Status::Active,
            vec![live_key("github", "Deploys", 1)],
        )],
    );
    let out = write(
        &[ImportedProject {
            live: project,
            agents: vec![ServiceAgent {
                id: "agent-1".into(),
                email: "id-web@compute.kc.serviceaccount.com".into(),
                service: "compute".into(),
                project_id: "id-web".into(),
                created_at: String::new(),
            }],
        }],
        &Options {
            ignore: Vec::new(),
            provider_endpoint: Some("emulator".into()),
        },
    );
    let body = out.text.split_once("\n\n").unwrap().1;
    assert_eq!(
        body,
        "[provider]\n\
         endpoint = \"emulator\"\n\
         \n\
         [project.web]\n\
         nickname = \"Web\"\n\
         \n\
         # Service agents, made by KakaoCloud for the services this project uses. They are\n\
         # read-only and kcform never plans them:\n\
         #   id-web@compute.kc.serviceaccount.com (compute)\n\
         \n\
         [project.web.service_account.deployer]\n\
         \n\
         [project.web.service_account.deployer.access_key.github]\n\
         description = \"Deploys\"\n"
    );
}

#[test]
fn a_second_generation_key_is_declared_under_its_declared_name() {
    let mut key = live_key("ci", "", 1);
    key.remote_name = "ci--2".to_string();
    let project = live_project(
        "analytics",
        "Analytics",
        vec![live_account("etl", Status::Active, vec![key])],
    );
    let out = imported(project.clone(), &Options::default());
    assert!(out.text.contains("access_key.ci]"), "{}", out.text);
    assert!(plan_of(&out.text, vec![project]).is_empty());
}

#[test]
fn expired_and_deposed_keys_are_commented_warned_about_and_deleted_by_the_plan() {
    // An inactive account's expired keys are only commented: the plan leaves them alone.
    let mut expired = live_key("old", "", 400);
    expired.status = KeyStatus::Expired;
    let mut inactive_expired = live_key("gone", "", 400);
    inactive_expired.status = KeyStatus::Expired;
    let mut deposed = live_key("ci", "", 10);
    deposed.id = "key-ci-old".into();
    let mut etl = live_account("etl", Status::Active, vec![live_key("ci", "", 1), expired]);
    etl.deposed_keys.push(deposed);
    let project = live_project(
        "analytics",
        "Analytics",
        vec![
            etl,
            live_account("off", Status::Inactive, vec![inactive_expired]),
        ],
    );
    let out = imported(project.clone(), &Options::default());
    assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    assert!(
        out.text.contains("#   old (key-old): expired"),
        "{}",
        out.text
    );
    assert!(out.text.contains("#   gone (key-gone)\n"), "{}", out.text);
    let plan = plan_of(&out.text, vec![project]);
    let deleted: Vec<String> = plan
        .changes
        .iter()
        .map(|c| {
            assert_eq!(c.action, Action::Delete, "{c:?}");
            c.address.to_string()
        })
        .collect();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    assert!(!deleted.iter().any(|d| d.contains("gone")), "{deleted:?}");
}

#[test]
fn accounts_with_names_kcform_cannot_declare_are_ignored_by_exact_name() {
    let project = live_project(
        "analytics",
        "Analytics",
        vec![
            live_account("Legacy[1]", Status::Active, vec![]),
            live_account(
                "etl",
                Status::Active,
                vec![live_key("a-very-long-key-name-of-28ch", "", 1)],
            ),
            live_account("ok", Status::Active, vec![live_key("ci", "", 1)]),
        ],
    );
    let out = imported(project.clone(), &Options::default());
    assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    assert!(
        out.text.contains(r#"ignore = ["Legacy[[]1[]]", "etl"]"#),
        "{}",
        out.text
    );
    let plan = plan_of(&out.text, vec![project]);
    assert!(plan.is_empty(), "{:#?}", plan.changes);
}

#[test]
fn names_that_need_quotes_are_quoted() {
    assert_eq!(toml_key("a.b"), "\"a.b\"");
    let project = live_project("analytics", "Analytics", vec![]);
    let out = imported(project, &Options::default());
    assert!(out.text.contains("[project.analytics]"));
}
