//! The rules on single values (endpoint URLs, lock backends, `parallelism`) and on the merged
//! configuration (service-account and key counts, keys of inactive service accounts). Name and
//! length rules come from `crate::limits`; this module only words them for configuration.

use crate::limits::{MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT, MAX_SERVICE_ACCOUNTS_PER_PROJECT};
use crate::model::{Endpoint, LockBackend, Status};

use super::diagnostic::Problem;
use super::parse::ProjectFrag;

pub(crate) use crate::limits::MAX_PARALLELISM;

/// A refused value: what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub message: String,
    pub help: Option<String>,
}

fn reject(message: String, help: Option<&str>) -> Rejection {
    Rejection {
        message,
        help: help.map(str::to_string),
    }
}

/// `provider.endpoint`: `"emulator"`, or a URL by the one rule of [`crate::endpoint`]
/// (`https://`, or `http://` to a loopback address), normalized so that API paths can be
/// appended.
pub(crate) fn endpoint(text: &str) -> Result<Endpoint, Rejection> {
    use crate::endpoint::EndpointError;
    if text == "emulator" {
        return Ok(Endpoint::Emulator);
    }
    let url_help = Some("use `\"emulator\"` or a URL such as `\"https://iam.kakaocloud.com\"`");
    let shown = text.escape_debug();
    crate::endpoint::parse(text)
        .map(Endpoint::Url)
        .map_err(|error| match error {
            EndpointError::NotUrl => reject(
                format!("endpoint `{shown}` is neither `emulator` nor a URL"),
                url_help,
            ),
            EndpointError::Credentials => reject(
                format!("endpoint `{shown}` contains credentials"),
                Some(
                    "credentials never live in configuration; set KAKAOCLOUD_APPLICATION_CREDENTIAL_ID and KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET",
                ),
            ),
            EndpointError::PlainHttp => reject(
                format!("endpoint `{shown}` {error}"),
                Some(
                    "tokens and secrets would cross the network unencrypted; use `https://` (plain `http://` is accepted only for localhost, 127.0.0.0/8 and [::1])",
                ),
            ),
            other => reject(format!("endpoint `{shown}` {other}"), url_help),
        })
}

/// `lock.backend`: `"local"` or `"s3://bucket/prefix"` (bucket required, prefix optional).
pub(crate) fn lock_backend(text: &str) -> Result<LockBackend, Rejection> {
    let help = Some("use `\"local\"` or `\"s3://<bucket>/<prefix>\"`");
    if text == "local" {
        return Ok(LockBackend::Local);
    }
    let Some(rest) = text.strip_prefix("s3://") else {
        return Err(reject(
            format!("lock backend `{text}` is neither `local` nor an `s3://` URL"),
            help,
        ));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(reject(format!("lock backend `{text}` has no bucket"), help));
    }
    if !bucket
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(reject(
            format!(
                "lock backend `{text}`: bucket `{bucket}` may contain only letters, digits, `-`, `.` and `_`"
            ),
            help,
        ));
    }
    if prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(reject(
            format!(
                "lock backend `{}`: the prefix contains whitespace",
                text.escape_debug()
            ),
            help,
        ));
    }
    Ok(LockBackend::S3 {
        bucket: bucket.to_string(),
        prefix: prefix.trim_matches('/').to_string(),
    })
}

/// Counts (per project and per service account, in declaration order) and keys declared under
/// inactive service accounts.
pub(crate) fn check_merged(projects: &[&ProjectFrag], problems: &mut Vec<Problem>) {
    for project in projects {
        let mut accounts: Vec<_> = project.service_accounts.values().collect();
        accounts.sort_by_key(|sa| sa.origin.order());
        if let Some(over) = accounts.get(MAX_SERVICE_ACCOUNTS_PER_PROJECT) {
            problems.push(
                Problem::at(
                    over.key.clone(),
                    format!(
                        "project `{}` declares {} service accounts; at most {MAX_SERVICE_ACCOUNTS_PER_PROJECT} are allowed per project",
                        project.name,
                        accounts.len()
                    ),
                )
                .label(format!("service account number {} is here", MAX_SERVICE_ACCOUNTS_PER_PROJECT + 1))
                .help("the limit counts inactive service accounts too"),
            );
        }
        for sa in accounts {
            let mut keys: Vec<_> = sa.access_keys.values().collect();
            keys.sort_by_key(|key| key.origin.order());
            if let Some(over) = keys.get(MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT) {
                problems.push(
                    Problem::at(
                        over.key.clone(),
                        format!(
                            "service account `{}/{}` declares {} access keys; at most {MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT} are allowed per service account",
                            project.name,
                            sa.name,
                            keys.len()
                        ),
                    )
                    .label(format!("access key number {} is here", MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT + 1)),
                );
            }
            if let Some((Status::Inactive, status_loc)) = &sa.status {
                for key in keys {
                    problems.push(
                        Problem::at(
                            key.key.clone(),
                            format!(
                                "access key `{}/{}/{}` is declared on an inactive service account",
                                project.name, sa.name, key.name
                            ),
                        )
                        .label("an inactive service account cannot have access keys")
                        .related(status_loc.clone(), "the service account is set inactive here")
                        .help("deactivating a service account immediately expires all its access keys and tokens; remove the key or set `status = \"active\"`"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Endpoint {
        Endpoint::Url(s.into())
    }

    #[test]
    fn endpoints_accept_emulator_https_and_loopback_http() {
        assert_eq!(endpoint("emulator"), Ok(Endpoint::Emulator));
        assert_eq!(
            endpoint("https://iam.kakaocloud.com/"),
            Ok(url("https://iam.kakaocloud.com"))
        );
        assert_eq!(
            endpoint("HTTPS://iam.example.com:8443/base"),
            Ok(url("https://iam.example.com:8443/base"))
        );
        for ok in [
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://127.0.0.1:9000",
            "http://127.1.2.3",
            "http://[::1]:8080",
            "http://[::1]",
        ] {
            assert!(endpoint(ok).is_ok(), "{ok} refused");
        }
    }

    #[test]
    fn endpoints_refuse_remote_http_and_malformed_urls() {
        for bad in [
            "http://iam.kakaocloud.com",
            "http://10.0.0.1",
            "http://127.0.0.1.evil.com",
            "http://localhost.evil.com",
            "http://[::2]",
            "ftp://localhost",
            "iam.kakaocloud.com",
            "Emulator",
            "",
            "https://",
            "https://:443",
            "https://host:99999",
            "https://host:0",
            "https://host:abc",
            "https://user:pw@host",
            "https://ho st",
            "https://host?x=1",
            "https://[zz]",
        ] {
            assert!(endpoint(bad).is_err(), "{bad:?} accepted");
        }
        let plain = endpoint("http://iam.kakaocloud.com").unwrap_err();
        assert!(plain.message.contains("loopback"), "{plain:?}");
    }

    #[test]
    fn lock_backends() {
        assert_eq!(lock_backend("local"), Ok(LockBackend::Local));
        assert_eq!(
            lock_backend("s3://bucket/team/prod/"),
            Ok(LockBackend::S3 {
                bucket: "bucket".into(),
                prefix: "team/prod".into()
            })
        );
        assert_eq!(
            lock_backend("s3://bucket"),
            Ok(LockBackend::S3 {
                bucket: "bucket".into(),
                prefix: String::new()
            })
        );
        for bad in [
            "s3://",
            "s3:///prefix",
            "s3://bu cket/x",
            "S3",
            "gs://b/p",
            "Local",
            "",
        ] {
            assert!(lock_backend(bad).is_err(), "{bad:?} accepted");
        }
    }
}
