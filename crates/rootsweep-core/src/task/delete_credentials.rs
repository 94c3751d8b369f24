//! `delete-credentials`: list the kinds asked for, delete each credential (deactivate, then
//! delete, virtual MFA devices), and list again to verify that nothing is left. A credential
//! already gone (`NoSuchEntity`) counts as deleted: another run or the console got there
//! first. With a plan, only the planned credentials are deleted; anything that appeared since is
//! reported and left alone.
//!
//! One failed deletion does not stop the others: the record says exactly what was removed and
//! what was not.

use std::collections::HashSet;
use std::time::Duration;

use crate::limits::ErrorClass;
use crate::outcome::{
    Action, ActionResult, DeleteDetails, Details, ErrorRecord, Inventory, MfaKind, Status,
};
use crate::session::{AccountContext, CallFailure};
use crate::task::{DeleteOptions, TaskReport, inventory};

/// Fresh listings after deleting: IAM is eventually consistent, so a credential still listed is
/// read again after a pause before the account is called unverified.
const VERIFY_ATTEMPTS: u32 = 3;
const VERIFY_PAUSE: Duration = Duration::from_secs(2);

/// Splits what was found into what the plan allows deleting and what it does not list.
fn apply_plan(found: &Inventory, planned: &Inventory) -> (Inventory, Inventory, Vec<String>) {
    let mut to_delete = Inventory::default();
    let mut unplanned = Inventory::default();
    let mut warnings = Vec::new();
    match (&found.password, &planned.password) {
        (Some(password), Some(_)) => to_delete.password = Some(password.clone()),
        (Some(password), None) => unplanned.password = Some(password.clone()),
        (None, Some(_)) => warnings.push("the planned password was already gone".to_string()),
        (None, None) => {}
    }
    let planned_keys: HashSet<&str> = planned
        .access_keys
        .iter()
        .map(|key| key.id.as_str())
        .collect();
    for key in &found.access_keys {
        if planned_keys.contains(key.id.as_str()) {
            to_delete.access_keys.push(key.clone());
        } else {
            unplanned.access_keys.push(key.clone());
        }
    }
    let planned_certificates: HashSet<&str> = planned
        .signing_certificates
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    for certificate in &found.signing_certificates {
        if planned_certificates.contains(certificate.id.as_str()) {
            to_delete.signing_certificates.push(certificate.clone());
        } else {
            unplanned.signing_certificates.push(certificate.clone());
        }
    }
    let planned_devices: HashSet<&str> = planned
        .mfa_devices
        .iter()
        .map(|d| d.serial.as_str())
        .collect();
    for device in &found.mfa_devices {
        if planned_devices.contains(device.serial.as_str()) {
            to_delete.mfa_devices.push(device.clone());
        } else {
            unplanned.mfa_devices.push(device.clone());
        }
    }
    let found_keys: HashSet<&str> = found
        .access_keys
        .iter()
        .map(|key| key.id.as_str())
        .collect();
    let found_certificates: HashSet<&str> = found
        .signing_certificates
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let found_devices: HashSet<&str> = found
        .mfa_devices
        .iter()
        .map(|d| d.serial.as_str())
        .collect();
    for key in planned_keys.difference(&found_keys) {
        warnings.push(format!("planned access key {key} was already gone"));
    }
    for certificate in planned_certificates.difference(&found_certificates) {
        warnings.push(format!(
            "planned signing certificate {certificate} was already gone"
        ));
    }
    for device in planned_devices.difference(&found_devices) {
        warnings.push(format!("planned MFA device {device} was already gone"));
    }
    warnings.sort();
    (to_delete, unplanned, warnings)
}

/// The credentials of `deleted` still present in `after`.
fn still_present(deleted: &Inventory, after: &Inventory) -> Inventory {
    let keys: HashSet<&str> = deleted
        .access_keys
        .iter()
        .map(|key| key.id.as_str())
        .collect();
    let certificates: HashSet<&str> = deleted
        .signing_certificates
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let devices: HashSet<&str> = deleted
        .mfa_devices
        .iter()
        .map(|d| d.serial.as_str())
        .collect();
    Inventory {
        password: after
            .password
            .clone()
            .filter(|_| deleted.password.is_some()),
        access_keys: after
            .access_keys
            .iter()
            .filter(|key| keys.contains(key.id.as_str()))
            .cloned()
            .collect(),
        signing_certificates: after
            .signing_certificates
            .iter()
            .filter(|certificate| certificates.contains(certificate.id.as_str()))
            .cloned()
            .collect(),
        mfa_devices: after
            .mfa_devices
            .iter()
            .filter(|device| devices.contains(device.serial.as_str()))
            .cloned()
            .collect(),
    }
}

/// The deletions made so far, and the first that failed.
#[derive(Default)]
struct Ledger {
    actions: Vec<Action>,
    first_failure: Option<ErrorRecord>,
}

impl Ledger {
    /// Records one deletion's result; returns whether the credential is gone (deleted, or
    /// already gone).
    fn settle(
        &mut self,
        action: &str,
        target: Option<&str>,
        result: Result<(), CallFailure>,
    ) -> bool {
        let (result, error) = match result {
            Ok(()) => (ActionResult::Done, None),
            Err(failure) if failure.class() == ErrorClass::NotFound => {
                (ActionResult::AlreadyGone, None)
            }
            Err(failure) => {
                let record = failure.record();
                self.first_failure.get_or_insert_with(|| record.clone());
                let result = if failure.class().is_denial() {
                    ActionResult::Denied
                } else {
                    ActionResult::Failed
                };
                (result, Some(record))
            }
        };
        let gone = matches!(result, ActionResult::Done | ActionResult::AlreadyGone);
        self.actions.push(Action {
            action: action.to_string(),
            target: target.map(str::to_string),
            result,
            error,
        });
        gone
    }
}

pub(crate) async fn run(context: &mut AccountContext, options: &DeleteOptions) -> TaskReport {
    let found = match inventory::read(context, &options.kinds, false).await {
        Ok(found) => found,
        Err(failure) => return TaskReport::from_failure(&failure, None),
    };
    let mut details = DeleteDetails {
        before: found.clone(),
        ..DeleteDetails::default()
    };
    let to_delete = match &options.plan {
        Some(plan) => {
            let planned = plan.get(&context.account_id).cloned().unwrap_or_default();
            let (to_delete, unplanned, warnings) = apply_plan(&found, &planned);
            details.unplanned = unplanned;
            details.warnings = warnings;
            to_delete
        }
        None => found.clone(),
    };
    let unplanned_note = if details.unplanned.is_empty() {
        String::new()
    } else {
        format!(
            "; left alone, not in the plan: {}",
            details.unplanned.describe()
        )
    };
    if to_delete.is_empty() {
        let status = if details.unplanned.is_empty() {
            Status::AlreadyCompliant
        } else {
            Status::Remediated
        };
        let summary = if details.unplanned.is_empty() {
            "no root credentials to delete".to_string()
        } else {
            format!("nothing planned was left to delete{unplanned_note}")
        };
        details.after = Some(Inventory::default());
        return TaskReport {
            status,
            summary,
            details: Some(Details::DeleteCredentials(Box::new(details))),
            error: None,
        };
    }
    if options.dry_run {
        details.actions = planned_actions(&to_delete);
        return TaskReport {
            status: Status::Planned,
            summary: format!("would delete {}{unplanned_note}", to_delete.describe()),
            details: Some(Details::DeleteCredentials(Box::new(details))),
            error: None,
        };
    }

    // One deletion at a time, unlike the listings: changes to one IAM user made at once risk
    // `ConcurrentModification`, which AWS lists for every one of these operations.
    let mut ledger = Ledger::default();
    if to_delete.password.is_some() {
        let result = context
            .iam("iam:DeleteLoginProfile", |iam| async move {
                iam.delete_login_profile().send().await.map(drop)
            })
            .await;
        ledger.settle("delete_login_profile", None, result);
    }
    for key in &to_delete.access_keys {
        let result = context
            .iam("iam:DeleteAccessKey", |iam| {
                let id = key.id.clone();
                async move {
                    iam.delete_access_key()
                        .access_key_id(id)
                        .send()
                        .await
                        .map(drop)
                }
            })
            .await;
        ledger.settle("delete_access_key", Some(&key.id), result);
    }
    for certificate in &to_delete.signing_certificates {
        let result = context
            .iam("iam:DeleteSigningCertificate", |iam| {
                let id = certificate.id.clone();
                async move {
                    iam.delete_signing_certificate()
                        .certificate_id(id)
                        .send()
                        .await
                        .map(drop)
                }
            })
            .await;
        ledger.settle("delete_signing_certificate", Some(&certificate.id), result);
    }
    for device in &to_delete.mfa_devices {
        let serial = device.serial.as_str();
        let result = context
            .iam("iam:DeactivateMFADevice", |iam| {
                let serial = serial.to_string();
                async move {
                    iam.deactivate_mfa_device()
                        .serial_number(serial)
                        .send()
                        .await
                        .map(drop)
                }
            })
            .await;
        let deactivated = ledger.settle("deactivate_mfa_device", Some(serial), result);
        if device.kind != MfaKind::Virtual || !deactivated {
            continue;
        }
        // A deactivated virtual device is no longer the root user's credential, but it still
        // exists in the account. The task policy's text scopes its actions to the root user's
        // ARN, which may deny deleting the device itself: then it is a warning, not a failure.
        let result = context
            .iam("iam:DeleteVirtualMFADevice", |iam| {
                let serial = serial.to_string();
                async move {
                    iam.delete_virtual_mfa_device()
                        .serial_number(serial)
                        .send()
                        .await
                        .map(drop)
                }
            })
            .await;
        match result {
            Err(failure) if failure.class().is_denial() => {
                details.warnings.push(format!(
                    "virtual MFA device {serial} was deactivated, but deleting the device was denied ({}); it remains in the account, assigned to no one",
                    failure.detail
                ));
                ledger.actions.push(Action {
                    action: "delete_virtual_mfa_device".to_string(),
                    target: Some(serial.to_string()),
                    result: ActionResult::Denied,
                    error: Some(failure.record()),
                });
            }
            other => {
                ledger.settle("delete_virtual_mfa_device", Some(serial), other);
            }
        }
    }
    let first_failure = ledger.first_failure;
    details.actions = ledger.actions;

    // Verify with fresh listings.
    let mut after = None;
    let mut verification_failure = None;
    for attempt in 1..=VERIFY_ATTEMPTS {
        match inventory::read(context, &options.kinds, false).await {
            Ok(listed) => {
                let remaining = still_present(&to_delete, &listed);
                let clean = remaining.is_empty();
                after = Some(listed);
                if clean || attempt == VERIFY_ATTEMPTS || first_failure.is_some() {
                    break;
                }
                tokio::time::sleep(VERIFY_PAUSE).await;
            }
            Err(failure) => {
                verification_failure = Some(failure);
                break;
            }
        }
    }
    let deleted_description = to_delete.describe();
    details.after = after.clone();
    let report = |status, summary: String, error| TaskReport {
        status,
        summary,
        details: Some(Details::DeleteCredentials(Box::new(details.clone()))),
        error,
    };
    if let Some(error) = first_failure {
        return report(
            Status::Failed,
            format!(
                "some deletions failed ({}: {}); see details for what was removed",
                error.operation.clone().unwrap_or_default(),
                error.message
            ),
            Some(error),
        );
    }
    if let Some(failure) = verification_failure {
        return report(
            Status::Failed,
            format!(
                "deleted {deleted_description}, but the verifying listing failed: {}",
                failure.detail
            ),
            Some(failure.record()),
        );
    }
    let remaining = after
        .as_ref()
        .map(|listed| still_present(&to_delete, listed))
        .unwrap_or_default();
    if !remaining.is_empty() {
        let message = format!(
            "deleted credentials still listed after {VERIFY_ATTEMPTS} reads: {}",
            remaining.describe()
        );
        return report(
            Status::Failed,
            message.clone(),
            Some(ErrorRecord {
                class: ErrorClass::VerificationFailed,
                operation: None,
                code: None,
                message,
                attempts: VERIFY_ATTEMPTS,
            }),
        );
    }
    report(
        Status::Remediated,
        format!("deleted {deleted_description}; verified gone{unplanned_note}"),
        None,
    )
}

/// The actions a dry run reports.
fn planned_actions(to_delete: &Inventory) -> Vec<Action> {
    let planned = |action: &str, target: Option<String>| Action {
        action: action.to_string(),
        target,
        result: ActionResult::Planned,
        error: None,
    };
    let mut actions = Vec::new();
    if to_delete.password.is_some() {
        actions.push(planned("delete_login_profile", None));
    }
    actions.extend(
        to_delete
            .access_keys
            .iter()
            .map(|key| planned("delete_access_key", Some(key.id.clone()))),
    );
    actions.extend(
        to_delete
            .signing_certificates
            .iter()
            .map(|certificate| planned("delete_signing_certificate", Some(certificate.id.clone()))),
    );
    for device in &to_delete.mfa_devices {
        actions.push(planned(
            "deactivate_mfa_device",
            Some(device.serial.clone()),
        ));
        if device.kind == MfaKind::Virtual {
            actions.push(planned(
                "delete_virtual_mfa_device",
                Some(device.serial.clone()),
            ));
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{AccessKeyInfo, PasswordInfo};

    fn key(id: &str) -> AccessKeyInfo {
        AccessKeyInfo {
            id: id.to_string(),
            status: None,
            created: None,
            last_used: None,
            last_used_service: None,
            last_used_region: None,
        }
    }

    #[test]
    fn a_plan_limits_deletions_and_reports_drift() {
        let found = Inventory {
            password: Some(PasswordInfo { created: None }),
            access_keys: vec![key("AKIAPLANNED"), key("AKIANEW")],
            ..Inventory::default()
        };
        let planned = Inventory {
            access_keys: vec![key("AKIAPLANNED"), key("AKIAGONE")],
            ..Inventory::default()
        };
        let (to_delete, unplanned, warnings) = apply_plan(&found, &planned);
        assert_eq!(to_delete.access_keys, vec![key("AKIAPLANNED")]);
        assert!(to_delete.password.is_none());
        assert_eq!(unplanned.access_keys, vec![key("AKIANEW")]);
        assert!(unplanned.password.is_some());
        assert_eq!(
            warnings,
            vec!["planned access key AKIAGONE was already gone".to_string()]
        );
    }

    #[test]
    fn only_deleted_credentials_count_as_remaining() {
        let deleted = Inventory {
            access_keys: vec![key("AKIA1")],
            ..Inventory::default()
        };
        let after = Inventory {
            password: Some(PasswordInfo { created: None }),
            access_keys: vec![key("AKIA1"), key("AKIA2")],
            ..Inventory::default()
        };
        let remaining = still_present(&deleted, &after);
        assert_eq!(remaining.access_keys, vec![key("AKIA1")]);
        assert!(remaining.password.is_none());
        assert!(still_present(&deleted, &Inventory::default()).is_empty());
    }
}
