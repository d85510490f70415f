//! Renderers: every output format is a pure function of one [`crate::plan::Plan`], so the
//! reviewer's view and `apply` can never disagree.

pub mod human;
mod style;

pub use style::Palette;
