//! End-to-end tests of the emulator: each starts a real server on `127.0.0.1:0` and talks to
//! it over HTTP with reqwest, like kcform's client does. This file holds the shared harness;
//! the submodules group the tests by resource.

mod control;
mod errors;
mod faults;
mod keys;
mod matrix;
mod persistence;
mod projects;
mod queries;
mod roles;
mod rules;
mod service_accounts;
mod storage;
mod tokens;

use std::net::{Ipv4Addr, SocketAddr};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{EmulatorOptions, RunningEmulator, start};
use crate::wire::{self, AccessKeyCredential};

/// Any free loopback port.
fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// A running emulator, an HTTP client and an Org Admin token.
struct Harness {
    emu: RunningEmulator,
    http: reqwest::Client,
    admin: String,
}

/// An HTTP answer: status, `X-Subject-Token` if any, and the body as JSON (`Null` if empty).
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    subject_token: Option<String>,
    body: Value,
}

impl Answer {
    /// Asserts the status and that the body is Keystone's error body for it; returns the
    /// message.
    #[track_caller]
    fn error(&self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {self:?}");
        let error = &self.body["error"];
        assert_eq!(error["code"], json!(status), "error body code: {self:?}");
        let title = error["title"].as_str().unwrap_or_default();
        assert_eq!(title, super::error::title(self.status), "title: {self:?}");
        let message = error["message"].as_str().unwrap_or_default().to_string();
        assert!(!message.is_empty(), "empty error message: {self:?}");
        message
    }

    /// Asserts the status and returns the body.
    #[track_caller]
    fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {self:?}");
        &self.body
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

impl Harness {
    /// An in-memory emulator with a payment method.
    async fn new() -> Harness {
        Harness::with(EmulatorOptions::default()).await
    }

    async fn with(options: EmulatorOptions) -> Harness {
        let emu = start(loopback(), options).await.expect("emulator starts");
        Harness::around(emu).await
    }

    async fn around(emu: RunningEmulator) -> Harness {
        let http = client();
        let cred = emu.admin_credential().clone();
        let mut h = Harness {
            emu,
            http,
            admin: String::new(),
        };
        h.admin = h.token(&cred).await;
        h
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.base_url())
    }

    /// Sends a request; `body` is sent as JSON when given.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = token {
            req = req.header("X-Auth-Token", token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request is answered");
        let status = resp.status();
        let subject_token = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{status} answer is not JSON ({e}): {text}"))
        };
        Answer {
            status,
            subject_token,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, Some(&self.admin), None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(&self.admin), Some(body))
            .await
    }

    async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(&self.admin), Some(body))
            .await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, Some(&self.admin), None)
            .await
    }

    /// Issues a token with `cred`; the answer must be 201.
    async fn token(&self, cred: &AccessKeyCredential) -> String {
        let answer = self.issue(cred).await;
        answer.ok(201);
        answer.subject_token.expect("X-Subject-Token header")
    }

    /// `POST /identity/v3/auth/tokens` by key ID.
    async fn issue(&self, cred: &AccessKeyCredential) -> Answer {
        let body = json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": cred.id, "secret": cred.secret}}}});
        self.call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
            .await
    }

    async fn create_project(&self, name: &str) -> wire::Project {
        let answer = self
            .post(
                "/identity/v3/projects",
                json!({"project": {"name": name, "nickname": name.to_uppercase()}}),
            )
            .await;
        parse::<wire::ProjectBody>(answer.ok(201)).project
    }

    async fn create_sa(&self, project_id: &str, name: &str) -> wire::ServiceAccount {
        let answer = self
            .post(
                &sa_path(project_id),
                json!({"service_account": {"name": name}}),
            )
            .await;
        parse::<wire::ServiceAccountBody>(answer.ok(201)).service_account
    }

    /// Creates a key; the answer carries the secret.
    async fn create_key(&self, user_id: &str, name: &str) -> wire::ApplicationCredential {
        let answer = self
            .post(
                &keys_path(user_id),
                json!({"application_credential": {"name": name}}),
            )
            .await;
        parse::<wire::ApplicationCredentialBody>(answer.ok(201)).application_credential
    }

    /// A project with one service account and one key: (project, account, key credential).
    async fn fixture(&self) -> (wire::Project, wire::ServiceAccount, AccessKeyCredential) {
        let project = self.create_project("analytics").await;
        let sa = self.create_sa(&project.id, "etl-runner").await;
        let key = self.create_key(&sa.id, "ci").await;
        let cred = AccessKeyCredential {
            id: key.id,
            secret: key.secret.expect("secret on create"),
        };
        (project, sa, cred)
    }

    /// `POST /_emulator/users`; returns a token of the new user.
    async fn user_token(&self, body: Value) -> String {
        let answer = self
            .call(Method::POST, "/_emulator/users", None, Some(body))
            .await;
        let user: wire::EmulatorUser = parse(answer.ok(201));
        self.token(&user.access_key).await
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("unexpected body ({e}): {v}"))
}

fn sa_path(project_id: &str) -> String {
    format!("/identity/v3/projects/{project_id}/service_accounts")
}

fn keys_path(user_id: &str) -> String {
    format!("/identity/v3/users/{user_id}/application_credentials")
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}
