//! The emulator's append-only journal: `<data file>.journal`, one JSON line per committed
//! change, next to the data file (see `store`), so a request costs one appended line instead
//! of a rewrite of the whole state.
//!
//! - A line ([`Record`]) holds the new value of every object the change touched (`null`:
//!   deleted), and the organization or bootstrap record when they changed. Values are
//!   absolute, so replaying a line twice is harmless: a data file written while lines were
//!   still in the journal loads to the same state.
//! - Loading reads the data file, then replays the journal. A torn last line (a crash in the
//!   middle of an append) is ignored; any other bad line makes the pair refused as corrupt,
//!   never reset.
//! - Compaction writes the whole state to the data file atomically (`store::write_atomic`), then
//!   empties the journal. It runs at start-up, at shutdown, when the journal has grown large,
//!   and to rebuild the journal after a failed append.
//! - [`Journal::append`] writes and fsyncs a batch of lines (the state layer groups the lines
//!   of concurrent requests into one batch: group commit), then checks that the journal is
//!   still the file at its path, so a journal whose directory was removed is a failed write,
//!   not a silent write into an unlinked file.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::EmulatorError;
use super::store::{self, Agent, Bootstrap, Data, Key, Organization, Project, User};
use super::table::Undo;

/// The journal grows to at least this many bytes before it is compacted.
pub const COMPACT_MIN_BYTES: u64 = 8 << 20;

/// The journal file of a data file: `<data file>.journal`.
pub fn journal_path(data_file: &Path) -> PathBuf {
    let mut path = data_file.as_os_str().to_owned();
    path.push(".journal");
    PathBuf::from(path)
}

/// One journal line: the new values of what one change touched.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The organization, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Organization>,
    /// The bootstrap record, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Bootstrap>,
    /// Touched users by ID (`null`: deleted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<String, Option<User>>,
    /// Touched projects by ID.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub projects: BTreeMap<String, Option<Project>>,
    /// Touched keys by ID.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, Option<Key>>,
    /// Touched service agents by ID.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agents: BTreeMap<String, Option<Agent>>,
}

/// What one committed change replaced: enough to undo it, and to write its [`Record`].
#[derive(Debug, Default)]
pub struct Change {
    /// The organization before, when it changed.
    pub organization: Option<Organization>,
    /// The bootstrap record before, when it changed.
    pub bootstrap: Option<Bootstrap>,
    /// Previous values of touched users.
    pub users: Vec<Undo<User>>,
    /// Previous values of touched projects.
    pub projects: Vec<Undo<Project>>,
    /// Previous values of touched keys.
    pub keys: Vec<Undo<Key>>,
    /// Previous values of touched service agents.
    pub agents: Vec<Undo<Agent>>,
}

impl Change {
    /// Takes the undo logs of `data`'s tables; `organization` and `bootstrap` are their values
    /// before the change, kept only if they differ now.
    pub fn take(data: &mut Data, organization: Organization, bootstrap: Bootstrap) -> Change {
        Change {
            organization: (data.organization != organization).then_some(organization),
            bootstrap: (data.bootstrap != bootstrap).then_some(bootstrap),
            users: data.users.take_undo(),
            projects: data.projects.take_undo(),
            keys: data.keys.take_undo(),
            agents: data.agents.take_undo(),
        }
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.organization.is_none()
            && self.bootstrap.is_none()
            && self.users.is_empty()
            && self.projects.is_empty()
            && self.keys.is_empty()
            && self.agents.is_empty()
    }

    /// The journal line of this change, from the current values in `data`.
    pub fn record(&self, data: &Data) -> Record {
        Record {
            organization: self
                .organization
                .as_ref()
                .map(|_| data.organization.clone()),
            bootstrap: self.bootstrap.as_ref().map(|_| data.bootstrap.clone()),
            users: data.users.current_of(&self.users),
            projects: data.projects.current_of(&self.projects),
            keys: data.keys.current_of(&self.keys),
            agents: data.agents.current_of(&self.agents),
        }
    }

    /// Puts back what the change replaced.
    pub fn undo(self, data: &mut Data) {
        data.agents.restore(self.agents);
        data.keys.restore(self.keys);
        data.projects.restore(self.projects);
        data.users.restore(self.users);
        if let Some(organization) = self.organization {
            data.organization = organization;
        }
        if let Some(bootstrap) = self.bootstrap {
            data.bootstrap = bootstrap;
        }
    }
}

/// Rolls back every table change of a refused transaction.
pub fn rollback(data: &mut Data, organization: Organization, bootstrap: Bootstrap) {
    data.users.rollback();
    data.projects.rollback();
    data.keys.rollback();
    data.agents.rollback();
    data.organization = organization;
    data.bootstrap = bootstrap;
}

impl Record {
    /// Applies the line to `data`.
    pub fn replay(self, data: &mut Data) {
        if let Some(organization) = self.organization {
            data.organization = organization;
        }
        if let Some(bootstrap) = self.bootstrap {
            data.bootstrap = bootstrap;
        }
        data.users.replay(self.users);
        data.projects.replay(self.projects);
        data.keys.replay(self.keys);
        data.agents.replay(self.agents);
    }

    /// The line, newline-terminated.
    pub fn line(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = serde_json::to_vec(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// Reads the data file and replays its journal. `Ok(None)` when there is no data file (a
/// journal without its data file is refused). A corrupt data file, or a bad journal line
/// other than a torn last one, is an error naming the file.
pub fn load(data_file: &Path) -> Result<Option<Data>, EmulatorError> {
    let path = journal_path(data_file);
    let text = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(EmulatorError::ReadDataFile { path, source }),
    };
    let Some(mut data) = store::load(data_file)? else {
        if text.as_ref().is_some_and(|t| !t.is_empty()) {
            return Err(EmulatorError::CorruptDataFile {
                path: data_file.to_path_buf(),
                reason: format!("it is missing but its journal {} exists", path.display()),
            });
        }
        return Ok(None);
    };
    let text = text.unwrap_or_default();
    let corrupt = |reason: String| EmulatorError::CorruptDataFile {
        path: path.clone(),
        reason,
    };
    let mut lines = text.split_inclusive(|b| *b == b'\n').peekable();
    let mut number = 0;
    while let Some(line) = lines.next() {
        number += 1;
        let last = lines.peek().is_none();
        let complete = line.ends_with(b"\n");
        match (serde_json::from_slice::<Record>(line), complete) {
            (Ok(record), true) => {
                record.replay(&mut data);
            }
            // The last line of a crashed append: the change was never answered, drop it.
            _ if last => {}
            (Err(e), _) => {
                return Err(corrupt(format!("journal line {number} is not valid: {e}")));
            }
            (Ok(_), false) => {
                return Err(corrupt(format!("journal line {number} has no line end")));
            }
        }
    }
    data.check_integrity()
        .map_err(|reason| corrupt(format!("after replaying the journal: {reason}")))?;
    Ok(Some(data))
}

/// The open journal of a data file.
#[derive(Debug)]
pub struct Journal {
    data_file: PathBuf,
    path: PathBuf,
    /// `None` after a failure: the next write must compact first.
    file: Option<std::fs::File>,
    /// Bytes in the journal.
    len: u64,
    /// Bytes in the data file at the last compaction.
    data_len: u64,
}

impl Journal {
    /// A journal for `data_file` that must be compacted before its first append.
    pub fn new(data_file: PathBuf) -> Journal {
        Journal {
            path: journal_path(&data_file),
            data_file,
            file: None,
            len: 0,
            data_len: 0,
        }
    }

    /// Whether the next write must be a compaction: after a failure, or when the journal has
    /// grown past twice the data file (and [`COMPACT_MIN_BYTES`]).
    pub fn needs_compaction(&self) -> bool {
        self.file.is_none() || self.len > COMPACT_MIN_BYTES.max(2 * self.data_len)
    }

    /// Marks the journal as unusable until the next compaction (after a failed write).
    pub fn invalidate(&mut self) {
        self.file = None;
    }

    /// Whether the journal holds lines that a compaction would fold into the data file.
    pub fn is_dirty(&self) -> bool {
        self.file.is_none() || self.len > 0
    }

    /// Writes `data` to the data file atomically, then empties the journal (fsynced).
    pub fn compact(&mut self, data: &Data) -> Result<(), EmulatorError> {
        self.file = None;
        let mut bytes = serde_json::to_vec_pretty(data)?;
        bytes.push(b'\n');
        store::write_atomic(&self.data_file, &bytes)?;
        self.data_len = bytes.len() as u64;
        let write_err = |source: std::io::Error| EmulatorError::WriteFile {
            path: self.path.clone(),
            source,
        };
        let file = crate::state::file::open_private_file(&self.path, true).map_err(write_err)?;
        file.sync_all().map_err(write_err)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(dir) = std::fs::File::open(dir)
        {
            let _ = dir.sync_all();
        }
        self.file = Some(file);
        self.len = 0;
        Ok(())
    }

    /// Appends `lines` and fsyncs them. On failure the journal is marked for compaction (the
    /// file may hold part of the lines).
    pub fn append(&mut self, lines: &[u8]) -> Result<(), EmulatorError> {
        let result = self.try_append(lines);
        if result.is_err() {
            self.file = None;
        }
        result.map_err(|source| EmulatorError::WriteFile {
            path: self.path.clone(),
            source,
        })
    }

    fn try_append(&mut self, lines: &[u8]) -> std::io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the journal needs a compaction first"))?;
        file.write_all(lines)?;
        file.sync_data()?;
        self.len += lines.len() as u64;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let open = file.metadata()?;
            let named = std::fs::metadata(&self.path)?;
            if (open.dev(), open.ino()) != (named.dev(), named.ino()) {
                return Err(std::io::Error::other(
                    "the journal file was removed or replaced while open",
                ));
            }
        }
        Ok(())
    }
}
