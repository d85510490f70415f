//! Every environment variable kcform reads or sets, in one table. Only the settings layer
//! (`crate::settings`) reads them, once, before any work starts; the values then travel as
//! settings. The S3 client library reads its own `AWS_*` credentials (see [`AWS_LIBRARY`]).
//! `docs/design.md#environment` is the same table in prose; a test keeps the two in step.

/// One variable: its name and what it means.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    /// The variable's name.
    pub name: &'static str,
    /// What it does.
    pub meaning: &'static str,
}

/// The access key's ID kcform uses.
pub const CREDENTIAL_ID: &str = "KAKAOCLOUD_APPLICATION_CREDENTIAL_ID";
/// The access key's secret kcform uses.
pub const CREDENTIAL_SECRET: &str = "KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET";
/// Overrides `provider.endpoint` (`emulator` or a URL).
pub const ENDPOINT: &str = "KCFORM_ENDPOINT";
/// Pins the plan's clock (RFC 3339), for tests.
pub const NOW: &str = "KCFORM_NOW";
/// Timeout of one request (`30s`; units `ms`, `s`, `m`, `h`).
pub const HTTP_TIMEOUT: &str = "KCFORM_HTTP_TIMEOUT";
/// Attempts per call, 1 to 20.
pub const HTTP_ATTEMPTS: &str = "KCFORM_HTTP_ATTEMPTS";
/// Set (to anything but empty): no colors.
pub const NO_COLOR: &str = "NO_COLOR";
/// GitHub Actions' job summary file, which `plan` appends its markdown to.
pub const STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
/// `true`: running under CI.
pub const CI: &str = "CI";
/// `true`: running under GitHub Actions.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// Who takes a lock, first set of these.
pub const USER: [&str; 3] = ["USER", "USERNAME", "LOGNAME"];
/// Where a lock is taken, when `/proc/sys/kernel/hostname` does not say.
pub const HOSTNAME: &str = "HOSTNAME";
/// The S3 backend's endpoint, first set of these (for S3-compatible stores).
pub const S3_ENDPOINT: [&str; 2] = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"];
/// Read by the S3 client library itself, for the S3 backend.
pub const AWS_LIBRARY: &str = "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION and the other AWS_* variables";

/// Set by kcform for a `[secrets] command`, with the placeholder each mirrors.
pub const FOR_SECRETS_COMMAND: [(&str, &str); 5] = [
    ("KCFORM_ADDRESS", "address"),
    ("KCFORM_PROJECT", "project"),
    ("KCFORM_SERVICE_ACCOUNT", "service_account"),
    ("KCFORM_ACCESS_KEY", "access_key"),
    ("KCFORM_ACCESS_KEY_ID", "access_key_id"),
];

/// Every variable kcform reads, in the order the documentation lists them.
pub const READ: [EnvVar; 15] = [
    EnvVar {
        name: CREDENTIAL_ID,
        meaning: "the access key's ID kcform uses",
    },
    EnvVar {
        name: CREDENTIAL_SECRET,
        meaning: "the access key's secret kcform uses",
    },
    EnvVar {
        name: ENDPOINT,
        meaning: "overrides provider.endpoint (emulator or a URL)",
    },
    EnvVar {
        name: NOW,
        meaning: "pins the plan's clock (RFC 3339), for tests",
    },
    EnvVar {
        name: HTTP_TIMEOUT,
        meaning: "timeout of one request (30s; ms, s, m, h)",
    },
    EnvVar {
        name: HTTP_ATTEMPTS,
        meaning: "attempts per call, 1 to 20 (default 5)",
    },
    EnvVar {
        name: NO_COLOR,
        meaning: "no colors",
    },
    EnvVar {
        name: STEP_SUMMARY,
        meaning: "file plan appends its markdown to",
    },
    EnvVar {
        name: CI,
        meaning: "true: running under CI",
    },
    EnvVar {
        name: GITHUB_ACTIONS,
        meaning: "true: running under GitHub Actions",
    },
    EnvVar {
        name: USER[0],
        meaning: "who takes a lock (then USERNAME, LOGNAME)",
    },
    EnvVar {
        name: USER[1],
        meaning: "who takes a lock, when USER is not set",
    },
    EnvVar {
        name: USER[2],
        meaning: "who takes a lock, when USER and USERNAME are not set",
    },
    EnvVar {
        name: HOSTNAME,
        meaning: "where a lock is taken, when /proc/sys/kernel/hostname does not say",
    },
    EnvVar {
        name: S3_ENDPOINT[0],
        meaning: "the S3 backend's endpoint (then AWS_ENDPOINT_URL)",
    },
];

/// The variable `name`, when set and not empty.
pub(crate) fn get(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The first of `names` that is set and not empty.
pub(crate) fn first(names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| get(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_design_document_lists_every_variable() {
        let design = include_str!("../docs/design.md");
        let section = design
            .split_once("## Environment")
            .map(|(_, rest)| rest)
            .expect("design.md has an Environment section");
        let section = section.split_once("\n## ").map_or(section, |(s, _)| s);
        let names = READ
            .iter()
            .map(|v| v.name)
            .chain(S3_ENDPOINT)
            .chain(FOR_SECRETS_COMMAND.map(|(name, _)| name));
        for name in names {
            assert!(
                section.contains(&format!("`{name}`")),
                "docs/design.md#environment does not list `{name}`"
            );
        }
    }
}
