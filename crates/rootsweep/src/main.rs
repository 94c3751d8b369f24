//! The `rootsweep` command line (built in a later issue).
fn main() {}
