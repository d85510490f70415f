//! Settings: the command line and the environment turned into plain values before any work
//! starts (colors, credentials, endpoint override, the clock). Commands never read clap
//! structs themselves; what else reads the environment is in docs/design.md#environment.

use std::io::IsTerminal as _;

use time::OffsetDateTime;

use crate::cloud::Credential;
use crate::secret::Secret;

/// Environment variable of the access key ID (the official Terraform provider's name).
pub const CREDENTIAL_ID_ENV: &str = "KAKAOCLOUD_APPLICATION_CREDENTIAL_ID";
/// Environment variable of the access key secret.
pub const CREDENTIAL_SECRET_ENV: &str = "KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET";
/// Overrides `provider.endpoint`.
pub const ENDPOINT_ENV: &str = "KCFORM_ENDPOINT";
/// GitHub Actions' job summary file.
pub const STEP_SUMMARY_ENV: &str = "GITHUB_STEP_SUMMARY";
/// Pins the clock (RFC 3339) so `max_age` can be tested.
pub const NOW_ENV: &str = "KCFORM_NOW";

/// Variables that say kcform runs under CI.
pub const CI_ENVS: [&str; 2] = ["CI", "GITHUB_ACTIONS"];

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
}

impl GlobalSettings {
    /// Reads the environment.
    pub fn from_env(no_color: bool) -> Result<GlobalSettings, SettingsError> {
        let color_allowed = !no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
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
            step_summary: var(STEP_SUMMARY_ENV).map(std::path::PathBuf::from),
            in_ci: CI_ENVS
                .iter()
                .any(|name| var(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))),
        })
    }
}
