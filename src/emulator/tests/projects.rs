//! Projects: create rules, immutable names, no delete, payment method, paging and filtering.

use serde_json::json;

use super::{Harness, is_hex32, parse};
use crate::emulator::EmulatorOptions;
use crate::limits::{PROJECT_DESCRIPTION_MAX, PROJECT_NAME_MAX, PROJECT_NICKNAME_MAX};
use crate::wire::{ProjectBody, ProjectList};

fn new_project(name: &str, nickname: &str, description: &str) -> serde_json::Value {
    json!({"project": {"name": name, "nickname": nickname, "description": description}})
}

#[tokio::test]
async fn create_get_and_list_a_project() {
    let h = Harness::new().await;
    let created: ProjectBody = parse(
        h.post(
            "/identity/v3/projects",
            new_project("analytics", "Analytics", "Data platform"),
        )
        .await
        .ok(201),
    );
    let p = created.project;
    assert!(is_hex32(&p.id), "32-hex ID: {}", p.id);
    assert_eq!(
        (p.name.as_str(), p.nickname.as_str()),
        ("analytics", "Analytics")
    );
    assert_eq!(p.description, "Data platform");
    assert!(p.created_at.ends_with('Z'));
    let got: ProjectBody = parse(
        h.get(&format!("/identity/v3/projects/{}", p.id))
            .await
            .ok(200),
    );
    assert_eq!(got.project, p);
    let list: ProjectList = parse(h.get("/identity/v3/projects").await.ok(200));
    assert_eq!(list.projects, vec![p]);
    h.get(&format!("/identity/v3/projects/{}", "f".repeat(32)))
        .await
        .error(404);
}

#[tokio::test]
async fn project_names_are_unique() {
    let h = Harness::new().await;
    h.create_project("analytics").await;
    let msg = h
        .post(
            "/identity/v3/projects",
            new_project("analytics", "Other", ""),
        )
        .await
        .error(409);
    assert!(msg.contains("analytics"), "{msg}");
}

#[tokio::test]
async fn project_fields_follow_the_limits() {
    let h = Harness::new().await;
    let max_name = format!("p{}", "a".repeat(PROJECT_NAME_MAX - 1));
    for bad in [
        "ab",
        "Analytics",
        "1abc",
        "abc-",
        "ab_c",
        &format!("{max_name}x"),
    ] {
        let msg = h
            .post("/identity/v3/projects", new_project(bad, "N", ""))
            .await
            .error(400);
        assert!(msg.contains("project name"), "{bad}: {msg}");
    }
    let long_nick = "n".repeat(PROJECT_NICKNAME_MAX + 1);
    h.post("/identity/v3/projects", new_project("nick", &long_nick, ""))
        .await
        .error(400);
    h.post("/identity/v3/projects", new_project("nick", "", ""))
        .await
        .error(400);
    let long_desc = "d".repeat(PROJECT_DESCRIPTION_MAX + 1);
    let msg = h
        .post(
            "/identity/v3/projects",
            new_project("desc", "D", &long_desc),
        )
        .await
        .error(400);
    assert!(msg.contains("description"), "{msg}");
    // The bounds themselves are accepted.
    let nick = "닉".repeat(PROJECT_NICKNAME_MAX);
    let desc = "d".repeat(PROJECT_DESCRIPTION_MAX);
    h.post(
        "/identity/v3/projects",
        new_project(&max_name, &nick, &desc),
    )
    .await
    .ok(201);
    let list: ProjectList = parse(h.get("/identity/v3/projects").await.ok(200));
    assert_eq!(list.projects.len(), 1, "no refused project was created");
}

#[tokio::test]
async fn project_names_cannot_be_changed_but_nickname_and_description_can() {
    let h = Harness::new().await;
    let p = h.create_project("analytics").await;
    let path = format!("/identity/v3/projects/{}", p.id);
    let msg = h
        .patch(&path, json!({"project": {"name": "renamed"}}))
        .await
        .error(400);
    assert!(msg.contains("cannot be changed"), "{msg}");
    let msg = h
        .patch(
            &path,
            json!({"project": {"name": "analytics", "nickname": "X"}}),
        )
        .await
        .error(400);
    assert!(msg.contains("cannot be changed"), "{msg}");
    let updated: ProjectBody = parse(
        h.patch(
            &path,
            json!({"project": {"nickname": "New", "description": "d"}}),
        )
        .await
        .ok(200),
    );
    assert_eq!(updated.project.name, "analytics");
    assert_eq!(
        (
            updated.project.nickname.as_str(),
            updated.project.description.as_str()
        ),
        ("New", "d")
    );
    h.patch(&path, json!({"project": {"nickname": ""}}))
        .await
        .error(400);
    let got: ProjectBody = parse(h.get(&path).await.ok(200));
    assert_eq!(got.project.nickname, "New");
    h.patch(
        &format!("/identity/v3/projects/{}", "0".repeat(32)),
        json!({"project": {}}),
    )
    .await
    .error(404);
}

#[tokio::test]
async fn projects_cannot_be_deleted() {
    let h = Harness::new().await;
    let p = h.create_project("analytics").await;
    let path = format!("/identity/v3/projects/{}", p.id);
    let msg = h.delete(&path).await.error(405);
    assert!(msg.contains("Help Desk"), "{msg}");
    h.get(&path).await.ok(200);
}

#[tokio::test]
async fn creating_a_project_needs_a_payment_method() {
    let h = Harness::with(EmulatorOptions {
        payment_method: false,
        ..Default::default()
    })
    .await;
    let msg = h
        .post("/identity/v3/projects", new_project("analytics", "A", ""))
        .await
        .error(403);
    assert!(msg.contains("payment method"), "{msg}");
}

#[tokio::test]
async fn project_lists_page_in_name_order_and_filter_by_name() {
    let h = Harness::new().await;
    for name in ["echo", "alpha", "delta", "charlie", "bravo"] {
        h.create_project(name).await;
    }
    let page: ProjectList = parse(
        h.get("/identity/v3/projects?limit=2&offset=1")
            .await
            .ok(200),
    );
    let names: Vec<_> = page.projects.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["bravo", "charlie"]);
    assert_eq!(
        (
            page.pagination.total,
            page.pagination.offset,
            page.pagination.limit
        ),
        (5, 1, 2)
    );
    let page: ProjectList = parse(h.get("/identity/v3/projects?offset=4").await.ok(200));
    assert_eq!(
        page.projects
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["echo"]
    );
    let page: ProjectList = parse(h.get("/identity/v3/projects?offset=9").await.ok(200));
    assert!(page.projects.is_empty());
    assert_eq!(page.pagination.total, 5);
    let page: ProjectList = parse(h.get("/identity/v3/projects?name=delta").await.ok(200));
    assert_eq!(page.projects.len(), 1);
    assert_eq!(
        (page.projects[0].name.as_str(), page.pagination.total),
        ("delta", 1)
    );
}
