//! KakaoCloud's IAM roles (docs/design.md#roles), shared by the emulator, which enforces them,
//! and by `permissions`, which reads them from a token to check a plan before apply.

use serde::{Deserialize, Serialize};

/// Organization-wide roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OrgRole {
    /// Org Admin: everything.
    #[serde(rename = "org-admin")]
    Admin,
    /// Org Reader: views everything, changes nothing.
    #[serde(rename = "org-reader")]
    Reader,
}

/// Roles in one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProjectRole {
    /// Project Admin: views and manages the project's service accounts and keys.
    #[serde(rename = "project-admin")]
    Admin,
    /// Project Member: views the project only (what a service account's own token acts as).
    #[serde(rename = "project-member")]
    Member,
    /// Project Reader: views the project only.
    #[serde(rename = "project-reader")]
    Reader,
}

impl OrgRole {
    /// The role's name in tokens and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Admin => "org-admin",
            OrgRole::Reader => "org-reader",
        }
    }

    /// Parses the API spelling.
    pub fn parse(name: &str) -> Option<OrgRole> {
        [OrgRole::Admin, OrgRole::Reader]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

impl ProjectRole {
    /// The role's name in tokens and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectRole::Admin => "project-admin",
            ProjectRole::Member => "project-member",
            ProjectRole::Reader => "project-reader",
        }
    }

    /// Parses the API spelling.
    pub fn parse(name: &str) -> Option<ProjectRole> {
        [ProjectRole::Admin, ProjectRole::Member, ProjectRole::Reader]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_api_spelling_and_serde() {
        for role in [OrgRole::Admin, OrgRole::Reader] {
            assert_eq!(OrgRole::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        for role in [ProjectRole::Admin, ProjectRole::Member, ProjectRole::Reader] {
            assert_eq!(ProjectRole::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        assert_eq!(OrgRole::parse("owner"), None);
    }
}
