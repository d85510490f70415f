//! Key-slot accounting for replacements: a service account holds at most
//! [`MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT`] keys, so a replaced key can be created before the old
//! one is deleted (`+/-`) only when a slot is free once the account's plain deletes have run
//! and its new keys exist. `apply` runs one account's replacements one after another, so a
//! single free slot serves all of them.

use crate::limits::MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT;

use super::ReplaceOrder;

/// The order every replacement in one account takes, given how many keys the account has live,
/// how many of those are deleted outright, and how many new keys are created.
pub fn replace_order(live: usize, deleted: usize, created: usize) -> (ReplaceOrder, usize) {
    let occupied = live.saturating_sub(deleted) + created;
    let free = MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT.saturating_sub(occupied);
    if free >= 1 {
        (ReplaceOrder::CreateBeforeDestroy, free)
    } else {
        (ReplaceOrder::DestroyBeforeCreate, free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_live_key_leaves_a_slot_for_create_before_destroy() {
        assert_eq!(replace_order(1, 0, 0).0, ReplaceOrder::CreateBeforeDestroy);
    }

    #[test]
    fn two_live_keys_force_destroy_before_create() {
        assert_eq!(replace_order(2, 0, 0).0, ReplaceOrder::DestroyBeforeCreate);
    }

    #[test]
    fn a_deleted_key_frees_a_slot_and_a_new_key_takes_one() {
        assert_eq!(replace_order(2, 1, 0).0, ReplaceOrder::CreateBeforeDestroy);
        assert_eq!(replace_order(1, 0, 1).0, ReplaceOrder::DestroyBeforeCreate);
    }
}
