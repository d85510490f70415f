//! Key creates whose secret delivery may not have finished (`pending-keys.json`, one of
//! kcform's `records`). Apply writes it before it creates keys and clears it when it ends
//! normally; only an abort (a second Ctrl-C, a kill, a crash) leaves it behind. The next plan
//! then replaces every listed key that was created since and whose secret cannot be shown to
//! have been delivered — so a key whose secret nobody holds is never left behind.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::address::Address;
use crate::apply::sink::Sink;
use crate::live::LiveProject;

/// Key addresses being created, each with the time its apply started (RFC 3339).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingKeys {
    /// Address → when the apply that creates it started.
    pub keys: BTreeMap<Address, String>,
}

/// The record's name (see `records`).
pub const RECORD: &str = "pending-keys.json";

/// Marks the keys of a live project that are listed in `pending`, were created since their
/// apply started and whose secret is not in the sink (a command sink cannot be checked, so
/// those count as not delivered). Returns the addresses marked.
pub fn mark_undelivered(
    pending: &PendingKeys,
    project: &mut LiveProject,
    sink: &Sink,
) -> Vec<Address> {
    let mut marked = Vec::new();
    for (address, since) in &pending.keys {
        let Address::AccessKey {
            project: project_name,
            service_account,
            key,
        } = address
        else {
            continue;
        };
        if *project_name != project.name {
            continue;
        }
        let Some(live_key) = project
            .service_accounts
            .get_mut(service_account)
            .and_then(|a| a.access_keys.get_mut(key))
        else {
            continue;
        };
        let since = OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
            .ok()
            // The API stamps creation to the second.
            .map(|t| t.replace_nanosecond(0).unwrap_or(t));
        let created_since = match (live_key.created_at, since) {
            (Some(created), Some(since)) => created >= since,
            _ => true,
        };
        if created_since && !sink.holds(project_name, service_account, key, &live_key.id) {
            live_key.undelivered = true;
            marked.push(address.clone());
        }
    }
    marked
}
