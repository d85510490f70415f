//! Finding and reading configuration files: a `.toml` file alone, or every `*.toml` file directly
//! inside a directory, in name order. Reading problems are collected like any other problem.

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
            read.problems.push(
                Problem::about_path(
                    path,
                    format!("cannot read configuration `{}`: {e}", path.display()),
                )
                .help("give a `.toml` file or a directory holding `.toml` files"),
            );
            return read;
        }
    };
    if !metadata.is_dir() {
        read.config_dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        read_file(path, &mut read);
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
    let mut files = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let file = entry.path();
                // `metadata` follows symlinks: a link to a `.toml` file counts as that file.
                let is_file = std::fs::metadata(&file).is_ok_and(|m| m.is_file());
                if is_file && file.extension().is_some_and(|e| e == "toml") {
                    files.push(file);
                }
            }
            Err(e) => read.problems.push(Problem::about_path(
                path,
                format!("cannot list directory `{}`: {e}", path.display()),
            )),
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
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
