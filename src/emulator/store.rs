//! The emulator's data file: one SQLite database (`schema.sql`), opened by [`Store::open`].
//!
//! - **Creating** one: the schema and a fresh organization are written to a new 0600 temporary
//!   file beside the data file, which is then renamed into place, so the data file is always a
//!   whole database (an empty file, or a half-initialized one, is never left behind by a crash).
//! - **Opening** one: a symbolic link is refused (kcform follows none to its own files), the
//!   file is made 0600, and anything that is not a kcform emulator database of this
//!   [`SCHEMA_VERSION`] — an empty file, JSON (an earlier kcform's format), another program's
//!   database, a corrupt page, a reference to a missing object — is refused, never reset.
//! - **Durability**: WAL mode with `synchronous = NORMAL`. A transaction's pages are written
//!   to `<data file>-wal` before its `COMMIT` returns, and the answer leaves only after that,
//!   so a committed change survives the emulator being killed (`kill -9`): the operating
//!   system has the bytes. Only a crash of the machine itself can lose the last changes
//!   (never corrupt the file). `FULL` would fsync each commit: ~3.5 ms on the benchmark's disk,
//!   one commit at a time, more than the 2 ms per change an apply at parallelism 10 against
//!   20 ms latency leaves (docs/scale.md).
//! - `<data file>-wal` and `-shm` are SQLite's, next to the data file and with its mode; a
//!   clean shutdown checkpoints the WAL into the data file. `<data file>.lock` keeps a second
//!   emulator off the file (a `sqlite3` shell may read it meanwhile).
//! - A data file removed while the emulator runs is noticed before each change: the change
//!   answers 500, and once the directory is back the live database is written there again.

use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::db::Db;
use super::error::EmulatorError;

/// The schema (`PRAGMA user_version`); bump it when the tables change incompatibly.
pub const SCHEMA_VERSION: i64 = 1;
/// `PRAGMA application_id` of a kcform emulator database ("kcfm").
pub const APPLICATION_ID: i64 = 0x6b63_666d;
/// The tables, as `sqlite3`'s `.schema` shows them.
pub const SCHEMA: &str = include_str!("schema.sql");

/// Prepared statements kept per connection (the routes use a few dozen).
const STATEMENT_CACHE: usize = 64;

/// The open database, and the data file when there is one.
pub struct Store {
    /// The writing connection: every change, one at a time, and the reads when there are no
    /// readers (see `readers`).
    pub conn: Connection,
    /// `None` for an in-memory emulator.
    pub file: Option<DataFile>,
}

/// The data file: where it is, the file SQLite has open, and the lock.
pub struct DataFile {
    path: PathBuf,
    /// The same file as the connection's, to tell whether the path still names it.
    handle: File,
    /// Held for the state's lifetime so two processes never serve one data file.
    _lock: File,
}

impl Store {
    /// An in-memory database with a fresh organization.
    pub fn in_memory(
        payment_method: bool,
        fresh: impl FnOnce(&Db) -> rusqlite::Result<()>,
    ) -> Result<Store, EmulatorError> {
        let failed = |source| EmulatorError::Database {
            path: PathBuf::from(":memory:"),
            source,
        };
        let conn = Connection::open_in_memory().map_err(failed)?;
        initialize(&conn, payment_method, fresh).map_err(failed)?;
        configure(&conn).map_err(failed)?;
        Ok(Store { conn, file: None })
    }

    /// Opens the data file at `path`, creating it with a fresh organization (`fresh` writes
    /// it) when there is none.
    pub fn open(
        path: &Path,
        payment_method: bool,
        fresh: impl FnOnce(&Db) -> rusqlite::Result<()>,
    ) -> Result<Store, EmulatorError> {
        let lock = lock_data_file(path, DATA_LOCK_WAIT)?;
        let read_error = |source| EmulatorError::ReadDataFile {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::symlink_metadata(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create(path, payment_method, fresh)?;
            }
            Err(e) => return Err(read_error(e)),
        }
        let handle = open_existing(path).map_err(read_error)?;
        check_header(path, &handle)?;
        let conn = connect(path).map_err(|e| database_error(path, e))?;
        check(path, &conn)?;
        configure(&conn).map_err(|e| database_error(path, e))?;
        let file = DataFile {
            path: path.to_path_buf(),
            handle,
            _lock: lock,
        };
        Ok(Store {
            conn,
            file: Some(file),
        })
    }

    /// Makes sure the data file is still where it was opened, before a change: if it was
    /// removed and its directory exists, the live database is written there again and
    /// reopened; otherwise (no directory, or another file in its place) the change must not
    /// happen. The error names the file. `true` when the file was written again (readers of
    /// the old one must open the new one).
    pub fn ensure_file(&mut self) -> Result<bool, String> {
        let Some(file) = &self.file else {
            return Ok(false);
        };
        let Some(why) = file.moved() else {
            return Ok(false);
        };
        let path = file.path.clone();
        let parent_exists = path
            .parent()
            .is_none_or(|d| d.as_os_str().is_empty() || d.is_dir());
        let missing = matches!(
            std::fs::symlink_metadata(&path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound
        );
        if !(missing && parent_exists) {
            return Err(cannot_save(&path, &why));
        }
        let rewritten = rewrite(&self.conn, &path)
            .and_then(|()| Ok((connect(&path)?, open_existing(&path).map_err(io)?)))
            .and_then(|(conn, handle)| {
                configure(&conn)?;
                Ok((conn, handle))
            });
        match rewritten {
            Ok((conn, handle)) => {
                self.conn = conn;
                if let Some(file) = &mut self.file {
                    file.handle = handle;
                }
                Ok(true)
            }
            Err(e) => Err(cannot_save(&path, &e.to_string())),
        }
    }

    /// The data file, if there is one.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|file| file.path.as_path())
    }

    /// Why a change must not be committed now (the data file was removed or replaced since
    /// the change began), naming the file.
    pub fn check_file(&self) -> Result<(), String> {
        match self
            .file
            .as_ref()
            .and_then(|f| f.moved().map(|why| (f, why)))
        {
            Some((file, why)) => Err(cannot_save(&file.path, &why)),
            None => Ok(()),
        }
    }

    /// Copies the WAL into the data file and empties it (at shutdown), so the data file alone
    /// holds everything.
    pub fn checkpoint(&self) {
        if self.file.is_some() {
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }
}

impl DataFile {
    /// Why the path no longer names the open file, if it does not.
    fn moved(&self) -> Option<String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let open = match self.handle.metadata() {
                Ok(meta) => meta,
                Err(e) => return Some(e.to_string()),
            };
            match std::fs::symlink_metadata(&self.path) {
                Ok(named) if (named.dev(), named.ino()) == (open.dev(), open.ino()) => None,
                Ok(_) => Some("another file took its place while the emulator ran".to_string()),
                Err(_) => Some("it was removed while the emulator ran".to_string()),
            }
        }
        #[cfg(not(unix))]
        {
            (!self.path.exists()).then(|| "it was removed while the emulator ran".to_string())
        }
    }
}

fn cannot_save(path: &Path, why: &str) -> String {
    format!("cannot write {}: {why}", path.display())
}

fn io(e: std::io::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// A connection to an existing database file (never a link), as the emulator uses it.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NOFOLLOW
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_EXRESCODE,
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// A read-only connection to the database at `path` (never a link), for `readers`: it sees
/// every committed change, and a read transaction on it is one snapshot.
pub fn connect_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NOFOLLOW
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_EXRESCODE,
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// WAL (see the module documentation), foreign keys enforced, and patience with a `sqlite3`
/// shell that holds a lock for a moment.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    if mode != "memory" {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some(format!(
                    "the database cannot use WAL mode (it stays in `{mode}` mode)"
                )),
            ));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    Ok(())
}

/// The schema and a fresh organization, in one transaction.
fn initialize(
    conn: &Connection,
    payment_method: bool,
    fresh: impl FnOnce(&Db) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(SCHEMA)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.pragma_update(None, "foreign_keys", true)?;
    let db = Db::new(&tx);
    fresh(&db)?;
    if !payment_method {
        db.set_payment_method(false)?;
    }
    tx.commit()
}

/// A temporary name beside `path`: `.<name>.<random>.tmp`.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{:016x}.tmp", rand::random::<u64>()))
}

/// Removes a temporary database and SQLite's files beside it.
fn remove_temp(temp: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut name = temp.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Creates the data file with the schema and a fresh organization (see the module
/// documentation).
fn create(
    path: &Path,
    payment_method: bool,
    fresh: impl FnOnce(&Db) -> rusqlite::Result<()>,
) -> Result<(), EmulatorError> {
    let temp = temp_beside(path);
    let write_error = |source| EmulatorError::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    let file = crate::state::file::open_private_file(&temp, true).map_err(write_error)?;
    let built = (|| {
        let conn = connect(&temp)?;
        initialize(&conn, payment_method, fresh)?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.close().map_err(|(_, e)| e)
    })();
    let placed = built.map_err(|e| database_error(path, e)).and_then(|()| {
        file.sync_all()
            .and_then(|()| std::fs::rename(&temp, path))
            .map_err(write_error)
    });
    if placed.is_err() {
        remove_temp(&temp);
    }
    placed?;
    sync_dir(path);
    Ok(())
}

/// Writes the live database to `path` again (its file was removed), atomically.
fn rewrite(conn: &Connection, path: &Path) -> rusqlite::Result<()> {
    let temp = temp_beside(path);
    let written = (|| {
        let file = crate::state::file::open_private_file(&temp, true).map_err(io)?;
        conn.execute("VACUUM INTO ?1", [temp.to_string_lossy()])?;
        let copy = connect(&temp)?;
        copy.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        copy.close().map_err(|(_, e)| e)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temp, path).map_err(io)
    })();
    if written.is_err() {
        remove_temp(&temp);
    }
    written?;
    sync_dir(path);
    Ok(())
}

fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
}

/// Opens the existing data file without following a link, and makes it 0600.
fn open_existing(path: &Path) -> std::io::Result<File> {
    if std::fs::symlink_metadata(path)?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a directory",
        ));
    }
    let file = crate::state::file::open_private_file(path, false)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

fn corrupt(path: &Path, reason: impl Into<String>) -> EmulatorError {
    EmulatorError::CorruptDataFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// An SQLite error about `path`: corruption is [`EmulatorError::CorruptDataFile`].
fn database_error(path: &Path, source: rusqlite::Error) -> EmulatorError {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    match source.sqlite_error_code() {
        Some(DatabaseCorrupt | NotADatabase) => corrupt(path, source.to_string()),
        _ => EmulatorError::Database {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Refuses what is plainly not an SQLite database, before SQLite opens it.
fn check_header(path: &Path, handle: &File) -> Result<(), EmulatorError> {
    use std::io::Read as _;
    let mut header = Vec::with_capacity(16);
    handle
        .take(16)
        .read_to_end(&mut header)
        .map_err(|source| EmulatorError::ReadDataFile {
            path: path.to_path_buf(),
            source,
        })?;
    if header.is_empty() {
        return Err(corrupt(path, "the file is empty"));
    }
    if header.trim_ascii_start().starts_with(b"{") {
        return Err(corrupt(
            path,
            "it holds JSON, the data file format of an earlier kcform; this kcform keeps the \
             emulator's state in an SQLite database",
        ));
    }
    if header != b"SQLite format 3\0" {
        return Err(corrupt(path, "it is not an SQLite database"));
    }
    Ok(())
}

/// Refuses a database that is not a kcform emulator's of this version, is damaged, or holds
/// a reference to a missing object (a hand edit with foreign keys off).
fn check(path: &Path, conn: &Connection) -> Result<(), EmulatorError> {
    let pragma = |name: &str| -> Result<i64, EmulatorError> {
        conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
            .map_err(|e| database_error(path, e))
    };
    let application_id = pragma("application_id")?;
    if application_id != APPLICATION_ID {
        return Err(corrupt(
            path,
            format!(
                "it is an SQLite database, but not a kcform emulator's \
                 (application_id {application_id:#x}, expected {APPLICATION_ID:#x})"
            ),
        ));
    }
    let version = pragma("user_version")?;
    if version != SCHEMA_VERSION {
        return Err(EmulatorError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: u64::try_from(version).unwrap_or_default(),
            expected: SCHEMA_VERSION as u32,
        });
    }
    let verdict: String = conn
        .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
        .map_err(|e| database_error(path, e))?;
    if verdict != "ok" {
        return Err(corrupt(path, verdict));
    }
    for (sql, what) in INTEGRITY {
        let found: Option<(String, Option<String>)> = {
            use rusqlite::OptionalExtension as _;
            conn.query_row(sql, [], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
                .map_err(|e| database_error(path, e))?
        };
        if let Some((id, other)) = found {
            let other = other.unwrap_or_default();
            return Err(corrupt(
                path,
                what.replace("{id}", &id).replace("{other}", &other),
            ));
        }
    }
    Ok(())
}

/// The references every database must keep: a query finding the first broken one, and how to
/// say it.
const INTEGRITY: [(&str, &str); 6] = [
    (
        "SELECT u.name, u.project_id FROM users u LEFT JOIN projects p ON p.id = u.project_id \
         WHERE u.project_id IS NOT NULL AND p.id IS NULL LIMIT 1",
        "service account `{id}` belongs to the unknown project `{other}`",
    ),
    (
        "SELECT k.id, k.user_id FROM keys k LEFT JOIN users u ON u.id = k.user_id \
         WHERE u.id IS NULL LIMIT 1",
        "access key `{id}` belongs to the unknown user `{other}`",
    ),
    (
        "SELECT a.id, a.project_id FROM agents a LEFT JOIN projects p ON p.id = a.project_id \
         WHERE p.id IS NULL LIMIT 1",
        "service agent `{id}` belongs to the unknown project `{other}`",
    ),
    (
        "SELECT g.user_id, g.project_id FROM role_grants g \
         LEFT JOIN users u ON u.id = g.user_id AND u.project_id IS NULL \
         LEFT JOIN projects p ON p.id = g.project_id \
         WHERE u.id IS NULL OR p.id IS NULL LIMIT 1",
        "a project role of `{id}` names an unknown person or project `{other}`",
    ),
    (
        "SELECT count(*), NULL FROM organization HAVING count(*) <> 1",
        "it holds {id} organizations instead of one",
    ),
    (
        "SELECT o.admin_user_id, NULL FROM organization o LEFT JOIN users u \
         ON u.id = o.admin_user_id AND u.project_id IS NULL AND u.org_role = 'org-admin' \
         WHERE u.id IS NULL",
        "the bootstrap Org Admin `{id}` is missing or not an Org Admin",
    ),
];

/// Writes `bytes` to `path` atomically with kcform's private-file writer
/// (`state::file::write_private_file`: a 0600 temp file in the same directory, fsync, rename,
/// then fsync of the directory; a link at `path` is replaced, never followed). The file gets
/// mode 0600 (it may hold a secret).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EmulatorError> {
    crate::state::file::write_private_file(path, bytes).map_err(|source| EmulatorError::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

/// How long a second process waits for the data file before giving up.
pub const DATA_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes the exclusive lock `<data file>.lock` (an OS file lock, released when the returned
/// file is dropped or the process dies), waiting up to `wait` for another holder.
pub fn lock_data_file(
    path: &Path,
    wait: std::time::Duration,
) -> Result<std::fs::File, EmulatorError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| EmulatorError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let file = crate::state::file::open_private_file(&lock_path, false).map_err(|source| {
        EmulatorError::WriteFile {
            path: lock_path.clone(),
            source,
        }
    })?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(EmulatorError::DataFileInUse {
                    path: path.to_path_buf(),
                    lock: lock_path,
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(EmulatorError::WriteFile {
                    path: lock_path,
                    source,
                });
            }
        }
    }
}
