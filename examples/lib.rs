//! Runnable examples of the rootsweep-core library: see `examples/` and run them with
//! `cargo run -p rootsweep-examples --example NAME`.
