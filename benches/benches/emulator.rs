//! Emulator capacity: how fast a 10,000-account org is generated and started, and how many
//! signed AWS requests per second the emulator serves with latency injection off, so that it is
//! never the bottleneck of rootsweep's benchmarks. Run with `cargo bench -p rootsweep-benches
//! --bench emulator` (or `just bench-emulator`); figures go in docs/benchmarks.md.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::types::PolicyDescriptorType;
use futures::StreamExt;
use rootsweep_emulator::{Emulator, EmulatorConfig, ScenarioSpec, labels};

const ACCOUNTS: usize = 10_000;
const CONCURRENCY: usize = 64;
const MEASURE: Duration = Duration::from_secs(10);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let started = Instant::now();
    let scenario = ScenarioSpec {
        accounts: ACCOUNTS,
        seed: 7,
        ..ScenarioSpec::default()
    }
    .generate()
    .expect("generates");
    let generated = started.elapsed();
    let emulator = Emulator::start(EmulatorConfig::new(scenario.clone()))
        .await
        .expect("starts");
    let ready = started.elapsed();
    println!("org of {ACCOUNTS} accounts: generated in {generated:.2?}, serving after {ready:.2?}");

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
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&config);
    let members: Vec<String> = scenario
        .accounts
        .iter()
        .skip(1)
        .filter(|account| account.state == "ACTIVE")
        .map(|account| account.id.clone())
        .collect();

    // An audit-shaped mix: AssumeRoot, then GetAccountSummary and ListAccessKeys in the account.
    let requests = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let scp_denials = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + MEASURE;
    let begin = Instant::now();
    futures::stream::iter(members.iter().cycle())
        .take_while(|_| futures::future::ready(Instant::now() < deadline))
        .for_each_concurrent(CONCURRENCY, |account| {
            let sts = sts.clone();
            let config = config.clone();
            let requests = Arc::clone(&requests);
            let failures = Arc::clone(&failures);
            let scp_denials = Arc::clone(&scp_denials);
            async move {
                let output = sts
                    .assume_root()
                    .target_principal(account)
                    .task_policy_arn(
                        PolicyDescriptorType::builder()
                            .arn("arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials")
                            .build(),
                    )
                    .send()
                    .await;
                requests.fetch_add(1, Ordering::Relaxed);
                let credentials = match output {
                    Ok(output) => output.credentials().cloned(),
                    Err(error) => {
                        if failures.fetch_add(1, Ordering::Relaxed) < 3 {
                            println!(
                                "AssumeRoot failed: {}",
                                aws_sdk_sts::error::DisplayErrorContext(&error)
                            );
                        }
                        None
                    }
                };
                let Some(credentials) = credentials else {
                    return;
                };
                let iam = aws_sdk_iam::Client::from_conf(
                    aws_sdk_iam::config::Builder::from(&config)
                        .credentials_provider(Credentials::new(
                            credentials.access_key_id(),
                            credentials.secret_access_key(),
                            Some(credentials.session_token().to_string()),
                            None,
                            "bench",
                        ))
                        .build(),
                );
                let summary = iam.get_account_summary().send().await;
                let keys = iam.list_access_keys().send().await;
                requests.fetch_add(2, Ordering::Relaxed);
                let errors = [
                    summary
                        .err()
                        .map(|e| aws_sdk_iam::error::DisplayErrorContext(e).to_string()),
                    keys.err()
                        .map(|e| aws_sdk_iam::error::DisplayErrorContext(e).to_string()),
                ];
                for error in errors.into_iter().flatten() {
                    // The scenario's SCP-restricted OU denies root sessions: expected answers.
                    if error.contains("explicit deny in a service control policy") {
                        scp_denials.fetch_add(1, Ordering::Relaxed);
                    } else if failures.fetch_add(1, Ordering::Relaxed) < 3 {
                        println!("IAM call failed: {error}");
                    }
                }
            }
        })
        .await;
    let elapsed = begin.elapsed().as_secs_f64();
    let total = requests.load(Ordering::Relaxed);
    println!(
        "{total} signed requests in {elapsed:.1} s with {CONCURRENCY} concurrent clients in the same process: {:.0} requests/s ({} SCP denials as the scenario intends, {} unexpected failures)",
        total as f64 / elapsed,
        scp_denials.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed)
    );
    let stats = emulator.stats();
    println!("emulator counted {} requests", stats.requests);
}
