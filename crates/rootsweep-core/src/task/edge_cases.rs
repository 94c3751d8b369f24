//! Edge cases at the wire level with `aws-smithy-mocks`: what the emulator does not produce on
//! its own (a race on recovery, unknown codes, malformed answers), and the exact retry and
//! refresh behaviour behind the classes.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_iam::operation::get_account_summary::GetAccountSummaryOutput;
use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
use aws_sdk_iam::operation::list_mfa_devices::ListMfaDevicesOutput;
use aws_sdk_iam::operation::list_signing_certificates::ListSigningCertificatesOutput;
use aws_sdk_iam::types::{AccessKeyMetadata, StatusType, SummaryKeyType};
use aws_sdk_sts::operation::assume_root::AssumeRootOutput;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::account::AccountId;
use crate::aws::{AwsContext, Timeouts};
use crate::event::EventKind;
use crate::limits::{ErrorClass, RetryPolicy};
use crate::outcome::{ActionResult, Details, Status, TaskPolicy};
use crate::session::{AccountContext, LimitSettings, Limits};
use crate::task::{self, DeleteOptions, Task};

fn iam_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    )
}

fn assume_root_rule() -> Rule {
    mock!(aws_sdk_sts::Client::assume_root).then_output(|| {
        let expires =
            aws_smithy_types::DateTime::from(crate::clock::now() + Duration::from_secs(900));
        AssumeRootOutput::builder()
            .credentials(
                aws_sdk_sts::types::Credentials::builder()
                    .access_key_id("ASIAMOCKSESSION00001")
                    .secret_access_key("mock-secret")
                    .session_token("mock-token")
                    .expiration(expires)
                    .build()
                    .expect("complete credentials"),
            )
            .build()
    })
}

fn empty_lists() -> Vec<Rule> {
    vec![
        mock!(aws_sdk_iam::Client::list_signing_certificates).then_output(|| {
            ListSigningCertificatesOutput::builder()
                .set_certificates(Some(vec![]))
                .build()
                .expect("output")
        }),
        mock!(aws_sdk_iam::Client::list_mfa_devices).then_output(|| {
            ListMfaDevicesOutput::builder()
                .set_mfa_devices(Some(vec![]))
                .build()
                .expect("output")
        }),
    ]
}

fn summary(entries: &[(SummaryKeyType, i32)]) -> GetAccountSummaryOutput {
    let mut builder = GetAccountSummaryOutput::builder();
    for (key, value) in entries {
        builder = builder.summary_map(key.clone(), *value);
    }
    builder.build()
}

async fn context(
    rules: &[&Rule],
    policy: TaskPolicy,
) -> (AccountContext, UnboundedReceiver<EventKind>) {
    let interceptor = rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |interceptor, rule| interceptor.with_rule(rule),
    );
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDMOCK", "secret", None, None, "test"))
        .http_client(create_mock_http_client())
        .load()
        .await;
    let aws = AwsContext::new(&config, Timeouts::default())
        .expect("valid")
        .with_interceptor(SharedInterceptor::new(interceptor));
    let limits = Limits::new(LimitSettings {
        retry: RetryPolicy {
            max_attempts: 3,
            throttled_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            throttled_max_delay: Duration::from_millis(2),
            throttled_quick_retries: 4,
        },
        ..LimitSettings::default()
    })
    .expect("limits");
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let account = AccountId::parse("123456789012").expect("valid");
    (
        AccountContext::new(account, Arc::new(aws), limits, sender, policy),
        receiver,
    )
}

#[tokio::test]
async fn no_such_entity_during_a_delete_counts_as_already_gone() {
    let assume = assume_root_rule();
    let login = mock!(aws_sdk_iam::Client::get_login_profile)
        .sequence()
        .http_status(
            404,
            Some(iam_error(
                "NoSuchEntity",
                "Login Profile for User root cannot be found.",
            )),
        )
        .repeatedly()
        .build();
    let key = || {
        AccessKeyMetadata::builder()
            .access_key_id("AKIARACED00000000001")
            .status(StatusType::Active)
            .build()
    };
    let keys = mock!(aws_sdk_iam::Client::list_access_keys)
        .sequence()
        .output(move || {
            ListAccessKeysOutput::builder()
                .access_key_metadata(key())
                .build()
                .expect("output")
        })
        .output(|| {
            ListAccessKeysOutput::builder()
                .set_access_key_metadata(Some(vec![]))
                .build()
                .expect("output")
        })
        .repeatedly()
        .build();
    let delete = mock!(aws_sdk_iam::Client::delete_access_key)
        .sequence()
        .http_status(
            404,
            Some(iam_error(
                "NoSuchEntity",
                "The Access Key with id AKIARACED00000000001 cannot be found.",
            )),
        )
        .build();
    let lists = empty_lists();
    let (mut context, _events) = context(
        &[&assume, &login, &keys, &delete, &lists[0], &lists[1]],
        TaskPolicy::DeleteRootUserCredentials,
    )
    .await;
    let report = task::run(
        &Task::DeleteCredentials(DeleteOptions::default()),
        &mut context,
    )
    .await;
    assert_eq!(report.status, Status::Remediated, "{report:?}");
    let Some(Details::DeleteCredentials(details)) = report.details else {
        panic!("details")
    };
    assert_eq!(details.actions.len(), 1);
    assert_eq!(details.actions[0].result, ActionResult::AlreadyGone);
    assert_eq!(delete.num_calls(), 1, "NoSuchEntity is not retried");
}

#[tokio::test]
async fn an_expired_token_mid_task_assumes_root_again() {
    let assume = assume_root_rule();
    let summary_rule = mock!(aws_sdk_iam::Client::get_account_summary)
        .sequence()
        .http_status(
            403,
            Some(iam_error(
                "ExpiredToken",
                "The security token included in the request is expired",
            )),
        )
        .output(|| {
            summary(&[
                (SummaryKeyType::AccountMfaEnabled, 0),
                (SummaryKeyType::AccountAccessKeysPresent, 0),
                (SummaryKeyType::AccountPasswordPresent, 0),
                (SummaryKeyType::AccountSigningCertificatesPresent, 0),
            ])
        })
        .build();
    let (mut context, mut events) = context(
        &[&assume, &summary_rule],
        TaskPolicy::AuditRootUserCredentials,
    )
    .await;
    let report = task::run(&Task::Audit, &mut context).await;
    assert_eq!(report.status, Status::Compliant, "{report:?}");
    assert_eq!(
        assume.num_calls(),
        2,
        "a second session replaced the expired one"
    );
    let mut refreshed = false;
    let mut retried = false;
    while let Ok(event) = events.try_recv() {
        refreshed |= matches!(
            event,
            EventKind::SessionAssumed {
                refreshed: true,
                ..
            }
        );
        retried |= matches!(&event, EventKind::CallRetrying { failure, .. } if failure.class == ErrorClass::ExpiredSession);
    }
    assert!(refreshed && retried);
}

#[tokio::test]
async fn entity_already_exists_on_recovery_means_already_allowed() {
    let assume = assume_root_rule();
    let login = mock!(aws_sdk_iam::Client::get_login_profile)
        .sequence()
        .http_status(
            404,
            Some(iam_error(
                "NoSuchEntity",
                "Login Profile for User root cannot be found.",
            )),
        )
        .build();
    let create = mock!(aws_sdk_iam::Client::create_login_profile)
        .sequence()
        .http_status(
            409,
            Some(iam_error(
                "EntityAlreadyExists",
                "Login Profile for user root already exists.",
            )),
        )
        .build();
    let (mut context, _events) = context(
        &[&assume, &login, &create],
        TaskPolicy::CreateRootUserPassword,
    )
    .await;
    let report = task::run(
        &Task::AllowPasswordRecovery { dry_run: false },
        &mut context,
    )
    .await;
    assert_eq!(report.status, Status::AlreadyAllowed, "{report:?}");
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test]
async fn unknown_error_codes_fail_the_account_without_retries_and_keep_the_code() {
    let assume = assume_root_rule();
    let summary_rule = mock!(aws_sdk_iam::Client::get_account_summary)
        .sequence()
        .http_status(
            400,
            Some(iam_error("BrandNewError", "Something AWS added later")),
        )
        .repeatedly()
        .build();
    let (mut context, _events) = context(
        &[&assume, &summary_rule],
        TaskPolicy::AuditRootUserCredentials,
    )
    .await;
    let report = task::run(&Task::Audit, &mut context).await;
    assert_eq!(report.status, Status::Failed);
    let error = report.error.expect("error");
    assert_eq!(error.class, ErrorClass::Fatal);
    assert_eq!(error.code.as_deref(), Some("BrandNewError"));
    assert_eq!(error.message, "Something AWS added later");
    assert_eq!(error.operation.as_deref(), Some("iam:GetAccountSummary"));
    assert_eq!(summary_rule.num_calls(), 1);
}

#[tokio::test]
async fn malformed_answers_are_retried_then_reported() {
    let assume = assume_root_rule();
    let summary_rule = mock!(aws_sdk_iam::Client::get_account_summary)
        .sequence()
        .http_status(
            200,
            Some("<GetAccountSummaryResponse><not-closed".to_string()),
        )
        .repeatedly()
        .build();
    let (mut context, _events) = context(
        &[&assume, &summary_rule],
        TaskPolicy::AuditRootUserCredentials,
    )
    .await;
    let report = task::run(&Task::Audit, &mut context).await;
    assert_eq!(report.status, Status::Failed);
    assert_eq!(
        report.error.as_ref().map(|e| e.class),
        Some(ErrorClass::Transient)
    );
    assert_eq!(
        summary_rule.num_calls(),
        3,
        "retried up to the attempt limit"
    );
    assert_eq!(context.calls_and_retries().1, 2);
}

#[tokio::test]
async fn throttling_that_never_ends_fails_with_its_class_and_attempts() {
    let assume = assume_root_rule();
    let summary_rule = mock!(aws_sdk_iam::Client::get_account_summary)
        .sequence()
        .http_status(400, Some(iam_error("Throttling", "Rate exceeded")))
        .repeatedly()
        .build();
    let (mut context, _events) = context(
        &[&assume, &summary_rule],
        TaskPolicy::AuditRootUserCredentials,
    )
    .await;
    let report = task::run(&Task::Audit, &mut context).await;
    assert_eq!(report.status, Status::Failed);
    let error = report.error.expect("error");
    assert_eq!((error.class, error.attempts), (ErrorClass::Throttled, 3));
}

#[tokio::test]
async fn a_denied_assume_root_is_a_denial_not_a_failure() {
    let assume = mock!(aws_sdk_sts::Client::assume_root)
        .sequence()
        .http_status(
            403,
            Some("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::111111111111:user/x is not authorized to perform: sts:AssumeRoot</Message></Error><RequestId>r</RequestId></ErrorResponse>".to_string()),
        )
        .build();
    let (mut context, _events) = context(&[&assume], TaskPolicy::AuditRootUserCredentials).await;
    let report = task::run(&Task::Audit, &mut context).await;
    assert_eq!(report.status, Status::Denied);
    let error = report.error.expect("error");
    assert_eq!(error.class, ErrorClass::Denied);
    assert_eq!(error.operation.as_deref(), Some("sts:AssumeRoot"));
}

#[tokio::test]
async fn a_listing_that_repeats_its_page_token_fails_instead_of_looping() {
    let assume = assume_root_rule();
    let summary_rule = mock!(aws_sdk_iam::Client::get_account_summary)
        .sequence()
        .output(|| {
            summary(&[
                (SummaryKeyType::AccountMfaEnabled, 0),
                (SummaryKeyType::AccountAccessKeysPresent, 1),
                (SummaryKeyType::AccountPasswordPresent, 0),
                (SummaryKeyType::AccountSigningCertificatesPresent, 0),
            ])
        })
        .repeatedly()
        .build();
    // Every page says "more after this one" and hands back the same marker.
    let keys = mock!(aws_sdk_iam::Client::list_access_keys)
        .sequence()
        .output(|| {
            ListAccessKeysOutput::builder()
                .access_key_metadata(
                    AccessKeyMetadata::builder()
                        .access_key_id("AKIALOOPING000000001")
                        .status(StatusType::Active)
                        .build(),
                )
                .is_truncated(true)
                .marker("the-same-marker")
                .build()
                .expect("output")
        })
        .repeatedly()
        .build();
    let (mut context, _events) = context(
        &[&assume, &summary_rule, &keys],
        TaskPolicy::AuditRootUserCredentials,
    )
    .await;
    let report = task::run(&Task::Audit, &mut context).await;
    assert_eq!(report.status, Status::Failed);
    let error = report.error.expect("the account's error");
    assert_eq!(error.class, ErrorClass::Fatal);
    assert_eq!(error.operation.as_deref(), Some("iam:ListAccessKeys"));
    assert!(error.message.contains("page token"), "{}", error.message);
    // The first page, then the page that repeated its marker; no third request.
    assert_eq!(keys.num_calls(), 2);
}
