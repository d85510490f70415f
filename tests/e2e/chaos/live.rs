//! The live objects of the declared projects, as the campaign reads them.

use super::*;

/// A live service account.
#[derive(Debug)]
pub(super) struct LiveAccount {
    pub(super) project: String,
    pub(super) name: String,
    pub(super) status: String,
}

/// A live key.
#[derive(Debug)]
pub(super) struct LiveKey {
    pub(super) project: String,
    pub(super) account: String,
    /// The key's name in the API (`ci`, or `ci--2` for a replacement's new generation).
    pub(super) remote_name: String,
    pub(super) id: String,
    pub(super) status: String,
    pub(super) description: String,
}

impl LiveKey {
    /// The name the configuration declares it under (a generation suffix dropped).
    pub(super) fn declared_name(&self) -> &str {
        self.remote_name
            .split_once("--")
            .map_or(self.remote_name.as_str(), |(name, _)| name)
    }

    pub(super) fn address(&self) -> String {
        format!(
            "access_key.{}/{}/{}",
            self.project,
            self.account,
            self.declared_name()
        )
    }
}

/// The live objects of the declared projects.
#[derive(Debug, Default)]
pub(super) struct Live {
    pub(super) projects: BTreeSet<String>,
    pub(super) accounts: Vec<LiveAccount>,
    pub(super) keys: Vec<LiveKey>,
}
