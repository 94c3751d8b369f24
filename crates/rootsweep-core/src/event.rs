//! What the engine tells the world: [`Event`]s, consumed by every output (progress, tables,
//! JSON Lines, reports, the journal), none of which knows about the others. The runner calls
//! one callback with each event, in order, from one place.

use std::time::Duration;

use serde::Serialize;

use crate::account::AccountId;
use crate::limits::FailureDetail;
use crate::outcome::{AccountOutcome, StatusCounts, TaskKind, TaskPolicy};

/// One event and when it happened (time since the run started).
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Time since the run, or discovery, started.
    #[serde(with = "crate::serde_duration_ms")]
    pub elapsed: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// Discovery read the organization and resolved the targets.
    TargetsResolved {
        /// Accounts to work on.
        targets: usize,
        /// Accounts that will be skipped (they still get an outcome).
        skipped: usize,
        /// Organizations calls made.
        calls: u32,
    },
    /// A run began.
    RunStarted {
        /// The run's ID.
        run_id: String,
        /// The task.
        task: TaskKind,
        /// Accounts to work on.
        targets: usize,
        /// Accounts that will be skipped.
        skipped: usize,
        /// The concurrency cap.
        max_concurrency: usize,
    },
    /// Work on an account began.
    AccountStarted {
        /// The account.
        account_id: AccountId,
    },
    /// An AssumeRoot session was issued (credentials are never part of an event).
    SessionAssumed {
        /// The account.
        account_id: AccountId,
        /// The task policy it is scoped to.
        task_policy: TaskPolicy,
        /// Its remaining lifetime.
        #[serde(with = "crate::serde_duration_ms")]
        expires_in: Duration,
        /// True when it replaced an expired or expiring session.
        refreshed: bool,
        /// How long the account waited for AssumeRoot permits (every attempt's): with `took`,
        /// whether the AssumeRoot budget or the calls themselves held the account back.
        #[serde(with = "crate::serde_duration_ms")]
        permit_wait: Duration,
        /// From asking for the first permit to the session, retries included.
        #[serde(with = "crate::serde_duration_ms")]
        took: Duration,
    },
    /// A call failed and will be retried after `delay`.
    CallRetrying {
        /// The account the call was for, if any (Organizations calls have none).
        #[serde(skip_serializing_if = "Option::is_none")]
        account_id: Option<AccountId>,
        /// `service:Operation`.
        operation: String,
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// The wait before the next attempt.
        #[serde(with = "crate::serde_duration_ms")]
        delay: Duration,
        /// What went wrong.
        failure: FailureDetail,
    },
    /// An adaptive budget changed its rate.
    RateChanged {
        /// `sts:AssumeRoot`, `organizations`, `iam (per account)`, ...
        budget: &'static str,
        /// Requests per second.
        rate: f64,
    },
    /// An account ended (every target gets exactly one of these, skipped ones included).
    AccountFinished {
        /// The record.
        outcome: Box<AccountOutcome>,
        /// Where the run stands.
        progress: Progress,
    },
    /// The run stopped scheduling accounts; those in flight finish.
    RunCancelling {
        /// Why.
        reason: StopReason,
    },
    /// The run ended.
    RunFinished {
        /// Its summary.
        summary: RunSummary,
    },
}

/// Where a run stands, carried by every [`EventKind::AccountFinished`] so that a display is a
/// function of the latest event.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    /// Accounts ended so far (skipped included).
    pub finished: usize,
    /// All targets (skipped included).
    pub total: usize,
    /// Accounts in flight.
    pub running: usize,
    /// Outcomes so far by status.
    pub counts: StatusCounts,
    /// Throttled answers so far.
    pub throttled: u64,
}

/// Why a run stopped before handling every account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StopReason {
    /// An account of the canary batch failed.
    Canary {
        /// The canary batch size.
        canary: usize,
        /// Failures in it.
        failures: usize,
    },
    /// More accounts failed than `--max-failures` allows.
    MaxFailures {
        /// The limit, as given (`5`, `2%`).
        limit: String,
        /// Failures so far.
        failures: usize,
    },
    /// Interrupted (Ctrl-C): accounts in flight finished.
    Interrupted,
    /// Aborted (a second Ctrl-C): accounts in flight were abandoned.
    Aborted,
    /// An output could not be written (the journal, a report): nothing more was started.
    OutputFailed {
        /// What failed.
        message: String,
    },
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Canary { canary, failures } => write!(
                formatter,
                "{failures} of the {canary} canary accounts failed: stopped before the rest"
            ),
            Self::MaxFailures { limit, failures } => write!(
                formatter,
                "{failures} accounts failed, more than --max-failures {limit}: stopped scheduling"
            ),
            Self::Interrupted => formatter
                .write_str("interrupted: accounts in flight finished, no more were started"),
            Self::Aborted => formatter.write_str("aborted: accounts in flight were abandoned"),
            Self::OutputFailed { message } => write!(
                formatter,
                "an output failed ({message}): stopped scheduling"
            ),
        }
    }
}

/// The end of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// [`crate::outcome::SCHEMA_VERSION`].
    pub schema: u32,
    /// The run's ID.
    pub run_id: String,
    /// The task.
    pub task: TaskKind,
    /// All targets, skipped included.
    pub targets: usize,
    /// Outcomes by status (they add up to `targets`).
    pub counts: StatusCounts,
    /// Why the run stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<StopReason>,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// How long it took.
    #[serde(with = "crate::serde_duration_ms", rename = "duration_ms")]
    pub duration: Duration,
    /// AWS calls made, retries included.
    pub calls: u64,
    /// Retries.
    pub retries: u64,
    /// Throttled answers.
    pub throttled: u64,
    /// Reads sent a second time because the first had not answered (hedged reads; counted in
    /// `calls` too). Left out of the JSON when none were.
    #[serde(skip_serializing_if = "is_zero")]
    pub hedged: u64,
}

/// For `skip_serializing_if`.
fn is_zero(value: &u64) -> bool {
    *value == 0
}
