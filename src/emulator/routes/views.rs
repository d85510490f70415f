//! List answers serialized straight from the store: borrowed views of projects, service
//! accounts and access keys that write, field for field, the JSON of the owned `wire` bodies
//! (which `super::key_view` and its siblings still build for single objects), without copying
//! a string per item. A list route builds its bytes while it holds the state's lock and
//! answers them as a [`JsonBody`].

use std::borrow::Cow;
use std::fmt;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Serialize, Serializer};

use crate::emulator::auth::{role_id, role_names};
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::extract::{ListQuery, page};
use crate::emulator::store::{Data, Key, PROJECTS, Project, User, UserKind};
use crate::wire::Pagination;

/// A JSON answer already serialized: 200 with `content-type: application/json`, as
/// `axum::Json` answers.
#[derive(Debug)]
pub struct JsonBody(Vec<u8>);

impl JsonBody {
    /// Serializes `body`.
    fn new(body: &impl Serialize) -> ApiResult<JsonBody> {
        serde_json::to_vec(body)
            .map(JsonBody)
            .map_err(|e| ApiError::internal(format!("cannot serialize the answer: {e}")))
    }
}

impl IntoResponse for JsonBody {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// A service account's email, `{name}-{project_id}@kc.serviceaccount.com`.
pub struct ServiceAccountEmail<'a> {
    /// The account's name.
    pub name: &'a str,
    /// Its project's ID.
    pub project_id: &'a str,
}

impl fmt::Display for ServiceAccountEmail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}@kc.serviceaccount.com", self.name, self.project_id)
    }
}

/// The `self` link of an access key.
pub struct KeyUrl<'a> {
    /// The endpoint as the client reached it (see `BaseUrl`).
    pub base: &'a str,
    /// The owner's ID.
    pub user_id: &'a str,
    /// The key's ID.
    pub key_id: &'a str,
}

impl fmt::Display for KeyUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/identity/v3/users/{}/application_credentials/{}",
            self.base, self.user_id, self.key_id
        )
    }
}

/// A `Display` value written as a JSON string without building a `String` first.
struct Text<T>(T);

impl<T: fmt::Display> Serialize for Text<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// `wire::Project`.
#[derive(Serialize)]
struct ProjectView<'a> {
    id: &'a str,
    name: &'a str,
    nickname: &'a str,
    description: &'a str,
    created_at: &'a str,
}

impl<'a> ProjectView<'a> {
    fn new(p: &'a Project) -> Self {
        ProjectView {
            id: &p.id,
            name: &p.name,
            nickname: &p.nickname,
            description: &p.description,
            created_at: &p.created_at,
        }
    }
}

/// `wire::ServiceAccount`.
#[derive(Serialize)]
struct ServiceAccountView<'a> {
    id: &'a str,
    name: &'a str,
    email: Text<ServiceAccountEmail<'a>>,
    project_id: &'a str,
    status: &'static str,
    created_at: &'a str,
}

impl<'a> ServiceAccountView<'a> {
    /// `None` for a person.
    fn of(u: &'a User) -> Option<Self> {
        let UserKind::ServiceAccount { project_id, status } = &u.kind else {
            return None;
        };
        Some(ServiceAccountView {
            id: &u.id,
            name: &u.name,
            email: Text(ServiceAccountEmail {
                name: &u.name,
                project_id,
            }),
            project_id,
            status: status.as_str(),
            created_at: &u.created_at,
        })
    }
}

/// `wire::NamedRef` of a role.
#[derive(Serialize)]
struct RoleView {
    id: Cow<'static, str>,
    name: &'static str,
}

/// What each key shows about its owner, worked out once per owner.
struct Owner<'a> {
    project_id: Option<&'a str>,
    roles: Vec<RoleView>,
}

impl<'a> Owner<'a> {
    /// A missing owner shows no project and no roles.
    fn of(user: Option<&'a User>) -> Self {
        let Some(user) = user else {
            return Owner {
                project_id: None,
                roles: Vec::new(),
            };
        };
        let project_id = match &user.kind {
            UserKind::ServiceAccount { project_id, .. } => Some(project_id.as_str()),
            UserKind::Person { .. } => None,
        };
        let roles = role_names(user)
            .into_iter()
            .map(|name| RoleView {
                id: role_id(name),
                name,
            })
            .collect();
        Owner { project_id, roles }
    }
}

/// `wire::ApplicationCredential` without its secret.
#[derive(Serialize)]
struct KeyView<'a> {
    id: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    user_id: &'a str,
    project_id: Option<&'a str>,
    roles: &'a [RoleView],
    expires_at: Option<&'a str>,
    unrestricted: bool,
    access_rules: &'a [serde_json::Value],
    links: SelfLink<Text<KeyUrl<'a>>>,
    status: &'static str,
    created_at: &'a str,
}

impl<'a> KeyView<'a> {
    fn new(k: &'a Key, owner: &'a Owner<'a>, base: &'a str) -> Self {
        KeyView {
            id: &k.id,
            name: &k.name,
            description: k.description.as_deref(),
            user_id: &k.user_id,
            project_id: owner.project_id,
            roles: &owner.roles,
            expires_at: None,
            unrestricted: false,
            access_rules: &[],
            links: SelfLink {
                href: Text(KeyUrl {
                    base,
                    user_id: &k.user_id,
                    key_id: &k.id,
                }),
            },
            status: k.status.as_str(),
            created_at: &k.created_at,
        }
    }
}

/// `{"self": …}`.
#[derive(Serialize)]
struct SelfLink<T> {
    #[serde(rename = "self")]
    href: T,
}

/// Keystone's list `links`; the fields are in sorted order because `wire` carries them as a
/// JSON map, which serde_json writes sorted.
#[derive(Serialize)]
struct ListLinks<'a> {
    next: Option<&'a str>,
    previous: Option<&'a str>,
    #[serde(rename = "self")]
    href: &'a str,
}

/// `wire::ApplicationCredentialList`.
#[derive(Serialize)]
struct KeyList<'a> {
    application_credentials: Vec<KeyView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<ListLinks<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pagination: Option<Pagination>,
}

/// The body of `GET /identity/v3/projects`: the projects `visible` lets the caller see, by
/// name, paged.
pub fn projects(
    data: &Data,
    query: &ListQuery,
    visible: impl Fn(&Project) -> bool,
) -> ApiResult<JsonBody> {
    #[derive(Serialize)]
    struct Body<'a> {
        projects: Vec<ProjectView<'a>>,
        pagination: Pagination,
    }
    // The name index yields the projects in listing order: no sort.
    let matching = data
        .projects
        .in_group(PROJECTS)
        .filter(|p| visible(p) && query.matches(&p.name));
    let (projects, pagination) = page(matching.map(ProjectView::new), query);
    JsonBody::new(&Body {
        projects,
        pagination,
    })
}

/// The body of `GET …/projects/{project_id}/service_accounts`: the project's accounts by
/// name, paged; the index gives a page in O(offset + page + log n).
pub fn service_accounts(data: &Data, project_id: &str, query: &ListQuery) -> ApiResult<JsonBody> {
    #[derive(Serialize)]
    struct Body<'a> {
        service_accounts: Vec<ServiceAccountView<'a>>,
        pagination: Pagination,
    }
    let (users, pagination) = match &query.name {
        Some(name) => page(data.users.named(project_id, name), query),
        None => {
            let users = data
                .users
                .group(project_id)
                .skip(query.offset)
                .take(query.limit)
                .filter_map(|id| data.users.get(id))
                .collect();
            (users, query.pagination(data.users.group_len(project_id)))
        }
    };
    JsonBody::new(&Body {
        service_accounts: users
            .into_iter()
            .filter_map(ServiceAccountView::of)
            .collect(),
        pagination,
    })
}

/// The body of `GET /identity/v3/projects/{project_id}/application_credentials`: every key of
/// every service account of the project, by owner ID then name, paged. Reads the project's
/// accounts (from the index) and their keys: O(project size + log n).
pub fn project_keys(
    data: &Data,
    project_id: &str,
    query: &ListQuery,
    base: &str,
) -> ApiResult<JsonBody> {
    let mut owner_ids: Vec<&str> = data.users.group(project_id).collect();
    owner_ids.sort_unstable();
    let matching = owner_ids
        .into_iter()
        .flat_map(|owner| data.keys.in_group(owner))
        .filter(|k| query.matches(&k.name));
    let (keys, pagination) = page(matching, query);
    // The page holds each owner's keys side by side.
    let same_owner = |a: &&Key, b: &&Key| a.user_id == b.user_id;
    let owners: Vec<Owner> = keys
        .chunk_by(same_owner)
        .map(|run| Owner::of(data.users.get(&run[0].user_id)))
        .collect();
    let application_credentials = keys
        .chunk_by(same_owner)
        .zip(&owners)
        .flat_map(|(run, owner)| run.iter().map(move |k| KeyView::new(k, owner, base)))
        .collect();
    JsonBody::new(&KeyList {
        application_credentials,
        links: None,
        pagination: Some(pagination),
    })
}

/// The body of `GET /identity/v3/users/{user_id}/application_credentials`: `user`'s keys
/// (only those named `name` when given), by name, with Keystone's `links`.
pub fn user_keys(data: &Data, user: &User, name: Option<&str>, base: &str) -> ApiResult<JsonBody> {
    let owner = Owner::of(Some(user));
    let application_credentials = data
        .keys
        .in_group(&user.id)
        .filter(|k| name.is_none_or(|n| n == k.name))
        .map(|k| KeyView::new(k, &owner, base))
        .collect();
    let self_url = format!(
        "{base}/identity/v3/users/{}/application_credentials",
        user.id
    );
    JsonBody::new(&KeyList {
        application_credentials,
        links: Some(ListLinks {
            next: None,
            previous: None,
            href: &self_url,
        }),
        pagination: None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::super::{key_view, project_view, service_account_view};
    use super::*;
    use crate::emulator::state::{self, new_id, now_rfc3339};
    use crate::emulator::store::{
        AccountStatus, Bootstrap, FILE_VERSION, KeyStatus, OrgRole, Organization, ProjectRole,
    };
    use crate::wire;

    const BASE: &str = "http://127.0.0.1:8080";

    fn project(name: &str, description: &str) -> Project {
        Project {
            id: new_id(),
            name: name.to_string(),
            nickname: format!("The {name}"),
            description: description.to_string(),
            created_at: now_rfc3339(),
        }
    }

    fn person(name: &str, org_role: Option<OrgRole>, roles: &[(&str, ProjectRole)]) -> User {
        User {
            id: new_id(),
            name: name.to_string(),
            created_at: now_rfc3339(),
            kind: UserKind::Person {
                org_role,
                project_roles: roles.iter().map(|(p, r)| (p.to_string(), *r)).collect(),
            },
        }
    }

    fn account(name: &str, project: &Project, status: AccountStatus) -> User {
        User {
            id: new_id(),
            name: name.to_string(),
            created_at: now_rfc3339(),
            kind: UserKind::ServiceAccount {
                project_id: project.id.clone(),
                status,
            },
        }
    }

    /// Three projects, people with assorted roles, active and inactive accounts, keys with
    /// and without (awkward) descriptions, an expired key, a key whose owner is gone.
    fn seeded() -> Data {
        let alpha = project("alpha", "first \"quoted\" \\ ü");
        let beta = project("beta", "");
        let gamma = project("gamma", "");
        let mut users = vec![
            person(
                "ann",
                None,
                &[("alpha", ProjectRole::Admin), ("beta", ProjectRole::Reader)],
            ),
            person(
                "bob",
                Some(OrgRole::Admin),
                &[("gamma", ProjectRole::Member)],
            ),
            person("cid", Some(OrgRole::Reader), &[]),
        ];
        for (name, status) in [
            ("sa-b", AccountStatus::Active),
            ("sa-a", AccountStatus::Inactive),
            ("sa-c", AccountStatus::Active),
        ] {
            users.push(account(name, &alpha, status));
        }
        users.push(account("sa-a", &beta, AccountStatus::Active));
        let mut keys = Vec::new();
        for user in &users {
            for (i, name) in ["k1", "k0", "z"].into_iter().enumerate() {
                let description = (i != 1).then(|| format!("key {name} of \"{}\"\n", user.name));
                let (mut key, _) = state::new_key(&user.id, name, description, None);
                if user.name == "sa-a" && name == "k0" {
                    key.status = KeyStatus::Expired;
                }
                keys.push(key);
            }
        }
        keys.push(state::new_key(&new_id(), "orphan", None, None).0);
        Data {
            version: FILE_VERSION,
            organization: Organization {
                id: new_id(),
                name: "org".to_string(),
                payment_method: true,
            },
            bootstrap: Bootstrap {
                admin_user_id: users[1].id.clone(),
                key_id: None,
            },
            users: users.into_iter().map(|u| (u.id.clone(), u)).collect(),
            projects: [alpha, beta, gamma]
                .into_iter()
                .map(|p| (p.id.clone(), p))
                .collect(),
            keys: keys.into_iter().map(|k| (k.id.clone(), k)).collect(),
            agents: Default::default(),
        }
    }

    fn queries() -> Vec<ListQuery> {
        let query = |name: Option<&str>, limit, offset| ListQuery {
            name: name.map(str::to_string),
            limit,
            offset,
        };
        vec![
            query(None, 100, 0),
            query(None, 1000, 0),
            query(None, 2, 1),
            query(None, 3, 2),
            query(None, 1, 50),
            query(Some("k0"), 100, 0),
            query(Some("sa-a"), 100, 0),
            query(Some("beta"), 100, 0),
            query(Some("sa-a"), 1, 1),
            query(Some("nothing"), 100, 0),
        ]
    }

    /// The same bytes as the owned body, hence the same document.
    #[track_caller]
    fn assert_same(new: ApiResult<JsonBody>, old: &impl Serialize) {
        let new = new.expect("list body").0;
        let old_bytes = serde_json::to_vec(old).unwrap();
        assert_eq!(
            String::from_utf8(new.clone()).unwrap(),
            String::from_utf8(old_bytes).unwrap()
        );
        let new: Value = serde_json::from_slice(&new).unwrap();
        assert_eq!(new, serde_json::to_value(old).unwrap());
    }

    /// Cuts a page out of `items` and `total` the way the routes always have.
    fn old_page<T>(items: Vec<T>, query: &ListQuery) -> (Vec<T>, Pagination) {
        let total = items.len();
        let items = items
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .collect();
        (items, query.pagination(total))
    }

    #[test]
    fn project_lists_match_the_owned_bodies() {
        let data = seeded();
        let visibility: [fn(&Project) -> bool; 2] = [|_| true, |p| p.name != "beta"];
        for visible in visibility {
            for query in queries() {
                let mut projects: Vec<wire::Project> = data
                    .projects
                    .values()
                    .filter(|p| visible(p) && query.matches(&p.name))
                    .map(project_view)
                    .collect();
                projects.sort_by(|a, b| a.name.cmp(&b.name));
                let (projects, pagination) = old_page(projects, &query);
                let old = wire::ProjectList {
                    projects,
                    pagination,
                };
                assert_same(super::projects(&data, &query, visible), &old);
            }
        }
    }

    #[test]
    fn service_account_lists_match_the_owned_bodies() {
        let data = seeded();
        let project_ids: Vec<&String> = data.projects.keys().collect();
        for project_id in project_ids {
            for query in queries() {
                let matching: Vec<&User> = data
                    .users
                    .in_group(project_id)
                    .filter(|u| query.matches(&u.name))
                    .collect();
                let (users, pagination) = old_page(matching, &query);
                let old = wire::ServiceAccountList {
                    service_accounts: users.into_iter().filter_map(service_account_view).collect(),
                    pagination,
                };
                assert_same(service_accounts(&data, project_id, &query), &old);
            }
        }
    }

    #[test]
    fn project_key_lists_match_the_owned_bodies() {
        let data = seeded();
        for project_id in data.projects.keys() {
            for query in queries() {
                let mut owners: Vec<&str> = data.users.group(project_id).collect();
                owners.sort_unstable();
                let matching: Vec<wire::ApplicationCredential> = owners
                    .into_iter()
                    .flat_map(|owner| data.keys.in_group(owner))
                    .filter(|k| query.matches(&k.name))
                    .map(|k| key_view(&data, k, BASE))
                    .collect();
                let (application_credentials, pagination) = old_page(matching, &query);
                let old = wire::ApplicationCredentialList {
                    application_credentials,
                    links: None,
                    pagination: Some(pagination),
                };
                assert_same(project_keys(&data, project_id, &query, BASE), &old);
            }
        }
    }

    #[test]
    fn user_key_lists_match_the_owned_bodies() {
        let data = seeded();
        for user in data.users.values() {
            for name in [None, Some("k0"), Some("nothing")] {
                let old = wire::ApplicationCredentialList {
                    application_credentials: data
                        .keys
                        .in_group(&user.id)
                        .filter(|k| name.is_none_or(|n| n == k.name))
                        .map(|k| key_view(&data, k, BASE))
                        .collect(),
                    links: Some(json!({
                        "self": format!("{BASE}/identity/v3/users/{}/application_credentials", user.id),
                        "previous": null,
                        "next": null
                    })),
                    pagination: None,
                };
                assert_same(user_keys(&data, user, name, BASE), &old);
            }
        }
    }

    #[test]
    fn a_key_of_a_missing_owner_shows_no_project_and_no_roles() {
        let data = seeded();
        let orphan = data.keys.values().find(|k| k.name == "orphan").unwrap();
        let owner = Owner::of(data.users.get(&orphan.user_id));
        let new = serde_json::to_value(KeyView::new(orphan, &owner, BASE)).unwrap();
        assert_eq!(
            new,
            serde_json::to_value(key_view(&data, orphan, BASE)).unwrap()
        );
        assert_eq!(
            (&new["project_id"], &new["roles"]),
            (&Value::Null, &json!([]))
        );
    }

    #[test]
    fn the_answer_is_json() {
        let response = JsonBody(b"{}".to_vec()).into_response();
        assert_eq!(response.status(), axum::http::StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            axum::Json(BTreeMap::<String, String>::new())
                .into_response()
                .headers()[header::CONTENT_TYPE]
        );
    }
}
