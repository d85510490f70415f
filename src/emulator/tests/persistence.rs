//! Persistence: state survives restarts, the database holds no secret and is private, a
//! corrupt or foreign file is refused and left untouched, bootstrap keys rotate (or are reused
//! in embedded mode), credential files are private, and a self-mounted router works.

use std::path::Path;

use reqwest::Method;
use serde_json::json;

use super::{Harness, client, keys_path, loopback, parse};
use crate::emulator::state::sha256_hex;
use crate::emulator::{
    EMBEDDED_ADMIN_FILE, EMBEDDED_DATA_FILE, EmulatorError, EmulatorOptions, EmulatorState, router,
    start, start_embedded,
};
#[cfg(unix)]
use crate::fixtures::file_mode;
use crate::wire::{AccessKeyCredential, ProjectList};

fn options(data_file: &Path) -> EmulatorOptions {
    EmulatorOptions {
        data_file: Some(data_file.to_path_buf()),
        ..Default::default()
    }
}

/// The bytes of the database and its WAL as text (SQLite stores text as it is).
fn database_text(data_file: &Path) -> String {
    let mut bytes = std::fs::read(data_file).expect("data file exists");
    bytes.extend(std::fs::read(sidecar(data_file, "-wal")).unwrap_or_default());
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `<data file><suffix>`, e.g. SQLite's `-wal`.
fn sidecar(data_file: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = data_file.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

#[tokio::test]
async fn state_survives_a_restart_and_the_file_holds_no_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.db");
    let h = Harness::with(options(&data_file)).await;
    let (project, sa, cred) = h.fixture().await;
    let old_admin = h.emu.admin_credential().clone();

    // Committed before the answer: another connection (a user's `sqlite3`) reads it right
    // now, while the emulator runs.
    let reader = rusqlite::Connection::open_with_flags(
        &data_file,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("sqlite opens the data file");
    let (account, hash): (String, String) = reader
        .query_row(
            "SELECT u.name, k.secret_sha256 FROM keys k JOIN users u ON u.id = k.user_id \
             WHERE k.id = ?1",
            [&cred.id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("the key is in the database");
    assert_eq!(
        (account.as_str(), hash),
        ("etl-runner", sha256_hex(&cred.secret))
    );
    drop(reader);
    #[cfg(unix)]
    for file in [
        data_file.clone(),
        sidecar(&data_file, "-wal"),
        sidecar(&data_file, "-shm"),
    ] {
        assert_eq!(file_mode(&file), 0o600, "{}", file.display());
    }
    let text = database_text(&data_file);
    assert!(text.contains("analytics") && text.contains("etl-runner"));
    assert!(
        !text.contains(&cred.secret),
        "the key secret is never stored"
    );
    assert!(
        !text.contains(&old_admin.secret),
        "the admin secret is never stored"
    );
    assert!(text.contains(&sha256_hex(&cred.secret)), "only its hash");
    assert!(!text.contains(&h.admin), "tokens are not stored");
    h.emu.shutdown().await;

    let h = Harness::with(options(&data_file)).await;
    let list: ProjectList = parse(h.get("/identity/v3/projects").await.ok(200));
    assert_eq!(list.projects, vec![project]);
    let keys = h.get(&keys_path(&sa.id)).await;
    assert_eq!(
        keys.ok(200)["application_credentials"][0]["id"],
        json!(cred.id)
    );
    h.issue(&cred).await.ok(201);
    // A new start issues a new Org Admin key and revokes the previous one.
    assert_ne!(h.emu.admin_credential().id, old_admin.id);
    h.issue(&old_admin).await.error(404);
    h.issue(&h.emu.admin_credential().clone()).await.ok(201);
}

#[tokio::test]
async fn a_corrupt_data_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.db");
    // A database of this kcform, to damage.
    let h = Harness::with(options(&data_file)).await;
    h.fixture().await;
    h.emu.shutdown().await;
    let good = std::fs::read(&data_file).expect("read");
    let sql = |statement: &str| {
        let copy = dir.path().join("copy.db");
        std::fs::write(&copy, &good).expect("copy");
        let conn = rusqlite::Connection::open(&copy).expect("open");
        conn.execute_batch(statement).expect("edit");
        conn.close().expect("close");
        let bytes = std::fs::read(&copy).expect("read");
        std::fs::remove_file(&copy).expect("remove");
        bytes
    };
    let mut torn_page = good.clone();
    // Garbage over the second page (a table's root): damage SQLite itself notices.
    torn_page[4096..4096 + 512].fill(0xa5);
    let foreign = {
        let copy = dir.path().join("foreign.db");
        let conn = rusqlite::Connection::open(&copy).expect("open");
        conn.execute_batch("CREATE TABLE notes (text TEXT);")
            .expect("create");
        conn.close().expect("close");
        let bytes = std::fs::read(&copy).expect("read");
        std::fs::remove_file(&copy).expect("remove");
        bytes
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not a database", b"{not json".to_vec(), "JSON"),
        (
            "text",
            b"plain text, long enough to hold a header".to_vec(),
            "not an SQLite database",
        ),
        ("empty", Vec::new(), "empty"),
        (
            "an earlier kcform's JSON",
            br#"{"version": 1, "users": {}}"#.to_vec(),
            "earlier kcform",
        ),
        (
            "another program's database",
            foreign,
            "not a kcform emulator",
        ),
        (
            "a newer schema",
            sql("PRAGMA user_version = 99;"),
            "version 99",
        ),
        ("a damaged page", torn_page, "corrupt"),
    ];
    for (case, content, expected) in cases {
        std::fs::write(&data_file, &content).expect("write");
        let err = start(loopback(), options(&data_file))
            .await
            .expect_err(case);
        let msg = err.to_string();
        assert!(
            msg.contains(&data_file.display().to_string()),
            "names the file: {msg}"
        );
        assert!(msg.contains(expected), "{case}: {msg}");
        assert!(
            std::fs::read(&data_file).expect("read") == content,
            "{case}: never reset"
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_link_at_the_data_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("elsewhere.db");
    let h = Harness::with(options(&target)).await;
    h.emu.shutdown().await;
    let link = dir.path().join("emulator.db");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let err = start(loopback(), options(&link)).await.expect_err("a link");
    assert!(err.to_string().contains("symbolic link"), "{err}");
}

#[tokio::test]
async fn a_data_file_with_dangling_references_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.db");
    let h = Harness::with(options(&data_file)).await;
    let (_, sa, _) = h.fixture().await;
    h.emu.shutdown().await;
    // A hand edit in `sqlite3`, whose foreign keys are off by default.
    let conn = rusqlite::Connection::open(&data_file).expect("open");
    conn.pragma_update(None, "foreign_keys", false)
        .expect("foreign keys off");
    conn.execute("DELETE FROM users WHERE id = ?1", [&sa.id])
        .expect("delete");
    conn.close().expect("close");
    let err = start(loopback(), options(&data_file))
        .await
        .expect_err("dangling key owner");
    assert!(
        matches!(err, EmulatorError::CorruptDataFile { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("unknown user"), "{err}");
}

#[tokio::test]
async fn an_unreadable_data_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A directory where the file should be cannot be read as a file.
    let data_file = dir.path().join("emulator.db");
    std::fs::create_dir(&data_file).expect("mkdir");
    let err = start(loopback(), options(&data_file))
        .await
        .expect_err("a directory");
    assert!(matches!(err, EmulatorError::ReadDataFile { .. }), "{err}");
    assert!(err.to_string().contains("emulator.db"), "{err}");
}

#[tokio::test]
async fn bootstrap_credentials_are_written_privately_and_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = dir.path().join("admin.json");
    let opts = EmulatorOptions {
        bootstrap_credentials: Some(creds.clone()),
        ..Default::default()
    };
    let h = Harness::with(opts).await;
    let written: AccessKeyCredential =
        serde_json::from_str(&std::fs::read_to_string(&creds).expect("written")).expect("json");
    assert_eq!(&written, h.emu.admin_credential());
    #[cfg(unix)]
    assert_eq!(file_mode(&creds), 0o600);
    h.issue(&written).await.ok(201);

    let bad = EmulatorOptions {
        bootstrap_credentials: Some(dir.path().join("missing-dir").join("admin.json")),
        ..Default::default()
    };
    let err = start(loopback(), bad).await.expect_err("parent missing");
    assert!(err.to_string().contains("missing-dir"), "{err}");
}

#[tokio::test]
async fn embedded_mode_persists_and_reuses_a_valid_admin_credential() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = start_embedded(dir.path()).await.expect("starts");
    assert!(emu.addr().ip().is_loopback());
    let state_dir = dir.path().join(crate::state::DIR);
    let admin_file = state_dir.join(EMBEDDED_ADMIN_FILE);
    #[cfg(unix)]
    {
        assert_eq!(file_mode(&state_dir), 0o700);
        assert_eq!(file_mode(&admin_file), 0o600);
    }
    let first = emu.admin_credential().clone();
    let h = Harness::around(emu).await;
    h.create_project("analytics").await;
    h.emu.shutdown().await;

    let emu = start_embedded(dir.path()).await.expect("restarts");
    assert_eq!(
        emu.admin_credential(),
        &first,
        "a still-valid credential is reused"
    );
    let h = Harness::around(emu).await;
    let list: ProjectList = parse(h.get("/identity/v3/projects").await.ok(200));
    assert_eq!(list.projects.len(), 1);
    h.emu.shutdown().await;

    // A tampered credential is replaced by a fresh one, and the file is rewritten.
    let tampered = AccessKeyCredential {
        id: first.id.clone(),
        secret: "wrong".into(),
    };
    std::fs::write(&admin_file, serde_json::to_string(&tampered).expect("json")).expect("write");
    let emu = start_embedded(dir.path()).await.expect("restarts");
    assert_ne!(emu.admin_credential(), &first);
    let on_disk: AccessKeyCredential =
        serde_json::from_str(&std::fs::read_to_string(&admin_file).expect("read")).expect("json");
    assert_eq!(&on_disk, emu.admin_credential());
    let h = Harness::around(emu).await;
    h.issue(&first).await.error(404);
    assert!(state_dir.join(EMBEDDED_DATA_FILE).exists());
}

#[tokio::test]
async fn an_existing_organization_keeps_its_payment_method_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.db");
    let opts = EmulatorOptions {
        payment_method: false,
        ..options(&data_file)
    };
    let h = Harness::with(opts).await;
    h.emu.shutdown().await;
    let h = Harness::with(options(&data_file)).await;
    let body = json!({"project": {"name": "analytics", "nickname": "A"}});
    h.post("/identity/v3/projects", body).await.error(403);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let emu = start(loopback(), EmulatorOptions::default())
        .await
        .expect("starts");
    let url = format!("{}/_emulator/health", emu.base_url());
    let http = client();
    assert!(
        http.get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    );
    // The client keeps its idle keep-alive connection open: shutdown must not wait on it.
    let started = std::time::Instant::now();
    emu.shutdown().await;
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    assert!(
        http.get(&url).send().await.is_err(),
        "nothing listens any more"
    );
}

#[tokio::test]
async fn the_router_can_be_mounted_by_the_caller() {
    let (state, cred) = EmulatorState::open(&EmulatorOptions::default()).expect("opens");
    let listener = tokio::net::TcpListener::bind(loopback())
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let body = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": cred.id, "secret": cred.secret}}}});
    let resp = client()
        .request(
            Method::POST,
            format!("http://{addr}/identity/v3/auth/tokens"),
        )
        .json(&body)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 201);
    let catalog_url = resp.json::<serde_json::Value>().await.expect("json")["token"]["catalog"][0]
        ["endpoints"][0]["url"]
        .clone();
    assert_eq!(catalog_url, json!(format!("http://{addr}/identity/v3")));
    server.abort();
}

#[test]
fn a_data_file_is_served_by_one_process_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state.json");
    let held = crate::emulator::store::lock_data_file(&data, std::time::Duration::ZERO).unwrap();
    let refused =
        crate::emulator::store::lock_data_file(&data, std::time::Duration::from_millis(200))
            .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("in use by another kcform process"),
        "{refused}"
    );
    drop(held);
    assert!(crate::emulator::store::lock_data_file(&data, std::time::Duration::ZERO).is_ok());
}

/// Temp files `write_atomic` left in `dir`.
fn leftover_temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_write_replaces_the_file_whole_and_leaves_no_temp_file() {
    use crate::emulator::store::write_atomic;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("emulator.json");
    write_atomic(&path, b"old contents").expect("first write");
    // A reader that opened the file before a write keeps the old contents whole: the write
    // renames a new file over the name instead of rewriting the old one in place.
    let mut before = std::fs::File::open(&path).expect("open");
    write_atomic(&path, b"new").expect("second write");
    let mut seen = String::new();
    std::io::Read::read_to_string(&mut before, &mut seen).expect("read");
    assert_eq!(seen, "old contents");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "new");
    assert!(leftover_temp_files(dir.path()).is_empty());
    #[cfg(unix)]
    assert_eq!(file_mode(&path), 0o600);

    // A write that cannot be completed leaves no temp file behind.
    let blocked = dir.path().join("a-directory");
    std::fs::create_dir(&blocked).expect("mkdir");
    std::fs::write(blocked.join("inside"), "x").expect("write");
    write_atomic(&blocked, b"data").expect_err("cannot rename over a non-empty directory");
    assert!(blocked.is_dir());
    assert!(leftover_temp_files(dir.path()).is_empty());
}

#[test]
fn a_concurrent_reader_never_sees_a_partial_write() {
    use crate::emulator::store::write_atomic;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("emulator.json");
    // Large enough that a non-atomic write would be observed half-done.
    let a = format!("{{\"v\": \"{}\"}}", "a".repeat(512 * 1024));
    let b = format!("{{\"v\": \"{}\"}}", "b".repeat(256 * 1024));
    write_atomic(&path, a.as_bytes()).expect("write");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (path, a, b, done) = (path.clone(), a.clone(), b.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let text = std::fs::read_to_string(&path).expect("the file always exists");
                assert!(
                    text == a || text == b,
                    "a partial file of {} bytes",
                    text.len()
                );
                reads += 1;
            }
            reads
        })
    };
    for i in 0..60 {
        let next = if i % 2 == 0 { &b } else { &a };
        write_atomic(&path, next.as_bytes()).expect("write");
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let reads = reader.join().expect("reader saw only whole files");
    assert!(reads > 0);
}
