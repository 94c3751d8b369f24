//! Rate limits, retries and error classification: everything that decides how fast rootsweep
//! calls AWS and what happens when a call fails.
//!
//! - [`classify()`]: an AWS SDK error becomes an [`ErrorClass`] (throttled, transient, expired
//!   session, not found, denied by an SCP, ...) plus its code and message.
//! - [`retry`]: the one retry layer ([`RetryPolicy`], exponential backoff with full jitter).
//! - [`rate`]: adaptive rate budgets built on `governor` ([`AdaptiveLimiter`] for shared budgets,
//!   [`AccountBudgets`] for one budget per member account) whose rate follows throttling.
//! - [`hedge`]: hedged reads ([`HedgedReads`]): a read that has not answered well past the
//!   run's usual latency is sent once more.

pub mod classify;
pub mod hedge;
pub mod rate;
pub mod retry;

pub use classify::{ErrorClass, FailureDetail, classify};
pub use hedge::{HedgedReads, ReadLatencies};
pub use rate::{AccountBudgets, AdaptiveLimiter, RateSettings};
pub use retry::{Attempts, RetryPolicy};
