//! docs/design.md#model rules needing the control routes: the organization's payment method
//! switched at run time (and persisted), and the 403 bodies of service agents and of
//! service-account tokens naming the permission they lack.

use reqwest::Method;
use serde_json::json;

use super::{Harness, keys_path, loopback, sa_path};
use crate::emulator::{EmulatorOptions, start};

fn new_project(name: &str) -> serde_json::Value {
    json!({"project": {"name": name, "nickname": "N"}})
}

#[tokio::test]
async fn the_payment_method_can_be_removed_and_registered_at_run_time() {
    let h = Harness::new().await;
    let org = h
        .call(Method::GET, "/_emulator/organization", None, None)
        .await;
    assert_eq!(org.ok(200)["organization"]["payment_method"], json!(true));

    let removed = h
        .call(
            Method::POST,
            "/_emulator/organization",
            None,
            Some(json!({"payment_method": false})),
        )
        .await;
    assert_eq!(
        removed.ok(200)["organization"]["payment_method"],
        json!(false)
    );
    let msg = h
        .post("/identity/v3/projects", new_project("analytics"))
        .await
        .error(403);
    assert!(msg.contains("payment method"), "{msg}");

    h.call(
        Method::POST,
        "/_emulator/organization",
        None,
        Some(json!({"payment_method": true})),
    )
    .await
    .ok(200);
    h.post("/identity/v3/projects", new_project("analytics"))
        .await
        .ok(201);
}

#[tokio::test]
async fn the_organization_route_checks_its_body() {
    let h = Harness::new().await;
    for body in [
        json!({}),
        json!({"payment_method": "yes"}),
        json!({"payment_method": true, "plan": "gold"}),
    ] {
        let msg = h
            .call(Method::POST, "/_emulator/organization", None, Some(body))
            .await
            .error(400);
        assert!(
            msg.contains("payment_method") || msg.contains("plan"),
            "{msg}"
        );
    }
    h.call(Method::DELETE, "/_emulator/organization", None, None)
        .await
        .error(405);
}

#[tokio::test]
async fn a_payment_method_change_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = EmulatorOptions {
        data_file: Some(dir.path().join("emulator.db")),
        ..Default::default()
    };
    let h = Harness::with(options.clone()).await;
    h.call(
        Method::POST,
        "/_emulator/organization",
        None,
        Some(json!({"payment_method": false})),
    )
    .await
    .ok(200);
    h.emu.shutdown().await;

    let h = Harness::around(start(loopback(), options).await.expect("restarts")).await;
    h.post("/identity/v3/projects", new_project("analytics"))
        .await
        .error(403);
}

#[tokio::test]
async fn an_organization_without_a_payment_method_still_serves_everything_else() {
    let h = Harness::with(EmulatorOptions {
        payment_method: false,
        ..Default::default()
    })
    .await;
    let org = h
        .call(Method::GET, "/_emulator/organization", None, None)
        .await;
    assert_eq!(org.ok(200)["organization"]["payment_method"], json!(false));
    h.get("/identity/v3/projects").await.ok(200);
    h.post("/identity/v3/projects", new_project("analytics"))
        .await
        .error(403);
}

#[tokio::test]
async fn refusals_of_service_agents_and_service_account_tokens_name_the_permission() {
    let h = Harness::new().await;
    let (p, sa, cred) = h.fixture().await;
    let agent = h
        .call(
            Method::POST,
            "/_emulator/projects/analytics/services/compute",
            None,
            None,
        )
        .await;
    let agent_id = agent.ok(201)["service_agent"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let agents = format!("/identity/v3/projects/{}/service_agents", p.id);
    for (method, path) in [
        (Method::POST, agents.clone()),
        (Method::DELETE, format!("{agents}/{agent_id}")),
        (Method::PATCH, format!("{agents}/{agent_id}")),
    ] {
        let msg = h
            .call(method.clone(), &path, Some(&h.admin), Some(json!({})))
            .await
            .error(403);
        assert!(
            msg.contains("read-only") && msg.contains("`service-agent:manage` permission"),
            "{method} {path}: {msg}"
        );
    }

    let token = h.token(&cred).await;
    let calls = [
        (
            Method::POST,
            sa_path(&p.id),
            Some(json!({"service_account": {"name": "x"}})),
        ),
        (
            Method::DELETE,
            format!("{}/{}", sa_path(&p.id), sa.id),
            None,
        ),
        (
            Method::POST,
            keys_path(&sa.id),
            Some(json!({"application_credential": {"name": "x"}})),
        ),
        (
            Method::DELETE,
            format!("{}/{}", keys_path(&sa.id), cred.id),
            None,
        ),
    ];
    for (method, path, body) in calls {
        let msg = h
            .call(method.clone(), &path, Some(&token), body)
            .await
            .error(403);
        assert!(
            msg.contains("`iam:manage` permission") && msg.contains("etl-runner"),
            "{method} {path}: {msg}"
        );
    }
    // The agent and the account's key are still there.
    h.get(&format!("{agents}/{agent_id}")).await.ok(200);
    h.issue(&cred).await.ok(201);
}
