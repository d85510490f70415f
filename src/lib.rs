//! kcform: KakaoCloud IAM as code. The flow runs one way: `config` (TOML → [`model::Desired`])
//! → `plan` (pure diff → one `Plan`) → `render` → `apply`; `graph` orders operations and knows
//! neither plans nor apply (`plan` maps its changes onto it); `state` keeps what kcform remembers between runs (backends, lock, records,
//! journal). `pipeline` orchestrates them for a run (docs/design.md#flow); `commands` are views
//! over it. Network I/O: `cloud` (IAM), `state` (its S3 backend) and `emulator` (the built-in
//! reference IAM server); see docs/design.md#io. No module uses one that uses it back
//! (`tests/module_graph.rs`).

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
pub mod env;
pub mod exit;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod graph;
pub mod import;
pub mod limits;
pub mod live;
pub mod model;
pub mod parallel;
pub mod permissions;
pub mod pipeline;
pub mod placeholders;
pub mod plan;
pub mod render;
pub mod roles;
pub mod schema;
pub mod secret;
pub mod settings;
pub mod state;
pub mod wire;
