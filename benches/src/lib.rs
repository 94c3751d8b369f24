//! Benchmarks live in benches/ of this package.
