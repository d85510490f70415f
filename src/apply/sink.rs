//! Secret delivery: where a new access key's secret goes, once, before its create counts as
//! done — a file `<dir>/<project>/<sa>/<key>.json` (0600 in 0700 directories, written
//! atomically) or a command that gets the secret JSON on stdin. Nothing else ever sees it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncWriteExt as _;

use crate::secret::Secret;

/// How long a delivery command may run before delivery counts as failed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Where secrets go (paths already resolved against the configuration directory).
#[derive(Debug, Clone)]
pub enum Sink {
    /// A directory tree of JSON files.
    Dir(PathBuf),
    /// A command run once per key, in `cwd`, with the JSON on stdin.
    Command {
        /// Program and arguments.
        argv: Vec<String>,
        /// Working directory (the configuration directory).
        cwd: PathBuf,
    },
}

/// What is delivered for one new key.
#[derive(Debug, Clone)]
pub struct SecretDocument {
    /// Project name.
    pub project: String,
    /// Service-account name (for the file path).
    pub service_account: String,
    /// Declared key name (for the file path).
    pub key: String,
    /// Access key ID.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: Secret,
    /// `name-projectid@kc.serviceaccount.com`.
    pub service_account_id: String,
    /// RFC 3339 creation time.
    pub created_at: String,
}

#[derive(Serialize)]
struct SecretJson<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    service_account_id: &'a str,
    project: &'a str,
    created_at: &'a str,
}

impl SecretDocument {
    fn to_json(&self) -> String {
        let json = SecretJson {
            access_key_id: &self.access_key_id,
            secret_access_key: self.secret_access_key.expose(),
            service_account_id: &self.service_account_id,
            project: &self.project,
            created_at: &self.created_at,
        };
        let mut text = serde_json::to_string_pretty(&json).expect("plain strings serialize");
        text.push('\n');
        text
    }
}

/// Why a secret could not be delivered (never contains the secret).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Writing the secret file failed.
    #[error("cannot write secret file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The delivery command failed.
    #[error("secret delivery command `{program}` {problem}")]
    Command {
        /// argv[0].
        program: String,
        /// What went wrong (its exit status and stderr, secret scrubbed).
        problem: String,
    },
}

impl Sink {
    /// The sink a configuration asks for, with paths resolved against its directory.
    pub fn configured(desired: &crate::model::Desired) -> Sink {
        match &desired.secrets {
            crate::model::SecretsSink::Dir(dir) => Sink::Dir(desired.config_dir.join(dir)),
            crate::model::SecretsSink::Command(argv) => Sink::Command {
                argv: argv.clone(),
                cwd: desired.config_dir.clone(),
            },
        }
    }

    /// The secret file of a key, for the directory sink.
    pub fn file_path(&self, project: &str, service_account: &str, key: &str) -> Option<PathBuf> {
        match self {
            Sink::Dir(dir) => Some(
                dir.join(project)
                    .join(service_account)
                    .join(format!("{key}.json")),
            ),
            Sink::Command { .. } => None,
        }
    }

    /// Delivers one secret. A file replaces the previous file of the same key atomically.
    pub async fn deliver(&self, document: &SecretDocument) -> Result<(), DeliveryError> {
        match self {
            Sink::Dir(_) => {
                let path = self
                    .file_path(&document.project, &document.service_account, &document.key)
                    .expect("directory sink has paths");
                let contents = document.to_json();
                let target = path.clone();
                tokio::task::spawn_blocking(move || {
                    write_private_file(&target, contents.as_bytes())
                })
                .await
                .map_err(|e| DeliveryError::File {
                    path: path.clone(),
                    source: std::io::Error::other(e),
                })?
                .map_err(|source| DeliveryError::File { path, source })
            }
            Sink::Command { argv, cwd } => run_command(argv, cwd, document).await,
        }
    }

    /// True when the directory sink's file for this key holds `key_id`'s secret. A command sink
    /// cannot be asked, so it never holds anything as far as kcform can tell.
    pub fn holds(&self, project: &str, service_account: &str, key: &str, key_id: &str) -> bool {
        self.file_path(project, service_account, key)
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .is_some_and(|json| json["access_key_id"] == key_id)
    }

    /// Removes a deleted key's secret file, but only if it still holds that key (a file that
    /// already holds a newer key's secret is left alone).
    pub fn remove(
        &self,
        project: &str,
        service_account: &str,
        key: &str,
        key_id: &str,
    ) -> Result<bool, DeliveryError> {
        let Some(path) = self.file_path(project, service_account, key) else {
            return Ok(false);
        };
        if !self.holds(project, service_account, key, key_id) {
            return Ok(false);
        }
        std::fs::remove_file(&path).map_err(|source| DeliveryError::File { path, source })?;
        Ok(true)
    }
}

/// Creates `dir` and missing parents with mode 0700.
pub fn create_private_dirs(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `contents` to `path` atomically: a 0600 temporary file in the same directory,
/// fsync, rename over the target, fsync the directory.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dirs(dir)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".kcform-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    temp.write_all(contents)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

async fn run_command(
    argv: &[String],
    cwd: &Path,
    document: &SecretDocument,
) -> Result<(), DeliveryError> {
    let program = argv.first().cloned().unwrap_or_default();
    let fail = |problem: String| DeliveryError::Command {
        program: program.clone(),
        problem,
    };
    let mut child = tokio::process::Command::new(&program)
        .args(&argv[1..])
        .current_dir(cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("could not start: {e}")))?;
    let json = document.to_json();
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(json.as_bytes())
            .await
            .map_err(|e| fail(format!("did not accept the secret on stdin: {e}")))?;
    }
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            fail(format!(
                "did not finish within {}s",
                COMMAND_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| fail(format!("failed: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    // A careless command may echo its input: scrub the secret before quoting its stderr.
    let stderr = String::from_utf8_lossy(&output.stderr)
        .replace(document.secret_access_key.expose(), "<redacted>");
    let stderr = stderr.trim();
    Err(fail(if stderr.is_empty() {
        format!("exited with {}", output.status)
    } else {
        format!("exited with {}: {stderr}", output.status)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
