//! The emulator's two error types: [`EmulatorError`] for starting and persisting (files,
//! sockets), and [`ApiError`], an HTTP answer rendered as the Keystone error body
//! `{"error": {"code", "message", "title"}}` so no route ever leaks a plain-text error.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::wire::{ErrorBody, ErrorDetail};

/// Why the emulator could not start, or could not save its state.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The data file exists but cannot be read.
    #[error("cannot read the emulator data file {}: {source}", path.display())]
    ReadDataFile {
        /// The data file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The data file is not a valid emulator state; it is never silently reset.
    #[error(
        "the emulator data file {} is corrupt: {reason}; refusing to start \
         (move the file away to start with a fresh organization)",
        path.display()
    )]
    CorruptDataFile {
        /// The data file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process serves the same data file.
    #[error(
        "the emulator data file {} is in use by another kcform process (lock {}); wait for it to finish",
        path.display(),
        lock.display()
    )]
    DataFileInUse {
        /// The data file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The data file was written by an incompatible emulator.
    #[error(
        "the emulator data file {} has format version {found}; this kcform reads version {expected}",
        path.display()
    )]
    UnsupportedVersion {
        /// The data file.
        path: PathBuf,
        /// The version found in the file.
        found: u64,
        /// The version this build reads and writes.
        expected: u32,
    },
    /// The database failed (opening it, or a statement of start-up).
    #[error("the emulator database {} failed: {source}", path.display())]
    Database {
        /// The data file (`:memory:` for an in-memory emulator).
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// Writing a file (data file, credential file) failed.
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Creating a directory failed.
    #[error("cannot create the directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A listen address other hosts can reach was given without `--allow-remote`.
    #[error(
        "refusing to listen on {addr}: it is not a loopback address, so other hosts could reach \
         the emulator and its control routes (/_emulator/…), which hand out Org Admin keys; \
         listen on 127.0.0.1 or [::1], or pass --allow-remote to serve other hosts (the control \
         routes then require a control token: a generated one printed at start, or the one in \
         --control-token-file)"
    )]
    RemoteNotAllowed {
        /// The requested address.
        addr: SocketAddr,
    },
    /// The control-token file cannot be read.
    #[error("cannot read the emulator control token file {}: {source}", path.display())]
    ReadControlToken {
        /// The token file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The control-token file does not hold a usable token.
    #[error("the emulator control token file {} holds no usable token: {reason}", path.display())]
    InvalidControlToken {
        /// The token file.
        path: PathBuf,
        /// Which rule the token breaks (never the token itself).
        reason: String,
    },
    /// The admin credential could not be encoded as JSON (a bug, not a user error).
    #[error("cannot encode the emulator's admin credential: {0}")]
    Encode(#[from] serde_json::Error),
}

/// An HTTP error answer in Keystone's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The human-readable message.
    pub message: String,
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401 Unauthorized.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 405 Method Not Allowed.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, message)
    }

    /// 409 Conflict.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 500 Internal Server Error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The Keystone body for this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.status.as_u16(),
                message: self.message.clone(),
                title: title(self.status).to_string(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            title(self.status),
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl From<EmulatorError> for ApiError {
    fn from(err: EmulatorError) -> Self {
        ApiError::internal(format!("the emulator could not save its state: {err}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = (status, axum::Json(self.body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // Keystone clients (keystoneauth1) look for this header on 401 answers.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Keystone uri=\"/identity/v3\""),
            );
        }
        response
    }
}

/// The Keystone title of a status, as listed in `docs/api.md`.
pub fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}
