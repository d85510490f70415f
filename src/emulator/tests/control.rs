//! Who may use the `/_emulator/…` control routes: with a control token (configured, or
//! generated for an address other hosts can reach) every control route refuses a request
//! without `Authorization: Bearer <token>` or with another token — `401` in the Keystone error
//! shape, nothing changed — and serves one with it; the Keystone routes do not need it. A
//! non-loopback address is refused unless `allow_remote` is set.

use std::net::{Ipv4Addr, SocketAddr};

use reqwest::Method;
use serde_json::{Value, json};

use super::{Answer, Harness, loopback};
use crate::emulator::{ControlToken, EmulatorError, EmulatorOptions, start};

const TOKEN: &str = "a-control-token-0123456789";

/// What a control request carries in `Authorization`.
#[derive(Clone, Copy, Debug)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    Raw(&'a str),
}

/// Sends a control request with the given `Authorization`.
async fn control(
    h: &Harness,
    auth: Auth<'_>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let mut req = h.http.request(method, h.url(path));
    match auth {
        Auth::None => {}
        Auth::Bearer(token) => req = req.header("Authorization", format!("Bearer {token}")),
        Auth::Raw(value) => req = req.header("Authorization", value),
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request is answered");
    let status = resp.status();
    let www_authenticate = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"))
    };
    if status == 401 {
        assert_eq!(
            www_authenticate.as_deref(),
            Some("Bearer realm=\"kcform emulator control\""),
            "{path}"
        );
    }
    Answer {
        status,
        subject_token: None,
        body,
    }
}

async fn with_token() -> Harness {
    Harness::with(EmulatorOptions {
        control_token: Some(ControlToken::parse(TOKEN).unwrap()),
        ..EmulatorOptions::default()
    })
    .await
}

/// Every control route with a method it serves, and a body that would change something.
fn every_control_call() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/_emulator/health", None),
        (
            Method::POST,
            "/_emulator/users",
            Some(json!({"name": "mallory", "org_role": "org-admin"})),
        ),
        (
            Method::POST,
            "/_emulator/projects/analytics/services/compute",
            None,
        ),
        (Method::GET, "/_emulator/organization", None),
        (
            Method::POST,
            "/_emulator/organization",
            Some(json!({"payment_method": false})),
        ),
        (Method::GET, "/_emulator/faults", None),
        (
            Method::POST,
            "/_emulator/faults",
            Some(json!({"path": "*", "status": 503})),
        ),
        (Method::DELETE, "/_emulator/faults", None),
        (Method::GET, "/_emulator/stats", None),
        // Unknown control paths are refused before routing, too.
        (Method::GET, "/_emulator/nope", None),
    ]
}

#[tokio::test]
async fn with_a_token_every_control_route_refuses_a_missing_or_wrong_one_and_changes_nothing() {
    let h = with_token().await;
    let project = h.create_project("analytics").await;
    // A fault in force, so that an unauthorized DELETE /_emulator/faults would show.
    control(
        &h,
        Auth::Bearer(TOKEN),
        Method::POST,
        "/_emulator/faults",
        Some(json!({"path": "/nothing", "status": 500})),
    )
    .await
    .ok(201);
    let wrong_token = format!("{TOKEN}x");
    for auth in [
        Auth::None,
        Auth::Bearer("wrong-token-0123456789"),
        Auth::Bearer(&TOKEN[..TOKEN.len() - 1]),
        Auth::Bearer(&wrong_token),
        Auth::Raw(TOKEN),
        Auth::Raw(&format!("Basic {TOKEN}")),
    ] {
        for (method, path, body) in every_control_call() {
            let message = control(&h, auth, method.clone(), path, body)
                .await
                .error(401);
            assert!(
                message.contains("control token"),
                "{method} {path} {auth:?}: {message}"
            );
            assert!(
                !message.contains(TOKEN),
                "the token is never echoed: {message}"
            );
        }
    }
    let missing = control(&h, Auth::None, Method::GET, "/_emulator/health", None)
        .await
        .error(401);
    assert!(missing.contains("Authorization: Bearer"), "{missing}");

    // Nothing changed: no user, no agent, the payment method and the fault are still there.
    let admin = control(
        &h,
        Auth::Bearer(TOKEN),
        Method::POST,
        "/_emulator/users",
        Some(json!({"name": "mallory", "org_role": "org-admin"})),
    )
    .await;
    admin.ok(201);
    let org = control(
        &h,
        Auth::Bearer(TOKEN),
        Method::GET,
        "/_emulator/organization",
        None,
    )
    .await;
    assert_eq!(org.ok(200)["organization"]["payment_method"], json!(true));
    let faults = control(
        &h,
        Auth::Bearer(TOKEN),
        Method::GET,
        "/_emulator/faults",
        None,
    )
    .await;
    assert_eq!(
        faults.ok(200)["faults"],
        json!([{"path": "/nothing", "status": 500}])
    );
    let agents = h
        .get(&format!(
            "/identity/v3/projects/{}/service_agents",
            project.id
        ))
        .await;
    assert_eq!(agents.ok(200)["service_agents"], json!([]));
}

#[tokio::test]
async fn with_the_token_the_control_routes_work_and_the_api_does_not_need_it() {
    let h = with_token().await;
    h.create_project("analytics").await;
    let lower_case_scheme = format!("bearer {TOKEN}");
    for (method, path, body) in every_control_call() {
        let auth = if method == Method::GET {
            Auth::Raw(&lower_case_scheme)
        } else {
            Auth::Bearer(TOKEN)
        };
        let answer = control(&h, auth, method.clone(), path, body).await;
        let expected = match (method.as_str(), path) {
            (_, "/_emulator/nope") => 404,
            ("POST", "/_emulator/organization") | ("GET", _) => 200,
            ("DELETE", _) => 204,
            _ => 201,
        };
        assert_eq!(
            answer.status.as_u16(),
            expected,
            "{method} {path}: {answer:?}"
        );
    }
    let org = control(
        &h,
        Auth::Bearer(TOKEN),
        Method::GET,
        "/_emulator/organization",
        None,
    )
    .await;
    assert_eq!(org.ok(200)["organization"]["payment_method"], json!(false));
    // The user created with the token has a working Org Admin key.
    let user = control(
        &h,
        Auth::Bearer(TOKEN),
        Method::POST,
        "/_emulator/users",
        Some(json!({"name": "lead", "org_role": "org-admin"})),
    )
    .await;
    let user: crate::wire::EmulatorUser = super::parse(user.ok(201));
    h.token(&user.access_key).await;
}

#[tokio::test]
async fn on_loopback_without_a_token_the_control_routes_stay_open() {
    let h = Harness::new().await;
    assert!(h.emu.control_token().is_none());
    for (method, path, body) in every_control_call() {
        let answer = control(&h, Auth::None, method.clone(), path, body).await;
        assert_ne!(answer.status.as_u16(), 401, "{method} {path}: {answer:?}");
    }
}

#[tokio::test]
async fn a_non_loopback_address_is_refused_without_allow_remote() {
    let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
    let error = start(any, EmulatorOptions::default()).await.unwrap_err();
    assert!(
        matches!(error, EmulatorError::RemoteNotAllowed { addr } if addr == any),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("0.0.0.0:0"), "{message}");
    assert!(message.contains("--allow-remote"), "{message}");
    // Refused before anything is created.
    let dir = tempfile::tempdir().unwrap();
    let data_file = dir.path().join("emulator.db");
    let options = EmulatorOptions {
        data_file: Some(data_file.clone()),
        ..EmulatorOptions::default()
    };
    start(any, options).await.unwrap_err();
    assert!(!data_file.exists());
    // Loopback needs no flag.
    let emu = start(loopback(), EmulatorOptions::default()).await.unwrap();
    assert!(emu.control_token().is_none());
}

#[tokio::test]
async fn allow_remote_without_a_token_generates_one_that_the_control_routes_require() {
    let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
    let options = EmulatorOptions {
        allow_remote: true,
        ..EmulatorOptions::default()
    };
    let emu = start(any, options).await.unwrap();
    assert!(emu.addr().ip().is_unspecified());
    let token = emu
        .control_token()
        .expect("a token is generated for a non-loopback address")
        .expose()
        .to_string();
    assert_eq!(token.len(), 64, "256 random bits in hex");
    // Reach it over loopback (it listens on every address).
    let port = emu.addr().port();
    let h = Harness::around(emu).await;
    let url = format!("http://127.0.0.1:{port}/_emulator/users");
    let body = json!({"name": "mallory", "org_role": "org-admin"});
    let refused = h.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let served = h
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        served.status().as_u16(),
        201,
        "the refused call created nothing"
    );
}

#[tokio::test]
async fn allow_remote_with_a_token_uses_that_token() {
    let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
    let options = EmulatorOptions {
        allow_remote: true,
        control_token: Some(ControlToken::parse(TOKEN).unwrap()),
        ..EmulatorOptions::default()
    };
    let emu = start(any, options).await.unwrap();
    assert_eq!(emu.control_token().unwrap().expose(), TOKEN);
}

#[test]
fn a_token_file_is_read_and_checked_without_showing_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let token = ControlToken::read(&file).unwrap();
    assert!(token.matches(TOKEN));

    std::fs::write(&file, "short-secret\n").unwrap();
    let message = ControlToken::read(&file).unwrap_err().to_string();
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("fewer than the 16"), "{message}");
    assert!(!message.contains("short-secret"), "{message}");

    let missing = dir.path().join("missing");
    let message = ControlToken::read(&missing).unwrap_err().to_string();
    assert!(
        message.starts_with("cannot read the emulator control token file"),
        "{message}"
    );
}
