//! `kcform init [DIR]`: writes a commented starter `kcform.toml` that plans at once against the
//! built-in emulator, and adds `.kcform/` (secrets, emulator state, records) to `.gitignore`.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};

use crate::cli::InitArgs;

/// The starter configuration.
pub const STARTER: &str = r#"# kcform: KakaoCloud IAM as code. `kcform plan` shows what would change; `kcform apply`
# makes the changes. Every *.toml file in this directory is read and merged.
#
# This starter uses the built-in emulator, so it works without a KakaoCloud account. For the
# real cloud, set `endpoint = "https://iam.kakaocloud.com"` and export
# KAKAOCLOUD_APPLICATION_CREDENTIAL_ID and KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET.
# Projects that exist already: `kcform import --project NAME --out NAME.toml`.
# Editor support: `kcform schema > kcform.schema.json` and a first line `#:schema ./kcform.schema.json`.

[provider]
endpoint = "emulator"

[secrets]
dir = ".kcform/secrets"          # each new key's secret is written here once (0600)

[project.my-project]             # the table key is the project's name: it can never change
nickname = "My project"
description = "Managed by kcform"
# ignore = ["legacy-*"]          # service accounts kcform leaves alone

[project.my-project.service_account.ci]
# status = "inactive"            # expires all of its keys and tokens
# protect = true                 # refuse to delete or deactivate it

[project.my-project.service_account.ci.access_key.deploy]
description = "CI deploys"       # up to 30 characters
max_age = "90d"                  # the first apply after 90 days replaces the key
# rotation = "2026-11"           # change the value to replace the key now
"#;

/// What `.gitignore` gets.
const IGNORED: &str = ".kcform/";

/// Runs it.
pub fn run(args: &InitArgs) -> anyhow::Result<i32> {
    let dir = &args.dir;
    let config = dir.join("kcform.toml");
    if config.exists() {
        bail!(
            "`{}` already exists; kcform init does not overwrite it\nhint: edit it, or run `kcform init` in another directory",
            config.display()
        );
    }
    if let Some(other) = toml_files(dir)?.first() {
        bail!(
            "`{}` already holds a configuration (`{}`); a starter next to it would declare `[provider]` twice\nhint: run `kcform init` in an empty directory",
            dir.display(),
            other
        );
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory `{}`", dir.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&config)
        .with_context(|| format!("cannot create `{}`", config.display()))?;
    file.write_all(STARTER.as_bytes())
        .with_context(|| format!("cannot write `{}`", config.display()))?;
    eprintln!("Wrote {}.", config.display());
    let gitignore = dir.join(".gitignore");
    if add_ignore_line(&gitignore)? {
        eprintln!("Added `{IGNORED}` to {}.", gitignore.display());
    }
    eprintln!(
        "Next: `kcform plan {}`, then `kcform apply {}`.",
        dir.display(),
        dir.display()
    );
    Ok(crate::exit::SUCCESS)
}

fn toml_files(dir: &Path) -> anyhow::Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot list directory `{}`", dir.display()));
        }
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Appends `.kcform/` to the file unless a line already ignores it; true when it was added.
fn add_ignore_line(path: &Path) -> anyhow::Result<bool> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let already = existing.lines().any(|line| {
        matches!(
            line.trim(),
            ".kcform" | ".kcform/" | "/.kcform" | "/.kcform/" | ".kcform/*" | "/.kcform/*"
        )
    });
    if already {
        return Ok(false);
    }
    let mut text = String::new();
    if !existing.is_empty() && !existing.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# kcform: secrets, emulator state and records; never commit them\n");
    text.push_str(IGNORED);
    text.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open `{}`", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_is_a_valid_configuration() {
        let desired = crate::config::load_sources(
            vec![("kcform.toml".into(), STARTER.to_string())],
            Path::new("."),
        )
        .unwrap_or_else(|e| panic!("{}", e.rendered));
        assert_eq!(desired.provider.endpoint, crate::model::Endpoint::Emulator);
        assert_eq!(desired.projects.len(), 1);
    }

    #[test]
    fn the_ignore_line_is_added_once_and_after_existing_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".gitignore");
        std::fs::write(&path, "target").unwrap();
        assert!(add_ignore_line(&path).unwrap());
        assert!(!add_ignore_line(&path).unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("target\n# kcform"), "{text}");
        assert_eq!(text.matches(".kcform/\n").count(), 1, "{text}");

        std::fs::write(&path, "/.kcform\n").unwrap();
        assert!(!add_ignore_line(&path).unwrap());
    }
}
