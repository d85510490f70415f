//! kcform: KakaoCloud IAM as code. The flow runs one way: `config` (TOML → [`model::Desired`])
//! → `plan` (pure diff → one `Plan`) → `graph` (the order of its operations) → `render` →
//! `apply`; `state` keeps what kcform remembers between runs (backend, lock, records,
//! journal). Only `apply`, `cloud` and `state` do network I/O; `emulator` is the built-in
//! reference IAM server. No module uses one that uses it back (`tests/module_graph.rs`).

pub mod address;
pub mod apply;
pub mod cli;
pub mod cloud;
pub mod commands;
pub mod config;
pub mod connection;
pub mod emulator;
pub mod exit;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod graph;
pub mod import;
pub mod limits;
pub mod live;
pub mod model;
pub mod permissions;
pub mod placeholders;
pub mod plan;
pub mod render;
pub mod roles;
pub mod schema;
pub mod secret;
pub mod settings;
pub mod state;
pub mod wire;
