//! Token issue and validation, and the 401 every authenticated route gives without a token.

use reqwest::Method;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Harness, parse};
use crate::limits::TOKEN_LIFETIME_SECS;
use crate::wire::{AccessKeyCredential, TokenBody};

#[tokio::test]
async fn token_issue_by_id_answers_201_with_header_body_and_catalog() {
    let h = Harness::new().await;
    let cred = h.emu.admin_credential().clone();
    let answer = h.issue(&cred).await;
    let token: TokenBody = parse(answer.ok(201));
    let header = answer.subject_token.expect("X-Subject-Token");
    assert!(header.len() >= 32, "token too short: {header}");
    let t = token.token;
    assert_eq!(t.methods, ["application_credential"]);
    let issued = OffsetDateTime::parse(&t.issued_at, &Rfc3339).expect("issued_at is RFC 3339");
    let expires = OffsetDateTime::parse(&t.expires_at, &Rfc3339).expect("expires_at is RFC 3339");
    assert_eq!((expires - issued).whole_seconds(), TOKEN_LIFETIME_SECS);
    assert!(t.expires_at.ends_with('Z'));
    assert_eq!(
        t.application_credential.as_ref().map(|a| a.id.as_str()),
        Some(cred.id.as_str())
    );
    assert!(
        t.application_credential
            .as_ref()
            .is_some_and(|a| a.restricted)
    );
    assert!(
        t.roles.iter().any(|r| r.name == "org-admin"),
        "roles: {:?}",
        t.roles
    );
    assert!(t.user.domain.is_some() && t.user.id.is_some());
    // Like every Keystone token issued from an application credential, a person's is
    // scoped: the bootstrap Org Admin has no project role, so its key is bound to the
    // organization's own scope. Its user name is no service account's identity.
    let org = h
        .emu
        .state()
        .read(|db| db.organization())
        .expect("organization");
    assert_eq!(
        t.project.as_ref().map(|p| (p.id.as_str(), p.name.as_str())),
        Some((org.id.as_str(), org.name.as_str()))
    );
    assert!(
        crate::permissions::service_account_identity(t.user.name.as_deref().unwrap_or_default())
            .is_none()
    );
    assert_eq!(t.catalog.len(), 1);
    assert_eq!(t.catalog[0].kind, "identity");
    assert_eq!(t.catalog[0].endpoints.len(), 1);
    assert_eq!(
        t.catalog[0].endpoints[0].url,
        format!("{}/identity/v3", h.emu.base_url())
    );
    assert_eq!(t.catalog[0].endpoints[0].interface, "public");
}

#[tokio::test]
async fn token_issue_by_name_and_user_id_works_and_is_project_scoped() {
    let h = Harness::new().await;
    let (project, sa, _) = h.fixture().await;
    let key = h.create_key(&sa.id, "by-name").await;
    let body = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"name": "by-name", "secret": key.secret, "user": {"id": sa.id}}}}});
    let answer = h
        .call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
        .await;
    let token: TokenBody = parse(answer.ok(201));
    assert_eq!(token.token.user.id.as_deref(), Some(sa.id.as_str()));
    let scope = token
        .token
        .project
        .expect("service-account token is project-scoped");
    assert_eq!(
        (scope.id.as_str(), scope.name.as_str()),
        (project.id.as_str(), "analytics")
    );
    // Its user name is its identity, which is what tells it from a person's token.
    assert_eq!(
        token.token.user.name,
        Some(format!("{}-{}@kc.serviceaccount.com", sa.name, project.id))
    );
    assert_eq!(
        token
            .token
            .project_roles
            .get("analytics")
            .map(String::as_str),
        Some("project-member")
    );
    assert_eq!(
        token.token.application_credential.map(|a| a.id),
        Some(key.id)
    );

    // Name auth without the user is a malformed request, not a wrong credential.
    let body = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"name": "by-name", "secret": "x"}}}});
    h.call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
        .await
        .error(400);
}

#[tokio::test]
async fn wrong_secret_or_unknown_name_is_401_and_unknown_id_404() {
    let h = Harness::new().await;
    let mut cred = h.emu.admin_credential().clone();
    cred.secret.push('x');
    let msg = h.issue(&cred).await.error(401);
    assert!(msg.contains("invalid"), "{msg}");
    let unknown = AccessKeyCredential {
        id: "0".repeat(32),
        secret: "s".into(),
    };
    // Keystone's answer to an unknown ID.
    assert_eq!(
        h.issue(&unknown).await.error(404),
        format!("Could not find Application Credential: {}.", unknown.id)
    );
    let (_, sa, key) = h.fixture().await;
    let body = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"name": "ci", "secret": "wrong", "user": {"id": sa.id}}}}});
    h.call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
        .await
        .error(401);
    assert!(h.issue(&key).await.status.is_success());
}

#[tokio::test]
async fn token_request_without_application_credential_method_is_400() {
    let h = Harness::new().await;
    let body =
        json!({"auth": {"identity": {"methods": ["password"], "application_credential": null}}});
    let msg = h
        .call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
        .await
        .error(400);
    assert!(msg.contains("application_credential"), "{msg}");
    let body = json!({"auth": {"identity": {"methods": ["application_credential"]}}});
    h.call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
        .await
        .error(400);
}

#[tokio::test]
async fn validate_returns_the_subject_token_body_or_404() {
    let h = Harness::new().await;
    let (_, _, cred) = h.fixture().await;
    let issued = h.issue(&cred).await;
    let subject = issued.subject_token.clone().expect("token");
    let resp = h
        .http
        .get(h.url("/identity/v3/auth/tokens"))
        .header("X-Auth-Token", &h.admin)
        .header("X-Subject-Token", &subject)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body, issued.body, "validation shows the issued token body");

    let resp = h
        .http
        .get(h.url("/identity/v3/auth/tokens"))
        .header("X-Auth-Token", &h.admin)
        .header("X-Subject-Token", "not-a-token")
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 404);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], 404);

    // Validation itself needs a token.
    let resp = h
        .http
        .get(h.url("/identity/v3/auth/tokens"))
        .header("X-Subject-Token", &subject)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn every_identity_route_needs_a_valid_token() {
    let h = Harness::new().await;
    let (project, sa, cred) = h.fixture().await;
    let (p, u, k) = (&project.id, &sa.id, &cred.id);
    let routes = [
        (Method::GET, "/identity/v3/auth/tokens".to_string()),
        (Method::GET, "/identity/v3/projects".to_string()),
        (Method::POST, "/identity/v3/projects".to_string()),
        (Method::GET, format!("/identity/v3/projects/{p}")),
        (Method::PATCH, format!("/identity/v3/projects/{p}")),
        (Method::DELETE, format!("/identity/v3/projects/{p}")),
        (
            Method::GET,
            format!("/identity/v3/projects/{p}/service_accounts"),
        ),
        (
            Method::POST,
            format!("/identity/v3/projects/{p}/service_accounts"),
        ),
        (
            Method::GET,
            format!("/identity/v3/projects/{p}/service_accounts/{u}"),
        ),
        (
            Method::PATCH,
            format!("/identity/v3/projects/{p}/service_accounts/{u}"),
        ),
        (
            Method::DELETE,
            format!("/identity/v3/projects/{p}/service_accounts/{u}"),
        ),
        (
            Method::GET,
            format!("/identity/v3/projects/{p}/service_agents"),
        ),
        (
            Method::POST,
            format!("/identity/v3/projects/{p}/service_agents"),
        ),
        (
            Method::GET,
            format!("/identity/v3/projects/{p}/application_credentials"),
        ),
        (
            Method::GET,
            format!("/identity/v3/users/{u}/application_credentials"),
        ),
        (
            Method::POST,
            format!("/identity/v3/users/{u}/application_credentials"),
        ),
        (
            Method::GET,
            format!("/identity/v3/users/{u}/application_credentials/{k}"),
        ),
        (
            Method::DELETE,
            format!("/identity/v3/users/{u}/application_credentials/{k}"),
        ),
        (
            Method::PATCH,
            format!("/identity/v3/users/{u}/application_credentials/{k}"),
        ),
    ];
    for (method, path) in routes {
        let body = (method == Method::POST || method == Method::PATCH).then(|| json!({}));
        let none = h.call(method.clone(), &path, None, body.clone()).await;
        let msg = none.error(401);
        assert!(msg.contains("X-Auth-Token"), "{method} {path}: {msg}");
        let bad = h.call(method.clone(), &path, Some("bogus"), body).await;
        bad.error(401);
    }
    // Nothing was changed by the refused calls.
    let listed = h.get(&super::keys_path(u)).await;
    assert_eq!(
        listed.ok(200)["application_credentials"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn version_documents_need_no_token() {
    let h = Harness::new().await;
    let v3 = h.call(Method::GET, "/identity/v3", None, None).await;
    assert_eq!(v3.ok(200)["version"]["status"], "stable");
    let href = v3.body["version"]["links"][0]["href"]
        .as_str()
        .unwrap_or_default();
    assert!(href.starts_with(&h.emu.base_url()), "{href}");
    for path in ["/identity", "/identity/"] {
        // Keystone answers its version list with 300 Multiple Choices and a `Location`.
        let resp = h.http.get(h.url(path)).send().await.expect("answered");
        assert_eq!(resp.status().as_u16(), 300, "{path}");
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        assert_eq!(
            location,
            Some(format!("{}/identity/v3/", h.emu.base_url())),
            "{path}"
        );
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["versions"]["values"][0]["status"], "stable", "{path}");
    }
}

/// `method /identity/v3/auth/tokens` with `X-Auth-Token: token` and, when given,
/// `X-Subject-Token: subject`: the status and the JSON body (`Null` when empty).
async fn with_subject(
    h: &Harness,
    method: Method,
    token: &str,
    subject: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut req = h
        .http
        .request(method, h.url("/identity/v3/auth/tokens"))
        .header("X-Auth-Token", token);
    if let Some(subject) = subject {
        req = req.header("X-Subject-Token", subject);
    }
    let resp = req.send().await.expect("answered");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (status, body)
}

#[tokio::test]
async fn validation_needs_a_subject_and_another_users_token_needs_an_org_role() {
    let h = Harness::new().await;
    let (_, _, cred) = h.fixture().await;
    let own = h.token(&cred).await;
    // Keystone answers 403 without X-Subject-Token: its policy has no token to check.
    let (status, body) = with_subject(&h, Method::GET, &own, None).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!(403)),
        "{body}"
    );
    // A service account validates its own token, not the Org Admin's.
    let (status, _) = with_subject(&h, Method::GET, &own, Some(&own)).await;
    assert_eq!(status, 200);
    let (status, body) = with_subject(&h, Method::GET, &own, Some(&h.admin)).await;
    assert_eq!(status, 403, "{body}");
    // An organization role validates anyone's; Org Reader included.
    let reader = h
        .user_token(json!({"name": "auditor", "org_role": "org-reader"}))
        .await;
    let (status, _) = with_subject(&h, Method::GET, &reader, Some(&own)).await;
    assert_eq!(status, 200);
    let (status, _) = with_subject(&h, Method::GET, &h.admin, Some(&own)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn delete_revokes_the_subject_token_at_once() {
    let h = Harness::new().await;
    let (_, sa, cred) = h.fixture().await;
    let own = h.token(&cred).await;
    let doomed = h.token(&cred).await;
    let (status, _) = with_subject(&h, Method::DELETE, &own, None).await;
    assert_eq!(status, 403, "revoking needs X-Subject-Token");
    let (status, _) = with_subject(&h, Method::DELETE, &own, Some("not-a-token")).await;
    assert_eq!(status, 404);
    // A service account may not revoke the Org Admin's token; nothing changes.
    let (status, _) = with_subject(&h, Method::DELETE, &own, Some(&h.admin)).await;
    assert_eq!(status, 403);
    h.get("/identity/v3/projects").await.ok(200);

    let (status, body) = with_subject(&h, Method::DELETE, &own, Some(&doomed)).await;
    assert_eq!((status, body), (204, serde_json::Value::Null));
    let (status, _) = with_subject(&h, Method::GET, &own, Some(&doomed)).await;
    assert_eq!(status, 404, "a revoked token does not validate");
    h.call(Method::GET, &super::keys_path(&sa.id), Some(&doomed), None)
        .await
        .error(401);
    let (status, _) = with_subject(&h, Method::DELETE, &own, Some(&doomed)).await;
    assert_eq!(status, 404, "already revoked");
    // Only that token: the key and its other tokens still work.
    h.call(Method::GET, &super::keys_path(&sa.id), Some(&own), None)
        .await
        .ok(200);
    h.token(&cred).await;
    // The Org Admin revokes anyone's token.
    let (status, _) = with_subject(&h, Method::DELETE, &h.admin, Some(&own)).await;
    assert_eq!(status, 204);
    h.call(Method::GET, &super::keys_path(&sa.id), Some(&own), None)
        .await
        .error(401);
}

#[tokio::test]
async fn a_persons_token_is_scoped_to_the_first_project_it_has_a_role_in() {
    let h = Harness::new().await;
    let analytics = h.create_project("analytics").await;
    h.create_project("web").await;
    let answer = h
        .call(
            Method::POST,
            "/_emulator/users",
            None,
            Some(json!({"name": "lead", "project_roles":
                {"web": "project-admin", "analytics": "project-reader"}})),
        )
        .await;
    let user: crate::wire::EmulatorUser = parse(answer.ok(201));
    let token: TokenBody = parse(h.issue(&user.access_key).await.ok(201));
    let scope = token.token.project.expect("a person's token is scoped too");
    assert_eq!(
        (scope.id.as_str(), scope.name.as_str()),
        (analytics.id.as_str(), "analytics")
    );
    assert_eq!(token.token.user.name.as_deref(), Some("lead"));
}
