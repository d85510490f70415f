//! kcform's own records — which `rotation` value each key was created with (`keepers.json`),
//! what the last apply left (`snapshot.json`, for drift notes), and key creates whose secret
//! delivery an abort may have cut short (`pending-keys.json`). They live in the `[lock]`
//! backend next to the journal: `.kcform/` locally, `prefix/` on S3, so CI runners that start
//! from a fresh checkout share them. None of them ever holds a secret.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::backend::{Backend, BackendError};
use crate::model::Desired;

/// Why a record cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The record is not what kcform wrote.
    #[error(
        "kcform's record `{name}` in {location} is not valid JSON ({detail}); fix or remove it"
    )]
    Corrupt {
        /// The record's name.
        name: String,
        /// The backend.
        location: String,
        /// The parse error.
        detail: String,
    },
}

/// The records of one configuration.
pub struct Records {
    store: Backend,
}

impl Records {
    /// The records in the configuration's `[lock]` backend.
    pub fn open(
        desired: &Desired,
        settings: &super::StateSettings,
    ) -> Result<Records, RecordError> {
        Ok(Records {
            store: Backend::open(&desired.lock, &desired.config_dir, settings)?,
        })
    }

    /// Reads record `name`; `None` when there is none yet.
    pub async fn load<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, RecordError> {
        let Some(bytes) = self.store.read_record(name).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RecordError::Corrupt {
                name: name.to_string(),
                location: self.store.location(),
                detail: e.to_string(),
            })
    }

    /// Writes record `name`, or removes it when `value` is `None`.
    pub async fn save<T: Serialize>(
        &self,
        name: &str,
        value: Option<&T>,
    ) -> Result<(), RecordError> {
        let bytes = value.map(|value| {
            let mut bytes = serde_json::to_vec_pretty(value).expect("records serialize");
            bytes.push(b'\n');
            bytes
        });
        Ok(self.store.write_record(name, bytes).await?)
    }
}
