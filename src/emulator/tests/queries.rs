//! The queries of `db`: paging and filters in listing order, a person's roles, and the
//! schema's refusals (dangling and duplicate rows) and cascades.

use std::collections::BTreeMap;

use crate::emulator::db::*;
use crate::emulator::error::ApiError;
use crate::emulator::state::{self, EmulatorState, new_id};

fn state() -> EmulatorState {
    EmulatorState::open(&crate::emulator::EmulatorOptions::default())
        .expect("opens")
        .0
}

fn project(db: &Db, name: &str) -> Project {
    let p = Project {
        id: new_id(),
        name: name.to_string(),
        nickname: name.to_uppercase(),
        description: String::new(),
        created_at: "2026-01-01T00:00:00Z".to_string(),
    };
    db.insert_project(&p).expect("project");
    p
}

fn account(db: &Db, project: &Project, name: &str) -> User {
    let u = User {
        id: new_id(),
        name: name.to_string(),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        kind: UserKind::ServiceAccount {
            project_id: project.id.clone(),
            status: AccountStatus::Active,
        },
    };
    db.insert_user(&u).expect("account");
    u
}

fn key(db: &Db, owner: &User, name: &str) -> Key {
    let (k, _) = state::new_key(
        &owner.id,
        name,
        Some(format!("{name} of {}", owner.name)),
        None,
    );
    db.insert_key(&k).expect("key");
    k
}

/// Runs `f` in a committed transaction.
fn write<T>(state: &EmulatorState, f: impl FnOnce(&Db) -> T) -> T {
    state
        .write(|db| Ok::<_, ApiError>(f(db)))
        .expect("committed")
}

#[test]
fn service_accounts_page_by_name_with_a_filter_and_the_total() {
    let state = state();
    let (alpha, beta) = write(&state, |db| {
        let alpha = project(db, "alpha");
        let beta = project(db, "beta");
        for name in ["sa-c", "sa-a", "sa-b"] {
            account(db, &alpha, name);
        }
        account(db, &beta, "sa-a");
        (alpha, beta)
    });
    state.read(|db| {
        let names = |page: Page<User>| {
            let names: Vec<String> = page.0.into_iter().map(|u| u.name).collect();
            (names, page.1)
        };
        let all = db.accounts(&alpha.id, None, 0, 100).expect("page");
        assert_eq!(
            names(all),
            (vec!["sa-a".into(), "sa-b".into(), "sa-c".into()], 3)
        );
        let second = db.accounts(&alpha.id, None, 1, 1).expect("page");
        assert_eq!(names(second), (vec!["sa-b".into()], 3));
        let beyond = db.accounts(&alpha.id, None, 50, 1).expect("page");
        assert_eq!(names(beyond), (vec![], 3));
        let named = db.accounts(&alpha.id, Some("sa-c"), 0, 100).expect("page");
        assert_eq!(names(named), (vec!["sa-c".into()], 1));
        assert_eq!(db.account_count(&beta.id).expect("count"), 1);
        assert!(
            db.account_named(&beta.id, "sa-b")
                .expect("lookup")
                .is_none()
        );
    });
}

#[test]
fn project_keys_come_by_owner_id_then_name_and_page() {
    let state = state();
    let (alpha, mut expected) = write(&state, |db| {
        let alpha = project(db, "alpha");
        let other = project(db, "other");
        let mut keys = Vec::new();
        for name in ["sa-1", "sa-2", "sa-3"] {
            let owner = account(db, &alpha, name);
            for k in ["z", "a"] {
                keys.push(key(db, &owner, k));
            }
        }
        let stranger = account(db, &other, "sa-1");
        key(db, &stranger, "a");
        (alpha, keys)
    });
    expected.sort_by(|a, b| (&a.user_id, &a.name).cmp(&(&b.user_id, &b.name)));
    state.read(|db| {
        let (all, total) = db.project_keys(&alpha.id, None, 0, 100).expect("page");
        assert_eq!((all, total), (expected.clone(), 6));
        let (page, total) = db.project_keys(&alpha.id, None, 2, 3).expect("page");
        assert_eq!((page, total), (expected[2..5].to_vec(), 6));
        let (named, total) = db.project_keys(&alpha.id, Some("a"), 0, 100).expect("page");
        assert_eq!(total, 3);
        assert!(named.iter().all(|k| k.name == "a"));
    });
}

#[test]
fn an_owners_keys_come_by_name() {
    let state = state();
    let owner = write(&state, |db| {
        let alpha = project(db, "alpha");
        let owner = account(db, &alpha, "sa");
        for name in ["k1", "k0"] {
            key(db, &owner, name);
        }
        owner
    });
    state.read(|db| {
        let names = |keys: Vec<Key>| keys.into_iter().map(|k| k.name).collect::<Vec<_>>();
        assert_eq!(
            names(db.keys_of(&owner.id, None).expect("keys")),
            ["k0", "k1"]
        );
        assert_eq!(
            names(db.keys_of(&owner.id, Some("k1")).expect("keys")),
            ["k1"]
        );
        assert!(
            db.keys_of(&owner.id, Some("none"))
                .expect("keys")
                .is_empty()
        );
    });
}

#[test]
fn a_person_reads_back_with_its_roles_by_project_name() {
    let state = state();
    let person = write(&state, |db| {
        project(db, "alpha");
        project(db, "beta");
        let person = User {
            id: new_id(),
            name: "ann".to_string(),
            created_at: "2026-01-01T00:00:00Z".to_string(),
            kind: UserKind::Person {
                org_role: Some(OrgRole::Reader),
                project_roles: BTreeMap::from([
                    ("alpha".to_string(), ProjectRole::Admin),
                    ("beta".to_string(), ProjectRole::Reader),
                ]),
            },
        };
        db.insert_user(&person).expect("person");
        person
    });
    state.read(|db| {
        assert_eq!(db.user(&person.id).expect("read"), Some(person.clone()));
        assert_eq!(db.person_named("ann").expect("read"), Some(person.clone()));
        assert!(db.person_named("bob").expect("read").is_none());
    });
}

#[test]
fn the_schema_refuses_dangling_and_duplicate_rows() {
    let state = state();
    write(&state, |db| {
        let alpha = project(db, "alpha");
        let beta = project(db, "beta");
        let owner = account(db, &alpha, "sa");
        key(db, &owner, "k");
        let ghost = state::new_key(&new_id(), "k", None, None).0;
        assert!(db.insert_key(&ghost).is_err(), "a key of a missing user");
        let twin = state::new_key(&owner.id, "k", None, None).0;
        assert!(db.insert_key(&twin).is_err(), "a second key of that name");
        let same = User {
            id: new_id(),
            ..owner.clone()
        };
        assert!(
            db.insert_user(&same).is_err(),
            "a second account of that name"
        );
        // The same name in another project is another account.
        account(db, &beta, "sa");
        let again = Project {
            id: new_id(),
            ..alpha.clone()
        };
        assert!(
            db.insert_project(&again).is_err(),
            "a second project of that name"
        );
    });
}

#[test]
fn deleting_a_user_takes_its_keys_along() {
    let state = state();
    let (owner, kept) = write(&state, |db| {
        let alpha = project(db, "alpha");
        let owner = account(db, &alpha, "gone");
        key(db, &owner, "k0");
        key(db, &owner, "k1");
        let other = account(db, &alpha, "kept");
        (owner, key(db, &other, "k0"))
    });
    write(&state, |db| db.delete_user(&owner.id).expect("delete"));
    state.read(|db| {
        assert!(db.user(&owner.id).expect("read").is_none());
        assert!(db.keys_of(&owner.id, None).expect("keys").is_empty());
        assert_eq!(db.key(&kept.id).expect("read"), Some(kept.clone()));
    });
}
