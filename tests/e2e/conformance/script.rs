//! The script of cases, run the same against both sides.

use super::*;

pub(super) fn auth_by_id(id: &str, secret: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": id, "secret": secret}}}})
}

pub(super) fn auth_by_name(name: &str, secret: &str, user_id: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"name": name, "secret": secret, "user": {"id": user_id}}}}})
}

pub(super) fn new_key(name: &str) -> Value {
    json!({"application_credential": {"name": name}})
}

/// An ID no server has issued.
pub(super) const UNKNOWN_ID: &str = "0123456789abcdef0123456789abcdef";

/// The script: every case, in order, run against one side. Both sides run the same script;
/// later cases may use what earlier ones created.
pub(super) async fn script(side: &Side) -> Vec<(String, Seen)> {
    let mut log: Vec<(String, Seen)> = Vec::new();
    let p = &side.principal;
    let keys = format!("/v3/users/{p}/application_credentials");
    let tokens = "/v3/auth/tokens";
    let own = side.token_of(&side.key).await;
    macro_rules! case {
        ($name:expr, $req:expr) => {{
            let seen = side.send(&$req).await;
            log.push(($name.to_string(), seen.clone()));
            seen
        }};
    }

    // Version documents.
    case!("discovery.versions", Req::get(""));
    case!("discovery.versions-slash", Req::get("/"));
    case!("discovery.v3", Req::get("/v3"));
    case!("discovery.v3-slash", Req::get("/v3/"));
    case!("discovery.post", Req::post("/v3", json!({})));

    // Token issue.
    let (id, secret) = (&side.key.id, &side.key.secret);
    case!(
        "token.issue-by-id",
        Req::post(tokens, auth_by_id(id, secret))
    );
    case!(
        "token.issue-by-name",
        Req::post(tokens, auth_by_name(&side.key.name, secret, p))
    );
    case!(
        "token.issue-unknown-fields",
        Req::post(
            tokens,
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": id, "secret": secret, "extra": 1},
                "extra": 2}, "extra": 3}, "extra": 4})
        )
    );
    case!(
        "token.wrong-secret",
        Req::post(tokens, auth_by_id(id, "not-the-secret"))
    );
    case!(
        "token.unknown-id",
        Req::post(tokens, auth_by_id(UNKNOWN_ID, "not-the-secret"))
    );
    case!(
        "token.unknown-name",
        Req::post(tokens, auth_by_name("no-such-key", "not-the-secret", p))
    );
    case!(
        "token.unknown-user",
        Req::post(
            tokens,
            auth_by_name(&side.key.name, "not-the-secret", UNKNOWN_ID)
        )
    );
    case!(
        "token.name-without-user",
        Req::post(
            tokens,
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"name": side.key.name, "secret": secret}}}})
        )
    );
    case!(
        "token.missing-application-credential",
        Req::post(
            tokens,
            json!({"auth": {"identity": {"methods": ["application_credential"]}}})
        )
    );
    case!(
        "token.other-method",
        Req::post(
            tokens,
            json!({"auth": {"identity": {"methods": ["password"],
                "application_credential": {"id": id, "secret": secret}}}})
        )
    );
    let body = serde_json::to_vec(&auth_by_id(id, secret)).unwrap();
    case!(
        "token.no-content-type",
        Req::new(Method::POST, tokens).raw(body.clone(), None)
    );
    case!(
        "token.text-content-type",
        Req::new(Method::POST, tokens).raw(body, Some("text/plain"))
    );
    case!(
        "token.not-json",
        Req::new(Method::POST, tokens).raw(b"{\"auth\": ".to_vec(), Some("application/json"))
    );
    case!(
        "token.empty-body",
        Req::new(Method::POST, tokens).raw(Vec::new(), Some("application/json"))
    );
    // Keystone's default limit is 112 KiB. (Bodies far over it are not sent: a server may
    // answer before reading them and reset the connection while the client still writes.)
    case!(
        "token.body-under-limit",
        Req::new(Method::POST, tokens).raw(padded_body(100 * 1024), Some("application/json"))
    );
    case!(
        "token.body-over-limit",
        Req::new(Method::POST, tokens).raw(padded_body(120 * 1024), Some("application/json"))
    );
    case!("token.put", Req::new(Method::PUT, tokens).json(json!({})));

    // People's keys: a person's token carries `project` as a service account's does.
    for (prefix, user, key) in [
        ("token.person", &side.person, &side.person_key),
        ("token.org-admin", &side.org_admin, &side.org_admin_key),
    ] {
        case!(
            format!("{prefix}-issue-by-id"),
            Req::post(tokens, auth_by_id(&key.id, &key.secret))
        );
        case!(
            format!("{prefix}-issue-by-name"),
            Req::post(tokens, auth_by_name(&key.name, &key.secret, user))
        );
        let theirs = side.token_of(key).await;
        case!(
            format!("{prefix}-validate-own"),
            Req::get(tokens).token(&theirs).subject(&theirs)
        );
        case!(
            format!("{prefix}-validated-by-admin"),
            Req::get(tokens).token(&side.admin).subject(&theirs)
        );
        case!(
            format!("{prefix}-wrong-secret"),
            Req::post(tokens, auth_by_id(&key.id, "not-the-secret"))
        );
    }

    // Validation and revocation.
    let subject = side.token_of(&side.key).await;
    case!(
        "token.validate",
        Req::get(tokens).token(&own).subject(&subject)
    );
    case!(
        "token.validate-head",
        Req::new(Method::HEAD, tokens).token(&own).subject(&subject)
    );
    case!(
        "token.validate-without-subject",
        Req::get(tokens).token(&own)
    );
    case!(
        "token.validate-unknown",
        Req::get(tokens).token(&own).subject("not-a-token")
    );
    case!(
        "token.validate-without-auth",
        Req::get(tokens).subject(&subject)
    );
    let others = side.token_of(&side.other_key).await;
    case!(
        "token.validate-another-users-token",
        Req::get(tokens).token(&own).subject(&others)
    );
    case!(
        "token.validate-as-admin",
        Req::get(tokens).token(&side.admin).subject(&subject)
    );
    case!(
        "token.revoke",
        Req::new(Method::DELETE, tokens)
            .token(&own)
            .subject(&subject)
    );
    case!(
        "token.validate-revoked",
        Req::get(tokens).token(&own).subject(&subject)
    );
    case!("token.use-revoked", Req::get(keys.clone()).token(&subject));
    case!(
        "token.revoke-without-subject",
        Req::new(Method::DELETE, tokens).token(&own)
    );
    case!(
        "token.revoke-unknown",
        Req::new(Method::DELETE, tokens)
            .token(&own)
            .subject("not-a-token")
    );

    // Expiry: deactivating a service account (disabling a Keystone user) expires its tokens
    // and keys at once.
    side.deactivate_other().await;
    case!(
        "token.validate-expired",
        Req::get(tokens).token(&side.admin).subject(&others)
    );
    case!(
        "token.use-expired",
        Req::get(format!("/v3/users/{}/application_credentials", side.other)).token(&others)
    );
    case!(
        "token.issue-from-expired-key",
        Req::post(
            tokens,
            auth_by_id(&side.other_key.id, &side.other_key.secret)
        )
    );

    // Application credentials: create and its refusals.
    let manager = &side.manager;
    let create = |body: Value| Req::post(keys.clone(), body).token(manager);
    case!(
        "keys.create-unknown-field",
        create(json!({"application_credential": {"name": "extra", "extra": 1}}))
    );
    case!(
        "keys.create-unknown-top-level-field",
        create(json!({"application_credential": {"name": "extra"}, "extra": 1}))
    );
    case!(
        "keys.create-without-name",
        create(json!({"application_credential": {}}))
    );
    case!(
        "keys.create-without-wrapper",
        create(json!({"name": "bare"}))
    );
    case!(
        "keys.create-name-not-a-string",
        create(json!({"application_credential": {"name": 5}}))
    );
    case!(
        "keys.create-no-content-type",
        Req::new(Method::POST, keys.clone())
            .token(manager)
            .raw(serde_json::to_vec(&new_key("plain")).unwrap(), None)
    );
    case!(
        "keys.create-long-name",
        create(new_key(&format!("k{}", "a".repeat(30))))
    );
    case!("keys.create-name-charset", create(new_key("CI Key")));
    case!(
        "keys.create-long-description",
        create(json!({"application_credential": {"name": "described",
            "description": "d".repeat(31)}}))
    );
    case!(
        "keys.create-expires-at",
        create(json!({"application_credential": {"name": "expiring",
            "expires_at": "2099-01-01T00:00:00Z"}}))
    );
    case!(
        "keys.create-unrestricted",
        create(json!({"application_credential": {"name": "unrestricted",
            "unrestricted": true}}))
    );
    case!(
        "keys.create-with-key-token",
        Req::post(keys.clone(), new_key("by-key")).token(&own)
    );
    case!(
        "keys.create-for-unknown-user",
        Req::post(
            format!("/v3/users/{UNKNOWN_ID}/application_credentials"),
            new_key("nobody")
        )
        .token(&own)
    );
    case!(
        "keys.create-without-token",
        Req::post(keys.clone(), new_key("anonymous"))
    );
    let created = case!(
        "keys.create",
        create(json!({"application_credential": {"name": "second",
            "description": "GitHub Actions"}}))
    );
    assert_eq!(
        created.status,
        201,
        "{}: keys.create: {:?}",
        side.label(),
        created.json
    );
    let second = created.string("/application_credential/id");
    case!("keys.create-duplicate-name", create(new_key("second")));
    case!("keys.create-third", create(new_key("third")));

    // Reads.
    case!("keys.list", Req::get(keys.clone()).token(&own));
    case!(
        "keys.list-by-name",
        Req::get(format!("{keys}?name=second")).token(&own)
    );
    case!(
        "keys.list-another-users",
        Req::get(format!("/v3/users/{}/application_credentials", side.other)).token(&own)
    );
    case!(
        "keys.list-unknown-user",
        Req::get(format!("/v3/users/{UNKNOWN_ID}/application_credentials")).token(&own)
    );
    case!("keys.list-without-token", Req::get(keys.clone()));
    case!(
        "keys.get",
        Req::get(format!("{keys}/{}", side.key.id)).token(&own)
    );
    case!(
        "keys.get-described",
        Req::get(format!("{keys}/{second}")).token(&own)
    );
    case!(
        "keys.get-unknown",
        Req::get(format!("{keys}/{UNKNOWN_ID}")).token(&own)
    );
    case!(
        "keys.patch",
        Req::new(Method::PATCH, format!("{keys}/{second}"))
            .token(&own)
            .json(json!({"application_credential": {"description": "changed"}}))
    );
    case!(
        "keys.delete-list",
        Req::new(Method::DELETE, keys.clone()).token(&own)
    );

    // Delete.
    case!(
        "keys.delete-with-key-token",
        Req::new(Method::DELETE, format!("{keys}/{second}")).token(&own)
    );
    case!(
        "keys.delete",
        Req::new(Method::DELETE, format!("{keys}/{second}")).token(manager)
    );
    case!(
        "keys.delete-again",
        Req::new(Method::DELETE, format!("{keys}/{second}")).token(manager)
    );
    case!(
        "keys.get-deleted",
        Req::get(format!("{keys}/{second}")).token(&own)
    );
    let second_secret = created.string("/application_credential/secret");
    case!(
        "token.issue-from-deleted-key",
        Req::post(tokens, auth_by_id(&second, &second_secret))
    );

    // Routes that do not exist.
    case!(
        "routes.unknown-v3",
        Req::get("/v3/no-such-route").token(&own)
    );
    case!("routes.unknown", Req::get("/no-such-route"));
    log
}

/// A JSON body of about `size` bytes: a token request without its credential (400 when read)
/// and a long unknown field.
pub(super) fn padded_body(size: usize) -> Vec<u8> {
    let mut body = json!({"auth": {"identity": {"methods": ["application_credential"]}}});
    body["padding"] = Value::String("x".repeat(size));
    serde_json::to_vec(&body).unwrap()
}
