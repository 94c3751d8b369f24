//! The fewest calls each task needs per account (documented in docs/benchmarks.md), asserted
//! against every account's record and against the emulator's own counts; how an account's
//! calls overlap; what a session reports of its wait for AssumeRoot; that hedged reads are
//! reads only, and counted.

use rootsweep_core::{
    CancelHandle, DeleteOptions, Details, EventKind, HedgedReads, LimitSettings, RateSettings,
    RunSettings, Status, TargetSelector, Task, UnlockS3Options, UnlockSqsOptions,
};
use rootsweep_emulator::{
    AccountSpec, FaultKind, FaultRule, Latency, LoadProfile, MfaKind, ScenarioSpec, Service,
};

use crate::fixture::Fixture;

fn org() -> ScenarioSpec {
    ScenarioSpec {
        accounts: 150,
        seed: 29,
        scp_restricted_ous: 0,
        access_key_share: 0.3,
        signing_certificate_share: 0.1,
        bucket_share: 0.4,
        locked_bucket_share: 0.4,
        queue_share: 0.4,
        locked_queue_share: 0.4,
        ..ScenarioSpec::default()
    }
}

/// AssumeRoot, GetAccountSummary, then one read per kind present (and one
/// GetAccessKeyLastUsed per key).
fn audit_calls(account: &AccountSpec) -> u32 {
    let root = &account.root;
    let count = |n: usize| u32::try_from(n).expect("small");
    2 + u32::from(root.login_profile.as_ref().is_some_and(|p| p.password_set))
        + if root.access_keys.is_empty() {
            0
        } else {
            1 + count(root.access_keys.len())
        }
        + u32::from(!root.signing_certificates.is_empty())
        + u32::from(!root.mfa_devices.is_empty())
}

/// AssumeRoot and the four listings (made at once, sharing the one session); one call per
/// deletion (two for a virtual MFA device: deactivate, then delete); and each kind that had
/// anything deleted listed again to verify.
fn delete_calls(account: &AccountSpec) -> u32 {
    let root = &account.root;
    let count = |n: usize| u32::try_from(n).expect("small");
    let deletions = u32::from(root.login_profile.is_some())
        + count(root.access_keys.len())
        + count(root.signing_certificates.len())
        + root
            .mfa_devices
            .iter()
            .map(|device| {
                if device.kind == MfaKind::Virtual {
                    2
                } else {
                    1
                }
            })
            .sum::<u32>();
    5 + deletions + kinds_present(account)
}

/// The kinds of root credential the account has (a login profile counts, password or not).
fn kinds_present(account: &AccountSpec) -> u32 {
    let root = &account.root;
    u32::from(root.login_profile.is_some())
        + u32::from(!root.access_keys.is_empty())
        + u32::from(!root.signing_certificates.is_empty())
        + u32::from(!root.mfa_devices.is_empty())
}

/// AssumeRoot, ListBuckets, one GetBucketPolicy per bucket, one DeleteBucketPolicy per locked.
fn unlock_calls(account: &AccountSpec) -> u32 {
    let count = |n: usize| u32::try_from(n).expect("small");
    let locked = account
        .buckets
        .iter()
        .filter(|bucket| locks_everyone_out(bucket.policy.as_deref()))
        .count();
    2 + count(account.buckets.len()) + count(locked)
}

/// Whether a generated policy is the emulator's deny-everyone policy (the one to remove).
fn locks_everyone_out(policy: Option<&str>) -> bool {
    policy.is_some_and(|policy| policy.contains("DenyEveryone"))
}

/// AssumeRoot and GetLoginProfile; where there is no login profile, CreateLoginProfile and
/// GetLoginProfile again to verify.
fn recovery_calls(account: &AccountSpec) -> u32 {
    if account.root.login_profile.is_some() {
        2
    } else {
        4
    }
}

/// AssumeRoot, one ListQueues per region searched (one page holds 1,000 queues), one
/// GetQueueAttributes per queue, and one SetQueueAttributes per locked queue.
fn unlock_sqs_calls(account: &AccountSpec, regions: usize) -> u32 {
    let count = |n: usize| u32::try_from(n).expect("small");
    let locked = account
        .queues
        .iter()
        .filter(|queue| locks_everyone_out(queue.policy.as_deref()))
        .count();
    1 + count(regions) + count(account.queues.len()) + count(locked)
}

/// The generated account `id`.
fn spec_of<'a>(fixture: &'a Fixture, id: &str) -> &'a AccountSpec {
    fixture
        .scenario
        .accounts
        .iter()
        .find(|spec| spec.id == id)
        .expect("a generated account")
}

fn check(
    fixture: &Fixture,
    recording: &crate::fixture::Recording,
    expected: impl Fn(&AccountSpec) -> u32,
) -> u64 {
    let mut total = 0;
    for outcome in recording.outcomes.values() {
        let account = spec_of(fixture, outcome.account_id.as_str());
        if outcome.status == Status::Skipped {
            assert_eq!(outcome.calls, 0);
            continue;
        }
        assert_eq!(outcome.retries, 0, "a calm emulator needs no retry");
        assert_eq!(
            outcome.calls,
            expected(account),
            "{}: {:?}",
            account.id,
            account.root
        );
        total += u64::from(outcome.calls);
    }
    total
}

fn in_account_calls(fixture: &Fixture) -> u64 {
    let stats = fixture.emulator.stats();
    stats
        .operations
        .iter()
        .filter(|(name, _)| !name.starts_with("organizations:"))
        .map(|(_, op)| op.calls)
        .sum()
}

#[tokio::test]
async fn audit_makes_the_fewest_calls() {
    let fixture = Fixture::new(org()).await;
    let (_, recording) = fixture.run(Task::Audit).await;
    let total = check(&fixture, &recording, audit_calls);
    assert_eq!(
        total,
        in_account_calls(&fixture),
        "the records add up to the emulator's counts"
    );
}

#[tokio::test]
async fn delete_makes_the_fewest_calls() {
    let fixture = Fixture::new(org()).await;
    let (_, recording) = fixture
        .run(Task::DeleteCredentials(DeleteOptions::default()))
        .await;
    let total = check(&fixture, &recording, delete_calls);
    assert_eq!(total, in_account_calls(&fixture));
}

#[tokio::test]
async fn unlock_makes_the_fewest_calls() {
    let fixture = Fixture::new(org()).await;
    let (_, recording) = fixture
        .run(Task::UnlockS3BucketPolicy(UnlockS3Options::default()))
        .await;
    let total = check(&fixture, &recording, unlock_calls);
    assert_eq!(total, in_account_calls(&fixture));
}

#[tokio::test]
async fn allow_password_recovery_makes_the_fewest_calls() {
    let fixture = Fixture::new(org()).await;
    let (_, recording) = fixture
        .run(Task::AllowPasswordRecovery { dry_run: false })
        .await;
    let created = recording
        .outcomes
        .values()
        .filter(|outcome| outcome.status == Status::RecoveryAllowed)
        .count();
    assert!(
        created > 10,
        "the org has accounts without a login profile: {created}"
    );
    let total = check(&fixture, &recording, recovery_calls);
    assert_eq!(total, in_account_calls(&fixture));
}

#[tokio::test]
async fn unlock_sqs_makes_the_fewest_calls() {
    let fixture = Fixture::new(org()).await;
    let regions = org().regions;
    assert!(regions.len() > 1, "queues live in several regions");
    let (_, recording) = fixture
        .run(Task::UnlockSqsQueuePolicy(UnlockSqsOptions {
            regions: regions.clone(),
            ..UnlockSqsOptions::default()
        }))
        .await;
    let with_locked_queue = fixture
        .scenario
        .accounts
        .iter()
        .filter(|account| {
            account
                .queues
                .iter()
                .any(|queue| locks_everyone_out(queue.policy.as_deref()))
        })
        .count();
    assert!(
        with_locked_queue > 3,
        "the org has locked queues: {with_locked_queue} accounts"
    );
    let total = check(&fixture, &recording, |account| {
        unlock_sqs_calls(account, regions.len())
    });
    assert_eq!(total, in_account_calls(&fixture));
}

#[tokio::test]
async fn every_account_shares_one_connection_pool() {
    let fixture = Fixture::new(org()).await;
    let settings = RunSettings {
        max_concurrency: 8,
        initial_concurrency: 8,
        ..RunSettings::default()
    };
    let (summary, _) = fixture
        .run_with(
            Task::Audit,
            &TargetSelector::default(),
            settings,
            crate::fixture::fast_limits(),
            &CancelHandle::new(),
        )
        .await;
    let accounts = summary.counts.total() - summary.counts.get(Status::Skipped);
    assert!(accounts > 100, "{accounts}");
    // At most 8 accounts in flight (and discovery's 8 listings before them) need about as many
    // connections; a pool per member account's clients would open at least one per account.
    let connections = fixture.emulator.stats().connections;
    assert!(
        connections <= 24,
        "{connections} connections for {accounts} accounts"
    );
}

#[tokio::test]
async fn an_accounts_listings_are_made_at_once_and_its_deletions_one_at_a_time() {
    // Every call waits 200 ms in the emulator; the four listings of a delete do not depend on
    // each other, so all four of an account's listings are in flight together (one after
    // another, no account would ever have more than one call in flight). Its deletions, even of
    // different kinds, never are: AWS may answer changes to one IAM user made at once with
    // `ConcurrentModification`. The per-account rate is fixed high so that pacing does not
    // space them out.
    let load = LoadProfile {
        latency: Some(Latency {
            median_ms: 200.0,
            p99_ms: 200.0,
        }),
        ..LoadProfile::default()
    };
    let spec = ScenarioSpec {
        accounts: 8,
        password_share: 0.9,
        access_key_share: 0.9,
        ..org()
    };
    let fixture = Fixture::with_load(spec, load).await;
    let limits = LimitSettings {
        iam_per_account: RateSettings::fixed(1_000.0),
        ..crate::fixture::fast_limits()
    };
    let (_, recording) = fixture
        .run_with_limits(Task::DeleteCredentials(DeleteOptions::default()), limits)
        .await;
    let stats = fixture.emulator.stats();
    let worked: Vec<_> = recording
        .outcomes
        .values()
        .filter(|outcome| outcome.status != Status::Skipped)
        .collect();
    assert!(!worked.is_empty());
    assert_eq!(stats.calls("sts:AssumeRoot"), worked.len() as u64);
    let mut several_kinds = 0;
    for outcome in worked {
        assert!(outcome.status.is_success(), "{outcome:?}");
        let account = outcome.account_id.as_str();
        assert_eq!(
            stats.peak_in_flight_by_account.get(account).copied(),
            Some(4),
            "{account}: the four listings in flight together"
        );
        let kinds = kinds_present(spec_of(&fixture, account));
        several_kinds += usize::from(kinds > 1);
        assert_eq!(
            stats
                .peak_mutating_in_flight_by_account
                .get(account)
                .copied(),
            (kinds > 0).then_some(1),
            "{account}: one deletion at a time"
        );
        // They share the one session: the first to ask assumes root, the others wait for it.
        assert_eq!(outcome.calls, delete_calls(spec_of(&fixture, account)));
    }
    assert!(
        several_kinds >= 3,
        "{several_kinds} accounts with several kinds"
    );
}

#[tokio::test]
async fn a_slow_listing_of_one_kind_holds_back_no_other() {
    // Every GetLoginProfile answers a second and a half late (and is not hedged: hedging is off
    // here). An account's access keys are deleted as soon as they are listed, long before its
    // password is even known: each kind goes from its listing to its deletions and its
    // verification on its own. The record still lists the deletions in the order of the kinds,
    // whichever answered first.
    let load = LoadProfile {
        faults: vec![FaultRule {
            kind: FaultKind::Slow,
            rate: 1.0,
            services: vec![Service::Iam],
            operations: vec!["GetLoginProfile".to_string()],
            delay_ms: 1_500,
        }],
        ..LoadProfile::default()
    };
    let spec = ScenarioSpec {
        accounts: 40,
        password_share: 0.8,
        access_key_share: 0.8,
        ..org()
    };
    let fixture = Fixture::with_load(spec, load).await;
    let (_, recording) = fixture
        .run(Task::DeleteCredentials(DeleteOptions::default()))
        .await;
    let mutations = fixture.emulator.stats().mutations;
    let mut both = 0;
    for outcome in recording.outcomes.values() {
        let account = outcome.account_id.as_str();
        let root = &spec_of(&fixture, account).root;
        if outcome.status == Status::Skipped
            || root.login_profile.is_none()
            || root.access_keys.is_empty()
        {
            continue;
        }
        both += 1;
        assert_eq!(outcome.status, Status::Remediated, "{outcome:?}");
        let applied: Vec<&str> = mutations
            .iter()
            .filter(|mutation| mutation.account_id == account)
            .map(|mutation| mutation.operation.as_str())
            .collect();
        let first = |operation: &str| applied.iter().position(|applied| *applied == operation);
        assert!(
            first("iam:DeleteAccessKey") < first("iam:DeleteLoginProfile"),
            "{account}: {applied:?}"
        );
        let Some(Details::DeleteCredentials(details)) = &outcome.details else {
            panic!("{account}: no details")
        };
        assert_eq!(details.actions[0].action, "delete_login_profile");
    }
    assert!(
        both >= 10,
        "{both} accounts with a password and access keys"
    );
}

#[tokio::test]
async fn sessions_say_how_long_they_waited_for_assume_root() {
    // AssumeRoot held at 5 a second, and every account started at once: the n-th session can
    // not be had before (n - 1) fifths of a second, and its event says so. (A limiter can make
    // an account wait longer on a busy machine, never shorter.)
    let fixture = Fixture::new(ScenarioSpec {
        accounts: 8,
        ..org()
    })
    .await;
    let limits = LimitSettings {
        assume_root: RateSettings::fixed(5.0),
        ..crate::fixture::fast_limits()
    };
    let (_, recording) = fixture.run_with_limits(Task::Audit, limits).await;
    let mut waits: Vec<_> = recording
        .events
        .iter()
        .filter_map(|event| match event.kind {
            EventKind::SessionAssumed {
                permit_wait, took, ..
            } => {
                assert!(took >= permit_wait, "{took:?} < {permit_wait:?}");
                Some(permit_wait)
            }
            _ => None,
        })
        .collect();
    waits.sort();
    assert!(waits.len() >= 3, "{waits:?}");
    for (index, wait) in waits.iter().enumerate() {
        let earliest = std::time::Duration::from_millis(180) * u32::try_from(index).expect("few");
        assert!(
            *wait >= earliest,
            "session {index} waited {wait:?}: {waits:?}"
        );
    }
}

#[tokio::test]
async fn hedged_reads_resend_slow_reads_and_never_writes() {
    // Half of the reads and of the writes that a delete starts with answer a second late. A
    // read still unanswered after 100 ms is sent once more, and the fast copy wins; a write is
    // never sent twice, however slow. Every extra call is in the account's record and the
    // run's hedge count, so the records still add up.
    let slow = |operations: &[&str]| FaultRule {
        kind: FaultKind::Slow,
        rate: 0.5,
        services: vec![Service::Iam],
        operations: operations.iter().map(|name| (*name).to_string()).collect(),
        delay_ms: 1_000,
    };
    let load = LoadProfile {
        faults: vec![
            slow(&["GetAccountSummary", "ListAccessKeys", "ListMFADevices"]),
            slow(&["DeleteLoginProfile", "DeleteAccessKey"]),
        ],
        ..LoadProfile::default()
    };
    let spec = ScenarioSpec {
        accounts: 24,
        ..org()
    };
    let fixture = Fixture::with_load(spec, load).await;
    let limits = LimitSettings {
        hedged_reads: HedgedReads::AfterMillis(100),
        ..crate::fixture::fast_limits()
    };
    let (summary, recording) = fixture
        .run_with_limits(Task::DeleteCredentials(DeleteOptions::default()), limits)
        .await;
    assert!(summary.hedged > 0, "{summary:?}");
    let (mut extra, mut fewest, mut passwords, mut keys) = (0, 0, 0, 0);
    for outcome in recording.outcomes.values() {
        if outcome.status == Status::Skipped {
            continue;
        }
        assert!(outcome.status.is_success(), "{outcome:?}");
        assert_eq!(outcome.retries, 0, "a second late is not a timeout");
        let account = spec_of(&fixture, outcome.account_id.as_str());
        let needed = delete_calls(account);
        assert!(outcome.calls >= needed, "{outcome:?}");
        extra += u64::from(outcome.calls - needed);
        fewest += u64::from(needed);
        passwords += u64::from(account.root.login_profile.is_some());
        keys += account.root.access_keys.len() as u64;
    }
    assert_eq!(extra, summary.hedged, "every extra call is a hedge");
    // A hedge that loses may be dropped before it is sent, so the emulator may count fewer.
    let received = in_account_calls(&fixture);
    assert!(
        (fewest..=fewest + summary.hedged).contains(&received),
        "{received} received, {fewest} needed, {} hedged",
        summary.hedged
    );
    let stats = fixture.emulator.stats();
    assert!(passwords > 0 && keys > 0, "the org has writes to make");
    assert_eq!(
        stats.calls("iam:DeleteLoginProfile"),
        passwords,
        "writes are sent once"
    );
    assert_eq!(
        stats.calls("iam:DeleteAccessKey"),
        keys,
        "writes are sent once"
    );
}
