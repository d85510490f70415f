//! The local backend: `<config dir>/.kcform/`. The lock is `.kcform/lock`, held with an OS file lock
//! (`File::try_lock`) for as long as the apply runs, and holding the holder's [`LockInfo`] as
//! JSON so a refused apply can name it. The OS drops the lock when the holder exits, however
//! it exits, so a crashed apply never blocks the next one. Journal records go to
//! `<config dir>/.kcform/journal/`.

use std::fs::{File, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use super::{BackendError, parse_info};
use crate::state::file::{
    create_private_dirs, open_private_file, read_private_file, write_private_file,
};
use crate::state::lock::LockInfo;

/// The local backend of one configuration directory.
pub struct Local {
    dir: PathBuf,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackendError {
    let path = path.display().to_string();
    move |source| BackendError::Io {
        action,
        path,
        source,
    }
}

impl Local {
    /// The backend under `<config_dir>/.kcform/`.
    pub fn new(config_dir: &Path) -> Local {
        Local {
            dir: config_dir.join(crate::state::DIR),
        }
    }

    /// `.kcform/lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join("lock")
    }

    fn open(&self) -> Result<File, BackendError> {
        let path = self.lock_path();
        create_private_dirs(&self.dir).map_err(io("cannot create", &self.dir))?;
        open_private_file(&path, false).map_err(io("cannot open", &path))
    }

    /// Takes the lock and writes `info` into it, or reports the holder.
    pub fn try_acquire(&self, info: &LockInfo) -> Result<File, BackendError> {
        let path = self.lock_path();
        let mut file = self.open()?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes)
                    .map_err(io("cannot read", &path))?;
                let holder = parse_info(&bytes, &path.display().to_string())?;
                return Err(BackendError::Held(Box::new(holder)));
            }
            Err(TryLockError::Error(source)) => return Err(io("cannot lock", &path)(source)),
        }
        let bytes = serde_json::to_vec_pretty(info).unwrap_or_default();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| file.write_all(&bytes))
            .and_then(|()| file.sync_all())
            .map_err(io("cannot write", &path))?;
        Ok(file)
    }

    /// Empties the holder info and lets the OS lock go with the file.
    pub fn release(&self, file: Option<File>) -> Result<(), BackendError> {
        if let Some(file) = file {
            // Emptied rather than removed: another apply may already be waiting on this
            // very file, and removing it would let a third one lock a new file beside it.
            file.set_len(0)
                .map_err(io("cannot clear", &self.lock_path()))?;
        }
        Ok(())
    }

    /// Removes the lock file if it names `id` (a held OS lock goes with the file: the next
    /// apply locks a new one).
    pub fn unlock(&self, id: &str) -> Result<LockInfo, BackendError> {
        let path = self.lock_path();
        let bytes = match read_private_file(&path) {
            Ok(Some(bytes)) if !bytes.is_empty() => bytes,
            Ok(_) => return Err(BackendError::NotLocked(path.display().to_string())),
            Err(e) => return Err(io("cannot read", &path)(e)),
        };
        let holder = parse_info(&bytes, &path.display().to_string())?;
        if holder.id != id {
            return Err(BackendError::IdMismatch {
                given: id.to_string(),
                holder: Box::new(holder),
            });
        }
        std::fs::remove_file(&path).map_err(io("cannot remove", &path))?;
        Ok(holder)
    }

    /// Reads `<name>`; `None` when there is no such file.
    pub fn read_record(&self, name: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let path = self.dir.join(name);
        read_private_file(&path).map_err(io("cannot read", &path))
    }

    /// Writes `<name>` atomically (0600), or removes it when `bytes` is `None`.
    pub fn write_record(&self, name: &str, bytes: Option<&[u8]>) -> Result<(), BackendError> {
        let path = self.dir.join(name);
        match bytes {
            Some(bytes) => create_private_dirs(&self.dir)
                .and_then(|()| write_private_file(&path, bytes))
                .map_err(io("cannot write", &path)),
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(io("cannot remove", &path)(e))
                }
                _ => Ok(()),
            },
        }
    }

    /// Writes `journal/<name>` atomically (0600).
    pub fn write_journal(&self, name: &str, bytes: &[u8]) -> Result<String, BackendError> {
        let dir = self.dir.join("journal");
        let path = dir.join(name);
        create_private_dirs(&dir)
            .and_then(|()| write_private_file(&path, bytes))
            .map_err(io("cannot write", &path))?;
        Ok(path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_named_until_release() {
        let dir = tempfile::tempdir().unwrap();
        let local = Local::new(dir.path());
        let first = LockInfo::new("apply", &crate::state::StateSettings::default());
        let file = local.try_acquire(&first).unwrap();
        match local.try_acquire(&LockInfo::new(
            "apply",
            &crate::state::StateSettings::default(),
        )) {
            Err(BackendError::Held(holder)) => assert_eq!(*holder, first),
            other => panic!("expected Held, got {:?}", other.map(|_| ())),
        }
        local.release(Some(file)).unwrap();
        let second = LockInfo::new("apply", &crate::state::StateSettings::default());
        let file = local.try_acquire(&second).unwrap();
        drop(file);
        // The OS lock went with the descriptor; the info stays until unlock.
        assert!(matches!(
            local.unlock("nope"),
            Err(BackendError::IdMismatch { .. })
        ));
        assert_eq!(local.unlock(&second.id).unwrap(), second);
        assert!(matches!(
            local.unlock(&second.id),
            Err(BackendError::NotLocked(_))
        ));
    }

    /// The hole this closes: `.kcform/lock` was opened (and emptied, and written) through a
    /// link, so a link planted there made kcform overwrite whatever it pointed to.
    #[cfg(unix)]
    #[test]
    fn no_link_in_the_state_directory_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.json");
        std::fs::write(&outside, "{}").unwrap();
        let local = Local::new(dir.path());
        std::fs::create_dir(dir.path().join(crate::state::DIR)).unwrap();
        for name in ["lock", "keepers.json"] {
            std::os::unix::fs::symlink(&outside, local.dir.join(name)).unwrap();
        }
        let refused = local
            .try_acquire(&LockInfo::new(
                "apply",
                &crate::state::StateSettings::default(),
            ))
            .map(|_| ());
        assert!(
            matches!(&refused, Err(BackendError::Io { source, .. }) if source.to_string().contains("symbolic link")),
            "{refused:?}"
        );
        assert!(local.read_record("keepers.json").is_err());
        local
            .write_record("keepers.json", Some(b"{\"k\": \"v\"}"))
            .unwrap();
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "{}");
        assert_eq!(
            local.read_record("keepers.json").unwrap().unwrap(),
            b"{\"k\": \"v\"}"
        );
    }
}
