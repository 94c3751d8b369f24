//! `unlock-s3-bucket-policy`: list the account's buckets (with their regions: the S3 task policy
//! allows neither `GetBucketLocation` nor `HeadBucket`), read each policy, keep it whole in the
//! record, then delete it: a named bucket's policy whatever it says, or in find mode every
//! policy that denies every principal.

use aws_sdk_s3::Client as S3Client;

use crate::limits::ErrorClass;
use crate::outcome::{PolicyUnlock, UnlockDetails, UnlockResult};
use crate::session::{AccountContext, CallFailure, PageTokens};
use crate::task::policy_document::denies_everyone;
use crate::task::{PlannedPolicy, TaskReport, UnlockS3Options};

/// Lists (name, region) of every bucket the account owns.
async fn list_buckets(context: &mut AccountContext) -> Result<Vec<(String, String)>, CallFailure> {
    let home = context.home_region();
    let mut buckets = Vec::new();
    let mut tokens = PageTokens::default();
    let mut token: Option<String> = None;
    loop {
        let page = context
            .call::<S3Client, _, _, _, _>(&home, "s3:ListBuckets", |s3| {
                let token = token.clone();
                // max_buckets makes S3 include each bucket's region.
                async move {
                    s3.list_buckets()
                        .max_buckets(1_000)
                        .set_continuation_token(token)
                        .send()
                        .await
                }
            })
            .await?;
        for bucket in page.buckets() {
            if let Some(name) = bucket.name() {
                buckets.push((
                    name.to_string(),
                    bucket.bucket_region().unwrap_or(&home).to_string(),
                ));
            }
        }
        token = tokens.next("s3:ListBuckets", page.continuation_token())?;
        if token.is_none() {
            return Ok(buckets);
        }
    }
}

fn unlock_record(
    resource: &str,
    region: &str,
    previous_policy: Option<String>,
    denies: bool,
    result: UnlockResult,
) -> PolicyUnlock {
    PolicyUnlock {
        resource: resource.to_string(),
        region: Some(region.to_string()),
        previous_policy,
        denies_everyone: denies,
        result,
        error: None,
    }
}

pub(crate) async fn run(context: &mut AccountContext, options: &UnlockS3Options) -> TaskReport {
    let buckets = match list_buckets(context).await {
        Ok(buckets) => buckets,
        Err(failure) => return TaskReport::from_failure(&failure, None),
    };
    let mut details = UnlockDetails::default();
    // With a plan: exactly the planned buckets, each with the policy text it must still have.
    let planned: Option<Vec<PlannedPolicy>> = options
        .plan
        .as_ref()
        .map(|plan| plan.get(&context.account_id).cloned().unwrap_or_default());
    let candidates: Vec<(String, String)> = match (&planned, &options.bucket) {
        (Some(planned), _) => planned
            .iter()
            .filter_map(|entry| {
                let found = buckets
                    .iter()
                    .find(|(bucket, _)| *bucket == entry.resource)
                    .cloned();
                if found.is_none() {
                    details.resources.push(PolicyUnlock {
                        resource: entry.resource.clone(),
                        region: entry.region.clone(),
                        previous_policy: None,
                        denies_everyone: false,
                        result: UnlockResult::NotFound,
                        error: None,
                    });
                }
                found
            })
            .collect(),
        (None, Some(name)) => {
            let found: Vec<_> = buckets
                .into_iter()
                .filter(|(bucket, _)| bucket == name)
                .collect();
            if found.is_empty() {
                details.resources.push(PolicyUnlock {
                    resource: name.clone(),
                    region: None,
                    previous_policy: None,
                    denies_everyone: false,
                    result: UnlockResult::NotFound,
                    error: None,
                });
            }
            found
        }
        (None, None) => buckets,
    };
    let mut first_failure = None;
    for (bucket, region) in candidates {
        let read = context
            .call::<S3Client, _, _, _, _>(&region, "s3:GetBucketPolicy", |s3| {
                let bucket = bucket.clone();
                async move { s3.get_bucket_policy().bucket(bucket).send().await }
            })
            .await;
        let policy = match read {
            Ok(output) => output.policy().map(str::to_string),
            Err(failure) if failure.class() == ErrorClass::NotFound => None,
            Err(failure) => {
                let mut record = unlock_record(&bucket, &region, None, false, UnlockResult::Failed);
                super::record_failure(&mut record, failure, &mut first_failure);
                details.resources.push(record);
                continue;
            }
        };
        let Some(policy) = policy else {
            details.resources.push(unlock_record(
                &bucket,
                &region,
                None,
                false,
                UnlockResult::NoPolicy,
            ));
            continue;
        };
        let denies = denies_everyone(&policy, "s3");
        if let Some(planned) = &planned {
            let expected = planned
                .iter()
                .find(|entry| entry.resource == bucket)
                .map(|entry| entry.policy.as_str());
            if expected != Some(policy.as_str()) {
                details.resources.push(unlock_record(
                    &bucket,
                    &region,
                    Some(policy),
                    denies,
                    UnlockResult::ChangedSincePlan,
                ));
                continue;
            }
        } else if options.bucket.is_none() && !denies {
            details.resources.push(unlock_record(
                &bucket,
                &region,
                Some(policy),
                false,
                UnlockResult::LeftAlone,
            ));
            continue;
        }
        if options.dry_run {
            details.resources.push(unlock_record(
                &bucket,
                &region,
                Some(policy),
                denies,
                UnlockResult::Planned,
            ));
            continue;
        }
        let deleted = context
            .call::<S3Client, _, _, _, _>(&region, "s3:DeleteBucketPolicy", |s3| {
                let bucket = bucket.clone();
                async move { s3.delete_bucket_policy().bucket(bucket).send().await }
            })
            .await;
        let mut record = unlock_record(
            &bucket,
            &region,
            Some(policy),
            denies,
            UnlockResult::Removed,
        );
        if let Err(failure) = deleted {
            super::record_failure(&mut record, failure, &mut first_failure);
        }
        details.resources.push(record);
    }
    super::unlock_report(details, first_failure, options.dry_run, "bucket")
}
