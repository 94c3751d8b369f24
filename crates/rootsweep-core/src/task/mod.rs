//! The five root tasks, one module each, as plain async functions over an
//! `AccountContext` (crate::session): [`audit`], [`delete_credentials`],
//! [`recovery`] (allow password recovery), [`unlock_s3`] and [`unlock_sqs`]. [`Task`] is what a
//! caller asks the runner to do; [`inventory`] reads root credentials for audit and delete;
//! [`policy_document`] tells a policy that locks everyone out from an ordinary one.

pub mod audit;
pub mod delete_credentials;
pub mod inventory;
pub mod policy_document;
pub mod recovery;
pub mod unlock_s3;
pub mod unlock_sqs;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::account::AccountId;
use crate::outcome::{CredentialKind, Details, ErrorRecord, Inventory, Status, TaskKind};
use crate::session::{AccountContext, CallFailure};

/// The exact credentials an `apply` may delete, per account (from a saved plan).
pub type DeletionPlan = HashMap<AccountId, Inventory>;

/// Options of `delete-credentials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteOptions {
    /// The kinds to delete (all four by default).
    pub kinds: BTreeSet<CredentialKind>,
    /// Read and report what would be deleted; delete nothing.
    pub dry_run: bool,
    /// Delete only these credentials (a saved plan); anything else found is reported and left.
    pub plan: Option<Arc<DeletionPlan>>,
}

impl Default for DeleteOptions {
    fn default() -> Self {
        Self {
            kinds: CredentialKind::ALL.into_iter().collect(),
            dry_run: false,
            plan: None,
        }
    }
}

/// A policy removal a plan allows: the bucket or queue, and the policy text it had when the
/// plan was made. `apply` removes it only if the policy is still exactly that text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedPolicy {
    /// The bucket name or queue URL.
    pub resource: String,
    /// Its region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The policy text when planned.
    pub policy: String,
}

/// The exact policy removals an `apply` may make, per account.
pub type PolicyPlan = HashMap<AccountId, Vec<PlannedPolicy>>;

/// Options of `unlock-s3-bucket-policy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnlockS3Options {
    /// One named bucket (its policy is deleted whatever it says); `None` finds every bucket
    /// whose policy denies every principal.
    pub bucket: Option<String>,
    /// Report what would be deleted; delete nothing.
    pub dry_run: bool,
    /// Remove only these policies (a saved plan); anything changed since is left alone.
    pub plan: Option<Arc<PolicyPlan>>,
}

/// Options of `unlock-sqs-queue-policy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnlockSqsOptions {
    /// One queue, by name or URL (its policy is removed whatever it says); `None` finds every
    /// queue whose policy denies every principal.
    pub queue: Option<String>,
    /// Regions to search (SQS is regional). Empty means the caller's region.
    pub regions: Vec<String>,
    /// Report what would be removed; remove nothing.
    pub dry_run: bool,
    /// Remove only these policies (a saved plan); anything changed since is left alone.
    pub plan: Option<Arc<PolicyPlan>>,
}

/// What to do in every target account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Read root credentials.
    Audit,
    /// Delete root credentials.
    DeleteCredentials(DeleteOptions),
    /// Allow root password recovery.
    AllowPasswordRecovery {
        /// Report what would be done; change nothing.
        dry_run: bool,
    },
    /// Delete S3 bucket policies that lock everyone out.
    UnlockS3BucketPolicy(UnlockS3Options),
    /// Remove SQS queue policies that lock everyone out.
    UnlockSqsQueuePolicy(UnlockSqsOptions),
}

impl Task {
    /// The task's kind.
    pub fn kind(&self) -> TaskKind {
        match self {
            Self::Audit => TaskKind::Audit,
            Self::DeleteCredentials(_) => TaskKind::DeleteCredentials,
            Self::AllowPasswordRecovery { .. } => TaskKind::AllowPasswordRecovery,
            Self::UnlockS3BucketPolicy(_) => TaskKind::UnlockS3BucketPolicy,
            Self::UnlockSqsQueuePolicy(_) => TaskKind::UnlockSqsQueuePolicy,
        }
    }

    /// Whether this run changes anything (dry runs and audits do not).
    pub fn changes_accounts(&self) -> bool {
        match self {
            Self::Audit => false,
            Self::DeleteCredentials(options) => !options.dry_run,
            Self::AllowPasswordRecovery { dry_run } => !dry_run,
            Self::UnlockS3BucketPolicy(options) => !options.dry_run,
            Self::UnlockSqsQueuePolicy(options) => !options.dry_run,
        }
    }
}

/// What a task reports for one account.
#[derive(Debug, Clone)]
pub(crate) struct TaskReport {
    pub(crate) status: Status,
    pub(crate) summary: String,
    pub(crate) details: Option<Details>,
    pub(crate) error: Option<ErrorRecord>,
}

impl TaskReport {
    /// The report for a task that stopped on a failed call.
    pub(crate) fn from_failure(failure: &CallFailure, details: Option<Details>) -> Self {
        let status = if failure.class().is_denial() {
            Status::Denied
        } else {
            Status::Failed
        };
        Self {
            status,
            summary: format!("{} failed: {}", failure.operation, failure.detail),
            details,
            error: Some(failure.record()),
        }
    }
}

/// Runs `task` in the account behind `context`.
pub(crate) async fn run(task: &Task, context: &mut AccountContext) -> TaskReport {
    // Each task boxed: inline, every account's future would be as large as the largest task's.
    let result = match task {
        Task::Audit => Box::pin(audit::run(context)).await,
        Task::DeleteCredentials(options) => {
            Ok(Box::pin(delete_credentials::run(context, options)).await)
        }
        Task::AllowPasswordRecovery { dry_run } => Box::pin(recovery::run(context, *dry_run)).await,
        Task::UnlockS3BucketPolicy(options) => Ok(Box::pin(unlock_s3::run(context, options)).await),
        Task::UnlockSqsQueuePolicy(options) => {
            Ok(Box::pin(unlock_sqs::run(context, options)).await)
        }
    };
    result.unwrap_or_else(|failure| TaskReport::from_failure(&failure, None))
}

/// Marks a bucket or queue as failed (or denied) and keeps the first failure for the report.
pub(crate) fn record_failure(
    record: &mut crate::outcome::PolicyUnlock,
    failure: CallFailure,
    first_failure: &mut Option<CallFailure>,
) {
    record.result = if failure.class().is_denial() {
        crate::outcome::UnlockResult::Denied
    } else {
        crate::outcome::UnlockResult::Failed
    };
    record.error = Some(failure.record());
    first_failure.get_or_insert(failure);
}

/// The report of an unlock, from what happened to each bucket or queue.
pub(crate) fn unlock_report(
    details: crate::outcome::UnlockDetails,
    first_failure: Option<CallFailure>,
    dry_run: bool,
    noun: &str,
) -> TaskReport {
    use crate::outcome::UnlockResult;
    let count = |result: UnlockResult| {
        details
            .resources
            .iter()
            .filter(|r| r.result == result)
            .count()
    };
    let removed = count(UnlockResult::Removed);
    let planned = count(UnlockResult::Planned);
    let left_alone = count(UnlockResult::LeftAlone);
    let changed = count(UnlockResult::ChangedSincePlan);
    let plural = |n: usize| {
        if n == 1 {
            noun.to_string()
        } else {
            format!("{noun}s")
        }
    };
    let mut notes = Vec::new();
    if left_alone > 0 {
        notes.push(format!(
            "{left_alone} ordinary {} left alone",
            plural(left_alone)
        ));
    }
    if changed > 0 {
        notes.push(format!(
            "{changed} {} changed since the plan, left alone",
            plural(changed)
        ));
    }
    if !details.regions_unavailable.is_empty() {
        notes.push(format!(
            "regions not searched: {}",
            details.regions_unavailable.join(", ")
        ));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    let (status, summary) = if let Some(failure) = &first_failure {
        let status = if failure.class().is_denial() && removed == 0 {
            Status::Denied
        } else {
            Status::Failed
        };
        (
            status,
            format!(
                "{} failed: {}; {removed} {} unlocked{notes}",
                failure.operation,
                failure.detail,
                plural(removed)
            ),
        )
    } else if dry_run && planned > 0 {
        (
            Status::Planned,
            format!(
                "would delete the policy of {planned} {}{notes}",
                plural(planned)
            ),
        )
    } else if removed > 0 {
        (
            Status::Unlocked,
            format!(
                "deleted the policy of {removed} {}, kept in the record{notes}",
                plural(removed)
            ),
        )
    } else if details
        .resources
        .iter()
        .any(|r| r.result == UnlockResult::NotFound)
    {
        (
            Status::NoPolicy,
            format!("no such {noun} in this account{notes}"),
        )
    } else {
        (
            Status::NoPolicy,
            format!("no {noun} policy to delete{notes}"),
        )
    };
    TaskReport {
        status,
        summary,
        details: Some(Details::Unlock(details)),
        error: first_failure.as_ref().map(CallFailure::record),
    }
}

#[cfg(test)]
mod edge_cases;
