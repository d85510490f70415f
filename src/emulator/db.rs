//! Typed reads and writes of the emulator's tables (`schema.sql`): the row types the routes
//! work with ([`Project`], [`User`], [`Key`], [`Agent`], [`Organization`]) and [`Db`], one
//! method per query the routes need. A [`Db`] wraps a connection or an open transaction (see
//! `state::EmulatorState::read` and `write`); every statement is prepared once and cached.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension as _, Row, params};

pub use crate::roles::{OrgRole, ProjectRole};

/// The organization (a Keystone domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// 32-hex ID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether a payment method is registered (needed to create projects).
    pub payment_method: bool,
}

/// The bootstrap Org Admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// Its user ID.
    pub admin_user_id: String,
    /// Its current key, revoked and replaced on each start.
    pub key_id: Option<String>,
}

/// A Keystone user: a person with roles, or a service account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// 32-hex ID.
    pub id: String,
    /// Name (unique among people; unique per project among service accounts).
    pub name: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// What kind of user.
    pub kind: UserKind,
}

/// The two kinds of users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKind {
    /// A person of the organization, with roles.
    Person {
        /// Organization-wide role.
        org_role: Option<OrgRole>,
        /// Project roles by project name (names are immutable, so this is stable).
        project_roles: BTreeMap<String, ProjectRole>,
    },
    /// A service account of one project.
    ServiceAccount {
        /// Its project's ID.
        project_id: String,
        /// `active` or `inactive`.
        status: AccountStatus,
    },
}

/// A service account's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Active.
    Active,
    /// Inactive: its keys are expired and it cannot get tokens.
    Inactive,
}

impl AccountStatus {
    /// API (and database) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Inactive => "inactive",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(AccountStatus::Active),
            "inactive" => Some(AccountStatus::Inactive),
            _ => None,
        }
    }
}

/// An access key's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Usable.
    Active,
    /// Its service account was deactivated; it stays listed but never works again.
    Expired,
}

impl KeyStatus {
    /// API (and database) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Expired => "expired",
        }
    }
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// 32-hex ID.
    pub id: String,
    /// Immutable unique name.
    pub name: String,
    /// Display name.
    pub nickname: String,
    /// Description, empty when unset.
    pub description: String,
    /// RFC 3339 creation time.
    pub created_at: String,
}

/// An access key (Keystone application credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// 32-hex ID.
    pub id: String,
    /// Name, unique per user.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Owner.
    pub user_id: String,
    /// Hex SHA-256 of the secret; the secret itself is never stored.
    pub secret_sha256: String,
    /// Active or expired.
    pub status: KeyStatus,
    /// RFC 3339 creation time.
    pub created_at: String,
}

/// A service agent (read-only through the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// 32-hex ID.
    pub id: String,
    /// The service that created it.
    pub service: String,
    /// Its project's ID.
    pub project_id: String,
    /// RFC 3339 creation time.
    pub created_at: String,
}

/// A page of a listing: the rows asked for and how many match in all.
pub type Page<T> = (Vec<T>, usize);

/// The tables, through one connection or transaction.
#[derive(Clone, Copy)]
pub struct Db<'c>(&'c Connection);

type Result<T> = rusqlite::Result<T>;

const PROJECT: &str = "id, name, nickname, description, created_at";
const USER: &str = "id, name, created_at, project_id, status, org_role";
const KEY: &str = "id, name, description, user_id, secret_sha256, status, created_at";
const AGENT: &str = "id, service, project_id, created_at";

fn project(row: &Row) -> Result<Project> {
    Ok(Project {
        id: row.get(0)?,
        name: row.get(1)?,
        nickname: row.get(2)?,
        description: row.get(3)?,
        created_at: row.get(4)?,
    })
}

/// A user row; a person's project roles are filled in by [`Db::with_roles`].
fn user(row: &Row) -> Result<User> {
    let project_id: Option<String> = row.get(3)?;
    let status: Option<String> = row.get(4)?;
    let org_role: Option<String> = row.get(5)?;
    let kind = match project_id {
        Some(project_id) => UserKind::ServiceAccount {
            project_id,
            status: status
                .as_deref()
                .and_then(AccountStatus::parse)
                .ok_or_else(|| invalid(4, "service account status", status.as_deref()))?,
        },
        None => UserKind::Person {
            org_role: match org_role.as_deref() {
                None => None,
                Some(role) => {
                    Some(OrgRole::parse(role).ok_or_else(|| invalid(5, "org_role", Some(role)))?)
                }
            },
            project_roles: BTreeMap::new(),
        },
    };
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        created_at: row.get(2)?,
        kind,
    })
}

fn key(row: &Row) -> Result<Key> {
    let status: String = row.get(5)?;
    Ok(Key {
        id: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        user_id: row.get(3)?,
        secret_sha256: row.get(4)?,
        status: match status.as_str() {
            "active" => KeyStatus::Active,
            "expired" => KeyStatus::Expired,
            other => return Err(invalid(5, "key status", Some(other))),
        },
        created_at: row.get(6)?,
    })
}

fn agent(row: &Row) -> Result<Agent> {
    Ok(Agent {
        id: row.get(0)?,
        service: row.get(1)?,
        project_id: row.get(2)?,
        created_at: row.get(3)?,
    })
}

/// A value the schema's CHECK constraints should have kept out (a hand-edited file).
fn invalid(column: usize, what: &str, value: Option<&str>) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("invalid {what} {value:?}").into(),
    )
}

/// SQLite's integers are signed 64-bit; a count or an offset always fits.
fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

impl<'c> Db<'c> {
    /// The tables through `conn` (a connection, or a transaction by deref).
    pub fn new(conn: &'c Connection) -> Db<'c> {
        Db(conn)
    }

    fn all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: fn(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut statement = self.0.prepare_cached(sql)?;
        let rows = statement.query_map(params, map)?;
        rows.collect()
    }

    fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: fn(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        self.0
            .prepare_cached(sql)?
            .query_row(params, map)
            .optional()
    }

    fn run(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        self.0.prepare_cached(sql)?.execute(params)
    }

    fn number(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        let n: i64 = self
            .0
            .prepare_cached(sql)?
            .query_row(params, |row| row.get(0))?;
        Ok(count(n))
    }

    // The organization.

    /// The organization.
    pub fn organization(&self) -> Result<Organization> {
        self.0
            .prepare_cached("SELECT id, name, payment_method FROM organization")?
            .query_row([], |row| {
                Ok(Organization {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    payment_method: row.get(2)?,
                })
            })
    }

    /// The bootstrap Org Admin and its key.
    pub fn bootstrap(&self) -> Result<Bootstrap> {
        self.0
            .prepare_cached("SELECT admin_user_id, bootstrap_key_id FROM organization")?
            .query_row([], |row| {
                Ok(Bootstrap {
                    admin_user_id: row.get(0)?,
                    key_id: row.get(1)?,
                })
            })
    }

    /// Registers or removes the payment method (no change when it is already so).
    pub fn set_payment_method(&self, payment_method: bool) -> Result<()> {
        self.run(
            "UPDATE organization SET payment_method = ?1 WHERE payment_method <> ?1",
            [payment_method],
        )?;
        Ok(())
    }

    /// Records the bootstrap Org Admin's current key.
    pub fn set_bootstrap_key(&self, key_id: Option<&str>) -> Result<()> {
        self.run("UPDATE organization SET bootstrap_key_id = ?1", [key_id])?;
        Ok(())
    }

    /// Creates the organization row (a fresh database; its admin must exist).
    pub fn insert_organization(&self, org: &Organization, admin_user_id: &str) -> Result<()> {
        self.run(
            "INSERT INTO organization (one, id, name, payment_method, admin_user_id) \
             VALUES (1, ?1, ?2, ?3, ?4)",
            params![org.id, org.name, org.payment_method, admin_user_id],
        )?;
        Ok(())
    }

    // Projects.

    /// The project with this ID.
    pub fn project(&self, id: &str) -> Result<Option<Project>> {
        self.one(
            &format!("SELECT {PROJECT} FROM projects WHERE id = ?1"),
            [id],
            project,
        )
    }

    /// The project named `name`.
    pub fn project_named(&self, name: &str) -> Result<Option<Project>> {
        self.one(
            &format!("SELECT {PROJECT} FROM projects WHERE name = ?1"),
            [name],
            project,
        )
    }

    /// Every project, by name.
    pub fn projects(&self) -> Result<Vec<Project>> {
        self.all(
            &format!("SELECT {PROJECT} FROM projects ORDER BY name"),
            [],
            project,
        )
    }

    /// Adds a project.
    pub fn insert_project(&self, p: &Project) -> Result<()> {
        self.run(
            &format!("INSERT INTO projects ({PROJECT}) VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![p.id, p.name, p.nickname, p.description, p.created_at],
        )?;
        Ok(())
    }

    /// Changes a project's nickname and description.
    pub fn update_project(&self, p: &Project) -> Result<()> {
        self.run(
            "UPDATE projects SET nickname = ?2, description = ?3 WHERE id = ?1",
            params![p.id, p.nickname, p.description],
        )?;
        Ok(())
    }

    // Users.

    /// Fills in a person's project roles.
    fn with_roles(&self, mut user: User) -> Result<User> {
        if let UserKind::Person { project_roles, .. } = &mut user.kind {
            let mut statement = self.0.prepare_cached(
                "SELECT p.name, g.role FROM role_grants g JOIN projects p ON p.id = g.project_id \
                 WHERE g.user_id = ?1",
            )?;
            let rows = statement.query_map([&user.id], |row| {
                let role: String = row.get(1)?;
                let role = ProjectRole::parse(&role)
                    .ok_or_else(|| invalid(1, "project role", Some(&role)))?;
                Ok((row.get::<_, String>(0)?, role))
            })?;
            for row in rows {
                let (project, role) = row?;
                project_roles.insert(project, role);
            }
        }
        Ok(user)
    }

    /// The user with this ID (a person with its roles, or a service account).
    pub fn user(&self, id: &str) -> Result<Option<User>> {
        let found = self.one(
            &format!("SELECT {USER} FROM users WHERE id = ?1"),
            [id],
            user,
        )?;
        found.map(|u| self.with_roles(u)).transpose()
    }

    /// The person named `name`.
    pub fn person_named(&self, name: &str) -> Result<Option<User>> {
        let found = self.one(
            &format!("SELECT {USER} FROM users WHERE project_id IS NULL AND name = ?1"),
            [name],
            user,
        )?;
        found.map(|u| self.with_roles(u)).transpose()
    }

    /// The service account of `project_id` named `name`.
    pub fn account_named(&self, project_id: &str, name: &str) -> Result<Option<User>> {
        self.one(
            &format!("SELECT {USER} FROM users WHERE project_id = ?1 AND name = ?2"),
            [project_id, name],
            user,
        )
    }

    /// How many service accounts `project_id` has.
    pub fn account_count(&self, project_id: &str) -> Result<usize> {
        self.number(
            "SELECT count(*) FROM users WHERE project_id = ?1",
            [project_id],
        )
    }

    /// A page of `project_id`'s service accounts by name (only `name` when given).
    pub fn accounts(
        &self,
        project_id: &str,
        name: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<Page<User>> {
        let filter = "project_id = ?1 AND (?2 IS NULL OR name = ?2)";
        let total = self.number(
            &format!("SELECT count(*) FROM users WHERE {filter}"),
            params![project_id, name],
        )?;
        let rows = self.all(
            &format!("SELECT {USER} FROM users WHERE {filter} ORDER BY name LIMIT ?3 OFFSET ?4"),
            params![project_id, name, int(limit), int(offset)],
            user,
        )?;
        Ok((rows, total))
    }

    /// Adds a user (with a person's project roles, by project name: they must exist).
    pub fn insert_user(&self, u: &User) -> Result<()> {
        let (project_id, status, org_role) = match &u.kind {
            UserKind::ServiceAccount { project_id, status } => {
                (Some(project_id.as_str()), Some(status.as_str()), None)
            }
            UserKind::Person { org_role, .. } => (None, None, org_role.map(OrgRole::as_str)),
        };
        self.run(
            &format!("INSERT INTO users ({USER}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            params![u.id, u.name, u.created_at, project_id, status, org_role],
        )?;
        if let UserKind::Person { project_roles, .. } = &u.kind {
            for (project, role) in project_roles {
                self.run(
                    "INSERT INTO role_grants (user_id, project_id, role) \
                     SELECT ?1, id, ?3 FROM projects WHERE name = ?2",
                    params![u.id, project, role.as_str()],
                )?;
            }
        }
        Ok(())
    }

    /// Sets a service account's status.
    pub fn set_account_status(&self, id: &str, status: AccountStatus) -> Result<()> {
        self.run(
            "UPDATE users SET status = ?2 WHERE id = ?1 AND project_id IS NOT NULL",
            [id, status.as_str()],
        )?;
        Ok(())
    }

    /// Removes a user and its keys.
    pub fn delete_user(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM keys WHERE user_id = ?1", [id])?;
        self.run("DELETE FROM users WHERE id = ?1", [id])?;
        Ok(())
    }

    // Keys.

    /// The key with this ID.
    pub fn key(&self, id: &str) -> Result<Option<Key>> {
        self.one(&format!("SELECT {KEY} FROM keys WHERE id = ?1"), [id], key)
    }

    /// `user_id`'s keys by name (only `name` when given).
    pub fn keys_of(&self, user_id: &str, name: Option<&str>) -> Result<Vec<Key>> {
        self.all(
            &format!(
                "SELECT {KEY} FROM keys WHERE user_id = ?1 AND (?2 IS NULL OR name = ?2) \
                 ORDER BY name"
            ),
            params![user_id, name],
            key,
        )
    }

    /// A page of the keys of `project_id`'s service accounts, by owner ID then name (only
    /// those named `name` when given).
    pub fn project_keys(
        &self,
        project_id: &str,
        name: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<Page<Key>> {
        let from = "FROM users u JOIN keys k ON k.user_id = u.id \
                    WHERE u.project_id = ?1 AND (?2 IS NULL OR k.name = ?2)";
        let total = self.number(
            &format!("SELECT count(*) {from}"),
            params![project_id, name],
        )?;
        let rows = self.all(
            &format!(
                "SELECT k.id, k.name, k.description, k.user_id, k.secret_sha256, k.status, \
                 k.created_at {from} ORDER BY u.id, k.name LIMIT ?3 OFFSET ?4"
            ),
            params![project_id, name, int(limit), int(offset)],
            key,
        )?;
        Ok((rows, total))
    }

    /// Adds a key.
    pub fn insert_key(&self, k: &Key) -> Result<()> {
        self.run(
            &format!("INSERT INTO keys ({KEY}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            params![
                k.id,
                k.name,
                k.description,
                k.user_id,
                k.secret_sha256,
                k.status.as_str(),
                k.created_at
            ],
        )?;
        Ok(())
    }

    /// Expires every active key of `user_id`.
    pub fn expire_keys_of(&self, user_id: &str) -> Result<()> {
        self.run(
            "UPDATE keys SET status = 'expired' WHERE user_id = ?1 AND status <> 'expired'",
            [user_id],
        )?;
        Ok(())
    }

    /// Removes a key.
    pub fn delete_key(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM keys WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Removes `user_id`'s keys named `name`.
    pub fn delete_keys_named(&self, user_id: &str, name: &str) -> Result<()> {
        self.run(
            "DELETE FROM keys WHERE user_id = ?1 AND name = ?2",
            [user_id, name],
        )?;
        Ok(())
    }

    // Service agents.

    /// The agent with this ID.
    pub fn agent(&self, id: &str) -> Result<Option<Agent>> {
        self.one(
            &format!("SELECT {AGENT} FROM agents WHERE id = ?1"),
            [id],
            agent,
        )
    }

    /// `project_id`'s agent of `service`.
    pub fn agent_for(&self, project_id: &str, service: &str) -> Result<Option<Agent>> {
        self.one(
            &format!("SELECT {AGENT} FROM agents WHERE project_id = ?1 AND service = ?2"),
            [project_id, service],
            agent,
        )
    }

    /// `project_id`'s agents by service.
    pub fn agents_of(&self, project_id: &str) -> Result<Vec<Agent>> {
        self.all(
            &format!("SELECT {AGENT} FROM agents WHERE project_id = ?1 ORDER BY service"),
            [project_id],
            agent,
        )
    }

    /// Adds an agent.
    pub fn insert_agent(&self, a: &Agent) -> Result<()> {
        self.run(
            &format!("INSERT INTO agents ({AGENT}) VALUES (?1, ?2, ?3, ?4)"),
            params![a.id, a.service, a.project_id, a.created_at],
        )?;
        Ok(())
    }
}
