//! The two sides: a real Keystone and the emulator, with equivalent principals.

use super::*;

pub(super) async fn keystone_side(keystone: KeystoneServer, http: reqwest::Client) -> Side {
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

pub(super) async fn emulator_side(http: reqwest::Client) -> Side {
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
