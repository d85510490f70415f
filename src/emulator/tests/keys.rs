//! Access keys: Keystone application-credential shape, the secret shown once, the per-account
//! limit, name/description/expiry rules, no edits, deletion revoking tokens, and the
//! project-wide listing.

use reqwest::Method;
use serde_json::json;

use super::{Harness, is_hex32, keys_path, parse, sa_path};
use crate::limits::{ACCESS_KEY_DESCRIPTION_MAX, MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT};
use crate::wire::{AccessKeyCredential, ApplicationCredentialBody, ApplicationCredentialList};

fn new_key(body: serde_json::Value) -> serde_json::Value {
    json!({ "application_credential": body })
}

#[tokio::test]
async fn a_key_shows_its_secret_only_on_create() {
    let h = Harness::new().await;
    let (p, sa, _) = h.fixture().await;
    let created: ApplicationCredentialBody = parse(
        h.post(
            &keys_path(&sa.id),
            new_key(json!({"name": "deploy", "description": "GitHub Actions"})),
        )
        .await
        .ok(201),
    );
    let key = created.application_credential;
    assert!(is_hex32(&key.id));
    assert!(
        key.secret.as_ref().is_some_and(|s| s.len() >= 32),
        "secret on create"
    );
    assert_eq!(key.user_id, sa.id);
    assert_eq!(key.project_id.as_deref(), Some(p.id.as_str()));
    assert_eq!(key.description.as_deref(), Some("GitHub Actions"));
    assert_eq!(
        (
            key.status.as_str(),
            key.unrestricted,
            key.expires_at.as_ref()
        ),
        ("active", false, None)
    );
    assert_eq!(
        key.roles
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["project-member"]
    );
    let self_link = key.links["self"].as_str().unwrap_or_default();
    assert!(
        self_link.ends_with(&format!("{}/{}", keys_path(&sa.id), key.id)),
        "{self_link}"
    );

    let got = h.get(&format!("{}/{}", keys_path(&sa.id), key.id)).await;
    assert!(
        got.ok(200)["application_credential"]
            .get("secret")
            .is_none(),
        "{:?}",
        got.body
    );
    let listed = h.get(&keys_path(&sa.id)).await;
    let listed_body = listed.ok(200);
    assert!(
        listed_body["application_credentials"]
            .as_array()
            .is_some_and(|keys| keys.iter().all(|k| k.get("secret").is_none()))
    );
    assert_eq!(listed_body["links"]["next"], serde_json::Value::Null);
    assert!(
        listed_body["links"]["self"]
            .as_str()
            .is_some_and(|s| s.ends_with(&keys_path(&sa.id)))
    );
    let project_keys = h
        .get(&format!(
            "/identity/v3/projects/{}/application_credentials",
            p.id
        ))
        .await;
    assert!(
        !project_keys
            .ok(200)
            .to_string()
            .contains(key.secret.as_deref().unwrap_or("-"))
    );
}

#[tokio::test]
async fn a_client_chosen_secret_authenticates_and_an_empty_one_is_refused() {
    let h = Harness::new().await;
    let p = h.create_project("analytics").await;
    let sa = h.create_sa(&p.id, "etl").await;
    let created: ApplicationCredentialBody = parse(
        h.post(
            &keys_path(&sa.id),
            new_key(json!({"name": "chosen", "secret": "my-secret"})),
        )
        .await
        .ok(201),
    );
    assert_eq!(
        created.application_credential.secret.as_deref(),
        Some("my-secret")
    );
    let cred = AccessKeyCredential {
        id: created.application_credential.id,
        secret: "my-secret".into(),
    };
    h.issue(&cred).await.ok(201);
    h.post(
        &keys_path(&sa.id),
        new_key(json!({"name": "empty", "secret": ""})),
    )
    .await
    .error(400);
}

#[tokio::test]
async fn a_service_account_holds_at_most_two_keys_expired_ones_included() {
    let h = Harness::new().await;
    let (p, sa, _) = h.fixture().await;
    h.create_key(&sa.id, "second").await;
    let msg = h
        .post(&keys_path(&sa.id), new_key(json!({"name": "third"})))
        .await
        .error(400);
    assert!(
        msg.contains(&MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT.to_string()),
        "{msg}"
    );
    // Expired keys still count.
    let path = format!("{}/{}", sa_path(&p.id), sa.id);
    h.patch(&path, json!({"service_account": {"status": "inactive"}}))
        .await
        .ok(200);
    h.patch(&path, json!({"service_account": {"status": "active"}}))
        .await
        .ok(200);
    h.post(&keys_path(&sa.id), new_key(json!({"name": "third"})))
        .await
        .error(400);
    let keys: ApplicationCredentialList = parse(h.get(&keys_path(&sa.id)).await.ok(200));
    assert_eq!(
        keys.application_credentials.len(),
        MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT
    );
    // Deleting one frees a slot, and the new key works.
    let old = &keys.application_credentials[0].id;
    h.delete(&format!("{}/{old}", keys_path(&sa.id)))
        .await
        .ok(204);
    let fresh = h.create_key(&sa.id, "third").await;
    let cred = AccessKeyCredential {
        id: fresh.id,
        secret: fresh.secret.unwrap_or_default(),
    };
    h.issue(&cred).await.ok(201);
}

#[tokio::test]
async fn key_fields_follow_the_rules() {
    let h = Harness::new().await;
    let p = h.create_project("analytics").await;
    let sa = h.create_sa(&p.id, "etl").await;
    let path = keys_path(&sa.id);
    for bad in ["", "CI", "1ci", "ci-", "ci_key", &"k".repeat(31)] {
        let msg = h
            .post(&path, new_key(json!({"name": bad})))
            .await
            .error(400);
        assert!(msg.contains("access key name"), "{bad:?}: {msg}");
    }
    let long = "d".repeat(ACCESS_KEY_DESCRIPTION_MAX + 1);
    let msg = h
        .post(&path, new_key(json!({"name": "ci", "description": long})))
        .await
        .error(400);
    assert!(msg.contains("description"), "{msg}");
    let msg = h
        .post(
            &path,
            new_key(json!({"name": "ci", "expires_at": "2030-01-01T00:00:00Z"})),
        )
        .await
        .error(400);
    assert!(msg.contains("expires_at"), "{msg}");
    let msg = h
        .post(&path, new_key(json!({"name": "ci", "unrestricted": true})))
        .await
        .error(400);
    assert!(msg.contains("unrestricted"), "{msg}");
    let keys: ApplicationCredentialList = parse(h.get(&path).await.ok(200));
    assert!(
        keys.application_credentials.is_empty(),
        "no refused key was created"
    );
    // The bounds themselves pass, counted in characters.
    let desc = "설".repeat(ACCESS_KEY_DESCRIPTION_MAX);
    let body = json!({"name": "k".repeat(30), "description": desc, "expires_at": null, "unrestricted": false});
    h.post(&path, new_key(body)).await.ok(201);
}

#[tokio::test]
async fn key_names_are_unique_per_service_account() {
    let h = Harness::new().await;
    let (p, sa, _) = h.fixture().await;
    let msg = h
        .post(&keys_path(&sa.id), new_key(json!({"name": "ci"})))
        .await
        .error(409);
    assert!(msg.contains("ci"), "{msg}");
    let other = h.create_sa(&p.id, "other").await;
    h.create_key(&other.id, "ci").await;
}

#[tokio::test]
async fn an_inactive_service_account_gets_no_key() {
    let h = Harness::new().await;
    let p = h.create_project("analytics").await;
    let body = json!({"service_account": {"name": "idle", "status": "inactive"}});
    let sa: crate::wire::ServiceAccountBody = parse(h.post(&sa_path(&p.id), body).await.ok(201));
    let msg = h
        .post(
            &keys_path(&sa.service_account.id),
            new_key(json!({"name": "ci"})),
        )
        .await
        .error(400);
    assert!(msg.contains("inactive"), "{msg}");
}

#[tokio::test]
async fn keys_cannot_be_edited() {
    let h = Harness::new().await;
    let (_, sa, cred) = h.fixture().await;
    let path = format!("{}/{}", keys_path(&sa.id), cred.id);
    let msg = h
        .patch(&path, new_key(json!({"description": "x"})))
        .await
        .error(405);
    assert!(msg.contains("cannot be edited"), "{msg}");
    h.call(Method::PUT, &path, Some(&h.admin), Some(json!({})))
        .await
        .error(405);
    let got: ApplicationCredentialBody = parse(h.get(&path).await.ok(200));
    assert_eq!(got.application_credential.description, None);
    // As on Keystone, the 405 names the methods the route has.
    let resp = h
        .http
        .patch(h.url(&path))
        .header("X-Auth-Token", &h.admin)
        .json(&json!({}))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 405);
    let allow = resp.headers().get("allow").and_then(|v| v.to_str().ok());
    assert_eq!(allow, Some("GET,HEAD,DELETE"));
}

#[tokio::test]
async fn a_create_with_a_field_keystone_does_not_know_is_400() {
    let h = Harness::new().await;
    let (_, sa, _) = h.fixture().await;
    for body in [
        json!({"application_credential": {"name": "extra", "bogus": 1}}),
        json!({"application_credential": {"name": "extra"}, "bogus": 1}),
    ] {
        let msg = h.post(&keys_path(&sa.id), body).await.error(400);
        assert!(msg.contains("unknown field `bogus`"), "{msg}");
    }
    // Keystone's own optional fields are known (and checked by the KakaoCloud rules).
    let known = json!({"application_credential": {"name": "known", "description": "d",
        "roles": [], "access_rules": [], "expires_at": null, "unrestricted": false}});
    h.post(&keys_path(&sa.id), known).await.ok(201);
    let list: ApplicationCredentialList = parse(h.get(&keys_path(&sa.id)).await.ok(200));
    let names: Vec<_> = list
        .application_credentials
        .iter()
        .map(|k| k.name.as_str())
        .collect();
    assert_eq!(names, ["ci", "known"], "no refused create left a key");
}

#[tokio::test]
async fn keys_of_an_unknown_user_are_403_unless_the_caller_has_an_org_role() {
    let h = Harness::new().await;
    let (_, _, cred) = h.fixture().await;
    let own = h.token(&cred).await;
    let unknown = keys_path(&"0".repeat(32));
    // Keystone's policy refuses a caller that is not the user before it looks the user up.
    h.call(Method::GET, &unknown, Some(&own), None)
        .await
        .error(403);
    h.call(
        Method::GET,
        &format!("{unknown}/{}", cred.id),
        Some(&own),
        None,
    )
    .await
    .error(403);
    let lead = h
        .user_token(json!({"name": "lead", "project_roles": {"analytics": "project-admin"}}))
        .await;
    h.call(Method::GET, &unknown, Some(&lead), None)
        .await
        .error(403);
    h.get(&unknown).await.error(404);
}

#[tokio::test]
async fn deleting_a_key_revokes_only_its_own_tokens() {
    let h = Harness::new().await;
    let (_, sa, cred) = h.fixture().await;
    let other = h.create_key(&sa.id, "other").await;
    let other = AccessKeyCredential {
        id: other.id,
        secret: other.secret.unwrap_or_default(),
    };
    let doomed = h.token(&cred).await;
    let kept = h.token(&other).await;
    h.delete(&format!("{}/{}", keys_path(&sa.id), cred.id))
        .await
        .ok(204);
    // As Keystone: a token whose credential was deleted, and the credential's ID at token
    // issue, answer the credential's 404.
    let gone = format!("Could not find Application Credential: {}.", cred.id);
    let msg = h
        .call(Method::GET, "/identity/v3/projects", Some(&doomed), None)
        .await
        .error(404);
    assert_eq!(msg, gone);
    h.call(Method::GET, "/identity/v3/projects", Some(&kept), None)
        .await
        .ok(200);
    assert_eq!(h.issue(&cred).await.error(404), gone);
    // Still so after another token's issue pruned the token table.
    h.token(&other).await;
    h.call(Method::GET, "/identity/v3/projects", Some(&doomed), None)
        .await
        .error(404);
    h.get(&format!("{}/{}", keys_path(&sa.id), cred.id))
        .await
        .error(404);
    h.delete(&format!("{}/{}", keys_path(&sa.id), cred.id))
        .await
        .error(404);
    // A key is found only under its owner.
    let stranger = h.create_sa(&sa.project_id, "stranger").await;
    h.get(&format!("{}/{}", keys_path(&stranger.id), other.id))
        .await
        .error(404);
    h.delete(&format!("{}/{}", keys_path(&stranger.id), other.id))
        .await
        .error(404);
    h.get(&keys_path(&"0".repeat(32))).await.error(404);
}

#[tokio::test]
async fn the_project_listing_orders_by_owner_then_name_and_pages() {
    let h = Harness::new().await;
    let p = h.create_project("analytics").await;
    let mut expected = Vec::new();
    for sa_name in ["a", "b", "c"] {
        let sa = h.create_sa(&p.id, sa_name).await;
        for key in ["zz", "aa"] {
            h.create_key(&sa.id, key).await;
            expected.push((sa.id.clone(), key.to_string()));
        }
    }
    // Keys of another project never appear.
    let other = h.create_project("other").await;
    let stranger = h.create_sa(&other.id, "a").await;
    h.create_key(&stranger.id, "aa").await;
    expected.sort();
    let base = format!("/identity/v3/projects/{}/application_credentials", p.id);
    let mut seen = Vec::new();
    for offset in (0..6).step_by(4) {
        let page: ApplicationCredentialList = parse(
            h.get(&format!("{base}?limit=4&offset={offset}"))
                .await
                .ok(200),
        );
        let pagination = page.pagination.expect("pagination");
        assert_eq!(
            (pagination.total, pagination.limit, pagination.offset),
            (6, 4, offset)
        );
        seen.extend(
            page.application_credentials
                .into_iter()
                .map(|k| (k.user_id, k.name)),
        );
    }
    assert_eq!(seen, expected);
    let named: ApplicationCredentialList = parse(h.get(&format!("{base}?name=zz")).await.ok(200));
    assert_eq!(named.application_credentials.len(), 3);
    let by_name: ApplicationCredentialList = parse(
        h.get(&format!("{}?name=zz", keys_path(&expected[0].0)))
            .await
            .ok(200),
    );
    assert_eq!(by_name.application_credentials.len(), 1);
}

#[tokio::test]
async fn keys_of_organization_users_are_not_managed_through_the_api() {
    let h = Harness::new().await;
    let admin_token: crate::wire::TokenBody =
        parse(h.issue(&h.emu.admin_credential().clone()).await.ok(201));
    let admin_id = admin_token.token.user.id.expect("user id");
    let msg = h
        .post(&keys_path(&admin_id), new_key(json!({"name": "mine"})))
        .await
        .error(403);
    assert!(msg.contains("not a service account"), "{msg}");
    let own = h.get(&keys_path(&admin_id)).await;
    assert_eq!(
        own.ok(200)["application_credentials"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let key_id = &h.emu.admin_credential().id;
    h.delete(&format!("{}/{key_id}", keys_path(&admin_id)))
        .await
        .error(403);
}
