//! Run control: events in order, canary, max failures, stop and abort.

use rootsweep_core::{
    CancelHandle, DeleteOptions, EventKind, FailureLimit, Limits, RunSettings, Runner, Status,
    StopReason, TargetSelector, Task,
};
use rootsweep_emulator::ScenarioSpec;

use crate::fixture::{Fixture, Recording, fast_limits};

fn org() -> ScenarioSpec {
    ScenarioSpec {
        accounts: 120,
        seed: 13,
        ..ScenarioSpec::default()
    }
}

#[tokio::test]
async fn events_come_in_order_and_each_account_ends_once() {
    let fixture = Fixture::new(org()).await;
    let (summary, recording) = fixture.run(Task::Audit).await;
    assert!(matches!(
        recording.events.first().map(|e| &e.kind),
        Some(EventKind::RunStarted { .. })
    ));
    assert!(matches!(
        recording.events.last().map(|e| &e.kind),
        Some(EventKind::RunFinished { .. })
    ));
    let mut started = std::collections::HashSet::new();
    let mut finished = std::collections::HashSet::new();
    for event in &recording.events {
        match &event.kind {
            EventKind::AccountStarted { account_id } => assert!(started.insert(account_id.clone())),
            EventKind::SessionAssumed { account_id, .. }
            | EventKind::CallRetrying {
                account_id: Some(account_id),
                ..
            } => {
                assert!(
                    started.contains(account_id) && !finished.contains(account_id),
                    "event outside the account's run"
                );
            }
            EventKind::AccountFinished { outcome, progress } => {
                assert!(finished.insert(outcome.account_id.clone()));
                assert_eq!(progress.finished, finished.len());
                assert_eq!(progress.counts.total(), finished.len());
            }
            _ => {}
        }
    }
    assert!(summary.stopped.is_none());
    assert_eq!(
        summary.counts.get(Status::Skipped),
        fixture
            .scenario
            .accounts
            .iter()
            .filter(|a| a.state != "ACTIVE")
            .count()
            + 1
    );
}

/// Puts an SCP on the first `count` member accounts (by ID) so that they fail first.
fn deny_first(fixture: &Fixture, count: usize) -> Vec<String> {
    let mut ids: Vec<String> = fixture
        .scenario
        .accounts
        .iter()
        .filter(|a| a.state == "ACTIVE" && a.id != fixture.scenario.management_account_id)
        .map(|a| a.id.clone())
        .collect();
    ids.sort();
    ids.truncate(count);
    fixture
        .emulator
        .modify_scenario(|scenario| {
            for account in scenario.accounts.iter_mut().filter(|a| ids.contains(&a.id)) {
                account.scp_denies_root = true;
            }
        })
        .expect("valid");
    ids
}

#[tokio::test]
async fn a_failed_canary_stops_the_run_before_the_rest() {
    let fixture = Fixture::new(ScenarioSpec {
        scp_restricted_ous: 0,
        ..org()
    })
    .await;
    deny_first(&fixture, 1);
    let settings = RunSettings {
        canary: Some(5),
        ..RunSettings::default()
    };
    let (summary, recording) = fixture
        .run_with(
            Task::DeleteCredentials(DeleteOptions::default()),
            &TargetSelector::default(),
            settings,
            fast_limits(),
            &CancelHandle::new(),
        )
        .await;
    assert_eq!(
        summary.stopped,
        Some(StopReason::Canary {
            canary: 5,
            failures: 1
        })
    );
    let worked_on = recording
        .outcomes
        .values()
        .filter(|o| o.started_at.is_some())
        .count();
    assert_eq!(worked_on, 5, "only the canary ran");
    assert!(summary.counts.get(Status::Cancelled) > 50);
    let stats = fixture.emulator.stats();
    let touched = stats.mutating_requests_by_account.len();
    assert!(touched <= 4, "{touched} accounts changed");
}

#[tokio::test]
async fn a_passing_canary_lets_the_run_continue() {
    let fixture = Fixture::new(ScenarioSpec {
        scp_restricted_ous: 0,
        ..org()
    })
    .await;
    let settings = RunSettings {
        canary: Some(3),
        ..RunSettings::default()
    };
    let (summary, _) = fixture
        .run_with(
            Task::Audit,
            &TargetSelector::default(),
            settings,
            fast_limits(),
            &CancelHandle::new(),
        )
        .await;
    assert!(summary.stopped.is_none());
    assert_eq!(summary.counts.get(Status::Cancelled), 0);
}

#[tokio::test]
async fn max_failures_stops_scheduling() {
    let fixture = Fixture::new(ScenarioSpec {
        scp_restricted_ous: 0,
        ..org()
    })
    .await;
    deny_first(&fixture, 20);
    let settings = RunSettings {
        max_failures: Some(FailureLimit::Count(3)),
        initial_concurrency: 2,
        max_concurrency: 2,
        ..RunSettings::default()
    };
    let (summary, recording) = fixture
        .run_with(
            Task::Audit,
            &TargetSelector::default(),
            settings,
            fast_limits(),
            &CancelHandle::new(),
        )
        .await;
    assert!(
        matches!(
            summary.stopped,
            Some(StopReason::MaxFailures { failures: 4, .. })
        ),
        "{:?}",
        summary.stopped
    );
    // In-flight accounts finished; nothing new was started.
    let denied = recording.with_status(Status::Denied).len();
    assert!((4..=5).contains(&denied), "{denied}");
    assert!(summary.counts.get(Status::Cancelled) > 50);
}

#[tokio::test]
async fn stopping_finishes_in_flight_accounts_and_cancels_the_rest() {
    let fixture = Fixture::new(org()).await;
    let limits = Limits::new(fast_limits()).expect("limits");
    let targets = fixture.targets(&limits, &TargetSelector::default()).await;
    let runner = Runner::new(
        fixture.aws.clone(),
        limits,
        RunSettings {
            initial_concurrency: 4,
            max_concurrency: 4,
            ..RunSettings::default()
        },
    );
    let cancel = CancelHandle::new();
    let mut recording = Recording::default();
    let summary = runner
        .run(Task::Audit, &targets, &cancel, |event| {
            if let EventKind::AccountFinished { outcome, .. } = &event.kind
                && outcome.started_at.is_some()
            {
                cancel.stop();
            }
            recording.record(event);
            Ok::<(), std::convert::Infallible>(())
        })
        .await;
    assert_eq!(summary.stopped, Some(StopReason::Interrupted));
    assert_eq!(recording.outcomes.len(), targets.accounts.len());
    let completed = recording
        .outcomes
        .values()
        .filter(|o| o.started_at.is_some())
        .count();
    assert!((1..=5).contains(&completed), "{completed}");
    assert!(
        recording
            .outcomes
            .values()
            .all(|o| o.status != Status::Cancelled || o.started_at.is_none())
    );
}

#[tokio::test]
async fn a_failing_output_stops_the_run() {
    let fixture = Fixture::new(org()).await;
    let limits = Limits::new(fast_limits()).expect("limits");
    let targets = fixture.targets(&limits, &TargetSelector::default()).await;
    let runner = Runner::new(
        fixture.aws.clone(),
        limits,
        RunSettings {
            initial_concurrency: 2,
            max_concurrency: 2,
            ..RunSettings::default()
        },
    );
    let mut finished = 0;
    let summary = runner
        .run(Task::Audit, &targets, &CancelHandle::new(), |event| {
            if matches!(event.kind, EventKind::AccountFinished { .. }) {
                finished += 1;
                if finished == 20 {
                    return Err("disk full");
                }
            }
            Ok(())
        })
        .await;
    assert_eq!(
        summary.stopped,
        Some(StopReason::OutputFailed {
            message: "disk full".into()
        })
    );
    assert_eq!(
        finished,
        targets.accounts.len(),
        "every account still gets an outcome"
    );
    assert!(summary.counts.get(Status::Cancelled) > 0);
}

/// Records what a run hands a sink: "event" or "idle", and fails its `idle` after `fail_after`.
struct BatchingSink {
    calls: Vec<&'static str>,
    outcomes: usize,
    fail_after: Option<usize>,
    slow_idle: Option<std::time::Duration>,
}

impl BatchingSink {
    fn new(fail_after: Option<usize>, slow_idle: Option<std::time::Duration>) -> Self {
        Self {
            calls: Vec::new(),
            outcomes: 0,
            fail_after,
            slow_idle,
        }
    }

    fn idles(&self) -> usize {
        self.calls.iter().filter(|call| **call == "idle").count()
    }
}

/// Runs an audit of `fixture`'s org into `sink`; returns the summary and the targets' count.
async fn audit_into(
    fixture: &Fixture,
    settings: RunSettings,
    sink: &mut BatchingSink,
) -> (rootsweep_core::RunSummary, usize) {
    let limits = Limits::new(fast_limits()).expect("limits");
    let targets = fixture.targets(&limits, &TargetSelector::default()).await;
    let runner = Runner::new(fixture.aws.clone(), limits, settings);
    let summary = runner
        .run_into(Task::Audit, &targets, &CancelHandle::new(), sink)
        .await;
    (summary, targets.accounts.len())
}

impl rootsweep_core::EventSink for BatchingSink {
    type Error = &'static str;

    fn event(&mut self, event: &rootsweep_core::Event) -> Result<(), &'static str> {
        self.calls.push("event");
        if matches!(event.kind, EventKind::AccountFinished { .. }) {
            self.outcomes += 1;
        }
        Ok(())
    }

    fn idle(&mut self) -> Result<(), &'static str> {
        self.calls.push("idle");
        if let Some(pause) = self.slow_idle {
            // A journal's sync on a slow disk: it blocks the dispatching thread, as `fsync` does.
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(pause);
        }
        match self.fail_after {
            Some(limit) if self.idles() > limit => Err("cannot sync the journal"),
            _ => Ok(()),
        }
    }
}

#[tokio::test]
async fn a_sink_is_told_whenever_the_run_waits_and_can_stop_it_then() {
    let fixture = Fixture::new(org()).await;
    let mut sink = BatchingSink::new(None, None);
    let (summary, targets) = audit_into(&fixture, RunSettings::default(), &mut sink).await;
    assert_eq!(summary.stopped, None);
    assert_eq!(sink.outcomes, targets);
    // The run waited (for answers) many times, told the sink each time, and never after its
    // last event: a batching sink finishes on that event.
    assert!(sink.idles() > 1, "{} idle calls", sink.idles());
    assert_eq!(sink.calls.last(), Some(&"event"));

    // An error from `idle` stops the run as an output's error does.
    let settings = RunSettings {
        initial_concurrency: 2,
        max_concurrency: 2,
        ..RunSettings::default()
    };
    let mut sink = BatchingSink::new(Some(3), None);
    let (summary, targets) = audit_into(&fixture, settings, &mut sink).await;
    assert_eq!(
        summary.stopped,
        Some(StopReason::OutputFailed {
            message: "cannot sync the journal".into()
        })
    );
    assert_eq!(sink.outcomes, targets, "every account still ends");
    assert!(summary.counts.get(Status::Cancelled) > 0);
}

// Several threads, as in the binary: the accounts go on while the dispatching thread waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_is_slow_when_told_gets_the_outcomes_in_batches() {
    let fixture = Fixture::new(org()).await;
    let mut sink = BatchingSink::new(None, Some(std::time::Duration::from_millis(20)));
    let (_, targets) = audit_into(&fixture, RunSettings::default(), &mut sink).await;
    // While the sink syncs, accounts go on ending; the run hands over all that ended before
    // it tells the sink again, so the syncs are far fewer than the outcomes.
    assert_eq!(sink.outcomes, targets);
    assert!(
        2 * sink.idles() < sink.outcomes,
        "{} idle calls for {} outcomes",
        sink.idles(),
        sink.outcomes
    );
}

/// The most accounts in flight at once, from the events.
fn peak_in_flight(recording: &Recording) -> usize {
    let (mut in_flight, mut peak) = (0usize, 0usize);
    for event in &recording.events {
        match &event.kind {
            EventKind::AccountStarted { .. } => {
                in_flight += 1;
                peak = peak.max(in_flight);
            }
            EventKind::AccountFinished { outcome, .. } if outcome.status != Status::Skipped => {
                in_flight -= 1;
            }
            _ => {}
        }
    }
    peak
}

#[tokio::test]
async fn accounts_in_flight_grow_only_while_assume_root_keeps_up() {
    let fixture = Fixture::new(org()).await;
    let targets_limits = Limits::new(fast_limits()).expect("limits");
    let targets = fixture
        .targets(&targets_limits, &TargetSelector::default())
        .await;
    let run = |assume_root_rate: f64| {
        let mut limit_settings = fast_limits();
        limit_settings.assume_root = rootsweep_core::RateSettings::fixed(assume_root_rate);
        let runner = Runner::new(
            std::sync::Arc::clone(&fixture.aws),
            Limits::new(limit_settings).expect("limits"),
            RunSettings {
                initial_concurrency: 4,
                ..RunSettings::default()
            },
        );
        let targets = &targets;
        async move {
            let mut recording = Recording::default();
            runner
                .run(Task::Audit, targets, &CancelHandle::new(), |event| {
                    recording.record(event);
                    Ok::<(), std::convert::Infallible>(())
                })
                .await;
            recording
        }
    };
    // AssumeRoot at 20/s is the bottleneck: accounts queue for it, and starting more of them
    // would only hold more memory.
    let paced = peak_in_flight(&run(20.0).await);
    // Unpaced, every account that ends well lets more start.
    let free = peak_in_flight(&run(10_000.0).await);
    assert!(paced <= 16, "{paced} in flight at 20 AssumeRoot/s");
    assert!(free > 2 * paced, "{free} in flight unpaced, {paced} paced");
}
