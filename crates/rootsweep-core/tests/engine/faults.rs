//! Faults: throttling storms, 5xx, expiring sessions and an Organizations outage.

use std::collections::HashMap;

use rootsweep_core::outcome::ActionResult;
use rootsweep_core::{
    DeleteOptions, Details, DiscoveryError, EventKind, Limits, Status, TargetSelector, Task,
    discover,
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
    let (summary, recording) = fixture.run_with_limits(Task::Audit, settings).await;
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
    // delete (AssumeRoot, its listings at once, a deletion or two, each kind's verifying
    // listing) outlives its session and must assume root again. Calls told their session
    // expired at about the same time (a verifying listing, the next kind's deletion): one of
    // them assumes root again, the others wait for that session rather than assuming their
    // own.
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
async fn a_kind_whose_listing_fails_leaves_the_other_kinds_to_go_ahead() {
    // Every ListMFADevices answers 500, however often it is retried. The other kinds are
    // listed, deleted and verified all the same, and the MFA devices are left as they were: the
    // account is `failed` with the listing's error, and its record says what was removed. An
    // account with nothing else to delete is left as it was, and its record says only why.
    let load = LoadProfile {
        faults: vec![FaultRule {
            services: vec![Service::Iam],
            operations: vec!["ListMFADevices".to_string()],
            ..rule(FaultKind::InternalError, 1.0)
        }],
        ..LoadProfile::default()
    };
    let fixture = Fixture::with_load(org(), load).await;
    let (_, recording) = fixture
        .run(Task::DeleteCredentials(DeleteOptions::default()))
        .await;
    let denied = fixture.scp_denied_accounts();
    let mutated = fixture.emulator.stats().mutating_requests_by_account;
    let (mut went_ahead, mut left_alone) = (0, 0);
    for outcome in recording.outcomes.values() {
        let account = outcome.account_id.as_str();
        if outcome.status == Status::Skipped || denied.iter().any(|id| id == account) {
            continue;
        }
        let before = &fixture
            .scenario
            .accounts
            .iter()
            .find(|spec| spec.id == account)
            .expect("a generated account")
            .root;
        let after = fixture.emulator.account(account).expect("account").root;
        assert_eq!(outcome.status, Status::Failed, "{outcome:?}");
        let error = outcome.error.as_ref().expect("the listing's error");
        assert_eq!(error.operation.as_deref(), Some("iam:ListMFADevices"));
        assert_eq!(after.mfa_devices, before.mfa_devices, "{account}");
        let other_kinds = before.login_profile.is_some()
            || !before.access_keys.is_empty()
            || !before.signing_certificates.is_empty();
        if !other_kinds {
            left_alone += 1;
            assert!(outcome.details.is_none(), "{outcome:?}");
            assert_eq!(mutated.get(account), None, "{account}");
            continue;
        }
        went_ahead += 1;
        assert!(
            after.login_profile.is_none()
                && after.access_keys.is_empty()
                && after.signing_certificates.is_empty(),
            "{account}: {after:?}"
        );
        assert!(outcome.summary.contains("the other kinds went ahead"));
        let Some(Details::DeleteCredentials(details)) = &outcome.details else {
            panic!("{account}: no details: {outcome:?}")
        };
        assert!(details.after.is_none(), "MFA devices unknown afterwards");
        assert!(details.before.mfa_devices.is_empty());
        assert!(!details.actions.is_empty());
        assert!(
            details
                .actions
                .iter()
                .all(|action| action.result == ActionResult::Done),
            "{details:?}"
        );
    }
    assert!(went_ahead > 10, "{went_ahead}");
    assert!(left_alone > 10, "{left_alone}");
}

#[tokio::test]
async fn a_failed_organization_read_does_not_wait_for_list_roots() {
    let load = LoadProfile {
        faults: vec![
            FaultRule {
                services: vec![Service::Organizations],
                operations: vec!["DescribeOrganization".to_string()],
                ..rule(FaultKind::ServiceUnavailable, 1.0)
            },
            FaultRule {
                services: vec![Service::Organizations],
                operations: vec!["ListRoots".to_string()],
                delay_ms: 3_600_000,
                ..rule(FaultKind::Slow, 1.0)
            },
        ],
        ..LoadProfile::default()
    };
    let fixture = Fixture::with_load(org(), load).await;
    let limits = Limits::new(fast_limits()).expect("limits");
    // ListRoots, sent at the same time, answers in an hour: had discovery waited for it, the
    // generous limit here would end the test.
    let discovered = tokio::time::timeout(
        std::time::Duration::from_secs(300),
        discover(&fixture.aws, &limits, &TargetSelector::default(), |_| {}),
    )
    .await
    .expect("the organization's failure is reported without waiting for ListRoots");
    let error = discovered.expect_err("DescribeOrganization fails");
    assert!(
        error
            .to_string()
            .contains("organizations:DescribeOrganization failed after 10 attempts"),
        "{error}"
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
    let (mut described_retries, mut other_retries) = (0, 0);
    let error = discover(&fixture.aws, &limits, &TargetSelector::default(), |event| {
        if let EventKind::CallRetrying { operation, .. } = &event.kind {
            if operation == "organizations:DescribeOrganization" {
                described_retries += 1;
            } else {
                other_retries += 1;
            }
        }
    })
    .await
    .expect_err("outage");
    assert!(
        matches!(&error, DiscoveryError::Aws { attempts: 10, .. }),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("failed to read the organization: organizations:DescribeOrganization failed after 10 attempts"), "{error}");
    assert_eq!(described_retries, 9);
    // ListRoots goes at the same time, and is dropped when DescribeOrganization gives up.
    assert!(other_retries <= 9, "{other_retries}");
    assert_eq!(fixture.emulator.stats().mutating_requests(), 0);
}
