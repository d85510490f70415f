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

mod compare;
mod script;
mod sides;
mod table;

use compare::*;
use script::*;
use sides::*;
use table::*;

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
