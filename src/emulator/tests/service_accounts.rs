//! Service accounts (names, the per-project limit, status changes that expire keys and revoke
//! tokens, delete) and the read-only service agents.

use reqwest::Method;
use serde_json::json;

use super::{Harness, is_hex32, keys_path, parse, sa_path};
use crate::limits::{MAX_SERVICE_ACCOUNTS_PER_PROJECT, SERVICE_ACCOUNT_NAME_MAX};
use crate::wire::{
    AccessKeyCredential, ApplicationCredentialList, ServiceAccountBody, ServiceAccountList,
    ServiceAgentList,
};

#[tokio::test]
async fn a_service_account_has_an_id_email_and_status() {
    let h = Harness::new().await;
    let p = h.create_project("analytics").await;
    let sa = h.create_sa(&p.id, "etl-runner").await;
    assert!(is_hex32(&sa.id));
    assert_eq!(
        sa.email,
        format!("etl-runner-{}@kc.serviceaccount.com", p.id)
    );
    assert_eq!(
        (sa.status.as_str(), sa.project_id.as_str()),
        ("active", p.id.as_str())
    );
    let got: ServiceAccountBody = parse(
        h.get(&format!("{}/{}", sa_path(&p.id), sa.id))
            .await
            .ok(200),
    );
    assert_eq!(got.service_account, sa);
    let inactive: ServiceAccountBody = parse(
        h.post(
            &sa_path(&p.id),
            json!({"service_account": {"name": "idle", "status": "inactive"}}),
        )
        .await
        .ok(201),
    );
    assert_eq!(inactive.service_account.status, "inactive");
    let msg = h
        .post(
            &sa_path(&p.id),
            json!({"service_account": {"name": "odd", "status": "paused"}}),
        )
        .await
        .error(400);
    assert!(msg.contains("status"), "{msg}");
    // An account is found only under its own project.
    let other = h.create_project("other").await;
    h.get(&format!("{}/{}", sa_path(&other.id), sa.id))
        .await
        .error(404);
    h.get(&format!("{}/{}", sa_path(&p.id), "0".repeat(32)))
        .await
        .error(404);
    h.get(&sa_path(&"0".repeat(32))).await.error(404);
}

#[tokio::test]
async fn service_account_names_follow_the_rules_and_are_unique_per_project() {
    let h = Harness::new().await;
    let p = h.create_project("analytics").await;
    let max = format!("s{}", "a".repeat(SERVICE_ACCOUNT_NAME_MAX - 1));
    for bad in ["", "Etl", "1etl", "etl-", "etl_runner", &format!("{max}x")] {
        let msg = h
            .post(&sa_path(&p.id), json!({"service_account": {"name": bad}}))
            .await
            .error(400);
        assert!(msg.contains("service account name"), "{bad:?}: {msg}");
    }
    h.create_sa(&p.id, &max).await;
    let msg = h
        .post(&sa_path(&p.id), json!({"service_account": {"name": max}}))
        .await
        .error(409);
    assert!(msg.contains("already exists"), "{msg}");
    // The same name in another project is fine.
    let other = h.create_project("other").await;
    h.create_sa(&other.id, &max).await;
}

#[tokio::test]
async fn a_project_holds_at_most_100_service_accounts_inactive_ones_included() {
    let h = Harness::new().await;
    let p = h.create_project("analytics").await;
    let mut last = None;
    for i in 0..MAX_SERVICE_ACCOUNTS_PER_PROJECT {
        let status = if i % 2 == 0 { "inactive" } else { "active" };
        let body = json!({"service_account": {"name": format!("sa-{i}"), "status": status}});
        let created: ServiceAccountBody = parse(h.post(&sa_path(&p.id), body).await.ok(201));
        last = Some(created.service_account);
    }
    let msg = h
        .post(
            &sa_path(&p.id),
            json!({"service_account": {"name": "one-more"}}),
        )
        .await
        .error(400);
    assert!(msg.contains("100") && msg.contains("inactive"), "{msg}");
    // Another project is not affected, and deleting one frees a slot.
    let other = h.create_project("other").await;
    h.create_sa(&other.id, "one-more").await;
    let last = last.expect("created");
    h.delete(&format!("{}/{}", sa_path(&p.id), last.id))
        .await
        .ok(204);
    h.create_sa(&p.id, "one-more").await;
    let list: ServiceAccountList =
        parse(h.get(&format!("{}?limit=1", sa_path(&p.id))).await.ok(200));
    assert_eq!(list.pagination.total, MAX_SERVICE_ACCOUNTS_PER_PROJECT);
}

#[tokio::test]
async fn service_account_names_cannot_be_changed() {
    let h = Harness::new().await;
    let (p, sa, _) = h.fixture().await;
    let path = format!("{}/{}", sa_path(&p.id), sa.id);
    let msg = h
        .patch(&path, json!({"service_account": {"name": "renamed"}}))
        .await
        .error(400);
    assert!(msg.contains("cannot be changed"), "{msg}");
    let msg = h
        .patch(&path, json!({"service_account": {"status": "gone"}}))
        .await
        .error(400);
    assert!(msg.contains("status"), "{msg}");
    let got: ServiceAccountBody = parse(h.get(&path).await.ok(200));
    assert_eq!(
        (
            got.service_account.name.as_str(),
            got.service_account.status.as_str()
        ),
        ("etl-runner", "active")
    );
}

#[tokio::test]
async fn deactivating_expires_keys_and_revokes_tokens_and_reactivating_revives_nothing() {
    let h = Harness::new().await;
    let (p, sa, cred) = h.fixture().await;
    let second = h.create_key(&sa.id, "second").await;
    let token = h.token(&cred).await;
    // The service account's token works before deactivation.
    h.call(Method::GET, "/identity/v3/projects", Some(&token), None)
        .await
        .ok(200);

    let path = format!("{}/{}", sa_path(&p.id), sa.id);
    let updated: ServiceAccountBody = parse(
        h.patch(&path, json!({"service_account": {"status": "inactive"}}))
            .await
            .ok(200),
    );
    assert_eq!(updated.service_account.status, "inactive");

    h.call(Method::GET, "/identity/v3/projects", Some(&token), None)
        .await
        .error(401);
    let msg = h.issue(&cred).await.error(401);
    assert!(msg.contains("inactive"), "{msg}");
    let keys: ApplicationCredentialList = parse(h.get(&keys_path(&sa.id)).await.ok(200));
    assert_eq!(
        keys.application_credentials.len(),
        2,
        "expired keys stay listed"
    );
    assert!(
        keys.application_credentials
            .iter()
            .all(|k| k.status == "expired"),
        "{keys:?}"
    );
    let project_keys: ApplicationCredentialList = parse(
        h.get(&format!(
            "/identity/v3/projects/{}/application_credentials",
            p.id
        ))
        .await
        .ok(200),
    );
    assert!(
        project_keys
            .application_credentials
            .iter()
            .all(|k| k.status == "expired")
    );

    h.patch(&path, json!({"service_account": {"status": "active"}}))
        .await
        .ok(200);
    let msg = h.issue(&cred).await.error(401);
    assert!(msg.contains("expired"), "{msg}");
    let second = AccessKeyCredential {
        id: second.id,
        secret: second.secret.unwrap_or_default(),
    };
    h.issue(&second).await.error(401);
    h.call(Method::GET, "/identity/v3/projects", Some(&token), None)
        .await
        .error(401);
    let keys: ApplicationCredentialList = parse(h.get(&keys_path(&sa.id)).await.ok(200));
    assert!(
        keys.application_credentials
            .iter()
            .all(|k| k.status == "expired")
    );
}

#[tokio::test]
async fn deleting_a_service_account_deletes_its_keys_and_revokes_its_tokens() {
    let h = Harness::new().await;
    let (p, sa, cred) = h.fixture().await;
    let token = h.token(&cred).await;
    let path = format!("{}/{}", sa_path(&p.id), sa.id);
    assert_eq!(h.delete(&path).await.ok(204), &serde_json::Value::Null);
    h.get(&path).await.error(404);
    h.delete(&path).await.error(404);
    h.call(Method::GET, "/identity/v3/projects", Some(&token), None)
        .await
        .error(401);
    h.issue(&cred).await.error(404);
    h.get(&format!("{}/{}", keys_path(&sa.id), cred.id))
        .await
        .error(404);
    let project_keys: ApplicationCredentialList = parse(
        h.get(&format!(
            "/identity/v3/projects/{}/application_credentials",
            p.id
        ))
        .await
        .ok(200),
    );
    assert!(project_keys.application_credentials.is_empty());
    // The name is free again.
    h.create_sa(&p.id, "etl-runner").await;
}

#[tokio::test]
async fn service_accounts_list_in_name_order_with_paging_and_name_filter() {
    let h = Harness::new().await;
    let p = h.create_project("analytics").await;
    for name in ["c", "a", "b"] {
        h.create_sa(&p.id, name).await;
    }
    let list: ServiceAccountList =
        parse(h.get(&format!("{}?limit=2", sa_path(&p.id))).await.ok(200));
    let names: Vec<_> = list
        .service_accounts
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!((names, list.pagination.total), (vec!["a", "b"], 3));
    let list: ServiceAccountList =
        parse(h.get(&format!("{}?name=c", sa_path(&p.id))).await.ok(200));
    assert_eq!(list.service_accounts.len(), 1);
    assert_eq!(list.service_accounts[0].name, "c");
}

#[tokio::test]
async fn service_agents_are_created_by_the_emulator_and_read_only() {
    let h = Harness::new().await;
    let p = h.create_project("analytics").await;
    let enable = "/_emulator/projects/analytics/services/kubernetes-engine";
    let created = h.call(Method::POST, enable, None, None).await;
    let agent = created.ok(201)["service_agent"].clone();
    assert_eq!(
        agent["email"],
        json!(format!("{}@kubernetes-engine.kc.serviceaccount.com", p.id))
    );
    let again = h.call(Method::POST, enable, None, None).await;
    assert_eq!(
        again.ok(200)["service_agent"]["id"],
        agent["id"],
        "enabling twice is idempotent"
    );
    h.call(
        Method::POST,
        "/_emulator/projects/nope/services/x",
        None,
        None,
    )
    .await
    .error(404);
    h.call(
        Method::POST,
        "/_emulator/projects/analytics/services/Bad_Name",
        None,
        None,
    )
    .await
    .error(400);

    let agents_path = format!("/identity/v3/projects/{}/service_agents", p.id);
    let list: ServiceAgentList = parse(h.get(&agents_path).await.ok(200));
    assert_eq!(list.service_agents.len(), 1);
    assert_eq!(list.service_agents[0].service, "kubernetes-engine");
    let agent_id = list.service_agents[0].id.clone();
    h.get(&format!("{agents_path}/{agent_id}")).await.ok(200);
    let accounts: ServiceAccountList = parse(h.get(&sa_path(&p.id)).await.ok(200));
    assert!(
        accounts.service_accounts.is_empty(),
        "agents are not service accounts"
    );

    let msg = h.post(&agents_path, json!({})).await.error(403);
    assert!(msg.contains("read-only"), "{msg}");
    h.patch(&format!("{agents_path}/{agent_id}"), json!({}))
        .await
        .error(403);
    h.delete(&format!("{agents_path}/{agent_id}"))
        .await
        .error(403);
    h.call(
        Method::PUT,
        &format!("{agents_path}/{agent_id}"),
        Some(&h.admin),
        Some(json!({})),
    )
    .await
    .error(403);
    let list: ServiceAgentList = parse(h.get(&agents_path).await.ok(200));
    assert_eq!(list.service_agents.len(), 1, "still there");
    // Agents cannot get keys either: they are not users of the key routes.
    h.post(
        &keys_path(&agent_id),
        json!({"application_credential": {"name": "k"}}),
    )
    .await
    .error(404);
}
