//! The fault suite: for each fault, seeded, every target ends with exactly one outcome, no
//! account is reported remediated while the emulator still holds a root credential for it,
//! and the journal and a report agree with the output.

use rootsweep_emulator::{FaultKind, FaultRule, Latency, LoadProfile, ScenarioSpec, Service};

use crate::harness::{Harness, Run};

fn rule(kind: FaultKind, rate: f64) -> FaultRule {
    FaultRule {
        kind,
        rate,
        services: Vec::new(),
        operations: Vec::new(),
        delay_ms: 0,
    }
}

fn org() -> ScenarioSpec {
    ScenarioSpec {
        accounts: 120,
        seed: 23,
        password_share: 0.6,
        access_key_share: 0.4,
        signing_certificate_share: 0.1,
        ..ScenarioSpec::default()
    }
}

async fn sweep(load: LoadProfile, extra: &[&str]) -> (Harness, Run) {
    let harness = Harness::with_load(org(), load).await;
    let journal = harness.path("journal.jsonl");
    let report = harness.path("report.jsonl");
    let mut arguments = vec![
        "delete-credentials".to_string(),
        "--yes".into(),
        "--journal".into(),
        journal.to_string_lossy().to_string(),
        "--report".into(),
        report.to_string_lossy().to_string(),
    ];
    arguments.extend(extra.iter().map(|a| a.to_string()));
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let run = harness.run(&arguments).await;
    assert!(run.code == 0 || run.code == 3, "{}", run.stderr);
    harness.check_run(&run, &journal, &report);
    (harness, run)
}

fn denied_and_skipped_untouched(harness: &Harness, run: &Run) {
    let stats = harness.emulator.stats();
    for record in run.accounts() {
        let status = record["status"].as_str().unwrap_or_default();
        if status == "denied" || status == "skipped" {
            let account = record["account_id"].as_str().unwrap_or_default();
            assert!(
                !stats.mutating_requests_by_account.contains_key(account),
                "{account} ({status}) saw a mutating call"
            );
        }
    }
}

#[tokio::test]
async fn a_throttling_storm() {
    let (harness, run) = sweep(
        LoadProfile {
            seed: 1,
            faults: vec![rule(FaultKind::Throttle, 0.4)],
            ..LoadProfile::default()
        },
        &[],
    )
    .await;
    assert!(
        run.accounts().iter().all(|r| r["status"] != "failed"),
        "throttling alone fails no account"
    );
    assert!(harness.emulator.stats().throttled() > 100);
    denied_and_skipped_untouched(&harness, &run);
}

#[tokio::test]
async fn bursts_of_5xx() {
    let load = LoadProfile {
        seed: 2,
        faults: vec![
            rule(FaultKind::InternalError, 0.15),
            rule(FaultKind::ServiceUnavailable, 0.1),
        ],
        ..LoadProfile::default()
    };
    let (harness, run) = sweep(load, &[]).await;
    assert!(run.accounts().iter().all(|r| r["status"] != "failed"));
    denied_and_skipped_untouched(&harness, &run);
}

#[tokio::test]
async fn dropped_connections_and_lost_responses() {
    let load = LoadProfile {
        seed: 3,
        faults: vec![
            rule(FaultKind::DropBeforeProcessing, 0.1),
            FaultRule {
                services: vec![Service::Iam],
                ..rule(FaultKind::DropAfterProcessing, 0.05)
            },
        ],
        ..LoadProfile::default()
    };
    let (harness, run) = sweep(load, &[]).await;
    assert!(run.accounts().iter().all(|r| r["status"] != "failed"));
    denied_and_skipped_untouched(&harness, &run);
}

#[tokio::test]
async fn answers_slower_than_the_timeout() {
    let load = LoadProfile {
        seed: 4,
        faults: vec![FaultRule {
            delay_ms: 1_500,
            ..rule(FaultKind::Slow, 0.05)
        }],
        ..LoadProfile::default()
    };
    let (harness, run) = sweep(load, &["--call-timeout", "0.5"]).await;
    assert!(run.accounts().iter().all(|r| r["status"] != "failed"));
    assert!(
        run.summary()["retries"]
            .as_u64()
            .is_some_and(|retries| retries > 0)
    );
    denied_and_skipped_untouched(&harness, &run);
}

#[tokio::test]
async fn sessions_expiring_mid_task() {
    // Sessions really last one second, and the emulator checks a session when a call arrives.
    // Every call takes 400 ms, so in an account with two deletions or more (which the org has
    // plenty of) a call arrives at least 1.2 s after the session was issued: the listing, then
    // one deletion after the other, then the last kind's verifying listing. Shorter latencies
    // made expiry depend on how long calls waited for their budget.
    let load = LoadProfile {
        seed: 5,
        latency: Some(Latency {
            median_ms: 400.0,
            p99_ms: 400.0,
        }),
        session_lifetime_cap_seconds: Some(1),
        ..LoadProfile::default()
    };
    let (harness, run) = sweep(load, &[]).await;
    assert!(
        run.accounts().iter().all(|r| r["status"] != "failed"),
        "{}",
        run.stdout
    );
    let expired = harness
        .emulator
        .stats()
        .operations
        .values()
        .filter_map(|op| op.errors.get("ExpiredToken"))
        .sum::<u64>();
    assert!(expired > 0, "sessions did expire");
    denied_and_skipped_untouched(&harness, &run);
}

#[tokio::test]
async fn scp_denials_and_suspended_accounts() {
    let (harness, run) = sweep(LoadProfile::default(), &[]).await;
    let records = run.accounts();
    assert!(
        records
            .iter()
            .any(|r| r["error"]["class"] == "denied_by_scp")
    );
    assert!(
        records
            .iter()
            .any(|r| r["skip_reason"]["kind"] == "not_active")
    );
    assert_eq!(run.code, 3);
    denied_and_skipped_untouched(&harness, &run);
}

#[tokio::test]
async fn an_organizations_outage_during_discovery_changes_nothing() {
    let load = LoadProfile {
        faults: vec![FaultRule {
            services: vec![Service::Organizations],
            ..rule(FaultKind::ServiceUnavailable, 1.0)
        }],
        ..LoadProfile::default()
    };
    let harness = Harness::with_load(org(), load).await;
    let journal = harness.path("journal.jsonl");
    let run = harness
        .run(&[
            "delete-credentials",
            "--yes",
            "--journal",
            journal.to_str().expect("utf-8"),
            "--attempts",
            "3",
        ])
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: failed to read the organization: organizations:DescribeOrganization failed after 3 attempts"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: "));
    assert!(run.stdout.is_empty());
    assert!(!journal.exists(), "no run started, so no journal");
    assert_eq!(harness.emulator.stats().mutating_requests(), 0);
    assert_eq!(harness.emulator.stats().calls("sts:AssumeRoot"), 0);
}
