//! The shipped examples: each validates, and each plans and applies against the built-in
//! (embedded) emulator exactly as the README tells a newcomer to do, then re-plans to nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn kcform(args: &[&str], dir: &Path) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kcform"))
        .args(args)
        .arg(dir)
        .env_remove("KCFORM_ENDPOINT")
        .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID")
        .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET")
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Examples that are not configurations, each with the test that runs it.
const NOT_CONFIGURATIONS: [(&str, &str); 1] = [("github-actions", "tests/e2e/workflow.rs")];

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !NOT_CONFIGURATIONS
                .iter()
                .any(|(example, _)| *example == name)
        })
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 2,
        "expected the quickstart and the organization examples"
    );
    dirs
}

#[test]
fn every_example_applies_against_the_embedded_emulator_and_converges() {
    for example in examples() {
        let work = tempfile::tempdir().unwrap();
        copy_dir(&example, work.path());
        let mut outputs = String::new();
        let (code, stdout, stderr) = kcform(&["validate"], work.path());
        outputs.push_str(&format!("{stdout}{stderr}"));
        assert_eq!(code, 0, "{}: {stderr}", example.display());
        assert!(stdout.starts_with("Success!"));

        let (code, stdout, stderr) = kcform(&["plan"], work.path());
        outputs.push_str(&format!("{stdout}{stderr}"));
        assert_eq!(code, 0, "{}: {stderr}", example.display());
        assert!(stdout.contains(" to add, "), "{stdout}");

        let (code, stdout, stderr) = kcform(&["apply", "--auto-approve"], work.path());
        outputs.push_str(&format!("{stdout}{stderr}"));
        assert_eq!(code, 0, "{}: {stdout}\n{stderr}", example.display());
        assert!(stdout.contains("Apply complete!"), "{stdout}");

        let (code, stdout, stderr) = kcform(&["plan", "--detailed-exitcode"], work.path());
        outputs.push_str(&format!("{stdout}{stderr}"));
        assert_eq!(
            stdout.trim(),
            "No changes. Remote objects match the configuration.",
            "{}",
            example.display()
        );
        assert_eq!(code, 0);

        // Every delivered secret stays in its file and out of every output.
        let secrets = work.path().join(".kcform/secrets");
        let mut found = 0;
        let mut stack = vec![secrets];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let json: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let secret = json["secret_access_key"].as_str().unwrap();
                assert!(!outputs.contains(secret), "a secret reached an output");
                found += 1;
            }
        }
        assert!(found >= 1, "{}: no secret was delivered", example.display());
    }
}
