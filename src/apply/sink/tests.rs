//! Tests of the secret sink: files (private, atomic, no link followed), commands (protocol,
//! exit, timeout, redaction) and what the sink can tell it holds.

use super::*;
use std::path::Path;

#[cfg(unix)]
use crate::fixtures::file_mode;

fn document() -> SecretDocument {
    SecretDocument {
        project: "analytics".into(),
        service_account: "etl".into(),
        key: "ci".into(),
        access_key_id: "key-1".into(),
        secret_access_key: Secret::new("very-secret"),
        service_account_id: "etl-abc@kc.serviceaccount.com".into(),
        created_at: "2026-11-27T00:00:00Z".into(),
    }
}

#[tokio::test]
async fn a_file_sink_writes_a_private_file_and_removes_only_its_own_key() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::Dir(dir.path().join("secrets"));
    sink.deliver(&document()).await.unwrap();
    let path = sink.file_path("analytics", "etl", "ci").unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["secret_access_key"], "very-secret");
    assert_eq!(json["access_key_id"], "key-1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
    }
    assert!(!sink.remove("analytics", "etl", "ci", "other-key").unwrap());
    assert!(path.exists());
    assert!(sink.remove("analytics", "etl", "ci", "key-1").unwrap());
    assert!(!path.exists());
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Gives `path` to another user; false (with a note) where kcform's tests cannot, unless
/// in CI (`CI=true`), which runs them as root.
#[cfg(unix)]
fn give_away(path: &Path) -> bool {
    match std::os::unix::fs::chown(path, Some(12345), None) {
        Ok(()) => true,
        Err(e) => {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "CI=true but chown failed ({e}); ownership tests need root"
            );
            // Straight to the process's stderr, so the skip shows in plain `cargo test`.
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!("note: skipped, chown needs root: {e}\n"),
            );
            false
        }
    }
}

/// The file names in `dir`, recursively, links not followed.
fn everything_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        out.push(entry.path());
        if entry.file_type().unwrap().is_dir() {
            out.extend(everything_in(&entry.path()));
        }
    }
    out
}

#[cfg(unix)]
#[tokio::test]
async fn existing_directories_with_a_looser_mode_are_made_0700() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("secrets");
    std::fs::create_dir_all(root.join("analytics/etl")).unwrap();
    set_mode(&root, 0o755);
    set_mode(&root.join("analytics"), 0o750);
    set_mode(&root.join("analytics/etl"), 0o711);
    let sink = Sink::Dir(root.clone());
    sink.deliver(&document()).await.unwrap();
    for path in [&root, &root.join("analytics"), &root.join("analytics/etl")] {
        assert_eq!(file_mode(path), 0o700, "{}", path.display());
    }
    assert_eq!(file_mode(&root.join("analytics/etl/ci.json")), 0o600);
    assert!(sink.holds("analytics", "etl", "ci", "key-1"));
}

#[cfg(unix)]
#[tokio::test]
async fn a_secrets_directory_that_belongs_to_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("secrets");
    std::fs::create_dir(&root).unwrap();
    set_mode(&root, 0o777);
    if !give_away(&root) {
        return;
    }
    let error = Sink::Dir(root.clone())
        .deliver(&document())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "cannot write secret file {}: directory {} belongs to uid 12345, not to uid {uid} that kcform runs as, so its owner could read or replace the secrets in it; remove it, or `chown` it to uid {uid}",
            root.join("analytics/etl/ci.json").display(),
            root.display(),
            uid = rustix::process::geteuid().as_raw()
        )
    );
    assert!(
        everything_in(&root).is_empty(),
        "{:?}",
        everything_in(&root)
    );
    assert_eq!(
        file_mode(&root),
        0o777,
        "a directory kcform does not own is left as it is"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_writable_service_account_directory_of_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("secrets");
    let account = root.join("analytics/etl");
    std::fs::create_dir_all(&account).unwrap();
    set_mode(&account, 0o777);
    if !give_away(&account) {
        return;
    }
    let error = Sink::Dir(root.clone())
        .deliver(&document())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!(
            "directory {} belongs to uid 12345",
            account.display()
        )),
        "{error}"
    );
    assert!(everything_in(&account).is_empty());
}

#[cfg(unix)]
#[tokio::test]
async fn a_directory_writable_by_group_or_others_is_refused_even_when_kcform_owns_it() {
    for mode_bits in [0o770, 0o707, 0o777] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("secrets");
        std::fs::create_dir_all(root.join("analytics")).unwrap();
        set_mode(&root.join("analytics"), mode_bits);
        let error = Sink::Dir(root.clone())
            .deliver(&document())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with(&format!(
                "directory {} is writable by group or others (mode {mode_bits:04o}), so it may hold what someone else put there; check its contents, then `chmod 700` it",
                root.join("analytics").display()
            )),
            "{error}"
        );
        assert!(!root.join("analytics/etl").exists());
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlinked_project_directory_is_refused_and_nothing_is_written_where_it_points() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("secrets");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, root.join("analytics")).unwrap();
    let sink = Sink::Dir(root.clone());
    let error = sink.deliver(&document()).await.unwrap_err().to_string();
    assert!(
        error.ends_with(&format!(
            "{} is a symbolic link, and kcform follows none from the secrets directory down (remove the link, or set `[secrets] dir` to the real directory)",
            root.join("analytics").display()
        )),
        "{error}"
    );
    assert!(
        everything_in(&elsewhere).is_empty(),
        "{:?}",
        everything_in(&elsewhere)
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlinked_secrets_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let root = dir.path().join("secrets");
    std::os::unix::fs::symlink(&elsewhere, &root).unwrap();
    let error = Sink::Dir(root.clone())
        .deliver(&document())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("{} is a symbolic link", root.display())),
        "{error}"
    );
    assert!(everything_in(&elsewhere).is_empty());
}

#[cfg(unix)]
#[tokio::test]
async fn a_link_in_place_of_the_key_file_is_replaced_not_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("secrets");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::create_dir_all(root.join("analytics/etl")).unwrap();
    std::os::unix::fs::symlink(&victim, root.join("analytics/etl/ci.json")).unwrap();
    let sink = Sink::Dir(root.clone());
    sink.deliver(&document()).await.unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let file = root.join("analytics/etl/ci.json");
    assert!(std::fs::symlink_metadata(&file).unwrap().is_file());
    assert_eq!(file_mode(&file), 0o600);
}

#[cfg(unix)]
#[tokio::test]
async fn removing_or_reading_a_keys_file_follows_no_link() {
    let dir = tempfile::tempdir().unwrap();
    // A real file of the same key, elsewhere.
    let elsewhere = dir.path().join("elsewhere");
    Sink::Dir(elsewhere.clone())
        .deliver(&document())
        .await
        .unwrap();
    let target = elsewhere.join("analytics/etl/ci.json");
    assert!(target.exists());
    let root = dir.path().join("secrets");
    std::fs::create_dir(&root).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("analytics"), root.join("analytics")).unwrap();
    let sink = Sink::Dir(root.clone());
    assert!(!sink.holds("analytics", "etl", "ci", "key-1"));
    let error = sink
        .remove("analytics", "etl", "ci", "key-1")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "cannot remove secret file {}: {} is a symbolic link",
            root.join("analytics/etl/ci.json").display(),
            root.join("analytics").display()
        )),
        "{error}"
    );
    assert!(target.exists(), "the file the link leads to was removed");
    // Nor is a link in place of the file itself: kcform neither reads nor removes through it.
    std::fs::remove_file(root.join("analytics")).unwrap();
    std::fs::create_dir_all(root.join("analytics/etl")).unwrap();
    std::os::unix::fs::symlink(&target, root.join("analytics/etl/ci.json")).unwrap();
    assert!(!sink.holds("analytics", "etl", "ci", "key-1"));
    assert!(sink.remove("analytics", "etl", "ci", "key-1").is_err());
    assert!(target.exists());
}

#[tokio::test]
async fn a_failing_command_is_a_delivery_failure_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::Command {
        argv: vec!["sh".into(), "-c".into(), "cat >&2; exit 3".into()],
        cwd: dir.path().to_path_buf(),
    };
    let error = sink.deliver(&document()).await.unwrap_err().to_string();
    assert!(error.contains("exit status: 3"), "{error}");
    assert!(!error.contains("very-secret"), "{error}");
}

fn command(script: &str, dir: &Path) -> Sink {
    Sink::Command {
        argv: vec!["sh".into(), "-c".into(), script.into()],
        cwd: dir.to_path_buf(),
    }
}

/// A realistic secret (the emulator's are 64 hex characters).
fn hex_document() -> SecretDocument {
    SecretDocument {
        secret_access_key: Secret::new(
            "3f9a1c7e5b2d4a6c8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d",
        ),
        ..document()
    }
}

#[tokio::test]
async fn a_command_that_leaves_a_background_process_holding_stderr_is_done_when_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("got.json");
    let sink = command(
        &format!("cat > '{}'; (sleep 30 &); exit 0", out.display()),
        dir.path(),
    );
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(20), sink.deliver(&document()))
        .await
        .expect("delivery waited for the background process's pipe")
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["secret_access_key"], "very-secret");

    // A failing one is reported as quickly, with what it printed before it exited.
    let sink = command(
        "cat > /dev/null; (sleep 30 &); echo vault is sealed >&2; exit 2",
        dir.path(),
    );
    let started = std::time::Instant::now();
    let error = tokio::time::timeout(Duration::from_secs(20), sink.deliver(&document()))
        .await
        .expect("delivery waited for the background process's pipe")
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        error.ends_with("exited with exit status: 2: vault is sealed"),
        "{error}"
    );
}

/// The state of a process (`R`, `S`, `Z`…), or `None` once it is gone.
#[cfg(target_os = "linux")]
fn process_state(pid: &str) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_command_that_hangs_is_killed_with_its_process_group_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("child.pid");
    let argv = vec![
        "sh".into(),
        "-c".into(),
        format!(
            "cat > /dev/null; sleep 30 & echo $! > '{}'; echo waiting for unseal >&2; wait",
            pid_file.display()
        ),
    ];
    let started = std::time::Instant::now();
    let error = command::run(
        &argv,
        &crate::placeholders::Values {
            project: "analytics",
            service_account: "etl",
            access_key: "ci",
            address: "access_key.analytics/etl/ci",
            access_key_id: "id",
        },
        dir.path(),
        &document().to_json(),
        "very-secret",
        Duration::from_millis(1500),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        error,
        "secret delivery command `sh` did not finish within 1.5s and was killed: waiting for unseal"
    );
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.trim();
    let mut state = process_state(pid);
    for _ in 0..40 {
        if matches!(state, None | Some('Z')) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        state = process_state(pid);
    }
    assert!(
        matches!(state, None | Some('Z')),
        "the command's background process {pid} still runs ({state:?})"
    );
}

/// The process group of a process, from its `/proc/<pid>/stat`.
#[cfg(target_os = "linux")]
fn process_group(stat: &str) -> String {
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[2].to_string()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_command_runs_in_a_process_group_of_its_own_out_of_reach_of_the_terminals_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stat");
    let sink = command(
        &format!("cat > /dev/null; cat /proc/$$/stat > '{}'", out.display()),
        dir.path(),
    );
    sink.deliver(&document()).await.unwrap();
    let stat = std::fs::read_to_string(&out).unwrap();
    let pid = stat.split_whitespace().next().unwrap().to_string();
    assert_eq!(process_group(&stat), pid, "{stat}");
    let ours = std::fs::read_to_string("/proc/self/stat").unwrap();
    assert_ne!(process_group(&ours), pid);
}

#[tokio::test]
async fn a_command_printing_the_secret_base64_encoded_leaves_no_trace_of_it_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let document = hex_document();
    let secret = document.secret_access_key.expose().to_string();
    let sink = command("base64 >&2; exit 1", dir.path());
    let error = sink.deliver(&document).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("exited with exit status: 1: "), "{text}");
    assert!(text.contains(redact::REDACTED), "{text}");
    // Any run of 8 characters of the secret in any encoding would be a trace of it.
    let json = serde_json::to_string(&secret).unwrap();
    let mut encodings = vec![
        secret.clone(),
        secret.to_uppercase(),
        hex::encode(&secret),
        json[1..json.len() - 1].to_string(),
    ];
    for offset in 0..3 {
        // The secret's bytes at each alignment in a longer base64 stream, without the
        // characters that also carry neighbouring bytes.
        let mut bytes = vec![b'x'; offset];
        bytes.extend_from_slice(secret.as_bytes());
        let encoded = redact::base64(&bytes, redact::STANDARD);
        encodings.push(encoded[(8 * offset).div_ceil(6)..8 * bytes.len() / 6].to_string());
    }
    for encoding in &encodings {
        for window in encoding.as_bytes().windows(8) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(
                !text.contains(window),
                "{window:?} of {encoding:?} in: {text}"
            );
        }
    }
    // What the command printed is base64 of the whole document over several lines; only
    // (part of) the first is quoted.
    assert!(text.len() < 300, "{text}");
}

#[tokio::test]
async fn a_command_gets_the_json_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("got.json");
    let sink = Sink::Command {
        argv: vec!["sh".into(), "-c".into(), format!("cat > {}", out.display())],
        cwd: dir.path().to_path_buf(),
    };
    sink.deliver(&document()).await.unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["project"], "analytics");
    assert_eq!(json["secret_access_key"], "very-secret");
    assert_eq!(json["address"], document().address());
    assert_eq!(json["service_account"], document().service_account);
    assert_eq!(json["access_key"], document().key);
}

#[tokio::test]
async fn a_command_learns_its_key_from_placeholders_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::Command {
        argv: vec![
            "sh".into(),
            "-c".into(),
            "cat > /dev/null; printf '%s|%s|%s|%s|%s' \"$KCFORM_ADDRESS\" \"$KCFORM_PROJECT\" \"$KCFORM_SERVICE_ACCOUNT\" \"$KCFORM_ACCESS_KEY\" \"$KCFORM_ACCESS_KEY_ID\" > \"$0\"".into(),
            "store/{project}/{service_account}/{access_key}.${HOME}".into(),
        ],
        cwd: dir.path().to_path_buf(),
    };
    std::fs::create_dir_all(dir.path().join("store/analytics/etl")).unwrap();
    let document = document();
    sink.deliver(&document).await.unwrap();
    let written = dir.path().join(format!(
        "store/{}/{}/{}.${{HOME}}",
        document.project, document.service_account, document.key
    ));
    assert_eq!(
        std::fs::read_to_string(&written).unwrap(),
        format!(
            "{}|{}|{}|{}|{}",
            document.address(),
            document.project,
            document.service_account,
            document.key,
            document.access_key_id
        )
    );
}
