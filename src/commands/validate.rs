//! `kcform validate`: checks the configuration offline.

use crate::cli::PathArg;
use crate::{config, exit};

/// Runs it.
pub fn run(args: &PathArg) -> anyhow::Result<i32> {
    let desired = config::load(&args.path)?;
    let accounts: usize = desired
        .projects
        .values()
        .map(|p| p.service_accounts.len())
        .sum();
    let keys: usize = desired
        .projects
        .values()
        .flat_map(|p| p.service_accounts.values())
        .map(|s| s.access_keys.len())
        .sum();
    println!(
        "Success! The configuration is valid ({} project(s), {accounts} service account(s), {keys} access key(s) in {} file(s)).",
        desired.projects.len(),
        desired.files.len()
    );
    Ok(exit::SUCCESS)
}
