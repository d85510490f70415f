//! The pipeline in process, against the embedded emulator of a temporary configuration
//! directory: a session plans, applies and records, is closed at the end of its scope, and a
//! pin refuses a plan it did not review. (The command-line behaviour is `tests/e2e`'s.)

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::review::Reviewed;
use super::*;
use crate::address::Address;
use crate::exit::{STALE_PLAN, code_for};
use crate::model::Desired;
use crate::render::{Palette, human};
use crate::settings::GlobalSettings;
use crate::state::{keepers, pending, snapshot};

const CONFIG: &str = r#"
[provider]
endpoint = "emulator"

[project.payments]
nickname = "Payments"

[project.payments.service_account.ci]

[project.payments.service_account.ci.access_key.main]
description = "deploys"
rotation = "2026-q4"
"#;

fn settings() -> GlobalSettings {
    GlobalSettings {
        color_stdout: false,
        color_stderr: false,
        credential: None,
        endpoint_override: None,
        now: crate::fixtures::NOW,
        interactive: false,
        step_summary: None,
        in_ci: false,
        http_timeout: None,
        http_attempts: None,
        state: crate::state::StateSettings::default(),
    }
}

/// A configuration directory holding [`CONFIG`], and the configuration read from it.
fn configuration() -> (tempfile::TempDir, Desired) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("kcform.toml"), CONFIG).expect("the configuration is written");
    let desired = crate::config::load(dir.path()).expect("the configuration is valid");
    (dir, desired)
}

fn open(settings: &GlobalSettings) -> Open<'_> {
    Open {
        settings,
        parallelism: None,
        head_start: None,
    }
}

/// Plans `desired` (the whole configuration) in a session of its own.
async fn plan_once(desired: Desired, settings: &GlobalSettings, human: Option<Palette>) -> Planned {
    with_session(desired, open(settings), async |session, desired| {
        plan(session, desired, &Selection::everything(), human).await
    })
    .await
    .expect("the plan is made")
}

fn options() -> ApplyOptions {
    ApplyOptions {
        parallelism: None,
        stop: Arc::new(AtomicBool::new(false)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_plans_applies_and_records_then_plans_no_changes() {
    let (dir, desired) = configuration();
    let settings = settings();
    let (planned, outcome, finished) =
        with_session(desired, open(&settings), async |session, desired| {
            let planned = plan(session, desired, &Selection::everything(), None).await?;
            let mut finished = Vec::new();
            let outcome = apply(session, &planned, options(), |op| {
                finished.push(op.address.clone());
            })
            .await?;
            Ok::<_, PipelineError>((planned, outcome, finished))
        })
        .await
        .expect("plan and apply");
    assert_eq!(planned.plan.changes.len(), 3, "{:?}", planned.plan.changes);
    assert!(outcome.report.succeeded(), "{:?}", outcome.report);
    assert!(outcome.recorded.is_ok());
    assert_eq!(finished.len(), 3);
    assert!(finished.contains(&Address::access_key("payments", "ci", "main")));

    // What the apply recorded: the keeper of the key it created and the last applied state;
    // no key create is left pending.
    let records =
        crate::state::Records::open(&planned.desired, &settings.state).expect("the records open");
    let keepers: keepers::Keepers = records
        .load(keepers::RECORD)
        .await
        .expect("keepers readable")
        .expect("keepers written");
    assert_eq!(keepers.values().collect::<Vec<_>>(), ["2026-q4"]);
    let recorded: Option<crate::plan::drift::Snapshot> = records
        .load(snapshot::RECORD)
        .await
        .expect("snapshot readable");
    assert!(recorded.is_some_and(|s| s.objects.len() == 3));
    let pending: Option<pending::PendingKeys> =
        records.load(pending::RECORD).await.expect("readable");
    assert_eq!(pending, None);

    // The session was closed (the emulator flushed its state): a new one finds it all there.
    let desired = crate::config::load(dir.path()).expect("valid");
    let again = plan_once(desired, &settings, None).await;
    assert!(again.plan.is_empty(), "{:?}", again.plan.changes);
    assert_eq!(again.projects, ["payments"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocks_rendered_as_projects_arrive_are_the_human_plan() {
    let (_dir, desired) = configuration();
    let settings = settings();
    for color in [false, true] {
        let palette = Palette::new(color);
        let planned = plan_once(desired.clone(), &settings, Some(palette.clone())).await;
        assert!(planned.human_changes.is_some());
        assert_eq!(
            planned.human(&palette),
            human::render(&planned.plan, &palette)
        );
    }
    // A selection renders its blocks from what it keeps.
    let excludes = [Address::access_key("payments", "ci", "main")];
    let palette = Palette::new(false);
    let planned = with_session(desired, open(&settings), async |session, desired| {
        let selection = Selection::new(&[], &excludes);
        plan(session, desired, &selection, Some(palette.clone())).await
    })
    .await
    .expect("planned");
    assert!(planned.human_changes.is_none());
    assert_eq!(planned.plan.changes.len(), 2, "{:?}", planned.plan.changes);
    assert_eq!(
        planned.human(&palette),
        human::render(&planned.plan, &palette)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selection_that_matches_nothing_is_an_error_naming_the_closest() {
    let (_dir, desired) = configuration();
    let settings = settings();
    let targets = [Address::project("paymens")];
    let error = with_session(desired, open(&settings), async |session, desired| {
        let selection = Selection::new(&targets, &[]);
        plan(session, desired, &selection, None).await
    })
    .await
    .err()
    .expect("refused");
    assert_eq!(
        error.to_string(),
        "--target project.paymens matches nothing declared or live; closest: project.payments"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_scoped_helper_closes_the_connection_whatever_the_body_returns() {
    let (_dir, desired) = configuration();
    let settings = settings();
    for fails in [false, true] {
        let connection = connect(&desired, &settings, None).await.expect("connects");
        let client = Arc::clone(&connection.client);
        let result: anyhow::Result<()> = with_connection(connection, async |connection| {
            connection.client.whoami().await?;
            if fails {
                anyhow::bail!("the body failed");
            }
            Ok(())
        })
        .await;
        assert_eq!(result.is_err(), fails);
        // The embedded emulator was stopped with the connection: nothing listens there now.
        let endpoint = url::Url::parse(client.endpoint()).expect("a URL");
        let address = endpoint.socket_addrs(|| None).expect("an address");
        assert!(std::net::TcpStream::connect(&address[..]).is_err());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_refuses_a_plan_it_did_not_review() {
    let (dir, desired) = configuration();
    let settings = settings();
    let planned = plan_once(desired.clone(), &settings, None).await;
    let code = |error: PipelineError| code_for(&error.into());

    assert!(Reviewed::Nothing.check(&planned).is_ok());
    assert!(
        Reviewed::Checksum(planned.checksum.clone())
            .check(&planned)
            .is_ok()
    );
    let error = Reviewed::Checksum("sha256:0".into())
        .check(&planned)
        .expect_err("another checksum");
    assert!(
        error
            .to_string()
            .contains("but --expect-checksum is sha256:0")
    );
    assert_eq!(code(error), STALE_PLAN);

    // A saved plan of this very plan passes; one whose checksum was edited does not.
    let file = dir.path().join("plan.json");
    let saved = planned.saved("2026-11-27T12:00:00Z".into(), &[], &[]);
    std::fs::write(&file, saved.to_json()).expect("written");
    let reviewed = Reviewed::saved(&file, &desired, dir.path()).expect("same configuration");
    assert!(reviewed.is_saved());
    assert!(reviewed.check(&planned).is_ok());
    let mut forged = planned.saved("2026-11-27T12:00:00Z".into(), &[], &[]);
    forged.plan.changes.pop();
    let forged = Reviewed::Saved {
        saved: Box::new(forged),
        file: file.clone(),
    };
    let error = forged
        .check(&planned)
        .expect_err("not the plan derived now");
    assert!(
        error.to_string().contains("is not the plan kcform derives"),
        "{error}"
    );
    assert_eq!(code(error), STALE_PLAN);

    // Another configuration is refused before anything is read.
    let other = Desired {
        digest: "sha256:other".into(),
        ..desired
    };
    let error = Reviewed::saved(&file, &other, dir.path())
        .err()
        .expect("another configuration");
    assert!(
        error.to_string().contains("changed since the plan"),
        "{error}"
    );
    assert_eq!(code(error), STALE_PLAN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_admin_plan_of_creates_is_not_refused() {
    let (_dir, desired) = configuration();
    let settings = settings();
    let planned = plan_once(desired, &settings, None).await;
    // The embedded emulator's key is the Org Admin's: it may do everything planned, and a plan
    // of creates trips no mass-deletion rail.
    assert!(apply::refuse(&planned, false).is_ok());
}
