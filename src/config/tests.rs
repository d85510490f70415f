//! Tests of the whole configuration pipeline through `load_sources` and `load`.
