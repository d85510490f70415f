//! The docs/design.md#roles matrix: Org Reader, Project Admin/Member/Reader, and a service
//! account's own token (Project Member plus extra restrictions); `POST /_emulator/users`.

use reqwest::Method;
use serde_json::json;

use super::{Harness, keys_path, parse, sa_path};
use crate::wire::ProjectList;

/// Lists the project names visible to `token`.
async fn visible(h: &Harness, token: &str) -> Vec<String> {
    let answer = h
        .call(Method::GET, "/identity/v3/projects", Some(token), None)
        .await;
    let list: ProjectList = parse(answer.ok(200));
    list.projects.into_iter().map(|p| p.name).collect()
}

#[tokio::test]
async fn org_reader_sees_everything_and_changes_nothing() {
    let h = Harness::new().await;
    let (p, sa, cred) = h.fixture().await;
    h.create_project("other").await;
    let reader = h
        .user_token(json!({"name": "auditor", "org_role": "org-reader"}))
        .await;
    assert_eq!(visible(&h, &reader).await, ["analytics", "other"]);
    let call = |m: Method, path: String, body: Option<serde_json::Value>| {
        let reader = reader.clone();
        let h = &h;
        async move { h.call(m, &path, Some(&reader), body).await }
    };
    call(Method::GET, sa_path(&p.id), None).await.ok(200);
    call(Method::GET, keys_path(&sa.id), None).await.ok(200);
    call(
        Method::GET,
        format!("/identity/v3/projects/{}/application_credentials", p.id),
        None,
    )
    .await
    .ok(200);
    call(
        Method::GET,
        format!("/identity/v3/projects/{}/service_agents", p.id),
        None,
    )
    .await
    .ok(200);

    let body = json!({"project": {"name": "new", "nickname": "N"}});
    let msg = call(Method::POST, "/identity/v3/projects".into(), Some(body))
        .await
        .error(403);
    assert!(
        msg.contains("project:manage") && msg.contains("org-reader"),
        "{msg}"
    );
    let msg = call(
        Method::PATCH,
        format!("/identity/v3/projects/{}", p.id),
        Some(json!({"project": {"nickname": "X"}})),
    )
    .await
    .error(403);
    assert!(msg.contains("project:manage"), "{msg}");
    let msg = call(
        Method::POST,
        sa_path(&p.id),
        Some(json!({"service_account": {"name": "x"}})),
    )
    .await
    .error(403);
    assert!(msg.contains("iam:manage"), "{msg}");
    call(
        Method::PATCH,
        format!("{}/{}", sa_path(&p.id), sa.id),
        Some(json!({"service_account": {"status": "inactive"}})),
    )
    .await
    .error(403);
    call(
        Method::DELETE,
        format!("{}/{}", sa_path(&p.id), sa.id),
        None,
    )
    .await
    .error(403);
    call(
        Method::POST,
        keys_path(&sa.id),
        Some(json!({"application_credential": {"name": "x"}})),
    )
    .await
    .error(403);
    call(
        Method::DELETE,
        format!("{}/{}", keys_path(&sa.id), cred.id),
        None,
    )
    .await
    .error(403);
    // Still all there and active.
    h.issue(&cred).await.ok(201);
}

#[tokio::test]
async fn project_admin_manages_iam_of_its_own_project_only() {
    let h = Harness::new().await;
    let (p, sa, cred) = h.fixture().await;
    let other = h.create_project("other").await;
    let admin = h
        .user_token(json!({"name": "lead", "project_roles": {"analytics": "project-admin"}}))
        .await;
    assert_eq!(visible(&h, &admin).await, ["analytics"]);
    h.call(
        Method::GET,
        &format!("/identity/v3/projects/{}", other.id),
        Some(&admin),
        None,
    )
    .await
    .error(403);

    let created = h
        .call(
            Method::POST,
            &sa_path(&p.id),
            Some(&admin),
            Some(json!({"service_account": {"name": "new"}})),
        )
        .await;
    created.ok(201);
    let key = h
        .call(
            Method::POST,
            &keys_path(&sa.id),
            Some(&admin),
            Some(json!({"application_credential": {"name": "lead-key"}})),
        )
        .await;
    let key_id = key.ok(201)["application_credential"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    h.call(
        Method::DELETE,
        &format!("{}/{key_id}", keys_path(&sa.id)),
        Some(&admin),
        None,
    )
    .await
    .ok(204);
    h.call(
        Method::PATCH,
        &format!("{}/{}", sa_path(&p.id), sa.id),
        Some(&admin),
        Some(json!({"service_account": {"status": "inactive"}})),
    )
    .await
    .ok(200);
    h.issue(&cred).await.error(401);

    let msg = h
        .call(
            Method::POST,
            &sa_path(&other.id),
            Some(&admin),
            Some(json!({"service_account": {"name": "x"}})),
        )
        .await
        .error(403);
    assert!(msg.contains("iam:manage") && msg.contains("other"), "{msg}");
    h.call(Method::GET, &sa_path(&other.id), Some(&admin), None)
        .await
        .error(403);
    let body = json!({"project": {"name": "mine", "nickname": "M"}});
    h.call(
        Method::POST,
        "/identity/v3/projects",
        Some(&admin),
        Some(body),
    )
    .await
    .error(403);
    h.call(
        Method::PATCH,
        &format!("/identity/v3/projects/{}", p.id),
        Some(&admin),
        Some(json!({"project": {"nickname": "X"}})),
    )
    .await
    .error(403);
}

#[tokio::test]
async fn project_member_and_reader_see_their_project_but_not_its_iam() {
    let h = Harness::new().await;
    let (p, sa, _) = h.fixture().await;
    h.create_project("other").await;
    for role in ["project-member", "project-reader"] {
        let token = h
            .user_token(json!({"name": format!("u-{role}"), "project_roles": {"analytics": role}}))
            .await;
        assert_eq!(visible(&h, &token).await, ["analytics"], "{role}");
        h.call(
            Method::GET,
            &format!("/identity/v3/projects/{}", p.id),
            Some(&token),
            None,
        )
        .await
        .ok(200);
        let msg = h
            .call(Method::GET, &sa_path(&p.id), Some(&token), None)
            .await
            .error(403);
        assert!(
            msg.contains("iam:view") && msg.contains(role),
            "{role}: {msg}"
        );
        h.call(Method::GET, &keys_path(&sa.id), Some(&token), None)
            .await
            .error(403);
        h.call(
            Method::POST,
            &sa_path(&p.id),
            Some(&token),
            Some(json!({"service_account": {"name": "x"}})),
        )
        .await
        .error(403);
    }
    let nobody = h.user_token(json!({"name": "nobody"})).await;
    assert!(visible(&h, &nobody).await.is_empty());
}

#[tokio::test]
async fn a_service_account_token_is_a_restricted_project_member() {
    let h = Harness::new().await;
    let (p, sa, cred) = h.fixture().await;
    h.create_project("other").await;
    let token = h.token(&cred).await;
    assert_eq!(visible(&h, &token).await, ["analytics"]);
    // Keystone semantics: a user lists its own application credentials.
    let own = h
        .call(Method::GET, &keys_path(&sa.id), Some(&token), None)
        .await;
    assert_eq!(
        own.ok(200)["application_credentials"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let msg = h
        .call(
            Method::POST,
            &sa_path(&p.id),
            Some(&token),
            Some(json!({"service_account": {"name": "x"}})),
        )
        .await
        .error(403);
    assert!(msg.contains("service account's access key"), "{msg}");
    let msg = h
        .call(
            Method::POST,
            &keys_path(&sa.id),
            Some(&token),
            Some(json!({"application_credential": {"name": "more"}})),
        )
        .await
        .error(403);
    assert!(msg.contains("cannot add access keys"), "{msg}");
    let msg = h
        .call(
            Method::DELETE,
            &format!("{}/{}", keys_path(&sa.id), cred.id),
            Some(&token),
            None,
        )
        .await
        .error(403);
    assert!(msg.contains("cannot delete access keys"), "{msg}");
    let msg = h
        .call(
            Method::DELETE,
            &format!("{}/{}", sa_path(&p.id), sa.id),
            Some(&token),
            None,
        )
        .await
        .error(403);
    assert!(msg.contains("cannot delete service accounts"), "{msg}");
    h.call(
        Method::PATCH,
        &format!("{}/{}", sa_path(&p.id), sa.id),
        Some(&token),
        Some(json!({"service_account": {"status": "inactive"}})),
    )
    .await
    .error(403);
    h.call(Method::GET, &sa_path(&p.id), Some(&token), None)
        .await
        .error(403);
    // Nothing changed.
    h.issue(&cred).await.ok(201);
}

#[tokio::test]
async fn emulator_users_are_validated() {
    let h = Harness::new().await;
    h.create_project("analytics").await;
    let post = |body| h.call(Method::POST, "/_emulator/users", None, Some(body));
    let msg = post(json!({"name": "x", "project_roles": {"nope": "project-admin"}}))
        .await
        .error(400);
    assert!(msg.contains("nope"), "{msg}");
    post(json!({"name": "x", "project_roles": {"analytics": "org-admin"}}))
        .await
        .error(400);
    post(json!({"name": "x", "org_role": "root"}))
        .await
        .error(400);
    post(json!({"name": ""})).await.error(400);
    post(json!({"name": "x", "org_role": "org-admin"}))
        .await
        .ok(201);
    post(json!({"name": "x"})).await.error(409);
    // A second Org Admin can create projects.
    let token = h
        .user_token(json!({"name": "y", "org_role": "org-admin"}))
        .await;
    let body = json!({"project": {"name": "second", "nickname": "S"}});
    h.call(
        Method::POST,
        "/identity/v3/projects",
        Some(&token),
        Some(body),
    )
    .await
    .ok(201);
    let health = h.call(Method::GET, "/_emulator/health", None, None).await;
    assert_eq!(health.ok(200)["status"], "ok");
}
