//! The pipeline: `config` → `plan` → `render` → `apply`, orchestrated once for every command
//! that reads or changes the live objects (see docs/design.md#flow). The commands are views
//! over it: they parse their arguments, call the pipeline and print what it gives back.
//!
//! Written straight, a run is:
//!
//! 1. the configuration, [`crate::config::load`]ed;
//! 2. a [`Session`] ([`with_session`]): the connection to the IAM API and kcform's records,
//!    closed once, at the end of the scope, whatever happens inside it ([`with_connection`]);
//! 3. [`plan()`]: the token and the records read, the live objects read and planned project by
//!    project, the selection kept → a [`Planned`], which is data only;
//! 4. for `apply`: the [review](mod@review) (a saved plan or an expected checksum must be the plan
//!    derived now), the [refusals](apply::refuse), then [`apply()`], which runs the operations
//!    and updates kcform's records, under the [apply lock](ApplyLock), which writes the journal.
//!
//! One optional layer sits on top: [`overlap::load`] parses the configuration while the token
//! is issued and the projects are listed, when the connection does not depend on the
//! configuration (`KCFORM_ENDPOINT` names the endpoint); its [`HeadStart`] is what the session
//! starts from instead of connecting. Without it every step above runs as written.
//!
//! Inside `plan()`, two optimizations keep a large plan's CPU off the critical path (see
//! docs/scale.md#where-the-time-goes): each project is planned on a thread of its own as soon
//! as it is read (`planner`), and its human blocks are rendered there too when the caller
//! will print the human plan.
//!
//! Its errors are typed ([`PipelineError`]); the commands add nothing but their own words.
//!
//! The pipeline uses `config`, `plan`, `graph`, `render`, `apply`, `state`, `cloud`,
//! `connection` and `permissions`; only `commands` uses it.

pub mod apply;
mod authority;
mod error;
pub mod import;
mod lock;
pub mod overlap;
mod plan;
mod planned;
mod planner;
pub mod review;
mod selection;
mod session;

pub use apply::{ApplyOptions, ApplyOutcome, apply};
pub use authority::{authorize, denied};
pub use error::PipelineError;
pub use lock::ApplyLock;
pub use overlap::HeadStart;
pub use plan::{plan, plan_configuration};
pub use planned::Planned;
pub use selection::Selection;
pub use session::{Open, Session, connect, with_connection, with_session};

#[cfg(test)]
mod tests;
