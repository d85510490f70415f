//! Settings: the command line and the environment turned into plain values before any work
//! starts (colors, credentials, endpoint override, the clock, HTTP tuning, the state backends'
//! user, host and S3 endpoint). This is the only place that reads the environment; the
//! variables are the table of [`crate::env`] (docs/design.md#environment). Commands never read
//! clap structs themselves.

use std::io::IsTerminal as _;

use time::OffsetDateTime;

use crate::cloud::Credential;
use crate::secret::Secret;

pub use crate::env::{
    CREDENTIAL_ID as CREDENTIAL_ID_ENV, CREDENTIAL_SECRET as CREDENTIAL_SECRET_ENV,
    ENDPOINT as ENDPOINT_ENV, NOW as NOW_ENV,
};

/// Settings shared by every command.
#[derive(Debug, Clone)]
pub struct GlobalSettings {
    /// Color stdout.
    pub color_stdout: bool,
    /// Color stderr.
    pub color_stderr: bool,
    /// The credential from the environment, if set.
    pub credential: Option<Credential>,
    /// `KCFORM_ENDPOINT`.
    pub endpoint_override: Option<String>,
    /// The time plans are made at.
    pub now: OffsetDateTime,
    /// stdin is a terminal (apply may ask for `yes`).
    pub interactive: bool,
    /// `GITHUB_STEP_SUMMARY`: a file `plan` appends its markdown to.
    pub step_summary: Option<std::path::PathBuf>,
    /// Running under CI (`CI=true` or `GITHUB_ACTIONS=true`), where a runner's files do not
    /// outlive the run.
    pub in_ci: bool,
    /// `KCFORM_HTTP_TIMEOUT`: the timeout of one request, when set.
    pub http_timeout: Option<std::time::Duration>,
    /// `KCFORM_HTTP_ATTEMPTS`: attempts per call, when set.
    pub http_attempts: Option<u32>,
    /// What the state backends need: the lock holder's user and host, the S3 endpoint.
    pub state: crate::state::StateSettings,
}

/// Why the environment cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Only one of the two credential variables is set.
    #[error(
        "`{set}` is set but `{missing}` is not\nhint: set both to an access key's ID and secret, or neither"
    )]
    HalfCredential {
        /// The one that is set.
        set: &'static str,
        /// The one that is missing.
        missing: &'static str,
    },
    /// `KCFORM_NOW` is not RFC 3339.
    #[error(
        "`{NOW_ENV}` is `{0}`, which is not an RFC 3339 time\nhint: e.g. `{NOW_ENV}=2026-11-27T10:00:00Z`, or unset it to use the real clock"
    )]
    BadNow(String),
    /// `KCFORM_HTTP_TIMEOUT` or `KCFORM_HTTP_ATTEMPTS` is invalid.
    #[error(transparent)]
    Tuning(#[from] crate::cloud::retry::TuningError),
}

impl GlobalSettings {
    /// Reads the environment.
    pub fn from_env(no_color: bool) -> Result<GlobalSettings, SettingsError> {
        use crate::env;
        let color_allowed = !no_color && env::get(env::NO_COLOR).is_none();
        let var = env::get;
        let credential = match (var(CREDENTIAL_ID_ENV), var(CREDENTIAL_SECRET_ENV)) {
            (Some(id), Some(secret)) => Some(Credential {
                id,
                secret: Secret::new(secret),
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(SettingsError::HalfCredential {
                    set: CREDENTIAL_ID_ENV,
                    missing: CREDENTIAL_SECRET_ENV,
                });
            }
            (None, Some(_)) => {
                return Err(SettingsError::HalfCredential {
                    set: CREDENTIAL_SECRET_ENV,
                    missing: CREDENTIAL_ID_ENV,
                });
            }
        };
        let now = match var(NOW_ENV) {
            Some(text) => {
                OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| SettingsError::BadNow(text))?
            }
            None => OffsetDateTime::now_utc(),
        };
        Ok(GlobalSettings {
            color_stdout: color_allowed && std::io::stdout().is_terminal(),
            color_stderr: color_allowed && std::io::stderr().is_terminal(),
            credential,
            endpoint_override: var(ENDPOINT_ENV),
            now,
            interactive: std::io::stdin().is_terminal(),
            step_summary: var(env::STEP_SUMMARY).map(std::path::PathBuf::from),
            in_ci: [env::CI, env::GITHUB_ACTIONS]
                .iter()
                .any(|name| var(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))),
            http_timeout: var(env::HTTP_TIMEOUT)
                .map(|text| crate::cloud::retry::parse_timeout(&text))
                .transpose()?,
            http_attempts: var(env::HTTP_ATTEMPTS)
                .map(|text| crate::cloud::retry::parse_attempts(&text))
                .transpose()?,
            state: crate::state::StateSettings {
                user: env::first(&env::USER).unwrap_or_else(|| "unknown".to_string()),
                host: hostname(),
                s3_endpoint: env::first(&env::S3_ENDPOINT),
            },
        })
    }
}

/// The machine's name: the kernel's, else `HOSTNAME`, else `unknown`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| crate::env::get(crate::env::HOSTNAME))
        .unwrap_or_else(|| "unknown".to_string())
}
