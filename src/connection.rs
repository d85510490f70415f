//! Connecting to the IAM API for a configuration: the endpoint (`KCFORM_ENDPOINT`, else
//! `provider.endpoint`), the built-in emulator when that says `emulator`, and the credential
//! (the environment, else the embedded emulator's Org Admin key).

use std::sync::Arc;

use crate::cloud::{Client, ClientOptions, CloudError, Credential};
use crate::emulator::{self, RunningEmulator};
use crate::model::{Desired, Endpoint};
use crate::secret::Secret;
use crate::settings::{CREDENTIAL_ID_ENV, CREDENTIAL_SECRET_ENV, GlobalSettings};

/// A client, and the embedded emulator it talks to when there is one (kept alive with it).
pub struct Connection {
    /// The client.
    pub client: Arc<Client>,
    /// The in-process emulator, for `endpoint = "emulator"`.
    pub emulator: Option<RunningEmulator>,
}

/// Why no connection could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// No credential for a real endpoint.
    #[error(
        "no credential: set `{CREDENTIAL_ID_ENV}` and `{CREDENTIAL_SECRET_ENV}` to an access key's ID and secret"
    )]
    NoCredential,
    /// The embedded emulator did not start.
    #[error("cannot start the built-in emulator: {0}")]
    Emulator(#[from] emulator::EmulatorError),
    /// The endpoint is unusable.
    #[error(transparent)]
    Cloud(#[from] CloudError),
}

impl Connection {
    /// Connects for `desired`, with `parallelism` requests in flight at most.
    pub async fn open(
        desired: &Desired,
        settings: &GlobalSettings,
        parallelism: usize,
    ) -> Result<Connection, ConnectionError> {
        let endpoint = match &settings.endpoint_override {
            Some(text) if text == "emulator" => Endpoint::Emulator,
            Some(url) => Endpoint::Url(url.clone()),
            None => desired.provider.endpoint.clone(),
        };
        let options = ClientOptions {
            parallelism,
            ..ClientOptions::tuned(settings.http_timeout, settings.http_attempts)
        };
        match endpoint {
            Endpoint::Emulator => {
                let running = emulator::start_embedded(&desired.config_dir).await?;
                let credential = settings.credential.clone().unwrap_or_else(|| {
                    let admin = running.admin_credential();
                    Credential {
                        id: admin.id.clone(),
                        secret: Secret::new(admin.secret.clone()),
                    }
                });
                let client = Client::new(&running.base_url(), credential, &options)?;
                Ok(Connection {
                    client: Arc::new(client),
                    emulator: Some(running),
                })
            }
            Endpoint::Url(url) => Connection::to_url(&url, settings, &options),
        }
    }

    /// A connection that does not depend on the configuration, so it can be made (and its
    /// token issued) while the configuration is still being read: when `KCFORM_ENDPOINT` names
    /// a URL, which overrides `provider.endpoint`. `None` when the configuration decides.
    pub fn before_config(
        settings: &GlobalSettings,
        parallelism: usize,
    ) -> Result<Option<Connection>, ConnectionError> {
        match &settings.endpoint_override {
            Some(url) if url != "emulator" => {
                let options = ClientOptions {
                    parallelism,
                    ..ClientOptions::tuned(settings.http_timeout, settings.http_attempts)
                };
                Connection::to_url(url, settings, &options).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn to_url(
        url: &str,
        settings: &GlobalSettings,
        options: &ClientOptions,
    ) -> Result<Connection, ConnectionError> {
        let credential = settings
            .credential
            .clone()
            .ok_or(ConnectionError::NoCredential)?;
        let client = Client::new(url, credential, options)?;
        Ok(Connection {
            client: Arc::new(client),
            emulator: None,
        })
    }

    /// Where the embedded emulator keeps the state of the configuration in `config_dir`, when
    /// this connection is to the embedded emulator.
    pub fn embedded_data_file(&self, config_dir: &std::path::Path) -> Option<std::path::PathBuf> {
        self.emulator.as_ref().map(|_| {
            config_dir
                .join(crate::state::DIR)
                .join(emulator::EMBEDDED_DATA_FILE)
        })
    }

    /// Stops the embedded emulator, if any, flushing its state.
    pub async fn close(self) {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
    }
}
