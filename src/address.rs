//! Resource addresses: `project.<p>`, `service_account.<p>/<sa>`, `access_key.<p>/<sa>/<key>`.
//! They name every change in every output and are what `--target` accepts.

use std::fmt;
use std::str::FromStr;

/// The address of one managed object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Address {
    /// `project.<project>`
    Project {
        /// Project name.
        project: String,
    },
    /// `service_account.<project>/<sa>`
    ServiceAccount {
        /// Project name.
        project: String,
        /// Service-account name.
        service_account: String,
    },
    /// `access_key.<project>/<sa>/<key>`
    AccessKey {
        /// Project name.
        project: String,
        /// Service-account name.
        service_account: String,
        /// Key name.
        key: String,
    },
}

impl Address {
    /// `project.<p>`.
    pub fn project(project: &str) -> Address {
        Address::Project {
            project: project.to_string(),
        }
    }

    /// `service_account.<p>/<sa>`.
    pub fn service_account(project: &str, service_account: &str) -> Address {
        Address::ServiceAccount {
            project: project.to_string(),
            service_account: service_account.to_string(),
        }
    }

    /// `access_key.<p>/<sa>/<key>`.
    pub fn access_key(project: &str, service_account: &str, key: &str) -> Address {
        Address::AccessKey {
            project: project.to_string(),
            service_account: service_account.to_string(),
            key: key.to_string(),
        }
    }

    /// The resource kind as written in the address: `project`, `service_account`, `access_key`.
    pub fn kind(&self) -> &'static str {
        match self {
            Address::Project { .. } => "project",
            Address::ServiceAccount { .. } => "service_account",
            Address::AccessKey { .. } => "access_key",
        }
    }

    /// The part after the kind: `analytics/etl-runner/ci`.
    pub fn name(&self) -> String {
        match self {
            Address::Project { project } => project.clone(),
            Address::ServiceAccount {
                project,
                service_account,
            } => format!("{project}/{service_account}"),
            Address::AccessKey {
                project,
                service_account,
                key,
            } => format!("{project}/{service_account}/{key}"),
        }
    }

    /// The project this address belongs to.
    pub fn project_name(&self) -> &str {
        match self {
            Address::Project { project }
            | Address::ServiceAccount { project, .. }
            | Address::AccessKey { project, .. } => project,
        }
    }

    /// The containing object's address, if any.
    pub fn parent(&self) -> Option<Address> {
        match self {
            Address::Project { .. } => None,
            Address::ServiceAccount { project, .. } => Some(Address::project(project)),
            Address::AccessKey {
                project,
                service_account,
                ..
            } => Some(Address::service_account(project, service_account)),
        }
    }

    /// True when `self` is `other` or contains it (a project contains its accounts and keys).
    pub fn contains(&self, other: &Address) -> bool {
        let mut current = Some(other.clone());
        while let Some(address) = current {
            if &address == self {
                return true;
            }
            current = address.parent();
        }
        false
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind(), self.name())
    }
}

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not an address; expected `project.<project>`, `service_account.<project>/<service account>` or `access_key.<project>/<service account>/<key>`"
)]
pub struct AddressParseError {
    /// What was given.
    pub input: String,
}

impl FromStr for Address {
    type Err = AddressParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = || AddressParseError {
            input: input.to_string(),
        };
        let (kind, rest) = input.split_once('.').ok_or_else(error)?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.iter().any(|part| part.is_empty()) {
            return Err(error());
        }
        match (kind, parts.as_slice()) {
            ("project", [project]) => Ok(Address::project(project)),
            ("service_account", [project, sa]) => Ok(Address::service_account(project, sa)),
            ("access_key", [project, sa, key]) => Ok(Address::access_key(project, sa, key)),
            _ => Err(error()),
        }
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_text() {
        for text in [
            "project.analytics",
            "service_account.analytics/etl-runner",
            "access_key.analytics/etl-runner/ci",
        ] {
            let address: Address = text.parse().unwrap();
            assert_eq!(address.to_string(), text);
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for text in [
            "analytics",
            "project.",
            "project.a/b",
            "service_account.a",
            "access_key.a//k",
            "bucket.a",
        ] {
            assert!(text.parse::<Address>().is_err(), "{text} parsed");
        }
    }

    #[test]
    fn a_project_contains_its_keys() {
        let project = Address::project("a");
        let key = Address::access_key("a", "s", "k");
        assert!(project.contains(&key));
        assert!(Address::service_account("a", "s").contains(&key));
        assert!(!Address::service_account("a", "t").contains(&key));
        assert!(!key.contains(&project));
    }
}
