//! Tests of the whole configuration pipeline, through `load_sources` (pure) and `load` (files),
//! one file per topic; the helpers every topic uses are here.

mod diagnostics;
mod files;
mod load;
mod model;
mod shapes;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::rules::MAX_PARALLELISM;
use super::*;
use crate::limits::{
    ACCESS_KEY_DESCRIPTION_MAX, MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT,
    MAX_SERVICE_ACCOUNTS_PER_PROJECT, PROJECT_DESCRIPTION_MAX, PROJECT_NICKNAME_MAX,
};
use crate::model::{
    AccessKeySpec, Endpoint, LockBackend, MaxAge, Origin, ProjectSpec, Provider, SecretsSink,
    ServiceAccountSpec, Status,
};

fn load_files(files: &[(&str, &str)]) -> Result<Desired, ConfigError> {
    load_sources(
        files
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.to_string()))
            .collect(),
        Path::new("infra"),
    )
}

fn load_one(text: &str) -> Result<Desired, ConfigError> {
    load_files(&[("kc.toml", text)])
}

fn errors_of(files: &[(&str, &str)]) -> Vec<Diagnostic> {
    match load_files(files) {
        Ok(desired) => panic!("expected errors, got {desired:#?}"),
        Err(e) => {
            assert_eq!(e.diagnostics.len(), count_in_summary(&e.rendered));
            e.diagnostics
        }
    }
}

fn errors(text: &str) -> Vec<Diagnostic> {
    errors_of(&[("kc.toml", text)])
}

fn count_in_summary(rendered: &str) -> usize {
    let last = rendered.lines().last().unwrap_or_default();
    last.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary line in {rendered}"))
}

/// The only diagnostic whose message contains `needle`.
fn find<'a>(diagnostics: &'a [Diagnostic], needle: &str) -> &'a Diagnostic {
    let found: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.message.contains(needle))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one diagnostic containing {needle:?} in {:#?}",
        diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    );
    found[0]
}

fn place(d: &Diagnostic) -> (String, usize, usize) {
    (d.file.display().to_string(), d.line, d.column)
}

fn related_place(d: &Diagnostic) -> (String, usize, usize) {
    let r = d.related.first().expect("a related location");
    (r.file.display().to_string(), r.line, r.column)
}

fn origin(file: &str, line: usize, column: usize) -> Origin {
    Origin {
        file: file.into(),
        line,
        column,
    }
}
