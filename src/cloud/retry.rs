//! Retry policy of the IAM client: which failures are transient, how long to wait between
//! attempts (exponential backoff with full jitter and a cap, or the server's `Retry-After`),
//! and which calls may be repeated at all. A create (POST) is repeated only when the server
//! certainly did not act on it (connection refused, 429, 503); any other failure of a create
//! is returned as *ambiguous* so that the caller can look the object up by name instead.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderValue;
use time::OffsetDateTime;

/// How many 429 answers one call may get without using up its attempts: while the client's
/// adaptive limit (`limiter`) settles under a rate limit, a call may be refused a few times
/// in a row through no fault of its own.
pub const MAX_THROTTLED_RETRIES: u32 = 30;

/// Environment variable: timeout of one request (`30s`, `500ms`, `2m`).
pub const TIMEOUT_ENV: &str = crate::env::HTTP_TIMEOUT;
/// Environment variable: attempts per call, the first included (1 disables retries).
pub const ATTEMPTS_ENV: &str = crate::env::HTTP_ATTEMPTS;

/// How a call is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub attempts: u32,
    /// Backoff before the second attempt; doubles with each further attempt.
    pub base: Duration,
    /// Longest backoff between two attempts.
    pub cap: Duration,
    /// Longest `Retry-After` honoured; a server asking for more fails the call instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (so `attempt` ≥ 1): a uniform random duration
    /// between half and all of `min(cap, base · 2^(attempt-1))`, so that parallel clients that
    /// failed together do not retry together, yet every wait still grows.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let spread = ceiling.saturating_sub(half).as_millis() as u64;
        half + Duration::from_millis(rand::random_range(0..=spread))
    }

    /// The upper bound of [`RetryPolicy::backoff`] for `attempt`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// What a failed attempt means for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after the backoff (or the server's `Retry-After`).
    Retry,
    /// Give up: the failure is permanent, or the call must not be repeated blindly.
    Fail,
}

/// Whether the server may have acted on a request that failed this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No connection was made: the request was never sent.
    NotSent,
    /// The request may have been sent and acted on (timeout, connection reset, lost answer).
    NoAnswer,
    /// The server answered with this status.
    Status(u16),
}

impl Failure {
    /// True when the server may or may not have carried the request out.
    pub fn ambiguous(self) -> bool {
        matches!(self, Failure::NoAnswer | Failure::Status(500 | 502 | 504))
    }

    fn transient(self) -> bool {
        matches!(
            self,
            Failure::NotSent | Failure::NoAnswer | Failure::Status(429 | 500 | 502 | 503 | 504)
        )
    }
}

/// Whether repeating `method` is harmless: GET, PUT, PATCH and DELETE (PATCH because kcform
/// always sends the full desired value, never a relative change). A POST creates.
pub fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Whether to retry a call after `failure`. A `repeatable` call is retried after any transient
/// failure; any other only when the server certainly did nothing.
pub fn verdict(repeatable: bool, failure: Failure) -> Verdict {
    if !failure.transient() {
        return Verdict::Fail;
    }
    let not_acted_on = matches!(failure, Failure::NotSent | Failure::Status(429 | 503));
    if repeatable || not_acted_on {
        Verdict::Retry
    } else {
        Verdict::Fail
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3). A date in the past
/// means "now".
pub fn parse_retry_after(value: &HeaderValue, now: OffsetDateTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(text, format)
        .ok()?
        .assume_utc();
    let delta = at - now;
    Some(if delta.is_negative() {
        Duration::ZERO
    } else {
        Duration::try_from(delta).ok()?
    })
}

/// Why a timeout or attempt count from the environment cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TuningError {
    /// The timeout does not parse or is zero.
    #[error("{TIMEOUT_ENV}=`{0}` is not a duration such as `30s`, `500ms` or `2m`")]
    Timeout(String),
    /// The attempt count does not parse or is out of range.
    #[error("{ATTEMPTS_ENV}=`{0}` must be a whole number from 1 to 20")]
    Attempts(String),
}

/// The units a timeout may be written in: `ms`, `s`, `m`, `h`, e.g. `30s`.
const TIMEOUT_UNITS: [crate::duration::Unit; 4] = [
    crate::duration::Unit {
        suffix: "ms",
        length: Duration::from_millis(1),
    },
    crate::duration::Unit {
        suffix: "s",
        length: Duration::from_secs(1),
    },
    crate::duration::Unit {
        suffix: "m",
        length: Duration::from_secs(60),
    },
    crate::duration::Unit {
        suffix: "h",
        length: Duration::from_secs(3600),
    },
];

/// Parses a timeout written as a whole number and a unit (`ms`, `s`, `m`, `h`), e.g. `30s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    crate::duration::parse(text, &TIMEOUT_UNITS).ok()
}

/// A `KCFORM_HTTP_TIMEOUT` value: a non-zero duration in `ms`, `s`, `m` or `h`.
pub fn parse_timeout(text: &str) -> Result<Duration, TuningError> {
    parse_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| TuningError::Timeout(text.to_string()))
}

/// A `KCFORM_HTTP_ATTEMPTS` value: a whole number from 1 to 20.
pub fn parse_attempts(text: &str) -> Result<u32, TuningError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=20).contains(n))
        .ok_or_else(|| TuningError::Attempts(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap_with_jitter() {
        let policy = RetryPolicy {
            attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(60),
        };
        assert_eq!(policy.ceiling(1), Duration::from_millis(100));
        assert_eq!(policy.ceiling(2), Duration::from_millis(200));
        assert_eq!(policy.ceiling(4), Duration::from_millis(800));
        assert_eq!(policy.ceiling(5), Duration::from_millis(1000));
        assert_eq!(policy.ceiling(60), Duration::from_millis(1000));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let wait = policy.backoff(3);
            assert!(wait >= Duration::from_millis(200) && wait <= Duration::from_millis(400));
            seen.insert(wait);
        }
        assert!(seen.len() > 10, "the wait must be jittered");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = time::macros::datetime!(2026-01-01 00:00:00 UTC);
        let header = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(
            parse_retry_after(&header("3"), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(parse_retry_after(&header(" 0 "), now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(&header("Thu, 01 Jan 2026 00:00:07 GMT"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(&header("Wed, 31 Dec 2025 23:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(&header("soon"), now), None);
        assert_eq!(parse_retry_after(&header("-1"), now), None);
    }

    #[test]
    fn only_calls_that_are_safe_to_repeat_are_retried() {
        use Failure::*;
        for method in [Method::GET, Method::DELETE, Method::PATCH] {
            for failure in [NotSent, NoAnswer, Status(429), Status(500), Status(503)] {
                assert_eq!(
                    verdict(idempotent(&method), failure),
                    Verdict::Retry,
                    "{method} {failure:?}"
                );
            }
            for status in [400, 401, 403, 404, 409] {
                assert_eq!(verdict(idempotent(&method), Status(status)), Verdict::Fail);
            }
        }
        assert!(!idempotent(&Method::POST));
        for failure in [NotSent, Status(429), Status(503)] {
            assert_eq!(verdict(false, failure), Verdict::Retry);
        }
        for failure in [NoAnswer, Status(500), Status(502), Status(504), Status(409)] {
            assert_eq!(verdict(false, failure), Verdict::Fail);
        }
        assert!(NoAnswer.ambiguous() && Status(502).ambiguous());
        assert!(!NotSent.ambiguous() && !Status(503).ambiguous());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("1d"), None);
        assert_eq!(parse_duration("s"), None);
    }
}
