//! The plan checksum: a SHA-256 over the plan's changes serialized deterministically (struct
//! fields in declaration order, attributes in a `BTreeMap`), so that a journal record names
//! exactly the plan that ran. Changes never hold secrets, and neither does the checksum.

use sha2::{Digest as _, Sha256};

use super::Plan;

/// `sha256:<64 hex>` of the plan's changes.
pub fn checksum(plan: &Plan) -> String {
    // Serializing plain data to a Vec cannot fail; an empty input still yields a checksum.
    let bytes = serde_json::to_vec(&plan.changes).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use crate::plan::{Action, Change, RemoteIds};

    fn change(name: &str) -> Change {
        Change {
            address: Address::project(name),
            deposed: None,
            action: Action::Create,
            before: None,
            after: Some([("nickname".to_string(), serde_json::json!(name))].into()),
            reasons: Vec::new(),
            remote: RemoteIds::default(),
        }
    }

    #[test]
    fn equal_plans_share_a_checksum_and_any_change_alters_it() {
        let a = Plan {
            changes: vec![change("alpha"), change("beta")],
        };
        let same = a.clone();
        let other = Plan {
            changes: vec![change("alpha"), change("gamma")],
        };
        assert_eq!(checksum(&a), checksum(&same));
        assert_ne!(checksum(&a), checksum(&other));
        assert!(checksum(&a).starts_with("sha256:") && checksum(&a).len() == 7 + 64);
    }
}
