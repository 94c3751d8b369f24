//! `rootsweep doctor`: checks, in order, everything a run needs (who the caller is, the
//! organization's mode, the caller's role in it, trusted access, the two IAM features, and one
//! real AssumeRoot into a member account through the engine, which catches SCPs that block
//! root sessions), and says for each failed check what to run to fix it. Exit 0 when every
//! check passes, 2 otherwise. It changes nothing.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_iam::types::FeatureType;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use rootsweep_core::limits::classify;
use rootsweep_core::{
    Account, AccountId, AccountState, AwsContext, CancelHandle, ErrorClass, EventKind,
    LimitSettings, Limits, Organization, RunSettings, Runner, Status, Target, Targets, Task,
};
use serde::Serialize;

use crate::cli::{DoctorArgs, OutputFormat};
use crate::commands::App;
use crate::error::{CliError, CliResult};
use crate::exit;

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    /// What was checked.
    pub(crate) check: &'static str,
    /// `pass`, `fail`, or `unknown` (could not be checked from here).
    pub(crate) result: &'static str,
    /// What was found.
    pub(crate) detail: String,
    /// What to run to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fix: Option<String>,
}

fn pass(check: &'static str, detail: impl Into<String>) -> Check {
    Check {
        check,
        result: "pass",
        detail: detail.into(),
        fix: None,
    }
}

fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check,
        result: "fail",
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn unknown(check: &'static str, detail: impl Into<String>) -> Check {
    Check {
        check,
        result: "unknown",
        detail: detail.into(),
        fix: None,
    }
}

/// An SDK error of any operation.
type AwsError<E> = SdkError<E, HttpResponse>;

/// A one-off call, tried three times (doctor does not need the engine's budgets).
async fn attempt<T, E, F, Fut>(call: F) -> Result<T, AwsError<E>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, AwsError<E>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if tries < 3 && classify(&error).class.is_retryable() => {
                tokio::time::sleep(Duration::from_millis(200 * tries)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

fn describe<E>(error: &AwsError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    classify(error).to_string()
}

/// Runs every check.
pub(crate) async fn checks(aws: &Arc<AwsContext>, probe_account: Option<AccountId>) -> Vec<Check> {
    let mut checks = vec![pass(
        "region",
        format!("{}: a regional STS endpoint", aws.region()),
    )];
    let identity = match attempt(|| aws.sts().get_caller_identity().send()).await {
        Ok(identity) => identity,
        Err(error) => {
            checks.push(fail(
                "caller",
                format!("GetCallerIdentity failed: {}", describe(&error)),
                "set working credentials (AWS_PROFILE, or `aws sso login`) for the management account",
            ));
            return checks;
        }
    };
    let caller_arn = identity.arn().unwrap_or_default().to_string();
    let caller_account = identity.account().unwrap_or_default().to_string();
    if caller_arn.ends_with(":root") {
        checks.push(fail(
            "caller",
            format!("{caller_arn} is a root user: root credentials cannot call sts:AssumeRoot"),
            "use an IAM role or user of the management account (or of the IAM delegated administrator)",
        ));
        return checks;
    }
    checks.push(pass("caller", caller_arn.clone()));

    let organization = match attempt(|| aws.organizations().describe_organization().send()).await {
        Ok(output) => output.organization().cloned(),
        Err(error) => {
            let not_in_use = error.code() == Some("AWSOrganizationsNotInUseException");
            checks.push(fail(
                "organization",
                format!("DescribeOrganization failed: {}", describe(&error)),
                if not_in_use {
                    "rootsweep works on an AWS Organization: run it from the organization's management account"
                } else {
                    "grant organizations:DescribeOrganization to the caller"
                },
            ));
            return checks;
        }
    };
    let Some(organization) = organization else {
        checks.push(fail(
            "organization",
            "DescribeOrganization returned nothing",
            "check the caller's account",
        ));
        return checks;
    };
    let management = organization
        .master_account_id()
        .unwrap_or_default()
        .to_string();
    let organization_id = organization.id().unwrap_or_default().to_string();
    let feature_set = organization
        .feature_set()
        .map(|f| f.as_str().to_string())
        .unwrap_or_default();
    if feature_set == "ALL" {
        checks.push(pass(
            "organization",
            format!("{organization_id} in ALL features mode; management account {management}"),
        ));
    } else {
        checks.push(fail(
            "organization",
            format!("{organization_id} is in {feature_set} mode; centralized root access needs ALL features"),
            "aws organizations enable-all-features   (from the management account; every member must accept)",
        ));
    }

    let is_management = caller_account == management;
    let features = attempt(|| aws.caller_iam().list_organizations_features().send()).await;
    match (&features, is_management) {
        (_, true) => checks.push(pass("role", format!("the caller is in the management account {management}"))),
        (Ok(_), false) => checks.push(pass("role", format!("the caller's account {caller_account} is the IAM delegated administrator"))),
        (Err(error), false) => checks.push(fail(
            "role",
            format!("{caller_account} is neither the management account nor the IAM delegated administrator ({})", describe(error)),
            format!(
                "run from the management account, or register this account there: aws organizations register-delegated-administrator --account-id {caller_account} --service-principal iam.amazonaws.com"
            ),
        )),
    }

    match attempt(|| {
        aws.organizations()
            .list_aws_service_access_for_organization()
            .send()
    })
    .await
    {
        Ok(output) => {
            let enabled = output
                .enabled_service_principals()
                .iter()
                .any(|principal| principal.service_principal() == Some("iam.amazonaws.com"));
            if enabled {
                checks.push(pass(
                    "trusted access",
                    "iam.amazonaws.com has trusted access",
                ));
            } else {
                checks.push(fail(
                    "trusted access",
                    "iam.amazonaws.com has no trusted access",
                    "rootsweep enable   (or: aws organizations enable-aws-service-access --service-principal iam.amazonaws.com)",
                ));
            }
        }
        Err(error) => checks.push(unknown(
            "trusted access",
            format!(
                "could not be read from this account ({}); the features below depend on it",
                describe(&error)
            ),
        )),
    }

    match &features {
        Ok(output) => {
            for (feature, check, command) in [
                (
                    FeatureType::RootCredentialsManagement,
                    "root credentials management",
                    "enable-organizations-root-credentials-management",
                ),
                (
                    FeatureType::RootSessions,
                    "root sessions",
                    "enable-organizations-root-sessions",
                ),
            ] {
                if output.enabled_features().contains(&feature) {
                    checks.push(pass(check, format!("{} is enabled", feature.as_str())));
                } else {
                    checks.push(fail(
                        check,
                        format!("{} is not enabled", feature.as_str()),
                        format!("rootsweep enable   (or: aws iam {command})"),
                    ));
                }
            }
        }
        Err(error) => checks.push(fail(
            "root access features",
            format!("ListOrganizationsFeatures failed: {}", describe(error)),
            "rootsweep enable   (from the management account)",
        )),
    }

    checks.push(
        probe(
            aws,
            &organization_id,
            &management,
            &caller_account,
            probe_account,
        )
        .await,
    );
    checks
}

/// One real AssumeRoot and GetAccountSummary, through the engine.
async fn probe(
    aws: &Arc<AwsContext>,
    organization_id: &str,
    management: &str,
    caller_account: &str,
    requested: Option<AccountId>,
) -> Check {
    const NAME: &str = "assume root";
    let account = match requested {
        Some(id) => Account {
            id,
            name: String::new(),
            state: AccountState::Active,
            ou_path: String::new(),
            parent_id: String::new(),
        },
        None => {
            let mut token: Option<String> = None;
            let mut found = None;
            while found.is_none() {
                let page = match attempt(|| {
                    aws.organizations()
                        .list_accounts()
                        .max_results(20)
                        .set_next_token(token.clone())
                        .send()
                })
                .await
                {
                    Ok(page) => page,
                    Err(error) => {
                        return fail(
                            NAME,
                            format!(
                                "no account to probe: ListAccounts failed: {}",
                                describe(&error)
                            ),
                            "grant organizations:ListAccounts to the caller",
                        );
                    }
                };
                found = page.accounts().iter().find_map(|account| {
                    let id = account.id()?;
                    let active = account
                        .state()
                        .is_some_and(|state| state.as_str() == "ACTIVE");
                    let id = AccountId::parse(id).ok()?;
                    (active && id.as_str() != management && id.as_str() != caller_account).then(
                        || Account {
                            id,
                            name: account.name().unwrap_or_default().to_string(),
                            state: AccountState::Active,
                            ou_path: String::new(),
                            parent_id: String::new(),
                        },
                    )
                });
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            match found {
                Some(account) => account,
                None => {
                    return unknown(
                        NAME,
                        "the organization has no other active member account to probe",
                    );
                }
            }
        }
    };
    let targets = Targets {
        organization: Organization {
            id: organization_id.to_string(),
            management_account_id: AccountId::parse(management)
                .unwrap_or_else(|_| account.id.clone()),
            feature_set: "ALL".to_string(),
        },
        accounts: vec![Target {
            account: account.clone(),
            skip: None,
        }],
    };
    let settings = LimitSettings {
        retry: rootsweep_core::RetryPolicy {
            max_attempts: 3,
            throttled_attempts: 10,
            ..rootsweep_core::RetryPolicy::default()
        },
        ..LimitSettings::default()
    };
    let Ok(limits) = Limits::new(settings) else {
        return unknown(NAME, "invalid limits");
    };
    let runner = Runner::new(Arc::clone(aws), limits, RunSettings::default());
    let mut outcome = None;
    runner
        .run(Task::Audit, &targets, &CancelHandle::new(), |event| {
            if let EventKind::AccountFinished {
                outcome: finished, ..
            } = &event.kind
            {
                outcome = Some(finished.clone());
            }
            Ok::<(), std::convert::Infallible>(())
        })
        .await;
    let Some(outcome) = outcome else {
        return unknown(NAME, "the probe produced no outcome");
    };
    let id = &account.id;
    match (outcome.status, outcome.error.as_ref()) {
        (Status::Compliant | Status::NonCompliant, _) => pass(
            NAME,
            format!("AssumeRoot (IAMAuditRootUserCredentials) and GetAccountSummary work in {id}"),
        ),
        (_, Some(error)) if error.class == ErrorClass::DeniedByScp => fail(
            NAME,
            format!("an SCP denies root sessions in {id}: {}", error.message),
            "exempt AssumeRoot sessions in the SCP: add `\"Condition\": {\"Null\": {\"aws:AssumedRoot\": \"true\"}}` to its root-user deny, or enable Control Tower's AWS-GR_RESTRICT_ROOT_USER with the ExemptAssumeRoot parameter (docs/guide.md)",
        ),
        (_, Some(error)) if error.operation.as_deref() == Some("sts:AssumeRoot") => fail(
            NAME,
            format!("AssumeRoot into {id} failed: {}", error.message),
            "grant the caller sts:AssumeRoot on arn:aws:iam::*:root with an sts:TaskPolicyArn condition listing the task policies (docs/guide.md), and check `rootsweep enable`",
        ),
        (status, error) => fail(
            NAME,
            format!(
                "the probe in {id} ended {status}: {}",
                error.map_or(outcome.summary.clone(), |error| error.message.clone())
            ),
            "see docs/guide.md; run with -vv for every call",
        ),
    }
}

pub(crate) async fn run(app: &App, args: &DoctorArgs) -> CliResult<u8> {
    let probe_account = match &args.probe_account {
        Some(text) => Some(
            AccountId::parse(text)
                .map_err(|error| CliError::usage(format!("--probe-account: {error}")))?,
        ),
        None => None,
    };
    let aws = app.aws(rootsweep_core::Timeouts::default()).await?;
    let checks = checks(&aws, probe_account).await;
    let failed = checks.iter().any(|check| check.result == "fail");
    let mut stdout = std::io::stdout().lock();
    let written = match app.output_format() {
        OutputFormat::Table | OutputFormat::Csv => {
            let mut text = String::new();
            for check in &checks {
                let mark = match check.result {
                    "pass" => "ok  ",
                    "fail" => "FAIL",
                    _ => "?   ",
                };
                text.push_str(&format!("{mark}  {:<28} {}\n", check.check, check.detail));
                if let Some(fix) = &check.fix {
                    text.push_str(&format!("      fix: {fix}\n"));
                }
            }
            text.push_str(if failed {
                "\nSome checks failed: fix them, then run `rootsweep doctor` again.\n"
            } else {
                "\nEverything rootsweep needs is in place.\n"
            });
            stdout.write_all(text.as_bytes())
        }
        OutputFormat::Jsonl => checks.iter().try_for_each(|check| {
            writeln!(
                stdout,
                "{}",
                serde_json::to_string(check).unwrap_or_default()
            )
        }),
        OutputFormat::Json => writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&checks).unwrap_or_default()
        ),
    };
    if let Err(error) = written
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(CliError::usage(format!("cannot write to stdout: {error}")));
    }
    Ok(if failed { exit::USAGE } else { exit::SUCCESS })
}
