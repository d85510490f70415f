//! The live emulator state shared by every request: the persistent [`Data`] plus the
//! in-memory token table, behind one lock. Every change is a transaction: it runs in place
//! while its tables record what it replaced, so a refused request is rolled back in O(changes)
//! and never leaves a half-applied change behind. A committed change queues one journal line
//! (`journal`); [`EmulatorState::commit`] — run by the router around every request — answers
//! only once that line is on disk, sharing fsyncs between concurrent requests (group commit,
//! `commit`), and a failed write undoes the change and answers 500. Also owns bootstrap
//! (first organization, Org Admin key issue/reuse) and the ID, secret and clock helpers.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::Notify;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::EmulatorOptions;
use super::commit::{Durability, Step};
use super::error::{ApiError, ApiResult, EmulatorError};
use super::journal::{self, Change, Journal};
use super::stats::Stats;
use super::store::{self, Bootstrap, Data, Key, KeyStatus, OrgRole, Organization, User, UserKind};
use crate::wire::{AccessKeyCredential, Token};

/// Name of the bootstrap Org Admin user.
pub const BOOTSTRAP_ADMIN_NAME: &str = "admin";
/// Name of the bootstrap Org Admin's access key.
pub const BOOTSTRAP_KEY_NAME: &str = "bootstrap";
/// Name of the organization a fresh data file gets.
pub const ORGANIZATION_NAME: &str = "kcform-emulator";

/// A token the emulator issued. Whether it still works is decided on every use against the
/// current [`Data`] (key present and active, owner active), which is what makes deleting a
/// key, deleting an account or deactivating it revoke its tokens at once.
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

struct Inner {
    data: Data,
    /// The journal and group-commit state; `None` for an in-memory emulator.
    durability: Option<Durability>,
    /// Held for the state's lifetime so two processes never serve one data file (each would
    /// overwrite the other's changes).
    _data_lock: Option<std::fs::File>,
    /// Keyed by the hex SHA-256 of the token string, so the table never holds a usable token.
    tokens: HashMap<String, TokenRecord>,
    /// Unexpired tokens whose key was deleted, by the same hash: the key's ID and the token's
    /// expiry. Keystone answers such a token `404 Could not find Application Credential`, not
    /// `401`, and so does the emulator.
    key_deleted: HashMap<String, (String, OffsetDateTime)>,
}

/// Most tokens remembered in [`Inner::key_deleted`]; beyond, such a token answers `401`.
const MAX_KEY_DELETED_TOKENS: usize = 100_000;

/// Drops the tokens that stopped working, remembering those whose key was deleted.
fn prune_tokens(
    data: &Data,
    tokens: &mut HashMap<String, TokenRecord>,
    key_deleted: &mut HashMap<String, (String, OffsetDateTime)>,
    now: OffsetDateTime,
) {
    key_deleted.retain(|_, (_, expires)| *expires > now);
    tokens.retain(|hash, record| {
        if token_usable(data, record, now) {
            return true;
        }
        if record.expires_at > now
            && data.keys.get(&record.key_id).is_none()
            && key_deleted.len() < MAX_KEY_DELETED_TOKENS
        {
            key_deleted.insert(hash.clone(), (record.key_id.clone(), record.expires_at));
        }
        false
    });
}

/// What [`EmulatorState::open_with`] produced.
pub(super) struct Opened {
    pub state: EmulatorState,
    /// The usable Org Admin credential.
    pub credential: AccessKeyCredential,
    /// Whether `credential` was newly issued (so it must be handed out again).
    pub issued: bool,
}

/// Shared handle to the emulator's state; cheap to clone. Build one with
/// [`EmulatorState::open`] and serve it with [`super::router`].
#[derive(Clone)]
pub struct EmulatorState {
    /// Readers (listings, token checks) share it: at scale they are most requests, and one
    /// listing's answer takes long enough to build that serializing them would queue the rest.
    inner: Arc<RwLock<Inner>>,
    faults: super::faults::Faults,
    /// Woken whenever a journal write settles.
    settled: Arc<Notify>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for EmulatorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorState").finish_non_exhaustive()
    }
}

impl EmulatorState {
    /// Loads the state from `options.data_file` (or bootstraps a fresh organization) and
    /// issues a fresh Org Admin key, revoking the previous bootstrap key. Returns the state
    /// and the new key; it does not write `options.bootstrap_credentials` (that is
    /// [`super::start`]'s job).
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
        let data_lock = match &data_file {
            Some(path) => Some(store::lock_data_file(path, store::DATA_LOCK_WAIT)?),
            None => None,
        };
        let loaded = match &data_file {
            Some(path) => journal::load(path)?,
            None => None,
        };
        let mut data = loaded.unwrap_or_else(|| fresh_data(payment_method));
        let reused = reuse.filter(|cred| is_bootstrap_key(&data, cred)).cloned();
        let (credential, issued) = match reused {
            Some(cred) => (cred, false),
            None => (rotate_bootstrap_key(&mut data), true),
        };
        // Start-up compaction: the data file gets the replayed journal and the new key, and
        // the journal starts empty.
        let durability = match data_file {
            Some(path) => {
                let mut journal = Journal::new(path);
                journal.compact(&data)?;
                Some(Durability::new(journal))
            }
            None => None,
        };
        data.users.take_undo();
        data.projects.take_undo();
        data.keys.take_undo();
        data.agents.take_undo();
        let state = EmulatorState {
            inner: Arc::new(RwLock::new(Inner {
                data,
                durability,
                _data_lock: data_lock,
                tokens: HashMap::new(),
                key_deleted: HashMap::new(),
            })),
            faults: super::faults::Faults::default(),
            settled: Arc::new(Notify::new()),
            stats: Arc::new(Stats::default()),
        };
        Ok(Opened {
            state,
            credential,
            issued,
        })
    }

    fn lock(&self) -> RwLockWriteGuard<'_, Inner> {
        // Writes are transactional (see `write`), so a panic while the lock was held cannot
        // have left `data` half-changed; recovering the guard is safe.
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn shared(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The injected faults (see `faults`), kept apart from the data: they are never persisted.
    pub fn faults(&self) -> super::faults::Faults {
        self.faults.clone()
    }

    /// Runs `f` on the current data.
    pub fn read<T>(&self, f: impl FnOnce(&Data) -> T) -> T {
        f(&self.shared().data)
    }

    /// The request counters (see `stats`).
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// Runs `f` on the data as one transaction: if it fails, everything it changed is rolled
    /// back; if it succeeds and changed anything, the change's journal line is queued (the
    /// answer waits for it in [`EmulatorState::commit`]). Tokens that the change invalidated
    /// are dropped. Costs O(objects touched · log n), whatever the size of the state.
    pub fn write<T>(&self, f: impl FnOnce(&mut Data) -> ApiResult<T>) -> ApiResult<T> {
        let mut inner = self.lock();
        let Inner {
            data,
            durability,
            tokens,
            key_deleted,
            ..
        } = &mut *inner;
        let organization = data.organization.clone();
        let bootstrap = data.bootstrap.clone();
        let out = match f(data) {
            Ok(out) => out,
            Err(error) => {
                journal::rollback(data, organization, bootstrap);
                return Err(error);
            }
        };
        let change = Change::take(data, organization, bootstrap);
        if change.is_empty() {
            return Ok(out);
        }
        self.stats.change();
        if let Some(durability) = durability {
            let line = match change.record(data).line() {
                Ok(line) => line,
                Err(error) => {
                    change.undo(data);
                    return Err(EmulatorError::from(error).into());
                }
            };
            durability.push(&line, change);
        }
        prune_tokens(data, tokens, key_deleted, OffsetDateTime::now_utc());
        Ok(out)
    }

    /// The sequence number below which every change is settled; a request notes it before it
    /// runs and hands it to [`EmulatorState::commit`].
    pub fn settled_mark(&self) -> u64 {
        self.shared()
            .durability
            .as_ref()
            .map_or(0, Durability::settled)
    }

    /// Waits until every change queued so far is on disk, writing the queued lines itself (one
    /// write and one fsync for all of them) when no other request is writing. `from` is
    /// [`EmulatorState::settled_mark`] before the request ran: if a change it may have seen
    /// could not be saved, the answer is 500 (the change has been undone).
    pub async fn commit(&self, from: u64) -> ApiResult<()> {
        let upto = match &self.shared().durability {
            Some(durability) => durability.appended(),
            None => return Ok(()),
        };
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let step = {
                let mut inner = self.lock();
                let Inner {
                    data, durability, ..
                } = &mut *inner;
                let Some(durability) = durability.as_mut() else {
                    return Ok(());
                };
                match durability.step(from, upto) {
                    Step::Compact => {
                        durability.compact(data);
                        self.settled.notify_waiters();
                        continue;
                    }
                    step => step,
                }
            };
            match step {
                Step::Done => return Ok(()),
                Step::Failed(why) => {
                    return Err(ApiError::internal(format!(
                        "the emulator could not save its state: {why}"
                    )));
                }
                Step::Wait | Step::Compact => notified.await,
                Step::Append(mut journal, lines, batch_upto) => {
                    // The write and its report run on a task of their own, which finishes
                    // even if this request's future is dropped meanwhile (hyper drops it when
                    // its client disconnects): the journal must come back and the waiters be
                    // woken, or every later answer would wait forever.
                    let state = self.clone();
                    let written = tokio::task::spawn_blocking(move || {
                        let result = journal.append(&lines).map_err(|e| e.to_string());
                        state.stats.journal_write();
                        let mut inner = state.lock();
                        let Inner {
                            data, durability, ..
                        } = &mut *inner;
                        if let Some(durability) = durability.as_mut() {
                            durability.appended_batch(journal, batch_upto, result, data);
                        }
                        drop(inner);
                        state.settled.notify_waiters();
                    })
                    .await;
                    if let Err(panic) = written {
                        // The blocking task panicked: the journal handle is lost with it.
                        std::panic::resume_unwind(panic.into_panic());
                    }
                }
            }
        }
    }

    /// Folds the journal into the data file (at shutdown; also done at start-up and when the
    /// journal grows large). Queued changes are written too.
    pub fn compact(&self) {
        let mut inner = self.lock();
        let Inner {
            data, durability, ..
        } = &mut *inner;
        if let Some(durability) = durability.as_mut()
            && durability.is_dirty()
        {
            durability.compact(data);
        }
        drop(inner);
        self.settled.notify_waiters();
    }

    /// Remembers an issued token.
    pub fn insert_token(&self, token: &str, record: TokenRecord) {
        let mut inner = self.lock();
        let Inner {
            data,
            tokens,
            key_deleted,
            ..
        } = &mut *inner;
        // Expired tokens are dropped here so the table stays bounded by live tokens.
        prune_tokens(data, tokens, key_deleted, OffsetDateTime::now_utc());
        tokens.insert(sha256_hex(token), record);
    }

    /// The ID of the deleted key `token` was issued from, if it was and has not expired.
    pub fn deleted_key_of(&self, token: &str) -> Option<String> {
        let inner = self.shared();
        let hash = sha256_hex(token);
        let now = OffsetDateTime::now_utc();
        if let Some(record) = inner.tokens.get(&hash) {
            let gone = record.expires_at > now && inner.data.keys.get(&record.key_id).is_none();
            return gone.then(|| record.key_id.clone());
        }
        inner
            .key_deleted
            .get(&hash)
            .filter(|(_, expires)| *expires > now)
            .map(|(key_id, _)| key_id.clone())
    }

    /// Revokes `token` (`DELETE /identity/v3/auth/tokens`); `false` if it was not usable.
    pub fn revoke_token(&self, token: &str) -> bool {
        let mut inner = self.lock();
        let Inner { data, tokens, .. } = &mut *inner;
        let key = sha256_hex(token);
        let usable = tokens
            .get(&key)
            .is_some_and(|record| token_usable(data, record, OffsetDateTime::now_utc()));
        tokens.remove(&key);
        usable
    }

    /// The record of `token` if it is known, unexpired and not revoked.
    pub fn lookup_token(&self, token: &str) -> Option<TokenRecord> {
        self.with_token(token, |_, record| record.clone())
    }

    /// Runs `f` on the record of `token` and the current data, under one lock, if the token
    /// is known, unexpired and not revoked.
    pub fn with_token<T>(
        &self,
        token: &str,
        f: impl FnOnce(&Data, &TokenRecord) -> T,
    ) -> Option<T> {
        let inner = self.shared();
        let record = inner.tokens.get(&sha256_hex(token))?;
        token_usable(&inner.data, record, OffsetDateTime::now_utc()).then(|| f(&inner.data, record))
    }
}

/// Whether a token still works: unexpired, its key exists and is active, its user exists and
/// (for a service account) is active.
fn token_usable(data: &Data, record: &TokenRecord, now: OffsetDateTime) -> bool {
    if record.expires_at <= now {
        return false;
    }
    let key_ok = data
        .keys
        .get(&record.key_id)
        .is_some_and(|k| k.status == KeyStatus::Active && k.user_id == record.user_id);
    key_ok
        && data
            .users
            .get(&record.user_id)
            .is_some_and(user_can_authenticate)
}

/// People always can; service accounts only while active.
pub fn user_can_authenticate(user: &User) -> bool {
    match &user.kind {
        UserKind::Person { .. } => true,
        UserKind::ServiceAccount { status, .. } => *status == store::AccountStatus::Active,
    }
}

fn fresh_data(payment_method: bool) -> Data {
    let admin = User {
        id: new_id(),
        name: BOOTSTRAP_ADMIN_NAME.to_string(),
        created_at: now_rfc3339(),
        kind: UserKind::Person {
            org_role: Some(OrgRole::Admin),
            project_roles: BTreeMap::new(),
        },
    };
    Data {
        version: store::FILE_VERSION,
        organization: Organization {
            id: new_id(),
            name: ORGANIZATION_NAME.to_string(),
            payment_method,
        },
        bootstrap: Bootstrap {
            admin_user_id: admin.id.clone(),
            key_id: None,
        },
        users: [(admin.id.clone(), admin)].into_iter().collect(),
        projects: Default::default(),
        keys: Default::default(),
        agents: Default::default(),
    }
}

fn is_bootstrap_key(data: &Data, cred: &AccessKeyCredential) -> bool {
    data.bootstrap.key_id.as_deref() == Some(cred.id.as_str())
        && data.keys.get(&cred.id).is_some_and(|key| {
            key.user_id == data.bootstrap.admin_user_id
                && key.status == KeyStatus::Active
                && key.secret_sha256 == sha256_hex(&cred.secret)
        })
}

/// Revokes the previous bootstrap key and issues a new one.
fn rotate_bootstrap_key(data: &mut Data) -> AccessKeyCredential {
    if let Some(old) = data.bootstrap.key_id.take() {
        data.keys.remove(&old);
    }
    let admin = data.bootstrap.admin_user_id.clone();
    // Any leftover key with the bootstrap name (e.g. from an interrupted start) goes too, so
    // the name stays unique for the admin.
    let leftovers: Vec<String> = data
        .keys
        .named(&admin, BOOTSTRAP_KEY_NAME)
        .map(|k| k.id.clone())
        .collect();
    for id in leftovers {
        data.keys.remove(&id);
    }
    let (key, secret) = new_key(&admin, BOOTSTRAP_KEY_NAME, None, None);
    let id = key.id.clone();
    data.keys.insert(id.clone(), key);
    data.bootstrap.key_id = Some(id.clone());
    AccessKeyCredential { id, secret }
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
