//! Authorization: what each root-task policy leaves allowed, and the check every call made with
//! an AssumeRoot session goes through ([`authorize_root_session`]): SCPs first, then the task
//! policy, each denial worded as AWS words it.

use crate::load::Service;
use crate::protocol::ApiError;
use crate::scenario::TASK_POLICY_NAMES;
use crate::world::{Caller, World};

/// Actions each AWS managed root-task policy leaves allowed (aws-facts.md §2).
fn allowed_actions(task_policy: &str) -> &'static [&'static str] {
    match task_policy {
        "IAMAuditRootUserCredentials" => &[
            "iam:ListAccessKeys",
            "iam:ListSigningCertificates",
            "iam:GetLoginProfile",
            "iam:ListMFADevices",
            "iam:GetAccountSummary",
            "iam:GetUser",
            "iam:GetAccessKeyLastUsed",
        ],
        "IAMCreateRootUserPassword" => &["iam:CreateLoginProfile", "iam:GetLoginProfile"],
        "IAMDeleteRootUserCredentials" => &[
            "iam:DeleteAccessKey",
            "iam:DeleteSigningCertificate",
            "iam:DeleteLoginProfile",
            "iam:DeactivateMFADevice",
            "iam:DeleteVirtualMFADevice",
            "iam:ListAccessKeys",
            "iam:ListSigningCertificates",
            "iam:GetLoginProfile",
            "iam:ListMFADevices",
            "iam:GetUser",
            "iam:GetAccessKeyLastUsed",
        ],
        "S3UnlockBucketPolicy" => &[
            "s3:DeleteBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:GetBucketPolicy",
            "s3:ListAllMyBuckets",
        ],
        "SQSUnlockQueuePolicy" => &[
            "sqs:SetQueueAttributes",
            "sqs:GetQueueAttributes",
            "sqs:ListQueues",
            "sqs:GetQueueUrl",
        ],
        _ => &[],
    }
}

/// The task policy name in `arn:aws:iam::aws:policy/root-task/<name>`, if it is one of the five.
pub(crate) fn parse_task_policy_arn(arn: &str) -> Option<&'static str> {
    let name = arn.strip_prefix("arn:aws:iam::aws:policy/root-task/")?;
    TASK_POLICY_NAMES
        .iter()
        .copied()
        .find(|known| *known == name)
}

/// Checks a call made with an AssumeRoot session. Long-term principals pass through: their
/// rules are per operation.
///
/// The IAM task policies deny their actions on any resource that is not
/// `arn:aws:iam::*:root` (`NotResource`), except `iam:GetAccountSummary` in the audit policy.
/// Read literally, that denies `iam:DeleteVirtualMFADevice`, whose resource is the device's
/// `mfa/` ARN; `virtual_mfa_delete_allowed` relaxes that one case (aws-facts.md leaves it
/// unverified).
pub(crate) fn authorize_root_session(
    world: &World,
    caller: &Caller,
    service: Service,
    action: &str,
    resource: &str,
    virtual_mfa_delete_allowed: bool,
) -> Result<(), ApiError> {
    let Caller::RootSession {
        account_id,
        task_policy,
    } = caller
    else {
        return Ok(());
    };
    let arn = caller.arn();
    if world.scp_denies_root(account_id) {
        return Err(ApiError::access_denied(
            service,
            format!(
                "User: {arn} is not authorized to perform: {action} on resource: {resource} with an explicit deny in a service control policy"
            ),
        ));
    }
    let resource_allowed = !action.starts_with("iam:")
        || action == "iam:GetAccountSummary"
        || resource == arn
        || (action == "iam:DeleteVirtualMFADevice" && virtual_mfa_delete_allowed);
    if !allowed_actions(task_policy).contains(&action) || !resource_allowed {
        return Err(ApiError::access_denied(
            service,
            format!(
                "User: {arn} is not authorized to perform: {action} on resource: {resource} with an explicit deny in a session policy"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_five_task_policies_parse() {
        assert_eq!(
            parse_task_policy_arn("arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"),
            Some("S3UnlockBucketPolicy")
        );
        assert_eq!(
            parse_task_policy_arn("arn:aws:iam::aws:policy/root-task/AdministratorAccess"),
            None
        );
        assert_eq!(
            parse_task_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess"),
            None
        );
    }

    #[test]
    fn delete_policy_cannot_read_the_account_summary() {
        assert!(
            !allowed_actions("IAMDeleteRootUserCredentials").contains(&"iam:GetAccountSummary")
        );
        assert!(allowed_actions("IAMAuditRootUserCredentials").contains(&"iam:GetAccountSummary"));
    }
}
