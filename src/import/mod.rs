//! The pure live → TOML writer behind `kcform import`: turns live projects (as `cloud::read_live`
//! reads them) into a configuration that reads like a hand-written one and that plans to no
//! changes wherever the configuration can express the live state.
//!
//! What the configuration cannot express is written as comments and reported as [`Warning`]s:
//! expired keys (they can never be used again, and an inactive account declares no keys), older
//! generations of a key left by an interrupted replacement, and names kcform's rules refuse.
//! An account whose own name or whose key names cannot be declared is added to the project's
//! `ignore` list under its exact name, so that importing never leads to a deletion.

mod toml_text;

use std::fmt::Write as _;

use crate::limits::{NameKind, check_declared_key_name, check_name};
use crate::live::{KeyStatus, LiveAccessKey, LiveProject, LiveServiceAccount};
use crate::model::Status;
use crate::wire::ServiceAgent;

pub use toml_text::{key as toml_key, string as toml_string};

/// One live project to write, with its service agents.
#[derive(Debug, Clone)]
pub struct ImportedProject {
    /// The project, its service accounts and their keys.
    pub live: LiveProject,
    /// Its service agents (written as comments only).
    pub agents: Vec<ServiceAgent>,
}

/// How to write the configuration.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Glob patterns of service-account names to leave out; written as each project's `ignore`.
    pub ignore: Vec<String>,
    /// When set, the output starts with `[provider]` holding this endpoint (`emulator` or a
    /// URL): used when there is no configuration yet, so the output is complete on its own.
    pub provider_endpoint: Option<String>,
}

/// Something the configuration could not express; the output carries a comment about it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What differs, naming the address.
    pub message: String,
    /// What the user can do about it.
    pub hint: String,
}

/// The written configuration and what it could not express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The TOML text.
    pub text: String,
    /// Everything a plan of [`Imported::text`] will still change, or that was left out.
    pub warnings: Vec<Warning>,
}

/// Why an account cannot be declared and is ignored instead.
fn undeclarable(account: &LiveServiceAccount) -> Option<String> {
    if let Err(reason) = check_name(NameKind::ServiceAccount, &account.name) {
        return Some(reason);
    }
    account
        .access_keys
        .values()
        .filter(|key| declares(account, key))
        .find_map(|key| check_declared_key_name(&key.name).err())
}

/// Only a usable key of an active account is declared; the others cannot be expressed.
fn declares(account: &LiveServiceAccount, key: &LiveAccessKey) -> bool {
    account.status == Status::Active && key.status == KeyStatus::Active
}

fn matches_any(patterns: &[String], name: &str) -> Option<String> {
    patterns
        .iter()
        .find(|p| glob::Pattern::new(p).is_ok_and(|g| g.matches(name)))
        .cloned()
}

/// Writes the configuration for `projects`, in the order given.
pub fn write(projects: &[ImportedProject], options: &Options) -> Imported {
    let mut out = String::new();
    let mut warnings = Vec::new();
    let names: Vec<&str> = projects.iter().map(|p| p.live.name.as_str()).collect();
    let _ = writeln!(
        out,
        "# Written by `kcform import --project {}` from the live objects.",
        names.join(" --project ")
    );
    out.push_str(
        "#\n\
         # Access-key secrets cannot be recovered: the API shows a secret only once, when the key\n\
         # is created, so kcform holds no secret for the keys below. Whoever has them keeps them.\n\
         # No key has `rotation` or `max_age`, so applying this file replaces no key; add one of\n\
         # them to a key to rotate it, and the new secret goes to `[secrets]`.\n",
    );
    if let Some(endpoint) = &options.provider_endpoint {
        let _ = write!(
            out,
            "\n[provider]\nendpoint = {}\n",
            toml_text::string(endpoint)
        );
    }
    for project in projects {
        write_project(&mut out, &mut warnings, project, &options.ignore);
    }
    Imported {
        text: out,
        warnings,
    }
}

fn write_project(
    out: &mut String,
    warnings: &mut Vec<Warning>,
    project: &ImportedProject,
    ignore: &[String],
) {
    let live = &project.live;
    let path = format!("project.{}", toml_text::key(&live.name));
    let mut ignored_by_glob: Vec<(&str, String)> = Vec::new();
    let mut ignored_exactly: Vec<(&LiveServiceAccount, String)> = Vec::new();
    let mut declared: Vec<&LiveServiceAccount> = Vec::new();
    for account in live.service_accounts.values() {
        if let Some(pattern) = matches_any(ignore, &account.name) {
            ignored_by_glob.push((&account.name, pattern));
        } else if let Some(reason) = undeclarable(account) {
            ignored_exactly.push((account, reason));
        } else {
            declared.push(account);
        }
    }

    let _ = write!(
        out,
        "\n[{path}]\nnickname = {}\n",
        toml_text::string(&live.nickname)
    );
    if !live.description.is_empty() {
        let _ = writeln!(
            out,
            "description = {}",
            toml_text::string(&live.description)
        );
    }
    let mut patterns: Vec<String> = ignore.to_vec();
    patterns.extend(
        ignored_exactly
            .iter()
            .map(|(account, _)| glob::Pattern::escape(&account.name)),
    );
    if !patterns.is_empty() {
        let list: Vec<String> = patterns.iter().map(|p| toml_text::string(p)).collect();
        let _ = writeln!(out, "ignore = [{}]", list.join(", "));
    }
    for (name, pattern) in &ignored_by_glob {
        let _ = writeln!(out, "# ignored: {name} (matches {pattern:?})");
    }
    for (account, reason) in &ignored_exactly {
        let _ = writeln!(
            out,
            "# ignored: {} (kcform cannot declare it: {reason})",
            account.name
        );
        warnings.push(Warning {
            message: format!(
                "service account `{}/{}` cannot be declared ({reason}); it is in `ignore`, so kcform leaves it alone",
                live.name, account.name
            ),
            hint: "rename it in the console, or keep it ignored".to_string(),
        });
    }
    if !project.agents.is_empty() {
        out.push_str(
            "\n# Service agents, made by KakaoCloud for the services this project uses. They are\n\
             # read-only and kcform never plans them:\n",
        );
        for agent in &project.agents {
            let _ = writeln!(out, "#   {} ({})", agent.email, agent.service);
        }
    }
    for account in declared {
        write_account(out, warnings, &path, &live.name, account);
    }
}

fn write_account(
    out: &mut String,
    warnings: &mut Vec<Warning>,
    project_path: &str,
    project: &str,
    account: &LiveServiceAccount,
) {
    let path = format!(
        "{project_path}.service_account.{}",
        toml_text::key(&account.name)
    );
    let _ = write!(out, "\n[{path}]\n");
    if account.status == Status::Inactive {
        out.push_str("status = \"inactive\"        # its keys are expired: it declares none\n");
    }
    let mut leftovers = Vec::new();
    let dormant: Vec<&LiveAccessKey> = account
        .access_keys
        .values()
        .filter(|key| account.status == Status::Inactive && key.status == KeyStatus::Expired)
        .collect();
    if !dormant.is_empty() {
        out.push_str("# Expired keys, left alone until the account is deleted or activated:\n");
        for key in &dormant {
            let _ = writeln!(out, "#   {} ({})", key.remote_name, key.id);
        }
    }
    for key in account.access_keys.values() {
        if dormant.iter().any(|d| d.id == key.id) {
            continue;
        }
        if declares(account, key) {
            let _ = write!(out, "\n[{path}.access_key.{}]\n", toml_text::key(&key.name));
            if !key.description.is_empty() {
                let _ = writeln!(out, "description = {}", toml_text::string(&key.description));
            }
        } else {
            leftovers.push((key, "expired"));
        }
    }
    leftovers.extend(account.deposed_keys.iter().map(|key| {
        (
            key,
            "an older generation left by an interrupted replacement",
        )
    }));
    if leftovers.is_empty() {
        return;
    }
    out.push_str("# Not declared, so the next apply deletes them:\n");
    for (key, why) in &leftovers {
        let _ = writeln!(out, "#   {} ({}): {why}", key.remote_name, key.id);
        let hint = if *why == "expired" {
            "an expired key can never be used again; to get a working key instead, declare it under an active account and apply (the key is replaced)"
        } else {
            "the newer generation is declared; deleting the older one finishes the replacement"
        };
        warnings.push(Warning {
            message: format!(
                "access key `{project}/{}/{}` is {why}; the imported configuration does not declare it, so `kcform plan` shows its deletion",
                account.name, key.remote_name
            ),
            hint: hint.to_string(),
        });
    }
}

#[cfg(test)]
mod tests;
