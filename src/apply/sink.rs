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
        /// `argv[0]`.
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
mod tests;
