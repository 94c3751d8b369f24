//! Adaptive rates: a 2,000-account audit with default settings against emulator quotas the
//! engine is not told. Reports the share of calls throttled overall and once past the first
//! seconds, and the wall time against the AssumeRoot lower bound. Run with
//! `cargo bench -p rootsweep-benches --bench adaptive` (or `just bench-adaptive`).

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use rootsweep_core::{
    AwsContext, CancelHandle, EventKind, LimitSettings, Limits, RunSettings, Runner, Status,
    TargetSelector, Task, Timeouts, discover,
};
use rootsweep_emulator::{
    Emulator, EmulatorConfig, Latency, LoadProfile, Quota, Quotas, ScenarioSpec, labels,
};

const ACCOUNTS: usize = 2_000;
const SETTLE: Duration = Duration::from_secs(5);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for (assume_root, iam) in [(100.0, 10.0), (300.0, 5.0)] {
        runtime.block_on(run(assume_root, iam));
    }
}

async fn run(assume_root_quota: f64, iam_quota: f64) {
    let scenario = ScenarioSpec {
        accounts: ACCOUNTS,
        seed: 7,
        scp_restricted_ous: 0,
        ..ScenarioSpec::default()
    }
    .generate()
    .expect("generates");
    let load = LoadProfile {
        latency: Some(Latency {
            median_ms: 20.0,
            p99_ms: 150.0,
        }),
        quotas: Quotas {
            assume_root: Some(Quota::per_second(assume_root_quota)),
            iam_per_account: Some(Quota::per_second(iam_quota)),
            organizations: Some(Quota::per_second(20.0)),
            ..Quotas::default()
        },
        ..LoadProfile::default()
    };
    let emulator = Emulator::start(EmulatorConfig::new(scenario.clone()).with_load(load))
        .await
        .expect("starts");
    let operator = scenario.principal(labels::OPERATOR).expect("operator");
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(emulator.endpoint_url())
        .credentials_provider(Credentials::new(
            &operator.access_key_id,
            &operator.secret_access_key,
            None,
            None,
            "bench",
        ))
        .load()
        .await;
    let aws = Arc::new(AwsContext::new(&config, Timeouts::default()).expect("valid"));
    let limits = Limits::new(LimitSettings::default()).expect("defaults are valid");
    let targets = discover(&aws, &limits, &TargetSelector::default(), |_| {})
        .await
        .expect("discovers");
    let discovery_stats = emulator.stats();

    // Sample the emulator's counters four times a second while the audit runs.
    let sampler_emulator = Arc::new(emulator);
    let (samples_sender, samples_receiver) = std::sync::mpsc::channel();
    let sampling = {
        let emulator = Arc::clone(&sampler_emulator);
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            loop {
                let stats = emulator.stats();
                if samples_sender
                    .send((started.elapsed(), stats.requests, stats.throttled()))
                    .is_err()
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let runner = Runner::new(aws, Arc::clone(&limits), RunSettings::default());
    let mut rates = Vec::new();
    let summary = runner
        .run(Task::Audit, &targets, &CancelHandle::new(), |event| {
            if let EventKind::RateChanged { budget, rate } = &event.kind {
                rates.push((event.elapsed, *budget, *rate));
            }
            Ok::<(), std::convert::Infallible>(())
        })
        .await;
    sampling.abort();
    let samples: Vec<(Duration, u64, u64)> = samples_receiver.try_iter().collect();
    let base = (discovery_stats.requests, discovery_stats.throttled());
    let at = |time: Duration| {
        samples
            .iter()
            .rev()
            .find(|(elapsed, _, _)| *elapsed <= time)
            .map_or(base, |(_, requests, throttled)| (*requests, *throttled))
    };
    let end = sampler_emulator.stats();
    let (settle_requests, settle_throttled) = at(SETTLE);
    let late_requests = end.requests - settle_requests;
    let late_throttled = end.throttled() - settle_throttled;
    let all_requests = end.requests - base.0;
    let all_throttled = end.throttled() - base.1;
    let active = targets.active_count() as f64;
    let lower_bound = active / assume_root_quota;
    println!(
        "quotas: AssumeRoot {assume_root_quota}/s, IAM {iam_quota}/s per account (not told to the engine); {} accounts audited",
        targets.active_count()
    );
    println!(
        "  wall {:.1} s vs AssumeRoot lower bound {lower_bound:.1} s (ratio {:.2}); failed {}, denied {}",
        summary.duration.as_secs_f64(),
        summary.duration.as_secs_f64() / lower_bound,
        summary.counts.get(Status::Failed),
        summary.counts.get(Status::Denied)
    );
    println!(
        "  throttled: {:.1}% of all {all_requests} calls; {:.2}% of the {late_requests} calls after the first {} s",
        100.0 * all_throttled as f64 / all_requests.max(1) as f64,
        100.0 * late_throttled as f64 / late_requests.max(1) as f64,
        SETTLE.as_secs()
    );
    // A budget whose rate never changed (nobody waited for it: an audit's few calls in each
    // account fit its opening burst) says so, rather than printing a number it never learned.
    let final_rate = |name: &str| {
        rates
            .iter()
            .rev()
            .find(|(_, budget, _)| *budget == name)
            .map_or_else(
                || "unchanged".to_string(),
                |(_, _, rate)| format!("{rate:.1}/s"),
            )
    };
    println!(
        "  learned rates: AssumeRoot {}, IAM per account {} ({} rate changes)",
        final_rate("sts:AssumeRoot"),
        final_rate("iam per account"),
        rates.len()
    );
}
