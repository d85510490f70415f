//! Who may use the `/_emulator/…` control routes. They create users with any role (an Org
//! Admin key among them), inject faults and remove the payment method, so an emulator that
//! other hosts can reach must not serve them to anyone: there every control route requires a
//! [`ControlToken`] sent as `Authorization: Bearer <token>`, checked by the [`require`]
//! middleware in constant time. On a loopback address the routes stay open unless a token is
//! configured (the embedded emulator and the tests rely on that).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use sha2::{Digest as _, Sha256};

use super::error::{ApiError, EmulatorError};
use crate::secret::Secret;

/// The path prefix of every control route.
pub const CONTROL_PREFIX: &str = "/_emulator/";
/// The shortest control token a `--control-token-file` may hold.
pub const MIN_TOKEN_LEN: usize = 16;
/// The longest control token a `--control-token-file` may hold (it travels in a header).
pub const MAX_TOKEN_LEN: usize = 4096;

/// The token the control routes require. `Debug` never shows it; only its SHA-256 is kept for
/// the comparison, so the check takes the same time whatever the presented value shares with
/// it.
#[derive(Clone, PartialEq, Eq)]
pub struct ControlToken {
    token: Secret,
    digest: [u8; 32],
}

impl std::fmt::Debug for ControlToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ControlToken(<redacted>)")
    }
}

impl ControlToken {
    /// A new random token: 64 hex characters (256 bits).
    pub fn generate() -> ControlToken {
        ControlToken::from_valid(hex::encode(rand::random::<[u8; 32]>()))
    }

    /// A token from its text: surrounding whitespace (a file's final newline) is dropped, and
    /// what remains must be [`MIN_TOKEN_LEN`] to [`MAX_TOKEN_LEN`] visible ASCII characters.
    /// The error says which rule the text breaks and never repeats it.
    pub fn parse(text: &str) -> Result<ControlToken, String> {
        let token = text.trim();
        if token.is_empty() {
            return Err("it is empty".to_string());
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "it must be one line of visible ASCII characters, without spaces".to_string(),
            );
        }
        if token.len() < MIN_TOKEN_LEN {
            return Err(format!(
                "it has {} characters, fewer than the {MIN_TOKEN_LEN} required \
                 (e.g. `openssl rand -hex 32` makes a good one)",
                token.len()
            ));
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(format!(
                "it has {} characters, more than the {MAX_TOKEN_LEN} allowed",
                token.len()
            ));
        }
        Ok(ControlToken::from_valid(token.to_string()))
    }

    /// Reads a token from a file (`kcform emulator --control-token-file FILE`), as
    /// [`ControlToken::parse`] takes it.
    pub fn read(path: &Path) -> Result<ControlToken, EmulatorError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| EmulatorError::ReadControlToken {
                path: path.to_path_buf(),
                source,
            })?;
        ControlToken::parse(&text).map_err(|reason| EmulatorError::InvalidControlToken {
            path: path.to_path_buf(),
            reason,
        })
    }

    fn from_valid(token: String) -> ControlToken {
        let digest = Sha256::digest(token.as_bytes()).into();
        ControlToken {
            token: Secret::new(token),
            digest,
        }
    }

    /// The token text; call only where it is shown on purpose (printed once at start).
    pub fn expose(&self) -> &str {
        self.token.expose()
    }

    /// Whether `presented` is this token. Both sides are hashed first and the digests compared
    /// without an early exit, so neither the length nor a shared prefix shows in the timing.
    pub fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let difference = self
            .digest
            .iter()
            .zip(presented.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(difference) == 0
    }
}

/// Whether `listen` is a loopback address (`127.0.0.0/8`, `::1`, or `::ffff:127.x.x.x`).
pub fn is_loopback(listen: SocketAddr) -> bool {
    listen.ip().to_canonical().is_loopback()
}

/// Middleware: with a token configured, a request to a control route (any path under
/// [`CONTROL_PREFIX`], so also an unknown one) without `Authorization: Bearer <token>`, or
/// with another token, is answered `401` before any handler runs; without one, everything
/// passes.
pub async fn require(
    State(token): State<Option<Arc<ControlToken>>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = token else {
        return next.run(request).await;
    };
    if !request.uri().path().starts_with(CONTROL_PREFIX) {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| bearer(value.as_bytes()));
    let refusal = match presented {
        Some(Some(presented)) if token.matches(presented) => return next.run(request).await,
        Some(Some(_)) => "the emulator control token is not valid",
        Some(None) => {
            "the emulator's control routes take the control token as `Authorization: Bearer \
             <token>`; this Authorization header is not of that form"
        }
        None => {
            "the emulator's control routes need its control token: send `Authorization: Bearer \
             <token>` with the token `kcform emulator` printed at start, or the content of its \
             --control-token-file"
        }
    };
    let mut response = ApiError::unauthorized(refusal).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"kcform emulator control\""),
    );
    response
}

/// The token of a `Bearer <token>` header value (scheme case-insensitive), if it is one.
fn bearer(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::{ControlToken, bearer, is_loopback};

    #[test]
    fn a_token_matches_itself_only() {
        let token = ControlToken::parse("0123456789abcdef-token\n").unwrap();
        assert!(token.matches("0123456789abcdef-token"));
        assert!(!token.matches("0123456789abcdef-toke"));
        assert!(!token.matches("0123456789abcdef-token "));
        assert!(!token.matches(""));
        let generated = ControlToken::generate();
        assert_eq!(generated.expose().len(), 64);
        assert!(generated.matches(generated.expose()));
        assert_ne!(generated, ControlToken::generate());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = ControlToken::parse("0123456789abcdef-token").unwrap();
        assert_eq!(format!("{token:?}"), "ControlToken(<redacted>)");
    }

    #[test]
    fn weak_or_malformed_tokens_are_refused_without_repeating_them() {
        assert_eq!(ControlToken::parse(" \n").unwrap_err(), "it is empty");
        let short = ControlToken::parse("hunter2\n").unwrap_err();
        assert!(short.contains("7 characters, fewer than the 16"), "{short}");
        assert!(!short.contains("hunter2"), "{short}");
        let spaced = ControlToken::parse("0123456789 abcdef").unwrap_err();
        assert!(spaced.contains("without spaces"), "{spaced}");
        let long = "x".repeat(4097);
        assert!(ControlToken::parse(&long).unwrap_err().contains("4097"));
    }

    #[test]
    fn bearer_headers_are_parsed() {
        assert_eq!(bearer(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer(b"bearer  abc "), Some("abc"));
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"Bearer"), None);
        assert_eq!(bearer(b"Bearer "), None);
    }

    #[test]
    fn loopback_addresses_are_recognized() {
        for addr in [
            "127.0.0.1:1",
            "127.1.2.3:1",
            "[::1]:1",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(is_loopback(addr.parse().unwrap()), "{addr}");
        }
        for addr in ["0.0.0.0:1", "[::]:1", "10.0.0.1:1", "[::ffff:10.0.0.1]:1"] {
            assert!(!is_loopback(addr.parse().unwrap()), "{addr}");
        }
    }
}
