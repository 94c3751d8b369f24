//! Examples live in examples/ of this package.
