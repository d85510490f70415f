//! Secret delivery: where a new access key's secret goes, once, before its create counts as
//! done — a file `<dir>/<project>/<sa>/<key>.json` (0600 in 0700 directories, written
//! atomically) or a command that gets the secret JSON on stdin. Nothing else ever sees it.
//!
//! **Files.** The directories kcform uses are the secrets directory and its `<project>` and
//! `<project>/<sa>` subdirectories. Each must be a real directory — a symbolic link is
//! refused, the secrets directory itself included (set `dir` to the real path instead; the
//! components above it are resolved as any path is, and created 0700 when missing) — owned by
//! the user kcform runs as, and not writable by group or others (such a directory may hold
//! what someone else put there: kcform refuses it rather than make it 0700 and trust it). A
//! missing one is created 0700 and one with any other mode (0755, say) is made 0700. The tree
//! is walked by directory file descriptor (`openat` with `O_NOFOLLOW`, checks on the open
//! descriptor), so a component swapped for a link between check and use is not followed
//! either; the file is written to a temporary file created in the key's directory with
//! `O_CREAT | O_EXCL | O_NOFOLLOW` and mode 0600, fsynced, renamed over `<key>.json` (a link
//! there is replaced, never followed) and the directory fsynced. A refused directory fails
//! the delivery with an error naming it, like any failed delivery. (The write is kcform's one
//! private-file writer, `state::file`, which its records and the emulator use too.) Reading a
//! key's file (did its delivery happen?) and removing a deleted key's file walk the same way
//! without creating or changing anything: there a looser mode is tolerated, but a link, a
//! foreign owner or a directory others may write to means kcform neither reads nor removes
//! through it.
//!
//! **Commands.** A command's delivery succeeds when the command exits 0 within
//! [`COMMAND_TIMEOUT`]; kcform waits for its exit, not for its output pipes to close, so a
//! background process it leaves behind holding them open changes nothing. It runs in a
//! process group of its own, which is killed if it is still running at the timeout or when the
//! apply aborts (`sink/command.rs`). When it fails, the error — which goes to the terminal and
//! into the journal record — quotes only the first non-blank line of the command's stderr, cut
//! to 200 characters, after the secret has been scrubbed from it in every common encoding
//! (plain, JSON-escaped, percent-encoded, hex, standard and URL-safe base64:
//! `sink/redact.rs`); the rest of stderr is dropped, and stdout is discarded unread.

mod command;
mod redact;
mod tree;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::secret::Secret;

pub use command::kill_running;

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
    address: &'a str,
    service_account: &'a str,
    access_key: &'a str,
}

impl SecretDocument {
    /// The key's address, `access_key.<project>/<service_account>/<key>`.
    pub fn address(&self) -> String {
        crate::address::Address::access_key(&self.project, &self.service_account, &self.key)
            .to_string()
    }

    fn to_json(&self) -> String {
        let address = self.address();
        let json = SecretJson {
            access_key_id: &self.access_key_id,
            secret_access_key: self.secret_access_key.expose(),
            service_account_id: &self.service_account_id,
            project: &self.project,
            created_at: &self.created_at,
            address: &address,
            service_account: &self.service_account,
            access_key: &self.key,
        };
        let mut text = serde_json::to_string_pretty(&json).expect("plain strings serialize");
        text.push('\n');
        text
    }
}

/// Why kcform cannot use the secrets directory tree for a key's file.
#[derive(Debug, thiserror::Error)]
pub enum SecretsDirError {
    /// A component from the secrets directory down is a symbolic link.
    #[error(
        "{path} is a symbolic link, and kcform follows none from the secrets directory down (remove the link, or set `[secrets] dir` to the real directory)"
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// A component is not a directory.
    #[error("{path} is not a directory")]
    NotDirectory {
        /// The component.
        path: PathBuf,
    },
    /// A directory belongs to another user.
    #[error(
        "directory {path} belongs to uid {owner}, not to uid {uid} that kcform runs as, so its owner could read or replace the secrets in it; remove it, or `chown` it to uid {uid}"
    )]
    Owner {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// kcform's effective user.
        uid: u32,
    },
    /// A directory is writable by its group or by everyone.
    #[error(
        "directory {path} is writable by group or others (mode {mode:04o}), so it may hold what someone else put there; check its contents, then `chmod 700` it"
    )]
    Writable {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A project, service-account or key name is not a plain path component.
    #[error("`{name}` cannot name a file or directory")]
    Name {
        /// The name.
        name: String,
    },
    /// The file system refused.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What kcform was doing.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Why a secret could not be delivered (never contains the secret).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Writing the secret file failed or was refused.
    #[error("cannot write secret file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: SecretsDirError,
    },
    /// Removing a deleted key's secret file failed or was refused.
    #[error("cannot remove secret file {path}: {source}")]
    Remove {
        /// The file.
        path: PathBuf,
        /// Why.
        source: SecretsDirError,
    },
    /// The delivery command failed.
    #[error("secret delivery command `{program}` {problem}")]
    Command {
        /// argv[0].
        program: String,
        /// What went wrong (its exit status and the first line of its stderr, secret scrubbed).
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
            Sink::Dir(root) => {
                let path = self
                    .file_path(&document.project, &document.service_account, &document.key)
                    .expect("directory sink has paths");
                let root = root.clone();
                let (project, account) =
                    (document.project.clone(), document.service_account.clone());
                let file = format!("{}.json", document.key);
                let contents = document.to_json();
                tokio::task::spawn_blocking(move || {
                    tree::write(&root, &project, &account, &file, contents.as_bytes())
                })
                .await
                .map_err(|e| DeliveryError::File {
                    path: path.clone(),
                    source: SecretsDirError::Io {
                        action: "write",
                        path: path.clone(),
                        source: std::io::Error::other(e),
                    },
                })?
                .map_err(|source| DeliveryError::File { path, source })
            }
            Sink::Command { argv, cwd } => {
                let address = document.address();
                let key = crate::placeholders::Values {
                    project: &document.project,
                    service_account: &document.service_account,
                    access_key: &document.key,
                    address: &address,
                    access_key_id: &document.access_key_id,
                };
                command::run(
                    argv,
                    &key,
                    cwd,
                    &document.to_json(),
                    document.secret_access_key.expose(),
                    COMMAND_TIMEOUT,
                )
                .await
            }
        }
    }

    /// True when the directory sink's file for this key holds `key_id`'s secret. A command sink
    /// cannot be asked, so it never holds anything as far as kcform can tell; nor does a file
    /// kcform may not read (see the module documentation).
    pub fn holds(&self, project: &str, service_account: &str, key: &str, key_id: &str) -> bool {
        let Sink::Dir(root) = self else {
            return false;
        };
        tree::read(root, project, service_account, &format!("{key}.json"))
            .ok()
            .flatten()
            .is_some_and(|contents| holds_key(&contents, key_id))
    }

    /// Removes a deleted key's secret file, but only if it still holds that key (a file that
    /// already holds a newer key's secret is left alone). Follows no link.
    pub fn remove(
        &self,
        project: &str,
        service_account: &str,
        key: &str,
        key_id: &str,
    ) -> Result<bool, DeliveryError> {
        let (Sink::Dir(root), Some(path)) = (self, self.file_path(project, service_account, key))
        else {
            return Ok(false);
        };
        tree::remove_if(
            root,
            project,
            service_account,
            &format!("{key}.json"),
            |contents| holds_key(contents, key_id),
        )
        .map_err(|source| DeliveryError::Remove { path, source })
    }
}

impl crate::state::pending::Delivered for Sink {
    fn holds(&self, project: &str, service_account: &str, key: &str, key_id: &str) -> bool {
        Sink::holds(self, project, service_account, key, key_id)
    }
}

/// True when a secret file's contents are those of key `key_id`.
fn holds_key(contents: &[u8], key_id: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(contents)
        .is_ok_and(|json| json["access_key_id"] == key_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
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
            assert_eq!(mode(path), 0o700, "{}", path.display());
        }
        assert_eq!(mode(&root.join("analytics/etl/ci.json")), 0o600);
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
            mode(&root),
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
        assert_eq!(mode(&file), 0o600);
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
}
