//! Errors of the IAM client: the API's own message and status, the method and route, never a
//! secret or a token.

/// A failed IAM call.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The API answered with an error status. `title` and `message` are Keystone's; an answer
    /// that is not a Keystone error (an HTML page, Flask's `{"message"}`) is summarized in
    /// them: its page title and a short excerpt of its text, never the raw page.
    #[error("{method} {path}: {status} {title}: {message}")]
    Api {
        /// HTTP method.
        method: String,
        /// Route path (no query, no host).
        path: String,
        /// HTTP status.
        status: u16,
        /// Keystone error title.
        title: String,
        /// Keystone error message.
        message: String,
    },
    /// The request never got an answer.
    #[error("{method} {path}: could not reach the IAM API at {endpoint}: {detail}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Route path.
        path: String,
        /// Base URL.
        endpoint: String,
        /// What went wrong.
        detail: String,
        /// Whether the request may have reached the server (false: no connection was made).
        maybe_sent: bool,
    },
    /// The answer was not what the API documents.
    #[error("{method} {path}: unexpected answer from the IAM API: {detail}")]
    Protocol {
        /// HTTP method.
        method: String,
        /// Route path.
        path: String,
        /// What was wrong with it.
        detail: String,
    },
    /// The endpoint issued a token, so it speaks Keystone, but answered a route of kcform's own
    /// API (projects' service accounts, keys and agents: `docs/api.md`) with a `404` that is
    /// not a Keystone error: a plain Keystone, which serves no such route.
    #[error(
        "{method} {path}: the endpoint {endpoint} speaks Keystone but not the KakaoCloud IAM \
         routes of kcform's docs/api.md (this route answered {answer})"
    )]
    NotServed {
        /// HTTP method.
        method: String,
        /// Route path.
        path: String,
        /// Base URL.
        endpoint: String,
        /// `404 <title>: <short excerpt of its text>` (summarized as for `Api`).
        answer: String,
    },
    /// The endpoint URL cannot be used.
    #[error("endpoint `{endpoint}`: {reason}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Why it is refused.
        reason: String,
    },
}

impl CloudError {
    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            CloudError::Api { status, .. } => Some(*status),
            CloudError::NotServed { .. } => Some(404),
            _ => None,
        }
    }

    /// True when the API refused the credential itself: `401`, or Keystone's `404` for an
    /// application credential it does not know (deleted, or never existed) at token issue.
    pub fn is_credential_refused(&self) -> bool {
        match self {
            CloudError::Api { status: 401, .. } => true,
            CloudError::Api {
                status: 404,
                path,
                message,
                ..
            } => path == super::routes::AUTH_TOKENS && message.contains(super::UNKNOWN_CREDENTIAL),
            _ => false,
        }
    }

    /// True when the server may have carried the call out although it failed: no answer came
    /// back, or a 500/502/504. A create that failed this way must be looked up, not repeated.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            CloudError::Transport { maybe_sent, .. } => *maybe_sent,
            CloudError::Api { status, .. } => matches!(status, 500 | 502 | 504),
            _ => false,
        }
    }
}
