//! Snapshots of what a person reads: the human plan as the CLI prints it.

use kcform::model::Status;

use crate::harness::World;

#[test]
fn the_human_plan_as_printed() {
    let mut world = World::new();
    world.write("main.toml", e2e_config!("etl-runner-rotation-2026-11"));
    world.apply();
    let project_id = world.project_id("analytics");
    world
        .block_on(
            world
                .api
                .create_service_account(&project_id, "stray", Status::Active),
        )
        .unwrap();
    world.write("main.toml", e2e_config!("etl-runner-rotation-2026-12"));
    let plan = world.plan();
    insta::with_settings!({filters => vec![
        (r"[0-9a-f]{32}", "[ID]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]"),
    ]}, {
        insta::assert_snapshot!(plan.stdout);
    });
    world.apply();
    world.assert_converged();
}
