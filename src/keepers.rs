//! The keeper record: which `rotation` value each access key was created with. The IAM API
//! cannot store it (keys cannot be edited), so kcform keeps it in `.kcform/keepers.json` next to
//! the configuration. A key without a record is taken to match its configuration, and is
//! recorded by the next apply.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Key ID → rotation value.
pub type Keepers = BTreeMap<String, String>;

/// Why the record cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("keeper record {path}: {detail}")]
pub struct KeepersError {
    path: PathBuf,
    detail: String,
}

/// The record's path for a configuration directory.
pub fn path(config_dir: &Path) -> PathBuf {
    config_dir.join(".kcform").join("keepers.json")
}

/// Reads the record (empty when there is none yet).
pub fn load(config_dir: &Path) -> Result<Keepers, KeepersError> {
    let path = path(config_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| KeepersError {
            path,
            detail: format!("not valid JSON ({e}); fix or remove it"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Keepers::new()),
        Err(e) => Err(KeepersError {
            path,
            detail: e.to_string(),
        }),
    }
}

/// Writes the record atomically.
pub fn save(config_dir: &Path, keepers: &Keepers) -> Result<(), KeepersError> {
    let path = path(config_dir);
    let mut text = serde_json::to_string_pretty(keepers).expect("strings serialize");
    text.push('\n');
    crate::apply::sink::write_private_file(&path, text.as_bytes()).map_err(|e| KeepersError {
        path,
        detail: e.to_string(),
    })
}
