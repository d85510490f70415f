//! Secret delivery at its edges: a `[secrets] command` that leaves a background process
//! holding its output open, one that prints the secret (encoded) on stderr, and a symbolic
//! link inside the secrets directory.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{World, issue_token};

const KEY: &str = e2e_config!("analytics-etl-ci");

/// A `[secrets]` table whose command runs `script` under `sh -c` with `dir` as `$0`.
fn command(script: &str, dir: &Path) -> String {
    let script = script.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "[secrets]\ncommand = [\"sh\", \"-c\", \"{script}\", \"{}\"]\n\n{KEY}",
        dir.display()
    )
}

/// Every file of the apply journal, as text.
fn journal(world: &World) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(world.dir.path().join(".kcform/journal")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect()
}

/// `bytes` in standard base64, by the system's `base64`.
fn base64(bytes: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap()
}

/// Shapes of `secret` a careless command may print: plain, upper-cased, hex, JSON-escaped,
/// and for each of the three positions it can take in a longer base64 stream, the characters
/// that encode its bytes alone.
fn encodings(secret: &str) -> Vec<String> {
    let mut out = vec![
        secret.to_string(),
        secret.to_uppercase(),
        hex::encode(secret),
        hex::encode(secret).to_uppercase(),
        serde_json::to_string(secret)
            .unwrap()
            .trim_matches('"')
            .to_string(),
    ];
    for offset in 0..3 {
        let mut bytes = vec![b'x'; offset];
        bytes.extend_from_slice(secret.as_bytes());
        let encoded = base64(&bytes);
        out.push(encoded[(8 * offset).div_ceil(6)..8 * bytes.len() / 6].to_string());
    }
    out
}

/// Fails if `text` holds 8 characters in a row of any shape of `secret`.
fn assert_no_trace(text: &str, secret: &str, what: &str) {
    for encoding in encodings(secret) {
        for window in encoding.as_bytes().windows(8) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(
                !text.contains(window),
                "{what} holds {window:?} of {encoding:?}:\n{text}"
            );
        }
    }
}

#[test]
fn a_secrets_command_that_leaves_a_background_process_behind_delivers_when_it_exits() {
    let mut world = World::new();
    let dir = world.dir.path().to_path_buf();
    // The background `sleep` inherits the command's stderr and holds it open for 30 s.
    world.write(
        "main.toml",
        &command("cat > \"$0/vault.json\"; (sleep 30 &); exit 0", &dir),
    );
    let started = Instant::now();
    world.apply();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the apply waited for the background process: {:?}",
        started.elapsed()
    );
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("vault.json")).unwrap()).unwrap();
    let keys = world.keys("analytics");
    assert_eq!(keys.len(), 1);
    assert_eq!(stored["access_key_id"], keys[0].id.as_str());
    assert_eq!(
        issue_token(
            &world.endpoint(),
            stored["access_key_id"].as_str().unwrap(),
            stored["secret_access_key"].as_str().unwrap(),
        ),
        201,
        "the stored secret is the key's"
    );
    world.assert_converged();
}

#[test]
fn a_failing_secrets_command_that_prints_the_secret_base64_encoded_leaves_no_trace_of_it() {
    let mut world = World::new();
    let dir = world.dir.path().to_path_buf();
    // The command keeps a copy (so the test knows the secret), prints the whole document
    // base64-encoded on one line of stderr, and fails.
    world.write(
        "main.toml",
        &command("tee \"$0/seen.json\" | base64 -w0 >&2; exit 1", &dir),
    );
    let failed = world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(1);
    let seen: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("seen.json")).unwrap()).unwrap();
    let secret = seen["secret_access_key"].as_str().unwrap();
    assert!(
        failed
            .stderr
            .contains("secret delivery command `sh` exited with exit status: 1: "),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.contains("<redacted>"), "{}", failed.stderr);
    assert_no_trace(&failed.stdout, secret, "stdout");
    assert_no_trace(&failed.stderr, secret, "stderr");
    let records = journal(&world);
    assert_eq!(records.len(), 1);
    assert!(
        records[0].contains("the new key was deleted again"),
        "{}",
        records[0]
    );
    assert_no_trace(&records[0], secret, "the journal record");
    assert!(
        world.keys("analytics").is_empty(),
        "the key was deleted again"
    );

    world.write("main.toml", &command("cat > \"$0/vault.json\"", &dir));
    world.apply();
    world.assert_converged();
}

#[test]
fn a_symlink_in_the_secrets_directory_fails_that_delivery_and_leaves_no_key_without_its_secret() {
    let mut world = World::new();
    world.write("main.toml", KEY);
    let secrets = world.dir.path().join(".kcform/secrets");
    let elsewhere = world.dir.path().join("elsewhere");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, secrets.join("analytics")).unwrap();

    let failed = world
        .kcform(&["apply", "--auto-approve", "."])
        .expect_code(1);
    let line = failed
        .stderr
        .lines()
        .find(|line| {
            line.trim_start().starts_with("failed") && line.contains("access_key.analytics/etl/ci")
        })
        .unwrap_or_else(|| panic!("the key's operation did not fail:\n{}", failed.stderr));
    assert!(
        line.contains(".kcform/secrets/analytics is a symbolic link, and kcform follows none from the secrets directory down"),
        "{line}"
    );
    assert!(line.contains("the new key was deleted again"), "{line}");
    assert!(
        world.keys("analytics").is_empty(),
        "no key without a delivered secret may remain"
    );
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing was written where the link points"
    );

    std::fs::remove_file(secrets.join("analytics")).unwrap();
    world.apply();
    world.assert_converged();
    world.assert_delivered("analytics", &["etl".to_string()], 1);
    let file = world.secret_file("analytics", "etl", "ci");
    assert_eq!(
        issue_token(
            &world.endpoint(),
            file["access_key_id"].as_str().unwrap(),
            file["secret_access_key"].as_str().unwrap(),
        ),
        201
    );
}
