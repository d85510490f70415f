//! The built-in emulator: a reference KakaoCloud IAM server (axum) implementing `docs/api.md`
//! and enforcing the rules of docs/design.md#model. Its public face: [`start`] (a standalone
//! server on any address), [`start_embedded`] (for `endpoint = "emulator"`), the
//! [`RunningEmulator`] handle, [`EmulatorState`] and [`router`] for tests that mount the
//! router themselves.
//!
//! Layout: `store` (the SQLite data file: creating, opening and checking it; `schema.sql`),
//! `db` (the row types and the queries the routes need), `state` (shared state,
//! transactions, tokens, bootstrap), `stats` (request counters), `auth` (tokens, roles),
//! `extract` (Keystone-shaped request rejections, paging), `routes/*` (one file per
//! resource), `faults` (injected faults), `delay` (exact latency), `control_token` (who may use the `/_emulator/…`
//! control routes), `error` (error types).
//!
//! [`start`] listens on a loopback address unless [`EmulatorOptions::allow_remote`] is set, and
//! an emulator other hosts can reach always requires a control token on its control routes.

mod auth;
pub mod control_token;
mod db;
mod delay;
mod error;
mod extract;
pub mod faults;
mod readers;
mod routes;
mod state;
pub mod stats;
mod store;

#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use control_token::ControlToken;
pub use error::{ApiError, EmulatorError};
pub use faults::FaultSpec;
pub use routes::{router, router_with_control_token};
pub use state::EmulatorState;

use crate::wire::AccessKeyCredential;

/// The embedded emulator's data file (an SQLite database), inside kcform's state directory
/// (`state::DIR`).
pub const EMBEDDED_DATA_FILE: &str = "emulator.db";
/// The embedded emulator's Org Admin credential, inside kcform's state directory (`state::DIR`).
pub const EMBEDDED_ADMIN_FILE: &str = "emulator-admin.json";

/// How long [`RunningEmulator::shutdown`] waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How to run the emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorOptions {
    /// The data file (an SQLite database); `None` keeps the state in memory only.
    pub data_file: Option<PathBuf>,
    /// Where to write `{"id", "secret"}` of the Org Admin key (mode 0600).
    pub bootstrap_credentials: Option<PathBuf>,
    /// Whether a fresh organization has a payment method registered (needed to create
    /// projects). An existing data file keeps its own setting.
    pub payment_method: bool,
    /// Accept a listen address that is not loopback (`kcform emulator --allow-remote`);
    /// without it [`start`] refuses one. Such an emulator always requires a control token.
    pub allow_remote: bool,
    /// The token every `/_emulator/…` control route requires (`Authorization: Bearer`).
    /// `None` leaves them open on a loopback address; on any other address [`start`] generates
    /// one (see [`RunningEmulator::control_token`]).
    pub control_token: Option<ControlToken>,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            data_file: None,
            bootstrap_credentials: None,
            payment_method: true,
            allow_remote: false,
            control_token: None,
        }
    }
}

/// A running emulator. Dropping it asks the server to stop; [`RunningEmulator::shutdown`]
/// also waits until it has.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    base_url: String,
    admin: AccessKeyCredential,
    control_token: Option<ControlToken>,
    state: EmulatorState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR:PORT`, the endpoint to give kcform.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// An Org Admin access key that works now.
    pub fn admin_credential(&self) -> &AccessKeyCredential {
        &self.admin
    }

    /// The token the control routes require, if any: the configured one, or the one [`start`]
    /// generated for an address other hosts can reach.
    pub fn control_token(&self) -> Option<&ControlToken> {
        self.control_token.as_ref()
    }

    /// The served state.
    pub fn state(&self) -> &EmulatorState {
        &self.state
    }

    /// Stops accepting connections, lets running requests finish (up to a few seconds),
    /// copies SQLite's WAL into the data file and returns. Every change is already committed
    /// before it is answered; the checkpoint only leaves the data file whole on its own.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            // A client holding a connection open must not block shutdown forever.
            task.abort();
        }
        let state = self.state.clone();
        let _ = tokio::task::spawn_blocking(move || state.checkpoint()).await;
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts the emulator on `listen` (use port 0 for any free port). Loads or creates the data
/// file, issues a fresh Org Admin key (revoking the previous bootstrap key) and writes it to
/// `options.bootstrap_credentials` when set.
///
/// A `listen` address that is not loopback is refused ([`EmulatorError::RemoteNotAllowed`],
/// before any file is touched) unless `options.allow_remote` is set, and then the control
/// routes require `options.control_token` or, without one, a generated token.
pub async fn start(
    listen: SocketAddr,
    options: EmulatorOptions,
) -> Result<RunningEmulator, EmulatorError> {
    let mut control_token = options.control_token.clone();
    if !control_token::is_loopback(listen) {
        if !options.allow_remote {
            return Err(EmulatorError::RemoteNotAllowed { addr: listen });
        }
        control_token.get_or_insert_with(ControlToken::generate);
    }
    let opened = EmulatorState::open_with(options.data_file.clone(), options.payment_method, None)?;
    let running = serve(listen, opened.state, opened.credential, control_token).await?;
    if let Some(path) = &options.bootstrap_credentials {
        write_credential(path, &running.admin)?;
    }
    Ok(running)
}

/// Embedded mode for `endpoint = "emulator"`: listens on `127.0.0.1:0`, persists to
/// `<config_dir>/.kcform/emulator.db`, keeps the Org Admin credential in
/// `<config_dir>/.kcform/emulator-admin.json` (mode 0600, dir 0700) and reuses it on later
/// runs while it is still valid.
pub async fn start_embedded(config_dir: &Path) -> Result<RunningEmulator, EmulatorError> {
    let dir = config_dir.join(crate::state::DIR);
    create_private_dir(&dir)?;
    let admin_file = dir.join(EMBEDDED_ADMIN_FILE);
    // An unreadable or stale credential file is not an error: it only caches a key, and a
    // fresh key replaces it below.
    let cached: Option<AccessKeyCredential> = std::fs::read_to_string(&admin_file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let opened =
        EmulatorState::open_with(Some(dir.join(EMBEDDED_DATA_FILE)), true, cached.as_ref())?;
    if opened.issued {
        write_credential(&admin_file, &opened.credential)?;
    }
    serve(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        opened.state,
        opened.credential,
        None,
    )
    .await
}

async fn serve(
    listen: SocketAddr,
    state: EmulatorState,
    admin: AccessKeyCredential,
    control_token: Option<ControlToken>,
) -> Result<RunningEmulator, EmulatorError> {
    let bind_err = |source| EmulatorError::Bind {
        addr: listen,
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(bind_err)?;
    let addr = listener.local_addr().map_err(bind_err)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router_with_control_token(state.clone(), control_token.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningEmulator {
        addr,
        base_url: format!("http://{addr}"),
        admin,
        control_token,
        state,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Writes `{"id", "secret"}` atomically with mode 0600.
fn write_credential(path: &Path, credential: &AccessKeyCredential) -> Result<(), EmulatorError> {
    let mut bytes = serde_json::to_vec_pretty(credential)?;
    bytes.push(b'\n');
    store::write_atomic(path, &bytes)
}

/// Creates `dir` (and missing parents) with mode 0700; an existing directory is left as is.
fn create_private_dir(dir: &Path) -> Result<(), EmulatorError> {
    crate::state::file::create_private_dirs(dir).map_err(|source| EmulatorError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })
}
