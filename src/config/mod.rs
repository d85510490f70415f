//! Configuration: reads a `.toml` file or a directory of them, merges them, and checks every
//! rule (docs/design.md#configuration) offline, giving a [`crate::model::Desired`] or all errors,
//! each located `file:line:column` and rendered like cargo.
//!
//! Pipeline: `load` (files) → `syntax` (spanned TOML, syntax errors) → `parse` (schema, types,
//! unknown keys, names, per-value rules, one file at a time) → `merge` (files together, then
//! `rules` on the merged configuration) → `diagnostic` (locations and rendering).
//!
//! # Merge rules
//!
//! Files are read in name order and their tables combined by name. Each object is *declared*
//! exactly once in the whole configuration; declaring it twice, in one file or in two, is an
//! error naming both places.
//!
//! - `[provider]`, `[secrets]`, `[lock]`: at most once across all files.
//! - A project is declared by the one table that sets its own keys (`nickname`, `description`,
//!   `ignore`), or is written as a `[project.<name>]` header or an inline table. Other files may
//!   name the project only on the way to its service accounts, e.g.
//!   `[project.a.service_account.x]`: that adds `x` to `a` without declaring `a` again. A project
//!   that is named but never declared is an error (it has no `nickname`). So `[project.a]` in two
//!   files, or `nickname` set in two files, is a duplicate.
//! - A service account likewise: declared by the table setting `status`/`protect`, or by its
//!   own header or inline table; other files may add keys through
//!   `[project.a.service_account.x.access_key.k]`. A service account only named that way has the
//!   defaults (`active`, not protected).
//! - An access key is declared wherever its table appears; it cannot be split.
//! - Declaration order (file read order, then position) decides which object is "first over the
//!   limit" in the count rules.
//! - After syntax errors in a file, its recovered tree is not checked (it would report errors
//!   that are not there) and "never declared" is not reported for projects, since the declaration
//!   may be in that file; all other files are still fully checked.
//! - Empty `description` strings mean "no description" (`None`); an empty `[secrets]` or
//!   `[lock]` table means the defaults.

mod diagnostic;
mod duration;
mod line_index;
mod load;
mod merge;
mod parse;
mod rules;
pub(crate) mod suggest;
mod syntax;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::model::Desired;

pub use diagnostic::{Diagnostic, Related, render};

use diagnostic::{Problem, SourceFile};

/// All configuration errors, rendered `file:line:column` with the source line and a caret.
#[derive(Debug, thiserror::Error)]
#[error("{rendered}")]
pub struct ConfigError {
    /// The rendered diagnostics (no colors), ready to print on stderr; ends with a summary line.
    pub rendered: String,
    /// Each problem's location and message, in file order then position.
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    /// Renders the diagnostics again, with ANSI colors when `styled`.
    pub fn render(&self, styled: bool) -> String {
        render(&self.diagnostics, styled)
    }

    fn new(mut problems: Vec<Problem>, sources: &[SourceFile]) -> Self {
        problems.sort_by_key(Problem::sort_key);
        let diagnostics: Vec<Diagnostic> =
            problems.into_iter().map(|p| p.finish(sources)).collect();
        ConfigError {
            rendered: render(&diagnostics, false),
            diagnostics,
        }
    }
}

/// Loads the configuration at `path`: a `.toml` file (its parent is the configuration
/// directory) or a directory (every `*.toml` file directly inside it, in name order).
pub fn load(path: &Path) -> Result<Desired, ConfigError> {
    load_announcing(path, |_| {})
}

/// Like [`load`], but hands the names of the projects the files name to `announce` as soon as
/// every file is parsed without error — before the files are merged and checked, which at
/// scale takes a while — so the projects' live objects can be read meanwhile. The
/// configuration may still turn out to be invalid.
pub fn load_announcing(
    path: &Path,
    announce: impl FnOnce(BTreeSet<String>),
) -> Result<Desired, ConfigError> {
    let read = load::read(path);
    check(read.sources, &read.config_dir, read.problems, announce)
}

/// Checks and merges configuration sources given as `(path, text)`, in read order; the paths are
/// only used in messages and [`crate::model::Origin`]s. For tests and tools.
pub fn load_sources(
    sources: Vec<(PathBuf, String)>,
    config_dir: &Path,
) -> Result<Desired, ConfigError> {
    let mut problems = Vec::new();
    if sources.is_empty() {
        problems.push(Problem::about_path(
            config_dir,
            "no configuration files were given",
        ));
    }
    check(sources, config_dir, problems, |_| {})
}

fn check(
    sources: Vec<(PathBuf, String)>,
    config_dir: &Path,
    mut problems: Vec<Problem>,
    announce: impl FnOnce(BTreeSet<String>),
) -> Result<Desired, ConfigError> {
    let sources: Vec<SourceFile> = sources
        .into_iter()
        .map(|(path, text)| {
            // A UTF-8 byte-order mark is not TOML; editors on Windows add it.
            let text = match text.strip_prefix('\u{feff}') {
                Some(rest) => rest.to_string(),
                None => text,
            };
            SourceFile::new(path, text)
        })
        .collect();
    let mut complete = problems.is_empty();
    let mut files = Vec::with_capacity(sources.len());
    for (decls, file_problems) in parse_files(&sources) {
        problems.extend(file_problems);
        match decls {
            Some(decls) => files.push(decls),
            None => complete = false,
        }
    }
    if problems.is_empty() {
        announce(
            files
                .iter()
                .flat_map(|file| file.projects.iter().map(|project| project.name.clone()))
                .collect(),
        );
    }
    let mut desired = merge::merge(files, &sources, complete, config_dir, &mut problems);
    if problems.is_empty() {
        desired.digest = digest(&sources);
        Ok(desired)
    } else {
        Err(ConfigError::new(problems, &sources))
    }
}

/// Parses and walks every file, on every core when there are several files (each file is
/// independent until the merge). Results come back in file order; `None` marks a file whose
/// syntax errors make its tree unusable.
fn parse_files(sources: &[SourceFile]) -> Vec<(Option<parse::FileDecls>, Vec<Problem>)> {
    let one = |index: usize, source: &SourceFile| {
        let mut problems = Vec::new();
        let (tree, usable) = syntax::parse(index, &source.text, &mut problems);
        let decls = usable.then(|| {
            parse::Walker::new(index, &source.text, &mut problems).document(tree.get_ref())
        });
        (decls, problems)
    };
    crate::parallel::chunks(sources, 1, |first, part| {
        part.iter()
            .enumerate()
            .map(|(i, source)| one(first + i, source))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// `sha256:<hex>` over each file's name (not its directory, so a checkout elsewhere digests
/// the same) and text.
fn digest(sources: &[SourceFile]) -> String {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    for source in sources {
        let name = source
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(source.text.as_bytes());
        hasher.update([0]);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests;
