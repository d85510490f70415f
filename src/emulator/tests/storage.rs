//! The SQLite storage: a change is committed (readable by another connection, as a user's
//! `sqlite3` would read it) before it is answered, a crash image — the data file and its WAL
//! as a `kill -9` leaves them — opens to every committed change (a torn WAL tail is ignored),
//! a clean shutdown leaves the data file whole on its own, a refused change is rolled back,
//! concurrent changes all land, lists stay consistent with the indexes after every kind of
//! change, and reads run beside a change in progress without seeing it.

use std::path::Path;

use serde_json::json;

use super::{Harness, parse};
use crate::emulator::error::ApiError;
use crate::emulator::{EmulatorOptions, EmulatorState};
use crate::wire::{ProjectList, ServiceAccountList};

fn options(data_file: &Path) -> EmulatorOptions {
    EmulatorOptions {
        data_file: Some(data_file.to_path_buf()),
        ..Default::default()
    }
}

fn wal(data_file: &Path) -> std::path::PathBuf {
    let mut name = data_file.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

/// Copies the data file and its WAL as they are now, as a crash would leave them.
fn crash_copy(from: &Path, to: &Path) {
    std::fs::copy(from, to.join("emulator.db")).expect("copy data file");
    std::fs::copy(wal(from), wal(&to.join("emulator.db"))).expect("copy WAL");
}

fn count(data_file: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(
        data_file,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open");
    conn.query_row(sql, [], |row| row.get(0)).expect("count")
}

#[tokio::test]
async fn a_change_is_committed_before_its_answer_and_shutdown_leaves_the_file_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.db");
    let h = Harness::with(options(&data_file)).await;
    let project = h.create_project("analytics").await;
    for i in 0..20 {
        h.create_sa(&project.id, &format!("sa-{i:02}")).await;
        let seen = count(
            &data_file,
            "SELECT count(*) FROM users WHERE project_id IS NOT NULL",
        );
        assert_eq!(seen, i + 1, "another connection sees the answered change");
    }
    assert!(wal(&data_file).exists(), "changes go to the WAL");
    let stats = h.emu.state().stats().view();
    assert!(stats.changes >= 21, "{stats:?}");

    // Shutdown copies the WAL into the data file: the file alone holds everything.
    h.emu.shutdown().await;
    let alone = tempfile::tempdir().expect("tempdir");
    std::fs::copy(&data_file, alone.path().join("emulator.db")).expect("copy");
    assert_eq!(
        count(
            &alone.path().join("emulator.db"),
            "SELECT count(*) FROM users WHERE project_id IS NOT NULL"
        ),
        20
    );
}

#[tokio::test]
async fn after_a_crash_the_wal_replays_and_a_torn_tail_is_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.db");
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
    // A write cut short by the crash: bytes after the last whole frame.
    let copied_wal = wal(&crashed.path().join("emulator.db"));
    let mut bytes = std::fs::read(&copied_wal).expect("WAL");
    bytes.extend_from_slice(&[0x5a; 700]);
    std::fs::write(&copied_wal, &bytes).expect("torn tail");

    let h2 = Harness::with(options(&crashed.path().join("emulator.db"))).await;
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
    // The key's expiry was committed too: it cannot issue a token.
    h2.issue(&cred).await.error(401);
    h2.emu.shutdown().await;
}

#[tokio::test]
async fn a_refused_change_is_rolled_back_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.db");
    let (state, _) = EmulatorState::open(&options(&data_file)).expect("opens");
    let before = state.snapshot();
    let refused = state.write(|db| {
        let project = crate::emulator::db::Project {
            id: "p".into(),
            name: "half-done".into(),
            nickname: "n".into(),
            description: String::new(),
            created_at: "t".into(),
        };
        db.insert_project(&project)?;
        db.set_payment_method(false)?;
        Err::<(), _>(ApiError::conflict("refused after two changes"))
    });
    assert!(refused.is_err());
    assert_eq!(state.snapshot(), before, "nothing of it remains");
    assert_eq!(state.stats().view().changes, 0);
    // A change that changes nothing is no change.
    state
        .write(|db| db.set_payment_method(true).map_err(ApiError::from))
        .expect("a no-op");
    assert_eq!(state.stats().view().changes, 0);
}

#[tokio::test]
async fn concurrent_changes_all_land_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.db");
    let h = Harness::with(options(&data_file)).await;
    let project = h.create_project("analytics").await;
    let path = format!("/identity/v3/projects/{}/service_accounts", project.id);
    let answers = futures_util::future::join_all((0..40).map(|i| {
        // Every name twice: one of each pair is refused as a duplicate.
        let body = json!({"service_account": {"name": format!("sa-{:02}", i / 2)}});
        h.post(&path, body)
    }))
    .await;
    let created = answers.iter().filter(|a| a.status.as_u16() == 201).count();
    let refused = answers.iter().filter(|a| a.status.as_u16() == 409).count();
    assert_eq!((created, refused), (20, 20));
    h.emu.shutdown().await;

    let h = Harness::with(options(&data_file)).await;
    let list: ServiceAccountList = parse(h.get(&path).await.ok(200));
    assert_eq!(list.pagination.total, 20);
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

#[test]
fn a_fresh_data_file_is_a_whole_private_kcform_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.db");
    let (state, _) = EmulatorState::open(&options(&data_file)).expect("opens");
    let header = std::fs::read(&data_file).expect("read");
    assert!(header.starts_with(b"SQLite format 3\0"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&data_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "no temporary file is left: {names:?}"
    );
    let conn = rusqlite::Connection::open_with_flags(
        &data_file,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open");
    let pragma = |name: &str| -> String {
        conn.query_row(&format!("PRAGMA {name}"), [], |row| {
            Ok(format!("{:?}", row.get::<_, rusqlite::types::Value>(0)?))
        })
        .expect("pragma")
    };
    assert_eq!(pragma("journal_mode"), r#"Text("wal")"#);
    assert_eq!(
        pragma("application_id"),
        format!("Integer({})", 0x6b63_666d)
    );
    assert_eq!(pragma("user_version"), "Integer(1)");
    drop(state);
}

fn project(name: &str) -> crate::emulator::db::Project {
    crate::emulator::db::Project {
        id: format!("id-{name}"),
        name: name.into(),
        nickname: "n".into(),
        description: String::new(),
        created_at: "t".into(),
    }
}

fn project_names(state: &EmulatorState) -> Vec<String> {
    state.read(|db| {
        db.projects()
            .expect("projects")
            .into_iter()
            .map(|p| p.name)
            .collect()
    })
}

#[test]
fn reads_run_beside_a_change_in_progress_and_see_only_what_is_committed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.db");
    let (state, _) = EmulatorState::open(&options(&data_file)).expect("opens");
    state
        .write(|db| {
            db.insert_project(&project("committed"))
                .map_err(ApiError::from)
        })
        .expect("a first change");

    let (inside, go_on) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let (inside_tx, inside_rx) = inside;
    let (go_on_tx, go_on_rx) = go_on;
    let writer = {
        let state = state.clone();
        std::thread::spawn(move || {
            state.write(|db| {
                db.insert_project(&project("in-progress"))?;
                inside_tx.send(()).expect("signal");
                // The change stays open, its lock held, until the reads below are done.
                go_on_rx.recv().expect("go on");
                Ok(())
            })
        })
    };
    inside_rx.recv().expect("the change is in progress");
    // With one connection for everything, this read would wait for the change to finish.
    let (read_tx, read_rx) = std::sync::mpsc::channel();
    let reader = {
        let state = state.clone();
        std::thread::spawn(move || read_tx.send(project_names(&state)))
    };
    let seen = read_rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("a read does not wait for a change in progress");
    assert_eq!(seen, ["committed"], "an uncommitted change is not read");
    go_on_tx.send(()).expect("let the change finish");
    writer.join().expect("writer").expect("the change commits");
    reader.join().expect("reader").expect("sent");
    assert_eq!(project_names(&state), ["committed", "in-progress"]);
}

#[test]
fn an_in_memory_emulator_reads_through_its_one_connection() {
    let (state, _) = EmulatorState::open(&EmulatorOptions::default()).expect("opens");
    state
        .write(|db| db.insert_project(&project("a")).map_err(ApiError::from))
        .expect("a change");
    assert_eq!(project_names(&state), ["a"]);
}
