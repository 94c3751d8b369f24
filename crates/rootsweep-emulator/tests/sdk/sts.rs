//! STS: GetCallerIdentity and every AssumeRoot rule of aws-facts.md §1.

use std::time::Duration;

use aws_sdk_sts::config::retry::RetryConfig;
use rootsweep_emulator::{ScenarioSpec, labels};

use crate::fixture::{Fixture, code, message, task_policy};

#[tokio::test]
async fn get_caller_identity_names_the_principal_and_the_root_session() {
    let fixture = Fixture::new().await;
    let sts = aws_sdk_sts::Client::new(&fixture.operator().await);
    let identity = sts.get_caller_identity().send().await.expect("succeeds");
    assert_eq!(
        identity.account(),
        Some(fixture.scenario.management_account_id.as_str())
    );
    assert!(
        identity
            .arn()
            .is_some_and(|arn| arn.ends_with(":user/rootsweep-operator"))
    );

    let member = fixture.member(|_| true);
    let session = fixture
        .session_config(&member.id, "IAMAuditRootUserCredentials")
        .await;
    let identity = aws_sdk_sts::Client::new(&session)
        .get_caller_identity()
        .send()
        .await
        .expect("succeeds");
    assert_eq!(
        identity.arn(),
        Some(format!("arn:aws:iam::{}:root", member.id).as_str())
    );
}

#[tokio::test]
async fn assume_root_issues_a_session_for_each_task_policy_and_both_target_forms() {
    let fixture = Fixture::new().await;
    let sts = aws_sdk_sts::Client::new(&fixture.operator().await);
    let member = fixture.member(|_| true);
    for (index, task) in rootsweep_emulator::TASK_POLICY_NAMES.iter().enumerate() {
        let target = if index % 2 == 0 {
            member.id.clone()
        } else {
            format!("arn:aws:iam::{}:root", member.id)
        };
        let output = sts
            .assume_root()
            .target_principal(target)
            .task_policy_arn(task_policy(task))
            .duration_seconds(300)
            .send()
            .await
            .unwrap_or_else(|error| panic!("AssumeRoot with {task}: {error:?}"));
        let credentials = output.credentials().expect("credentials");
        assert!(credentials.access_key_id().starts_with("ASIA"));
        let expiry = credentials.expiration().secs();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        assert!(
            (now + 290..=now + 310).contains(&expiry),
            "expiry {expiry} vs now {now}"
        );
    }
}

#[tokio::test]
async fn assume_root_is_refused_to_members_root_and_root_sessions() {
    let fixture = Fixture::new().await;
    let member = fixture.member(|_| true);
    for label in [labels::MEMBER_USER, labels::MANAGEMENT_ROOT] {
        let sts = aws_sdk_sts::Client::new(&fixture.config_for(label).await);
        let error = sts
            .assume_root()
            .target_principal(&member.id)
            .task_policy_arn(task_policy("IAMAuditRootUserCredentials"))
            .send()
            .await
            .expect_err("refused");
        assert_eq!(code(&error).as_deref(), Some("AccessDenied"), "{label}");
        assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(403));
    }
    // A root session cannot chain into another AssumeRoot.
    let session = fixture
        .session_config(&member.id, "IAMAuditRootUserCredentials")
        .await;
    let error = aws_sdk_sts::Client::new(&session)
        .assume_root()
        .target_principal(&member.id)
        .task_policy_arn(task_policy("IAMAuditRootUserCredentials"))
        .send()
        .await
        .expect_err("refused");
    assert_eq!(code(&error).as_deref(), Some("AccessDenied"));
}

#[tokio::test]
async fn the_delegated_admin_may_assume_root() {
    let fixture = Fixture::new().await;
    let sts = aws_sdk_sts::Client::new(&fixture.config_for(labels::DELEGATED_ADMIN).await);
    let member = fixture.member(|account| account.id != fixture.scenario.accounts[1].id);
    sts.assume_root()
        .target_principal(&member.id)
        .task_policy_arn(task_policy("IAMAuditRootUserCredentials"))
        .send()
        .await
        .expect("delegated admin may call AssumeRoot");
}

#[tokio::test]
async fn assume_root_needs_trusted_access_and_root_sessions() {
    let fixture = Fixture::with_spec(ScenarioSpec {
        accounts: 20,
        features_enabled: false,
        delegated_admin: false,
        ..ScenarioSpec::default()
    })
    .await;
    let sts = aws_sdk_sts::Client::new(&fixture.operator().await);
    let member = fixture.member(|_| true);
    let error = sts
        .assume_root()
        .target_principal(&member.id)
        .task_policy_arn(task_policy("IAMAuditRootUserCredentials"))
        .send()
        .await
        .expect_err("refused");
    assert_eq!(code(&error).as_deref(), Some("AccessDenied"));
    assert!(
        message(&error).contains("RootSessions"),
        "{}",
        message(&error)
    );
}

#[tokio::test]
async fn assume_root_only_reaches_active_members() {
    let fixture = Fixture::with_spec(ScenarioSpec {
        accounts: 200,
        suspended_share: 0.2,
        ..ScenarioSpec::default()
    })
    .await;
    let sts = aws_sdk_sts::Client::new(&fixture.operator().await);
    let suspended = fixture
        .scenario
        .accounts
        .iter()
        .find(|account| account.state == "SUSPENDED")
        .expect("a suspended account");
    let outsider = "999999999999";
    let management = fixture.scenario.management_account_id.clone();
    for (target, reason) in [
        (suspended.id.as_str(), "SUSPENDED"),
        (outsider, "not a member"),
        (management.as_str(), "management account"),
    ] {
        let error = sts
            .assume_root()
            .target_principal(target)
            .task_policy_arn(task_policy("IAMAuditRootUserCredentials"))
            .send()
            .await
            .expect_err("refused");
        assert_eq!(code(&error).as_deref(), Some("AccessDenied"), "{target}");
        assert!(message(&error).contains(reason), "{}", message(&error));
    }
}

#[tokio::test]
async fn assume_root_validates_its_input() {
    let fixture = Fixture::new().await;
    let sts = aws_sdk_sts::Client::new(&fixture.operator().await);
    let member = fixture.member(|_| true);
    let bad_policy = sts
        .assume_root()
        .target_principal(&member.id)
        .task_policy_arn(
            aws_sdk_sts::types::PolicyDescriptorType::builder()
                .arn("arn:aws:iam::aws:policy/AdministratorAccess")
                .build(),
        )
        .send()
        .await
        .expect_err("refused");
    assert_eq!(code(&bad_policy).as_deref(), Some("ValidationError"));
    let too_long = sts
        .assume_root()
        .target_principal(&member.id)
        .task_policy_arn(task_policy("IAMAuditRootUserCredentials"))
        .duration_seconds(901)
        .send()
        .await
        .expect_err("refused");
    assert_eq!(code(&too_long).as_deref(), Some("ValidationError"));
    assert_eq!(
        too_long.raw_response().map(|r| r.status().as_u16()),
        Some(400)
    );
    let bad_target = sts
        .assume_root()
        .target_principal("12345")
        .task_policy_arn(task_policy("IAMAuditRootUserCredentials"))
        .send()
        .await
        .expect_err("refused");
    assert_eq!(code(&bad_target).as_deref(), Some("ValidationError"));
}

#[tokio::test]
async fn sessions_expire() {
    let fixture = Fixture::new().await;
    let member = fixture.member(|_| true);
    let iam = fixture
        .iam_session(&member.id, "IAMAuditRootUserCredentials")
        .await;
    iam.get_account_summary()
        .send()
        .await
        .expect("fresh session works");
    fixture.emulator.advance_clock(Duration::from_secs(901));
    let error = iam.get_account_summary().send().await.expect_err("expired");
    assert_eq!(code(&error).as_deref(), Some("ExpiredToken"));
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(403));
}

#[tokio::test]
async fn bad_signatures_and_unknown_keys_are_refused() {
    let fixture = Fixture::new().await;
    let principal = fixture
        .scenario
        .principal(labels::OPERATOR)
        .expect("operator");
    let wrong_secret = aws_credential_types::Credentials::new(
        &principal.access_key_id,
        "not-the-secret",
        None,
        None,
        "test",
    );
    let config = fixture
        .config_with(wrong_secret, RetryConfig::disabled())
        .await;
    let error = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("refused");
    assert_eq!(code(&error).as_deref(), Some("SignatureDoesNotMatch"));

    let unknown =
        aws_credential_types::Credentials::new("AKIAUNKNOWN000000000", "x", None, None, "test");
    let config = fixture.config_with(unknown, RetryConfig::disabled()).await;
    let error = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("refused");
    assert_eq!(code(&error).as_deref(), Some("InvalidClientTokenId"));
}

#[tokio::test]
async fn a_global_signing_region_is_refused() {
    let fixture = Fixture::new().await;
    let config = fixture.operator().await;
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&config)
            .region(aws_sdk_sts::config::Region::new("aws-global"))
            .build(),
    );
    let error = sts.get_caller_identity().send().await.expect_err("refused");
    assert_eq!(code(&error).as_deref(), Some("SignatureDoesNotMatch"));
    assert!(message(&error).contains("valid region"));
}
