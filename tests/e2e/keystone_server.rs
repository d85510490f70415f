//! The real OpenStack Keystone that `.ci/run` starts with `tests/keystone/serve` (Keystone 30,
//! SQLite, fernet tokens, served under `/identity`), as tests reach it: its address comes from
//! `KCFORM_TEST_KEYSTONE_URL` (e.g. `http://127.0.0.1:5990/identity`) and the bootstrap admin's
//! password from `KCFORM_TEST_KEYSTONE_ADMIN_PASSWORD`.
//!
//! Without the address a test is skipped with a note written straight to the process's stderr
//! (libtest captures `eprintln!`, and a skip must show in plain `cargo test`); under `CI=true`
//! it fails instead, since `.ci/run` always starts Keystone.
//!
//! The helpers set up principals the way Keystone's policies allow: the admin (password,
//! scoped to project `admin`) creates users and grants roles, and a user creates application
//! credentials only for itself, with a token from its password (a token issued from an
//! application credential may not manage application credentials). Every name is made unique,
//! so tests can share one Keystone and run again against it. Secrets are returned to the
//! caller and never printed.
//!
//! Users are never deleted: Keystone deletes a user's application credentials with a bulk
//! query that, on SQLite (no foreign keys), leaves their role rows behind, and the next
//! credential that reuses the row ID then fails with `409 Conflict`. The server is throwaway.

#![allow(dead_code)]

use std::io::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

/// The variable holding Keystone's address, up to and including `/identity`.
pub const URL_ENV: &str = "KCFORM_TEST_KEYSTONE_URL";
/// The variable holding the bootstrap admin's password.
pub const ADMIN_PASSWORD_ENV: &str = "KCFORM_TEST_KEYSTONE_ADMIN_PASSWORD";
/// The admin password `tests/keystone/serve` uses when none is given.
pub const DEFAULT_ADMIN_PASSWORD: &str = "kcform-test-admin";
/// The project `keystone-manage bootstrap` creates (and the admin's token is scoped to).
pub const ADMIN_PROJECT: &str = "admin";

/// A running Keystone.
#[derive(Debug, Clone)]
pub struct KeystoneServer {
    /// `http://HOST:PORT/identity`, without a trailing slash.
    pub url: String,
    admin_password: String,
    http: reqwest::Client,
}

/// A Keystone user made by [`KeystoneServer::create_user`].
#[derive(Debug, Clone)]
pub struct KeystoneUser {
    /// User ID.
    pub id: String,
    /// User name.
    pub name: String,
    /// Its password (never printed).
    pub password: String,
    /// The project it holds a role in, which its tokens are scoped to.
    pub project_id: String,
}

/// An application credential as its creator receives it.
#[derive(Debug, Clone)]
pub struct KeystoneAppCred {
    /// Credential ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Secret (shown only once by Keystone; never printed).
    pub secret: String,
    /// Owner.
    pub user_id: String,
}

/// One answer from Keystone: status, headers, and the body as JSON when it is JSON.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body parsed as JSON, `None` when empty or not JSON.
    pub json: Option<Value>,
}

impl KeystoneServer {
    /// The Keystone named by [`URL_ENV`], or `None` — after writing a note naming `test` to
    /// stderr — when it is not set. Under `CI=true` a missing address fails the test.
    pub fn from_env(test: &str) -> Option<KeystoneServer> {
        let url = std::env::var(URL_ENV)
            .ok()
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty());
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let Some(url) = url else {
            assert!(
                !in_ci,
                "CI=true but {URL_ENV} is not set: .ci/run starts a real Keystone with \
                 tests/keystone/serve and exports its address"
            );
            // Straight to the process's stderr: libtest captures `eprintln!`, and a skip must
            // show in plain `cargo test` output.
            let _ = writeln!(
                std::io::stderr(),
                "note: skipping {test}: {URL_ENV} is not set (.ci/run starts a real Keystone; \
                 locally: python -m venv V && V/bin/pip install keystone==30.0.0 && \
                 V/bin/python tests/keystone/serve --dir /tmp/ks --port 5990, then \
                 {URL_ENV}=http://127.0.0.1:5990/identity)"
            );
            return None;
        };
        let admin_password = std::env::var(ADMIN_PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| DEFAULT_ADMIN_PASSWORD.to_string());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        Some(KeystoneServer {
            url,
            admin_password,
            http,
        })
    }

    /// `<url>/v3`.
    pub fn v3(&self) -> String {
        format!("{}/v3", self.url)
    }

    /// Sends `method` to `<url>/v3<path>` with `token` (if any) and a JSON `body` (if any).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.v3()));
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("Keystone at {} does not answer: {e}", self.url));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("Keystone's answer");
        Answer {
            status,
            headers,
            json: serde_json::from_slice(&bytes).ok(),
        }
    }

    /// Like [`KeystoneServer::call`], and panics unless the status is `expected`; the body is
    /// shown only for error answers (success answers may carry secrets).
    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        expected: u16,
    ) -> Answer {
        let what = format!("{method} {path}");
        let answer = self.call(method, path, token, body).await;
        assert_eq!(
            answer.status,
            expected,
            "Keystone: {what} answered {}: {}",
            answer.status,
            if answer.status >= 400 {
                answer
                    .json
                    .as_ref()
                    .map_or_else(String::new, Value::to_string)
            } else {
                String::new()
            }
        );
        answer
    }

    /// Issues a token for `auth` (the inside of `{"auth": …}`) and returns it.
    async fn token(&self, auth: Value) -> (String, Value) {
        let answer = self
            .expect(
                reqwest::Method::POST,
                "/auth/tokens",
                None,
                Some(&json!({ "auth": auth })),
                201,
            )
            .await;
        let token = answer
            .headers
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .expect("a token in X-Subject-Token")
            .to_string();
        (token, answer.json.unwrap_or(Value::Null))
    }

    /// A token of the bootstrap admin (password), scoped to project `admin`.
    pub async fn admin_token(&self) -> String {
        let auth = json!({
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": self.admin_password
            }}},
            "scope": {"project": {"name": ADMIN_PROJECT, "domain": {"id": "default"}}}
        });
        self.token(auth).await.0
    }

    /// The ID of project `name` (domain `Default`).
    pub async fn project_id(&self, admin: &str, name: &str) -> String {
        self.id_by_name(admin, "projects", &format!("name={name}&domain_id=default"))
            .await
    }

    /// The ID of role `name` (e.g. `member`, `reader`, `admin`).
    pub async fn role_id(&self, admin: &str, name: &str) -> String {
        self.id_by_name(admin, "roles", &format!("name={name}"))
            .await
    }

    /// The ID of the first of `collection` (`projects`, `roles`) that `query` selects.
    async fn id_by_name(&self, admin: &str, collection: &str, query: &str) -> String {
        let answer = self
            .expect(
                reqwest::Method::GET,
                &format!("/{collection}?{query}"),
                Some(admin),
                None,
                200,
            )
            .await;
        answer
            .json
            .as_ref()
            .and_then(|j| j[collection][0]["id"].as_str())
            .unwrap_or_else(|| panic!("Keystone has no {collection} matching `{query}`"))
            .to_string()
    }

    /// Creates a user named `<prefix>-<random>` in domain `Default` with a random password and
    /// grants it `role` on `project_id`.
    pub async fn create_user(
        &self,
        admin: &str,
        prefix: &str,
        project_id: &str,
        role: &str,
    ) -> KeystoneUser {
        let name = format!("{prefix}-{}", random_hex(8));
        let password = random_hex(24);
        let answer = self
            .expect(
                reqwest::Method::POST,
                "/users",
                Some(admin),
                Some(&json!({"user": {
                    "name": name, "password": password, "domain_id": "default",
                    "default_project_id": project_id
                }})),
                201,
            )
            .await;
        let id = answer
            .json
            .as_ref()
            .and_then(|j| j["user"]["id"].as_str())
            .expect("the new user's ID")
            .to_string();
        let role_id = self.role_id(admin, role).await;
        self.expect(
            reqwest::Method::PUT,
            &format!("/projects/{project_id}/users/{id}/roles/{role_id}"),
            Some(admin),
            None,
            204,
        )
        .await;
        KeystoneUser {
            id,
            name,
            password,
            project_id: project_id.to_string(),
        }
    }

    /// A token of `user` from its password, scoped to its project: the kind of token Keystone
    /// accepts for managing the user's own application credentials.
    pub async fn user_token(&self, user: &KeystoneUser) -> String {
        let auth = json!({
            "identity": {"methods": ["password"], "password": {"user": {
                "id": user.id, "password": user.password
            }}},
            "scope": {"project": {"id": user.project_id}}
        });
        self.token(auth).await.0
    }

    /// Creates an application credential `name` for the user whose password token is
    /// `user_token` (Keystone lets a user create them only for itself).
    pub async fn create_app_cred(
        &self,
        user_token: &str,
        user_id: &str,
        name: &str,
    ) -> KeystoneAppCred {
        let answer = self
            .expect(
                reqwest::Method::POST,
                &format!("/users/{user_id}/application_credentials"),
                Some(user_token),
                Some(&json!({"application_credential": {"name": name}})),
                201,
            )
            .await;
        let cred = &answer.json.as_ref().expect("a JSON answer")["application_credential"];
        KeystoneAppCred {
            id: cred["id"].as_str().expect("an ID").to_string(),
            name: name.to_string(),
            secret: cred["secret"].as_str().expect("a secret").to_string(),
            user_id: user_id.to_string(),
        }
    }

    /// A token issued from an application credential (by ID).
    pub async fn app_cred_token(&self, cred: &KeystoneAppCred) -> String {
        let auth = json!({"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": cred.id, "secret": cred.secret}
        }});
        self.token(auth).await.0
    }

    /// Enables or disables a user (disabling revokes its tokens).
    pub async fn set_user_enabled(&self, admin: &str, user_id: &str, enabled: bool) {
        self.expect(
            reqwest::Method::PATCH,
            &format!("/users/{user_id}"),
            Some(admin),
            Some(&json!({"user": {"enabled": enabled}})),
            200,
        )
        .await;
    }
}

/// `n` random hex digits.
pub fn random_hex(n: usize) -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}
