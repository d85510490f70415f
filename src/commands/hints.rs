//! Hints for the common errors whose fix is known but that the module raising them cannot word
//! (it does not know where the endpoint or credential came from): a missing or rejected
//! credential, an unreachable endpoint, a refused `http://` endpoint.

use crate::cloud::CloudError;
use crate::connection::ConnectionError;
use crate::pipeline::PipelineError;
use crate::settings::{CREDENTIAL_ID_ENV, CREDENTIAL_SECRET_ENV, ENDPOINT_ENV};

/// The `hint:` line for `error`, unless its message already carries one.
pub(crate) fn hint_for(error: &anyhow::Error) -> Option<String> {
    if format!("{error:#}").contains("\nhint: ") {
        return None;
    }
    error.chain().find_map(|cause| {
        if let Some(connection) = cause.downcast_ref::<ConnectionError>() {
            return connection_hint(connection);
        }
        // `transparent`: the connection error is not a separate link of the chain.
        if let Some(PipelineError::Connection(connection)) = cause.downcast_ref::<PipelineError>() {
            return connection_hint(connection);
        }
        cloud_hint(cause.downcast_ref::<CloudError>()?)
    })
}

fn connection_hint(error: &ConnectionError) -> Option<String> {
    match error {
        ConnectionError::NoCredential => Some(format!(
            "to try kcform without a KakaoCloud account, use the built-in emulator: `endpoint = \"emulator\"` in `[provider]`, or `{ENDPOINT_ENV}=emulator`"
        )),
        // `transparent`: the inner error is not a separate link of the chain.
        ConnectionError::Cloud(inner) => cloud_hint(inner),
        ConnectionError::Emulator(_) => None,
    }
}

fn cloud_hint(error: &CloudError) -> Option<String> {
    match error {
        CloudError::Transport { .. } => Some(format!(
            "check the endpoint (`provider.endpoint`, or `{ENDPOINT_ENV}`, which overrides it) and the network; `endpoint = \"emulator\"` runs the built-in emulator"
        )),
        CloudError::Endpoint { endpoint, .. } if endpoint.starts_with("http://") => Some(format!(
            "use `https://`; plain `http://` is accepted only for localhost, 127.0.0.0/8 and [::1] (check `{ENDPOINT_ENV}` and `provider.endpoint`)"
        )),
        error if error.is_credential_refused() => Some(format!(
            "the access key in `{CREDENTIAL_ID_ENV}` and `{CREDENTIAL_SECRET_ENV}` was refused: check both values, and that the key was not deleted or its service account deactivated"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_errors_get_one_hint() {
        let missing = anyhow::Error::from(ConnectionError::NoCredential);
        assert!(hint_for(&missing).unwrap().contains("built-in emulator"));
        let unreachable = anyhow::Error::from(CloudError::Transport {
            method: "POST".into(),
            path: "/identity/v3/auth/tokens".into(),
            endpoint: "https://iam.example.com".into(),
            detail: "connection refused".into(),
            maybe_sent: false,
        })
        .context("cannot authenticate with the access key");
        assert!(
            hint_for(&unreachable)
                .unwrap()
                .contains("check the endpoint")
        );
        let hinted = anyhow::anyhow!("something\nhint: do this");
        assert_eq!(hint_for(&hinted), None);
        assert_eq!(hint_for(&anyhow::anyhow!("other")), None);
        let http = anyhow::Error::from(ConnectionError::Cloud(CloudError::Endpoint {
            endpoint: "http://iam.example.com".into(),
            reason: "plain http".into(),
        }));
        assert!(hint_for(&http).unwrap().starts_with("use `https://`"));
        let api = |status: u16, path: &str, message: &str| {
            anyhow::Error::from(CloudError::Api {
                method: "POST".into(),
                path: path.into(),
                status,
                title: "Not Found".into(),
                message: message.into(),
            })
        };
        let refused = "the access key in `KAKAOCLOUD_APPLICATION_CREDENTIAL_ID`";
        for error in [
            api(401, "/identity/v3/auth/tokens", "requires authentication"),
            // Keystone's answer for a deleted or unknown credential ID.
            api(
                404,
                "/identity/v3/auth/tokens",
                "Could not find Application Credential: 0123.",
            ),
        ] {
            assert!(hint_for(&error).unwrap().contains(refused), "{error}");
        }
        // Another key's 404 says nothing about kcform's own credential.
        let other = api(
            404,
            "/identity/v3/users/u/application_credentials/k",
            "Could not find Application Credential: k.",
        );
        assert_eq!(hint_for(&other), None);
    }
}
