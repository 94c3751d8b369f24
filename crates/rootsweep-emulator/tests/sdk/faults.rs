//! Load and faults: each injected fault reaches the SDK as the error a real service would send
//! (throttles are retried as throttles, 5xx as transient, drops as connection failures, slow
//! answers as timeouts), quotas throttle per family, and seeded runs repeat.

use std::time::Duration;

use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::error::SdkError;
use rootsweep_emulator::{FaultKind, FaultRule, LoadProfile, Quota, Quotas, Service, labels};

use crate::fixture::{Fixture, code, task_policy};

fn fault(kind: FaultKind, rate: f64, services: Vec<Service>) -> FaultRule {
    FaultRule {
        kind,
        rate,
        services,
        operations: Vec::new(),
        delay_ms: 0,
    }
}

/// Three attempts, tiny backoff: enough to see whether the SDK retries an answer.
fn three_attempts() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

async fn retrying_operator(fixture: &Fixture) -> aws_config::SdkConfig {
    let principal = fixture
        .scenario
        .principal(labels::OPERATOR)
        .expect("operator");
    let credentials = aws_credential_types::Credentials::new(
        &principal.access_key_id,
        &principal.secret_access_key,
        None,
        None,
        "test",
    );
    fixture.config_with(credentials, three_attempts()).await
}

#[tokio::test]
async fn each_service_throttles_with_its_own_code_and_the_sdk_retries_it() {
    let fixture = Fixture::with_load(LoadProfile {
        faults: vec![fault(FaultKind::Throttle, 1.0, Vec::new())],
        ..LoadProfile::default()
    })
    .await;
    let config = retrying_operator(&fixture).await;
    // These codes are in the SDK's THROTTLING_ERRORS list; three calls prove it retried them.
    let sts = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(code(&sts).as_deref(), Some("Throttling"));
    let iam = aws_sdk_iam::Client::new(&config)
        .list_organizations_features()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(code(&iam).as_deref(), Some("Throttling"));
    let organizations = aws_sdk_organizations::Client::new(&config)
        .list_roots()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(
        code(&organizations).as_deref(),
        Some("TooManyRequestsException")
    );
    assert!(
        organizations
            .as_service_error()
            .is_some_and(|e| e.is_too_many_requests_exception())
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
    .list_buckets()
    .send()
    .await
    .expect_err("throttled");
    assert_eq!(code(&s3).as_deref(), Some("SlowDown"));
    assert_eq!(s3.raw_response().map(|r| r.status().as_u16()), Some(503));
    let sqs = aws_sdk_sqs::Client::new(&config)
        .list_queues()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(code(&sqs).as_deref(), Some("RequestThrottled"));

    let stats = fixture.emulator.stats();
    for operation in [
        "sts:GetCallerIdentity",
        "iam:ListOrganizationsFeatures",
        "organizations:ListRoots",
        "s3:ListBuckets",
        "sqs:ListQueues",
    ] {
        assert_eq!(stats.calls(operation), 3, "{operation} was retried");
        assert_eq!(stats.operations[operation].throttled, 3, "{operation}");
    }
}

#[tokio::test]
async fn modeled_client_errors_are_not_retried() {
    let fixture = Fixture::new().await;
    let member = fixture.member(|account| account.root.login_profile.is_none());
    let credentials = fixture
        .root_session(&member.id, "IAMAuditRootUserCredentials")
        .await;
    let config = fixture.config_with(credentials, three_attempts()).await;
    let error = aws_sdk_iam::Client::new(&config)
        .get_login_profile()
        .send()
        .await
        .expect_err("none");
    assert_eq!(code(&error).as_deref(), Some("NoSuchEntity"));
    assert_eq!(fixture.emulator.stats().calls("iam:GetLoginProfile"), 1);
}

#[tokio::test]
async fn server_errors_are_retried_as_transient_and_keep_their_codes() {
    let fixture = Fixture::with_load(LoadProfile {
        faults: vec![
            FaultRule {
                operations: vec!["ListOrganizationsFeatures".into()],
                ..fault(FaultKind::InternalError, 1.0, Vec::new())
            },
            fault(
                FaultKind::ServiceUnavailable,
                1.0,
                vec![Service::Organizations],
            ),
            fault(FaultKind::InternalError, 1.0, vec![Service::Sts]),
        ],
        ..LoadProfile::default()
    })
    .await;
    let config = retrying_operator(&fixture).await;
    let iam = aws_sdk_iam::Client::new(&config)
        .list_organizations_features()
        .send()
        .await
        .expect_err("500");
    assert_eq!(code(&iam).as_deref(), Some("ServiceFailure"));
    assert_eq!(iam.raw_response().map(|r| r.status().as_u16()), Some(500));
    let organizations = aws_sdk_organizations::Client::new(&config)
        .list_roots()
        .send()
        .await
        .expect_err("503");
    assert_eq!(
        organizations.raw_response().map(|r| r.status().as_u16()),
        Some(503)
    );
    let sts = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("500");
    assert_eq!(code(&sts).as_deref(), Some("InternalFailure"));
    let stats = fixture.emulator.stats();
    assert_eq!(stats.calls("iam:ListOrganizationsFeatures"), 3);
    assert_eq!(stats.calls("organizations:ListRoots"), 3);
    assert_eq!(stats.calls("sts:GetCallerIdentity"), 3);
    assert_eq!(stats.operations["sts:GetCallerIdentity"].injected_faults, 3);
}

#[tokio::test]
async fn dropped_connections_are_dispatch_failures_and_change_nothing() {
    let fixture = Fixture::new().await;
    let member = fixture.member(|account| account.root.login_profile.is_some());
    let iam = fixture
        .iam_session(&member.id, "IAMDeleteRootUserCredentials")
        .await;
    fixture.emulator.set_load(LoadProfile {
        faults: vec![fault(
            FaultKind::DropBeforeProcessing,
            1.0,
            vec![Service::Iam],
        )],
        ..LoadProfile::default()
    });
    let error = iam
        .delete_login_profile()
        .send()
        .await
        .expect_err("dropped");
    assert!(
        matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "{error:?}"
    );
    assert!(
        fixture
            .emulator
            .account(&member.id)
            .expect("account")
            .root
            .login_profile
            .is_some()
    );
    assert!(fixture.emulator.stats().mutations.is_empty());
}

#[tokio::test]
async fn a_lost_response_still_applies_the_change() {
    let fixture = Fixture::new().await;
    let member = fixture.member(|account| account.root.login_profile.is_some());
    let iam = fixture
        .iam_session(&member.id, "IAMDeleteRootUserCredentials")
        .await;
    fixture.emulator.set_load(LoadProfile {
        faults: vec![fault(
            FaultKind::DropAfterProcessing,
            1.0,
            vec![Service::Iam],
        )],
        ..LoadProfile::default()
    });
    let error = iam
        .delete_login_profile()
        .send()
        .await
        .expect_err("response lost");
    assert!(
        matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "{error:?}"
    );
    fixture.emulator.set_load(LoadProfile::default());
    assert!(
        fixture
            .emulator
            .account(&member.id)
            .expect("account")
            .root
            .login_profile
            .is_none()
    );
    // The retry a client makes then finds nothing to delete.
    let error = iam
        .delete_login_profile()
        .send()
        .await
        .expect_err("already gone");
    assert_eq!(code(&error).as_deref(), Some("NoSuchEntity"));
}

#[tokio::test]
async fn slow_answers_trip_client_timeouts() {
    let fixture = Fixture::with_load(LoadProfile {
        faults: vec![FaultRule {
            delay_ms: 2_000,
            ..fault(FaultKind::Slow, 1.0, vec![Service::Sts])
        }],
        ..LoadProfile::default()
    })
    .await;
    let config = fixture.operator().await;
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&config)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_millis(200))
                    .build(),
            )
            .build(),
    );
    let error = sts
        .get_caller_identity()
        .send()
        .await
        .expect_err("times out");
    assert!(matches!(error, SdkError::TimeoutError(_)), "{error:?}");
}

#[tokio::test]
async fn quotas_are_per_family_and_per_account() {
    let fixture = Fixture::with_load(LoadProfile {
        quotas: Quotas {
            assume_root: Some(Quota {
                per_second: 0.01,
                burst: Some(2.0),
            }),
            iam_per_account: Some(Quota {
                per_second: 0.01,
                burst: Some(1.0),
            }),
            ..Quotas::default()
        },
        ..LoadProfile::default()
    })
    .await;
    let sts = aws_sdk_sts::Client::new(&fixture.operator().await);
    let members: Vec<_> = fixture
        .scenario
        .accounts
        .iter()
        .skip(1)
        .filter(|a| a.state == "ACTIVE")
        .take(3)
        .cloned()
        .collect();
    let mut sessions = Vec::new();
    let mut throttled = 0;
    for member in &members {
        match sts
            .assume_root()
            .target_principal(&member.id)
            .task_policy_arn(task_policy("IAMAuditRootUserCredentials"))
            .send()
            .await
        {
            Ok(output) => sessions.push((member.id.clone(), output)),
            Err(error) => {
                assert_eq!(code(&error).as_deref(), Some("Throttling"));
                throttled += 1;
            }
        }
    }
    assert_eq!(
        (sessions.len(), throttled),
        (2, 1),
        "burst of 2 AssumeRoot for the caller account"
    );
    // IAM quotas are per member account: each account gets its own burst of one.
    for (_, output) in &sessions {
        let credentials = output.credentials().expect("credentials");
        let config = fixture
            .config_with(
                aws_credential_types::Credentials::new(
                    credentials.access_key_id(),
                    credentials.secret_access_key(),
                    Some(credentials.session_token().to_string()),
                    None,
                    "test",
                ),
                RetryConfig::disabled(),
            )
            .await;
        let iam = aws_sdk_iam::Client::new(&config);
        iam.get_account_summary()
            .send()
            .await
            .expect("first call in the account");
        let error = iam
            .get_account_summary()
            .send()
            .await
            .expect_err("second call throttled");
        assert_eq!(code(&error).as_deref(), Some("Throttling"));
    }
}

#[tokio::test]
async fn seeded_faults_repeat_exactly() {
    let load = LoadProfile {
        seed: 99,
        faults: vec![fault(FaultKind::Throttle, 0.5, vec![Service::Sts])],
        ..LoadProfile::default()
    };
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let fixture = Fixture::with_load(load.clone()).await;
        let sts = aws_sdk_sts::Client::new(&fixture.operator().await);
        let mut run = Vec::new();
        for _ in 0..30 {
            run.push(sts.get_caller_identity().send().await.is_ok());
        }
        outcomes.push(run);
    }
    assert_eq!(outcomes[0], outcomes[1]);
    let successes = outcomes[0].iter().filter(|ok| **ok).count();
    assert!((5..25).contains(&successes), "{successes} of 30");
}

#[tokio::test]
async fn injected_latency_delays_answers() {
    // A zero-spread distribution (median = p99) makes the delay exact. Only a lower bound is
    // asserted: a loaded machine can make a call slower, never faster.
    let fixture = Fixture::with_load(LoadProfile {
        latency: Some(rootsweep_emulator::Latency {
            median_ms: 150.0,
            p99_ms: 150.0,
        }),
        ..LoadProfile::default()
    })
    .await;
    let sts = aws_sdk_sts::Client::new(&fixture.operator().await);
    let started = std::time::Instant::now();
    for _ in 0..3 {
        sts.get_caller_identity().send().await.expect("succeeds");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn session_lifetimes_can_be_capped_to_expire_mid_task() {
    let fixture = Fixture::with_load(LoadProfile {
        session_lifetime_cap_seconds: Some(0),
        ..LoadProfile::default()
    })
    .await;
    let member = fixture.member(|_| true);
    let iam = fixture
        .iam_session(&member.id, "IAMAuditRootUserCredentials")
        .await;
    let error = iam
        .get_account_summary()
        .send()
        .await
        .expect_err("expired at once");
    assert_eq!(code(&error).as_deref(), Some("ExpiredToken"));
}
