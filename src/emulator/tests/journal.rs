//! The journal: a change appends one line and leaves the data file alone, the journal replays
//! after a crash (a torn last line is ignored, a corrupt line is refused), shutdown folds it
//! into the data file, and lists stay consistent with the indexes after every kind of change.

use std::path::Path;

use serde_json::json;

use super::{Harness, loopback, parse};
use crate::emulator::{EmulatorError, EmulatorOptions, start};
use crate::wire::{ProjectList, ServiceAccountList};

fn options(data_file: &Path) -> EmulatorOptions {
    EmulatorOptions {
        data_file: Some(data_file.to_path_buf()),
        ..Default::default()
    }
}

/// Copies the data file and its journal as they are now, as a crash would leave them.
fn crash_copy(from: &Path, to: &Path) {
    std::fs::copy(from, to.join("emulator.json")).expect("copy data file");
    let mut journal = from.as_os_str().to_owned();
    journal.push(".journal");
    std::fs::copy(&journal, to.join("emulator.json.journal")).expect("copy journal");
}

#[tokio::test]
async fn a_change_appends_one_line_and_the_data_file_is_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.json");
    let journal = dir.path().join("emulator.json.journal");
    let h = Harness::with(options(&data_file)).await;
    let project = h.create_project("analytics").await;
    for i in 0..50 {
        h.create_sa(&project.id, &format!("sa-{i:02}")).await;
    }
    let data_before = std::fs::read(&data_file).expect("data file");
    let lines_before = std::fs::read_to_string(&journal)
        .expect("journal")
        .lines()
        .count();
    h.create_sa(&project.id, "one-more").await;
    assert_eq!(std::fs::read(&data_file).expect("data file"), data_before);
    let text = std::fs::read_to_string(&journal).expect("journal");
    assert_eq!(text.lines().count(), lines_before + 1);
    let last = text.lines().last().expect("a line");
    assert!(
        last.contains("one-more") && !last.contains("sa-01"),
        "{last}"
    );
    assert!(last.len() < 1024, "the line holds only the change: {last}");
    let stats = h.emu.state().stats().view();
    assert!(
        stats.changes >= 52 && stats.journal_writes >= 1,
        "{stats:?}"
    );

    // Shutdown folds the journal into the data file.
    h.emu.shutdown().await;
    assert!(
        std::fs::read_to_string(&data_file)
            .expect("data")
            .contains("one-more")
    );
    assert_eq!(std::fs::read(&journal).expect("journal").len(), 0);
}

#[tokio::test]
async fn after_a_crash_the_journal_replays_and_a_torn_last_line_is_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.json");
    let h = Harness::with(options(&data_file)).await;
    let (project, sa, cred) = h.fixture().await;
    let path = format!(
        "/identity/v3/projects/{}/service_accounts/{}",
        project.id, sa.id
    );
    h.patch(&path, json!({"service_account": {"status": "inactive"}}))
        .await
        .ok(200);

    let crashed = tempfile::tempdir().expect("tempdir");
    crash_copy(&data_file, crashed.path());
    let copied_journal = crashed.path().join("emulator.json.journal");
    let mut text = std::fs::read_to_string(&copied_journal).expect("journal");
    text.push_str(r#"{"projects": {"x": {"id": "x", "na"#);
    std::fs::write(&copied_journal, &text).expect("torn line");

    let h2 = Harness::with(options(&crashed.path().join("emulator.json"))).await;
    let list: ProjectList = parse(h2.get("/identity/v3/projects").await.ok(200));
    assert_eq!(list.projects, vec![project.clone()]);
    let accounts: ServiceAccountList = parse(
        h2.get(&format!(
            "/identity/v3/projects/{}/service_accounts",
            project.id
        ))
        .await
        .ok(200),
    );
    assert_eq!(accounts.service_accounts.len(), 1);
    assert_eq!(accounts.service_accounts[0].status, "inactive");
    // The key's expiry was replayed too: it cannot issue a token.
    h2.issue(&cred).await.error(401);
    h2.emu.shutdown().await;

    // A bad line followed by a good one is corruption, not a torn write: refused, untouched.
    let again = tempfile::tempdir().expect("tempdir");
    crash_copy(&data_file, again.path());
    let journal = again.path().join("emulator.json.journal");
    let good = std::fs::read_to_string(&journal).expect("journal");
    let last = good.lines().last().expect("a line").to_string();
    let corrupt = format!("{good}not json\n{last}\n");
    std::fs::write(&journal, &corrupt).expect("write");
    let err = start(loopback(), options(&again.path().join("emulator.json")))
        .await
        .expect_err("corrupt journal");
    assert!(
        matches!(err, EmulatorError::CorruptDataFile { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("emulator.json.journal"), "{err}");
    assert_eq!(std::fs::read_to_string(&journal).expect("read"), corrupt);
}

#[tokio::test]
async fn lists_follow_every_change_through_the_indexes() {
    let h = Harness::new().await;
    let a = h.create_project("analytics").await;
    let b = h.create_project("billing").await;
    let mut ids = Vec::new();
    for name in ["zeta", "alpha", "mid"] {
        ids.push(h.create_sa(&a.id, name).await.id);
    }
    h.create_sa(&b.id, "alpha").await;
    let names = |list: &serde_json::Value| -> Vec<String> {
        list["service_accounts"]
            .as_array()
            .expect("list")
            .iter()
            .map(|sa| sa["name"].as_str().expect("name").to_string())
            .collect()
    };
    let list_path = format!("/identity/v3/projects/{}/service_accounts", a.id);
    assert_eq!(
        names(h.get(&list_path).await.ok(200)),
        ["alpha", "mid", "zeta"]
    );
    let page = h.get(&format!("{list_path}?limit=1&offset=1")).await;
    assert_eq!(names(page.ok(200)), ["mid"]);
    assert_eq!(page.ok(200)["pagination"]["total"], 3);
    assert_eq!(
        names(h.get(&format!("{list_path}?name=zeta")).await.ok(200)),
        ["zeta"]
    );
    assert_eq!(
        h.get(&format!("{list_path}?name=zeta")).await.ok(200)["pagination"]["total"],
        1
    );
    // A refused change leaves the index as it was (the duplicate name is still refused).
    h.post(&list_path, json!({"service_account": {"name": "mid"}}))
        .await
        .error(409);
    h.delete(&format!("{list_path}/{}", ids[2])).await.ok(204);
    assert_eq!(names(h.get(&list_path).await.ok(200)), ["alpha", "zeta"]);
    h.post(&list_path, json!({"service_account": {"name": "mid"}}))
        .await
        .ok(201);
    assert_eq!(
        names(h.get(&list_path).await.ok(200)),
        ["alpha", "mid", "zeta"]
    );
}

#[tokio::test]
async fn a_request_dropped_while_it_writes_the_journal_does_not_stall_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.json");
    let (state, _) = crate::emulator::EmulatorState::open(&options(&data_file)).expect("opens");
    let change = |payment_method: bool| {
        let from = state.settled_mark();
        state
            .write(|data| {
                data.organization.payment_method = payment_method;
                Ok(())
            })
            .expect("a change");
        from
    };
    let from = change(false);
    state.commit(from).await.expect("saved");
    let mut dropped_mid_write = 0;
    for attempt in 0..20 {
        let from = change(attempt % 2 == 0);
        // The request that made the change becomes the flusher; its future is dropped while
        // its journal write runs (hyper drops a request's future when its client disconnects).
        let mut flusher = Box::pin(state.commit(from));
        let pending = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(flusher.as_mut().poll(cx).is_pending())
        })
        .await;
        drop(flusher);
        if pending {
            dropped_mid_write += 1;
        }
        // Every later answer waits for that write: it must still settle.
        let later = tokio::time::timeout(std::time::Duration::from_secs(5), state.commit(0)).await;
        assert!(
            matches!(later, Ok(Ok(()))),
            "a later request waits forever for the dropped write"
        );
    }
    assert!(dropped_mid_write > 0, "no flusher was dropped mid-write");
    let journal =
        std::fs::read_to_string(dir.path().join("emulator.json.journal")).expect("journal");
    assert_eq!(
        journal.lines().count(),
        21,
        "every change is on disk: {journal}"
    );
}
