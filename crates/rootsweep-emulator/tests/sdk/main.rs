//! Integration tests: the unmodified AWS SDK for Rust against an in-process emulator. One test
//! binary; a module per service plus faults and the admin endpoint.

mod fixture;

mod admin;
mod faults;
mod iam;
mod organizations;
mod s3;
mod sqs;
mod sts;
