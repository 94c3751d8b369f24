//! `allow-password-recovery`: `GetLoginProfile`; if there is none, `CreateLoginProfile` with no
//! password (what the console calls "Allow password recovery"), then read it back to verify.

use crate::limits::ErrorClass;
use crate::outcome::{Details, ErrorRecord, RecoveryDetails, Status};
use crate::session::{AccountContext, CallFailure};
use crate::task::TaskReport;

async fn has_login_profile(context: &mut AccountContext) -> Result<bool, CallFailure> {
    match context
        .iam("iam:GetLoginProfile", |iam| async move {
            iam.get_login_profile().send().await
        })
        .await
    {
        Ok(_) => Ok(true),
        Err(failure) if failure.class() == ErrorClass::NotFound => Ok(false),
        Err(failure) => Err(failure),
    }
}

pub(crate) async fn run(
    context: &mut AccountContext,
    dry_run: bool,
) -> Result<TaskReport, CallFailure> {
    let report = |status, summary: &str, details: RecoveryDetails| TaskReport {
        status,
        summary: summary.to_string(),
        details: Some(Details::AllowPasswordRecovery(details)),
        error: None,
    };
    if has_login_profile(context).await? {
        return Ok(report(
            Status::AlreadyAllowed,
            "a login profile already exists: password recovery is possible",
            RecoveryDetails {
                login_profile_existed: true,
                created: false,
            },
        ));
    }
    if dry_run {
        return Ok(report(
            Status::Planned,
            "would create a login profile without a password to allow password recovery",
            RecoveryDetails::default(),
        ));
    }
    match context
        .iam("iam:CreateLoginProfile", |iam| async move {
            iam.create_login_profile().send().await
        })
        .await
    {
        Ok(_) => {}
        // Someone created one between our read and our write: the goal is met.
        Err(failure) if failure.detail.code.as_deref() == Some("EntityAlreadyExists") => {
            return Ok(report(
                Status::AlreadyAllowed,
                "a login profile appeared meanwhile: password recovery is possible",
                RecoveryDetails {
                    login_profile_existed: true,
                    created: false,
                },
            ));
        }
        Err(failure) => return Err(failure),
    }
    let details = RecoveryDetails {
        login_profile_existed: false,
        created: true,
    };
    if !has_login_profile(context).await? {
        let message =
            "CreateLoginProfile succeeded but GetLoginProfile finds no profile".to_string();
        return Ok(TaskReport {
            status: Status::Failed,
            summary: message.clone(),
            details: Some(Details::AllowPasswordRecovery(details)),
            error: Some(ErrorRecord {
                class: ErrorClass::VerificationFailed,
                operation: Some("iam:GetLoginProfile".to_string()),
                code: None,
                message,
                attempts: 1,
            }),
        });
    }
    Ok(report(
        Status::RecoveryAllowed,
        "created a login profile without a password: the root user can now recover its password",
        details,
    ))
}
