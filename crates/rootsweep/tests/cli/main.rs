//! Integration tests: the built `rootsweep` binary against an in-process emulator, for every
//! command and every exit code.

mod harness;

mod commands;
mod faults;
mod journal;
mod kill;
mod outputs;
mod safety;
mod secrets;
