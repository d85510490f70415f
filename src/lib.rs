//! kcform: KakaoCloud IAM as code. The flow runs one way: `config` (TOML → [`model::Desired`])
//! → `graph` → `plan` (pure diff → one `Plan`) → `render` → `apply`. Only `apply` and `cloud`
//! do network I/O; `emulator` is the built-in reference IAM server.

pub mod config;
pub mod emulator;
pub mod limits;
pub mod model;
pub mod wire;
