//! rootsweep-core: the engine that audits and remediates AWS Organizations member-account root
//! users in bulk with task-scoped `sts:AssumeRoot` sessions. It prints nothing and knows nothing
//! of terminals: everything it does is reported as [`Event`]s, and every account ends with one
//! [`AccountOutcome`].
//!
//! The pieces, in the order a run uses them:
//! - [`AwsContext`] wraps the caller's AWS SDK configuration (AssumeRoot needs a regional STS
//!   endpoint; the SDK's retries are turned off because the engine owns them);
//! - [`Limits`] holds the adaptive rate budgets (AssumeRoot, Organizations, and per member
//!   account for IAM, S3 and SQS) and the retry policy;
//! - [`discover`] resolves a [`TargetSelector`] (accounts, OUs, tags, exclusions, protected
//!   accounts) into [`Targets`];
//! - [`Runner::run`] works through the targets with a [`Task`] and calls back with [`Event`]s.
//!
//! ```
//! use std::sync::Arc;
//! use rootsweep_core::{
//!     discover, AwsContext, CancelHandle, EventKind, LimitSettings, Limits, RunSettings, Runner,
//!     Status, Task, TargetSelector, Timeouts,
//! };
//! # use rootsweep_emulator::{labels, Emulator, EmulatorConfig, ScenarioSpec};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // An emulated organization stands in for AWS here; a real program uses the standard chain:
//! # // `aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await`.
//! # let scenario = ScenarioSpec { accounts: 30, ..ScenarioSpec::default() }.generate()?;
//! # let emulator = Emulator::start(EmulatorConfig::new(scenario.clone())).await?;
//! # let operator = scenario.principal(labels::OPERATOR).expect("operator");
//! # let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
//! #     .region(aws_config::Region::new("us-east-1"))
//! #     .endpoint_url(emulator.endpoint_url())
//! #     .credentials_provider(aws_credential_types::Credentials::new(
//! #         &operator.access_key_id, &operator.secret_access_key, None, None, "example"))
//! #     .load()
//! #     .await;
//! let aws = Arc::new(AwsContext::new(&config, Timeouts::default())?);
//! let limits = Limits::new(LimitSettings::default())?;
//! let targets = discover(&aws, &limits, &TargetSelector::default(), |_event| {}).await?;
//! let runner = Runner::new(aws, limits, RunSettings::default());
//! let summary = runner
//!     .run(Task::Audit, &targets, &CancelHandle::new(), |event| {
//!         if let EventKind::AccountFinished { outcome, .. } = &event.kind {
//!             println!("{} {}: {}", outcome.account_id, outcome.status, outcome.summary);
//!         }
//!         Ok::<(), std::io::Error>(())
//!     })
//!     .await;
//! // Every target ends with exactly one outcome.
//! assert_eq!(summary.counts.total(), targets.accounts.len());
//! assert!(summary.counts.get(Status::NonCompliant) > 0);
//! # Ok(()) }
//! ```

pub mod account;
pub mod aws;
mod clock;
pub mod discovery;
pub mod event;
pub mod journal;
pub mod limits;
pub mod outcome;
pub mod runner;
pub mod session;
pub mod task;

pub use account::{Account, AccountId, AccountState, InvalidAccountId};
pub use aws::{AwsContext, SetupError, Timeouts};
pub use discovery::{DiscoveryError, Organization, Target, TargetSelector, Targets, discover};
pub use event::{Event, EventKind, Progress, RunSummary, StopReason};
pub use journal::{Journal, JournalError, JournalHeader, JournalWriter, ResumeMarker};
pub use limits::{ErrorClass, HedgedReads, RateSettings, RetryPolicy};
pub use outcome::{
    AccountOutcome, CredentialKind, Details, Inventory, SCHEMA_VERSION, Status, TaskKind,
    TaskPolicy,
};
pub use runner::{CancelHandle, EventSink, FailureLimit, RunSettings, Runner};
pub use session::{LimitSettings, Limits};
pub use task::{
    DeleteOptions, DeletionPlan, PlannedPolicy, PolicyPlan, Task, UnlockS3Options, UnlockSqsOptions,
};

/// A new run ID: the start time and a random suffix (`20261124T061500Z-4f9c2a`).
pub fn new_run_id() -> String {
    clock::run_id()
}

/// Serde helpers for durations as whole milliseconds (`"base_delay": 100`).
pub(crate) mod serde_duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(deserializer)?))
    }
}
