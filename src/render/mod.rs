//! Renderers: every output format is a pure function of one [`crate::plan::Plan`], so the
//! reviewer's view and `apply` can never disagree.

pub mod human;
pub mod json;
pub mod markdown;
mod style;
pub mod terraform_json;

pub use style::Palette;

#[cfg(test)]
mod tests;
