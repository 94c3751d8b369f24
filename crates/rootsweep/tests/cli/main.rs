//! Integration tests: the built `rootsweep` binary against an in-process emulator, for every
//! command and every exit code.

mod harness;

mod commands;
mod outputs;
mod safety;
