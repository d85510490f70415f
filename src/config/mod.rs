//! Configuration: reads a `.toml` file or a directory of them, merges them, and checks every
//! rule offline, producing a [`crate::model::Desired`] or every error at once with locations.
//! (Being written; see the helper brief.)

use std::path::Path;

use crate::model::Desired;

/// All configuration errors, rendered `file:line:column` with the source line and a caret.
#[derive(Debug, thiserror::Error)]
#[error("{rendered}")]
pub struct ConfigError {
    /// The rendered diagnostics, ready to print on stderr.
    pub rendered: String,
    /// Each problem's location and message.
    pub diagnostics: Vec<Diagnostic>,
}

/// One configuration problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: std::path::PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Loads the configuration at `path` (a `.toml` file or a directory).
pub fn load(_path: &Path) -> Result<Desired, ConfigError> {
    todo!("config helper")
}
