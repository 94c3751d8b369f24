//! `delete-credentials`: for each kind asked for, side by side, list it, delete each
//! credential found (deactivate, then delete, virtual MFA devices), and list the kind again to
//! verify that none of them is left. A credential already gone (`NoSuchEntity`) counts as
//! deleted: another run or the console got there first. With a plan, only the planned
//! credentials are deleted; anything that appeared since is reported and left alone.
//!
//! One failure does not stop the rest: a failed deletion, or a failed listing of one kind,
//! leaves the other credentials and kinds to go ahead, and the record says exactly what was
//! removed and what was not. An account where nothing was deleted because a listing failed is
//! reported with that failure alone, as `denied` where the listing was denied.

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::limits::ErrorClass;
use crate::outcome::{
    Action, ActionResult, CredentialKind, DeleteDetails, Details, ErrorRecord, Inventory, MfaKind,
    Status,
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

/// What one kind's pipeline did: its listing, its deletions and the listings that verified them.
struct KindOutcome {
    /// The credentials of this kind found, or why the listing failed (then nothing else ran).
    found: Result<Inventory, CallFailure>,
    /// What the plan (or, without one, the listing) left to delete.
    to_delete: Inventory,
    /// Found but not in the plan, left alone.
    unplanned: Inventory,
    warnings: Vec<String>,
    ledger: Ledger,
    /// The last verifying listing, if one was made and answered.
    verified: Option<Inventory>,
    /// Why verifying failed, if a verifying listing did.
    verification_failure: Option<CallFailure>,
}

impl KindOutcome {
    /// A kind listed (or not), with nothing else done yet.
    fn listed(found: Result<Inventory, CallFailure>) -> Self {
        Self {
            found,
            to_delete: Inventory::default(),
            unplanned: Inventory::default(),
            warnings: Vec::new(),
            ledger: Ledger::default(),
            verified: None,
            verification_failure: None,
        }
    }
}

/// Deletes the root credentials of the kinds asked for in the account behind `context`.
pub(crate) async fn run(context: &mut AccountContext, options: &DeleteOptions) -> TaskReport {
    let context = &*context;
    let deletion_turn = Mutex::new(());
    // In the order of `CredentialKind` (a `BTreeSet`): actions and failures are reported in
    // that order whichever kind's calls answered first, so that records do not depend on
    // latency.
    let outcomes = futures::future::join_all(
        options
            .kinds
            .iter()
            .map(|kind| run_kind(context, options, *kind, &deletion_turn)),
    )
    .await;
    report(outcomes, options.dry_run)
}

/// One kind of credential, from its listing to its verification. The kinds run side by side,
/// so that a slow answer for one kind holds back no other: each kind's deletions start as soon
/// as its own listing answers, and each kind is verified as soon as its own deletions are done.
/// The deletions take turns, a kind's all at once: changes to one IAM user made at once risk
/// `ConcurrentModification`, which AWS lists for every one of these operations. A kind is
/// listed again only if something of it was deleted; nothing else of it changed.
async fn run_kind(
    context: &AccountContext,
    options: &DeleteOptions,
    kind: CredentialKind,
    deletion_turn: &Mutex<()>,
) -> KindOutcome {
    let found = match inventory::read_kind(context, kind).await {
        Ok(found) => found,
        Err(failure) => return KindOutcome::listed(Err(failure)),
    };
    let (to_delete, unplanned, warnings) = match &options.plan {
        Some(plan) => {
            let planned = plan
                .get(&context.account_id)
                .map(|planned| of_kind(planned, kind))
                .unwrap_or_default();
            apply_plan(&found, &planned)
        }
        None => (found.clone(), Inventory::default(), Vec::new()),
    };
    let mut outcome = KindOutcome {
        to_delete,
        unplanned,
        warnings,
        ..KindOutcome::listed(Ok(found))
    };
    if options.dry_run || outcome.to_delete.is_empty() {
        return outcome;
    }
    {
        let _turn = deletion_turn.lock().await;
        delete(
            context,
            &outcome.to_delete,
            &mut outcome.ledger,
            &mut outcome.warnings,
        )
        .await;
    }
    for attempt in 1..=VERIFY_ATTEMPTS {
        match inventory::read_kind(context, kind).await {
            Ok(listed) => {
                let clean = still_present(&outcome.to_delete, &listed).is_empty();
                outcome.verified = Some(listed);
                if clean || attempt == VERIFY_ATTEMPTS || outcome.ledger.first_failure.is_some() {
                    break;
                }
                tokio::time::sleep(VERIFY_PAUSE).await;
            }
            Err(failure) => {
                outcome.verification_failure = Some(failure);
                break;
            }
        }
    }
    outcome
}

/// Deletes `to_delete`, one credential after another, into `ledger`.
async fn delete(
    context: &AccountContext,
    to_delete: &Inventory,
    ledger: &mut Ledger,
    warnings: &mut Vec<String>,
) {
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
                warnings.push(format!(
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
}

/// The account's record from its kinds' outcomes, in the order of `CredentialKind`.
fn report(outcomes: Vec<KindOutcome>, dry_run: bool) -> TaskReport {
    let mut details = DeleteDetails::default();
    let mut to_delete = Inventory::default();
    // The kinds deleted from as their last verifying listing found them, the others as first
    // listed; unknown if any listing failed.
    let mut after = Some(Inventory::default());
    let mut listing_failure = None;
    let mut deletion_failure = None;
    let mut verification_failure = None;
    for outcome in outcomes {
        let found = match outcome.found {
            Ok(found) => found,
            Err(failure) => {
                listing_failure.get_or_insert(failure);
                after = None;
                continue;
            }
        };
        let left = if outcome.to_delete.is_empty() || dry_run {
            Some(found.clone())
        } else {
            outcome.verified
        };
        after = after.zip(left).map(|(mut after, left)| {
            absorb(&mut after, left);
            after
        });
        absorb(&mut details.before, found);
        absorb(&mut to_delete, outcome.to_delete);
        absorb(&mut details.unplanned, outcome.unplanned);
        details.warnings.extend(outcome.warnings);
        details.actions.extend(outcome.ledger.actions);
        deletion_failure = deletion_failure.or(outcome.ledger.first_failure);
        verification_failure = verification_failure.or(outcome.verification_failure);
    }
    let unplanned_note = if details.unplanned.is_empty() {
        String::new()
    } else {
        format!(
            "; left alone, not in the plan: {}",
            details.unplanned.describe()
        )
    };
    if let Some(failure) = listing_failure {
        // Nothing deleted: the account is as it was, and the record says only why.
        if details.actions.is_empty() {
            return TaskReport::from_failure(&failure, None);
        }
        // The other kinds went ahead: never `denied`, which promises that nothing changed.
        let summary = format!(
            "{} failed: {}; the other kinds went ahead, see details for what was removed",
            failure.operation, failure.detail
        );
        details.after = None;
        return TaskReport {
            status: Status::Failed,
            summary,
            details: Some(Details::DeleteCredentials(Box::new(details))),
            error: Some(failure.record()),
        };
    }
    details.after = after;
    if to_delete.is_empty() {
        let (status, summary) = if details.unplanned.is_empty() {
            (
                Status::AlreadyCompliant,
                "no root credentials to delete".to_string(),
            )
        } else {
            (
                Status::Remediated,
                format!("nothing planned was left to delete{unplanned_note}"),
            )
        };
        return TaskReport {
            status,
            summary,
            details: Some(Details::DeleteCredentials(Box::new(details))),
            error: None,
        };
    }
    if dry_run {
        details.actions = planned_actions(&to_delete);
        details.after = None;
        return TaskReport {
            status: Status::Planned,
            summary: format!("would delete {}{unplanned_note}", to_delete.describe()),
            details: Some(Details::DeleteCredentials(Box::new(details))),
            error: None,
        };
    }
    let deleted_description = to_delete.describe();
    let remaining = details
        .after
        .as_ref()
        .map(|listed| still_present(&to_delete, listed))
        .unwrap_or_default();
    let report = |status, summary: String, error| TaskReport {
        status,
        summary,
        details: Some(Details::DeleteCredentials(Box::new(details))),
        error,
    };
    if let Some(error) = deletion_failure {
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

/// The credentials of `inventory` of one kind.
fn of_kind(inventory: &Inventory, kind: CredentialKind) -> Inventory {
    let mut only = Inventory::default();
    match kind {
        CredentialKind::Password => only.password.clone_from(&inventory.password),
        CredentialKind::AccessKeys => only.access_keys.clone_from(&inventory.access_keys),
        CredentialKind::SigningCertificates => only
            .signing_certificates
            .clone_from(&inventory.signing_certificates),
        CredentialKind::MfaDevices => only.mfa_devices.clone_from(&inventory.mfa_devices),
    }
    only
}

/// Adds `other`'s credentials to `inventory` (each kind comes from one of them only).
fn absorb(inventory: &mut Inventory, other: Inventory) {
    inventory.password = inventory.password.take().or(other.password);
    inventory.access_keys.extend(other.access_keys);
    inventory
        .signing_certificates
        .extend(other.signing_certificates);
    inventory.mfa_devices.extend(other.mfa_devices);
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

    fn denied(operation: &str) -> CallFailure {
        CallFailure {
            operation: operation.to_string(),
            detail: crate::limits::FailureDetail {
                class: ErrorClass::Denied,
                code: Some("AccessDenied".to_string()),
                message: "not allowed".to_string(),
                http_status: Some(403),
            },
            attempts: 1,
        }
    }

    /// A password found, deleted and verified gone.
    fn password_deleted() -> KindOutcome {
        let found = Inventory {
            password: Some(PasswordInfo { created: None }),
            ..Inventory::default()
        };
        let mut ledger = Ledger::default();
        ledger.settle("delete_login_profile", None, Ok(()));
        KindOutcome {
            to_delete: found.clone(),
            ledger,
            verified: Some(Inventory::default()),
            ..KindOutcome::listed(Ok(found))
        }
    }

    #[test]
    fn a_listing_denied_after_other_kinds_were_deleted_is_failed_not_denied() {
        // `denied` promises that nothing changed; here the password is gone.
        let report = report(
            vec![
                password_deleted(),
                KindOutcome::listed(Err(denied("iam:ListMFADevices"))),
            ],
            false,
        );
        assert_eq!(report.status, Status::Failed);
        let error = report.error.expect("the listing's error");
        assert_eq!(error.operation.as_deref(), Some("iam:ListMFADevices"));
        assert!(report.summary.contains("the other kinds went ahead"));
        let Some(Details::DeleteCredentials(details)) = report.details else {
            panic!("details")
        };
        assert_eq!(details.actions.len(), 1);
        assert!(details.before.password.is_some());
        assert!(details.after.is_none(), "the MFA devices are not known");
    }

    #[test]
    fn a_listing_denied_with_nothing_deleted_is_denied_and_says_only_why() {
        let report = report(
            vec![
                KindOutcome::listed(Ok(Inventory::default())),
                KindOutcome::listed(Err(denied("iam:ListAccessKeys"))),
            ],
            false,
        );
        assert_eq!(report.status, Status::Denied);
        assert!(report.details.is_none());
        assert_eq!(
            report.error.and_then(|error| error.operation).as_deref(),
            Some("iam:ListAccessKeys")
        );
    }

    #[test]
    fn kinds_nothing_was_deleted_from_are_after_as_first_listed() {
        // With a plan that lists only the password, a key found is left alone: it is not
        // listed again, and `after` shows it as the first listing found it.
        let keys_found = Inventory {
            access_keys: vec![key("AKIAUNPLANNED")],
            ..Inventory::default()
        };
        let keys = KindOutcome {
            unplanned: keys_found.clone(),
            ..KindOutcome::listed(Ok(keys_found))
        };
        let report = report(vec![password_deleted(), keys], false);
        assert_eq!(report.status, Status::Remediated, "{}", report.summary);
        assert!(
            report
                .summary
                .contains("left alone, not in the plan: 1 access key")
        );
        let Some(Details::DeleteCredentials(details)) = report.details else {
            panic!("details")
        };
        let after = details.after.expect("after");
        assert!(after.password.is_none());
        assert_eq!(after.access_keys, vec![key("AKIAUNPLANNED")]);
    }
}
