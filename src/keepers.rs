//! The keeper record: which `rotation` value each access key was created with. The IAM API
//! cannot store it (keys cannot be edited), so kcform keeps it among its records (see
//! `records`). A key without a record is taken to match its configuration, and is recorded by
//! the next apply.

use std::collections::BTreeMap;

/// Key ID → rotation value.
pub type Keepers = BTreeMap<String, String>;

/// The record's name.
pub const RECORD: &str = "keepers.json";
