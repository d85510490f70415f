//! The live emulator state shared by every request: the SQLite database (`store`, `db`) — one
//! writing connection behind a lock, and read-only connections (`readers`) for the requests
//! that only read — the in-memory token table, the injected faults and the counters. Every change is
//! one SQLite transaction ([`EmulatorState::write`]): a refused request rolls back, and a
//! change is committed — on disk, see `store` — before its answer is built. Also owns
//! bootstrap (first organization, Org Admin key issue/reuse) and the ID, secret and clock
//! helpers.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::TransactionBehavior;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::EmulatorOptions;
use super::db::{AccountStatus, Db, Key, KeyStatus, OrgRole, Organization, User, UserKind};
use super::error::{ApiError, ApiResult, EmulatorError};
use super::readers::Readers;
use super::stats::Stats;
use super::store::Store;
use crate::wire::{AccessKeyCredential, Token};

/// Name of the bootstrap Org Admin user.
pub const BOOTSTRAP_ADMIN_NAME: &str = "admin";
/// Name of the bootstrap Org Admin's access key.
pub const BOOTSTRAP_KEY_NAME: &str = "bootstrap";
/// Name of the organization a fresh data file gets.
pub const ORGANIZATION_NAME: &str = "kcform-emulator";

/// A token the emulator issued. Whether it still works is decided on every use against the
/// database (key present and active, owner active), which is what makes deleting a key,
/// deleting an account or deactivating it revoke its tokens at once.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// The user the token acts as.
    pub user_id: String,
    /// The access key it was issued from.
    pub key_id: String,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// The body shown on issue and validation.
    pub body: Token,
}

/// Why a token does not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Unknown, expired, revoked, or its key or owner no longer allows it.
    Invalid,
    /// Its key was deleted (Keystone answers `404` for the credential, not `401`).
    KeyDeleted(String),
}

/// What [`EmulatorState::open_with`] produced.
pub(super) struct Opened {
    pub state: EmulatorState,
    /// The usable Org Admin credential.
    pub credential: AccessKeyCredential,
    /// Whether `credential` was newly issued (so it must be handed out again).
    pub issued: bool,
}

/// Tokens by the hex SHA-256 of the token string, so the table never holds a usable token.
/// Records stay until they expire, so a token whose key was deleted still answers `404`.
type Tokens = HashMap<String, Arc<TokenRecord>>;

/// Shared handle to the emulator's state; cheap to clone. Build one with
/// [`EmulatorState::open`] and serve it with [`super::router`].
#[derive(Clone)]
pub struct EmulatorState {
    /// The writing connection: changes one at a time.
    store: Arc<Mutex<Store>>,
    /// Reads, side by side with each other and with the writer.
    readers: Arc<Readers>,
    tokens: Arc<Mutex<Tokens>>,
    faults: super::faults::Faults,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for EmulatorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorState").finish_non_exhaustive()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> ApiError {
        ApiError::internal(format!("the emulator's database failed: {error}"))
    }
}

impl EmulatorState {
    /// Opens `options.data_file` (or creates it with a fresh organization; without a file the
    /// state lives in memory) and issues a fresh Org Admin key, revoking the previous
    /// bootstrap key. Returns the state and the new key; it does not write
    /// `options.bootstrap_credentials` (that is [`super::start`]'s job).
    pub fn open(
        options: &EmulatorOptions,
    ) -> Result<(EmulatorState, AccessKeyCredential), EmulatorError> {
        let opened = Self::open_with(options.data_file.clone(), options.payment_method, None)?;
        Ok((opened.state, opened.credential))
    }

    /// Like [`EmulatorState::open`], but keeps `reuse` if it is still the valid bootstrap key.
    /// `payment_method` applies only to a fresh organization.
    pub(super) fn open_with(
        data_file: Option<PathBuf>,
        payment_method: bool,
        reuse: Option<&AccessKeyCredential>,
    ) -> Result<Opened, EmulatorError> {
        let mut store = match &data_file {
            Some(path) => Store::open(path, payment_method, fresh_organization)?,
            None => Store::in_memory(payment_method, fresh_organization)?,
        };
        let failed = |source| EmulatorError::Database {
            path: data_file
                .clone()
                .unwrap_or_else(|| PathBuf::from(":memory:")),
            source,
        };
        let tx = store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        let db = Db::new(&tx);
        let reused = match reuse {
            Some(cred) if is_bootstrap_key(&db, cred).map_err(failed)? => Some(cred.clone()),
            _ => None,
        };
        let (credential, issued) = match reused {
            Some(cred) => (cred, false),
            None => (rotate_bootstrap_key(&db).map_err(failed)?, true),
        };
        tx.commit().map_err(failed)?;
        let readers = match store.path() {
            Some(path) => Readers::open(path, Readers::default_count()),
            None => Readers::none(),
        };
        let state = EmulatorState {
            store: Arc::new(Mutex::new(store)),
            readers: Arc::new(readers),
            tokens: Arc::new(Mutex::new(HashMap::new())),
            faults: super::faults::Faults::default(),
            stats: Arc::new(Stats::default()),
        };
        Ok(Opened {
            state,
            credential,
            issued,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // Changes are transactions: a panic while the lock was held rolled its transaction
        // back (the guard's drop), so the database is whole; recovering the guard is safe.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn token_table(&self) -> MutexGuard<'_, Tokens> {
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The injected faults (see `faults`), kept apart from the data: they are never persisted.
    pub fn faults(&self) -> super::faults::Faults {
        self.faults.clone()
    }

    /// The request counters (see `stats`).
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// Runs `f` on the current data: every change committed so far, as one snapshot. `f` only
    /// reads (a reader connection refuses writes).
    pub fn read<T>(&self, f: impl FnOnce(&Db) -> T) -> T {
        if let Some(reader) = self.readers.acquire() {
            return f(&Db::new(reader.conn()));
        }
        let store = self.lock();
        f(&Db::new(&store.conn))
    }

    /// Runs `f` as one transaction: if it fails, everything it changed is rolled back; if it
    /// succeeds, its change is committed before this returns. A change that cannot be saved
    /// (the data file is gone, the disk is full) is rolled back and answers 500.
    pub fn write<T>(&self, f: impl FnOnce(&Db) -> ApiResult<T>) -> ApiResult<T> {
        let mut store = self.lock();
        if store.ensure_file().map_err(not_saved)?
            && let Some(path) = store.path()
        {
            self.readers.reopen(path);
        }
        let tx = store
            .conn
            .unchecked_transaction()
            .map_err(|e| not_saved(e.to_string()))?;
        let before = tx.total_changes();
        // On an error the transaction is dropped: rolled back.
        let out = f(&Db::new(&tx))?;
        if tx.total_changes() == before {
            return Ok(out);
        }
        store.check_file().map_err(not_saved)?;
        tx.commit().map_err(|e| not_saved(e.to_string()))?;
        self.stats.change();
        Ok(out)
    }

    /// Copies the WAL into the data file (at shutdown), so the file alone holds everything.
    pub fn checkpoint(&self) {
        self.readers.close();
        self.lock().checkpoint();
    }

    /// Every row of every table, in a stable order: for tests that check a refused request
    /// changed nothing.
    #[cfg(test)]
    pub fn snapshot(&self) -> Vec<(&'static str, Vec<Vec<String>>)> {
        let store = self.lock();
        [
            "organization",
            "projects",
            "users",
            "role_grants",
            "keys",
            "agents",
        ]
        .into_iter()
        .map(|table| {
            let mut statement = store
                .conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
                .expect("table");
            let columns = statement.column_count();
            let rows = statement
                .query_map([], |row| {
                    (0..columns)
                        .map(|i| Ok(format!("{:?}", row.get::<_, rusqlite::types::Value>(i)?)))
                        .collect::<rusqlite::Result<Vec<String>>>()
                })
                .expect("rows")
                .collect::<rusqlite::Result<Vec<_>>>()
                .expect("rows");
            (table, rows)
        })
        .collect()
    }

    /// Remembers an issued token.
    pub fn insert_token(&self, token: &str, record: TokenRecord) {
        let now = OffsetDateTime::now_utc();
        let mut tokens = self.token_table();
        // Expired tokens are dropped here so the table stays bounded by unexpired ones.
        tokens.retain(|_, record| record.expires_at > now);
        tokens.insert(sha256_hex(token), Arc::new(record));
    }

    /// The record of `token` if it works now, and the caller's user; or why it does not.
    pub fn token_user(&self, token: &str) -> ApiResult<Result<(Arc<TokenRecord>, User), Unusable>> {
        let Some(record) = self.token_table().get(&sha256_hex(token)).cloned() else {
            return Ok(Err(Unusable::Invalid));
        };
        let user = self.read(|db| token_user(db, &record, OffsetDateTime::now_utc()))?;
        Ok(user.map(|user| (record, user)))
    }

    /// The record of `token` if it is known, unexpired and not revoked.
    pub fn lookup_token(&self, token: &str) -> ApiResult<Option<Arc<TokenRecord>>> {
        Ok(self.token_user(token)?.ok().map(|(record, _)| record))
    }

    /// Revokes `token` (`DELETE /identity/v3/auth/tokens`); `false` if it was not usable.
    pub fn revoke_token(&self, token: &str) -> ApiResult<bool> {
        let usable = self.token_user(token)?.is_ok();
        self.token_table().remove(&sha256_hex(token));
        Ok(usable)
    }
}

fn not_saved(why: String) -> ApiError {
    ApiError::internal(format!("the emulator could not save its state: {why}"))
}

/// The user `record` acts as, if the token works now: unexpired, its key exists and is
/// active, its user exists and (for a service account) is active.
fn token_user(
    db: &Db,
    record: &TokenRecord,
    now: OffsetDateTime,
) -> rusqlite::Result<Result<User, Unusable>> {
    if record.expires_at <= now {
        return Ok(Err(Unusable::Invalid));
    }
    match db.key(&record.key_id)? {
        None => return Ok(Err(Unusable::KeyDeleted(record.key_id.clone()))),
        Some(key) if key.status != KeyStatus::Active || key.user_id != record.user_id => {
            return Ok(Err(Unusable::Invalid));
        }
        Some(_) => {}
    }
    Ok(match db.user(&record.user_id)? {
        Some(user) if user_can_authenticate(&user) => Ok(user),
        _ => Err(Unusable::Invalid),
    })
}

/// People always can; service accounts only while active.
pub fn user_can_authenticate(user: &User) -> bool {
    match &user.kind {
        UserKind::Person { .. } => true,
        UserKind::ServiceAccount { status, .. } => *status == AccountStatus::Active,
    }
}

/// A fresh organization and its bootstrap Org Admin (for a new database).
fn fresh_organization(db: &Db) -> rusqlite::Result<()> {
    let admin = User {
        id: new_id(),
        name: BOOTSTRAP_ADMIN_NAME.to_string(),
        created_at: now_rfc3339(),
        kind: UserKind::Person {
            org_role: Some(OrgRole::Admin),
            project_roles: BTreeMap::new(),
        },
    };
    let organization = Organization {
        id: new_id(),
        name: ORGANIZATION_NAME.to_string(),
        payment_method: true,
    };
    db.insert_user(&admin)?;
    db.insert_organization(&organization, &admin.id)
}

fn is_bootstrap_key(db: &Db, cred: &AccessKeyCredential) -> rusqlite::Result<bool> {
    let bootstrap = db.bootstrap()?;
    if bootstrap.key_id.as_deref() != Some(cred.id.as_str()) {
        return Ok(false);
    }
    Ok(db.key(&cred.id)?.is_some_and(|key| {
        key.user_id == bootstrap.admin_user_id
            && key.status == KeyStatus::Active
            && key.secret_sha256 == sha256_hex(&cred.secret)
    }))
}

/// Revokes the previous bootstrap key and issues a new one.
fn rotate_bootstrap_key(db: &Db) -> rusqlite::Result<AccessKeyCredential> {
    let bootstrap = db.bootstrap()?;
    if let Some(old) = &bootstrap.key_id {
        db.delete_key(old)?;
    }
    // Any leftover key with the bootstrap name (e.g. from an interrupted start) goes too, so
    // the name stays unique for the admin.
    db.delete_keys_named(&bootstrap.admin_user_id, BOOTSTRAP_KEY_NAME)?;
    let (key, secret) = new_key(&bootstrap.admin_user_id, BOOTSTRAP_KEY_NAME, None, None);
    db.insert_key(&key)?;
    db.set_bootstrap_key(Some(&key.id))?;
    Ok(AccessKeyCredential { id: key.id, secret })
}

/// A new active key for `user_id` and its secret (`secret` if the client chose one).
pub fn new_key(
    user_id: &str,
    name: &str,
    description: Option<String>,
    secret: Option<String>,
) -> (Key, String) {
    let secret = secret.unwrap_or_else(new_secret);
    let key = Key {
        id: new_id(),
        name: name.to_string(),
        description,
        user_id: user_id.to_string(),
        secret_sha256: sha256_hex(&secret),
        status: KeyStatus::Active,
        created_at: now_rfc3339(),
    };
    (key, secret)
}

/// A new 32-hex ID.
pub fn new_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// A new secret (64 hex characters, 256 bits).
pub fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A new token string.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Hex SHA-256.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Formats a time as RFC 3339 in UTC with whole seconds (`2026-11-27T10:00:00Z`).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Now, as [`rfc3339`].
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// A refusal because the named object does not exist.
pub fn missing(what: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("{what} `{id}` does not exist"))
}
