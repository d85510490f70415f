//! Differential conformance: the same requests go to a real Keystone 30 (see
//! `keystone_server`) and to the emulator, for every route `docs/api.md` marks as
//! KakaoCloud's (Keystone's): the version documents, token issue, validation and revocation,
//! and application credentials, with their error cases (wrong secret, unknown credential,
//! unknown fields, missing `Content-Type`, unknown routes and methods, oversized bodies…).
//!
//! Each answer pair is compared on its status, the headers kcform relies on (`Content-Type`'s
//! media type, `X-Subject-Token`, `WWW-Authenticate`, `Retry-After` — present or not —
//! `Location`'s path and `Allow`'s methods), and the set of body field names as paths
//! (`token.user.id`, `application_credentials[].roles[].name`), never values. A status that
//! differs hides the rest of that answer's differences, as does a `Content-Type` that differs.
//!
//! Every difference must be listed in the table "Deliberate differences from Keystone" of
//! `docs/api.md` (a row: the case, a `*` glob over case names, and the difference, exactly as
//! this test words it), and every row must still match a difference: an undocumented new
//! difference fails, and so does a documented one that is gone.
//!
//! The principals are equivalent on both sides. Keystone: a user with role `member` on project
//! `admin` (its application credential `ci` is the principal's key; its password token creates
//! and deletes its credentials, as Keystone allows only a user itself to), a second such user,
//! and the bootstrap admin. Emulator: a service account `principal` (key `ci`) and a second one
//! in a project, and an Org Admin person from `POST /_emulator/users` who manages their keys.
//!
//! People's tokens are compared too (`token.person-*`, `token.org-admin-*`): on Keystone, the
//! application credentials of a user with role `member` and of a user with role `admin` on
//! project `admin`; on the emulator, the keys of a person with a project role and of the Org
//! Admin person (every token carries `project`, a person's as a service account's).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::keystone_server::{self, KeystoneServer};

/// The table this test enforces, and its heading.
const API_DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md");
const TABLE_HEADING: &str = "## Deliberate differences from Keystone";

/// The headers kcform relies on; compared on presence unless [`header_value`] normalizes them.
const HEADERS: [&str; 5] = [
    "x-subject-token",
    "www-authenticate",
    "retry-after",
    "location",
    "allow",
];

/// An access key (application credential) as its creator received it.
#[derive(Debug, Clone)]
struct Cred {
    id: String,
    name: String,
    secret: String,
}

/// Which server a [`Side`] talks to, with what only that server needs.
enum Server {
    Keystone(KeystoneServer),
    Emulator {
        _running: kcform::emulator::RunningEmulator,
        project_id: String,
    },
}

/// One side of the comparison: a server and its principals.
struct Side {
    server: Server,
    /// `http://HOST:PORT/identity`.
    identity: String,
    http: reqwest::Client,
    /// A token that may disable users and validate anyone's token (Keystone's bootstrap admin,
    /// the emulator's Org Admin person).
    admin: String,
    /// A token that may create and delete the principal's keys (Keystone: the principal's own
    /// password token; emulator: the Org Admin person).
    manager: String,
    /// The principal's user ID.
    principal: String,
    /// The principal's key `ci`.
    key: Cred,
    /// A second principal, deactivated (disabled) by the test.
    other: String,
    /// The second principal's key.
    other_key: Cred,
    /// A person with a role in one project (Keystone: `member` of `admin`), and its key.
    person: String,
    person_key: Cred,
    /// A person who administers everything (Keystone: `admin` of `admin`; the emulator's Org
    /// Admin), and its key.
    org_admin: String,
    org_admin_key: Cred,
}

/// A request body.
enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>, Option<&'static str>),
}

/// One request, relative to `<endpoint>/identity`.
struct Req {
    method: Method,
    path: String,
    token: Option<String>,
    subject: Option<String>,
    body: Body,
}

impl Req {
    fn new(method: Method, path: impl Into<String>) -> Req {
        Req {
            method,
            path: path.into(),
            token: None,
            subject: None,
            body: Body::None,
        }
    }

    fn get(path: impl Into<String>) -> Req {
        Req::new(Method::GET, path)
    }

    fn post(path: impl Into<String>, body: Value) -> Req {
        Req::new(Method::POST, path).json(body)
    }

    fn token(mut self, token: &str) -> Req {
        self.token = Some(token.to_string());
        self
    }

    fn subject(mut self, token: &str) -> Req {
        self.subject = Some(token.to_string());
        self
    }

    fn json(mut self, body: Value) -> Req {
        self.body = Body::Json(body);
        self
    }

    fn raw(mut self, bytes: Vec<u8>, content_type: Option<&'static str>) -> Req {
        self.body = Body::Raw(bytes, content_type);
        self
    }
}

/// What the comparison looks at in one answer.
#[derive(Debug, Clone)]
struct Seen {
    status: u16,
    /// The media type of `Content-Type`, lowercase, without parameters.
    content_type: Option<String>,
    /// [`HEADERS`], normalized by [`header_value`].
    headers: BTreeMap<&'static str, String>,
    /// Every field path of a JSON body (none for an empty or non-JSON body).
    fields: BTreeSet<String>,
    /// The JSON body, for the script's own use (it may hold secrets: never printed).
    json: Option<Value>,
    /// `X-Subject-Token`'s value, for the script's own use (never printed).
    subject_token: Option<String>,
}

impl Seen {
    fn string(&self, pointer: &str) -> String {
        self.json
            .as_ref()
            .and_then(|j| j.pointer(pointer))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no string at {pointer} (status {})", self.status))
            .to_string()
    }
}

/// A difference between the two answers of one case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Difference {
    case: String,
    what: String,
}

/// A row of the documented table.
#[derive(Debug, Clone)]
struct Row {
    case: String,
    what: String,
    line: usize,
}

impl Side {
    async fn send(&self, req: &Req) -> Seen {
        send(&self.http, &self.identity, req).await
    }

    /// Issues a token from `cred` by ID and returns it.
    async fn token_of(&self, cred: &Cred) -> String {
        let seen = self
            .send(&Req::post(
                "/v3/auth/tokens",
                auth_by_id(&cred.id, &cred.secret),
            ))
            .await;
        assert_eq!(seen.status, 201, "{}: token issue", self.label());
        seen.subject_token.expect("X-Subject-Token")
    }

    /// Deactivates the second principal: disables the Keystone user, sets the emulator's
    /// service account `inactive`. Either way its tokens stop working at once.
    async fn deactivate_other(&self) {
        match &self.server {
            Server::Keystone(keystone) => {
                keystone
                    .set_user_enabled(&self.admin, &self.other, false)
                    .await;
            }
            Server::Emulator { project_id, .. } => {
                let seen = self
                    .send(
                        &Req::new(
                            Method::PATCH,
                            format!("/v3/projects/{project_id}/service_accounts/{}", self.other),
                        )
                        .token(&self.admin)
                        .json(json!({"service_account": {"status": "inactive"}})),
                    )
                    .await;
                assert_eq!(seen.status, 200, "deactivating the second service account");
            }
        }
    }

    fn label(&self) -> &'static str {
        match self.server {
            Server::Keystone(_) => "Keystone",
            Server::Emulator { .. } => "emulator",
        }
    }
}

/// Sends `req` to `<identity><path>` and records what the comparison needs.
async fn send(http: &reqwest::Client, identity: &str, req: &Req) -> Seen {
    let url = format!("{identity}{}", req.path);
    let mut builder = http.request(req.method.clone(), url);

    if let Some(token) = &req.token {
        builder = builder.header("X-Auth-Token", token);
    }
    if let Some(subject) = &req.subject {
        builder = builder.header("X-Subject-Token", subject);
    }
    builder = match &req.body {
        Body::None => builder,
        Body::Json(value) => builder.json(value),
        Body::Raw(bytes, content_type) => {
            let builder = builder.body(bytes.clone());
            match content_type {
                Some(ct) => builder.header("Content-Type", *ct),
                None => builder,
            }
        }
    };
    let response = builder
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} {}: no answer: {e}", req.method, req.path));
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let subject_token = header("x-subject-token");
    let headers = HEADERS
        .iter()
        .filter_map(|name| header(name).map(|value| (*name, header_value(name, &value, identity))))
        .collect();
    let bytes = response.bytes().await.expect("the body");
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    let mut fields = BTreeSet::new();
    if let Some(json) = &json {
        field_paths(json, "", &mut fields);
    }
    Seen {
        status,
        content_type,
        headers,
        fields,
        json,
        subject_token,
    }
}

/// A header's value as compared: `Location` as a path relative to `<endpoint>/identity`,
/// `Allow` as its sorted methods without `HEAD` and `OPTIONS` (which servers add on their
/// own), any other header only as present.
fn header_value(name: &str, value: &str, identity: &str) -> String {
    match name {
        "location" => value.strip_prefix(identity).unwrap_or(value).to_string(),
        "allow" => {
            let methods: BTreeSet<String> = value
                .split(',')
                .map(|m| m.trim().to_ascii_uppercase())
                .filter(|m| !m.is_empty() && m != "HEAD" && m != "OPTIONS")
                .collect();
            methods.into_iter().collect::<Vec<_>>().join(" ")
        }
        _ => "present".to_string(),
    }
}

/// Every field path of `value` under `prefix`: `a.b` for objects, `a[]` for array elements
/// (the union over all of them).
fn field_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                out.insert(path.clone());
                field_paths(child, &path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                field_paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// The paths of `paths` whose parent is not in `paths` too: a whole missing object is one
/// difference, not one per field.
fn topmost(paths: &BTreeSet<&String>) -> Vec<String> {
    paths
        .iter()
        .filter(|path| {
            let parents = path
                .char_indices()
                .filter(|(_, c)| *c == '.' || *c == '[')
                .map(|(i, _)| &path[..i]);
            !parents
                .into_iter()
                .any(|parent| paths.iter().any(|p| p.as_str() == parent))
        })
        .map(|p| p.to_string())
        .collect()
}

fn show(value: Option<&String>) -> &str {
    value.map_or("none", String::as_str)
}

/// The differences between Keystone's answer `k` and the emulator's `e` to one case.
fn differences(case: &str, k: &Seen, e: &Seen) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut add = |what: String| {
        out.push(Difference {
            case: case.to_string(),
            what,
        })
    };
    if k.status != e.status {
        add(format!(
            "status: Keystone {}, emulator {}",
            k.status, e.status
        ));
        return out;
    }
    for name in HEADERS {
        let (kv, ev) = (k.headers.get(name), e.headers.get(name));
        if kv != ev {
            add(format!(
                "header {name}: Keystone {}, emulator {}",
                show(kv),
                show(ev)
            ));
        }
    }
    if k.content_type != e.content_type {
        add(format!(
            "content-type: Keystone {}, emulator {}",
            show(k.content_type.as_ref()),
            show(e.content_type.as_ref())
        ));
        return out;
    }
    let only_k: BTreeSet<&String> = k.fields.difference(&e.fields).collect();
    let only_e: BTreeSet<&String> = e.fields.difference(&k.fields).collect();
    for path in topmost(&only_k) {
        add(format!("field {path}: Keystone only"));
    }
    for path in topmost(&only_e) {
        add(format!("field {path}: emulator only"));
    }
    out
}

fn auth_by_id(id: &str, secret: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": id, "secret": secret}}}})
}

fn auth_by_name(name: &str, secret: &str, user_id: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"name": name, "secret": secret, "user": {"id": user_id}}}}})
}

fn new_key(name: &str) -> Value {
    json!({"application_credential": {"name": name}})
}

/// An ID no server has issued.
const UNKNOWN_ID: &str = "0123456789abcdef0123456789abcdef";

/// The script: every case, in order, run against one side. Both sides run the same script;
/// later cases may use what earlier ones created.
async fn script(side: &Side) -> Vec<(String, Seen)> {
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
fn padded_body(size: usize) -> Vec<u8> {
    let mut body = json!({"auth": {"identity": {"methods": ["application_credential"]}}});
    body["padding"] = Value::String("x".repeat(size));
    serde_json::to_vec(&body).unwrap()
}

async fn keystone_side(keystone: KeystoneServer, http: reqwest::Client) -> Side {
    let admin = keystone.admin_token().await;
    let project = keystone
        .project_id(&admin, keystone_server::ADMIN_PROJECT)
        .await;
    let principal = keystone
        .create_user(&admin, "kcform-conformance", &project, "member")
        .await;
    let manager = keystone.user_token(&principal).await;
    let key = keystone
        .create_app_cred(&manager, &principal.id, "ci")
        .await;
    let other = keystone
        .create_user(&admin, "kcform-conformance-other", &project, "member")
        .await;
    let other_manager = keystone.user_token(&other).await;
    let other_key = keystone
        .create_app_cred(&other_manager, &other.id, "ci")
        .await;
    let mut people = Vec::new();
    for (prefix, role) in [
        ("kcform-conformance-person", "member"),
        ("kcform-conformance-lead", "admin"),
    ] {
        let user = keystone.create_user(&admin, prefix, &project, role).await;
        let password_token = keystone.user_token(&user).await;
        let key = keystone
            .create_app_cred(&password_token, &user.id, "ci")
            .await;
        people.push((user.id, key));
    }
    let (org_admin, org_admin_key) = people.pop().unwrap();
    let (person, person_key) = people.pop().unwrap();
    let cred = |c: keystone_server::KeystoneAppCred| Cred {
        id: c.id,
        name: c.name,
        secret: c.secret,
    };
    Side {
        identity: keystone.url.clone(),
        server: Server::Keystone(keystone),
        http,
        admin,
        manager,
        principal: principal.id,
        key: cred(key),
        other: other.id,
        other_key: cred(other_key),
        person,
        person_key: cred(person_key),
        org_admin,
        org_admin_key: cred(org_admin_key),
    }
}

async fn emulator_side(http: reqwest::Client) -> Side {
    let running = kcform::emulator::start(
        "127.0.0.1:0".parse().unwrap(),
        kcform::emulator::EmulatorOptions::default(),
    )
    .await
    .expect("the emulator starts");
    let identity = format!("{}/identity", running.base_url());
    let person = http
        .post(format!("{}/_emulator/users", running.base_url()))
        .json(&json!({"name": "conformance-admin", "org_role": "org-admin"}))
        .send()
        .await
        .expect("the emulator answers");
    assert_eq!(person.status().as_u16(), 201, "the Org Admin person");
    let person: Value = person.json().await.expect("JSON");
    let org_admin = person["user_id"].as_str().unwrap().to_string();
    let person_key = Cred {
        id: person["access_key"]["id"].as_str().unwrap().to_string(),
        name: "default".to_string(),
        secret: person["access_key"]["secret"].as_str().unwrap().to_string(),
    };
    let issued = send(
        &http,
        &identity,
        &Req::post(
            "/v3/auth/tokens",
            auth_by_id(&person_key.id, &person_key.secret),
        ),
    )
    .await;
    assert_eq!(issued.status, 201, "the Org Admin's token");
    let admin = issued.subject_token.expect("X-Subject-Token");
    let created = |req: Req, what: &'static str| {
        let (http, identity) = (&http, &identity);
        async move {
            let seen = send(http, identity, &req).await;
            assert_eq!(seen.status, 201, "emulator: creating {what}");
            seen
        }
    };
    let project = created(
        Req::post(
            "/v3/projects",
            json!({"project": {"name": "conformance", "nickname": "Conformance"}}),
        )
        .token(&admin),
        "the project",
    )
    .await
    .string("/project/id");
    let accounts = format!("/v3/projects/{project}/service_accounts");
    let mut principals = Vec::new();
    for name in ["principal", "other"] {
        let user = created(
            Req::post(&accounts, json!({"service_account": {"name": name}})).token(&admin),
            "a service account",
        )
        .await
        .string("/service_account/id");
        let key = created(
            Req::post(
                format!("/v3/users/{user}/application_credentials"),
                new_key("ci"),
            )
            .token(&admin),
            "a key",
        )
        .await;
        principals.push((
            user,
            Cred {
                id: key.string("/application_credential/id"),
                name: "ci".to_string(),
                secret: key.string("/application_credential/secret"),
            },
        ));
    }
    let (other, other_key) = principals.pop().unwrap();
    let (principal, key) = principals.pop().unwrap();
    // A person with a role in that project only (its key is bound to it).
    let member = http
        .post(format!("{}/_emulator/users", running.base_url()))
        .json(&json!({"name": "conformance-member",
            "project_roles": {"conformance": "project-member"}}))
        .send()
        .await
        .expect("the emulator answers");
    assert_eq!(member.status().as_u16(), 201, "the project member person");
    let member: Value = member.json().await.expect("JSON");
    let member_key = Cred {
        id: member["access_key"]["id"].as_str().unwrap().to_string(),
        name: "default".to_string(),
        secret: member["access_key"]["secret"].as_str().unwrap().to_string(),
    };
    Side {
        server: Server::Emulator {
            _running: running,
            project_id: project,
        },
        identity,
        http,
        manager: admin.clone(),
        admin,
        principal,
        key,
        other,
        other_key,
        person: member["user_id"].as_str().unwrap().to_string(),
        person_key: member_key,
        org_admin,
        org_admin_key: person_key,
    }
}

/// The table of `docs/api.md` under [`TABLE_HEADING`]: `| case | difference | why |`.
fn documented() -> Vec<Row> {
    let text = std::fs::read_to_string(API_DOC).expect("docs/api.md");
    let mut rows = Vec::new();
    let mut in_section = false;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("## ") {
            in_section = line.trim() == TABLE_HEADING;
            continue;
        }
        if !in_section || !line.starts_with('|') {
            continue;
        }
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() < 3 || cells[0] == "case" || cells[0].starts_with("---") {
            continue;
        }
        let unquote = |cell: &str| cell.trim_matches('`').to_string();
        rows.push(Row {
            case: unquote(cells[0]),
            what: unquote(cells[1]),
            line: n + 1,
        });
    }
    assert!(
        !rows.is_empty(),
        "docs/api.md has no table under `{TABLE_HEADING}`"
    );
    rows
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

/// Checks the observed differences against the documented rows: every difference is
/// documented, every row still matches one, and no row is listed twice.
fn check_against_table(found: &[Difference], rows: &[Row]) -> Result<(), String> {
    let mut problems = Vec::new();
    let matches = |row: &Row, d: &Difference| glob(&row.what, &d.what) && glob(&row.case, &d.case);
    for d in found {
        if !rows.iter().any(|row| matches(row, d)) {
            problems.push(format!(
                "undocumented difference: | `{}` | `{}` |",
                d.case, d.what
            ));
        }
    }
    for row in rows {
        if !found.iter().any(|d| matches(row, d)) {
            problems.push(format!(
                "docs/api.md:{}: stale row (no such difference any more): | `{}` | `{}` |",
                row.line, row.case, row.what
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for row in rows {
        if !seen.insert((&row.case, &row.what)) {
            problems.push(format!(
                "docs/api.md:{}: row listed twice: | `{}` | `{}` |",
                row.line, row.case, row.what
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn the_emulator_answers_like_keystone_except_for_documented_differences() {
    let Some(keystone) = KeystoneServer::from_env("the Keystone conformance suite") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            // A fresh connection per request: a server that refuses an oversized body answers
            // before reading it and closes the connection, which a reused one would trip on.
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let ks = keystone_side(keystone, http.clone()).await;
        let emu = emulator_side(http).await;
        let k = script(&ks).await;
        let e = script(&emu).await;
        let k_names: Vec<&String> = k.iter().map(|(n, _)| n).collect();
        let e_names: Vec<&String> = e.iter().map(|(n, _)| n).collect();
        assert_eq!(k_names, e_names, "both sides ran the same cases");
        let mut names = BTreeSet::new();
        let mut found = Vec::new();
        for ((name, ks_seen), (_, emu_seen)) in k.iter().zip(&e) {
            assert!(names.insert(name), "case `{name}` twice");
            found.extend(differences(name, ks_seen, emu_seen));
        }
        if let Err(problems) = check_against_table(&found, &documented()) {
            panic!(
                "the emulator and Keystone differ in ways docs/api.md does not say \
                 (fix the emulator, or document a deliberate KakaoCloud rule in the table \
                 `{TABLE_HEADING}`):\n{problems}"
            );
        }
    });
}

fn seen(status: u16, content_type: &str, headers: &[(&'static str, &str)], body: Value) -> Seen {
    let mut fields = BTreeSet::new();
    field_paths(&body, "", &mut fields);
    Seen {
        status,
        content_type: Some(content_type.to_string()),
        headers: headers.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        fields,
        json: Some(body),
        subject_token: None,
    }
}

#[test]
fn differences_name_the_status_headers_and_topmost_fields() {
    let whats = |k: &Seen, e: &Seen| -> Vec<String> {
        differences("c", k, e).into_iter().map(|d| d.what).collect()
    };
    let keystone = seen(
        201,
        "application/json",
        &[("x-subject-token", "present")],
        json!({"token": {"user": {"id": "u", "domain": {"id": "d", "name": "n"}},
            "roles": [{"id": "r", "name": "m"}]}}),
    );
    let same_shape = seen(
        201,
        "application/json",
        &[("x-subject-token", "present")],
        json!({"token": {"user": {"id": "other", "domain": {"id": "x", "name": "y"}},
            "roles": [{"id": "s", "name": "t"}, {"id": "v", "name": "w"}]}}),
    );
    assert!(
        whats(&keystone, &same_shape).is_empty(),
        "values are not compared"
    );
    let emulator = seen(
        201,
        "application/json",
        &[],
        json!({"token": {"user": {"id": "u"}, "roles": [{"id": "r", "name": "m", "x": 1}],
            "extra": {"a": 1}}}),
    );
    assert_eq!(
        whats(&keystone, &emulator),
        [
            "header x-subject-token: Keystone present, emulator none",
            "field token.user.domain: Keystone only",
            "field token.extra: emulator only",
            "field token.roles[].x: emulator only",
        ]
    );
    let refused = seen(400, "application/json", &[], json!({"error": {}}));
    assert_eq!(
        whats(&keystone, &refused),
        ["status: Keystone 201, emulator 400"],
        "a status that differs hides the rest"
    );
    let html = seen(404, "text/html", &[], Value::Null);
    let json_404 = seen(
        404,
        "application/json",
        &[],
        json!({"error": {"code": 404}}),
    );
    assert_eq!(
        whats(&html, &json_404),
        ["content-type: Keystone text/html, emulator application/json"]
    );
    assert_eq!(
        header_value("allow", "GET, OPTIONS, DELETE, POST, HEAD", ""),
        "DELETE GET POST"
    );
    assert_eq!(
        header_value("location", "http://h:1/identity/v3/", "http://h:1/identity"),
        "/v3/"
    );
}

#[test]
fn the_documented_table_is_well_formed_and_checked_both_ways() {
    let rows = documented();
    for row in &rows {
        assert!(
            ["discovery.", "token.", "keys.", "routes."]
                .iter()
                .any(|prefix| row.case.starts_with(prefix)),
            "docs/api.md:{}: `{}` names no case of the suite",
            row.line,
            row.case
        );
    }
    assert!(check_against_table(&[], &rows).is_err(), "stale rows fail");
    let found: Vec<Difference> = rows
        .iter()
        .map(|row| Difference {
            case: row.case.replace('*', "x"),
            what: row.what.replace('*', ""),
        })
        .collect();
    assert_eq!(check_against_table(&found, &rows), Ok(()));
    let mut more = found.clone();
    more.push(Difference {
        case: "keys.get".to_string(),
        what: "field application_credential.new: emulator only".to_string(),
    });
    let problems = check_against_table(&more, &rows).unwrap_err();
    assert!(problems.contains("undocumented difference"), "{problems}");
    assert!(glob("keys.*", "keys.get") && !glob("keys.*", "token.get"));
    assert!(glob("a*c*e", "abcde") && !glob("a*c", "abcd"));
}
