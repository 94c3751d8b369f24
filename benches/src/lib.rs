//! What the benchmarks in benches/ share and what can be tested without running them: the
//! org-scale benchmark's quota profiles, its lower bound, its arguments, and how busy the cores
//! were while a run went.

pub mod arguments;
pub mod bound;
pub mod profile;
pub mod timeline;
