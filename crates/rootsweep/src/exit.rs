//! Exit codes, in one place (documented in docs/exit-codes.md).

/// Everything went well (an audit: every account compliant).
pub(crate) const SUCCESS: u8 = 0;
/// An audit found non-compliant accounts.
pub(crate) const NON_COMPLIANT: u8 = 1;
/// A usage or setup error: nothing was changed.
pub(crate) const USAGE: u8 = 2;
/// Some accounts failed or were denied (or an output could not be written).
pub(crate) const ACCOUNTS_FAILED: u8 = 3;
/// Stopped by --canary or --max-failures.
pub(crate) const STOPPED: u8 = 4;
/// Interrupted (Ctrl-C).
pub(crate) const INTERRUPTED: u8 = 130;
