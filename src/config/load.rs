//! Finding and reading configuration files: a `.toml` file alone, or every `*.toml` file directly
//! inside a directory, in name order. Reading problems are collected like any other problem;
//! every `*.toml` entry of the directory must be a readable regular file (or a symbolic link to
//! one): a dangling link, a directory or a FIFO named `*.toml` is an error, never skipped.

use std::path::{Path, PathBuf};

use super::diagnostic::Problem;

/// What reading `path` gave: the sources read, the configuration directory, and the problems.
#[derive(Debug)]
pub(crate) struct Read {
    pub sources: Vec<(PathBuf, String)>,
    pub config_dir: PathBuf,
    pub problems: Vec<Problem>,
}

/// Reads the configuration at `path`.
pub(crate) fn read(path: &Path) -> Read {
    let mut read = Read {
        sources: Vec::new(),
        config_dir: path.to_path_buf(),
        problems: Vec::new(),
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) => {
            let problem = dangling_link(path, &e).unwrap_or_else(|| {
                Problem::about_path(
                    path,
                    format!("cannot read configuration `{}`: {e}", path.display()),
                )
                .help("give a `.toml` file or a directory holding `.toml` files")
            });
            read.problems.push(problem);
            return read;
        }
    };
    if !metadata.is_dir() {
        read.config_dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match not_a_file(path, &metadata) {
            // A FIFO would block the read, a device would never end: neither is opened.
            Some(problem) => read.problems.push(problem),
            None => read_file(path, &mut read),
        }
        return read;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => {
            read.problems.push(Problem::about_path(
                path,
                format!("cannot list directory `{}`: {e}", path.display()),
            ));
            return read;
        }
    };
    let mut named = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let file = entry.path();
                if file.extension().is_some_and(|e| e == "toml") {
                    named.push(file);
                }
            }
            Err(e) => read.problems.push(Problem::about_path(
                path,
                format!("cannot list directory `{}`: {e}", path.display()),
            )),
        }
    }
    // Name order, for the files and for the problems with entries alike.
    named.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let mut files = Vec::new();
    for file in named {
        // Every `*.toml` entry is a configuration file or an error: one that is skipped would
        // leave what it declares undeclared, and a declared project's undeclared service
        // accounts are planned for deletion.
        match problem_with_entry(&file) {
            None => files.push(file),
            Some(problem) => read.problems.push(problem),
        }
    }
    if files.is_empty() && read.problems.is_empty() {
        read.problems.push(
            Problem::about_path(
                path,
                format!("no `.toml` files in directory `{}`", path.display()),
            )
            .help("kcform reads every `*.toml` file directly inside the directory (not in subdirectories)"),
        );
    }
    for file in files {
        read_file(&file, &mut read);
    }
    read
}

/// The problem with the directory entry `path` (named `*.toml`), following symbolic links:
/// `None` when it is a regular file.
fn problem_with_entry(path: &Path) -> Option<Problem> {
    match std::fs::metadata(path) {
        Ok(metadata) => not_a_file(path, &metadata),
        Err(e) => Some(dangling_link(path, &e).unwrap_or_else(|| {
            Problem::about_path(path, format!("cannot read `{}`: {e}", path.display()))
        })),
    }
}

/// The problem with `path` when it is a symbolic link whose target does not exist (`error` is
/// what following it gave); `None` for any other failure.
fn dangling_link(path: &Path, error: &std::io::Error) -> Option<Problem> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link || error.kind() != std::io::ErrorKind::NotFound {
        return None;
    }
    let target =
        std::fs::read_link(path).map_or_else(|_| "?".to_string(), |t| t.display().to_string());
    Some(
        Problem::about_path(
            path,
            format!(
                "`{}` is a symbolic link to `{target}`, which does not exist",
                path.display()
            ),
        )
        .help(
            "restore the link's target or remove the link: every `*.toml` file in the directory \
             is part of the configuration, and skipping one would plan the deletion of what it \
             declares",
        ),
    )
}

/// The problem with `path` (its `metadata` followed symbolic links) when it is not a regular
/// file: a directory, a FIFO, a socket or a device.
fn not_a_file(path: &Path, metadata: &std::fs::Metadata) -> Option<Problem> {
    if metadata.is_file() {
        return None;
    }
    if metadata.is_dir() {
        return Some(
            Problem::about_path(
                path,
                format!(
                    "`{}` is a directory, not a configuration file",
                    path.display()
                ),
            )
            .help(
                "kcform reads the `*.toml` files directly inside the configuration directory and \
                 does not descend into directories: rename this one so that its name does not end \
                 in `.toml`",
            ),
        );
    }
    Some(
        Problem::about_path(
            path,
            format!(
                "`{}` is {}, not a regular file",
                path.display(),
                special_kind(metadata)
            ),
        )
        .help("a configuration file must be a regular file (or a symbolic link to one)"),
    )
}

/// What a file that is neither regular nor a directory is, with its article.
fn special_kind(metadata: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let kind = metadata.file_type();
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    let _ = metadata;
    "a special file"
}

fn read_file(path: &Path, read: &mut Read) {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => read.sources.push((path.to_path_buf(), text)),
            Err(e) => read.problems.push(Problem::about_path(
                path,
                format!(
                    "`{}` is not valid UTF-8 (byte {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ),
            )),
        },
        Err(e) => read.problems.push(Problem::about_path(
            path,
            format!("cannot read `{}`: {e}", path.display()),
        )),
    }
}
