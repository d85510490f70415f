//! Running a `[secrets] command` for one new key: the secret JSON goes to the command's stdin,
//! its stdout is discarded, and its stderr is read while it runs, for the error message. The
//! command learns which key it receives three ways: placeholders in its arguments (see
//! [`crate::placeholders`]), the environment variables of [`ENV`], and the `address`,
//! `service_account` and `access_key` fields of the JSON.
//!
//! Delivery is judged by the command's exit, not by its output: kcform waits (up to
//! [`COMMAND_TIMEOUT`](super::COMMAND_TIMEOUT)) for the process to exit, then reads what is
//! left of its stderr for at most [`STDERR_GRACE`] and stops. A background process the command
//! started (an agent, a daemon) may keep the pipe open for as long as it likes; it does not
//! delay or fail the delivery. On Unix the command runs in a process group of its own: a
//! command still running at the timeout is killed with every process of its group, and so are
//! the commands still running when an apply is aborted ([`kill_running`]). Being its own group
//! also means the terminal's Ctrl-C does not reach it, so the first Ctrl-C lets a running
//! delivery finish, as it does for every other running operation; a command therefore cannot
//! read from the terminal (it is stopped, then killed at the timeout).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::task::JoinHandle;

use super::{DeliveryError, redact};
use crate::placeholders::{Values, expand};

/// How long kcform still reads a command's stderr after the command exited; a background
/// process that inherited the pipe may hold it open for ever.
pub const STDERR_GRACE: Duration = Duration::from_millis(150);

/// How much of a command's stderr is kept (the rest is read and discarded, so that the command
/// never blocks on a full pipe).
const STDERR_KEPT: usize = 64 * 1024;

/// How many characters of the first line of a command's stderr an error message quotes.
pub const STDERR_QUOTED: usize = 200;

/// The environment variables a command gets, with the placeholder each one mirrors.
pub const ENV: [(&str, &str); 5] = crate::env::FOR_SECRETS_COMMAND;

/// kcform's own credential, which a command never inherits.
pub const CREDENTIAL_ENV: [&str; 2] = [crate::env::CREDENTIAL_ID, crate::env::CREDENTIAL_SECRET];

/// Process groups of the delivery commands running now.
static RUNNING: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// Kills every delivery command still running, with the processes of its process group — for
/// an apply that aborts at once (a second Ctrl-C), since the terminal's signal does not reach
/// them.
pub fn kill_running() {
    let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    for &group in running.iter() {
        kill_group(group);
    }
}

/// Keeps a command's process group in [`RUNNING`] while it runs.
struct Registered(Option<u32>);

impl Registered {
    fn new(pid: Option<u32>) -> Registered {
        if let Some(pid) = pid {
            RUNNING
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(pid);
        }
        Registered(pid)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            RUNNING
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&pid);
        }
    }
}

#[cfg(unix)]
fn kill_group(group: u32) {
    use rustix::process::{Pid, Signal, kill_process_group};
    if let Some(pid) = i32::try_from(group).ok().and_then(Pid::from_raw) {
        // ESRCH: the group is gone already.
        let _ = kill_process_group(pid, Signal::KILL);
    }
}

#[cfg(not(unix))]
fn kill_group(_group: u32) {}

/// Runs `argv` for `key` (its placeholders expanded, [`ENV`] set) in `cwd` with `json` on its
/// stdin and waits up to `timeout` for it to exit. `secret` is scrubbed from whatever of its
/// stderr an error quotes.
pub(super) async fn run(
    argv: &[String],
    key: &Values<'_>,
    cwd: &Path,
    json: &str,
    secret: &str,
    timeout: Duration,
) -> Result<(), DeliveryError> {
    let program = argv.first().cloned().unwrap_or_default();
    let fail = |problem: String| DeliveryError::Command {
        program: program.clone(),
        problem,
    };
    let args = argv
        .get(1..)
        .unwrap_or_default()
        .iter()
        .map(|arg| expand(arg, key))
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| fail(format!("cannot expand its arguments: {e}")))?;
    let mut command = tokio::process::Command::new(&program);
    command.args(args).current_dir(cwd);
    // The command stores one key's secret; it has no business with the credential kcform
    // applies with.
    for variable in CREDENTIAL_ENV {
        command.env_remove(variable);
    }
    for (variable, placeholder) in ENV {
        command.env(variable, key.get(placeholder).unwrap_or_default());
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| fail(format!("could not start: {e}")))?;
    let _registered = Registered::new(child.id());
    let captured = Arc::new(Mutex::new(Vec::new()));
    let reader = child
        .stderr
        .take()
        .map(|stderr| tokio::spawn(capture(stderr, Arc::clone(&captured))));
    let stdin = child.stdin.take();
    let finished = tokio::time::timeout(timeout, async {
        let fed = feed(stdin, json).await;
        (fed, child.wait().await)
    })
    .await;
    let Ok((fed, status)) = finished else {
        if let Some(group) = child.id() {
            kill_group(group);
        }
        let _ = child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        let quoted = quote(reader, &captured, secret).await;
        return Err(fail(format!(
            "did not finish within {}s and was killed{quoted}",
            timeout.as_secs_f64()
        )));
    };
    let status = status.map_err(|e| fail(format!("could not be waited for: {e}")))?;
    match fed {
        Ok(()) if status.success() => {
            if let Some(reader) = reader {
                reader.abort();
            }
            Ok(())
        }
        Err(e) if status.success() => {
            let quoted = quote(reader, &captured, secret).await;
            Err(fail(format!(
                "exited successfully without reading the secret from its stdin ({e}){quoted}"
            )))
        }
        _ => {
            let quoted = quote(reader, &captured, secret).await;
            Err(fail(format!("exited with {status}{quoted}")))
        }
    }
}

/// Writes the JSON to the command's stdin and closes it.
async fn feed(stdin: Option<tokio::process::ChildStdin>, json: &str) -> std::io::Result<()> {
    let Some(mut stdin) = stdin else {
        return Ok(());
    };
    stdin.write_all(json.as_bytes()).await?;
    stdin.shutdown().await
}

/// Reads the pipe until it closes, keeping the first [`STDERR_KEPT`] bytes.
async fn capture(mut pipe: impl AsyncRead + Unpin, kept: Arc<Mutex<Vec<u8>>>) {
    let mut chunk = [0u8; 8192];
    while let Ok(read @ 1..) = pipe.read(&mut chunk).await {
        let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
        let room = STDERR_KEPT.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..read.min(room)]);
    }
}

/// `": <first line of stderr>"` (secret scrubbed, cut short), or nothing when the command
/// printed nothing: what arrived by now and within [`STDERR_GRACE`], without waiting for the
/// pipe to close.
async fn quote(reader: Option<JoinHandle<()>>, captured: &Mutex<Vec<u8>>, secret: &str) -> String {
    if let Some(mut reader) = reader
        && tokio::time::timeout(STDERR_GRACE, &mut reader)
            .await
            .is_err()
    {
        reader.abort();
    }
    let bytes = captured.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let scrubbed = redact::scrub(&bytes, secret);
    match redact::first_line(&String::from_utf8_lossy(&scrubbed), STDERR_QUOTED) {
        Some(line) => format!(": {line}"),
        None => String::new(),
    }
}
