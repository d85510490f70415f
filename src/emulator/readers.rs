//! Read-only connections to the data file, so that requests which only read run side by side
//! instead of queueing behind the one writing connection. WAL lets a reader see every
//! committed change while the writer writes; each read is one snapshot (its own read
//! transaction), so a page and its total always agree.
//!
//! Why: on a 2-core machine shared with kcform, a request holding the single connection was
//! often descheduled for milliseconds in the middle of a 0.25 ms page read, and every other
//! request waited behind it (docs/scale.md). An in-memory emulator has no readers; its reads
//! use the writer's connection, as does any read when no reader can be used — among them every
//! read while the data file is not where the readers opened it (removed or replaced: SQLite
//! may need to open its `-wal` again, which is gone; the writer still has everything open).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, TryLockError};

use rusqlite::Connection;

use super::store::connect_reader;

/// A fixed set of reader connections; a slot is `None` when its connection could not be
/// opened (reads then use another slot or the writer).
pub struct Readers {
    slots: Vec<Mutex<Option<Connection>>>,
    next: AtomicUsize,
    /// The data file the readers opened, as it was then (read by every read, side by side).
    file: RwLock<Option<FileIdentity>>,
}

/// A path and the file it named.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileIdentity {
    path: PathBuf,
    id: (u64, u64),
}

/// One reader connection inside its read transaction; the transaction ends when it drops.
pub struct Reader<'a> {
    guard: MutexGuard<'a, Option<Connection>>,
}

impl Readers {
    /// No readers: every read uses the writer's connection.
    pub fn none() -> Readers {
        Readers {
            slots: Vec::new(),
            next: AtomicUsize::new(0),
            file: RwLock::new(None),
        }
    }

    /// `count` readers of the database at `path`.
    pub fn open(path: &Path, count: usize) -> Readers {
        Readers {
            slots: (0..count)
                .map(|_| Mutex::new(connect_reader(path).ok()))
                .collect(),
            next: AtomicUsize::new(0),
            file: RwLock::new(FileIdentity::of(path)),
        }
    }

    /// As many readers as requests can run at once on this machine (at least two).
    pub fn default_count() -> usize {
        std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, 8)
    }

    /// Opens every reader again on the database at `path` (after the writer wrote the data
    /// file there again), waiting for reads in progress to finish.
    pub fn reopen(&self, path: &Path) {
        for slot in &self.slots {
            *lock(slot) = connect_reader(path).ok();
        }
        *self
            .file
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = FileIdentity::of(path);
    }

    /// Closes every reader (at shutdown, before the WAL is copied into the data file).
    pub fn close(&self) {
        for slot in &self.slots {
            *lock(slot) = None;
        }
    }

    /// A free reader in a read transaction, waiting for a busy one if all are busy; `None`
    /// when there are no usable readers.
    pub fn acquire(&self) -> Option<Reader<'_>> {
        let count = self.slots.len();
        if count == 0 || !self.file_in_place() {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        let free = (0..count).find_map(|i| match self.slots[(start + i) % count].try_lock() {
            Ok(guard) if guard.is_some() => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) if poisoned.get_ref().is_some() => {
                Some(poisoned.into_inner())
            }
            _ => None,
        });
        let guard = free.unwrap_or_else(|| lock(&self.slots[start]));
        let conn = guard.as_ref()?;
        conn.execute_batch("BEGIN").ok()?;
        Some(Reader { guard })
    }

    /// Whether the path still names the file the readers opened.
    fn file_in_place(&self) -> bool {
        let file = self
            .file
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        file.as_ref()
            .is_some_and(|file| FileIdentity::of(&file.path).as_ref() == Some(file))
    }
}

impl FileIdentity {
    /// The file `path` names now (not following a link), if any.
    fn of(path: &Path) -> Option<FileIdentity> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        #[cfg(unix)]
        let id = {
            use std::os::unix::fs::MetadataExt as _;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let id = (0, 0); // only whether it exists
        Some(FileIdentity {
            path: path.to_path_buf(),
            id,
        })
    }
}

impl Reader<'_> {
    /// The connection, inside this reader's transaction.
    pub fn conn(&self) -> &Connection {
        self.guard
            .as_ref()
            .expect("a reader is only handed out with a connection")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.guard.as_ref() {
            // Ends the read transaction; nothing was written, so nothing is undone.
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

fn lock<T>(slot: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic during a read left no change behind (readers cannot write): the slot is whole.
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
