//! The private-file writer: the one implementation behind every file kcform writes that
//! nobody else should read — its records, lock and journal under `.kcform/` (the local
//! backend), a new key's secret file (the secret sink walks its directory tree by descriptor
//! and hands the last directory to [`write_private_file_at`]) and the emulator's
//! admin-credential file, data-file lock and new database file (SQLite writes it from there).
//!
//! The rules, the same for all of them:
//! - files are 0600 and directories kcform creates are 0700 (an existing directory is left as
//!   it is; the secret sink checks and tightens its own);
//! - a file is replaced atomically: written to a new temporary file in the same directory
//!   (`O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600), fsynced, renamed over the target, and the
//!   directory fsynced — a reader sees the old contents or the new, never a part;
//! - a symbolic link at the last component is never followed: a write replaces the link itself
//!   (the file it points to is untouched), and opening or reading a file refuses a link.
//!
//! The directories above the last component are resolved as any path is. Off Unix the same
//! steps are taken by path, with the platform's default permissions.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::Path;

/// Creates `dir` and missing parents with mode 0700; existing directories are left as they are.
pub fn create_private_dirs(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// The directory `path` is in (`.` for a bare name) and its last component.
fn split(path: &Path) -> std::io::Result<(&Path, &std::ffi::OsStr)> {
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path names no file (it ends in `..` or is a root)",
        )
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

/// The error for a symbolic link where kcform expects a file of its own.
#[cfg(unix)]
fn symlink_refused() -> std::io::Error {
    std::io::Error::other("it is a symbolic link, and kcform follows none to its own files")
}

/// Writes `contents` to `path` atomically under the rules of the module documentation. The
/// directory must exist (see [`create_private_dirs`]).
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let (dir, name) = split(path)?;
    #[cfg(unix)]
    {
        let dir = File::open(dir)?;
        write_private_file_at(&dir, name, contents)
    }
    #[cfg(not(unix))]
    {
        let _ = name;
        let mut temp = tempfile::Builder::new()
            .prefix(".kcform-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        temp.write_all(contents)?;
        temp.as_file().sync_all()?;
        temp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Writes `contents` to the file `name` inside the open directory `dir`, atomically: a new
/// 0600 temporary file beside it (`O_CREAT | O_EXCL | O_NOFOLLOW`), fsync, `renameat` over
/// `name` (a link there is replaced, never followed), fsync of the directory. A failed write
/// removes its temporary file.
#[cfg(unix)]
pub fn write_private_file_at(
    dir: &File,
    name: &std::ffi::OsStr,
    contents: &[u8],
) -> std::io::Result<()> {
    use std::fs::Permissions;
    use std::os::unix::fs::PermissionsExt as _;

    use rustix::fs::{AtFlags, Mode, OFlags};
    use rustix::io::Errno;

    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut attempts = 0;
    let (temp, file) = loop {
        let mut temp = std::ffi::OsString::from(".");
        temp.push(name);
        temp.push(format!(".{:016x}.tmp", rand::random::<u64>()));
        match rustix::fs::openat(dir, &temp, flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => break (temp, File::from(fd)),
            Err(Errno::EXIST) if attempts < 8 => attempts += 1,
            Err(errno) => return Err(errno.into()),
        }
    };
    let written = (|| {
        // The umask may have taken more than kcform asked for; never less.
        file.set_permissions(Permissions::from_mode(0o600))?;
        (&file).write_all(contents)?;
        file.sync_all()?;
        rustix::fs::renameat(dir, &temp, dir, name)?;
        Ok::<(), std::io::Error>(())
    })();
    if let Err(error) = written {
        let _ = rustix::fs::unlinkat(dir, &temp, AtFlags::empty());
        return Err(error);
    }
    let _ = rustix::fs::fsync(dir);
    Ok(())
}

/// Opens `path` for reading and writing, creating it 0600 when missing (the directory must
/// exist), emptied first when `truncate`; a symbolic link at `path` is refused, not followed.
/// For files kcform writes in place: the local lock, the emulator's lock and database.
pub fn open_private_file(path: &Path, truncate: bool) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options.open(path).map_err(refuse_links)
}

/// The contents of `path`, `None` when there is no such file; a symbolic link at `path` is
/// refused, not followed.
pub fn read_private_file(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(refuse_links(e)),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// `ELOOP` from an `O_NOFOLLOW` open, said in words.
fn refuse_links(error: std::io::Error) -> std::io::Error {
    #[cfg(unix)]
    if error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        return symlink_refused();
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use crate::fixtures::file_mode;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_replaces_a_private_file_in_private_directories_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/record.json");
        write_private_file(&path, b"one").expect_err("the directory is missing");
        create_private_dirs(path.parent().unwrap()).unwrap();
        write_private_file(&path, b"one").unwrap();
        write_private_file(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(names_in(&dir.path().join("a/b")), ["record.json"]);
        #[cfg(unix)]
        {
            assert_eq!(file_mode(&path), 0o600);
            assert_eq!(file_mode(&dir.path().join("a")), 0o700);
            assert_eq!(file_mode(&dir.path().join("a/b")), 0o700);
        }
    }

    #[test]
    fn a_write_that_cannot_be_completed_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("a-directory");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("inside"), "x").unwrap();
        write_private_file(&blocked, b"data").expect_err("cannot rename over a directory");
        assert!(blocked.is_dir());
        assert_eq!(names_in(dir.path()), ["a-directory"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_at_the_last_component_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::write(&elsewhere, "not kcform's").unwrap();
        let private = dir.path().join("private");
        create_private_dirs(&private).unwrap();
        let link = private.join("record.json");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();

        let refused = read_private_file(&link).expect_err("a link is not read through");
        assert!(refused.to_string().contains("symbolic link"), "{refused}");
        let refused = open_private_file(&link, true).expect_err("a link is not opened");
        assert!(refused.to_string().contains("symbolic link"), "{refused}");
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "not kcform's");

        write_private_file(&link, b"kcform's").unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "not kcform's");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(read_private_file(&link).unwrap().unwrap(), b"kcform's");
        assert_eq!(file_mode(&link), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn an_opened_file_is_created_0600_and_a_missing_file_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let file = open_private_file(&path, false).unwrap();
        drop(file);
        assert_eq!(file_mode(&path), 0o600);
        assert_eq!(
            read_private_file(&dir.path().join("missing")).unwrap(),
            None
        );
    }
}
