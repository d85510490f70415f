//! The pull-request flow of `examples/github-actions/kcform.yml`, played step by step: the
//! `run:` scripts of its kcform steps are taken from the workflow file as written and run
//! against the emulator, with the artifact hand-over (`actions/upload-artifact` on the pull
//! request, `gh run download` on merge) played by copying the plan file. A merge applies
//! exactly the reviewed plan; a change made outside kcform or to the configuration since the
//! review makes it refuse with exit 4, naming what changed, and apply nothing.

use kcform::model::Status;

use crate::harness::World;

const WORKFLOW: &str = include_str!("../../examples/github-actions/kcform.yml");

/// The `run:` script of the workflow step named `name`, dedented.
fn step(name: &str) -> String {
    let lines: Vec<&str> = WORKFLOW.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.trim() == format!("- name: {name}"))
        .unwrap_or_else(|| panic!("the workflow has no step named {name:?}"));
    let step_indent = lines[start].len() - lines[start].trim_start().len();
    let mut rest = lines[start + 1..]
        .iter()
        .take_while(|line| {
            line.trim().is_empty() || line.len() - line.trim_start().len() > step_indent
        })
        .skip_while(|line| !line.trim_start().starts_with("run:"));
    let run = rest
        .next()
        .unwrap_or_else(|| panic!("step {name:?} has no run:"));
    let inline = run.trim_start().trim_start_matches("run:").trim();
    if inline != "|" {
        return format!("{inline}\n");
    }
    let body: Vec<&str> = rest
        .take_while(|line| !line.trim().is_empty())
        .copied()
        .collect();
    let indent = body
        .iter()
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    body.iter()
        .map(|line| format!("{}\n", &line[indent..]))
        .collect()
}

const BASE: &str =
    "[project.analytics]\nnickname = \"Analytics\"\n\n[project.analytics.service_account.etl]\n";
const CHANGE: &str = "\n[project.analytics.service_account.web]\n";

/// The pull request's plan job: its `Plan` step, then the artifact the merge job downloads.
fn pull_request_plan(world: &mut World) -> String {
    let summary = world.dir.path().join("summary.md");
    world.set_env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    let planned = world.script(&step("Plan"));
    assert_eq!(planned.code, 0, "{}\n{}", planned.stdout, planned.stderr);
    let markdown = std::fs::read_to_string(world.dir.path().join("plan.md")).unwrap();
    assert!(markdown.starts_with("### kcform plan:"), "{markdown}");
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("### kcform plan:"),
        "the job summary has the plan"
    );
    std::fs::create_dir_all(world.dir.path().join("reviewed")).unwrap();
    std::fs::copy(
        world.dir.path().join("plan.kcform"),
        world.dir.path().join("reviewed/plan.kcform"),
    )
    .unwrap();
    markdown
}

fn names(world: &World) -> Vec<String> {
    world
        .accounts("analytics")
        .into_iter()
        .map(|a| a.name)
        .collect()
}

#[test]
fn the_workflow_applies_exactly_the_reviewed_plan_and_refuses_what_changed_since() {
    let mut world = World::new();
    std::fs::create_dir_all(world.dir.path().join("iam")).unwrap();
    world.write("iam/main.toml", BASE);
    world
        .kcform(&["apply", "--auto-approve", "iam"])
        .expect_code(0);

    // Clean case: the merge applies the plan the pull request showed.
    world.write("iam/main.toml", &format!("{BASE}{CHANGE}"));
    let reviewed = pull_request_plan(&mut world);
    assert!(
        reviewed.contains("service_account.analytics/web"),
        "{reviewed}"
    );
    let merged = world.script(&step("Apply the reviewed plan"));
    assert_eq!(merged.code, 0, "{}\n{}", merged.stdout, merged.stderr);
    assert_eq!(names(&world), ["etl", "web"]);

    // A change made outside kcform between review and merge: refused, nothing applied.
    world.write(
        "iam/main.toml",
        &format!("{BASE}{CHANGE}\n[project.analytics.service_account.api]\n"),
    );
    pull_request_plan(&mut world);
    let project = world.project_id("analytics");
    world
        .block_on(
            world
                .api
                .create_service_account(&project, "console-made", Status::Active),
        )
        .unwrap();
    let refused = world.script(&step("Apply the reviewed plan"));
    assert_eq!(refused.code, 4, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .contains("service_account.analytics/console-made"),
        "the refusal names what changed: {}",
        refused.stderr
    );
    assert_eq!(
        names(&world),
        ["console-made", "etl", "web"],
        "nothing applied"
    );

    // The configuration changed after the review (a branch merged without being up to date).
    world.write("iam/main.toml", &format!("{BASE}{CHANGE}\n[project.analytics.service_account.console-made]\n[project.analytics.service_account.api]\n"));
    pull_request_plan(&mut world);
    world.write("iam/main.toml", &format!("{BASE}{CHANGE}\n[project.analytics.service_account.console-made]\n[project.analytics.service_account.api2]\n"));
    let refused = world.script(&step("Apply the reviewed plan"));
    assert_eq!(refused.code, 4, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("configuration"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        names(&world),
        ["console-made", "etl", "web"],
        "nothing applied"
    );

    // Recovery as docs/ci.md says: plan again, review, apply that plan.
    pull_request_plan(&mut world);
    let merged = world.script(&step("Apply the reviewed plan"));
    assert_eq!(merged.code, 0, "{}\n{}", merged.stdout, merged.stderr);
    assert_eq!(names(&world), ["api2", "console-made", "etl", "web"]);
    world.unset_env("GITHUB_STEP_SUMMARY");
    let converged = world.kcform(&["plan", "--detailed-exitcode", "iam"]);
    assert_eq!(converged.code, 0, "{}", converged.stdout);
    assert!(
        converged.stdout.contains("No changes"),
        "{}",
        converged.stdout
    );
}

#[test]
fn every_kcform_step_of_the_workflow_is_found() {
    for name in ["Plan", "Apply the reviewed plan"] {
        assert!(step(name).contains("kcform "), "{name}: {}", step(name));
    }
    assert!(step("Fetch the reviewed plan").contains("gh run download"));
}
