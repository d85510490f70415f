//! `kcform unlock LOCK_ID [PATH]`: removes a stale apply lock from the configuration's
//! `[lock]` backend, only if its ID matches.

use crate::cli::UnlockArgs;
use crate::state::Backend;
use crate::{config, exit};

/// Runs it.
pub async fn run(
    args: &UnlockArgs,
    settings: &crate::settings::GlobalSettings,
) -> anyhow::Result<i32> {
    let desired = config::load(&args.path)?;
    let backend = Backend::open(&desired.lock, &desired.config_dir, &settings.state)?;
    let holder = backend.unlock(&args.lock_id).await?;
    eprintln!(
        "Removed lock {} at {} (held by {} on {} since {} for `{}`).",
        holder.id,
        backend.location(),
        holder.who,
        holder.host,
        holder.created,
        holder.operation
    );
    Ok(exit::SUCCESS)
}
