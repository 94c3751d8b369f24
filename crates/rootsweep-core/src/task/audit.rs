//! `audit`: `GetAccountSummary` first, then details only for the kinds it says are present
//! (design.md §1). A clean account costs one AssumeRoot and one IAM call.

use std::collections::BTreeSet;

use aws_sdk_iam::types::SummaryKeyType;

use crate::outcome::{CredentialKind, Details, Status};
use crate::session::{AccountContext, CallFailure};
use crate::task::{TaskReport, inventory};

pub(crate) async fn run(context: &mut AccountContext) -> Result<TaskReport, CallFailure> {
    let summary = context
        .iam("iam:GetAccountSummary", |iam| async move {
            iam.get_account_summary().send().await
        })
        .await?;
    let map = summary.summary_map();
    // A key missing from the map is read in detail rather than assumed absent.
    let present = |key: SummaryKeyType| {
        map.and_then(|map| map.get(&key))
            .is_none_or(|value| *value > 0)
    };
    let mut kinds = BTreeSet::new();
    if present(SummaryKeyType::AccountPasswordPresent) {
        kinds.insert(CredentialKind::Password);
    }
    if present(SummaryKeyType::AccountAccessKeysPresent) {
        kinds.insert(CredentialKind::AccessKeys);
    }
    if present(SummaryKeyType::AccountSigningCertificatesPresent) {
        kinds.insert(CredentialKind::SigningCertificates);
    }
    if present(SummaryKeyType::AccountMfaEnabled) {
        kinds.insert(CredentialKind::MfaDevices);
    }
    let inventory = inventory::read(context, &kinds, true).await?;
    let (status, summary) = if inventory.is_empty() {
        (Status::Compliant, "no root credentials".to_string())
    } else {
        (
            Status::NonCompliant,
            format!("root credentials present: {}", inventory.describe()),
        )
    };
    Ok(TaskReport {
        status,
        summary,
        details: Some(Details::Audit(inventory)),
        error: None,
    })
}
