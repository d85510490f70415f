//! The fault middleware over HTTP: latency is a response time, counted from arrival.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::Harness;

async fn add_fault(h: &Harness, rule: serde_json::Value) {
    h.call(Method::POST, "/_emulator/faults", None, Some(rule))
        .await
        .ok(201);
}

#[tokio::test]
async fn a_delayed_request_is_handled_at_once_and_answered_after_the_latency() {
    let h = Harness::new().await;
    add_fault(
        &h,
        json!({"method": "POST", "path": "/identity/v3/projects", "latency_ms": 1000}),
    )
    .await;
    let started = Instant::now();
    let create = async {
        let answer = h
            .post(
                "/identity/v3/projects",
                json!({"project": {"name": "slow", "nickname": "Slow"}}),
            )
            .await;
        (answer, started.elapsed())
    };
    let watch = async {
        loop {
            let listed = h.get("/identity/v3/projects").await;
            let names = listed.ok(200)["projects"].to_string();
            if names.contains("\"slow\"") {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let ((answer, answered), seen) = tokio::join!(create, watch);
    answer.ok(201);
    assert!(answered >= Duration::from_millis(1000), "{answered:?}");
    // Committed on arrival, long before the answer (not after the wait).
    assert!(
        seen + Duration::from_millis(500) <= answered,
        "listed after {seen:?}, answered after {answered:?}"
    );
}

#[tokio::test]
async fn a_refusal_waits_out_the_latency_too_and_changes_nothing() {
    let h = Harness::new().await;
    add_fault(
        &h,
        json!({"method": "POST", "path": "/identity/v3/projects", "latency_ms": 300,
               "status": 503, "count": 1}),
    )
    .await;
    let started = Instant::now();
    let refused = h
        .post(
            "/identity/v3/projects",
            json!({"project": {"name": "refused", "nickname": "Refused"}}),
        )
        .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    refused.error(503);
    let listed = h.get("/identity/v3/projects").await;
    assert!(!listed.ok(200)["projects"].to_string().contains("refused"));
}
