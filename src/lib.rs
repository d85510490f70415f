//! kcform: KakaoCloud IAM as code. The flow runs one way: `config` (TOML → [`model::Desired`])
//! → `graph` → `plan` (pure diff → one `Plan`) → `render` → `apply`. Network I/O: `cloud` (IAM),
//! `lock` (S3) and `emulator` (the built-in reference IAM server); see docs/design.md#io.

pub mod address;
pub mod apply;
pub mod cli;
pub mod cloud;
pub mod commands;
pub mod config;
pub mod connection;
pub mod duration;
pub mod emulator;
pub mod endpoint;
pub mod exit;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod graph;
pub mod import;
pub mod journal;
pub mod keepers;
pub mod limits;
pub mod live;
pub mod lock;
pub mod model;
pub mod parallel;
pub mod pending;
pub mod permissions;
pub mod placeholders;
pub mod plan;
pub mod records;
pub mod render;
pub mod roles;
pub mod schema;
pub mod secret;
pub mod settings;
pub mod snapshot;
pub mod wire;
