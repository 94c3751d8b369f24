//! Faults: throttling storms, 5xx, expiring sessions and an Organizations outage.

use std::collections::HashMap;

use rootsweep_core::{
    CancelHandle, DeleteOptions, DiscoveryError, EventKind, Limits, RunSettings, Status,
    TargetSelector, Task, discover,
};
use rootsweep_emulator::{FaultKind, FaultRule, Latency, LoadProfile, ScenarioSpec, Service};

use crate::fixture::{Fixture, fast_limits};

fn org() -> ScenarioSpec {
    ScenarioSpec {
        accounts: 200,
        seed: 9,
        access_key_share: 0.3,
        ..ScenarioSpec::default()
    }
}

fn rule(kind: FaultKind, rate: f64) -> FaultRule {
    FaultRule {
        kind,
        rate,
        services: Vec::new(),
        operations: Vec::new(),
        delay_ms: 0,
    }
}

#[tokio::test]
async fn every_account_ends_well_with_30_percent_throttled_and_5_percent_5xx() {
    let calm = Fixture::new(org()).await;
    let (_, expected) = calm.run(Task::Audit).await;

    let storm = LoadProfile {
        seed: 3,
        faults: vec![
            rule(FaultKind::Throttle, 0.3),
            rule(FaultKind::InternalError, 0.05),
        ],
        ..LoadProfile::default()
    };
    let fixture = Fixture::with_load(org(), storm).await;
    let (summary, recording) = fixture.run(Task::Audit).await;
    for (account, outcome) in &recording.outcomes {
        assert_eq!(
            outcome.status, expected.outcomes[account].status,
            "{account}: {outcome:?}"
        );
        assert_eq!(
            outcome.details, expected.outcomes[account].details,
            "{account}"
        );
    }
    let stats = fixture.emulator.stats();
    assert!(stats.throttled() > 100, "{}", stats.throttled());
    assert!(recording.retries() > 100);
    assert!(summary.retries > 100);
    assert!(summary.throttled > 100);
    let retried_5xx = recording.events.iter().any(|event| {
        matches!(&event.kind, EventKind::CallRetrying { failure, .. } if failure.http_status == Some(500))
    });
    assert!(retried_5xx, "5xx retries are events");
}

#[tokio::test]
async fn throttling_longer_than_the_transient_attempts_does_not_fail_accounts() {
    let calm = Fixture::new(org()).await;
    let (_, expected) = calm.run(Task::Audit).await;
    // Two IAM calls in three are throttled: runs of 4 to 12 throttles in a row are certain
    // over this many calls (the draws are fixed by the seed), and would each have failed an
    // account under the 3 attempts transient failures get here.
    let storm = LoadProfile {
        seed: 5,
        faults: vec![FaultRule {
            services: vec![Service::Iam],
            ..rule(FaultKind::Throttle, 0.67)
        }],
        ..LoadProfile::default()
    };
    let fixture = Fixture::with_load(org(), storm).await;
    let mut settings = fast_limits();
    settings.retry.max_attempts = 3;
    let (summary, recording) = fixture
        .run_with(
            Task::Audit,
            &TargetSelector::default(),
            RunSettings::default(),
            settings,
            &CancelHandle::new(),
        )
        .await;
    for (account, outcome) in &recording.outcomes {
        assert_eq!(
            outcome.status, expected.outcomes[account].status,
            "{account}: {outcome:?}"
        );
    }
    let longest_run = recording
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::CallRetrying { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    assert!(longest_run >= 4, "{longest_run}");
    assert!(summary.throttled > 200, "{}", summary.throttled);
}

#[tokio::test]
async fn deletes_survive_storms_and_lost_responses() {
    let storm = LoadProfile {
        seed: 4,
        faults: vec![
            rule(FaultKind::Throttle, 0.2),
            rule(FaultKind::ServiceUnavailable, 0.05),
            FaultRule {
                services: vec![Service::Iam],
                ..rule(FaultKind::DropAfterProcessing, 0.05)
            },
        ],
        ..LoadProfile::default()
    };
    let fixture = Fixture::with_load(org(), storm).await;
    let (_, recording) = fixture
        .run(Task::DeleteCredentials(DeleteOptions::default()))
        .await;
    for outcome in recording.outcomes.values() {
        assert!(
            matches!(
                outcome.status,
                Status::Remediated | Status::AlreadyCompliant | Status::Skipped | Status::Denied
            ),
            "{outcome:?}"
        );
        if outcome.status == Status::Remediated {
            assert!(
                fixture
                    .emulator
                    .account(outcome.account_id.as_str())
                    .expect("account")
                    .root
                    .is_empty()
            );
        }
    }
}

#[tokio::test]
async fn sessions_expiring_mid_task_are_replaced() {
    // Sessions really last one second while AWS reports 900; every call takes 300 ms, so a
    // delete (AssumeRoot, its listings at once, a deletion or two, the verifying listings at
    // once) outlives its session and must assume root again. The verifying listings, made at
    // once, are all told their session expired: one of them assumes root again, the others
    // wait for that session rather than assuming their own.
    let load = LoadProfile {
        latency: Some(Latency {
            median_ms: 300.0,
            p99_ms: 300.0,
        }),
        session_lifetime_cap_seconds: Some(1),
        ..LoadProfile::default()
    };
    let spec = ScenarioSpec {
        accounts: 30,
        access_key_share: 0.9,
        password_share: 0.9,
        ..org()
    };
    let fixture = Fixture::with_load(spec, load).await;
    let (_, recording) = fixture
        .run(Task::DeleteCredentials(DeleteOptions::default()))
        .await;
    let refreshed = recording
        .events
        .iter()
        .filter(|event| {
            matches!(
                event.kind,
                EventKind::SessionAssumed {
                    refreshed: true,
                    ..
                }
            )
        })
        .count();
    assert!(refreshed > 0, "sessions were replaced");
    let mut refreshes_per_account: HashMap<&str, usize> = HashMap::new();
    for event in &recording.events {
        if let EventKind::SessionAssumed {
            refreshed: true,
            account_id,
            ..
        } = &event.kind
        {
            *refreshes_per_account
                .entry(account_id.as_str())
                .or_default() += 1;
        }
    }
    assert!(
        refreshes_per_account.values().all(|count| *count == 1),
        "one expiry, one new session per account: {refreshes_per_account:?}"
    );
    assert!(
        recording.with_status(Status::Failed).is_empty(),
        "{:?}",
        recording.with_status(Status::Failed)
    );
    assert!(!recording.with_status(Status::Remediated).is_empty());
    assert!(
        fixture.emulator.stats().operations["iam:ListAccessKeys"]
            .errors
            .contains_key("ExpiredToken")
    );
}

#[tokio::test]
async fn an_organizations_outage_is_a_clear_error_and_changes_nothing() {
    let outage = LoadProfile {
        faults: vec![FaultRule {
            services: vec![Service::Organizations],
            ..rule(FaultKind::ServiceUnavailable, 1.0)
        }],
        ..LoadProfile::default()
    };
    let fixture = Fixture::with_load(org(), outage).await;
    let limits = Limits::new(fast_limits()).expect("limits");
    let mut retries = 0;
    let error = discover(&fixture.aws, &limits, &TargetSelector::default(), |event| {
        retries += usize::from(matches!(event.kind, EventKind::CallRetrying { .. }));
    })
    .await
    .expect_err("outage");
    assert!(
        matches!(&error, DiscoveryError::Aws { attempts: 10, .. }),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("failed to read the organization: organizations:DescribeOrganization failed after 10 attempts"), "{error}");
    assert_eq!(retries, 9);
    assert_eq!(fixture.emulator.stats().mutating_requests(), 0);
}
