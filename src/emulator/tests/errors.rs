//! Every error is a Keystone error body: unknown routes, wrong methods, bad JSON, bad paging
//! parameters, and a failed save (which must also leave the state unchanged).

use reqwest::Method;
use serde_json::json;

use super::{Harness, parse};
use crate::emulator::EmulatorOptions;
use crate::wire::ProjectList;

#[tokio::test]
async fn unknown_routes_answer_404_with_the_keystone_body() {
    let h = Harness::new().await;
    for path in [
        "/nope",
        "/identity/v3/nope",
        "/identity/v3/projects/x/y/z",
        "/_emulator/nope",
    ] {
        let msg = h.get(path).await.error(404);
        assert!(msg.contains(path), "{path}: {msg}");
    }
    h.call(Method::POST, "/nope", None, Some(json!({})))
        .await
        .error(404);
}

#[tokio::test]
async fn wrong_methods_answer_405_with_the_keystone_body() {
    let h = Harness::new().await;
    let msg = h
        .call(Method::PUT, "/identity/v3/projects", Some(&h.admin), None)
        .await
        .error(405);
    assert!(msg.contains("PUT"), "{msg}");
    h.call(
        Method::PUT,
        "/identity/v3/auth/tokens",
        Some(&h.admin),
        None,
    )
    .await
    .error(405);
    h.call(Method::GET, "/_emulator/users", None, None)
        .await
        .error(405);
}

#[tokio::test]
async fn bad_json_answers_400_naming_the_problem() {
    let h = Harness::new().await;
    let send = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = h
            .http
            .post(h.url("/identity/v3/projects"))
            .header("X-Auth-Token", &h.admin)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        async move {
            let resp = req.send().await.expect("answered");
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.expect("error body is JSON");
            (status, body)
        }
    };
    let (status, body) = send("{not json", Some("application/json")).await;
    assert_eq!((status, body["error"]["code"].as_u64()), (400, Some(400)));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not valid JSON")
    );

    let (status, body) = send(
        r#"{"project": {"name": "analytics"}}"#,
        Some("application/json"),
    )
    .await;
    assert_eq!(status, 400);
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("nickname"), "names the missing field: {msg}");

    let (status, body) = send(r#"{"project": {"name": "a", "nickname": "b"}}"#, None).await;
    assert_eq!(status, 400);
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("Content-Type"), "{msg}");
}

#[tokio::test]
async fn paging_parameters_are_checked() {
    let h = Harness::new().await;
    for bad in ["limit=0", "limit=1001", "limit=abc", "offset=-1"] {
        let msg = h
            .get(&format!("/identity/v3/projects?{bad}"))
            .await
            .error(400);
        assert!(
            msg.contains("limit") || msg.contains("offset"),
            "{bad}: {msg}"
        );
    }
    let page: ProjectList = parse(h.get("/identity/v3/projects?limit=1000").await.ok(200));
    assert_eq!(page.pagination.limit, 1000);
    let page: ProjectList = parse(h.get("/identity/v3/projects").await.ok(200));
    assert_eq!((page.pagination.limit, page.pagination.offset), (100, 0));
}

#[tokio::test]
async fn a_failed_save_answers_500_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("state");
    std::fs::create_dir(&sub).expect("mkdir");
    let data_file = sub.join("emulator.db");
    let h = Harness::with(EmulatorOptions {
        data_file: Some(data_file.clone()),
        ..Default::default()
    })
    .await;
    std::fs::remove_dir_all(&sub).expect("remove the data directory");
    let body = json!({"project": {"name": "analytics", "nickname": "A"}});
    let msg = h
        .post("/identity/v3/projects", body.clone())
        .await
        .error(500);
    assert!(msg.contains("emulator.db"), "names the file: {msg}");
    let page: ProjectList = parse(h.get("/identity/v3/projects").await.ok(200));
    assert!(
        page.projects.is_empty(),
        "the refused change is not visible"
    );

    std::fs::create_dir(&sub).expect("mkdir again");
    h.post("/identity/v3/projects", body).await.ok(201);
    assert!(data_file.exists());
}

#[tokio::test]
async fn an_oversized_body_is_refused_in_the_keystone_format() {
    let h = Harness::new().await;
    // Keystone's default limit: a body just over it is refused, one just under it is read.
    let body = |size: usize| {
        let pad = size - r#"{"auth": {}, "pad": ""}"#.len();
        format!(r#"{{"auth": {{}}, "pad": "{}"}}"#, "p".repeat(pad))
    };
    for (size, status) in [
        (crate::limits::REQUEST_BODY_MAX, 400),
        (crate::limits::REQUEST_BODY_MAX + 1, 413),
    ] {
        let resp = h
            .http
            .post(h.url("/identity/v3/auth/tokens"))
            .header("Content-Type", "application/json")
            .body(body(size))
            .send()
            .await
            .expect("answered");
        assert_eq!(resp.status().as_u16(), status, "a body of {size} bytes");
    }
    let huge = format!(
        r#"{{"project": {{"name": "a", "nickname": "{}"}}}}"#,
        "n".repeat(3 << 20)
    );
    let resp = h
        .http
        .post(h.url("/identity/v3/projects"))
        .header("X-Auth-Token", &h.admin)
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 413);
    let body: serde_json::Value = resp.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], 413);
    assert_eq!(body["error"]["title"], "Payload Too Large");
}
