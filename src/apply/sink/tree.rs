//! The secrets directory tree, `<dir>/<project>/<sa>/<key>.json`, walked one directory file
//! descriptor at a time so that no symbolic link is followed from the secrets directory down
//! (the rules are in the sink's module documentation).
//!
//! On Unix each step is an `openat(parent, name, O_DIRECTORY | O_NOFOLLOW)` and every check
//! is made on the opened descriptor (`fstat`, `fchmod`), so a component swapped for a link
//! after it was looked at is not followed either. Elsewhere the tree is written by path, as
//! kcform's own records are.

use std::path::{Path, PathBuf};

use super::SecretsDirError;

/// How a directory of the tree is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(unix), allow(dead_code))]
enum Walk {
    /// For writing: a missing directory is created 0700, a looser mode is made 0700.
    Write,
    /// For reading or removing: a missing directory means no file; no mode is changed.
    Existing,
}

/// Refuses a path component that is not a single plain name (configured names never are).
fn plain(name: &str) -> Result<&str, SecretsDirError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(SecretsDirError::Name {
            name: name.to_string(),
        });
    }
    Ok(name)
}

#[cfg(unix)]
mod unix {
    use std::ffi::OsStr;
    use std::fs::{File, Permissions};
    use std::io::Read as _;
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    use std::path::{Path, PathBuf};

    use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
    use rustix::io::Errno;

    use super::{SecretsDirError, Walk};

    /// An open directory of the tree and its path (for messages).
    pub(super) struct Dir {
        file: File,
        path: PathBuf,
    }

    fn io(action: &'static str, path: &Path) -> impl FnOnce(Errno) -> SecretsDirError {
        let path = path.to_path_buf();
        move |errno| SecretsDirError::Io {
            action,
            path,
            source: errno.into(),
        }
    }

    fn std_io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SecretsDirError {
        let path = path.to_path_buf();
        move |source| SecretsDirError::Io {
            action,
            path,
            source,
        }
    }

    const DIRECTORY: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);

    /// Opens the secrets directory `root`. Its ancestors are resolved as any path is (and
    /// created 0700 when missing, for [`Walk::Write`]); `root` itself must not be a link.
    pub(super) fn open_root(root: &Path, walk: Walk) -> Result<Option<Dir>, SecretsDirError> {
        let (Some(parent), Some(name)) = (root.parent(), root.file_name()) else {
            // `/` or a path ending in `..`: there is no last component to check without
            // following; the directory itself is still checked.
            let Some(file) = open_following(root, walk)? else {
                return Ok(None);
            };
            return check(file, root.to_path_buf(), walk).map(Some);
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if walk == Walk::Write {
            crate::state::file::create_private_dirs(parent)
                .map_err(std_io("create directory", parent))?;
        }
        let Some(file) = open_following(parent, walk)? else {
            return Ok(None);
        };
        let parent = Dir {
            file,
            path: parent.to_path_buf(),
        };
        step(&parent, name, walk)
    }

    /// Opens the directory at `path`, following links on the way as any path is; `None` when
    /// it does not exist and [`Walk::Existing`] only looks.
    fn open_following(path: &Path, walk: Walk) -> Result<Option<File>, SecretsDirError> {
        match rustix::fs::openat(
            CWD,
            path,
            DIRECTORY.difference(OFlags::NOFOLLOW),
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(File::from(fd))),
            Err(Errno::NOENT) if walk == Walk::Existing => Ok(None),
            Err(errno) => Err(io("open directory", path)(errno)),
        }
    }

    /// Opens (for [`Walk::Write`], first creates) the directory `name` inside `parent`.
    pub(super) fn step(
        parent: &Dir,
        name: impl AsRef<OsStr>,
        walk: Walk,
    ) -> Result<Option<Dir>, SecretsDirError> {
        let name = name.as_ref();
        let path = parent.path.join(name);
        if walk == Walk::Write {
            match rustix::fs::mkdirat(&parent.file, name, Mode::from_raw_mode(0o700)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(errno) => return Err(io("create directory", &path)(errno)),
            }
        }
        let file = match rustix::fs::openat(&parent.file, name, DIRECTORY, Mode::empty()) {
            Ok(fd) => File::from(fd),
            Err(Errno::NOENT) if walk == Walk::Existing => return Ok(None),
            Err(Errno::LOOP | Errno::NOTDIR) => return Err(not_a_directory(parent, name, path)),
            Err(errno) => return Err(io("open directory", &path)(errno)),
        };
        check(file, path, walk).map(Some)
    }

    /// Why `name` could not be opened as a directory without following it.
    fn not_a_directory(parent: &Dir, name: &OsStr, path: PathBuf) -> SecretsDirError {
        match rustix::fs::statat(&parent.file, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => {
                SecretsDirError::Symlink { path }
            }
            _ => SecretsDirError::NotDirectory { path },
        }
    }

    /// Refuses a directory kcform's user does not own or that others may write to; makes a
    /// directory being written to 0700.
    fn check(file: File, path: PathBuf, walk: Walk) -> Result<Dir, SecretsDirError> {
        let metadata = file.metadata().map_err(std_io("inspect", &path))?;
        let uid = rustix::process::geteuid().as_raw();
        if metadata.uid() != uid {
            return Err(SecretsDirError::Owner {
                path,
                owner: metadata.uid(),
                uid,
            });
        }
        let mode = metadata.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(SecretsDirError::Writable { path, mode });
        }
        if walk == Walk::Write && mode != 0o700 {
            file.set_permissions(Permissions::from_mode(0o700))
                .map_err(std_io("chmod 700", &path))?;
        }
        Ok(Dir { file, path })
    }

    /// Writes `name` in `dir` atomically with kcform's private-file writer
    /// (`state::file::write_private_file_at`: a new 0600 temporary file, `O_CREAT | O_EXCL |
    /// O_NOFOLLOW`, in the same directory, fsync, rename over `name`, fsync the directory).
    pub(super) fn write(dir: &Dir, name: &str, contents: &[u8]) -> Result<(), SecretsDirError> {
        crate::state::file::write_private_file_at(&dir.file, name.as_ref(), contents)
            .map_err(std_io("write", &dir.path.join(name)))
    }

    /// The contents of `name` in `dir`, not following a link; `None` when there is no file.
    pub(super) fn read(dir: &Dir, name: &str) -> Result<Option<Vec<u8>>, SecretsDirError> {
        let path = dir.path.join(name);
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut file = match rustix::fs::openat(&dir.file, name, flags, Mode::empty()) {
            Ok(fd) => File::from(fd),
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP) => return Err(SecretsDirError::Symlink { path }),
            Err(errno) => return Err(io("open", &path)(errno)),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(std_io("read", &path))?;
        Ok(Some(bytes))
    }

    /// Removes `name` from `dir` (a link itself, never what it points to); false when it was
    /// not there.
    pub(super) fn remove(dir: &Dir, name: &str) -> Result<bool, SecretsDirError> {
        match rustix::fs::unlinkat(&dir.file, name, AtFlags::empty()) {
            Ok(()) => {
                let _ = rustix::fs::fsync(&dir.file);
                Ok(true)
            }
            Err(Errno::NOENT) => Ok(false),
            Err(errno) => Err(io("remove", &dir.path.join(name))(errno)),
        }
    }
}

/// Writes `contents` to `<root>/<project>/<account>/<file>` under the rules of the sink's
/// module documentation.
#[cfg(unix)]
pub(super) fn write(
    root: &Path,
    project: &str,
    account: &str,
    file: &str,
    contents: &[u8],
) -> Result<(), SecretsDirError> {
    let missing = |path: PathBuf| SecretsDirError::Io {
        action: "create directory",
        path,
        source: std::io::ErrorKind::NotFound.into(),
    };
    let root_dir = unix::open_root(root, Walk::Write)?.ok_or_else(|| missing(root.into()))?;
    let project_dir = unix::step(&root_dir, plain(project)?, Walk::Write)?
        .ok_or_else(|| missing(root.join(project)))?;
    let account_dir = unix::step(&project_dir, plain(account)?, Walk::Write)?
        .ok_or_else(|| missing(root.join(project).join(account)))?;
    unix::write(&account_dir, plain(file)?, contents)
}

/// Opens `<root>/<project>/<account>` for reading or removing; `None` when a part is missing.
#[cfg(unix)]
fn existing(
    root: &Path,
    project: &str,
    account: &str,
) -> Result<Option<unix::Dir>, SecretsDirError> {
    let Some(root_dir) = unix::open_root(root, Walk::Existing)? else {
        return Ok(None);
    };
    let Some(project_dir) = unix::step(&root_dir, plain(project)?, Walk::Existing)? else {
        return Ok(None);
    };
    unix::step(&project_dir, plain(account)?, Walk::Existing)
}

/// The contents of `<root>/<project>/<account>/<file>`, `None` when it does not exist.
#[cfg(unix)]
pub(super) fn read(
    root: &Path,
    project: &str,
    account: &str,
    file: &str,
) -> Result<Option<Vec<u8>>, SecretsDirError> {
    match existing(root, project, account)? {
        Some(dir) => unix::read(&dir, plain(file)?),
        None => Ok(None),
    }
}

/// Removes `<root>/<project>/<account>/<file>` if `remove` says so of its contents; true when
/// it was removed.
#[cfg(unix)]
pub(super) fn remove_if(
    root: &Path,
    project: &str,
    account: &str,
    file: &str,
    remove: impl FnOnce(&[u8]) -> bool,
) -> Result<bool, SecretsDirError> {
    let Some(dir) = existing(root, project, account)? else {
        return Ok(false);
    };
    let file = plain(file)?;
    match unix::read(&dir, file)? {
        Some(contents) if remove(&contents) => unix::remove(&dir, file),
        _ => Ok(false),
    }
}

#[cfg(not(unix))]
fn path_of(
    root: &Path,
    project: &str,
    account: &str,
    file: &str,
) -> Result<PathBuf, SecretsDirError> {
    Ok(root
        .join(plain(project)?)
        .join(plain(account)?)
        .join(plain(file)?))
}

/// Writes `contents` to `<root>/<project>/<account>/<file>` atomically, by path.
#[cfg(not(unix))]
pub(super) fn write(
    root: &Path,
    project: &str,
    account: &str,
    file: &str,
    contents: &[u8],
) -> Result<(), SecretsDirError> {
    let path = path_of(root, project, account, file)?;
    let dir = path.parent().unwrap_or(root);
    crate::state::file::create_private_dirs(dir)
        .and_then(|()| crate::state::file::write_private_file(&path, contents))
        .map_err(|source| SecretsDirError::Io {
            action: "write",
            path,
            source,
        })
}

/// The contents of `<root>/<project>/<account>/<file>`, `None` when it does not exist.
#[cfg(not(unix))]
pub(super) fn read(
    root: &Path,
    project: &str,
    account: &str,
    file: &str,
) -> Result<Option<Vec<u8>>, SecretsDirError> {
    let path = path_of(root, project, account, file)?;
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SecretsDirError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// Removes `<root>/<project>/<account>/<file>` if `remove` says so of its contents.
#[cfg(not(unix))]
pub(super) fn remove_if(
    root: &Path,
    project: &str,
    account: &str,
    file: &str,
    remove: impl FnOnce(&[u8]) -> bool,
) -> Result<bool, SecretsDirError> {
    let path = path_of(root, project, account, file)?;
    match read(root, project, account, file)? {
        Some(contents) if remove(&contents) => match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(SecretsDirError::Io {
                action: "remove",
                path,
                source,
            }),
        },
        _ => Ok(false),
    }
}
