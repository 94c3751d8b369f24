//! The fan-out: [`Runner`] runs a [`Task`] over resolved [`Targets`] within the rate budgets of
//! [`Limits`], with bounded concurrency, failure tolerance and cancellation, and reports every
//! step as an [`Event`] through one callback.
//!
//! Guarantees:
//! - every target ends with exactly one [`EventKind::AccountFinished`]: skipped targets first,
//!   then each account as it ends, then `cancelled` for those never started;
//! - events reach the callback in order, from one place, one at a time (a slow callback slows
//!   scheduling: natural backpressure), and an account's retries come before its outcome;
//! - a failing account is an outcome, never an error of the run.
//!
//! Concurrency starts at [`RunSettings::initial_concurrency`] and grows by a quarter with every
//! account that ends well while the accounts waiting for an AssumeRoot permit would all have it
//! within 20 ms at the current rate ([`Limits::assume_root_queue_is_short`]), up to
//! [`RunSettings::max_concurrency`]. So a run that fails from the start has little in flight
//! when it stops, and once accounts queue for AssumeRoot (the budget, not the number of accounts
//! in flight, sets the pace) no more are started than keep that budget busy: each account in
//! flight costs memory. Rates, not concurrency, keep calls within AWS's quotas.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::account::Account;
use crate::aws::AwsContext;
use crate::clock;
use crate::discovery::Targets;
use crate::event::{Event, EventKind, Progress, RunSummary, StopReason};
use crate::outcome::{AccountOutcome, SCHEMA_VERSION, Status, StatusCounts, TaskKind};
use crate::session::{AccountContext, Limits};
use crate::task::{self, Task};

/// How many failed or denied accounts a run tolerates before it stops scheduling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureLimit {
    /// At most this many.
    Count(usize),
    /// At most this percentage of the accounts worked on.
    Percent(f64),
}

impl FailureLimit {
    /// Whether `failures` out of `targets` exceeds the limit.
    pub fn exceeded(self, failures: usize, targets: usize) -> bool {
        match self {
            Self::Count(limit) => failures > limit,
            Self::Percent(percent) => failures as f64 > percent / 100.0 * targets as f64,
        }
    }
}

impl fmt::Display for FailureLimit {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(count) => write!(formatter, "{count}"),
            Self::Percent(percent) => write!(formatter, "{percent}%"),
        }
    }
}

/// Why a failure limit does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a failure limit: give a count (5) or a percentage of the targets (2%)")]
pub struct InvalidFailureLimit(String);

impl FromStr for FailureLimit {
    type Err = InvalidFailureLimit;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidFailureLimit(text.to_string());
        let trimmed = text.trim();
        if let Some(percent) = trimmed.strip_suffix('%') {
            let percent: f64 = percent.trim().parse().map_err(|_| invalid())?;
            if !(0.0..=100.0).contains(&percent) || !percent.is_finite() {
                return Err(invalid());
            }
            Ok(Self::Percent(percent))
        } else {
            trimmed.parse().map(Self::Count).map_err(|_| invalid())
        }
    }
}

/// How a run schedules accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunSettings {
    /// The most accounts in flight at once.
    pub max_concurrency: usize,
    /// Accounts in flight at first; grows by a quarter per account that ends well while the
    /// queue for AssumeRoot permits is short (see the module documentation).
    pub initial_concurrency: usize,
    /// Work on this many accounts first, and stop if any of them fails or is denied.
    pub canary: Option<usize>,
    /// Stop scheduling once more accounts than this have failed or been denied.
    pub max_failures: Option<FailureLimit>,
    /// The run's ID (generated when absent).
    pub run_id: Option<String>,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            max_concurrency: 512,
            initial_concurrency: 32,
            canary: None,
            max_failures: None,
            run_id: None,
        }
    }
}

/// How far a cancellation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum CancelLevel {
    Running,
    /// Start nothing new; let accounts in flight finish.
    Stop,
    /// Abandon accounts in flight too.
    Abort,
}

/// Stops a run from outside (a Ctrl-C handler): [`stop`](Self::stop) lets accounts in flight
/// finish, [`abort`](Self::abort) abandons them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CancelHandle {
    sender: Arc<watch::Sender<CancelLevel>>,
}

impl Default for CancelHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelHandle {
    /// A handle that has not been used.
    pub fn new() -> Self {
        Self {
            sender: Arc::new(watch::channel(CancelLevel::Running).0),
        }
    }

    /// Start no more accounts; let those in flight finish.
    pub fn stop(&self) {
        self.sender.send_if_modified(|level| {
            let changed = *level < CancelLevel::Stop;
            *level = (*level).max(CancelLevel::Stop);
            changed
        });
    }

    /// Abandon accounts in flight as well.
    pub fn abort(&self) {
        self.sender.send_replace(CancelLevel::Abort);
    }

    /// Whether [`stop`](Self::stop) or [`abort`](Self::abort) was called.
    pub fn is_stopping(&self) -> bool {
        *self.sender.borrow() > CancelLevel::Running
    }

    /// Waits until [`stop`](Self::stop) or [`abort`](Self::abort) is called (for cancelling
    /// work before a run, such as discovery).
    pub async fn stopped(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = receiver
            .wait_for(|level| *level > CancelLevel::Running)
            .await;
    }
}

/// Runs tasks over targets (see the module documentation).
#[derive(Debug, Clone)]
pub struct Runner {
    aws: Arc<AwsContext>,
    limits: Arc<Limits>,
    settings: RunSettings,
}

/// Where a run's events go: [`Runner::run_into`]. ([`Runner::run`] takes a closure instead.)
pub trait EventSink {
    /// Why the sink could not take an event.
    type Error: fmt::Display;

    /// Takes one event; events come in order, one at a time.
    fn event(&mut self, event: &Event) -> Result<(), Self::Error>;

    /// Called whenever no event is ready and the run is about to wait for one. A sink that
    /// holds events back to handle several at once (a journal that syncs a batch of outcomes
    /// with one `fsync`) finishes its batch here, so that nothing is held while the run waits.
    /// An error stops the run as an error from [`event`](Self::event) does. The last event,
    /// [`EventKind::RunFinished`], is not followed by a call: a batching sink finishes on it.
    fn idle(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A closure as an [`EventSink`] that never batches.
struct Callback<F>(F);

impl<E: fmt::Display, F: FnMut(&Event) -> Result<(), E>> EventSink for Callback<F> {
    type Error = E;

    fn event(&mut self, event: &Event) -> Result<(), E> {
        (self.0)(event)
    }
}

/// The dispatcher's state: everything about a run in progress, owned in one place.
struct Dispatch<'a, S: EventSink> {
    sink: &'a mut S,
    started: Instant,
    limits: &'a Limits,
    counts: StatusCounts,
    finished: usize,
    total: usize,
    running: usize,
    stopped: Option<StopReason>,
}

impl<S: EventSink> Dispatch<'_, S> {
    fn emit(&mut self, kind: EventKind) {
        let event = Event {
            elapsed: self.started.elapsed(),
            kind,
        };
        let result = self.sink.event(&event);
        self.sink_failed(result);
    }

    /// Lets the sink finish what it holds before the run waits.
    fn idle(&mut self) {
        let result = self.sink.idle();
        self.sink_failed(result);
    }

    fn sink_failed(&mut self, result: Result<(), S::Error>) {
        if let Err(error) = result
            && self.stopped.is_none()
        {
            let reason = StopReason::OutputFailed {
                message: error.to_string(),
            };
            self.stopped = Some(reason.clone());
            // Tell the other outputs; a second failure changes nothing.
            let _ = self.sink.event(&Event {
                elapsed: self.started.elapsed(),
                kind: EventKind::RunCancelling { reason },
            });
        }
    }

    fn stop(&mut self, reason: StopReason) {
        if self.stopped.is_none() {
            self.stopped = Some(reason.clone());
            self.emit(EventKind::RunCancelling { reason });
        }
    }

    fn finish(&mut self, outcome: AccountOutcome) {
        self.counts.add(outcome.status);
        self.finished += 1;
        let progress = Progress {
            finished: self.finished,
            total: self.total,
            running: self.running,
            counts: self.counts.clone(),
            throttled: self.limits.throttled(),
        };
        self.emit(EventKind::AccountFinished {
            outcome: Box::new(outcome),
            progress,
        });
    }
}

fn unstarted(
    run_id: &str,
    task: TaskKind,
    account: &Account,
    status: Status,
    summary: String,
) -> AccountOutcome {
    AccountOutcome {
        schema: SCHEMA_VERSION,
        run_id: run_id.to_string(),
        task,
        account_id: account.id.clone(),
        account_name: Some(account.name.clone()),
        ou_path: Some(account.ou_path.clone()),
        status,
        summary,
        skip_reason: None,
        details: None,
        error: None,
        calls: 0,
        retries: 0,
        started_at: None,
        duration_ms: 0,
    }
}

async fn work_on(
    account: Account,
    task: Arc<Task>,
    aws: Arc<AwsContext>,
    limits: Arc<Limits>,
    events: mpsc::UnboundedSender<EventKind>,
    run_id: Arc<str>,
) -> AccountOutcome {
    let started_at = clock::rfc3339(clock::now());
    let started = Instant::now();
    let kind = task.kind();
    let mut context =
        AccountContext::new(account.id.clone(), aws, limits, events, kind.task_policy());
    let report = task::run(&task, &mut context).await;
    let (calls, retries) = context.calls_and_retries();
    AccountOutcome {
        schema: SCHEMA_VERSION,
        run_id: run_id.to_string(),
        task: kind,
        account_id: account.id,
        account_name: Some(account.name),
        ou_path: Some(account.ou_path),
        status: report.status,
        summary: report.summary,
        skip_reason: None,
        details: report.details,
        error: report.error,
        calls,
        retries,
        started_at: Some(started_at),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

impl Runner {
    /// A runner calling AWS through `aws` within `limits`.
    pub fn new(aws: Arc<AwsContext>, limits: Arc<Limits>, settings: RunSettings) -> Self {
        Self {
            aws,
            limits,
            settings,
        }
    }

    /// Runs `task` over `targets`, calling `on_event` with every event in order, and returns
    /// the summary (also the last event). If `on_event` fails, the run starts no more accounts
    /// and says why in [`RunSummary::stopped`].
    pub async fn run<E, F>(
        &self,
        task: Task,
        targets: &Targets,
        cancel: &CancelHandle,
        on_event: F,
    ) -> RunSummary
    where
        E: fmt::Display,
        F: FnMut(&Event) -> Result<(), E>,
    {
        self.run_into(task, targets, cancel, &mut Callback(on_event))
            .await
    }

    /// [`run`](Self::run), handing the events to `sink`, which is also told whenever the run
    /// is about to wait ([`EventSink::idle`]).
    pub async fn run_into<S: EventSink>(
        &self,
        task: Task,
        targets: &Targets,
        cancel: &CancelHandle,
        sink: &mut S,
    ) -> RunSummary {
        let run_id: Arc<str> =
            Arc::from(self.settings.run_id.clone().unwrap_or_else(clock::run_id));
        let kind = task.kind();
        let task = Arc::new(task);
        let started_at = clock::rfc3339(clock::now());
        let max_concurrency = self.settings.max_concurrency.max(1);
        let mut dispatch = Dispatch {
            sink,
            started: Instant::now(),
            limits: &self.limits,
            counts: StatusCounts::default(),
            finished: 0,
            total: targets.accounts.len(),
            running: 0,
            stopped: None,
        };
        let calls_before = self.limits.calls();
        let retries_before = self.limits.retries();
        let throttled_before = self.limits.throttled();
        let hedged_before = self.limits.hedged();
        let active: Vec<&Account> = targets.active().map(|target| &target.account).collect();
        dispatch.emit(EventKind::RunStarted {
            run_id: run_id.to_string(),
            task: kind,
            targets: active.len(),
            skipped: targets.skipped_count(),
            max_concurrency,
        });
        for target in &targets.accounts {
            if let Some(reason) = &target.skip {
                let mut outcome = unstarted(
                    &run_id,
                    kind,
                    &target.account,
                    Status::Skipped,
                    format!("skipped: {reason}"),
                );
                outcome.skip_reason = Some(reason.clone());
                dispatch.finish(outcome);
            }
        }

        let (events, mut event_receiver) = mpsc::unbounded_channel();
        let mut cancel_receiver = cancel.sender.subscribe();
        let mut pending = active.into_iter();
        let mut in_flight: JoinSet<AccountOutcome> = JoinSet::new();
        let mut accounts_in_flight: HashMap<tokio::task::Id, Account> = HashMap::new();
        let canary = self
            .settings
            .canary
            .map(|size| size.min(targets.active_count()));
        let mut canary_passed = canary.is_none_or(|size| size == 0);
        let (mut scheduled, mut started_finished, mut failures) = (0usize, 0usize, 0usize);
        let mut concurrency = self.settings.initial_concurrency.clamp(1, max_concurrency);
        let active_total = targets.active_count();
        let mut aborted = false;

        loop {
            let level = *cancel_receiver.borrow();
            if level == CancelLevel::Abort && !aborted {
                aborted = true;
                dispatch.stopped = Some(StopReason::Aborted);
                dispatch.emit(EventKind::RunCancelling {
                    reason: StopReason::Aborted,
                });
                in_flight.abort_all();
            } else if level == CancelLevel::Stop {
                dispatch.stop(StopReason::Interrupted);
            }
            while dispatch.stopped.is_none() && in_flight.len() < concurrency {
                if !canary_passed && canary.is_some_and(|size| scheduled >= size) {
                    break;
                }
                let Some(account) = pending.next() else { break };
                scheduled += 1;
                dispatch.emit(EventKind::AccountStarted {
                    account_id: account.id.clone(),
                });
                let handle = in_flight.spawn(work_on(
                    account.clone(),
                    Arc::clone(&task),
                    Arc::clone(&self.aws),
                    Arc::clone(&self.limits),
                    events.clone(),
                    Arc::clone(&run_id),
                ));
                accounts_in_flight.insert(handle.id(), account.clone());
            }
            dispatch.running = in_flight.len();
            if in_flight.is_empty() {
                break;
            }
            // Whatever is ready is handled before the run waits, and the sink is told when it
            // is about to: outcomes that end together reach it together.
            let joined = if let Some(joined) = in_flight.try_join_next_with_id() {
                Some(joined)
            } else if let Ok(kind) = event_receiver.try_recv() {
                dispatch.emit(kind);
                continue;
            } else {
                dispatch.idle();
                tokio::select! {
                    joined = in_flight.join_next_with_id() => joined,
                    Some(kind) = event_receiver.recv() => {
                        dispatch.emit(kind);
                        continue;
                    }
                    changed = cancel_receiver.changed() => {
                        if changed.is_err() {
                            // The handle was dropped: nobody can cancel any more.
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                        continue;
                    }
                }
            };
            // The account's own events (retries, sessions) come before its outcome.
            while let Ok(kind) = event_receiver.try_recv() {
                dispatch.emit(kind);
            }
            let Some(joined) = joined else { continue };
            let outcome = match joined {
                Ok((id, outcome)) => {
                    accounts_in_flight.remove(&id);
                    outcome
                }
                Err(error) => {
                    let account = accounts_in_flight.remove(&error.id());
                    let Some(account) = account else { continue };
                    if error.is_panic() {
                        let mut outcome = unstarted(&run_id, kind, &account, Status::Failed,
                            "internal error: the task panicked (a bug in rootsweep; please report it)".to_string());
                        outcome.error = Some(crate::outcome::ErrorRecord {
                            class: crate::limits::ErrorClass::Fatal,
                            operation: None,
                            code: None,
                            message: error.to_string(),
                            attempts: 1,
                        });
                        outcome
                    } else {
                        unstarted(&run_id, kind, &account, Status::Cancelled,
                            "abandoned in flight by an abort: the account may have been partly changed; run again to finish it".to_string())
                    }
                }
            };
            dispatch.running = in_flight.len();
            started_finished += 1;
            if outcome.status.is_failure() {
                failures += 1;
            } else if outcome.status.is_success() && self.limits.assume_root_queue_is_short() {
                // AssumeRoot keeps up: more accounts in flight would go faster.
                concurrency = (concurrency + concurrency.div_ceil(4)).min(max_concurrency);
            }
            dispatch.finish(outcome);
            if let Some(size) = canary
                && !canary_passed
                && started_finished >= size
            {
                if failures > 0 {
                    dispatch.stop(StopReason::Canary {
                        canary: size,
                        failures,
                    });
                }
                canary_passed = true;
            }
            if let Some(limit) = self.settings.max_failures
                && limit.exceeded(failures, active_total)
            {
                dispatch.stop(StopReason::MaxFailures {
                    limit: limit.to_string(),
                    failures,
                });
            }
        }
        while let Ok(kind) = event_receiver.try_recv() {
            dispatch.emit(kind);
        }
        let reason = dispatch
            .stopped
            .as_ref()
            .map_or_else(|| "the run stopped".to_string(), ToString::to_string);
        for account in pending {
            let outcome = unstarted(
                &run_id,
                kind,
                account,
                Status::Cancelled,
                format!("not started: {reason}"),
            );
            dispatch.finish(outcome);
        }
        let summary = RunSummary {
            schema: SCHEMA_VERSION,
            run_id: run_id.to_string(),
            task: kind,
            targets: dispatch.total,
            counts: dispatch.counts.clone(),
            stopped: dispatch.stopped.clone(),
            started_at,
            duration: dispatch.started.elapsed(),
            calls: self.limits.calls() - calls_before,
            retries: self.limits.retries() - retries_before,
            throttled: self.limits.throttled() - throttled_before,
            hedged: self.limits.hedged() - hedged_before,
        };
        dispatch.emit(EventKind::RunFinished {
            summary: summary.clone(),
        });
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_limits_parse_and_apply() {
        assert_eq!("5".parse::<FailureLimit>(), Ok(FailureLimit::Count(5)));
        assert_eq!(
            " 2.5% ".parse::<FailureLimit>(),
            Ok(FailureLimit::Percent(2.5))
        );
        for bad in ["", "-1", "five", "150%", "%", "NaN%"] {
            let error = bad.parse::<FailureLimit>().expect_err("invalid");
            assert!(
                error.to_string().contains("count (5) or a percentage"),
                "{error}"
            );
        }
        assert!(!FailureLimit::Count(0).exceeded(0, 10));
        assert!(FailureLimit::Count(0).exceeded(1, 10));
        assert!(!FailureLimit::Percent(10.0).exceeded(10, 100));
        assert!(FailureLimit::Percent(10.0).exceeded(11, 100));
    }

    #[tokio::test]
    async fn stopped_resolves_once_stopped() {
        let handle = CancelHandle::new();
        let waiter = handle.clone();
        let waiting = tokio::spawn(async move { waiter.stopped().await });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        handle.stop();
        waiting.await.expect("resolves");
    }

    proptest::proptest! {
        #[test]
        fn failure_limits_never_panic(text in ".{0,12}") {
            if let Err(error) = text.parse::<FailureLimit>() {
                proptest::prop_assert!(error.to_string().contains("count (5) or a percentage"));
            }
        }
    }

    #[tokio::test]
    async fn an_account_in_flight_reserves_little_memory() {
        // Every account in flight holds its task's future from the start, most of it waiting for
        // AssumeRoot. The tasks and the SDK calls inside them are boxed, so that this stays
        // small: inline, an account reserved 28 KiB whatever it was doing.
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::for_tests())
            .load()
            .await;
        let aws =
            Arc::new(AwsContext::new(&config, crate::aws::Timeouts::default()).expect("valid"));
        let limits = Limits::new(crate::session::LimitSettings::default()).expect("valid");
        let (events, _receiver) = mpsc::unbounded_channel();
        let account = Account {
            id: crate::account::AccountId::parse("111122223333").expect("valid"),
            name: "member".to_string(),
            state: crate::account::AccountState::Active,
            ou_path: "/".to_string(),
            parent_id: "r-abcd".to_string(),
        };
        for task in [
            Task::Audit,
            Task::DeleteCredentials(crate::task::DeleteOptions::default()),
        ] {
            let future = work_on(
                account.clone(),
                Arc::new(task),
                Arc::clone(&aws),
                Arc::clone(&limits),
                events.clone(),
                Arc::from("run"),
            );
            let size = std::mem::size_of_val(&future);
            assert!(size <= 2_048, "{size} bytes");
        }
    }

    #[test]
    fn cancel_handles_only_escalate() {
        let handle = CancelHandle::new();
        assert!(!handle.is_stopping());
        handle.abort();
        handle.stop();
        assert_eq!(*handle.sender.borrow(), CancelLevel::Abort);
        assert!(handle.is_stopping());
    }
}
