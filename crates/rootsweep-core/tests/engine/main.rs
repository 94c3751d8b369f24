//! Integration tests: the engine against an in-process emulator, through the real AWS SDK.

mod fixture;

mod calls;
mod discovery;
mod faults;
mod runs;
mod tasks;
