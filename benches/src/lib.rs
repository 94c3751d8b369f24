//! What the benchmarks in benches/ share and what can be tested without running them: the
//! org-scale benchmark's quota profiles, its lower bound, and its arguments.

pub mod arguments;
pub mod bound;
pub mod profile;
